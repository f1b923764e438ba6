//! The engine's state as a value that survives a restart: written by the node to a file in
//! its data directory on shutdown (and periodically), read back on start.

use serde::{Deserialize, Serialize};

use super::window::Group;
use super::{SigmaCorrelator, Stats};

/// Snapshot format version; a file of another version is refused (and the node starts empty).
pub const SNAPSHOT_VERSION: u32 = 1;

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("correlation snapshot is not valid: {0}")]
    Format(#[from] serde_json::Error),
    #[error("correlation snapshot version {found} is not supported (expected {expected})")]
    Version { found: u32, expected: u32 },
}

/// One rule's groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RuleSnapshot {
    id: String,
    /// The definition hash the groups were built under (0 in snapshots written before it
    /// was recorded: taken as matching).
    #[serde(default)]
    hash: u64,
    watermark: i64,
    groups: Vec<(String, Group)>,
}

/// Every rule's groups, by rule id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    version: u32,
    rules: Vec<RuleSnapshot>,
}

impl Snapshot {
    /// As bytes (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From bytes written by [`Snapshot::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let s: Snapshot = serde_json::from_slice(bytes)?;
        if s.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: s.version,
                expected: SNAPSHOT_VERSION,
            });
        }
        Ok(s)
    }

    /// Groups held.
    pub fn keys(&self) -> usize {
        self.rules.iter().map(|r| r.groups.len()).sum()
    }
}

impl SigmaCorrelator {
    /// The state of every rule.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            rules: self
                .rules
                .iter()
                .map(|r| {
                    // Oldest touched first, so a restore keeps the eviction order.
                    let mut groups: Vec<(String, Group)> = r
                        .groups
                        .iter()
                        .map(|(k, g)| (k.to_string(), g.clone()))
                        .collect();
                    groups.sort_by_key(|(_, g)| g.seq);
                    RuleSnapshot {
                        id: r.def.rule.id.clone(),
                        hash: r.hash,
                        watermark: r.watermark,
                        groups,
                    }
                })
                .collect(),
        }
    }

    /// Take the groups of rules that are still loaded with the same definition (matched by id
    /// and definition hash); rules that are gone or changed are ignored, rules that are new
    /// start empty. Returns the number of groups restored.
    pub fn restore(&mut self, snapshot: Snapshot) -> usize {
        let max_keys = self.config.max_keys_per_rule.max(1);
        let mut restored = 0;
        for rs in snapshot.rules {
            let Some(state) = self
                .rules
                .iter_mut()
                .find(|r| r.def.rule.id == rs.id && (rs.hash == 0 || rs.hash == r.hash))
            else {
                continue;
            };
            state.watermark = state.watermark.max(rs.watermark);
            let skip = rs.groups.len().saturating_sub(max_keys);
            for (key, mut group) in rs.groups.into_iter().skip(skip) {
                state.seq += 1;
                group.seq = state.seq;
                let key: std::sync::Arc<str> = key.into();
                state.order.push_back((key.clone(), state.seq));
                state.groups.insert(key, group);
                restored += 1;
            }
        }
        restored
    }

    /// Reset the counters (e.g. after a restore, for tests).
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }
}
