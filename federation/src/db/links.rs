//! Parent side: `remote_alerts` (every pushed alert id, its region, the child incident and the
//! parent incident holding it) and `child_incidents` (the children's incidents as their last
//! snapshot showed them).

use std::collections::HashSet;

use onewall_model::federation::IncidentSnapshot;
use onewall_model::{AlertId, IncidentId, RegionCode};
use rusqlite::{Connection, params};

/// Which of `ids` were pushed before.
pub fn known_alerts(c: &Connection, ids: &[AlertId]) -> rusqlite::Result<HashSet<AlertId>> {
    let mut stmt = c.prepare_cached("SELECT 1 FROM remote_alerts WHERE alert = ?1")?;
    let mut known = HashSet::new();
    for id in ids {
        if stmt.exists([id.to_string()])? {
            known.insert(*id);
        }
    }
    Ok(known)
}

/// Record pushed alerts with their regions, in one transaction (a known id is left alone).
pub fn insert_alerts(c: &mut Connection, rows: &[(AlertId, RegionCode)]) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO remote_alerts (alert, region) VALUES (?1, ?2) \
             ON CONFLICT (alert) DO NOTHING",
        )?;
        for (id, region) in rows {
            stmt.execute(params![id.to_string(), region.to_string()])?;
        }
    }
    tx.commit()
}

/// Keep a child's incident snapshot (from `node`) and note which of the remote alerts it
/// holds.
pub fn upsert_child_incident(
    c: &Connection,
    node: &str,
    snap: &IncidentSnapshot,
) -> rusqlite::Result<()> {
    let id = snap.id.to_string();
    c.execute(
        "INSERT INTO child_incidents (region, incident, node, status, title, parent) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (region, incident) DO UPDATE \
         SET node = excluded.node, status = excluded.status, title = excluded.title, \
         parent = excluded.parent",
        params![
            snap.region.to_string(),
            id,
            node,
            snap.status.as_str(),
            snap.title,
            snap.parent.map(|p| p.to_string())
        ],
    )?;
    let mut stmt =
        c.prepare_cached("UPDATE remote_alerts SET child_incident = ?1 WHERE alert = ?2")?;
    for a in &snap.alert_ids {
        stmt.execute(params![id, a.to_string()])?;
    }
    Ok(())
}

/// Parent incident `id` holds these remote alerts.
pub fn set_parent_incident(
    c: &Connection,
    id: IncidentId,
    alerts: &[AlertId],
) -> rusqlite::Result<()> {
    let mut stmt =
        c.prepare_cached("UPDATE remote_alerts SET parent_incident = ?1 WHERE alert = ?2")?;
    for a in alerts {
        stmt.execute(params![id.to_string(), a.to_string()])?;
    }
    Ok(())
}

/// The remote alerts from `region` parent incident `id` holds, and the child incidents holding
/// them (each once, in the order met).
pub fn remote_of(
    c: &Connection,
    id: IncidentId,
    region: RegionCode,
) -> rusqlite::Result<(Vec<IncidentId>, Vec<AlertId>)> {
    let mut q = c.prepare_cached(
        "SELECT alert, child_incident FROM remote_alerts \
         WHERE parent_incident = ?1 AND region = ?2",
    )?;
    let rows = q.query_map(params![id.to_string(), region.to_string()], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
    })?;
    let mut incs: Vec<IncidentId> = Vec::new();
    let mut alerts: Vec<AlertId> = Vec::new();
    for row in rows {
        let (a, ci) = row?;
        if let Some(ci) = ci.and_then(|s| s.parse().ok())
            && !incs.contains(&ci)
        {
            incs.push(ci);
        }
        if let Ok(a) = a.parse() {
            alerts.push(a);
        }
    }
    Ok((incs, alerts))
}

/// A child incident holding some of a parent incident's alerts.
#[derive(Debug, Clone)]
pub struct ChildLink {
    pub region: String,
    pub incident: String,
    /// From its last snapshot, when one arrived.
    pub node: Option<String>,
    pub status: Option<String>,
}

/// The child incidents holding parent incident `id`'s alerts, by region.
pub fn child_links(c: &Connection, id: IncidentId) -> rusqlite::Result<Vec<ChildLink>> {
    let mut q = c.prepare_cached(
        "SELECT DISTINCT ra.region, ra.child_incident, ci.node, ci.status \
         FROM remote_alerts ra LEFT JOIN child_incidents ci \
         ON ci.region = ra.region AND ci.incident = ra.child_incident \
         WHERE ra.parent_incident = ?1 AND ra.child_incident IS NOT NULL \
         ORDER BY ra.region",
    )?;
    let rows = q.query_map([id.to_string()], |r| {
        Ok(ChildLink {
            region: r.get(0)?,
            incident: r.get(1)?,
            node: r.get(2)?,
            status: r.get(3)?,
        })
    })?;
    rows.collect()
}
