//! Grouping state: which incident each entity links to, and the batch of changes one call
//! makes (incidents opened, extended, merged).

use std::collections::HashMap;

use onewall_model::id::DrillId;
use onewall_model::{
    Alert, Entity, EntityKind, Incident, IncidentId, IncidentStatus, TimelineEntry, TimelineKind,
    Timestamp,
};

use crate::grouping::GroupingConfig;
use crate::incident::{ACTOR, apply_alerts_with, grade, merge_incident};

/// What the caller must do to storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A new incident: insert it.
    Opened(Box<Incident>),
    /// Alerts joined an existing incident: apply them with [`extend_incident`]. `fresh` is
    /// false when the shared entity was last seen longer ago than its window: then only a
    /// resolved incident that may reopen takes them.
    Extended {
        id: IncidentId,
        group_key: String,
        alerts: Vec<Alert>,
        fresh: bool,
    },
    /// An alert linked two stored incidents: fold `from` into `into` ([`merge_incident`]) and
    /// close `from` ([`mark_merged`]).
    Merged { into: IncidentId, from: IncidentId },
}

#[derive(Debug, Clone, Copy)]
struct Link {
    incident: IncidentId,
    /// Event time the entity was last seen with the incident.
    last_seen: Timestamp,
    /// Node time of that: idle links are dropped on it.
    touched: Timestamp,
}

/// Groups alerts into incidents by shared entities.
#[derive(Debug)]
pub struct Correlator {
    config: GroupingConfig,
    links: HashMap<Entity, Link>,
    /// Incident → its group key, for [`Correlator::forget`].
    keys: HashMap<IncidentId, String>,
    last_prune: Timestamp,
}

/// The link key of an entity: a process is only the same process on the same host, and an
/// entity seen in a drill (演练) is another entity than the same one seen for real (or in
/// another drill), so a drill's alerts never join a real incident nor a real alert a drill's.
fn link_keys<'a>(
    alert: &'a Alert,
    config: &'a GroupingConfig,
) -> impl Iterator<Item = Entity> + 'a {
    let host = alert.entity(EntityKind::Host);
    let drill = alert.drill.as_ref().map(|m| m.drill);
    alert
        .entities
        .iter()
        .filter(|e| config.window(e.kind) > 0 && !e.value.is_empty())
        .map(move |e| {
            let e = match (e.kind, host) {
                (EntityKind::Process, Some(h)) => Entity::new(e.kind, format!("{h}/{}", e.value)),
                _ => e.clone(),
            };
            in_drill(e, drill)
        })
}

/// `e` as a link key of `drill`'s alerts (itself outside drills). The suffix holds a
/// character no entity value from the parsers carries, so it cannot collide with a real one.
fn in_drill(e: Entity, drill: Option<DrillId>) -> Entity {
    match drill {
        None => e,
        Some(d) => Entity::new(e.kind, format!("{}\u{1f}drill:{d}", e.value)),
    }
}

impl Correlator {
    /// A correlator with the same window for every entity kind.
    pub fn new(window_secs: i64) -> Self {
        Self::with_config(GroupingConfig::uniform(window_secs.max(1)))
    }

    pub fn with_config(config: GroupingConfig) -> Self {
        Correlator {
            config,
            links: HashMap::new(),
            keys: HashMap::new(),
            last_prune: Timestamp(i64::MIN),
        }
    }

    pub fn config(&self) -> &GroupingConfig {
        &self.config
    }

    /// The longest entity window, in seconds.
    pub fn window_secs(&self) -> i64 {
        self.config.max_window()
    }

    /// Links are kept this long (node time) after they were last touched.
    fn keep_nanos(&self) -> i64 {
        (2 * self.config.max_window())
            .max(self.config.reopen_secs)
            .saturating_mul(Timestamp::NANOS_PER_SEC)
    }

    /// Resume from incidents held when the node stopped (open ones, and resolved ones that may
    /// still reopen), so alerts after a restart join them instead of opening duplicates.
    pub fn resume(&mut self, incidents: impl IntoIterator<Item = Incident>, now: Timestamp) {
        let horizon = Timestamp(now.nanos().saturating_sub(self.keep_nanos()));
        for inc in incidents {
            let keep = inc.status.is_open() || inc.status == IncidentStatus::Resolved;
            if !keep || inc.updated < horizon {
                continue;
            }
            for e in &inc.entities {
                if self.config.window(e.kind) == 0 {
                    continue;
                }
                let key = in_drill(e.clone(), inc.drill);
                let newer = self
                    .links
                    .get(&key)
                    .is_none_or(|l| l.last_seen < inc.last_seen);
                if newer {
                    let link = Link {
                        incident: inc.id,
                        last_seen: inc.last_seen,
                        touched: inc.updated,
                    };
                    self.links.insert(key, link);
                }
            }
            self.keys.insert(inc.id, inc.group_key.clone());
        }
    }

    /// Forget the incident with this group key (an analyst closed it, or it refused alerts):
    /// the next alerts about its entities open a new one.
    pub fn forget(&mut self, group_key: &str) {
        let ids: Vec<IncidentId> = self
            .keys
            .iter()
            .filter(|(_, k)| k.as_str() == group_key)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.keys.remove(&id);
            self.links.retain(|_, l| l.incident != id);
        }
    }

    /// Entity links held.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Assign each alert to an incident. Alerts are taken in event-time order. `now` stamps
    /// new incidents and drops links idle (by `now`) for longer than twice the longest window
    /// and the reopen time.
    pub fn updates(&mut self, alerts: &[Alert], now: Timestamp) -> Vec<Update> {
        let mut order: Vec<&Alert> = alerts.iter().collect();
        order.sort_by_key(|a| (a.time, a.id));
        let mut batch = Batch::default();
        for alert in order {
            self.assign(alert, now, &mut batch);
        }
        if now.nanos().saturating_sub(self.last_prune.nanos()) >= Timestamp::NANOS_PER_SEC {
            let horizon = Timestamp(now.nanos().saturating_sub(self.keep_nanos()));
            self.links.retain(|_, l| l.touched >= horizon);
            let live: std::collections::HashSet<IncidentId> =
                self.links.values().map(|l| l.incident).collect();
            self.keys.retain(|id, _| live.contains(id));
            self.last_prune = now;
        }
        batch.finish()
    }

    fn assign(&mut self, alert: &Alert, now: Timestamp, batch: &mut Batch) {
        let keys: Vec<Entity> = link_keys(alert, &self.config).collect();
        // Incidents the alert links to, and whether through a fresh link.
        let mut found: Vec<(IncidentId, bool)> = Vec::new();
        for k in &keys {
            if let Some(l) = self.links.get(k) {
                let window = self.config.window(k.kind) * Timestamp::NANOS_PER_SEC;
                // An incident offered a stale alert in this batch stays stale for the batch:
                // the links that offer advanced are only good if the caller accepts it.
                let fresh = (alert.time.nanos() - l.last_seen.nanos()).abs() <= window
                    && !batch.stale.contains(&l.incident);
                match found.iter_mut().find(|(id, _)| *id == l.incident) {
                    Some(f) => f.1 |= fresh,
                    None => found.push((l.incident, fresh)),
                }
            }
        }
        // Fresh links win; stale ones only matter when nothing is fresh (a possible reopen).
        let any_fresh = found.iter().any(|(_, f)| *f);
        if any_fresh {
            found.retain(|(_, f)| *f);
        } else {
            // A stale link is only offered to a stored incident (which may have been resolved
            // and may reopen); an incident opened in this batch is open and refuses it.
            found.retain(|(id, _)| !batch.is_new(*id));
            found.truncate(1);
        }
        found.sort_by_key(|(id, _)| *id);
        let target = match found.first() {
            None => {
                let inc = open_incident(alert, &keys, &self.config, now);
                let id = inc.id;
                self.keys.insert(id, inc.group_key.clone());
                batch.open(inc);
                id
            }
            Some(&(into, fresh)) => {
                if !fresh {
                    batch.stale.insert(into);
                }
                let key = self.keys.get(&into).cloned().unwrap_or_default();
                batch.add(into, key, alert, fresh, &self.config, now);
                for &(from, _) in &found[1..] {
                    batch.merge(into, from, &self.config, now);
                    self.keys.remove(&from);
                    for l in self.links.values_mut() {
                        if l.incident == from {
                            l.incident = into;
                        }
                    }
                }
                into
            }
        };
        for k in keys {
            let link = self.links.entry(k).or_insert(Link {
                incident: target,
                last_seen: alert.time,
                touched: now,
            });
            link.incident = target;
            link.last_seen = link.last_seen.max(alert.time);
            link.touched = now;
        }
    }
}

/// One batch's changes, folded so that each incident gets one change.
#[derive(Debug, Default)]
struct Batch {
    changes: Vec<Update>,
    /// Incidents offered stale alerts in this batch.
    stale: std::collections::HashSet<IncidentId>,
}

impl Batch {
    fn is_new(&self, id: IncidentId) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Update::Opened(inc) if inc.id == id))
    }

    fn open(&mut self, inc: Incident) {
        self.changes.push(Update::Opened(Box::new(inc)));
    }

    fn add(
        &mut self,
        id: IncidentId,
        key: String,
        alert: &Alert,
        fresh: bool,
        config: &GroupingConfig,
        now: Timestamp,
    ) {
        for c in &mut self.changes {
            match c {
                Update::Opened(inc) if inc.id == id => {
                    apply_alerts_with(inc, std::slice::from_ref(alert), config, now);
                    return;
                }
                Update::Extended {
                    id: cid,
                    alerts,
                    fresh: f,
                    ..
                } if *cid == id => {
                    alerts.push(alert.clone());
                    *f |= fresh;
                    return;
                }
                _ => {}
            }
        }
        self.changes.push(Update::Extended {
            id,
            group_key: key,
            alerts: vec![alert.clone()],
            fresh,
        });
    }

    /// Fold `from` into `into`: in memory when both are new in this batch, else as a merge
    /// for the caller to carry out after inserting the new incidents.
    fn merge(
        &mut self,
        into: IncidentId,
        from: IncidentId,
        config: &GroupingConfig,
        now: Timestamp,
    ) {
        let pos = |changes: &[Update], id: IncidentId| {
            changes
                .iter()
                .position(|c| matches!(c, Update::Opened(inc) if inc.id == id))
        };
        if let (Some(i), Some(f)) = (pos(&self.changes, into), pos(&self.changes, from)) {
            let Update::Opened(from_inc) = self.changes.remove(f) else {
                return;
            };
            let i = if f < i { i - 1 } else { i };
            if let Some(Update::Opened(inc)) = self.changes.get_mut(i) {
                merge_incident(inc, &from_inc, &config.regions, now);
                grade(inc, config, now);
            }
            return;
        }
        let merge = Update::Merged { into, from };
        if !self.changes.contains(&merge) {
            self.changes.push(merge);
        }
    }

    fn finish(self) -> Vec<Update> {
        // Opened before merges that name them; merges last.
        let (mut merged, mut rest): (Vec<Update>, Vec<Update>) = self
            .changes
            .into_iter()
            .partition(|c| matches!(c, Update::Merged { .. }));
        rest.append(&mut merged);
        rest
    }
}

fn open_incident(
    alert: &Alert,
    keys: &[Entity],
    config: &GroupingConfig,
    now: Timestamp,
) -> Incident {
    let id = IncidentId::new(now);
    // The subject names the entity as it is (without the drill's suffix of its link key).
    let subject = keys
        .first()
        .map(|e| {
            let plain = e.value.split('\u{1f}').next().unwrap_or_default();
            Entity::new(e.kind, plain.to_owned()).to_string()
        })
        .unwrap_or_else(|| "-".to_owned());
    let drill = alert.drill.as_ref().map(|m| m.drill);
    let mut inc = Incident {
        targets: Vec::new(),
        id,
        title: format!(
            "{} on {}",
            alert.rule.title,
            subject.split_once('=').map_or("-", |(_, v)| v)
        ),
        status: IncidentStatus::New,
        severity: alert.severity,
        group_key: format!("{subject}#{id}"),
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
        classification: Default::default(),
        drill,
    };
    apply_alerts_with(&mut inc, std::slice::from_ref(alert), config, now);
    inc
}
