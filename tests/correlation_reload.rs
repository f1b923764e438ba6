//! Correlation rules on a running node come from the same packs as detection rules and reload
//! with them: a correlation added by a reload fires, one removed stops, an unchanged one keeps
//! its window across the reload, and a reload with a correlation that cannot load is refused
//! (422) while the rules in use keep running.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const BASE: &str = "0c0c0c0c-0000-4000-8000-0000000000b1";
const KEEP: &str = "0c0c0c0c-0000-4000-8000-0000000000c1";
const ADDED: &str = "0c0c0c0c-0000-4000-8000-0000000000c2";

const BASE_RULE: &str = "title: correlation reload base
id: 0c0c0c0c-0000-4000-8000-0000000000b1
name: reload_base
status: test
level: low
tags: [attack.credential_access, attack.t1110]
logsource: {product: test}
detection:
  sel:
    message|contains: corrtest
  condition: sel
";

fn correlation(id: &str, title: &str, references: &str, gte: u32) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: test\nlevel: high\n\
         correlation:\n  type: event_count\n  rules: [{references}]\n  group-by: [host.name]\n  \
         timespan: 1h\n  condition: {{gte: {gte}}}\n"
    )
}

fn write_pack(dir: &Path, correlations: &[String]) {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(&rules).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(
        dir.join("pack.yml"),
        "name: correlation-reload\nversion: \"1\"\nrules: [rules]\n",
    )
    .unwrap();
    std::fs::write(rules.join("base.yml"), BASE_RULE).unwrap();
    for (i, c) in correlations.iter().enumerate() {
        std::fs::write(rules.join(format!("corr{i}.yml")), c).unwrap();
    }
}

fn ingest(node: &Node, host: &str, n: usize) {
    let body: String = (0..n)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"message": format!("corrtest {host} {i}"), "host": {"name": host}})
            )
        })
        .collect();
    let (status, reply) = node.post("/api/v1/ingest", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
}

fn alerts_of(node: &Node, rule: &str) -> Vec<Value> {
    node.get(&format!("/api/v1/alerts?rule_id={rule}&limit=1000"))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn wait_alerts(node: &Node, rule: &str, n: usize) -> Vec<Value> {
    eventually(WAIT, || {
        let a = alerts_of(node, rule);
        (a.len() >= n).then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "{} alerts of {rule}, wanted {n}",
            alerts_of(node, rule).len()
        )
    })
}

fn correlation_ids(node: &Node) -> Vec<String> {
    let mut ids: Vec<String> = node.get("/api/v1/rules")["correlations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

fn host_of(alert: &Value) -> String {
    alert["matched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["field"] == "host.name")
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn correlations_reload_with_the_rules_and_unchanged_ones_keep_their_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("pack");
    let keep = correlation(KEEP, "three on one host", "reload_base", 3);
    let added = correlation(ADDED, "two on one host", BASE, 2);
    write_pack(&pack, std::slice::from_ref(&keep));
    let cfg = tmp.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        common::config(
            &tmp.path().join("data"),
            &format!(
                "[rules]\nbuiltin = false\npacks = [\"{}\"]\n",
                pack.display()
            ),
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);

    // The listing shows the correlation, its type and the rule it counts.
    let listed = node.get("/api/v1/rules");
    let c = &listed["correlations"][0];
    assert_eq!(c["id"], KEEP, "{listed}");
    assert_eq!(c["type"], "event_count");
    assert_eq!(c["rules"][0]["reference"], "reload_base");
    assert_eq!(c["rules"][0]["id"], BASE);
    assert_eq!(c["rules"][0]["kind"], "detection");
    assert_eq!(c["condition"], "gte 3");

    // Two of three in KEEP's window for alpha, then a reload that adds a correlation.
    ingest(&node, "alpha", 2);
    wait_alerts(&node, BASE, 2);
    write_pack(&pack, &[keep.clone(), added.clone()]);
    node.signal("HUP");
    let loaded = eventually(WAIT, || {
        let ids = correlation_ids(&node);
        (ids.len() == 2).then_some(ids)
    });
    assert_eq!(loaded, Some(vec![KEEP.to_string(), ADDED.to_string()]));

    // The third alpha event completes KEEP's window held across the reload.
    ingest(&node, "alpha", 1);
    let kept = wait_alerts(&node, KEEP, 1);
    assert_eq!(host_of(&kept[0]), "alpha");
    // The added correlation fires (two on beta; KEEP needs three there).
    ingest(&node, "beta", 2);
    let fired = wait_alerts(&node, ADDED, 1);
    assert_eq!(host_of(&fired[0]), "beta");
    assert!(
        node.stderr().contains("correlation rules reloaded"),
        "{}",
        node.stderr()
    );

    // Removed through the API: it stops. Two more on beta make KEEP fire there (3 of 4), which
    // shows the batch went through the correlation step; ADDED stays at one.
    write_pack(&pack, std::slice::from_ref(&keep));
    let (status, report) = node.post("/api/v1/rules/reload", b"");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["correlations"], 1, "{report}");
    ingest(&node, "beta", 2);
    let kept = wait_alerts(&node, KEEP, 2);
    assert!(kept.iter().any(|a| host_of(a) == "beta"), "{kept:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(alerts_of(&node, ADDED).len(), 1);

    // A correlation counting a rule that does not exist: 422 naming both, the set in use stays.
    let broken = correlation(
        "0c0c0c0c-0000-4000-8000-0000000000c3",
        "broken",
        "no_such_rule",
        2,
    );
    write_pack(&pack, &[keep, broken]);
    let (status, reply) = node.post("/api/v1/rules/reload", b"");
    assert_eq!(status, 422, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("0c0c0c0c-0000-4000-8000-0000000000c3")
            && message.contains("'no_such_rule'"),
        "{reply}"
    );
    assert_eq!(correlation_ids(&node), [KEEP]);
    node.stop();
}
