//! Shifts, handovers, duty alerts. (Helper h2.)

use onewall_model::supervise::Shift;
use rusqlite::Connection;

/// The schema (migration 3).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS shifts (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// Every shift held (this node's and its children's), by start.
pub fn all_shifts(c: &mut Connection) -> rusqlite::Result<Vec<Shift>> {
    let mut st = c.prepare("SELECT body FROM shifts")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(p) = serde_json::from_str(&body?) {
            out.push(p);
        }
    }
    Ok(out)
}
