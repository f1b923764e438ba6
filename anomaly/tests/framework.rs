//! The anomaly framework through its public interface: documents, bounds, snapshots, reloads,
//! suppression and alerts, with the `first_seen` and `rare` kinds.

use std::sync::Arc;

use onewall_anomaly::{Anomalies, AnomalyConfig, Calendar, DetectorSet};
use onewall_model::{Alert, AnomalyKind, Event, RegionCode, Source, Timestamp};
use onewall_rules::{LoadReport, Placeholders, RuleSource};

const DAY: i64 = 86_400;
/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600;

fn config() -> AnomalyConfig {
    AnomalyConfig {
        calendar: Calendar::china(),
        max_groups: 1_000,
        max_entries: 100,
    }
}

fn compile(text: &str) -> (DetectorSet, LoadReport) {
    DetectorSet::compile(
        &[RuleSource::new("detectors.yml", text)],
        &Placeholders::new(),
        &config(),
    )
}

fn set(text: &str) -> Arc<DetectorSet> {
    let (set, report) = compile(text);
    assert!(report.is_clean(), "{:?}", report.errors);
    Arc::new(set)
}

fn login(secs: i64, user: &str, ip: &str) -> Event {
    let t = Timestamp::from_secs(secs);
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("test", None), b"");
    e.time = t;
    e.fields.insert("event.action", "ssh_login");
    e.fields.insert("user.name", user);
    e.fields.insert("source.ip", ip);
    e
}

fn process(secs: i64, host: &str, name: &str) -> Event {
    let t = Timestamp::from_secs(secs);
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("test", None), b"");
    e.time = t;
    e.fields.insert("event.action", "process_start");
    e.fields.insert("host.name", host);
    e.fields.insert("process.name", name);
    e
}

const NEW_NETWORK: &str = r#"
title: User logged in from a network new for them
id: anomaly-new-network
level: high
tags: [attack.initial_access]
logsource: {product: linux, service: sshd}
detection:
  selection: {event.action: ssh_login}
  condition: selection
anomaly:
  kind: first_seen
  group-by: user.name
  field: source.ip
  transform: net24
  learning: 2d
"#;

const RARE_PROCESS: &str = r#"
title: Rare process on a host
id: anomaly-rare-process
detection:
  selection: {event.action: process_start}
  condition: selection
anomaly:
  kind: rare
  group-by: [host.name]
  field: process.name
  learning: 1d
  threshold: 0.05
  min-total: 20
  suppress: 1h
"#;

fn run(anomalies: &mut Anomalies, events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    anomalies.observe_batch(events, Timestamp::from_secs(T0 + 100 * DAY), &mut out);
    out
}

/// Three days of logins for zhangsan from 10.1.2.x and lisi from 10.9.9.x.
fn usual_logins() -> Vec<Event> {
    let mut events = Vec::new();
    for d in 0..3 {
        for h in 0..8 {
            let t = T0 + d * DAY + h * 3600;
            events.push(login(t, "zhangsan", &format!("10.1.2.{}", h + 1)));
            events.push(login(t + 60, "lisi", "10.9.9.9"));
        }
    }
    events
}

#[test]
fn a_good_document_loads_with_its_defaults() {
    let text = format!(
        "{NEW_NETWORK}---\n{RARE_PROCESS}---\ntitle: a plain rule\ndetection:\n  s: {{a: b}}\n  condition: s\n"
    );
    let (set, report) = compile(&text);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!((report.total, report.compiled), (2, 2));
    let d = &set.detectors()[0];
    assert_eq!(d.id, "anomaly-new-network");
    assert_eq!(d.kind, AnomalyKind::FirstSeen);
    assert_eq!(d.group_by, vec!["user.name"]);
    assert_eq!(d.learning_secs, 2 * DAY);
    assert_eq!((d.max_groups, d.max_entries), (1_000, 100));
    assert_eq!(d.tags, vec!["attack.initial_access", "gbt20986.AB"]);
    let r = &set.detectors()[1];
    assert_eq!(r.level, onewall_model::Severity::Medium);
    assert_eq!(r.kind, AnomalyKind::Rare);
    assert_eq!(
        set.matching(&login(T0, "a", "10.0.0.1")),
        vec!["anomaly-new-network"]
    );
}

#[test]
fn each_broken_document_is_reported_and_skipped() {
    let broken = [
        (
            "no id",
            NEW_NETWORK.replace("id: anomaly-new-network\n", ""),
            "id",
        ),
        (
            "kind",
            NEW_NETWORK.replace("kind: first_seen", "kind: novelty"),
            "novelty",
        ),
        (
            "key",
            NEW_NETWORK.replace("learning: 2d", "learning: 2d\n  histroy: 3d"),
            "histroy",
        ),
        (
            "timespan",
            NEW_NETWORK.replace("learning: 2d", "learning: soon"),
            "learning",
        ),
        ("transform", NEW_NETWORK.replace("net24", "net8"), "net8"),
        (
            "field",
            NEW_NETWORK.replace("  field: source.ip\n", ""),
            "field",
        ),
        (
            "selection",
            NEW_NETWORK.replace("condition: selection", "condition: nothing"),
            "nothing",
        ),
        (
            "no detection",
            RARE_PROCESS.replace(
                "detection:\n  selection: {event.action: process_start}\n  condition: selection\n",
                "",
            ),
            "detection",
        ),
        ("threshold", RARE_PROCESS.replace("0.05", "5"), "threshold"),
        (
            "max-groups",
            RARE_PROCESS.replace("suppress: 1h", "max-groups: -3"),
            "max-groups",
        ),
    ];
    for (what, doc, culprit) in broken {
        let text = format!("{doc}---\n{RARE_PROCESS}").replace(
            "id: anomaly-rare-process",
            if what == "threshold" || what == "max-groups" || what == "no detection" {
                "id: anomaly-rare-process-2"
            } else {
                "id: anomaly-rare-process"
            },
        );
        let (set, report) = compile(&text);
        assert_eq!(report.errors.len(), 1, "{what}: {:?}", report.errors);
        let e = &report.errors[0];
        assert_eq!(e.path, "detectors.yml", "{what}");
        assert!(e.reason.contains(culprit), "{what}: {}", e.reason);
        assert_eq!((report.total, report.compiled), (2, 1), "{what}");
        assert_eq!(set.len(), 1, "{what}");
    }
    let (_, report) = compile(&format!("{NEW_NETWORK}---\n{NEW_NETWORK}"));
    assert!(report.errors[0].reason.contains("duplicate detector id"));
    assert_eq!(
        report.errors[0].rule_id.as_deref(),
        Some("anomaly-new-network")
    );
}

#[test]
fn a_new_network_alerts_after_learning_with_the_group_and_a_stable_id() {
    let set = set(NEW_NETWORK);
    let mut events = usual_logins();
    events.push(login(T0 + 3 * DAY + 7200, "zhangsan", "10.1.2.200"));
    events.push(login(T0 + 3 * DAY + 7260, "zhangsan", "203.0.113.7"));
    let mut a = Anomalies::new(Arc::clone(&set), config());
    let alerts = run(&mut a, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.rule.id, "anomaly-new-network");
    assert_eq!(alert.severity, onewall_model::Severity::High);
    assert!(alert.rule.tags.contains(&"gbt20986.AB".to_owned()));
    assert_eq!(alert.event_ids, vec![events[events.len() - 1].id]);
    assert_eq!(alert.time, Timestamp::from_secs(T0 + 3 * DAY + 7260));
    assert_eq!(alert.matched[0].value, "zhangsan");
    let an = alert.anomaly.as_ref().expect("anomaly");
    assert_eq!(an.kind, AnomalyKind::FirstSeen);
    assert_eq!(an.observed, "203.0.113.0/24");
    assert_eq!(an.group[0].field, "user.name");
    assert!(!an.explanation.is_empty() && !an.explanation_zh.is_empty());
    assert!(an.score > 0.0 && an.score <= 100.0);
    // Replaying the same stream into a fresh state gives the same alert id.
    let mut again = Anomalies::new(set, config());
    let replay = run(&mut again, &events);
    assert_eq!(replay[0].id, alert.id);
    let status = again.status();
    assert!(!status[0].learning);
    assert_eq!(status[0].groups, 2);
    assert_eq!(status[0].alerts, 1);
    assert_eq!(status[0].observed, events.len() as u64);
}

#[test]
fn a_flood_of_new_groups_stays_under_max_groups() {
    let text = NEW_NETWORK.replace("learning: 2d", "learning: 2d\n  max-groups: 64");
    let mut a = Anomalies::new(set(&text), config());
    let events: Vec<Event> = (0..5_000)
        .map(|i| login(T0 + i, &format!("user{i}"), "10.0.0.1"))
        .collect();
    for chunk in events.chunks(500) {
        run(&mut a, chunk);
        assert!(a.status()[0].groups <= 64);
    }
    let s = &a.status()[0];
    assert!(s.groups >= 60, "{}", s.groups);
    assert_eq!(s.counters.groups_evicted, 5_000 - s.groups as u64);
    assert!(s.state_bytes < 64 * 1_024, "{}", s.state_bytes);
    // The most recent groups are the ones kept: the latest user is still known.
    let last = login(T0 + 5 * DAY, "user4999", "192.0.2.9");
    let alerts = run(&mut a, &[last]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn a_restored_detector_alerts_without_relearning() {
    let sources = format!("{NEW_NETWORK}---\n{RARE_PROCESS}");
    let mut a = Anomalies::new(set(&sources), config());
    assert!(run(&mut a, &usual_logins()).is_empty());
    let bytes = a.snapshot();
    // A restart: a new set compiled from the same text, and a new state.
    let mut b = Anomalies::new(set(&sources), config());
    assert_eq!(b.restore(&bytes).expect("restore"), 2);
    let bytes_free = |mut s: onewall_anomaly::DetectorStatus| {
        s.state_bytes = 0;
        s
    };
    assert_eq!(
        bytes_free(b.status()[0].clone()),
        bytes_free(a.status()[0].clone())
    );
    let alerts = run(&mut b, &[login(T0 + 3 * DAY + 10, "lisi", "198.51.100.4")]);
    assert_eq!(alerts.len(), 1);
    // Without the snapshot the same event is the detector's first: it only starts learning.
    let mut fresh = Anomalies::new(set(&sources), config());
    assert!(
        run(
            &mut fresh,
            &[login(T0 + 3 * DAY + 10, "lisi", "198.51.100.4")]
        )
        .is_empty()
    );
    // A snapshot of a changed detector is not restored; bad bytes are an error.
    let mut changed = Anomalies::new(set(&NEW_NETWORK.replace("2d", "3d")), config());
    assert_eq!(changed.restore(&bytes).expect("restore"), 0);
    assert!(changed.restore(b"{not json").is_err());
    assert!(
        changed
            .restore(br#"{"version": 9, "detectors": []}"#)
            .is_err()
    );
}

#[test]
fn a_reload_keeps_unchanged_detectors_and_drops_changed_ones() {
    let mut a = Anomalies::new(set(&format!("{NEW_NETWORK}---\n{RARE_PROCESS}")), config());
    run(&mut a, &usual_logins());
    let procs: Vec<Event> = (0..30)
        .map(|i| process(T0 + i * 60, "db01", "postgres"))
        .collect();
    run(&mut a, &procs);
    let changed = RARE_PROCESS.replace("threshold: 0.05", "threshold: 0.02");
    let outcome = a.replace_set(set(&format!("{NEW_NETWORK}---\n{changed}")));
    assert_eq!(
        (outcome.kept, outcome.added, outcome.dropped_groups),
        (1, 1, 1)
    );
    let status = a.status();
    assert_eq!(status[0].groups, 2);
    assert_eq!(status[1].groups, 0);
    assert!(status[1].learning);
    // The kept detector still knows its users.
    let alerts = run(&mut a, &[login(T0 + 3 * DAY + 10, "lisi", "198.51.100.4")]);
    assert_eq!(alerts.len(), 1);
    // Removing a detector drops its groups.
    let outcome = a.replace_set(set(RARE_PROCESS));
    assert_eq!(
        (outcome.kept, outcome.added, outcome.dropped_groups),
        (0, 1, 2)
    );
    assert_eq!(a.status().len(), 1);
}

#[test]
fn a_group_that_fired_stays_quiet_for_the_same_reason_within_suppress() {
    let mut a = Anomalies::new(set(RARE_PROCESS), config());
    let mut events: Vec<Event> = (0..(2 * 24 * 6))
        .map(|i| {
            process(
                T0 + i * 600,
                "web01",
                if i % 2 == 0 { "nginx" } else { "php-fpm" },
            )
        })
        .collect();
    let t = T0 + 2 * DAY;
    events.push(process(t, "web01", "nc"));
    events.push(process(t + 600, "web01", "nc"));
    events.push(process(t + 1200, "web01", "socat"));
    events.push(process(t + 3 * 3600, "web01", "nc"));
    let alerts = run(&mut a, &events);
    let seen: Vec<(i64, &str)> = alerts
        .iter()
        .map(|a| {
            let an = a.anomaly.as_ref().expect("anomaly");
            (
                a.time.secs() - t,
                an.observed.split(':').next().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(seen, vec![(0, "nc"), (1200, "socat"), (3 * 3600, "nc")]);
    assert_eq!(a.status()[0].counters.findings, 4);
}
