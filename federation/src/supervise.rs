//! Supervision across levels: bulletins, reviews, 重保 periods and drills go down the
//! downlink (`Down::Supervise`); recipients' steps, slot reports, lessons and rosters go up the
//! outbox (`Up::Supervise`). Both ride the sequenced, acknowledged channel, so each message is
//! applied once per level even across restarts (the exchange also skips a step it holds).
//!
//! The crate holds no supervision state: the binary implements [`SupervisionExchange`] over
//! the node's supervision book and hands it over with [`Federation::set_supervision`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use metrics::counter;
use onewall_model::federation::{Down, Up};
use onewall_model::supervise::{SuperviseDown, SuperviseUp};
use onewall_model::{RegionCode, Timestamp};
use tracing::warn;

use crate::Federation;
use crate::db::{children, outbox};

/// A boxed future of an exchange's answer.
pub type ExchangeFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// What the node does with supervision that arrives over the federation.
pub trait SupervisionExchange: Send + Sync + std::fmt::Debug {
    /// Child: apply what the parent (of `parent_region`, node `parent_node`) sent. An error
    /// leaves the message unacknowledged, so the parent sends it again: applying must be
    /// idempotent.
    fn apply_down<'a>(
        &'a self,
        parent_region: RegionCode,
        parent_node: &'a str,
        msg: SuperviseDown,
    ) -> ExchangeFuture<'a>;
    /// Parent: apply what a child (pushing as `via`, node `node`) sent; its regions are in
    /// the child's scope (checked by the push endpoint). An error fails the push, so the
    /// child sends it again: applying must be idempotent.
    fn apply_up<'a>(
        &'a self,
        via: RegionCode,
        node: &'a str,
        msg: SuperviseUp,
    ) -> ExchangeFuture<'a>;
}

impl Federation {
    /// Apply supervision through `exchange` from now on (set once, at start).
    pub fn set_supervision(&self, exchange: Arc<dyn SupervisionExchange>) {
        if self.supervision.set(exchange).is_err() {
            warn!("federation: the supervision exchange was set twice; the first stays");
        }
    }

    /// The child regions this node expects (`[federation] children`).
    pub fn child_regions(&self) -> &[RegionCode] {
        &self.cfg.children
    }

    /// Child: queue `msg` for the parent. Answers false (and queues nothing) when this node
    /// has no parent. Blocks on the federation database for one small transaction.
    pub fn queue_supervise_up(&self, msg: SuperviseUp) -> anyhow::Result<bool> {
        if !self.has_parent() {
            return Ok(false);
        }
        let items = vec![Up::Supervise { msg: Box::new(msg) }];
        let now = Timestamp::now();
        self.db.call_now(|c| outbox::enqueue(c, &items, now))?;
        counter!("onewall_federation_queued_total", "kind" => "supervise").increment(1);
        self.queued.notify_one();
        Ok(true)
    }

    /// Parent: queue `msg` for the child of `region` (sent in the answer to its next push).
    /// Blocks on the federation database for one small transaction.
    pub fn queue_supervise_down(
        &self,
        region: RegionCode,
        msg: SuperviseDown,
    ) -> anyhow::Result<()> {
        let body = Down::Supervise { msg: Box::new(msg) };
        self.db
            .call_now(|c| children::queue_down(c, region, &body).map(|_| ()))?;
        counter!("onewall_federation_downlink_queued_total", "kind" => "supervise").increment(1);
        Ok(())
    }

    /// Queue several messages, each for its child, in one transaction: all of them or none
    /// (a bulletin to three cities is never queued for two of them).
    pub fn queue_supervise_down_all(
        &self,
        msgs: Vec<(RegionCode, SuperviseDown)>,
    ) -> anyhow::Result<()> {
        let n = msgs.len() as u64;
        self.db.call_now(|c| {
            let tx = c.transaction()?;
            for (region, msg) in msgs {
                let body = Down::Supervise { msg: Box::new(msg) };
                children::queue_down(&tx, region, &body)?;
            }
            tx.commit()
        })?;
        counter!("onewall_federation_downlink_queued_total", "kind" => "supervise").increment(n);
        Ok(())
    }

    /// Child: a supervision message from the parent.
    pub(crate) async fn apply_supervise_down(
        &self,
        msg: SuperviseDown,
        parent_region: RegionCode,
        parent_node: &str,
    ) -> anyhow::Result<()> {
        match self.supervision.get() {
            Some(x) => x.apply_down(parent_region, parent_node, msg).await,
            None => {
                warn!("federation: supervision from the parent, but this node keeps none; skipped");
                Ok(())
            }
        }
    }

    /// Parent: a supervision message from a child.
    pub(crate) async fn apply_supervise_up(
        &self,
        via: RegionCode,
        node: &str,
        msg: SuperviseUp,
    ) -> anyhow::Result<()> {
        counter!("onewall_federation_supervise_up_total").increment(1);
        match self.supervision.get() {
            Some(x) => x.apply_up(via, node, msg).await,
            None => {
                warn!(%via, "federation: supervision from a child, but this node keeps none; skipped");
                Ok(())
            }
        }
    }
}
