//! The compiled detectors and their running state. (Contract: the public items and their
//! signatures are fixed; the bodies are to be written.)

use std::sync::Arc;

use onewall_model::{Alert, AnomalyKind, Event, Severity, Timestamp};
use onewall_rules::{LoadReport, Placeholders, RuleSource};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::kind::Counters;

/// Node-wide settings for every detector (`[anomaly]` in the node's configuration).
#[derive(Debug, Clone)]
pub struct AnomalyConfig {
    pub calendar: Calendar,
    /// Groups per detector when the detector does not say (`max-groups`).
    pub max_groups: usize,
    /// Entries per group when the detector does not say (`max-entries`).
    pub max_entries: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            calendar: Calendar::china(),
            max_groups: 100_000,
            max_entries: 1_000,
        }
    }
}

/// What the API shows of a loaded detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorInfo {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub level: Severity,
    pub tags: Vec<String>,
    pub kind: AnomalyKind,
    pub path: String,
    pub group_by: Vec<String>,
    pub field: Vec<String>,
    pub learning_secs: i64,
    pub max_groups: usize,
    pub max_entries: usize,
}

/// A detector's running state as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorStatus {
    pub id: String,
    pub kind: AnomalyKind,
    /// Still learning: baselines grow, nothing is reported.
    pub learning: bool,
    /// When learning ends (event time), once the detector has seen an event.
    pub learning_until: Option<Timestamp>,
    /// The first and latest event time the detector observed.
    pub first_seen: Option<Timestamp>,
    pub watermark: Option<Timestamp>,
    pub groups: usize,
    pub max_groups: usize,
    /// Events its selection matched.
    pub observed: u64,
    /// Alerts it raised.
    pub alerts: u64,
    /// Estimated bytes of state.
    pub state_bytes: usize,
    pub counters: Counters,
}

/// The detectors of a rule set, compiled: their documents and their selections (one small
/// rule engine). Immutable; a reload builds a new one.
#[derive(Debug)]
pub struct DetectorSet {}

impl DetectorSet {
    /// Read every detector document of `sources` (documents with an `anomaly:` key; others are
    /// skipped) and compile their selections with `placeholders`. A broken detector is
    /// reported (path, id, reason) and skipped; the others load.
    pub fn compile(
        sources: &[RuleSource],
        placeholders: &Placeholders,
        config: &AnomalyConfig,
    ) -> (DetectorSet, LoadReport) {
        let _ = (sources, placeholders, config);
        (DetectorSet {}, LoadReport::default())
    }

    /// An empty set.
    pub fn empty() -> DetectorSet {
        DetectorSet {}
    }

    pub fn detectors(&self) -> &[DetectorInfo] {
        &[]
    }

    pub fn len(&self) -> usize {
        self.detectors().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The running state of a [`DetectorSet`]: groups and baselines per detector. Owned by one
/// thread (the node's detect stage); the API reads [`Anomalies::status`] copies.
#[derive(Debug)]
pub struct Anomalies {
    set: Arc<DetectorSet>,
}

/// What a reload did to the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// Detectors whose id and definition are unchanged: state kept.
    pub kept: usize,
    /// Detectors changed or removed: state dropped (their groups counted here).
    pub dropped_groups: usize,
    /// New detectors: they start learning.
    pub added: usize,
}

/// Why a snapshot could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("anomaly snapshot is not valid: {0}")]
    Invalid(String),
}

impl Anomalies {
    pub fn new(set: Arc<DetectorSet>, config: AnomalyConfig) -> Anomalies {
        let _ = config;
        Anomalies { set }
    }

    /// The set in use (compared by pointer to notice a reload).
    pub fn set(&self) -> &Arc<DetectorSet> {
        &self.set
    }

    /// Use a new set: keep the state of detectors whose id and definition are unchanged.
    pub fn replace_set(&mut self, set: Arc<DetectorSet>) -> ReloadOutcome {
        self.set = set;
        ReloadOutcome::default()
    }

    /// Feed a batch (after the rules); push an alert per anomaly onto `out`. `now` is the
    /// alerts' creation time.
    pub fn observe_batch(&mut self, events: &[Event], now: Timestamp, out: &mut Vec<Alert>) {
        let _ = (events, now, out);
    }

    /// Every detector's state, to write to disk.
    pub fn snapshot(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restore from [`Anomalies::snapshot`]'s bytes: the state of detectors of the current
    /// set with the same id and definition. Returns the groups restored.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, SnapshotError> {
        let _ = bytes;
        Ok(0)
    }

    /// Each detector's state, for the API.
    pub fn status(&self) -> Vec<DetectorStatus> {
        Vec::new()
    }
}
