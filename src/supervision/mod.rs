//! The node's supervision (`[supervise]`, the `onewall-supervise` crate): opened in the data
//! directory beside the other books, connected to the federation ([`exchange`]: the courier
//! the crate sends through, the exchange that applies what other levels send), its checks on a
//! clock ([`jobs`]: bulletin deadlines, 重保 slot reports owed and missing, duty coverage, the
//! roster sent up), periodic reports on schedule ([`reports`], with what only the node knows in
//! [`sources`]), drills (the detect-thread step that marks their alerts, [`stage`]; the
//! scenario replay, [`replay`]).

use std::sync::Arc;

use anyhow::Context;
use onewall_model::bus::NodeEvents;
use onewall_store::Store;
use onewall_store::audit::AuditLog;
use onewall_supervise::report::ReportSources;
use onewall_supervise::{NodeInfo, Parts, Supervision};

use crate::config::Resolved;
use crate::federation::Federation;

pub mod exchange;
pub mod jobs;
pub mod replay;
pub mod reports;
pub mod sources;
pub mod stage;

/// Open the node's supervision when `[supervise] enabled`: `supervise.sqlite` and the
/// attachment folder in the data directory, sending through `federation`, auditing in the
/// node's audit log. The federation applies what other levels send through it from now on,
/// so this runs before the uplink starts (nothing from the parent is applied without it).
pub fn open(
    r: &Resolved,
    federation: &Arc<Federation>,
    store: &Arc<dyn Store>,
    audit: &Arc<AuditLog>,
    bus: &NodeEvents,
) -> anyhow::Result<Option<Arc<Supervision>>> {
    if !r.supervise.config.enabled {
        return Ok(None);
    }
    let sup = Supervision::open(
        &r.config.store.path,
        Parts {
            node: NodeInfo {
                name: r.config.node.name.clone(),
                region: r.region,
            },
            tree: Arc::new(r.regions.clone()),
            cfg: r.supervise.clone(),
            courier: Arc::new(exchange::FederationCourier(federation.clone())),
            store: store.clone(),
            audit: Some(audit.clone()),
            bus: bus.clone(),
        },
    )
    .context("opening supervise.sqlite")?;
    let sup = Arc::new(sup);
    federation.set_supervision(Arc::new(exchange::Exchange::new(&sup)));
    Ok(Some(sup))
}

/// The API's extension serving `/api/v1/{bulletins,periods,duty,reports,drills}`, with what
/// periodic reports read from the node ([`sources::NodeSources`]).
pub fn service(
    sup: &Arc<Supervision>,
    sources: Arc<dyn ReportSources>,
) -> onewall_api::supervise::SuperviseService {
    onewall_api::supervise::SuperviseService {
        sup: sup.clone(),
        sources,
    }
}
