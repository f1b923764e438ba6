//! The asset jobs: every `[assets] check_secs` the open findings past their deadline raise one
//! alert each (rule `onewall-asset-overdue`, once per finding until it is found again after a
//! fix), stored and published on the node event bus like the SLA alerts; every
//! `rollup_secs`, and soon after a change, the roll-up goes to the parent when it changed;
//! every few minutes (and at stop) the seen-host table is written.

use std::sync::Arc;
use std::time::Duration;

use onewall_assets::finding::Finding;
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, RegionCode, Timestamp};
use onewall_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

use super::Assets;

/// The rule id of the overdue-finding alert.
pub const OVERDUE_RULE_ID: &str = "onewall-asset-overdue";

/// How often the seen-host table is written.
const SEEN_EVERY: Duration = Duration::from_secs(300);

/// A change is followed by a roll-up after this pause (imports come in bursts).
const ROLLUP_SETTLE: Duration = Duration::from_secs(2);

/// Start the jobs; each ends at shutdown (the seen hosts are written then).
pub fn start(
    assets: &Arc<Assets>,
    store: &Arc<dyn Store>,
    bus: &NodeEvents,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(overdue(
            assets.clone(),
            store.clone(),
            bus.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(rollups(assets.clone(), shutdown.clone())),
        tokio::spawn(seen_snapshots(assets.clone(), shutdown.clone())),
    ]
}

/// The alert an overdue finding raises. Built through serde so fields other crates add to
/// `Alert` (with defaults) need no change here.
pub fn overdue_alert(
    f: &Finding,
    region: RegionCode,
    system: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<Alert> {
    let cve = f.cves.first().map(|c| format!(" {c}")).unwrap_or_default();
    let on = system.map_or_else(|| f.host.clone(), |s| format!("{} ({s})", f.host));
    let kind = if f.host.parse::<std::net::IpAddr>().is_ok() {
        "destination_ip"
    } else {
        "host"
    };
    let v = serde_json::json!({
        "id": onewall_model::AlertId::new(now),
        "time": now,
        "created": now,
        "rule": {
            "id": OVERDUE_RULE_ID,
            "title": format!("漏洞整改超期 / finding past its deadline: {}{cve} on {on}", f.title),
            "level": f.severity,
            "tags": ["onewall.assets"],
        },
        "severity": f.severity,
        "event_ids": [],
        "entities": [{"kind": kind, "value": f.host}],
        "region": region,
        "matched": [
            {"field": "finding.id", "value": f.id},
            {"field": "finding.deadline", "value": f.deadline.to_rfc3339()},
        ],
    });
    Ok(serde_json::from_value(v)?)
}

/// One overdue check at `now`: the alerts raised (stored).
pub async fn check_overdue(
    assets: &Arc<Assets>,
    store: &Arc<dyn Store>,
    now: Timestamp,
) -> anyhow::Result<Vec<Alert>> {
    let a = assets.clone();
    let due = tokio::task::spawn_blocking(move || a.take_overdue(now)).await??;
    let mut alerts = Vec::new();
    for (f, region, system) in &due {
        alerts.push(overdue_alert(f, *region, system.as_deref(), now)?);
    }
    if !alerts.is_empty() {
        store.write_alerts(alerts.clone()).await?;
    }
    Ok(alerts)
}

async fn overdue(
    assets: Arc<Assets>,
    store: Arc<dyn Store>,
    bus: NodeEvents,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(assets.settings.check_secs.max(1));
    loop {
        match check_overdue(&assets, &store, Timestamp::now()).await {
            Ok(raised) if !raised.is_empty() => {
                warn!(
                    findings = raised.len(),
                    "findings past their deadline: alerts raised"
                );
                bus.publish(NodeEvent::AlertsStored {
                    alerts: raised,
                    // Raised on a clock, like the SLA's: no event behind it.
                    origin: AlertOrigin::AssetOverdue,
                })
                .await;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "overdue finding check failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn rollups(assets: Arc<Assets>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_secs(assets.settings.rollup_secs.max(1));
    loop {
        let a = assets.clone();
        match tokio::task::spawn_blocking(move || a.send_rollup(Timestamp::now())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(error = %e, "queueing the asset roll-up failed; will retry"),
            Err(e) => warn!(error = %e, "asset roll-up task failed; will retry"),
        }
        let woken = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = assets.changed.notified() => true,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        if woken {
            tokio::time::sleep(ROLLUP_SETTLE).await;
        }
    }
}

async fn seen_snapshots(assets: Arc<Assets>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(SEEN_EVERY) => false,
            _ = shutdown.wait_for(|s| *s) => true,
        };
        let a = assets.clone();
        let _ = tokio::task::spawn_blocking(move || a.save_seen()).await;
        if stop {
            return;
        }
    }
}
