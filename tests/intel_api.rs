//! Threat intelligence through the API of the real binary: a STIX bundle imported with its
//! receipt, an event holding an indicator raising an intel alert (a repeat by the same source
//! folded), a malformed bundle refused with its reason while the indicators in use keep
//! matching, local indicators added, listed and removed by role, a broken feed's error in the
//! feed status and the metrics, sightings scoped to the caller's regions, and what was
//! imported surviving a restart.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::Node;
use serde_json::{Value, json};

const BAD_IP: &str = "203.0.113.9";
const ZZ: &str = "410100";
const KF: &str = "410200";

fn bundle() -> Value {
    json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "name": "C2 server", "pattern_type": "stix",
                "pattern": format!("[ipv4-addr:value = '{BAD_IP}']"),
                "valid_from": "2026-01-01T00:00:00Z", "confidence": 90,
                "labels": ["c2"]
            },
            {
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--1f2e2d2b-17d4-4cbf-938f-98ee46b3cd40",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '198.51.100.1' AND domain-name:value = 'x.example']",
                "valid_from": "2026-01-01T00:00:00Z"
            }
        ]
    })
}

fn start(dir: &Path) -> Node {
    let broken = dir.join("broken.json");
    std::fs::write(&broken, br#"{"type": "bundle", "objects": 5}"#).unwrap();
    let extra = format!(
        "[intel]\nfold_minutes = 60\n[[intel.feeds]]\nname = \"broken\"\nformat = \"stix\"\npath = \"{}\"\ninterval_secs = 1\n",
        broken.display()
    );
    let text = common::config(&dir.join("data"), &extra)
        .replace("[http]\n", &format!("[http]\nregion = \"{ZZ}\"\n"))
        .replace("[syslog]\n", &format!("[syslog]\nregion = \"{KF}\"\n"));
    let file = dir.join("onewall.toml");
    std::fs::write(&file, text).unwrap();
    Node::start(&file)
}

/// The intel alerts of `value`, waiting up to 5 s for at least `n`.
fn intel_alerts(node: &Node, value: &str, n: usize) -> Vec<Value> {
    common::eventually(Duration::from_secs(5), || {
        let all = node.get("/api/v1/alerts?rule_id=intel.ip&limit=100");
        let hits: Vec<Value> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["intel"]["indicator"]["value"] == value)
            .cloned()
            .collect();
        (hits.len() >= n).then_some(hits)
    })
    .unwrap_or_default()
}

fn token(node: &Node, role: &str, region: &str) -> String {
    let body = json!({"name": format!("{role}-{region}"), "role": role, "region": region});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn import_cli(node: &Node, file: &Path) -> std::process::Output {
    std::process::Command::new(common::binary())
        .args(["intel", "import"])
        .arg(file)
        .args([
            "--url",
            &node.http,
            "--token",
            node.token.as_deref().unwrap(),
        ])
        .output()
        .unwrap()
}

fn ingest(node: &Node, event: Value) {
    let (status, body) = node.post("/api/v1/ingest", event.to_string().as_bytes());
    assert_eq!(status, 200, "{body}");
}

#[test]
fn bundles_local_indicators_feeds_and_sightings_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());

    // The import's receipt: what was read, what is new, what was refused and why.
    let (status, receipt) = node.post("/api/v1/intel/bundles", bundle().to_string().as_bytes());
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["read"], 1, "{receipt}");
    assert_eq!(receipt["new"], 1, "{receipt}");
    let rejected = receipt["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{receipt}");
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("AND"),
        "{receipt}"
    );
    let id = receipt["id"].as_str().unwrap();
    assert_eq!(
        receipt["retro"]["href"],
        format!("/api/v1/intel/receipts/{id}")
    );
    // The retro-hunt's part follows under the same id.
    let again = common::eventually(Duration::from_secs(10), || {
        let r = node.get(&format!("/api/v1/intel/receipts/{id}"));
        (r["retro"]["status"] == "done").then_some(r)
    })
    .unwrap_or_else(|| panic!("no retro-hunt receipt: {}", node.stderr()));
    assert_eq!(again["id"], id);
    assert_eq!(again["retro"]["indicators"], 1, "{again}");
    assert_eq!(again["retro"]["days"], 30, "{again}");
    assert_eq!(node.get_status("/api/v1/intel/receipts/nope").0, 404);

    // An event from the address raises an intel alert; a repeat by the same source is folded.
    ingest(
        &node,
        json!({"message": "conn one", "source": {"ip": BAD_IP}}),
    );
    let alerts = intel_alerts(&node, BAD_IP, 1);
    assert_eq!(alerts.len(), 1, "{}", node.stderr());
    assert_eq!(alerts[0]["intel"]["indicator"]["feed"], "import");
    assert_eq!(alerts[0]["intel"]["indicator"]["confidence"], 90);
    assert_eq!(alerts[0]["intel"]["field"], "source.ip");
    assert_eq!(alerts[0]["region"], ZZ);
    ingest(
        &node,
        json!({"message": "conn two", "source": {"ip": BAD_IP}}),
    );

    // A malformed bundle: 400 with the reason; the indicators in use keep matching.
    let (status, body) = node.post("/api/v1/intel/bundles", b"{\"type\": \"bundle\", ");
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not JSON"), "{body}");
    let (status, body) = node.post("/api/v1/intel/bundles", br#"{"type": "indicator"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a bundle")
    );
    ingest(
        &node,
        json!({"message": "conn three", "source": {"ip": "10.9.9.9"}, "destination": {"ip": BAD_IP}}),
    );
    let alerts = intel_alerts(&node, BAD_IP, 2);
    assert_eq!(alerts.len(), 2, "a second entity alerts again: {alerts:?}");
    let listed = node.get("/api/v1/intel/indicators?feed=import");
    assert_eq!(listed["items"][0]["value"], BAD_IP, "{listed}");

    // Sightings in two regions; a caller of one city sees only its own.
    common::sshd(
        &node,
        &format!("Failed password for root from {BAD_IP} port 4000 ssh2"),
    );
    let all = common::eventually(Duration::from_secs(5), || {
        let s = node.get("/api/v1/intel/sightings");
        (s["items"].as_array().unwrap().len() >= 2).then_some(s)
    })
    .expect("sightings in both cities");
    let zz = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["region"] == ZZ)
        .unwrap()
        .clone();
    assert_eq!(zz["count"], 3, "{all}");
    assert_eq!(zz["folded"], 1, "{all}");
    let analyst = token(&node, "analyst", KF);
    let (status, mine) = node.call_as(Some(&analyst), "GET", "/api/v1/intel/sightings", None);
    assert_eq!(status, 200, "{mine}");
    let mine = mine["items"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["region"], KF);
    assert!(node.metric("onewall_intel_folded_total").unwrap_or(0.0) >= 1.0);

    // Local indicators: a viewer may not add one, an analyst may; listed, then removed.
    let viewer = token(&node, "viewer", ZZ);
    let local = json!({"value": "Evil.Example.COM", "kind": "domain", "reason": "incident 42",
                       "tlp": "GREEN", "confidence": 70});
    let bytes = local.to_string();
    let (status, _) = node.call_as(
        Some(&viewer),
        "POST",
        "/api/v1/intel/indicators",
        Some(bytes.as_bytes()),
    );
    assert_eq!(status, 403);
    let (status, added) = node.call_as(
        Some(&analyst),
        "POST",
        "/api/v1/intel/indicators",
        Some(bytes.as_bytes()),
    );
    assert_eq!(status, 201, "{added}");
    // The author is the caller, as the audit log names it (a token by its id).
    let (_, who) = node.call_as(Some(&analyst), "GET", "/api/v1/whoami", None);
    let author = added["author"].as_str().unwrap();
    assert!(who.to_string().contains(author), "{added} {who}");
    assert!(!author.is_empty());
    assert_eq!(added["indicator"]["value"], "evil.example.com");
    let local_id = added["id"].as_str().unwrap().to_owned();
    let listed = node.get("/api/v1/intel/indicators?feed=local&tlp=GREEN");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let bad = json!({"value": "10.0.0.300", "kind": "ip", "reason": "x"}).to_string();
    let (status, body) = node.post("/api/v1/intel/indicators", bad.as_bytes());
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10.0.0.300"),
        "{body}"
    );
    let path = format!("/api/v1/intel/indicators/{local_id}");
    assert_eq!(node.call_as(Some(&analyst), "DELETE", &path, None).0, 204);
    assert_eq!(node.call_as(Some(&analyst), "DELETE", &path, None).0, 404);
    let listed = node.get("/api/v1/intel/indicators?feed=local");
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    // The broken feed: its error in the status and the metrics.
    let feeds = node.get("/api/v1/intel/feeds");
    let broken = feeds["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "broken")
        .unwrap()
        .clone();
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("not an array"),
        "{broken}"
    );
    assert!(broken["error_at"].is_string(), "{broken}");
    assert!(broken["last_success"].is_null(), "{broken}");
    assert!(
        node.metric("onewall_intel_feed_errors_total{feed=\"broken\"}")
            .unwrap_or(0.0)
            >= 1.0
    );

    // The command line posts a file to the node and prints the receipt; a bad file fails
    // with the reason.
    let file = dir.path().join("more.json");
    let mut more = bundle();
    more["objects"][0]["pattern"] = json!("[domain-name:value = 'c2.example.net']");
    std::fs::write(&file, more.to_string()).unwrap();
    let out = import_cli(&node, &file);
    assert!(out.status.success(), "{out:?}");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["new"], 1, "{printed}");
    std::fs::write(&file, b"[1, 2]").unwrap();
    let out = import_cli(&node, &file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused (400)") && err.contains("not a bundle"),
        "{err}"
    );

    // What was imported is in use again after a restart, without pulling anything.
    node.stop();
    let node = start(dir.path());
    let listed = node.get(&format!("/api/v1/intel/indicators?value={BAD_IP}"));
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let s = node.get("/api/v1/intel/sightings");
    assert_eq!(
        s["items"].as_array().unwrap().len(),
        2,
        "sightings kept: {s}"
    );
    node.stop();
}
