//! One supervised task per configured feed: pull at once, then every `interval_secs`; a
//! failed pull keeps the feed's indicators and records why.

use std::sync::Arc;
use std::time::Duration;

use metrics::counter;
use onewall_intel::config::FeedConfig;
use onewall_model::Timestamp;
use tokio::sync::watch;
use tracing::{info, warn};

use super::fetch::{self, Pulled};
use super::{Intel, count_pull, db};

/// Start a task per feed, supervised (a panic is counted, shown by `/healthz` and the task
/// started again).
pub fn start(
    intel: &Arc<Intel>,
    health: &onewall_api::health::TaskHealth,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    intel
        .cfg
        .feeds
        .iter()
        .map(|feed| {
            // Task names are static: one per configured feed, made once at start.
            let task: &'static str =
                Box::leak(format!("intel_feed:{}", feed.name).into_boxed_str());
            let (intel, feed, sd) = (intel.clone(), feed.clone(), shutdown.clone());
            tokio::spawn(crate::supervise::supervise(
                task,
                health.clone(),
                shutdown.clone(),
                move || Ok(run(intel.clone(), feed.clone(), sd.clone())),
            ))
        })
        .collect()
}

/// Pull `feed` now and every interval until shutdown.
async fn run(intel: Arc<Intel>, feed: FeedConfig, mut shutdown: watch::Receiver<bool>) {
    counter!("onewall_intel_feed_errors_total", "feed" => feed.name.clone()).increment(0);
    let every = Duration::from_secs(feed.interval_secs.max(1));
    loop {
        pull_once(&intel, &feed).await;
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Pull `feed` once and apply what it gave; a failure is recorded, the indicators stay.
pub async fn pull_once(intel: &Arc<Intel>, feed: &FeedConfig) {
    let name = feed.name.clone();
    let mut state = intel
        .status
        .lock()
        .ok()
        .and_then(|s| s.get(&name).cloned())
        .unwrap_or_default();
    let started = Timestamp::now();
    let cred = feed.auth.credential(&format!("intel.feeds.{name}.auth"));
    let pulled = {
        let (feed, mut st) = (feed.clone(), state.clone());
        tokio::task::spawn_blocking(move || {
            let cred = cred.map_err(|e| anyhow::anyhow!("{e}"))?;
            fetch::pull(&feed, cred.as_ref(), &mut st).map(|p| (p, st))
        })
        .await
        .map_err(|e| anyhow::anyhow!("the pull task failed: {e}"))
        .and_then(|r| r)
    };
    state.last_pull = Some(started);
    state.pulls += 1;
    let applied = match pulled {
        Ok((p, after)) => apply(intel, feed, p, &mut state)
            .await
            .map(|outcome| (outcome, after)),
        Err(e) => Err(e),
    };
    match applied {
        Ok((outcome, after)) => {
            state.added_after = after.added_after;
            state.version = after.version;
            state.last_success = Some(started);
            count_pull(&name, outcome);
        }
        Err(e) => {
            let reason = format!("{e:#}");
            warn!(feed = %name, error = %reason, "intel: pull failed; the feed keeps its indicators");
            state.last_error = Some(reason);
            state.error_at = Some(started);
            state.errors += 1;
            counter!("onewall_intel_feed_errors_total", "feed" => name.clone()).increment(1);
            count_pull(&name, "error");
        }
    }
    if let Ok(mut s) = intel.status.lock() {
        s.insert(name.clone(), state.clone());
    }
    if let Err(e) = intel
        .db
        .call(move |c| db::put_feed_state(c, &name, &state))
        .await
    {
        warn!(error = %format!("{e:#}"), "intel: the feed's state could not be written");
    }
}

/// Apply what a pull gave; the outcome's name for `onewall_intel_pulls_total`.
async fn apply(
    intel: &Arc<Intel>,
    feed: &FeedConfig,
    pulled: Pulled,
    state: &mut db::FeedState,
) -> anyhow::Result<&'static str> {
    let (mut read, replace) = match pulled {
        Pulled::Unchanged => return Ok("unchanged"),
        Pulled::Replace(r) => (r, true),
        // A poll that brought nothing leaves the set as it is.
        Pulled::Add(r) if r.indicators.is_empty() => {
            if !r.rejected.is_empty() {
                info!(feed = %feed.name, rejected = r.rejected.len(), "intel: feed pulled; nothing taken");
            }
            return Ok("ok");
        }
        Pulled::Add(r) => (r, false),
    };
    intel.with_defaults(feed, &mut read.indicators);
    let got = read.indicators.len();
    let new = if replace {
        intel.replace(&feed.name, read.indicators).await?
    } else {
        intel.add(&feed.name, read.indicators).await?
    };
    info!(
        feed = %feed.name,
        indicators = got,
        new = new.len(),
        rejected = read.rejected.len(),
        "intel: feed pulled"
    );
    state.last_read = got as u64;
    state.last_new = new.len() as u64;
    state.last_rejected = read.rejected.len() as u64;
    if !new.is_empty() {
        let receipt = super::hub::Receipt::new(&feed.name, got, &new, &read.rejected);
        state.last_receipt = Some(receipt.id.clone());
        intel.after_change(receipt, new).await;
    }
    Ok("ok")
}
