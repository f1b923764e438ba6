//! Correlation: alerts become incidents an analyst can work.
//!
//! Two engines, both pure state (no clock of their own, no I/O):
//!
//! - [`sigma::SigmaCorrelator`] runs Sigma correlation rules over the alert stream and raises
//!   correlation alerts, which join the stream like any other alert.
//! - [`Correlator`] groups alerts into incidents by the entities they share (source address,
//!   destination address, host, user, file hash, domain, process), each kind within its own
//!   window on event time; incidents that become linked through a new alert merge; a resolved
//!   incident reopens when its entities recur within the reopen time; the ATT&CK tactics seen
//!   raise an incident's severity; [`grading`] classifies and grades it.
//!
//! [`Correlator::updates`] takes alerts and returns [`Update`]s for the caller to apply to
//! storage: new incidents to insert, alerts to add with [`extend_incident`] inside the store's
//! atomic update (so an analyst's edit made meanwhile is never overwritten), and merges to
//! carry out with [`merge_incident`] and [`mark_merged`].

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

mod correlator;
pub mod grading;
mod incident;
pub mod sigma;

use std::collections::HashMap;

use onewall_model::{EntityKind, RegionTree};

pub use correlator::{Correlator, Update};
pub use grading::{GradingPolicy, Importance, TacticSteps};
pub use incident::{
    Refused, TIMELINE_SAMPLE, apply_alerts, apply_alerts_with, extend_incident, grade,
    incident_region, mark_merged, merge_incident,
};

/// The actor name the correlator writes into incident timelines.
pub const ACTOR: &str = "correlator";

/// Default grouping window: 30 minutes.
pub const DEFAULT_WINDOW_SECS: i64 = 30 * 60;

/// Default reopen time: a resolved incident reopens when its entities recur within a day.
pub const DEFAULT_REOPEN_SECS: i64 = 24 * 3600;

/// How alerts are grouped into incidents.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupingConfig {
    /// Window per entity kind, in seconds: an alert joins an incident that saw the same entity
    /// within this much event time. A kind absent or at 0 does not group.
    pub windows: HashMap<EntityKind, i64>,
    /// A resolved incident reopens when one of its entities recurs within this many seconds of
    /// its resolution; 0 never reopens.
    pub reopen_secs: i64,
    /// Severity floors by number of ATT&CK tactics seen.
    pub tactic_steps: TacticSteps,
    /// How incidents are graded.
    pub grading: GradingPolicy,
    /// The region tree: an incident whose alerts come from several regions belongs to their
    /// nearest common region.
    pub regions: std::sync::Arc<RegionTree>,
}

/// Every entity kind.
pub const ENTITY_KINDS: [EntityKind; 7] = [
    EntityKind::SourceIp,
    EntityKind::DestinationIp,
    EntityKind::Host,
    EntityKind::User,
    EntityKind::Hash,
    EntityKind::Domain,
    EntityKind::Process,
];

impl GroupingConfig {
    /// The same window for every entity kind.
    pub fn uniform(window_secs: i64) -> Self {
        GroupingConfig {
            windows: ENTITY_KINDS.iter().map(|k| (*k, window_secs)).collect(),
            reopen_secs: DEFAULT_REOPEN_SECS,
            tactic_steps: TacticSteps::default(),
            grading: GradingPolicy::default(),
            regions: std::sync::Arc::new(RegionTree::builtin()),
        }
    }

    fn window(&self, kind: EntityKind) -> i64 {
        self.windows.get(&kind).copied().unwrap_or(0)
    }

    fn max_window(&self) -> i64 {
        self.windows.values().copied().max().unwrap_or(0).max(1)
    }
}

impl Default for GroupingConfig {
    fn default() -> Self {
        Self::uniform(DEFAULT_WINDOW_SECS)
    }
}

#[cfg(test)]
mod tests;
