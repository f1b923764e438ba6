//! The shipped `flow` pipeline: real SigmaHQ `firewall` and `network_connection` rules, mapped
//! onto the ECS names of flow events and routed to them, run on events our NetFlow collector
//! builds from datagrams (constructed v5 records and the recorded exports of the shared
//! corpus).

use std::net::{Ipv4Addr, SocketAddr};

use onewall_ingest::flow::{FlowContext, NetflowDecoder, NetflowSettings};
use onewall_model::{Event, RegionCode, Timestamp};
use onewall_rules::pipeline::{PipelineSet, shipped_names};
use onewall_rules::{Engine, LoadReport, Placeholders, RuleSource};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// SigmaHQ: connections to ports malware calls back on, outside local ranges (Linux;
/// `Initiated`, `DestinationPort`, `DestinationIp|cidr` under `not`).
const CALLBACK_LINUX: &str =
    "rules/linux/network_connection/net_connection_lnx_susp_malware_callback_port.yml";
/// SigmaHQ: bash connecting out (Linux; `Image` in the selection).
const BACK_CONNECT: &str =
    "rules/linux/network_connection/net_connection_lnx_back_connect_shell_dev.yml";
/// SigmaHQ: the Windows twin of the callback rule, with an `Image` filter under `not`.
const CALLBACK_WINDOWS: &str =
    "rules/windows/network_connection/net_connection_win_susp_malware_callback_port.yml";
/// SigmaHQ: Equation Group C2 addresses as source or destination (`category: firewall`).
const EQUATION: &str =
    "rules-emerging-threats/2017/TA/Equation-Group/net_firewall_apt_equationgroup_c2.yml";
/// SigmaHQ: cleartext protocols a firewall let through (`dst_port` and the firewall's
/// `action`/`blocked` verdict, which a flow does not have).
const CLEARTEXT: &str = "rules/network/firewall/net_firewall_cleartext_protocols.yml";

fn sigma(rel: &str) -> (RuleSource, String) {
    let path = format!("{CORPUS}/sigmahq/{rel}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("rule id")
        .trim()
        .to_owned();
    (RuleSource::new(rel, text), id)
}

fn engine(pipelines: &PipelineSet, rules: &[&str]) -> (Engine, LoadReport) {
    let sources = rules.iter().map(|r| sigma(r).0);
    Engine::compile_with_pipelines(sources, &Placeholders::new(), pipelines)
}

fn flow_only() -> PipelineSet {
    PipelineSet::shipped(&["flow"])
        .expect("flow pipeline")
        .require_routing(true)
}

fn id(rel: &str) -> String {
    sigma(rel).1
}

/// One NetFlow v5 record, as an exporter writes it.
struct V5 {
    src: [u8; 4],
    dst: [u8; 4],
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    bytes: u32,
}

/// A NetFlow v5 datagram holding `records`, sequence `seq`.
fn v5_datagram(records: &[V5], seq: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&5u16.to_be_bytes());
    d.extend_from_slice(&(records.len() as u16).to_be_bytes());
    d.extend_from_slice(&600_000u32.to_be_bytes()); // uptime, ms
    d.extend_from_slice(&1_773_547_200u32.to_be_bytes()); // 2026-03-15T04:00:00Z
    d.extend_from_slice(&0u32.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]); // engine type and id, sampling
    for r in records {
        d.extend_from_slice(&r.src);
        d.extend_from_slice(&r.dst);
        d.extend_from_slice(&[0; 4]); // next hop
        d.extend_from_slice(&[0, 1, 0, 2]); // input, output interfaces
        d.extend_from_slice(&3u32.to_be_bytes()); // packets
        d.extend_from_slice(&r.bytes.to_be_bytes());
        d.extend_from_slice(&590_000u32.to_be_bytes()); // first
        d.extend_from_slice(&599_000u32.to_be_bytes()); // last
        d.extend_from_slice(&r.src_port.to_be_bytes());
        d.extend_from_slice(&r.dst_port.to_be_bytes());
        d.extend_from_slice(&[0, 0x1b, r.protocol, 0]); // pad, tcp flags, protocol, tos
        d.extend_from_slice(&[0; 4]); // AS numbers
        d.extend_from_slice(&[24, 24, 0, 0]); // masks, pad
    }
    d
}

fn ctx() -> FlowContext {
    FlowContext {
        collector: "netflow".into(),
        region: RegionCode::HENAN,
        department: None,
    }
}

/// The events our collector makes of `records` (one datagram from 192.0.2.1).
fn flows(records: &[V5]) -> Vec<Event> {
    let mut decoder = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    let peer: SocketAddr = (Ipv4Addr::new(192, 0, 2, 1), 2055).into();
    let report = decoder.decode(
        &v5_datagram(records, 1),
        peer,
        Timestamp::now(),
        &ctx(),
        &mut out,
    );
    assert_eq!(report.records, records.len(), "{report:?}");
    assert!(out.iter().all(|e| e.parse_error.is_none()));
    out
}

fn tcp(src: [u8; 4], src_port: u16, dst: [u8; 4], dst_port: u16) -> V5 {
    V5 {
        src,
        dst,
        src_port,
        dst_port,
        protocol: 6,
        bytes: 1_200,
    }
}

fn fired(engine: &Engine, event: &Event) -> Vec<String> {
    let mut ids: Vec<String> = engine
        .matching_rules(event)
        .into_iter()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

#[test]
fn network_connection_and_firewall_rules_fire_on_flows_through_the_mapping() {
    let (engine, report) = engine(
        &flow_only(),
        &[CALLBACK_LINUX, BACK_CONNECT, EQUATION, CLEARTEXT],
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(engine.len(), 4);
    let events = flows(&[
        // Out to a callback port on a public address: the callback rule.
        tcp([10, 1, 2, 3], 40_000, [203, 0, 113, 9], 4444),
        // The same port on a private address: its filter holds.
        tcp([10, 1, 2, 3], 40_001, [10, 0, 0, 9], 4444),
        // A public address on an ordinary port.
        tcp([10, 1, 2, 3], 40_002, [203, 0, 113, 9], 443),
        // To and from an Equation Group address.
        tcp([10, 1, 2, 3], 40_003, [69, 42, 98, 86], 443),
        tcp([89, 185, 234, 145], 443, [10, 1, 2, 3], 40_004),
        // Cleartext HTTP: the rule wants a firewall's verdict, which a flow has not.
        tcp([10, 1, 2, 3], 40_005, [198, 51, 100, 7], 80),
    ]);
    let callback = vec![id(CALLBACK_LINUX)];
    let equation = vec![id(EQUATION)];
    assert_eq!(fired(&engine, &events[0]), callback);
    assert!(fired(&engine, &events[1]).is_empty());
    assert!(fired(&engine, &events[2]).is_empty());
    assert_eq!(fired(&engine, &events[3]), equation);
    assert_eq!(fired(&engine, &events[4]), equation);
    assert!(fired(&engine, &events[5]).is_empty());
    // UDP to the callback port fires too (the rule names no protocol); the Sysmon-only
    // `Initiated: 'false'` would never hold on a flow.
    let udp = flows(&[V5 {
        protocol: 17,
        ..tcp([10, 1, 2, 3], 5353, [203, 0, 113, 9], 4444)
    }]);
    assert_eq!(fired(&engine, &udp[0]), callback);
}

#[test]
fn rules_about_the_process_never_match_a_flow() {
    // The Windows callback rule filters on Image under `not`: a flow cannot say which
    // process connected, so the flow pipeline does not route it, and a pack using only the
    // flow pipeline refuses it with the reason.
    let (engine_flow, report) = engine(&flow_only(), &[CALLBACK_WINDOWS, BACK_CONNECT]);
    assert_eq!(engine_flow.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors.len(), 1);
    let refused = report.errors[0].to_string();
    assert!(
        refused.contains("routes") && refused.contains("network_connection"),
        "{refused}"
    );
    // With every shipped pipeline, the Windows rule compiles (for Sysmon senders) and the
    // Linux one too; neither fires on flows, while the callback flow fires the Linux rule
    // that only names network fields.
    let all = PipelineSet::shipped(&shipped_names())
        .expect("shipped")
        .require_routing(true);
    let (engine_all, report) = engine(&all, &[CALLBACK_WINDOWS, BACK_CONNECT, CALLBACK_LINUX]);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(engine_all.len(), 3);
    let events = flows(&[
        tcp([10, 1, 2, 3], 40_000, [203, 0, 113, 9], 4444),
        tcp([10, 1, 2, 3], 40_001, [203, 0, 113, 9], 8531),
    ]);
    for e in &events {
        assert_eq!(
            fired(&engine_all, e),
            vec![id(CALLBACK_LINUX)],
            "{}",
            e.raw_text()
        );
        assert!(fired(&engine_flow, e).is_empty(), "{}", e.raw_text());
    }
}

#[test]
fn recorded_exports_decode_to_events_the_mapped_rules_read() {
    // softflowd's NetFlow v5 export of the shared capture: 101 loopback flows. The Equation
    // Group rule fires on none; once a record's destination is made one of its addresses
    // (bytes 4..8 of the record), exactly that flow fires it.
    let dir = format!("{CORPUS}/flows/dgrams/softflowd_v5");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let (engine, report) = engine(&flow_only(), &[EQUATION, CALLBACK_LINUX]);
    assert!(report.is_clean(), "{:?}", report.errors);
    let peer: SocketAddr = (Ipv4Addr::LOCALHOST, 2055).into();
    let mut decoder = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut events = Vec::new();
    let mut first = None;
    for f in &files {
        let mut d = std::fs::read(f).expect("datagram");
        if first.is_none() && d.len() >= 24 + 48 {
            d[24 + 4..24 + 8].copy_from_slice(&[69, 42, 98, 86]);
            first = Some(events.len());
        }
        decoder.decode(&d, peer, Timestamp::now(), &ctx(), &mut events);
    }
    assert_eq!(events.len(), 101);
    let hits: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| !fired(&engine, e).is_empty())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits, vec![first.expect("a record")]);
    assert_eq!(
        events[hits[0]].get("destination.ip").map(|v| v.to_string()),
        Some("69.42.98.86".to_owned())
    );
}

#[test]
fn a_pack_naming_firewall_and_flow_runs_one_rule_on_firewall_logs_and_flows() {
    use onewall_ingest::{ParseContext, parse_syslog};
    use onewall_model::{RegionTree, Source};
    use onewall_rules::pack::{RuleSet, RuleSetConfig};

    // The pack the README shows: SigmaHQ rules, `pipelines: [firewall, flow]`.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("pack.yml"),
        "name: sigmahq-network\npipelines: [firewall, flow]\n",
    )
    .expect("manifest");
    for (i, rel) in [EQUATION, CALLBACK_LINUX].iter().enumerate() {
        let (src, _) = sigma(rel);
        std::fs::write(dir.path().join(format!("rule{i}.yml")), src.text).expect("rule");
    }
    let config = RuleSetConfig {
        builtin: false,
        packs: vec![dir.path().to_path_buf()],
        ..RuleSetConfig::default()
    };
    let now = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("time");
    let (set, report) = RuleSet::load(&config, &RegionTree::builtin(), now).expect("rule set");
    assert!(report.load.errors.is_empty(), "{:?}", report.load.errors);
    assert_eq!(report.load.compiled, 2);

    // A real H3C firewall line, its destination made an Equation Group address.
    let line = std::fs::read_to_string(format!("{CORPUS}/formats/h3c.log"))
        .expect("h3c corpus")
        .lines()
        .find(|l| l.contains("DstIPAddr(1007)=221.181.72.79"))
        .expect("h3c line")
        .replace("221.181.72.79", "69.42.98.86");
    let ctx = ParseContext::new(now, RegionCode::HENAN, Source::new("test", None));
    let firewall = parse_syslog(line.as_bytes(), &ctx);
    let flow = flows(&[tcp([10, 1, 2, 3], 40_003, [69, 42, 98, 86], 443)]);
    let other = flows(&[tcp([10, 1, 2, 3], 40_003, [198, 51, 100, 7], 443)]);
    let mut alerts = Vec::new();
    set.match_batch(
        &[firewall, flow[0].clone(), other[0].clone()],
        now,
        &mut alerts,
    );
    let equation = id(EQUATION);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().all(|a| a.rule.id == equation));
}
