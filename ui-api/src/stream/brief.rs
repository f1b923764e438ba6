//! What a live stream message carries: an alert whole, or an incident change without the
//! lists that grow with the incident.

use onewall_model::RegionCode;
use serde::Serialize;

/// A message's data as sent: the alert as `GET /api/v1/alerts/{id}` answers it, or the
/// incident change.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum Data<'a> {
    Alert(&'a onewall_model::Alert),
    Incident {
        change: &'static str,
        actor: &'a str,
        incident: Box<IncidentBrief<'a>>,
    },
}

/// Entities an incident change carries at most; `entity_count` says how many it has.
const BRIEF_ENTITIES: usize = 16;

/// An incident as a change of it is sent: its fields without the lists that grow with it
/// (alert ids, the timeline, past the first entities), which would otherwise go to every
/// client again on each change of a big incident, with their counts and the change just
/// made. `GET /api/v1/incidents/{id}` answers the whole incident.
#[derive(Debug, Serialize)]
pub(super) struct IncidentBrief<'a> {
    id: onewall_model::IncidentId,
    title: &'a str,
    status: onewall_model::IncidentStatus,
    severity: onewall_model::Severity,
    grade: onewall_model::Grade,
    region: RegionCode,
    regions: &'a [RegionCode],
    assignee: Option<&'a str>,
    team: Option<&'a str>,
    entities: &'a [onewall_model::Entity],
    entity_count: usize,
    alert_count: usize,
    rule_ids: &'a [String],
    first_seen: onewall_model::Timestamp,
    last_seen: onewall_model::Timestamp,
    created: onewall_model::Timestamp,
    updated: onewall_model::Timestamp,
    parent: Option<onewall_model::IncidentId>,
    children: &'a [onewall_model::IncidentId],
    classification: &'a onewall_model::Classification,
    last_change: Option<&'a onewall_model::TimelineEntry>,
}

impl<'a> IncidentBrief<'a> {
    pub(super) fn of(i: &'a onewall_model::Incident) -> Self {
        IncidentBrief {
            id: i.id,
            title: &i.title,
            status: i.status,
            severity: i.severity,
            grade: i.grade(),
            region: i.region,
            regions: &i.regions,
            assignee: i.assignee.as_deref(),
            team: i.team.as_deref(),
            entities: &i.entities[..i.entities.len().min(BRIEF_ENTITIES)],
            entity_count: i.entities.len(),
            alert_count: i.alert_ids.len(),
            rule_ids: &i.rule_ids,
            first_seen: i.first_seen,
            last_seen: i.last_seen,
            created: i.created,
            updated: i.updated,
            parent: i.parent,
            children: &i.children,
            classification: &i.classification,
            last_change: i.timeline.last(),
        }
    }
}
