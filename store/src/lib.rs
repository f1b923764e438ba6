//! Storage for onewall: the [`Store`] trait every backend implements, the query types the API
//! passes through it, and the embedded default backend ([`sqlite::SqliteStore`]).
//!
//! Storage knows nothing of HTTP: queries arrive typed, cursors are opaque strings this crate
//! makes and reads back.

use async_trait::async_trait;
use onewall_model::{
    Alert, AlertId, Event, EventId, Incident, IncidentId, IncidentStatus, RegionCode, Severity,
    Timestamp,
};
use serde::Serialize;

mod error;
pub use error::StoreError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
    /// `field == value` for every pair, compared as text (`source.ip`, `host.name`, ...).
    pub filters: Vec<(String, String)>,
    /// Events of these regions only (the caller resolves subtrees); empty means all.
    pub regions: Vec<RegionCode>,
    /// At most this many (clamped to [`MAX_LIMIT`]; 0 means [`DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Where the previous page ended, from [`Page::next_cursor`].
    pub cursor: Option<String>,
}

/// A search over alerts, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub rule_id: Option<String>,
    pub min_severity: Option<Severity>,
    pub regions: Vec<RegionCode>,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// A search over incidents, most recently updated first.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// Only incidents whose status is open (new, acknowledged, investigating).
    pub open_only: bool,
    pub min_severity: Option<Severity>,
    /// Last seen at or after this.
    pub since: Option<Timestamp>,
    pub regions: Vec<RegionCode>,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// One page of results and the cursor for the next (`None` when this is the last).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Counts a backend reports about itself (for metrics and health).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    pub events: u64,
    pub alerts: u64,
    pub incidents: u64,
    /// Days that hold events, oldest first, as `YYYYMMDD`.
    pub event_days: Vec<u32>,
}

/// A storage backend. Writes are batched: one call is one transaction where the backend has
/// them. Every backend passes the conformance suite in `onewall_store::conformance`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Write events. An event whose id is already stored is ignored (writes may be retried).
    async fn write_events(&self, events: Vec<Event>) -> Result<()>;
    /// Write alerts, ignoring ids already stored.
    async fn write_alerts(&self, alerts: Vec<Alert>) -> Result<()>;
    /// Insert incidents, or replace them whole when their id exists.
    async fn upsert_incidents(&self, incidents: Vec<Incident>) -> Result<()>;

    async fn get_event(&self, id: EventId) -> Result<Option<Event>>;
    async fn get_alert(&self, id: AlertId) -> Result<Option<Alert>>;
    async fn get_incident(&self, id: IncidentId) -> Result<Option<Incident>>;

    async fn search_events(&self, query: EventQuery) -> Result<Page<Event>>;
    async fn search_alerts(&self, query: AlertQuery) -> Result<Page<Alert>>;
    async fn search_incidents(&self, query: IncidentQuery) -> Result<Page<Incident>>;

    /// Read an incident, let `change` modify it, and write it back, atomically with respect to
    /// other updates of the same incident. `change` returning an error leaves it untouched.
    async fn update_incident(
        &self,
        id: IncidentId,
        change: Box<dyn FnOnce(&mut Incident) -> Result<()> + Send>,
    ) -> Result<Incident>;

    /// Drop every event whose event time falls on a UTC day before `before`'s day. Returns the
    /// number of days dropped. Alerts and incidents are kept.
    async fn drop_events_before(&self, before: Timestamp) -> Result<usize>;

    async fn stats(&self) -> Result<StoreStats>;
}
