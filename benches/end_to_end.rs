//! End to end: syslog over TCP from loopback clients through the real binary (parse, the
//! built-in rules plus the SigmaHQ Linux rules from the shared corpus, the spool) into the
//! embedded store and, when `ONEWALL_CLICKHOUSE_URL` is set, into ClickHouse. Prints events/s
//! (median of the runs) and the node's peak resident memory.
//!
//! `cargo bench --bench end_to_end` runs the full size; under `cargo test` it runs once, small,
//! as a smoke test. `ONEWALL_E2E_EVENTS` and `ONEWALL_E2E_CLIENTS` change the size;
//! `ONEWALL_E2E_BACKENDS` (`embedded,clickhouse`) which stores run; `ONEWALL_E2E_SIGMA=0`
//! leaves the SigmaHQ rules out. `ONEWALL_E2E_STREAM_CLIENTS=N` runs each run twice, with N
//! clients reading the live stream (`GET /api/v1/stream`) and with none, interleaved, and
//! prints the ratio of the two (the stream's overhead). `ONEWALL_E2E_INTEL=N` runs each run
//! twice, with a list feed of N mixed indicators (addresses, ranges, domains, SHA-256 hashes,
//! URLs; a few of them the lines' attacker addresses) and without, interleaved, and prints
//! both and the difference in CPU per event (what matching every event costs).
//! `ONEWALL_E2E_ANOMALY=1` runs each run twice, with the built-in anomaly detectors (the
//! default, `[anomaly] enabled = true`) and without (`enabled = false`), interleaved, and
//! prints both and what the detectors add in CPU per event. `ONEWALL_E2E_ASSETS=1` runs each
//! run three times: with a registry of 100 k hosts (`ONEWALL_E2E_ASSET_HOSTS`) imported before
//! the clock starts (the lines' `web01`…`web39` among them, so every alert gets its target),
//! with the assets on but nothing registered (only the seen hosts noted), and with `[assets]
//! enabled = false`, and prints what the lookup and the seen hosts add in CPU per event.
//! The Windows variant (evtx_dump JSON and Winlogbeat `_bulk` through a SigmaHQ Windows pack)
//! runs after the syslog one: `ONEWALL_E2E_WINDOWS=0` leaves it out, `only` runs it alone,
//! `evtx` or `winlogbeat` runs that shape alone; `ONEWALL_E2E_WINDOWS_EVENTS` sets its size.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Lines shaped like a busy auth log: mostly noise, some failures that fire rules.
fn line(i: usize) -> String {
    let host = format!("web{:02}", i % 40);
    match i % 10 {
        0 => format!(
            "<38>Nov 28 10:00:{:02} {host} sshd[{}]: Failed password for invalid user u{} from 203.0.113.{} port {} ssh2",
            i % 60,
            1000 + i % 900,
            i % 50,
            i % 250,
            40000 + i % 20000
        ),
        1 => format!(
            "<86>Nov 28 10:00:{:02} {host} sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
            i % 60
        ),
        _ => format!(
            "<30>1 2026-11-28T10:00:{:02}.{:06}+08:00 {host} nginx {} - - GET /api/items/{} 200 {}",
            i % 60,
            i % 1_000_000,
            2000 + i % 900,
            i,
            512 + i % 4096
        ),
    }
}

fn metrics_text(http: &str) -> String {
    let addr = http.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// The value of the series `name` (with its labels, as `/metrics` spells them) in `text`.
fn series(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// Where the node's stages spent their time, per event (µs), and the events per store write.
fn stage_breakdown(text: &str, events: u64) -> String {
    let mut out = Vec::new();
    for step in [
        "spool_append",
        "detect",
        "anomaly",
        "assets",
        "write_events",
        "correlate",
        "write_alerts",
        "spool_commit",
        "incidents",
    ] {
        let us = series(
            text,
            &format!("onewall_pipeline_busy_microseconds_total{{step=\"{step}\"}}"),
        );
        out.push(format!("{step} {:.2}", us as f64 / events.max(1) as f64));
    }
    let writes = series(text, "onewall_store_event_writes_total").max(1);
    format!(
        "µs/event: {}; {:.0} events per store write",
        out.join(", "),
        events as f64 / writes as f64
    )
}

/// The SigmaHQ Linux rules of the shared corpus, when present.
fn sigma_linux() -> Option<std::path::PathBuf> {
    if std::env::var("ONEWALL_E2E_SIGMA").as_deref() == Ok("0") {
        return None;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/sigmahq/rules/linux");
    dir.is_dir().then_some(dir)
}

/// In a run's extra configuration: import a registry of this many hosts before the clock
/// starts (a TOML comment, so the configuration is unchanged).
const ASSET_REGISTRY_MARK: &str = "# assets: registry of ";

/// Import a registry of `hosts` hosts (one system per 100 hosts; `web00`…`web39` named among
/// them) into the node at `http`.
fn preload_registry(http: &str, token: &str, hosts: usize) {
    let mut csv = String::from("系统名称,区划代码,使用单位,运维单位,等保级别,IP地址,主机名\n");
    for i in 0..hosts {
        let name = if i < 40 {
            format!("web{i:02}")
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "bench-system-{},410000,bench department {},ops,{},10.{}.{}.{},{name}\n",
            i / 100,
            i % 7,
            1 + i % 4,
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let started = Instant::now();
    let mut resp = agent
        .post(&format!("{http}/api/v1/assets/import?name=bench.csv"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "text/csv")
        .send(csv.as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "registry import: {body}");
    println!(
        "  registry of {hosts} hosts imported in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// Run `sql` on the ClickHouse server at `url`.
fn clickhouse_sql(url: &str, sql: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.post(url).send(sql.as_bytes()).unwrap();
    resp.body_mut().read_to_string().unwrap()
}

/// What one stream client read: messages and bytes of alerts and of incident changes.
#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    alerts: usize,
    alert_bytes: usize,
    incidents: usize,
    incident_bytes: usize,
}

/// `n` clients of the live stream of the node at `http` (as its admin), each reading until
/// the node closes the stream. Each stream is open (its answer's head read) before the next
/// connects and before the clock starts, as screens that opened their streams earlier.
fn stream_clients(http: &str, token: &str, n: usize) -> Vec<std::thread::JoinHandle<Heard>> {
    let addr = http.trim_start_matches("http://").to_owned();
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            write!(
                s,
                "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
            )
            .unwrap();
            let mut reader = BufReader::new(s);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            line.clear();
            std::thread::spawn(move || {
                let mut heard = Heard::default();
                let mut alert = false;
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    if line.starts_with(b"event: alert") {
                        heard.alerts += 1;
                        alert = true;
                    } else if line.starts_with(b"event: incident") {
                        heard.incidents += 1;
                        alert = false;
                    } else if line.starts_with(b"data: ") {
                        if alert {
                            heard.alert_bytes += line.len();
                        } else {
                            heard.incident_bytes += line.len();
                        }
                    }
                    line.clear();
                }
                heard
            })
        })
        .collect()
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    events_per_s: f64,
    /// Peak resident memory of the node, KiB.
    rss_kib: u64,
    /// The node's CPU (user + system) over the run, per event, µs.
    cpu_us: f64,
}

/// A node of `bin` started on the config file `cfg`, ready, with its listeners' addresses.
struct Node {
    child: std::process::Child,
    tcp: String,
    http: String,
}

fn start_node(bin: &str, cfg: &std::path::Path) -> Node {
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(cfg)
        .env("ONEWALL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut tcp, mut http) = (String::new(), String::new());
    for l in BufReader::new(child.stdout.take().unwrap()).lines() {
        let l = l.unwrap();
        if let Some(a) = l.strip_prefix("onewall listening syslog_tcp ") {
            tcp = a.to_owned();
        }
        if let Some(a) = l.strip_prefix("onewall listening http ") {
            http = a.to_owned();
        }
        if l.starts_with("onewall ready") {
            break;
        }
    }
    assert!(!http.is_empty(), "the node did not start (config {cfg:?})");
    Node { child, tcp, http }
}

/// Wait until every one of `want` events is stored and the spool is committed past the last
/// one, which the store stage does after the batch's alerts are stored too.
fn wait_stored(http: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let text = metrics_text(http);
        if series(&text, "onewall_store_events_written_total") >= want
            && series(&text, "onewall_spool_committed_seq") >= want
        {
            break;
        }
        assert!(Instant::now() < deadline, "events never all stored");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The CPU time (user + system, clock ticks) process `pid` has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

fn cpu_us_per_event(ticks: u64, events: u64) -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let hz = *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    ticks as f64 / hz * 1e6 / events.max(1) as f64
}

/// The peak resident memory of process `pid`, KiB.
fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One run of syslog lines over TCP.
/// A plain list of `n` indicators of mixed kinds, one per line, as a feed file; the first
/// few are addresses the bench's failed-password lines come from, so matching raises alerts.
fn intel_feed(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("indicators.txt");
    let mut out = String::with_capacity(n * 40);
    for i in 0..n {
        let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let line = match i % 20 {
            _ if i < 5 => format!("203.0.113.{}", i * 7),
            0..=7 => format!(
                "{}.{}.{}.{}",
                11 + (x >> 56) % 200,
                (x >> 48) & 255,
                (x >> 40) & 255,
                (x >> 32) & 255
            ),
            8 | 9 => format!(
                "{}.{}.{}.0/24",
                11 + (x >> 56) % 200,
                (x >> 48) & 255,
                (x >> 40) & 255
            ),
            10..=14 => format!("h{:x}.example{}.net", x >> 24, i % 97),
            15..=18 => format!("{x:016x}{:016x}{x:016x}{:016x}", x ^ 0x55, x ^ 0xaa),
            _ => format!("http://h{:x}.example.org/p/{i}", x >> 30),
        };
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    path
}

/// `[intel]` with the list feed `file`, for a node's config.
fn intel_config(file: &std::path::Path) -> String {
    format!(
        "[intel]\n[[intel.feeds]]\nname = \"bench\"\nformat = \"list\"\npath = \"{}\"\ninterval_secs = 86400\n",
        file.display()
    )
}

/// Wait until the node holds the bench feed's `n` indicators (less what the list refused).
fn wait_intel(http: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while series(
        &metrics_text(http),
        "onewall_intel_indicators{feed=\"bench\"}",
    ) < (n as u64) * 9 / 10
    {
        assert!(Instant::now() < deadline, "the bench feed was never loaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The load's retro-hunt (over the empty store) ends before the clock starts, so the run
    // measures matching, not the hunt.
    while series(&metrics_text(http), "onewall_intel_retro_hunts_total") < 1 {
        assert!(
            Instant::now() < deadline,
            "the bench feed's retro-hunt never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_once(
    bin: &str,
    events: usize,
    clients: usize,
    clickhouse: Option<&str>,
    streams: usize,
) -> Run {
    run_with(bin, events, clients, clickhouse, streams, None, "")
}

fn run_with(
    bin: &str,
    events: usize,
    clients: usize,
    clickhouse: Option<&str>,
    streams: usize,
    intel: Option<(&std::path::Path, usize)>,
    extra: &str,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    let database = format!("onewall_bench_{}", std::process::id());
    let store = match clickhouse {
        Some(url) => {
            clickhouse_sql(url, &format!("DROP DATABASE IF EXISTS {database}"));
            format!(
                "backend = \"clickhouse\"\n[store.clickhouse]\nurl = \"{url}\"\ndatabase = \"{database}\"\nbatch_linger_ms = 200\n"
            )
        }
        None => String::new(),
    };
    let rules = match sigma_linux() {
        Some(d) => format!("[rules]\ndirs = [\"{}\"]\n", d.display()),
        None => String::new(),
    };
    std::fs::write(
        &cfg,
        format!(
            "version = 1\n[syslog]\nudp = \"\"\ntcp = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
             [flow]\nnetflow = \"\"\nsflow = \"\"\n{rules}[store]\npath = \"{}\"\n{store}{}{extra}",
            dir.path().join("data").display(),
            intel.map(|(f, _)| intel_config(f)).unwrap_or_default()
        ),
    )
    .unwrap();
    let Node {
        mut child,
        tcp,
        http,
    } = start_node(bin, &cfg);
    if let Some((_, n)) = intel {
        wait_intel(&http, n);
    }
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap_or_default();
    if let Some(rest) = extra.split(ASSET_REGISTRY_MARK).nth(1) {
        let hosts = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        preload_registry(&http, token.trim(), hosts);
    }
    let readers = stream_clients(&http, token.trim(), streams);
    // Frames prepared before the clock starts: octet-counted, as rsyslog sends them.
    let per = events / clients;
    let payloads: Vec<Vec<u8>> = (0..clients)
        .map(|c| {
            let mut buf = Vec::new();
            for i in 0..per {
                let l = line(c * per + i);
                buf.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
            }
            buf
        })
        .collect();
    let cpu_before = cpu_ticks(child.id());
    let start = Instant::now();
    let senders: Vec<_> = payloads
        .into_iter()
        .map(|buf| {
            let addr = tcp.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(&buf).unwrap();
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let want = (per * clients) as u64;
    wait_stored(&http, want);
    let secs = start.elapsed().as_secs_f64();
    let text = metrics_text(&http);
    println!("  {}", stage_breakdown(&text, want));
    let detectors = series(&text, "onewall_anomaly_detectors");
    if detectors > 0 {
        println!(
            "  anomaly: {detectors} detectors, {} alerts",
            text.lines()
                .filter(|l| l.starts_with("onewall_anomaly_alerts_total{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .map(|v| v as u64)
                .sum::<u64>()
        );
    }
    let cpu = cpu_ticks(child.id()) - cpu_before;
    let rss = peak_rss(child.id());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let heard: Vec<Heard> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    if let Some(h) = heard.iter().max_by_key(|h| h.alerts + h.incidents) {
        let least = heard.iter().map(|h| h.alerts).min().unwrap_or(0);
        println!(
            "  {streams} stream clients: each read {} alerts ({:.1} MB; the least {least}) and {} \
             incident changes ({:.1} MB)",
            h.alerts,
            h.alert_bytes as f64 / 1e6,
            h.incidents,
            h.incident_bytes as f64 / 1e6
        );
    }
    if let Some(url) = clickhouse {
        let stored = clickhouse_sql(url, &format!("SELECT count() FROM {database}.events"));
        assert_eq!(stored.trim(), want.to_string(), "events in clickhouse");
        clickhouse_sql(url, &format!("DROP DATABASE IF EXISTS {database}"));
    }
    Run {
        events_per_s: want as f64 / secs,
        rss_kib: rss,
        cpu_us: cpu_us_per_event(cpu, want),
    }
}

/// The run of median throughput, and every run's throughput.
fn median(mut results: Vec<Run>) -> (Run, Vec<f64>) {
    results.sort_by(|a, b| a.events_per_s.total_cmp(&b.events_per_s));
    let m = results[results.len() / 2];
    (m, results.iter().map(|r| r.events_per_s).collect())
}

/// The Windows shapes the bench sends, and how each is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// evtx_dump JSON (the corpus `.evtx` files read with the `evtx` crate), NDJSON bodies
    /// to `POST /api/v1/ingest`.
    Evtx,
    /// Winlogbeat ECS JSON (the corpus sample), `_bulk` bodies into an index, as Winlogbeat
    /// sends them.
    Winlogbeat,
}

impl Shape {
    fn pipeline(self) -> &'static str {
        match self {
            Shape::Evtx => "windows-evtx",
            Shape::Winlogbeat => "windows-winlogbeat",
        }
    }

    /// Events per request: the NDJSON batches, Winlogbeat's default `bulk_max_size`.
    fn per_body(self) -> usize {
        match self {
            Shape::Evtx => env_usize("ONEWALL_E2E_WINDOWS_BATCH", 5_000),
            Shape::Winlogbeat => env_usize("ONEWALL_E2E_WINDOWS_BATCH", 1_600),
        }
        .max(1)
    }

    fn path(self) -> &'static str {
        match self {
            Shape::Evtx => "/api/v1/ingest",
            Shape::Winlogbeat => "/winlogbeat/_bulk",
        }
    }
}

fn corpus() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The corpus Windows events of `shape` as JSON objects (empty when the corpus is absent).
fn windows_corpus(shape: Shape) -> Vec<serde_json::Value> {
    match shape {
        Shape::Evtx => {
            let mut files: Vec<_> = std::fs::read_dir(corpus().join("evtx"))
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.retain(|p| p.extension().is_some_and(|e| e == "evtx"));
            files.sort();
            let mut out = Vec::new();
            for f in files {
                let Ok(mut parser) = evtx::EvtxParser::from_path(&f) else {
                    continue;
                };
                // Damaged records are skipped, as a reader that goes on would.
                out.extend(
                    parser
                        .records_json_value()
                        .filter_map(|r| r.ok())
                        .map(|r| r.data),
                );
            }
            out
        }
        Shape::Winlogbeat => {
            std::fs::read_to_string(corpus().join("formats/windows-winlogbeat.ndjson"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with('{'))
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }
}

/// RFC 3339 `text` moved `secs` seconds later (as it was when it does not parse).
fn later(text: &str, secs: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|t| (t + time::Duration::seconds(secs)).format(&Rfc3339).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// Copy `copy` of a corpus event: its record id and time moved, so repeats are new records.
fn vary(shape: Shape, base: &serde_json::Value, copy: u64) -> serde_json::Value {
    use serde_json::Value as J;
    let mut v = base.clone();
    match shape {
        Shape::Evtx => {
            if let Some(id) = v.pointer_mut("/Event/System/EventRecordID") {
                *id = J::from(id.as_u64().unwrap_or(0) + copy * 10_000_000);
            }
            if let Some(J::String(t)) =
                v.pointer_mut("/Event/System/TimeCreated/#attributes/SystemTime")
            {
                *t = later(t, copy as i64);
            }
        }
        Shape::Winlogbeat => {
            if let Some(id) = v.pointer_mut("/winlog/record_id") {
                let n: u64 = id.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
                *id = J::from((n + copy * 10_000_000).to_string());
            }
            if let Some(J::String(t)) = v.pointer_mut("/@timestamp") {
                *t = later(t, copy as i64);
            }
        }
    }
    v
}

/// `n` events of `shape` as request bodies (and how many events each holds).
fn windows_bodies(shape: Shape, n: usize) -> Vec<(Vec<u8>, usize)> {
    let base = windows_corpus(shape);
    if base.is_empty() {
        return Vec::new();
    }
    let mut bodies = Vec::new();
    let (mut body, mut held) = (Vec::new(), 0);
    for i in 0..n {
        let event = vary(shape, &base[i % base.len()], (i / base.len()) as u64);
        if shape == Shape::Winlogbeat {
            body.extend_from_slice(b"{\"create\":{}}\n");
        }
        serde_json::to_writer(&mut body, &event).unwrap();
        body.push(b'\n');
        held += 1;
        if held == shape.per_body() {
            bodies.push((std::mem::take(&mut body), held));
            held = 0;
        }
    }
    if held > 0 {
        bodies.push((body, held));
    }
    bodies
}

/// A pack of the SigmaHQ Windows rules with the routing pipelines and `shape`'s, in `dir`.
fn windows_pack(dir: &std::path::Path, shape: Shape) -> std::path::PathBuf {
    let pack = dir.join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    let rules = corpus().join("sigmahq/rules/windows");
    std::fs::write(
        pack.join("pack.yml"),
        format!(
            "name: sigmahq-windows\nrules: [\"{}\"]\npipelines: [windows-sysmon, windows-logsource, {}]\n",
            rules.display(),
            shape.pipeline()
        ),
    )
    .unwrap();
    pack
}

/// One run of Windows events of `shape` over HTTP from `clients` senders.
fn run_windows_once(bin: &str, shape: Shape, bodies: &[(Vec<u8>, usize)], clients: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    let pack = windows_pack(dir.path(), shape);
    std::fs::write(
        &cfg,
        format!(
            "version = 1\n[syslog]\nudp = \"\"\ntcp = \"\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
             [flow]\nnetflow = \"\"\nsflow = \"\"\n[rules]\npacks = [\"{}\"]\n[store]\npath = \"{}\"\n",
            pack.display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let Node {
        mut child, http, ..
    } = start_node(bin, &cfg);
    let url = format!("{http}{}", shape.path());
    let want: u64 = bodies.iter().map(|b| b.1 as u64).sum();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let cpu_before = cpu_ticks(child.id());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((body, _)) = bodies.get(k) else {
                        break;
                    };
                    let mut resp = agent
                        .post(&url)
                        .header("Content-Type", "application/x-ndjson")
                        .send(&body[..])
                        .unwrap();
                    let status = resp.status();
                    let text = resp.body_mut().read_to_string().unwrap_or_default();
                    assert!(status.is_success(), "{url}: {status}: {text:.300}");
                    assert!(!text.contains("\"errors\":true"), "{url}: {text:.300}");
                }
            });
        }
    });
    wait_stored(&http, want);
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_ticks(child.id()) - cpu_before;
    let text = metrics_text(&http);
    println!("  {}", stage_breakdown(&text, want));
    println!(
        "  alerts: {}",
        series(&text, "onewall_store_alerts_written_total")
    );
    let rss = peak_rss(child.id());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    Run {
        events_per_s: want as f64 / secs,
        rss_kib: rss,
        cpu_us: cpu_us_per_event(cpu, want),
    }
}

/// The Windows variant: each shape through a SigmaHQ Windows pack into the embedded store.
fn windows_bench(
    this: &str,
    baseline: Option<&str>,
    runs: usize,
    clients: usize,
    full: bool,
    shapes: &[Shape],
) {
    let n = env_usize(
        "ONEWALL_E2E_WINDOWS_EVENTS",
        if full { 100_000 } else { 500 },
    );
    for &shape in shapes {
        let bodies = windows_bodies(shape, n);
        if bodies.is_empty() {
            println!("end_to_end: windows {shape:?} not run (no corpus events)");
            continue;
        }
        let bytes: usize = bodies.iter().map(|b| b.0.len()).sum();
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            if let Some(b) = baseline {
                theirs.push(run_windows_once(b, shape, &bodies, clients));
            }
            mine.push(run_windows_once(this, shape, &bodies, clients));
        }
        let (m, all) = median(mine);
        println!(
            "end_to_end: windows {shape:?}: {n} events ({:.0} bytes each) in bodies of {} over \
             {clients} HTTP clients to {} → embedded store, SigmaHQ Windows pack ({}): median \
             {:.0} events/s over {runs} run(s) (all: {all:.0?}); CPU {:.1} µs/event; peak RSS {} MiB",
            bytes as f64 / n as f64,
            shape.per_body(),
            shape.path(),
            shape.pipeline(),
            m.events_per_s,
            m.cpu_us,
            m.rss_kib / 1024
        );
        if let Some(b) = baseline {
            let (bm, ball) = median(theirs);
            println!(
                "end_to_end: windows {shape:?} baseline {b}: median {:.0} events/s (all: \
                 {ball:.0?}); CPU {:.1} µs/event; this build / baseline = {:.3}",
                bm.events_per_s,
                bm.cpu_us,
                m.events_per_s / bm.events_per_s
            );
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let clients = env_usize("ONEWALL_E2E_CLIENTS", 4).max(1);
    let runs = env_usize("ONEWALL_E2E_RUNS", if full { 3 } else { 1 }).max(1);
    // Another build of onewall (e.g. the commit before a change) run in the same process,
    // interleaved run by run with this one, so both see the same machine.
    let baseline = std::env::var("ONEWALL_E2E_BASELINE")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let this = env!("CARGO_BIN_EXE_onewall");
    let windows = std::env::var("ONEWALL_E2E_WINDOWS").unwrap_or_default();
    let shapes: &[Shape] = match windows.as_str() {
        "0" => &[],
        "evtx" => &[Shape::Evtx],
        "winlogbeat" => &[Shape::Winlogbeat],
        _ => &[Shape::Evtx, Shape::Winlogbeat],
    };
    if !["only", "evtx", "winlogbeat"].contains(&windows.as_str()) {
        syslog_bench(this, baseline.as_deref(), runs, clients, full);
    }
    if !shapes.is_empty() {
        windows_bench(this, baseline.as_deref(), runs, clients, full, shapes);
    }
}

/// The syslog variant: lines over TCP into each backend.
fn syslog_bench(this: &str, baseline: Option<&str>, runs: usize, clients: usize, full: bool) {
    let events = env_usize("ONEWALL_E2E_EVENTS", if full { 200_000 } else { 2_000 });
    let stream_clients = env_usize("ONEWALL_E2E_STREAM_CLIENTS", 0);
    let url = std::env::var("ONEWALL_CLICKHOUSE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let backends =
        std::env::var("ONEWALL_E2E_BACKENDS").unwrap_or_else(|_| "embedded,clickhouse".into());
    let rules = if sigma_linux().is_some() {
        "built-in + SigmaHQ Linux rules"
    } else {
        "built-in rules only"
    };
    for backend in backends.split(',').map(str::trim) {
        let ch = match (backend, &url) {
            ("embedded", _) => None,
            ("clickhouse", Some(u)) => Some(u.as_str()),
            ("clickhouse", None) => {
                println!("end_to_end: clickhouse not run (ONEWALL_CLICKHOUSE_URL is not set)");
                continue;
            }
            (other, _) => panic!("ONEWALL_E2E_BACKENDS: unknown backend {other:?}"),
        };
        let intel_n = env_usize("ONEWALL_E2E_INTEL", 0);
        let feed_dir = tempfile::tempdir().unwrap();
        let feed = (intel_n > 0).then(|| intel_feed(feed_dir.path(), intel_n));
        let mut with_intel = Vec::new();
        let anomaly = std::env::var("ONEWALL_E2E_ANOMALY").as_deref() == Ok("1");
        let mut without_anomaly = Vec::new();
        let assets = std::env::var("ONEWALL_E2E_ASSETS").as_deref() == Ok("1");
        let asset_hosts = env_usize(
            "ONEWALL_E2E_ASSET_HOSTS",
            if full { 100_000 } else { 1_000 },
        );
        let (mut with_registry, mut without_assets) = (Vec::new(), Vec::new());
        let (mut mine, mut theirs, mut streamed) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            if let Some(f) = &feed {
                with_intel.push(run_with(
                    this,
                    events,
                    clients,
                    ch,
                    0,
                    Some((f, intel_n)),
                    "",
                ));
            }
            if anomaly {
                without_anomaly.push(run_with(
                    this,
                    events,
                    clients,
                    ch,
                    0,
                    None,
                    "[anomaly]\nenabled = false\n",
                ));
            }
            if assets {
                let mark = format!("{ASSET_REGISTRY_MARK}{asset_hosts}\n");
                with_registry.push(run_with(this, events, clients, ch, 0, None, &mark));
                without_assets.push(run_with(
                    this,
                    events,
                    clients,
                    ch,
                    0,
                    None,
                    "[assets]\nenabled = false\n",
                ));
            }
            if let Some(b) = baseline {
                theirs.push(run_once(b, events, clients, ch, 0));
            }
            // With stream clients, every other run goes first, so neither kind always runs
            // on the machine the other left (its page cache, its neighbours' load).
            if stream_clients > 0 && run % 2 == 1 {
                streamed.push(run_once(this, events, clients, ch, stream_clients));
            }
            mine.push(run_once(this, events, clients, ch, 0));
            if stream_clients > 0 && run % 2 == 0 {
                streamed.push(run_once(this, events, clients, ch, stream_clients));
            }
        }
        let (m, all) = median(mine.clone());
        println!(
            "end_to_end: {events} events over {clients} TCP clients → {backend} store, {rules}: \
             median {:.0} events/s over {runs} run(s) (all: {all:.0?}); CPU {:.1} µs/event; \
             peak RSS {} MiB",
            m.events_per_s,
            m.cpu_us,
            m.rss_kib / 1024
        );
        if stream_clients > 0 {
            let (sm, sall) = median(streamed.clone());
            println!(
                "end_to_end: with {stream_clients} live stream clients → {backend}: median \
                 {:.0} events/s (all: {sall:.0?}); peak RSS {} MiB; with / without = {:.3} \
                 ({:+.1}% overhead)",
                sm.events_per_s,
                sm.rss_kib / 1024,
                sm.events_per_s / m.events_per_s,
                (1.0 - sm.events_per_s / m.events_per_s) * 100.0,
            );
            // The node's CPU per event: the median of the runs of each kind. (Wall-clock
            // throughput cannot show a few percent on a shared machine; CPU time can.)
            let mid = |runs: &[Run], f: fn(&Run) -> f64| {
                let mut v: Vec<f64> = runs.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (c1, c0) = (mid(&streamed, |r| r.cpu_us), mid(&mine, |r| r.cpu_us));
            // Each run with clients against the run without beside it: the median of those
            // ratios follows the machine's drift less than the ratio of the medians.
            let pairs: Vec<Run> = streamed
                .iter()
                .zip(&mine)
                .map(|(s, m)| Run {
                    cpu_us: s.cpu_us / m.cpu_us,
                    events_per_s: s.events_per_s / m.events_per_s,
                    rss_kib: s.rss_kib.saturating_sub(m.rss_kib),
                })
                .collect();
            let (pc, pe) = (mid(&pairs, |r| r.cpu_us), mid(&pairs, |r| r.events_per_s));
            println!(
                "end_to_end: the stream's cost with {stream_clients} clients → {backend}: CPU \
                 {c1:.2} µs/event (without: {c0:.2}); with / without = {:.3} ({:+.1}%); \
                 median of the {} paired runs: CPU {pc:.3} ({:+.1}%), events/s {pe:.3}; \
                 peak RSS without {} MiB, with {} MiB (medians)",
                c1 / c0,
                (c1 / c0 - 1.0) * 100.0,
                pairs.len(),
                (pc - 1.0) * 100.0,
                mid(&mine, |r| r.rss_kib as f64) as u64 / 1024,
                mid(&streamed, |r| r.rss_kib as f64) as u64 / 1024,
            );
        }
        if feed.is_some() {
            let (im, iall) = median(with_intel);
            println!(
                "end_to_end: with {intel_n} indicators matched on every event → {backend}: median \
                 {:.0} events/s (all: {iall:.0?}); CPU {:.2} µs/event (without: {:.2}; matching \
                 adds {:+.2} µs/event); peak RSS {} MiB (without: {}); with / without = {:.3}",
                im.events_per_s,
                im.cpu_us,
                m.cpu_us,
                im.cpu_us - m.cpu_us,
                im.rss_kib / 1024,
                m.rss_kib / 1024,
                im.events_per_s / m.events_per_s
            );
        }
        if anomaly {
            let (am, aall) = median(without_anomaly);
            println!(
                "end_to_end: without the anomaly detectors → {backend}: median {:.0} events/s \
                 (all: {aall:.0?}); CPU {:.2} µs/event (with them: {:.2}; the detectors add \
                 {:+.2} µs/event); peak RSS {} MiB (with them: {}); with / without = {:.3}",
                am.events_per_s,
                am.cpu_us,
                m.cpu_us,
                m.cpu_us - am.cpu_us,
                am.rss_kib / 1024,
                m.rss_kib / 1024,
                m.events_per_s / am.events_per_s
            );
        }
        if assets {
            let (rm, rall) = median(with_registry);
            let (xm, xall) = median(without_assets);
            println!(
                "end_to_end: assets → {backend}: with a {asset_hosts}-host registry median {:.0} \
                 events/s (all: {rall:.0?}), CPU {:.2} µs/event; nothing registered {:.0} events/s, \
                 {:.2} µs/event; assets off {:.0} events/s (all: {xall:.0?}), {:.2} µs/event: the \
                 lookup adds {:+.2} µs/event, the seen hosts {:+.2}; peak RSS {} / {} / {} MiB",
                rm.events_per_s,
                rm.cpu_us,
                m.events_per_s,
                m.cpu_us,
                xm.events_per_s,
                xm.cpu_us,
                rm.cpu_us - m.cpu_us,
                m.cpu_us - xm.cpu_us,
                rm.rss_kib / 1024,
                m.rss_kib / 1024,
                xm.rss_kib / 1024
            );
        }
        if let Some(b) = baseline {
            let (bm, ball) = median(theirs);
            println!(
                "end_to_end: baseline {b} → {backend}: median {:.0} events/s (all: {ball:.0?}); \
                 CPU {:.1} µs/event; peak RSS {} MiB; this build / baseline = {:.3}",
                bm.events_per_s,
                bm.cpu_us,
                bm.rss_kib / 1024,
                m.events_per_s / bm.events_per_s
            );
        }
    }
}
