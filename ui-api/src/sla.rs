//! SLA timers: an incident must be acknowledged within a time set by its grade (and sooner
//! when it touches critical information infrastructure). A breach is written on the
//! incident's timeline and raises its own alert (rule `onewall-sla-breach`), once.
//!
//! Defaults follow the CAC reporting clocks: 30 minutes for grade Ⅰ–Ⅱ, 1 hour for incidents
//! on critical information infrastructure (关键信息基础设施), 4 hours for Ⅲ and 24 hours for Ⅳ.

use std::sync::Arc;
use std::time::Duration;

use onewall_model::{Alert, Incident, IncidentStatus, TimelineKind, Timestamp};
use onewall_store::{IncidentQuery, Store, StoreError};
use tokio::sync::watch;

use crate::workflow::grade_of;

/// The rule id of SLA-breach alerts.
pub const SLA_RULE_ID: &str = "onewall-sla-breach";

/// The SLA settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Minutes to acknowledge an incident of grade Ⅰ, Ⅱ, Ⅲ, Ⅳ.
    pub grade_minutes: [i64; 4],
    /// Minutes to acknowledge an incident on critical information infrastructure.
    pub cii_minutes: i64,
    /// Hosts, addresses or other entity values that are critical information infrastructure.
    pub cii_assets: Vec<String>,
    /// How often the timers are checked.
    pub check_every: Duration,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            grade_minutes: [30, 30, 240, 1440],
            cii_minutes: 60,
            cii_assets: Vec::new(),
            check_every: Duration::from_secs(30),
        }
    }
}

impl SlaPolicy {
    /// Minutes incident `i` has to be acknowledged.
    pub fn minutes_for(&self, i: &Incident) -> i64 {
        let by_grade = self.grade_minutes[usize::from(grade_of(i) - 1)];
        if i.entities
            .iter()
            .any(|e| self.cii_assets.contains(&e.value))
        {
            by_grade.min(self.cii_minutes)
        } else {
            by_grade
        }
    }
}

fn breached(i: &Incident) -> bool {
    i.timeline
        .iter()
        .any(|e| matches!(e.change, TimelineKind::SlaBreached { .. }))
}

/// Check every new incident once at `now`; mark and alert the ones past their SLA. Returns
/// the alerts raised.
pub async fn check(
    store: &Arc<dyn Store>,
    policy: &SlaPolicy,
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
            let minutes = policy.minutes_for(&i);
            let deadline = i.created.add_secs(minutes * 60);
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

/// Check the timers every `policy.check_every` until shutdown; the alerts raised go to
/// `tell` (the node hands them to its playbooks, as any stored alert).
pub async fn run(
    store: Arc<dyn Store>,
    policy: SlaPolicy,
    tell: Arc<dyn Fn(Vec<Alert>) + Send + Sync>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match check(&store, &policy, Timestamp::now()).await {
            Ok(raised) if !raised.is_empty() => {
                tracing::warn!(incidents = raised.len(), "SLA breached: alerts raised");
                tell(raised);
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
