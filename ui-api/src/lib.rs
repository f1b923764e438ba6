//! onewall's web API (axum).
//!
//! - `GET /healthz`, `GET /metrics` (Prometheus text)
//! - `GET /api/v1/events` — `q` (text in the raw event), `from`/`to` (RFC 3339), repeated
//!   `filter=FIELD:VALUE`, `region`, `limit`, `cursor`; `GET /api/v1/events/{id}`
//! - `GET /api/v1/alerts` — `from`/`to`, `rule_id`, `severity` (minimum), `region`, `limit`,
//!   `cursor`; `GET /api/v1/alerts/{id}`
//! - `GET /api/v1/incidents` — `status`, `open`, `severity` (minimum), `region`, `limit`,
//!   `cursor`; `GET /api/v1/incidents/{id}`
//! - `GET /api/v1/rules` — the loaded rules and the ones that did not compile
//! - `GET /api/v1/regions` — the region tree this node knows
//!
//! Ingest endpoints live in `onewall-ingest`; the binary merges its router with this one.
//! Lists answer `{"items": [...], "next_cursor": "..." | null}`; errors answer
//! `{"error": {"code": "...", "message": "..."}}` with a 4xx that says why.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onewall_model::{
    Alert, AlertId, Event, EventId, Incident, IncidentId, IncidentStatus, RegionCode, RegionTree,
    Severity,
};
use onewall_rules::RuleInfo;
use onewall_store::{AlertQuery, EventQuery, IncidentQuery, Page, Store};
use serde::Serialize;
use serde_json::json;

mod error;
mod params;

pub use error::ApiError;
use params::Params;

/// Renders the node's metrics in Prometheus text format.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// The rules this node runs, for `GET /api/v1/rules`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RulesView {
    pub rules: Vec<RuleInfo>,
    /// Rules that did not compile, each `path: reason`.
    pub errors: Vec<String>,
    /// When set, the rules can change while the node runs: `GET /api/v1/rules` asks it for
    /// the rules in use and `POST /api/v1/rules/reload` reloads through it.
    #[serde(skip)]
    pub live: Option<Arc<dyn RulesControl>>,
}

/// Reloading the rules of a running node (the binary implements it).
pub trait RulesControl: Send + Sync + std::fmt::Debug {
    /// The rules in use now.
    fn view(&self) -> RulesView;
    /// Load the rules again; the load report, or why the rules in use were kept.
    fn reload(&self) -> Result<serde_json::Value, String>;
}

/// Who this node is.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub region: RegionCode,
    pub version: &'static str,
}

/// Everything the handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub metrics: MetricsRender,
    pub rules: Arc<RulesView>,
    pub regions: Arc<RegionTree>,
    pub node: Arc<NodeInfo>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// The API router; the caller serves it.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/events/{id}", get(get_event))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/incidents/{id}", get(get_incident))
        .route("/api/v1/rules", get(list_rules))
        .route("/api/v1/rules/reload", axum::routing::post(reload_rules))
        .route("/api/v1/regions", get(list_regions))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn healthz(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = s.store.stats().await?;
    Ok(Json(
        json!({ "status": "ok", "node": &*s.node, "store": stats }),
    ))
}

async fn metrics(State(s): State<ApiState>) -> Response {
    let body = (s.metrics)();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn id_param<T>(what: &str, raw: &str) -> Result<onewall_model::Id<T>, ApiError> {
    raw.parse()
        .map_err(|e| ApiError::invalid(format!("{what} id: {e}")))
}

async fn list_events(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Event>>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["q", "from", "to", "filter", "region", "limit", "cursor"],
    )?;
    let mut filters = Vec::new();
    for f in p.all("filter") {
        match f.split_once(':') {
            Some((k, v)) if !k.is_empty() => filters.push((k.to_owned(), v.to_owned())),
            _ => {
                return Err(ApiError::invalid(format!(
                    "filter: expected FIELD:VALUE, got {f:?}"
                )));
            }
        }
    }
    let query = EventQuery {
        text: p.one("q")?.filter(|q| !q.is_empty()).map(str::to_owned),
        from: p.time("from")?,
        to: p.time("to")?,
        filters,
        regions: p.region_subtree(&s.regions)?,
        limit: p.limit()?,
        cursor: p.one("cursor")?.map(str::to_owned),
    };
    check_range(&query.from, &query.to)?;
    Ok(Json(s.store.search_events(query).await?))
}

fn check_range(
    from: &Option<onewall_model::Timestamp>,
    to: &Option<onewall_model::Timestamp>,
) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => {
            Err(ApiError::invalid(format!("from ({f}) is after to ({t})")))
        }
        _ => Ok(()),
    }
}

async fn get_event(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Event>, ApiError> {
    let id: EventId = id_param("event", &id)?;
    match s.store.get_event(id).await? {
        Some(e) => Ok(Json(e)),
        None => Err(ApiError::not_found(format!("event {id} not found"))),
    }
}

async fn list_alerts(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Alert>>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &[
            "from", "to", "rule_id", "severity", "region", "limit", "cursor",
        ],
    )?;
    let query = AlertQuery {
        from: p.time("from")?,
        to: p.time("to")?,
        rule_id: p.one("rule_id")?.map(str::to_owned),
        min_severity: p.parsed::<Severity>("severity")?,
        regions: p.region_subtree(&s.regions)?,
        limit: p.limit()?,
        cursor: p.one("cursor")?.map(str::to_owned),
    };
    check_range(&query.from, &query.to)?;
    Ok(Json(s.store.search_alerts(query).await?))
}

async fn get_alert(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    let id: AlertId = id_param("alert", &id)?;
    match s.store.get_alert(id).await? {
        Some(a) => Ok(Json(a)),
        None => Err(ApiError::not_found(format!("alert {id} not found"))),
    }
}

async fn list_incidents(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<Incident>>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &[
            "status", "open", "severity", "since", "region", "limit", "cursor",
        ],
    )?;
    let open_only = match p.one("open")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::invalid(format!(
                "open: expected true or false, got {v:?}"
            )));
        }
    };
    let query = IncidentQuery {
        status: p.parsed::<IncidentStatus>("status")?,
        open_only,
        min_severity: p.parsed::<Severity>("severity")?,
        since: p.time("since")?,
        regions: p.region_subtree(&s.regions)?,
        limit: p.limit()?,
        cursor: p.one("cursor")?.map(str::to_owned),
    };
    Ok(Json(s.store.search_incidents(query).await?))
}

async fn get_incident(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Incident>, ApiError> {
    let id: IncidentId = id_param("incident", &id)?;
    match s.store.get_incident(id).await? {
        Some(i) => Ok(Json(i)),
        None => Err(ApiError::not_found(format!("incident {id} not found"))),
    }
}

async fn list_rules(State(s): State<ApiState>) -> Json<RulesView> {
    match &s.rules.live {
        Some(live) => Json(live.view()),
        None => Json(RulesView::clone(&s.rules)),
    }
}

/// `POST /api/v1/rules/reload`: load the rules again and swap them in between batches. 200
/// with the load report; 422 with the reason when a pack, pipeline or overlay cannot be used
/// (the rules in use stay); 404 when this node's rules cannot be reloaded.
async fn reload_rules(State(s): State<ApiState>) -> Response {
    let error = |status: StatusCode, code: &str, message: String| {
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    };
    let Some(live) = s.rules.live.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "rules_reload_unavailable",
            "this node's rules cannot be reloaded".into(),
        );
    };
    match tokio::task::spawn_blocking(move || live.reload()).await {
        Ok(Ok(report)) => (StatusCode::OK, Json(report)).into_response(),
        Ok(Err(reason)) => error(StatusCode::UNPROCESSABLE_ENTITY, "rules_reload_failed", reason),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rules_reload_failed",
            format!("the reload task failed: {e}"),
        ),
    }
}

async fn list_regions(State(s): State<ApiState>) -> Response {
    let regions: Vec<_> = s.regions.iter().collect();
    (StatusCode::OK, Json(json!({ "items": regions }))).into_response()
}
