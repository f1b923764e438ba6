//! Correlation: alerts become incidents an analyst can work.
//!
//! This first correlator groups by rule and host: an alert joins the open incident of the same
//! rule on the same host when its event time is within the window (30 minutes by default) of
//! that incident's last alert; otherwise it opens a new incident. Sigma correlation rules,
//! multi-entity grouping and cross-level merging come later behind the same shape:
//! [`Correlator::process`] takes alerts and returns [`Change`]s for the caller to apply to
//! storage, and [`Correlator::forget`] drops a group whose incident an analyst has closed.
//!
//! The correlator is pure state: no clock (times come from the alerts), no I/O. The caller
//! applies changes with [`apply_alerts`] inside a store's atomic update, so an analyst's edit
//! made meanwhile is never overwritten.

use std::collections::HashMap;

use onewall_model::{
    Alert, EntityKind, Incident, IncidentId, IncidentStatus, TimelineEntry, TimelineKind, Timestamp,
};

/// The actor name the correlator writes into incident timelines.
pub const ACTOR: &str = "correlator";

/// Default grouping window: 30 minutes.
pub const DEFAULT_WINDOW_SECS: i64 = 30 * 60;

/// What the caller must do to storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new incident: insert it.
    Opened(Box<Incident>),
    /// Alerts joined an existing incident: apply them with [`apply_alerts`].
    Extended {
        id: IncidentId,
        group_key: String,
        alerts: Vec<Alert>,
    },
}

#[derive(Debug, Clone)]
struct Group {
    id: IncidentId,
    /// Event time of the group's latest alert: the window is measured on this.
    last_seen: Timestamp,
    /// When the group last took an alert, by the caller's clock: idle groups are dropped on
    /// this, so senders with skewed clocks neither keep groups alive nor have them dropped.
    touched: Timestamp,
}

/// Groups alerts into incidents by rule and host within a time window.
#[derive(Debug)]
pub struct Correlator {
    window_secs: i64,
    groups: HashMap<String, Group>,
}

/// The grouping key of an alert: its rule id and the host (or, lacking one, the source
/// address) it is about.
pub fn group_key(alert: &Alert) -> String {
    let subject = alert
        .entity(EntityKind::Host)
        .or_else(|| alert.entity(EntityKind::SourceIp))
        .unwrap_or("-");
    format!("{}|{}", alert.rule.id, subject)
}

impl Correlator {
    pub fn new(window_secs: i64) -> Self {
        Correlator {
            window_secs: window_secs.max(1),
            groups: HashMap::new(),
        }
    }

    pub fn window_secs(&self) -> i64 {
        self.window_secs
    }

    /// Resume from incidents that were open when the node stopped, so alerts after a restart
    /// join them instead of opening duplicates. Incidents not updated within twice the window
    /// before `now` are left alone, as they would have been dropped had the node kept running.
    pub fn resume(&mut self, open: impl IntoIterator<Item = Incident>, now: Timestamp) {
        let horizon = self.horizon(now);
        for inc in open {
            if !inc.status.is_open() || inc.updated < horizon {
                continue;
            }
            let newer = self
                .groups
                .get(&inc.group_key)
                .is_none_or(|g| g.last_seen < inc.last_seen);
            if newer {
                let group = Group {
                    id: inc.id,
                    last_seen: inc.last_seen,
                    touched: inc.updated,
                };
                self.groups.insert(inc.group_key, group);
            }
        }
    }

    fn horizon(&self, now: Timestamp) -> Timestamp {
        now.add_secs(-2 * self.window_secs)
    }

    /// Forget a group, e.g. because its incident was resolved: the next alert opens a new one.
    pub fn forget(&mut self, group_key: &str) {
        self.groups.remove(group_key);
    }

    /// Number of groups held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Assign each alert to an incident. Alerts are taken in event-time order. `now` stamps new
    /// incidents' `created` and drops groups idle for more than the window.
    pub fn process(&mut self, alerts: &[Alert], now: Timestamp) -> Vec<Change> {
        let mut order: Vec<&Alert> = alerts.iter().collect();
        order.sort_by_key(|a| (a.time, a.id));
        let mut changes: Vec<Change> = Vec::new();
        // Index into `changes` per key, so one batch yields one change per incident.
        let mut pending: HashMap<String, usize> = HashMap::new();
        for alert in order {
            let key = group_key(alert);
            let joins = self.groups.get(&key).filter(|g| {
                (alert.time.nanos() - g.last_seen.nanos()).abs()
                    <= self.window_secs * Timestamp::NANOS_PER_SEC
            });
            match joins {
                Some(g) => {
                    let id = g.id;
                    let slot = pending.get(&key).copied();
                    match slot.and_then(|i| changes.get_mut(i)) {
                        Some(Change::Opened(inc)) if inc.id == id => {
                            apply_alerts(inc, std::slice::from_ref(alert), now)
                        }
                        Some(Change::Extended {
                            id: cid, alerts, ..
                        }) if *cid == id => alerts.push(alert.clone()),
                        _ => {
                            pending.insert(key.clone(), changes.len());
                            changes.push(Change::Extended {
                                id,
                                group_key: key.clone(),
                                alerts: vec![alert.clone()],
                            });
                        }
                    }
                    if let Some(g) = self.groups.get_mut(&key) {
                        g.last_seen = g.last_seen.max(alert.time);
                        g.touched = now;
                    }
                }
                None => {
                    let inc = open_incident(alert, &key, now);
                    self.groups.insert(
                        key.clone(),
                        Group {
                            id: inc.id,
                            last_seen: alert.time,
                            touched: now,
                        },
                    );
                    pending.insert(key, changes.len());
                    changes.push(Change::Opened(Box::new(inc)));
                }
            }
        }
        let horizon = self.horizon(now);
        self.groups.retain(|_, g| g.touched >= horizon);
        changes
    }
}

fn open_incident(alert: &Alert, key: &str, now: Timestamp) -> Incident {
    let subject = key.split_once('|').map(|(_, s)| s).unwrap_or("-");
    let mut inc = Incident {
        id: IncidentId::new(now),
        title: format!("{} on {}", alert.rule.title, subject),
        status: IncidentStatus::New,
        severity: alert.severity,
        group_key: key.to_owned(),
        region: alert.region,
        regions: Vec::new(),
        assignee: None,
        team: None,
        entities: Vec::new(),
        alert_ids: Vec::new(),
        rule_ids: Vec::new(),
        first_seen: alert.time,
        last_seen: alert.time,
        created: now,
        updated: now,
        parent: None,
        children: Vec::new(),
        timeline: vec![TimelineEntry {
            at: now,
            actor: ACTOR.to_owned(),
            change: TimelineKind::Created,
        }],
    };
    apply_alerts(&mut inc, std::slice::from_ref(alert), now);
    inc
}

/// Add alerts to an incident: evidence, entities, regions, rule ids, time span and severity
/// (which only rises), each alert recorded in the timeline. Alerts already in it are skipped.
pub fn apply_alerts(inc: &mut Incident, alerts: &[Alert], now: Timestamp) {
    for a in alerts {
        if inc.alert_ids.contains(&a.id) {
            continue;
        }
        inc.alert_ids.push(a.id);
        for e in &a.entities {
            if !inc.entities.contains(e) {
                inc.entities.push(e.clone());
            }
        }
        if !inc.regions.contains(&a.region) {
            inc.regions.push(a.region);
        }
        if !inc.rule_ids.contains(&a.rule.id) {
            inc.rule_ids.push(a.rule.id.clone());
        }
        inc.first_seen = inc.first_seen.min(a.time);
        inc.last_seen = inc.last_seen.max(a.time);
        if a.severity > inc.severity {
            inc.timeline.push(TimelineEntry {
                at: now,
                actor: ACTOR.to_owned(),
                change: TimelineKind::SeverityChanged {
                    from: inc.severity,
                    to: a.severity,
                },
            });
            inc.severity = a.severity;
        }
        inc.timeline.push(TimelineEntry {
            at: now,
            actor: ACTOR.to_owned(),
            change: TimelineKind::AlertAdded { alert_id: a.id },
        });
        inc.updated = now;
    }
}

#[cfg(test)]
mod tests;
pub mod sigma;
