//! The federation's durable state: one SQLite file in the data directory
//! (`federation.sqlite`).
//!
//! - child side: `outbox` (sequenced up-messages not yet acknowledged; `AUTOINCREMENT`, so a
//!   sequence is never reused), `uplinks` (local incidents linked to a parent incident, and
//!   how much of their timeline went up), `kv` (last downlink sequence applied, last success
//!   and error).
//! - parent side: `children` (health, current epoch and its last sequence per child region),
//!   `child_epochs` (the last sequence applied per child region and outbox epoch), `downlink`
//!   (sequenced messages per child not yet acknowledged), `remote_alerts` (every pushed alert
//!   id, its region, child incident and parent incident), `child_incidents`, `dispatches`, and
//!   `downsent` (how much of a parent incident's timeline went down), and the gate's memory
//!   (`gate_regions`: the child regions each attacker entity was seen in; `gate_held`: alerts
//!   held until it crosses `min_regions`), and `asset_rollups` (each child region's latest asset
//!   roll-up).
//!
//! Each table group has its module of typed functions (`outbox`, `uplinks`, `children`,
//! `links`, `dispatches`, `gate`, `rollups`; `kv` here); the rest of the crate writes no SQL.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use onewall_localdb::{Migration, Pragmas, Synchronous};
use rusqlite::{Connection, OptionalExtension, params};

pub mod children;
pub mod dispatches;
pub mod gate;
pub mod links;
pub mod outbox;
pub mod rollups;
pub mod uplinks;

/// The file, in the data directory.
pub const FILE: &str = "federation.sqlite";

/// The pragmas it runs with.
const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Normal),
    busy_timeout: None,
    foreign_keys: false,
};

/// Its schema history, in `PRAGMA user_version`. Migration 1 is the schema from before
/// versions were kept (with `IF NOT EXISTS`, so a file written then opens), including the
/// filling of `child_epochs` from `children` that was then run on every open.
const MIGRATIONS: &[Migration] = &[
    Migration::sql("federation schema", SCHEMA_1),
    Migration::sql("asset roll-ups", SCHEMA_2),
];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queued INTEGER NOT NULL,
    incident TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_incident ON outbox (incident);
CREATE TABLE IF NOT EXISTS uplinks (
    incident TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    parent_region TEXT NOT NULL,
    parent_node TEXT NOT NULL,
    dispatched_at INTEGER NOT NULL,
    sent INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS uplinks_parent ON uplinks (parent);
CREATE TABLE IF NOT EXISTS children (
    region TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    last_contact INTEGER NOT NULL,
    oldest_queued INTEGER,
    outbox_depth INTEGER NOT NULL,
    alerts INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    ack_down INTEGER NOT NULL,
    next_down INTEGER NOT NULL,
    epoch TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS child_epochs (
    region TEXT NOT NULL,
    epoch TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (region, epoch)
);
CREATE TABLE IF NOT EXISTS downlink (
    region TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (region, seq)
);
CREATE TABLE IF NOT EXISTS remote_alerts (
    alert TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    child_incident TEXT,
    parent_incident TEXT
);
CREATE INDEX IF NOT EXISTS remote_alerts_child ON remote_alerts (child_incident);
CREATE INDEX IF NOT EXISTS remote_alerts_parent ON remote_alerts (parent_incident);
CREATE TABLE IF NOT EXISTS child_incidents (
    region TEXT NOT NULL,
    incident TEXT NOT NULL,
    node TEXT NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    parent TEXT,
    PRIMARY KEY (region, incident)
);
CREATE TABLE IF NOT EXISTS dispatches (
    incident TEXT NOT NULL,
    region TEXT NOT NULL,
    at INTEGER NOT NULL,
    by_ TEXT NOT NULL,
    note TEXT NOT NULL,
    team TEXT,
    status TEXT,
    PRIMARY KEY (incident, region)
);
CREATE TABLE IF NOT EXISTS downsent (incident TEXT PRIMARY KEY, sent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gate_regions (
    key TEXT NOT NULL,
    region TEXT NOT NULL,
    PRIMARY KEY (key, region)
);
CREATE TABLE IF NOT EXISTS gate_held (
    key TEXT NOT NULL,
    alert TEXT NOT NULL,
    PRIMARY KEY (key, alert)
);
INSERT OR IGNORE INTO child_epochs (region, epoch, last_seq)
    SELECT region, epoch, MAX(last_seq, 0) FROM children WHERE last_contact > 0;
";

/// Parent side: each child region's latest asset roll-up (`body`: `AssetRollup` JSON).
const SCHEMA_2: &str = "
CREATE TABLE asset_rollups (
    region TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    received INTEGER NOT NULL,
    body TEXT NOT NULL
);
";

/// The open database, shared by the federation's tasks.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Open (or create) the database in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Db> {
        let conn = onewall_localdb::open(&dir.join(FILE), PRAGMAS, MIGRATIONS)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// An in-memory database (tests).
    #[cfg(test)]
    pub fn memory() -> Db {
        let conn = onewall_localdb::open_in_memory(PRAGMAS, MIGRATIONS).expect("in-memory sqlite");
        Db {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Run `f` on the connection, on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("federation database lock poisoned"))?;
            f(&mut c).context("federation database")
        })
        .await
        .context("federation database task")?
    }

    /// Run `f` on the connection in this thread (at start, before the runtime's tasks).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        self.call_now(f)
    }

    /// Run `f` on the connection in this thread.
    pub fn call_now<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("federation database lock poisoned"))?;
        f(&mut c).context("federation database")
    }
}

/// A value of the `kv` table.
pub fn get_kv(c: &Connection, k: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT v FROM kv WHERE k = ?1", [k], |r| r.get(0))
        .optional()
}

/// Set a value of the `kv` table.
pub fn set_kv(c: &Connection, k: &str, v: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO kv (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        params![k, v],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use super::*;

    #[test]
    fn a_file_from_before_schema_versions_opens_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        // What the previous build wrote: its pragmas and schema, no version.
        let c = Connection::open(dir.path().join(FILE)).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        c.execute_batch(SCHEMA_1).unwrap();
        set_kv(&c, "epoch", "e1").unwrap();
        assert_eq!(onewall_localdb::version(&c).unwrap(), 0);
        drop(c);
        let db = Db::open(dir.path()).unwrap();
        db.call_now(|c| {
            assert_eq!(get_kv(c, "epoch")?.as_deref(), Some("e1"));
            assert_eq!(onewall_localdb::version(c)?, 2);
            assert!(rollups::all(c)?.is_empty(), "the roll-up table was added");
            Ok(())
        })
        .unwrap();
    }
}
