//! Conformance checks for alerts and incidents.

use onewall_model::{
    Alert, Incident, IncidentId, IncidentStatus, RegionCode, Severity, TimelineEntry, TimelineKind,
    Timestamp,
};

use super::{alert, all_alerts, all_incidents, day0, incident, region};
use crate::{AlertQuery, IncidentQuery, Store, StoreError};

fn alert_ids(alerts: &[Alert]) -> Vec<String> {
    alerts.iter().map(|a| a.id.to_string()).collect()
}

fn incident_ids(incidents: &[Incident]) -> Vec<String> {
    incidents.iter().map(|i| i.id.to_string()).collect()
}

/// Alerts come back whole from `get_alert`; a second write of an id is ignored.
pub async fn alerts_write_get_and_ignore_duplicates(store: &dyn Store) {
    let a = alert(
        day0().add_secs(100),
        "ssh-brute",
        Severity::High,
        region(410100),
    );
    let mut again = a.clone();
    again.rule.title = "changed".to_owned();
    store
        .write_alerts(vec![a.clone(), again.clone()])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    store
        .write_alerts(vec![again])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    let got = store
        .get_alert(a.id)
        .await
        .unwrap_or_else(|e| panic!("get_alert: {e}"));
    assert_eq!(got.as_ref(), Some(&a), "round trip, first write wins");
    assert_eq!(
        got.map(|g| g.event_ids),
        Some(a.event_ids.clone()),
        "the alert keeps its events"
    );
    let none = store
        .get_alert(onewall_model::AlertId::new(day0()))
        .await
        .unwrap_or_else(|e| panic!("get_alert: {e}"));
    assert_eq!(none, None);
    let all = all_alerts(store, AlertQuery::default()).await;
    assert_eq!(all.len(), 1, "stored once");
}

/// Alert searches by time, rule, minimum severity and region, newest first, over pages.
pub async fn search_alerts_filters_and_pages(store: &dyn Store) {
    let t = |k: i64| day0().add_secs(60 * k);
    let sev = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    let mut alerts = Vec::new();
    for k in 0..25i64 {
        let rule = if k % 2 == 0 { "even" } else { "odd" };
        let code = if k < 10 { 410100 } else { 410200 };
        // Pairs share a time, so ties are broken by id.
        alerts.push(alert(
            t(k - k % 2),
            rule,
            sev[(k % 5) as usize],
            region(code),
        ));
    }
    store
        .write_alerts(alerts.clone())
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    let newest = |keep: &dyn Fn(&Alert) -> bool| {
        let mut v: Vec<Alert> = alerts.iter().filter(|a| keep(a)).cloned().collect();
        v.sort_by_key(|a| std::cmp::Reverse((a.time, a.id)));
        alert_ids(&v)
    };
    let q = |f: &dyn Fn(&mut AlertQuery)| {
        let mut q = AlertQuery {
            limit: 4,
            ..AlertQuery::default()
        };
        f(&mut q);
        q
    };

    let got = all_alerts(store, q(&|_| {})).await;
    assert_eq!(
        alert_ids(&got),
        newest(&|_| true),
        "everything, in pages of 4"
    );
    let got = all_alerts(
        store,
        q(&|q| {
            q.from = Some(t(4));
            q.to = Some(t(12));
        }),
    )
    .await;
    assert_eq!(
        alert_ids(&got),
        newest(&|a| a.time >= t(4) && a.time < t(12)),
        "time range"
    );
    let got = all_alerts(store, q(&|q| q.rule_id = Some("odd".to_owned()))).await;
    assert_eq!(alert_ids(&got), newest(&|a| a.rule.id == "odd"), "rule");
    let got = all_alerts(store, q(&|q| q.min_severity = Some(Severity::High))).await;
    assert_eq!(
        alert_ids(&got),
        newest(&|a| a.severity >= Severity::High),
        "min severity"
    );
    assert!(got.iter().all(|a| a.severity >= Severity::High));
    let got = all_alerts(store, q(&|q| q.regions = vec![region(410100)])).await;
    assert_eq!(
        alert_ids(&got),
        newest(&|a| a.region == region(410100)),
        "region"
    );
    let got = all_alerts(
        store,
        q(&|q| {
            q.rule_id = Some("even".to_owned());
            q.min_severity = Some(Severity::Medium);
            q.regions = vec![region(410200), region(410100)];
        }),
    )
    .await;
    assert_eq!(
        alert_ids(&got),
        newest(&|a| a.rule.id == "even" && a.severity >= Severity::Medium),
        "conditions together"
    );
    let page = store
        .search_alerts(AlertQuery {
            limit: 25,
            ..AlertQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("search_alerts: {e}"));
    assert_eq!(page.items.len(), 25);
    assert_eq!(
        page.next_cursor, None,
        "an exactly full last page has no cursor"
    );
}

/// Incidents come back whole; an upsert of an existing id replaces it.
pub async fn incidents_upsert_get_and_replace(store: &dyn Store) {
    let mut i = incident(day0().add_secs(500), Severity::High, region(410100));
    i.children = vec![IncidentId::new(day0())];
    i.parent = Some(IncidentId::new(day0()));
    store
        .upsert_incidents(vec![i.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let got = store
        .get_incident(i.id)
        .await
        .unwrap_or_else(|e| panic!("get_incident: {e}"));
    assert_eq!(got.as_ref(), Some(&i), "round trip");

    let mut replaced = i.clone();
    replaced.title = "replaced".to_owned();
    replaced.status = IncidentStatus::Resolved;
    replaced.updated = i.updated.add_secs(60);
    store
        .upsert_incidents(vec![replaced.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let got = store
        .get_incident(i.id)
        .await
        .unwrap_or_else(|e| panic!("get_incident: {e}"));
    assert_eq!(got.as_ref(), Some(&replaced), "replaced whole");
    let open = all_incidents(
        store,
        IncidentQuery {
            open_only: true,
            ..IncidentQuery::default()
        },
    )
    .await;
    assert!(open.is_empty(), "the query columns follow the replacement");
    let none = store
        .get_incident(IncidentId::new(day0()))
        .await
        .unwrap_or_else(|e| panic!("get_incident: {e}"));
    assert_eq!(none, None);
}

/// Incident searches by status, openness, severity, last seen and region, most recently
/// updated first, over pages.
pub async fn search_incidents_filters_and_pages(store: &dyn Store) {
    let statuses = IncidentStatus::ALL;
    let mut incidents = Vec::new();
    for k in 0..24i64 {
        // Pairs share an update time.
        let updated = day0().add_secs(600 * (k - k % 2));
        let sev = if k % 3 == 0 {
            Severity::Critical
        } else {
            Severity::Low
        };
        let code = if k % 4 == 0 { 410200 } else { 410100 };
        let mut i = incident(updated, sev, region(code));
        i.status = statuses[(k % 6) as usize];
        i.last_seen = day0().add_secs(600 * (24 - k));
        incidents.push(i);
    }
    store
        .upsert_incidents(incidents.clone())
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let newest = |keep: &dyn Fn(&Incident) -> bool| {
        let mut v: Vec<Incident> = incidents.iter().filter(|i| keep(i)).cloned().collect();
        v.sort_by_key(|i| std::cmp::Reverse((i.updated, i.id)));
        incident_ids(&v)
    };
    let q = |f: &dyn Fn(&mut IncidentQuery)| {
        let mut q = IncidentQuery {
            limit: 5,
            ..IncidentQuery::default()
        };
        f(&mut q);
        q
    };
    let got = all_incidents(store, q(&|_| {})).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|_| true),
        "everything, in pages of 5"
    );
    let got = all_incidents(store, q(&|q| q.open_only = true)).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|i| i.status.is_open()),
        "open only"
    );
    let got = all_incidents(store, q(&|q| q.status = Some(IncidentStatus::Resolved))).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|i| i.status == IncidentStatus::Resolved),
        "status"
    );
    let got = all_incidents(
        store,
        q(&|q| {
            q.status = Some(IncidentStatus::Resolved);
            q.open_only = true;
        }),
    )
    .await;
    assert!(got.is_empty(), "resolved and open: none");
    let got = all_incidents(store, q(&|q| q.min_severity = Some(Severity::High))).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|i| i.severity >= Severity::High),
        "min severity"
    );
    let since = day0().add_secs(600 * 10);
    let got = all_incidents(store, q(&|q| q.since = Some(since))).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|i| i.last_seen >= since),
        "since"
    );
    let got = all_incidents(store, q(&|q| q.regions = vec![region(410200)])).await;
    assert_eq!(
        incident_ids(&got),
        newest(&|i| i.region == region(410200)),
        "region"
    );
}

/// `update_incident` applies a change atomically, refuses a forbidden status transition
/// (leaving the incident as it was), returns the change's own error, refuses an id change,
/// and reports an absent incident.
pub async fn update_incident_checks_the_change(store: &dyn Store) {
    let i = incident(day0().add_secs(1000), Severity::Medium, RegionCode::HENAN);
    store
        .upsert_incidents(vec![i.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let at = day0().add_secs(2000);

    let acked = store
        .update_incident(
            i.id,
            Box::new(move |inc| {
                inc.set_status(IncidentStatus::Acknowledged, "analyst", at)?;
                inc.assignee = Some("analyst".to_owned());
                Ok(())
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("a valid transition: {e}"));
    assert_eq!(acked.status, IncidentStatus::Acknowledged);
    assert_eq!(acked.updated, at);
    assert_eq!(acked.timeline.len(), i.timeline.len() + 1);
    let stored = store.get_incident(i.id).await.ok().flatten();
    assert_eq!(stored.as_ref(), Some(&acked), "the change is stored");
    let found = all_incidents(
        store,
        IncidentQuery {
            status: Some(IncidentStatus::Acknowledged),
            ..IncidentQuery::default()
        },
    )
    .await;
    assert_eq!(
        incident_ids(&found),
        vec![i.id.to_string()],
        "and searchable"
    );

    let res = store
        .update_incident(
            i.id,
            Box::new(move |inc| {
                inc.title = "must not stick".to_owned();
                inc.set_status(IncidentStatus::New, "analyst", at.add_secs(1))?;
                Ok(())
            }),
        )
        .await;
    assert!(
        matches!(res, Err(StoreError::Conflict(_))),
        "acknowledged → new is refused: {res:?}"
    );
    let stored = store.get_incident(i.id).await.ok().flatten();
    assert_eq!(
        stored.as_ref(),
        Some(&acked),
        "a refused change leaves it untouched"
    );

    let res = store
        .update_incident(
            i.id,
            Box::new(|inc| {
                inc.title = "must not stick either".to_owned();
                Err(StoreError::InvalidQuery(
                    "the caller changed its mind".to_owned(),
                ))
            }),
        )
        .await;
    assert!(
        matches!(&res, Err(StoreError::InvalidQuery(m)) if m == "the caller changed its mind"),
        "the change's own error comes back: {res:?}"
    );
    let res = store
        .update_incident(
            i.id,
            Box::new(|inc| {
                inc.id = IncidentId::new(Timestamp(0));
                Ok(())
            }),
        )
        .await;
    assert!(
        matches!(res, Err(StoreError::Conflict(_))),
        "an id change: {res:?}"
    );
    let stored = store.get_incident(i.id).await.ok().flatten();
    assert_eq!(stored.as_ref(), Some(&acked), "still untouched");

    let missing = IncidentId::new(day0());
    let res = store.update_incident(missing, Box::new(|_| Ok(()))).await;
    assert!(
        matches!(
            res,
            Err(StoreError::NotFound {
                what: "incident",
                ..
            })
        ),
        "absent: {res:?}"
    );
}

/// Concurrent updates of one incident each see the others' writes: none is lost.
pub async fn concurrent_incident_updates_are_atomic(store: &dyn Store) {
    let i = incident(day0().add_secs(3000), Severity::High, RegionCode::HENAN);
    store
        .upsert_incidents(vec![i.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let id = i.id;
    let comment = |worker: usize| async move {
        for n in 0..5 {
            store
                .update_incident(
                    id,
                    Box::new(move |inc| {
                        inc.timeline.push(TimelineEntry {
                            at: day0().add_secs(4000),
                            actor: format!("worker{worker}"),
                            change: TimelineKind::Comment {
                                text: format!("note {n}"),
                            },
                        });
                        Ok(())
                    }),
                )
                .await
                .unwrap_or_else(|e| panic!("update_incident: {e}"));
        }
    };
    tokio::join!(comment(0), comment(1), comment(2), comment(3));
    let stored = store
        .get_incident(i.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("incident {} vanished", i.id));
    assert_eq!(
        stored.timeline.len(),
        i.timeline.len() + 20,
        "every comment kept"
    );
}

/// Alert retention drops old alerts and keeps recent ones.
pub async fn drop_alerts_before_keeps_recent_ones(store: &dyn Store) {
    let old = alert(
        day0().add_secs(-400 * 86_400),
        "old",
        Severity::Low,
        region(410100),
    );
    let recent = alert(day0(), "recent", Severity::Low, region(410100));
    store
        .write_alerts(vec![old.clone(), recent.clone()])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    store
        .drop_alerts_before(day0().add_secs(-35 * 86_400))
        .await
        .unwrap_or_else(|e| panic!("drop_alerts_before: {e}"));
    let left = store
        .get_alert(old.id)
        .await
        .unwrap_or_else(|e| panic!("get_alert: {e}"));
    assert_eq!(left, None, "an alert 400 days old survived retention");
    let kept = store
        .get_alert(recent.id)
        .await
        .unwrap_or_else(|e| panic!("get_alert: {e}"));
    assert_eq!(kept, Some(recent), "a recent alert was dropped");
}

/// An incident's evidence through many updates: ids added in rounds come back in the order
/// they joined, an unlinked id leaves (and may join again, at the end), a whole replacement
/// holds exactly its ids, and lists carry the same evidence as `get_incident`.
pub async fn incident_evidence_grows_shrinks_and_is_replaced(store: &dyn Store) {
    use onewall_model::AlertId;
    let i = incident(day0().add_secs(700), Severity::High, region(410100));
    store
        .upsert_incidents(vec![i.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let mut want = i.alert_ids.clone();
    for round in 0..4u128 {
        let ids: Vec<AlertId> = (0..250u128)
            .map(|n| AlertId::from_u128((round << 32) | (n + 1)))
            .collect();
        want.extend(&ids);
        store
            .update_incident(
                i.id,
                Box::new(move |inc| {
                    inc.alert_ids.extend(ids);
                    Ok(())
                }),
            )
            .await
            .unwrap_or_else(|e| panic!("update_incident: {e}"));
    }
    assert_eq!(
        evidence_of(store, i.id).await.alert_ids,
        want,
        "every id, in order"
    );

    // Unlink one from the middle, then link it again: it comes back at the end.
    let gone = want.remove(100);
    let after = store
        .update_incident(
            i.id,
            Box::new(move |inc| {
                inc.alert_ids.retain(|a| *a != gone);
                Ok(())
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("update_incident: {e}"));
    assert_eq!(after.alert_ids, want);
    assert_eq!(
        evidence_of(store, i.id).await.alert_ids,
        want,
        "the unlinked id is gone"
    );
    want.push(gone);
    store
        .update_incident(
            i.id,
            Box::new(move |inc| {
                inc.alert_ids.push(gone);
                Ok(())
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("update_incident: {e}"));
    assert_eq!(
        evidence_of(store, i.id).await.alert_ids,
        want,
        "linked again, at the end"
    );
    let listed = all_incidents(store, IncidentQuery::default()).await;
    let mine = listed.iter().find(|x| x.id == i.id).expect("listed");
    assert_eq!(mine.alert_ids, want, "lists carry the same evidence");

    // A whole replacement holds exactly its own ids.
    let mut replaced = i.clone();
    replaced.alert_ids = vec![want[3], AlertId::from_u128(7 << 40)];
    replaced.updated = i.updated.add_secs(60);
    store
        .upsert_incidents(vec![replaced.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    assert_eq!(evidence_of(store, i.id).await, replaced, "replaced whole");
}

/// A batch of incident updates: each change runs in order (an id may come twice, the second
/// change seeing the first), a refused change and an absent incident fail alone, and what is
/// stored is each incident's last state.
pub async fn a_batch_of_incident_updates_applies_each_in_order(store: &dyn Store) {
    use crate::IncidentChange;
    use onewall_model::AlertId;
    let a = incident(day0().add_secs(800), Severity::High, region(410100));
    let b = incident(day0().add_secs(801), Severity::Medium, region(410100));
    store
        .upsert_incidents(vec![a.clone(), b.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert_incidents: {e}"));
    let absent = incident(day0().add_secs(802), Severity::Low, region(410100)).id;
    let (x, y) = (AlertId::from_u128(0xa1), AlertId::from_u128(0xa2));
    let changes: Vec<(IncidentId, IncidentChange)> = vec![
        (
            a.id,
            Box::new(move |inc: &mut Incident| {
                inc.alert_ids.push(x);
                Ok(())
            }),
        ),
        (
            b.id,
            Box::new(|inc: &mut Incident| {
                inc.alert_ids.clear();
                Err(StoreError::Conflict("refused".into()))
            }),
        ),
        (absent, Box::new(|_: &mut Incident| Ok(()))),
        (
            a.id,
            Box::new(move |inc: &mut Incident| {
                assert!(
                    inc.alert_ids.contains(&x),
                    "the second change sees the first"
                );
                inc.alert_ids.push(y);
                Ok(())
            }),
        ),
    ];
    let results = store.update_incidents(changes).await;
    assert_eq!(results.len(), 4, "one result per change");
    let first = results[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("first change of a: {e}"));
    assert!(first.alert_ids.contains(&x) && !first.alert_ids.contains(&y));
    assert!(
        matches!(results[1], Err(StoreError::Conflict(_))),
        "{:?}",
        results[1].as_ref().map(|i| i.id)
    );
    assert!(
        matches!(results[2], Err(StoreError::NotFound { .. })),
        "{:?}",
        results[2].as_ref().map(|i| i.id)
    );
    let last = results[3]
        .as_ref()
        .unwrap_or_else(|e| panic!("second change of a: {e}"));
    assert!(last.alert_ids.ends_with(&[x, y]), "{:?}", last.alert_ids);
    assert_eq!(evidence_of(store, a.id).await.alert_ids, last.alert_ids);
    assert_eq!(
        evidence_of(store, b.id).await.alert_ids,
        b.alert_ids,
        "a refused change leaves its incident as it was"
    );
}

async fn evidence_of(store: &dyn Store, id: IncidentId) -> Incident {
    store
        .get_incident(id)
        .await
        .unwrap_or_else(|e| panic!("get_incident: {e}"))
        .unwrap_or_else(|| panic!("incident {id} is gone"))
}
