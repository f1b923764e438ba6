//! Supervision's checks on a clock, every `[supervise] check_secs`: bulletin deadlines missed
//! (both sides raise the same alert), the 重保 slot reports this node owes its parent (a zero
//! report of the slot: incidents opened in it and still open, who is on duty), the children's
//! slot reports missing past the grace time, and regions in a period with nobody on duty.
//! The alerts are stored and published as `AlertsStored { origin: Supervision }`, so the
//! uplink carries them up and the playbooks hear them. The loop runs supervised: a panic is
//! counted, shown by `/healthz` and the loop started again.

use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, gauge};
use onewall_api::health::TaskHealth;
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, Timestamp};
use onewall_store::Store;
use onewall_supervise::Supervision;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

/// The task's name in `/healthz` and the panic counter.
const TASK: &str = "supervise_checks";

/// Start the checks; they end at shutdown.
pub fn start(
    sup: &Arc<Supervision>,
    store: &Arc<dyn Store>,
    bus: &NodeEvents,
    health: &TaskHealth,
    shutdown: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (sup, store, bus, stop) = (sup.clone(), store.clone(), bus.clone(), shutdown.clone());
    tokio::spawn(crate::supervise::supervise(
        TASK,
        health.clone(),
        shutdown.clone(),
        move || Ok(run(sup.clone(), store.clone(), bus.clone(), stop.clone())),
    ))
}

async fn run(
    sup: Arc<Supervision>,
    store: Arc<dyn Store>,
    bus: NodeEvents,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(sup.settings().config.check_secs.max(1));
    // Alerts the checks raised (and recorded as raised) that the store refused: written again
    // each round until it takes them.
    let mut pending = Vec::new();
    loop {
        let raised = check(&sup, &store, Timestamp::now(), &mut pending).await;
        if !raised.is_empty() {
            warn!(alerts = raised.len(), "supervision: alerts raised");
            bus.publish(NodeEvent::AlertsStored {
                alerts: raised,
                // Raised on a clock: no event behind them.
                origin: AlertOrigin::Supervision,
            })
            .await;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// At most this many raised alerts wait for a store that refuses them; past it the oldest are
/// given up, with an error in the log.
const PENDING_MAX: usize = 10_000;

/// One round of every check at `now`: the alerts raised and stored, with those of earlier
/// rounds the store refused (`pending`). A check that fails is logged and tried again next
/// round; the others still run. The checks record an alert as raised before it is stored, so
/// an alert the store refuses is kept in `pending` and written again next round rather than
/// lost.
pub async fn check(
    sup: &Supervision,
    store: &Arc<dyn Store>,
    now: Timestamp,
    pending: &mut Vec<Alert>,
) -> Vec<Alert> {
    let mut alerts = std::mem::take(pending);
    match sup.check_bulletin_deadlines(now).await {
        Ok(a) => alerts.extend(a),
        Err(e) => warn!(error = %e, "bulletin deadline check failed; will retry"),
    }
    if let Err(e) = send_slot_reports(sup, now).await {
        warn!(error = %e, "sending the 重保 slot reports failed; will retry");
    }
    match sup.check_slots(now).await {
        Ok(a) => alerts.extend(a),
        Err(e) => warn!(error = %e, "slot report check failed; will retry"),
    }
    match sup.check_duty(now).await {
        Ok(a) => alerts.extend(a),
        Err(e) => warn!(error = %e, "duty check failed; will retry"),
    }
    if alerts.is_empty() {
        return alerts;
    }
    match store.write_alerts(alerts.clone()).await {
        Ok(()) => {
            gauge!("onewall_supervise_alerts_pending").set(0.0);
            alerts
        }
        Err(e) => {
            if alerts.len() > PENDING_MAX {
                let dropped = alerts.len() - PENDING_MAX;
                tracing::error!(dropped, "supervision alerts the store refused are given up");
                counter!("onewall_supervise_alerts_dropped_total").increment(dropped as u64);
                alerts.drain(..dropped);
            }
            warn!(error = %e, alerts = alerts.len(),
                "storing supervision alerts failed; they are written again next round");
            gauge!("onewall_supervise_alerts_pending").set(alerts.len() as f64);
            *pending = alerts;
            Vec::new()
        }
    }
}

/// Child: each slot report owed at `now`, built from the store (the crate's zero report of
/// the slot) and sent up.
async fn send_slot_reports(sup: &Supervision, now: Timestamp) -> anyhow::Result<()> {
    for due in sup.slot_reports_due(now).await? {
        let report = sup.slot_report(&due, now).await?;
        sup.send_slot_report(report).await?;
    }
    Ok(())
}
