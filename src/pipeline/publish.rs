//! What the pipeline publishes on the node event bus: alerts as they are stored, incidents as
//! the correlator opens or extends them, and which sources sent events. Each call waits for
//! the subscribers (a full playbook queue pushes back on the stage; the federation outbox is
//! written before the spool is committed).

use std::collections::HashMap;

use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEventKind, NodeEvents, SourceSeen};
use onewall_model::{Alert, Event, Incident};

/// The actor of the pipeline's incident changes: the correlator.
fn actor() -> String {
    onewall_correlate::ACTOR.to_owned()
}

/// Events were stored: note which sources sent them (when anyone wants to know).
pub async fn sources_seen(bus: &NodeEvents, events: &[Event]) {
    if !bus.wants(NodeEventKind::SourcesSeen) {
        return;
    }
    let mut seen: HashMap<String, SourceSeen> = HashMap::new();
    for e in events {
        let key = match e.source.peer {
            Some(peer) => format!("{} {}", e.source.collector, peer.ip()),
            None => e.source.collector.to_string(),
        };
        let s = seen.entry(key).or_insert_with_key(|k| SourceSeen {
            key: k.clone(),
            region: e.region,
            last_seen: e.received,
        });
        if e.received > s.last_seen {
            s.last_seen = e.received;
            s.region = e.region;
        }
    }
    if !seen.is_empty() {
        bus.publish(NodeEvent::SourcesSeen(seen.into_values().collect()))
            .await;
    }
}

/// The detect stage's and the Sigma correlations' alerts were stored.
pub async fn alerts_stored(bus: &NodeEvents, alerts: &[Alert]) {
    if !alerts.is_empty() {
        bus.publish(NodeEvent::AlertsStored {
            alerts: alerts.to_vec(),
            origin: AlertOrigin::Detection,
        })
        .await;
    }
}

/// The correlator opened these incidents from `alerts` (and they were stored): one event per
/// incident, with its own alerts.
pub async fn opened(bus: &NodeEvents, incidents: &[Incident], alerts: &[Alert]) {
    for inc in incidents {
        let mine = alerts
            .iter()
            .filter(|a| inc.alert_ids.contains(&a.id))
            .cloned()
            .collect();
        bus.publish(NodeEvent::IncidentOpened {
            incident: Box::new(inc.clone()),
            alerts: mine,
            actor: actor(),
        })
        .await;
    }
}

/// `alerts` joined a stored incident (or it was merged), now stored as `incident`.
pub async fn changed(bus: &NodeEvents, incident: Incident, alerts: Vec<Alert>) {
    bus.publish(NodeEvent::IncidentChanged {
        incident: Box::new(incident),
        alerts,
        actor: actor(),
    })
    .await;
}
