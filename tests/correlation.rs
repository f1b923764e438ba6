//! End to end: sshd lines over syslog (the real `logger`, UDP) into the real binary loaded with
//! the correlation fixtures: a burst of failed logins then a success from the same address
//! raises the brute-force-then-success correlation alert and an incident holding it; the
//! half-complete window survives a restart (the snapshot).

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const CHAIN: &str = "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f01";
const BURST: &str = "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f02";
const ATTACKER: &str = "203.0.113.50";

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn alerts_of(node: &Node, rule: &str) -> Vec<Value> {
    items(&node.get("/api/v1/alerts?limit=1000"))
        .into_iter()
        .filter(|a| a["rule"]["id"] == rule)
        .collect()
}

fn matched(alert: &Value, field: &str) -> Vec<String> {
    alert["matched"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["field"] == field)
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn brute_force_then_success_over_syslog_raises_a_correlation_alert_and_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/correlation");
    let cfg = dir.path().join("onewall.toml");
    let extra = format!(
        "[rules]\ndirs = [\"{}\"]\n[correlate]\nsnapshot_interval_secs = 3600\n\
         default_importance = \"critical\"\n",
        rules.display()
    );
    std::fs::write(&cfg, common::config(&dir.path().join("data"), &extra)).unwrap();
    let node = Node::start(&cfg);

    // Three failures, then a restart: the window must survive it (snapshot at shutdown).
    for port in 40001..40004 {
        common::sshd(
            &node,
            &format!("Failed password for root from {ATTACKER} port {port} ssh2"),
        );
    }
    eventually(WAIT, || {
        let n = items(&node.get("/api/v1/alerts?limit=1000")).len();
        (n >= 3).then_some(())
    })
    .unwrap_or_else(|| panic!("no alerts; stderr:\n{}", node.stderr()));
    assert!(
        alerts_of(&node, BURST).is_empty(),
        "three failures are not a burst"
    );
    node.stop();
    assert!(
        dir.path().join("data/correlation.snapshot").is_file(),
        "snapshot written at shutdown"
    );

    let node = Node::start(&cfg);
    // The log is read on its own thread: the line may land just after the ready line.
    let restored = eventually(WAIT, || {
        node.stderr()
            .contains("correlation state restored")
            .then_some(())
    });
    assert!(restored.is_some(), "{}", node.stderr());
    for port in 40004..40006 {
        common::sshd(
            &node,
            &format!("Failed password for root from {ATTACKER} port {port} ssh2"),
        );
    }
    let burst = eventually(WAIT, || {
        let a = alerts_of(&node, BURST);
        (!a.is_empty()).then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "the fifth failure (two after the restart) completes the burst; alerts: {}\nstderr:\n{}",
            node.get("/api/v1/alerts?limit=1000"),
            node.stderr()
        )
    });
    assert_eq!(burst.len(), 1);
    assert_eq!(matched(&burst[0], "source.ip"), [ATTACKER]);
    assert_eq!(matched(&burst[0], "correlation.value"), ["5"]);
    assert_eq!(matched(&burst[0], "correlation.alert_id").len(), 5);
    assert_eq!(burst[0]["event_ids"].as_array().unwrap().len(), 5);

    // No success yet: no chain alert. Then the success from the same address.
    assert!(alerts_of(&node, CHAIN).is_empty());
    common::sshd(
        &node,
        &format!("Accepted password for root from {ATTACKER} port 40010 ssh2"),
    );
    let chain = eventually(WAIT, || {
        let a = alerts_of(&node, CHAIN);
        (!a.is_empty()).then_some(a)
    })
    .unwrap_or_else(|| panic!("no chain alert; {}", node.get("/api/v1/alerts?limit=1000")));
    assert_eq!(chain.len(), 1);
    let chain = &chain[0];
    assert_eq!(chain["severity"], "critical");
    assert_eq!(matched(chain, "source.ip"), [ATTACKER]);
    let contributors = matched(chain, "correlation.alert_id");
    assert!(contributors.contains(&burst[0]["id"].as_str().unwrap().to_owned()));

    // The incident holding the correlation alert: with the failures about the same address
    // and host, critical, category NA, grade I (every asset critical here x critical impact).
    let incident = eventually(WAIT, || {
        items(&node.get("/api/v1/incidents?limit=100"))
            .into_iter()
            .find(|i| {
                i["alert_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == &chain["id"])
            })
    })
    .unwrap_or_else(|| {
        panic!(
            "no incident with the chain alert; {}",
            node.get("/api/v1/incidents")
        )
    });
    let detail = node.get(&format!(
        "/api/v1/incidents/{}",
        incident["id"].as_str().unwrap()
    ));
    assert_eq!(detail["severity"], "critical", "{detail}");
    assert!(
        detail["alert_ids"]
            .as_array()
            .unwrap()
            .contains(&burst[0]["id"]),
        "the burst alert is evidence too: {detail}"
    );
    assert_eq!(detail["classification"]["category"], "NA", "{detail}");
    assert_eq!(detail["classification"]["grade"], "I", "{detail}");
    let tactics = detail["classification"]["tactics"].as_array().unwrap();
    assert!(tactics.iter().any(|t| t == "credential_access"), "{detail}");
    // The base rules of the fixture are quiet: no incident holds only their alerts.
    let base = "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f03";
    for i in items(&node.get("/api/v1/incidents?limit=100")) {
        let rules = i["rule_ids"].as_array().unwrap();
        assert!(!(rules.len() == 1 && rules[0] == base), "{i}");
    }
    let m = node.metrics();
    assert!(m.contains("onewall_correlate_alerts_total"), "{m}");
    node.stop();
}
