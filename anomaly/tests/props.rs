//! Properties of the detector set over random streams: the group bound holds after every
//! batch, and a restored state behaves exactly as the state it was taken from.

use std::sync::Arc;

use onewall_anomaly::{Anomalies, AnomalyConfig, DetectorSet};
use onewall_model::{Alert, AlertId, Event, RegionCode, Source, Timestamp};
use onewall_rules::{Placeholders, RuleSource};
use proptest::prelude::*;

const T0: i64 = 1_772_409_600;

const DETECTORS: &str = r#"
title: New network
id: new-network
detection: {s: {event.action: login}, condition: s}
anomaly: {kind: first_seen, group-by: user.name, field: source.ip, transform: net24, learning: 1h, max-groups: 8}
---
title: Rare network
id: rare-network
detection: {s: {event.action: login}, condition: s}
anomaly: {kind: rare, group-by: user.name, field: source.ip, transform: net24, learning: 1h, min-total: 5, threshold: 0.2, max-groups: 8}
"#;

fn anomalies() -> Anomalies {
    let (set, report) = DetectorSet::compile(
        &[RuleSource::new("p.yml", DETECTORS)],
        &Placeholders::new(),
        &AnomalyConfig::default(),
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    Anomalies::new(Arc::new(set), AnomalyConfig::default())
}

fn events(steps: &[(u8, u8, u16)]) -> Vec<Event> {
    let mut t = T0;
    steps
        .iter()
        .map(|&(user, net, gap)| {
            t += i64::from(gap);
            let at = Timestamp::from_secs(t);
            let mut e = Event::new(at, RegionCode::HENAN, Source::new("p", None), b"");
            e.time = at;
            e.fields.insert("event.action", "login");
            e.fields.insert("user.name", format!("u{user}"));
            e.fields.insert("source.ip", format!("10.0.{net}.1"));
            e
        })
        .collect()
}

fn run(a: &mut Anomalies, events: &[Event]) -> Vec<AlertId> {
    let mut out: Vec<Alert> = Vec::new();
    for batch in events.chunks(7) {
        a.observe_batch(batch, Timestamp::from_secs(T0), &mut out);
        for s in a.status() {
            assert!(
                s.groups <= s.max_groups,
                "{} groups of {}",
                s.groups,
                s.max_groups
            );
        }
    }
    out.iter().map(|a| a.id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bounded_and_restored_states_behave_the_same(
        before in prop::collection::vec((0u8..20, 0u8..6, 0u16..900), 1..300),
        after in prop::collection::vec((0u8..20, 0u8..6, 0u16..900), 1..100),
    ) {
        let first = events(&before);
        let mut later = events(&after);
        let shift = first.last().map_or(0, |e| e.time.secs() - T0);
        for e in &mut later {
            e.time = e.time.add_secs(shift);
        }
        let mut a = anomalies();
        run(&mut a, &first);
        let mut b = anomalies();
        b.restore(&a.snapshot()).expect("restore");
        let strip = |mut v: Vec<onewall_anomaly::DetectorStatus>| {
            for s in &mut v {
                s.state_bytes = 0;
            }
            v
        };
        prop_assert_eq!(strip(a.status()), strip(b.status()));
        prop_assert_eq!(run(&mut a, &later), run(&mut b, &later));
        prop_assert_eq!(strip(a.status()), strip(b.status()));
    }
}
