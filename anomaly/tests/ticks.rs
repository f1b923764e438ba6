//! The watermark's ticks: a bucket kind (`volume`) advances every group when the detector's
//! event time crosses a bucket boundary, so a group that falls silent is reported from the
//! other groups' events, with the group's fields as its entities.

use std::sync::Arc;

use onewall_anomaly::{Anomalies, AnomalyConfig, DetectorSet};
use onewall_model::{AnomalyKind, EntityKind, Event, RegionCode, Source, Timestamp};
use onewall_rules::{Placeholders, RuleSource};

/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600;

const SILENCE: &str = r#"
title: Host went quiet
id: anomaly-host-silent
detection:
  selection: {event.action: heartbeat}
  condition: selection
anomaly:
  kind: volume
  group-by: host.name
  bucket: 1h
  direction: down
  learning: 1d
"#;

fn beat(secs: i64, host: &str) -> Event {
    let t = Timestamp::from_secs(secs);
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("test", None), b"");
    e.time = t;
    e.fields.insert("event.action", "heartbeat");
    e.fields.insert("host.name", host);
    e
}

#[test]
fn a_silent_group_is_reported_when_the_watermark_moves_on() {
    let (set, report) = DetectorSet::compile(
        &[RuleSource::new("silence.yml", SILENCE)],
        &Placeholders::new(),
        &AnomalyConfig::default(),
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    let mut a = Anomalies::new(Arc::new(set), AnomalyConfig::default());
    // Four weeks of a beat a minute from both hosts, then db01 stops and web01 goes on.
    let weeks = 4 * 7 * 24 * 60;
    let mut events = Vec::new();
    for m in 0..weeks + 6 * 60 {
        let t = T0 + m * 60;
        events.push(beat(t, "web01"));
        if m < weeks {
            events.push(beat(t + 1, "db01"));
        }
    }
    let mut alerts = Vec::new();
    for batch in events.chunks(1_000) {
        a.observe_batch(batch, Timestamp::from_secs(T0), &mut alerts);
    }
    let silent: Vec<_> = alerts
        .iter()
        .filter(|a| a.matched.first().is_some_and(|m| m.value == "db01"))
        .collect();
    assert!(!silent.is_empty(), "no alert for db01: {alerts:#?}");
    let first = silent[0];
    assert!(first.event_ids.is_empty());
    assert_eq!(first.entities.len(), 1);
    assert_eq!(first.entities[0].kind, EntityKind::Host);
    assert_eq!(first.entities[0].value, "db01");
    assert!(first.time.secs() >= T0 + weeks * 60);
    let an = first.anomaly.as_ref().expect("anomaly");
    assert_eq!(an.kind, AnomalyKind::Volume);
    // Suppression and the kind's own once-until-back rule keep it to one alert.
    assert_eq!(silent.len(), 1, "{silent:#?}");
    assert!(
        alerts.iter().all(|a| a.matched[0].value == "db01"),
        "web01 kept its rhythm: {alerts:#?}"
    );
}
