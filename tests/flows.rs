//! End to end: real flow exporters from Debian packages read the shared capture
//! (`flows/loopback-http-udp-520pkts.pcap`: 101 flows, 520 packets) and export to a running
//! node. NetFlow and IPFIX go through `nfcapd`, which stores them for `nfdump` and repeats
//! every datagram to the node, so the node's events are checked against what `nfdump` reads
//! from the same export. sFlow (no sFlow collector in Debian's nfdump) is checked against the
//! capture itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Node, config, eventually};
use serde_json::Value;

fn corpus(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/flows")
        .join(file)
}

fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

/// A program from the PATH or where Debian installs it.
fn program(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// A child process stopped (by its pid) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Proc {
    Proc(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e} (see scripts/test for the packages)")),
    )
}

/// A node with its flow collectors on the given ports.
fn node(dir: &Path, netflow: u16, sflow: u16) -> Node {
    let file = dir.join("onewall.toml");
    let extra = format!(
        "[flow]\nnetflow = \"127.0.0.1:{netflow}\"\nsflow = \"127.0.0.1:{sflow}\"\ndepartment = \"netops\"\n"
    );
    std::fs::write(&file, config(&dir.join("data"), &extra)).unwrap();
    Node::start(&file)
}

/// `nfcapd` listening on a free port, storing under `dir` and repeating every datagram to
/// `repeat_to`.
struct Nfcapd {
    proc: Option<Proc>,
    port: u16,
    dir: PathBuf,
}

impl Nfcapd {
    fn start(dir: &Path, repeat_to: u16) -> Nfcapd {
        let dir = dir.join("nfcapd");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_udp_port();
        let proc = spawn(
            Command::new(program("nfcapd"))
                .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-w"])
                .arg(&dir)
                .args(["-R", &format!("127.0.0.1/{repeat_to}")]),
        );
        std::thread::sleep(Duration::from_millis(500));
        Nfcapd {
            proc: Some(proc),
            port,
            dir,
        }
    }

    /// Stop it (it writes its file on SIGTERM) and read the flows back with `nfdump`.
    fn flows(mut self) -> Vec<Flow> {
        let proc = self.proc.take().expect("running");
        let pid = proc.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let mut proc = proc;
        let deadline = Instant::now() + Duration::from_secs(10);
        while proc.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = Command::new(program("nfdump"))
            .arg("-R")
            .arg(&self.dir)
            .args(["-q", "-N", "-o", "fmt:%sa|%da|%sp|%dp|%pr|%byt|%pkt"])
            .output()
            .expect("nfdump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('|').map(str::trim).collect();
                let proto: i64 = f[4].parse().unwrap_or_else(|_| panic!("protocol in {l:?}"));
                let port = |s: &str| {
                    if proto == 6 || proto == 17 {
                        s.parse().ok()
                    } else {
                        None
                    }
                };
                Flow {
                    src: f[0].to_owned(),
                    dst: f[1].to_owned(),
                    sport: port(f[2]),
                    dport: port(f[3]),
                    proto,
                    bytes: f[5].parse().unwrap_or_else(|_| panic!("bytes in {l:?}")),
                }
            })
            .collect()
    }
}

/// The part of a flow both sides must agree on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Flow {
    src: String,
    dst: String,
    sport: Option<i64>,
    dport: Option<i64>,
    proto: i64,
    bytes: i64,
}

fn flow_of(e: &Value) -> Flow {
    let f = &e["fields"];
    let proto = f["network.iana_number"]
        .as_i64()
        .expect("network.iana_number");
    let port = |k: &str| {
        if proto == 6 || proto == 17 {
            f[k].as_i64()
        } else {
            None
        }
    };
    Flow {
        src: f["source.ip"].as_str().expect("source.ip").to_owned(),
        dst: f["destination.ip"]
            .as_str()
            .expect("destination.ip")
            .to_owned(),
        sport: port("source.port"),
        dport: port("destination.port"),
        proto,
        bytes: f["network.bytes"].as_i64().expect("network.bytes"),
    }
}

/// The node's flow events (raw text starts with `action`), once `want` of them are stored.
fn events(node: &Node, action: &str, want: usize) -> Vec<Value> {
    let got = eventually(Duration::from_secs(30), || {
        let v = node.get(&format!("/api/v1/events?q={action}&limit=1000"));
        let items = v["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= want).then_some(items)
    });
    got.unwrap_or_else(|| {
        let v = node.get(&format!("/api/v1/events?q={action}&limit=1000"));
        let flow_metrics: Vec<String> = node
            .metrics()
            .lines()
            .filter(|l| l.contains("flow") && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        panic!(
            "expected {want} {action} events, have {}; flow metrics:\n{}\nnode stderr:\n{}",
            v["items"].as_array().map_or(0, Vec::len),
            flow_metrics.join("\n"),
            node.stderr()
        )
    })
}

/// Every record once: the node's flows equal nfdump's, as multisets.
fn assert_same_flows(name: &str, node_events: &[Value], nfdump: Vec<Flow>) {
    assert_eq!(
        nfdump.len(),
        101,
        "{name}: nfdump read {} flows",
        nfdump.len()
    );
    let mut ours: Vec<Flow> = node_events.iter().map(flow_of).collect();
    let mut theirs = nfdump;
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{name}: node events vs nfdump");
    for e in node_events {
        assert_eq!(e["source"]["collector"], "netflow", "{name}");
        assert_eq!(e["format"], "flow", "{name}");
        assert_eq!(e["fields"]["organization.name"], "netops", "{name}");
        assert_eq!(e["fields"]["observer.ip"], "127.0.0.1", "{name}");
    }
}

/// softflowd reads the capture (`-r`) once its control socket is asked for statistics, and
/// exports everything on `expire-all`.
fn softflowd(dir: &Path, version: &str, to: u16) {
    let ctl = dir.join(format!("softflowd-{version}.ctl"));
    let pid = dir.join(format!("softflowd-{version}.pid"));
    let _sf = spawn(
        Command::new(program("softflowd"))
            .arg("-d")
            .arg("-r")
            .arg(corpus("loopback-http-udp-520pkts.pcap"))
            .args(["-n", &format!("127.0.0.1:{to}"), "-v", version, "-p"])
            .arg(&pid)
            .arg("-c")
            .arg(&ctl),
    );
    let ctl_cmd = |what: &str| {
        let ok = eventually(Duration::from_secs(10), || {
            Command::new(program("softflowctl"))
                .arg("-c")
                .arg(&ctl)
                .arg(what)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
        });
        assert!(ok.is_some(), "softflowctl {what}");
    };
    std::thread::sleep(Duration::from_millis(500));
    ctl_cmd("statistics");
    std::thread::sleep(Duration::from_secs(1));
    ctl_cmd("expire-all");
    std::thread::sleep(Duration::from_secs(1));
}

fn softflowd_case(version: &str) {
    let dir = tempfile::tempdir().unwrap();
    let netflow = free_udp_port();
    let node = node(dir.path(), netflow, free_udp_port());
    let cap = Nfcapd::start(dir.path(), netflow);
    softflowd(dir.path(), version, cap.port);
    let ours = events(&node, "netflow_flow", 101);
    std::thread::sleep(Duration::from_millis(500));
    let ours_again = events(&node, "netflow_flow", 101);
    assert_eq!(ours.len(), ours_again.len(), "no record arrives twice");
    assert_same_flows(&format!("softflowd v{version}"), &ours, cap.flows());
    for e in &ours {
        let f = &e["fields"];
        assert!(
            f["event.start"].is_string() && f["event.end"].is_string(),
            "{f}"
        );
        assert_eq!(
            f["netflow.exporter.version"].as_i64().unwrap().to_string(),
            version
        );
    }
    assert_eq!(
        node.metric("onewall_ingest_events_total{source=\"netflow\"}"),
        Some(101.0)
    );
    assert_eq!(
        node.metric("onewall_ingest_flow_sequence_gaps_total{protocol=\"netflow\"}"),
        Some(0.0)
    );
    // The capture probes 20 UDP ports from one address: the built-in port-scan correlation
    // raises one alert and one incident; the probes themselves (quiet evidence) open none.
    let scans = eventually(Duration::from_secs(20), || {
        let alerts = node.get("/api/v1/alerts?limit=1000");
        let scans: Vec<Value> = alerts["items"]
            .as_array()?
            .iter()
            .filter(|a| {
                a["rule"]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Port scan"))
            })
            .cloned()
            .collect();
        (!scans.is_empty()).then_some(scans)
    })
    .unwrap_or_else(|| panic!("no port-scan alert; stderr:\n{}", node.stderr()));
    assert_eq!(scans.len(), 1, "{scans:#?}");
    let incidents = eventually(Duration::from_secs(20), || {
        let list = node.get("/api/v1/incidents");
        let items = list["items"].as_array()?.clone();
        (!items.is_empty()).then_some(items)
    })
    .expect("an incident for the scan");
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(
        incidents[0]["alert_ids"],
        serde_json::json!([scans[0]["id"]])
    );
}

#[test]
fn softflowd_netflow_v5() {
    softflowd_case("5");
}

#[test]
fn softflowd_netflow_v9() {
    softflowd_case("9");
}

#[test]
fn softflowd_ipfix() {
    softflowd_case("10");
}

/// pmacctd with a config file reads the capture and exits by itself.
fn pmacctd(dir: &Path, name: &str, plugin_lines: &str) {
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_savefile: {}\n{plugin_lines}",
            corpus("loopback-http-udp-520pkts.pcap").display()
        ),
    )
    .unwrap();
    let mut p = spawn(Command::new(program("pmacctd")).arg("-f").arg(&conf));
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pmacctd_ipfix() {
    let dir = tempfile::tempdir().unwrap();
    let netflow = free_udp_port();
    let node = node(dir.path(), netflow, free_udp_port());
    let cap = Nfcapd::start(dir.path(), netflow);
    pmacctd(
        dir.path(),
        "ipfix",
        &format!(
            "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:{}\nnfprobe_version: 10\nnfprobe_timeouts: tcp=1:maxlife=2:expint=1\n",
            cap.port
        ),
    );
    let ours = events(&node, "netflow_flow", 101);
    assert_same_flows("pmacctd ipfix", &ours, cap.flows());
}

#[test]
fn nfreplay_netflow_v9() {
    let dir = tempfile::tempdir().unwrap();
    let netflow = free_udp_port();
    let node = node(dir.path(), netflow, free_udp_port());
    let cap = Nfcapd::start(dir.path(), netflow);
    let status = Command::new(program("nfreplay"))
        .arg("-r")
        .arg(corpus("softflowd-ipfix.nfcapd"))
        .args(["-H", "127.0.0.1", "-p", &cap.port.to_string(), "-v", "9"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("nfreplay");
    assert!(status.success());
    let ours = events(&node, "netflow_flow", 101);
    assert_same_flows("nfreplay v9", &ours, cap.flows());
}

/// (source port, destination port, protocol, IP length) of every IPv4 packet in a classic
/// pcap file (Ethernet or raw-IP link types).
fn pcap_packets(path: &Path) -> Vec<(Option<i64>, Option<i64>, i64, i64)> {
    let b = std::fs::read(path).unwrap();
    let le = b[0..4] == [0xd4, 0xc3, 0xb2, 0xa1] || b[0..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let u32_at = |i: usize| {
        let x = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        }
    };
    let link = u32_at(20);
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= b.len() {
        let caplen = u32_at(at + 8) as usize;
        let pkt = &b[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        let ip = match link {
            1 if pkt.len() > 14 && pkt[12..14] == [0x08, 0x00] => &pkt[14..],
            101 | 228 => pkt,
            _ => continue,
        };
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let proto = i64::from(ip[9]);
        let len = i64::from(u16::from_be_bytes([ip[2], ip[3]]));
        let l4 = &ip[ihl..];
        let (sp, dp) = if proto == 6 || proto == 17 {
            (
                Some(i64::from(u16::from_be_bytes([l4[0], l4[1]]))),
                Some(i64::from(u16::from_be_bytes([l4[2], l4[3]]))),
            )
        } else {
            (None, None)
        };
        out.push((sp, dp, proto, len));
    }
    out
}

/// The flow samples in one sFlow v5 datagram (its header and each sample's format).
fn sflow_samples(d: &[u8]) -> usize {
    let u32_at = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let addr_len = if u32_at(4) == 2 { 16 } else { 4 };
    let announced = u32_at(8 + addr_len + 12) as usize;
    // Flow samples only (format 1, or 3 expanded): pmacctd also sends a counter sample now
    // and then, which carries no flow and is no event.
    let mut at = 8 + addr_len + 16;
    let mut flows = 0;
    for _ in 0..announced {
        let (format, len) = (u32_at(at), u32_at(at + 4) as usize);
        if format == 1 || format == 3 {
            flows += 1;
        }
        at += 8 + len;
    }
    flows
}

#[test]
fn pmacctd_sflow() {
    let dir = tempfile::tempdir().unwrap();
    let sflow = free_udp_port();
    let node = node(dir.path(), free_udp_port(), sflow);
    // A relay in front of the node counts the samples pmacctd announced.
    let relay = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    relay
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 65535];
        let mut samples = 0;
        while let Ok(n) = relay.recv(&mut buf) {
            samples += sflow_samples(&buf[..n]);
            relay.send_to(&buf[..n], ("127.0.0.1", sflow)).unwrap();
        }
        samples
    });
    pmacctd(
        dir.path(),
        "sflow",
        &format!(
            "plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{relay_port}\nsfprobe_agentip: 127.0.0.1\nsampling_rate: 1\n"
        ),
    );
    let announced = counter.join().unwrap();
    // The capture has 520 packets. pmacctd reads the file as fast as it can, and on a busy
    // machine its core-to-plugin buffer or the relay's socket drops some (408 seen once):
    // what it did send must arrive whole, but how much it sends is not ours to promise.
    assert!(announced > 260, "pmacctd announced {announced} samples");
    let ours = events(&node, "sflow_flow", announced);
    assert_eq!(ours.len(), announced, "every sample once");
    // Each sample is one packet of the capture: match them as multisets.
    let mut packets: BTreeMap<(Option<i64>, Option<i64>, i64, i64), usize> = BTreeMap::new();
    for p in pcap_packets(&corpus("loopback-http-udp-520pkts.pcap")) {
        *packets.entry(p).or_default() += 1;
    }
    for e in &ours {
        let f = flow_of(e);
        assert_eq!((f.src.as_str(), f.dst.as_str()), ("127.0.0.1", "127.0.0.1"));
        assert_eq!(e["fields"]["network.packets"], 1);
        let key = (f.sport, f.dport, f.proto, f.bytes);
        let left = packets
            .get_mut(&key)
            .unwrap_or_else(|| panic!("sample {key:?} is no packet of the capture"));
        assert!(
            *left > 0,
            "sample {key:?} seen more often than in the capture"
        );
        *left -= 1;
    }
    assert_eq!(
        node.metric("onewall_ingest_events_total{source=\"sflow\"}"),
        Some(announced as f64)
    );
}

// ---- Detections on flows -------------------------------------------------------------------

mod detections {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::path::PathBuf;

    use onewall_correlate::sigma::{MEASURED_VALUE, SigmaConfig, SigmaCorrelator};
    use onewall_ingest::flow::{FlowContext, NetflowDecoder, NetflowSettings};
    use onewall_model::{Alert, Event, EventId, RegionCode, Source, Timestamp, Value};
    use onewall_rules::Engine;
    use onewall_rules::correlation::load_correlations;

    fn ctx() -> FlowContext {
        FlowContext {
            collector: "netflow".into(),
            region: RegionCode::HENAN,
            department: None,
        }
    }

    /// The softflowd v9 export of the capture, decoded.
    fn capture_flows() -> Vec<Event> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/flows/dgrams/softflowd_v9");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut d = NetflowDecoder::new(NetflowSettings::default()).unwrap();
        let mut out = Vec::new();
        let peer: SocketAddr = "127.0.0.1:9995".parse().unwrap();
        for f in files {
            d.decode(
                &std::fs::read(f).unwrap(),
                peer,
                Timestamp::now(),
                &ctx(),
                &mut out,
            );
        }
        assert_eq!(out.len(), 101);
        out
    }

    /// One NetFlow v5 datagram with one TCP record.
    fn v5_datagram(dst: [u8; 4], dst_port: u16, flags: u8) -> Vec<u8> {
        let mut d = vec![0, 5, 0, 1];
        d.extend_from_slice(&60_000u32.to_be_bytes()); // sys_up_time
        d.extend_from_slice(&1_800_000_000u32.to_be_bytes()); // unix_secs
        d.extend_from_slice(&[0; 4]); // unix_nsecs
        d.extend_from_slice(&[0, 0, 0, 7]); // flow_sequence
        d.extend_from_slice(&[0, 0, 0, 0]); // engine type/id, sampling
        d.extend_from_slice(&[10, 20, 1, 15]); // src
        d.extend_from_slice(&dst);
        d.extend_from_slice(&[0; 4]); // next hop
        d.extend_from_slice(&[0, 1, 0, 2]); // input, output
        d.extend_from_slice(&12u32.to_be_bytes()); // packets
        d.extend_from_slice(&5120u32.to_be_bytes()); // octets
        d.extend_from_slice(&50_000u32.to_be_bytes()); // first
        d.extend_from_slice(&59_000u32.to_be_bytes()); // last
        d.extend_from_slice(&51_234u16.to_be_bytes());
        d.extend_from_slice(&dst_port.to_be_bytes());
        d.extend_from_slice(&[0, flags, 6, 0, 0, 0, 0, 0, 24, 24, 0, 0]);
        d
    }

    #[test]
    fn builtin_unusual_port_rule_fires_on_a_decoded_flow_and_not_on_the_capture() {
        let (engine, report) = Engine::builtin();
        assert!(report.is_clean(), "{:?}", report.errors);
        let mut d = NetflowDecoder::new(NetflowSettings::default()).unwrap();
        let peer: SocketAddr = "10.20.0.1:2055".parse().unwrap();
        let mut events = Vec::new();
        d.decode(
            &v5_datagram([203, 0, 113, 77], 4444, 0x1b),
            peer,
            Timestamp::now(),
            &ctx(),
            &mut events,
        );
        d.decode(
            &v5_datagram([203, 0, 113, 77], 443, 0x1b),
            peer,
            Timestamp::now(),
            &ctx(),
            &mut events,
        );
        assert_eq!(events.len(), 2);
        let mut alerts = Vec::new();
        engine.match_batch(&events, Timestamp::now(), &mut alerts);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].rule.id, "76d77bbd-968f-45b4-8b3f-57561ee6d012");
        assert_eq!(alerts[0].event_ids, vec![events[0].id]);

        // The capture's single UDP datagrams to ports 5001-5020 are probes: quiet evidence for
        // the port-scan correlation, nothing that opens an incident of its own.
        let (_, corr) = flow_pack();
        let mut alerts = Vec::new();
        engine.match_batch(&capture_flows(), Timestamp::now(), &mut alerts);
        let loud: Vec<&Alert> = alerts
            .iter()
            .filter(|a| !corr.is_quiet(&a.rule.id))
            .collect();
        assert!(loud.is_empty(), "the capture is benign: {loud:?}");
        let probes = alerts
            .iter()
            .filter(|a| a.rule.title == "Flow that probes a port")
            .count();
        assert!(probes >= 20, "{alerts:#?}");
    }

    /// The built-in pack's detection rules and its resolved correlations (the flow ones among
    /// them).
    fn flow_pack() -> (Engine, SigmaCorrelator) {
        let (engine, report) = Engine::builtin();
        assert!(report.is_clean(), "{:?}", report.errors);
        let (set, report) = load_correlations(&onewall_rules::builtin_sources());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let (resolved, errors) = set.resolve(engine.rules());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resolved.len(), 3);
        (
            engine,
            SigmaCorrelator::new(resolved, SigmaConfig::default()),
        )
    }

    fn correlate(engine: &Engine, corr: &mut SigmaCorrelator, events: &[Event]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        engine.match_batch(events, Timestamp::now(), &mut alerts);
        let lookup: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
        corr.process(&alerts, &lookup, Timestamp::now())
    }

    fn measured(a: &Alert) -> String {
        a.matched
            .iter()
            .find(|m| m.field == MEASURED_VALUE)
            .map(|m| m.value.clone())
            .unwrap_or_default()
    }

    #[test]
    fn flow_correlations_find_the_udp_port_scan_in_the_capture() {
        // The capture sends one UDP datagram to each of ports 5001-5020: 20 ports probed by
        // 127.0.0.1 within seconds. The HTTP connections (SYN and ACK) are no probes.
        let (engine, mut corr) = flow_pack();
        let fired = correlate(&engine, &mut corr, &capture_flows());
        assert_eq!(fired.len(), 1, "{fired:#?}");
        assert!(
            fired[0].rule.title.starts_with("Port scan"),
            "{}",
            fired[0].rule.title
        );
        assert_eq!(measured(&fired[0]), "20");
    }

    fn synthetic(
        src: &str,
        dst: &str,
        port: i64,
        transport: &str,
        flags: &str,
        bytes: i64,
        sec: i64,
    ) -> Event {
        let t = Timestamp::from_secs(1_800_000_000 + sec);
        let mut e = Event::new(t, RegionCode::HENAN, Source::new("netflow", None), b"");
        e.time = t;
        e.format = onewall_model::Format::Flow;
        let f = &mut e.fields;
        f.insert("event.category", Value::str("network"));
        f.insert("event.action", Value::str("netflow_flow"));
        f.insert("source.ip", Value::Ip(src.parse().unwrap()));
        f.insert("destination.ip", Value::Ip(dst.parse().unwrap()));
        f.insert("destination.port", Value::Int(port));
        f.insert("network.transport", Value::str(transport));
        if !flags.is_empty() {
            f.insert("network.tcp_flags_names", Value::str(flags));
        }
        f.insert("network.packets", Value::Int(1));
        f.insert("network.bytes", Value::Int(bytes));
        e
    }

    #[test]
    fn flow_correlations_find_a_host_sweep_and_a_volumetric_spike() {
        let (engine, mut corr) = flow_pack();
        // 25 hosts probed on port 22 (SYN only) in 25 seconds; 24 would still be a sweep, 19
        // would not.
        let sweep: Vec<Event> = (0..25)
            .map(|i| {
                synthetic(
                    "10.9.9.9",
                    &format!("10.1.0.{}", i + 1),
                    22,
                    "tcp",
                    "syn",
                    60,
                    i,
                )
            })
            .collect();
        let fired = correlate(&engine, &mut corr, &sweep);
        assert_eq!(fired.len(), 1, "{fired:#?}");
        assert!(fired[0].rule.title.starts_with("Host sweep"));
        assert_eq!(measured(&fired[0]), "20");

        let (engine, mut corr) = flow_pack();
        let quiet: Vec<Event> = (0..19)
            .map(|i| {
                synthetic(
                    "10.9.9.8",
                    &format!("10.1.0.{}", i + 1),
                    22,
                    "tcp",
                    "syn",
                    60,
                    i,
                )
            })
            .collect();
        assert!(correlate(&engine, &mut corr, &quiet).is_empty());

        // Three flows of 400 MB from one source within a minute: 1.2 GB.
        let big: Vec<Event> = (0..3)
            .map(|i| {
                synthetic(
                    "10.7.7.7",
                    "198.51.100.9",
                    443,
                    "tcp",
                    "syn,ack",
                    400_000_000,
                    i * 10,
                )
            })
            .collect();
        let fired = correlate(&engine, &mut corr, &big);
        assert_eq!(fired.len(), 1, "{fired:#?}");
        assert!(fired[0].rule.title.starts_with("Volumetric spike"));
        // Two such flows (800 MB) stay quiet.
        let (engine, mut corr) = flow_pack();
        assert!(correlate(&engine, &mut corr, &big[..2]).is_empty());
    }
}
