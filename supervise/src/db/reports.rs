//! Periodic reports made on schedule: one row per kind, region, department and label (the
//! report as JSON), so a report made again replaces the one before.

use rusqlite::{Connection, params};

/// The schema (migration 5).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reports (
  kind TEXT NOT NULL,
  region INTEGER NOT NULL,
  department TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL,
  made INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (kind, region, department, label)
);
CREATE INDEX IF NOT EXISTS reports_made ON reports (made);
";

/// A kept report's key and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub kind: String,
    pub region: u32,
    /// Empty for a region's report.
    pub department: String,
    pub label: String,
    /// When it was made, in milliseconds.
    pub made: i64,
    /// The report as JSON.
    pub body: String,
}

/// Keep `k`, replacing the row of the same key; answers whether the key was new.
pub fn put(c: &mut Connection, k: &Kept) -> rusqlite::Result<bool> {
    let tx = c.transaction()?;
    let existed: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM reports WHERE kind = ?1 AND region = ?2 AND department = ?3 AND label = ?4)",
        params![k.kind, k.region, k.department, k.label],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO reports (kind, region, department, label, made, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, region, department, label)
         DO UPDATE SET made = excluded.made, body = excluded.body",
        params![k.kind, k.region, k.department, k.label, k.made, k.body],
    )?;
    tx.commit()?;
    Ok(!existed)
}

/// The reports kept, newest first (made, then label), of `regions` when not empty, at most
/// `limit`.
pub fn list(c: &mut Connection, regions: &[u32], limit: usize) -> rusqlite::Result<Vec<Kept>> {
    let mut st = c.prepare(
        "SELECT kind, region, department, label, made, body FROM reports
         ORDER BY made DESC, label DESC",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Kept {
            kind: r.get(0)?,
            region: r.get(1)?,
            department: r.get(2)?,
            label: r.get(3)?,
            made: r.get(4)?,
            body: r.get(5)?,
        })
    })?;
    let mut out = Vec::new();
    for k in rows {
        let k = k?;
        if regions.is_empty() || regions.contains(&k.region) {
            out.push(k);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}
