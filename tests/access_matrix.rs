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

use common::{Node, eventually, raw_get};
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
    common::logger_udp(
        node,
        "app",
        &[],
        "user.notice",
        "owmarker kf login 13912345678",
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

            // Federation: dispatch, children's health, the uplink status, pushes.
            failures.borrow_mut().extend(federation_rows(
                &node,
                t,
                role,
                (home, away),
                (&mine.incident, &theirs.incident),
            ));
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

/// The ids in an export: NDJSON lines or the CSV's first column (after the BOM and header).
fn exported_ids(format: &str, body: &str) -> Vec<String> {
    match format {
        "csv" => {
            let text = body
                .strip_prefix('\u{feff}')
                .expect("CSV starts with a BOM");
            let mut lines = text.split("\r\n");
            assert!(lines.next().unwrap().starts_with("id,"), "{text}");
            lines
                .filter(|l| !l.is_empty())
                .map(|l| l.split(',').next().unwrap().to_owned())
                .collect()
        }
        _ => body
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["id"].as_str().unwrap().to_owned()
            })
            .collect(),
    }
}

/// Exports (every role × home and other city × both formats) and department scope: rows of
/// the other city never appear, personal data is masked for roles without `pii` in NDJSON
/// and CSV, the row bound answers 400, and every export is in the audit log.
#[test]
fn exports_and_departments_are_scoped_masked_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let config = common::config(
        &dir.path().join("data"),
        &format!(
            "[rules]\ndirs = [\"{}\"]\n[auth]\nexport_max_rows = 1\n[playbooks.report]\nexpect_from = [\"410100\", \"410200\"]\n",
            rules.display()
        ),
    )
    .replace(
        "[http]\n",
        "[http]\nregion = \"410100\"\ndepartment = \"网信办\"\n",
    )
    .replace("[syslog]\n", "[syslog]\nregion = \"410200\"\n");
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    let node = Node::start(&file);
    let (zz, kf) = seed(&node);
    let mut failures = Vec::new();

    for (home, mine, theirs) in [(ZZ, &zz, &kf), (KF, &kf, &zz)] {
        for role in ROLES {
            let (token, _) = make_token(&node, role, home);
            for (kind, m, o) in [
                ("events", &mine.event, &theirs.event),
                ("alerts", &mine.alert, &theirs.alert),
                ("incidents", &mine.incident, &theirs.incident),
            ] {
                for format in ["ndjson", "csv"] {
                    let path = format!("/api/v1/export/{kind}?format={format}");
                    let (s, ctype, body) = raw_get(&node, &token, &path);
                    let what = format!("{role}@{home} {path}");
                    if !can_read(role) {
                        if s != 403 {
                            failures.push(format!("{what}: got {s}, want 403"));
                        }
                        continue;
                    }
                    if s != 200 {
                        failures.push(format!("{what}: got {s}: {body}"));
                        continue;
                    }
                    let want_type = if format == "csv" {
                        "text/csv"
                    } else {
                        "application/x-ndjson"
                    };
                    assert!(ctype.starts_with(want_type), "{what}: {ctype}");
                    let ids = exported_ids(format, &body);
                    if ids != vec![m.clone()] || body.contains(o.as_str()) {
                        failures.push(format!("{what}: exported {ids:?}, want only {m}"));
                    }
                    // Events carry the mobile number: masked unless the role sees pii.
                    if kind == "events" {
                        let full = if home == ZZ {
                            "13812345678"
                        } else {
                            "13912345678"
                        };
                        let masked = format!("{}****{}", &full[..3], &full[7..]);
                        let shows_full = body.contains(full);
                        if shows_full != (role == "admin")
                            || (role != "admin" && !body.contains(&masked))
                        {
                            failures.push(format!("{what}: masking wrong: {body}"));
                        }
                    }
                }
                // Asking for the other city is refused, as for the lists.
                let (s, _, body) = raw_get(
                    &node,
                    &token,
                    &format!(
                        "/api/v1/export/{kind}?region={}",
                        if home == ZZ { KF } else { ZZ }
                    ),
                );
                let want = if can_read(role) { 400 } else { 403 };
                if s != want {
                    failures.push(format!(
                        "{role}@{home} export {kind} of the other city: {s} {body}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    reports_matrix(&node);

    // The bound: the bootstrap admin sees both cities, two rows > export_max_rows = 1.
    let admin = node.token.clone().unwrap();
    let (s, _, body) = raw_get(&node, &admin, "/api/v1/export/events");
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("export_max_rows"), "{body}");
    let (s, _, body) = raw_get(&node, &admin, "/api/v1/export/events?limit=2");
    assert_eq!(s, 400, "{body}");
    let (s, _, body) = raw_get(&node, &admin, "/api/v1/export/events?limit=1&format=csv");
    assert_eq!(s, 200, "{body}");
    assert_eq!(exported_ids("csv", &body).len(), 1);
    let (s, _, body) = raw_get(&node, &admin, "/api/v1/export/events?format=xlsx");
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("format"), "{body}");

    // Every export is audited with its kind, format, filters and row count.
    let audit = node.get("/api/v1/audit?limit=1000");
    let exports: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "export")
        .collect();
    // 4 reading roles × 2 cities × 3 kinds × 2 formats, plus the admin's limited export.
    assert_eq!(exports.len(), 4 * 2 * 3 * 2 + 1, "{audit}");
    assert!(exports.iter().any(|e| {
        let t = e["target"].as_str().unwrap();
        t.starts_with("incidents format=csv") && t.contains("rows=1") && e["scope"] == KF
    }));

    // Departments: HTTP events are 网信办's; a token of that department sees the Zhengzhou
    // event, alert and incident; a token of another department sees none of them.
    for (dept, sees) in [("网信办", true), ("公安局", false)] {
        let body = json!({"name": format!("dept-{dept}"), "role": "analyst", "region": ZZ, "department": dept});
        let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
        assert_eq!(status, 201, "{reply}");
        let t = reply["token"].as_str().unwrap();
        for (kind, id) in [
            ("events", &zz.event),
            ("alerts", &zz.alert),
            ("incidents", &zz.incident),
        ] {
            let (s, b) = node.call_as(Some(t), "GET", &format!("/api/v1/{kind}"), None);
            assert_eq!(s, 200, "{b}");
            let listed = b["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str());
            assert_eq!(listed, sees, "{dept} lists {kind}: {b}");
            let (s, b) = node.call_as(Some(t), "GET", &format!("/api/v1/{kind}/{id}"), None);
            assert_eq!(s, if sees { 200 } else { 404 }, "{dept} reads {kind}: {b}");
            let (s, _, body) = raw_get(&node, t, &format!("/api/v1/export/{kind}"));
            assert_eq!(s, 200, "{body}");
            assert_eq!(
                body.contains(id.as_str()),
                sees,
                "{dept} exports {kind}: {body}"
            );
        }
        let (s, b) = node.call_as(
            Some(t),
            "POST",
            &format!("/api/v1/incidents/{}/comment", zz.incident),
            Some(json!({"text": "dept"}).to_string().as_bytes()),
        );
        assert_eq!(s, if sees { 200 } else { 404 }, "{dept} comments: {b}");
    }
    node.stop();
}

/// Children's daily reports, every role × its own city and the other: delivering needs the
/// collector or admin role and a region in scope; the list shows only the caller's cities.
fn reports_matrix(node: &Node) {
    let mut failures = Vec::new();
    let day = "2026-11-28";
    for (home, away) in [(ZZ, KF), (KF, ZZ)] {
        for role in ROLES {
            let (token, _) = make_token(node, role, home);
            let t = Some(token.as_str());
            let delivers = matches!(role, "collector" | "admin");
            for (region, want) in [(home, if delivers { 200 } else { 403 }), (away, 403)] {
                let body = json!({"node": "n", "report": {"region": region, "date": day}, "text": "零报告 — no incidents"});
                let (s, b) = node.call_as(
                    t,
                    "POST",
                    "/api/v1/reports",
                    Some(body.to_string().as_bytes()),
                );
                if s != want {
                    failures.push(format!("{role}@{home} POST report of {region}: {s} {b}"));
                }
            }
            let (s, b) = node.call_as(t, "GET", &format!("/api/v1/reports?day={day}"), None);
            if s != if can_read(role) { 200 } else { 403 } {
                failures.push(format!("{role}@{home} GET reports: {s} {b}"));
            }
            if s == 200 {
                let regions: Vec<&str> = b["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["region"].as_str().unwrap())
                    .collect();
                if regions != [home] {
                    failures.push(format!("{role}@{home} GET reports shows {regions:?}"));
                }
            }
            let (s, b) = node.call_as(
                t,
                "GET",
                &format!("/api/v1/reports?day={day}&region={away}"),
                None,
            );
            if s != if can_read(role) { 400 } else { 403 } {
                failures.push(format!("{role}@{home} GET reports of {away}: {s} {b}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Federation endpoints for one role in `home` (`away` is the other city). This node has no
/// children configured, so a dispatch a role may make is refused as naming no child (400);
/// a push a token may make answers 200 only for its own region.
fn federation_rows(
    node: &Node,
    t: Option<&str>,
    role: &str,
    (home, away): (&str, &str),
    (mine, theirs): (&str, &str),
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut check = |what: String, got: u16, want: &[u16], body: &Value| {
        if !want.contains(&got) {
            failures.push(format!("{what}: got {got}, want {want:?}: {body}"));
        }
    };
    let direct = can_direct(role);
    let body = json!({"region": home, "note": "take it"}).to_string();
    let path = format!("/api/v1/incidents/{theirs}/dispatch");
    let (s, b) = node.call_as(t, "POST", &path, Some(body.as_bytes()));
    check(
        format!("{role}@{home} dispatch other"),
        s,
        if direct { &[404] } else { &[403] },
        &b,
    );
    let path = format!("/api/v1/incidents/{mine}/dispatch");
    let (s, b) = node.call_as(t, "POST", &path, Some(body.as_bytes()));
    check(
        format!("{role}@{home} dispatch own to no child"),
        s,
        if direct { &[400] } else { &[403] },
        &b,
    );
    let read: &[u16] = if can_read(role) { &[200] } else { &[403] };
    for path in ["/api/v1/federation/children", "/api/v1/federation/status"] {
        let (s, b) = node.call_as(t, "GET", path, None);
        check(format!("{role}@{home} GET {path}"), s, read, &b);
    }
    let push = |region: &str| {
        json!({"node": "matrix", "region": region, "sent": "2026-11-28T00:00:00Z",
               "outbox_depth": 0, "ack_down": 0, "messages": []})
        .to_string()
    };
    let ingest = matches!(role, "collector" | "admin");
    let (s, b) = node.call_as(
        t,
        "POST",
        "/api/v1/federation/push",
        Some(push(away).as_bytes()),
    );
    check(format!("{role}@{home} push for {away}"), s, &[403], &b);
    let (s, b) = node.call_as(
        t,
        "POST",
        "/api/v1/federation/push",
        Some(push(home).as_bytes()),
    );
    check(
        format!("{role}@{home} push for {home}"),
        s,
        if ingest { &[200] } else { &[403] },
        &b,
    );
    failures
}
