//! The node's configuration: one TOML file, typed, strict, `version = 1` at the top.
//!
//! Every mistake is reported at once, one line each, as `section.key: reason`. A missing file
//! section means its defaults; `onewall serve` with no file runs on defaults alone.

use std::net::SocketAddr;
use std::path::PathBuf;

use onewall_ingest::listen::{SourceTags, TlsSettings};
use onewall_ingest::parse::{BodyFormat, Charset};
use onewall_model::{Region, RegionCode, RegionLevel, RegionTree};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod access;
mod correlate;
pub use onewall_federation::config as federation;
mod flow;
mod listen;
mod playbooks;
mod store;
pub use access::{AuthConfig, SlaConfig};
pub use correlate::CorrelateConfig;
pub use flow::{FlowConfig, FlowResolved};
use listen::tls_settings;
pub use listen::{HttpConfig, SyslogConfig, SyslogTlsConfig};
pub use playbooks::PlaybooksResolved;
pub use store::{ClickHouseConfig, SpoolConfig, StoreConfig};

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
    pub playbooks: playbooks::PlaybooksConfig,
    /// The parent node this one pushes to, and the children it expects.
    pub federation: federation::FederationConfig,
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Events per batch from a listener.
    pub batch_size: usize,
    /// Milliseconds a listener waits to fill a batch before sending it anyway.
    pub batch_linger_ms: u64,
    /// Batches each stage's queue holds before it pushes back.
    pub queue_batches: usize,
    /// Most fields one syslog or HTTP record is parsed into; its keys past this stay in the
    /// raw text only, and the event says how many in `event.fields_truncated`.
    pub max_fields_per_event: usize,
    /// Seconds a record's own time may lie ahead of its receive time; a record further ahead
    /// is stored at its receive time and flagged like one older than the retention window.
    pub max_future_skew_secs: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_size: 512,
            batch_linger_ms: 50,
            queue_batches: 64,
            max_fields_per_event: onewall_ingest::parse::DEFAULT_MAX_FIELDS_PER_EVENT,
            max_future_skew_secs: 86_400,
        }
    }
}

/// A configuration checked and turned into the values the node runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    pub region: RegionCode,
    pub regions: RegionTree,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub http: SocketAddr,
    /// The syslog TLS listen address, when certificates are configured.
    pub syslog_tls: Option<SocketAddr>,
    /// The syslog TLS certificates, when configured.
    pub tls: Option<TlsSettings>,
    /// Region and tags of the syslog listeners.
    pub syslog_source: SourceSettings,
    /// Region, zone and tags of the HTTP collectors.
    pub http_source: SourceSettings,
    /// The playbooks' settings (always present once the file checks).
    pub playbooks: Option<PlaybooksResolved>,
    /// The flow collectors.
    pub flow: FlowResolved,
}

/// What a collector stamps on its records.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    pub region: RegionCode,
    pub timezone: time::UtcOffset,
    pub tags: SourceTags,
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
        let kept = match (key.as_str(), value) {
            ("version", _) => Some(toml::Value::Integer(1)),
            ("node", toml::Value::Table(t)) => check_keys::<NodeConfig>("node", t, &mut errors),
            ("syslog", toml::Value::Table(mut t)) => {
                let tls = match t.remove("tls") {
                    Some(toml::Value::Table(tls)) => {
                        check_keys::<SyslogTlsConfig>("syslog.tls", tls, &mut errors)
                    }
                    Some(_) => {
                        errors.push("syslog.tls: expected a table ([syslog.tls])".into());
                        None
                    }
                    None => None,
                };
                let mut kept = check_keys::<SyslogConfig>("syslog", t, &mut errors);
                if let (Some(toml::Value::Table(kept)), Some(tls)) = (&mut kept, tls) {
                    kept.insert("tls".into(), tls);
                }
                kept
            }
            ("http", toml::Value::Table(t)) => check_keys::<HttpConfig>("http", t, &mut errors),
            ("flow", toml::Value::Table(t)) => check_keys::<FlowConfig>("flow", t, &mut errors),
            ("rules", toml::Value::Table(t)) => check_keys::<RulesConfig>("rules", t, &mut errors),
            ("correlate", toml::Value::Table(t)) => {
                check_keys::<CorrelateConfig>("correlate", t, &mut errors)
            }
            ("store", toml::Value::Table(mut t)) => {
                let clickhouse =
                    nested::<ClickHouseConfig>("store", "clickhouse", &mut t, &mut errors);
                let spool = nested::<SpoolConfig>("store", "spool", &mut t, &mut errors);
                let mut kept = check_keys::<StoreConfig>("store", t, &mut errors);
                if let Some(toml::Value::Table(kept)) = &mut kept {
                    kept.extend(clickhouse.map(|c| ("clickhouse".to_owned(), c)));
                    kept.extend(spool.map(|c| ("spool".to_owned(), c)));
                }
                kept
            }
            ("auth", toml::Value::Table(t)) => check_keys::<AuthConfig>("auth", t, &mut errors),
            ("sla", toml::Value::Table(t)) => check_keys::<SlaConfig>("sla", t, &mut errors),
            ("pipeline", toml::Value::Table(t)) => {
                check_keys::<PipelineConfig>("pipeline", t, &mut errors)
            }
            ("playbooks", toml::Value::Table(t)) => {
                check_keys::<playbooks::PlaybooksConfig>("playbooks", t, &mut errors)
            }
            ("federation", toml::Value::Table(t)) => {
                check_keys::<federation::FederationConfig>("federation", t, &mut errors)
            }
            ("regions", toml::Value::Array(items)) => {
                let mut kept = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        toml::Value::Table(t) => kept.extend(check_keys::<RegionConfig>(
                            &format!("regions[{i}]"),
                            t,
                            &mut errors,
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
        };
        if let Some(v) = kept {
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

/// Check the semantics of a configuration (also used for the defaults).
pub fn resolve(config: Config) -> Result<Resolved, ConfigErrors> {
    let mut errors = Vec::new();
    let mut regions = RegionTree::builtin();
    for (i, r) in config.regions.iter().enumerate() {
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
    let region = match config.node.region.parse::<RegionCode>() {
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
    };
    if config.node.name.trim().is_empty() {
        errors.push("node.name: must not be empty".into());
    }
    let mut addr = |key: &str, v: &str, optional: bool| -> Option<SocketAddr> {
        if v.is_empty() && optional {
            return None;
        }
        match v.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(format!("{key}: {v:?} is not an address like 0.0.0.0:5514"));
                None
            }
        }
    };
    let syslog_udp = addr("syslog.udp", &config.syslog.udp, true);
    let syslog_tcp = addr("syslog.tcp", &config.syslog.tcp, true);
    let http = addr("http.listen", &config.http.listen, false);
    let tls_cfg = &config.syslog.tls;
    let tls_wanted = !tls_cfg.cert.as_os_str().is_empty() || !tls_cfg.key.as_os_str().is_empty();
    let syslog_tls = if tls_wanted {
        addr("syslog.tls.listen", &tls_cfg.listen, true)
    } else {
        None
    };
    let tls = if tls_wanted {
        tls_settings(tls_cfg, &mut errors)
    } else {
        None
    };
    let timezone = offset("syslog.timezone", &config.syslog.timezone, &mut errors);
    let http_timezone = offset("http.timezone", &config.http.timezone, &mut errors);
    let mut syslog_tags = source_tags(
        "syslog",
        &config.syslog.department,
        &config.syslog.charset,
        &config.syslog.format,
        &mut errors,
    );
    let mut http_tags = source_tags(
        "http",
        &config.http.department,
        &config.http.charset,
        &config.http.format,
        &mut errors,
    );
    syslog_tags.max_fields_per_event = config.pipeline.max_fields_per_event;
    http_tags.max_fields_per_event = config.pipeline.max_fields_per_event;
    let syslog_region = source_region(
        "syslog.region",
        &config.syslog.region,
        region,
        &regions,
        &mut errors,
    );
    let http_region = source_region(
        "http.region",
        &config.http.region,
        region,
        &regions,
        &mut errors,
    );
    for (key, tokens) in [
        ("http.ingest_tokens", &config.http.ingest_tokens),
        ("http.bulk_tokens", &config.http.bulk_tokens),
        ("http.hec_tokens", &config.http.hec_tokens),
    ] {
        for (i, t) in tokens.iter().enumerate() {
            if t.trim().is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errors.push(format!(
                    "{key}[{i}]: a token must be non-empty with no spaces"
                ));
            }
        }
    }
    let positive = [
        ("syslog.max_frame_bytes", config.syslog.max_frame_bytes),
        ("syslog.max_connections", config.syslog.max_connections),
        (
            "syslog.udp_recv_buffer_bytes",
            config.syslog.udp_recv_buffer_bytes,
        ),
        ("http.max_body_bytes", config.http.max_body_bytes),
        (
            "syslog.max_connections_per_peer",
            config.syslog.max_connections_per_peer,
        ),
        ("http.max_connections", config.http.max_connections),
        (
            "http.max_connections_per_peer",
            config.http.max_connections_per_peer,
        ),
        (
            "http.header_timeout_secs",
            config.http.header_timeout_secs as usize,
        ),
        (
            "http.body_timeout_secs",
            config.http.body_timeout_secs as usize,
        ),
        (
            "http.idle_timeout_secs",
            config.http.idle_timeout_secs as usize,
        ),
        ("pipeline.batch_size", config.pipeline.batch_size),
        ("pipeline.queue_batches", config.pipeline.queue_batches),
        (
            "pipeline.max_fields_per_event",
            config.pipeline.max_fields_per_event,
        ),
    ];
    require_positive(positive.map(|(k, v)| (k, v as u64)), &mut errors);
    correlate::check(&config.correlate, &mut errors);
    store::check(&config.store, &mut errors);
    access::check(&config.auth, &config.sla, &mut errors);
    let flow = flow::resolve(&config.flow, region, &regions, &mut errors);
    let playbooks = playbooks::resolve(&config.playbooks, region, &regions, &mut errors);
    let federated = federation::resolve(&config.federation, &regions, &mut errors);
    let playbooks = playbooks.map(|p| playbooks::with_federation(p, federated.as_ref()));
    for (i, d) in config.rules.dirs.iter().enumerate() {
        if !d.is_dir() {
            errors.push(format!(
                "rules.dirs[{i}]: {} is not a directory",
                d.display()
            ));
        }
    }
    for (i, d) in config.rules.packs.iter().enumerate() {
        if !d.join("pack.yml").is_file() {
            errors.push(format!(
                "rules.packs[{i}]: {} is not a pack (no pack.yml in it)",
                d.display()
            ));
        }
    }
    for (i, f) in config.rules.overlays.iter().enumerate() {
        if !f.is_file() {
            errors.push(format!(
                "rules.overlays[{i}]: {} is not a file",
                f.display()
            ));
        }
    }
    for (name, values) in &config.rules.placeholders {
        if values.is_empty() {
            errors.push(format!(
                "rules.placeholders.{name}: needs at least one value"
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    match (
        region,
        http,
        timezone,
        http_timezone,
        syslog_region,
        http_region,
    ) {
        (
            Some(region),
            Some(http),
            Some(timezone),
            Some(http_timezone),
            Some(syslog_region),
            Some(http_region),
        ) => Ok(Resolved {
            config,
            region,
            regions,
            syslog_udp,
            syslog_tcp,
            http,
            syslog_tls,
            tls,
            syslog_source: SourceSettings {
                region: syslog_region,
                timezone,
                tags: syslog_tags,
            },
            http_source: SourceSettings {
                region: http_region,
                timezone: http_timezone,
                tags: http_tags,
            },
            playbooks,
            flow,
        }),
        _ => Err(ConfigErrors(vec!["configuration is incomplete".into()])),
    }
}

fn offset(key: &str, v: &str, errors: &mut Vec<String>) -> Option<time::UtcOffset> {
    let parsed = parse_offset(v);
    if parsed.is_none() {
        errors.push(format!("{key}: {v:?} is not a UTC offset like +08:00"));
    }
    parsed
}

fn source_tags(
    section: &str,
    department: &str,
    charset: &str,
    format: &str,
    errors: &mut Vec<String>,
) -> SourceTags {
    let charset = charset.trim().parse::<Charset>().unwrap_or_else(|e| {
        errors.push(format!("{section}.charset: {e}"));
        Charset::default()
    });
    let format = format.trim();
    let format_hint = if format.eq_ignore_ascii_case("auto") {
        None
    } else {
        format
            .parse::<BodyFormat>()
            .map_err(|e| errors.push(format!("{section}.format: {e}, or auto")))
            .ok()
    };
    let department = department.trim();
    SourceTags {
        department: (!department.is_empty()).then(|| department.into()),
        charset,
        format_hint,
        ..SourceTags::default()
    }
}

fn source_region(
    key: &str,
    v: &str,
    node: Option<RegionCode>,
    regions: &RegionTree,
    errors: &mut Vec<String>,
) -> Option<RegionCode> {
    if v.trim().is_empty() {
        return node;
    }
    match v.trim().parse::<RegionCode>() {
        Ok(c) if regions.contains(c) => Some(c),
        Ok(c) => {
            errors.push(format!(
                "{key}: {c} is not a known region; add it under [[regions]]"
            ));
            None
        }
        Err(e) => {
            errors.push(format!("{key}: {e}"));
            None
        }
    }
}

/// `KEY: must be greater than 0` for each `(KEY, value)` that is 0.
pub(crate) fn require_positive<'a>(
    values: impl IntoIterator<Item = (&'a str, u64)>,
    errors: &mut Vec<String>,
) {
    for (key, v) in values {
        if v == 0 {
            errors.push(format!("{key}: must be greater than 0"));
        }
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

pub fn parse_offset(s: &str) -> Option<time::UtcOffset> {
    let s = s.trim();
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return Some(time::UtcOffset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1i8, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve() {
        let r = defaults().unwrap();
        assert_eq!(r.region.to_string(), "410000");
        assert_eq!(r.http.port(), 8080);
        assert_eq!(r.syslog_udp.map(|a| a.port()), Some(5514));
        assert_eq!(r.syslog_tcp.map(|a| a.port()), Some(5514));
        assert_eq!(
            r.syslog_source.timezone,
            time::UtcOffset::from_hms(8, 0, 0).unwrap()
        );
        assert_eq!(r.syslog_tls, None);
        assert_eq!(r.syslog_source.region, r.region);
        assert_eq!(r.syslog_source.tags, SourceTags::default());
        assert_eq!(r.config.store.path, PathBuf::from("./onewall-data"));
    }

    #[test]
    fn example_file_is_the_defaults() {
        let r = parse(include_str!("../onewall.example.toml")).unwrap();
        let d = defaults().unwrap();
        assert_eq!(
            toml::to_string(&r.config).unwrap(),
            toml::to_string(&d.config).unwrap(),
            "onewall.example.toml must show the defaults"
        );
    }

    #[test]
    fn minimal_file_is_version_only() {
        let r = parse("version = 1\n").unwrap();
        assert!(r.config.rules.builtin);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = r#"
version = 1
[node]
region = "999999"
[syslog]
udpp = "0.0.0.0:514"
timezone = "Asia/Shanghai"
max_connections = "many"
[http]
listen = "localhost"
[store]
retention_days = -1
[[regions]]
code = "410102"
parent = "410100"
name = "中原区"
[[regions]]
code = "410999"
parent = "419999"
name = "x"
[alerting]
x = 1
"#;
        let e = parse(text).unwrap_err().0;
        let want = [
            "syslog.udpp: unknown key; expected one of udp, tcp, timezone, max_frame_bytes, max_connections",
            "syslog.max_connections: invalid type: string \"many\", expected usize",
            "store.retention_days: invalid value: integer `-1`, expected u32",
            "alerting: unknown section",
            "regions[1]: region 410999: parent 419999 is not a known region",
            "node.region: 999999 is not a known region",
            "http.listen: \"localhost\" is not an address",
            "syslog.timezone: \"Asia/Shanghai\" is not a UTC offset",
        ];
        for w in want {
            assert!(
                e.iter().any(|l| l.starts_with(w)),
                "missing {w:?} in {e:#?}"
            );
        }
        assert_eq!(e.len(), want.len(), "{e:#?}");
    }

    #[test]
    fn tls_and_tag_mistakes_name_their_keys() {
        let text = r#"
version = 1
[syslog]
charset = "latin-9"
format = "Not A Format"
region = "419999"
idle_timeout_secs = -5
[syslog.tls]
cert = "/nonexistent/server.pem"
client_auth = "sometimes"
port = 6514
[http]
timezone = "CST"
hec_tokens = ["good", "has space"]
"#;
        let e = parse(text).unwrap_err().0;
        let want = [
            "syslog.tls.port: unknown key; expected one of listen, cert, key, client_ca, client_auth",
            "syslog.idle_timeout_secs: invalid value",
            "syslog.tls.key: missing",
            "syslog.tls.client_auth: \"sometimes\" is not one of none, optional, required",
            "http.timezone: \"CST\" is not a UTC offset",
            "syslog.charset: unknown charset \"latin-9\"",
            "syslog.format: unknown format \"Not A Format\"",
            "syslog.region: 419999 is not a known region",
            "http.hec_tokens[1]: a token must be non-empty",
        ];
        for w in want {
            assert!(
                e.iter().any(|l| l.starts_with(w)),
                "missing {w:?} in {e:#?}"
            );
        }
        assert_eq!(e.len(), want.len(), "{e:#?}");
    }

    #[test]
    fn tls_files_are_loaded_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("server.pem");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        let text = format!(
            "version = 1\n[syslog.tls]\ncert = {:?}\nkey = {:?}\nclient_auth = \"required\"\n",
            cert.display().to_string(),
            dir.path().join("server.key").display().to_string()
        );
        let e = parse(&text).unwrap_err().0;
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("syslog.tls.client_ca: missing"), "{e:#?}");
        // The certificate is checked once the rest is right.
        let text = text.replace("required", "none");
        let e = parse(&text).unwrap_err().0;
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("syslog.tls.cert: "), "{e:#?}");
        assert!(e[0].contains("server.pem"), "{e:#?}");
    }

    #[test]
    fn tags_are_resolved() {
        let r = parse(
            "version = 1\n[syslog]\nregion = \"410100\"\ndepartment = \"public-security\"\ncharset = \"GBK\"\nformat = \"huawei_usg\"\n[http]\ntimezone = \"+00:00\"\n",
        )
        .unwrap();
        assert_eq!(r.syslog_source.region.to_string(), "410100");
        assert_eq!(
            r.syslog_source.tags,
            SourceTags {
                department: Some("public-security".into()),
                charset: Charset::Gb18030,
                format_hint: Some(BodyFormat::HuaweiUsg),
                max_fields_per_event: 1000,
            }
        );
        assert_eq!(r.http_source.region, r.region);
        assert_eq!(r.http_source.timezone, time::UtcOffset::UTC);
    }

    #[test]
    fn counties_join_the_tree() {
        let r = parse(
            "version = 1\n[node]\nregion = \"410102\"\n[[regions]]\ncode = \"410102\"\nparent = \"410100\"\nname = \"中原区\"\n",
        )
        .unwrap();
        assert!(r.regions.is_within(r.region, RegionCode::HENAN));
    }

    #[test]
    fn version_is_required() {
        let e = parse("[node]\nname = \"x\"\n").unwrap_err().0;
        assert!(e[0].starts_with("version: missing"), "{e:?}");
        let e = parse("version = 2\n").unwrap_err().0;
        assert_eq!(e, ["version: expected 1, found 2"]);
        let e = parse("version = \n").unwrap_err().0;
        assert!(e[0].starts_with("line 1: "), "{e:?}");
    }
}
