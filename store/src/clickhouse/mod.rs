//! The ClickHouse backend: the official `clickhouse` crate over HTTP, rows in RowBinary,
//! LZ4-compressed.
//!
//! The schema is limited to what ClickHouse 18.16 (Debian's package) understands, so the same
//! tables work on current releases; `SELECT version()` at connect time decides whether the
//! few modern column types are used ([`schema::Features`]).
//!
//! - `events`: a ReplacingMergeTree partitioned by the UTC day of event time (`day`,
//!   `YYYYMMDD`, computed by onewall exactly as the embedded store does), ordered by
//!   `(region, time, id)`. The common fields (`host.name`, `source.ip`, ...) have columns of
//!   their own holding the value's text form; every other field is in the parallel arrays
//!   `field_names` / `field_values`, the value typed by a prefix (`s:` text, `i:` integer,
//!   `f:` real, `b:` boolean, `p:` address, `t:` time in nanoseconds), so a filter compares
//!   text without parsing JSON. The typed JSON of all fields is kept for lossless reads.
//! - `alerts`: a ReplacingMergeTree ordered by `(time, id)` with the alert as JSON.
//! - `incidents`: a ReplacingMergeTree versioned by `version`; every write inserts a whole new
//!   row and reads take the newest version per id with `argMax`, so results are right before
//!   and after background merges. The body leaves out the alert ids: they are rows of
//!   `incident_alerts` (see `evidence`), so a new version does not repeat every id it holds.
//!
//! Writes are idempotent by id: a batch's ids are looked up before it is inserted and the
//! ones already stored are left out (and the replacing engine collapses the rare duplicate
//! another writer raced in). Both the look-up and [`Store::update_incident`]'s
//! read-change-write hold a mutex of this store, so they are atomic with respect to other
//! writes *through this process*; several processes writing the same database would need a
//! lock outside ClickHouse (or a single writer per region) for the same guarantee.

pub mod audit;
mod events;
mod evidence;
mod find;
mod records;
mod schema;
mod stats;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use clickhouse::Client;
use onewall_model::{Alert, AlertId, Event, EventId, Incident, IncidentId, Timestamp};
use tokio::sync::Mutex;

pub use schema::Features;

use crate::stats::{Histogram, SourceStat, StatsKind, StatsQuery, Top, TopField};
use crate::{
    AlertQuery, EventQuery, IncidentChange, IncidentQuery, Page, Result, Store, StoreError,
    StoreStats, ValueQuery,
};

const BACKEND: &str = "clickhouse";

/// Where the store talks to, for error messages.
#[derive(Debug, Clone)]
struct Culprit {
    url: String,
    database: String,
    /// One server or a cluster: which tables DDL and partition drops address.
    layout: schema::Layout,
}

impl Culprit {
    /// A backend error naming the server, the database and the operation.
    fn error(&self, op: &str, detail: impl fmt::Display) -> StoreError {
        StoreError::Backend {
            backend: BACKEND,
            detail: format!(
                "clickhouse at {} (database {}): {op}: {detail}",
                self.url, self.database
            ),
        }
    }
}

struct Inner {
    client: Client,
    culprit: Culprit,
    features: Features,
    /// Held while a batch's ids are checked and the batch inserted.
    event_writes: Mutex<()>,
    alert_writes: Mutex<()>,
    /// Held for every incident write; holds the last version written.
    incident_writes: Mutex<u64>,
}

/// The ClickHouse store. Cheap to clone; clones share the HTTP client and the write locks.
#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("url", &self.inner.culprit.url)
            .field("database", &self.inner.culprit.database)
            .field("features", &self.inner.features)
            .finish_non_exhaustive()
    }
}

/// A database name onewall accepts: letters, digits and `_`, not starting with a digit.
fn valid_database(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

/// How to reach a ClickHouse server and lay out onewall's tables there.
#[derive(Debug, Clone, Default)]
pub struct ClickHouseOptions {
    /// HTTP interface, `http://host:8123`.
    pub url: String,
    /// Database created if absent.
    pub database: String,
    pub user: String,
    /// May be empty.
    pub password: String,
    /// Create the tables `ON CLUSTER` with Distributed tables over them.
    pub cluster: Option<Cluster>,
    /// Days of events kept; on servers with TTL the events table gets a TTL this long (older
    /// day partitions are dropped by [`Store::drop_events_before`] on every server). 0: none.
    pub retention_days: u32,
}

/// A ClickHouse cluster from the servers' `remote_servers`.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The cluster's name.
    pub name: String,
    /// `ReplicatedMergeTree` local tables (ZooKeeper required); else plain MergeTree ones.
    pub replicated: bool,
}

impl ClickHouseStore {
    /// Connect to the server at `url` (`http://host:8123`), create `database` and its tables
    /// if absent, and detect the server's version. `password` may be empty.
    pub async fn connect(
        url: &str,
        database: &str,
        user: &str,
        password: &str,
    ) -> Result<ClickHouseStore> {
        Self::open(ClickHouseOptions {
            url: url.to_owned(),
            database: database.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            ..ClickHouseOptions::default()
        })
        .await
    }

    /// [`ClickHouseStore::connect`] with every option.
    pub async fn open(opts: ClickHouseOptions) -> Result<ClickHouseStore> {
        let (url, database, user, password) = (
            opts.url.as_str(),
            opts.database.as_str(),
            opts.user.as_str(),
            opts.password.as_str(),
        );
        if let Some(c) = &opts.cluster
            && !valid_database(&c.name)
        {
            return Err(StoreError::InvalidQuery(format!(
                "clickhouse at {url}: invalid cluster name {:?}: letters, digits and '_' only",
                c.name
            )));
        }
        let culprit = Culprit {
            url: url.to_owned(),
            database: database.to_owned(),
            layout: schema::Layout {
                cluster: opts.cluster.clone(),
            },
        };
        if !valid_database(database) {
            return Err(StoreError::InvalidQuery(format!(
                "clickhouse at {url}: invalid database name {database:?}: letters, digits and '_' only"
            )));
        }
        let mut base = Client::default()
            .with_url(url)
            .with_user(user)
            .with_validation(false);
        if !password.is_empty() {
            base = base.with_password(password);
        }
        let version: String = base
            .query("SELECT version()")
            .fetch_one()
            .await
            .map_err(|e| culprit.error("connect", e))?;
        let features = Features::for_version(&version);
        base.query(&format!(
            "CREATE DATABASE IF NOT EXISTS ?{}",
            culprit.layout.on_cluster()
        ))
        .bind(clickhouse::sql::Identifier(database))
        .execute()
        .await
        .map_err(|e| culprit.error("create database", e))?;
        let mut client = base.with_database(database);
        if culprit.layout.cluster.is_some() {
            // Inserts reach the shards before they are acknowledged, so a write is readable
            // (and its ids seen by the next batch's look-up) as soon as it returns.
            client = client.with_setting("insert_distributed_sync", "1");
        }
        for ddl in schema::tables(features, &culprit.layout, database) {
            client
                .query(&ddl)
                .execute()
                .await
                .map_err(|e| culprit.error("create tables", e))?;
        }
        if features.ttl && opts.retention_days > 0 {
            client
                .query(&schema::events_ttl(&culprit.layout, opts.retention_days))
                .execute()
                .await
                .map_err(|e| culprit.error("setting the events TTL", e))?;
        }
        if culprit.layout.cluster.is_none() {
            stats::create_rollup(&client, &culprit).await?;
        }
        let last_version = records::last_incident_version(&client, &culprit).await?;
        tracing::info!(url, database, version = %version, ?features, "clickhouse store ready");
        Ok(ClickHouseStore {
            inner: Arc::new(Inner {
                client,
                culprit,
                features,
                event_writes: Mutex::new(()),
                alert_writes: Mutex::new(()),
                incident_writes: Mutex::new(last_version),
            }),
        })
    }

    /// What the server supports, as detected at connect time.
    pub fn features(&self) -> Features {
        self.inner.features
    }

    /// The database this store uses.
    pub fn database(&self) -> &str {
        &self.inner.culprit.database
    }

    fn log<T>(&self, op: &'static str, res: Result<T>) -> Result<T> {
        if let Err(StoreError::Backend { detail, .. }) = &res {
            tracing::error!(op, detail = %detail, "clickhouse store operation failed");
        }
        res
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    async fn write_shared_events(&self, events: Arc<[Event]>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let i = &self.inner;
        let _held = i.event_writes.lock().await;
        let res = events::write_events(&i.client, &i.culprit, &events).await;
        self.log("write_events", res)
    }

    async fn write_alerts(&self, alerts: Vec<Alert>) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let i = &self.inner;
        let _held = i.alert_writes.lock().await;
        let res = records::write_alerts(&i.client, &i.culprit, &alerts).await;
        self.log("write_alerts", res)
    }

    async fn upsert_incidents(&self, incidents: Vec<Incident>) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        let i = &self.inner;
        let mut version = i.incident_writes.lock().await;
        let res = records::upsert_incidents(&i.client, &i.culprit, &mut version, &incidents).await;
        self.log("upsert_incidents", res)
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>> {
        let i = &self.inner;
        let res = events::get_event(&i.client, &i.culprit, id).await;
        self.log("get_event", res)
    }

    async fn get_alert(&self, id: AlertId) -> Result<Option<Alert>> {
        let i = &self.inner;
        let res = records::get_alert(&i.client, &i.culprit, id).await;
        self.log("get_alert", res)
    }

    async fn get_incident(&self, id: IncidentId) -> Result<Option<Incident>> {
        let i = &self.inner;
        let res = records::get_incident(&i.client, &i.culprit, id).await;
        self.log("get_incident", res)
    }

    async fn search_events(&self, query: EventQuery) -> Result<Page<Event>> {
        let i = &self.inner;
        let res = events::search_events(&i.client, &i.culprit, &query).await;
        self.log("search_events", res)
    }

    async fn find_events(&self, query: ValueQuery) -> Result<Page<Event>> {
        let i = &self.inner;
        let res = find::find_events(&i.client, &i.culprit, i.features, &query).await;
        self.log("find_events", res)
    }

    async fn search_alerts(&self, query: AlertQuery) -> Result<Page<Alert>> {
        let i = &self.inner;
        let res = records::search_alerts(&i.client, &i.culprit, &query).await;
        self.log("search_alerts", res)
    }

    async fn search_incidents(&self, query: IncidentQuery) -> Result<Page<Incident>> {
        let i = &self.inner;
        let res = records::search_incidents(&i.client, &i.culprit, &query).await;
        self.log("search_incidents", res)
    }

    async fn update_incident(&self, id: IncidentId, change: IncidentChange) -> Result<Incident> {
        let i = &self.inner;
        let mut version = i.incident_writes.lock().await;
        let res = records::update_incident(&i.client, &i.culprit, &mut version, id, change).await;
        self.log("update_incident", res)
    }

    async fn update_incidents(
        &self,
        changes: Vec<(IncidentId, IncidentChange)>,
    ) -> Vec<Result<Incident>> {
        let i = &self.inner;
        let mut version = i.incident_writes.lock().await;
        let results = records::update_incidents(&i.client, &i.culprit, &mut version, changes).await;
        results
            .into_iter()
            .map(|r| self.log("update_incidents", r))
            .collect()
    }

    async fn drop_events_before(&self, before: Timestamp) -> Result<usize> {
        let i = &self.inner;
        let _held = i.event_writes.lock().await;
        let res = events::drop_days_before(&i.client, &i.culprit, before).await;
        self.log("drop_events_before", res)
    }

    async fn drop_alerts_before(&self, before: Timestamp) -> Result<()> {
        let i = &self.inner;
        let _held = i.alert_writes.lock().await;
        let res = records::drop_alert_months_before(&i.client, &i.culprit, before).await;
        self.log("drop_alerts_before", res)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let i = &self.inner;
        let res = records::stats(&i.client, &i.culprit).await;
        self.log("stats", res)
    }

    async fn stats_histogram(&self, q: StatsQuery, interval_secs: i64) -> Result<Histogram> {
        let i = &self.inner;
        let rollup = i.culprit.layout.cluster.is_none();
        if q.kind == StatsKind::Events && !q.needs_events() && rollup {
            let res = stats::rollup_histogram(&i.client, &i.culprit, &q, interval_secs).await;
            return self.log("stats_histogram", res);
        }
        let table = match q.kind {
            StatsKind::Events if !q.needs_events() => "events",
            StatsKind::Alerts => "alerts",
            _ => return crate::stats_generic::histogram(self, &q, interval_secs).await,
        };
        let res = stats::histogram(&i.client, &i.culprit, table, &q, interval_secs).await;
        self.log("stats_histogram", res)
    }

    async fn stats_top(&self, q: StatsQuery, field: TopField, limit: usize) -> Result<Top> {
        let i = &self.inner;
        let grouped = match q.kind {
            StatsKind::Events
                if !q.needs_events()
                    && i.culprit.layout.cluster.is_none()
                    && matches!(field, TopField::Region | TopField::Source) =>
            {
                stats::rollup_top(&i.client, &i.culprit, &q, field, limit)
                    .await
                    .map(Some)
            }
            StatsKind::Events if !q.needs_events() => {
                stats::event_top(&i.client, &i.culprit, &q, field, limit).await
            }
            StatsKind::Alerts => stats::alert_top(&i.client, &i.culprit, &q, field, limit).await,
            _ => Ok(None),
        };
        match self.log("stats_top", grouped)? {
            Some(top) => Ok(top),
            None => crate::stats_generic::top(self, &q, field, limit).await,
        }
    }

    async fn stats_sources(&self, q: StatsQuery) -> Result<Vec<SourceStat>> {
        if q.needs_events() {
            return crate::stats_generic::sources(self, &q).await;
        }
        let i = &self.inner;
        let res = if i.culprit.layout.cluster.is_none() {
            stats::rollup_sources(&i.client, &i.culprit, &q).await
        } else {
            stats::sources(&i.client, &i.culprit, &q).await
        };
        self.log("stats_sources", res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names() {
        for good in ["onewall", "onewall_test_1a2b", "_x"] {
            assert!(valid_database(good), "{good}");
        }
        for bad in ["", "1db", "a-b", "a b", "a`b", "db;drop"] {
            assert!(!valid_database(bad), "{bad}");
        }
    }
}
