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
//! - `POST /api/v1/hunt` — the live rules over an uploaded file, nothing stored ([`hunt`])
//! - `GET /api/v1/regions` — the regions of the caller's subtree
//! - `GET /api/v1/stats/{histogram,top,overview}` — statistics for the console ([`stats`])
//! - `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/whoami`
//! - `POST /api/v1/incidents/{id}/{assign,acknowledge,comment,status,grade,alerts}`,
//!   `DELETE /api/v1/incidents/{id}/alerts/{alert_id}` — the workflow ([`workflow`])
//! - `GET|POST /api/v1/users`, `GET|POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`,
//!   `GET /api/v1/audit` — admin
//! - `POST /api/v1/intel/bundles`, `GET /api/v1/intel/receipts/{id}`,
//!   `GET|POST /api/v1/intel/indicators`, `DELETE /api/v1/intel/indicators/{id}`,
//!   `GET /api/v1/intel/{feeds,sightings}` — threat intelligence ([`intel`])
//! - `GET /api/v1/anomaly/detectors`, `GET /api/v1/anomaly/detectors/{id}`,
//!   `GET /api/v1/anomaly/alerts` — anomaly detection ([`anomaly`])
//! - `POST /api/v1/assets/import`, `GET /api/v1/assets/{systems,hosts,findings}` (and one
//!   each), `PATCH /api/v1/assets/findings/{id}`, `DELETE /api/v1/assets/systems/{id}`,
//!   `GET /api/v1/assets/{exposure,summary,export,rollup}` — assets ([`assets`])
//! - `GET /api/v1/stream` — live alerts and incident changes (Server-Sent Events, [`stream`])
//! - `GET /api/v1/openapi.json` — this API as OpenAPI 3
//!
//! Every endpoint but `/healthz`, `/metrics` (configurable), the OpenAPI document and login
//! needs a credential ([`access`]); records outside the caller's region subtree answer 404;
//! personal data is masked for callers without the `pii` permission, in every answer, and
//! their searches are matched under that view ([`view`], [`mask`]); every call is audited.
//!
//! The console's files (`/ui/`) are served by [`console`], outside the guard (they hold no data).
//!
//! Ingest endpoints live in `onewall-ingest`; the binary merges its router with this one.
//! Lists answer `{"items": [...], "next_cursor": "..." | null}`; errors answer
//! `{"error": {"code": "...", "message": "..."}}` with a 4xx that says why.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use onewall_model::{Alert, Event, EventId, Incident, RegionCode, RegionTree};
use onewall_rules::RuleInfo;
use onewall_store::{EventQuery, Page, Store};
use serde::Serialize;
use serde_json::json;

pub mod access;
mod admin;
pub mod anomaly;
pub mod assets;
pub mod collector;
pub mod config;
pub mod console;
pub mod deliveries;
pub mod edge;
mod error;
pub mod export;
pub mod federation;
pub mod health;
pub mod hunt;
pub mod intel;
pub mod login_limit;
pub mod mask;
mod openapi;
mod params;
mod query;
mod records;
pub mod reports;
pub mod sla;
pub mod stats;
pub mod stream;
pub mod supervise;
pub mod view;
pub mod workflow;

pub use access::{Access, Caller};
pub use admin::CookiePolicy;
pub use error::ApiError;
pub use error::ErrorCode;
use mask::MaskPolicy;
use params::Params;
use records::Answer;

/// Renders the node's metrics in Prometheus text format.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// The rules this node runs, for `GET /api/v1/rules`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RulesView {
    pub rules: Vec<RuleInfo>,
    /// Sigma correlation rules: type, the rules they count (as written and resolved), window
    /// and condition.
    pub correlations: Vec<onewall_rules::correlation::CorrelationInfo>,
    /// Rules (detection or correlation) that did not load, each `path: id: reason`.
    pub errors: Vec<String>,
    /// Where the rules came from, as the last load reported it: the packs (name, version,
    /// pipelines), the overlays and the load's notes (expired exceptions and the like).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<onewall_rules::pack::ReloadSummary>,
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
    /// Users, tokens, the audit log and the masking policy.
    pub access: Access,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// The API router; the caller serves it. Every route passes the access guard.
pub fn router(state: ApiState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/v1/login", post(admin::login))
        .route("/api/v1/logout", post(admin::logout))
        .route("/api/v1/whoami", get(admin::whoami))
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/events/{id}", get(get_event))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/stream", get(stream::stream))
        .route("/api/v1/deliveries", get(deliveries::list))
        .route("/api/v1/export/{kind}", get(export::export))
        .route("/api/v1/reports", get(reports::list).post(reports::submit))
        .route("/api/v1/incidents/{id}", get(get_incident))
        .route("/api/v1/incidents/{id}/assign", post(workflow::assign))
        .route(
            "/api/v1/incidents/{id}/acknowledge",
            post(workflow::acknowledge),
        )
        .route("/api/v1/incidents/{id}/comment", post(workflow::comment))
        .route("/api/v1/incidents/{id}/status", post(workflow::set_status))
        .route(
            "/api/v1/incidents/{id}/grade",
            post(workflow::override_grade),
        )
        .route("/api/v1/incidents/{id}/alerts", post(workflow::link_alert))
        .route(
            "/api/v1/incidents/{id}/alerts/{alert_id}",
            delete(workflow::unlink_alert),
        )
        .route("/api/v1/hunt", post(hunt::hunt))
        .route("/api/v1/rules", get(list_rules))
        .route("/api/v1/rules/reload", axum::routing::post(reload_rules))
        .route("/api/v1/regions", get(list_regions))
        .route("/api/v1/stats/histogram", get(stats::histogram))
        .route("/api/v1/stats/top", get(stats::top))
        .route("/api/v1/stats/overview", get(stats::overview))
        .route(
            "/api/v1/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/api/v1/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
        .route("/api/v1/audit", get(admin::list_audit))
        .route("/api/v1/audit/verify", get(admin::verify_audit))
        .route("/api/v1/intel/bundles", post(intel::import_bundle))
        .route("/api/v1/intel/receipts/{id}", get(intel::receipt))
        .route(
            "/api/v1/intel/indicators",
            get(intel::list_indicators).post(intel::add_indicator),
        )
        .route(
            "/api/v1/intel/indicators/{id}",
            delete(intel::delete_indicator),
        )
        .route("/api/v1/intel/feeds", get(intel::feeds))
        .route("/api/v1/intel/sightings", get(intel::sightings))
        .route("/api/v1/anomaly/detectors", get(anomaly::detectors))
        .route("/api/v1/anomaly/detectors/{id}", get(anomaly::detector))
        .route("/api/v1/anomaly/alerts", get(anomaly::alerts))
        .route("/api/v1/assets/import", post(assets::import))
        .route("/api/v1/assets/systems", get(assets::systems))
        .route(
            "/api/v1/assets/systems/{id}",
            get(assets::get_system).delete(assets::delete_system),
        )
        .route("/api/v1/assets/hosts", get(assets::hosts))
        .route("/api/v1/assets/hosts/{key}", get(assets::get_host))
        .route("/api/v1/assets/findings", get(assets::findings))
        .route(
            "/api/v1/assets/findings/{id}",
            axum::routing::patch(assets::set_status),
        )
        .route("/api/v1/assets/exposure", get(assets::exposure))
        .route("/api/v1/assets/summary", get(assets::summary))
        .route("/api/v1/assets/export", get(assets::export))
        .route("/api/v1/assets/rollup", get(assets::rollup));
    supervision_routes(routes)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(view::mask_answers))
        .with_state(state)
}

/// Supervision (监管): bulletins, 重保 periods, duty, periodic reports, drills ([`supervise`]).
fn supervision_routes(routes: Router<ApiState>) -> Router<ApiState> {
    routes
        .route(
            "/api/v1/bulletins",
            post(supervise::bulletins::issue).get(supervise::bulletins::list),
        )
        .route("/api/v1/bulletins/stats", get(supervise::bulletins::stats))
        .route("/api/v1/bulletins/{id}", get(supervise::bulletins::get))
        .route(
            "/api/v1/bulletins/{id}/sign",
            post(supervise::bulletins::sign),
        )
        .route(
            "/api/v1/bulletins/{id}/answer",
            post(supervise::bulletins::answer),
        )
        .route(
            "/api/v1/bulletins/{id}/rectify",
            post(supervise::bulletins::rectify),
        )
        .route(
            "/api/v1/bulletins/{id}/review",
            post(supervise::bulletins::review),
        )
        .route(
            "/api/v1/bulletins/{id}/attachments/{sha256}",
            get(supervise::bulletins::attachment),
        )
        .route(
            "/api/v1/periods",
            post(supervise::periods::declare).get(supervise::periods::list),
        )
        .route("/api/v1/periods/{id}", get(supervise::periods::get))
        .route(
            "/api/v1/periods/{id}/cancel",
            post(supervise::periods::cancel),
        )
        .route(
            "/api/v1/periods/{id}/lessons",
            post(supervise::periods::add_lesson).get(supervise::periods::lessons),
        )
        .route("/api/v1/periods/{id}/slots", get(supervise::periods::slots))
        .route(
            "/api/v1/periods/{id}/review",
            get(supervise::periods::review),
        )
        .route(
            "/api/v1/duty/shifts",
            post(supervise::duty::add_shift).get(supervise::duty::shifts),
        )
        .route(
            "/api/v1/duty/shifts/{id}",
            delete(supervise::duty::remove_shift),
        )
        .route("/api/v1/duty/now", get(supervise::duty::now))
        .route(
            "/api/v1/duty/handovers",
            post(supervise::duty::hand_over).get(supervise::duty::handovers),
        )
        .route(
            "/api/v1/duty/handovers/{id}/sign",
            post(supervise::duty::take_over),
        )
        .route(
            "/api/v1/reports/periodic",
            get(supervise::reports::periodic),
        )
        .route(
            "/api/v1/reports/periodic/kept",
            get(supervise::reports::kept),
        )
        .route(
            "/api/v1/drills",
            post(supervise::drills::plan).get(supervise::drills::list),
        )
        .route("/api/v1/drills/{id}", get(supervise::drills::get))
        .route("/api/v1/drills/{id}/start", post(supervise::drills::start))
        .route("/api/v1/drills/{id}/report", get(supervise::drills::report))
}

/// `value` as JSON, masked whole for a caller without the `pii` permission (export rows;
/// JSON answers are masked by [`view::mask_answers`]).
pub(crate) fn masked<T: Serialize>(
    c: &Caller,
    policy: &MaskPolicy,
    value: &T,
) -> serde_json::Value {
    let mut v = json_of(value);
    if let Some(p) = c.masking(policy) {
        p.mask_json(&mut v);
    }
    v
}

/// `value` as JSON (an answer; [`view::mask_answers`] masks it for the caller).
pub(crate) fn json_of<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A page as JSON.
fn page_of<T: Serialize>(page: Page<T>) -> serde_json::Value {
    json!({ "items": page.items, "next_cursor": page.next_cursor })
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// Liveness and the store's counts (open). A supervised task that panicked is listed under
/// `tasks` ([`health`]): 503 `failed` while it waits to restart, 200 `degraded` once it runs
/// again. While a component reports a problem (the disk is full, ...) the answer is 503
/// `degraded` with the problems listed.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "ok, or degraded after a task restarted"), (status = 503, description = "a task is down, or a problem is listed")))]
async fn healthz(
    State(s): State<ApiState>,
    tasks: Option<Extension<health::TaskHealth>>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let stats = s.store.stats().await?;
    let (mut code, mut status, tasks) = tasks.map_or_else(
        || health::TaskHealth::default().verdict(),
        |Extension(t)| t.verdict(),
    );
    let problems = onewall_model::health::Health::node().problems();
    if !problems.is_empty() {
        code = StatusCode::SERVICE_UNAVAILABLE;
        if status == "ok" {
            status = "degraded";
        }
    }
    let mut body = json!({ "status": status, "node": &*s.node, "store": stats });
    if !tasks.is_empty() {
        body["tasks"] = json!(tasks);
    }
    if !problems.is_empty() {
        body["problems"] = json!(problems);
    }
    Ok((code, Json(body)))
}

/// Prometheus metrics (open unless `auth.metrics_open = false`).
#[utoipa::path(get, path = "/metrics", security(()), responses((status = 200, description = "Prometheus text")))]
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

/// Search events in the caller's regions (and department, when the caller has one).
#[utoipa::path(get, path = "/api/v1/events",
    params(("q" = Option<String>, Query, description = "text in the raw event"),
           ("from" = Option<String>, Query, description = "RFC 3339"),
           ("to" = Option<String>, Query, description = "RFC 3339"),
           ("filter" = Option<Vec<String>>, Query, description = "FIELD:VALUE, repeatable"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of events"), (status = 400, description = "invalid query")))]
async fn list_events(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &query::with(&query::EVENT_FILTERS, &["limit", "cursor"]),
    )?;
    let mut query = EventQuery {
        limit: p.limit()?,
        cursor: p.one("cursor")?.map(str::to_owned),
        ..query::events(&s, &c, &p)?
    };
    let page = match view::under_view(&c, &s.access.mask, &mut query)? {
        Some(v) => v.search(&*s.store, query).await?,
        None => s.store.search_events(query).await?,
    };
    Ok(Json(page_of(page)))
}

/// One event, if it is in the caller's regions (and department).
#[utoipa::path(get, path = "/api/v1/events/{id}", params(("id" = String, Path, description = "event id")),
    responses((status = 200, description = "the event"), (status = 400, description = "malformed id"),
              (status = 404, description = "no such event in the caller's regions")))]
async fn get_event(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: EventId = id_param("event", &id)?;
    let event: Option<Event> = s.store.get_event(id).await?;
    match event {
        Some(e) if c.sees(&s.regions, e.region) && c.event_in_department(&e) => {
            Ok(Json(json_of(&e)))
        }
        _ => Err(ApiError::not_found(format!("event {id} not found"))),
    }
}

/// Search alerts in the caller's regions.
#[utoipa::path(get, path = "/api/v1/alerts",
    params(("from" = Option<String>, Query, description = "RFC 3339"),
           ("to" = Option<String>, Query, description = "RFC 3339"),
           ("rule_id" = Option<String>, Query, description = "alerts of this rule"),
           ("severity" = Option<String>, Query, description = "at least this severe"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of alerts"), (status = 400, description = "invalid query")))]
async fn list_alerts(s: State<ApiState>, c: Extension<Caller>, q: RawQuery) -> Answer {
    records::list::<Alert>(&s, &c, q.0.as_deref()).await
}

/// One alert, if it is in the caller's regions.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", params(("id" = String, Path, description = "alert id")),
    responses((status = 200, description = "the alert"), (status = 400, description = "malformed id"),
              (status = 404, description = "no such alert in the caller's regions")))]
async fn get_alert(s: State<ApiState>, c: Extension<Caller>, id: Path<String>) -> Answer {
    records::get::<Alert>(&s, &c, &id).await
}

/// Search incidents owned by the caller's regions.
#[utoipa::path(get, path = "/api/v1/incidents",
    params(("status" = Option<String>, Query, description = "new, acknowledged, investigating, resolved, closed, false_positive"),
           ("open" = Option<bool>, Query, description = "only open incidents"),
           ("severity" = Option<String>, Query, description = "at least this severe"),
           ("since" = Option<String>, Query, description = "last seen at or after (RFC 3339)"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of incidents"), (status = 400, description = "invalid query")))]
async fn list_incidents(s: State<ApiState>, c: Extension<Caller>, q: RawQuery) -> Answer {
    records::list::<Incident>(&s, &c, q.0.as_deref()).await
}

/// One incident with its timeline, if it is owned by the caller's regions.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", params(("id" = String, Path, description = "incident id")),
    responses((status = 200, description = "the incident"), (status = 400, description = "malformed id"),
              (status = 404, description = "no such incident in the caller's regions")))]
async fn get_incident(s: State<ApiState>, c: Extension<Caller>, id: Path<String>) -> Answer {
    records::get::<Incident>(&s, &c, &id).await
}

/// The rules this node runs and the ones that did not compile.
#[utoipa::path(get, path = "/api/v1/rules", responses((status = 200, description = "rules")))]
async fn list_rules(State(s): State<ApiState>) -> Json<RulesView> {
    match &s.rules.live {
        Some(live) => Json(live.view()),
        None => Json(RulesView::clone(&s.rules)),
    }
}

/// `POST /api/v1/rules/reload`: load the rules again and swap them in between batches. 200
/// with the load report; 422 with the reason when a pack, pipeline or overlay cannot be used
/// (the rules in use stay); 404 when this node's rules cannot be reloaded.
#[utoipa::path(post, path = "/api/v1/rules/reload",
    responses((status = 200, description = "the load report"),
              (status = 404, description = "this node's rules cannot be reloaded"),
              (status = 422, description = "the new rules cannot be used; the old ones stay")))]
async fn reload_rules(State(s): State<ApiState>) -> Response {
    let error = |status: StatusCode, code: &str, message: String| {
        (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response()
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
        Ok(Err(reason)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rules_reload_failed",
            reason,
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rules_reload_failed",
            format!("the reload task failed: {e}"),
        ),
    }
}

/// The regions of the caller's subtree.
#[utoipa::path(get, path = "/api/v1/regions", responses((status = 200, description = "regions")))]
async fn list_regions(State(s): State<ApiState>, Extension(c): Extension<Caller>) -> Response {
    let regions: Vec<_> = s
        .regions
        .iter()
        .filter(|r| c.sees(&s.regions, r.code))
        .collect();
    (StatusCode::OK, Json(json!({ "items": regions }))).into_response()
}
