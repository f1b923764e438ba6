//! `intel.sqlite` in the data directory: what the node's threat intelligence keeps across
//! restarts, so a restart rebuilds the indicator set without pulling the feeds again.
//!
//! - `indicators`: every feed's indicators as last pulled (a TAXII collection's accumulate
//!   poll by poll; bundles imported through the API accumulate in the `import` feed), one
//!   JSON body per feed and value;
//! - `local`: indicators added through the API, with author, reason and when;
//! - `feeds`: per feed, the TAXII poll position and the last pull's outcome;
//! - `receipts`: import receipts and their retro-hunts';
//! - `sightings`: per indicator and region, counts and first/last seen (written every minute
//!   and at shutdown).

use std::path::Path;

use anyhow::Context;
use onewall_api::intel::Sighting;
use onewall_intel::Indicator;
use onewall_localdb::rusqlite::{self, Connection, OptionalExtension, params};
use onewall_localdb::{Migration, Pragmas, Synchronous};
use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::codec::{Codec, IndicatorJson, key};

/// The file, in the data directory.
pub const FILE: &str = "intel.sqlite";

const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Normal),
    busy_timeout: None,
    foreign_keys: false,
};

const MIGRATIONS: &[Migration] = &[Migration::sql("intel schema", SCHEMA_1)];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS indicators (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (feed, key)
);
CREATE TABLE IF NOT EXISTS local (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    added INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (feed TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (id TEXT PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sightings (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (feed, key, region)
);
";

/// Receipts kept (the oldest go first).
const MAX_RECEIPTS: i64 = 1_000;

/// What is remembered of a feed between pulls and restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// TAXII: the newest `date_added` seen; the next poll asks for what was added after it.
    #[serde(default)]
    pub added_after: Option<String>,
    /// A file's modification time and length, or a URL's validator, when last read.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub last_pull: Option<Timestamp>,
    #[serde(default)]
    pub last_success: Option<Timestamp>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub error_at: Option<Timestamp>,
    #[serde(default)]
    pub pulls: u64,
    #[serde(default)]
    pub errors: u64,
    /// The last successful pull that brought anything (a TAXII poll finding nothing new
    /// leaves these): indicators read, new to the feed, items refused.
    #[serde(default)]
    pub last_read: u64,
    #[serde(default)]
    pub last_new: u64,
    #[serde(default)]
    pub last_rejected: u64,
    /// The receipt of the last pull that brought new indicators (with its retro-hunt).
    #[serde(default)]
    pub last_receipt: Option<String>,
}

/// A local indicator and who added it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalRow {
    pub id: String,
    pub author: String,
    pub reason: String,
    pub added: Timestamp,
    pub indicator: IndicatorJson,
}

/// The open database, shared by the intelligence tasks.
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

    /// Run `f` on the connection in this thread (blocking: call from the blocking pool or
    /// at start).
    pub fn now<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        self.conn.with(f).context("intel database")
    }

    /// Run `f` on the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.now(f))
            .await
            .context("intel database task")?
    }
}

/// Replace `feed`'s indicators with `indicators`.
pub fn replace_feed(
    c: &mut Connection,
    feed: &str,
    indicators: &[Indicator],
) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    tx.execute("DELETE FROM indicators WHERE feed = ?1", [feed])?;
    upsert(&tx, feed, indicators)?;
    tx.commit()
}

/// Add `indicators` to `feed` (a value already held is replaced); answers those that were
/// not held before.
pub fn add_to_feed(
    c: &mut Connection,
    feed: &str,
    indicators: &[Indicator],
) -> rusqlite::Result<Vec<Indicator>> {
    let tx = c.transaction()?;
    let mut new = Vec::new();
    {
        let mut held =
            tx.prepare_cached("SELECT 1 FROM indicators WHERE feed = ?1 AND key = ?2")?;
        for i in indicators {
            if !held.exists(params![feed, key(&i.value)])? {
                new.push(i.clone());
            }
        }
    }
    upsert(&tx, feed, indicators)?;
    tx.commit()?;
    Ok(new)
}

fn upsert(c: &Connection, feed: &str, indicators: &[Indicator]) -> rusqlite::Result<()> {
    let mut put = c.prepare_cached(
        "INSERT INTO indicators (feed, key, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (feed, key) DO UPDATE SET body = excluded.body",
    )?;
    for i in indicators {
        let body = serde_json::to_string(&IndicatorJson::of(i)).map_err(json_err)?;
        put.execute(params![feed, key(&i.value), body])?;
    }
    Ok(())
}

/// Every feed's indicators, by feed (not the local ones: [`local_all`]). A body that no
/// longer reads is skipped and logged.
pub fn load_feeds(c: &Connection) -> rusqlite::Result<Vec<(String, Vec<Indicator>)>> {
    let mut s = c.prepare("SELECT feed, body FROM indicators ORDER BY feed")?;
    let rows = s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out: Vec<(String, Vec<Indicator>)> = Vec::new();
    for row in rows {
        let (feed, body) = row?;
        let read = serde_json::from_str::<IndicatorJson>(&body)
            .map_err(|e| e.to_string())
            .and_then(|j| j.indicator().map_err(|e| e.to_string()));
        let ind = match read {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(feed, error = %e, "intel.sqlite: an indicator no longer reads; skipped");
                continue;
            }
        };
        match out.last_mut() {
            Some((f, v)) if *f == feed => v.push(ind),
            _ => out.push((feed, vec![ind])),
        }
    }
    Ok(out)
}

/// One feed's indicators.
pub fn load_feed(c: &Connection, feed: &str) -> rusqlite::Result<Vec<Indicator>> {
    let mut s = c.prepare("SELECT body FROM indicators WHERE feed = ?1")?;
    let rows = s.query_map([feed], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(i) = serde_json::from_str::<IndicatorJson>(&body?)
            .map_err(|e| e.to_string())
            .and_then(|j| j.indicator().map_err(|e| e.to_string()))
        {
            out.push(i);
        }
    }
    Ok(out)
}

pub fn local_add(c: &Connection, row: &LocalRow) -> rusqlite::Result<()> {
    let body = serde_json::to_string(&row.indicator).map_err(json_err)?;
    c.execute(
        "INSERT INTO local (id, author, reason, added, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![row.id, row.author, row.reason, row.added.millis(), body],
    )?;
    Ok(())
}

pub fn local_delete(c: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(c.execute("DELETE FROM local WHERE id = ?1", [id])? > 0)
}

pub fn local_all(c: &Connection) -> rusqlite::Result<Vec<LocalRow>> {
    let mut s = c.prepare("SELECT id, author, reason, added, body FROM local ORDER BY id")?;
    let rows = s.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, author, reason, added, body) = row?;
        if let Ok(indicator) = serde_json::from_str(&body) {
            out.push(LocalRow {
                id,
                author,
                reason,
                added: Timestamp::from_millis(added),
                indicator,
            });
        }
    }
    Ok(out)
}

pub fn feed_state(c: &Connection, feed: &str) -> rusqlite::Result<FeedState> {
    let body: Option<String> = c
        .query_row("SELECT body FROM feeds WHERE feed = ?1", [feed], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(body
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or_default())
}

pub fn put_feed_state(c: &Connection, feed: &str, s: &FeedState) -> rusqlite::Result<()> {
    let body = serde_json::to_string(s).map_err(json_err)?;
    c.execute(
        "INSERT INTO feeds (feed, body) VALUES (?1, ?2)
         ON CONFLICT (feed) DO UPDATE SET body = excluded.body",
        params![feed, body],
    )?;
    Ok(())
}

pub fn put_receipt(c: &Connection, id: &str, body: &serde_json::Value) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO receipts (id, at, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        params![id, Timestamp::now().millis(), body.to_string()],
    )?;
    c.execute(
        "DELETE FROM receipts WHERE id NOT IN (SELECT id FROM receipts ORDER BY at DESC LIMIT ?1)",
        [MAX_RECEIPTS],
    )?;
    Ok(())
}

pub fn receipt(c: &Connection, id: &str) -> rusqlite::Result<Option<serde_json::Value>> {
    let body: Option<String> = c
        .query_row("SELECT body FROM receipts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Write the sightings (each replaces its row).
pub fn put_sightings(c: &mut Connection, all: &[Sighting]) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT INTO sightings (feed, key, region, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (feed, key, region) DO UPDATE SET body = excluded.body",
        )?;
        for s in all {
            let body = serde_json::to_string(s).map_err(json_err)?;
            let k = format!("{}\u{1f}{}", s.kind.as_str(), s.value);
            put.execute(params![s.feed, k, s.region.to_string(), body])?;
        }
    }
    tx.commit()
}

pub fn sightings(c: &Connection) -> rusqlite::Result<Vec<Sighting>> {
    let mut s = c.prepare("SELECT body FROM sightings")?;
    let rows = s.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows
        .filter_map(|b| b.ok().and_then(|b| serde_json::from_str(&b).ok()))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use onewall_intel::Observable;
    use onewall_model::IndicatorKind;

    use super::*;

    fn ind(v: &str, feed: &str) -> Indicator {
        Indicator::new(Observable::parse(IndicatorKind::Ip, v).unwrap(), feed)
    }

    #[test]
    fn feeds_replace_and_accumulate_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.now(|c| {
            replace_feed(
                c,
                "list",
                &[ind("10.0.0.1", "list"), ind("10.0.0.2", "list")],
            )
        })
        .unwrap();
        db.now(|c| replace_feed(c, "list", &[ind("10.0.0.3", "list")]))
            .unwrap();
        let new = db
            .now(|c| add_to_feed(c, "taxii", &[ind("10.0.0.9", "taxii")]))
            .unwrap();
        assert_eq!(new.len(), 1);
        let again = db
            .now(|c| {
                add_to_feed(
                    c,
                    "taxii",
                    &[ind("10.0.0.9", "taxii"), ind("10.0.0.8", "taxii")],
                )
            })
            .unwrap();
        assert_eq!(again, vec![ind("10.0.0.8", "taxii")], "only what is new");
        let st = FeedState {
            added_after: Some("2026-01-01T00:00:00.000Z".into()),
            ..FeedState::default()
        };
        db.now(|c| put_feed_state(c, "taxii", &st)).unwrap();
        drop(db);
        let db = Db::open(dir.path()).unwrap();
        let feeds = db.now(|c| load_feeds(c)).unwrap();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].0, "list");
        assert_eq!(feeds[0].1, vec![ind("10.0.0.3", "list")]);
        assert_eq!(feeds[1].1.len(), 2);
        assert_eq!(db.now(|c| feed_state(c, "taxii")).unwrap(), st);
    }
}
