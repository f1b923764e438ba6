//! Replays the datagrams real exporters sent for the shared capture (`flows/dgrams/` in the
//! shared corpus: softflowd v5/v9/IPFIX, pmacct IPFIX and sFlow, nfreplay v9) through the
//! decoders, and feeds them malformed, truncated and out-of-order input.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use onewall_ingest::flow::{
    FlowContext, NetflowDecoder, NetflowSettings, SequenceOutcome, SflowDecoder,
};
use onewall_model::{Event, RegionCode, Timestamp, Value};

fn dgrams(exporter: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/flows/dgrams")
        .join(exporter);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no datagrams in {}", dir.display());
    files
        .iter()
        .map(|f| std::fs::read(f).expect("read datagram"))
        .collect()
}

fn ctx(collector: &str) -> FlowContext {
    FlowContext {
        collector: collector.into(),
        region: RegionCode::HENAN,
        department: Some("network-ops".into()),
    }
}

const PEER: &str = "127.0.0.1:40000";

fn peer() -> SocketAddr {
    PEER.parse().expect("addr")
}

fn netflow(exporter: &str) -> (Vec<Event>, Vec<SequenceOutcome>) {
    let mut d = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    let mut seq = Vec::new();
    for dg in dgrams(exporter) {
        let r = d.decode(&dg, peer(), Timestamp::now(), &ctx("netflow"), &mut out);
        assert_eq!(r.error, None, "{exporter}");
        seq.extend(r.sequence);
    }
    (out, seq)
}

fn int(e: &Event, name: &str) -> i64 {
    e.get(name)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{name} missing in {:?}", e.fields))
}

fn text<'a>(e: &'a Event, name: &str) -> &'a str {
    e.get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} missing in {:?}", e.fields))
}

fn time_ms(e: &Event, name: &str) -> i64 {
    match e.get(name) {
        Some(Value::Time(t)) => t.millis(),
        other => panic!("{name}: {other:?}"),
    }
}

/// The capture's 101 flows: 40 HTTP requests (client -> :8099) and their 40 answers, 20 UDP
/// datagrams to ports 5001-5020, and one flow of ICMP port-unreachables.
fn assert_the_101_flows(name: &str, events: &[Event]) {
    assert_eq!(events.len(), 101, "{name}: records");
    let mut by_transport: BTreeMap<&str, usize> = BTreeMap::new();
    let mut udp_ports = Vec::new();
    let (mut to_http, mut from_http) = (0, 0);
    for e in events {
        assert_eq!(e.parse_error, None, "{name}");
        assert_eq!(e.format.as_str(), "flow");
        for f in ["source.ip", "destination.ip", "observer.ip"] {
            assert_eq!(
                e.get(f).and_then(|v| v.to_text()).as_deref(),
                Some("127.0.0.1"),
                "{name}: {f}"
            );
        }
        assert!(int(e, "network.bytes") > 0, "{name}: bytes");
        assert!(int(e, "network.packets") > 0, "{name}: packets");
        assert_eq!(text(e, "organization.name"), "network-ops");
        let t = text(e, "network.transport");
        *by_transport.entry(t).or_default() += 1;
        match t {
            "udp" => udp_ports.push(int(e, "destination.port")),
            "tcp" => {
                if int(e, "destination.port") == 8099 {
                    to_http += 1;
                    assert!(text(e, "network.tcp_flags_names").contains("syn"), "{name}");
                } else {
                    assert_eq!(int(e, "source.port"), 8099, "{name}");
                    from_http += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        by_transport,
        BTreeMap::from([("icmp", 1), ("tcp", 80), ("udp", 20)]),
        "{name}"
    );
    udp_ports.sort();
    assert_eq!(udp_ports, (5001..=5020).collect::<Vec<_>>(), "{name}");
    assert_eq!((to_http, from_http), (40, 40), "{name}");
}

#[test]
fn every_netflow_exporter_gives_the_101_flows_in_sequence() {
    for exporter in [
        "softflowd_v5",
        "softflowd_v9",
        "softflowd_v10",
        "pmacct_ipfix",
        "nfreplay_v9",
    ] {
        let (events, seq) = netflow(exporter);
        assert_the_101_flows(exporter, &events);
        assert_eq!(seq[0], SequenceOutcome::First, "{exporter}");
        assert!(
            seq[1..].iter().all(|s| *s == SequenceOutcome::InOrder),
            "{exporter}: {seq:?}"
        );
    }
}

#[test]
fn exporters_agree_on_bytes_and_on_when_the_flows_happened() {
    let bytes = |events: &[Event]| -> i64 { events.iter().map(|e| int(e, "network.bytes")).sum() };
    let first = |events: &[Event]| {
        events
            .iter()
            .map(|e| time_ms(e, "event.start"))
            .min()
            .expect("start")
    };
    let last = |events: &[Event]| {
        events
            .iter()
            .map(|e| time_ms(e, "event.end"))
            .max()
            .expect("end")
    };
    let (v5, _) = netflow("softflowd_v5");
    let (v9, _) = netflow("softflowd_v9");
    let (v10, _) = netflow("softflowd_v10");
    let (pmacct, _) = netflow("pmacct_ipfix");
    assert_eq!(bytes(&v5), bytes(&v9));
    assert_eq!(bytes(&v5), bytes(&v10));
    // pmacct's IPFIX carries absolute times; softflowd's are uptime-relative and, for a
    // capture older than softflowd's start, wrapped. They must agree within a second.
    let reference = (first(&pmacct), last(&pmacct));
    for (name, events) in [("v5", &v5), ("v9", &v9), ("v10", &v10)] {
        let got = (first(events), last(events));
        assert!(
            (got.0 - reference.0).abs() < 1000 && (got.1 - reference.1).abs() < 1000,
            "softflowd {name}: {got:?} vs pmacct {reference:?}"
        );
        for e in events.iter() {
            assert!(
                time_ms(e, "event.start") <= time_ms(e, "event.end"),
                "{name}"
            );
            assert_eq!(e.time.millis(), time_ms(e, "event.end"));
        }
    }
}

#[test]
fn raw_record_fields_are_kept_under_their_own_names() {
    let (v5, _) = netflow("softflowd_v5");
    assert_eq!(int(&v5[0], "netflow.first"), 4_294_465_918);
    assert_eq!(int(&v5[0], "netflow.exporter.version"), 5);
    let (v10, _) = netflow("softflowd_v10");
    assert!(
        v10[0].get("netflow.octet_delta_count").is_some(),
        "{:?}",
        v10[0].fields
    );
    assert!(v10[0].get("netflow.flow_start_sys_up_time").is_some());
    let (v9, _) = netflow("nfreplay_v9");
    assert!(
        v9[0].get("netflow.in_bytes").is_some(),
        "{:?}",
        v9[0].fields
    );
    assert!(v9[0].raw_text().starts_with("netflow_flow 127.0.0.1:"));
}

#[test]
fn data_before_its_template_waits_for_it() {
    let d = dgrams("softflowd_v9");
    let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    for dg in d[1..].iter().chain(std::iter::once(&d[0])) {
        let r = dec.decode(dg, peer(), Timestamp::now(), &ctx("netflow"), &mut out);
        assert_eq!(r.error, None);
    }
    assert_the_101_flows("v9 out of order", &out);
}

#[test]
fn templates_are_kept_per_exporter() {
    // Data from a second exporter that never sent templates must not use the first's.
    let d = dgrams("softflowd_v10");
    let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    dec.decode(&d[0], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    let n = out.len();
    let other: SocketAddr = "127.0.0.2:40000".parse().expect("addr");
    let r = dec.decode(&d[1], other, Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!((r.records, r.error), (0, None));
    assert_eq!(out.len(), n);
    let r = dec.decode(&d[1], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!(r.records, 32);
}

#[test]
fn an_exporter_restart_and_a_lost_datagram_are_counted() {
    let d = dgrams("softflowd_v9");
    let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    let mut outcomes = Vec::new();
    // 0, 1, (2 lost), 3, then the exporter starts over (its uptime back to 5 ms): 0, 1, 2, 3.
    let restarted: Vec<Vec<u8>> = d
        .iter()
        .map(|dg| {
            let mut dg = dg.clone();
            dg[4..8].copy_from_slice(&5u32.to_be_bytes());
            dg
        })
        .collect();
    for dg in [&d[0], &d[1], &d[3]].into_iter().chain(&restarted) {
        let r = dec.decode(dg, peer(), Timestamp::now(), &ctx("netflow"), &mut out);
        outcomes.push(r.sequence.expect("sequence"));
    }
    assert_eq!(
        outcomes,
        vec![
            SequenceOutcome::First,
            SequenceOutcome::InOrder,
            SequenceOutcome::Gap(1),
            SequenceOutcome::Restart,
            SequenceOutcome::InOrder,
            SequenceOutcome::InOrder,
            SequenceOutcome::InOrder,
        ]
    );
    let streams = dec.streams();
    assert_eq!(streams.len(), 1);
    let (key, stats) = streams[0];
    assert_eq!((key.exporter, key.version), (peer(), 9));
    assert_eq!((stats.gaps, stats.lost, stats.restarts), (1, 1, 1));
    // After the restart the templates came again, so every record of the second run is there.
    assert_eq!(out.len(), 101 - 32 + 101);
}

#[test]
fn sflow_gives_every_sample() {
    let mut dec = SflowDecoder::new(16);
    let mut out = Vec::new();
    for dg in dgrams("pmacct_sflow") {
        let r = dec.decode(&dg, peer(), Timestamp::now(), &ctx("sflow"), &mut out);
        assert_eq!(r.error, None);
    }
    assert_eq!(out.len(), 513);
    let mut ports = std::collections::BTreeSet::new();
    let mut transports = BTreeMap::new();
    let mut udp = std::collections::BTreeSet::new();
    for e in &out {
        assert_eq!(
            e.get("source.ip").and_then(|v| v.to_text()).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            e.get("observer.ip").and_then(|v| v.to_text()).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(int(e, "network.packets"), 1);
        assert!(int(e, "network.bytes") > 0);
        assert_eq!(text(e, "event.action"), "sflow_flow");
        *transports
            .entry(text(e, "network.transport").to_owned())
            .or_insert(0) += 1;
        if text(e, "network.transport") == "udp" {
            udp.insert(int(e, "destination.port"));
        }
        if let Some(p) = e.get("destination.port").and_then(Value::as_i64) {
            ports.insert(p);
        }
    }
    // pmacct sampled 513 of the 520 packets: every TCP one, 17 of the 20 UDP datagrams and 16
    // of the ICMP answers.
    assert!(ports.contains(&8099));
    assert_eq!(udp.len(), 17, "{udp:?}");
    assert!(udp.iter().all(|p| (5001..=5020).contains(p)), "{udp:?}");
    assert_eq!(
        transports,
        BTreeMap::from([
            ("icmp".to_owned(), 16),
            ("tcp".to_owned(), 480),
            ("udp".to_owned(), 17)
        ])
    );
    let (_, stats) = dec.streams()[0];
    assert_eq!((stats.datagrams, stats.records, stats.gaps), (64, 513, 0));
}

#[test]
fn truncated_datagrams_are_kept_raw_with_their_error_and_never_panic() {
    let mut checked = 0;
    for exporter in [
        "softflowd_v5",
        "softflowd_v9",
        "softflowd_v10",
        "pmacct_ipfix",
        "nfreplay_v9",
    ] {
        let d = dgrams(exporter);
        for cut in 0..d[0].len() {
            let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
            let mut out = Vec::new();
            let r = dec.decode(
                &d[0][..cut],
                peer(),
                Timestamp::now(),
                &ctx("netflow"),
                &mut out,
            );
            if let Some(e) = &r.error {
                let kept = out.last().expect("error event");
                assert_eq!(&*kept.raw, &d[0][..cut]);
                assert!(
                    kept.parse_error
                        .as_deref()
                        .unwrap_or("")
                        .contains(&e.to_string())
                );
                checked += 1;
            }
        }
    }
    let d = dgrams("pmacct_sflow");
    let mut dec = SflowDecoder::new(4);
    for cut in 0..d[0].len() {
        let mut out = Vec::new();
        let r = dec.decode(
            &d[0][..cut],
            peer(),
            Timestamp::now(),
            &ctx("sflow"),
            &mut out,
        );
        if cut > 0 {
            assert!(r.error.is_some(), "sflow cut at {cut}");
            assert_eq!(&*out.last().expect("error event").raw, &d[0][..cut]);
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn unknown_versions_and_absurd_lengths_are_errors_not_panics() {
    let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    let r = dec.decode(
        &[0, 77, 0, 0, 1, 2, 3, 4],
        peer(),
        Timestamp::now(),
        &ctx("netflow"),
        &mut out,
    );
    let e = r.error.expect("error");
    assert_eq!(e.reason(), "unsupported_version");
    assert!(
        out[0]
            .parse_error
            .as_deref()
            .unwrap_or("")
            .contains("unsupported version 77")
    );

    // IPFIX: a set announcing 65535 bytes in a 24-byte message.
    let mut ipfix = vec![0, 10, 0, 24, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    ipfix.extend_from_slice(&[0, 2, 0xff, 0xff, 1, 0, 0, 1]);
    // v9: a template claiming 65535 fields, each 65535 bytes long.
    let mut v9 = vec![0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    v9.extend_from_slice(&[
        0, 0, 0, 16, 1, 0, 0xff, 0xff, 0, 1, 0xff, 0xff, 0, 2, 0xff, 0xff,
    ]);
    // IPFIX: a message length longer than the datagram.
    let long = vec![0, 10, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    for (name, dg) in [
        ("ipfix set", ipfix),
        ("v9 template", v9),
        ("ipfix length", long),
    ] {
        let mut out = Vec::new();
        let r = dec.decode(&dg, peer(), Timestamp::now(), &ctx("netflow"), &mut out);
        assert!(r.error.is_some(), "{name}: {r:?}");
        assert_eq!(r.records, 0, "{name}");
    }
}

#[test]
fn an_expired_template_is_not_used() {
    let d = dgrams("softflowd_v10");
    let settings = NetflowSettings {
        template_ttl: Some(std::time::Duration::from_millis(50)),
        ..NetflowSettings::default()
    };
    let mut dec = NetflowDecoder::new(settings).expect("decoder");
    let mut out = Vec::new();
    dec.decode(&d[0], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!(out.len(), 24);
    std::thread::sleep(std::time::Duration::from_millis(120));
    let r = dec.decode(&d[1], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!(
        (r.records, r.error),
        (0, None),
        "data waits for a fresh template"
    );
    // The template comes again (as exporters resend it): the held data is decoded with it.
    let r = dec.decode(&d[0], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!(r.records, 24 + 32);
}

#[test]
fn a_withdrawn_ipfix_template_is_not_used() {
    let d = dgrams("softflowd_v10");
    let mut dec = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut out = Vec::new();
    dec.decode(&d[0], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    // RFC 7011 8.1: a template record with no fields withdraws template 1024.
    let mut withdraw = vec![0, 10, 0, 24];
    withdraw.extend_from_slice(&d[0][4..8]); // export time
    withdraw.extend_from_slice(&24u32.to_be_bytes()); // sequence
    withdraw.extend_from_slice(&[0, 0, 0, 0]); // observation domain
    withdraw.extend_from_slice(&[0, 2, 0, 8, 4, 0, 0, 0]);
    let r = dec.decode(
        &withdraw,
        peer(),
        Timestamp::now(),
        &ctx("netflow"),
        &mut out,
    );
    assert_eq!((r.records, r.error), (0, None));
    let r = dec.decode(&d[1], peer(), Timestamp::now(), &ctx("netflow"), &mut out);
    assert_eq!(
        r.records, 0,
        "data of a withdrawn template is not decoded with it"
    );
}
