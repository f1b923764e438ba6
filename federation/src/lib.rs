//! Federation between levels: a child (a city) pushes its alerts and incident changes to its
//! parent (the province) from a durable outbox; the parent runs its correlator over its
//! children's alerts, links child incidents to its own, dispatches incidents to a child and
//! hears back how they went.
//!
//! ```text
//! child: store stage ──(alerts, incidents stored)──► outbox ──uplink task──POST push──┐
//!                                                                                      ▼
//! parent: /api/v1/federation/push ─► store alerts ─► gate (≥ min_regions) ─► correlator
//!                 ▲                 child incidents, dispatches, downlink ◄── API
//!                 └──────────── push reply: downlink messages for the child ◄─────────┘
//! ```
//!
//! The uplink subscribes to the node event bus ([`Federation::open`]): stored
//! alerts (whatever raised them) and incident changes are queued for the parent; changes
//! applied from the parent are published on the bus for the node's other subscribers. The wire types are in `onewall_model::federation`; the HTTP
//! endpoints (the API's `FederationHub`) are wired by the binary, so this crate knows no HTTP
//! server types.

use std::sync::{Arc, Mutex};

use onewall_model::bus::NodeEvents;
use onewall_model::{Alert, Incident, RegionCode};
use onewall_store::Store;
use tokio::sync::{Notify, mpsc};
use tracing::warn;

use crate::config::FederationResolved;

pub mod assets;
mod child;
pub mod config;
pub mod db;
mod gate;
mod health;
pub mod intel;
mod parent;
mod progress;
pub mod supervise;
#[cfg(test)]
mod tests;
mod uplink_feed;

pub use child::run_uplink;
pub use db::outbox;
pub use intel::IntelExchange;
pub use parent::SequenceRefused;
pub use supervise::SupervisionExchange;

/// The federation of this node: its child side (when it has a parent) and its parent side.
#[derive(Debug)]
pub struct Federation {
    db: db::Db,
    store: Arc<dyn Store>,
    node: String,
    region: RegionCode,
    cfg: FederationResolved,
    /// Wakes the uplink when something is queued.
    queued: Notify,
    /// Remote alerts released by the gate, to the store stage's correlator.
    to_correlator: mpsc::Sender<Vec<Alert>>,
    gate: Mutex<gate::Gate>,
    /// The parent's region and node name, from its last answer.
    parent_seen: Mutex<Option<(RegionCode, String)>>,
    /// How much of each incident's evidence went into a snapshot for the parent.
    snapshot_progress: Mutex<progress::Progress>,
    /// How much of each incident's evidence was linked to the remote alerts it holds.
    link_progress: Mutex<progress::Progress>,
    /// The node event bus: changes applied from the parent are published on it.
    bus: NodeEvents,
    /// The node's indicators, when it exchanges them ([`Federation::set_intel`]).
    intel: std::sync::OnceLock<Arc<dyn intel::IntelExchange>>,
    /// The node's supervision, when it keeps any ([`Federation::set_supervision`]).
    supervision: std::sync::OnceLock<Arc<dyn supervise::SupervisionExchange>>,
}

impl Federation {
    /// Open the federation state in `data_dir` and subscribe its uplink to `bus`. Answers the
    /// receiver of the remote alerts the gate releases, for the pipeline's correlator.
    pub fn open(
        data_dir: &std::path::Path,
        store: Arc<dyn Store>,
        node: String,
        region: RegionCode,
        cfg: FederationResolved,
        bus: &NodeEvents,
    ) -> anyhow::Result<(Arc<Federation>, mpsc::Receiver<Vec<Alert>>)> {
        let db = db::Db::open(data_dir)?;
        let (mut fed, rx) = Federation::new(db, store, node, region, cfg)?;
        fed.bus = bus.clone();
        let fed = Arc::new(fed);
        bus.subscribe(Arc::new(uplink_feed::UplinkFeed::new(&fed)));
        Ok((fed, rx))
    }

    /// The federation over `db`, and the receiver of the alerts it releases to the
    /// correlator.
    fn new(
        db: db::Db,
        store: Arc<dyn Store>,
        node: String,
        region: RegionCode,
        cfg: FederationResolved,
    ) -> anyhow::Result<(Federation, mpsc::Receiver<Vec<Alert>>)> {
        let mut gate = gate::Gate::new(cfg.min_regions);
        let (regions, held) = db.call_blocking(|c| db::gate::load(c))?;
        gate.restore(regions, held);
        let (tx, rx) = mpsc::channel(64);
        let fed = Federation {
            db,
            store,
            node,
            region,
            gate: Mutex::new(gate),
            cfg,
            queued: Notify::new(),
            to_correlator: tx,
            parent_seen: Mutex::new(None),
            snapshot_progress: Mutex::default(),
            link_progress: Mutex::default(),
            bus: NodeEvents::new(),
            intel: std::sync::OnceLock::new(),
            supervision: std::sync::OnceLock::new(),
        };
        Ok((fed, rx))
    }

    /// The store this federation reads incidents from and writes remote alerts to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether this node pushes to a parent.
    pub fn has_parent(&self) -> bool {
        self.cfg.parent.is_some()
    }
}

impl Federation {
    /// An incident changed (correlator or workflow): a child queues its snapshot and, when it
    /// is linked to a parent incident, its new timeline entries; a parent links it to child
    /// incidents and sends its new timeline entries to the children it was dispatched to.
    pub async fn incident_changed(&self, inc: &Incident) {
        if self.has_parent()
            && let Err(e) = self.child_incident_changed(inc).await
        {
            warn!(incident = %inc.id, error = %e, "federation: incident change not queued");
        }
        if let Err(e) = self.parent_incident_changed(inc).await {
            warn!(incident = %inc.id, error = %e, "federation: incident links not updated");
        }
    }
}
