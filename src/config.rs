//! The node's configuration: one TOML file, typed, strict, `version = 1` at the top.
//!
//! Every mistake is reported at once, one line each, as `section.key: reason`. A missing file
//! section means its defaults; `onewall serve` with no file runs on defaults alone.

use std::path::PathBuf;

use onewall_ingest::config::{Listeners, PipelineConfig};
use onewall_model::config::ConfigError;
use onewall_model::{Region, RegionCode, RegionLevel, RegionTree};
use onewall_playbooks::config::PlaybooksConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use onewall_federation::config as federation;
pub mod anomaly;
pub mod assets;
#[cfg(test)]
mod tests;

// Each section is defined and checked by the crate that uses it; this file composes them.
// `access` is the old name of the `[auth]`/`[sla]` module, kept for the node's wiring.
pub use onewall_api::config as access;
pub use onewall_api::config::{AuthConfig, SlaConfig};
pub use onewall_correlate::config::CorrelateConfig;
pub use onewall_ingest::config::{
    FlowConfig, FlowResolved, HttpConfig, SpoolConfig, SyslogConfig, SyslogTlsConfig,
};
pub use onewall_model::config::parse_offset;
pub use onewall_playbooks::config::PlaybooksResolved;
pub use onewall_store::config::ClickHouseConfig;

/// `[store]`, with ingest's `[store.spool]` in it.
pub type StoreConfig = onewall_store::config::StoreConfig<SpoolConfig>;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Format version of this file; must be 1.
    pub version: u32,
    pub node: NodeConfig,
    /// Regions this node knows beyond the built-in province and cities (its counties).
    pub regions: Vec<RegionConfig>,
    pub syslog: SyslogConfig,
    pub http: HttpConfig,
    /// NetFlow/IPFIX and sFlow collectors.
    pub flow: FlowConfig,
    pub rules: RulesConfig,
    pub correlate: CorrelateConfig,
    pub store: StoreConfig,
    pub pipeline: PipelineConfig,
    /// Who may call the API, what is masked, whether /metrics is open.
    pub auth: AuthConfig,
    /// Incident SLA clocks per grade.
    pub sla: SlaConfig,
    /// Response playbooks, their deliveries and the daily report.
    pub playbooks: PlaybooksConfig,
    /// The parent node this one pushes to, and the children it expects.
    pub federation: federation::FederationConfig,
    /// The console's live stream (`GET /api/v1/stream`).
    pub stream: onewall_api::stream::StreamConfig,
    /// The API's bounds: hunting through uploaded files (`POST /api/v1/hunt`).
    pub api: onewall_api::hunt::ApiConfig,
    /// Threat intelligence: feeds, matched fields, folding, retro-hunts, geo-IP. Checked by
    /// `onewall_intel`; not written back (the example file's test compares it on its own).
    #[serde(skip_serializing)]
    pub intel: onewall_intel::IntelConfig,
    /// Anomaly detection: the detectors' calendar, bounds and snapshots.
    pub anomaly: anomaly::AnomalySection,
    /// Assets: the registry, scan results and their deadlines, seen and silent hosts.
    pub assets: assets::AssetsSection,
    /// Supervision (监管): bulletins, 重保 periods, duty, drills, periodic reports. Checked by
    /// `onewall_supervise`.
    pub supervise: onewall_supervise::SuperviseConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// A name for this node, shown by the API and, later, to its parent.
    pub name: String,
    /// The GB/T 2260 code of the region this node watches; events default to it.
    pub region: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: "onewall".into(),
            region: "410000".into(),
        }
    }
}

/// One extra region, e.g. a county under a city.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionConfig {
    pub code: String,
    pub parent: String,
    pub name: String,
    /// `county` (the default) or `city`.
    pub level: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Load the built-in rule pack.
    pub builtin: bool,
    /// Directories of Sigma rules (YAML, searched recursively) loaded beside the built-in pack.
    pub dirs: Vec<PathBuf>,
    /// Rule packs: directories with a `pack.yml` manifest (pipelines, enable/disable).
    pub packs: Vec<PathBuf>,
    /// Per-region overlay files (disable a rule, change its level, add exceptions).
    pub overlays: Vec<PathBuf>,
    /// Values of the `expand` modifier's `%name%` placeholders: name → values.
    pub placeholders: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            builtin: true,
            dirs: Vec::new(),
            packs: Vec::new(),
            overlays: Vec::new(),
            placeholders: std::collections::BTreeMap::new(),
        }
    }
}

/// A configuration checked and turned into the values the node runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    pub region: RegionCode,
    pub regions: RegionTree,
    /// `[syslog]`, `[syslog.tls]` and `[http]`: what the listeners run with.
    pub listen: Listeners,
    /// The playbooks' settings (always present once the file checks).
    pub playbooks: Option<PlaybooksResolved>,
    /// The flow collectors.
    pub flow: FlowResolved,
    /// `[supervise]` checked.
    pub supervise: onewall_supervise::SuperviseResolved,
}

/// Every mistake found, each `section.key: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} configuration error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const SECTIONS: &[&str] = &[
    "node",
    "regions",
    "syslog",
    "http",
    "flow",
    "rules",
    "correlate",
    "store",
    "pipeline",
    "auth",
    "sla",
    "playbooks",
    "federation",
    "stream",
    "api",
    "intel",
    "anomaly",
    "assets",
    "supervise",
];

/// Read and check a configuration file's text.
pub fn parse(text: &str) -> Result<Resolved, ConfigErrors> {
    let doc: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            let at = e.span().map(|s| line_of(text, s.start)).unwrap_or_default();
            return Err(ConfigErrors(vec![format!("{at}{}", e.message().trim())]));
        }
    };
    let mut errors = Vec::new();
    match doc.get("version") {
        Some(toml::Value::Integer(1)) => {}
        Some(v) => errors.push(format!("version: expected 1, found {v}")),
        None => errors.push("version: missing; the first line must be `version = 1`".into()),
    }
    // Check each key on its own, so one mistake does not hide the next; keys in error are
    // left out, so the rest can still be checked for meaning below.
    let mut clean = toml::Table::new();
    for (key, value) in doc {
        if let Some(v) = check_section(&key, value, &mut errors) {
            clean.insert(key, v);
        }
    }
    let config = match Config::deserialize(toml::Value::Table(clean)) {
        Ok(c) => c,
        Err(e) => {
            // The per-key checks above should have caught it; report it all the same.
            errors.push(e.message().trim().to_owned());
            return Err(ConfigErrors(errors));
        }
    };
    match resolve(config) {
        Ok(r) if errors.is_empty() => Ok(r),
        Ok(_) => Err(ConfigErrors(errors)),
        Err(ConfigErrors(more)) => {
            errors.extend(more);
            Err(ConfigErrors(errors))
        }
    }
}

/// Check one top-level key of the file, each of its keys on its own; return it without the
/// keys in error (`None` when nothing of it can be used).
fn check_section(key: &str, value: toml::Value, errors: &mut Vec<String>) -> Option<toml::Value> {
    match (key, value) {
        ("version", _) => Some(toml::Value::Integer(1)),
        ("node", toml::Value::Table(t)) => check_keys::<NodeConfig>("node", t, errors),
        ("syslog", toml::Value::Table(mut t)) => {
            let tls = nested::<SyslogTlsConfig>("syslog", "tls", &mut t, errors);
            let mut kept = check_keys::<SyslogConfig>("syslog", t, errors);
            if let Some(toml::Value::Table(kept)) = &mut kept {
                kept.extend(tls.map(|c| ("tls".to_owned(), c)));
            }
            kept
        }
        ("http", toml::Value::Table(t)) => check_keys::<HttpConfig>("http", t, errors),
        ("flow", toml::Value::Table(t)) => check_keys::<FlowConfig>("flow", t, errors),
        ("rules", toml::Value::Table(t)) => check_keys::<RulesConfig>("rules", t, errors),
        ("correlate", toml::Value::Table(t)) => {
            check_keys::<CorrelateConfig>("correlate", t, errors)
        }
        ("store", toml::Value::Table(mut t)) => {
            let clickhouse = nested::<ClickHouseConfig>("store", "clickhouse", &mut t, errors);
            let spool = nested::<SpoolConfig>("store", "spool", &mut t, errors);
            let mut kept = check_keys::<StoreConfig>("store", t, errors);
            if let Some(toml::Value::Table(kept)) = &mut kept {
                kept.extend(clickhouse.map(|c| ("clickhouse".to_owned(), c)));
                kept.extend(spool.map(|c| ("spool".to_owned(), c)));
            }
            kept
        }
        ("auth", toml::Value::Table(t)) => check_keys::<AuthConfig>("auth", t, errors),
        ("sla", toml::Value::Table(t)) => check_keys::<SlaConfig>("sla", t, errors),
        ("stream", toml::Value::Table(t)) => {
            check_keys::<onewall_api::stream::StreamConfig>("stream", t, errors)
        }
        ("api", toml::Value::Table(t)) => {
            check_keys::<onewall_api::hunt::ApiConfig>("api", t, errors)
        }
        ("pipeline", toml::Value::Table(t)) => check_keys::<PipelineConfig>("pipeline", t, errors),
        ("intel", toml::Value::Table(t)) => {
            check_keys::<onewall_intel::IntelConfig>("intel", t, errors)
        }
        ("anomaly", toml::Value::Table(t)) => {
            check_keys::<anomaly::AnomalySection>("anomaly", t, errors)
        }
        ("assets", toml::Value::Table(mut t)) => {
            let days = nested::<assets::DeadlineDays>("assets", "deadline_days", &mut t, errors);
            let mut kept = check_keys::<assets::AssetsSection>("assets", t, errors);
            if let Some(toml::Value::Table(kept)) = &mut kept {
                kept.extend(days.map(|c| ("deadline_days".to_owned(), c)));
            }
            kept
        }
        ("supervise", toml::Value::Table(mut t)) => {
            use onewall_supervise::config as sc;
            let period = nested::<sc::PeriodDefaults>("supervise", "period", &mut t, errors);
            let reports = nested::<sc::ReportSchedule>("supervise", "reports", &mut t, errors);
            let score = nested::<sc::ScoreWeights>("supervise", "score", &mut t, errors);
            let mut kept = check_keys::<onewall_supervise::SuperviseConfig>("supervise", t, errors);
            if let Some(toml::Value::Table(kept)) = &mut kept {
                kept.extend(period.map(|c| ("period".to_owned(), c)));
                kept.extend(reports.map(|c| ("reports".to_owned(), c)));
                kept.extend(score.map(|c| ("score".to_owned(), c)));
            }
            kept
        }
        ("playbooks", toml::Value::Table(t)) => {
            check_keys::<PlaybooksConfig>("playbooks", t, errors)
        }
        ("federation", toml::Value::Table(t)) => {
            check_keys::<federation::FederationConfig>("federation", t, errors)
        }
        ("regions", toml::Value::Array(items)) => {
            let mut kept = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    toml::Value::Table(t) => kept.extend(check_keys::<RegionConfig>(
                        &format!("regions[{i}]"),
                        t,
                        errors,
                    )),
                    _ => errors.push(format!("regions[{i}]: expected a table ([[regions]])")),
                }
            }
            Some(toml::Value::Array(kept))
        }
        (k, _) if SECTIONS.contains(&k) => {
            let want = if k == "regions" {
                "an array of tables ([[regions]])"
            } else {
                "a table"
            };
            errors.push(format!("{k}: expected {want}"));
            None
        }
        (k, _) => {
            errors.push(format!(
                "{k}: unknown section; expected one of: version, {}",
                SECTIONS.join(", ")
            ));
            None
        }
    }
}

/// Check the meaning of a configuration (also used for the defaults). Each section is checked
/// by the crate that owns it; every mistake of every section is reported.
pub fn resolve(config: Config) -> Result<Resolved, ConfigErrors> {
    let mut errors = Vec::new();
    let regions = resolve_regions(&config.regions, &mut errors);
    let region = resolve_node(&config.node, &regions, &mut errors);
    // With the node's own region at fault (reported above), the sections that default to it
    // are checked against the province's.
    let node = region.unwrap_or(RegionCode::HENAN);
    let mut found: Vec<ConfigError> = Vec::new();
    let listeners = onewall_ingest::config::listeners(
        &config.syslog,
        &config.http,
        &config.pipeline,
        node,
        &regions,
    )
    .map_err(|e| found.extend(e))
    .ok();
    found.extend(config.pipeline.validate());
    found.extend(config.correlate.validate());
    found.extend(config.store.validate());
    found.extend(config.store.spool.validate());
    found.extend(config.auth.validate());
    found.extend(config.sla.validate());
    found.extend(config.stream.validate());
    found.extend(config.api.validate());
    found.extend(config.intel.validate());
    let flow = (config.flow.resolve(node, &regions))
        .map_err(|e| found.extend(e))
        .ok();
    let playbooks = (config.playbooks.resolve(node, &regions))
        .map_err(|e| found.extend(e))
        .ok();
    errors.extend(found.iter().map(ToString::to_string));
    let federated = federation::resolve(&config.federation, &regions, &mut errors);
    let playbooks = playbooks.map(|p| with_federation(p, federated.as_ref()));
    errors.extend(config.anomaly.validate());
    errors.extend(config.assets.validate());
    let supervise = (config.supervise.resolve())
        .map_err(|e| errors.extend(e.iter().map(ToString::to_string)))
        .ok();
    check_rules(&config.rules, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    match (region, listeners, flow, supervise) {
        (Some(region), Some(listeners), Some(flow), Some(supervise)) => Ok(Resolved {
            config,
            region,
            regions,
            listen: listeners,
            playbooks,
            flow,
            supervise,
        }),
        _ => Err(ConfigErrors(vec!["configuration is incomplete".into()])),
    }
}

/// The built-in regions and the file's `[[regions]]`.
fn resolve_regions(extra: &[RegionConfig], errors: &mut Vec<String>) -> RegionTree {
    let mut regions = RegionTree::builtin();
    for (i, r) in extra.iter().enumerate() {
        let at = format!("regions[{i}]");
        let code = r
            .code
            .parse::<RegionCode>()
            .map_err(|e| format!("{at}.code: {e}"));
        let parent = r
            .parent
            .parse::<RegionCode>()
            .map_err(|e| format!("{at}.parent: {e}"));
        let level = match r.level.as_str() {
            "" => Ok(RegionLevel::County),
            l => l
                .parse::<RegionLevel>()
                .map_err(|e| format!("{at}.level: {e}")),
        };
        if r.name.trim().is_empty() {
            errors.push(format!("{at}.name: missing"));
        }
        match (code, parent, level) {
            (Ok(code), Ok(parent), Ok(level)) => {
                let region = Region {
                    code,
                    parent: Some(parent),
                    level,
                    name: r.name.clone(),
                    name_en: None,
                };
                if let Err(e) = regions.add(region) {
                    errors.push(format!("{at}: {e}"));
                }
            }
            (c, p, l) => errors.extend([c.err(), p.err(), l.err()].into_iter().flatten()),
        }
    }
    regions
}

/// `[node]`: its name, and its region among `regions`.
fn resolve_node(
    node: &NodeConfig,
    regions: &RegionTree,
    errors: &mut Vec<String>,
) -> Option<RegionCode> {
    if node.name.trim().is_empty() {
        errors.push("node.name: must not be empty".into());
    }
    match node.region.parse::<RegionCode>() {
        Ok(c) if regions.contains(c) => Some(c),
        Ok(c) => {
            errors.push(format!(
                "node.region: {c} is not a known region; add it under [[regions]]"
            ));
            None
        }
        Err(e) => {
            errors.push(format!("node.region: {e}"));
            None
        }
    }
}

/// `[rules]`: the directories, packs and overlays exist; each placeholder has a value.
fn check_rules(rules: &RulesConfig, errors: &mut Vec<String>) {
    for (i, d) in rules.dirs.iter().enumerate() {
        if !d.is_dir() {
            errors.push(format!(
                "rules.dirs[{i}]: {} is not a directory",
                d.display()
            ));
        }
    }
    for (i, d) in rules.packs.iter().enumerate() {
        if !d.join("pack.yml").is_file() {
            errors.push(format!(
                "rules.packs[{i}]: {} is not a pack (no pack.yml in it)",
                d.display()
            ));
        }
    }
    for (i, f) in rules.overlays.iter().enumerate() {
        if !f.is_file() {
            errors.push(format!(
                "rules.overlays[{i}]: {} is not a file",
                f.display()
            ));
        }
    }
    for (name, values) in &rules.placeholders {
        if values.is_empty() {
            errors.push(format!(
                "rules.placeholders.{name}: needs at least one value"
            ));
        }
    }
}

/// Fill what `[playbooks.report]` leaves to `[federation]`: the parent the daily report goes
/// to, and the children whose reports are expected.
fn with_federation(
    mut p: PlaybooksResolved,
    fed: Option<&federation::FederationResolved>,
) -> PlaybooksResolved {
    let Some(fed) = fed else {
        return p;
    };
    if p.report_to_federation
        && let Some(parent) = &fed.parent
    {
        p.sender.report_to = Some(onewall_playbooks::EscalateSettings {
            url: format!("{}/api/v1/reports", parent.url),
            token: parent.token.clone(),
        });
    }
    if p.expect_from.is_empty() {
        p.expect_from = fed.children.clone();
    }
    p
}

/// The configuration in `file`, or the defaults without one; errors name the file.
pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Resolved> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        None => defaults().map_err(|e| anyhow::anyhow!("{e}")),
    }
}

/// The defaults `onewall serve` runs on with no file.
pub fn defaults() -> Result<Resolved, ConfigErrors> {
    resolve(Config {
        version: 1,
        ..Config::default()
    })
}

/// Take the sub-table `key` out of `table` (`[section.key]`) and check its keys on their own.
fn nested<T: DeserializeOwned>(
    section: &str,
    key: &str,
    table: &mut toml::Table,
    errors: &mut Vec<String>,
) -> Option<toml::Value> {
    match table.remove(key)? {
        toml::Value::Table(t) => check_keys::<T>(&format!("{section}.{key}"), t, errors),
        _ => {
            errors.push(format!(
                "{section}.{key}: expected a table ([{section}.{key}])"
            ));
            None
        }
    }
}

/// Check every key of a section on its own; return the section without the keys in error.
fn check_keys<T: DeserializeOwned>(
    section: &str,
    table: toml::Table,
    errors: &mut Vec<String>,
) -> Option<toml::Value> {
    let mut kept = toml::Table::new();
    for (key, value) in table {
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        if let Err(e) = T::deserialize(toml::Value::Table(one)) {
            let msg = e.message().trim().to_owned();
            let msg = match msg.strip_prefix(&format!("unknown field `{key}`, ")) {
                Some(rest) => format!("unknown key; {}", rest.replace('`', "")),
                None => msg,
            };
            errors.push(format!("{section}.{key}: {msg}"));
        } else {
            kept.insert(key, value);
        }
    }
    Some(toml::Value::Table(kept))
}

fn line_of(text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    format!("line {line}: ")
}
