//! Rules that must not compile: each case in `testdata/rules/broken.yml` must be skipped and
//! reported with its reason, and must not stop the good rule loaded beside it.

mod common;

use std::fs;

use onewall_rules::{Engine, RuleSource};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rule: String,
    reason: String,
    #[serde(default)]
    rule_id: Option<String>,
}

const GOOD: &str = "title: good\nid: good-1\ndetection:\n  sel: {x: 1}\n  condition: sel\n";

#[test]
fn broken_rules_are_reported_with_their_reason() {
    let text = fs::read_to_string(common::testdata().join("broken.yml")).expect("broken.yml");
    let cases: Vec<Case> = serde_norway::from_str(&text).expect("broken.yml parses");
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let path = format!("broken/{}.yml", case.name.replace(' ', "_"));
        let (engine, report) = Engine::compile([
            RuleSource::new(&path, case.rule.as_str()),
            RuleSource::new("good.yml", GOOD),
        ]);
        let ok = engine.len() == 1
            && report.total == 2
            && report.compiled == 1
            && report.errors.len() == 1
            && report.errors[0].path == path
            && report.errors[0].reason.contains(&case.reason)
            && (case.rule_id.is_none() || report.errors[0].rule_id == case.rule_id);
        if !ok {
            failures.push(format!("{}: got {:?}", case.name, report));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rule_error_display_names_path_and_id() {
    let (_, report) = Engine::compile([RuleSource::new(
        "packs/x.yml",
        "title: t\nid: abc\ndetection:\n  sel:\n    a|re: '(x'\n  condition: sel\n",
    )]);
    assert!(
        report.errors[0].to_string().starts_with(
            "packs/x.yml: abc: search identifier 'sel': field 'a': bad regular expression '(x': "
        ),
        "{}",
        report.errors[0]
    );
    let (_, report) = Engine::compile([RuleSource::new("packs/y.yml", "title: [")]);
    assert!(
        report.errors[0]
            .to_string()
            .starts_with("packs/y.yml: bad yaml: ")
    );
}
