//! The durable outbox: every delivery is written here before it is tried, retried with
//! exponential backoff until it succeeds or runs out of attempts, and marked done exactly once.
//! The same table is the delivery log the API shows.
//!
//! One SQLite file in the data directory (`outbox.sqlite`, mode 0600: it holds webhook
//! secrets). Also kept here: throttling windows, the last time each source sent something, and
//! when the daily report last ran.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use onewall_localdb::{Migration, Pragmas, Synchronous};
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::PlaybookError;
use crate::playbook::WebhookFormat;
use crate::report::SourceSeen;

/// What a delivery sends, rendered when it was queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// An email through the configured SMTP server.
    Email {
        /// Recipients.
        to: Vec<String>,
        /// Copy recipients.
        cc: Vec<String>,
        /// Subject line.
        subject: String,
        /// Plain-text body.
        body: String,
        /// An HTML alternative of the body (a scheduled report's page).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        html: Option<String>,
        /// Files attached (a scheduled report's .docx).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<MailFile>,
    },
    /// A webhook post.
    Webhook {
        /// Where.
        url: String,
        /// Message format.
        format: WebhookFormat,
        /// Signing secret ("" for none).
        secret: String,
        /// The message text (robots).
        text: String,
        /// The subject as JSON (generic webhooks).
        json: serde_json::Value,
        /// Phones a robot mentions (whoever was on duty when it was queued).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mention: Vec<String>,
    },
    /// The subject, posted to the parent node.
    Escalate {
        /// The subject as JSON.
        json: serde_json::Value,
    },
    /// The daily report, posted to the parent node's `POST /api/v1/reports`.
    Report {
        /// `{"node", "report", "text"}`.
        json: serde_json::Value,
    },
}

/// A file attached to a mail, kept in the outbox until it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailFile {
    /// The file name the mail gives it.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Standard base64 of the bytes.
    pub content_base64: String,
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Idempotency key: queuing the same key twice queues it once.
    pub key: String,
    /// The playbook it comes from.
    pub playbook: String,
    /// `email`, `webhook`, `escalate` or `assign`.
    pub action: String,
    /// What triggered it (e.g. `incident:ID:created`).
    pub subject: String,
    /// The region of the subject (for region-scoped reading of the log).
    pub region: RegionCode,
    /// Where it goes, for people (recipients or URL without its query); never a secret.
    pub target: String,
    /// What to send.
    pub payload: Payload,
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Accepted by the SMTP server or answered 2xx (and, for robots, `errcode` 0).
    Done,
    /// Gave up after the last attempt.
    Failed,
    /// Not sent: the playbook was throttled for this key.
    Throttled,
}

impl DeliveryState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Done => "done",
            DeliveryState::Failed => "failed",
            DeliveryState::Throttled => "throttled",
        }
    }

    /// Read a stored or requested state name.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Done,
            DeliveryState::Failed,
            DeliveryState::Throttled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    /// Row id (ascending in queuing order).
    pub id: i64,
    /// Playbook id.
    pub playbook: String,
    /// Action kind.
    pub action: String,
    /// What triggered it.
    pub subject: String,
    /// The subject's region.
    pub region: RegionCode,
    /// Where it goes.
    pub target: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub created: Timestamp,
    /// When it is next tried (pending).
    pub next_at: Timestamp,
    /// When it succeeded.
    pub done_at: Option<Timestamp>,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

/// A query over the delivery log, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only this state.
    pub state: Option<DeliveryState>,
    /// Only this playbook.
    pub playbook: Option<String>,
    /// Only these regions (the caller resolves subtrees); empty: all.
    pub regions: Vec<RegionCode>,
    /// Rows with an id below this (paging).
    pub before: Option<i64>,
    /// At most this many (0 means 100; at most 1000).
    pub limit: usize,
}

/// Retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// Delay after the first failure, in seconds; doubled after each.
    pub base_secs: u64,
    /// Longest delay, in seconds.
    pub max_secs: u64,
}

impl Retry {
    /// The delay after the `attempts`-th failed attempt.
    pub fn backoff_secs(&self, attempts: u32) -> u64 {
        let exp = attempts.saturating_sub(1).min(40);
        self.base_secs
            .saturating_mul(1u64 << exp)
            .min(self.max_secs.max(self.base_secs))
    }
}

/// A queued delivery due for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    /// Row id.
    pub id: i64,
    /// Attempts made so far.
    pub attempts: u32,
    /// What to send.
    pub payload: Payload,
    /// Its log line's playbook, for messages.
    pub playbook: String,
}

/// The outbox. Cheap to clone; calls block briefly on SQLite (call from a blocking task).
#[derive(Debug, Clone)]
pub struct Outbox {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// The pragmas the outbox runs with: a delivery queued is on disk.
const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: Some(Synchronous::Full),
    busy_timeout: None,
    foreign_keys: false,
};

/// Its schema history (`PRAGMA user_version`); migration 1 is the schema from before versions
/// were kept, so a file written then opens.
const MIGRATIONS: &[Migration] = &[Migration::sql("outbox schema", SCHEMA_1)];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    playbook TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    region INTEGER NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    done_at INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS throttle (key TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    key TEXT PRIMARY KEY, region INTEGER NOT NULL, last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

impl Outbox {
    /// Open (or create) the outbox file, creating its directory.
    pub fn open(path: &Path) -> Result<Outbox, PlaybookError> {
        let conn = onewall_localdb::open(path, PRAGMAS, MIGRATIONS).map_err(|e| match e {
            // Its directory could not be made.
            onewall_localdb::Error::Io {
                path: dir, source, ..
            } if dir != path => PlaybookError::Settings {
                key: "store.path".into(),
                reason: format!("creating {}: {source}", dir.display()),
            },
            e => PlaybookError::Open {
                path: path.display().to_string(),
                source: Box::new(e),
            },
        })?;
        Ok(Outbox {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each call is one statement
        // or transaction), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> PlaybookError {
        PlaybookError::Outbox {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Queue a delivery, due now. Returns false when its key was already queued.
    pub fn enqueue(&self, d: &NewDelivery, now: Timestamp) -> Result<bool, PlaybookError> {
        self.insert(d, DeliveryState::Pending, now, None)
    }

    /// Queue deliveries in one transaction, due now. Returns how many were new.
    pub fn enqueue_all(&self, ds: &[NewDelivery], now: Timestamp) -> Result<usize, PlaybookError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut n = 0;
        for d in ds {
            if insert(&tx, d, DeliveryState::Pending, now, None).map_err(|e| self.err(e))? {
                n += 1;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Log a delivery that is already settled (an assignment made, or a throttled run).
    pub fn record(
        &self,
        d: &NewDelivery,
        state: DeliveryState,
        now: Timestamp,
        error: Option<&str>,
    ) -> Result<bool, PlaybookError> {
        self.insert(d, state, now, error)
    }

    fn insert(
        &self,
        d: &NewDelivery,
        state: DeliveryState,
        now: Timestamp,
        error: Option<&str>,
    ) -> Result<bool, PlaybookError> {
        insert(&self.lock(), d, state, now, error).map_err(|e| self.err(e))
    }

    /// Pending deliveries due at `now`, oldest first, at most `limit`. A row whose payload no
    /// longer decodes is marked failed with the reason.
    pub fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<Due>, PlaybookError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, attempts, payload, playbook FROM deliveries
                 WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![now.nanos(), limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        drop(stmt);
        let mut out = Vec::new();
        for (id, attempts, payload, playbook) in rows {
            match serde_json::from_str(&payload) {
                Ok(payload) => out.push(Due {
                    id,
                    attempts,
                    payload,
                    playbook,
                }),
                Err(e) => {
                    conn.execute(
                        "UPDATE deliveries SET state = 'failed', last_error = ?2 WHERE id = ?1",
                        params![id, format!("stored payload does not decode: {e}")],
                    )
                    .map_err(|e| self.err(e))?;
                }
            }
        }
        Ok(out)
    }

    /// The earliest time a pending delivery is due, if any.
    pub fn next_due(&self) -> Result<Option<Timestamp>, PlaybookError> {
        self.lock()
            .query_row(
                "SELECT MIN(next_at) FROM deliveries WHERE state = 'pending'",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|v| v.map(Timestamp))
            .map_err(|e| self.err(e))
    }

    /// Mark a delivery done. Returns false when it was not pending (already done: it is never
    /// marked twice).
    pub fn mark_done(&self, id: i64, now: Timestamp) -> Result<bool, PlaybookError> {
        let n = self
            .lock()
            .execute(
                "UPDATE deliveries SET state = 'done', attempts = attempts + 1, done_at = ?2,
                 last_error = NULL WHERE id = ?1 AND state = 'pending'",
                params![id, now.nanos()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Record a failed attempt: retry after the backoff, or give up after the last attempt.
    /// Returns the state the delivery is now in.
    pub fn mark_failed(
        &self,
        id: i64,
        now: Timestamp,
        error: &str,
        retry: &Retry,
    ) -> Result<DeliveryState, PlaybookError> {
        let conn = self.lock();
        let attempts: u32 = conn
            .query_row(
                "SELECT attempts FROM deliveries WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let attempts = attempts + 1;
        let state = if attempts >= retry.max_attempts {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
        let next = now.add_secs(retry.backoff_secs(attempts) as i64);
        conn.execute(
            "UPDATE deliveries SET state = ?2, attempts = ?3, next_at = ?4, last_error = ?5
             WHERE id = ?1 AND state = 'pending'",
            params![id, state.as_str(), attempts, next.nanos(), error],
        )
        .map_err(|e| self.err(e))?;
        Ok(state)
    }

    /// Claim the throttle window for `key` at `now`: true (and the window starts) when no
    /// window for it is open.
    pub fn throttle(&self, key: &str, now: Timestamp, seconds: u64) -> Result<bool, PlaybookError> {
        let conn = self.lock();
        let until: Option<i64> = conn
            .query_row(
                "SELECT until FROM throttle WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if until.is_some_and(|u| u > now.nanos()) {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO throttle (key, until) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET until = excluded.until",
            params![key, now.add_secs(seconds as i64).nanos()],
        )
        .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Read the delivery log, newest first.
    pub fn list(&self, q: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, PlaybookError> {
        let limit = match q.limit {
            0 => 100,
            n => n.min(1000),
        };
        let mut sql = String::from(
            "SELECT id, playbook, action, subject, region, target, state, attempts, created,
             next_at, done_at, last_error FROM deliveries WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(s) = q.state {
            args.push(s.as_str().to_owned().into());
            sql.push_str(&format!(" AND state = ?{}", args.len()));
        }
        if let Some(p) = &q.playbook {
            args.push(p.clone().into());
            sql.push_str(&format!(" AND playbook = ?{}", args.len()));
        }
        if let Some(b) = q.before {
            args.push(b.into());
            sql.push_str(&format!(" AND id < ?{}", args.len()));
        }
        if !q.regions.is_empty() {
            let list: Vec<String> = q.regions.iter().map(|r| r.get().to_string()).collect();
            sql.push_str(&format!(" AND region IN ({})", list.join(",")));
        }
        args.push((limit as i64).into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                let state: String = r.get(6)?;
                let region: u32 = r.get(4)?;
                Ok((
                    DeliveryRecord {
                        id: r.get(0)?,
                        playbook: r.get(1)?,
                        action: r.get(2)?,
                        subject: r.get(3)?,
                        region: RegionCode::HENAN,
                        target: r.get(5)?,
                        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Failed),
                        attempts: r.get(7)?,
                        created: Timestamp(r.get(8)?),
                        next_at: Timestamp(r.get(9)?),
                        done_at: r.get::<_, Option<i64>>(10)?.map(Timestamp),
                        last_error: r.get(11)?,
                    },
                    region,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut rec, region) = row.map_err(|e| self.err(e))?;
            if let Ok(c) = RegionCode::new(region) {
                rec.region = c;
            }
            out.push(rec);
        }
        Ok(out)
    }

    /// Remember when sources last sent something (the later time wins).
    pub fn sources_seen(&self, seen: &[SourceSeen]) -> Result<(), PlaybookError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        for s in seen {
            tx.execute(
                "INSERT INTO sources (key, region, last_seen) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET region = excluded.region,
                 last_seen = MAX(last_seen, excluded.last_seen)",
                params![s.key, s.region.get(), s.last_seen.nanos()],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every source known, with its last activity.
    pub fn sources(&self) -> Result<Vec<SourceSeen>, PlaybookError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT key, region, last_seen FROM sources ORDER BY key")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, region, last) = row.map_err(|e| self.err(e))?;
            if let Ok(region) = RegionCode::new(region) {
                out.push(SourceSeen {
                    key,
                    region,
                    last_seen: Timestamp(last),
                });
            }
        }
        Ok(out)
    }

    /// A stored time by name (e.g. when the daily report last ran).
    pub fn get_time(&self, name: &str) -> Result<Option<Timestamp>, PlaybookError> {
        self.lock()
            .query_row(
                "SELECT value FROM meta WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(Timestamp))
            .map_err(|e| self.err(e))
    }

    /// Store a time by name.
    pub fn set_time(&self, name: &str, t: Timestamp) -> Result<(), PlaybookError> {
        self.lock()
            .execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, t.nanos()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

fn insert(
    conn: &Connection,
    d: &NewDelivery,
    state: DeliveryState,
    now: Timestamp,
    error: Option<&str>,
) -> rusqlite::Result<bool> {
    // A payload that cannot be encoded is stored as `null`, so the sender marks it failed with
    // the reason rather than it being lost without trace.
    let payload = serde_json::to_string(&d.payload).unwrap_or_else(|_| "null".into());
    let done_at = (state == DeliveryState::Done).then_some(now.nanos());
    let n = conn.execute(
        "INSERT OR IGNORE INTO deliveries
         (key, playbook, action, subject, region, target, payload, state, attempts,
          created, next_at, done_at, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9, ?10, ?11)",
        params![
            d.key,
            d.playbook,
            d.action,
            d.subject,
            d.region.get(),
            d.target,
            payload,
            state.as_str(),
            now.nanos(),
            done_at,
            error
        ],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str) -> NewDelivery {
        NewDelivery {
            key: key.into(),
            playbook: "p".into(),
            action: "email".into(),
            subject: "incident:1:created".into(),
            region: "410100".parse().unwrap(),
            target: "a@example.org".into(),
            payload: Payload::Email {
                to: vec!["a@example.org".into()],
                cc: vec![],
                subject: "主题".into(),
                body: "正文".into(),
                html: None,
                attachments: vec![],
            },
        }
    }

    #[test]
    fn a_delivery_is_queued_once_retried_with_backoff_and_done_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let ob = Outbox::open(&path).unwrap();
        let t0 = Timestamp::from_secs(1_000_000);
        assert!(ob.enqueue(&delivery("k1"), t0).unwrap());
        assert!(
            !ob.enqueue(&delivery("k1"), t0).unwrap(),
            "same key queued twice"
        );
        let retry = Retry {
            max_attempts: 3,
            base_secs: 10,
            max_secs: 15,
        };
        let due = ob.due(t0, 10).unwrap();
        assert_eq!(due.len(), 1);
        let id = due[0].id;
        assert_eq!(
            ob.mark_failed(id, t0, "connection refused", &retry)
                .unwrap(),
            DeliveryState::Pending
        );
        assert!(ob.due(t0.add_secs(9), 10).unwrap().is_empty());
        assert_eq!(ob.next_due().unwrap(), Some(t0.add_secs(10)));
        // Reopened (a restart): the pending delivery is still there.
        drop(ob);
        let ob = Outbox::open(&path).unwrap();
        assert_eq!(ob.due(t0.add_secs(10), 10).unwrap().len(), 1);
        assert!(ob.mark_done(id, t0.add_secs(10)).unwrap());
        assert!(!ob.mark_done(id, t0.add_secs(11)).unwrap(), "done twice");
        let log = ob.list(&DeliveryQuery::default()).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].state, DeliveryState::Done);
        assert_eq!(log[0].attempts, 2);
        assert_eq!(log[0].last_error, None);
        assert_eq!(log[0].region.to_string(), "410100");
        let other: RegionCode = "410200".parse().unwrap();
        assert!(
            ob.list(&DeliveryQuery {
                regions: vec![other],
                ..Default::default()
            })
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn attempts_run_out() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        let t0 = Timestamp::from_secs(1_000_000);
        ob.enqueue(&delivery("k"), t0).unwrap();
        let retry = Retry {
            max_attempts: 2,
            base_secs: 1,
            max_secs: 1,
        };
        let id = ob.due(t0, 1).unwrap()[0].id;
        ob.mark_failed(id, t0, "e1", &retry).unwrap();
        assert_eq!(
            ob.mark_failed(id, t0, "e2", &retry).unwrap(),
            DeliveryState::Failed
        );
        assert!(ob.due(t0.add_secs(100), 10).unwrap().is_empty());
        let log = ob
            .list(&DeliveryQuery {
                state: Some(DeliveryState::Failed),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log[0].last_error.as_deref(), Some("e2"));
        assert_eq!(retry.backoff_secs(1), 1);
        let r = Retry {
            max_attempts: 10,
            base_secs: 5,
            max_secs: 3600,
        };
        assert_eq!(
            (1..=4).map(|a| r.backoff_secs(a)).collect::<Vec<_>>(),
            [5, 10, 20, 40]
        );
        assert_eq!(r.backoff_secs(30), 3600);
    }

    #[test]
    fn throttle_windows_and_sources() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        let t0 = Timestamp::from_secs(1_000_000);
        assert!(ob.throttle("p/k", t0, 60).unwrap());
        assert!(!ob.throttle("p/k", t0.add_secs(59), 60).unwrap());
        assert!(ob.throttle("p/other", t0, 60).unwrap());
        assert!(ob.throttle("p/k", t0.add_secs(60), 60).unwrap());
        let r: RegionCode = "410100".parse().unwrap();
        let s = |t| SourceSeen {
            key: "syslog_udp 10.0.0.1".into(),
            region: r,
            last_seen: Timestamp::from_secs(t),
        };
        ob.sources_seen(&[s(100)]).unwrap();
        ob.sources_seen(&[s(50)]).unwrap();
        assert_eq!(ob.sources().unwrap(), [s(100)]);
        assert_eq!(ob.get_time("report").unwrap(), None);
        ob.set_time("report", t0).unwrap();
        assert_eq!(ob.get_time("report").unwrap(), Some(t0));
    }

    #[test]
    fn a_file_from_before_schema_versions_opens_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        // What the previous build wrote: its schema, no version.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA_1).unwrap();
        c.execute("INSERT INTO meta (name, value) VALUES ('kept', 7)", [])
            .unwrap();
        drop(c);
        let opened = Outbox::open(&path).unwrap();
        let c = opened.lock();
        assert_eq!(onewall_localdb::version(&c).unwrap(), 1);
        let v: i64 = c
            .query_row("SELECT value FROM meta WHERE name = 'kept'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(v, 7);
    }
}
