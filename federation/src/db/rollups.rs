//! Parent side: `asset_rollups`, the latest asset roll-up each child region pushed (its
//! figures per region and department), replaced by the next.

use onewall_model::asset::AssetRollup;
use onewall_model::{RegionCode, Timestamp};
use rusqlite::{Connection, params};

/// A kept roll-up: the child region that pushed it, its node, when it arrived, the figures.
pub type Kept = (RegionCode, String, Timestamp, AssetRollup);

/// Keep `rollup` as child `via`'s latest (replacing the one before).
pub fn put(
    c: &Connection,
    via: RegionCode,
    node: &str,
    received: Timestamp,
    rollup: &AssetRollup,
) -> rusqlite::Result<()> {
    let body = serde_json::to_string(rollup)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    c.execute(
        "INSERT INTO asset_rollups (region, node, received, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (region) DO UPDATE SET node = excluded.node, \
         received = excluded.received, body = excluded.body",
        params![via.to_string(), node, received.nanos(), body],
    )?;
    Ok(())
}

/// Every kept roll-up, by child region. A row that no longer parses is skipped.
pub fn all(c: &Connection) -> rusqlite::Result<Vec<Kept>> {
    let mut q =
        c.prepare("SELECT region, node, received, body FROM asset_rollups ORDER BY region")?;
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(region, node, at, body)| {
            let rollup = serde_json::from_str(&body)
                .map_err(|e| {
                    tracing::error!(%region, error = %e, "federation: a kept asset roll-up is unreadable; skipped");
                })
                .ok()?;
            Some((region.parse().ok()?, node, Timestamp(at), rollup))
        })
        .collect())
}
