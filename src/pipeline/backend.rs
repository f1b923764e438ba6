//! Open the configured store backend.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_store::{ClickHouseStore, SqliteStore, Store};

use super::Batching;
use crate::config::StoreConfig;

/// The opened store, how the pipeline should batch writes to it, and a line naming it.
#[derive(Debug)]
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub batching: Batching,
    pub describe: String,
}

/// When opening something in `dir` failed: "disk full: ..." if its filesystem has less free
/// space than the store's reserve (SQLite only says "disk I/O error").
pub fn disk_full(dir: &std::path::Path, reserve: u64) -> Option<String> {
    use onewall_ingest::spool::{disk_full_message, disk_reserve, space};
    let (free, total) = space(dir).ok()?;
    let reserve = disk_reserve(reserve, total).max(1);
    (free < reserve).then(|| disk_full_message(free, reserve))
}

/// Open `[store]`'s backend; errors name the key at fault.
pub async fn open(cfg: &StoreConfig) -> anyhow::Result<Opened> {
    match cfg.backend.as_str() {
        "clickhouse" => {
            let c = &cfg.clickhouse;
            let store = ClickHouseStore::open(cfg.clickhouse_options())
                .await
                .with_context(|| format!("store.clickhouse: connecting to {}", c.url))?;
            Ok(Opened {
                store: Arc::new(store),
                batching: Batching {
                    max_events: c.batch_max_events,
                    linger: Duration::from_millis(c.batch_linger_ms),
                },
                describe: format!("clickhouse {} database {}", c.url, c.database),
            })
        }
        _ => {
            let store = SqliteStore::open(&cfg.path).map_err(|e| {
                let e = anyhow::Error::from(e);
                let disk = disk_full(&cfg.path, cfg.spool.disk_reserve_bytes)
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                e.context(format!("store.path: opening {}{disk}", cfg.path.display()))
            })?;
            Ok(Opened {
                store: Arc::new(store),
                batching: Batching::EMBEDDED,
                describe: cfg.path.display().to_string(),
            })
        }
    }
}
