//! Conformance checks for a replay: the same alerts written again (a spool replay re-runs
//! detection, and alert ids are derived from their cause) are stored once.

use std::collections::BTreeMap;

use onewall_model::{Alert, AlertId, EventId, Severity};

use super::{alert, all_alerts, day0, region};
use crate::{AlertQuery, Store};

/// A rule alert for `event`, with the id detection derives for it.
fn derived(event: EventId, rule: &str, day: i64) -> Alert {
    let time = day0().add_secs(day * 86_400 + 600);
    let mut a = alert(time, rule, Severity::Medium, region(410100));
    a.id = AlertId::for_rule_match(event, rule);
    a.event_ids = vec![event];
    a
}

/// Alerts written again in later batches, mixed with new ones, spread over days (and repeated
/// inside one batch), are each stored once, as first written; the counts agree.
pub async fn replayed_alerts_are_stored_once(store: &dyn Store) {
    let e: Vec<EventId> = (0..4)
        .map(|k| EventId::new(day0().add_secs(k * 86_400 + 599)))
        .collect();
    let first = vec![
        derived(e[0], "ssh-brute", 0),
        derived(e[0], "ssh-root", 0),
        derived(e[1], "ssh-brute", 1),
        derived(e[2], "ssh-brute", 2),
    ];
    store
        .write_alerts(first.clone())
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    // The replay: the same causes make the same ids, raised later by a restarted node.
    let mut replay: Vec<Alert> = first
        .iter()
        .map(|a| {
            let mut again = a.clone();
            again.created = a.created.add_secs(3_600);
            again.rule.title = "raised again".to_owned();
            again
        })
        .collect();
    let new = derived(e[3], "ssh-brute", 3);
    replay.insert(1, new.clone());
    replay.push(replay[0].clone());
    store
        .write_alerts(replay)
        .await
        .unwrap_or_else(|e| panic!("write_alerts (replay): {e}"));
    let stored = all_alerts(store, AlertQuery::default()).await;
    let by_id: BTreeMap<AlertId, &Alert> = stored.iter().map(|a| (a.id, a)).collect();
    assert_eq!(by_id.len(), stored.len(), "an alert id listed twice");
    assert_eq!(stored.len(), 5, "4 alerts, 1 new in the replay");
    for a in first.iter().chain([&new]) {
        assert_eq!(by_id.get(&a.id), Some(&a), "stored as first written");
    }
    let stats = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!(stats.alerts, 5, "stats count each alert once");
}
