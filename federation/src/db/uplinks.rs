//! Child side: `uplinks`, the local incidents linked to a parent incident (by a dispatch) and
//! how much of their timeline went up.

use onewall_model::{IncidentId, RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// A local incident's link to a parent incident.
#[derive(Debug, Clone)]
pub struct Uplink {
    pub parent: IncidentId,
    pub parent_region: String,
    pub parent_node: String,
    pub dispatched_at: Timestamp,
    /// Timeline entries already considered for sending.
    pub sent: usize,
}

/// The link of local incident `id`, when it has one.
pub fn get(c: &Connection, id: IncidentId) -> rusqlite::Result<Option<Uplink>> {
    c.query_row(
        "SELECT parent, parent_region, parent_node, dispatched_at, sent FROM uplinks \
         WHERE incident = ?1",
        [id.to_string()],
        |r| {
            Ok(Uplink {
                parent: r
                    .get::<_, String>(0)?
                    .parse()
                    .unwrap_or_else(|_| IncidentId::now()),
                parent_region: r.get(1)?,
                parent_node: r.get(2)?,
                dispatched_at: Timestamp(r.get(3)?),
                sent: r.get::<_, i64>(4)? as usize,
            })
        },
    )
    .optional()
}

/// The first `sent` timeline entries of local incident `id` were considered for sending.
pub fn set_sent(c: &Connection, id: IncidentId, sent: usize) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE uplinks SET sent = ?2 WHERE incident = ?1",
        params![id.to_string(), sent as i64],
    )?;
    Ok(())
}

/// Link local incident `id` (its timeline `sent` entries long) to parent incident `parent`;
/// a link already there moves to the new parent and keeps how much went up.
pub fn link(
    c: &Connection,
    id: IncidentId,
    parent: IncidentId,
    parent_region: RegionCode,
    parent_node: &str,
    dispatched_at: Timestamp,
    sent: usize,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO uplinks (incident, parent, parent_region, \
         parent_node, dispatched_at, sent) VALUES (?1,?2,?3,?4,?5,?6) \
         ON CONFLICT (incident) DO UPDATE SET parent = excluded.parent, \
         parent_region = excluded.parent_region, \
         parent_node = excluded.parent_node, \
         dispatched_at = excluded.dispatched_at",
        params![
            id.to_string(),
            parent.to_string(),
            parent_region.to_string(),
            parent_node,
            dispatched_at.nanos(),
            sent as i64
        ],
    )?;
    Ok(())
}

/// The local incidents linked to parent incident `parent` (a row that no longer parses is
/// skipped).
pub fn linked_to(c: &Connection, parent: IncidentId) -> rusqlite::Result<Vec<IncidentId>> {
    let mut stmt = c.prepare_cached("SELECT incident FROM uplinks WHERE parent = ?1")?;
    let rows = stmt.query_map([parent.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(id) = r?.parse() {
            out.push(id);
        }
    }
    Ok(out)
}
