//! Drill (演练) alerts are never grouped with real ones, nor with another drill's.

use onewall_model::id::DrillId;
use onewall_model::supervise::DrillMark;
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, RegionCode, RuleRef, Severity, Timestamp,
};

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn alert(n: u128, at: i64, host: &str, drill: Option<DrillId>) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: t(at),
        created: t(at),
        rule: RuleRef {
            id: "r".into(),
            title: "rule r".into(),
            level: Severity::High,
            status: None,
            tags: vec![],
        },
        severity: Severity::High,
        event_ids: vec![EventId::from_u128(n)],
        entities: vec![Entity::new(EntityKind::Host, host)],
        region: RegionCode::HENAN,
        matched: vec![],
        drill: drill.map(|drill| DrillMark {
            drill,
            action: Some("brute".into()),
        }),
    }
}

fn opened(changes: &[Update]) -> Vec<&onewall_model::Incident> {
    changes
        .iter()
        .filter_map(|c| match c {
            Update::Opened(i) => Some(&**i),
            _ => None,
        })
        .collect()
}

#[test]
fn a_drill_alert_opens_its_own_incident_beside_a_real_one_on_the_same_host() {
    let d1 = DrillId::from_u128(7);
    let d2 = DrillId::from_u128(8);
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let batch = [
        alert(1, 0, "web01", None),
        alert(2, 10, "web01", Some(d1)),
        alert(3, 20, "web01", Some(d1)),
        alert(4, 30, "web01", Some(d2)),
        alert(5, 40, "web01", None),
    ];
    let changes = c.updates(&batch, t(41));
    let incs = opened(&changes);
    assert_eq!(incs.len(), 3, "real, drill 1, drill 2: {changes:?}");
    let by_drill = |d: Option<DrillId>| {
        incs.iter()
            .find(|i| i.drill == d)
            .unwrap_or_else(|| panic!("no incident of {d:?}"))
    };
    let ids = |i: &onewall_model::Incident| {
        let mut v: Vec<u128> = i.alert_ids.iter().map(|a| a.as_u128()).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(ids(by_drill(None)), vec![1, 5]);
    assert_eq!(ids(by_drill(Some(d1))), vec![2, 3]);
    assert_eq!(ids(by_drill(Some(d2))), vec![4]);
    // The drill's incident names the host as it is.
    assert_eq!(by_drill(Some(d1)).title, "rule r on web01");
    assert!(
        by_drill(Some(d1))
            .entities
            .contains(&Entity::new(EntityKind::Host, "web01"))
    );

    // Later alerts join their own kind's incident, never the other's.
    let real = by_drill(None).id;
    let drill = by_drill(Some(d1)).id;
    let later = c.updates(
        &[alert(6, 60, "web01", Some(d1)), alert(7, 70, "web01", None)],
        t(71),
    );
    let mut joined: Vec<(IncidentIdOf, u128)> = later
        .iter()
        .filter_map(|u| match u {
            Update::Extended { id, alerts, .. } => Some((*id, alerts[0].id.as_u128())),
            _ => None,
        })
        .collect();
    joined.sort_by_key(|(_, a)| *a);
    assert_eq!(joined, vec![(drill, 6), (real, 7)], "{later:?}");
}

type IncidentIdOf = onewall_model::IncidentId;

#[test]
fn a_resumed_drill_incident_keeps_its_drill_apart() {
    let d = DrillId::from_u128(9);
    let mut first = Correlator::new(DEFAULT_WINDOW_SECS);
    let changes = first.updates(&[alert(1, 0, "db01", Some(d))], t(1));
    let inc = opened(&changes)[0].clone();
    assert_eq!(inc.drill, Some(d));

    // After a restart: the drill's incident is resumed; a real alert on the same host opens
    // a real incident, a drill alert joins the drill's.
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    c.resume([inc.clone()], t(2));
    let changes = c.updates(&[alert(2, 5, "db01", None)], t(6));
    let real = opened(&changes);
    assert_eq!(real.len(), 1, "{changes:?}");
    assert_eq!(real[0].drill, None);
    let changes = c.updates(&[alert(3, 8, "db01", Some(d))], t(9));
    assert!(
        matches!(&changes[..], [Update::Extended { id, .. }] if *id == inc.id),
        "{changes:?}"
    );
}
