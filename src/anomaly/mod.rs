//! The node's anomaly detection: the detectors of the rule set (documents with an `anomaly:`
//! key, compiled by `onewall-anomaly` at every load and reload of the rules and swapped with
//! them through a [`DetectorHandle`]), the detect-thread stage that feeds them every batch
//! after the rules and threat intelligence ([`stage::AnomalyStage`]), its snapshot file
//! (`anomaly.snapshot` in the data directory) and the status the API reads ([`Board`],
//! served by [`hub::service`]).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use onewall_anomaly::{AnomalyConfig, DetectorInfo, DetectorSet, DetectorStatus};
use onewall_model::Timestamp;
use onewall_rules::LoadReport;
use onewall_rules::pack::RuleSet;

pub mod hub;
pub mod stage;

pub use hub::service;
pub use stage::AnomalyStage;

/// The snapshot file, in the data directory.
pub const SNAPSHOT_FILE: &str = "anomaly.snapshot";

/// The detectors in use, shared by whoever reloads the rules and the detect stage, which
/// compares the set by pointer once per batch and moves its state over when it changed.
#[derive(Debug, Clone)]
pub struct DetectorHandle(Arc<RwLock<Arc<DetectorSet>>>);

impl DetectorHandle {
    pub fn new(set: DetectorSet) -> DetectorHandle {
        DetectorHandle(Arc::new(RwLock::new(Arc::new(set))))
    }

    /// The set in use now.
    pub fn current(&self) -> Arc<DetectorSet> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Put `set` in use; the detect stage takes it at its next batch.
    pub fn replace(&self, set: DetectorSet) {
        let set = Arc::new(set);
        match self.0.write() {
            Ok(mut g) => *g = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }
}

/// `[anomaly]` as the node runs it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub config: AnomalyConfig,
    pub snapshot_every: Duration,
    /// Where `anomaly.snapshot` is kept (none: nothing is written or restored).
    pub data_dir: Option<PathBuf>,
}

impl Settings {
    /// From the checked configuration.
    pub fn of(r: &crate::config::Resolved) -> Settings {
        let a = &r.config.anomaly;
        Settings {
            enabled: a.enabled,
            // Checked when the configuration was read.
            config: a.resolve().unwrap_or_default(),
            snapshot_every: Duration::from_secs(a.snapshot_interval_secs.max(1)),
            data_dir: Some(r.config.store.path.clone()),
        }
    }

    /// The snapshot's path.
    pub fn snapshot_path(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| d.join(SNAPSHOT_FILE))
    }
}

/// Compile the detectors of `set` (its anomaly sources after pack pipelines, with its
/// placeholders); with detection off, none.
pub fn compile(set: &RuleSet, settings: &Settings) -> (DetectorSet, LoadReport) {
    if !settings.enabled {
        return (DetectorSet::empty(), LoadReport::default());
    }
    let (sources, placeholders) = set.anomaly_sources();
    DetectorSet::compile(sources, placeholders, &settings.config)
}

/// What the API reads of the detectors' state: a copy refreshed by the detect thread at most
/// once a second (and at every change of the set), so a request never waits for a batch.
#[derive(Debug, Clone, Default)]
pub struct Board {
    pub status: Vec<DetectorStatus>,
    /// When it was taken.
    pub updated: Option<Timestamp>,
}

/// The board shared between the detect thread and the API.
pub type SharedBoard = Arc<RwLock<Board>>;

/// A detector's status before the stage has reported one (a detector added by a reload and
/// not yet fed a batch).
pub fn fresh_status(d: &DetectorInfo) -> DetectorStatus {
    DetectorStatus {
        id: d.id.clone(),
        kind: d.kind,
        learning: true,
        learning_until: None,
        first_seen: None,
        watermark: None,
        groups: 0,
        max_groups: d.max_groups,
        observed: 0,
        alerts: 0,
        state_bytes: 0,
        counters: onewall_anomaly::kind::Counters::default(),
    }
}
