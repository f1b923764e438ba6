//! Storage for onewall: the [`Store`] trait every backend implements, the query types the API
//! passes through it, the embedded default backend ([`sqlite::SqliteStore`]) and the
//! ClickHouse backend ([`clickhouse::ClickHouseStore`]).
//!
//! Storage knows nothing of HTTP: queries arrive typed, cursors are opaque strings this crate
//! makes and reads back.

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

use std::sync::Arc;

use async_trait::async_trait;
use onewall_model::{
    Alert, AlertId, Event, EventId, Incident, IncidentId, IncidentStatus, RegionCode, Severity,
    Timestamp,
};
use serde::Serialize;

pub mod audit;
pub mod auth;
pub mod clickhouse;
mod codec;
pub mod config;
pub mod conformance;
mod cursor;
mod error;
pub mod find;
mod search_text;
pub mod sqlite;
pub mod stats;
pub mod stats_generic;

pub use clickhouse::ClickHouseStore;
pub use error::StoreError;
pub use find::ValueQuery;
pub use sqlite::SqliteStore;

/// The result of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The cursor of an event page that ends at `e`: the next page starts strictly after it (as
/// from [`Page::next_cursor`] of a page whose last row is `e`). For callers that keep only
/// some rows of a page and stop in its middle.
pub fn event_cursor(e: &Event) -> String {
    use cursor::Paged;
    e.cursor().encode(Event::KIND)
}

/// Most rows one query returns, whatever `limit` asks.
pub const MAX_LIMIT: usize = 1000;
/// Rows a query returns when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// A search over events. Results are newest first (event time, then id, descending).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Text contained in the raw event (case-sensitive substring).
    pub text: Option<String>,
    /// Event time at or after this.
    pub from: Option<Timestamp>,
    /// Event time before this.
    pub to: Option<Timestamp>,
    /// `field == value` for every pair (all must hold), compared as text (`source.ip`,
    /// `host.name`, ...): a field matches when its value's text form ([`onewall_model::Value::to_text`])
    /// equals the given text exactly, so `process.pid:1234` matches the integer 1234 and the
    /// string `"1234"`, and `source.ip:10.0.0.1` matches the address. An address filter
    /// matches however the address is spelled (`::FFFF:a00:1`); a time filter is RFC 3339 and
    /// matches the instant. Null and list values match no filter. A field name may not contain
    /// `"` or a control character (refused with [`StoreError::InvalidQuery`]).
    pub filters: Vec<(String, String)>,
    /// Events of these regions only (the caller resolves subtrees); empty means all.
    pub regions: Vec<RegionCode>,
    /// At most this many (clamped to [`MAX_LIMIT`]; 0 means [`DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Where the previous page ended, from [`Page::next_cursor`].
    pub cursor: Option<String>,
}

/// A search over alerts, newest first (alert time, then id, descending).
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Alert time at or after this.
    pub from: Option<Timestamp>,
    /// Alert time before this.
    pub to: Option<Timestamp>,
    /// Alerts of this rule only.
    pub rule_id: Option<String>,
    /// Alerts at least this severe.
    pub min_severity: Option<Severity>,
    /// Alerts of these regions only (the caller resolves subtrees); empty means all.
    pub regions: Vec<RegionCode>,
    /// At most this many (clamped to [`MAX_LIMIT`]; 0 means [`DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Where the previous page ended, from [`Page::next_cursor`].
    pub cursor: Option<String>,
}

/// A search over incidents, most recently updated first (`updated`, then id, descending).
/// Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// Incidents in this status only.
    pub status: Option<IncidentStatus>,
    /// Only incidents whose status is open (new, acknowledged, investigating).
    pub open_only: bool,
    /// Incidents at least this severe.
    pub min_severity: Option<Severity>,
    /// Last seen at or after this.
    pub since: Option<Timestamp>,
    /// Incidents owned by these regions only ([`Incident::region`]; the caller resolves
    /// subtrees); empty means all.
    pub regions: Vec<RegionCode>,
    /// At most this many (clamped to [`MAX_LIMIT`]; 0 means [`DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Where the previous page ended, from [`Page::next_cursor`].
    pub cursor: Option<String>,
}

/// One page of results and the cursor for the next (`None` when this is the last).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows of this page, in the query's order.
    pub items: Vec<T>,
    /// Pass this as the next query's `cursor` to read on; `None` when nothing follows.
    pub next_cursor: Option<String>,
}

/// Counts a backend reports about itself (for metrics and health).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    /// Events stored (in the days still kept).
    pub events: u64,
    /// Alerts stored.
    pub alerts: u64,
    /// Incidents stored.
    pub incidents: u64,
    /// Days that hold events, oldest first, as `YYYYMMDD`.
    pub event_days: Vec<u32>,
}

/// The change [`Store::update_incident`] applies. Spelled with an explicit `for<'a>` so that
/// `#[async_trait]` keeps it higher-ranked: with an elided lifetime it would tie the reference
/// to the call's lifetime, and no backend could lend it an incident it read itself.
pub type IncidentChange = Box<dyn for<'a> FnOnce(&'a mut Incident) -> Result<()> + Send>;

/// A storage backend. Writes are batched: one call is one transaction where the backend has
/// them. Every backend passes the conformance suite in `onewall_store::conformance`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Write events. An event whose id is already stored is ignored (writes may be retried).
    async fn write_events(&self, events: Vec<Event>) -> Result<()> {
        self.write_shared_events(events.into()).await
    }
    /// [`Store::write_events`] for a batch the caller goes on using (a pipeline that matches
    /// the events after storing them, a retry): the backend reads it without a copy.
    async fn write_shared_events(&self, events: Arc<[Event]>) -> Result<()>;
    /// Write alerts, ignoring ids already stored.
    async fn write_alerts(&self, alerts: Vec<Alert>) -> Result<()>;
    /// Insert incidents, or replace them whole when their id exists.
    async fn upsert_incidents(&self, incidents: Vec<Incident>) -> Result<()>;

    /// The event with this id, `None` when it is not stored (or its day was dropped).
    async fn get_event(&self, id: EventId) -> Result<Option<Event>>;
    /// The alert with this id, `None` when it is not stored.
    async fn get_alert(&self, id: AlertId) -> Result<Option<Alert>>;
    /// The incident with this id, `None` when it is not stored.
    async fn get_incident(&self, id: IncidentId) -> Result<Option<Incident>>;

    /// One page of events, newest first. A malformed cursor or filter is
    /// [`StoreError::InvalidQuery`].
    async fn search_events(&self, query: EventQuery) -> Result<Page<Event>>;
    /// One page of the events holding any of the values `query` looks for, newest first
    /// (what matches is the same on every backend: see [`find`]). A malformed query or
    /// cursor is [`StoreError::InvalidQuery`]; a query without conditions finds nothing.
    async fn find_events(&self, query: ValueQuery) -> Result<Page<Event>>;
    /// One page of alerts, newest first.
    async fn search_alerts(&self, query: AlertQuery) -> Result<Page<Alert>>;
    /// One page of incidents, most recently updated first.
    async fn search_incidents(&self, query: IncidentQuery) -> Result<Page<Incident>>;

    /// Read an incident, let `change` modify it, and write it back, atomically with respect to
    /// other updates of the same incident. `change` returning an error leaves it untouched and
    /// that error is returned; an absent incident is [`StoreError::NotFound`]. `change` may not
    /// change the id ([`StoreError::Conflict`]); it should set `updated` itself
    /// ([`Incident::set_status`] does). It runs while the backend holds its write lock, so it
    /// must be quick and must not block.
    async fn update_incident(&self, id: IncidentId, change: IncidentChange) -> Result<Incident>;

    /// Several [`Store::update_incident`]s, in order, with one result each: an id may come
    /// more than once (its changes apply in turn), and one change failing leaves the others.
    /// A backend where each update costs round trips (ClickHouse) reads and writes the whole
    /// batch together; the default runs them one by one.
    async fn update_incidents(
        &self,
        changes: Vec<(IncidentId, IncidentChange)>,
    ) -> Vec<Result<Incident>> {
        let mut out = Vec::with_capacity(changes.len());
        for (id, change) in changes {
            out.push(self.update_incident(id, change).await);
        }
        out
    }

    /// Drop every event whose event time falls on a UTC day before `before`'s day. Returns the
    /// number of days dropped. Alerts and incidents are kept.
    async fn drop_events_before(&self, before: Timestamp) -> Result<usize>;

    /// Drop alerts older than `before` (alert retention; incidents are kept). A backend that
    /// drops whole partitions (ClickHouse: months) keeps the rest of `before`'s partition, so
    /// alerts may stay a little longer, never shorter.
    async fn drop_alerts_before(&self, before: Timestamp) -> Result<()>;

    /// Counts for metrics and health.
    async fn stats(&self) -> Result<StoreStats>;

    /// Counts over time of the records of `q` by intervals of `interval_secs` (a whole number
    /// of minutes, at most [`stats::MAX_BUCKETS`] intervals, else
    /// [`StoreError::InvalidQuery`]). The default reads the records through the searches;
    /// backends answer from rollups or by grouping.
    async fn stats_histogram(
        &self,
        q: stats::StatsQuery,
        interval_secs: i64,
    ) -> Result<stats::Histogram> {
        stats_generic::histogram(self, &q, interval_secs).await
    }

    /// The `limit` most frequent values of `field` in the records of `q`, with the number of
    /// different values and the count of the rest. A field records of `q.kind` do not have
    /// counts nothing.
    async fn stats_top(
        &self,
        q: stats::StatsQuery,
        field: stats::TopField,
        limit: usize,
    ) -> Result<stats::Top> {
        stats_generic::top(self, &q, field, limit).await
    }

    /// What each source sent of the events of `q` (its kind is ignored), by source key.
    async fn stats_sources(&self, q: stats::StatsQuery) -> Result<Vec<stats::SourceStat>> {
        stats_generic::sources(self, &q).await
    }
}

/// The number of rows a query asking for `limit` gets: 0 means [`DEFAULT_LIMIT`], and no more
/// than [`MAX_LIMIT`].
pub fn effective_limit(limit: usize) -> usize {
    match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    }
}
