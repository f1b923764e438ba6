//! Duty (值班值守) on a real node of Zhengzhou (410100): a 重保 period over the city with
//! nobody on duty raises the duty-missing alert; shifts are added, listed and removed;
//! `duty/now` names who is on duty (their phone masked for a caller without the `pii`
//! permission); a handover lists the open incidents and is signed by the outgoing and then
//! a different incoming user, each step audited.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const ZZ: &str = "410100";
const WAIT: Duration = Duration::from_secs(20);

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn token(node: &Node, name: &str, role: &str, pii: bool) -> String {
    let body = json!({"name": name, "role": role, "region": ZZ, "pii": pii});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn call(node: &Node, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let text = body.to_string();
    let body = (method != "GET" && method != "DELETE").then_some(text.as_bytes());
    node.call_as(Some(token), method, path, body)
}

fn duty_alerts(node: &Node) -> Vec<Value> {
    node.get("/api/v1/alerts?rule_id=onewall-duty-missing")["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn shifts_handovers_and_the_duty_missing_alert() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let node = common::start_with(
        dir.path(),
        "zz.toml",
        &common::node_config(
            &dir.path().join("data"),
            "zhengzhou",
            ZZ,
            &format!(
                "[rules]\ndirs = [\"{}\"]\n[supervise]\ncheck_secs = 1\n",
                rules.display()
            ),
        ),
    );
    let zhang = token(&node, "zhang", "analyst", true);
    let li = token(&node, "li", "analyst", true);
    let viewer = token(&node, "guest", "viewer", false);
    // A token acts under its own subject (what timelines and the audit log name).
    let who = |t: &str| {
        let (status, me) = call(&node, t, "GET", "/api/v1/whoami", &Value::Null);
        assert_eq!(status, 200, "{me}");
        me["subject"].as_str().unwrap().to_owned()
    };
    let (zhang_is, li_is) = (who(&zhang), who(&li));
    let now = time::OffsetDateTime::now_utc();

    // A period over the city, begun a minute ago, with nobody on duty: one alert.
    let period = json!({
        "name": "国庆重保", "regions": [ZZ],
        "start": rfc3339(now - time::Duration::minutes(1)),
        "end": rfc3339(now + time::Duration::hours(2)),
    });
    let (status, p) = node.post("/api/v1/periods", period.to_string().as_bytes());
    assert_eq!(status, 201, "{p}");
    // An analyst may not declare one.
    let (status, reply) = call(&node, &zhang, "POST", "/api/v1/periods", &period);
    assert_eq!(status, 403, "{reply}");
    let missing = eventually(WAIT, || duty_alerts(&node).into_iter().next())
        .unwrap_or_else(|| panic!("no duty-missing alert: {}", node.stderr()));
    assert_eq!(missing["region"], ZZ, "{missing}");

    // An incident is open (for the handover).
    let (status, reply) = node.post(
        "/api/v1/ingest",
        br#"{"message":"owmarker zz login","host":{"name":"zz-web"}}"#,
    );
    assert_eq!(status, 200, "{reply}");
    let incident = eventually(WAIT, || {
        let i = node.get("/api/v1/incidents");
        i["items"].as_array()?.first()?["id"]
            .as_str()
            .map(str::to_owned)
    })
    .unwrap();

    // Two shifts: zhang's now, li's next.
    let day = json!({
        "region": ZZ,
        "start": rfc3339(now - time::Duration::hours(1)),
        "end": rfc3339(now + time::Duration::minutes(30)),
        "people": [
            {"name": "张三", "user": "zhang", "phone": "13812345678", "email": "zhang@example.org", "role": "leader"},
            {"name": "王五", "phone": "13987654321", "email": "", "role": "member"}
        ],
        "note": "白班",
    });
    let (status, a) = call(&node, &zhang, "POST", "/api/v1/duty/shifts", &day);
    assert_eq!(status, 201, "{a}");
    let night = json!({
        "region": ZZ,
        "start": rfc3339(now + time::Duration::minutes(30)),
        "end": rfc3339(now + time::Duration::hours(8)),
        "people": [{"name": "李四", "user": "li", "phone": "13700001111", "email": "", "role": "leader"}],
        "note": "夜班",
    });
    let (status, b) = call(&node, &zhang, "POST", "/api/v1/duty/shifts", &night);
    assert_eq!(status, 201, "{b}");
    // A shift with nobody to call, and one outside the caller's region, are refused.
    let mut nobody = day.clone();
    nobody["people"] = json!([]);
    let (status, reply) = call(&node, &zhang, "POST", "/api/v1/duty/shifts", &nobody);
    assert_eq!(status, 400, "{reply}");
    let mut elsewhere = day.clone();
    elsewhere["region"] = json!("410200");
    let (status, reply) = call(&node, &zhang, "POST", "/api/v1/duty/shifts", &elsewhere);
    assert_eq!(status, 403, "{reply}");

    let shifts = node.get("/api/v1/duty/shifts");
    assert_eq!(shifts["items"].as_array().unwrap().len(), 2, "{shifts}");
    let on = node.get(&format!("/api/v1/duty/now?region={ZZ}"));
    let item = &on["items"][0];
    assert_eq!(item["region"], ZZ, "{on}");
    assert_eq!(item["shift"]["id"], a["id"], "{on}");
    let names: Vec<&str> = item["on_duty"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["张三", "王五"], "{on}");
    assert_eq!(item["on_duty"][0]["phone"], "13812345678", "{on}");
    // A viewer without the pii permission sees the phones masked.
    let (status, masked) = call(&node, &viewer, "GET", "/api/v1/duty/now", &Value::Null);
    assert_eq!(status, 200, "{masked}");
    assert!(masked.to_string().contains("张三"), "{masked}");
    assert!(!masked.to_string().contains("13812345678"), "{masked}");
    // With someone on duty no further alert is raised.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(duty_alerts(&node).len(), 1, "{:?}", duty_alerts(&node));

    // zhang hands over to li: the open incident is listed; zhang cannot sign as incoming.
    let ho = json!({"region": ZZ, "from_shift": a["id"], "to_shift": b["id"],
                    "notes": "VPN 漏洞整改跟进中"});
    let (status, h) = call(&node, &zhang, "POST", "/api/v1/duty/handovers", &ho);
    assert_eq!(status, 201, "{h}");
    assert_eq!(h["handed_by"], zhang_is.as_str(), "{h}");
    assert!(
        h["open_incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == incident.as_str()),
        "{h}"
    );
    assert!(h["taken_by"].is_null(), "{h}");
    let sign = format!("/api/v1/duty/handovers/{}/sign", h["id"].as_str().unwrap());
    let (status, reply) = call(&node, &zhang, "POST", &sign, &json!({}));
    assert!(status == 409 || status == 403, "{status} {reply}");
    let (status, signed) = call(&node, &li, "POST", &sign, &json!({}));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["taken_by"], li_is.as_str(), "{signed}");
    let (status, reply) = call(&node, &li, "POST", &sign, &json!({}));
    assert_eq!(status, 409, "signed twice: {reply}");
    let list = node.get("/api/v1/duty/handovers");
    assert_eq!(list["items"][0]["taken_by"], li_is.as_str(), "{list}");

    // The night shift is removed.
    let path = format!("/api/v1/duty/shifts/{}", b["id"].as_str().unwrap());
    let (status, reply) = call(&node, &zhang, "DELETE", &path, &Value::Null);
    assert_eq!(status, 204, "{reply}");
    let shifts = node.get("/api/v1/duty/shifts");
    assert_eq!(shifts["items"].as_array().unwrap().len(), 1, "{shifts}");
    let (status, _) = call(&node, &zhang, "DELETE", &path, &Value::Null);
    assert_eq!(status, 404);

    let log = node.get("/api/v1/audit?limit=1000");
    let count = |action: &str| {
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count()
    };
    assert_eq!(count("duty.handover"), 1, "{log}");
    assert_eq!(count("duty.takeover"), 1, "{log}");
    node.stop();
}
