//! The node's live rule set: loaded from `[rules]`, reloaded on SIGHUP and through the API.

use onewall_model::Timestamp;
use onewall_rules::Placeholders;
use onewall_rules::pack::{ReloadSummary, RuleSet, RuleSetConfig, RuleSetHandle};
use tracing::{info, warn};

use crate::config::{Resolved, RulesConfig};

/// The `expand` placeholders of `[rules.placeholders]`.
pub fn placeholders(r: &RulesConfig) -> Placeholders {
    r.placeholders
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What `[rules]` names, for [`RuleSet::load`].
pub fn rule_set_config(r: &RulesConfig) -> RuleSetConfig {
    RuleSetConfig {
        builtin: r.builtin,
        dirs: r.dirs.clone(),
        packs: r.packs.clone(),
        overlays: r.overlays.clone(),
        placeholders: placeholders(r),
    }
}

/// The rules of a running node: loaded from `[rules]`, reloaded on SIGHUP and through
/// `POST /api/v1/rules/reload`. A reload re-reads the packs, directories and overlays the
/// configuration names (not the configuration file); one that fails keeps the rules in use.
/// Detection and correlation rules are one set, swapped in one step. A reload is refused when
/// a correlation does not load (broken, or counting a rule that is not loaded): a correlation
/// silently gone would stop detecting what it exists for.
///
/// The anomaly detectors of the set (documents with an `anomaly:` key) are compiled at every
/// load and swapped with it ([`LiveRules::detectors`]); a detector that does not compile is
/// reported with the rules that do not, and skipped.
#[derive(Debug)]
pub struct LiveRules {
    handle: RuleSetHandle,
    detectors: crate::anomaly::DetectorHandle,
    anomaly: crate::anomaly::Settings,
    /// Detectors loaded by the load in use.
    detector_count: std::sync::atomic::AtomicUsize,
    config: RuleSetConfig,
    regions: onewall_model::RegionTree,
    errors: std::sync::Mutex<Vec<String>>,
    /// The report of the load in use, for `GET /api/v1/rules`.
    summary: std::sync::Mutex<ReloadSummary>,
    /// One reload at a time.
    reloading: std::sync::Mutex<()>,
}

impl LiveRules {
    /// Load the rules `r` names. Fails when a pack, pipeline, overlay or directory cannot be
    /// used; a rule that does not compile is logged and skipped.
    pub fn load(r: &Resolved) -> anyhow::Result<LiveRules> {
        let config = rule_set_config(&r.config.rules);
        let (set, report) = RuleSet::load(&config, &r.regions, Timestamp::now())
            .map_err(|e| anyhow::anyhow!("rules: {e}"))?;
        let mut errors = log_report(&report);
        let anomaly = crate::anomaly::Settings::of(r);
        let (detectors, detector_report) = crate::anomaly::compile(&set, &anomaly);
        let detector_errors = log_detectors(&detectors, &detector_report);
        errors.extend(detector_errors.iter().cloned());
        let mut summary = report.summary();
        summary.errors.extend(detector_errors);
        Ok(LiveRules {
            detector_count: detectors.len().into(),
            detectors: crate::anomaly::DetectorHandle::new(detectors),
            anomaly,
            handle: RuleSetHandle::new(set),
            config,
            regions: r.regions.clone(),
            errors: std::sync::Mutex::new(errors),
            summary: std::sync::Mutex::new(summary),
            reloading: std::sync::Mutex::new(()),
        })
    }

    /// The handle the detect stage reads.
    pub fn handle(&self) -> RuleSetHandle {
        self.handle.clone()
    }

    /// The detectors the detect stage and the API read.
    pub fn detectors(&self) -> crate::anomaly::DetectorHandle {
        self.detectors.clone()
    }

    /// `[anomaly]` as the node runs it.
    pub fn anomaly_settings(&self) -> &crate::anomaly::Settings {
        &self.anomaly
    }

    /// Detectors loaded by the load in use.
    pub fn detector_count(&self) -> usize {
        self.detector_count
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Load the rules again and swap them in; the load report, or why the old rules stay.
    pub fn reload_now(&self) -> Result<onewall_rules::pack::ReloadSummary, String> {
        let _one = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match RuleSet::load(&self.config, &self.regions, Timestamp::now()) {
            Ok((_, report)) if !report.correlation_errors.is_empty() => {
                let reasons: Vec<String> = report
                    .correlation_errors
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                warn!(errors = ?reasons, "rules reload refused: a correlation rule does not load; the rules in use stay");
                Err(format!(
                    "correlation rules do not load, the rules in use stay: {}",
                    reasons.join("; ")
                ))
            }
            Ok((set, report)) => {
                let mut errors = log_report(&report);
                let (detectors, detector_report) = crate::anomaly::compile(&set, &self.anomaly);
                let detector_errors = log_detectors(&detectors, &detector_report);
                errors.extend(detector_errors.iter().cloned());
                self.detector_count
                    .store(detectors.len(), std::sync::atomic::Ordering::Relaxed);
                // The rules and their detectors change together, between two batches.
                self.handle.replace(set);
                self.detectors.replace(detectors);
                *self
                    .errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = errors;
                let mut summary = report.summary();
                summary.errors.extend(detector_errors);
                *self
                    .summary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = summary.clone();
                Ok(summary)
            }
            Err(e) => {
                warn!(error = %e, "rules reload failed; the rules in use stay");
                Err(e.to_string())
            }
        }
    }
}

impl onewall_api::RulesControl for LiveRules {
    fn view(&self) -> onewall_api::RulesView {
        let set = self.handle.current();
        onewall_api::RulesView {
            rules: set.engine().rules().to_vec(),
            correlations: set.correlations().iter().map(|c| c.info()).collect(),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            load: Some(
                self.summary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
            ),
            live: None,
        }
    }

    fn reload(&self) -> Result<serde_json::Value, String> {
        let summary = self.reload_now()?;
        let mut v = serde_json::to_value(summary).map_err(|e| e.to_string())?;
        v["detectors"] = self.detector_count().into();
        Ok(v)
    }
}

fn log_report(report: &onewall_rules::pack::RuleSetReport) -> Vec<String> {
    for e in &report.load.errors {
        warn!(rule = %e, "rule skipped: it does not compile");
    }
    for n in &report.notes {
        warn!(note = %n, "rules");
    }
    info!(
        compiled = report.load.compiled,
        total = report.load.total,
        correlations = report.correlations,
        packs = report.packs.len(),
        overlays = report.overlays.len(),
        "rules loaded"
    );
    metrics::gauge!("onewall_rules_loaded").set(report.load.compiled as f64);
    metrics::gauge!("onewall_rules_failed").set(report.load.errors.len() as f64);
    report.load.errors.iter().map(|e| e.to_string()).collect()
}

/// Log the detectors loaded and those skipped; answers the skipped ones, `path: id: reason`.
fn log_detectors(
    set: &onewall_anomaly::DetectorSet,
    report: &onewall_rules::LoadReport,
) -> Vec<String> {
    for e in &report.errors {
        warn!(detector = %e, "anomaly detector skipped: it does not load");
    }
    if !set.is_empty() || !report.errors.is_empty() {
        info!(
            detectors = set.len(),
            failed = report.errors.len(),
            "anomaly detectors loaded"
        );
    }
    metrics::gauge!("onewall_anomaly_detectors_failed").set(report.errors.len() as f64);
    report.errors.iter().map(|e| e.to_string()).collect()
}
