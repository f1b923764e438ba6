//! Periodic reports made on schedule. (Helper h3.)

/// The schema (migration 5).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reports (kind TEXT NOT NULL, region TEXT NOT NULL, department TEXT NOT NULL DEFAULT '', label TEXT NOT NULL, made INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, region, department, label));
";
