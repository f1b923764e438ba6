//! Parent side: `dispatches` (a parent incident sent to a child region, and the status the
//! child's incidents report) and `downsent` (how much of a parent incident's timeline went
//! down).

use onewall_model::{IncidentId, IncidentStatus, RegionCode, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// A dispatch of a parent incident to a child region.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub region: String,
    pub at: Timestamp,
    pub by: String,
    pub note: String,
    pub team: Option<String>,
    /// The status the child last reported for it.
    pub status: Option<String>,
}

/// Record a dispatch of `incident` to `region` (a repeat replaces the earlier one and keeps
/// the status the child reported).
pub fn upsert(
    c: &Connection,
    incident: IncidentId,
    region: RegionCode,
    d: &Dispatch,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO dispatches (incident, region, at, by_, note, team, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL) ON CONFLICT (incident, region) DO \
         UPDATE SET at = excluded.at, by_ = excluded.by_, note = excluded.note, \
         team = excluded.team",
        params![
            incident.to_string(),
            region.to_string(),
            d.at.nanos(),
            d.by,
            d.note,
            d.team
        ],
    )?;
    Ok(())
}

/// The child in `region` reports `status` for parent incident `incident`; answers whether it
/// was dispatched there.
pub fn set_status(
    c: &Connection,
    incident: IncidentId,
    region: RegionCode,
    status: IncidentStatus,
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE dispatches SET status = ?3 WHERE incident = ?1 AND region = ?2",
        params![incident.to_string(), region.to_string(), status.as_str()],
    )?;
    Ok(n > 0)
}

/// The statuses the children reported for parent incident `incident` (dispatches with none,
/// or one that no longer parses, are left out).
pub fn statuses(c: &Connection, incident: IncidentId) -> rusqlite::Result<Vec<IncidentStatus>> {
    let mut stmt = c.prepare_cached("SELECT status FROM dispatches WHERE incident = ?1")?;
    let rows = stmt.query_map([incident.to_string()], |r| r.get::<_, Option<String>>(0))?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(s) = r?.and_then(|s| s.parse().ok()) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Whether parent incident `incident` was dispatched to `region`.
pub fn is_dispatched(
    c: &Connection,
    incident: IncidentId,
    region: RegionCode,
) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT 1 FROM dispatches WHERE incident = ?1 AND region = ?2",
        params![incident.to_string(), region.to_string()],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// The regions parent incident `incident` was dispatched to (a row that no longer parses is
/// skipped).
pub fn regions(c: &Connection, incident: IncidentId) -> rusqlite::Result<Vec<RegionCode>> {
    let mut q = c.prepare_cached("SELECT region FROM dispatches WHERE incident = ?1")?;
    let rows = q.query_map([incident.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(region) = r?.parse() {
            out.push(region);
        }
    }
    Ok(out)
}

/// Parent incident `incident`'s dispatches, by region.
pub fn of_incident(c: &Connection, incident: IncidentId) -> rusqlite::Result<Vec<Dispatch>> {
    let mut q = c.prepare_cached(
        "SELECT region, at, by_, note, team, status FROM dispatches \
         WHERE incident = ?1 ORDER BY region",
    )?;
    let rows = q.query_map([incident.to_string()], |r| {
        Ok(Dispatch {
            region: r.get(0)?,
            at: Timestamp(r.get(1)?),
            by: r.get(2)?,
            note: r.get(3)?,
            team: r.get(4)?,
            status: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// How many of parent incident `incident`'s timeline entries went down, when recorded.
pub fn downsent(c: &Connection, incident: IncidentId) -> rusqlite::Result<Option<usize>> {
    c.query_row(
        "SELECT sent FROM downsent WHERE incident = ?1",
        [incident.to_string()],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as usize))
}

/// The first `sent` of parent incident `incident`'s timeline entries went down.
pub fn set_downsent(c: &Connection, incident: IncidentId, sent: usize) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO downsent (incident, sent) VALUES (?1, ?2) \
         ON CONFLICT (incident) DO UPDATE SET sent = excluded.sent",
        params![incident.to_string(), sent as i64],
    )?;
    Ok(())
}
