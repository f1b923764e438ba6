//! `GET /api/v1/deliveries`: the playbooks' delivery log (email, webhooks, escalations, team
//! assignments), newest first, limited to the caller's regions.
//!
//! The node installs its outbox as a request extension ([`DeliveryLog`]); a router without one
//! (a node without playbooks, or a test) answers an empty log.

use axum::extract::{RawQuery, State};
use axum::{Extension, Json};
use onewall_playbooks::{DeliveryQuery, DeliveryState, Outbox};
use serde_json::json;

use crate::ApiState;
use crate::ErrorCode;
use crate::access::Caller;
use crate::error::ApiError;
use crate::params::Params;

/// The delivery log the node's playbooks keep.
#[derive(Debug, Clone)]
pub struct DeliveryLog(pub Outbox);

/// Query parameters: `state` (pending, done, failed, throttled), `playbook`, `region`,
/// `limit`, and `before` (a delivery id, for the next page: `next_before` of the last one).
#[utoipa::path(get, path = "/api/v1/deliveries",
    params(("state" = Option<String>, Query, description = "pending, done, failed or throttled"),
           ("playbook" = Option<String>, Query, description = "deliveries of this playbook"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("limit" = Option<usize>, Query, description = "at most this many (100; no more than 1000)"),
           ("before" = Option<i64>, Query, description = "next_before of the previous page")),
    responses((status = 200, description = "a page of deliveries"), (status = 400, description = "invalid query")))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    log: Option<Extension<DeliveryLog>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["state", "playbook", "region", "limit", "before"],
    )?;
    let state = match p.one("state")? {
        None => None,
        Some(v) => Some(DeliveryState::parse(v).ok_or_else(|| {
            ApiError::invalid(format!(
                "state: expected pending, done, failed or throttled, got {v:?}"
            ))
        })?),
    };
    let before = match p.one("before")? {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid(format!("before: {v:?} is not a delivery id")))?,
        ),
    };
    let limit = match p.limit()? {
        0 => 100,
        n => n.min(1000),
    };
    let query = DeliveryQuery {
        state,
        playbook: p.one("playbook")?.map(str::to_owned),
        regions: c.regions(&s.regions, p.region()?)?,
        before,
        limit,
    };
    let Some(Extension(DeliveryLog(outbox))) = log else {
        return Ok(Json(json!({ "items": [], "next_before": null })));
    };
    let items = tokio::task::spawn_blocking(move || outbox.list(&query))
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("delivery log task failed: {e}"),
            )
        })?
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next })))
}
