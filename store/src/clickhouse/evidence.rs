//! An incident's evidence: one `incident_alerts` row per alert, so that an incident's new
//! version (a whole row of `incidents`) need not repeat every alert id it holds.
//!
//! Rows are only ever added: `(incident, seq, alert, removed = 0)` when an alert joins, and a
//! tombstone `(incident, seq, alert, removed = 1)` when it is unlinked. The evidence is the
//! rows of each `seq` without a tombstone, in `seq` order. The replacing engine collapses a
//! row written twice (a retried insert); reads group by `seq`, so they are right before
//! merges too. An incident body written before this table holds its ids inline; they move
//! to rows on its next write.

use std::collections::{HashMap, HashSet};

use clickhouse::{Client, Row};
use onewall_model::{AlertId, Incident, IncidentId};
use serde::{Deserialize, Serialize};

use super::Culprit;
use crate::Result;

/// The stored evidence of one incident.
#[derive(Debug, Default, Clone)]
pub(super) struct Evidence {
    /// `(seq, alert)` of the alerts it holds, in order.
    pub alive: Vec<(u64, AlertId)>,
    /// The next free `seq` (above every row, tombstoned or not).
    pub next_seq: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct EvidenceRow {
    incident: [u8; 16],
    seq: u64,
    alert: [u8; 16],
    removed: u8,
}

fn hex(id: [u8; 16]) -> String {
    format!("{:032X}", u128::from_be_bytes(id))
}

/// The evidence of `ids`, from one query. Incidents with no rows are absent.
pub(super) async fn read(
    client: &Client,
    culprit: &Culprit,
    ids: &[IncidentId],
) -> Result<HashMap<IncidentId, Evidence>> {
    let mut out: HashMap<IncidentId, Evidence> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list: Vec<String> = ids
        .iter()
        .map(|i| format!("unhex('{}')", hex(i.to_bytes())))
        .collect();
    let sql = format!(
        "SELECT incident AS i, seq AS s, any(alert) AS a, max(removed) AS r \
         FROM incident_alerts WHERE incident IN ({}) GROUP BY incident, seq \
         ORDER BY incident, seq",
        list.join(", ")
    );
    let rows: Vec<EvidenceRow> = client
        .query(&sql)
        .fetch_all()
        .await
        .map_err(|e| culprit.error("reading incident evidence", e))?;
    for row in rows {
        let ev = out.entry(IncidentId::from_bytes(row.incident)).or_default();
        ev.next_seq = ev.next_seq.max(row.seq + 1);
        if row.removed == 0 {
            ev.alive.push((row.seq, AlertId::from_bytes(row.alert)));
        }
    }
    Ok(out)
}

/// Fill the evidence of incidents read from their bodies (a body that holds its ids inline,
/// written before the evidence table, is left as it is).
pub(super) async fn fill(
    client: &Client,
    culprit: &Culprit,
    incidents: &mut [Incident],
) -> Result<()> {
    let ids: Vec<IncidentId> = incidents
        .iter()
        .filter(|i| i.alert_ids.is_empty())
        .map(|i| i.id)
        .collect();
    let mut found = read(client, culprit, &ids).await?;
    for inc in incidents.iter_mut().filter(|i| i.alert_ids.is_empty()) {
        if let Some(ev) = found.remove(&inc.id) {
            inc.alert_ids = ev.alive.into_iter().map(|(_, a)| a).collect();
        }
    }
    Ok(())
}

/// Write the rows that take each incident's stored evidence (`stored`, absent for none) to
/// its `alert_ids`: tombstones for the alerts it no longer holds, rows for the new ones.
pub(super) async fn write(
    client: &Client,
    culprit: &Culprit,
    changes: &[(&Incident, Option<&Evidence>)],
) -> Result<()> {
    let empty = Evidence::default();
    let mut rows = Vec::new();
    for (inc, stored) in changes {
        let stored = stored.unwrap_or(&empty);
        let key = inc.id.to_bytes();
        let now: HashSet<AlertId> = inc.alert_ids.iter().copied().collect();
        let mut held = HashSet::with_capacity(stored.alive.len());
        for (seq, alert) in &stored.alive {
            if now.contains(alert) {
                held.insert(*alert);
            } else {
                rows.push(EvidenceRow {
                    incident: key,
                    seq: *seq,
                    alert: alert.to_bytes(),
                    removed: 1,
                });
            }
        }
        let mut seq = stored.next_seq;
        for alert in &inc.alert_ids {
            if held.insert(*alert) {
                rows.push(EvidenceRow {
                    incident: key,
                    seq,
                    alert: alert.to_bytes(),
                    removed: 0,
                });
                seq += 1;
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let err = |e| culprit.error("inserting incident evidence", e);
    let mut insert = client
        .insert::<EvidenceRow>("incident_alerts")
        .await
        .map_err(err)?;
    for row in &rows {
        insert.write(row).await.map_err(err)?;
    }
    insert.end().await.map_err(err)
}
