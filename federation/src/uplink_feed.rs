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
        matches!(
            kind,
            NodeEventKind::AlertsStored
                | NodeEventKind::IncidentOpened
                | NodeEventKind::IncidentChanged
        )
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
                // The daily report reaches the parent through its own delivery
                // (`report_to_parent`); sources are this node's own business.
                NodeEvent::SourcesSeen(_)
                | NodeEvent::ReportDue { .. }
                | NodeEvent::SourceSilent { .. }
                | NodeEvent::Supervision(_) => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use onewall_model::bus::{AlertOrigin, NodeEvents};
    use onewall_model::{Alert, AlertId, Incident, RegionCode, Severity, Timestamp};
    use onewall_store::{SqliteStore, Store};

    use super::*;
    use crate::config::{FederationResolved, ParentLink};
    use crate::db::outbox;

    fn child_cfg() -> FederationResolved {
        FederationResolved {
            organisation: String::new(),
            parent: Some(ParentLink {
                url: "http://127.0.0.1:9".into(),
                token: "t".into(),
            }),
            batch_size: 100,
            push_interval: Duration::from_millis(100),
            heartbeat: Duration::from_secs(1),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            min_regions: 2,
            children: Vec::new(),
        }
    }

    fn breach(region: RegionCode) -> Alert {
        let v = serde_json::json!({
            "id": AlertId::now(), "time": Timestamp::now(), "created": Timestamp::now(),
            "rule": {"id": "onewall-sla-breach", "title": "SLA", "level": "high"},
            "severity": "high", "event_ids": [], "entities": [], "region": region,
        });
        serde_json::from_value(v).unwrap()
    }

    fn changed(incident: &Incident, actor: &str) -> NodeEvent {
        NodeEvent::IncidentChanged {
            incident: Box::new(incident.clone()),
            alerts: Vec::new(),
            actor: actor.into(),
        }
    }

    /// An alert raised by a job reaches the outbox like the pipeline's; a change applied from
    /// the parent is not sent back, a local one is.
    #[tokio::test]
    async fn the_uplink_queues_job_alerts_and_local_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let city: RegionCode = "410100".parse().unwrap();
        let bus = NodeEvents::new();
        let (fed, _remote) = Federation::open(
            dir.path(),
            store.clone(),
            "zz".into(),
            city,
            child_cfg(),
            &bus,
        )
        .unwrap();
        let depth = || async { fed.db.call(|c| outbox::depth(c)).await.unwrap().messages };
        assert_eq!(depth().await, 0);
        bus.publish(NodeEvent::AlertsStored {
            alerts: vec![breach(city)],
            origin: AlertOrigin::SlaBreach,
        })
        .await;
        assert_eq!(depth().await, 1);
        let inc = onewall_store::conformance::incident(Timestamp::now(), Severity::High, city);
        store.upsert_incidents(vec![inc.clone()]).await.unwrap();
        bus.publish(changed(&inc, "remote:410000/alice")).await;
        assert_eq!(depth().await, 1);
        bus.publish(changed(&inc, "bob")).await;
        assert!(depth().await > 1);
    }
}
