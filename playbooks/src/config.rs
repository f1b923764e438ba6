//! `[playbooks]`, `[playbooks.smtp]` and `[playbooks.report]` of the node's configuration:
//! where playbooks are read from, how mail and escalations go out, how deliveries are retried,
//! and the daily report. [`PlaybooksConfig::resolve`] names every mistake and builds what the
//! playbooks run with.

use std::path::PathBuf;
use std::time::Duration;

use onewall_model::config::{ConfigError, parse_offset, require_positive};
use onewall_model::{RegionCode, RegionTree};
use serde::{Deserialize, Serialize};

use crate::{EscalateSettings, ReportSettings, Retry, Schedule, Sender, SmtpSettings, SmtpTls};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlaybooksConfig {
    /// Directory of playbook files (`*.yml`, `*.yaml`); empty: no playbooks run.
    pub dir: PathBuf,
    /// Where `escalate` actions post (the parent node's URL); empty: escalations fail and are
    /// retried until it is set. Federation proper comes with its own issue.
    pub escalate_url: String,
    /// Bearer token for the parent node; empty: none.
    pub escalate_token: String,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// Seconds before the first retry; doubled after each failure.
    pub backoff_secs: u64,
    /// Longest wait between retries, in seconds.
    pub backoff_max_secs: u64,
    /// Seconds one delivery attempt may take.
    pub timeout_secs: u64,
    /// Signals (alerts, incident changes) queued for the playbooks before the pipeline waits.
    pub queue: usize,
    pub smtp: SmtpConfig,
    pub report: ReportConfig,
}

impl Default for PlaybooksConfig {
    fn default() -> Self {
        PlaybooksConfig {
            dir: PathBuf::new(),
            escalate_url: String::new(),
            escalate_token: String::new(),
            max_attempts: 12,
            backoff_secs: 10,
            backoff_max_secs: 3600,
            timeout_secs: 30,
            queue: 1024,
            smtp: SmtpConfig::default(),
            report: ReportConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// SMTP server host; empty: email actions fail (and are retried) until it is set.
    pub host: String,
    pub port: u16,
    /// `starttls` (required), `opportunistic`, `tls` (port 465) or `none`.
    pub tls: String,
    /// User for AUTH; empty: no authentication.
    pub username: String,
    pub password: String,
    /// The From address, e.g. `一道墙 <soc@example.org>`.
    pub from: String,
    /// Extra CA certificates (PEM) trusted for the server, beside the public roots.
    pub ca_file: PathBuf,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "onewall <onewall@localhost>".into(),
            ca_file: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Time of day the daily (zero) report runs, `HH:MM` or `HH:MM:SS`.
    pub time: String,
    /// The UTC offset `time` is in (Beijing time by default).
    pub timezone: String,
    /// Regions reported on, one report each; empty: the node's region.
    pub regions: Vec<String>,
    /// Hours without events after which a source is listed as silent.
    pub silent_hours: u32,
    /// Rules listed by alert count.
    pub top_rules: usize,
    /// Child side: deliver each daily report through the outbox to the parent's
    /// `POST /api/v1/reports` as well: to `parent_url` when set, else to `[federation]`'s
    /// parent (with its token). `false` keeps reports local.
    pub to_parent: bool,
    /// Child side: the parent node's base URL (`http://province-soc:8080`), when it is not
    /// `[federation] parent_url`.
    pub parent_url: String,
    /// Child side: a `collector` token the parent issued for this node's region.
    pub parent_token: String,
    /// Parent side: the child regions whose daily report is expected every day; empty:
    /// `[federation] children`.
    pub expect_from: Vec<String>,
    /// Parent side: seconds after the report time before a missing child report raises an
    /// alert.
    pub grace_secs: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            time: "08:00".into(),
            timezone: "+08:00".into(),
            regions: Vec::new(),
            silent_hours: 24,
            top_rules: 10,
            to_parent: true,
            parent_url: String::new(),
            parent_token: String::new(),
            expect_from: Vec::new(),
            grace_secs: 3600,
        }
    }
}

/// `[playbooks]` checked: what the playbooks run with.
#[derive(Debug, Clone)]
pub struct PlaybooksResolved {
    pub dir: Option<PathBuf>,
    pub retry: Retry,
    pub sender: Sender,
    pub report: ReportSettings,
    pub queue: usize,
    /// Child regions whose daily report this node expects.
    pub expect_from: Vec<RegionCode>,
    /// How long after the report time a missing child report is flagged.
    pub grace: Duration,
    /// Reports go to `[federation]`'s parent when it has one (`to_parent`, no `parent_url`).
    pub report_to_federation: bool,
}

impl PlaybooksConfig {
    /// Check `[playbooks]` for a node in region `node` and build its settings; every mistake
    /// names its key.
    pub fn resolve(
        &self,
        node: RegionCode,
        regions: &RegionTree,
    ) -> Result<PlaybooksResolved, Vec<ConfigError>> {
        let cfg = self;
        let mut errors = Vec::new();
        let dir = (!cfg.dir.as_os_str().is_empty()).then(|| cfg.dir.clone());
        if let Some(d) = &dir
            && !d.is_dir()
        {
            errors.push(ConfigError::new(
                "playbooks.dir",
                format!("{} is not a directory", d.display()),
            ));
        }
        require_positive(
            [
                ("playbooks.max_attempts", u64::from(cfg.max_attempts)),
                ("playbooks.backoff_secs", cfg.backoff_secs),
                ("playbooks.timeout_secs", cfg.timeout_secs),
                ("playbooks.queue", cfg.queue as u64),
            ],
            &mut errors,
        );
        let escalate = self.escalate(&mut errors);
        let smtp = self.smtp.resolve(&mut errors);
        let report = self.report.resolve(node, regions, &mut errors);
        match report {
            Some((report, report_to, expect_from)) if errors.is_empty() => Ok(PlaybooksResolved {
                dir,
                retry: Retry {
                    max_attempts: cfg.max_attempts,
                    base_secs: cfg.backoff_secs,
                    max_secs: cfg.backoff_max_secs,
                },
                sender: Sender {
                    smtp,
                    escalate,
                    report_to,
                    timeout: Duration::from_secs(cfg.timeout_secs),
                },
                report,
                queue: cfg.queue,
                report_to_federation: self.report.to_parent
                    && self.report.parent_url.trim().is_empty(),
                expect_from,
                grace: Duration::from_secs(self.report.grace_secs),
            }),
            _ => Err(errors),
        }
    }

    fn escalate(&self, errors: &mut Vec<ConfigError>) -> Option<EscalateSettings> {
        let url = self.escalate_url.trim();
        if url.is_empty() {
            return None;
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(ConfigError::new(
                "playbooks.escalate_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        if !header_safe(&self.escalate_token) {
            errors.push(ConfigError::new(
                "playbooks.escalate_token",
                "must be printable ASCII with no spaces",
            ));
        }
        Some(EscalateSettings {
            url: url.to_owned(),
            token: self.escalate_token.clone(),
        })
    }
}

impl SmtpConfig {
    /// The mail server's settings, when `host` is set.
    fn resolve(&self, errors: &mut Vec<ConfigError>) -> Option<SmtpSettings> {
        let s = self;
        if s.host.trim().is_empty() {
            return None;
        }
        let tls = SmtpTls::parse(&s.tls).unwrap_or_else(|| {
            errors.push(ConfigError::new(
                "playbooks.smtp.tls",
                format!(
                    "{:?} is not one of starttls, opportunistic, tls, none",
                    s.tls
                ),
            ));
            SmtpTls::StartTls
        });
        let from = s
            .from
            .parse()
            .map_err(|e| {
                errors.push(ConfigError::new(
                    "playbooks.smtp.from",
                    format!("{:?} is not a mail address: {e}", s.from),
                ))
            })
            .ok();
        let ca_file = (!s.ca_file.as_os_str().is_empty()).then(|| s.ca_file.clone());
        if let Some(ca) = &ca_file
            && !ca.is_file()
        {
            errors.push(ConfigError::new(
                "playbooks.smtp.ca_file",
                format!("{} is not a file", ca.display()),
            ));
        }
        require_positive([("playbooks.smtp.port", u64::from(s.port))], errors);
        from.map(|from| SmtpSettings {
            host: s.host.trim().to_owned(),
            port: s.port,
            tls,
            username: s.username.clone(),
            password: s.password.clone(),
            from,
            ca_file,
        })
    }
}

impl ReportConfig {
    /// The daily report's settings, where it goes (`parent_url`), and the children whose
    /// reports are expected.
    fn resolve(
        &self,
        node: RegionCode,
        regions: &RegionTree,
        errors: &mut Vec<ConfigError>,
    ) -> Option<(ReportSettings, Option<EscalateSettings>, Vec<RegionCode>)> {
        let r = self;
        let offset = parse_offset(&r.timezone);
        if offset.is_none() {
            errors.push(ConfigError::new(
                "playbooks.report.timezone",
                format!("{:?} is not a UTC offset like +08:00", r.timezone),
            ));
        }
        let schedule = Schedule::parse(&r.time, offset.unwrap_or(time::UtcOffset::UTC))
            .map_err(|e| errors.push(ConfigError::new("playbooks.report.time", e)))
            .ok();
        let mut report_regions =
            known_regions("playbooks.report.regions", &r.regions, regions, errors);
        if r.regions.is_empty() {
            report_regions.push(node);
        }
        let report_to = self.parent(errors);
        let expect_from = known_regions(
            "playbooks.report.expect_from",
            &r.expect_from,
            regions,
            errors,
        );
        let report = ReportSettings {
            schedule: schedule?,
            regions: report_regions,
            silent_hours: r.silent_hours,
            top_rules: r.top_rules,
        };
        Some((report, report_to, expect_from))
    }

    /// Where the daily report goes when `parent_url` names the parent.
    fn parent(&self, errors: &mut Vec<ConfigError>) -> Option<EscalateSettings> {
        let r = self;
        if !r.to_parent || r.parent_url.trim().is_empty() {
            if !r.parent_token.is_empty() && r.parent_url.trim().is_empty() {
                errors.push(ConfigError::new(
                    "playbooks.report.parent_token",
                    "set, but playbooks.report.parent_url is empty",
                ));
            }
            return None;
        }
        let url = r.parent_url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(ConfigError::new(
                "playbooks.report.parent_url",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        if r.parent_token.is_empty() || !header_safe(&r.parent_token) {
            errors.push(ConfigError::new(
                "playbooks.report.parent_token",
                "a collector token of the parent is needed (printable ASCII, no spaces)",
            ));
        }
        Some(EscalateSettings {
            url: format!("{url}/api/v1/reports"),
            token: r.parent_token.clone(),
        })
    }
}

/// The region codes of list `key`, each known to `regions`.
fn known_regions(
    key: &str,
    codes: &[String],
    regions: &RegionTree,
    errors: &mut Vec<ConfigError>,
) -> Vec<RegionCode> {
    let mut known = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        match code.trim().parse::<RegionCode>() {
            Ok(c) if regions.contains(c) => known.push(c),
            Ok(c) => errors.push(ConfigError::new(
                format!("{key}[{i}]"),
                format!("{c} is not a known region"),
            )),
            Err(e) => errors.push(ConfigError::new(format!("{key}[{i}]"), e.to_string())),
        }
    }
    known
}

fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve_for_the_node() {
        let node = RegionCode::HENAN;
        let p = PlaybooksConfig::default()
            .resolve(node, &RegionTree::builtin())
            .expect("defaults resolve");
        assert_eq!(p.report.regions, [node]);
        assert!(p.sender.report_to.is_none());
        assert!(p.report_to_federation);
    }

    #[test]
    fn every_mistake_is_returned_with_its_key() {
        let mut c = PlaybooksConfig {
            queue: 0,
            ..PlaybooksConfig::default()
        };
        c.smtp.host = "mail".into();
        c.smtp.port = 0;
        c.report.parent_token = "t".into();
        let e = c
            .resolve(RegionCode::HENAN, &RegionTree::builtin())
            .expect_err("mistakes");
        let keys: Vec<_> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "playbooks.queue",
                "playbooks.smtp.port",
                "playbooks.report.parent_token"
            ]
        );
    }
}
