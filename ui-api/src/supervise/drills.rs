//! Drills (演练): plan one from a scenario (YAML or JSON), list them with their state, start a
//! scenario drill (the node replays it), and the drill report scoring each planned action.
//!
//! Scope: a caller sees a drill whose regions touch its subtree; planning needs every region
//! of the drill in the caller's subtree and a token without a department.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onewall_model::id::DrillId;
use onewall_model::supervise::{Drill, DrillMode};
use onewall_model::{ErrorCode, Timestamp};
use onewall_supervise::drill::{Scenario, drill_end};
use serde_json::{Value, json};

use super::{SupScope, SuperviseService, actor, document, service};
use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The largest scenario accepted (its events included).
pub const MAX_SCENARIO_BYTES: usize = 4 << 20;

/// Where a drill is at `now`: `planned`, `running` (a scenario replaying, or a live exercise
/// inside its window) or `ended`.
pub fn state(d: &Drill, now: Timestamp) -> &'static str {
    if now > drill_end(d) {
        return "ended";
    }
    let running = match d.mode {
        DrillMode::Scenario => d.started.is_some(),
        DrillMode::Live => now >= d.start,
    };
    if running { "running" } else { "planned" }
}

/// A drill with its state.
fn drill_json(d: &Drill, now: Timestamp) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("state".into(), json!(state(d, now)));
    }
    v
}

/// Drill `id` if the caller sees it (else 404).
fn visible_drill(
    s: &ApiState,
    svc: &SuperviseService,
    scope: &SupScope,
    id: &str,
) -> Result<Drill, ApiError> {
    let not_found = || ApiError::not_found(format!("drill {id} not found"));
    let did = id.parse::<DrillId>().map_err(|_| not_found())?;
    match svc.sup.drill(did) {
        Some(d) if scope.touches(&s.regions, &d.regions) => Ok(d),
        _ => Err(not_found()),
    }
}

/// A department's token directs no drills.
fn no_department(c: &Caller, what: &str) -> Result<(), ApiError> {
    match &c.grant.department {
        Some(d) => Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("a department's token ({d}) may not {what} drills"),
        )),
        None => Ok(()),
    }
}

/// `POST /api/v1/drills`.
#[utoipa::path(post, path = "/api/v1/drills",
    request_body(content = String, content_type = "application/yaml", description = "a scenario, YAML or JSON: {\"name\",\"regions\":[],\"start\",\"end\",\"mode\":\"scenario|live\",\"red_team\":[],\"actions\":[{\"id\",\"name\",\"at_secs\",\"technique\"?,\"expect\":{\"rules\",\"tags\"},\"region\"?,\"events\":[line | object]}]}"),
    responses((status = 201, description = "the drill, with \"state\""),
              (status = 400, description = "every mistake of the scenario, named"),
              (status = 403, description = "a region outside the caller's subtree, or a department's token"),
              (status = 413, description = "a scenario over 4 MiB")))]
pub async fn plan(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    no_department(&c, "plan")?;
    let bytes = read_body(body, MAX_SCENARIO_BYTES, "scenario").await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::invalid(format!("scenario body: not UTF-8 text: {e}")))?;
    let scenario = Scenario::parse(text)?;
    if let Some(r) = scenario.regions.iter().find(|r| !c.sees(&s.regions, **r)) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "regions: {r} is outside the caller's region {}",
                c.grant.region
            ),
        ));
    }
    let d = svc.sup.plan_drill(&actor(&c), scenario).await?;
    let detail = format!("drill {} {}", d.id, d.name);
    let mut resp = (StatusCode::CREATED, Json(drill_json(&d, Timestamp::now()))).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `GET /api/v1/drills`.
#[utoipa::path(get, path = "/api/v1/drills",
    responses((status = 200, description = "{\"items\":[drill + \"state\":\"planned|running|ended\"]}, newest start first")))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    Params::parse(raw.as_deref(), &[])?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let now = Timestamp::now();
    let mut drills: Vec<Drill> = svc
        .sup
        .drills()
        .into_iter()
        .filter(|d| scope.touches(&s.regions, &d.regions))
        .collect();
    drills.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
    let items: Vec<Value> = drills.iter().map(|d| drill_json(d, now)).collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/drills/{id}`.
#[utoipa::path(get, path = "/api/v1/drills/{id}",
    params(("id" = String, Path, description = "the drill's id")),
    responses((status = 200, description = "the drill, with \"state\""),
              (status = 404, description = "no such drill in the caller's scope")))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let d = visible_drill(&s, &svc, &scope, &id)?;
    Ok(Json(drill_json(&d, Timestamp::now())).into_response())
}

/// `POST /api/v1/drills/{id}/start`.
#[utoipa::path(post, path = "/api/v1/drills/{id}/start",
    params(("id" = String, Path, description = "the drill's id")),
    responses((status = 200, description = "the drill, started now: the node replays its actions at start + at_secs"),
              (status = 403, description = "a drill over regions outside the caller's, or a department's token"),
              (status = 404, description = "no such drill in the caller's scope"),
              (status = 409, description = "started already, a live exercise, or over")))]
pub async fn start(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let d = visible_drill(&s, &svc, &scope, &id)?;
    no_department(&c, "start")?;
    if d.regions.iter().any(|r| !c.sees(&s.regions, *r)) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the drill covers regions outside the caller's; it is started by who planned it",
        ));
    }
    let d = svc
        .sup
        .start_drill(&actor(&c), d.id, Timestamp::now())
        .await?;
    Ok(Json(drill_json(&d, Timestamp::now())).into_response())
}

/// `GET /api/v1/drills/{id}/report`.
#[utoipa::path(get, path = "/api/v1/drills/{id}/report",
    params(("id" = String, Path, description = "the drill's id"),
           ("format" = Option<String>, Query, description = "json (default), html or docx")),
    responses((status = 200, description = "the DrillReport: each planned action's time to detect and to respond, or missed; the score"),
              (status = 400, description = "an unknown format"),
              (status = 404, description = "no such drill in the caller's scope")))]
pub async fn report(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["format"])?;
    let format = p.one("format")?;
    if let Some(f) = format.filter(|f| !["json", "html", "docx"].contains(f)) {
        return Err(ApiError::invalid(format!(
            "format: {f:?} is not json, html or docx"
        )));
    }
    let scope = SupScope::of(&s.regions, &c, None)?;
    let d = visible_drill(&s, &svc, &scope, &id)?;
    let r = svc.sup.drill_report(d.id, Timestamp::now()).await?;
    let json = serde_json::to_value(&r)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the drill report: {e}")))?;
    document(format, json, || r.to_doc(), &format!("drill-{}", d.id))
}
