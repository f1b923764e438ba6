//! The built-in pack's correlations against their samples: each correlation has an event stream
//! that must raise it (`match.ndjson`) and one that must not (`nomatch.ndjson`) under
//! `testdata/rules/builtin/<rule>/`, one JSON object per line: `offset_s` (seconds after the
//! stream's start, event time) and `fields`. The streams go through the built-in detection
//! rules and the correlator as the node runs them; the evidence rules they count are quiet (no
//! incident of their own).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use onewall_correlate::sigma::{SigmaConfig, SigmaCorrelator};
use onewall_model::{Alert, Event, EventId, RegionCode, Source, Timestamp};
use onewall_rules::Engine;
use onewall_rules::correlation::load_correlations;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/rules/builtin")
}

/// The built-in detection rules and a correlator over the built-in correlations; the ids of
/// the correlations by file stem.
fn builtin() -> (Engine, SigmaCorrelator, BTreeMap<String, String>) {
    let (engine, report) = Engine::builtin();
    assert!(report.is_clean(), "{:?}", report.errors);
    let sources = onewall_rules::builtin_sources();
    let (set, report) = load_correlations(&sources);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    let mut by_stem = BTreeMap::new();
    for r in &resolved {
        let src = sources
            .iter()
            .find(|s| s.text.contains(&format!("id: {}", r.rule.id)))
            .expect("the correlation's file");
        let stem = src
            .path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".yml")
            .to_owned();
        by_stem.insert(stem, r.rule.id.clone());
    }
    (
        engine,
        SigmaCorrelator::new(resolved, SigmaConfig::default()),
        by_stem,
    )
}

/// The events of a sample stream, in file order.
fn stream(stem: &str, kind: &str) -> Vec<Event> {
    let path = samples_dir().join(stem).join(format!("{kind}.ndjson"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = Timestamp::from_secs(1_795_000_000);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            let offset = v["offset_s"]
                .as_f64()
                .unwrap_or_else(|| panic!("{}:{}: no offset_s", path.display(), n + 1));
            let t = Timestamp(start.0 + (offset * 1e9) as i64);
            let mut e = Event::new(t, RegionCode::HENAN, Source::new("netflow", None), b"");
            e.time = t;
            e.format = onewall_model::Format::Flow;
            e.fields.insert_json("", &v["fields"]);
            e
        })
        .collect()
}

/// Run a stream through detection and correlation in batches of 10, as the node's batches go.
/// Answers the detection alerts and the correlation alerts.
fn run(engine: &Engine, corr: &mut SigmaCorrelator, events: &[Event]) -> (Vec<Alert>, Vec<Alert>) {
    let now = Timestamp::from_secs(1_795_000_000);
    let lookup: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let (mut detected, mut raised) = (Vec::new(), Vec::new());
    for batch in events.chunks(10) {
        let mut alerts = Vec::new();
        engine.match_batch(batch, now, &mut alerts);
        raised.extend(corr.process(&alerts, &lookup, now));
        detected.extend(alerts);
    }
    (detected, raised)
}

#[test]
fn the_builtin_pack_has_the_flow_correlations() {
    let (_, _, by_stem) = builtin();
    let stems: Vec<&str> = by_stem.keys().map(String::as_str).collect();
    for want in ["flow_host_sweep", "flow_port_scan", "flow_volumetric_spike"] {
        assert!(stems.contains(&want), "{stems:?}");
    }
}

#[test]
fn each_correlation_fires_on_its_match_stream_only() {
    let (engine, _, by_stem) = builtin();
    for (stem, id) in &by_stem {
        for kind in ["match", "nomatch"] {
            let (_, mut corr, _) = builtin();
            let (detected, raised) = run(&engine, &mut corr, &stream(stem, kind));
            let ids: Vec<&str> = raised.iter().map(|a| a.rule.id.as_str()).collect();
            match kind {
                "match" => {
                    assert!(!ids.is_empty(), "{stem}/match.ndjson raised nothing");
                    assert!(
                        ids.iter().all(|i| i == id),
                        "{stem}/match.ndjson raised others: {ids:?}"
                    );
                    // Once: the group is suppressed after it fires.
                    assert_eq!(ids.len(), 1, "{stem}/match.ndjson: {raised:#?}");
                    // The correlation alert keeps its evidence.
                    assert!(!raised[0].event_ids.is_empty(), "{stem}: no evidence");
                }
                _ => assert!(ids.is_empty(), "{stem}/nomatch.ndjson raised {ids:?}"),
            }
            // What the streams fire directly is only the quiet evidence: no incident of its own.
            for a in &detected {
                assert!(
                    corr.is_quiet(&a.rule.id),
                    "{stem}/{kind}: {} ({}) is not quiet",
                    a.rule.title,
                    a.rule.id
                );
            }
        }
    }
}
