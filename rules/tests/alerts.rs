//! What an alert records about its match: the selection each matched value satisfied, and an
//! id derived from the event and the rule (so matching the same event again, as a spool replay
//! does, makes the same alert).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use onewall_model::{Alert, AlertId, Timestamp};
use onewall_rules::{Engine, RuleSource};
use serde_json::json;

const TWO_SELECTIONS: &str = r#"
title: Root shell through sudo
id: 0b6f7b5e-8a55-4d1e-9a1c-3e3f0d6c1a01
level: high
logsource: {product: linux, service: auth}
detection:
    selection_user:
        user.name: root
    selection_proc:
        process.name:
            - sudo
            - su
    keywords_shell:
        - '/bin/bash'
    condition: selection_user and selection_proc and keywords_shell
"#;

const ONE_OF: &str = r#"
title: Either selection
id: 0b6f7b5e-8a55-4d1e-9a1c-3e3f0d6c1a02
level: low
detection:
    selection_a:
        user.name: root
    selection_b:
        process.name: cron
    condition: 1 of selection_*
"#;

fn alerts(rules: &[&str], fields: serde_json::Value, raw: &str) -> Vec<Alert> {
    let sources = rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleSource::new(format!("r{i}.yml"), *r));
    let (engine, report) = Engine::compile(sources);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let event = common::event(&fields, Some(raw));
    let mut out = Vec::new();
    engine.match_batch(&[event], Timestamp::from_secs(1_800_000_000), &mut out);
    out
}

fn by_selection(a: &Alert) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = a
        .matched
        .iter()
        .map(|m| {
            (
                m.selection.clone().unwrap_or_default(),
                m.field.clone(),
                m.value.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn matched_values_name_the_selection_they_satisfied() {
    let got = alerts(
        &[TWO_SELECTIONS],
        json!({"user.name": "root", "process.name": "sudo", "host.name": "web01"}),
        "sudo: alice : COMMAND=/bin/bash",
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        by_selection(&got[0]),
        [
            (
                "keywords_shell".into(),
                "keywords".into(),
                "/bin/bash".into()
            ),
            (
                "selection_proc".into(),
                "process.name".into(),
                "sudo".into()
            ),
            ("selection_user".into(), "user.name".into(), "root".into()),
        ]
    );
    // The API serves the alert as this JSON: each value with its selection.
    let json = serde_json::to_value(&got[0]).unwrap();
    let sel: Vec<&str> = json["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["selection"].as_str().unwrap())
        .collect();
    assert!(sel.contains(&"selection_user") && sel.contains(&"selection_proc"));
}

#[test]
fn one_of_names_only_the_selection_that_matched() {
    let got = alerts(
        &[ONE_OF],
        json!({"user.name": "root", "process.name": "sshd"}),
        "x",
    );
    assert_eq!(got.len(), 1);
    assert_eq!(
        by_selection(&got[0]),
        [("selection_a".into(), "user.name".into(), "root".into())]
    );
}

#[test]
fn matching_the_same_event_again_makes_the_same_alert_id() {
    let fields = json!({"user.name": "root", "process.name": "sudo"});
    let (engine, _) = Engine::compile([
        RuleSource::new("a.yml", TWO_SELECTIONS),
        RuleSource::new("b.yml", ONE_OF),
    ]);
    let event = common::event(&fields, Some("COMMAND=/bin/bash"));
    let (mut first, mut again) = (Vec::new(), Vec::new());
    engine.match_batch(
        std::slice::from_ref(&event),
        Timestamp::from_secs(1_800_000_000),
        &mut first,
    );
    // Later, as after a restart: the creation time differs, the ids do not.
    engine.match_batch(
        std::slice::from_ref(&event),
        Timestamp::from_secs(1_800_000_600),
        &mut again,
    );
    assert_eq!(first.len(), 2);
    let ids = |v: &[Alert]| v.iter().map(|a| a.id).collect::<Vec<AlertId>>();
    assert_eq!(ids(&first), ids(&again));
    assert_ne!(first[0].id, first[1].id, "one id per rule");
    for a in &first {
        assert_eq!(a.id, AlertId::for_rule_match(event.id, &a.rule.id));
    }
    // Another event with the same content is another alert.
    let other = common::event(&fields, Some("COMMAND=/bin/bash"));
    let mut third = Vec::new();
    engine.match_batch(&[other], Timestamp::from_secs(1_800_000_000), &mut third);
    assert!(ids(&third).iter().all(|id| !ids(&first).contains(id)));
}
