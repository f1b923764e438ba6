//! `[correlate]` of the node's configuration: Sigma correlation rules, incident grouping and
//! grading. [`CorrelateConfig::validate`] names every mistake; [`CorrelateConfig::grouping`]
//! and [`CorrelateConfig::sigma`] build what the engines run with.

use std::collections::BTreeMap;

use onewall_model::config::ConfigError;
use serde::{Deserialize, Serialize};

use crate::sigma::SigmaConfig;
use crate::{ENTITY_KINDS, GradingPolicy, GroupingConfig, Importance};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Alerts sharing an entity (source or destination address, host, user, file hash,
    /// domain, process on a host) within this many seconds of event time join one incident.
    pub window_secs: i64,
    /// Per entity kind (`source_ip`, `destination_ip`, `host`, `user`, `hash`, `domain`,
    /// `process`), a window other than `window_secs`; 0 stops that kind from grouping.
    pub entity_windows: BTreeMap<String, i64>,
    /// A resolved incident reopens when its entities recur within this many seconds of its
    /// resolution; 0 never reopens.
    pub reopen_secs: i64,
    /// Sigma correlations: how far behind the latest event time an alert may arrive and still
    /// count, in seconds.
    pub allowed_lateness_secs: i64,
    /// Sigma correlations: groups (distinct group-by values) kept per rule; the least recently
    /// seen is evicted past it (counted in `onewall_correlate_evictions_total`).
    pub max_keys_per_rule: usize,
    /// Sigma correlations: alerts kept per group; the oldest go first.
    pub max_entries_per_key: usize,
    /// Sigma correlations: seconds a group stays quiet after it fired, for rules without their
    /// own `suppress`. Absent: the rule's timespan. 0: no suppression.
    pub suppress_secs: Option<i64>,
    /// Seconds between snapshots of the correlation state (`correlation.snapshot` in the store
    /// directory), also written at shutdown and read at start.
    pub snapshot_interval_secs: u64,
    /// Grading: importance of an incident that hit neither a registered target nor an asset
    /// listed in `assets` (`general`, `important`, `critical`).
    pub default_importance: String,
    /// Grading: host names and addresses → `general`, `important` or `critical`. Overrides
    /// what the asset registry gives (from 等保 level and CII) for the values it names.
    pub assets: BTreeMap<String, String>,
    /// Grading: each of these numbers of affected regions raises the grade one step.
    pub region_steps: Vec<usize>,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        let sigma = SigmaConfig::default();
        CorrelateConfig {
            window_secs: crate::DEFAULT_WINDOW_SECS,
            entity_windows: BTreeMap::new(),
            reopen_secs: crate::DEFAULT_REOPEN_SECS,
            allowed_lateness_secs: sigma.allowed_lateness_secs,
            max_keys_per_rule: sigma.max_keys_per_rule,
            max_entries_per_key: sigma.max_entries_per_key,
            suppress_secs: None,
            snapshot_interval_secs: 60,
            default_importance: "general".into(),
            assets: BTreeMap::new(),
            region_steps: GradingPolicy::default().region_steps,
        }
    }
}

impl CorrelateConfig {
    /// The incident grouping settings (call [`CorrelateConfig::validate`] first: bad values fall back here).
    pub fn grouping(&self) -> GroupingConfig {
        let mut g = GroupingConfig::uniform(self.window_secs.max(1));
        for kind in ENTITY_KINDS {
            if let Some(secs) = self.entity_windows.get(kind.as_str()) {
                g.windows.insert(kind, (*secs).max(0));
            }
        }
        g.reopen_secs = self.reopen_secs.max(0);
        g.grading.default_importance =
            Importance::parse(&self.default_importance).unwrap_or(Importance::General);
        g.grading.assets = self
            .assets
            .iter()
            .filter_map(|(k, v)| Importance::parse(v).map(|i| (k.clone(), i)))
            .collect();
        g.grading.region_steps = self.region_steps.clone();
        g
    }

    /// The Sigma correlation engine's settings.
    pub fn sigma(&self) -> SigmaConfig {
        SigmaConfig {
            allowed_lateness_secs: self.allowed_lateness_secs.max(0),
            max_keys_per_rule: self.max_keys_per_rule.max(1),
            max_entries_per_key: self.max_entries_per_key.max(1),
            suppress_secs: self.suppress_secs.map(|s| s.max(0)),
        }
    }

    /// Every mistake in `[correlate]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut push = |key: String, reason: String| errors.push(ConfigError::new(key, reason));
        if self.window_secs <= 0 {
            push(
                "correlate.window_secs".into(),
                "must be greater than 0".into(),
            );
        }
        for (kind, secs) in &self.entity_windows {
            let key = format!("correlate.entity_windows.{kind}");
            if !ENTITY_KINDS.iter().any(|k| k.as_str() == kind) {
                push(
                    key,
                    "unknown entity kind; expected source_ip, destination_ip, host, user, hash, \
                     domain or process"
                        .into(),
                );
            } else if *secs < 0 {
                push(key, "must be 0 (off) or more".into());
            }
        }
        for (key, v) in [
            ("reopen_secs", self.reopen_secs),
            ("allowed_lateness_secs", self.allowed_lateness_secs),
            ("suppress_secs", self.suppress_secs.unwrap_or(0)),
        ] {
            if v < 0 {
                push(format!("correlate.{key}"), "must be 0 or more".into());
            }
        }
        for (key, v) in [
            ("max_keys_per_rule", self.max_keys_per_rule),
            ("max_entries_per_key", self.max_entries_per_key),
        ] {
            if v == 0 {
                push(format!("correlate.{key}"), "must be greater than 0".into());
            }
        }
        if Importance::parse(&self.default_importance).is_none() {
            push(
                "correlate.default_importance".into(),
                format!(
                    "{:?} is not general, important or critical",
                    self.default_importance
                ),
            );
        }
        for (asset, v) in &self.assets {
            if Importance::parse(v).is_none() {
                push(
                    format!("correlate.assets.{asset}"),
                    format!("{v:?} is not general, important or critical"),
                );
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_are_each_reported_with_their_key() {
        let c = CorrelateConfig {
            window_secs: 0,
            entity_windows: [("mac".to_string(), 5), ("hash".to_string(), -1)]
                .into_iter()
                .collect(),
            max_keys_per_rule: 0,
            assets: [("db01".to_string(), "vital".to_string())]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let errors: Vec<String> = c.validate().iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("correlate.entity_windows.mac: unknown"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("correlate.assets.db01: "))
        );
    }

    #[test]
    fn settings_reach_the_engines() {
        let c = CorrelateConfig {
            entity_windows: [("hash".to_string(), 86_400)].into_iter().collect(),
            assets: [("db01".to_string(), "critical".to_string())]
                .into_iter()
                .collect(),
            suppress_secs: Some(0),
            ..Default::default()
        };
        let g = c.grouping();
        assert_eq!(g.windows[&onewall_model::EntityKind::Hash], 86_400);
        assert_eq!(g.windows[&onewall_model::EntityKind::User], 1800);
        assert_eq!(g.grading.assets["db01"], Importance::Critical);
        assert_eq!(c.sigma().suppress_secs, Some(0));
    }
}
