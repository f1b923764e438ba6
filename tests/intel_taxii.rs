//! A real TAXII 2.1 server (PyPI `medallion`, its memory backend) serving one collection with
//! one indicator, polled every second by the real binary with basic authentication: a syslog
//! line holding the indicator's address raises an intel alert within 2 s. Then an event is
//! stored, a new indicator naming its address is added to the collection (medallion's POST
//! objects endpoint), and the next poll's retro-hunt raises a retrospective alert
//! (`intel.retro: true`) at the event's own time. `scripts/test` installs medallion.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Node;
use serde_json::{Value, json};

const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const FIRST_IP: &str = "203.0.113.77";
const LATER_IP: &str = "198.51.100.77";
const USER: &str = "onewall";
const PASSWORD: &str = "taxii-secret-1";
const TAXII: &str = "application/taxii+json;version=2.1";

fn indicator(id: &str, ip: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{id}"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": format!("C2 {ip}"), "pattern_type": "stix",
        "pattern": format!("[ipv4-addr:value = '{ip}']"),
        // Recent: the feed's lifetime (30 days by default) counts from valid_from.
        "valid_from": yesterday(), "confidence": 85
    })
}

fn yesterday() -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// medallion, on `port`, from a configuration and memory-backend file written in `dir`.
struct Medallion(Child);

impl Medallion {
    fn start(dir: &Path, port: u16, objects: Vec<Value>) -> Medallion {
        let root = format!("http://127.0.0.1:{port}/api1/");
        let manifest: Vec<Value> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                json!({"id": o["id"], "date_added": added(i),
                       "version": "2026-01-01T00:00:00.000Z",
                       "media_type": "application/stix+json;version=2.1"})
            })
            .collect();
        let data = json!({
            "/discovery": {"title": "test", "default": root, "api_roots": [root]},
            "api1": {
                "information": {"title": "api1", "versions": [TAXII], "max_content_length": 10_000_000},
                "status": [],
                "collections": [{
                    "id": COLLECTION, "title": "indicators", "can_read": true, "can_write": true,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest
                }]
            }
        });
        let backing = dir.join("taxii-data.json");
        std::fs::write(&backing, data.to_string()).unwrap();
        let config = json!({
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": backing},
            "users": {USER: PASSWORD},
            "taxii": {"max_page_size": 100}
        });
        let file = dir.join("medallion.json");
        std::fs::write(&file, config.to_string()).unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "medallion.scripts.run",
                "--host",
                "127.0.0.1",
                "--port",
            ])
            .arg(port.to_string())
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 (run scripts/test, which installs medallion)");
        let m = Medallion(child);
        let up = common::eventually(Duration::from_secs(20), || {
            let (status, _) = taxii_get(port, &format!("/api1/collections/{COLLECTION}/"));
            (status == 200).then_some(())
        });
        assert!(
            up.is_some(),
            "medallion did not answer on port {port}; is it installed? run scripts/test"
        );
        m
    }
}

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `date_added` of the `i`th object of a collection (one a second).
fn added(i: usize) -> String {
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.000000Z",
        i / 3600,
        i / 60 % 60,
        i % 60
    )
}

fn basic() -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!("Basic {b}")
}

fn taxii_get(port: u16, path: &str) -> (u16, String) {
    match common::agent_with(Duration::from_secs(2))
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .header("Accept", TAXII)
        .header("Authorization", &basic())
        .call()
    {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

fn intel_alert(node: &Node, ip: &str) -> Option<Value> {
    let all = node.get("/api/v1/alerts?rule_id=intel.ip&limit=100");
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["intel"]["indicator"]["value"] == ip)
        .cloned()
}

#[test]
fn a_taxii_collection_is_polled_and_its_indicators_match_new_and_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::port_for_later();
    let first = indicator("8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", FIRST_IP);
    let medallion = Medallion::start(dir.path(), port, vec![first]);

    let node = poller(dir.path(), port);

    // The first poll takes the collection's indicator.
    let feeds = common::eventually(Duration::from_secs(30), || {
        let f = node.get("/api/v1/intel/feeds");
        let s = &f["items"][0];
        (s["indicators"] == 1 && s["last_success"].is_string()).then_some(f.clone())
    });
    assert!(
        feeds.is_some(),
        "{}\n{}",
        node.get("/api/v1/intel/feeds"),
        node.stderr()
    );
    let status = &feeds.unwrap()["items"][0];
    assert!(status["last_error"].is_null(), "{status}");
    assert!(status["added_after"].is_string(), "{status}");
    assert_eq!(status["last_read"], 1, "{status}");
    assert!(status["last_receipt"].is_string(), "{status}");

    // A syslog line holding the address: an intel alert within 2 s.
    let sent = Instant::now();
    common::sshd(
        &node,
        &format!("Failed password for root from {FIRST_IP} port 4000 ssh2"),
    );
    let alert = common::eventually(Duration::from_secs(2), || intel_alert(&node, FIRST_IP));
    let took = sent.elapsed();
    let alert = alert.unwrap_or_else(|| panic!("no intel alert within 2 s: {}", node.stderr()));
    assert_eq!(alert["intel"]["indicator"]["feed"], "partner");
    assert_eq!(alert["intel"]["retro"], false);
    eprintln!("intel alert {took:?} after the syslog line");

    // An event stored before anyone knows its address...
    common::sshd(
        &node,
        &format!("Failed password for admin from {LATER_IP} port 4001 ssh2"),
    );
    let stored = common::eventually(Duration::from_secs(5), || {
        let ev = node.get(&format!("/api/v1/events?filter=source.ip:{LATER_IP}"));
        ev["items"].as_array().unwrap().first().cloned()
    })
    .expect("the event is stored");
    assert!(intel_alert(&node, LATER_IP).is_none());
    // ...then the collection gets an indicator for it; the next poll hunts the history.
    let later = indicator("1f2e2d2b-17d4-4cbf-938f-98ee46b3cd40", LATER_IP);
    let mut resp = common::agent()
        .post(&format!(
            "http://127.0.0.1:{port}/api1/collections/{COLLECTION}/objects/"
        ))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .header("Authorization", &basic())
        .send(json!({"objects": [later]}).to_string().as_bytes())
        .unwrap();
    let body = resp.body_mut().read_to_string().unwrap();
    assert_eq!(resp.status().as_u16(), 202, "{body}");
    let retro = common::eventually(Duration::from_secs(30), || intel_alert(&node, LATER_IP))
        .unwrap_or_else(|| panic!("no retrospective alert: {}", node.stderr()));
    assert_eq!(retro["intel"]["retro"], true, "{retro}");
    assert_eq!(retro["time"], stored["time"], "the event's own time");
    drop(medallion);
    node.stop();
}

/// A node polling the collection on `port` every second, with basic authentication.
fn poller(dir: &Path, port: u16) -> Node {
    let feed = format!(
        "[intel]\n[[intel.feeds]]\nname = \"partner\"\nformat = \"taxii\"\n\
         collection = \"http://127.0.0.1:{port}/api1/collections/{COLLECTION}/\"\n\
         interval_secs = 1\nauth = {{ username = \"{USER}\", password = \"{PASSWORD}\" }}\n"
    );
    let file = dir.join("onewall.toml");
    std::fs::write(&file, common::config(&dir.join("data"), &feed)).unwrap();
    Node::start(&file)
}

#[test]
fn a_collection_larger_than_a_page_is_read_whole_by_following_next() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::port_for_later();
    // 250 indicators, pages of at most 100 (the server's max_page_size).
    let objects: Vec<Value> = (0..250)
        .map(|i| {
            indicator(
                &format!("00000000-0000-4000-8000-{i:012}"),
                &format!("198.18.{}.{}", i / 200, i % 200 + 1),
            )
        })
        .collect();
    let medallion = Medallion::start(dir.path(), port, objects);
    let node = poller(dir.path(), port);
    // medallion is slow under load (a development server copying the collection per page).
    let status = common::eventually(Duration::from_secs(60), || {
        let f = node.get("/api/v1/intel/feeds");
        // The set is swapped before the pull's status is written: wait for both.
        let s = &f["items"][0];
        (s["indicators"] == 250 && s["last_read"] == 250).then(|| s.clone())
    })
    .unwrap_or_else(|| panic!("{}\n{}", node.get("/api/v1/intel/feeds"), node.stderr()));
    assert_eq!(status["last_read"], 250, "one poll, three pages: {status}");
    assert_eq!(status["added_after"], added(249), "{status}");
    // The next polls ask only for what was added since: nothing.
    let later = common::eventually(Duration::from_secs(60), || {
        let f = node.get("/api/v1/intel/feeds");
        (f["items"][0]["pulls"].as_u64() >= Some(3)).then(|| f["items"][0].clone())
    })
    .expect("more polls");
    assert_eq!(later["indicators"], 250, "{later}");
    assert!(later["last_error"].is_null(), "{later}");
    drop(medallion);
    node.stop();
}
