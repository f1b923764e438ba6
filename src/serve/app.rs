//! The node's HTTP app: the API (with federation endpoints, playbook delivery log, reports,
//! the node event bus for the workflow handlers and the live stream), HTTP ingest and the
//! console's files, on one listener.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use onewall_api::reports::ReportDesk;
use onewall_api::{ApiState, NodeInfo, RulesView};
use onewall_ingest::spool::Spool;
use onewall_model::EventBatch;
use tokio::sync::mpsc;

use super::Node;
use crate::config::Resolved;

/// What the app is built from, beside the node itself.
pub struct Parts<'a> {
    pub prometheus: PrometheusHandle,
    pub federation: &'a Arc<crate::federation::Federation>,
    pub outbox: Option<onewall_playbooks::Outbox>,
    pub desk: Option<&'a ReportDesk>,
    /// Where HTTP ingest sends its batches.
    pub events: mpsc::Sender<EventBatch>,
    pub spool: Arc<Spool>,
    /// The console's live stream (`GET /api/v1/stream`).
    pub stream: onewall_api::stream::StreamHub,
    /// Threat intelligence (`/api/v1/intel/...`).
    pub intel: Arc<crate::intel::Intel>,
    /// Assets (`/api/v1/assets/...`), when `[assets] enabled`.
    pub assets: Option<Arc<crate::assets::Assets>>,
    /// Supervision (`/api/v1/{bulletins,periods,duty,reports,drills}`), when `[supervise]
    /// enabled`.
    pub supervision: Option<Arc<onewall_supervise::Supervision>>,
}

/// Build the app: API and ingest routers, their guards and layers.
pub fn build(r: &Resolved, node: &Node, parts: Parts<'_>) -> axum::Router {
    let prometheus = parts.prometheus;
    // What periodic reports read from the node (daily reports received, sources, findings).
    let report_sources = crate::supervision::sources::NodeSources::new(
        r,
        parts.desk,
        parts.outbox.clone(),
        parts.assets.clone(),
    );
    let api_state = ApiState {
        store: node.store.clone(),
        metrics: Arc::new(move || prometheus.render()),
        rules: Arc::new(RulesView {
            live: Some(node.rules.clone()),
            ..RulesView::default()
        }),
        regions: Arc::new(r.regions.clone()),
        node: Arc::new(NodeInfo {
            name: r.config.node.name.clone(),
            region: r.region,
            version: env!("CARGO_PKG_VERSION"),
        }),
        access: node.access.clone(),
    };
    let api = onewall_api::router(api_state.clone());
    let api = crate::federation::wire_api(api, api_state, parts.federation);
    let api = api.layer(axum::Extension(node.health.clone()));
    // What the statistics overview reads of the configuration.
    let api = api.layer(axum::Extension(onewall_api::stats::OverviewSettings {
        sla: crate::config::access::sla_policy(&r.config.sla),
        silent_hours: i64::from(r.config.playbooks.report.silent_hours),
    }));
    // The delivery log (GET /api/v1/deliveries) reads the playbooks' outbox.
    let api = match parts.outbox {
        Some(outbox) => api.layer(axum::Extension(onewall_api::deliveries::DeliveryLog(
            outbox,
        ))),
        None => api,
    };
    // Hunting through uploaded files (POST /api/v1/hunt) runs the live rules.
    let api = api.layer(axum::Extension(super::hunt::service(
        node.rules.handle(),
        r,
    )));
    // The console's live stream (GET /api/v1/stream) reads the hub.
    let api = api.layer(axum::Extension(parts.stream));
    let api = api.layer(axum::Extension(crate::intel::service(parts.intel)));
    let api = match &parts.assets {
        Some(a) => api.layer(axum::Extension(crate::assets::service(a))),
        None => api,
    };
    let api = match &parts.supervision {
        Some(sup) => api.layer(axum::Extension(crate::supervision::service(
            sup,
            Arc::new(report_sources),
        ))),
        None => api,
    };
    let api = api.layer(axum::Extension(crate::anomaly::service(
        node.rules.detectors(),
        node.anomaly_board.clone(),
        node.rules.anomaly_settings(),
    )));
    let api = super::playbooks::api_layers(api, r, &node.bus, parts.desk);
    let ingest = onewall_ingest::listen::http_router(onewall_ingest::listen::HttpIngest {
        timezone: r.listen.http_source.timezone,
        max_body_bytes: r.config.http.max_body_bytes,
        batch_size: r.config.pipeline.batch_size,
        tags: r.listen.http_source.tags.clone(),
        tokens: onewall_ingest::listen::HttpTokens {
            ingest: r.config.http.ingest_tokens.clone(),
            bulk: r.config.http.bulk_tokens.clone(),
            hec: r.config.http.hec_tokens.clone(),
        },
        spool: Some(parts.spool),
        ..onewall_ingest::listen::HttpIngest::new(parts.events, r.listen.http_source.region)
    });
    let gate = onewall_api::collector::CollectorGate {
        auth: node.access.auth.clone(),
        require_token: r.config.auth.collectors_require_token,
        ingest_tokens: r.config.http.ingest_tokens.clone(),
        bulk_tokens: r.config.http.bulk_tokens.clone(),
        hec_tokens: r.config.http.hec_tokens.clone(),
    };
    // Cross-site and content-type checks on the API's writes (not on the collectors').
    let api = api.layer(axum::middleware::from_fn(onewall_api::edge::writes));
    // The console's files need no credential; a browser asking for `/` is sent to them.
    api.merge(ingest.layer(axum::middleware::from_fn_with_state(
        gate,
        onewall_api::collector::gate,
    )))
    .merge(onewall_api::console::router())
    .layer(axum::middleware::from_fn(onewall_api::console::front_door))
    .layer(axum::middleware::map_response(
        onewall_api::edge::security_headers,
    ))
}
