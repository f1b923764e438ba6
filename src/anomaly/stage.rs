//! The anomaly step of the detect thread: after the rules and threat intelligence, every batch
//! goes through the detectors; their alerts get the rule set's overlays (`disable`, `level`)
//! and join the batch's alerts, so they are stored, grouped into incidents, reach the
//! playbooks and the parent like any alert.
//!
//! The state is written to `anomaly.snapshot` (a temporary file renamed over it) every
//! `[anomaly] snapshot_interval_secs` and when the stage ends, and restored at start; one that
//! cannot be read is set aside as `anomaly.snapshot.bad` and the detectors start learning.
//! A reload of the rules swaps the detector set: the state of unchanged detectors is kept.
//!
//! Metrics: `onewall_anomaly_detectors`, per detector `onewall_anomaly_groups{detector}`,
//! `onewall_anomaly_learning{detector}` (1 while learning), `onewall_anomaly_alerts_total
//! {detector}`, `onewall_anomaly_evictions_total{detector,what}` (`groups`, `entries`); the
//! snapshot's `onewall_anomaly_snapshot_bytes` and `onewall_anomaly_snapshot_errors_total`;
//! reloads' `onewall_anomaly_reload_kept_total`, `..._dropped_groups_total`,
//! `..._added_total`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{counter, gauge};
use onewall_anomaly::{Anomalies, DetectorSet};
use onewall_model::{Alert, Event, Timestamp};
use onewall_rules::pack::RuleSet;
use tracing::{info, warn};

use super::{Board, DetectorHandle, Settings, SharedBoard};

/// How often the API's board is refreshed, at most.
const BOARD_EVERY: Duration = Duration::from_secs(1);

/// The detectors' running state, owned by the detect thread.
#[derive(Debug)]
pub struct AnomalyStage {
    anomalies: Anomalies,
    detectors: DetectorHandle,
    board: SharedBoard,
    snapshot_path: Option<PathBuf>,
    snapshot_every: Duration,
    last_snapshot: Instant,
    last_board: Option<Instant>,
    /// A batch was observed since the board was last refreshed.
    board_stale: bool,
}

impl AnomalyStage {
    /// The stage for the detectors in use, restored from the snapshot when there is one.
    pub fn start(detectors: DetectorHandle, settings: &Settings, board: SharedBoard) -> Self {
        let mut anomalies = Anomalies::new(detectors.current(), settings.config.clone());
        let snapshot_path = settings.snapshot_path();
        if let Some(path) = &snapshot_path {
            restore(&mut anomalies, path);
        }
        gauge!("onewall_anomaly_detectors").set(anomalies.set().len() as f64);
        let mut stage = AnomalyStage {
            anomalies,
            detectors,
            board,
            snapshot_path,
            snapshot_every: settings.snapshot_every,
            last_snapshot: Instant::now(),
            last_board: None,
            board_stale: false,
        };
        stage.refresh_board();
        stage
    }

    /// Feed `batch` (after the rules) and add the detectors' alerts, with the overlays of
    /// `rules` applied, to `alerts`.
    pub fn run(
        &mut self,
        batch: &[Event],
        now: Timestamp,
        rules: &RuleSet,
        alerts: &mut Vec<Alert>,
    ) {
        let current = self.detectors.current();
        if !Arc::ptr_eq(&current, self.anomalies.set()) {
            self.swap(current);
        }
        if self.anomalies.set().is_empty() {
            return;
        }
        let mut raised = Vec::new();
        self.anomalies.observe_batch(batch, now, &mut raised);
        if !raised.is_empty() {
            rules.apply_overlays(&mut raised);
            for a in &raised {
                counter!("onewall_anomaly_alerts_total", "detector" => a.rule.id.clone())
                    .increment(1);
            }
            alerts.extend(raised);
        }
        self.board_stale = true;
        if self.board_due() == Some(Duration::ZERO) {
            self.refresh_board();
        }
        if self.last_snapshot.elapsed() >= self.snapshot_every {
            self.save_snapshot();
        }
    }

    /// Move the state over to a reloaded set.
    fn swap(&mut self, set: Arc<DetectorSet>) {
        let n = set.len();
        let outcome = self.anomalies.replace_set(set);
        counter!("onewall_anomaly_reload_kept_total").increment(outcome.kept as u64);
        counter!("onewall_anomaly_reload_dropped_groups_total")
            .increment(outcome.dropped_groups as u64);
        counter!("onewall_anomaly_reload_added_total").increment(outcome.added as u64);
        gauge!("onewall_anomaly_detectors").set(n as f64);
        info!(
            detectors = n,
            kept = outcome.kept,
            dropped_groups = outcome.dropped_groups,
            added = outcome.added,
            "anomaly detectors reloaded"
        );
        self.refresh_board();
    }

    /// How long until the board is due for a refresh, when a batch was observed since the
    /// last one (zero: now).
    pub fn board_due(&self) -> Option<Duration> {
        if !self.board_stale {
            return None;
        }
        Some(self.last_board.map_or(Duration::ZERO, |at| {
            BOARD_EVERY.saturating_sub(at.elapsed())
        }))
    }

    /// Copy the status for the API and publish the gauges.
    pub fn refresh_board(&mut self) {
        self.last_board = Some(Instant::now());
        self.board_stale = false;
        let status = self.anomalies.status();
        for s in &status {
            let id = s.id.clone();
            gauge!("onewall_anomaly_groups", "detector" => id.clone()).set(s.groups as f64);
            gauge!("onewall_anomaly_learning", "detector" => id.clone()).set(if s.learning {
                1.0
            } else {
                0.0
            });
            counter!("onewall_anomaly_evictions_total", "detector" => id.clone(), "what" => "groups")
                .absolute(s.counters.groups_evicted);
            counter!("onewall_anomaly_evictions_total", "detector" => id, "what" => "entries")
                .absolute(s.counters.entries_evicted);
        }
        let board = Board {
            status,
            updated: Some(Timestamp::now()),
        };
        match self.board.write() {
            Ok(mut b) => *b = board,
            Err(poisoned) => *poisoned.into_inner() = board,
        }
    }

    /// Write the state to the snapshot file (a temporary file renamed over it).
    pub fn save_snapshot(&mut self) {
        self.last_snapshot = Instant::now();
        let Some(path) = &self.snapshot_path else {
            return;
        };
        let bytes = self.anomalies.snapshot();
        let tmp = path.with_extension("snapshot.tmp");
        let result = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path));
        match result {
            Ok(()) => gauge!("onewall_anomaly_snapshot_bytes").set(bytes.len() as f64),
            Err(e) => {
                counter!("onewall_anomaly_snapshot_errors_total").increment(1);
                warn!(error = %e, path = %path.display(), "writing anomaly snapshot");
            }
        }
    }

    /// The stage ends (the node stops): the last state is written and shown.
    pub fn finish(&mut self) {
        self.refresh_board();
        self.save_snapshot();
    }
}

/// Restore `anomalies` from the file at `path`; one that does not read is set aside.
fn restore(anomalies: &mut Anomalies, path: &std::path::Path) {
    match std::fs::read(path) {
        Ok(bytes) => match anomalies.restore(&bytes) {
            Ok(groups) => {
                gauge!("onewall_anomaly_snapshot_bytes").set(bytes.len() as f64);
                info!(groups, path = %path.display(), "anomaly baselines restored");
            }
            Err(e) => {
                let aside = path.with_extension("snapshot.bad");
                let _ = std::fs::rename(path, &aside);
                warn!(error = %e, kept_as = %aside.display(),
                    "anomaly snapshot unreadable; the detectors start learning");
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warn!(error = %e, path = %path.display(), "reading anomaly snapshot"),
    }
}

/// The next item of `events` for the detect thread. While the board waits for a refresh (the
/// last batches came within a second of the previous one), the queue is polled until the
/// refresh is due and the board refreshed then, so the API shows the state after the last
/// batch within a second even when no batch follows.
pub fn next_batch<T>(
    events: &mut tokio::sync::mpsc::Receiver<T>,
    anomaly: Option<&mut AnomalyStage>,
) -> Option<T> {
    use tokio::sync::mpsc::error::TryRecvError;
    if let Some(a) = anomaly {
        while let Some(due) = a.board_due() {
            match events.try_recv() {
                Ok(item) => return Some(item),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) if due.is_zero() => a.refresh_board(),
                Err(TryRecvError::Empty) => {
                    std::thread::sleep(due.min(Duration::from_millis(10)));
                }
            }
        }
    }
    events.blocking_recv()
}
