//! The node's assets (`[assets]`): the registry of systems and hosts, scanner and baseline
//! results and their lifecycle, kept in `assets.sqlite` ([`db`]) behind one book ([`hub`]);
//! the detect-thread step that fills every alert's target and notes the hosts seen
//! ([`stage`]); the overdue-finding check and the roll-up for the parent ([`jobs`]).

use std::sync::{Arc, RwLock};

use onewall_assets::weigh::Targets;

pub mod db;
pub mod hub;
pub mod jobs;
pub mod stage;

pub use hub::Assets;
pub use stage::AssetStage;

/// The target snapshot in use, swapped by the hub after every change and read by the detect
/// stage once per batch (a read lock and an `Arc` clone).
#[derive(Debug, Clone)]
pub struct TargetsHandle(Arc<RwLock<Arc<Targets>>>);

impl TargetsHandle {
    pub fn new(targets: Arc<Targets>) -> TargetsHandle {
        TargetsHandle(Arc::new(RwLock::new(targets)))
    }

    /// The snapshot in use now.
    pub fn current(&self) -> Arc<Targets> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Put `targets` in use; the detect stage takes it at its next batch.
    pub fn replace(&self, targets: Arc<Targets>) {
        match self.0.write() {
            Ok(mut g) => *g = targets,
            Err(poisoned) => *poisoned.into_inner() = targets,
        }
    }
}

/// The API's extension serving `/api/v1/assets/*`.
pub fn service(assets: &Arc<Assets>) -> onewall_api::assets::AssetsService {
    onewall_api::assets::AssetsService {
        hub: Arc::new(hub::Hub(assets.clone())),
    }
}
