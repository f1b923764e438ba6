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
#[derive(Debug)]
pub struct LiveRules {
    handle: RuleSetHandle,
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
        let errors = log_report(&report);
        Ok(LiveRules {
            handle: RuleSetHandle::new(set),
            config,
            regions: r.regions.clone(),
            errors: std::sync::Mutex::new(errors),
            summary: std::sync::Mutex::new(report.summary()),
            reloading: std::sync::Mutex::new(()),
        })
    }

    /// The handle the detect stage reads.
    pub fn handle(&self) -> RuleSetHandle {
        self.handle.clone()
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
                let errors = log_report(&report);
                self.handle.replace(set);
                *self
                    .errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = errors;
                let summary = report.summary();
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
        serde_json::to_value(summary).map_err(|e| e.to_string())
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
