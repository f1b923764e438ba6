//! Drills. (Helper h3.)

use onewall_model::supervise::Drill;
use rusqlite::Connection;

/// The schema (migration 4).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS drills (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// Every drill held, by start.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<Drill>> {
    let mut st = c.prepare("SELECT body FROM drills")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(p) = serde_json::from_str(&body?) {
            out.push(p);
        }
    }
    Ok(out)
}
