//! The embedded default backend: one SQLite database file in a directory.
//!
//! - Events live in one table per UTC day of their event time (`events_YYYYMMDD`), created on
//!   the first write of that day and listed in the `event_days` catalog, so retention drops
//!   whole tables instead of deleting rows. A day table indexes only its ids; the common
//!   fields (`host.name`, `source.ip`, ...) are copied into their own columns as text on write,
//!   and into the day's posting lists (`events_YYYYMMDD_terms`, one row per field, term and
//!   write batch, plus one of every event that orders the day by time) that searches start
//!   from.
//! - Alerts, incidents and the node's own key/value state each have one table; alerts and
//!   incidents keep the whole record as JSON beside the columns queries filter on.
//! - WAL journal, `synchronous=NORMAL`: a commit survives a process crash; the last commits
//!   before a power loss may not. A checkpointer thread copies the WAL into the database
//!   beside the writer. New databases get 16 KiB pages (several wide Windows rows to a page);
//!   older ones keep theirs.
//! - rusqlite is blocking, so every operation runs on tokio's blocking pool. One writer
//!   connection sits behind a mutex (SQLite has one writer anyway); searches take a reader
//!   connection from a small pool, so they never wait behind writes.

mod alert_rollup;
mod events;
mod find;
mod postings;
mod records;
mod schema;
mod sql;
mod stats;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use onewall_model::{Alert, AlertId, Event, EventId, Incident, IncidentId, Timestamp};
use rusqlite::Connection;

use crate::stats::{Histogram, SourceStat, StatsKind, StatsQuery, Top, TopField};
use crate::{
    AlertQuery, EventQuery, IncidentChange, IncidentQuery, Page, Result, Store, StoreError,
    StoreStats, ValueQuery,
};

/// The database file's name inside the store's directory.
pub const DB_FILE: &str = "onewall.sqlite3";
/// Reader connections kept open between searches; more are opened under load and closed after.
const IDLE_READERS: usize = 4;
const BACKEND: &str = "sqlite";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend {
            backend: BACKEND,
            detail: e.to_string(),
        }
    }
}

/// A backend failure that is not a SQLite error (a record that does not decode, a lost task).
fn backend(detail: impl fmt::Display) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        detail: detail.to_string(),
    }
}

/// The writer connection and what it knows about the schema.
struct Writer {
    conn: Connection,
    /// Day tables that exist (`YYYYMMDD`), each with whether it keeps posting lists; only
    /// changed after the transaction that changed them committed.
    days: BTreeMap<u32, bool>,
    /// Incidents as last written, so updates skip decoding them again.
    incidents: records::IncidentCache,
}

struct Inner {
    dir: PathBuf,
    db: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    /// Held for its `Drop`, which stops the thread.
    _checkpointer: Checkpointer,
}

/// How often the checkpointer copies what the WAL holds into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A thread that checkpoints the WAL (`PASSIVE`: it never waits for, or blocks, the writer or
/// a reader). With SQLite's automatic checkpoint the committing writer copied ~160 MB of WAL
/// into the database and synced it every second or so of a busy feed, and every write waited
/// behind that. It stops when the store is dropped.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(db: &Path) -> Result<Checkpointer> {
        let conn = schema::open_checkpointer(db)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("onewall-checkpoint".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoints remain");
                    }
                }
            })
            .map_err(|e| backend(format_args!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel wakes the thread; joining means no checkpoint outlives the store.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The embedded store: SQLite in one directory. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held left no transaction open (rusqlite rolls back on drop),
    // so the connection is still sound.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStore {
    /// Open the store in `dir`, creating the directory and the database as needed and bringing
    /// the schema up to date. Blocks (file I/O); call it at startup or from a blocking task.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            backend(format_args!(
                "cannot create store directory {}: {e}",
                dir.display()
            ))
        })?;
        let db = dir.join(DB_FILE);
        let conn = schema::open_writer(&db).inspect_err(|e| {
            tracing::error!(path = %db.display(), error = %e, "cannot open the embedded store");
        })?;
        let days = events::load_days(&conn)?;
        let reader = schema::open_reader(&db)?;
        let checkpointer = Checkpointer::start(&db)?;
        tracing::info!(path = %db.display(), days = days.len(), "embedded store open");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                db,
                writer: Mutex::new(Writer {
                    conn,
                    days,
                    incidents: records::IncidentCache::default(),
                }),
                readers: Mutex::new(vec![reader]),
                _checkpointer: checkpointer,
            }),
        })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A value from the node's key/value state (correlator windows, federation outbox marks
    /// ...), `None` when the key was never set.
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.read("get_state", move |conn| records::get_state(conn, &key))
            .await
    }

    /// Set a key of the node's state, replacing its value.
    pub async fn put_state(&self, key: &str, value: Vec<u8>) -> Result<()> {
        let key = key.to_owned();
        self.write("put_state", move |w| {
            records::put_state(&w.conn, &key, &value)
        })
        .await
    }

    /// Remove a key of the node's state; `true` when it was set.
    pub async fn delete_state(&self, key: &str) -> Result<bool> {
        let key = key.to_owned();
        self.write("delete_state", move |w| {
            records::delete_state(&w.conn, &key)
        })
        .await
    }

    /// Run `op` on the writer connection in the blocking pool. Backend errors are logged here
    /// with the operation's name.
    async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    {
        self.write_prepared(op, || Ok(()), move |w, ()| f(w)).await
    }

    /// [`Self::write`], with `prepare` run first in the same blocking task but before the
    /// writer is taken: encoding work that then overlaps the writer's other operations.
    async fn write_prepared<P, T, F>(
        &self,
        op: &'static str,
        prepare: impl FnOnce() -> Result<P> + Send + 'static,
        f: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer, P) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let res = tokio::task::spawn_blocking(move || {
            let prepared = prepare()?;
            let mut w = lock(&inner.writer);
            f(&mut w, prepared)
        })
        .await
        .unwrap_or_else(|e| Err(backend(format_args!("{op} task failed: {e}"))));
        log_failure(op, res)
    }

    /// Run `op` on a reader connection in the blocking pool.
    async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let res = tokio::task::spawn_blocking(move || {
            let taken = lock(&inner.readers).pop();
            let mut conn = match taken {
                Some(c) => c,
                None => schema::open_reader(&inner.db)?,
            };
            let res = f(&mut conn);
            let mut pool = lock(&inner.readers);
            if pool.len() < IDLE_READERS {
                pool.push(conn);
            }
            res
        })
        .await
        .unwrap_or_else(|e| Err(backend(format_args!("{op} task failed: {e}"))));
        log_failure(op, res)
    }
}

fn log_failure<T>(op: &'static str, res: Result<T>) -> Result<T> {
    if let Err(StoreError::Backend { detail, .. }) = &res {
        tracing::error!(op, detail = %detail, "embedded store operation failed");
    }
    res
}

#[async_trait]
impl Store for SqliteStore {
    async fn write_shared_events(&self, events: Arc<[Event]>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write_prepared(
            "write_events",
            move || Ok((events::encode(&events)?, events)),
            |w, (encoded, events)| events::write_events(w, &events, encoded),
        )
        .await
    }

    async fn write_alerts(&self, alerts: Vec<Alert>) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        self.write_prepared(
            "write_alerts",
            move || records::prepare_alerts(alerts),
            |w, alerts| records::write_alerts(&mut w.conn, alerts),
        )
        .await
    }

    async fn upsert_incidents(&self, incidents: Vec<Incident>) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        self.write("upsert_incidents", move |w| {
            records::upsert_incidents(&mut w.conn, &mut w.incidents, &incidents)
        })
        .await
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>> {
        self.read("get_event", move |conn| events::get_event(conn, id))
            .await
    }

    async fn get_alert(&self, id: AlertId) -> Result<Option<Alert>> {
        self.read("get_alert", move |conn| records::get_alert(conn, id))
            .await
    }

    async fn get_incident(&self, id: IncidentId) -> Result<Option<Incident>> {
        self.read("get_incident", move |conn| records::get_incident(conn, id))
            .await
    }

    async fn search_events(&self, query: EventQuery) -> Result<Page<Event>> {
        self.read("search_events", move |conn| {
            events::search_events(conn, &query)
        })
        .await
    }

    async fn find_events(&self, query: ValueQuery) -> Result<Page<Event>> {
        self.read("find_events", move |conn| find::find_events(conn, &query))
            .await
    }

    async fn search_alerts(&self, query: AlertQuery) -> Result<Page<Alert>> {
        self.read("search_alerts", move |conn| {
            records::search_alerts(conn, &query)
        })
        .await
    }

    async fn search_incidents(&self, query: IncidentQuery) -> Result<Page<Incident>> {
        self.read("search_incidents", move |conn| {
            records::search_incidents(conn, &query)
        })
        .await
    }

    async fn update_incident(&self, id: IncidentId, change: IncidentChange) -> Result<Incident> {
        // A batch of one: one path for every incident update.
        self.update_incidents(vec![(id, change)])
            .await
            .pop()
            .unwrap_or_else(|| Err(backend("an update batch of one gave no result")))
    }

    async fn update_incidents(
        &self,
        changes: Vec<(IncidentId, IncidentChange)>,
    ) -> Vec<Result<Incident>> {
        // One trip to the writer thread and one commit for the batch.
        let n = changes.len();
        let done = self
            .write("update_incidents", move |w| {
                Ok(records::update_incidents(
                    &mut w.conn,
                    &mut w.incidents,
                    changes,
                ))
            })
            .await;
        match done {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
        }
    }

    async fn drop_events_before(&self, before: Timestamp) -> Result<usize> {
        self.write("drop_events_before", move |w| {
            events::drop_days_before(w, before)
        })
        .await
    }

    async fn drop_alerts_before(&self, before: Timestamp) -> Result<()> {
        self.write("drop_alerts_before", move |w| {
            let tx = w.conn.transaction()?;
            tx.execute("DELETE FROM alerts WHERE time < ?1", [before.0])?;
            tx.execute("DELETE FROM alert_terms WHERE time < ?1", [before.0])?;
            alert_rollup::drop_before(&tx, before)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.read("stats", records::stats).await
    }

    async fn stats_histogram(&self, q: StatsQuery, interval_secs: i64) -> Result<Histogram> {
        match q.kind {
            StatsKind::Events if !q.needs_events() => {
                self.read("stats_histogram", move |conn| {
                    stats::event_histogram(conn, &q, interval_secs)
                })
                .await
            }
            StatsKind::Alerts => {
                self.read("stats_histogram", move |conn| {
                    stats::alert_histogram(conn, &q, interval_secs)
                })
                .await
            }
            _ => crate::stats_generic::histogram(self, &q, interval_secs).await,
        }
    }

    async fn stats_top(&self, q: StatsQuery, field: TopField, limit: usize) -> Result<Top> {
        match q.kind {
            StatsKind::Events if !q.needs_events() => {
                let q2 = q.clone();
                let top = self
                    .read("stats_top", move |conn| {
                        stats::event_top(conn, &q2, field, limit)
                    })
                    .await?;
                match top {
                    Some(t) => Ok(t),
                    None => crate::stats_generic::top(self, &q, field, limit).await,
                }
            }
            StatsKind::Alerts => {
                self.read("stats_top", move |conn| {
                    stats::alert_top(conn, &q, field, limit)
                })
                .await
            }
            _ => crate::stats_generic::top(self, &q, field, limit).await,
        }
    }

    async fn stats_sources(&self, q: StatsQuery) -> Result<Vec<SourceStat>> {
        if q.needs_events() {
            return crate::stats_generic::sources(self, &q).await;
        }
        self.read("stats_sources", move |conn| stats::event_sources(conn, &q))
            .await
    }
}
