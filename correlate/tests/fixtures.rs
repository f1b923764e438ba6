//! The correlation fixtures in `testdata/rules/correlation/`: each `<name>.events.ndjson`
//! stream, run through the detection rules and the correlation engine, raises exactly the
//! correlation alerts listed in `<name>.expected.ndjson` (rule id, group value, window end).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use onewall_correlate::sigma::{SigmaConfig, SigmaCorrelator};
use onewall_model::{Alert, Event, EventId, RegionCode, Source, Timestamp, Value};
use onewall_rules::correlation::load_correlations;
use onewall_rules::{Engine, read_rule_dir};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/rules/correlation")
}

fn engines() -> (Engine, SigmaCorrelator) {
    let (sources, read) = read_rule_dir(&dir()).expect("fixture dir");
    assert!(read.is_clean(), "{:?}", read.errors);
    let (set, report) = load_correlations(&sources);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(report.compiled, 5, "five correlations in the fixtures");
    let (engine, rules_report) = Engine::compile(sources);
    // The rule engine reports correlation documents as not its own; every detection compiles.
    let detection_errors: Vec<_> = rules_report
        .errors
        .iter()
        .filter(|e| !set.rules.iter().any(|c| Some(&c.id) == e.rule_id.as_ref()))
        .collect();
    assert!(detection_errors.is_empty(), "{detection_errors:?}");
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    (
        engine,
        SigmaCorrelator::new(resolved, SigmaConfig::default()),
    )
}

fn events(name: &str) -> Vec<Event> {
    let text = fs::read_to_string(dir().join(format!("{name}.events.ndjson"))).expect("events");
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            let time = Timestamp::from_secs(v["time"].as_i64().expect("time"));
            let mut e = Event::new(
                time,
                RegionCode::HENAN,
                Source::new("fixture", None),
                line.as_bytes(),
            );
            e.time = time;
            for (k, fv) in v["fields"].as_object().expect("fields") {
                e.fields.insert(k, Value::from_typed_json(fv));
            }
            e
        })
        .collect()
}

fn run(name: &str) -> Vec<(String, String, i64)> {
    let (engine, mut corr) = engines();
    let events = events(name);
    let by_id: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let mut fired: Vec<Alert> = Vec::new();
    // Feed in small batches, as the node does.
    for chunk in events.chunks(4) {
        let mut alerts = Vec::new();
        engine.match_batch(chunk, Timestamp::from_secs(2_000_000_000), &mut alerts);
        fired.extend(corr.process(&alerts, &by_id, Timestamp::from_secs(2_000_000_000)));
    }
    assert_eq!(corr.stats().late, 0);
    fired
        .iter()
        .map(|a| {
            let group = a
                .matched
                .iter()
                .find(|m| m.field == "source.ip")
                .map(|m| m.value.clone())
                .unwrap_or_default();
            (a.rule.id.clone(), group, a.time.secs())
        })
        .collect()
}

fn expected(name: &str) -> Vec<(String, String, i64)> {
    let text = fs::read_to_string(dir().join(format!("{name}.expected.ndjson"))).expect("expected");
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            (
                v["rule"].as_str().expect("rule").to_owned(),
                v["group"].as_str().expect("group").to_owned(),
                v["time"].as_i64().expect("time"),
            )
        })
        .collect()
}

fn check(name: &str) {
    let mut got = run(name);
    let mut want = expected(name);
    got.sort();
    want.sort();
    assert_eq!(got, want, "{name}");
}

#[test]
fn ssh_brute_force_then_success() {
    check("ssh_brute_force_then_success");
}

#[test]
fn ssh_password_spraying() {
    check("ssh_password_spraying");
}

#[test]
fn port_scan() {
    check("port_scan");
}

#[test]
fn exfiltration_volume() {
    check("exfiltration_volume");
}

#[test]
fn base_rules_without_generate_are_quiet() {
    let (_, corr) = engines();
    for id in [
        "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f03",
        "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f04",
        "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f22",
        "6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f32",
    ] {
        assert!(corr.is_quiet(id), "{id}");
    }
}
