//! The node's side of the federation crate (`onewall_federation`): opening it from the
//! node's configuration and wiring its HTTP endpoints into the API (the crate knows no HTTP
//! server types). The pipeline's hooks are the crate's.

use std::sync::Arc;

use onewall_store::Store;

pub use onewall_federation::{
    Federation, alerts_stored, incidents_changed, run_uplink, take_remote_alerts,
};

mod hub;

/// Open and install the federation of the node configured by `r`.
pub fn start(
    r: &crate::config::Resolved,
    store: Arc<dyn Store>,
) -> anyhow::Result<Arc<Federation>> {
    let cfg = r
        .config
        .federation
        .check(&r.regions)
        .map_err(|errors| anyhow::anyhow!("{}", errors.join("; ")))?;
    std::fs::create_dir_all(&r.config.store.path)?;
    Federation::install(
        &r.config.store.path,
        store,
        r.config.node.name.clone(),
        r.region,
        cfg,
    )
}

/// Add the federation endpoints and the workflow tracking to the node's API.
pub fn wire_api(
    api: axum::Router,
    state: onewall_api::ApiState,
    fed: &Arc<Federation>,
) -> axum::Router {
    use onewall_api::federation as f;
    let hub: Arc<dyn f::FederationHub> = Arc::new(hub::Hub(fed.clone()));
    api.merge(f::router(state, hub.clone()))
        .layer(axum::middleware::from_fn_with_state(f::Hub(hub), f::track))
}
