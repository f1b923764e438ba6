//! Supervision's checks on a clock, every `[supervise] check_secs`: bulletin deadlines missed
//! (both sides raise the same alert), the 重保 slot reports this node owes its parent (a zero
//! report of the slot: incidents opened in it and still open, who is on duty), the children's
//! slot reports missing past the grace time, and regions in a period with nobody on duty.
//! The alerts are stored and published as `AlertsStored { origin: Supervision }`, so the
//! uplink carries them up and the playbooks hear them. The loop runs supervised: a panic is
//! counted, shown by `/healthz` and the loop started again.

use std::sync::Arc;
use std::time::Duration;

use onewall_api::health::TaskHealth;
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::supervise::SlotReport;
use onewall_model::{Alert, IncidentId, Timestamp};
use onewall_store::{IncidentQuery, Store};
use onewall_supervise::Supervision;
use onewall_supervise::period::SlotDue;
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
    loop {
        let raised = check(&sup, &store, Timestamp::now()).await;
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

/// One round of every check at `now`: the alerts raised and stored. A check that fails is
/// logged and tried again next round; the others still run.
pub async fn check(sup: &Supervision, store: &Arc<dyn Store>, now: Timestamp) -> Vec<Alert> {
    let mut alerts = Vec::new();
    match sup.check_bulletin_deadlines(now).await {
        Ok(a) => alerts.extend(a),
        Err(e) => warn!(error = %e, "bulletin deadline check failed; will retry"),
    }
    if let Err(e) = send_slot_reports(sup, store, now).await {
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
    // The checks recorded them as raised: a failed write loses them, so it is retried once
    // before giving up with an error in the log.
    for attempt in 0..2 {
        match store.write_alerts(alerts.clone()).await {
            Ok(()) => return alerts,
            Err(e) if attempt == 0 => warn!(error = %e, "storing supervision alerts; retrying"),
            Err(e) => tracing::error!(error = %e, alerts = alerts.len(),
                "supervision alerts could not be stored"),
        }
    }
    Vec::new()
}

/// Child: each slot report owed at `now`, built and sent up.
async fn send_slot_reports(
    sup: &Supervision,
    store: &Arc<dyn Store>,
    now: Timestamp,
) -> anyhow::Result<()> {
    for due in sup.slot_reports_due(now).await? {
        let report = slot_report(sup, store, &due, now).await?;
        sup.send_slot_report(report).await?;
    }
    Ok(())
}

/// The zero report of one slot: the node's incidents (drills left out) opened during the
/// slot and those still open, with who is on duty.
pub async fn slot_report(
    sup: &Supervision,
    store: &Arc<dyn Store>,
    due: &SlotDue,
    now: Timestamp,
) -> anyhow::Result<SlotReport> {
    let node = sup.node().clone();
    let every = i64::from(due.period.report_every_mins.max(1)) * 60;
    let from = due.slot.add_secs(-every).max(due.period.start);
    let regions: Vec<_> = sup
        .tree()
        .iter()
        .map(|r| r.code)
        .filter(|c| sup.covers(node.region, *c))
        .collect();
    let mut opened: Vec<(IncidentId, String)> = Vec::new();
    let mut open_now = 0u32;
    let mut cursor = None;
    loop {
        let page = store
            .search_incidents(IncidentQuery {
                open_only: true,
                regions: regions.clone(),
                limit: onewall_store::MAX_LIMIT,
                cursor,
                ..IncidentQuery::default()
            })
            .await?;
        for i in page.items.iter().filter(|i| i.drill.is_none()) {
            open_now += 1;
            if i.created >= from && i.created < due.slot {
                opened.push((i.id, i.title.clone()));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let on_duty = sup.on_duty(node.region, now);
    let mut text = format!(
        "{} {} 重保「{}」{} 至 {}：新增事件 {} 起，未结事件 {} 起。",
        node.name,
        node.region,
        due.period.name,
        from.to_rfc3339(),
        due.slot.to_rfc3339(),
        opened.len(),
        open_now
    );
    if opened.is_empty() {
        text.push_str("零报告：本时段无新增安全事件。");
    }
    for (id, title) in &opened {
        text.push_str(&format!("\n- {id} {title}"));
    }
    if on_duty.is_empty() {
        text.push_str("\n值班：无");
    } else {
        let names: Vec<String> = on_duty
            .iter()
            .map(|p| match p.phone.as_str() {
                "" => p.name.clone(),
                phone => format!("{} {phone}", p.name),
            })
            .collect();
        text.push_str(&format!("\n值班：{}", names.join("、")));
    }
    Ok(SlotReport {
        period: due.period.id,
        region: node.region,
        node: node.name,
        slot: due.slot,
        sent: now,
        incidents_new: opened.len() as u32,
        incidents_open: open_now,
        zero: opened.is_empty(),
        text,
    })
}
