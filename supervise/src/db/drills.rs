//! Drills, one row each: the drill as JSON, with its start for ordering. A drill received
//! again replaces the row only when it changed (so a redelivery is no new audit record).

use onewall_model::id::DrillId;
use onewall_model::supervise::Drill;
use rusqlite::{Connection, OptionalExtension, params};

/// The schema (migration 4).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS drills (
  id TEXT PRIMARY KEY,
  start INTEGER NOT NULL,
  body TEXT NOT NULL
);
";

fn to_json(d: &Drill) -> rusqlite::Result<String> {
    serde_json::to_string(d).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Every drill held, by start. A row that no longer reads (written by a newer version) is
/// skipped rather than failing every drill.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<Drill>> {
    let mut st = c.prepare("SELECT body FROM drills ORDER BY start, id")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        match serde_json::from_str(&body?) {
            Ok(d) => out.push(d),
            Err(e) => tracing::warn!(error = %e, "supervise.sqlite: a drill row does not read"),
        }
    }
    Ok(out)
}

/// One drill.
pub fn get(c: &mut Connection, id: DrillId) -> rusqlite::Result<Option<Drill>> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM drills WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Keep `drill` (insert, or replace the row of its id); answers whether anything changed.
pub fn put(c: &mut Connection, drill: &Drill) -> rusqlite::Result<bool> {
    let body = to_json(drill)?;
    let tx = c.transaction()?;
    let old: Option<String> = tx
        .query_row(
            "SELECT body FROM drills WHERE id = ?1",
            [drill.id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if old.as_deref() == Some(body.as_str()) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO drills (id, start, body) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET start = excluded.start, body = excluded.body",
        params![drill.id.to_string(), drill.start.millis(), body],
    )?;
    tx.commit()?;
    Ok(true)
}
