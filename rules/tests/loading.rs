//! Loading: multi-document files, directories, ids, levels, reports.

mod common;

use std::fs;

use onewall_model::Severity;
use onewall_rules::{Engine, RuleSource, RulesError};

const TWO_DOCS: &str = "\
title: first
id: doc-1
level: high
status: test
tags: [attack.t1110, attack.credential_access]
description: the first one
logsource:
  product: linux
  service: sshd
detection:
  sel: {x: 1}
  condition: sel
---
title: second
detection:
  sel: {x: 2}
  condition: sel
---
";

#[test]
fn each_document_is_a_rule_with_its_metadata() {
    let (engine, report) = Engine::compile([RuleSource::new("a/two.yml", TWO_DOCS)]);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!((report.total, report.compiled), (2, 2));
    let first = &engine.rules()[0];
    assert_eq!(first.id, "doc-1");
    assert_eq!(first.level, Severity::High);
    assert_eq!(first.status.as_deref(), Some("test"));
    assert_eq!(first.tags, ["attack.t1110", "attack.credential_access"]);
    assert_eq!(first.description.as_deref(), Some("the first one"));
    assert_eq!(first.path, "a/two.yml");
    assert_eq!(first.logsource.service.as_deref(), Some("sshd"));
    let second = &engine.rules()[1];
    assert_eq!(second.level, Severity::Medium, "missing level is medium");
    assert!(second.id.starts_with("ow-"), "derived id: {}", second.id);
    // Derived ids are stable: the same file name and title give the same id anywhere.
    let (again, _) = Engine::compile([RuleSource::new("elsewhere/two.yml", TWO_DOCS)]);
    assert_eq!(again.rules()[1].id, second.id);
    assert_eq!(
        engine.rule("doc-1").map(|r| r.title.as_str()),
        Some("first")
    );
}

#[test]
fn one_bad_document_does_not_stop_the_others() {
    let text = TWO_DOCS.replace("sel: {x: 2}", "sel: {x|sometimes: 2}");
    let (engine, report) = Engine::compile([RuleSource::new("two.yml", text)]);
    assert_eq!(
        (report.total, report.compiled, report.errors.len()),
        (2, 1, 1)
    );
    assert_eq!(engine.len(), 1);
    assert!(report.errors[0].reason.contains("'sometimes'"));
}

#[test]
fn duplicate_ids_keep_the_first() {
    let rule = "title: t\nid: same\ndetection:\n  sel: {x: 1}\n  condition: sel\n";
    let (engine, report) = Engine::compile([
        RuleSource::new("one.yml", rule),
        RuleSource::new("two.yml", rule),
    ]);
    assert_eq!(engine.len(), 1);
    assert_eq!(engine.rules()[0].path, "one.yml");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].path, "two.yml");
    assert!(
        report.errors[0]
            .reason
            .contains("duplicate rule id, first defined in one.yml")
    );
    assert_eq!(report.total, report.compiled + report.errors.len());
}

#[test]
fn load_dir_walks_subdirectories_and_reports_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule =
        |id: &str| format!("title: t\nid: {id}\ndetection:\n  sel: {{x: 1}}\n  condition: sel\n");
    fs::create_dir_all(dir.path().join("sub/deeper")).expect("mkdir");
    fs::write(dir.path().join("a.yml"), rule("a")).expect("write");
    fs::write(dir.path().join("sub/b.yaml"), rule("b")).expect("write");
    fs::write(dir.path().join("sub/deeper/c.YML"), rule("c")).expect("write");
    fs::write(dir.path().join("sub/notes.txt"), "not a rule").expect("write");
    fs::write(dir.path().join(".hidden.yml"), rule("hidden")).expect("write");
    fs::write(dir.path().join("bad.yml"), "title: [").expect("write");
    fs::write(dir.path().join("latin1.yml"), [0x74u8, 0xe9, 0x0a]).expect("write");
    fs::write(dir.path().join("empty.yml"), "").expect("write");
    let (engine, report) = Engine::load_dir(dir.path()).expect("load");
    let mut ids: Vec<&str> = engine.rules().iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(report.total, 5, "{report:?}");
    assert_eq!(report.errors.len(), 2);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.path.ends_with("bad.yml") && e.reason.contains("bad yaml"))
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.path.ends_with("latin1.yml") && e.reason.contains("utf-8"))
    );
}

#[test]
fn load_dir_fails_only_for_the_dir_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let err = Engine::load_dir(&missing).expect_err("missing dir");
    let RulesError::Io { path, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert!(path.ends_with("nope"));
    assert!(err.to_string().contains("nope"));
    assert_eq!(err.code(), "rules_dir_unreadable");
}

#[test]
fn builtin_and_dirs_combine() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("x.yml"),
        "title: t\nid: extra\ndetection:\n  sel: {x: 1}\n  condition: sel\n",
    )
    .expect("write");
    let (builtin, _) = Engine::builtin();
    let (engine, report) = Engine::load(true, &[dir.path()]).expect("load");
    assert!(report.is_clean());
    assert_eq!(engine.len(), builtin.len() + 1);
    assert!(engine.rule("extra").is_some());
    // The pack's other files are correlations and anomaly detectors.
    let detections = Engine::builtin_sources()
        .iter()
        .filter(|s| !s.text.contains("\ncorrelation:") && !s.text.contains("\nanomaly:"))
        .count();
    assert_eq!(detections, builtin.len());
}

#[test]
fn rule_info_serializes() {
    let (engine, _) = Engine::builtin();
    let json = serde_json::to_value(&engine.rules()[0]).expect("serialize");
    assert!(json["id"].is_string());
    assert_eq!(json["logsource"]["product"], "linux");
    assert!(json["level"].is_string());
}

#[test]
fn matched_fields_name_what_made_the_rule_true() {
    let rule = "title: t\ndetection:\n  sel:\n    process.name: sshd\n  kw:\n    - 'break-in'\n  filter:\n    user.name: alice\n  condition: sel and kw and not filter\n";
    let (engine, report) = Engine::compile([RuleSource::new("m.yml", rule)]);
    assert!(report.is_clean(), "{report:?}");
    let ev = common::event(
        &serde_json::json!({"process.name": "sshd", "user.name": "bob", "message": "POSSIBLE BREAK-IN ATTEMPT!"}),
        None,
    );
    let mut alerts = Vec::new();
    engine.match_batch(
        std::slice::from_ref(&ev),
        onewall_model::Timestamp::now(),
        &mut alerts,
    );
    assert_eq!(alerts.len(), 1);
    let m: Vec<(String, String)> = alerts[0]
        .matched
        .iter()
        .map(|m| (m.field.clone(), m.value.clone()))
        .collect();
    assert_eq!(
        m,
        [
            ("process.name".to_string(), "sshd".to_string()),
            ("keywords".to_string(), "break-in".to_string())
        ]
    );
}

#[test]
fn expand_placeholders_come_from_the_caller() {
    use onewall_rules::Placeholders;
    let rule =
        "title: t\nid: x\ndetection:\n  sel:\n    User|expand: '%admins%'\n  condition: sel\n";
    let mut ph = Placeholders::new();
    ph.insert("admins".into(), vec!["root".into(), "adm_*".into()]);
    let (engine, report) = Engine::compile_with([RuleSource::new("e.yml", rule)], &ph);
    assert!(report.is_clean(), "{report:?}");
    for (user, hit) in [("root", true), ("ADM_bob", true), ("bob", false)] {
        let ev = common::event(&serde_json::json!({ "User": user }), None);
        assert_eq!(!engine.matching_rules(&ev).is_empty(), hit, "{user}");
    }
    let (_, report) = Engine::compile([RuleSource::new("e.yml", rule)]);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .reason
            .contains("unknown placeholder '%admins%'")
    );
}
