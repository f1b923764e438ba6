//! Rule packs, per-region overlays, and the rule set a node runs ([`RuleSet`]).
//!
//! A **pack** is a directory of Sigma rules with a manifest, `pack.yml`:
//!
//! ```yaml
//! name: sigmahq-windows
//! version: "2026.11"
//! description: SigmaHQ Windows rules for Winlogbeat, NXLog and evtx_dump senders
//! rules: [rules]            # folders inside the pack (default: the whole pack folder)
//! pipelines:                # shipped pipeline names, or .yml files inside the pack
//!   [windows-sysmon, windows-audit, windows-logsource, windows-winlogbeat, windows-nxlog, windows-evtx]
//! require_routing: true     # default true when pipelines are given: see PipelineSet
//! enable:  { levels: [high, critical] }             # when given: only these load ...
//! disable: { statuses: [deprecated], ids: [...] }   # ... minus these
//! ```
//!
//! A rule loads when (no `enable` tag/level/status/product criterion is given, or it meets
//! one) and it meets no `disable` criterion; an id in `enable.ids` always loads, an id in
//! `disable.ids` never does. Products are the rule's `logsource.product` as written; tags
//! compare case-insensitively and `attack.t1059*` matches a prefix. Disabled rules are not
//! errors: they are counted in [`PackSummary::disabled`].
//!
//! **Overlays** ([`Overlay`]) then adjust the running set per region: disable a rule, change
//! its alerts' severity, or add an exception. They apply when alerts are made
//! ([`RuleSet::match_batch`]), to events of the overlay's region and the regions under it.
//! An expired exception stops applying at the end of its day and is reported in
//! [`RuleSetReport::notes`] on every load.

mod overlay;
mod select;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::Deserialize;
use serde_norway::{Mapping, Value as Yaml};

use onewall_model::{Alert, Event, EventId, RegionTree, Timestamp};

pub use overlay::{Exception, Overlay};
pub use select::Selector;

use crate::correlation::{ResolvedCorrelation, load_correlations};
use crate::pipeline::{DocAction, Pipeline, PipelineError, PipelineSet, rewrite_sources};
use crate::{Engine, LoadReport, Placeholders, RuleError, RuleSource, read_rule_dir};

/// A pack, an overlay or a rule directory that cannot be used at all. Problems with single
/// rules never fail a load; they are in the [`LoadReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// A pack's manifest is missing or wrong.
    #[error("{path}: {reason}")]
    Manifest { path: String, reason: String },
    /// An overlay file is unreadable or wrong.
    #[error("{path}: {reason}")]
    Overlay { path: String, reason: String },
    /// A pipeline a pack names is unknown or wrong.
    #[error("{path}: {source}")]
    Pipeline {
        path: String,
        #[source]
        source: PipelineError,
    },
    /// A rule directory cannot be read.
    #[error(transparent)]
    Rules(#[from] crate::RulesError),
}

/// A pack's `pack.yml`.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Folders inside the pack holding its rules.
    pub rules: Vec<String>,
    /// Shipped pipeline names or pipeline files inside the pack.
    pub pipelines: Vec<String>,
    pub require_routing: bool,
    pub enable: Selector,
    pub disable: Selector,
}

fn text(v: Option<&Yaml>) -> Option<String> {
    match v {
        Some(Yaml::String(s)) => Some(s.clone()),
        Some(Yaml::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl Manifest {
    /// Parse `pack.yml`.
    pub fn parse(text_: &str) -> Result<Manifest, String> {
        let doc = Yaml::deserialize(serde_norway::Deserializer::from_str(text_))
            .map_err(|e| format!("bad yaml: {e}"))?;
        let Yaml::Mapping(m) = doc else {
            return Err("the manifest is a map".into());
        };
        let list = |key: &str| -> Result<Vec<String>, String> {
            match m.get(key) {
                None | Some(Yaml::Null) => Ok(Vec::new()),
                Some(Yaml::Sequence(l)) => l
                    .iter()
                    .map(|v| text(Some(v)).ok_or_else(|| format!("'{key}': expected strings")))
                    .collect(),
                Some(v) => text(Some(v))
                    .map(|s| vec![s])
                    .ok_or_else(|| format!("'{key}': expected a list")),
            }
        };
        let selector = |key: &str| -> Result<Selector, String> {
            match m.get(key) {
                None | Some(Yaml::Null) => Ok(Selector::default()),
                Some(Yaml::Mapping(s)) => Selector::parse(s, key),
                Some(_) => Err(format!("'{key}' must be a map")),
            }
        };
        for k in m.keys() {
            let known = [
                "name",
                "version",
                "description",
                "rules",
                "pipelines",
                "require_routing",
                "enable",
                "disable",
            ];
            if !k.as_str().is_some_and(|k| known.contains(&k)) {
                return Err(format!(
                    "unknown key '{}' ({})",
                    k.as_str().unwrap_or("?"),
                    known.join(", ")
                ));
            }
        }
        let pipelines = list("pipelines")?;
        let manifest = Manifest {
            name: text(m.get("name")).ok_or("missing 'name'")?,
            version: text(m.get("version")),
            description: text(m.get("description")),
            rules: list("rules")?,
            require_routing: match m.get("require_routing") {
                None => !pipelines.is_empty(),
                Some(Yaml::Bool(b)) => *b,
                Some(_) => return Err("'require_routing' must be true or false".into()),
            },
            pipelines,
            enable: selector("enable")?,
            disable: selector("disable")?,
        };
        if let Some(id) = manifest
            .enable
            .ids
            .iter()
            .find(|id| manifest.disable.ids.contains(id))
        {
            return Err(format!("rule {id} is in both enable.ids and disable.ids"));
        }
        Ok(manifest)
    }
}

/// A pack read from disk: its manifest, its rules (already transformed by its pipelines and
/// filtered by enable/disable), and what reading them found.
#[derive(Debug, Clone)]
pub struct Pack {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub pipelines: PipelineSet,
    /// The rules, ready to compile.
    pub sources: Vec<RuleSource>,
    /// Problems found before compiling (unreadable files, rules the pipelines refused).
    pub report: LoadReport,
    /// Rules left out by `enable` / `disable`.
    pub disabled: usize,
    /// The ids and `name`s of the rules left out (so a correlation referring to one is
    /// reported with the reason).
    pub disabled_rules: Vec<String>,
}

impl Pack {
    /// Read the pack in `dir`.
    pub fn load(dir: &Path) -> Result<Pack, PackError> {
        let manifest_path = dir.join("pack.yml");
        let shown = manifest_path.display().to_string();
        let text_ = std::fs::read_to_string(&manifest_path).map_err(|e| PackError::Manifest {
            path: shown.clone(),
            reason: format!("cannot read the pack manifest: {e}"),
        })?;
        let manifest = Manifest::parse(&text_).map_err(|reason| PackError::Manifest {
            path: shown.clone(),
            reason,
        })?;
        let mut pipelines = Vec::new();
        for name in &manifest.pipelines {
            let p = if name.ends_with(".yml") || name.ends_with(".yaml") {
                let path = dir.join(name);
                let text_ = std::fs::read_to_string(&path).map_err(|e| PackError::Manifest {
                    path: shown.clone(),
                    reason: format!("pipeline {}: {e}", path.display()),
                })?;
                Pipeline::from_yaml(name, &text_)
            } else {
                crate::pipeline::shipped(name)
            };
            pipelines.push(p.map_err(|source| PackError::Pipeline {
                path: shown.clone(),
                source,
            })?);
        }
        let pipelines = PipelineSet::new(pipelines).require_routing(manifest.require_routing);
        let folders = if manifest.rules.is_empty() {
            vec![".".to_owned()]
        } else {
            manifest.rules.clone()
        };
        let mut raw = Vec::new();
        let mut report = LoadReport::default();
        for f in &folders {
            let (more, r) = read_rule_dir(&dir.join(f))?;
            // The manifest (and pipeline files) are not rules.
            raw.extend(
                more.into_iter()
                    .filter(|s| !is_pack_file(dir, &manifest, &s.path)),
            );
            report.merge(r);
        }
        let mut disabled = 0;
        let mut disabled_rules = Vec::new();
        let sources = rewrite_sources(raw, &mut report, |_, doc| {
            if !select::enabled(&manifest.enable, &manifest.disable, doc) {
                disabled += 1;
                for key in ["id", "name"] {
                    if let Some(Yaml::String(v)) = doc.get(key) {
                        disabled_rules.push(v.trim().to_owned());
                    }
                }
                return Ok(DocAction::Drop);
            }
            // A correlation has no logsource and reads the fields its rules' events carry:
            // pipelines, which route and rename for detections, leave it as written.
            if doc.contains_key("correlation") {
                return Ok(DocAction::Keep(false));
            }
            pipelines.apply(doc).map(DocAction::Keep)
        });
        Ok(Pack {
            dir: dir.to_owned(),
            manifest,
            pipelines,
            sources,
            report,
            disabled,
            disabled_rules,
        })
    }
}

fn is_pack_file(dir: &Path, manifest: &Manifest, path: &str) -> bool {
    let p = Path::new(path);
    p == dir.join("pack.yml")
        || manifest
            .pipelines
            .iter()
            .any(|name| p == dir.join(name).as_path())
}

/// Where a node's rules come from.
#[derive(Debug, Clone, Default)]
pub struct RuleSetConfig {
    /// Load the built-in pack.
    pub builtin: bool,
    /// Plain rule directories (no manifest), compiled as written.
    pub dirs: Vec<PathBuf>,
    /// Pack directories (each with a `pack.yml`).
    pub packs: Vec<PathBuf>,
    /// Overlay files.
    pub overlays: Vec<PathBuf>,
    /// Values for `expand` placeholders.
    pub placeholders: Placeholders,
}

/// A pack as loaded, for reports and the API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackSummary {
    pub name: String,
    pub version: Option<String>,
    pub path: String,
    pub pipelines: Vec<String>,
    /// Rules left out by the manifest's enable/disable.
    pub disabled: usize,
}

/// What loading a [`RuleSet`] found.
#[derive(Debug, Clone, Default)]
pub struct RuleSetReport {
    /// Rules seen, compiled, and why the others were skipped.
    pub load: LoadReport,
    pub packs: Vec<PackSummary>,
    /// Overlays loaded (file paths).
    pub overlays: Vec<String>,
    /// Things worth a warning that are not errors: expired exceptions, overlay entries naming
    /// no loaded rule.
    pub notes: Vec<String>,
    /// Correlation rules loaded.
    pub correlations: usize,
    /// Correlation documents that did not load (also in `load.errors`): broken, or referring
    /// to a rule that is not loaded. A reload refuses a set with any.
    pub correlation_errors: Vec<RuleError>,
}

/// An exception, compiled: its place in the exceptions engine is its index.
#[derive(Debug, Clone)]
struct ExceptionRef {
    overlay: usize,
    exception: Exception,
}

/// The rules a node runs: one compiled [`Engine`] plus the overlays. Immutable; build a new one
/// to reload, and swap it in between batches.
#[derive(Debug)]
pub struct RuleSet {
    engine: Engine,
    /// The correlation rules, in dependency order; shared with the correlation stage, which
    /// notices a new set by the pointer.
    correlations: std::sync::Arc<[ResolvedCorrelation]>,
    overlays: Vec<Overlay>,
    exceptions: Engine,
    exception_refs: Vec<ExceptionRef>,
    regions: RegionTree,
    /// The sources holding anomaly detector documents (`anomaly:` at the top level), after
    /// pack pipelines, for the `onewall-anomaly` crate to compile with `placeholders`.
    anomaly_sources: std::sync::Arc<[RuleSource]>,
    placeholders: Placeholders,
}

/// Read and check the overlay files: each must parse and name a region of the tree.
fn load_overlays(
    paths: &[PathBuf],
    regions: &RegionTree,
    report: &mut RuleSetReport,
) -> Result<Vec<Overlay>, PackError> {
    let mut overlays = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let text_ = std::fs::read_to_string(path).map_err(|e| PackError::Overlay {
            path: shown.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        let o = Overlay::parse(&shown, &text_).map_err(|reason| PackError::Overlay {
            path: shown.clone(),
            reason,
        })?;
        if !regions.contains(o.region) {
            return Err(PackError::Overlay {
                path: shown,
                reason: format!("region {} is not in the region tree", o.region),
            });
        }
        report.overlays.push(shown);
        overlays.push(o);
    }
    Ok(overlays)
}

/// The `n`-th exception as a one-selection rule document (from the overlay at `path`).
fn exception_source(path: &str, e: &Exception, n: usize) -> RuleSource {
    let mut doc = Mapping::new();
    doc.insert("title".into(), "exception".into());
    doc.insert("id".into(), format!("exception-{n}").into());
    let mut det = Mapping::new();
    det.insert("match".into(), Yaml::Mapping(e.selection.clone()));
    det.insert("condition".into(), "match".into());
    doc.insert("detection".into(), Yaml::Mapping(det));
    let text_ = serde_norway::to_string(&Yaml::Mapping(doc)).unwrap_or_default();
    RuleSource::new(path.to_owned(), text_)
}

/// The sources that may hold anomaly detector documents. Pipelines add no top-level key, so
/// the text as read tells which may hold one; the detectors' compiler reads the text, written
/// now from the transformed documents (a document that cannot be written is reported).
fn anomaly_sources(sources: &[RuleSource], report: &mut LoadReport) -> Vec<RuleSource> {
    let mut out: Vec<RuleSource> = sources
        .iter()
        .filter(|s| s.may_hold_anomaly())
        .cloned()
        .collect();
    for s in &mut out {
        for reason in s.write_text() {
            report.total += 1;
            report.errors.push(RuleError::new(&s.path, None, reason));
        }
    }
    out
}

impl RuleSet {
    /// Load everything `cfg` names. Fails when a pack manifest, a pipeline, an overlay or a
    /// directory cannot be used (so a reload keeps the rules in use); a rule that does not
    /// compile is reported and skipped.
    pub fn load(
        cfg: &RuleSetConfig,
        regions: &RegionTree,
        now: Timestamp,
    ) -> Result<(RuleSet, RuleSetReport), PackError> {
        let mut report = RuleSetReport::default();
        let mut sources = if cfg.builtin {
            crate::builtin_sources()
        } else {
            Vec::new()
        };
        let mut pre = LoadReport::default();
        // Why a rule a correlation may name is not loaded: id or name → reason.
        let mut unavailable: HashMap<String, String> = HashMap::new();
        for dir in &cfg.dirs {
            let (more, r) = read_rule_dir(dir)?;
            sources.extend(more);
            pre.merge(r);
        }
        for dir in &cfg.packs {
            let pack = Pack::load(dir)?;
            report.packs.push(PackSummary {
                name: pack.manifest.name.clone(),
                version: pack.manifest.version.clone(),
                path: dir.display().to_string(),
                pipelines: pack
                    .pipelines
                    .names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                disabled: pack.disabled,
            });
            for r in &pack.disabled_rules {
                unavailable.insert(
                    r.clone(),
                    format!("the manifest of pack '{}' disables it", pack.manifest.name),
                );
            }
            sources.extend(pack.sources);
            pre.merge(pack.report);
        }
        let overlays = load_overlays(&cfg.overlays, regions, &mut report)?;
        let anomaly_sources = anomaly_sources(&sources, &mut pre);
        // Correlations and detection rules are read from the same documents: parse each
        // source once (those a pack transformed are parsed already).
        for s in &mut sources {
            s.parse_once();
        }
        let (correlation_set, mut correlation_load) = load_correlations(&sources);
        let (engine, mut load) = Engine::compile_with(sources, &cfg.placeholders);
        load.merge(pre);
        for e in &load.errors {
            if let Some(id) = &e.rule_id {
                unavailable.insert(id.clone(), format!("it did not compile ({})", e.reason));
            }
        }
        let (correlations, unresolved) = correlation_set.resolve_with(engine.rules(), &unavailable);
        correlation_load.compiled -= unresolved.len().min(correlation_load.compiled);
        correlation_load.errors.extend(unresolved);
        report.correlations = correlations.len();
        report.correlation_errors = correlation_load.errors.clone();
        load.merge(correlation_load);
        report.load = load;
        let correlation_ids: Vec<&str> = correlations.iter().map(|c| c.rule.id.as_str()).collect();
        let loaded = |id: &str| engine.rule(id).is_some() || correlation_ids.contains(&id);

        // Exceptions: each is a one-selection rule in its own small engine.
        let mut exception_refs = Vec::new();
        let mut exception_docs = Vec::new();
        for (oi, o) in overlays.iter().enumerate() {
            for name in o.disabled.iter().chain(o.levels.iter().map(|(id, _)| id)) {
                if !loaded(name) {
                    report
                        .notes
                        .push(format!("{}: rule {name} is not loaded", o.path));
                }
            }
            for e in &o.exceptions {
                if engine.rule(&e.rule).is_none() {
                    report
                        .notes
                        .push(if correlation_ids.contains(&e.rule.as_str()) {
                            format!(
                                "{}: exception for correlation {}: exceptions match events, so \
                             they apply to detection rules only (disable it or set its level)",
                                o.path, e.rule
                            )
                        } else {
                            format!(
                                "{}: exception for rule {}, which is not loaded",
                                o.path, e.rule
                            )
                        });
                }
                if e.expired(now) {
                    report.notes.push(format!(
                        "{}: exception for rule {} by {} ({}) expired on {}; it no longer applies",
                        o.path, e.rule, e.author, e.reason, e.expires
                    ));
                }
                exception_docs.push(exception_source(&o.path, e, exception_refs.len()));
                exception_refs.push(ExceptionRef {
                    overlay: oi,
                    exception: e.clone(),
                });
            }
        }
        let (exceptions, exc_report) = Engine::compile_with(exception_docs, &cfg.placeholders);
        if let Some(bad) = exc_report.errors.first() {
            return Err(PackError::Overlay {
                path: bad.path.clone(),
                reason: format!("an exception's 'match' does not compile: {}", bad.reason),
            });
        }
        let correlations = correlations.into();
        let set = RuleSet {
            engine,
            correlations,
            overlays,
            exceptions,
            exception_refs,
            regions: regions.clone(),
            anomaly_sources: anomaly_sources.into(),
            placeholders: cfg.placeholders.clone(),
        };
        Ok((set, report))
    }

    /// The compiled rules.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The correlation rules, in dependency order.
    pub fn correlations(&self) -> &std::sync::Arc<[ResolvedCorrelation]> {
        &self.correlations
    }

    /// The sources that may hold anomaly detector documents (after pack pipelines), and the
    /// placeholders their selections compile with.
    pub fn anomaly_sources(&self) -> (&std::sync::Arc<[RuleSource]>, &Placeholders) {
        (&self.anomaly_sources, &self.placeholders)
    }

    /// A set of these rules and correlations, no overlays.
    pub fn with_correlations(engine: Engine, correlations: Vec<ResolvedCorrelation>) -> RuleSet {
        RuleSet {
            correlations: correlations.into(),
            ..RuleSet::from_engine(engine)
        }
    }

    /// Apply the overlays' `disable` and `level` to correlation alerts (made after
    /// [`RuleSet::match_batch`], from other alerts), by each alert's region. Exceptions match
    /// events, so they do not apply here.
    pub fn apply_overlays(&self, alerts: &mut Vec<Alert>) {
        if self.overlays.is_empty() {
            return;
        }
        alerts.retain_mut(|alert| {
            let mut keep = true;
            for o in &self.overlays {
                if !self.regions.is_within(alert.region, o.region) {
                    continue;
                }
                if o.disabled.contains(&alert.rule.id) {
                    keep = false;
                }
                if let Some((_, sev)) = o.levels.iter().find(|(id, _)| *id == alert.rule.id) {
                    alert.severity = *sev;
                }
            }
            keep
        });
    }

    /// An empty set: no rules, no overlays.
    pub fn empty() -> RuleSet {
        RuleSet::from_engine(Engine::compile(Vec::new()).0)
    }

    /// A set of these rules and no overlays.
    pub fn from_engine(engine: Engine) -> RuleSet {
        RuleSet {
            engine,
            correlations: Vec::new().into(),
            overlays: Vec::new(),
            exceptions: Engine::compile(Vec::new()).0,
            exception_refs: Vec::new(),
            regions: RegionTree::builtin(),
            anomaly_sources: Vec::new().into(),
            placeholders: Placeholders::new(),
        }
    }

    /// Match a batch as [`Engine::match_batch`] does, then apply the overlays of each event's
    /// region: drop the alerts of disabled rules and of exceptions in force at `now`, and set
    /// the severity an overlay gives.
    pub fn match_batch(&self, events: &[Event], now: Timestamp, out: &mut Vec<Alert>) {
        let start = out.len();
        self.engine.match_batch(events, now, out);
        if self.overlays.is_empty() || out.len() == start {
            return;
        }
        let by_id: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
        let mut exception_hits: HashMap<EventId, Vec<usize>> = HashMap::new();
        let tail = out.split_off(start);
        for mut alert in tail {
            let Some(event) = alert.event_ids.first().and_then(|id| by_id.get(id)) else {
                out.push(alert);
                continue;
            };
            let mut keep = true;
            for o in &self.overlays {
                if !self.regions.is_within(event.region, o.region) {
                    continue;
                }
                if o.disabled.contains(&alert.rule.id) {
                    keep = false;
                }
                if let Some((_, sev)) = o.levels.iter().find(|(id, _)| *id == alert.rule.id) {
                    alert.severity = *sev;
                }
            }
            if keep && !self.exception_refs.is_empty() {
                let hits = exception_hits.entry(event.id).or_insert_with(|| {
                    self.exceptions
                        .matching_rules(event)
                        .iter()
                        .filter_map(|id| id.strip_prefix("exception-")?.parse().ok())
                        .collect()
                });
                keep = !hits.iter().any(|&i| {
                    let r = &self.exception_refs[i];
                    r.exception.rule == alert.rule.id
                        && !r.exception.expired(now)
                        && self
                            .regions
                            .is_within(event.region, self.overlays[r.overlay].region)
                });
            }
            if keep {
                out.push(alert);
            }
        }
    }
}

impl RuleSetReport {
    /// The report as plain data, for the API and logs.
    pub fn summary(&self) -> ReloadSummary {
        ReloadSummary {
            compiled: self.load.compiled,
            total: self.load.total,
            errors: self.load.errors.iter().map(|e| e.to_string()).collect(),
            packs: self.packs.clone(),
            overlays: self.overlays.clone(),
            notes: self.notes.clone(),
            correlations: self.correlations,
        }
    }
}

/// A load report as plain data (`POST /api/v1/rules/reload` answers with it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReloadSummary {
    pub compiled: usize,
    pub total: usize,
    /// Rules skipped, each `path: id: reason`.
    pub errors: Vec<String>,
    pub packs: Vec<PackSummary>,
    pub overlays: Vec<String>,
    pub notes: Vec<String>,
    /// Correlation rules loaded (counted in `compiled` too).
    pub correlations: usize,
}

/// The rule set in use, shared between the detect stage and whoever reloads it. The detect
/// stage takes [`RuleSetHandle::current`] once per batch, so a reload takes effect between
/// batches: no event is matched twice or dropped.
#[derive(Debug, Clone)]
pub struct RuleSetHandle(std::sync::Arc<std::sync::RwLock<std::sync::Arc<RuleSet>>>);

impl RuleSetHandle {
    pub fn new(set: RuleSet) -> RuleSetHandle {
        RuleSetHandle(std::sync::Arc::new(std::sync::RwLock::new(
            std::sync::Arc::new(set),
        )))
    }

    /// The set in use now.
    pub fn current(&self) -> std::sync::Arc<RuleSet> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Put `set` in use; batches already started finish with the old one.
    pub fn replace(&self, set: RuleSet) {
        let set = std::sync::Arc::new(set);
        match self.0.write() {
            Ok(mut g) => *g = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }
}
