//! Duty (值班值守): shifts, who is on duty now, handovers.
//!
//! Scope: shifts and handovers of the caller's region subtree; a shift is added, removed or
//! handed over only in a region the caller sees. The phones and emails of the people on duty
//! are personal data: the answer masking covers them for callers without the `pii` permission.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onewall_model::id::{HandoverId, ShiftId};
use onewall_model::{ErrorCode, RegionCode, Timestamp};
use onewall_supervise::duty::{NewHandover, NewShift};
use serde_json::json;

use super::{SupScope, SuperviseService, actor, parse_json, service};
use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The largest body of a shift or a handover.
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// Handovers a list answers at most (and by default).
pub const MAX_LIST: usize = 500;

/// Shifts listed by default: from a day ago to 30 days ahead.
const DEFAULT_BACK_SECS: i64 = 86_400;
const DEFAULT_AHEAD_SECS: i64 = 30 * 86_400;

/// Every shift the node holds (removing and the `now` answer look through them).
fn all_shifts(svc: &SuperviseService) -> Vec<onewall_model::supervise::Shift> {
    svc.sup.cached().shifts
}

fn not_in_scope(region: RegionCode) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("region {region}: outside the caller's region"),
    )
}

/// `POST /api/v1/duty/shifts`.
#[utoipa::path(post, path = "/api/v1/duty/shifts",
    request_body(content = String, content_type = "application/json", description = "{\"region\",\"start\",\"end\",\"people\":[{\"name\",\"user\"?,\"phone\",\"email\",\"role\":\"leader|member\"}],\"note\"}"),
    responses((status = 201, description = "the shift"),
              (status = 400, description = "what is wrong (start after end, nobody with a phone or email ...)"),
              (status = 403, description = "a region outside the caller's")))]
pub async fn add_shift(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "shift").await?;
    let new: NewShift = parse_json(&bytes, "shift")?;
    if !c.sees(&s.regions, new.region) {
        return Err(not_in_scope(new.region));
    }
    let shift = svc.sup.add_shift(&actor(&c), new).await?;
    let detail = format!("shift {} of {}", shift.id, shift.region);
    let mut resp = (StatusCode::CREATED, Json(shift)).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `GET /api/v1/duty/shifts`.
#[utoipa::path(get, path = "/api/v1/duty/shifts",
    params(("region" = Option<String>, Query, description = "this region's subtree (within the caller's)"),
           ("from" = Option<String>, Query, description = "shifts ending after (RFC 3339; a day ago)"),
           ("to" = Option<String>, Query, description = "shifts starting before (RFC 3339; 30 days ahead)")),
    responses((status = 200, description = "{\"items\":[shift]} by start"),
              (status = 400, description = "an unknown region or a time that does not parse")))]
pub async fn shifts(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["region", "from", "to"])?;
    let scope = SupScope::of(&s.regions, &c, p.region()?)?;
    let now = Timestamp::now();
    let from = p.time("from")?.unwrap_or(now.add_secs(-DEFAULT_BACK_SECS));
    let to = p.time("to")?.unwrap_or(now.add_secs(DEFAULT_AHEAD_SECS));
    if from >= to {
        return Err(ApiError::invalid("from: must be before to"));
    }
    let items: Vec<_> = svc
        .sup
        .shifts(&scope.regions, from, to)
        .into_iter()
        .filter(|sh| scope.holds_region(sh.region))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `DELETE /api/v1/duty/shifts/{id}`.
#[utoipa::path(delete, path = "/api/v1/duty/shifts/{id}",
    params(("id" = String, Path, description = "the shift's id")),
    responses((status = 204, description = "removed"),
              (status = 404, description = "no such shift in the caller's scope")))]
pub async fn remove_shift(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let svc = service(svc)?;
    let not_found = || ApiError::not_found(format!("shift {id} not found"));
    let sid = id.parse::<ShiftId>().map_err(|_| not_found())?;
    let visible = all_shifts(&svc)
        .iter()
        .any(|sh| sh.id == sid && c.sees(&s.regions, sh.region));
    if !visible {
        return Err(not_found());
    }
    svc.sup.remove_shift(&actor(&c), sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/duty/now`.
#[utoipa::path(get, path = "/api/v1/duty/now",
    params(("region" = Option<String>, Query, description = "this region only (within the caller's); else the node's region and every region with shifts in the caller's scope")),
    responses((status = 200, description = "{\"items\":[{\"region\",\"at\",\"on_duty\":[person],\"shift\"?}]}"),
              (status = 400, description = "an unknown region")))]
pub async fn now(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["region"])?;
    let requested = p.region()?;
    let scope = SupScope::of(&s.regions, &c, requested)?;
    let at = Timestamp::now();
    let held = all_shifts(&svc);
    let mut regions: Vec<RegionCode> = match requested {
        Some(r) => vec![r],
        None => std::iter::once(svc.sup.node().region)
            .chain(held.iter().map(|sh| sh.region))
            .filter(|r| scope.holds_region(*r))
            .collect(),
    };
    regions.sort();
    regions.dedup();
    let items: Vec<_> = regions
        .into_iter()
        .map(|region| {
            let shift = held
                .iter()
                .find(|sh| sh.region == region && sh.start <= at && at < sh.end);
            json!({
                "region": region,
                "at": at,
                "on_duty": svc.sup.on_duty(region, at),
                "shift": shift,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `POST /api/v1/duty/handovers`.
#[utoipa::path(post, path = "/api/v1/duty/handovers",
    request_body(content = String, content_type = "application/json", description = "{\"region\",\"from_shift\"?,\"to_shift\"?,\"notes\"}: the node fills in the open incidents and pending bulletins"),
    responses((status = 201, description = "the handover, signed by the caller as outgoing"),
              (status = 400, description = "what is wrong (an unknown shift ...)"),
              (status = 403, description = "a region outside the caller's")))]
pub async fn hand_over(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "handover").await?;
    let new: NewHandover = parse_json(&bytes, "handover")?;
    if !c.sees(&s.regions, new.region) {
        return Err(not_in_scope(new.region));
    }
    let h = svc.sup.hand_over(&actor(&c), new).await?;
    let detail = format!("handover {} of {}", h.id, h.region);
    let mut resp = (StatusCode::CREATED, Json(h)).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `POST /api/v1/duty/handovers/{id}/sign`.
#[utoipa::path(post, path = "/api/v1/duty/handovers/{id}/sign",
    params(("id" = String, Path, description = "the handover's id")),
    responses((status = 200, description = "the handover, signed by the caller as incoming"),
              (status = 404, description = "no such handover in the caller's scope"),
              (status = 409, description = "signed already, or by the one who handed over")))]
pub async fn take_over(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let not_found = || ApiError::not_found(format!("handover {id} not found"));
    let hid = id.parse::<HandoverId>().map_err(|_| not_found())?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let visible = svc
        .sup
        .handovers(&scope.regions, usize::MAX)
        .await?
        .iter()
        .any(|h| h.id == hid && scope.holds_region(h.region));
    if !visible {
        return Err(not_found());
    }
    let h = svc.sup.take_over(&actor(&c), hid).await?;
    Ok(Json(h).into_response())
}

/// `GET /api/v1/duty/handovers`.
#[utoipa::path(get, path = "/api/v1/duty/handovers",
    params(("region" = Option<String>, Query, description = "this region's subtree (within the caller's)"),
           ("limit" = Option<usize>, Query, description = "at most this many, newest first (500)")),
    responses((status = 200, description = "{\"items\":[handover]}"),
              (status = 400, description = "an unknown region")))]
pub async fn handovers(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["region", "limit"])?;
    let scope = SupScope::of(&s.regions, &c, p.region()?)?;
    let limit = match p.limit()? {
        0 => MAX_LIST,
        n => n.min(MAX_LIST),
    };
    let items: Vec<_> = svc
        .sup
        .handovers(&scope.regions, limit)
        .await?
        .into_iter()
        .filter(|h| scope.holds_region(h.region))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}
