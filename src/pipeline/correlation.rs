//! The node's correlation step: Sigma correlation rules over each batch's alerts (their
//! alerts join the batch), then incident grouping, with the engines' state snapshotted to the
//! data directory so a restart neither loses a half-complete window nor duplicates incidents.
//!
//! The correlation rules come with the rule set ([`RuleSet::correlations`]): loaded from the
//! same built-in pack, directories and packs as the detection rules, and swapped with them in
//! one reload. The step notices a new set at its next batch and moves over the state of every
//! correlation whose id and definition hash are unchanged; changed and removed ones drop
//! theirs (logged, and counted in `onewall_correlate_reload_dropped_groups_total`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use metrics::counter;
use onewall_correlate::sigma::{SigmaCorrelator, Snapshot};
use onewall_correlate::{
    Correlator, GroupingConfig, Update, extend_incident, grade, mark_merged, merge_incident,
};
use onewall_model::{Alert, Event, EventId, Incident, IncidentStatus, Timestamp};
use onewall_rules::correlation::ResolvedCorrelation;
use onewall_rules::pack::{RuleSet, RuleSetHandle};
use onewall_store::{IncidentChange, IncidentQuery, MAX_LIMIT, Store, StoreError};
use tokio::sync::watch;
use tracing::{error, info, warn};

use onewall_model::bus::NodeEvents;

use super::publish;
use super::retry::retry;
use crate::config::CorrelateConfig;

/// The snapshot file, in the store directory.
pub const SNAPSHOT_FILE: &str = "correlation.snapshot";

/// The correlation step's engines and their snapshot.
#[derive(Debug)]
pub struct CorrelationStage {
    /// The rule set in use; its correlations are followed at each batch.
    rules: RuleSetHandle,
    /// The correlations the engine runs (compared by pointer with the set's).
    loaded: Arc<[ResolvedCorrelation]>,
    sigma: SigmaCorrelator,
    grouping: Correlator,
    snapshot_path: Option<PathBuf>,
    snapshot_every: Duration,
    last_snapshot: Instant,
}

impl CorrelationStage {
    /// Build the engines for the correlations of the set in use; restore the Sigma state from
    /// `data_dir`'s snapshot when there is one (a snapshot that cannot be read is reported and
    /// set aside, and the node starts empty).
    pub fn new(
        rules: RuleSetHandle,
        cfg: &CorrelateConfig,
        regions: &onewall_model::RegionTree,
        data_dir: Option<&Path>,
    ) -> Self {
        let loaded = rules.current().correlations().clone();
        let mut sigma = SigmaCorrelator::new(loaded.to_vec(), cfg.sigma());
        let snapshot_path = data_dir.map(|d| d.join(SNAPSHOT_FILE));
        if let Some(path) = &snapshot_path {
            match std::fs::read(path) {
                Ok(bytes) => match Snapshot::from_bytes(&bytes) {
                    Ok(s) => {
                        let n = sigma.restore(s);
                        info!(groups = n, path = %path.display(), "correlation state restored");
                    }
                    Err(e) => {
                        let aside = path.with_extension("snapshot.bad");
                        let _ = std::fs::rename(path, &aside);
                        warn!(error = %e, kept_as = %aside.display(),
                            "correlation snapshot unreadable; starting empty");
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => warn!(error = %e, path = %path.display(), "reading correlation snapshot"),
            }
        }
        info!(rules = sigma.rule_count(), "correlation rules loaded");
        CorrelationStage {
            rules,
            loaded,
            sigma,
            grouping: Correlator::with_config(GroupingConfig {
                regions: std::sync::Arc::new(regions.clone()),
                ..cfg.grouping()
            }),
            snapshot_path,
            snapshot_every: Duration::from_secs(cfg.snapshot_interval_secs.max(1)),
            last_snapshot: Instant::now(),
        }
    }

    /// Resume incident grouping from the store: open incidents, and resolved ones that may
    /// still reopen.
    pub async fn resume_from(&mut self, store: &dyn Store) -> anyhow::Result<()> {
        let now = Timestamp::now();
        let mut incidents = Vec::new();
        for (open_only, status) in [(true, None), (false, Some(IncidentStatus::Resolved))] {
            let mut cursor = None;
            loop {
                let page = store
                    .search_incidents(IncidentQuery {
                        open_only,
                        status,
                        limit: MAX_LIMIT,
                        cursor,
                        ..Default::default()
                    })
                    .await?;
                incidents.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        self.resume(incidents, now);
        Ok(())
    }

    /// Resume incident grouping from the incidents held when the node stopped.
    pub fn resume(&mut self, incidents: Vec<Incident>, now: Timestamp) {
        self.grouping.resume(incidents, now);
        if !self.grouping.is_empty() {
            info!(
                links = self.grouping.len(),
                "correlator resumed open incidents"
            );
        }
    }

    /// Run the Sigma correlations over a batch's alerts (fields looked up in its events);
    /// returns the correlation alerts raised, for the caller to add to the batch.
    pub fn detect(&mut self, events: &[Event], alerts: &[Alert]) -> Vec<Alert> {
        let set = self.rules.current();
        self.follow(&set);
        if self.sigma.rule_count() == 0 || alerts.is_empty() {
            return Vec::new();
        }
        let by_id: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
        let before = self.sigma.stats();
        let mut out = self.sigma.process(alerts, &by_id, Timestamp::now());
        set.apply_overlays(&mut out);
        let after = self.sigma.stats();
        counter!("onewall_correlate_alerts_total").increment(after.fired - before.fired);
        counter!("onewall_correlate_evictions_total").increment(after.evicted - before.evicted);
        counter!("onewall_correlate_late_total").increment(after.late - before.late);
        out
    }

    /// Take the correlations of `set` when they are not the ones running: unchanged rules keep
    /// their windows, changed and removed ones drop them.
    fn follow(&mut self, set: &RuleSet) {
        if Arc::ptr_eq(set.correlations(), &self.loaded) {
            return;
        }
        self.loaded = set.correlations().clone();
        let out = self.sigma.reload(self.loaded.to_vec());
        counter!("onewall_correlate_reloads_total").increment(1);
        counter!("onewall_correlate_reload_dropped_groups_total")
            .increment(out.dropped_groups as u64);
        info!(
            rules = self.sigma.rule_count(),
            kept = out.kept,
            added = ?out.added,
            changed = ?out.changed,
            removed = ?out.removed,
            dropped_groups = out.dropped_groups,
            "correlation rules reloaded"
        );
    }

    /// Group alerts into incidents and write the changes: new incidents, alerts joining (or
    /// reopening) stored ones, merges. Alerts of quiet rules (evidence for a correlation with
    /// `generate: false`) open no incident. An incident that refuses alerts (closed, or stale)
    /// is forgotten and the alerts open a new one. Answers false when writing the new
    /// incidents was given up (at shutdown): the caller must not commit the spool past these
    /// alerts, so a restart groups them again.
    pub async fn incidents(
        &mut self,
        store: &dyn Store,
        bus: &NodeEvents,
        alerts: &[Alert],
        shutdown: &watch::Receiver<bool>,
    ) -> bool {
        let loud: Vec<Alert> = alerts
            .iter()
            .filter(|a| !self.sigma.is_quiet(&a.rule.id))
            .cloned()
            .collect();
        self.maybe_snapshot();
        if loud.is_empty() {
            return true;
        }
        let now = Timestamp::now();
        let config = self.grouping.config().clone();
        let mut updates = self.grouping.updates(&loud, now);
        let mut opened: Vec<Incident> = Vec::new();
        let mut merges = Vec::new();
        // At most two rounds: the second only opens incidents for groups forgotten in the first.
        for _round in 0..2 {
            let mut refused = Vec::new();
            // The incidents that grow are written as one batch (one set of round trips on a
            // remote store, however many incidents the alerts touch).
            let mut extended = Vec::new();
            let mut changes: Vec<(onewall_model::IncidentId, IncidentChange)> = Vec::new();
            for update in updates.drain(..) {
                match update {
                    Update::Opened(inc) => opened.push(*inc),
                    Update::Merged { into, from } => merges.push((into, from)),
                    Update::Extended {
                        id,
                        group_key,
                        alerts,
                        fresh,
                    } => {
                        let joined = alerts.clone();
                        let cfg = config.clone();
                        let grew = std::sync::Arc::new(AtomicBool::new(false));
                        let flag = grew.clone();
                        changes.push((
                            id,
                            Box::new(move |inc| {
                                let held = inc.alert_ids.len();
                                extend_incident(inc, &joined, fresh, &cfg, now)
                                    .map_err(|e| StoreError::Conflict(e.to_string()))?;
                                flag.store(inc.alert_ids.len() > held, Ordering::Relaxed);
                                Ok(())
                            }),
                        ));
                        extended.push((id, group_key, alerts, grew));
                    }
                }
            }
            let results = if changes.is_empty() {
                Vec::new()
            } else {
                store.update_incidents(changes).await
            };
            for ((id, group_key, alerts, grew), result) in extended.into_iter().zip(results) {
                match result {
                    Ok(inc) if grew.load(Ordering::Relaxed) => {
                        publish::changed(bus, inc, alerts).await
                    }
                    // Every alert was already in it (delivered again by a spool replay):
                    // nothing changed, and the playbooks heard of it before.
                    Ok(_) => {}
                    Err(StoreError::Conflict(_) | StoreError::NotFound { .. }) => {
                        self.grouping.forget(&group_key);
                        refused.extend(alerts);
                    }
                    Err(e) => {
                        counter!("onewall_store_write_errors_total").increment(1);
                        error!(incident = %id, error = %e, "adding alerts to incident failed");
                    }
                }
            }
            if refused.is_empty() {
                break;
            }
            updates = self.grouping.updates(&refused, now);
        }
        if !opened.is_empty() {
            let n = opened.len() as u64;
            let written = retry("write incidents", shutdown, || {
                let opened = opened.clone();
                async move { store.upsert_incidents(opened).await }
            })
            .await;
            if written {
                counter!("onewall_correlate_incidents_opened_total").increment(n);
                publish::opened(bus, &opened, &loud).await;
            } else {
                return false;
            }
        }
        for (into, from) in merges {
            merge(store, bus, into, from, &config, now).await;
        }
        true
    }

    /// Write the snapshot when the interval has passed.
    fn maybe_snapshot(&mut self) {
        if self.last_snapshot.elapsed() >= self.snapshot_every {
            self.save_snapshot();
        }
    }

    /// Write the Sigma state to the snapshot file (a temporary file renamed over it).
    pub fn save_snapshot(&mut self) {
        self.last_snapshot = Instant::now();
        let Some(path) = &self.snapshot_path else {
            return;
        };
        let bytes = self.sigma.snapshot().to_bytes();
        let tmp = path.with_extension("snapshot.tmp");
        let result = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path));
        match result {
            Ok(()) => counter!("onewall_correlate_snapshots_total").increment(1),
            Err(e) => {
                counter!("onewall_correlate_snapshot_errors_total").increment(1);
                warn!(error = %e, path = %path.display(), "writing correlation snapshot");
            }
        }
    }
}

/// Fold stored incident `from` into `into` and close `from` with a pointer to it.
async fn merge(
    store: &dyn Store,
    bus: &NodeEvents,
    into: onewall_model::IncidentId,
    from: onewall_model::IncidentId,
    config: &GroupingConfig,
    now: Timestamp,
) {
    let source = match store.get_incident(from).await {
        Ok(Some(inc)) => inc,
        Ok(None) => return,
        Err(e) => {
            error!(incident = %from, error = %e, "reading incident to merge");
            return;
        }
    };
    let cfg = config.clone();
    let absorbed = source.clone();
    let merged = store
        .update_incident(
            into,
            Box::new(move |inc| {
                merge_incident(inc, &absorbed, &cfg.regions, now);
                grade(inc, &cfg, now);
                Ok(())
            }),
        )
        .await;
    match merged {
        Ok(inc) => publish::changed(bus, inc, Vec::new()).await,
        Err(e) => {
            error!(incident = %into, error = %e, "merging incident");
            return;
        }
    }
    let closed = store
        .update_incident(
            from,
            Box::new(move |inc| {
                mark_merged(inc, into, now);
                Ok(())
            }),
        )
        .await;
    match closed {
        Ok(inc) => {
            counter!("onewall_correlate_incidents_merged_total").increment(1);
            publish::changed(bus, inc, Vec::new()).await;
        }
        Err(e) => error!(incident = %from, error = %e, "closing merged incident"),
    }
}
