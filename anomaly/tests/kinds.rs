//! The `volume`, `outlier` and `time_of_day` kinds through the detector set: documents with
//! their parameters, the weight and numeric fields read from events, and alerts that explain
//! themselves in English and Chinese.

use std::sync::Arc;

use onewall_anomaly::{Anomalies, AnomalyConfig, Calendar, DetectorSet};
use onewall_model::{Alert, AnomalyKind, Event, RegionCode, Source, Timestamp};
use onewall_rules::{Placeholders, RuleSource};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// 2026-03-02 00:00 in UTC+8, a Monday (no holiday in the weeks that follow).
const L0: i64 = 1_772_409_600 - 8 * HOUR;

const DETECTORS: &str = r#"
title: Flows per source
id: anomaly-flow-volume
detection:
  selection: {event.action: flow}
  condition: selection
anomaly:
  kind: volume
  group-by: source.ip
  learning: 14d
---
title: Bytes a database user reads
id: anomaly-db-bytes
detection:
  selection: {event.action: db_query}
  condition: selection
anomaly:
  kind: outlier
  group-by: user.name
  field: source.bytes
  learning: 7d
---
title: Database use at unusual hours
id: anomaly-db-hours
detection:
  selection: {event.action: db_query}
  condition: selection
anomaly:
  kind: time_of_day
  group-by: user.name
  learning: 7d
"#;

fn anomalies() -> Anomalies {
    let config = AnomalyConfig {
        calendar: Calendar::china(),
        max_groups: 1_000,
        max_entries: 100,
    };
    let (set, report) = DetectorSet::compile(
        &[RuleSource::new("detectors.yml", DETECTORS)],
        &Placeholders::new(),
        &config,
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(set.len(), 3);
    Anomalies::new(Arc::new(set), config)
}

fn event(secs: i64, action: &str) -> Event {
    let t = Timestamp::from_secs(secs);
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("test", None), b"");
    e.time = t;
    e.fields.insert("event.action", action);
    e
}

fn flow(secs: i64) -> Event {
    let mut e = event(secs, "flow");
    e.fields.insert("source.ip", "10.1.2.3");
    e
}

fn query(secs: i64, bytes: i64) -> Event {
    let mut e = event(secs, "db_query");
    e.fields.insert("user.name", "zhangsan");
    e.fields.insert("source.bytes", bytes);
    e
}

/// A day: 60 flows an hour around the clock; zhangsan queries 10 times an hour from 09:00 to
/// 18:00 on working days, 1 MB each (± a little).
fn day(d: i64) -> Vec<Event> {
    let start = L0 + d * DAY;
    let mut events = Vec::new();
    for h in 0..24 {
        for i in 0..60 {
            events.push(flow(start + h * HOUR + i * 60));
        }
        if d % 7 < 5 && (9..18).contains(&h) {
            for i in 0..10 {
                let bytes = 1_000_000 + ((d * 31 + h * 7 + i) % 5) * 50_000;
                events.push(query(start + h * HOUR + i * 360 + 30, bytes));
            }
        }
    }
    events
}

fn run(a: &mut Anomalies, events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for batch in events.chunks(1024) {
        a.observe_batch(batch, Timestamp::from_secs(L0 + 60 * DAY), &mut out);
    }
    out
}

#[test]
fn three_weeks_learnt_then_a_spike_an_exfiltration_and_a_night_query_explain_themselves() {
    let mut a = anomalies();
    let usual: Vec<Event> = (0..21).flat_map(day).collect();
    let alerts = run(&mut a, &usual);
    assert!(alerts.is_empty(), "{alerts:#?}");
    // Monday of week 4: at 03:00 zhangsan queries; at 14:00 the source sends 600 flows; at
    // 15:00 zhangsan reads 20 MB a query.
    let mon = L0 + 21 * DAY;
    let mut events = Vec::new();
    events.push(query(mon + 3 * HOUR + 120, 1_000_000));
    for h in 0..17 {
        let n = if h == 14 { 600 } else { 60 };
        for i in 0..n {
            events.push(flow(mon + h * HOUR + i * HOUR / n));
        }
        if (9..17).contains(&h) {
            let bytes = if h == 15 { 20_000_000 } else { 1_000_000 };
            for i in 0..10 {
                events.push(query(mon + h * HOUR + i * 360 + 30, bytes));
            }
        }
    }
    events.sort_by_key(|e| e.time);
    let alerts = run(&mut a, &events);
    let by_kind = |k: AnomalyKind| {
        alerts
            .iter()
            .filter_map(|a| a.anomaly.as_ref())
            .filter(|an| an.kind == k)
            .collect::<Vec<_>>()
    };
    let hours = by_kind(AnomalyKind::TimeOfDay);
    assert_eq!(hours.len(), 1, "{alerts:#?}");
    assert_eq!(
        hours[0].explanation,
        "user zhangsan was active at 03:00 on a working day, outside their usual hours \
         (09:00–18:00)"
    );
    assert_eq!(
        hours[0].explanation_zh,
        "用户 zhangsan 在工作日 03:00 活动，不在其通常时段（09:00–18:00）内"
    );
    let spikes = by_kind(AnomalyKind::Volume);
    assert_eq!(spikes.len(), 1, "{alerts:#?}");
    assert!(
        spikes[0]
            .explanation
            .starts_with("source 10.1.2.3 sent 101 events"),
        "{}",
        spikes[0].explanation
    );
    assert!(
        spikes[0].explanation.ends_with(
            "events in the hour from 14:00, against 29–91 usually at this hour on a working day"
        ),
        "{}",
        spikes[0].explanation
    );
    assert!(
        spikes[0]
            .explanation_zh
            .starts_with("源地址 10.1.2.3 在 14:00 起的 1 小时内产生")
    );
    let bytes = by_kind(AnomalyKind::Outlier);
    assert_eq!(bytes.len(), 1, "{alerts:#?}");
    assert!(
        bytes[0]
            .explanation
            .starts_with("user zhangsan's source.bytes reached 40,000,000 in the hour from 15:00"),
        "{}",
        bytes[0].explanation
    );
    // The band's top is about twice the usual 10.5 MB an hour: the second query passes it.
    assert_eq!(bytes[0].observed_value, Some(40_000_000.0));
    assert!(bytes[0].expected.ends_with("source.bytes per hour"));
}
