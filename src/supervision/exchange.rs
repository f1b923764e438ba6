//! The courier over the federation (what the supervision crate sends to other levels goes
//! into the federation's outbox or a child's downlink) and the exchange applying what other
//! levels send.
//!
//! The federation applies a message once per level unless applying fails, and then sends it
//! again. A message that can never apply (a step of a bulletin this node never held, a step
//! its state refuses) would then block the channel for good: such a refusal is logged,
//! counted (`onewall_supervise_refused_total{direction,kind}`) and acknowledged. Only the
//! node's own failures (database, files, audit log) leave it to be sent again.

use std::sync::{Arc, Weak};

use metrics::counter;
use onewall_federation::supervise::{ExchangeFuture, SupervisionExchange};
use onewall_model::RegionCode;
use onewall_model::supervise::{SuperviseDown, SuperviseUp};
use onewall_supervise::{Courier, SuperviseError, Supervision};
use tracing::warn;

use crate::federation::Federation;

/// The supervision crate's courier: the federation's queues (each a small transaction on the
/// federation database, like the asset roll-up's).
#[derive(Debug, Clone)]
pub struct FederationCourier(pub Arc<Federation>);

impl Courier for FederationCourier {
    fn children(&self) -> Vec<RegionCode> {
        self.0.child_regions().to_vec()
    }

    fn has_parent(&self) -> bool {
        self.0.has_parent()
    }

    fn down(&self, child: RegionCode, msg: SuperviseDown) -> anyhow::Result<()> {
        self.0.queue_supervise_down(child, msg)
    }

    fn down_all(&self, msgs: Vec<(RegionCode, SuperviseDown)>) -> anyhow::Result<()> {
        self.0.queue_supervise_down_all(msgs)
    }

    fn up(&self, msg: SuperviseUp) -> anyhow::Result<()> {
        self.0.queue_supervise_up(msg).map(|_| ())
    }
}

/// Applies supervision from other levels to the node's book. It holds the book weakly: the
/// book's courier holds the federation, which holds this exchange, and a strong cycle would
/// keep the book (and the audit log it writes to) open past the node's stop, so their
/// write-ahead logs would never be folded back into their files.
#[derive(Debug)]
pub struct Exchange {
    sup: Weak<Supervision>,
}

impl Exchange {
    pub fn new(sup: &Arc<Supervision>) -> Exchange {
        Exchange {
            sup: Arc::downgrade(sup),
        }
    }

    /// The book, while the node runs (an error otherwise: the message stays unacknowledged
    /// and comes again after the restart).
    fn book(&self) -> anyhow::Result<Arc<Supervision>> {
        self.sup
            .upgrade()
            .ok_or_else(|| anyhow::anyhow!("supervision: the node is stopping"))
    }
}

/// The wire name of a message from the parent, for logs and metrics.
fn down_kind(msg: &SuperviseDown) -> &'static str {
    match msg {
        SuperviseDown::Bulletin { .. } => "bulletin",
        SuperviseDown::Step { .. } => "step",
        SuperviseDown::Period { .. } => "period",
        SuperviseDown::Drill { .. } => "drill",
    }
}

/// The wire name of a message from a child.
fn up_kind(msg: &SuperviseUp) -> &'static str {
    match msg {
        SuperviseUp::Step { .. } => "step",
        SuperviseUp::SlotReport { .. } => "slot_report",
        SuperviseUp::Lesson { .. } => "lesson",
        SuperviseUp::Roster { .. } => "roster",
    }
}

/// What the federation hears of an application: the node's own failures are errors (the
/// message comes again); a refusal of the message itself is logged, counted and acknowledged.
fn settle(
    result: Result<(), SuperviseError>,
    direction: &'static str,
    kind: &'static str,
    from: RegionCode,
) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(SuperviseError::Internal(e)) => Err(anyhow::anyhow!("supervision {kind}: {e}")),
        Err(refused) => {
            counter!("onewall_supervise_refused_total", "direction" => direction, "kind" => kind)
                .increment(1);
            warn!(%from, direction, kind, reason = %refused,
                "supervision message refused; acknowledged so the channel goes on");
            Ok(())
        }
    }
}

impl SupervisionExchange for Exchange {
    fn apply_down<'a>(
        &'a self,
        parent_region: RegionCode,
        _parent_node: &'a str,
        msg: SuperviseDown,
    ) -> ExchangeFuture<'a> {
        Box::pin(async move {
            let kind = down_kind(&msg);
            let sup = self.book()?;
            let result = match msg {
                SuperviseDown::Bulletin { bulletin } => {
                    sup.receive_bulletin(parent_region, *bulletin).await
                }
                SuperviseDown::Step { step } => {
                    sup.receive_step(parent_region, *step, Vec::new()).await
                }
                SuperviseDown::Period { period } => {
                    sup.receive_period(parent_region, *period).await
                }
                SuperviseDown::Drill { drill } => sup.receive_drill(parent_region, *drill).await,
            };
            settle(result, "down", kind, parent_region)
        })
    }

    fn apply_up<'a>(
        &'a self,
        via: RegionCode,
        _node: &'a str,
        msg: SuperviseUp,
    ) -> ExchangeFuture<'a> {
        Box::pin(async move {
            let kind = up_kind(&msg);
            let sup = self.book()?;
            let result = match msg {
                SuperviseUp::Step { step, files } => sup.receive_step(via, *step, files).await,
                SuperviseUp::SlotReport { report } => sup.receive_slot_report(via, *report).await,
                SuperviseUp::Lesson { lesson } => sup.receive_lesson(via, *lesson).await,
                SuperviseUp::Roster { region, shifts } => {
                    sup.receive_roster(via, region, shifts).await
                }
            };
            settle(result, "up", kind, via)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_nodes_own_failures_are_sent_again() {
        let r = RegionCode::new(410100).expect("code");
        assert!(settle(Ok(()), "up", "step", r).is_ok());
        for refused in [
            SuperviseError::NotFound("bulletin b not found".into()),
            SuperviseError::Conflict("signed twice".into()),
            SuperviseError::Invalid("bad".into()),
            SuperviseError::Forbidden("no".into()),
            SuperviseError::TooLarge("big".into()),
        ] {
            assert!(settle(Err(refused), "down", "step", r).is_ok());
        }
        let failed = settle(
            Err(SuperviseError::Internal("disk full".into())),
            "up",
            "step",
            r,
        );
        assert!(
            failed
                .expect_err("retried")
                .to_string()
                .contains("disk full")
        );
    }
}
