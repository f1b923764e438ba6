//! The ingest side's sections of the node's configuration: `[syslog]`, `[syslog.tls]`,
//! `[http]` (its collector keys), `[flow]`, `[pipeline]` and `[store.spool]`.
//!
//! Each section is typed and strict (`deny_unknown_fields`), with its defaults. Checking it
//! returns every mistake at once, each as `section.key: reason`; the checked section is what
//! the listeners, collectors and spool run with.

use std::net::SocketAddr;

use onewall_model::config::{ConfigError, parse_offset, require_positive};
use onewall_model::{RegionCode, RegionTree};
use serde::{Deserialize, Serialize};

use crate::listen::{SourceTags, TlsSettings};
use crate::parse::{BodyFormat, Charset};

mod flow;
mod listen;
mod spool;

pub use flow::{FlowConfig, FlowResolved};
pub use listen::{HttpConfig, SyslogConfig, SyslogTlsConfig};
pub use spool::SpoolConfig;

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
            max_fields_per_event: crate::parse::DEFAULT_MAX_FIELDS_PER_EVENT,
            max_future_skew_secs: 86_400,
        }
    }
}

impl PipelineConfig {
    /// Every mistake in `[pipeline]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        require_positive(
            [
                ("pipeline.batch_size", self.batch_size as u64),
                ("pipeline.queue_batches", self.queue_batches as u64),
                (
                    "pipeline.max_fields_per_event",
                    self.max_fields_per_event as u64,
                ),
            ],
            &mut errors,
        );
        errors
    }
}

/// What a collector stamps on its records.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    pub region: RegionCode,
    pub timezone: time::UtcOffset,
    pub tags: SourceTags,
}

/// `[syslog]`, `[syslog.tls]` and `[http]` checked: what the listeners run with.
#[derive(Debug, Clone)]
pub struct Listeners {
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
}

/// Check the listeners' sections for a node in region `node` and build their settings
/// (`[pipeline] max_fields_per_event` goes into the tags). Every mistake names its key.
pub fn listeners(
    syslog: &SyslogConfig,
    http: &HttpConfig,
    pipeline: &PipelineConfig,
    node: RegionCode,
    regions: &RegionTree,
) -> Result<Listeners, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let syslog_udp = address("syslog.udp", &syslog.udp, true, &mut errors);
    let syslog_tcp = address("syslog.tcp", &syslog.tcp, true, &mut errors);
    let http_addr = address("http.listen", &http.listen, false, &mut errors);
    let tls_cfg = &syslog.tls;
    let tls_wanted = !tls_cfg.cert.as_os_str().is_empty() || !tls_cfg.key.as_os_str().is_empty();
    let (syslog_tls, tls) = if tls_wanted {
        let listen = address("syslog.tls.listen", &tls_cfg.listen, true, &mut errors);
        (listen, listen::tls_settings(tls_cfg, &mut errors))
    } else {
        (None, None)
    };
    let syslog_source = source(
        "syslog",
        [
            &syslog.timezone,
            &syslog.department,
            &syslog.charset,
            &syslog.format,
            &syslog.region,
        ],
        pipeline,
        (node, regions),
        &mut errors,
    );
    let http_source = source(
        "http",
        [
            &http.timezone,
            &http.department,
            &http.charset,
            &http.format,
            &http.region,
        ],
        pipeline,
        (node, regions),
        &mut errors,
    );
    check_tokens(http, &mut errors);
    require_positive(
        [
            ("syslog.max_frame_bytes", syslog.max_frame_bytes),
            ("syslog.max_connections", syslog.max_connections),
            ("syslog.udp_recv_buffer_bytes", syslog.udp_recv_buffer_bytes),
            ("http.max_body_bytes", http.max_body_bytes),
            (
                "syslog.max_connections_per_peer",
                syslog.max_connections_per_peer,
            ),
            ("http.max_connections", http.max_connections),
            (
                "http.max_connections_per_peer",
                http.max_connections_per_peer,
            ),
            (
                "http.header_timeout_secs",
                http.header_timeout_secs as usize,
            ),
            ("http.body_timeout_secs", http.body_timeout_secs as usize),
            ("http.idle_timeout_secs", http.idle_timeout_secs as usize),
        ]
        .map(|(k, v)| (k, v as u64)),
        &mut errors,
    );
    match (http_addr, syslog_source, http_source) {
        (Some(http), Some(syslog_source), Some(http_source)) if errors.is_empty() => {
            Ok(Listeners {
                syslog_udp,
                syslog_tcp,
                http,
                syslog_tls,
                tls,
                syslog_source,
                http_source,
            })
        }
        _ => Err(errors),
    }
}

/// `key`'s listen address; an empty `optional` one disables its listener.
fn address(
    key: &str,
    v: &str,
    optional: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<SocketAddr> {
    if v.is_empty() && optional {
        return None;
    }
    v.parse::<SocketAddr>()
        .map_err(|_| {
            errors.push(ConfigError::new(
                key,
                format!("{v:?} is not an address like 0.0.0.0:5514"),
            ))
        })
        .ok()
}

fn check_tokens(http: &HttpConfig, errors: &mut Vec<ConfigError>) {
    for (key, tokens) in [
        ("http.ingest_tokens", &http.ingest_tokens),
        ("http.bulk_tokens", &http.bulk_tokens),
        ("http.hec_tokens", &http.hec_tokens),
    ] {
        for (i, t) in tokens.iter().enumerate() {
            if t.trim().is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errors.push(ConfigError::new(
                    format!("{key}[{i}]"),
                    "a token must be non-empty with no spaces",
                ));
            }
        }
    }
}

/// A listener section's `timezone`, `department`, `charset`, `format` and `region` (in that
/// order) checked and made into what its collector stamps on records.
fn source(
    section: &str,
    [tz, department, charset, format, region]: [&String; 5],
    pipeline: &PipelineConfig,
    (node, regions): (RegionCode, &RegionTree),
    errors: &mut Vec<ConfigError>,
) -> Option<SourceSettings> {
    let before = errors.len();
    let timezone = parse_offset(tz);
    if timezone.is_none() {
        errors.push(ConfigError::new(
            format!("{section}.timezone"),
            format!("{tz:?} is not a UTC offset like +08:00"),
        ));
    }
    let charset = charset.trim().parse::<Charset>().unwrap_or_else(|e| {
        errors.push(ConfigError::new(
            format!("{section}.charset"),
            e.to_string(),
        ));
        Charset::default()
    });
    let format = format.trim();
    let format_hint = if format.eq_ignore_ascii_case("auto") {
        None
    } else {
        format
            .parse::<BodyFormat>()
            .map_err(|e| {
                errors.push(ConfigError::new(
                    format!("{section}.format"),
                    format!("{e}, or auto"),
                ))
            })
            .ok()
    };
    let region = source_region(&format!("{section}.region"), region, node, regions, errors);
    let department = department.trim();
    let tags = SourceTags {
        department: (!department.is_empty()).then(|| department.into()),
        charset,
        format_hint,
        max_fields_per_event: pipeline.max_fields_per_event,
    };
    (errors.len() == before).then_some(SourceSettings {
        region,
        timezone: timezone?,
        tags,
    })
}

/// The region a section's senders are in: its `region` key, or the node's when empty. A
/// mistake is pushed and the node's region stands in.
fn source_region(
    key: &str,
    v: &str,
    node: RegionCode,
    regions: &RegionTree,
    errors: &mut Vec<ConfigError>,
) -> RegionCode {
    if v.trim().is_empty() {
        return node;
    }
    match v.trim().parse::<RegionCode>() {
        Ok(c) if regions.contains(c) => c,
        Ok(c) => {
            errors.push(ConfigError::new(
                key,
                format!("{c} is not a known region; add it under [[regions]]"),
            ));
            node
        }
        Err(e) => {
            errors.push(ConfigError::new(key, e.to_string()));
            node
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn henan() -> (RegionCode, RegionTree) {
        (RegionCode::HENAN, RegionTree::builtin())
    }

    #[test]
    fn defaults_listen_and_stamp_the_node() {
        let (node, regions) = henan();
        let l = listeners(
            &SyslogConfig::default(),
            &HttpConfig::default(),
            &PipelineConfig::default(),
            node,
            &regions,
        )
        .expect("defaults");
        assert_eq!(l.syslog_udp.map(|a| a.port()), Some(5514));
        assert_eq!(l.http.port(), 8080);
        assert_eq!((l.syslog_tls, l.tls.is_none()), (None, true));
        assert_eq!(l.syslog_source.region, node);
        assert_eq!(
            l.http_source.tags.max_fields_per_event,
            PipelineConfig::default().max_fields_per_event
        );
        assert_eq!(PipelineConfig::default().validate(), []);
    }

    #[test]
    fn every_listener_mistake_is_returned() {
        let (node, regions) = henan();
        let syslog = SyslogConfig {
            udp: "nowhere".into(),
            tcp: String::new(),
            max_connections: 0,
            region: "419999".into(),
            ..SyslogConfig::default()
        };
        let http = HttpConfig {
            timezone: "CST".into(),
            charset: "latin-9".into(),
            bulk_tokens: vec!["a b".into()],
            ..HttpConfig::default()
        };
        let e = listeners(&syslog, &http, &PipelineConfig::default(), node, &regions)
            .expect_err("mistakes");
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "syslog.udp",
                "syslog.region",
                "http.timezone",
                "http.charset",
                "http.bulk_tokens[0]",
                "syslog.max_connections"
            ]
        );
        let pipeline = PipelineConfig {
            batch_size: 0,
            ..PipelineConfig::default()
        };
        assert_eq!(
            pipeline.validate()[0].to_string(),
            "pipeline.batch_size: must be greater than 0"
        );
    }

    #[test]
    fn flow_mistakes_are_all_returned() {
        let (node, regions) = henan();
        let flow = FlowConfig {
            netflow: "0.0.0.0:99999".into(),
            ipfix: "127.0.0.1:6343".into(),
            sflow: "127.0.0.1:6343".into(),
            max_exporters: 0,
            ..FlowConfig::default()
        };
        let e = flow.resolve(node, &regions).expect_err("mistakes");
        let e: Vec<_> = e.iter().map(ToString::to_string).collect();
        assert_eq!(
            e,
            [
                "flow.netflow: \"0.0.0.0:99999\" is not an address like 0.0.0.0:2055",
                "flow.sflow: 127.0.0.1:6343 is also flow.ipfix",
                "flow.max_exporters: must be greater than 0",
            ]
        );
        let f = FlowConfig::default()
            .resolve(node, &regions)
            .expect("defaults");
        assert_eq!(f.netflow.map(|a| a.port()), Some(2055));
        assert_eq!(f.region, node);
    }
}
