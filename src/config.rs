//! The node's configuration: one TOML file, typed, strict, `version = 1` at the top.
//!
//! Every mistake is reported at once, one line each, as `section.key: reason`. A missing file
//! section means its defaults; `onewall serve` with no file runs on defaults alone.

use std::net::SocketAddr;
use std::path::PathBuf;

use onewall_model::{Region, RegionCode, RegionLevel, RegionTree};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
    pub rules: RulesConfig,
    pub correlate: CorrelateConfig,
    pub store: StoreConfig,
    pub pipeline: PipelineConfig,
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
pub struct SyslogConfig {
    /// UDP listen address; empty disables the listener. Port 0 picks a free port.
    pub udp: String,
    /// TCP listen address; empty disables the listener.
    pub tcp: String,
    /// UTC offset for timestamps that carry none (RFC 3164), e.g. `+08:00`.
    pub timezone: String,
    /// Longest TCP frame accepted; longer frames are discarded and counted.
    pub max_frame_bytes: usize,
    /// Most TCP connections at once; more are refused and counted.
    pub max_connections: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: "0.0.0.0:5514".into(),
            tcp: "0.0.0.0:5514".into(),
            timezone: "+08:00".into(),
            max_frame_bytes: 64 * 1024,
            max_connections: 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// API, console and HTTP ingest listen address.
    pub listen: String,
    /// Largest HTTP ingest body; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "0.0.0.0:8080".into(),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Load the built-in rule pack.
    pub builtin: bool,
    /// Directories of Sigma rules (YAML, searched recursively) loaded beside the built-in pack.
    pub dirs: Vec<PathBuf>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            builtin: true,
            dirs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Alerts of one rule on one host within this many seconds join one incident.
    pub window_secs: i64,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        CorrelateConfig {
            window_secs: onewall_correlate::DEFAULT_WINDOW_SECS,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `embedded` (SQLite in `path`). ClickHouse comes with its own issue.
    pub backend: String,
    /// Directory of the embedded store.
    pub path: PathBuf,
    /// Days of events to keep; older days are dropped whole. 0 keeps everything.
    pub retention_days: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: "embedded".into(),
            path: "./onewall-data".into(),
            retention_days: 30,
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
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_size: 512,
            batch_linger_ms: 50,
            queue_batches: 64,
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
    pub timezone: time::UtcOffset,
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
    "rules",
    "correlate",
    "store",
    "pipeline",
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
            ("syslog", toml::Value::Table(t)) => {
                check_keys::<SyslogConfig>("syslog", t, &mut errors)
            }
            ("http", toml::Value::Table(t)) => check_keys::<HttpConfig>("http", t, &mut errors),
            ("rules", toml::Value::Table(t)) => check_keys::<RulesConfig>("rules", t, &mut errors),
            ("correlate", toml::Value::Table(t)) => {
                check_keys::<CorrelateConfig>("correlate", t, &mut errors)
            }
            ("store", toml::Value::Table(t)) => check_keys::<StoreConfig>("store", t, &mut errors),
            ("pipeline", toml::Value::Table(t)) => {
                check_keys::<PipelineConfig>("pipeline", t, &mut errors)
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
    let timezone = parse_offset(&config.syslog.timezone);
    if timezone.is_none() {
        errors.push(format!(
            "syslog.timezone: {:?} is not a UTC offset like +08:00",
            config.syslog.timezone
        ));
    }
    let positive = [
        ("syslog.max_frame_bytes", config.syslog.max_frame_bytes),
        ("syslog.max_connections", config.syslog.max_connections),
        ("http.max_body_bytes", config.http.max_body_bytes),
        ("pipeline.batch_size", config.pipeline.batch_size),
        ("pipeline.queue_batches", config.pipeline.queue_batches),
    ];
    for (key, v) in positive {
        if v == 0 {
            errors.push(format!("{key}: must be greater than 0"));
        }
    }
    if config.correlate.window_secs <= 0 {
        errors.push("correlate.window_secs: must be greater than 0".into());
    }
    if config.store.backend != "embedded" {
        errors.push(format!(
            "store.backend: {:?} is not available; expected \"embedded\"",
            config.store.backend
        ));
    }
    for (i, d) in config.rules.dirs.iter().enumerate() {
        if !d.is_dir() {
            errors.push(format!(
                "rules.dirs[{i}]: {} is not a directory",
                d.display()
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    match (region, http, timezone) {
        (Some(region), Some(http), Some(timezone)) => Ok(Resolved {
            config,
            region,
            regions,
            syslog_udp,
            syslog_tcp,
            http,
            timezone,
        }),
        _ => Err(ConfigErrors(vec!["configuration is incomplete".into()])),
    }
}

/// The defaults `onewall serve` runs on with no file.
pub fn defaults() -> Result<Resolved, ConfigErrors> {
    resolve(Config {
        version: 1,
        ..Config::default()
    })
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
        assert_eq!(r.timezone, time::UtcOffset::from_hms(8, 0, 0).unwrap());
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
