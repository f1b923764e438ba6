//! Connections, pragmas and the schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::backend;
use crate::Result;
use crate::codec::COMMON_COLUMNS;

/// The schema this build writes, kept in `PRAGMA user_version`. A database with a newer
/// version is refused rather than misread.
/// Version 2 added `event_days.postings`: days created since keep posting lists for their
/// common fields instead of an index per field. Version 3 added the statistics' rollups
/// (`super::stats`), filled from the stored events and alerts on the upgrade. Version 4 added
/// the alerts' hourly rollup (`super::alert_rollup`) and the events' minute totals, counted
/// from the stored alerts and the minute rollup on the upgrade.
pub(super) const SCHEMA_VERSION: i64 = 4;

/// WAL bytes past which the writer checkpoints itself, a backstop: the checkpointer thread
/// (see [`open_checkpointer`]) normally copies the WAL into the database beside the writer,
/// so the writer's commits do not stop for it. SQLite counts it in pages of the file's size.
const WAL_AUTOCHECKPOINT_BYTES: i64 = 640 << 20;

/// The page size of a new database. SQLite's default of 4 KiB holds one wide Windows row
/// (its raw JSON and its fields' JSON, 2–4 KB) per page or spills it into an overflow chain;
/// 16 KiB pages hold several, so the writer touches, journals and balances fewer pages per
/// row. It takes effect only while the file is empty: an existing database keeps its own.
const PAGE_SIZE: i64 = 16_384;

/// Tables that are not per day. Every statement is idempotent, so opening an existing store
/// runs it harmlessly.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS event_days (
    day INTEGER PRIMARY KEY,        -- YYYYMMDD (UTC) of the events in events_<day>
    rows INTEGER NOT NULL DEFAULT 0, -- events written to it (duplicates not counted)
    postings INTEGER NOT NULL DEFAULT 0 -- 1: common fields in events_<day>_terms; 0: indexed
);

CREATE TABLE IF NOT EXISTS alerts (
    id BLOB NOT NULL PRIMARY KEY,
    time INTEGER NOT NULL,
    created INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    severity INTEGER NOT NULL,      -- 0 informational .. 4 critical
    region INTEGER NOT NULL,
    body TEXT NOT NULL              -- the whole alert as JSON, event ids included
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time, id);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id, time, id);
CREATE INDEX IF NOT EXISTS alerts_region ON alerts (region, time, id);

CREATE TABLE IF NOT EXISTS incidents (
    id BLOB NOT NULL PRIMARY KEY,
    status TEXT NOT NULL,
    severity INTEGER NOT NULL,
    region INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    body TEXT NOT NULL              -- the whole incident as JSON
);
CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated, id);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, updated, id);
CREATE INDEX IF NOT EXISTS incidents_group ON incidents (group_key);

-- An incident's evidence, in the order it joined: an update adds rows instead of rewriting
-- the body (which leaves `alert_ids` empty). A body written before this table holds its ids.
CREATE TABLE IF NOT EXISTS incident_alerts (
    incident BLOB NOT NULL,
    seq INTEGER NOT NULL,
    alert BLOB NOT NULL,
    PRIMARY KEY (incident, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS node_state (
    key TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL,
    updated INTEGER NOT NULL
);
";

/// Settings every connection gets.
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(256);
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 32 MiB of page cache per connection.
    conn.pragma_update(None, "cache_size", -32_768)?;
    Ok(())
}

/// The writer: switches the database to WAL and brings the schema up to date.
pub(super) fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    // Before WAL mode and the first table: after that the file's page size is fixed.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(backend(format_args!(
            "{}: the database refused WAL mode (got {mode})",
            path.display()
        )));
    }
    let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_AUTOCHECKPOINT_BYTES / page.max(512),
    )?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(backend(format_args!(
            "{}: schema version {version} is newer than this build's {SCHEMA_VERSION}",
            path.display()
        )));
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(super::stats::SCHEMA)?;
    tx.execute_batch(super::alert_rollup::SCHEMA)?;
    if (1..3).contains(&version) {
        super::events::backfill_rollups(&tx)?;
        super::records::backfill_alert_terms(&tx)?;
    } else if version == 3 {
        super::stats::backfill_minute_totals(&tx)?;
        super::alert_rollup::recount(&tx, None, None)?;
    }
    if version == 1 {
        // Its days keep their per-field indexes; the days it creates from now on do not.
        tx.execute_batch("ALTER TABLE event_days ADD COLUMN postings INTEGER NOT NULL DEFAULT 0")?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(conn)
}

/// A connection beside the writer's (a reader, the checkpointer's): the database must exist.
fn open_beside(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// The checkpointer's connection: it only runs `PRAGMA wal_checkpoint`.
pub(super) fn open_checkpointer(path: &Path) -> Result<Connection> {
    open_beside(path)
}

/// A reader: the same database, refusing writes.
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = open_beside(path)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The name of the table holding the events of `day` (`YYYYMMDD`).
pub(super) fn day_table(day: u32) -> String {
    format!("events_{day}")
}

/// The statement that creates one day's table. Its posting table, which also orders the day's
/// events by time, comes from `postings::terms_ddl`; days written by schema version 1 have an
/// index on `time` and one per common column instead.
pub(super) fn day_table_ddl(day: u32) -> String {
    let t = day_table(day);
    let mut sql = format!(
        "CREATE TABLE IF NOT EXISTS {t} (
            id BLOB NOT NULL PRIMARY KEY,
            time INTEGER NOT NULL,
            received INTEGER NOT NULL,
            region INTEGER NOT NULL,
            collector TEXT NOT NULL,
            peer TEXT,
            format TEXT NOT NULL,
            raw BLOB NOT NULL,
            parse_error TEXT,
            fields TEXT NOT NULL"
    );
    // The common fields ([`COMMON_COLUMNS`]) are also in the day's posting lists (see
    // `postings`).
    for (_, col) in COMMON_COLUMNS {
        sql.push_str(&format!(",\n            {col} TEXT"));
    }
    sql.push_str(");\n");
    sql
}
