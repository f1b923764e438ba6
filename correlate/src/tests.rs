use onewall_model::{AlertId, Entity, EventId, RegionCode, RuleRef, Severity};

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn alert(rule: &str, host: &str, at: i64, sev: Severity) -> Alert {
    Alert {
        id: AlertId::new(t(at)),
        time: t(at),
        created: t(at),
        rule: RuleRef {
            id: rule.into(),
            title: format!("rule {rule}"),
            level: sev,
            status: None,
            tags: vec![],
        },
        severity: sev,
        event_ids: vec![EventId::new(t(at))],
        entities: vec![Entity::new(EntityKind::Host, host)],
        region: RegionCode::HENAN,
        matched: vec![],
    }
}

fn opened(c: &Change) -> &Incident {
    match c {
        Change::Opened(i) => i,
        other => panic!("expected Opened, got {other:?}"),
    }
}

#[test]
fn same_rule_and_host_within_window_is_one_incident() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let batch = [
        alert("r1", "web01", 0, Severity::Medium),
        alert("r1", "web01", 60, Severity::High),
    ];
    let changes = c.process(&batch, t(61));
    assert_eq!(changes.len(), 1);
    let inc = opened(&changes[0]);
    assert_eq!(inc.alert_ids.len(), 2);
    assert_eq!(
        inc.severity,
        Severity::High,
        "severity rises with its alerts"
    );
    assert_eq!(inc.title, "rule r1 on web01");
    assert_eq!((inc.first_seen, inc.last_seen), (t(0), t(60)));

    // A later batch joins it while within 30 minutes of the last alert.
    let changes = c.process(&[alert("r1", "web01", 60 + 1800, Severity::Low)], t(1900));
    match &changes[..] {
        [Change::Extended { id, alerts, .. }] => {
            assert_eq!(*id, inc.id);
            assert_eq!(alerts.len(), 1);
        }
        other => panic!("expected one Extended, got {other:?}"),
    }
}

#[test]
fn window_edge_and_other_keys_open_new_incidents() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let first = opened(&c.process(&[alert("r1", "web01", 0, Severity::Low)], t(0))[0]).id;
    // One second past the window: new incident.
    let late = c.process(&[alert("r1", "web01", 1801, Severity::Low)], t(1801));
    assert_ne!(opened(&late[0]).id, first);
    // Another host, another rule: their own incidents.
    let other = c.process(
        &[
            alert("r1", "db01", 1802, Severity::Low),
            alert("r2", "web01", 1802, Severity::Low),
        ],
        t(1802),
    );
    assert_eq!(other.len(), 2);
    assert!(other.iter().all(|c| matches!(c, Change::Opened(_))));
}

#[test]
fn resume_and_forget() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let inc = opened(&c.process(&[alert("r1", "web01", 0, Severity::Low)], t(0))[0]).clone();

    let mut after_restart = Correlator::new(DEFAULT_WINDOW_SECS);
    after_restart.resume([inc.clone()], t(5));
    let changes = after_restart.process(&[alert("r1", "web01", 10, Severity::Low)], t(10));
    assert!(matches!(&changes[0], Change::Extended { id, .. } if *id == inc.id));

    after_restart.forget(&inc.group_key);
    let changes = after_restart.process(&[alert("r1", "web01", 20, Severity::Low)], t(20));
    assert_ne!(opened(&changes[0]).id, inc.id);

    let mut closed = inc.clone();
    closed.status = IncidentStatus::Closed;
    let mut c3 = Correlator::new(DEFAULT_WINDOW_SECS);
    c3.resume([closed], t(5));
    assert!(c3.is_empty(), "closed incidents are not resumed");
}

#[test]
fn apply_alerts_is_idempotent() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let a = alert("r1", "web01", 0, Severity::Low);
    let mut inc = opened(&c.process(std::slice::from_ref(&a), t(0))[0]).clone();
    let n = inc.timeline.len();
    apply_alerts(&mut inc, &[a], t(5));
    assert_eq!(inc.alert_ids.len(), 1);
    assert_eq!(inc.timeline.len(), n);
}

#[test]
fn idle_groups_are_dropped_by_the_callers_clock() {
    let mut c = Correlator::new(60);
    c.process(&[alert("r1", "web01", 0, Severity::Low)], t(0));
    assert_eq!(c.len(), 1);
    c.process(&[], t(100));
    assert_eq!(c.len(), 1, "touched within twice the window");
    c.process(&[], t(1000));
    assert!(c.is_empty());
}

#[test]
fn a_sender_with_a_skewed_clock_still_groups() {
    // Events eight hours in the past (a device in another zone), arriving now.
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let now = t(8 * 3600);
    let first = opened(&c.process(&[alert("r1", "fw", 0, Severity::Low)], now)[0]).id;
    // A current event from elsewhere does not evict the skewed group.
    c.process(&[alert("r2", "web", 8 * 3600, Severity::Low)], now);
    let later = c.process(&[alert("r1", "fw", 60, Severity::Low)], now.add_secs(60));
    assert!(
        matches!(&later[0], Change::Extended { id, .. } if *id == first),
        "{later:?}"
    );
}

#[test]
fn resume_skips_incidents_idle_too_long() {
    let mut c = Correlator::new(60);
    let inc = opened(&c.process(&[alert("r1", "web01", 0, Severity::Low)], t(0))[0]).clone();
    let mut fresh = Correlator::new(60);
    fresh.resume([inc], t(1000));
    assert!(fresh.is_empty());
}
