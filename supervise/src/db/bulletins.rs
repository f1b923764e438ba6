//! Bulletins, recipients' copies, steps, alerted deadlines.
//!
//! A copy is kept as the JSON of its [`Copy`] (state and every step); the `steps` table holds
//! each step once by id, written in the same transaction as the copy it moved, so a step
//! redelivered after a crash is recognised and a copy never moves without its step row.

use onewall_model::Timestamp;
use onewall_model::id::{BulletinId, StepId};
use onewall_model::supervise::{Bulletin, DeadlineKind, Step};
use rusqlite::{Connection, OptionalExtension, params};

use crate::bulletin::{BulletinView, Copy, deadline_name};

/// The schema (migration 1).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bulletins (
    id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    issued INTEGER NOT NULL,
    issued_here INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bulletins_issued ON bulletins (issued);
CREATE TABLE IF NOT EXISTS bulletin_copies (
    bulletin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (bulletin, recipient)
);
CREATE TABLE IF NOT EXISTS bulletin_steps (
    id TEXT PRIMARY KEY,
    bulletin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bulletin_steps_bulletin ON bulletin_steps (bulletin);
CREATE TABLE IF NOT EXISTS bulletin_alerted (
    bulletin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (bulletin, recipient, kind)
);
";

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(col: usize, s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Every bulletin held (issued here or received), oldest first.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<Bulletin>> {
    let mut st = c.prepare("SELECT body FROM bulletins ORDER BY issued, id")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(from_json(0, &body?)?);
    }
    Ok(out)
}

/// Keep `bulletin` with `copies` (none of them held yet). Answers false, and changes
/// nothing, when the bulletin is held already.
pub fn insert(
    c: &Connection,
    bulletin: &Bulletin,
    issued_here: bool,
    copies: &[Copy],
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO bulletins (id, issuer, issued, issued_here, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            bulletin.id.to_string(),
            bulletin.issuer.to_string(),
            bulletin.issued.millis(),
            issued_here,
            to_json(bulletin)?
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    for copy in copies {
        c.execute(
            "INSERT OR IGNORE INTO bulletin_copies (bulletin, recipient, region, body)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                bulletin.id.to_string(),
                copy.recipient.to_string(),
                copy.recipient.region.to_string(),
                to_json(copy)?
            ],
        )?;
    }
    Ok(true)
}

/// The copies of bulletin `id`, by recipient.
fn copies(c: &Connection, id: &str) -> rusqlite::Result<Vec<Copy>> {
    let mut st = c.prepare_cached(
        "SELECT body FROM bulletin_copies WHERE bulletin = ?1 ORDER BY recipient",
    )?;
    let rows = st.query_map([id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(from_json(0, &body?)?);
    }
    Ok(out)
}

fn view_of(c: &Connection, body: &str, issued_here: bool) -> rusqlite::Result<BulletinView> {
    let bulletin: Bulletin = from_json(0, body)?;
    let copies = copies(c, &bulletin.id.to_string())?;
    Ok(BulletinView {
        bulletin,
        copies,
        issued_here,
    })
}

/// Bulletin `id` with its copies, if held.
pub fn view(c: &Connection, id: BulletinId) -> rusqlite::Result<Option<BulletinView>> {
    let row = c
        .query_row(
            "SELECT body, issued_here FROM bulletins WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
        )
        .optional()?;
    match row {
        Some((body, here)) => view_of(c, &body, here).map(Some),
        None => Ok(None),
    }
}

/// Every bulletin held with its copies, newest first (issued in `[from, to)` when given).
pub fn views(
    c: &Connection,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> rusqlite::Result<Vec<BulletinView>> {
    let mut st = c.prepare(
        "SELECT body, issued_here FROM bulletins WHERE issued >= ?1 AND issued < ?2
         ORDER BY issued DESC, id DESC",
    )?;
    let rows = st.query_map(
        params![
            from.map_or(i64::MIN, Timestamp::millis),
            to.map_or(i64::MAX, Timestamp::millis)
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (body, here) = row?;
        out.push(view_of(c, &body, here)?);
    }
    Ok(out)
}

/// Whether step `id` is held.
pub fn has_step(c: &Connection, id: StepId) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT 1 FROM bulletin_steps WHERE id = ?1",
        [id.to_string()],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// Keep `step` and the copy it moved (call inside the step's transaction). Answers false,
/// and changes nothing, when the step is held already.
pub fn record_step(c: &Connection, step: &Step, copy: &Copy) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO bulletin_steps (id, bulletin, recipient, at, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            step.id.to_string(),
            step.bulletin.to_string(),
            step.recipient.to_string(),
            step.at.millis(),
            to_json(step)?
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    save_copy(c, step.bulletin, copy)?;
    Ok(true)
}

/// Replace the stored copy (its recipient names it).
pub fn save_copy(c: &Connection, bulletin: BulletinId, copy: &Copy) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO bulletin_copies (bulletin, recipient, region, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (bulletin, recipient) DO UPDATE SET body = excluded.body",
        params![
            bulletin.to_string(),
            copy.recipient.to_string(),
            copy.recipient.region.to_string(),
            to_json(copy)?
        ],
    )?;
    Ok(())
}

/// Record that `copy`'s deadline `kind` was alerted at `at`, with the copy as it now is (its
/// `overdue` naming the kind). Answers false, and changes nothing, when it was alerted
/// already.
pub fn mark_alerted(
    c: &Connection,
    bulletin: BulletinId,
    copy: &Copy,
    kind: DeadlineKind,
    at: Timestamp,
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO bulletin_alerted (bulletin, recipient, kind, at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            bulletin.to_string(),
            copy.recipient.to_string(),
            deadline_name(kind),
            at.millis()
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    save_copy(c, bulletin, copy)?;
    Ok(true)
}
