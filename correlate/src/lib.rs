//! Correlation: alerts become incidents an analyst can work.
//!
//! Two engines, both pure state (no clock of their own, no I/O):
//!
//! - [`sigma::SigmaCorrelator`] runs Sigma correlation rules over the alert stream and raises
//!   correlation alerts, which join the stream like any other alert.
//! - [`Correlator`] groups alerts into incidents by the entities they share (source address,
//!   destination address, host, user, file hash, domain, process), each kind within its own
//!   window on event time; incidents that become linked through a new alert merge; a resolved
//!   incident reopens when its entities recur within the reopen time; the ATT&CK tactics seen
//!   raise an incident's severity; [`grading`] classifies and grades it.
//!
//! [`Correlator::updates`] takes alerts and returns [`Update`]s for the caller to apply to
//! storage: new incidents to insert, alerts to add with [`extend_incident`] inside the store's
//! atomic update (so an analyst's edit made meanwhile is never overwritten), and merges to
//! carry out with [`merge_incident`] and [`mark_merged`].

pub mod config;
pub mod grading;
pub mod sigma;

use std::collections::HashMap;

use onewall_model::{
    Alert, Entity, EntityKind, Incident, IncidentId, IncidentStatus, RegionCode, RegionTree,
    TimelineEntry, TimelineKind, Timestamp,
};

pub use grading::{GradingPolicy, Importance, TacticSteps};

/// The actor name the correlator writes into incident timelines.
pub const ACTOR: &str = "correlator";

/// Default grouping window: 30 minutes.
pub const DEFAULT_WINDOW_SECS: i64 = 30 * 60;

/// Default reopen time: a resolved incident reopens when its entities recur within a day.
pub const DEFAULT_REOPEN_SECS: i64 = 24 * 3600;

/// How alerts are grouped into incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupingConfig {
    /// Window per entity kind, in seconds: an alert joins an incident that saw the same entity
    /// within this much event time. A kind absent or at 0 does not group.
    pub windows: HashMap<EntityKind, i64>,
    /// A resolved incident reopens when one of its entities recurs within this many seconds of
    /// its resolution; 0 never reopens.
    pub reopen_secs: i64,
    /// Severity floors by number of ATT&CK tactics seen.
    pub tactic_steps: TacticSteps,
    /// How incidents are graded.
    pub grading: GradingPolicy,
    /// The region tree: an incident whose alerts come from several regions belongs to their
    /// nearest common region.
    pub regions: std::sync::Arc<RegionTree>,
}

/// Every entity kind.
pub const ENTITY_KINDS: [EntityKind; 7] = [
    EntityKind::SourceIp,
    EntityKind::DestinationIp,
    EntityKind::Host,
    EntityKind::User,
    EntityKind::Hash,
    EntityKind::Domain,
    EntityKind::Process,
];

impl GroupingConfig {
    /// The same window for every entity kind.
    pub fn uniform(window_secs: i64) -> Self {
        GroupingConfig {
            windows: ENTITY_KINDS.iter().map(|k| (*k, window_secs)).collect(),
            reopen_secs: DEFAULT_REOPEN_SECS,
            tactic_steps: TacticSteps::default(),
            grading: GradingPolicy::default(),
            regions: std::sync::Arc::new(RegionTree::builtin()),
        }
    }

    fn window(&self, kind: EntityKind) -> i64 {
        self.windows.get(&kind).copied().unwrap_or(0)
    }

    fn max_window(&self) -> i64 {
        self.windows.values().copied().max().unwrap_or(0).max(1)
    }
}

impl Default for GroupingConfig {
    fn default() -> Self {
        Self::uniform(DEFAULT_WINDOW_SECS)
    }
}

/// The first correlator's changes, kept while the node moves to [`Update`]: merges are
/// dropped and stale links join open incidents.
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

/// The link key of an entity: a process is only the same process on the same host.
fn link_keys<'a>(
    alert: &'a Alert,
    config: &'a GroupingConfig,
) -> impl Iterator<Item = Entity> + 'a {
    let host = alert.entity(EntityKind::Host);
    alert
        .entities
        .iter()
        .filter(|e| config.window(e.kind) > 0 && !e.value.is_empty())
        .map(move |e| match (e.kind, host) {
            (EntityKind::Process, Some(h)) => Entity::new(e.kind, format!("{h}/{}", e.value)),
            _ => e.clone(),
        })
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
                let newer = self
                    .links
                    .get(e)
                    .is_none_or(|l| l.last_seen < inc.last_seen);
                if newer {
                    let link = Link {
                        incident: inc.id,
                        last_seen: inc.last_seen,
                        touched: inc.updated,
                    };
                    self.links.insert(e.clone(), link);
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

    /// As [`Correlator::updates`], in the first correlator's shape ([`Change`]).
    pub fn process(&mut self, alerts: &[Alert], now: Timestamp) -> Vec<Change> {
        self.updates(alerts, now)
            .into_iter()
            .filter_map(|u| match u {
                Update::Opened(inc) => Some(Change::Opened(inc)),
                Update::Extended {
                    id,
                    group_key,
                    alerts,
                    ..
                } => Some(Change::Extended {
                    id,
                    group_key,
                    alerts,
                }),
                Update::Merged { .. } => None,
            })
            .collect()
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
    let subject = keys
        .first()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "-".to_owned());
    let mut inc = Incident {
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
    };
    apply_alerts_with(&mut inc, std::slice::from_ref(alert), config, now);
    inc
}

/// The region an incident belongs to: the nearest region holding all of `regions` (the
/// regions of its alerts), folded in their order; `None` for no regions. The correlator sets
/// an incident's region with it, and so does linking or unlinking an alert by hand.
pub fn incident_region(tree: &RegionTree, regions: &[RegionCode]) -> Option<RegionCode> {
    let (first, rest) = regions.split_first()?;
    Some(
        rest.iter()
            .fold(*first, |acc, r| tree.common_ancestor(acc, *r)),
    )
}

/// Add alerts to an incident with the default grouping config (see [`apply_alerts_with`]).
pub fn apply_alerts(inc: &mut Incident, alerts: &[Alert], now: Timestamp) {
    apply_alerts_with(inc, alerts, &GroupingConfig::default(), now);
}

/// Add alerts to an incident: evidence, entities, regions, rule ids, time span, category and
/// tactics, severity (which only rises: with the alerts, and with the tactics seen) and grade,
/// each change recorded in the timeline. Alerts already in it are skipped.
pub fn apply_alerts_with(
    inc: &mut Incident,
    alerts: &[Alert],
    config: &GroupingConfig,
    now: Timestamp,
) {
    let mut held = Held::of(inc, alerts.iter().map(|a| a.id));
    let mut added = Vec::new();
    let mut changed = false;
    for a in alerts {
        if !held.insert(a.id) {
            continue;
        }
        changed = true;
        inc.alert_ids.push(a.id);
        added.push(a.id);
        for e in &a.entities {
            if !inc.entities.contains(e) {
                inc.entities.push(e.clone());
            }
        }
        if !inc.regions.contains(&a.region) {
            inc.regions.push(a.region);
            inc.region = incident_region(&config.regions, &inc.regions).unwrap_or(a.region);
        }
        if !inc.rule_ids.contains(&a.rule.id) {
            inc.rule_ids.push(a.rule.id.clone());
        }
        inc.first_seen = inc.first_seen.min(a.time);
        inc.last_seen = inc.last_seen.max(a.time);
        let floor = grading::classify(inc, a, &config.tactic_steps);
        let to = floor.map_or(a.severity, |f| f.max(a.severity));
        if to > inc.severity {
            // The alerts that raised it come before the change on the timeline.
            note_added(inc, &std::mem::take(&mut added), now);
            raise_severity(inc, to, now);
        }
        inc.updated = now;
    }
    note_added(inc, &added, now);
    if changed {
        grade(inc, config, now);
    }
}

/// How many alert ids an `AlertsAdded` timeline entry lists.
pub const TIMELINE_SAMPLE: usize = 5;

/// Record alerts the correlator added: folded into the timeline's last entry when that is
/// the correlator's own `AlertsAdded`, else a new entry.
fn note_added(inc: &mut Incident, added: &[onewall_model::AlertId], now: Timestamp) {
    if added.is_empty() {
        return;
    }
    if let Some(TimelineEntry {
        actor,
        change:
            TimelineKind::AlertsAdded {
                count,
                until,
                sample,
            },
        ..
    }) = inc.timeline.last_mut()
        && actor == ACTOR
    {
        *count += added.len() as u64;
        *until = (*until).max(now);
        let room = TIMELINE_SAMPLE.saturating_sub(sample.len());
        sample.extend(added.iter().take(room));
        return;
    }
    inc.timeline.push(TimelineEntry {
        at: now,
        actor: ACTOR.to_owned(),
        change: TimelineKind::AlertsAdded {
            count: added.len() as u64,
            until: now,
            sample: added.iter().take(TIMELINE_SAMPLE).copied().collect(),
        },
    });
}

/// Which of a batch of alerts an incident already holds. Built with one pass over the held
/// ids against a set of the incoming ones (a handful per update, where a set of the held ones
/// would mean hashing every alert of a day-long attack on each update).
struct Held {
    /// Incoming ids the incident held before this update.
    present: IdSet,
    /// Ids added by this update.
    added: IdSet,
}

type IdSet = onewall_model::hash::FxSet<onewall_model::AlertId>;

impl Held {
    fn of(inc: &Incident, incoming: impl Iterator<Item = onewall_model::AlertId>) -> Held {
        let wanted: IdSet = incoming.collect();
        let mut present = IdSet::default();
        if !wanted.is_empty() {
            for id in &inc.alert_ids {
                if wanted.contains(id) {
                    present.insert(*id);
                }
            }
        }
        Held {
            present,
            added: IdSet::default(),
        }
    }

    fn contains(&self, id: onewall_model::AlertId) -> bool {
        self.present.contains(&id) || self.added.contains(&id)
    }

    /// Whether `id` is new to the incident (the caller then pushes it to `alert_ids`).
    fn insert(&mut self, id: onewall_model::AlertId) -> bool {
        !self.present.contains(&id) && self.added.insert(id)
    }
}

fn raise_severity(inc: &mut Incident, to: onewall_model::Severity, now: Timestamp) {
    if to > inc.severity {
        inc.timeline.push(TimelineEntry {
            at: now,
            actor: ACTOR.to_owned(),
            change: TimelineKind::SeverityChanged {
                from: inc.severity,
                to,
            },
        });
        inc.severity = to;
    }
}

/// Recompute the grade; a change is recorded in the timeline.
pub fn grade(inc: &mut Incident, config: &GroupingConfig, now: Timestamp) {
    let to = config.grading.grade(inc);
    let from = inc.classification.grade;
    if from != Some(to) {
        inc.classification.grade = Some(to);
        inc.timeline.push(TimelineEntry {
            at: now,
            actor: ACTOR.to_owned(),
            change: TimelineKind::GradeChanged { from, to },
        });
    }
}

/// Why an incident refused alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incident {id} is {status} and does not take new alerts")]
pub struct Refused {
    pub id: IncidentId,
    pub status: IncidentStatus,
}

/// When the incident was last resolved, from its timeline.
fn resolved_at(inc: &Incident) -> Option<Timestamp> {
    inc.timeline.iter().rev().find_map(|e| match e.change {
        TimelineKind::StatusChanged {
            to: IncidentStatus::Resolved,
            ..
        } => Some(e.at),
        _ => None,
    })
}

/// Add alerts to a stored incident, inside the store's atomic update. An open incident takes
/// them when `fresh`; a resolved one reopens (to `investigating`) when `now` is within the
/// reopen time of its resolution; otherwise the incident refuses them and the caller should
/// [`Correlator::forget`] it and correlate the alerts again (they open a new incident).
pub fn extend_incident(
    inc: &mut Incident,
    alerts: &[Alert],
    fresh: bool,
    config: &GroupingConfig,
    now: Timestamp,
) -> Result<(), Refused> {
    // Alerts it already holds (delivered again by a spool replay) change nothing: they do not
    // count again, reopen it, or count as stale.
    let held = Held::of(inc, alerts.iter().map(|a| a.id));
    if alerts.iter().all(|a| held.contains(a.id)) {
        return Ok(());
    }
    let refused = Refused {
        id: inc.id,
        status: inc.status,
    };
    if inc.status.is_open() {
        if !fresh {
            return Err(refused);
        }
    } else if inc.status == IncidentStatus::Resolved && config.reopen_secs > 0 {
        let within = resolved_at(inc).is_some_and(|at| {
            now.nanos().saturating_sub(at.nanos())
                <= config.reopen_secs.saturating_mul(Timestamp::NANOS_PER_SEC)
        });
        if !within {
            return Err(refused);
        }
        inc.set_status(IncidentStatus::Investigating, ACTOR, now)
            .map_err(|_| refused)?;
    } else {
        return Err(refused);
    }
    apply_alerts_with(inc, alerts, config, now);
    Ok(())
}

/// Fold `from`'s evidence into `into` (a merge): alerts, entities, regions, rules, time span,
/// tactics, the higher severity; the timeline records it.
pub fn merge_incident(into: &mut Incident, from: &Incident, regions: &RegionTree, now: Timestamp) {
    let mut held = Held::of(into, from.alert_ids.iter().copied());
    for a in &from.alert_ids {
        if held.insert(*a) {
            into.alert_ids.push(*a);
        }
    }
    for e in &from.entities {
        if !into.entities.contains(e) {
            into.entities.push(e.clone());
        }
    }
    for r in &from.regions {
        if !into.regions.contains(r) {
            into.regions.push(*r);
        }
    }
    into.region = incident_region(regions, &into.regions)
        .unwrap_or_else(|| regions.common_ancestor(into.region, from.region));
    for r in &from.rule_ids {
        if !into.rule_ids.contains(r) {
            into.rule_ids.push(r.clone());
        }
    }
    for t in &from.classification.tactics {
        if !into.classification.tactics.contains(t) {
            into.classification.tactics.push(t.clone());
        }
    }
    if into.classification.category.is_none() {
        into.classification.category = from.classification.category.clone();
        into.classification.subcategory = from.classification.subcategory.clone();
    }
    into.first_seen = into.first_seen.min(from.first_seen);
    into.last_seen = into.last_seen.max(from.last_seen);
    into.timeline.push(TimelineEntry {
        at: now,
        actor: ACTOR.to_owned(),
        change: TimelineKind::Merged {
            from: Some(from.id),
            into: None,
        },
    });
    raise_severity(into, from.severity, now);
    into.updated = now;
}

/// Close an incident that was merged into another, recording where it went. An incident
/// already closed (or a false positive) only gets the timeline entry.
pub fn mark_merged(from: &mut Incident, into: IncidentId, now: Timestamp) {
    from.timeline.push(TimelineEntry {
        at: now,
        actor: ACTOR.to_owned(),
        change: TimelineKind::Merged {
            from: None,
            into: Some(into),
        },
    });
    if from.status.can_become(IncidentStatus::Closed) {
        let _ = from.set_status(IncidentStatus::Closed, ACTOR, now);
    }
    from.updated = now;
}

#[cfg(test)]
mod tests;
