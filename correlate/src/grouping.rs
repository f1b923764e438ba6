//! How alerts are grouped into incidents: the window per entity kind, the reopen time, and
//! the grading and region settings incidents are built with.

use std::collections::HashMap;

use onewall_model::{EntityKind, RegionTree};

use crate::grading::{GradingPolicy, TacticSteps};

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

    pub(crate) fn window(&self, kind: EntityKind) -> i64 {
        self.windows.get(&kind).copied().unwrap_or(0)
    }

    pub(crate) fn max_window(&self) -> i64 {
        self.windows.values().copied().max().unwrap_or(0).max(1)
    }
}

impl Default for GroupingConfig {
    fn default() -> Self {
        Self::uniform(DEFAULT_WINDOW_SECS)
    }
}
