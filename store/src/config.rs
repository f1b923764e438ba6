//! `[store]` and `[store.clickhouse]` of the node's configuration: where events go and how
//! long they stay. [`StoreConfig::validate`] names every mistake;
//! [`ClickHouseConfig::options`] builds what [`crate::clickhouse`] connects with.
//!
//! `[store.spool]`, the durable spool in front of the store, belongs to the ingest side: the
//! section carries it as the type parameter `S`, which the binary fills with ingest's own.

use std::path::PathBuf;

use onewall_model::config::ConfigError;
use serde::{Deserialize, Serialize};

use crate::clickhouse::{ClickHouseOptions, Cluster};

/// Least `store.retention_days` accepted (other than 0, keep everything): the Cybersecurity Law
/// (网络安全法, article 21) requires network logs be kept for at least six months, and six
/// calendar months can be 184 days.
pub const MIN_RETENTION_DAYS: u32 = 180;

/// Default `store.retention_days`: six months in the longest case (184 days) and a margin.
pub const DEFAULT_RETENTION_DAYS: u32 = 186;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(
    deny_unknown_fields,
    default,
    bound(deserialize = "S: Deserialize<'de> + Default")
)]
pub struct StoreConfig<S> {
    /// `embedded` (SQLite in `path`) or `clickhouse` (`[store.clickhouse]`).
    pub backend: String,
    /// Directory of the embedded store, and of the spool whatever the backend.
    pub path: PathBuf,
    /// Days of events to keep; older days are dropped whole. At least 180 (the Cybersecurity
    /// Law asks for six months); 0 keeps everything.
    pub retention_days: u32,
    /// Days of alerts to keep; 0 keeps them all. When set, at least `retention_days`.
    /// Incidents are kept.
    pub alert_retention_days: u32,
    pub clickhouse: ClickHouseConfig,
    /// `[store.spool]`, checked by its owner.
    pub spool: S,
}

impl<S: Default> Default for StoreConfig<S> {
    fn default() -> Self {
        StoreConfig {
            backend: "embedded".into(),
            path: "./onewall-data".into(),
            retention_days: DEFAULT_RETENTION_DAYS,
            alert_retention_days: 0,
            clickhouse: ClickHouseConfig::default(),
            spool: S::default(),
        }
    }
}

/// The ClickHouse server, when `store.backend = "clickhouse"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP interface of the server, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database onewall creates (if absent) and uses.
    pub database: String,
    pub user: String,
    pub password: String,
    /// Most events in one insert.
    pub batch_max_events: usize,
    /// Milliseconds the writer waits for more events before an insert that is not full.
    pub batch_linger_ms: u64,
    /// Name of a cluster in the servers' `remote_servers`: tables are created `ON CLUSTER`
    /// as ReplicatedMergeTree (needs ZooKeeper) with Distributed tables over them. Empty for
    /// a single server.
    pub cluster: String,
    /// With `cluster`: the local tables' engine, `replicated` (ReplicatedMergeTree) or
    /// `plain` (MergeTree on each shard, no replication: no ZooKeeper needed).
    pub cluster_engine: String,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "onewall".into(),
            user: "default".into(),
            password: String::new(),
            batch_max_events: 65_536,
            batch_linger_ms: 1000,
            cluster: String::new(),
            cluster_engine: "replicated".into(),
        }
    }
}

impl<S> StoreConfig<S> {
    /// Every mistake in `[store]` and `[store.clickhouse]`, each naming its key (not those
    /// of `[store.spool]`: its owner checks them).
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        match self.backend.as_str() {
            "embedded" => {}
            "clickhouse" => self.clickhouse.check(&mut errors),
            other => errors.push(ConfigError::new(
                "store.backend",
                format!("{other:?} is not one of \"embedded\", \"clickhouse\""),
            )),
        }
        if self.retention_days != 0 && self.retention_days < MIN_RETENTION_DAYS {
            errors.push(ConfigError::new(
                "store.retention_days",
                format!(
                    "{} is too short: the Cybersecurity Law requires security logs be kept at \
                     least six months, so at least {MIN_RETENTION_DAYS} days (default \
                     {DEFAULT_RETENTION_DAYS}; 0 keeps everything)",
                    self.retention_days
                ),
            ));
        }
        if self.alert_retention_days != 0
            && (self.retention_days == 0 || self.alert_retention_days < self.retention_days)
        {
            errors.push(ConfigError::new(
                "store.alert_retention_days",
                format!(
                    "{} is shorter than the events' retention_days; alerts may be kept longer \
                     than events, not shorter",
                    self.alert_retention_days
                ),
            ));
        }
        errors
    }

    /// `[store.clickhouse]` (with the events' retention) as [`crate::clickhouse`] takes it.
    pub fn clickhouse_options(&self) -> ClickHouseOptions {
        let c = &self.clickhouse;
        ClickHouseOptions {
            url: c.url.clone(),
            database: c.database.clone(),
            user: c.user.clone(),
            password: c.password.clone(),
            cluster: (!c.cluster.is_empty()).then(|| Cluster {
                name: c.cluster.clone(),
                replicated: c.cluster_engine == "replicated",
            }),
            retention_days: self.retention_days,
        }
    }
}

impl ClickHouseConfig {
    fn check(&self, errors: &mut Vec<ConfigError>) {
        let c = self;
        if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
            errors.push(ConfigError::new(
                "store.clickhouse.url",
                format!("{:?} is not an http:// or https:// URL", c.url),
            ));
        }
        if !valid_name(&c.database) {
            errors.push(ConfigError::new(
                "store.clickhouse.database",
                format!("{:?} is not a name (letters, digits, _)", c.database),
            ));
        }
        if !c.cluster.is_empty() && !valid_name(&c.cluster) {
            errors.push(ConfigError::new(
                "store.clickhouse.cluster",
                format!("{:?} is not a name (letters, digits, _)", c.cluster),
            ));
        }
        if !matches!(c.cluster_engine.as_str(), "replicated" | "plain") {
            errors.push(ConfigError::new(
                "store.clickhouse.cluster_engine",
                format!("{:?} is not one of replicated, plain", c.cluster_engine),
            ));
        }
        if c.batch_max_events == 0 {
            errors.push(ConfigError::new(
                "store.clickhouse.batch_max_events",
                "must be greater than 0",
            ));
        }
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    type StoreConfig = super::StoreConfig<()>;

    fn errors(s: &StoreConfig) -> Vec<String> {
        s.validate().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_pass() {
        assert_eq!(errors(&StoreConfig::default()), Vec::<String>::new());
    }

    #[test]
    fn short_retention_is_refused_with_the_reason() {
        let s = StoreConfig {
            retention_days: 90,
            ..StoreConfig::default()
        };
        let e = errors(&s);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("store.retention_days: 90 is too short"));
        assert!(e[0].contains("Cybersecurity Law"));
        for ok in [0, 180, 186, 3650] {
            let s = StoreConfig {
                retention_days: ok,
                ..StoreConfig::default()
            };
            assert!(errors(&s).is_empty(), "{ok}");
        }
    }

    #[test]
    fn alerts_may_not_keep_shorter() {
        let s = StoreConfig {
            alert_retention_days: 185,
            ..StoreConfig::default()
        };
        assert!(errors(&s)[0].starts_with("store.alert_retention_days"));
    }

    #[test]
    fn clickhouse_keys_are_checked() {
        let mut s = StoreConfig {
            backend: "clickhouse".into(),
            ..StoreConfig::default()
        };
        s.clickhouse.url = "127.0.0.1:8123".into();
        s.clickhouse.database = "a-b".into();
        s.clickhouse.cluster_engine = "zk".into();
        s.clickhouse.batch_max_events = 0;
        let e = errors(&s);
        assert_eq!(e.len(), 4, "{e:?}");
        for key in [
            "store.clickhouse.url",
            "store.clickhouse.database",
            "store.clickhouse.cluster_engine",
            "store.clickhouse.batch_max_events",
        ] {
            assert!(e.iter().any(|l| l.starts_with(key)), "{key} in {e:?}");
        }
    }

    #[test]
    fn options_carry_the_cluster_and_retention() {
        let mut s = StoreConfig::default();
        assert!(s.clickhouse_options().cluster.is_none());
        s.clickhouse.cluster = "soc".into();
        s.clickhouse.cluster_engine = "plain".into();
        let o = s.clickhouse_options();
        let cluster = o.cluster.expect("a cluster");
        assert_eq!((cluster.name.as_str(), cluster.replicated), ("soc", false));
        assert_eq!(o.retention_days, DEFAULT_RETENTION_DAYS);
    }
}
