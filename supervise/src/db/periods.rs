//! 重保 periods, slot reports, flagged slots, lessons. (Helper h2.)

use onewall_model::supervise::ProtectionPeriod;
use rusqlite::Connection;

/// The schema (migration 2).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS periods (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// Every period held, by start.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<ProtectionPeriod>> {
    let mut st = c.prepare("SELECT body FROM periods")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(p) = serde_json::from_str(&body?) {
            out.push(p);
        }
    }
    Ok(out)
}
