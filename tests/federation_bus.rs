//! The node event bus end to end: an alert raised by a job (here the SLA check), not by the
//! pipeline, reaches the federation uplink like any stored alert. Two real `onewall`
//! processes on loopback: the province 410000 and its city 410100, which pushes to it.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const SLA_RULE: &str = "onewall-sla-breach";

fn start(dir: &Path, name: &str, text: String) -> Node {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    Node::start(&cfg)
}

fn alerts_of_rule(node: &Node, rule: &str) -> Vec<Value> {
    node.get("/api/v1/alerts?limit=1000")["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["rule"]["id"] == rule)
        .collect()
}

#[test]
fn the_parent_stores_the_childs_sla_breach_alert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let province = start(
        d,
        "province",
        common::config(
            &d.join("province"),
            "[federation]\nchildren = [\"410100\"]\n",
        )
        .replace("region = \"410100\"", "region = \"410000\""),
    );
    let body = json!({"name": "collector-410100", "role": "collector", "region": "410100"});
    let (status, reply) = province.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let token = reply["token"].as_str().unwrap();
    // Every SLA is one minute, checked every second.
    let city = start(
        d,
        "city",
        common::config(
            &d.join("city"),
            &format!(
                "[federation]\nparent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
                 heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n\
                 [sla]\ngrade_1_minutes = 1\ngrade_2_minutes = 1\ngrade_3_minutes = 1\n\
                 grade_4_minutes = 1\ncii_minutes = 1\ncheck_secs = 1\n",
                province.http
            ),
        ),
    );
    common::sshd(
        &city,
        "Failed password for invalid user admin from 203.0.113.10 port 50010 ssh2",
    );
    let breach = eventually(Duration::from_secs(100), || {
        alerts_of_rule(&city, SLA_RULE).into_iter().next()
    })
    .unwrap_or_else(|| panic!("no SLA breach at the city; stderr:\n{}", city.stderr()));
    let id = breach["id"].as_str().unwrap().to_owned();
    let at_parent = eventually(Duration::from_secs(30), || {
        alerts_of_rule(&province, SLA_RULE)
            .into_iter()
            .find(|a| a["id"] == id.as_str())
    })
    .unwrap_or_else(|| {
        panic!(
            "the province did not store the city's SLA breach {id}; city stderr:\n{}\n\
             province stderr:\n{}",
            city.stderr(),
            province.stderr()
        )
    });
    assert_eq!(at_parent["region"], "410100", "{at_parent}");
    assert_eq!(at_parent["rule"]["id"], SLA_RULE, "{at_parent}");
    city.stop();
    province.stop();
}
