//! The retro-hunt that follows a change bringing new indicators: the stored history of
//! `[intel] lookback_days` is searched for them in the background, one hunt at a time, within
//! the budget of `[intel] retro_max_events` and `retro_max_secs`; its hits are delivered as
//! alerts marked `intel.retro` (stored, published, correlated), and the import's receipt is
//! completed with the hunt's (`GET /api/v1/intel/receipts/{id}`).

use std::sync::Arc;
use std::time::Duration;

use metrics::counter;
use onewall_intel::Indicator;
use onewall_model::Timestamp;

use super::Intel;
use super::retro::{RetroBudget, deliver, retro_hunt};

/// Start the retro-hunt of `new` for receipt `id`.
pub fn spawn(intel: Arc<Intel>, id: String, new: Vec<Indicator>) {
    tokio::spawn(async move {
        // One hunt at a time: a burst of imports queues instead of loading the store at once.
        let _permit = intel.retro_permit.acquire().await;
        let budget = RetroBudget {
            max_events: intel.cfg.retro_max_events,
            max_time: Duration::from_secs(intel.cfg.retro_max_secs),
        };
        let (alerts, receipt) = retro_hunt(
            &*intel.store,
            &new,
            &intel.fields,
            intel.cfg.lookback_days,
            budget,
            Timestamp::now(),
        )
        .await;
        counter!("onewall_intel_retro_alerts_total").increment(alerts.len() as u64);
        let correlator = intel.correlator.lock().ok().and_then(|c| c.clone());
        let delivered = deliver(&*intel.store, &intel.bus, correlator.as_ref(), alerts).await;
        let mut part = serde_json::to_value(&receipt).unwrap_or_default();
        part["href"] = format!("/api/v1/intel/receipts/{id}").into();
        part["status"] = "done".into();
        if let Err(e) = delivered {
            tracing::warn!(error = %e, receipt = %id, "intel: retro-hunt alerts not stored");
            part["delivery_error"] = e.to_string().into();
        }
        tracing::info!(receipt = %id, hits = receipt.hits, alerts = receipt.alerts,
            truncated = receipt.truncated, "intel: retro-hunt done");
        intel.complete_receipt(&id, part).await;
        counter!("onewall_intel_retro_hunts_total").increment(1);
    });
}
