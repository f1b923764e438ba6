//! Federation endpoints: children push to their parent, the parent dispatches incidents and
//! shows its children's health, a child shows its link to the parent.
//!
//! - `POST /api/v1/federation/push` — a child's push ([`PushRequest`]); answers a
//!   [`PushReply`] with the downlink messages for that child. Needs a `collector` (or `admin`)
//!   token; the pushed region and every pushed alert and incident must lie inside the token's
//!   region subtree (403 naming the region otherwise). Sequences that do not increase, or
//!   reach far past the last one applied for the child's outbox epoch, are refused (409 naming
//!   the sequence expected next).
//! - `POST /api/v1/incidents/{id}/dispatch` — `{region, note, team?}` (responder, admin):
//!   hand a parent incident to a child region's team: a child in the caller's scope whose
//!   subtree holds some of the incident's regions (400 otherwise).
//! - `GET /api/v1/federation/children` — per child region: node, last contact, lag, outbox
//!   depth, alerts received, last sequence; expected children never seen are listed as such.
//! - `GET /api/v1/federation/status` — this node's link to its parent.
//!
//! The binary implements [`FederationHub`]; this crate does HTTP, authentication and scope
//! checks only. [`add_links`] is a middleware for the main router: it adds an incident's
//! federation links to `GET /api/v1/incidents/{id}`, as
//! `remote_children` (the child incidents a parent incident links: `{region, node, incident,
//! status}`), `dispatches` (`{region, at, by, note, team, status}`: the child's last reported
//! status) and `remote_parent` (on a child: `{region, node, incident, dispatched_at}`).
//! Changes made through the workflow endpoints reach the federation on the node event bus
//! (the handlers publish them), so changes to linked incidents flow to the other side.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onewall_model::federation::{DispatchRequest, PushReply, PushRequest, Up};
use onewall_model::{Incident, IncidentId, RegionCode, Timestamp};
use onewall_store::audit::AuditRecord;
use onewall_store::auth::Grant;

use crate::ErrorCode;
use crate::access::{self, Caller};
use crate::edge::read_body;
use crate::{ApiError, ApiState, view};

/// A boxed future answering an [`ApiError`] on failure.
pub type HubFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// The largest push body accepted (read only once the caller is authenticated).
pub const MAX_PUSH_BYTES: usize = 64 << 20;

/// The largest dispatch body accepted (`{region, note, team}`).
pub const MAX_DISPATCH_BYTES: usize = 64 << 10;

/// What the binary's federation does for the API.
pub trait FederationHub: Send + Sync + std::fmt::Debug {
    /// Apply a child's push (already checked against the caller's scope) and answer it.
    fn push(&self, req: PushRequest) -> HubFuture<'_, PushReply>;
    /// Queue a dispatch of `incident` to child `region`, by `by`; answers the dispatch record.
    fn dispatch(
        &self,
        incident: Incident,
        region: RegionCode,
        req: DispatchRequest,
        by: String,
    ) -> HubFuture<'_, serde_json::Value>;
    /// Whether `region` is a child this node expects or has heard from.
    fn is_child(&self, region: RegionCode) -> HubFuture<'_, bool>;
    /// The children's health, one JSON object per child region (with a `region` key).
    fn children(&self) -> HubFuture<'_, Vec<serde_json::Value>>;
    /// The link to the parent.
    fn status(&self) -> HubFuture<'_, serde_json::Value>;
    /// The federation links of an incident, as fields to add to its JSON.
    fn links(
        &self,
        incident: IncidentId,
    ) -> HubFuture<'_, serde_json::Map<String, serde_json::Value>>;
}

/// The hub, as a router extension and middleware state.
#[derive(Clone, Debug)]
pub struct Hub(pub Arc<dyn FederationHub>);

/// The federation routes; the binary merges them with [`crate::router`].
pub fn router(state: ApiState, hub: Arc<dyn FederationHub>) -> Router {
    let guarded = Router::new()
        .route("/api/v1/federation/children", get(children))
        .route("/api/v1/federation/status", get(status))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .layer(axum::middleware::from_fn(view::mask_answers));
    // These two check the caller themselves: the access guard's table would ask an admin.
    Router::new()
        // The bodies are read in the handlers, after the caller is authenticated.
        .route("/api/v1/federation/push", post(push))
        .route(
            "/api/v1/incidents/{id}/dispatch",
            post(dispatch).layer(axum::middleware::from_fn(view::mask_answers)),
        )
        .merge(guarded)
        .layer(Extension(Hub(hub)))
        .with_state(state)
}

/// Authenticate a self-checked endpoint, audit the call through `run`'s answer.
async fn authenticated<F, Fut>(
    s: &ApiState,
    headers: &HeaderMap,
    action: &str,
    target: String,
    run: F,
) -> Response
where
    F: FnOnce(Grant) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let grant = match access::credential(headers) {
        None => None,
        Some(c) => match access::resolve(&s.access.auth, c).await {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        },
    };
    let (actor, role, scope) = grant
        .as_ref()
        .map(|g| {
            (
                g.subject.clone(),
                g.role.as_str().to_owned(),
                g.region.to_string(),
            )
        })
        .unwrap_or_else(|| ("anonymous".into(), String::new(), String::new()));
    let resp = match grant {
        None => ApiError::new(
            ErrorCode::Unauthenticated,
            "authentication required: send Authorization: Bearer TOKEN",
        )
        .into_response(),
        Some(g) => run(g).await.unwrap_or_else(IntoResponse::into_response),
    };
    access::record(
        &s.access.audit,
        AuditRecord {
            at: Timestamp::now(),
            actor,
            role,
            scope,
            action: action.to_owned(),
            target,
            result: resp.status().as_u16(),
            client: String::new(),
            detail: String::new(),
        },
    )
    .await;
    resp
}

/// Every region a push names lies in the caller's subtree; the error names the first that
/// does not.
fn check_scope(s: &ApiState, caller: &Caller, req: &PushRequest) -> Result<(), ApiError> {
    let outside = |what: String, region: RegionCode| {
        ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{what}: region {region} is outside the token's region {}",
                caller.grant.region
            ),
        )
    };
    if !caller.sees(&s.regions, req.region) {
        return Err(outside("push".into(), req.region));
    }
    for m in &req.messages {
        let (what, region) = match &m.body {
            Up::Alert { alert } => (format!("alert {}", alert.id), alert.region),
            Up::Incident { incident } => (format!("incident {}", incident.id), incident.region),
            Up::Sightings { sightings } => {
                if let Some(r) = sightings
                    .iter()
                    .find(|r| !caller.sees(&s.regions, r.region))
                {
                    let what = format!("message {} (sighting of {})", m.seq, r.value);
                    return Err(outside(what, r.region));
                }
                continue;
            }
            Up::AssetRollup { rollup } => {
                if let Some(r) = rollup
                    .rows
                    .iter()
                    .find(|r| !caller.sees(&s.regions, r.region))
                {
                    let what = format!("message {} (asset roll-up row)", m.seq);
                    return Err(outside(what, r.region));
                }
                (format!("asset roll-up {}", m.seq), rollup.region)
            }
            Up::Supervise { msg } => {
                if let Some(r) = msg
                    .regions()
                    .into_iter()
                    .find(|r| !caller.sees(&s.regions, *r))
                {
                    let what = format!("message {} (supervision)", m.seq);
                    return Err(outside(what, r));
                }
                continue;
            }
            Up::Status { .. } | Up::Comment { .. } => continue,
        };
        if !caller.sees(&s.regions, region) {
            return Err(outside(format!("message {} ({what})", m.seq), region));
        }
    }
    Ok(())
}

/// A child's push: its alerts and incident changes up, the downlink messages for it back.
#[utoipa::path(post, path = "/api/v1/federation/push",
    request_body(content = String, content_type = "application/json",
        description = "PushRequest: node, region, sent, outbox_depth, oldest_queued, ack_down, \
            messages [{seq, type: alert|incident|status|comment, ...}]"),
    responses((status = 200, description = "PushReply: node, region, acked_up, messages"),
              (status = 400, description = "the body is not a push"),
              (status = 403, description = "not a collector token, or a region outside its scope"),
              (status = 409, description = "sequences out of order or far ahead of the last applied")))]
pub(crate) async fn push(
    State(s): State<ApiState>,
    Extension(Hub(hub)): Extension<Hub>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let state = s.clone();
    authenticated(
        &s,
        &headers,
        "POST /api/v1/federation/push",
        "/api/v1/federation/push".into(),
        |grant| async move {
            if !grant.role.can_ingest() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!(
                        "the {} role may not push; a child needs a collector token",
                        grant.role
                    ),
                ));
            }
            let body = read_body(body, MAX_PUSH_BYTES, "push").await?;
            let req: PushRequest = serde_json::from_slice(&body)
                .map_err(|e| ApiError::invalid(format!("push body: {e}")))?;
            check_scope(&state, &Caller { grant }, &req)?;
            let reply = hub.push(req).await?;
            Ok(Json(reply).into_response())
        },
    )
    .await
}

/// Hand a parent incident to a child region's team.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/dispatch",
    request_body(content = String, content_type = "application/json",
        description = "{region, note, team?}"),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 201, description = "the dispatch, queued for the child"),
              (status = 400, description = "invalid, or not a child region in the caller's scope"),
              (status = 403, description = "the role may not dispatch"),
              (status = 404, description = "no such incident in the caller's regions")))]
pub(crate) async fn dispatch(
    State(s): State<ApiState>,
    Extension(Hub(hub)): Extension<Hub>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let state = s.clone();
    let target = format!("/api/v1/incidents/{id}/dispatch");
    authenticated(
        &s,
        &headers,
        "POST /api/v1/incidents/{id}/dispatch",
        target,
        |grant| async move {
            let caller = Caller { grant };
            if !caller.grant.role.can_direct_incidents() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!("the {} role may not use this endpoint", caller.grant.role),
                ));
            }
            let id: IncidentId = id
                .parse()
                .map_err(|_| ApiError::invalid(format!("id: {id:?} is not an incident id")))?;
            let incident = match state.store.get_incident(id).await? {
                Some(i) if caller.sees(&state.regions, i.region) => i,
                _ => return Err(ApiError::not_found(format!("incident {id} not found"))),
            };
            let body = read_body(body, MAX_DISPATCH_BYTES, "dispatch").await?;
            let req: DispatchRequest = serde_json::from_slice(&body)
                .map_err(|e| ApiError::invalid(format!("dispatch body: {e}")))?;
            if req.note.trim().is_empty() {
                return Err(ApiError::invalid("note: must not be empty"));
            }
            let region: RegionCode = req
                .region
                .parse()
                .map_err(|e| ApiError::invalid(format!("region: {e}")))?;
            if !caller.sees(&state.regions, region) || !hub.is_child(region).await? {
                return Err(ApiError::invalid(format!(
                    "region: {region} is not a child region of this node in your scope"
                )));
            }
            // Only to a child whose subtree holds some of the incident's alerts: a dispatch
            // carries the incident's title and evidence to that child.
            if !incident
                .regions
                .iter()
                .any(|r| state.regions.is_within(*r, region))
            {
                return Err(ApiError::invalid(format!(
                    "region: incident {id} concerns none of region {region} (its regions: {})",
                    incident
                        .regions
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let by = caller.name().to_owned();
            let mask = caller.masking(&state.access.mask).cloned();
            let record = hub.dispatch(incident, region, req, by).await?;
            let mut resp = (StatusCode::CREATED, Json(record)).into_response();
            if let Some(p) = mask {
                resp.extensions_mut().insert(view::MaskAnswer(p));
            }
            Ok(resp)
        },
    )
    .await
}

/// Each child region's health: last contact, lag, outbox depth, alerts received.
#[utoipa::path(get, path = "/api/v1/federation/children",
    responses((status = 200, description = "{items: [{region, node, state, last_contact, \
        lag_seconds, outbox_depth, alerts_received, last_seq, ...}]}")))]
pub(crate) async fn children(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Extension(Hub(hub)): Extension<Hub>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items: Vec<serde_json::Value> = hub
        .children()
        .await?
        .into_iter()
        .filter(|v| {
            v["region"]
                .as_str()
                .and_then(|r| r.parse::<RegionCode>().ok())
                .is_some_and(|r| c.sees(&s.regions, r))
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

/// This node's link to its parent: URL, last success and error, outbox depth.
#[utoipa::path(get, path = "/api/v1/federation/status",
    responses((status = 200, description = "{parent_url, last_success, last_error, \
        outbox_depth, oldest_queued, ...}")))]
pub(crate) async fn status(
    Extension(Hub(hub)): Extension<Hub>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(hub.status().await?))
}

/// The incident id of a workflow path `/api/v1/incidents/{id}/...`, or of
/// `/api/v1/incidents/{id}` itself (`whole`).
fn incident_of(path: &str) -> Option<(IncidentId, bool)> {
    let rest = path.strip_prefix("/api/v1/incidents/")?;
    let (id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id, Some(tail)),
        None => (rest, None),
    };
    let id = id.parse().ok()?;
    match tail {
        None => Some((id, true)),
        Some(t) if t.starts_with("dispatch") => None,
        Some(_) => Some((id, false)),
    }
}

/// Middleware for the main router: add federation links to `GET /api/v1/incidents/{id}`.
/// (Workflow changes reach the federation on the node event bus, where the handlers publish
/// them.)
pub async fn add_links(State(Hub(hub)): State<Hub>, req: Request, next: Next) -> Response {
    // The links are read before the incident: a link is recorded after the change that made
    // it (a dispatch sets the team, then records the uplink), so a reader that sees the link
    // also sees that change.
    let links = match incident_of(req.uri().path()) {
        Some((id, true)) if req.method() == Method::GET => hub.links(id).await.ok(),
        _ => None,
    };
    let resp = next.run(req).await;
    let mut links = match links {
        Some(l) if !l.is_empty() && resp.status().is_success() => l,
        _ => return resp,
    };
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    // The answer was masked inside; what is added here is masked the same way.
    if let Some(view::MaskAnswer(p)) = parts.extensions.get::<view::MaskAnswer>() {
        links.values_mut().for_each(|v| p.mask_json(v));
    }
    if let Some(obj) = v.as_object_mut() {
        obj.extend(links);
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_paths_name_their_incident() {
        let id = IncidentId::now();
        assert_eq!(
            incident_of(&format!("/api/v1/incidents/{id}")),
            Some((id, true))
        );
        assert_eq!(
            incident_of(&format!("/api/v1/incidents/{id}/status")),
            Some((id, false))
        );
        assert_eq!(
            incident_of(&format!("/api/v1/incidents/{id}/dispatch")),
            None
        );
        assert_eq!(incident_of("/api/v1/incidents/nope/status"), None);
        assert_eq!(incident_of("/api/v1/alerts/x"), None);
    }
}
