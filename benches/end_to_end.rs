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
//! prints the ratio of the two (the stream's overhead).

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
/// the node closes the stream.
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
            std::thread::spawn(move || {
                let mut heard = Heard::default();
                let mut reader = BufReader::new(s);
                let mut line = Vec::new();
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

/// One run; (events/s, peak RSS of the node in KiB).
fn run_once(
    bin: &str,
    events: usize,
    clients: usize,
    clickhouse: Option<&str>,
    streams: usize,
) -> (f64, u64) {
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
             [flow]\nnetflow = \"\"\nsflow = \"\"\n{rules}[store]\npath = \"{}\"\n{store}",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&cfg)
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
    let token = std::fs::read_to_string(dir.path().join("data/admin.token")).unwrap_or_default();
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
    let deadline = Instant::now() + Duration::from_secs(600);
    // Done when every event is stored and the spool is committed past the last one, which
    // the store stage does after the batch's alerts are stored too.
    loop {
        let text = metrics_text(&http);
        if series(&text, "onewall_store_events_written_total") >= want
            && series(&text, "onewall_spool_committed_seq") >= want
        {
            break;
        }
        assert!(Instant::now() < deadline, "events never all stored");
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = start.elapsed().as_secs_f64();
    println!("  {}", stage_breakdown(&metrics_text(&http), want));
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
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
    (want as f64 / secs, rss)
}

/// The median of these runs' throughputs, with the peak RSS of that run.
fn median(mut results: Vec<(f64, u64)>) -> (f64, u64, Vec<f64>) {
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (m, rss) = results[results.len() / 2];
    (m, rss, results.iter().map(|r| r.0).collect())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let events = env_usize("ONEWALL_E2E_EVENTS", if full { 200_000 } else { 2_000 });
    let clients = env_usize("ONEWALL_E2E_CLIENTS", 4).max(1);
    let runs = env_usize("ONEWALL_E2E_RUNS", if full { 3 } else { 1 }).max(1);
    let stream_clients = env_usize("ONEWALL_E2E_STREAM_CLIENTS", 0);
    // Another build of onewall (e.g. the commit before a change) run in the same process,
    // interleaved run by run with this one, so both see the same machine.
    let baseline = std::env::var("ONEWALL_E2E_BASELINE")
        .ok()
        .filter(|b| !b.trim().is_empty());
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
    let this = env!("CARGO_BIN_EXE_onewall");
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
        let (mut mine, mut theirs, mut streamed) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            if let Some(b) = &baseline {
                theirs.push(run_once(b, events, clients, ch, 0));
            }
            mine.push(run_once(this, events, clients, ch, 0));
            if stream_clients > 0 {
                streamed.push(run_once(this, events, clients, ch, stream_clients));
            }
        }
        let (m, rss, all) = median(mine);
        println!(
            "end_to_end: {events} events over {clients} TCP clients → {backend} store, {rules}: \
             median {m:.0} events/s over {runs} run(s) (all: {all:.0?}); peak RSS {} MiB",
            rss / 1024
        );
        if stream_clients > 0 {
            let (sm, srss, sall) = median(streamed);
            println!(
                "end_to_end: with {stream_clients} live stream clients → {backend}: median \
                 {sm:.0} events/s (all: {sall:.0?}); peak RSS {} MiB; with / without = {:.3} \
                 ({:+.1}% overhead)",
                srss / 1024,
                sm / m,
                (1.0 - sm / m) * 100.0
            );
        }
        if let Some(b) = &baseline {
            let (bm, brss, ball) = median(theirs);
            println!(
                "end_to_end: baseline {b} → {backend}: median {bm:.0} events/s (all: {ball:.0?}); \
                 peak RSS {} MiB; this build / baseline = {:.3}",
                brss / 1024,
                m / bm
            );
        }
    }
}
