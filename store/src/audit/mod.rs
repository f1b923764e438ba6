//! The audit log: every API call that reads or changes security data, in an append-only
//! SQLite table (`audit.sqlite3`) whose entries are chained with SM3 hashes.
//!
//! Entry `n` stores `hash_n = SM3(hash_{n-1} ‖ "\n" ‖ canonical JSON of entry n)` (the first
//! entry chains to 64 zeros). Triggers refuse `UPDATE` and `DELETE`, and the sequence number
//! and hash of the newest entry are also kept in a small file beside the database
//! (`audit.head`), so that cutting entries off the end shows too. [`verify`] recomputes the
//! chain and names the first entry that does not hold.
//!
//! What this protects against: an entry edited, removed or slipped in by someone who can
//! write the database file but does not rewrite every later entry and the head file. Someone
//! who rewrites the whole chain and the head defeats any unkeyed chain; ship the head hash off
//! the node (or the entries themselves, to the parent) to close that.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use onewall_localdb::{Migration, Pragmas, Synchronous};
use onewall_model::Timestamp;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde::Serialize;
use sm3::{Digest, Sm3};

use crate::{Result, StoreError};

/// The database file's name inside the data directory.
pub const AUDIT_FILE: &str = "audit.sqlite3";
/// The head file's name inside the data directory.
pub const HEAD_FILE: &str = "audit.head";
/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const BACKEND: &str = "audit";

fn backend(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        detail: detail.to_string(),
    }
}

/// What happened, before it is numbered and chained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// User name or token id; `anonymous` when the call showed no valid credential.
    pub actor: String,
    /// The caller's role, empty when anonymous.
    pub role: String,
    /// The caller's region subtree (a GB/T 2260 code), empty when anonymous.
    pub scope: String,
    /// `METHOD /path` as routed, e.g. `POST /api/v1/incidents/{id}/status`.
    pub action: String,
    /// What it acted on: the path with its ids and query.
    pub target: String,
    /// The HTTP status answered.
    pub result: u16,
    /// The caller's address (the TCP peer), empty when unknown or not a network call (the
    /// command line).
    pub client: String,
    /// What was granted or changed, when the action creates something: e.g. the role, region,
    /// department and pii of a new token. Empty otherwise.
    pub detail: String,
}

/// The most characters of an actor kept in the log (a user name is at most 128).
pub const MAX_ACTOR_CHARS: usize = 128;
/// The most characters of a target or detail kept in the log.
pub const MAX_TARGET_CHARS: usize = 1024;
/// The most characters of an action, role, scope or client kept in the log.
pub const MAX_SHORT_CHARS: usize = 256;

/// `text` cut to `max` characters, the cut marked with `…`.
fn capped(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some((end, _)) => {
            let mut out = text.get(..end).unwrap_or_default().to_owned();
            out.push('…');
            out
        }
    }
}

impl AuditRecord {
    /// The record with every field cut to what the log keeps, so no caller can make one entry
    /// large (a login may name a 2 MB user).
    pub fn capped(self) -> AuditRecord {
        AuditRecord {
            at: self.at,
            actor: capped(self.actor, MAX_ACTOR_CHARS),
            role: capped(self.role, MAX_SHORT_CHARS),
            scope: capped(self.scope, MAX_SHORT_CHARS),
            action: capped(self.action, MAX_SHORT_CHARS),
            target: capped(self.target, MAX_TARGET_CHARS),
            result: self.result,
            client: capped(self.client, MAX_SHORT_CHARS),
            detail: capped(self.detail, MAX_TARGET_CHARS),
        }
    }
}

/// One numbered, chained entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(flatten)]
    pub record: AuditRecord,
    /// The previous entry's hash (hex).
    pub prev: String,
    /// This entry's hash (hex).
    pub hash: String,
}

/// The SM3 hash (hex) of an entry numbered `seq` chained to `prev`. The client and detail are
/// hashed only when one is set, so entries written before they existed still verify.
pub fn entry_hash(seq: u64, record: &AuditRecord, prev: &str) -> String {
    let mut body = serde_json::json!([
        seq,
        record.at.nanos(),
        record.actor,
        record.role,
        record.scope,
        record.action,
        record.target,
        record.result,
    ]);
    let extended = !record.client.is_empty() || !record.detail.is_empty();
    if extended && let Some(items) = body.as_array_mut() {
        items.push(record.client.clone().into());
        items.push(record.detail.clone().into());
    }
    let mut h = Sm3::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body.to_string().as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

struct Tail {
    conn: Connection,
}

/// The sequence number and hash of the newest entry (0 and [`GENESIS`] when there is none).
fn newest(conn: &Connection) -> Result<(u64, String)> {
    conn.query_row(
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)),
    )
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_owned())),
        e => Err(backend(e)),
    })
}

/// The node's audit log, open for appending.
pub struct AuditLog {
    tail: Mutex<Tail>,
    head: PathBuf,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// The pragmas the audit log runs with: the `onewall users` and `onewall tokens` commands
/// append beside a running node, so a writer waits for the other.
const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Normal),
    busy_timeout: Some(std::time::Duration::from_secs(10)),
    foreign_keys: false,
};

/// Its schema history (`PRAGMA user_version`). Migration 1 is what every open did before
/// versions were kept: the schema with `IF NOT EXISTS`, and the columns a log from an older
/// version lacks.
const MIGRATIONS: &[Migration] = &[Migration::run("audit schema", schema_1)];

fn schema_1(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(SCHEMA_1)?;
    add_missing_columns(tx)
}

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result INTEGER NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

impl AuditLog {
    /// Open (creating when absent) the audit log in `dir`.
    pub fn open(dir: &Path) -> Result<AuditLog> {
        let conn =
            onewall_localdb::open(&dir.join(AUDIT_FILE), PRAGMAS, MIGRATIONS).map_err(backend)?;
        Ok(AuditLog {
            tail: Mutex::new(Tail { conn }),
            head: dir.join(HEAD_FILE),
        })
    }

    /// Number, chain and store one record (its fields capped, see [`AuditRecord::capped`]).
    /// The newest entry is read inside the write transaction, so another process appending to
    /// the same log (the `onewall users` and `onewall tokens` commands beside a running node)
    /// chains after it rather than colliding with it.
    pub fn append(&self, record: AuditRecord) -> Result<AuditEntry> {
        let record = record.capped();
        let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = tail
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let (last, prev) = newest(&tx)?;
        let seq = last + 1;
        let hash = entry_hash(seq, &record, &prev);
        tx.execute(
            "INSERT INTO audit (seq, at, actor, role, scope, action, target, result, prev, hash,
             client, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                seq as i64,
                record.at.nanos(),
                record.actor,
                record.role,
                record.scope,
                record.action,
                record.target,
                record.result,
                prev,
                hash,
                record.client,
                record.detail,
            ],
        )
        .map_err(backend)?;
        // The head is written while the log is locked, so heads of two writers never cross.
        write_head(&self.head, seq, &hash)?;
        tx.commit().map_err(backend)?;
        Ok(AuditEntry {
            seq,
            record,
            prev,
            hash,
        })
    }

    /// Entries after `after` (a sequence number), oldest first, at most `limit`.
    pub fn entries(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        read_entries(&tail.conn, after, limit)
    }

    /// Entries before `before` (a sequence number; `None`: the newest), newest first, at most
    /// `limit`.
    pub fn entries_before(&self, before: Option<u64>, limit: usize) -> Result<Vec<AuditEntry>> {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        query_entries(
            &tail.conn,
            "WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            before,
            limit,
        )
    }

    /// Recompute the chain of this log, as `onewall audit verify` does, while the node keeps
    /// appending: the head is read under the writer's lock (so it names a committed entry) and
    /// the entries are then read through a connection of their own, without holding it.
    pub fn verify(&self) -> Result<Verdict> {
        let dir = self.head.parent().unwrap_or(Path::new("."));
        let head = {
            let _tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
            read_head(dir)?
        };
        verify_against(dir, head, true)
    }
}

/// Add the columns a log written by an older version lacks (`client`, `detail`).
fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('audit')")?;
    let columns = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for column in ["client", "detail"] {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(&format!(
                "ALTER TABLE audit ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
            ))?;
        }
    }
    Ok(())
}

fn write_head(path: &Path, seq: u64, hash: &str) -> Result<()> {
    let tmp = path.with_extension("head.tmp");
    std::fs::write(&tmp, format!("{seq} {hash}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| backend(format!("writing {}: {e}", path.display())))
}

fn read_entries(conn: &Connection, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
    let after = after.min(i64::MAX as u64) as i64;
    query_entries(conn, "WHERE seq > ?1 ORDER BY seq LIMIT ?2", after, limit)
}

/// The entries `tail` (a `WHERE … ORDER BY … LIMIT ?2` over `seq` and `?1`) selects.
fn query_entries(conn: &Connection, tail: &str, seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT seq, at, actor, role, scope, action, target, result, prev, hash, client, detail
             FROM audit {tail}"
        ))
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![seq, limit as i64], |r| {
            Ok(AuditEntry {
                seq: r.get::<_, i64>(0)? as u64,
                record: AuditRecord {
                    at: Timestamp(r.get(1)?),
                    actor: r.get(2)?,
                    role: r.get(3)?,
                    scope: r.get(4)?,
                    action: r.get(5)?,
                    target: r.get(6)?,
                    result: r.get(7)?,
                    client: r.get(10)?,
                    detail: r.get(11)?,
                },
                prev: r.get(8)?,
                hash: r.get(9)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Every entry holds; this many were checked.
    Intact { entries: u64 },
    /// The chain breaks at entry `seq` (the first bad one) for `reason`.
    Broken { seq: u64, reason: String },
}

/// Recompute the chain of the audit log in `dir` (read-only) and check it against the head
/// file. A missing log is an error.
pub fn verify(dir: &Path) -> Result<Verdict> {
    verify_against(dir, read_head(dir)?, false)
}

/// [`verify`] against the head `head` (read from the head file before). With `live`, entries
/// after the head are not read: a running node appended them since.
fn verify_against(dir: &Path, head: Option<(u64, String)>, live: bool) -> Result<Verdict> {
    let upto = match (&head, live) {
        (Some((seq, _)), true) => *seq,
        _ => u64::MAX,
    };
    let conn = open_read_only(dir)?;
    let mut check = ChainCheck::new(head.map(|(seq, hash)| (seq, hash, HEAD_FILE.to_owned())));
    let mut after = 0;
    while after < upto {
        let batch = read_entries(&conn, after, 1000)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.seq;
        for e in batch.iter().take_while(|e| e.seq <= upto) {
            if let Some(broken) = check.next(e) {
                return Ok(broken);
            }
        }
    }
    Ok(check.finish())
}

fn open_read_only(dir: &Path) -> Result<Connection> {
    let path = dir.join(AUDIT_FILE);
    if !path.exists() {
        return Err(backend(format!("{} does not exist", path.display())));
    }
    Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| backend(format!("opening {}: {e}", path.display())))
}

/// The sequence number and hash of the newest entry as the head file in `dir` records them;
/// `None` when there is no head file.
pub fn read_head(dir: &Path) -> Result<Option<(u64, String)>> {
    match std::fs::read_to_string(dir.join(HEAD_FILE)) {
        Ok(text) => Ok(parse_head(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(backend(format!("reading {HEAD_FILE}: {e}"))),
    }
}

/// Entries of the audit log in `dir` after `after`, oldest first, at most `limit`, read
/// without opening the log for appending.
pub fn read_log(dir: &Path, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
    read_entries(&open_read_only(dir)?, after, limit)
}

/// Checks a chain fed entry by entry in `seq` order, wherever the entries are kept (the
/// node's SQLite log, or a copy of it).
#[derive(Debug)]
pub struct ChainCheck {
    expected_seq: u64,
    prev: String,
    /// The newest entry as recorded elsewhere: sequence number, hash, and where it is recorded
    /// (for messages).
    head: Option<(u64, String, String)>,
}

impl ChainCheck {
    /// A check from entry 1, against `head` when given.
    pub fn new(head: Option<(u64, String, String)>) -> ChainCheck {
        ChainCheck {
            expected_seq: 1,
            prev: GENESIS.to_owned(),
            head,
        }
    }

    /// Take the next entry; the verdict when the chain breaks at it.
    pub fn next(&mut self, e: &AuditEntry) -> Option<Verdict> {
        let expected_seq = self.expected_seq;
        let broken = |reason: String| Some(Verdict::Broken { seq: e.seq, reason });
        if e.seq + 1 == expected_seq {
            return broken("it is stored twice".into());
        }
        if e.seq != expected_seq {
            return broken(format!(
                "expected entry {expected_seq} here: entries {expected_seq}..{} are missing",
                e.seq.saturating_sub(1)
            ));
        }
        if e.prev != self.prev {
            return broken("its previous-hash does not match the entry before it (an entry was removed or slipped in before it)".into());
        }
        if entry_hash(e.seq, &e.record, &e.prev) != e.hash {
            return broken("its hash does not match its contents (the entry was edited)".into());
        }
        if let Some((head_seq, head_hash, source)) = &self.head {
            if e.seq == *head_seq && e.hash != *head_hash {
                return broken(format!(
                    "its hash differs from the one recorded in {source}"
                ));
            }
            if e.seq > *head_seq {
                return broken(format!(
                    "it comes after the last entry recorded in {source} ({head_seq})"
                ));
            }
        }
        self.prev = e.hash.clone();
        self.expected_seq += 1;
        None
    }

    /// The verdict once every entry was taken.
    pub fn finish(self) -> Verdict {
        let entries = self.expected_seq - 1;
        if let Some((head_seq, _, source)) = self.head
            && head_seq > entries
        {
            return Verdict::Broken {
                seq: entries + 1,
                reason: format!(
                    "{source} records {head_seq} entries but the log ends at {entries}: the last entries were removed"
                ),
            };
        }
        Verdict::Intact { entries }
    }
}

fn parse_head(text: &str) -> Option<(u64, String)> {
    let (seq, hash) = text.trim().split_once(' ')?;
    Some((seq.parse().ok()?, hash.to_owned()))
}

#[cfg(test)]
mod tests;
