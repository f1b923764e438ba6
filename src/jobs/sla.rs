//! The SLA check: every `[sla] check_secs`, each new incident past its acknowledgement
//! deadline ([`SlaPolicy`]) gets a breach on its timeline and raises one alert (rule
//! `onewall-sla-breach`), stored and published on the node event bus like any alert, so the
//! playbooks (a rule on `onewall-sla-breach` escalates it) and the federation uplink get it.
//! During a 重保 period covering an incident's region the deadline is divided by the
//! period's SLA factor ([`Factor`], from the node's supervision).

use std::sync::Arc;

use onewall_api::sla::{SLA_RULE_ID, SlaPolicy};
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, Incident, IncidentStatus, RegionCode, TimelineKind, Timestamp};
use onewall_store::{IncidentQuery, Store, StoreError};
use tokio::sync::watch;

#[cfg(test)]
mod tests;

fn breached(i: &Incident) -> bool {
    i.timeline
        .iter()
        .any(|e| matches!(e.change, TimelineKind::SlaBreached { .. }))
}

/// What SLA deadlines of a region are divided by at a time (1 outside 重保 periods).
pub type Factor = Arc<dyn Fn(RegionCode, Timestamp) -> f64 + Send + Sync>;

/// The factor of a node without supervision: 1 everywhere.
pub fn no_factor() -> Factor {
    Arc::new(|_, _| 1.0)
}

/// The seconds an incident has to be acknowledged: its policy minutes divided by `factor`
/// (clamped to at least 1, so a bad factor never lengthens the clock).
pub fn deadline_secs(minutes: i64, factor: f64) -> i64 {
    let factor = if factor.is_finite() {
        factor.max(1.0)
    } else {
        1.0
    };
    ((minutes * 60) as f64 / factor).round() as i64
}

/// Check every new incident once at `now`; mark and alert the ones past their SLA, whose
/// deadlines are divided by `factor` of their region at `now`. Returns the alerts raised.
pub async fn check(
    store: &Arc<dyn Store>,
    policy: &SlaPolicy,
    factor: &Factor,
    now: Timestamp,
) -> Result<Vec<Alert>, StoreError> {
    let mut due = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search_incidents(IncidentQuery {
                status: Some(IncidentStatus::New),
                limit: onewall_store::MAX_LIMIT,
                cursor,
                ..IncidentQuery::default()
            })
            .await?;
        for i in page.items {
            let secs = deadline_secs(policy.minutes_for(&i), factor(i.region, now));
            let deadline = i.created.add_secs(secs);
            // Minutes as the alert states them (a divided clock may leave a fraction).
            let minutes = (secs + 59) / 60;
            if now > deadline && !breached(&i) {
                due.push((i.id, deadline, minutes));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut raised = Vec::new();
    for (id, deadline, minutes) in due {
        let marked = store
            .update_incident(
                id,
                Box::new(move |i: &mut Incident| {
                    if i.status != IncidentStatus::New || breached(i) {
                        return Err(StoreError::Conflict("no longer due".into()));
                    }
                    i.timeline.push(onewall_model::TimelineEntry {
                        at: now,
                        actor: "system".into(),
                        change: TimelineKind::SlaBreached {
                            due: deadline,
                            minutes,
                        },
                    });
                    i.updated = now;
                    Ok(())
                }),
            )
            .await;
        let incident = match marked {
            Ok(i) => i,
            Err(StoreError::Conflict(_)) | Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let alert = breach_alert(&incident, deadline, minutes, now)?;
        store.write_alerts(vec![alert.clone()]).await?;
        raised.push(alert);
    }
    Ok(raised)
}

/// The alert a breach raises. Built through serde so fields other crates add to `Alert`
/// (with defaults) need no change here.
fn breach_alert(
    i: &Incident,
    deadline: Timestamp,
    minutes: i64,
    now: Timestamp,
) -> Result<Alert, StoreError> {
    let v = serde_json::json!({
        // One deadline of one incident raises one alert, however often the check runs.
        "id": onewall_model::AlertId::for_sla_breach(i.id, deadline),
        "time": now,
        "created": now,
        "rule": {
            "id": SLA_RULE_ID,
            "title": format!("事件未在时限内确认：{} ({minutes} min SLA)", i.title),
            "level": "high",
            "tags": ["onewall.sla"],
        },
        "severity": i.severity.max(onewall_model::Severity::High),
        "event_ids": [],
        "entities": i.entities,
        "region": i.region,
        "matched": [
            {"field": "incident.id", "value": i.id.to_string()},
            {"field": "sla.due", "value": deadline.to_rfc3339()},
        ],
    });
    serde_json::from_value(v)
        .map_err(|e| StoreError::InvalidQuery(format!("building the SLA alert: {e}")))
}

/// Check the timers every `policy.check_every` until shutdown; the alerts raised are
/// published on `bus` (origin [`AlertOrigin::SlaBreach`]).
pub async fn run(
    store: Arc<dyn Store>,
    policy: SlaPolicy,
    factor: Factor,
    bus: NodeEvents,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match check(&store, &policy, &factor, Timestamp::now()).await {
            Ok(raised) if !raised.is_empty() => {
                tracing::warn!(incidents = raised.len(), "SLA breached: alerts raised");
                bus.publish(NodeEvent::AlertsStored {
                    alerts: raised,
                    origin: AlertOrigin::SlaBreach,
                })
                .await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "SLA check failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(policy.check_every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
