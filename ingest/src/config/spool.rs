//! `[store.spool]`: the durable spool in front of the store. It sits in the `[store]` section
//! of the file, but the spool is ingest's, so its keys are defined and checked here.

use std::path::{Path, PathBuf};

use onewall_model::config::ConfigError;
use serde::{Deserialize, Serialize};

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
    pub fn dir(&self, store_path: &Path) -> PathBuf {
        if self.path.as_os_str().is_empty() {
            store_path.join("spool")
        } else {
            self.path.clone()
        }
    }

    /// Every mistake in `[store.spool]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if !matches!(self.fsync.as_str(), "always" | "interval" | "never") {
            errors.push(ConfigError::new(
                "store.spool.fsync",
                format!("{:?} is not one of always, interval, never", self.fsync),
            ));
        }
        if self.fsync == "interval" && self.fsync_interval_ms == 0 {
            errors.push(ConfigError::new(
                "store.spool.fsync_interval_ms",
                "must be greater than 0",
            ));
        }
        if self.segment_bytes < 4096 {
            errors.push(ConfigError::new(
                "store.spool.segment_bytes",
                "must be at least 4096",
            ));
        }
        if self.max_bytes < self.segment_bytes.saturating_mul(2) {
            errors.push(ConfigError::new(
                "store.spool.max_bytes",
                "must be at least twice segment_bytes",
            ));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass() {
        assert_eq!(SpoolConfig::default().validate(), []);
    }

    #[test]
    fn every_spool_mistake_is_named() {
        let s = SpoolConfig {
            fsync: "sometimes".into(),
            segment_bytes: 1024,
            max_bytes: 1024,
            ..SpoolConfig::default()
        };
        let e: Vec<_> = s.validate().iter().map(ToString::to_string).collect();
        assert_eq!(
            e,
            [
                "store.spool.fsync: \"sometimes\" is not one of always, interval, never",
                "store.spool.segment_bytes: must be at least 4096",
                "store.spool.max_bytes: must be at least twice segment_bytes",
            ]
        );
        let s = SpoolConfig {
            fsync_interval_ms: 0,
            ..SpoolConfig::default()
        };
        assert_eq!(s.validate()[0].key, "store.spool.fsync_interval_ms");
    }

    #[test]
    fn the_directory_defaults_under_the_store() {
        let s = SpoolConfig::default();
        assert_eq!(s.dir(Path::new("/data")), Path::new("/data/spool"));
        let s = SpoolConfig {
            path: "/fast/spool".into(),
            ..SpoolConfig::default()
        };
        assert_eq!(s.dir(Path::new("/data")), Path::new("/fast/spool"));
    }
}
