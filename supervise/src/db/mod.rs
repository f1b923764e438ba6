//! Supervision's durable state: one SQLite file in the data directory (`supervise.sqlite`),
//! opened through `localdb`, shared by the node's tasks ([`Db::with`] runs on the caller's
//! thread: call it from the blocking pool or keep the call small).
//!
//! One module of typed functions per table group; the rest of the crate writes no SQL:
//! - [`bulletins`]: bulletins (issued here or received), recipients' copies, steps (by id,
//!   so a step applied twice is kept once), attachments named by steps, alerted deadlines.
//! - [`periods`]: 重保 periods, slot reports received (parent) and sent (child), slots
//!   flagged missing, lessons.
//! - [`duty`]: shifts (this node's and those its children sent), handovers, duty alerts.
//! - [`drills`]: drills and their start.
//! - [`reports`]: periodic reports made on schedule (kind, region, department, label).
//!
//! Each group's schema is its module's `SCHEMA`, one migration each, in this order.

use std::path::Path;

use onewall_localdb::{Migration, Pragmas, Shared, Synchronous};
use rusqlite::Connection;

use crate::Result;

pub mod bulletins;
pub mod drills;
pub mod duty;
pub mod periods;
pub mod reports;

/// The file, in the data directory.
pub const FILE: &str = "supervise.sqlite";

const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Normal),
    busy_timeout: None,
    foreign_keys: false,
};

/// The schema history, in `PRAGMA user_version`.
const MIGRATIONS: &[Migration] = &[
    Migration::sql("bulletins", bulletins::SCHEMA),
    Migration::sql("periods", periods::SCHEMA),
    Migration::sql("duty", duty::SCHEMA),
    Migration::sql("drills", drills::SCHEMA),
    Migration::sql("reports", reports::SCHEMA),
];

/// The shared connection.
#[derive(Debug, Clone)]
pub struct Db(Shared);

impl Db {
    /// Open (or create) the file.
    pub fn open(path: &Path) -> Result<Db> {
        Ok(Db(Shared::open(path, PRAGMAS, MIGRATIONS)?))
    }

    /// Run `f` on the connection (inside a transaction when `f` makes one).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        Ok(self.0.with(f)?)
    }

    /// Run `f` on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f))
            .await
            .map_err(|e| crate::SuperviseError::Internal(format!("supervise.sqlite: {e}")))?
    }
}
