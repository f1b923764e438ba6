//! The node's background jobs: the checks that raise alerts on a clock rather than from
//! received events (SLA breaches, missing child reports), and retention. They are node
//! services, not API handlers: each gets the store, the node event bus it publishes its
//! alerts on, and the shutdown signal, and [`start`] runs them all.

use std::sync::Arc;
use std::time::Duration;

use onewall_api::reports::ReportDesk;
use onewall_model::Timestamp;
use onewall_model::bus::NodeEvents;
use onewall_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Resolved;

pub mod reports;
pub mod sla;

/// How often a parent looks for missing child reports.
const REPORT_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The running jobs.
#[derive(Debug)]
pub struct Jobs {
    tasks: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Stop them (they hold nothing that needs draining).
    pub fn abort(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Start retention, the SLA check (its clocks divided during 重保 periods when the node keeps
/// supervision, `sup`) and, when children's reports are expected (`desk`), the missing-report
/// check.
pub fn start(
    r: &Resolved,
    store: &Arc<dyn Store>,
    desk: Option<&ReportDesk>,
    sup: Option<&Arc<onewall_supervise::Supervision>>,
    bus: &NodeEvents,
    shutdown: &watch::Receiver<bool>,
) -> Jobs {
    let factor: sla::Factor = match sup {
        Some(sup) => {
            let sup = sup.clone();
            Arc::new(move |region, at| sup.sla_factor(region, at))
        }
        None => sla::no_factor(),
    };
    let mut tasks = vec![
        tokio::spawn(retention(
            store.clone(),
            r.config.store.retention_days,
            r.config.store.alert_retention_days,
            shutdown.clone(),
        )),
        tokio::spawn(sla::run(
            store.clone(),
            crate::config::access::sla_policy(&r.config.sla),
            factor,
            bus.clone(),
            shutdown.clone(),
        )),
    ];
    if let Some(desk) = desk.filter(|d| !d.expected.is_empty()) {
        info!(
            children = desk.expected.len(),
            "expecting the children's daily reports"
        );
        tasks.push(tokio::spawn(reports::run(
            desk.clone(),
            store.clone(),
            Arc::new(r.regions.clone()),
            REPORT_CHECK_EVERY,
            bus.clone(),
            shutdown.clone(),
        )));
    }
    Jobs { tasks }
}

/// Drop event days (and alerts) older than their retention, once at start and then hourly.
async fn retention(
    store: Arc<dyn Store>,
    days: u32,
    alert_days: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    if days == 0 && alert_days == 0 {
        return;
    }
    loop {
        if days > 0 {
            let before = Timestamp::now().add_secs(-(days as i64) * 86_400);
            match store.drop_events_before(before).await {
                Ok(0) => {}
                Ok(n) => info!(days = n, "retention dropped old event days"),
                Err(e) => warn!(error = %e, "retention failed; will retry"),
            }
        }
        if alert_days > 0 {
            let before = Timestamp::now().add_secs(-(alert_days as i64) * 86_400);
            if let Err(e) = store.drop_alerts_before(before).await {
                warn!(error = %e, "alert retention failed; will retry");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
