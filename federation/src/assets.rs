//! Asset roll-ups across levels: a child queues its figures per region and department
//! ([`Federation::queue_rollup`], an `Up::AssetRollup` in the outbox); the parent keeps the
//! latest per child ([`Federation::child_rollups`]) in `federation.sqlite`, so the province
//! supervises without holding every city's systems.

use onewall_model::RegionCode;
use onewall_model::asset::AssetRollup;
use serde::Serialize;

use crate::Federation;

/// A child's latest roll-up as the parent keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRollup {
    /// The child node's name.
    pub node: String,
    /// The region the child pushes from.
    pub via: RegionCode,
    /// When the parent received it.
    pub received: onewall_model::Timestamp,
    pub rollup: AssetRollup,
}

impl Federation {
    /// Queue this node's roll-up for the parent (no-op without a parent).
    pub fn queue_rollup(&self, rollup: AssetRollup) -> anyhow::Result<()> {
        let _ = rollup;
        todo!("issue 21: queue Up::AssetRollup in the outbox")
    }

    /// Every child's latest roll-up, by child region.
    pub fn child_rollups(&self) -> anyhow::Result<Vec<ChildRollup>> {
        todo!("issue 21: read the children's roll-ups")
    }

    /// A child's roll-up arrived: keep it as that child's latest.
    pub(crate) fn asset_rollup(
        &self,
        node: &str,
        via: RegionCode,
        rollup: AssetRollup,
    ) -> anyhow::Result<()> {
        let _ = (node, via, rollup);
        tracing::warn!("federation: asset roll-ups are not kept yet");
        Ok(())
    }
}
