//! 重保 periods, slot reports received (parent) and sent (child), slots flagged missing,
//! lessons. Times are stored as Unix nanoseconds, regions as their six-digit codes; each row
//! keeps its record as JSON beside the columns it is looked up by.

use onewall_model::id::PeriodId;
use onewall_model::supervise::{Lesson, ProtectionPeriod, SlotReport};
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// The schema (migration 2).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS periods (
    id TEXT PRIMARY KEY,
    start INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slot_reports (
    period TEXT NOT NULL,
    region TEXT NOT NULL,
    slot INTEGER NOT NULL,
    received INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (period, region, slot)
);
CREATE TABLE IF NOT EXISTS slots_sent (
    period TEXT NOT NULL,
    slot INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (period, slot)
);
CREATE TABLE IF NOT EXISTS slots_flagged (
    period TEXT NOT NULL,
    region TEXT NOT NULL,
    slot INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (period, region, slot)
);
CREATE TABLE IF NOT EXISTS lessons (
    id TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lessons_by_period ON lessons (period, at);
";

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Rows whose JSON no longer reads (a record from a newer build) are skipped, not fatal: one
/// bad row must not hide every other period.
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

/// Every period held, by start.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<ProtectionPeriod>> {
    bodies(c, "SELECT body FROM periods ORDER BY start, id", [])
}

/// One period.
pub fn get(c: &mut Connection, id: PeriodId) -> rusqlite::Result<Option<ProtectionPeriod>> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM periods WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Store `p` (replacing the period of the same id). Answers whether anything changed.
pub fn put(c: &mut Connection, p: &ProtectionPeriod) -> rusqlite::Result<bool> {
    if get(c, p.id)?.as_ref() == Some(p) {
        return Ok(false);
    }
    c.execute(
        "INSERT OR REPLACE INTO periods (id, start, body) VALUES (?1, ?2, ?3)",
        params![p.id.to_string(), p.start.nanos(), to_json(p)?],
    )?;
    Ok(true)
}

/// Parent: keep a child's report of a slot with its arrival time; a report of the same
/// period, region and slot already held is kept as it was (the first arrival counts).
/// Answers whether it was new.
pub fn put_received(
    c: &mut Connection,
    r: &SlotReport,
    received: Timestamp,
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO slot_reports (period, region, slot, received, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            r.period.to_string(),
            r.region.to_string(),
            r.slot.nanos(),
            received.nanos(),
            to_json(r)?
        ],
    )?;
    Ok(n == 1)
}

/// Parent: the reports of `period` received, with their arrival times, by slot.
pub fn received(
    c: &mut Connection,
    period: PeriodId,
) -> rusqlite::Result<Vec<(SlotReport, Timestamp)>> {
    let mut st = c.prepare(
        "SELECT body, received FROM slot_reports WHERE period = ?1 ORDER BY slot, region",
    )?;
    let rows = st.query_map([period.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (body, at) = row?;
        if let Ok(rep) = serde_json::from_str(&body) {
            out.push((rep, Timestamp(at)));
        }
    }
    Ok(out)
}

/// Child: has the report of `slot` of `period` been sent?
pub fn was_sent(c: &mut Connection, period: PeriodId, slot: Timestamp) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT 1 FROM slots_sent WHERE period = ?1 AND slot = ?2",
        params![period.to_string(), slot.nanos()],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
}

/// Child: record the report as sent. Answers whether it was new.
pub fn put_sent(c: &mut Connection, r: &SlotReport) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO slots_sent (period, slot, sent, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            r.period.to_string(),
            r.slot.nanos(),
            r.sent.nanos(),
            to_json(r)?
        ],
    )?;
    Ok(n == 1)
}

/// Child: the reports sent for `period`, by slot.
pub fn sent(c: &mut Connection, period: PeriodId) -> rusqlite::Result<Vec<SlotReport>> {
    bodies(
        c,
        "SELECT body FROM slots_sent WHERE period = ?1 ORDER BY slot",
        [period.to_string()],
    )
}

/// Parent: in one transaction, flag every `(region, slot)` of `period` that has no report
/// and is not flagged yet. Answers those flagged now (each is flagged once, ever).
pub fn flag_missing(
    c: &mut Connection,
    period: PeriodId,
    candidates: &[(RegionCode, Timestamp)],
    at: Timestamp,
) -> rusqlite::Result<Vec<(RegionCode, Timestamp)>> {
    let tx = c.transaction()?;
    let mut out = Vec::new();
    {
        let mut has = tx.prepare(
            "SELECT 1 FROM slot_reports WHERE period = ?1 AND region = ?2 AND slot = ?3",
        )?;
        let mut flag = tx.prepare(
            "INSERT OR IGNORE INTO slots_flagged (period, region, slot, at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let pid = period.to_string();
        for &(region, slot) in candidates {
            let code = region.to_string();
            if has.exists(params![pid, code, slot.nanos()])? {
                continue;
            }
            if flag.execute(params![pid, code, slot.nanos(), at.nanos()])? == 1 {
                out.push((region, slot));
            }
        }
    }
    tx.commit()?;
    Ok(out)
}

/// Parent: the `(region, slot)`s of `period` flagged missing.
pub fn flagged(
    c: &mut Connection,
    period: PeriodId,
) -> rusqlite::Result<Vec<(RegionCode, Timestamp)>> {
    let mut st =
        c.prepare("SELECT region, slot FROM slots_flagged WHERE period = ?1 ORDER BY slot")?;
    let rows = st.query_map([period.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (code, slot) = row?;
        if let Ok(region) = code.parse() {
            out.push((region, Timestamp(slot)));
        }
    }
    Ok(out)
}

/// Keep a lesson (by id: one held already is left as it was). Answers whether it was new.
pub fn put_lesson(c: &mut Connection, l: &Lesson) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO lessons (id, period, at, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            l.id.to_string(),
            l.period.to_string(),
            l.at.nanos(),
            to_json(l)?
        ],
    )?;
    Ok(n == 1)
}

/// The lessons of `period`, oldest first.
pub fn lessons(c: &mut Connection, period: PeriodId) -> rusqlite::Result<Vec<Lesson>> {
    bodies(
        c,
        "SELECT body FROM lessons WHERE period = ?1 ORDER BY at, id",
        [period.to_string()],
    )
}
