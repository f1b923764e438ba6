//! Bulletins, recipients' copies, steps, alerted deadlines. (Helper h1.)

use onewall_model::supervise::Bulletin;
use rusqlite::Connection;

/// The schema (migration 1).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bulletins (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// Every bulletin held (issued here or received), oldest first.
pub fn all(c: &mut Connection) -> rusqlite::Result<Vec<Bulletin>> {
    let _ = c;
    todo!("h1")
}
