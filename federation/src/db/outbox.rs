//! The child's outbox: up-messages queued durably, sent in sequence, dropped once the parent
//! acknowledges them. An incident's snapshot replaces its earlier unsent snapshot (only the
//! latest state matters), so a busy incident does not fill the outbox; so does an asset
//! roll-up its earlier unsent one.

use onewall_model::Timestamp;
use onewall_model::federation::{Up, UpMessage};
use rusqlite::{Connection, params};

use super::{get_kv, set_kv};

/// The `incident` column's value for an asset roll-up (no incident id looks like it), so the
/// next roll-up finds the unsent one it replaces.
const ROLLUP_KEY: &str = "asset-rollup";

/// What is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    pub messages: u64,
    /// When the oldest queued message was queued.
    pub oldest: Option<Timestamp>,
}

/// Queue `items` in one transaction.
pub fn enqueue(c: &mut Connection, items: &[Up], at: Timestamp) -> rusqlite::Result<usize> {
    let tx = c.transaction()?;
    {
        let mut unsent = tx.prepare_cached("SELECT body FROM outbox WHERE incident = ?1")?;
        let mut drop_old = tx.prepare_cached("DELETE FROM outbox WHERE incident = ?1")?;
        let mut insert =
            tx.prepare_cached("INSERT INTO outbox (queued, incident, body) VALUES (?1, ?2, ?3)")?;
        for item in items {
            let (incident, body) = match item {
                Up::Incident { incident } => {
                    let id = incident.id.to_string();
                    // A snapshot names only the alerts that joined since the one before; the
                    // unsent one it replaces keeps its alerts in the new one.
                    let mut merged = incident.as_ref().clone();
                    let earlier: Vec<String> = unsent
                        .query_map([&id], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    let mut alerts = Vec::new();
                    for body in earlier {
                        if let Ok(Up::Incident { incident: old }) = serde_json::from_str(&body) {
                            alerts.extend(old.alert_ids);
                        }
                    }
                    for a in std::mem::take(&mut merged.alert_ids) {
                        if !alerts.contains(&a) {
                            alerts.push(a);
                        }
                    }
                    merged.alert_ids = alerts;
                    drop_old.execute([&id])?;
                    let item = Up::Incident {
                        incident: Box::new(merged),
                    };
                    (Some(id), serde_json::to_string(&item))
                }
                Up::AssetRollup { .. } => {
                    // Only the latest figures matter: an unsent roll-up is replaced.
                    drop_old.execute([ROLLUP_KEY])?;
                    (Some(ROLLUP_KEY.to_owned()), serde_json::to_string(item))
                }
                _ => (None, serde_json::to_string(item)),
            };
            let body = body.map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            insert.execute(params![at.nanos(), incident, body])?;
        }
    }
    tx.commit()?;
    Ok(items.len())
}

/// Up to `limit` messages in sequence order. A row that no longer parses is skipped (and
/// dropped on the next acknowledgement) rather than blocking the queue.
pub fn batch(c: &Connection, limit: usize) -> rusqlite::Result<Vec<UpMessage>> {
    let mut stmt = c.prepare_cached("SELECT seq, body FROM outbox ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        match serde_json::from_str::<Up>(&body) {
            Ok(body) => out.push(UpMessage {
                seq: seq as u64,
                body,
            }),
            Err(e) => tracing::error!(seq, error = %e, "federation outbox row unreadable; skipped"),
        }
    }
    Ok(out)
}

/// How much is queued.
pub fn depth(c: &Connection) -> rusqlite::Result<Depth> {
    c.query_row("SELECT COUNT(*), MIN(queued) FROM outbox", [], |r| {
        Ok(Depth {
            messages: r.get::<_, i64>(0)? as u64,
            oldest: r.get::<_, Option<i64>>(1)?.map(Timestamp),
        })
    })
}

/// Drop everything at or below `seq` (the parent applied it).
pub fn ack(c: &Connection, seq: u64) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM outbox WHERE seq <= ?1", [seq as i64])
}

/// The outbox's identity, made on first use.
pub fn epoch(c: &Connection) -> rusqlite::Result<String> {
    if let Some(e) = get_kv(c, "epoch")? {
        return Ok(e);
    }
    let e = onewall_model::Id::<()>::now().to_string();
    set_kv(c, "epoch", &e)?;
    Ok(e)
}

/// The highest downlink sequence applied.
pub fn ack_down(c: &Connection) -> rusqlite::Result<u64> {
    Ok(get_kv(c, "ack_down")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub fn set_ack_down(c: &Connection, seq: u64) -> rusqlite::Result<()> {
    set_kv(c, "ack_down", &seq.to_string())
}

#[cfg(test)]
mod tests {
    use onewall_model::federation::IncidentSnapshot;
    use onewall_model::{AlertId, IncidentId, IncidentStatus, Severity};

    use super::*;
    use crate::db::Db;

    fn snapshot(id: IncidentId, status: IncidentStatus) -> Up {
        Up::Incident {
            incident: Box::new(IncidentSnapshot {
                id,
                title: "t".into(),
                status,
                severity: Severity::High,
                grade: None,
                region: "410100".parse().unwrap(),
                alert_ids: vec![],
                entities: vec![],
                parent: None,
                updated: Timestamp(1),
            }),
        }
    }

    fn comment(text: &str) -> Up {
        Up::Comment {
            incident: IncidentId::now(),
            parent: IncidentId::now(),
            text: text.into(),
            by: "bob".into(),
            at: Timestamp(2),
        }
    }

    #[test]
    fn a_replaced_snapshot_keeps_its_alerts_in_the_new_one() {
        let db = Db::memory();
        let inc = IncidentId::now();
        let with = |alerts: &[u128]| match snapshot(inc, IncidentStatus::New) {
            Up::Incident { mut incident } => {
                incident.alert_ids = alerts.iter().map(|a| AlertId::from_u128(*a)).collect();
                Up::Incident { incident }
            }
            _ => unreachable!(),
        };
        db.call_now(|c| {
            // Each snapshot names the alerts that joined since the one before.
            enqueue(c, &[with(&[1])], Timestamp(10))?;
            enqueue(c, &[with(&[2, 3])], Timestamp(20))?;
            enqueue(c, &[with(&[3, 4])], Timestamp(30))?;
            let b = batch(c, 10)?;
            assert_eq!(b.len(), 1, "one snapshot left");
            match &b[0].body {
                Up::Incident { incident } => assert_eq!(
                    incident.alert_ids,
                    [1, 2, 3, 4].map(AlertId::from_u128),
                    "the parent links every alert to the incident"
                ),
                other => panic!("{other:?}"),
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn sequences_survive_acks_and_snapshots_replace_older_ones() {
        let db = Db::memory();
        let inc = IncidentId::now();
        db.call_now(|c| {
            enqueue(
                c,
                &[comment("a"), snapshot(inc, IncidentStatus::New)],
                Timestamp(10),
            )?;
            enqueue(c, &[snapshot(inc, IncidentStatus::Closed)], Timestamp(20))?;
            let d = depth(c)?;
            assert_eq!(d.messages, 2, "the second snapshot replaced the first");
            assert_eq!(d.oldest, Some(Timestamp(10)));
            let b = batch(c, 10)?;
            assert_eq!(b.len(), 2);
            assert!(b[0].seq < b[1].seq);
            match &b[1].body {
                Up::Incident { incident } => assert_eq!(incident.status, IncidentStatus::Closed),
                other => panic!("{other:?}"),
            }
            // Acknowledge the first; a new message never reuses a sequence.
            ack(c, b[0].seq)?;
            ack(c, b[1].seq)?;
            assert_eq!(depth(c)?.messages, 0);
            enqueue(c, &[comment("b")], Timestamp(30))?;
            let again = batch(c, 10)?;
            assert!(again[0].seq > b[1].seq, "sequences are never reused");
            assert_eq!(ack_down(c)?, 0);
            set_ack_down(c, 7)?;
            assert_eq!(ack_down(c)?, 7);
            let e = epoch(c)?;
            assert_eq!(epoch(c)?, e, "made once");
            Ok(())
        })
        .unwrap();
    }
}
