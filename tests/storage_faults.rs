//! Faults: nothing the node accepted is lost, or stored twice, when the store goes away or the
//! node is killed.
//!
//! 1. A ClickHouse server of this test's own (`scripts/clickhouse`, so the shared one other
//!    tests use is never disturbed) is stopped for 30 s and started again while syslog over TCP
//!    and HTTP ingest run; afterwards every sent event is in ClickHouse exactly once.
//! 2. The node is killed with SIGKILL during HTTP ingest; after a restart every event whose
//!    request was answered 2xx is stored, once.
//! 3. The spool is replayed in full after a clean stop: detection runs again on every event,
//!    and the alerts and incidents are the same as after the single pass.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;
mod storage;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Node, eventually};
use storage::{clickhouse_store, sql, try_sql};

/// A ClickHouse server this test started with `scripts/clickhouse`; stopped when dropped.
struct OwnServer {
    url: String,
    pidfile: PathBuf,
    /// A restarted server is our child; the first one belongs to the script.
    restarted: Option<Child>,
}

impl OwnServer {
    fn start() -> OwnServer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/clickhouse");
        let out = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/clickhouse");
        assert!(out.status.success(), "scripts/clickhouse failed");
        let text = String::from_utf8(out.stdout).unwrap();
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} in {text}"))
                .to_owned()
        };
        OwnServer {
            url: var("ONEWALL_CLICKHOUSE_URL"),
            pidfile: PathBuf::from(var("ONEWALL_CLICKHOUSE_PIDFILE")),
            restarted: None,
        }
    }

    fn pid(&self) -> u32 {
        std::fs::read_to_string(&self.pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Stop the server (SIGTERM, by pid) and wait until it is gone.
    fn stop(&mut self) {
        let pid = self.pid();
        let _ = Command::new("kill").arg(pid.to_string()).status();
        if let Some(mut c) = self.restarted.take() {
            let _ = c.wait();
        }
        let gone = eventually(Duration::from_secs(30), || {
            (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
        });
        assert!(gone.is_some(), "clickhouse pid {pid} did not stop");
        assert!(try_sql(&self.url, "SELECT 1").is_err());
    }

    /// Start the server again on the same configuration and data.
    fn restart(&mut self) {
        let dir = self.pidfile.parent().unwrap().to_owned();
        let log = std::fs::File::create(dir.join("log/restart.log")).unwrap();
        let child = Command::new("clickhouse-server")
            .arg(format!(
                "--config-file={}",
                dir.join("config.xml").display()
            ))
            .current_dir(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start clickhouse-server");
        std::fs::write(&self.pidfile, child.id().to_string()).unwrap();
        self.restarted = Some(child);
        let up = eventually(Duration::from_secs(60), || {
            try_sql(&self.url, "SELECT 1").ok().map(|_| ())
        });
        assert!(up.is_some(), "clickhouse did not come back");
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/clickhouse");
        let _ = Command::new(script).arg("stop").arg(&self.pidfile).status();
        if let Some(mut c) = self.restarted.take() {
            let _ = c.wait();
        }
    }
}

/// POST NDJSON until it is answered 2xx, waiting as Retry-After asks on 503. Returns whether
/// it was accepted (false only when the node is gone).
fn post_until_accepted(http: &str, body: &[u8], deadline: Instant) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    while Instant::now() < deadline {
        match agent.post(&format!("{http}/api/v1/ingest")).send(body) {
            Ok(resp) if resp.status().is_success() => return true,
            Ok(resp) => {
                assert_eq!(resp.status().as_u16(), 503, "only 503 may refuse");
                assert!(resp.headers().contains_key("retry-after"));
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(_) => return false,
        }
    }
    false
}

fn ndjson(tag: &str, from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{{\"host\":{{\"name\":\"app{}\"}},\"message\":\"{tag}-{i}\"}}\n",
                i % 7
            )
        })
        .collect()
}

/// The numbers `N` of the stored markers `TAG-N` in `raws`.
fn markers(raws: &str, tag: &str) -> Vec<usize> {
    raws.lines()
        .filter_map(|l| {
            let at = l.find(&format!("{tag}-"))? + tag.len() + 1;
            let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn clickhouse_stopped_for_30s_loses_and_duplicates_nothing() {
    if storage::clickhouse_url().is_none() {
        return; // no ClickHouse on this machine (outside CI): said so, not run
    }
    let mut server = OwnServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        storage::node_config(
            &dir.path().join("data"),
            &clickhouse_store(&server.url, "onewall_faults", ""),
            "",
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);
    const TCP_LINES: usize = 20_000;
    const HTTP_REQUESTS: usize = 100;
    const PER_REQUEST: usize = 100;
    let load_time = Duration::from_secs(45);
    let started = Instant::now();

    let tcp_addr = node.tcp.clone().unwrap();
    let tcp = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(tcp_addr).unwrap();
        for i in 0..TCP_LINES {
            let line = format!("<30>1 2026-11-28T10:00:01Z web01 app - - - ft1tcp-{i}\n");
            s.write_all(line.as_bytes()).unwrap();
            // Spread over the load time (the outage falls in the middle).
            let due = started + load_time.mul_f64(i as f64 / TCP_LINES as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        s.flush().unwrap();
    });
    let http = node.http.clone();
    let http_load = std::thread::spawn(move || {
        for r in 0..HTTP_REQUESTS {
            let body = ndjson("ft1http", r * PER_REQUEST, PER_REQUEST);
            assert!(
                post_until_accepted(&http, body.as_bytes(), started + Duration::from_secs(300)),
                "request {r} never accepted"
            );
            let due = started + load_time.mul_f64(r as f64 / HTTP_REQUESTS as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    });

    std::thread::sleep(Duration::from_secs(5));
    server.stop();
    let stopped = Instant::now();
    std::thread::sleep(Duration::from_secs(30));
    server.restart();
    eprintln!("clickhouse was down {:?}", stopped.elapsed());
    tcp.join().unwrap();
    http_load.join().unwrap();

    let total = TCP_LINES + HTTP_REQUESTS * PER_REQUEST;
    let count = || -> u64 {
        try_sql(&server.url, "SELECT count() FROM onewall_faults.events")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    };
    let done = eventually(Duration::from_secs(180), || {
        (count() >= total as u64).then_some(())
    });
    assert!(
        done.is_some(),
        "only {} of {total} events reached clickhouse; stderr:\n{}",
        count(),
        node.stderr()
    );
    // Settle: nothing more may arrive (a duplicate would).
    std::thread::sleep(Duration::from_secs(3));
    let counts = sql(
        &server.url,
        "SELECT count(), uniqExact(id) FROM onewall_faults.events",
    );
    assert_eq!(
        counts.trim(),
        format!("{total}\t{total}"),
        "count and distinct ids"
    );
    let raws = sql(&server.url, "SELECT raw FROM onewall_faults.events");
    for (tag, n) in [
        ("ft1tcp", TCP_LINES),
        ("ft1http", HTTP_REQUESTS * PER_REQUEST),
    ] {
        let got: Vec<usize> = markers(&raws, tag);
        let set: BTreeSet<usize> = got.iter().copied().collect();
        assert_eq!(got.len(), n, "{tag}: stored once each");
        assert_eq!(
            set,
            (0..n).collect::<BTreeSet<_>>(),
            "{tag}: every one stored"
        );
    }
    let replayed = node
        .metric("onewall_spool_replayed_events_total")
        .unwrap_or(0.0);
    eprintln!("events delivered from the spool files while clickhouse was down: {replayed}");
    assert!(
        replayed > 0.0,
        "the outage should have sent events through the spool files"
    );
    node.stop();
}

#[test]
fn kill_9_during_http_ingest_keeps_every_acknowledged_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, storage::node_config(&dir.path().join("data"), "", "")).unwrap();
    let node = Node::start(&cfg);
    let http = node.http.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for t in 0..4 {
        let (http, stop) = (http.clone(), stop.clone());
        senders.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into();
            let mut acked = Vec::new();
            let mut r = 0;
            while !stop.load(Ordering::Relaxed) {
                let first = (t * 1_000_000) + r * 200;
                let body = ndjson("ft2", first, 200);
                match agent
                    .post(&format!("{http}/api/v1/ingest"))
                    .send(body.as_bytes())
                {
                    Ok(resp) if resp.status().is_success() => acked.extend(first..first + 200),
                    Ok(_) => {}
                    Err(_) => break, // the node is gone
                }
                r += 1;
            }
            acked
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    node.signal("KILL");
    stop.store(true, Ordering::Relaxed);
    let acked: BTreeSet<usize> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(
        acked.len() > 1000,
        "too little was sent before the kill: {}",
        acked.len()
    );
    drop(node);

    let node = Node::start(&cfg);
    // Read every ft2 event back through the API, page by page.
    let read_all = || -> Vec<usize> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/api/v1/events?q=ft2-&limit=1000".to_owned();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = node.get(&path);
            for e in page["items"].as_array().unwrap() {
                out.extend(markers(e["raw"].as_str().unwrap(), "ft2"));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    };
    let all = eventually(Duration::from_secs(60), || {
        let got = read_all();
        let set: BTreeSet<usize> = got.iter().copied().collect();
        acked.is_subset(&set).then_some(got)
    });
    let Some(all) = all else {
        let set: BTreeSet<usize> = read_all().into_iter().collect();
        panic!(
            "{} acknowledged events missing after the restart; stderr:\n{}",
            acked.difference(&set).count(),
            node.stderr()
        );
    };
    let set: BTreeSet<usize> = all.iter().copied().collect();
    assert_eq!(all.len(), set.len(), "an event was stored twice");
    eprintln!(
        "acknowledged {}, stored {} (the rest were in flight at the kill)",
        acked.len(),
        set.len()
    );
    node.stop();
}

/// Every item of an API list, following cursors.
fn all_items(node: &Node, path: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut p = format!("{path}?limit=1000");
        if let Some(c) = &cursor {
            p.push_str(&format!("&cursor={c}"));
        }
        let page = node.get(&p);
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Alerts (id → rule id and event ids) and incidents (id → alert ids, timeline length,
/// status) as the API serves them, once the counts hold still.
type Outcome = (
    BTreeSet<(String, String, String)>,
    BTreeSet<(String, Vec<String>, usize, String)>,
);

fn outcome(node: &Node) -> Outcome {
    let alerts = all_items(node, "/api/v1/alerts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["rule"]["id"].as_str().unwrap().to_owned(),
                a["event_ids"].to_string(),
            )
        })
        .collect();
    let incidents = all_items(node, "/api/v1/incidents")
        .iter()
        .map(|i| {
            let ids = i["alert_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            let timeline = i["timeline"].as_array().map_or(0, Vec::len);
            (
                i["id"].as_str().unwrap().to_owned(),
                ids,
                timeline,
                i["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (alerts, incidents)
}

/// The same outcome twice in a row, a second apart: the pipeline has settled.
fn settled(node: &Node, want_alerts: usize) -> Outcome {
    let mut last: Option<Outcome> = None;
    let got = eventually(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_secs(1));
        let now = outcome(node);
        let same = last.as_ref() == Some(&now) && now.0.len() >= want_alerts;
        last = Some(now.clone());
        same.then_some(now)
    });
    got.unwrap_or_else(|| {
        panic!(
            "alerts and incidents did not settle at {want_alerts} alerts: {:?}; stderr:\n{}",
            last.map(|l| (l.0.len(), l.1.len())),
            node.stderr()
        )
    })
}

/// A spool replayed in full after everything in it was stored (as after a crash between the
/// store writes and the spool commit, or a ClickHouse outage) re-runs detection on every event:
/// the alerts it raises have the ids they had, so the store holds each once and the incidents
/// neither count an alert twice nor change at all.
#[test]
fn replaying_the_spool_raises_no_alert_or_incident_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, storage::node_config(&data, "", "")).unwrap();
    let node = Node::start(&cfg);
    // 3 hosts × 8 sshd failures (alerts grouped per host), plus lines no rule matches.
    const HOSTS: usize = 3;
    const FAILURES: usize = 8;
    let mut lines = String::new();
    for i in 0..HOSTS * FAILURES {
        let (host, n) = (i % HOSTS, i / HOSTS);
        lines.push_str(&format!(
            "<38>1 2026-11-28T10:00:{n:02}Z web{host} sshd 4242 - - Failed password for invalid \
             user admin{host} from 203.0.113.{host} port {} ssh2\n",
            40_000 + i
        ));
        lines.push_str(&format!(
            "<38>1 2026-11-28T10:00:{n:02}Z web{host} app 7 - - replay-quiet-{i}\n"
        ));
    }
    let events = 2 * HOSTS * FAILURES;
    let mut tcp = std::net::TcpStream::connect(node.tcp.clone().unwrap()).unwrap();
    tcp.write_all(lines.as_bytes()).unwrap();
    tcp.flush().unwrap();
    drop(tcp);
    let first = settled(&node, HOSTS * FAILURES);
    assert_eq!(first.0.len(), HOSTS * FAILURES, "one alert per failure");
    // The API names the selection each matched value satisfied.
    let served = &all_items(&node, "/api/v1/alerts")[0];
    let selections: BTreeSet<&str> = served["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["selection"].as_str().unwrap())
        .collect();
    assert_eq!(
        selections,
        BTreeSet::from(["selection_failure", "selection_process"]),
        "{served}"
    );
    assert_eq!(first.1.len(), HOSTS, "one incident per host");
    for (id, alerts, ..) in &first.1 {
        assert_eq!(alerts.len(), FAILURES, "incident {id}: {alerts:?}");
    }
    node.stop();

    // Forget what was committed: the next start replays the whole spool.
    let spool = data.join("spool");
    let segments = std::fs::read_dir(&spool)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg"))
        })
        .count();
    assert!(segments > 0, "the spool keeps its active segment");
    std::fs::remove_file(spool.join("committed")).unwrap();

    let node = Node::start(&cfg);
    let replayed = eventually(Duration::from_secs(60), || {
        let n = node.metric("onewall_spool_replayed_events_total")?;
        (n >= events as f64).then_some(n)
    });
    assert_eq!(
        replayed,
        Some(events as f64),
        "the whole spool was delivered again; stderr:\n{}",
        node.stderr()
    );
    // Detection ran again on every event and raised the same alerts...
    let raised = eventually(Duration::from_secs(60), || {
        let n = node.metric("onewall_rules_alerts_total")?;
        (n >= (HOSTS * FAILURES) as f64).then_some(n)
    });
    assert_eq!(raised, Some((HOSTS * FAILURES) as f64));
    // ...which changed nothing: same alerts, same incidents, same timelines.
    let second = settled(&node, HOSTS * FAILURES);
    assert_eq!(second.0, first.0, "alerts after the replay");
    assert_eq!(second.1, first.1, "incidents after the replay");
    node.stop();
}
