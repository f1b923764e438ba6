//! What the pipeline tells the playbooks: alerts as they are stored, incidents as the
//! correlator opens or extends them, and which sources sent events.
//!
//! A node runs one pipeline per process, so the channel to the playbooks is installed once at
//! start ([`install`]) rather than threaded through every stage's arguments; with nothing
//! installed (tests, `replay`) every call here does nothing. Sends wait when the playbooks'
//! queue is full, so a slow playbook pushes back on the store stage like any other stage.

use std::collections::HashMap;
use std::sync::OnceLock;

use onewall_model::{Alert, Event, Incident};
use onewall_playbooks::{Signal, SourceSeen};
use tokio::sync::mpsc;
use tracing::warn;

static SIGNALS: OnceLock<mpsc::Sender<Signal>> = OnceLock::new();

/// Send this process's pipeline signals to `tx`. Only the first call takes effect.
pub fn install(tx: mpsc::Sender<Signal>) -> bool {
    SIGNALS.set(tx).is_ok()
}

async fn send(signal: Signal) {
    if let Some(tx) = SIGNALS.get()
        && tx.send(signal).await.is_err()
    {
        warn!("playbooks are not running; a signal was not delivered");
    }
}

fn installed() -> bool {
    SIGNALS.get().is_some_and(|tx| !tx.is_closed())
}

/// Events were stored: note which sources sent them.
pub async fn events(events: &[Event]) {
    if !installed() {
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
        send(Signal::SourcesSeen(seen.into_values().collect())).await;
    }
}

/// Alerts were stored.
pub async fn alerts(alerts: &[Alert]) {
    if installed() && !alerts.is_empty() {
        send(Signal::Alerts(alerts.to_vec())).await;
    }
}

/// The correlator opened these incidents from `alerts` (and they were stored).
pub async fn opened(incidents: &[Incident], alerts: &[Alert]) {
    if !installed() {
        return;
    }
    for inc in incidents {
        let mine = alerts
            .iter()
            .filter(|a| inc.alert_ids.contains(&a.id))
            .cloned()
            .collect();
        send(Signal::Incident {
            incident: Box::new(inc.clone()),
            alerts: mine,
            created: true,
        })
        .await;
    }
}

/// `alerts` joined an open incident, now stored as `incident`.
pub async fn changed(incident: Incident, alerts: Vec<Alert>) {
    if !installed() {
        return;
    }
    send(Signal::Incident {
        incident: Box::new(incident),
        alerts,
        created: false,
    })
    .await;
}
