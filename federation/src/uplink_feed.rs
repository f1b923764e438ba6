//! The federation's subscription to the node event bus: stored alerts (whatever raised them:
//! detection, an SLA breach, a missing report) are queued for the parent, and every incident
//! opened or changed goes to [`Federation::incident_changed`]. Each delivery has written the
//! outbox when it returns, so the pipeline commits its spool only after its alerts are queued.

use std::sync::{Arc, Weak};

use onewall_model::bus::{Delivery, NodeEvent, NodeEventKind, Subscriber};
use onewall_model::federation::is_remote_actor;

use crate::Federation;

/// The uplink's subscriber. It holds the federation weakly: the federation holds the bus.
#[derive(Debug)]
pub(crate) struct UplinkFeed(Weak<Federation>);

impl UplinkFeed {
    pub(crate) fn new(fed: &Arc<Federation>) -> UplinkFeed {
        UplinkFeed(Arc::downgrade(fed))
    }
}

impl Subscriber for UplinkFeed {
    fn wants(&self, kind: NodeEventKind) -> bool {
        kind != NodeEventKind::SourcesSeen
    }

    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
        Box::pin(async move {
            let Some(fed) = self.0.upgrade() else {
                return;
            };
            match &*event {
                NodeEvent::AlertsStored { alerts, .. } => {
                    if fed.has_parent() && !alerts.is_empty() {
                        fed.queue_alerts(alerts).await;
                    }
                }
                NodeEvent::IncidentOpened {
                    incident, actor, ..
                }
                | NodeEvent::IncidentChanged {
                    incident, actor, ..
                } => {
                    // A change applied from the other side was queued where it was applied
                    // (where a failure makes the parent send it again).
                    if !is_remote_actor(actor) {
                        fed.incident_changed(incident).await;
                    }
                }
                NodeEvent::SourcesSeen(_) => {}
            }
        })
    }
}
