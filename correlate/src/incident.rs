//! Changes to one incident: alerts joining it (its entities, regions, timeline, severity and
//! grade follow), merges, and the checks a stored incident makes before taking alerts.

use onewall_model::asset::AlertTarget;
use onewall_model::{
    Alert, Incident, IncidentId, IncidentStatus, RegionCode, RegionTree, TimelineEntry,
    TimelineKind, Timestamp,
};

use crate::grouping::GroupingConfig;

/// The actor name the correlator writes into incident timelines.
pub const ACTOR: &str = "correlator";

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

/// Add alerts to an incident: evidence, entities, regions, rule ids, time span, registered
/// targets, category and tactics, severity (which only rises: with the alerts, with the
/// tactics seen, and one step above an alert's own when its target has an open CVE the alert
/// names, noted as `TargetVulnerable`) and grade, each change recorded in the timeline.
/// Alerts already in it are skipped.
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
        let floor = crate::grading::classify(inc, a, &config.tactic_steps);
        let mut to = floor.map_or(a.severity, |f| f.max(a.severity));
        let mut notes = Vec::new();
        if let Some(t) = &a.target {
            add_target(inc, t);
            if !t.open_cves.is_empty() {
                // The attack hit what it exploits: one step above the alert's own severity.
                to = to.max(crate::grading::raise_one(a.severity));
                notes = vulnerable_notes(inc, t);
            }
        }
        if to > inc.severity || !notes.is_empty() {
            // The alerts that raised it come before the change on the timeline, and why
            // before the change itself.
            note_added(inc, &std::mem::take(&mut added), now);
            for change in notes {
                inc.timeline.push(TimelineEntry {
                    at: now,
                    actor: ACTOR.to_owned(),
                    change,
                });
            }
            raise_severity(inc, to, now);
        }
        inc.updated = now;
    }
    note_added(inc, &added, now);
    if changed {
        grade(inc, config, now);
    }
}

/// How many registered targets an incident lists at most (one per system and looked-up
/// value); a wide scan touching hundreds of hosts keeps the first ones.
pub const MAX_TARGETS: usize = 32;

/// Add a target to the incident's list, or update the one for the same system and value:
/// the registry's facts from the newer alert, the open CVEs of both.
fn add_target(inc: &mut Incident, t: &AlertTarget) {
    match inc
        .targets
        .iter_mut()
        .find(|h| h.system_id == t.system_id && h.value == t.value)
    {
        Some(held) => {
            let mut cves = std::mem::take(&mut held.open_cves);
            for c in &t.open_cves {
                if !cves.contains(c) {
                    cves.push(c.clone());
                }
            }
            *held = AlertTarget {
                open_cves: cves,
                ..t.clone()
            };
        }
        None => {
            if inc.targets.len() < MAX_TARGETS {
                inc.targets.push(t.clone());
            }
        }
    }
}

/// The `TargetVulnerable` entries an alert against `t` adds: one per open CVE the incident's
/// timeline does not already name for that target.
fn vulnerable_notes(inc: &Incident, t: &AlertTarget) -> Vec<TimelineKind> {
    let name = t.host.clone().unwrap_or_else(|| t.value.clone());
    t.open_cves
        .iter()
        .filter(|cve| {
            !inc.timeline.iter().any(|e| {
                matches!(&e.change, TimelineKind::TargetVulnerable { target, cve: c, .. }
                    if *target == name && c == *cve)
            })
        })
        .map(|cve| TimelineKind::TargetVulnerable {
            target: name.clone(),
            system: t.system.clone(),
            cve: cve.clone(),
        })
        .collect()
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
/// targets, tactics, the higher severity; the timeline records it.
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
    for t in &from.targets {
        add_target(into, t);
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
