//! Linking alerts by hand and dispatching, against the real binary: a province node whose
//! HTTP events are stamped Zhengzhou (410100) and syslog events Kaifeng (410200), both
//! configured as its federation children.
//!
//! Regression: linking a Kaifeng alert into a Zhengzhou incident left the incident in
//! Zhengzhou, so a Zhengzhou viewer saw Kaifeng's host and user; a dispatch could send any
//! incident in scope to any child.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const ZZ: &str = "410100";
const KF: &str = "410200";

fn start_province(dir: &std::path::Path) -> Node {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let config = common::config(
        &dir.join("data"),
        &format!(
            "[rules]\ndirs = [\"{}\"]\n[federation]\nchildren = [\"{ZZ}\", \"{KF}\"]\n",
            rules.display()
        ),
    )
    .replace(
        "[node]\nname = \"e2e\"\nregion = \"410100\"\n",
        "[node]\nname = \"e2e\"\nregion = \"410000\"\n",
    )
    .replace("[http]\n", &format!("[http]\nregion = \"{ZZ}\"\n"))
    .replace("[syslog]\n", &format!("[syslog]\nregion = \"{KF}\"\n"));
    let file = dir.join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    Node::start(&file)
}

/// The incident of `region` and its one alert.
fn incident_of(node: &Node, region: &str) -> (String, Value) {
    eventually(WAIT, || {
        let inc = node.get(&format!("/api/v1/incidents?region={region}"));
        let inc = inc["items"].as_array()?.first()?.clone();
        let alert = inc["alert_ids"][0].as_str()?.to_owned();
        Some((
            inc["id"].as_str()?.to_owned(),
            node.get(&format!("/api/v1/alerts/{alert}")),
        ))
    })
    .unwrap_or_else(|| panic!("no incident in {region}: {}", node.get("/api/v1/incidents")))
}

fn make_token(node: &Node, role: &str, region: &str) -> String {
    let body =
        json!({"name": format!("{role}-{region}"), "role": role, "region": region, "pii": true});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

/// The entity values of an alert or incident.
fn entity_values(v: &Value) -> Vec<String> {
    v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["value"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_linked_incident_moves_to_the_region_of_its_alerts_and_dispatches_follow_its_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_province(dir.path());
    let (status, body) = node.post(
        "/api/v1/ingest",
        br#"{"message":"owmarker zz login","host":{"name":"zz-web"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    common::logger_udp(&node, "app", &[], "user.notice", "owmarker kf login");
    let (zz_inc, zz_alert) = incident_of(&node, ZZ);
    let (_, kf_alert) = incident_of(&node, KF);
    let kf_alert_id = kf_alert["id"].as_str().unwrap().to_owned();
    // What only Kaifeng's alert carries.
    let kf_only: Vec<String> = entity_values(&kf_alert)
        .into_iter()
        .filter(|v| !entity_values(&zz_alert).contains(v))
        .collect();
    assert!(!kf_only.is_empty(), "{kf_alert}");

    let province = make_token(&node, "responder", "410000");
    let zz_responder = make_token(&node, "responder", ZZ);
    let zz_viewer = make_token(&node, "viewer", ZZ);
    let link = json!({"alert_id": kf_alert_id}).to_string();
    let links = format!("/api/v1/incidents/{zz_inc}/alerts");
    let dispatch = format!("/api/v1/incidents/{zz_inc}/dispatch");
    let to = |region: &str| json!({"region": region, "note": "take it"}).to_string();

    // Zhengzhou's incident concerns Zhengzhou only: it may not go to Kaifeng.
    let (s, b) = node.call_as(Some(&province), "POST", &dispatch, Some(to(KF).as_bytes()));
    assert_eq!(s, 400, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains(KF), "{b}");
    // A city responder cannot link an alert it cannot see.
    let (s, b) = node.call_as(Some(&zz_responder), "POST", &links, Some(link.as_bytes()));
    assert_eq!(s, 404, "{b}");

    // The province links Kaifeng's alert: the incident belongs to the province now.
    let (s, b) = node.call_as(Some(&province), "POST", &links, Some(link.as_bytes()));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["region"], "410000", "{b}");
    let (s, b) = node.call_as(
        Some(&zz_viewer),
        "GET",
        &format!("/api/v1/incidents/{zz_inc}"),
        None,
    );
    assert_eq!(s, 404, "a Zhengzhou viewer sees a province incident: {b}");
    let (s, b) = node.call_as(Some(&zz_viewer), "GET", "/api/v1/incidents", None);
    assert_eq!(s, 200, "{b}");
    for v in &kf_only {
        assert!(
            !b.to_string().contains(v.as_str()),
            "{v} shown to Zhengzhou: {b}"
        );
    }
    // Now it concerns Kaifeng: the dispatch goes.
    let (s, b) = node.call_as(Some(&province), "POST", &dispatch, Some(to(KF).as_bytes()));
    assert_eq!(s, 201, "{b}");

    // Unlinked again: back in Zhengzhou, without what only Kaifeng's alert brought.
    let (s, b) = node.call_as(
        Some(&province),
        "DELETE",
        &format!("{links}/{kf_alert_id}"),
        None,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["region"], ZZ, "{b}");
    assert_eq!(b["regions"], json!([ZZ]), "{b}");
    let (s, b) = node.call_as(
        Some(&zz_viewer),
        "GET",
        &format!("/api/v1/incidents/{zz_inc}"),
        None,
    );
    assert_eq!(s, 200, "{b}");
    for v in &kf_only {
        assert!(
            !entity_values(&b).contains(v),
            "{v} shown to Zhengzhou: {b}"
        );
    }
    node.stop();
}
