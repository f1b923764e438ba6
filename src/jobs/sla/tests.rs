//! SLA timers over a real embedded store with an injected clock: a breach is marked on the
//! timeline and raises one alert, once; an acknowledged incident never breaches; critical
//! information infrastructure shortens the clock.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::sync::Arc;

use onewall_api::sla::{SLA_RULE_ID, SlaPolicy};
use onewall_model::{
    Entity, EntityKind, Grade, IncidentStatus, RegionCode, Severity, TimelineKind, Timestamp,
};
use onewall_store::conformance::incident;
use onewall_store::sqlite::SqliteStore;
use onewall_store::{AlertQuery, Store};

use super::{Factor, check, deadline_secs, no_factor};

#[tokio::test]
async fn breaches_raise_one_alert_each() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let t0 = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let zz: RegionCode = "410100".parse().unwrap();
    // created = t0 - 1 h for each (the helper's `first`); grades by severity or classification.
    let mut high = incident(t0, Severity::High, zz); // Ⅱ: 30 min
    high.group_key = "high".into();
    let mut low = incident(t0, Severity::Low, zz); // Ⅳ: 24 h
    low.group_key = "low".into();
    low.id = onewall_model::IncidentId::new(t0.add_secs(-3599));
    let mut cii = incident(t0, Severity::Low, zz); // Ⅳ but on CII: 60 min
    cii.group_key = "cii".into();
    cii.id = onewall_model::IncidentId::new(t0.add_secs(-3598));
    cii.entities = vec![Entity::new(EntityKind::Host, "scada-01")];
    let mut graded = incident(t0, Severity::Low, zz); // classification Ⅰ: 30 min
    graded.group_key = "graded".into();
    graded.id = onewall_model::IncidentId::new(t0.add_secs(-3597));
    graded.classification.grade = Some(Grade::I);
    let mut acked = incident(t0, Severity::Critical, zz);
    acked.group_key = "acked".into();
    acked.id = onewall_model::IncidentId::new(t0.add_secs(-3596));
    acked
        .set_status(IncidentStatus::Acknowledged, "li", t0.add_secs(-3500))
        .unwrap();
    store
        .upsert_incidents(vec![
            high.clone(),
            low.clone(),
            cii.clone(),
            graded.clone(),
            acked.clone(),
        ])
        .await
        .unwrap();
    let policy = SlaPolicy {
        cii_assets: vec!["scada-01".into()],
        ..SlaPolicy::default()
    };

    // 20 minutes after creation: nothing is due.
    let early = check(&store, &policy, &no_factor(), t0.add_secs(-3600 + 20 * 60))
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");
    // 45 minutes: grade Ⅱ and the classification's Ⅰ are late; CII (60) and Ⅳ are not.
    let at45 = check(&store, &policy, &no_factor(), t0.add_secs(-3600 + 45 * 60))
        .await
        .unwrap();
    let mut late: Vec<_> = at45.iter().map(|a| a.matched[0].value.clone()).collect();
    late.sort();
    let mut want = vec![high.id.to_string(), graded.id.to_string()];
    want.sort();
    assert_eq!(late, want);
    assert!(
        at45.iter()
            .all(|a| a.rule.id == SLA_RULE_ID && a.region == zz)
    );
    // Again at 61 minutes: only CII is newly late; the others are not raised twice.
    let at61 = check(&store, &policy, &no_factor(), t0.add_secs(-3600 + 61 * 60))
        .await
        .unwrap();
    assert_eq!(at61.len(), 1);
    assert_eq!(at61[0].matched[0].value, cii.id.to_string());
    let stored = store
        .search_alerts(AlertQuery {
            rule_id: Some(SLA_RULE_ID.into()),
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 3);
    let h = store.get_incident(high.id).await.unwrap().unwrap();
    let marks: Vec<_> = h
        .timeline
        .iter()
        .filter(|e| matches!(e.change, TimelineKind::SlaBreached { minutes: 30, .. }))
        .collect();
    assert_eq!(marks.len(), 1);
    let a = store.get_incident(acked.id).await.unwrap().unwrap();
    assert!(
        !a.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::SlaBreached { .. }))
    );
}

/// During a 重保 period the clock of an incident in a covered region is divided by the
/// period's factor; an incident elsewhere keeps its clock.
#[tokio::test]
async fn a_period_factor_shortens_the_clock_of_its_regions_only() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let t0 = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let zz: RegionCode = "410100".parse().unwrap();
    let kf: RegionCode = "410200".parse().unwrap();
    // Both grade Ⅱ (30 min), created at t0 - 1 h.
    let mut in_period = incident(t0, Severity::High, zz);
    in_period.group_key = "zz".into();
    let mut outside = incident(t0, Severity::High, kf);
    outside.group_key = "kf".into();
    outside.id = onewall_model::IncidentId::new(t0.add_secs(-3599));
    store
        .upsert_incidents(vec![in_period.clone(), outside.clone()])
        .await
        .unwrap();
    // A period over Zhengzhou with factor 2, from t0 - 1 h on.
    let start = t0.add_secs(-3600);
    let factor: Factor = Arc::new(move |region: RegionCode, at: Timestamp| {
        if region == zz && at >= start {
            2.0
        } else {
            1.0
        }
    });
    let policy = SlaPolicy::default();
    // 16 minutes in: past the halved 15 minutes in Zhengzhou only.
    let at16 = check(&store, &policy, &factor, t0.add_secs(-3600 + 16 * 60))
        .await
        .unwrap();
    assert_eq!(at16.len(), 1, "{at16:?}");
    assert_eq!(at16[0].region, zz);
    assert_eq!(
        at16[0].matched[1].value,
        t0.add_secs(-3600 + 15 * 60).to_rfc3339()
    );
    let z = store.get_incident(in_period.id).await.unwrap().unwrap();
    assert!(
        z.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::SlaBreached { minutes: 15, .. }))
    );
    // Kaifeng breaches at its full 30 minutes.
    let at29 = check(&store, &policy, &factor, t0.add_secs(-3600 + 29 * 60))
        .await
        .unwrap();
    assert!(at29.is_empty(), "{at29:?}");
    let at31 = check(&store, &policy, &factor, t0.add_secs(-3600 + 31 * 60))
        .await
        .unwrap();
    assert_eq!(at31.len(), 1);
    assert_eq!(at31[0].region, kf);
}

#[test]
fn a_factor_never_lengthens_the_clock() {
    assert_eq!(deadline_secs(30, 2.0), 900);
    assert_eq!(deadline_secs(30, 1.0), 1800);
    assert_eq!(deadline_secs(30, 0.5), 1800);
    assert_eq!(deadline_secs(30, f64::NAN), 1800);
    assert_eq!(deadline_secs(60, 3.0), 1200);
}
