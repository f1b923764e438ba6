//! A full disk: the node's data directory is on a small tmpfs of this test's own, which is
//! filled to the last byte while syslog over TCP and HTTP ingest run.
//!
//! 1. While the disk is full, HTTP ingest answers 503 saying "disk full", `/healthz` is
//!    degraded and says "disk full", and the metrics blame the disk, not the spool. Once the
//!    filler is deleted (senders still sending), the node recovers by itself: the store's
//!    committed sequence advances, HTTP answers 2xx, `/healthz` is ok again, and every event
//!    that was acknowledged (HTTP 2xx, or written to the TCP socket) is stored exactly once.
//! 2. Starting on a full disk fails with an error naming the data directory and "disk full".
//!
//! Mounting needs root; without it the tests print why and return.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Node, agent, eventually};

/// A tmpfs mounted for one test; unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` (as `mount -o size=` takes it) on `dir`; `None` (with the
    /// reason printed) when this process may not mount.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                dir: dir.to_owned(),
            }),
            Ok(o) => {
                eprintln!(
                    "skipping: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipping: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it now, freed when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Fill the filesystem of `dir` to the last byte with a file, returned.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 1] {
        let buf = vec![0x5a_u8; chunk];
        loop {
            match f.write_all(&buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    path
}

/// POST `/api/v1/ingest` with one event per tag: (status, body text).
fn post_tags(agent: &ureq::Agent, http: &str, tags: &[String]) -> (u16, String) {
    let body: String = tags
        .iter()
        .map(|t| format!("{{\"message\":\"dfull {t} \",\"host\":\"disk-test\"}}\n"))
        .collect();
    let mut resp = agent
        .post(format!("{http}/api/v1/ingest"))
        .send(body.as_bytes())
        .unwrap_or_else(|e| panic!("POST /api/v1/ingest: {e}"));
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn http_tags(req: usize) -> Vec<String> {
    (0..10).map(|i| format!("h{req}-{i}")).collect()
}

/// How many times each tag (`dfull TAG `) is in the store's events, read from the database of
/// the stopped node.
fn stored_tags(data: &Path) -> HashMap<String, usize> {
    let db = rusqlite::Connection::open_with_flags(
        data.join("onewall.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'events_[0-9]*' AND name NOT LIKE '%terms'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = HashMap::new();
    for t in tables {
        let mut stmt = db.prepare(&format!("SELECT raw FROM {t}")).unwrap();
        let raws = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(Result::unwrap);
        for raw in raws {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            if let Some(rest) = raw.split_once("dfull ").map(|(_, r)| r) {
                let tag = rest.split(' ').next().unwrap_or_default().to_owned();
                *out.entry(tag).or_insert(0) += 1;
            }
        }
    }
    out
}

fn metric(node: &Node, series: &str) -> f64 {
    node.metric(series).unwrap_or(0.0)
}

#[test]
fn a_full_disk_refuses_new_events_says_so_and_recovers_by_itself() {
    let base = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&base.path().join("mnt"), "48m") else {
        return;
    };
    let data = fs.dir.join("data");
    let cfg = base.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        common::config(
            &data,
            "[store.spool]\nsegment_bytes = 1048576\nmax_bytes = 67108864\ndisk_reserve_bytes = 4194304\n",
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);
    let committed = |node: &Node| metric(node, "onewall_spool_committed_seq");

    // Before: stored as usual.
    let agent = agent();
    let mut accepted = Vec::new();
    for req in 0..5 {
        let (status, body) = post_tags(&agent, &node.http, &http_tags(req));
        assert_eq!(status, 200, "{body}");
        accepted.push(req);
    }
    assert!(
        eventually(Duration::from_secs(20), || (committed(&node) >= 50.0)
            .then_some(()))
        .is_some(),
        "the first events were not stored"
    );

    // Senders: HTTP requests of 10 events (each remembered with its answer) and syslog lines
    // over TCP (each written whole to the socket: the node must take it sooner or later).
    let stop = Arc::new(AtomicBool::new(false));
    let http_sender = {
        let (stop, http) = (stop.clone(), node.http.clone());
        std::thread::spawn(move || {
            let agent = common::agent();
            let mut answers = Vec::new();
            let mut req = 1000;
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = post_tags(&agent, &http, &http_tags(req));
                answers.push((req, status, body));
                req += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            answers
        })
    };
    let tcp_sender = {
        let stop = stop.clone();
        let addr = node.tcp.clone().expect("tcp listener");
        std::thread::spawn(move || {
            let mut sock = std::net::TcpStream::connect(&addr).unwrap();
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let line = format!("<13>Dec  6 13:00:00 disk-test app: dfull t{sent} \n");
                sock.write_all(line.as_bytes()).unwrap();
                sent += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            sock.shutdown(std::net::Shutdown::Write).unwrap();
            sent
        })
    };
    std::thread::sleep(Duration::from_secs(1));

    // Full: refused, and said so everywhere.
    let filler = fill(&fs.dir);
    let refused = eventually(Duration::from_secs(15), || {
        let (status, body) = post_tags(&agent, &node.http, &["probe".to_owned()]);
        (status == 503).then_some(body)
    })
    .expect("HTTP ingest is refused on a full disk");
    assert!(refused.contains("disk full"), "503 body: {refused}");
    assert!(refused.contains("retry later"), "503 body: {refused}");
    let (status, health) = node.get_status("/healthz");
    assert_eq!(status, 503, "/healthz on a full disk: {health}");
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["problems"].as_array().is_some_and(|p| p
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("disk full")))),
        "{health}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(metric(&node, "onewall_disk_full_total") > 0.0);
    assert!(
        metric(
            &node,
            r#"onewall_ingest_http_rejected_total{reason="disk_full"}"#
        ) > 0.0
    );
    assert_eq!(
        metric(
            &node,
            r#"onewall_ingest_http_rejected_total{reason="spool_full"}"#
        ),
        0.0,
        "a full disk is not a full spool"
    );
    assert!(metric(&node, r#"onewall_disk_free_bytes{path="data"}"#) < 4194304.0);
    let stuck_at = committed(&node);

    // Space returns while the senders go on: the node takes events and stores them again.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    let recovered = eventually(Duration::from_secs(30), || {
        let (status, _) = node.get_status("/healthz");
        let (posted, _) = post_tags(&agent, &node.http, &["probe".to_owned()]);
        (status == 200 && posted == 200 && committed(&node) > stuck_at).then_some(())
    });
    assert!(
        recovered.is_some(),
        "not recovered 30 s after space was freed: committed {} (was {stuck_at}); stderr:\n{}",
        committed(&node),
        node.stderr()
    );
    eprintln!("recovered {:?} after space was freed", freed.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let answers = http_sender.join().unwrap();
    let tcp_sent = tcp_sender.join().unwrap();
    let mut refused_reqs = Vec::new();
    for (req, status, body) in &answers {
        match status {
            200 => accepted.push(*req),
            503 => {
                assert!(body.contains("disk full"), "503 body: {body}");
                refused_reqs.push(*req);
            }
            other => panic!("request {req}: unexpected {other}: {body}"),
        }
    }
    assert!(!refused_reqs.is_empty(), "no request was refused");
    assert!(
        accepted.len() > 5 + 10,
        "too few requests accepted: {}",
        accepted.len()
    );

    // Everything acknowledged is stored, once: the spool commits all it appended, then the
    // database is read after a clean stop.
    let all_stored = eventually(Duration::from_secs(60), || {
        let appended = metric(&node, "onewall_spool_appended_events_total");
        let want = (accepted.len() * 10 + tcp_sent) as f64;
        (appended >= want && committed(&node) >= appended).then_some(())
    });
    assert!(
        all_stored.is_some(),
        "not all stored: appended {} committed {} want {}",
        metric(&node, "onewall_spool_appended_events_total"),
        committed(&node),
        accepted.len() * 10 + tcp_sent
    );
    let log = node.stderr();
    node.stop();
    let stored = stored_tags(&data);
    let mut wrong = Vec::new();
    for req in &accepted {
        for tag in http_tags(*req) {
            if stored.get(&tag) != Some(&1) {
                wrong.push(format!(
                    "{tag} (accepted) stored {:?} times",
                    stored.get(&tag)
                ));
            }
        }
    }
    for req in &refused_reqs {
        for tag in http_tags(*req) {
            if stored.contains_key(&tag) {
                wrong.push(format!("{tag} (refused) stored"));
            }
        }
    }
    for n in 0..tcp_sent {
        let tag = format!("t{n}");
        if stored.get(&tag) != Some(&1) {
            wrong.push(format!("{tag} (tcp) stored {:?} times", stored.get(&tag)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    // The log said so, without a line per refused request.
    assert!(log.contains("disk full"), "log:\n{log}");
    let refusal_lines = log
        .lines()
        .filter(|l| l.contains("refusing http ingest"))
        .count();
    assert!(
        refusal_lines <= 3 && refusal_lines < refused_reqs.len(),
        "{refusal_lines} log lines for {} refused requests",
        refused_reqs.len()
    );
}

#[test]
fn starting_on_a_full_disk_names_the_data_directory_and_says_disk_full() {
    let base = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&base.path().join("mnt"), "4m") else {
        return;
    };
    let data = fs.dir.join("data");
    let cfg = base.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&data, "")).unwrap();
    fill(&fs.dir);
    let mut child = Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("onewall kept running on a full disk");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "stderr:\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("disk full"), "stderr:\n{stderr}");
    assert!(
        last.contains(&data.display().to_string()),
        "stderr:\n{stderr}"
    );
}
