//! Open the configured store backend.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_store::clickhouse::{ClickHouseOptions, Cluster};
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

/// Open `[store]`'s backend; errors name the key at fault.
pub async fn open(cfg: &StoreConfig) -> anyhow::Result<Opened> {
    match cfg.backend.as_str() {
        "clickhouse" => {
            let c = &cfg.clickhouse;
            let store = ClickHouseStore::open(ClickHouseOptions {
                url: c.url.clone(),
                database: c.database.clone(),
                user: c.user.clone(),
                password: c.password.clone(),
                cluster: (!c.cluster.is_empty()).then(|| Cluster {
                    name: c.cluster.clone(),
                    replicated: c.cluster_engine == "replicated",
                }),
                retention_days: cfg.retention_days,
            })
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
            let store = SqliteStore::open(&cfg.path)
                .with_context(|| format!("store.path: opening {}", cfg.path.display()))?;
            Ok(Opened {
                store: Arc::new(store),
                batching: Batching::EMBEDDED,
                describe: cfg.path.display().to_string(),
            })
        }
    }
}
