//! What the parent shows: its children's health, and an incident's links to child
//! incidents and dispatches.

use std::collections::HashSet;

use super::Federation;
use super::db::{children, dispatches, links};
use onewall_model::{IncidentId, RegionCode, Timestamp};

impl Federation {
    /// Whether `region` is a configured or known child.
    pub async fn is_child(&self, region: RegionCode) -> anyhow::Result<bool> {
        if self.cfg.children.contains(&region) {
            return Ok(true);
        }
        self.db.call(move |c| children::has_pushed(c, region)).await
    }

    /// Each child's health: configured children first (never seen ones as such), then any
    /// other child that pushed.
    pub async fn children_health(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let rows = self.db.call(|c| children::health(c)).await?;
        let now = Timestamp::now();
        let secs = |from: i64| (now.nanos() - from).max(0) as f64 / 1e9;
        let mut out = Vec::new();
        let mut listed = HashSet::new();
        for h in rows {
            let children::Health {
                region,
                node,
                last_contact: Timestamp(last),
                oldest_queued: oldest,
                outbox_depth: depth,
                alerts,
                last_seq: seq,
                downlink_queued: down,
            } = h;
            listed.insert(region.clone());
            // Lag: how long the oldest message still queued at the child has waited, as of
            // now; with nothing queued, how long the child has been silent.
            let lag = match oldest {
                Some(Timestamp(o)) => secs(o),
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
                "oldest_queued": oldest,
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
        let (children, dispatches) = self
            .db
            .call(move |c| Ok((links::child_links(c, id)?, dispatches::of_incident(c, id)?)))
            .await?;
        let children = children
            .into_iter()
            .map(|l| {
                serde_json::json!({
                    "region": l.region,
                    "incident": l.incident,
                    "node": l.node,
                    "status": l.status,
                })
            })
            .collect();
        let dispatches = dispatches
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "region": d.region,
                    "at": d.at,
                    "by": d.by,
                    "note": d.note,
                    "team": d.team,
                    "status": d.status,
                })
            })
            .collect();
        Ok((children, dispatches))
    }
}
