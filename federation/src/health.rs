//! What the parent shows: its children's health, and an incident's links to child
//! incidents and dispatches.

use std::collections::HashSet;

use onewall_model::{IncidentId, RegionCode, Timestamp};
use rusqlite::OptionalExtension;

use super::Federation;

impl Federation {
    /// Whether `region` is a configured or known child.
    pub async fn is_child(&self, region: RegionCode) -> anyhow::Result<bool> {
        if self.cfg.children.contains(&region) {
            return Ok(true);
        }
        self.db
            .call(move |c| {
                c.query_row(
                    "SELECT 1 FROM children WHERE region = ?1 AND last_contact > 0",
                    [region.to_string()],
                    |_| Ok(()),
                )
                .optional()
                .map(|r| r.is_some())
            })
            .await
    }

    /// Each child's health: configured children first (never seen ones as such), then any
    /// other child that pushed.
    pub async fn children_health(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        type Row = (String, String, i64, Option<i64>, i64, i64, i64, i64);
        let rows: Vec<Row> = self
            .db
            .call(|c| {
                let mut q = c.prepare_cached(
                    "SELECT region, node, last_contact, oldest_queued, outbox_depth, alerts, \
                     last_seq, (SELECT COUNT(*) FROM downlink d WHERE d.region = children.region) \
                     FROM children WHERE last_contact > 0 ORDER BY region",
                )?;
                let rows = q.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })?;
                rows.collect()
            })
            .await?;
        let now = Timestamp::now();
        let secs = |from: i64| (now.nanos() - from).max(0) as f64 / 1e9;
        let mut out = Vec::new();
        let mut listed = HashSet::new();
        for (region, node, last, oldest, depth, alerts, seq, down) in rows {
            listed.insert(region.clone());
            // Lag: how long the oldest message still queued at the child has waited, as of
            // now; with nothing queued, how long the child has been silent.
            let lag = match oldest {
                Some(o) => secs(o),
                None => secs(last),
            };
            out.push(serde_json::json!({
                "region": region,
                "node": node,
                "state": "seen",
                "expected": self.cfg.children.iter().any(|c| c.to_string() == region),
                "last_contact": Timestamp(last),
                "lag_seconds": lag,
                "silent_seconds": secs(last),
                "outbox_depth": depth,
                "oldest_queued": oldest.map(Timestamp),
                "alerts_received": alerts,
                "last_seq": seq,
                "downlink_queued": down,
            }));
        }
        for c in &self.cfg.children {
            if !listed.contains(&c.to_string()) {
                out.push(serde_json::json!({
                    "region": c, "node": null, "state": "never_seen", "expected": true,
                    "last_contact": null, "lag_seconds": null, "outbox_depth": null,
                    "alerts_received": 0, "last_seq": 0,
                }));
            }
        }
        Ok(out)
    }

    /// A parent incident's links, for its JSON: child incidents holding its alerts, and its
    /// dispatches.
    pub async fn parent_links(
        &self,
        id: IncidentId,
    ) -> anyhow::Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
        self.db
            .call(move |c| {
                let mut q = c.prepare_cached(
                    "SELECT DISTINCT ra.region, ra.child_incident, ci.node, ci.status \
                     FROM remote_alerts ra LEFT JOIN child_incidents ci \
                     ON ci.region = ra.region AND ci.incident = ra.child_incident \
                     WHERE ra.parent_incident = ?1 AND ra.child_incident IS NOT NULL \
                     ORDER BY ra.region",
                )?;
                let rows = q.query_map([id.to_string()], |r| {
                    Ok(serde_json::json!({
                        "region": r.get::<_, String>(0)?,
                        "incident": r.get::<_, String>(1)?,
                        "node": r.get::<_, Option<String>>(2)?,
                        "status": r.get::<_, Option<String>>(3)?,
                    }))
                })?;
                let children = rows.collect::<rusqlite::Result<Vec<_>>>()?;
                let mut q = c.prepare_cached(
                    "SELECT region, at, by_, note, team, status FROM dispatches \
                     WHERE incident = ?1 ORDER BY region",
                )?;
                let rows = q.query_map([id.to_string()], |r| {
                    Ok(serde_json::json!({
                        "region": r.get::<_, String>(0)?,
                        "at": Timestamp(r.get(1)?),
                        "by": r.get::<_, String>(2)?,
                        "note": r.get::<_, String>(3)?,
                        "team": r.get::<_, Option<String>>(4)?,
                        "status": r.get::<_, Option<String>>(5)?,
                    }))
                })?;
                let dispatches = rows.collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((children, dispatches))
            })
            .await
    }
}
