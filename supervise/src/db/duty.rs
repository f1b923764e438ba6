//! Shifts (this node's and those its children sent), handovers, duty alerts raised. Times are
//! Unix nanoseconds, regions their six-digit codes; each row keeps its record as JSON.

use onewall_model::id::{HandoverId, PeriodId, ShiftId};
use onewall_model::supervise::{Handover, Shift};
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// The schema (migration 3).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS shifts (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    start INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shifts_by_region ON shifts (region, end_at);
CREATE TABLE IF NOT EXISTS handovers (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handovers_by_time ON handovers (at);
CREATE TABLE IF NOT EXISTS duty_alerts (
    period TEXT NOT NULL,
    region TEXT NOT NULL,
    hour INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (period, region, hour)
);
";

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Rows whose JSON no longer reads are skipped: one bad row must not hide the roster.
fn bodies<T: serde::de::DeserializeOwned>(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> rusqlite::Result<Vec<T>> {
    let mut st = c.prepare(sql)?;
    let rows = st.query_map(p, |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(v) = serde_json::from_str(&body?) {
            out.push(v);
        }
    }
    Ok(out)
}

fn insert_shift(c: &Connection, s: &Shift) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO shifts (id, region, start, end_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.id.to_string(),
            s.region.to_string(),
            s.start.nanos(),
            s.end.nanos(),
            to_json(s)?
        ],
    )?;
    Ok(())
}

/// Every shift held (this node's and its children's), by start.
pub fn all_shifts(c: &mut Connection) -> rusqlite::Result<Vec<Shift>> {
    bodies(c, "SELECT body FROM shifts ORDER BY start, id", [])
}

/// Keep a shift.
pub fn put_shift(c: &mut Connection, s: &Shift) -> rusqlite::Result<()> {
    insert_shift(c, s)
}

/// Remove a shift. Answers whether it was held.
pub fn remove_shift(c: &mut Connection, id: ShiftId) -> rusqlite::Result<bool> {
    Ok(c.execute("DELETE FROM shifts WHERE id = ?1", [id.to_string()])? == 1)
}

/// In one transaction: drop the shifts of `regions` not ended at `now`, and keep `shifts`
/// instead (a child's roster; its past shifts stay as the record of who was on duty).
pub fn replace_roster(
    c: &mut Connection,
    regions: &[RegionCode],
    shifts: &[Shift],
    now: Timestamp,
) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    for r in regions {
        tx.execute(
            "DELETE FROM shifts WHERE region = ?1 AND end_at > ?2",
            params![r.to_string(), now.nanos()],
        )?;
    }
    for s in shifts {
        insert_shift(&tx, s)?;
    }
    tx.commit()
}

/// Keep a handover (a new one, or one signed since).
pub fn put_handover(c: &mut Connection, h: &Handover) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO handovers (id, region, at, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            h.id.to_string(),
            h.region.to_string(),
            h.handed_at.nanos(),
            to_json(h)?
        ],
    )?;
    Ok(())
}

/// One handover.
pub fn handover(c: &mut Connection, id: HandoverId) -> rusqlite::Result<Option<Handover>> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM handovers WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Handovers of `regions` (empty: all), newest first, at most `limit`.
pub fn handovers(
    c: &mut Connection,
    regions: &[RegionCode],
    limit: usize,
) -> rusqlite::Result<Vec<Handover>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if regions.is_empty() {
        return bodies(
            c,
            "SELECT body FROM handovers ORDER BY at DESC, id DESC LIMIT ?1",
            [limit],
        );
    }
    let codes: Vec<String> = regions.iter().map(ToString::to_string).collect();
    let json = serde_json::to_string(&codes)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    bodies(
        c,
        "SELECT body FROM handovers WHERE region IN (SELECT value FROM json_each(?1))
         ORDER BY at DESC, id DESC LIMIT ?2",
        params![json, limit],
    )
}

/// Flag the duty alert of `(period, region, hour)`. Answers whether it is new (raised once).
pub fn flag_duty(
    c: &mut Connection,
    period: PeriodId,
    region: RegionCode,
    hour: Timestamp,
    at: Timestamp,
) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO duty_alerts (period, region, hour, at) VALUES (?1, ?2, ?3, ?4)",
        params![
            period.to_string(),
            region.to_string(),
            hour.nanos(),
            at.nanos()
        ],
    )? == 1)
}
