//! Every endpoint × every role × a record in the caller's region and one outside it, against
//! the real binary: zero cross-region reads or writes.
//!
//! Events arrive over HTTP (stamped Zhengzhou, 410100) and syslog UDP (stamped Kaifeng,
//! 410200); a test rule turns each into an alert and an incident. Tokens for every role are
//! made by the bootstrap admin through the API, one set per city.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Node, eventually, logger};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const ROLES: [&str; 5] = ["viewer", "analyst", "responder", "admin", "collector"];
const ZZ: &str = "410100";
const KF: &str = "410200";

/// A node with the marker rule, HTTP stamped 410100 and syslog stamped 410200.
fn start_two_city_node(dir: &std::path::Path) -> Node {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let config = common::config(
        &dir.join("data"),
        &format!("[rules]\ndirs = [\"{}\"]\n", rules.display()),
    )
    .replace("[http]\n", "[http]\nregion = \"410100\"\n")
    .replace("[syslog]\n", "[syslog]\nregion = \"410200\"\n");
    let file = dir.join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    Node::start(&file)
}

/// One record of each kind in a city.
#[derive(Debug, Clone)]
struct Records {
    event: String,
    alert: String,
    incident: String,
}

fn records_of(node: &Node, region: &str) -> Records {
    eventually(WAIT, || {
        let inc = node.get(&format!("/api/v1/incidents?region={region}"));
        let inc = inc["items"].as_array()?.first()?.clone();
        let alert = inc["alert_ids"][0].as_str()?.to_owned();
        let a = node.get(&format!("/api/v1/alerts/{alert}"));
        Some(Records {
            event: a["event_ids"][0].as_str()?.to_owned(),
            alert,
            incident: inc["id"].as_str()?.to_owned(),
        })
    })
    .unwrap_or_else(|| panic!("no incident in {region}: {}", node.get("/api/v1/incidents")))
}

fn seed(node: &Node) -> (Records, Records) {
    let (status, body) = node.post(
        "/api/v1/ingest",
        br#"{"message":"owmarker zz login 13812345678","host":{"name":"zz-web"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    logger(
        &[
            "-n",
            "127.0.0.1",
            "-P",
            &node.udp_port(),
            "-d",
            "--rfc3164",
            "-t",
            "app",
            "-p",
            "user.notice",
            "owmarker kf login 13912345678",
        ],
        None,
    );
    (records_of(node, ZZ), records_of(node, KF))
}

fn make_token(node: &Node, role: &str, region: &str) -> (String, String) {
    let body = json!({"name": format!("{role}-{region}"), "role": role, "region": region});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    (
        reply["token"].as_str().unwrap().to_owned(),
        reply["info"]["id"].as_str().unwrap().to_owned(),
    )
}

/// A workflow action, its body, and which roles may do it.
type Write = (&'static str, Value, fn(&str) -> bool);

fn can_read(role: &str) -> bool {
    role != "collector"
}
fn can_work(role: &str) -> bool {
    matches!(role, "analyst" | "responder" | "admin")
}
fn can_direct(role: &str) -> bool {
    matches!(role, "responder" | "admin")
}

/// Every region in `items` lies in the city `region` (no county is configured, so the
/// subtree is the city itself).
fn all_in(items: &Value, region: &str) -> bool {
    items
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["region"].as_str() == Some(region))
}

#[test]
fn no_cross_region_reads_or_writes() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_two_city_node(dir.path());
    let (zz, kf) = seed(&node);
    let mut token_scope = HashMap::new();
    let failures = std::cell::RefCell::new(Vec::<String>::new());
    let check = |what: String, got: u16, want: &[u16], body: &Value| {
        if !want.contains(&got) {
            failures
                .borrow_mut()
                .push(format!("{what}: got {got}, want {want:?}: {body}"));
        }
    };

    for (home, away, mine, theirs) in [(ZZ, KF, &zz, &kf), (KF, ZZ, &kf, &zz)] {
        for role in ROLES {
            let (token, id) = make_token(&node, role, home);
            token_scope.insert(id, home);
            let t = Some(token.as_str());
            let read = |ok: bool| if ok { vec![200] } else { vec![403] };
            let hidden = |ok: bool| if ok { vec![404] } else { vec![403] };

            // Lists: only the home region, and asking for the other region is refused.
            for list in ["events", "alerts", "incidents"] {
                let (s, b) = node.call_as(t, "GET", &format!("/api/v1/{list}?limit=1000"), None);
                check(
                    format!("{role}@{home} GET {list}"),
                    s,
                    &read(can_read(role)),
                    &b,
                );
                if s == 200 {
                    let items = &b["items"];
                    if !all_in(items, home) || items.as_array().unwrap().is_empty() {
                        failures
                            .borrow_mut()
                            .push(format!("{role}@{home} GET {list}: {b}"));
                    }
                }
                let (s, b) = node.call_as(t, "GET", &format!("/api/v1/{list}?region={away}"), None);
                let want = if can_read(role) { vec![400] } else { vec![403] };
                check(
                    format!("{role}@{home} GET {list}?region={away}"),
                    s,
                    &want,
                    &b,
                );
            }
            // Single records: mine readable, theirs answer 404 as if absent.
            for (kind, m, o) in [
                ("events", &mine.event, &theirs.event),
                ("alerts", &mine.alert, &theirs.alert),
                ("incidents", &mine.incident, &theirs.incident),
            ] {
                let (s, b) = node.call_as(t, "GET", &format!("/api/v1/{kind}/{m}"), None);
                check(
                    format!("{role}@{home} GET own {kind}"),
                    s,
                    &read(can_read(role)),
                    &b,
                );
                let (s, b) = node.call_as(t, "GET", &format!("/api/v1/{kind}/{o}"), None);
                check(
                    format!("{role}@{home} GET other {kind}"),
                    s,
                    &hidden(can_read(role)),
                    &b,
                );
            }
            for path in ["/api/v1/rules", "/api/v1/regions"] {
                let (s, b) = node.call_as(t, "GET", path, None);
                check(
                    format!("{role}@{home} GET {path}"),
                    s,
                    &read(can_read(role)),
                    &b,
                );
            }
            let (s, b) = node.call_as(t, "GET", "/api/v1/regions", None);
            if s == 200
                && b["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["code"] == away)
            {
                failures
                    .borrow_mut()
                    .push(format!("{role}@{home} sees region {away}: {b}"));
            }
            let (s, b) = node.call_as(t, "GET", "/api/v1/whoami", None);
            check(format!("{role}@{home} whoami"), s, &[200], &b);

            // Workflow writes: on the other city's incident never anything but 404 / 403.
            let writes: [Write; 6] = [
                (
                    "comment",
                    json!({"text": format!("from {role}@{home}")}),
                    can_work,
                ),
                ("acknowledge", json!({}), can_work),
                ("status", json!({"status": "investigating"}), can_work),
                (
                    "assign",
                    json!({"team": format!("team-{home}")}),
                    can_direct,
                ),
                (
                    "grade",
                    json!({"grade": "II", "reason": "matrix"}),
                    can_direct,
                ),
                ("alerts", json!({"alert_id": theirs.alert}), can_work),
            ];
            for (action, body, allowed) in &writes {
                let bytes = body.to_string();
                let (s, b) = node.call_as(
                    t,
                    "POST",
                    &format!("/api/v1/incidents/{}/{action}", theirs.incident),
                    Some(bytes.as_bytes()),
                );
                check(
                    format!("{role}@{home} {action} other"),
                    s,
                    &hidden(allowed(role)),
                    &b,
                );
            }
            // Linking the other city's alert to my incident: the alert is not there for me.
            let bytes = json!({"alert_id": theirs.alert}).to_string();
            let (s, b) = node.call_as(
                t,
                "POST",
                &format!("/api/v1/incidents/{}/alerts", mine.incident),
                Some(bytes.as_bytes()),
            );
            check(
                format!("{role}@{home} link other alert"),
                s,
                &hidden(can_work(role)),
                &b,
            );
            let (s, b) = node.call_as(
                t,
                "DELETE",
                &format!(
                    "/api/v1/incidents/{}/alerts/{}",
                    theirs.incident, theirs.alert
                ),
                None,
            );
            check(
                format!("{role}@{home} unlink other"),
                s,
                &hidden(can_work(role)),
                &b,
            );
            // On my own incident the role decides (409 when the lifecycle already moved on).
            for (action, body, allowed) in &writes[..5] {
                let bytes = body.to_string();
                let (s, b) = node.call_as(
                    t,
                    "POST",
                    &format!("/api/v1/incidents/{}/{action}", mine.incident),
                    Some(bytes.as_bytes()),
                );
                let want = if allowed(role) {
                    vec![200, 409]
                } else {
                    vec![403]
                };
                check(format!("{role}@{home} {action} own"), s, &want, &b);
            }

            // Admin endpoints: only inside the admin's own subtree.
            let admin = role == "admin";
            for (path, body) in [
                (
                    "/api/v1/users",
                    json!({"name": format!("u-{role}-{home}-{away}"), "password": "long enough 1", "role": "viewer", "region": away}),
                ),
                (
                    "/api/v1/tokens",
                    json!({"name": "x", "role": "viewer", "region": away}),
                ),
            ] {
                let bytes = body.to_string();
                let (s, b) = node.call_as(t, "POST", path, Some(bytes.as_bytes()));
                check(
                    format!("{role}@{home} POST {path} in {away}"),
                    s,
                    &(if admin { vec![400] } else { vec![403] }),
                    &b,
                );
                let (s, b) = node.call_as(t, "GET", path, None);
                check(
                    format!("{role}@{home} GET {path}"),
                    s,
                    &(if admin { vec![200] } else { vec![403] }),
                    &b,
                );
                if s == 200 && !all_in(&b["items"], home) {
                    failures.borrow_mut().push(format!(
                        "{role}@{home} GET {path} shows another region: {b}"
                    ));
                }
            }
            let (s, b) = node.call_as(t, "GET", "/api/v1/audit?limit=1000", None);
            check(
                format!("{role}@{home} GET audit"),
                s,
                &(if admin { vec![200] } else { vec![403] }),
                &b,
            );
            if s == 200 {
                let foreign = b["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["scope"] != home);
                if foreign {
                    failures
                        .borrow_mut()
                        .push(format!("{role}@{home} audit shows other scopes"));
                }
            }
            // Revoking the other city's bootstrap-made tokens is not possible either.
            let other_ids: Vec<String> = token_scope
                .iter()
                .filter(|(_, r)| **r == away)
                .map(|(id, _)| id.clone())
                .collect();
            for id in other_ids.iter().take(1) {
                let (s, b) = node.call_as(t, "DELETE", &format!("/api/v1/tokens/{id}"), None);
                check(
                    format!("{role}@{home} revoke other token"),
                    s,
                    &(if admin { vec![404] } else { vec![403] }),
                    &b,
                );
            }
        }
    }
    let failures = failures.into_inner();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Zero cross-region writes: every timeline entry was made by the system, the bootstrap
    // admin, or a token of the incident's own city; and the other city's alert stayed out.
    for (rec, home, away) in [(&zz, ZZ, &kf), (&kf, KF, &zz)] {
        let inc = node.get(&format!("/api/v1/incidents/{}", rec.incident));
        for entry in inc["timeline"].as_array().unwrap() {
            let actor = entry["actor"].as_str().unwrap();
            if let Some(scope) = token_scope.get(actor) {
                assert_eq!(
                    *scope, home,
                    "{actor} wrote to the {home} incident: {entry}"
                );
            }
        }
        assert!(
            !inc["alert_ids"]
                .as_array()
                .unwrap()
                .contains(&json!(away.alert)),
            "{inc}"
        );
        assert_eq!(inc["region"], home);
    }
    // Nobody at all without a credential; open endpoints stay open.
    for path in ["/api/v1/events", "/api/v1/incidents", "/api/v1/whoami"] {
        let (s, _) = node.call_as(None, "GET", path, None);
        assert_eq!(s, 401, "{path}");
    }
    for path in ["/healthz", "/metrics", "/api/v1/openapi.json"] {
        let (s, _) = node.call_as(None, "GET", path, None);
        assert_eq!(s, 200, "{path}");
    }
    node.stop();
}
