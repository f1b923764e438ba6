//! 重保 periods: declare, list, one, cancel, lessons, slot reports, the 复盘.
//!
//! Scope: a caller sees a period whose regions touch its subtree (one of them in it, or its
//! own region inside one: a city sees the province's period over it); declaring needs every
//! region of the period in the caller's subtree.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onewall_model::id::PeriodId;
use onewall_model::supervise::ProtectionPeriod;
use onewall_model::{ErrorCode, Timestamp};
use onewall_supervise::period::NewPeriod;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SupScope, SuperviseService, actor, document, parse_json, service};
use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The largest body of a declaration or a lesson.
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// A period with whether it is running now.
fn period_json(p: &ProtectionPeriod, now: Timestamp) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("active".into(), json!(p.active_at(now)));
    }
    v
}

/// Period `id` if the caller sees it (else 404).
fn visible_period(
    s: &ApiState,
    svc: &SuperviseService,
    scope: &SupScope,
    id: &str,
) -> Result<ProtectionPeriod, ApiError> {
    let not_found = || ApiError::not_found(format!("period {id} not found"));
    let pid = id.parse::<PeriodId>().map_err(|_| not_found())?;
    match svc.sup.period(pid) {
        Some(p) if scope.touches(&s.regions, &p.regions) => Ok(p),
        _ => Err(not_found()),
    }
}

/// `POST /api/v1/periods`.
#[utoipa::path(post, path = "/api/v1/periods",
    request_body(content = String, content_type = "application/json", description = "{\"name\",\"regions\":[],\"start\",\"end\",\"sla_factor\"?,\"report_every_mins\"?,\"grace_mins\"?}"),
    responses((status = 201, description = "the period, with \"active\""),
              (status = 400, description = "what is wrong (start after end, an unknown region ...)"),
              (status = 403, description = "a region outside the caller's subtree, or a department's token")))]
pub async fn declare(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "period").await?;
    let new: NewPeriod = parse_json(&bytes, "period")?;
    if scope.department.is_some() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a department's token may not declare 重保 periods",
        ));
    }
    if let Some(r) = new.regions.iter().find(|r| !c.sees(&s.regions, **r)) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "regions: {r} is outside the caller's region {}",
                c.grant.region
            ),
        ));
    }
    let p = svc.sup.declare_period(&actor(&c), new).await?;
    let detail = format!("period {} {}", p.id, p.name);
    let mut resp = (StatusCode::CREATED, Json(period_json(&p, Timestamp::now()))).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `GET /api/v1/periods`.
#[utoipa::path(get, path = "/api/v1/periods",
    params(("active" = Option<bool>, Query, description = "true: only periods running now")),
    responses((status = 200, description = "{\"items\":[period + \"active\"]}, newest start first")))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["active"])?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let now = Timestamp::now();
    let active = p.parsed::<bool>("active")?.unwrap_or(false);
    let items: Vec<Value> = svc
        .sup
        .periods(active.then_some(now))
        .iter()
        .filter(|p| scope.touches(&s.regions, &p.regions))
        .map(|p| period_json(p, now))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/periods/{id}`.
#[utoipa::path(get, path = "/api/v1/periods/{id}",
    params(("id" = String, Path, description = "the period's id")),
    responses((status = 200, description = "the period, with \"active\""),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let p = visible_period(&s, &svc, &scope, &id)?;
    Ok(Json(period_json(&p, Timestamp::now())).into_response())
}

/// `POST /api/v1/periods/{id}/cancel`.
#[utoipa::path(post, path = "/api/v1/periods/{id}/cancel",
    params(("id" = String, Path, description = "the period's id")),
    responses((status = 200, description = "the period, ended now"),
              (status = 403, description = "a period declared by another level"),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn cancel(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let p = visible_period(&s, &svc, &scope, &id)?;
    if p.regions.iter().any(|r| !c.sees(&s.regions, *r)) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the period covers regions outside the caller's; it is ended by who declared it",
        ));
    }
    let p = svc.sup.cancel_period(&actor(&c), p.id).await?;
    Ok(Json(period_json(&p, Timestamp::now())).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonBody {
    text: String,
}

/// `POST /api/v1/periods/{id}/lessons`.
#[utoipa::path(post, path = "/api/v1/periods/{id}/lessons",
    params(("id" = String, Path, description = "the period's id")),
    request_body(content = String, content_type = "application/json", description = "{\"text\"}"),
    responses((status = 201, description = "the lesson"),
              (status = 400, description = "an empty text"),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn add_lesson(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let p = visible_period(&s, &svc, &scope, &id)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "lesson").await?;
    let b: LessonBody = parse_json(&bytes, "lesson")?;
    let lesson = svc.sup.add_lesson(&actor(&c), p.id, b.text).await?;
    Ok((StatusCode::CREATED, Json(lesson)).into_response())
}

/// `GET /api/v1/periods/{id}/lessons`.
#[utoipa::path(get, path = "/api/v1/periods/{id}/lessons",
    params(("id" = String, Path, description = "the period's id")),
    responses((status = 200, description = "{\"items\":[lesson]}, oldest first, of the caller's regions"),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn lessons(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let p = visible_period(&s, &svc, &scope, &id)?;
    let items: Vec<_> = svc
        .sup
        .lessons(p.id)
        .await?
        .into_iter()
        .filter(|l| scope.holds_region(l.region))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/periods/{id}/slots`.
#[utoipa::path(get, path = "/api/v1/periods/{id}/slots",
    params(("id" = String, Path, description = "the period's id")),
    responses((status = 200, description = "{\"items\":[{\"region\",\"slot\",\"received\"?,\"late\",\"missing\",\"report\"?}]}: each covered child's report of each slot due so far"),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn slots(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let p = visible_period(&s, &svc, &scope, &id)?;
    let items: Vec<_> = svc
        .sup
        .slot_statuses(p.id, Timestamp::now())
        .await?
        .into_iter()
        .filter(|st| scope.holds_region(st.region))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/periods/{id}/review`.
#[utoipa::path(get, path = "/api/v1/periods/{id}/review",
    params(("id" = String, Path, description = "the period's id"),
           ("format" = Option<String>, Query, description = "json (default), html or docx")),
    responses((status = 200, description = "the 复盘: incidents by grade and category, response times, slot reports late or missing, bulletins, lessons"),
              (status = 400, description = "an unknown format"),
              (status = 404, description = "no such period in the caller's scope")))]
pub async fn review(
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
    let period = visible_period(&s, &svc, &scope, &id)?;
    // The 复盘 is the declaring level's whole picture: a caller below it sees only what
    // concerns its subtree.
    let mut r = svc.sup.period_review(period.id).await?;
    r.slots.retain(|st| scope.holds_region(st.region));
    r.lessons.retain(|l| scope.holds_region(l.region));
    r.bulletins
        .retain(|b| b.copies.iter().any(|c| scope.holds(&c.recipient)));
    for b in &mut r.bulletins {
        b.copies.retain(|c| scope.holds(&c.recipient));
    }
    let json = serde_json::to_value(&r)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the 复盘: {e}")))?;
    document(
        format,
        json,
        || r.to_doc(),
        &format!("review-{}", period.id),
    )
}
