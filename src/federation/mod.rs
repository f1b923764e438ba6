//! The node's side of the federation crate (`onewall_federation`): opening it from the
//! node's configuration and wiring its HTTP endpoints into the API (the crate knows no HTTP
//! server types). Its uplink subscribes to the node event bus when it is opened.

use std::sync::Arc;

use onewall_model::Alert;
use onewall_model::bus::NodeEvents;
use onewall_store::Store;
use tokio::sync::mpsc;

pub use onewall_federation::{Federation, run_uplink};

mod hub;

/// Open the federation of the node configured by `r`, its uplink subscribed to `bus`; with
/// the receiver of the remote alerts its gate releases to the correlator.
pub fn start(
    r: &crate::config::Resolved,
    store: Arc<dyn Store>,
    bus: &NodeEvents,
) -> anyhow::Result<(Arc<Federation>, mpsc::Receiver<Vec<Alert>>)> {
    let cfg = r
        .config
        .federation
        .check(&r.regions)
        .map_err(|errors| anyhow::anyhow!("{}", errors.join("; ")))?;
    std::fs::create_dir_all(&r.config.store.path)?;
    Federation::open(
        &r.config.store.path,
        store,
        r.config.node.name.clone(),
        r.region,
        cfg,
        bus,
    )
}

/// Add the federation endpoints, and the federation links of `GET /api/v1/incidents/{id}`, to
/// the node's API.
pub fn wire_api(
    api: axum::Router,
    state: onewall_api::ApiState,
    fed: &Arc<Federation>,
) -> axum::Router {
    use onewall_api::federation as f;
    let hub: Arc<dyn f::FederationHub> = Arc::new(hub::Hub(fed.clone()));
    api.merge(f::router(state, hub.clone()))
        .layer(axum::middleware::from_fn_with_state(
            f::Hub(hub.clone()),
            f::add_links,
        ))
        // The statistics overview reads the children's health through it too.
        .layer(axum::Extension(f::Hub(hub)))
}
