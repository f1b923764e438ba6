//! Table-driven Sigma conformance: every case in `testdata/rules/conformance/*.yml` compiles
//! its rule alone and checks each event's expected match.

mod common;

use std::fs;
use std::net::IpAddr;

use onewall_model::Value;
use onewall_rules::{Engine, RuleSource};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rule: String,
    events: Vec<EventCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventCase {
    fields: serde_json::Value,
    #[serde(default)]
    raw: Option<String>,
    #[serde(rename = "match")]
    expect: bool,
}

/// The rule text with a title added when the case left it out.
fn rule_text(case: &Case) -> String {
    if case.rule.lines().any(|l| l.starts_with("title:")) {
        case.rule.clone()
    } else {
        format!("title: {:?}\n{}", case.name, case.rule)
    }
}

fn event(ev: &EventCase) -> onewall_model::Event {
    let mut e = common::event(&ev.fields, Some(ev.raw.as_deref().unwrap_or("")));
    // Fields named `*.ip` that parse are addresses, as a parser would type them.
    let ips: Vec<(String, IpAddr)> = e
        .fields
        .iter()
        .filter(|(k, _)| k.ends_with(".ip"))
        .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.parse().ok()?)))
        .collect();
    for (k, ip) in ips {
        e.fields.insert(&k, Value::Ip(ip));
    }
    e
}

#[test]
fn conformance_cases() {
    let dir = common::testdata().join("conformance");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("conformance dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "conformance files missing");
    let (mut cases_run, mut checks, mut failures) = (0, 0, Vec::new());
    for file in files {
        let text = fs::read_to_string(&file).expect("read case file");
        let cases: Vec<Case> =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let fname = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        for case in cases {
            cases_run += 1;
            let (engine, report) = Engine::compile([RuleSource::new(
                format!("{fname}:{}", case.name),
                rule_text(&case),
            )]);
            if !report.is_clean() || engine.len() != 1 {
                failures.push(format!(
                    "{fname}: {}: does not compile: {:?}",
                    case.name, report.errors
                ));
                continue;
            }
            assert!(!case.events.is_empty(), "{fname}: {}: no events", case.name);
            for (i, ev) in case.events.iter().enumerate() {
                checks += 1;
                let got = !engine.matching_rules(&event(ev)).is_empty();
                if got != ev.expect {
                    failures.push(format!(
                        "{fname}: {}: event #{i} {}: expected match={}, got {}",
                        case.name, ev.fields, ev.expect, got
                    ));
                }
            }
        }
    }
    eprintln!("{cases_run} conformance cases, {checks} checks");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
