//! `assets.sqlite` in the data directory: the node's asset book across restarts.
//!
//! - `systems`: the registry, one JSON body per system id;
//! - `hosts`: host records (registered and scanned), one JSON body per host key;
//! - `findings`: findings with their lifecycle, one JSON body per finding id (with its host
//!   and status beside it, for a look with the `sqlite3` shell);
//! - `seen`: the seen-host table, one JSON snapshot (written every few minutes and at stop).
//!
//! After each change only what changed is written, in one transaction.

use std::path::Path;

use anyhow::Context;
use onewall_assets::book::HostRecord;
use onewall_assets::finding::Finding;
use onewall_assets::registry::System;
use onewall_assets::seen::Seen;
use onewall_localdb::rusqlite::{self, Connection, OptionalExtension, params};
use onewall_localdb::{Migration, Pragmas, Synchronous};

/// The file, in the data directory.
pub const FILE: &str = "assets.sqlite";

const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Normal),
    busy_timeout: None,
    foreign_keys: false,
};

const MIGRATIONS: &[Migration] = &[Migration::sql("assets schema", SCHEMA_1)];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS systems (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hosts (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_host ON findings (host);
CREATE TABLE IF NOT EXISTS seen (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
";

/// What the node persisted.
#[derive(Debug, Default)]
pub struct Loaded {
    pub systems: Vec<System>,
    pub hosts: Vec<HostRecord>,
    pub findings: Vec<Finding>,
    pub seen: Option<Seen>,
}

/// One change to write: rows to put and keys to remove.
#[derive(Debug, Default)]
pub struct Changes {
    pub systems: Vec<System>,
    pub removed_systems: Vec<String>,
    pub hosts: Vec<HostRecord>,
    pub removed_hosts: Vec<String>,
    pub findings: Vec<Finding>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
            && self.removed_systems.is_empty()
            && self.hosts.is_empty()
            && self.removed_hosts.is_empty()
            && self.findings.is_empty()
    }
}

/// The open database.
#[derive(Debug, Clone)]
pub struct Db {
    conn: onewall_localdb::Shared,
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

impl Db {
    /// Open (or create) the database in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Db> {
        Ok(Db {
            conn: onewall_localdb::Shared::open(&dir.join(FILE), PRAGMAS, MIGRATIONS)?,
        })
    }

    /// Run `f` on the connection in this thread (blocking: from the blocking pool or at
    /// start).
    pub fn now<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        self.conn.with(f).context("assets database")
    }

    /// Everything kept (a body that no longer reads is skipped and logged).
    pub fn load(&self) -> anyhow::Result<Loaded> {
        self.now(|c| {
            Ok(Loaded {
                systems: all(c, "SELECT body FROM systems ORDER BY id")?,
                hosts: all(c, "SELECT body FROM hosts ORDER BY key")?,
                findings: all(c, "SELECT body FROM findings ORDER BY id")?,
                seen: c
                    .query_row("SELECT body FROM seen WHERE id = 1", [], |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()?
                    .and_then(|b| match serde_json::from_str(&b) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            tracing::warn!(error = %e, "assets.sqlite: the seen hosts no longer read; starting empty");
                            None
                        }
                    }),
            })
        })
    }

    /// Write `changes` in one transaction.
    pub fn write(&self, changes: &Changes) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.now(|c| write(c, changes))
    }

    /// Write the seen-host table.
    pub fn save_seen(&self, body: &str) -> anyhow::Result<()> {
        self.now(|c| {
            c.execute(
                "INSERT INTO seen (id, body) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                [body],
            )
            .map(|_| ())
        })
    }
}

fn all<T: serde::de::DeserializeOwned>(c: &Connection, sql: &str) -> rusqlite::Result<Vec<T>> {
    let mut s = c.prepare(sql)?;
    let rows = s.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        match serde_json::from_str(&body?) {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(error = %e, "assets.sqlite: a row no longer reads; skipped"),
        }
    }
    Ok(out)
}

fn write(c: &mut Connection, ch: &Changes) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT INTO systems (id, body) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )?;
        for s in &ch.systems {
            put.execute(params![s.id, serde_json::to_string(s).map_err(json_err)?])?;
        }
        let mut del = tx.prepare_cached("DELETE FROM systems WHERE id = ?1")?;
        for id in &ch.removed_systems {
            del.execute([id])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT INTO hosts (key, body) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET body = excluded.body",
        )?;
        for h in &ch.hosts {
            put.execute(params![h.key, serde_json::to_string(h).map_err(json_err)?])?;
        }
        let mut del = tx.prepare_cached("DELETE FROM hosts WHERE key = ?1")?;
        for key in &ch.removed_hosts {
            del.execute([key])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT INTO findings (id, host, status, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, status = excluded.status,
             body = excluded.body",
        )?;
        for f in &ch.findings {
            put.execute(params![
                f.id,
                f.host,
                f.status.as_str(),
                serde_json::to_string(f).map_err(json_err)?
            ])?;
        }
    }
    tx.commit()
}
