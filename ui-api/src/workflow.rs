//! The incident workflow: assign, acknowledge, comment, change status, override the grade,
//! link and unlink alerts. Every change lands on the incident's timeline with who and when.
//!
//! An incident (or alert) outside the caller's region subtree answers 404 exactly as one that
//! does not exist.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use onewall_correlate::incident_region;
use onewall_model::bus::{NodeEvent, NodeEventKind, NodeEvents};
use onewall_model::{
    Alert, AlertId, Grade, Incident, IncidentId, IncidentStatus, ModelError, RegionTree, Severity,
    TimelineKind, Timestamp,
};
use onewall_store::StoreError;
use serde::Deserialize;

use crate::ErrorCode;
use crate::access::Caller;
use crate::admin::json_body;
use crate::{ApiError, ApiState, id_param, json_of};

/// The grade of an incident as 1 (Ⅰ, most severe) to 4 (Ⅳ) ([`Incident::grade`]).
pub fn grade_of(i: &Incident) -> u8 {
    5 - i.grade().rank()
}

/// A grade as given ([`Grade::parse`]: `I`–`IV`, `Ⅰ`–`Ⅳ`, `1`–`4`), as the severity it stands
/// for, or a severity name.
pub fn parse_grade(s: &str) -> Result<Severity, ApiError> {
    let t = s.trim();
    match Grade::parse(t) {
        Some(g) => Ok(g.severity()),
        None => t.parse::<Severity>().map_err(|_| {
            ApiError::invalid(format!(
                "grade: {s:?} is not a grade; expected I, II, III, IV (or Ⅰ–Ⅳ, 1–4, or a severity name)"
            ))
        }),
    }
}

/// Alerts of an incident changed through the API that go with its `incident changed` event
/// (so playbook conditions on tags and rules hold as for the pipeline's changes).
const MAX_EVENT_ALERTS: usize = 100;

/// The node event bus of a request, when the binary installed one as a router extension:
/// every workflow change is published on it as `incident changed`, with the caller as actor
/// (the playbooks and the federation uplink hear of it there).
type Bus = Option<Extension<NodeEvents>>;

/// Publish that `caller` changed `incident` (as stored after the change), with its alerts.
async fn publish_change(s: &ApiState, bus: &NodeEvents, incident: Incident, actor: String) {
    if !bus.wants(NodeEventKind::IncidentChanged) {
        return;
    }
    let mut alerts = Vec::new();
    for id in incident.alert_ids.iter().take(MAX_EVENT_ALERTS) {
        match s.store.get_alert(*id).await {
            Ok(Some(a)) => alerts.push(a),
            Ok(None) => {}
            Err(e) => tracing::warn!(alert = %id, error = %e, "reading an incident's alert"),
        }
    }
    bus.publish(NodeEvent::IncidentChanged {
        incident: Box::new(incident),
        alerts,
        actor,
    })
    .await;
}

/// The incident `id` if the caller may see it; else 404.
async fn visible_incident(s: &ApiState, c: &Caller, raw: &str) -> Result<Incident, ApiError> {
    let id: IncidentId = id_param("incident", raw)?;
    match s.store.get_incident(id).await? {
        Some(i)
            if c.sees(&s.regions, i.region) && c.incident_in_department(&*s.store, &i).await? =>
        {
            Ok(i)
        }
        _ => Err(ApiError::not_found(format!("incident {id} not found"))),
    }
}

/// Apply `change` to the incident and answer it.
async fn apply(
    s: &ApiState,
    c: &Caller,
    bus: Bus,
    raw: &str,
    change: impl FnOnce(&mut Incident, &str, Timestamp) -> Result<(), StoreError> + Send + 'static,
) -> Result<Json<serde_json::Value>, ApiError> {
    let incident = visible_incident(s, c, raw).await?;
    let actor = c.name().to_owned();
    let by = actor.clone();
    let updated = s
        .store
        .update_incident(
            incident.id,
            Box::new(move |i: &mut Incident| {
                let now = Timestamp::now();
                change(i, &actor, now)?;
                i.updated = now;
                Ok(())
            }),
        )
        .await?;
    let answer = json_of(&updated);
    if let Some(Extension(bus)) = bus {
        publish_change(s, &bus, updated, by).await;
    }
    Ok(Json(answer))
}

fn push(i: &mut Incident, actor: &str, at: Timestamp, change: TimelineKind) {
    i.record(actor, at, change);
}

fn required(what: &str, text: &str) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(format!("{what}: must not be empty")));
    }
    if t.chars().count() > 4000 {
        return Err(ApiError::invalid(format!(
            "{what}: at most 4000 characters"
        )));
    }
    Ok(t.to_owned())
}

/// `POST /api/v1/incidents/{id}/assign` body: a person, a team, or both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

/// Assign the incident to a person and/or a team (responder, admin).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", request_body = Assign,
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "invalid"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub async fn assign(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a: Assign = json_body(&body)?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (assignee, team) = (clean(a.assignee), clean(a.team));
    if assignee.is_none() && team.is_none() {
        return Err(ApiError::invalid(
            "assign: give an assignee, a team, or both",
        ));
    }
    apply(&s, &c, bus, &id, move |i, actor, at| {
        if assignee.is_some() {
            i.assignee = assignee.clone();
        }
        if team.is_some() {
            i.team = team.clone();
        }
        push(i, actor, at, TimelineKind::Assigned { assignee, team });
        Ok(())
    })
    .await
}

/// Acknowledge a new incident (analyst, responder, admin).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/acknowledge",
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 409, description = "not new"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub async fn acknowledge(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    apply(&s, &c, bus, &id, |i, actor, at| {
        Ok(i.set_status(IncidentStatus::Acknowledged, actor, at)?)
    })
    .await
}

/// `POST /api/v1/incidents/{id}/comment` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub text: String,
}

/// Comment on the incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comment", request_body = Comment,
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "invalid"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub async fn comment(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b: Comment = json_body(&body)?;
    let text = required("text", &b.text)?;
    apply(&s, &c, bus, &id, move |i, actor, at| {
        push(i, actor, at, TimelineKind::Comment { text });
        Ok(())
    })
    .await
}

/// `POST /api/v1/incidents/{id}/status` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// new, acknowledged, investigating, resolved, closed or false_positive.
    pub status: String,
    /// Why; required for `false_positive`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Change the status along the lifecycle.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", request_body = StatusChange,
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "invalid"),
              (status = 409, description = "the lifecycle forbids it"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub async fn set_status(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b: StatusChange = json_body(&body)?;
    let to: IncidentStatus = b
        .status
        .parse()
        .map_err(|e: ModelError| ApiError::invalid(format!("status: {e}")))?;
    let reason = match b.reason.as_deref() {
        Some(r) => Some(required("reason", r)?),
        None if to == IncidentStatus::FalsePositive => {
            return Err(ApiError::invalid(
                "reason: required when marking an incident false_positive",
            ));
        }
        None => None,
    };
    apply(&s, &c, bus, &id, move |i, actor, at| {
        i.set_status(to, actor, at)?;
        if let Some(reason) = reason {
            push(
                i,
                actor,
                at,
                TimelineKind::StatusReason { status: to, reason },
            );
        }
        Ok(())
    })
    .await
}

/// `POST /api/v1/incidents/{id}/grade` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeOverride {
    /// I, II, III or IV (Ⅰ–Ⅳ, 1–4, or a severity name).
    pub grade: String,
    pub reason: String,
}

/// Override the grade by hand, with a reason (responder, admin).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/grade", request_body = GradeOverride,
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "invalid"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub async fn override_grade(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b: GradeOverride = json_body(&body)?;
    let to = parse_grade(&b.grade)?;
    let reason = required("reason", &b.reason)?;
    apply(&s, &c, bus, &id, move |i, actor, at| {
        let from = i.severity;
        i.severity = to;
        i.classification.grade = Some(Grade::from_severity(to));
        push(
            i,
            actor,
            at,
            TimelineKind::GradeOverridden { from, to, reason },
        );
        Ok(())
    })
    .await
}

/// `POST /api/v1/incidents/{id}/alerts` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub alert_id: String,
}

/// Link an alert (in the caller's regions) to the incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/alerts", request_body = Link,
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "invalid"),
              (status = 409, description = "already linked"),
              (status = 404, description = "no such incident or alert in the caller's regions")))]
pub async fn link_alert(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let b: Link = json_body(&body)?;
    let alert_id: AlertId = id_param("alert", &b.alert_id)?;
    let alert = match s.store.get_alert(alert_id).await? {
        Some(a) if c.sees(&s.regions, a.region) && c.alert_in_department(&*s.store, &a).await? => a,
        _ => return Err(ApiError::not_found(format!("alert {alert_id} not found"))),
    };
    // The incident moves to the nearest region holding all its alerts, as the correlator
    // places it; a link that would move it out of the caller's sight is refused.
    let incident = visible_incident(&s, &c, &id).await?;
    let mut regions = incident.regions.clone();
    if !regions.contains(&alert.region) {
        regions.push(alert.region);
    }
    let tree = s.regions.clone();
    if let Some(to) = incident_region(&tree, &regions)
        && !c.sees(&tree, to)
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "alert {alert_id} (region {}) would move incident {} to region {to}, outside \
                 your region {}",
                alert.region, incident.id, c.grant.region
            ),
        ));
    }
    apply(&s, &c, bus, &id, move |i, actor, at| {
        if i.alert_ids.contains(&alert.id) {
            return Err(StoreError::Conflict(format!(
                "alert {} is already linked",
                alert.id
            )));
        }
        i.alert_ids.push(alert.id);
        if !i.rule_ids.contains(&alert.rule.id) {
            i.rule_ids.push(alert.rule.id.clone());
        }
        if !i.regions.contains(&alert.region) {
            i.regions.push(alert.region);
            i.region = incident_region(&tree, &i.regions).unwrap_or(i.region);
        }
        for e in &alert.entities {
            if !i.entities.contains(e) {
                i.entities.push(e.clone());
            }
        }
        push(
            i,
            actor,
            at,
            TimelineKind::AlertAdded { alert_id: alert.id },
        );
        Ok(())
    })
    .await
}

/// Unlink an alert from the incident.
#[utoipa::path(delete, path = "/api/v1/incidents/{id}/alerts/{alert_id}",
    params(("id" = String, Path, description = "incident id"), ("alert_id" = String, Path, description = "alert id")),
    responses((status = 200, description = "the incident"),
              (status = 404, description = "no such incident, or the alert is not linked")))]
pub async fn unlink_alert(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    bus: Bus,
    Path((id, alert)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let alert_id: AlertId = id_param("alert", &alert)?;
    let incident = visible_incident(&s, &c, &id).await?;
    if !incident.alert_ids.contains(&alert_id) {
        return Err(ApiError::not_found(format!(
            "alert {alert_id} is not linked to incident {}",
            incident.id
        )));
    }
    // What the alert brought goes with it unless another alert holds it too; the incident
    // moves to the nearest region holding the rest, as the correlator places it.
    let gone = s.store.get_alert(alert_id).await?;
    let mut rest = Vec::new();
    for a in incident.alert_ids.iter().filter(|a| **a != alert_id) {
        if let Some(a) = s.store.get_alert(*a).await? {
            rest.push(a);
        }
    }
    let tree = s.regions.clone();
    apply(&s, &c, bus, &id, move |i, actor, at| {
        i.alert_ids.retain(|a| *a != alert_id);
        if let Some(gone) = gone {
            forget(i, &gone, &rest, &tree);
        }
        push(i, actor, at, TimelineKind::AlertRemoved { alert_id });
        Ok(())
    })
    .await
}

/// Drop from `i` the region, entities and rule only `gone` brought, given the other alerts
/// it holds (`rest`; when one of them is no longer stored, nothing is dropped but the
/// region is recomputed), and place it in the nearest region holding its regions.
fn forget(i: &mut Incident, gone: &Alert, rest: &[Alert], tree: &RegionTree) {
    let unknown = i.alert_ids.iter().any(|a| !rest.iter().any(|r| r.id == *a));
    if !unknown {
        i.regions
            .retain(|r| *r != gone.region || rest.iter().any(|a| a.region == *r));
        i.entities
            .retain(|e| !gone.entities.contains(e) || rest.iter().any(|a| a.entities.contains(e)));
        i.rule_ids
            .retain(|r| *r != gone.rule.id || rest.iter().any(|a| a.rule.id == *r));
    }
    i.region = incident_region(tree, &i.regions).unwrap_or(i.region);
}
