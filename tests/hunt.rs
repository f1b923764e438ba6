//! `POST /api/v1/hunt` against the real binary: who may hunt, the bounds of an upload (empty,
//! too large), the EVTX files of the shared corpus through the node's live rules (hits, a
//! damaged file's read errors, nothing stored), and the masking of an uploaded event's
//! personal data for a caller without `pii`.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::{Path, PathBuf};

use common::Node;
use serde_json::{Value, json};

/// The fixture rule of Security event 4720 (a user account was created).
const NEW_USER_RULE: &str = "5f1e9a1c-0000-4000-8000-0000000004e0";
/// The marker rule of `testdata/rules/response`.
const MARKER_RULE: &str = "5f1e9a1c-0000-4000-8000-0000000000a6";
const ID: &str = "11010519491231002X";
const ID_MASKED: &str = "110105********002X";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus(name: &str) -> PathBuf {
    repo().join("../shared/corpus/evtx").join(name)
}

/// A node loading the marker rule and the console's fixture rules (the 4720 rule among them).
fn start(dir: &Path, extra: &str) -> Node {
    let rules = format!(
        "[rules]\ndirs = [\"{}\", \"{}\"]\n{extra}",
        repo().join("testdata/rules/response").display(),
        repo().join("console/e2e/fixtures/rules").display(),
    );
    let file = dir.join("onewall.toml");
    std::fs::write(&file, common::config(&dir.join("data"), &rules)).unwrap();
    Node::start(&file)
}

fn token(node: &Node, name: &str, role: &str, pii: bool) -> String {
    let body = json!({"name": name, "role": role, "region": "410100", "pii": pii});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

/// Upload `body` as `name`: status, `Retry-After` when given, and the JSON answer.
fn hunt(node: &Node, token: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let mut resp = common::agent()
        .post(&node.url(&format!("/api/v1/hunt?{query}")))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/octet-stream")
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or_default()
}

fn uploads_left(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("data/hunt")).map_or(0, |d| d.count())
}

#[test]
fn hunting_needs_a_working_role_and_refuses_empty_and_too_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "[api]\nhunt_max_mib = 1\n");
    let viewer = token(&node, "v", "viewer", false);
    let analyst = token(&node, "a", "analyst", false);
    let responder = token(&node, "r", "responder", false);

    let line = b"<34>Oct 11 22:14:15 web app: owmarker hello\n";
    let (status, body) = hunt(&node, &viewer, "name=x.log", line);
    assert_eq!(status, 403, "{body}");
    let (status, body) = node.call_as(None, "POST", "/api/v1/hunt?name=x.log", Some(line));
    assert_eq!(status, 401, "{body}");

    let (status, body) = hunt(&node, &analyst, "name=empty.log", b"");
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("empty"), "{body}");

    let big = vec![b'a'; (1 << 20) + 10];
    let (status, body) = common::post_refused(
        &node,
        &analyst,
        "/api/v1/hunt?name=big.log",
        "application/octet-stream",
        &big,
    );
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).contains("hunt_max_mib"), "{body}");

    let (status, body) = hunt(&node, &analyst, "min_level=severe", line);
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("min_level"), "{body}");

    let (status, body) = hunt(&node, &responder, "name=x.log", line);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"], 1, "{body}");
    assert_eq!(body["by_rule"][0]["rule_id"], MARKER_RULE, "{body}");
    assert_eq!(uploads_left(dir.path()), 0, "the uploads are deleted");

    // The audit log names the hunt with its figures.
    let audit = node.get("/api/v1/audit?limit=200");
    let hunts: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "hunt")
        .collect();
    assert_eq!(hunts.len(), 1, "{audit}");
    let target = hunts[0]["target"].as_str().unwrap();
    assert!(
        target.contains("x.log") && target.contains("events=1") && target.contains("hits=1"),
        "{target}"
    );
    node.stop();
}

#[test]
fn evtx_files_are_hunted_with_the_live_rules_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "");
    let analyst = token(&node, "a", "analyst", false);
    let pii = token(&node, "p", "analyst", true);

    let file = std::fs::read(corpus("new-user-security.evtx")).unwrap();
    let (status, body) = hunt(&node, &analyst, "name=new-user-security.evtx", &file);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["format"], "evtx", "{body}");
    assert_eq!(body["file"], "new-user-security.evtx");
    assert_eq!(body["bytes"], file.len());
    assert!(body["events"].as_u64().unwrap() >= 4, "{body}");
    let hits = body["hits"].as_array().unwrap();
    let new_user: Vec<&Value> = hits
        .iter()
        .filter(|h| h["alert"]["rule"]["id"] == NEW_USER_RULE)
        .collect();
    assert!(!new_user.is_empty(), "the 4720 rule hits: {body}");
    for h in &new_user {
        assert!(
            h["position"].as_str().unwrap().starts_with("record "),
            "{h}"
        );
        assert_eq!(h["alert"]["region"], "410100", "the caller's region");
        assert_eq!(h["event"]["fields"]["event.code"], "4720", "{h}");
        assert_eq!(h["alert"]["event_ids"][0], h["event"]["id"]);
    }
    assert_eq!(
        body["by_level"]["high"].as_u64().unwrap(),
        hits.len() as u64
    );
    assert_eq!(body["truncated"], false);

    let damaged = std::fs::read(corpus("sample_with_a_bad_chunk_magic.evtx")).unwrap();
    let (status, body) = hunt(&node, &analyst, "name=bad.evtx&min_level=high", &damaged);
    assert_eq!(status, 200, "{body}");
    let errors = body["read_errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["error"].as_str().unwrap().contains("chunk")
                || e["at"].as_str().unwrap().contains("chunk")),
        "the bad chunk is named: {body}"
    );
    assert!(
        body["events"].as_u64().unwrap() > 14,
        "read past the bad chunk: {body}"
    );

    // A resident ID in an uploaded JSON event: masked for the analyst without pii.
    let event = json!({"message": format!("owmarker caller {ID} registered")}).to_string();
    let (status, body) = hunt(&node, &analyst, "name=calls.json", event.as_bytes());
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(!text.contains(ID), "{text}");
    assert!(text.contains(ID_MASKED), "{text}");
    assert_eq!(body["hits"][0]["alert"]["rule"]["id"], MARKER_RULE);
    let (status, body) = hunt(&node, &pii, "name=calls.json", event.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert!(
        body["hits"][0]["event"]["raw"]
            .as_str()
            .unwrap()
            .contains(ID)
    );

    // Nothing of it was stored.
    let alerts = node.get("/api/v1/alerts?limit=1000");
    assert_eq!(alerts["items"].as_array().unwrap().len(), 0, "{alerts}");
    let events = node.get("/api/v1/events?limit=1000");
    assert_eq!(events["items"].as_array().unwrap().len(), 0, "{events}");
    assert_eq!(uploads_left(dir.path()), 0, "the uploads are deleted");
    node.stop();
}
