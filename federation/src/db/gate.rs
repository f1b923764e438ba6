//! Parent side: the gate's memory, `gate_regions` (the child regions each attacker entity was
//! seen in) and `gate_held` (alerts held until it crosses `min_regions`).

use onewall_model::{AlertId, RegionCode};
use rusqlite::{Connection, params};

use crate::gate::Admitted;

/// Every remembered `(entity key, region)` pair and held `(entity key, alert)`; rows that no
/// longer parse are skipped.
pub type Memory = (Vec<(String, RegionCode)>, Vec<(String, AlertId)>);

/// What the gate remembers.
pub fn load(c: &Connection) -> rusqlite::Result<Memory> {
    let mut q = c.prepare("SELECT key, region FROM gate_regions")?;
    let regions = q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut q = c.prepare("SELECT key, alert FROM gate_held")?;
    let held = q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((
        regions
            .into_iter()
            .filter_map(|(k, r)| Some((k, r.parse().ok()?)))
            .collect(),
        held.into_iter()
            .filter_map(|(k, a)| Some((k, a.parse().ok()?)))
            .collect(),
    ))
}

/// Keep what one admit learned (new pairs, held alerts; an entity that crossed the line drops
/// its held rows), in one transaction.
pub fn remember(c: &mut Connection, admitted: &Admitted) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    {
        let mut reg = tx.prepare_cached(
            "INSERT INTO gate_regions (key, region) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for (k, r) in &admitted.regions {
            reg.execute(params![k, r.to_string()])?;
        }
        let mut held = tx.prepare_cached(
            "INSERT INTO gate_held (key, alert) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for (k, a) in &admitted.held {
            held.execute(params![k, a.to_string()])?;
        }
        let mut open = tx.prepare_cached("DELETE FROM gate_held WHERE key = ?1")?;
        for k in &admitted.opened {
            open.execute([k])?;
        }
    }
    tx.commit()
}
