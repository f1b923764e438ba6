//! Anomaly detection endpoints. The binary implements [`AnomalyHub`] (the detectors in use,
//! their state as the detect thread last copied it, the calendar) and adds it to the router
//! as an extension ([`AnomalyService`]); this module does HTTP, parameters and region and
//! department scoping. Every role may read them; answers are masked and audited as every
//! read.
//!
//! - `GET /api/v1/anomaly/detectors`: `{"enabled": bool, "detectors": [...], "calendar":
//!   {"utc_offset_secs": N, "known_years": [...]}}`; each detector is its document's fields
//!   (`id`, `title`, `description`, `level`, `tags`, `kind`, `path`, `group_by`, `field`,
//!   `learning_secs`, `max_groups`, `max_entries`) and `status` (learning, learning_until,
//!   first_seen, watermark, groups, observed, alerts, state_bytes, counters).
//! - `GET /api/v1/anomaly/detectors/{id}`: one such detector and `recent`, its latest 20
//!   alerts in the caller's scope; 404 for an unknown detector.
//! - `GET /api/v1/anomaly/alerts`: a page of anomaly alerts in the caller's scope, newest
//!   first, `{"items": [...], "next_cursor": ...}` as `/api/v1/alerts`; `detector` (an id),
//!   `kind` (`volume`, `first_seen`, `rare`, `outlier`, `time_of_day`), `since` (RFC 3339),
//!   `region`, `limit`, `cursor`. A page may hold fewer than `limit` (alerts of rules are
//!   skipped); its cursor still follows the search.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use onewall_model::{Alert, AnomalyKind};
use onewall_store::AlertQuery;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState, ErrorCode};

/// Alerts `GET /api/v1/anomaly/detectors/{id}` shows of its detector.
pub const RECENT: usize = 20;
/// Store pages read at most for one page of `GET /api/v1/anomaly/alerts` when the alerts
/// searched are mostly not anomaly alerts.
const MAX_ROUNDS: usize = 10;

/// What the node's anomaly detection tells the API.
pub trait AnomalyHub: Send + Sync + std::fmt::Debug {
    /// Whether `[anomaly] enabled` is on.
    fn enabled(&self) -> bool;
    /// Every detector in use: its fields and `status` (JSON objects with an `id`).
    fn detectors(&self) -> Vec<Value>;
    /// The calendar: `{"utc_offset_secs": N, "known_years": [...]}`.
    fn calendar(&self) -> Value;
}

/// The hub, as a router extension.
#[derive(Debug, Clone)]
pub struct AnomalyService {
    pub hub: Arc<dyn AnomalyHub>,
}

fn service(s: Option<Extension<AnomalyService>>) -> Result<AnomalyService, ApiError> {
    s.map(|Extension(s)| s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "anomaly detection is not running on this node",
        )
    })
}

/// `GET /api/v1/anomaly/detectors`.
#[utoipa::path(get, path = "/api/v1/anomaly/detectors",
    responses((status = 200, description = "the detectors in use, each with its status, and the calendar")))]
pub async fn detectors(svc: Option<Extension<AnomalyService>>) -> Result<Json<Value>, ApiError> {
    let svc = service(svc)?;
    Ok(Json(json!({
        "enabled": svc.hub.enabled(),
        "detectors": svc.hub.detectors(),
        "calendar": svc.hub.calendar(),
    })))
}

/// `GET /api/v1/anomaly/detectors/{id}`.
#[utoipa::path(get, path = "/api/v1/anomaly/detectors/{id}",
    params(("id" = String, Path, description = "the detector's id")),
    responses((status = 200, description = "the detector, its status and its latest alerts in the caller's scope"),
              (status = 404, description = "no detector has this id")))]
pub async fn detector(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AnomalyService>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let svc = service(svc)?;
    let Some(mut d) = svc.hub.detectors().into_iter().find(|d| d["id"] == id) else {
        return Err(ApiError::not_found(format!(
            "anomaly detector {id:?}: no detector has this id"
        )));
    };
    let query = AlertQuery {
        rule_id: Some(id),
        regions: c.regions(&s.regions, None)?,
        limit: RECENT,
        ..AlertQuery::default()
    };
    let page = s.store.search_alerts(query).await?;
    let mut recent = Vec::new();
    for a in page.items {
        if a.anomaly.is_some() && c.alert_in_department(&*s.store, &a).await? {
            recent.push(a);
        }
    }
    d["recent"] = crate::json_of(&recent);
    Ok(Json(d))
}

/// What `GET /api/v1/anomaly/alerts` asks besides the store's search.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    kind: Option<AnomalyKind>,
    limit: usize,
}

/// Read the query of `GET /api/v1/anomaly/alerts` into a store search and what to keep.
fn alert_query(
    s: &ApiState,
    c: &Caller,
    raw: Option<&str>,
) -> Result<(AlertQuery, Wanted), ApiError> {
    let p = Params::parse(
        raw,
        &["detector", "kind", "since", "region", "limit", "cursor"],
    )?;
    let kind = match p.one("kind")? {
        None => None,
        Some(k) => Some(AnomalyKind::parse(k).ok_or_else(|| {
            let known: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::invalid(format!("kind: {k:?} is not one of {}", known.join(", ")))
        })?),
    };
    if let Some(d) = p.one("detector")?
        && d.trim().is_empty()
    {
        return Err(ApiError::invalid("detector: empty; give a detector's id"));
    }
    let limit = match p.limit()? {
        0 => onewall_store::DEFAULT_LIMIT,
        n => n.min(onewall_store::MAX_LIMIT),
    };
    let query = AlertQuery {
        from: p.time("since")?,
        rule_id: p.one("detector")?.map(str::to_owned),
        regions: c.regions(&s.regions, p.region()?)?,
        limit,
        cursor: p.one("cursor")?.map(str::to_owned),
        ..AlertQuery::default()
    };
    Ok((query, Wanted { kind, limit }))
}

/// Whether `a` is an anomaly alert of the kind wanted.
fn wanted(a: &Alert, w: &Wanted) -> bool {
    a.anomaly
        .as_ref()
        .is_some_and(|x| w.kind.is_none_or(|k| x.kind == k))
}

/// `GET /api/v1/anomaly/alerts`.
#[utoipa::path(get, path = "/api/v1/anomaly/alerts",
    params(("detector" = Option<String>, Query, description = "a detector's id"),
           ("kind" = Option<String>, Query, description = "volume, first_seen, rare, outlier, time_of_day"),
           ("since" = Option<String>, Query, description = "RFC 3339: alerts at or after it"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("limit" = Option<usize>, Query, description = "at most this many"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of anomaly alerts"), (status = 400, description = "invalid query")))]
pub async fn alerts(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AnomalyService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    service(svc)?;
    let (mut query, w) = alert_query(&s, &c, raw.as_deref())?;
    let mut items = Vec::new();
    let mut next = None;
    for _ in 0..MAX_ROUNDS {
        let page = s.store.search_alerts(query.clone()).await?;
        for a in page.items {
            if wanted(&a, &w) && c.alert_in_department(&*s.store, &a).await? {
                items.push(a);
            }
        }
        next = page.next_cursor;
        if items.len() >= w.limit || next.is_none() {
            break;
        }
        query.cursor = next.clone();
        query.limit = w.limit - items.len();
    }
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}
