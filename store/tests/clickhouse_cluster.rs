//! The ClickHouse store laid out for a cluster: local tables with Distributed tables over
//! them, on the one-node cluster `onewall_one_node` that `scripts/clickhouse` defines. The
//! local tables are plain MergeTree (`replicated: false`): ReplicatedMergeTree and `ON
//! CLUSTER` DDL need ZooKeeper, which the test server does not run. The whole conformance
//! suite runs through the Distributed tables.
//!
//! Needs `ONEWALL_CLICKHOUSE_URL`; under `CI=true` a missing server fails the tests.

use clickhouse::Client;
use clickhouse::sql::Identifier;
use onewall_store::clickhouse::{ClickHouseOptions, Cluster};
use onewall_store::conformance::{day0, event};
use onewall_store::{ClickHouseStore, Store};

fn server_url() -> Option<String> {
    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but ONEWALL_CLICKHOUSE_URL is not set: the ClickHouse tests must run")
        }
        _ => None,
    }
}

/// Drops its database when the test ends.
struct Scratch {
    url: String,
    database: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, database) = (self.url.clone(), self.database.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(
                Client::default()
                    .with_url(&url)
                    .query("DROP DATABASE IF EXISTS ?")
                    .bind(Identifier(&database))
                    .execute(),
            )
            .map_err(|e| e.to_string())
        })
        .join();
    }
}

fn scratch_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "onewall_cluster_{nanos:x}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn fresh() -> Option<(Scratch, ClickHouseStore)> {
    let url = server_url()?;
    let database = scratch_name();
    let scratch = Scratch {
        url: url.clone(),
        database: database.clone(),
    };
    let store = ClickHouseStore::open(ClickHouseOptions {
        url: url.clone(),
        database,
        user: "default".into(),
        password: String::new(),
        cluster: Some(Cluster {
            name: "onewall_one_node".into(),
            replicated: false,
        }),
        retention_days: 186,
    })
    .await
    .unwrap_or_else(|e| panic!("ClickHouse at {url}: {e}"));
    Some((scratch, store))
}

onewall_store::conformance_tests!(optional fresh);

/// The rows are in the local table, read through the Distributed one.
#[tokio::test]
async fn rows_live_in_local_tables_under_distributed_ones() {
    let Some((scratch, store)) = fresh().await else {
        return;
    };
    let e = event(day0(), "through the distributed table");
    store.write_events(vec![e.clone()]).await.expect("write");
    let client = Client::default()
        .with_url(&scratch.url)
        .with_database(&scratch.database)
        .with_validation(false);
    let engines: Vec<(String, String)> = client
        .query("SELECT name, engine FROM system.tables WHERE database = ? ORDER BY name")
        .bind(&scratch.database)
        .fetch_all()
        .await
        .expect("tables");
    let engine = |name: &str| {
        engines
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
            .unwrap_or_default()
    };
    assert_eq!(engine("events"), "Distributed", "{engines:?}");
    assert_eq!(engine("events_local"), "ReplacingMergeTree", "{engines:?}");
    assert_eq!(engine("incidents"), "Distributed", "{engines:?}");
    assert_eq!(engine("incident_alerts"), "Distributed", "{engines:?}");
    let local: u64 = client
        .query("SELECT count() FROM events_local")
        .fetch_one()
        .await
        .expect("count");
    assert_eq!(local, 1);
    assert_eq!(store.get_event(e.id).await.expect("get"), Some(e));
}
