//! The audit log end to end: calls on a real node are recorded with who, role, scope, action,
//! target and result; `onewall audit verify` passes on the log as written and names the first
//! bad entry after an edit, a deletion and an insertion (made with the `sqlite3` tool, as
//! someone with the file would).

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::process::Command;

use common::Node;

fn verify(data: &Path) -> (bool, String) {
    let out = Command::new(common::binary())
        .args(["audit", "verify", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Run SQL on a copy of the data directory's audit log with the append-only triggers dropped.
fn tampered(data: &Path, name: &str, sql: &str) -> std::path::PathBuf {
    let copy = data.parent().unwrap().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["audit.sqlite3", "audit.head"] {
        std::fs::copy(data.join(f), copy.join(f)).unwrap();
    }
    let script = format!("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; {sql}");
    let st = Command::new("sqlite3")
        .arg(copy.join("audit.sqlite3"))
        .arg(&script)
        .status()
        .expect("run sqlite3 (package sqlite3)");
    assert!(st.success(), "sqlite3 {script}");
    copy
}

#[test]
fn verify_catches_an_edited_a_deleted_and_an_inserted_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&data, "")).unwrap();
    let node = Node::start(&cfg);
    for path in [
        "/api/v1/events",
        "/api/v1/alerts",
        "/api/v1/incidents",
        "/api/v1/rules",
        "/api/v1/events/01JDZZZZZZZZZZZZZZZZZZZZZZ",
    ] {
        node.get_status(path);
    }
    let (status, _) = node.call_as(None, "GET", "/api/v1/events", None);
    assert_eq!(status, 401);
    let (status, _) = node.call_as(Some("owt_forged"), "GET", "/api/v1/incidents", None);
    assert_eq!(status, 401);
    let log = node.get("/api/v1/audit?limit=1000");
    node.stop();

    let items = log["items"].as_array().unwrap();
    assert!(items.len() >= 7, "{log}");
    let not_found = items
        .iter()
        .find(|e| e["target"] == "/api/v1/events/01JDZZZZZZZZZZZZZZZZZZZZZZ")
        .unwrap();
    assert_eq!(not_found["result"], 404);
    assert_eq!(not_found["role"], "admin");
    assert_eq!(not_found["scope"], "410000");
    assert_eq!(not_found["action"], "GET /api/v1/events/{id}");
    assert!(not_found["actor"].as_str().unwrap().starts_with("tok_"));
    let anonymous: Vec<_> = items.iter().filter(|e| e["actor"] == "anonymous").collect();
    assert_eq!(anonymous.len(), 2, "{log}");
    assert!(anonymous.iter().all(|e| e["result"] == 401));

    let (ok, text) = verify(&data);
    assert!(ok, "{text}");
    assert!(text.contains("intact"), "{text}");

    let edited = tampered(
        &data,
        "edited",
        "UPDATE audit SET actor = 'someone-else' WHERE seq = 4;",
    );
    let (ok, text) = verify(&edited);
    assert!(!ok);
    assert!(
        text.contains("entry 4:") && text.contains("edited"),
        "{text}"
    );

    let deleted = tampered(&data, "deleted", "DELETE FROM audit WHERE seq = 3;");
    let (ok, text) = verify(&deleted);
    assert!(!ok);
    assert!(text.contains("entry 4:"), "{text}");

    // An entry slipped in at 3 (the later ones renumbered), its own hash made well.
    let inserted = tampered(
        &data,
        "inserted",
        "UPDATE audit SET seq = seq + 1000 WHERE seq >= 3; \
         UPDATE audit SET seq = seq - 999 WHERE seq >= 1003; \
         INSERT INTO audit (seq, at, actor, role, scope, action, target, result, prev, hash) SELECT 3, at, 'intruder', role, scope, action, target, result, hash, hash \
         FROM audit WHERE seq = 2;",
    );
    let (ok, text) = verify(&inserted);
    assert!(!ok);
    assert!(text.contains("entry 3:"), "{text}");

    // Cutting the newest entries off shows too (the head file remembers the last one).
    let cut = tampered(&data, "cut", "DELETE FROM audit WHERE seq > 5;");
    let (ok, text) = verify(&cut);
    assert!(!ok);
    assert!(text.contains("entry 6:"), "{text}");
}

/// The console's audit screen: the chain checked by the running node (entries appended while
/// it checks are left for the next check), and the log read newest first.
#[test]
fn a_running_node_verifies_its_log_and_pages_it_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, common::config(&data, "")).unwrap();
    let node = Node::start(&cfg);
    for _ in 0..5 {
        node.get_status("/api/v1/incidents");
    }
    let verdict = node.get("/api/v1/audit/verify");
    assert_eq!(verdict["state"], "intact", "{verdict}");
    assert!(verdict["entries"].as_u64().unwrap() >= 5, "{verdict}");

    let newest = node.get("/api/v1/audit?order=desc&limit=3");
    let seqs: Vec<u64> = newest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 3, "{newest}");
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "{seqs:?}");
    let older = node.get(&format!(
        "/api/v1/audit?order=desc&before={}&limit=2",
        seqs[2]
    ));
    assert_eq!(older["items"][0]["seq"], seqs[2] - 1, "{older}");
    let (status, err) = node.get_status("/api/v1/audit?before=3");
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("order=desc")
    );
    let (status, err) = node.get_status("/api/v1/audit?order=sideways");
    assert_eq!(status, 400, "{err}");

    // An admin of a city reads full pages of its own region's calls, however many calls of
    // the province come between them.
    let body = serde_json::json!({"name": "zz-admin", "role": "admin", "region": "410100"});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let city = reply["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (status, _) = node.call_as(Some(&city), "GET", "/api/v1/incidents", None);
        assert_eq!(status, 200);
        for _ in 0..20 {
            node.get_status("/api/v1/alerts");
        }
    }
    let (status, page) = node.call_as(Some(&city), "GET", "/api/v1/audit?order=desc&limit=3", None);
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    assert!(items.iter().all(|e| e["scope"] == "410100"), "{page}");
    node.stop();

    // The same log with an entry edited: the node's check names it.
    let edited = tampered(
        &data,
        "edited-live",
        "UPDATE audit SET actor = 'x' WHERE seq = 2;",
    );
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(&edited, &data).unwrap();
    let node = Node::start(&cfg);
    let verdict = node.get("/api/v1/audit/verify");
    assert_eq!(verdict["state"], "broken", "{verdict}");
    assert_eq!(verdict["seq"], 2, "{verdict}");
    node.stop();
}
