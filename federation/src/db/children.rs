//! Parent side: `children` (health, current epoch and its last sequence per child region),
//! `child_epochs` (the last sequence applied per child region and outbox epoch) and
//! `downlink` (sequenced messages per child not yet acknowledged).

use onewall_model::federation::{Down, DownMessage};
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// What the parent knows of a child region, as far as a push needs it: the last sequence
/// applied for the pushed epoch (0 for an epoch never seen) and the epoch it last heard.
#[derive(Debug, Default, Clone)]
pub struct ChildState {
    pub last_seq: u64,
    pub epoch: Option<String>,
}

/// A stored sequence; a negative one (written by an older version) counts as none.
fn stored_seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The state of child `region` for a push from outbox `epoch`.
pub fn state(c: &Connection, region: RegionCode, epoch: &str) -> rusqlite::Result<ChildState> {
    let r = region.to_string();
    let last_seq = c
        .query_row(
            "SELECT last_seq FROM child_epochs WHERE region = ?1 AND epoch = ?2",
            params![r, epoch],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .map(stored_seq)
        .unwrap_or(0);
    let current = c
        .query_row(
            "SELECT epoch FROM children WHERE region = ?1 AND last_contact > 0",
            [&r],
            |row| row.get(0),
        )
        .optional()?;
    Ok(ChildState {
        last_seq,
        epoch: current,
    })
}

/// What a child said about itself in a push.
#[derive(Debug, Clone)]
pub struct Contact {
    pub region: RegionCode,
    pub node: String,
    pub epoch: String,
    pub at: Timestamp,
    pub oldest_queued: Option<Timestamp>,
    pub outbox_depth: u64,
    /// New alerts this push brought.
    pub alerts: usize,
    /// The last sequence applied, now.
    pub last_seq: u64,
    /// The last downlink sequence the child applied.
    pub ack_down: u64,
}

/// Record a push: the child's health, its epoch's last sequence, and drop the downlink
/// messages it acknowledged.
pub fn record_contact(c: &Connection, p: &Contact) -> rusqlite::Result<()> {
    let r = p.region.to_string();
    c.execute(
        "INSERT INTO children (region, node, last_contact, oldest_queued, \
         outbox_depth, alerts, last_seq, ack_down, next_down, epoch) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9) \
         ON CONFLICT (region) DO UPDATE SET node = excluded.node, \
         last_contact = excluded.last_contact, oldest_queued = excluded.oldest_queued, \
         outbox_depth = excluded.outbox_depth, alerts = alerts + excluded.alerts, \
         last_seq = excluded.last_seq, ack_down = excluded.ack_down, \
         epoch = excluded.epoch",
        params![
            r,
            p.node,
            p.at.nanos(),
            p.oldest_queued.map(|t| t.nanos()),
            p.outbox_depth as i64,
            p.alerts as i64,
            p.last_seq as i64,
            p.ack_down as i64,
            p.epoch
        ],
    )?;
    c.execute(
        "INSERT INTO child_epochs (region, epoch, last_seq) VALUES (?1, ?2, ?3) \
         ON CONFLICT (region, epoch) DO UPDATE \
         SET last_seq = MAX(last_seq, excluded.last_seq)",
        params![r, p.epoch, p.last_seq as i64],
    )?;
    c.execute(
        "DELETE FROM downlink WHERE region = ?1 AND seq <= ?2",
        params![r, p.ack_down as i64],
    )?;
    Ok(())
}

/// Up to `limit` downlink messages for `region` after `ack_down`, in sequence order (a row
/// that no longer parses is skipped).
pub fn downlink_after(
    c: &Connection,
    region: RegionCode,
    ack_down: u64,
    limit: i64,
) -> rusqlite::Result<Vec<DownMessage>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, body FROM downlink WHERE region = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![region.to_string(), ack_down as i64, limit], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        if let Ok(body) = serde_json::from_str::<Down>(&body) {
            out.push(DownMessage {
                seq: seq as u64,
                body,
            });
        }
    }
    Ok(out)
}

/// Queue a downlink message for `region`; answers its sequence.
pub fn queue_down(c: &Connection, region: RegionCode, body: &Down) -> rusqlite::Result<u64> {
    let r = region.to_string();
    c.execute(
        "INSERT INTO children (region, node, last_contact, oldest_queued, outbox_depth, alerts, \
         last_seq, ack_down, next_down) VALUES (?1, '', 0, NULL, 0, 0, 0, 0, 1) \
         ON CONFLICT (region) DO NOTHING",
        [&r],
    )?;
    let seq: i64 = c.query_row(
        "UPDATE children SET next_down = next_down + 1 WHERE region = ?1 RETURNING next_down - 1",
        [&r],
        |row| row.get(0),
    )?;
    let text = serde_json::to_string(body)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    c.execute(
        "INSERT INTO downlink (region, seq, body) VALUES (?1, ?2, ?3)",
        params![r, seq, text],
    )?;
    Ok(seq as u64)
}

/// Whether child `region` has pushed.
pub fn has_pushed(c: &Connection, region: RegionCode) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT 1 FROM children WHERE region = ?1 AND last_contact > 0",
        [region.to_string()],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// A child that pushed, as its health shows it.
#[derive(Debug, Clone)]
pub struct Health {
    pub region: String,
    pub node: String,
    pub last_contact: Timestamp,
    pub oldest_queued: Option<Timestamp>,
    pub outbox_depth: i64,
    pub alerts: i64,
    pub last_seq: i64,
    /// Downlink messages it has not acknowledged.
    pub downlink_queued: i64,
}

/// Every child that pushed, by region.
pub fn health(c: &Connection) -> rusqlite::Result<Vec<Health>> {
    let mut q = c.prepare_cached(
        "SELECT region, node, last_contact, oldest_queued, outbox_depth, alerts, \
         last_seq, (SELECT COUNT(*) FROM downlink d WHERE d.region = children.region) \
         FROM children WHERE last_contact > 0 ORDER BY region",
    )?;
    let rows = q.query_map([], |r| {
        Ok(Health {
            region: r.get(0)?,
            node: r.get(1)?,
            last_contact: Timestamp(r.get(2)?),
            oldest_queued: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            outbox_depth: r.get(4)?,
            alerts: r.get(5)?,
            last_seq: r.get(6)?,
            downlink_queued: r.get(7)?,
        })
    })?;
    rows.collect()
}
