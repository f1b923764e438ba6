//! The statistics endpoints against the real binary: histogram, top values and the overview
//! of a province node holding Zhengzhou's (410100, HTTP, department 网信办) and Luoyang's
//! (410300, syslog) events, alerts and incidents; each caller sees its scope only, top values
//! that are personal data are masked for a caller without `pii`, bad parameters answer 400
//! naming them, and every read is audited.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;
mod storage;

use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const ID: &str = "11010519491231002X";

fn rules() -> String {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    format!("[rules]\ndirs = [\"{}\"]\n", rules.display())
}

fn start_province_node(dir: &std::path::Path) -> Node {
    start_province_node_with(dir, common::config(&dir.join("data"), &rules()))
}

/// A province node (410000) whose HTTP events are Zhengzhou's, department 网信办, and whose
/// syslog events are Luoyang's.
fn start_province_node_with(dir: &std::path::Path, config: String) -> Node {
    let config = config
        .replace("region = \"410100\"", "region = \"410000\"")
        .replace(
            "[http]\n",
            "[http]\nregion = \"410100\"\ndepartment = \"网信办\"\n",
        )
        .replace("[syslog]\n", "[syslog]\nregion = \"410300\"\n");
    let file = dir.join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    Node::start(&file)
}

/// A token's secret and id (the audit log's actor).
fn token_with_id(
    node: &Node,
    name: &str,
    role: &str,
    region: &str,
    extra: Value,
) -> (String, String) {
    let mut body = json!({"name": name, "role": role, "region": region});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    (
        reply["token"].as_str().unwrap().to_owned(),
        reply["info"]["id"].as_str().unwrap().to_owned(),
    )
}

fn token(node: &Node, name: &str, role: &str, region: &str, extra: Value) -> String {
    token_with_id(node, name, role, region, extra).0
}

fn get_as(node: &Node, token: &str, path: &str) -> (u16, Value) {
    node.call_as(Some(token), "GET", path, None)
}

fn ok_as(node: &Node, token: &str, path: &str) -> Value {
    let (status, body) = get_as(node, token, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Three Zhengzhou events over HTTP (one user is a resident id) and two Luoyang events over
/// syslog, each raising an alert and joining an incident; waits until both cities have one.
fn seed(node: &Node) {
    let lines = [
        json!({"message": "owmarker zz one", "user": {"name": ID}, "source": {"ip": "203.0.113.5"}}),
        json!({"message": "owmarker zz two", "user": {"name": ID}, "source": {"ip": "203.0.113.5"}}),
        json!({"message": "owmarker zz three", "user": {"name": "alice"}, "source": {"ip": "203.0.113.6"}}),
    ];
    let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, body) = node.post("/api/v1/ingest", ndjson.as_bytes());
    assert_eq!(status, 200, "{body}");
    for n in ["one", "two"] {
        common::logger_udp(node, "app", &[], "user.notice", &format!("owmarker ly {n}"));
    }
    for region in ["410100", "410300"] {
        eventually(WAIT, || {
            let v = node.get(&format!("/api/v1/incidents?region={region}"));
            (!v["items"].as_array()?.is_empty()).then_some(())
        })
        .unwrap_or_else(|| panic!("no incident in {region}: {}", node.stderr()));
    }
    eventually(WAIT, || {
        let v = node.get("/api/v1/stats/histogram?kind=alerts");
        (v["total"] == 5).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "5 alerts: {}",
            node.get("/api/v1/stats/histogram?kind=alerts")
        )
    });
}

fn values(top: &Value) -> Vec<(String, u64)> {
    top["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {top}"))
        .iter()
        .map(|i| {
            (
                i["value"].as_str().unwrap().to_owned(),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn statistics_answer_in_scope_masked_checked_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_province_node(dir.path());
    seed(&node);

    // The province's admin sees both cities.
    let h = node.get("/api/v1/stats/histogram?kind=events&interval=1m");
    assert_eq!(h["total"], 5, "{h}");
    assert_eq!(h["kind"], "events");
    let buckets = h["buckets"].as_array().unwrap();
    assert!((1440..=1441).contains(&buckets.len()), "{}", buckets.len());
    assert!(
        buckets
            .iter()
            .all(|b| b["time"].is_string() && b["count"].is_u64())
    );
    let top = node.get("/api/v1/stats/top?kind=events&field=region");
    assert_eq!(
        values(&top),
        [("410100".to_owned(), 3), ("410300".to_owned(), 2)],
        "{top}"
    );
    assert_eq!(top["items"][0]["name"], "郑州市", "{top}");
    let top = node.get("/api/v1/stats/top?kind=alerts&field=rule");
    assert_eq!(top["items"][0]["count"], 5, "{top}");
    assert_eq!(
        top["items"][0]["title"], "Response test marker seen",
        "{top}"
    );
    let top = node.get("/api/v1/stats/top?kind=alerts&field=user.name");
    assert_eq!(values(&top)[0], (ID.to_owned(), 2), "admin has pii: {top}");

    // A Zhengzhou analyst sees nothing of Luoyang.
    let (zz, zz_id) = token_with_id(&node, "zz-analyst", "analyst", "410100", json!({}));
    let h = ok_as(
        &node,
        &zz,
        "/api/v1/stats/histogram?kind=events&interval=1h",
    );
    assert_eq!(h["total"], 3, "{h}");
    let h = ok_as(
        &node,
        &zz,
        "/api/v1/stats/histogram?kind=alerts&interval=15m",
    );
    assert_eq!(h["total"], 3, "{h}");
    let top = ok_as(&node, &zz, "/api/v1/stats/top?kind=incidents&field=region");
    assert!(values(&top).iter().all(|(r, _)| r == "410100"), "{top}");
    let (status, body) = get_as(
        &node,
        &zz,
        "/api/v1/stats/top?kind=alerts&field=region&region=410300",
    );
    assert_eq!(status, 400, "{body}");
    let ov = ok_as(&node, &zz, "/api/v1/stats/overview");
    assert_eq!(ov["region"], "410100");
    assert_eq!(ov["alerts"]["total"], 3, "{ov}");
    assert_eq!(ov["events"]["total"], 3, "{ov}");
    let tiles = ov["regions"].as_array().unwrap();
    assert_eq!(tiles.len(), 1, "a city without counties lists itself: {ov}");
    assert_eq!(tiles[0]["code"], "410100");
    let sources = ov["events"]["by_source"].as_array().unwrap();
    assert!(sources.iter().all(|s| s["region"] == "410100"), "{ov}");

    // The province's overview: a tile per city, Luoyang's with its incident.
    let ov = node.get("/api/v1/stats/overview");
    assert_eq!(ov["events"]["total"], 5, "{ov}");
    assert!(ov["incidents"]["open"].as_u64().unwrap() >= 2, "{ov}");
    let tiles = ov["regions"].as_array().unwrap();
    assert!(tiles.len() >= 18, "{ov}");
    let tile = |code: &str| tiles.iter().find(|t| t["code"] == code).cloned().unwrap();
    assert!(
        tile("410300")["open_incidents"].as_u64().unwrap() >= 1,
        "{ov}"
    );
    assert_eq!(tile("410500")["open_incidents"], 0, "{ov}");
    assert_eq!(ov["top"]["attackers"][0]["value"], "203.0.113.5", "{ov}");
    for key in ["sla", "by_grade", "by_status"] {
        assert!(ov["incidents"][key].is_object(), "{key}: {ov}");
    }
    assert!(ov["ingest"]["status"].is_string(), "{ov}");

    // A viewer without pii sees the resident id masked, in alerts' and events' tops.
    let viewer = token(&node, "zz-viewer", "viewer", "410100", json!({}));
    for kind in ["alerts", "events"] {
        let (status, body) = get_as(
            &node,
            &viewer,
            &format!("/api/v1/stats/top?kind={kind}&field=user.name"),
        );
        assert_eq!(status, 200, "{body}");
        let text = body.to_string();
        assert!(!text.contains("19491231"), "{kind}: {text}");
        assert_eq!(body["items"][0]["count"], 2, "{kind}: {text}");
    }

    // Department scope: 网信办 sees Zhengzhou's HTTP events, another department none.
    let cac = token(
        &node,
        "dept-cac",
        "analyst",
        "410100",
        json!({"department": "网信办"}),
    );
    let other = token(
        &node,
        "dept-x",
        "analyst",
        "410100",
        json!({"department": "教育局"}),
    );
    let h = ok_as(&node, &cac, "/api/v1/stats/histogram?kind=events");
    assert_eq!(h["total"], 3, "{h}");
    let h = ok_as(&node, &cac, "/api/v1/stats/histogram?kind=alerts");
    assert_eq!(h["total"], 3, "{h}");
    for kind in ["events", "alerts", "incidents"] {
        let h = ok_as(
            &node,
            &other,
            &format!("/api/v1/stats/histogram?kind={kind}"),
        );
        assert_eq!(h["total"], 0, "{kind}: {h}");
    }

    // Bad parameters name themselves.
    let from = "2026-11-01T00:00:00Z";
    let to = "2026-11-03T00:00:00Z";
    for (path, word) in [
        (
            "/api/v1/stats/top?kind=events&field=password".to_owned(),
            "field",
        ),
        (
            "/api/v1/stats/top?kind=events&field=rule".to_owned(),
            "field",
        ),
        ("/api/v1/stats/histogram?interval=2m".to_owned(), "interval"),
        (
            format!("/api/v1/stats/histogram?interval=1m&from={from}&to={to}"),
            "buckets",
        ),
        ("/api/v1/stats/histogram?kind=flows".to_owned(), "kind"),
        ("/api/v1/stats/histogram?bogus=1".to_owned(), "bogus"),
        (
            "/api/v1/stats/top?field=rule&kind=alerts&limit=1000".to_owned(),
            "limit",
        ),
        (
            "/api/v1/stats/histogram?kind=alerts&filter=a:b".to_owned(),
            "filter",
        ),
    ] {
        let (status, body) = get_as(&node, &zz, &path);
        assert_eq!(status, 400, "{path}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(word), "{path}: {msg}");
    }

    // Every statistics read is in the audit log.
    let audit = node.get("/api/v1/audit?limit=1000");
    let rows = audit["items"].as_array().unwrap();
    for action in [
        "GET /api/v1/stats/top",
        "GET /api/v1/stats/histogram",
        "GET /api/v1/stats/overview",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["action"] == action && r["actor"] == zz_id.as_str()),
            "{action} by zz-analyst not audited"
        );
    }
    let viewer_rows = rows
        .iter()
        .filter(|r| r["action"] == "GET /api/v1/stats/top" && r["role"] == "viewer")
        .count();
    assert_eq!(viewer_rows, 2);
    node.stop();
}

/// The overview and the other statistics on a node storing into ClickHouse (needs
/// `ONEWALL_CLICKHOUSE_URL`, `scripts/clickhouse`).
#[test]
fn the_overview_answers_on_clickhouse() {
    let Some(url) = storage::clickhouse_url() else {
        return;
    };
    let scratch = storage::Scratch {
        url: url.clone(),
        database: storage::scratch_name("onewall_stats"),
    };
    let dir = tempfile::tempdir().unwrap();
    let config = storage::node_config(
        &dir.path().join("data"),
        &storage::clickhouse_store(&url, &scratch.database, ""),
        &rules(),
    );
    let node = start_province_node_with(dir.path(), config);
    seed(&node);
    let ov = node.get("/api/v1/stats/overview");
    assert_eq!(ov["events"]["total"], 5, "{ov}");
    assert_eq!(ov["alerts"]["total"], 5, "{ov}");
    assert_eq!(ov["alerts"]["by_severity"]["high"], 5, "{ov}");
    assert_eq!(
        ov["events"]["by_source"].as_array().unwrap().len(),
        2,
        "{ov}"
    );
    let tiles = ov["regions"].as_array().unwrap();
    let tile = |code: &str| tiles.iter().find(|t| t["code"] == code).cloned().unwrap();
    assert!(
        tile("410100")["open_incidents"].as_u64().unwrap() >= 1,
        "{ov}"
    );
    assert!(
        tile("410300")["open_incidents"].as_u64().unwrap() >= 1,
        "{ov}"
    );
    assert_eq!(ov["top"]["attackers"][0]["value"], "203.0.113.5", "{ov}");
    assert_eq!(
        ov["top"]["rules"][0]["title"], "Response test marker seen",
        "{ov}"
    );

    let zz = token(&node, "zz-analyst", "analyst", "410100", json!({}));
    let ov = ok_as(&node, &zz, "/api/v1/stats/overview");
    assert_eq!(ov["events"]["total"], 3, "{ov}");
    assert_eq!(ov["alerts"]["total"], 3, "{ov}");
    let top = ok_as(&node, &zz, "/api/v1/stats/top?kind=events&field=source");
    assert_eq!(top["items"].as_array().unwrap().len(), 1, "{top}");
    let cac = token(
        &node,
        "dept-cac",
        "analyst",
        "410100",
        json!({"department": "网信办"}),
    );
    let h = ok_as(
        &node,
        &cac,
        "/api/v1/stats/histogram?kind=events&interval=5m",
    );
    assert_eq!(h["total"], 3, "{h}");
    node.stop();
}
