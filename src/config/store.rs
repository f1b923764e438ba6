//! `[store]`, `[store.clickhouse]` and `[store.spool]`: where events go, how long they stay, and
//! the durable spool in front of the store.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Least `store.retention_days` accepted (other than 0, keep everything): the Cybersecurity Law
/// (网络安全法, article 21) requires network logs be kept for at least six months, and six
/// calendar months can be 184 days.
pub const MIN_RETENTION_DAYS: u32 = 180;

/// Default `store.retention_days`: six months in the longest case (184 days) and a margin.
pub const DEFAULT_RETENTION_DAYS: u32 = 186;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
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
    pub spool: SpoolConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: "embedded".into(),
            path: "./onewall-data".into(),
            retention_days: DEFAULT_RETENTION_DAYS,
            alert_retention_days: 0,
            clickhouse: ClickHouseConfig::default(),
            spool: SpoolConfig::default(),
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

/// The durable spool: every accepted event is written here before it is acknowledged and
/// before detection sees it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// Directory of the segment files; empty means `spool` under `store.path`.
    pub path: PathBuf,
    /// When appends reach the disk: `always` (before each acknowledgement), `interval` (every
    /// `fsync_interval_ms`) or `never` (left to the operating system).
    pub fsync: String,
    pub fsync_interval_ms: u64,
    /// Most bytes the spool holds before TCP and HTTP are pushed back and UDP is dropped
    /// (counted).
    pub max_bytes: u64,
    /// Size at which a new segment file is started.
    pub segment_bytes: u64,
    /// Free space kept on the spool's filesystem for the store's writes (or a tenth of the
    /// filesystem, if smaller): below it, new events are refused as "disk full" (TCP is
    /// pushed back, HTTP gets 503, UDP is dropped and counted) while the store goes on.
    /// 0: no reserve (appends stop only when a write finds the disk full).
    pub disk_reserve_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            path: PathBuf::new(),
            fsync: "interval".into(),
            fsync_interval_ms: 200,
            max_bytes: 4 << 30,
            segment_bytes: 64 << 20,
            disk_reserve_bytes: 256 << 20,
        }
    }
}

impl SpoolConfig {
    /// The spool's directory for a store under `store_path`.
    pub fn dir(&self, store_path: &std::path::Path) -> PathBuf {
        if self.path.as_os_str().is_empty() {
            store_path.join("spool")
        } else {
            self.path.clone()
        }
    }
}

/// Check the meaning of `[store]`, pushing `store.key: reason` lines.
pub fn check(s: &StoreConfig, errors: &mut Vec<String>) {
    match s.backend.as_str() {
        "embedded" => {}
        "clickhouse" => {
            let c = &s.clickhouse;
            if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
                errors.push(format!(
                    "store.clickhouse.url: {:?} is not an http:// or https:// URL",
                    c.url
                ));
            }
            if !valid_name(&c.database) {
                errors.push(format!(
                    "store.clickhouse.database: {:?} is not a name (letters, digits, _)",
                    c.database
                ));
            }
            if !c.cluster.is_empty() && !valid_name(&c.cluster) {
                errors.push(format!(
                    "store.clickhouse.cluster: {:?} is not a name (letters, digits, _)",
                    c.cluster
                ));
            }
            if !matches!(c.cluster_engine.as_str(), "replicated" | "plain") {
                errors.push(format!(
                    "store.clickhouse.cluster_engine: {:?} is not one of replicated, plain",
                    c.cluster_engine
                ));
            }
            if c.batch_max_events == 0 {
                errors.push("store.clickhouse.batch_max_events: must be greater than 0".into());
            }
        }
        other => errors.push(format!(
            "store.backend: {other:?} is not one of \"embedded\", \"clickhouse\""
        )),
    }
    if s.retention_days != 0 && s.retention_days < MIN_RETENTION_DAYS {
        errors.push(format!(
            "store.retention_days: {} is too short: the Cybersecurity Law requires security logs \
             be kept at least six months, so at least {MIN_RETENTION_DAYS} days (default \
             {DEFAULT_RETENTION_DAYS}; 0 keeps everything)",
            s.retention_days
        ));
    }
    if s.alert_retention_days != 0
        && (s.retention_days == 0 || s.alert_retention_days < s.retention_days)
    {
        errors.push(format!(
            "store.alert_retention_days: {} is shorter than the events' retention_days; alerts \
             may be kept longer than events, not shorter",
            s.alert_retention_days
        ));
    }
    let sp = &s.spool;
    if !matches!(sp.fsync.as_str(), "always" | "interval" | "never") {
        errors.push(format!(
            "store.spool.fsync: {:?} is not one of always, interval, never",
            sp.fsync
        ));
    }
    if sp.fsync == "interval" && sp.fsync_interval_ms == 0 {
        errors.push("store.spool.fsync_interval_ms: must be greater than 0".into());
    }
    if sp.segment_bytes < 4096 {
        errors.push("store.spool.segment_bytes: must be at least 4096".into());
    }
    if sp.max_bytes < sp.segment_bytes.saturating_mul(2) {
        errors.push("store.spool.max_bytes: must be at least twice segment_bytes".into());
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

    fn errors(s: &StoreConfig) -> Vec<String> {
        let mut e = Vec::new();
        check(s, &mut e);
        e
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
        s.spool.fsync = "sometimes".into();
        let e = errors(&s);
        for key in [
            "store.clickhouse.url",
            "store.clickhouse.database",
            "store.clickhouse.cluster_engine",
            "store.spool.fsync",
        ] {
            assert!(e.iter().any(|l| l.starts_with(key)), "{key} in {e:?}");
        }
    }
}
