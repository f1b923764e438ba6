//! The pipeline behind the listeners: detect (rules) on its own thread, then store and
//! correlate. Every link is a bounded channel of batches, so a slow stage pushes back on the
//! one before it, down to the sockets.
//!
//! ```text
//! listeners ──EventBatch──► detect thread ──(events, alerts)──► store task ──► Store
//!                           (rules::RuleSet)                    (write events, alerts;
//!                                                                correlate into incidents)
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{counter, gauge};
use onewall_ingest::spool::{Spool, SpoolError, Spooled};
use onewall_model::{Alert, Event, EventBatch, Timestamp};
use onewall_rules::pack::{RuleSet, RuleSetHandle};
use onewall_store::Store;
use tokio::sync::{mpsc, watch};
use tracing::{error, warn};

use onewall_model::bus::NodeEvents;

pub use correlation::CorrelationStage;
pub use retry::retry;

pub mod backend;
pub mod clock;
pub mod correlation;
pub mod geo;
mod publish;
mod retry;

/// How the store stage groups events into writes.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Queued batches are joined up to about this many events per write.
    pub max_events: usize,
    /// How long a write that is not full waits for more events (zero: it writes what is
    /// queued at once). ClickHouse wants few large inserts; the embedded store writes at once.
    pub linger: Duration,
}

impl Batching {
    /// The embedded store's: what is queued, up to 8192 events, without waiting.
    pub const EMBEDDED: Batching = Batching {
        max_events: 8192,
        linger: Duration::ZERO,
    };
}

/// What the detect stage hands the store stage: the events, their alerts, and the spool
/// sequence number after the last event.
type Detected = (Vec<Event>, Vec<Alert>, u64);

/// Handles to a running pipeline.
#[derive(Debug)]
pub struct Pipeline {
    detect: std::thread::JoinHandle<()>,
    store: tokio::task::JoinHandle<()>,
}

/// What connects the pipeline to the rest of the node.
#[derive(Debug)]
pub struct Wiring {
    /// The spool the batches come from (committed past each stored batch), if any.
    pub spool: Option<Arc<Spool>>,
    /// Batches queued between the detect and store stages.
    pub queue_batches: usize,
    /// Where stored alerts, incident changes and the sources seen are published.
    pub bus: NodeEvents,
    /// Alerts pushed by child nodes and released by the federation gate (a parent's), for
    /// the correlator only: they are stored already.
    pub remote: Option<mpsc::Receiver<Vec<Alert>>>,
    /// Set when the node stops.
    pub shutdown: watch::Receiver<bool>,
    /// Where a stage's panic is shown.
    pub health: onewall_api::health::TaskHealth,
    /// Threat intelligence matched after the rules, on every batch.
    pub intel: Option<crate::intel::IntelStage>,
    /// Anomaly detectors fed after the rules and threat intelligence, on every batch.
    pub anomaly: Option<crate::anomaly::AnomalyStage>,
    /// Geo-IP enrichment before the rules (`[intel.geo]`), when a database is configured.
    pub geo: Option<Arc<geo::GeoEnrich>>,
    /// Alerts' targets looked up in the registry, and the hosts seen noted, last of all.
    pub assets: Option<crate::assets::AssetStage>,
    /// Drill alerts marked (演练), after the assets, when `[supervise] enabled`.
    pub drills: Option<crate::supervision::stage::DrillStage>,
}

/// What the store and alert stages share.
#[derive(Debug, Clone)]
struct Stages {
    store: Arc<dyn Store>,
    spool: Option<Arc<Spool>>,
    bus: NodeEvents,
    shutdown: watch::Receiver<bool>,
}

impl Pipeline {
    /// Start the stages. Events sent on `events` flow through; when every sender is dropped the
    /// stages drain what they hold and end ([`Pipeline::join`]). What the stages store is
    /// published on `wiring.bus`; alerts on `wiring.remote` (a parent's, pushed by its
    /// children and released by the federation gate) go to the correlator only.
    pub async fn start(
        rules: RuleSetHandle,
        store: Arc<dyn Store>,
        mut correlation: CorrelationStage,
        events: mpsc::Receiver<Spooled>,
        batching: Batching,
        clock: clock::ClockCheck,
        wiring: Wiring,
    ) -> anyhow::Result<Pipeline> {
        let Wiring {
            spool,
            queue_batches,
            bus,
            remote,
            shutdown,
            health,
            intel,
            anomaly,
            geo,
            assets,
            drills,
        } = wiring;
        correlation.resume_from(&*store).await?;
        let (to_store, from_detect) = mpsc::channel::<Detected>(queue_batches);
        let detect = std::thread::Builder::new()
            .name("onewall-detect".into())
            .spawn({
                let health = health.clone();
                move || {
                    detect_stage(
                        &rules,
                        AfterRules {
                            intel,
                            anomaly,
                            assets,
                            drills,
                        },
                        geo.as_deref(),
                        events,
                        to_store,
                        clock,
                        &health,
                    )
                }
            })?;
        let stage = tokio::spawn(store_stage(
            Stages {
                store,
                spool,
                bus,
                shutdown,
            },
            correlation,
            from_detect,
            remote,
            batching,
            health.clone(),
        ));
        // Watches the store stage, so a panic there shows in /healthz when it happens, not
        // at shutdown.
        let store = tokio::spawn(async move {
            if let Err(e) = stage.await {
                stage_failed(&health, "store", &e);
            }
        });
        Ok(Pipeline { detect, store })
    }

    /// Wait until both stages have drained and ended.
    pub async fn join(self) {
        if let Err(e) = self.store.await {
            error!(error = %e, "store stage watcher ended abnormally");
        }
        let detect = self.detect;
        if tokio::task::spawn_blocking(move || detect.join())
            .await
            .is_err()
        {
            error!("detect stage ended abnormally");
        }
    }
}

/// What the detect thread runs over each batch after the rules.
struct AfterRules {
    intel: Option<crate::intel::IntelStage>,
    anomaly: Option<crate::anomaly::AnomalyStage>,
    assets: Option<crate::assets::AssetStage>,
    drills: Option<crate::supervision::stage::DrillStage>,
}

/// CPU work, off the async runtime: store events with a wrong clock at their receive time
/// ([`clock`]), then run the rules over each batch, then threat intelligence, then the anomaly
/// detectors (their alerts get the rule set's overlays and join the batch's), then the
/// assets (every alert's target; the hosts seen).
fn detect_stage(
    rules: &RuleSetHandle,
    after: AfterRules,
    geo: Option<&geo::GeoEnrich>,
    mut events: mpsc::Receiver<Spooled>,
    to_store: mpsc::Sender<Detected>,
    clock: clock::ClockCheck,
    health: &onewall_api::health::TaskHealth,
) {
    let AfterRules {
        mut intel,
        mut anomaly,
        mut assets,
        mut drills,
    } = after;
    let mut skew_warnings = clock::SkewWarnings::default();
    while let Some(spooled) = crate::anomaly::stage::next_batch(&mut events, anomaly.as_mut()) {
        let end_seq = spooled.end_seq();
        let mut batch = spooled.events;
        clock.apply(&mut batch, &mut skew_warnings);
        if let Some(geo) = geo {
            let started = Instant::now();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| geo.enrich(&mut batch)))
            {
                Ok(n) => counter!("onewall_intel_geo_addresses_total").increment(n as u64),
                Err(_) => {
                    crate::supervise::count_panic("geo");
                    error!(
                        events = batch.len(),
                        "geo-IP enrichment panicked on a batch"
                    );
                }
            }
            busy("geo", started);
        }
        gauge!("onewall_pipeline_queue_depth_batches", "stage" => "detect")
            .set(events.len() as f64);
        let mut alerts = Vec::new();
        let started = Instant::now();
        // One rule set per batch: a reload takes effect between batches. A panic in the rules
        // costs that batch its alerts, not the stage: counted, shown by /healthz, stored.
        let matched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let now = Timestamp::now();
            let set = rules.current();
            match_in_halves(&set, &batch, now, &mut alerts);
            if let Some(intel) = intel.as_mut() {
                intel.run(&batch, now, &mut alerts);
            }
            if let Some(anomaly) = anomaly.as_mut() {
                let started = Instant::now();
                anomaly.run(&batch, now, &set, &mut alerts);
                busy("anomaly", started);
            }
            if let Some(assets) = assets.as_mut() {
                let started = Instant::now();
                assets.run(&batch, now, &mut alerts);
                busy("assets", started);
            }
            if let Some(drills) = drills.as_mut() {
                drills.run(&batch, &mut alerts);
            }
        }));
        if let Err(payload) = matched {
            crate::supervise::count_panic("detect");
            health.panicked("detect", Timestamp::now());
            health.restarted("detect");
            error!(
                panic = crate::supervise::panic_message(&*payload),
                events = batch.len(),
                "detect stage panicked on a batch; its events are stored without alerts"
            );
            alerts.clear();
        }
        busy("detect", started);
        counter!("onewall_rules_events_matched_total").increment(batch.len() as u64);
        counter!("onewall_rules_alerts_total").increment(alerts.len() as u64);
        if to_store.blocking_send((batch, alerts, end_seq)).is_err() {
            error!("store stage is gone; detect stage stops");
            break;
        }
    }
    // The baselines as they are at the last batch, for the next start.
    if let Some(anomaly) = anomaly.as_mut() {
        anomaly.finish();
    }
}

/// Batches of at least this many events are matched in two halves on two threads.
const SPLIT_MATCHING_AT: usize = 256;

/// Match `batch` against `set` as [`RuleSet::match_batch`] does, appending the alerts to `out`
/// in the same order (by event, then by rule). A batch of [`SPLIT_MATCHING_AT`] events or more
/// is matched in two halves, the second on a thread of its own, so the rules use both cores
/// while the store is not the limit: an event's alerts depend on that event and the rule set
/// alone, so the halves' alerts, joined in order, are the whole batch's. A panic in either
/// half is raised here, as one in a single pass would be.
fn match_in_halves(set: &RuleSet, batch: &[Event], now: Timestamp, out: &mut Vec<Alert>) {
    let (head, tail) =
        onewall_model::halves::in_halves("onewall-detect-2", batch, SPLIT_MATCHING_AT, |half| {
            let mut alerts = Vec::new();
            set.match_batch(half, now, &mut alerts);
            alerts
        });
    out.extend(head);
    out.extend(tail.into_iter().flatten());
}

/// What the event writer hands the alert stage: a written batch, its alerts, the spool
/// sequence number after it, and whether the events were stored.
struct Written {
    events: Arc<[Event]>,
    alerts: Vec<Alert>,
    end_seq: u64,
    stored: bool,
}

/// The event writer: joins queued batches and writes them, then hands each batch to the alert
/// stage ([`alert_stage`]), which runs beside it. While the alerts and incidents of one batch
/// are written, the next batch's events already are, so a store's round trips (and, for
/// ClickHouse, the server's work) overlap instead of adding up.
async fn store_stage(
    stages: Stages,
    correlation: CorrelationStage,
    mut from_detect: mpsc::Receiver<Detected>,
    remote: Option<mpsc::Receiver<Vec<Alert>>>,
    batching: Batching,
    health: onewall_api::health::TaskHealth,
) {
    let spooled = stages.spool.is_some();
    // One written batch waits while the alert stage works on another.
    let (to_alerts, from_events) = mpsc::channel::<Written>(1);
    let alerts_task = tokio::spawn(alert_stage(
        stages.clone(),
        correlation,
        from_events,
        remote,
    ));
    let Stages {
        store,
        bus,
        shutdown,
        ..
    } = stages;
    while let Some((mut events, mut alerts, mut end_seq)) = from_detect.recv().await {
        // Take what else is already waiting (and, with a linger, what arrives within it), so a
        // busy node writes larger transactions: a store's cost is mostly per commit or insert,
        // not per row.
        let until = tokio::time::Instant::now() + batching.linger;
        while events.len() < batching.max_events {
            let more = match from_detect.try_recv() {
                Ok(more) => Some(more),
                Err(mpsc::error::TryRecvError::Empty) if !batching.linger.is_zero() => {
                    tokio::time::timeout_at(until, from_detect.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(_) => None,
            };
            match more {
                Some((more_events, more_alerts, more_end)) => {
                    events.extend(more_events);
                    alerts.extend(more_alerts);
                    end_seq = more_end;
                }
                None => break,
            }
        }
        gauge!("onewall_pipeline_queue_depth_batches", "stage" => "store")
            .set(from_detect.len() as f64);
        let n = events.len() as u64;
        // Shared, not copied: the alert stage matches the same events after they are stored.
        let events: Arc<[Event]> = events.into();
        counter!("onewall_store_event_writes_total").increment(1);
        let started = Instant::now();
        let stored = retry("write events", &shutdown, || {
            let store = store.clone();
            let events = Arc::clone(&events);
            async move { store.write_shared_events(events).await }
        })
        .await;
        busy("write_events", started);
        if stored {
            counter!("onewall_store_events_written_total").increment(n);
            publish::sources_seen(&bus, &events).await;
        } else if spooled {
            warn!(
                events = n,
                "events not stored at shutdown stay in the spool for the next start"
            );
        } else {
            counter!("onewall_ingest_dropped_total", "reason" => "store_unavailable").increment(n);
        }
        let written = Written {
            events,
            alerts,
            end_seq,
            stored,
        };
        if to_alerts.send(written).await.is_err() {
            error!("alert stage is gone; store stage stops");
            break;
        }
    }
    drop(to_alerts);
    if let Err(e) = alerts_task.await {
        stage_failed(&health, "alerts", &e);
    }
}

/// A pipeline stage ended abnormally. A panic is counted (`onewall_task_panics_total{task}`)
/// and shown in `/healthz` as stopped: a stage is not restarted (its state, the correlator's
/// windows and the spool position, went with it); what it held stays in the spool and is
/// stored once the node is restarted.
fn stage_failed(
    health: &onewall_api::health::TaskHealth,
    task: &'static str,
    e: &tokio::task::JoinError,
) {
    if e.is_panic() {
        counter!("onewall_task_panics_total", "task" => task).increment(1);
        health.stopped(task, Timestamp::now());
    }
    error!(error = %e, task, "pipeline stage ended abnormally; restart the node");
}

/// After a batch's events are written: Sigma correlations, the alerts, incidents, and the
/// spool commit, batch by batch in order.
async fn alert_stage(
    stages: Stages,
    mut correlation: CorrelationStage,
    mut from_events: mpsc::Receiver<Written>,
    mut remote: Option<mpsc::Receiver<Vec<Alert>>>,
) {
    let Stages {
        store,
        spool,
        bus,
        shutdown,
    } = stages;
    // Once a write is given up (at shutdown), nothing later is committed: the spool keeps it
    // all for the next start.
    let mut committing = true;
    // Alerts pushed by child nodes (on a parent), for the correlator only: already stored.
    loop {
        let next = tokio::select! {
            d = from_events.recv() => d,
            Some(pushed) = async {
                match remote.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                // Already stored at the parent; nothing to commit either way.
                let _ = correlation.incidents(&*store, &bus, &pushed, &shutdown).await;
                continue;
            }
        };
        let Some(Written {
            events,
            mut alerts,
            end_seq,
            stored,
        }) = next
        else {
            break;
        };
        if !stored {
            committing = false;
        }
        // Sigma correlations: their alerts are stored and grouped with the batch's.
        let started = Instant::now();
        let raised = correlation.detect(&events, &alerts);
        alerts.extend(raised);
        busy("correlate", started);
        if !alerts.is_empty() {
            let n = alerts.len() as u64;
            let started = Instant::now();
            let written = retry("write alerts", &shutdown, || {
                let store = store.clone();
                let alerts = alerts.clone();
                async move { store.write_alerts(alerts).await }
            })
            .await;
            busy("write_alerts", started);
            if written {
                counter!("onewall_store_alerts_written_total").increment(n);
                // The federation uplink queues them for the parent before this returns.
                publish::alerts_stored(&bus, &alerts).await;
            } else {
                committing = false;
            }
        }
        // The spool is committed past a batch only once its incidents are written too: a
        // crash before that replays the batch, and its alerts (same ids) are grouped then.
        if !alerts.is_empty() {
            let started = Instant::now();
            if !correlation
                .incidents(&*store, &bus, &alerts, &shutdown)
                .await
            {
                committing = false;
            }
            busy("incidents", started);
        }
        if committing && let Some(spool) = &spool {
            let started = Instant::now();
            commit(spool, end_seq).await;
            busy("spool_commit", started);
        }
    }
    correlation.save_snapshot();
}

/// Count the time a stage spent on one step since `started`
/// (`onewall_pipeline_busy_microseconds_total{step}`): with the event counters it tells where
/// a busy node's time goes.
fn busy(step: &'static str, started: Instant) {
    counter!("onewall_pipeline_busy_microseconds_total", "step" => step)
        .increment(started.elapsed().as_micros() as u64);
}

/// Open `[store.spool]`, delivering to `tx`.
pub fn open_spool(
    cfg: &crate::config::StoreConfig,
    tx: mpsc::Sender<Spooled>,
) -> anyhow::Result<Arc<Spool>> {
    use onewall_ingest::spool::{Fsync, SpoolOptions};
    let sp = &cfg.spool;
    let fsync = match sp.fsync.as_str() {
        "always" => Fsync::Always,
        "never" => Fsync::Never,
        _ => Fsync::Interval(Duration::from_millis(sp.fsync_interval_ms.max(1))),
    };
    let dir = sp.dir(&cfg.path);
    Spool::open(
        SpoolOptions {
            dir: dir.clone(),
            fsync,
            max_bytes: sp.max_bytes,
            segment_bytes: sp.segment_bytes,
            disk_reserve_bytes: sp.disk_reserve_bytes,
        },
        tx,
    )
    .map_err(|e| {
        let disk = backend::disk_full(&dir, sp.disk_reserve_bytes)
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        anyhow::anyhow!("store.spool.path: opening {}{disk}: {e}", dir.display())
    })
}

/// Tell the spool everything before `end_seq` is stored. A failure only means a longer replay
/// after a restart (the store ignores ids it holds), so it is logged and counted.
async fn commit(spool: &Arc<Spool>, end_seq: u64) {
    let spool = spool.clone();
    let err = match tokio::task::spawn_blocking(move || spool.commit(end_seq)).await {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    counter!("onewall_spool_commit_errors_total").increment(1);
    warn!(error = %err, "spool commit failed; more will be replayed after a restart");
}

/// Take the listeners' batches into the spool (which hands them to the detect stage). A full
/// spool (or disk) holds TCP and TLS batches until there is room (their senders wait, the
/// sockets stop being read); UDP batches are dropped and counted (`onewall_ingest_dropped_total
/// {reason="spool_full"}` or `{reason="disk_full"}`), since a datagram sender cannot be slowed
/// down. The warning is given once per 10 s at most, with how many refusals it held back.
pub async fn spool_intake(
    spool: Arc<Spool>,
    mut batches: mpsc::Receiver<EventBatch>,
    shutdown: watch::Receiver<bool>,
) {
    let mut warned = None::<tokio::time::Instant>;
    let mut held_back = 0u64;
    while let Some(mut batch) = batches.recv().await {
        let udp = batch.first().is_some_and(|e| {
            matches!(
                &*e.source.collector,
                "syslog_udp" | "netflow" | "ipfix" | "sflow"
            )
        });
        loop {
            let started = Instant::now();
            let appended = spool.append_async(batch).await;
            busy("spool_append", started);
            match appended {
                Ok(_) => break,
                Err((SpoolError::Closed, _)) => return,
                Err((e, back)) => {
                    let reason = match e {
                        SpoolError::DiskFull { .. } => "disk_full",
                        _ => "spool_full",
                    };
                    if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                        warn!(error = %e, held_back, "spool takes no more now; pushing back on syslog");
                        warned = Some(tokio::time::Instant::now());
                        held_back = 0;
                    } else {
                        held_back += 1;
                    }
                    if udp || *shutdown.borrow() {
                        if !udp {
                            error!(events = back.len(), error = %e,
                                "stopping with the spool full: events not spooled are dropped");
                        }
                        counter!("onewall_ingest_dropped_total", "reason" => reason)
                            .increment(back.len() as u64);
                        break;
                    }
                    batch = back;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_ingest::{ParseContext, parse_syslog};
    use onewall_model::{RegionCode, RegionTree, Source};
    use onewall_rules::pack::RuleSetConfig;

    #[test]
    fn a_batch_matched_in_halves_gives_one_pass_alerts_in_order() {
        let config = RuleSetConfig {
            builtin: true,
            ..RuleSetConfig::default()
        };
        let now = Timestamp::parse_rfc3339("2026-11-28T10:00:00Z").expect("time");
        let (set, _) = RuleSet::load(&config, &RegionTree::builtin(), now).expect("rule set");
        let ctx = ParseContext::new(now, RegionCode::HENAN, Source::new("test", None));
        for n in [0, 1, SPLIT_MATCHING_AT - 1, SPLIT_MATCHING_AT, 1_001] {
            let batch: Vec<Event> = (0..n)
                .map(|i| {
                    let line = if i % 3 == 0 {
                        format!(
                            "<38>Nov 28 10:00:{:02} web{:02} sshd[{}]: Failed password for invalid \
                             user u{i} from 203.0.113.{} port 4000{} ssh2",
                            i % 60,
                            i % 7,
                            1000 + i,
                            i % 250,
                            i % 10
                        )
                    } else {
                        format!(
                            "<30>Nov 28 10:00:{:02} web{:02} nginx[1]: GET /{i} 200",
                            i % 60,
                            i % 7
                        )
                    };
                    parse_syslog(line.as_bytes(), &ctx)
                })
                .collect();
            let mut whole = Vec::new();
            set.match_batch(&batch, now, &mut whole);
            let mut halves = vec![];
            match_in_halves(&set, &batch, now, &mut halves);
            assert_eq!(halves, whole, "{n} events");
            assert_eq!(
                whole.len(),
                n.div_ceil(3),
                "{n} events: one alert per failed login"
            );
        }
    }
}
