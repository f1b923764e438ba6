//! The daily reports a parent node received from its children, one per child region and day,
//! and which missing ones it has already flagged.
//!
//! One SQLite file in the data directory (`reports.sqlite`). Storing a child's report for a
//! day again replaces it (a child's outbox may deliver twice); flagging is once per region and
//! day.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use onewall_localdb::{Migration, Pragmas};
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::PlaybookError;

/// A child's daily report as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedReport {
    /// The child region reported on.
    pub region: RegionCode,
    /// The report's date (`YYYY-MM-DD`).
    pub day: String,
    /// When this node stored it.
    pub received_at: Timestamp,
    /// Who sent it (the token id or user of the call).
    pub sender: String,
    /// The report as text (the 零报告 line when nothing happened).
    pub text: String,
    /// The report as the child built it.
    pub report: serde_json::Value,
}

/// The received reports.
#[derive(Debug, Clone)]
pub struct ReportBook {
    conn: Arc<Mutex<Connection>>,
    path: String,
}

/// Its schema history (`PRAGMA user_version`); migration 1 is the schema from before versions
/// were kept, so a file written then opens.
const MIGRATIONS: &[Migration] = &[Migration::sql("received reports schema", SCHEMA_1)];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS received (
    region INTEGER NOT NULL,
    day TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (region, day)
);
CREATE TABLE IF NOT EXISTS flagged (
    region INTEGER NOT NULL,
    day TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (region, day)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

impl ReportBook {
    /// Open (or create) the file.
    pub fn open(path: &Path) -> Result<ReportBook, PlaybookError> {
        let shown = path.display().to_string();
        let conn = onewall_localdb::open(path, Pragmas::WAL, MIGRATIONS).map_err(|e| {
            PlaybookError::Open {
                path: shown.clone(),
                source: Box::new(e),
            }
        })?;
        Ok(ReportBook {
            conn: Arc::new(Mutex::new(conn)),
            path: shown,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> PlaybookError {
        PlaybookError::Outbox {
            path: self.path.clone(),
            source,
        }
    }

    /// Store `r`, replacing the region's report of that day. True when one was replaced.
    pub fn put(&self, r: &ReceivedReport) -> Result<bool, PlaybookError> {
        let conn = self.lock();
        let replaced = conn
            .query_row(
                "SELECT 1 FROM received WHERE region = ?1 AND day = ?2",
                params![r.region.get(), r.day],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .is_some();
        conn.execute(
            "INSERT OR REPLACE INTO received (region, day, received_at, sender, text, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.region.get(),
                r.day,
                r.received_at.millis(),
                r.sender,
                r.text,
                r.report.to_string()
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(replaced)
    }

    /// The reports of `day`, by region.
    pub fn day(&self, day: &str) -> Result<Vec<ReceivedReport>, PlaybookError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT region, received_at, sender, text, report FROM received
                 WHERE day = ?1 ORDER BY region",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![day], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (region, at, sender, text, report) = row.map_err(|e| self.err(e))?;
            let Ok(region) = RegionCode::new(region) else {
                continue;
            };
            out.push(ReceivedReport {
                region,
                day: day.to_owned(),
                received_at: Timestamp::from_millis(at),
                sender,
                text,
                report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    /// Note that `region`'s missing report of `day` was flagged. True the first time.
    pub fn flag(
        &self,
        region: RegionCode,
        day: &str,
        at: Timestamp,
    ) -> Result<bool, PlaybookError> {
        let n = self
            .lock()
            .execute(
                "INSERT OR IGNORE INTO flagged (region, day, at) VALUES (?1, ?2, ?3)",
                params![region.get(), day, at.millis()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Whether `region`'s missing report of `day` was flagged.
    pub fn is_flagged(&self, region: RegionCode, day: &str) -> Result<bool, PlaybookError> {
        self.lock()
            .query_row(
                "SELECT 1 FROM flagged WHERE region = ?1 AND day = ?2",
                params![region.get(), day],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    /// When this node began expecting reports (recorded the first time it is asked, as `now`):
    /// days whose deadline passed before it are never flagged.
    pub fn watching_since(&self, now: Timestamp) -> Result<Timestamp, PlaybookError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('watching_since', ?1)",
            params![now.millis()],
        )
        .map_err(|e| self.err(e))?;
        let v: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'watching_since'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(Timestamp::from_millis(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(region: &str, day: &str, text: &str) -> ReceivedReport {
        ReceivedReport {
            region: region.parse().unwrap(),
            day: day.into(),
            received_at: Timestamp::from_secs(1_700_000_000),
            sender: "tok-1".into(),
            text: text.into(),
            report: serde_json::json!({"region": region, "date": day}),
        }
    }

    #[test]
    fn reports_are_kept_per_region_and_day_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let book = ReportBook::open(&dir.path().join("reports.sqlite")).unwrap();
        assert!(!book.put(&report("410100", "2026-11-28", "零报告")).unwrap());
        assert!(
            book.put(&report("410100", "2026-11-28", "零报告 again"))
                .unwrap()
        );
        assert!(!book.put(&report("410200", "2026-11-28", "x")).unwrap());
        assert!(!book.put(&report("410100", "2026-11-27", "y")).unwrap());
        let day = book.day("2026-11-28").unwrap();
        assert_eq!(day.len(), 2);
        assert_eq!(day[0].text, "零报告 again");
        assert_eq!(day[0].report["date"], "2026-11-28");
        let r = "410200".parse().unwrap();
        assert!(book.flag(r, "2026-11-28", Timestamp::from_secs(1)).unwrap());
        assert!(!book.flag(r, "2026-11-28", Timestamp::from_secs(2)).unwrap());
        assert!(book.is_flagged(r, "2026-11-28").unwrap());
        assert!(!book.is_flagged(r, "2026-11-27").unwrap());
        let since = book.watching_since(Timestamp::from_secs(10)).unwrap();
        assert_eq!(since, Timestamp::from_secs(10));
        assert_eq!(
            book.watching_since(Timestamp::from_secs(20)).unwrap(),
            since
        );
    }

    #[test]
    fn a_file_from_before_schema_versions_opens_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        // What the previous build wrote: its schema, no version.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA_1).unwrap();
        c.execute("INSERT INTO meta (name, value) VALUES ('kept', 7)", [])
            .unwrap();
        drop(c);
        let opened = ReportBook::open(&path).unwrap();
        let c = opened.lock();
        assert_eq!(onewall_localdb::version(&c).unwrap(), 1);
        let v: i64 = c
            .query_row("SELECT value FROM meta WHERE name = 'kept'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(v, 7);
    }
}
