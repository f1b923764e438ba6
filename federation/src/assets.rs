//! Asset roll-ups across levels: a child queues its figures per region and department
//! ([`Federation::queue_rollup`], an `Up::AssetRollup` in the outbox, replacing an unsent
//! earlier one); the parent keeps the latest per child ([`Federation::child_rollups`]) in
//! `federation.sqlite`, so the province supervises without holding every city's systems.
//! The API's gate has already refused a roll-up with rows outside the child's regions. A
//! middle level (a city under a province) passes its children's rows up with its own
//! ([`Federation::rollup_with_children`]), so the top sees every level's figures.

use metrics::counter;
use onewall_model::asset::{AssetRollup, RollupRow};
use onewall_model::federation::Up;
use onewall_model::{RegionCode, Timestamp};
use serde::Serialize;

use crate::Federation;
use crate::db::{outbox, rollups};

/// A child's latest roll-up as the parent keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRollup {
    /// The child node's name.
    pub node: String,
    /// The region the child pushes from.
    pub via: RegionCode,
    /// When the parent received it.
    pub received: onewall_model::Timestamp,
    /// The figures, per region and department.
    pub rollup: AssetRollup,
}

impl Federation {
    /// Queue this node's roll-up for the parent (no-op without a parent). Blocks on the
    /// federation database for one small transaction.
    pub fn queue_rollup(&self, rollup: AssetRollup) -> anyhow::Result<()> {
        if !self.has_parent() {
            return Ok(());
        }
        let items = vec![Up::AssetRollup {
            rollup: Box::new(rollup),
        }];
        let now = Timestamp::now();
        self.db.call_now(|c| outbox::enqueue(c, &items, now))?;
        counter!("onewall_federation_queued_total", "kind" => "asset_rollup").increment(1);
        self.queued.notify_one();
        Ok(())
    }

    /// Every child's latest roll-up, by child region.
    pub fn child_rollups(&self) -> anyhow::Result<Vec<ChildRollup>> {
        let kept = self.db.call_now(|c| rollups::all(c))?;
        Ok(kept
            .into_iter()
            .map(|(via, node, received, rollup)| ChildRollup {
                node,
                via,
                received,
                rollup,
            })
            .collect())
    }

    /// `own` with the rows of every child's latest roll-up added (rows of the same region
    /// and department summed), for a node that reports to a parent and has children.
    pub fn rollup_with_children(&self, own: AssetRollup) -> anyhow::Result<AssetRollup> {
        let children = self.child_rollups()?;
        if children.is_empty() {
            return Ok(own);
        }
        let mut rows = own.rows;
        for child in children {
            for r in child.rollup.rows {
                match rows
                    .iter_mut()
                    .find(|h| h.region == r.region && h.department == r.department)
                {
                    Some(held) => add_row(held, &r),
                    None => rows.push(r),
                }
            }
        }
        rows.sort_by(|a, b| (a.region, &a.department).cmp(&(b.region, &b.department)));
        Ok(AssetRollup { rows, ..own })
    }

    /// A child's roll-up arrived: keep it as that child's latest.
    pub(crate) fn asset_rollup(
        &self,
        node: &str,
        via: RegionCode,
        rollup: AssetRollup,
    ) -> anyhow::Result<()> {
        let now = Timestamp::now();
        self.db
            .call_now(|c| rollups::put(c, via, node, now, &rollup))?;
        counter!("onewall_federation_asset_rollups_total").increment(1);
        Ok(())
    }
}

/// Add `r`'s figures to `into`'s.
fn add_row(into: &mut RollupRow, r: &RollupRow) {
    for (a, b) in into.systems_by_level.iter_mut().zip(r.systems_by_level) {
        *a += b;
    }
    for (a, b) in into.open_findings.iter_mut().zip(r.open_findings) {
        *a += b;
    }
    into.cii_systems += r.cii_systems;
    into.internet_systems += r.internet_systems;
    into.hosts += r.hosts;
    into.overdue += r.overdue;
    into.unknown_hosts += r.unknown_hosts;
    into.silent_hosts += r.silent_hosts;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use std::sync::Arc;
    use std::time::Duration;

    use onewall_model::federation::{PushRequest, UpMessage};
    use onewall_store::{SqliteStore, Store};

    use super::*;
    use crate::config::{FederationResolved, ParentLink};
    use crate::db::Db;

    fn cfg(parent: bool) -> FederationResolved {
        FederationResolved {
            organisation: String::new(),
            parent: parent.then(|| ParentLink {
                url: "http://127.0.0.1:9".into(),
                token: "t".into(),
            }),
            batch_size: 100,
            push_interval: Duration::from_millis(100),
            heartbeat: Duration::from_secs(1),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            min_regions: 2,
            children: vec!["410100".parse().unwrap(), "410300".parse().unwrap()],
        }
    }

    fn node(dir: &std::path::Path, region: &str, parent: bool) -> Federation {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).unwrap());
        let (fed, _rx) = Federation::new(
            Db::open(dir).unwrap(),
            store,
            format!("node-{region}"),
            region.parse().unwrap(),
            cfg(parent),
        )
        .unwrap();
        fed
    }

    fn row(region: &str, department: &str, level3: u64, critical: u64, overdue: u64) -> RollupRow {
        RollupRow {
            region: region.parse().unwrap(),
            department: department.into(),
            systems_by_level: [0, 0, 1, level3, 0, 0],
            cii_systems: 0,
            internet_systems: 1,
            hosts: 2 * level3 + 1,
            open_findings: [0, 0, 1, 0, critical],
            overdue,
            unknown_hosts: 0,
            silent_hosts: 1,
        }
    }

    fn rollup(region: &str, rows: Vec<RollupRow>) -> AssetRollup {
        AssetRollup {
            region: region.parse().unwrap(),
            at: Timestamp::now(),
            rows,
        }
    }

    fn push(region: &str, seq: u64, r: AssetRollup) -> PushRequest {
        PushRequest {
            organisation: None,
            intel: None,
            node: format!("node-{region}"),
            region: region.parse().unwrap(),
            epoch: "e1".into(),
            sent: Timestamp::now(),
            outbox_depth: 0,
            oldest_queued: None,
            ack_down: 0,
            messages: vec![UpMessage {
                seq,
                body: Up::AssetRollup {
                    rollup: Box::new(r),
                },
            }],
        }
    }

    #[test]
    fn a_child_queues_only_its_latest_roll_up_and_a_node_without_a_parent_none() {
        let dir = tempfile::tempdir().unwrap();
        let city = node(dir.path(), "410100", true);
        let first = rollup("410100", vec![row("410100", "卫健委", 1, 0, 0)]);
        let second = rollup("410100", vec![row("410100", "卫健委", 2, 1, 1)]);
        city.queue_rollup(first).unwrap();
        city.queue_rollup(second.clone()).unwrap();
        let queued = city.db.call_now(|c| outbox::batch(c, 100)).unwrap();
        assert_eq!(
            queued.len(),
            1,
            "the unsent roll-up was replaced: {queued:?}"
        );
        let Up::AssetRollup { rollup } = &queued[0].body else {
            panic!("{queued:?}");
        };
        assert_eq!(**rollup, second);

        let dir = tempfile::tempdir().unwrap();
        let top = node(dir.path(), "410000", false);
        top.queue_rollup(second).unwrap();
        let depth = top.db.call_now(|c| outbox::depth(c)).unwrap();
        assert_eq!(depth.messages, 0, "no parent: nothing queued");
    }

    #[tokio::test]
    async fn the_parent_keeps_the_latest_roll_up_per_child_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let province = node(dir.path(), "410000", false);
        assert!(province.child_rollups().unwrap().is_empty());

        let a1 = rollup("410100", vec![row("410100", "卫健委", 1, 0, 0)]);
        let a2 = rollup(
            "410100",
            vec![row("410100", "卫健委", 3, 2, 1), row("410102", "", 0, 0, 0)],
        );
        let b1 = rollup("410300", vec![row("410300", "公安局", 4, 0, 0)]);
        province.apply_push(push("410100", 1, a1)).await.unwrap();
        province
            .apply_push(push("410300", 1, b1.clone()))
            .await
            .unwrap();
        province
            .apply_push(push("410100", 2, a2.clone()))
            .await
            .unwrap();

        let kept = province.child_rollups().unwrap();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept[0].via.to_string(), "410100");
        assert_eq!(kept[0].node, "node-410100");
        assert_eq!(kept[0].rollup, a2, "the later roll-up replaced the first");
        assert_eq!(kept[1].rollup, b1);
        // A replay of an applied sequence changes nothing.
        let stale = rollup("410100", vec![row("410100", "卫健委", 9, 9, 9)]);
        province.apply_push(push("410100", 2, stale)).await.unwrap();
        assert_eq!(province.child_rollups().unwrap()[0].rollup, a2);

        drop(province);
        let again = node(dir.path(), "410000", false);
        let kept = again.child_rollups().unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].rollup, a2);
    }

    #[tokio::test]
    async fn a_middle_level_passes_its_childrens_rows_up_with_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let city = node(dir.path(), "410100", true);
        let county = rollup(
            "410102",
            vec![
                row("410102", "卫健委", 1, 1, 1),
                row("410102", "教育局", 2, 0, 0),
            ],
        );
        city.apply_push(push("410102", 1, county)).await.unwrap();
        let own = rollup(
            "410100",
            vec![
                row("410100", "卫健委", 1, 0, 0),
                row("410102", "卫健委", 1, 0, 0),
            ],
        );
        let all = city.rollup_with_children(own).unwrap();
        assert_eq!(all.region.to_string(), "410100");
        let keys: Vec<(String, &str)> = all
            .rows
            .iter()
            .map(|r| (r.region.to_string(), r.department.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("410100".to_string(), "卫健委"),
                ("410102".to_string(), "卫健委"),
                ("410102".to_string(), "教育局"),
            ]
        );
        let summed = &all.rows[1];
        assert_eq!(summed.systems_by_level, [0, 0, 2, 2, 0, 0]);
        assert_eq!(summed.open_findings, [0, 0, 2, 0, 1]);
        assert_eq!(
            (summed.overdue, summed.hosts, summed.silent_hosts),
            (1, 6, 2)
        );
    }
}
