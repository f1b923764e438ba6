//! `[playbooks]`, `[playbooks.smtp]` and `[playbooks.report]`: where playbooks are read from,
//! how mail and escalations go out, how deliveries are retried, and the daily report.

use std::path::PathBuf;
use std::time::Duration;

use onewall_model::{RegionCode, RegionTree};
use onewall_playbooks::{
    EscalateSettings, ReportSettings, Retry, Schedule, Sender, SmtpSettings, SmtpTls,
};
use serde::{Deserialize, Serialize};

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

/// Fill what `[playbooks.report]` leaves to `[federation]`: the parent the daily report goes
/// to, and the children whose reports are expected.
pub(super) fn with_federation(
    mut p: PlaybooksResolved,
    fed: Option<&super::federation::FederationResolved>,
) -> PlaybooksResolved {
    let Some(fed) = fed else {
        return p;
    };
    if p.report_to_federation
        && let Some(parent) = &fed.parent
    {
        p.sender.report_to = Some(EscalateSettings {
            url: format!("{}/api/v1/reports", parent.url),
            token: parent.token.clone(),
        });
    }
    if p.expect_from.is_empty() {
        p.expect_from = fed.children.clone();
    }
    p
}

/// Check `[playbooks]`, pushing each mistake as `playbooks.key: reason`.
pub(super) fn resolve(
    cfg: &PlaybooksConfig,
    node: Option<RegionCode>,
    regions: &RegionTree,
    errors: &mut Vec<String>,
) -> Option<PlaybooksResolved> {
    let before = errors.len();
    let dir = (!cfg.dir.as_os_str().is_empty()).then(|| cfg.dir.clone());
    if let Some(d) = &dir
        && !d.is_dir()
    {
        errors.push(format!("playbooks.dir: {} is not a directory", d.display()));
    }
    for (key, v) in [
        ("playbooks.max_attempts", cfg.max_attempts as u64),
        ("playbooks.backoff_secs", cfg.backoff_secs),
        ("playbooks.timeout_secs", cfg.timeout_secs),
        ("playbooks.queue", cfg.queue as u64),
    ] {
        if v == 0 {
            errors.push(format!("{key}: must be greater than 0"));
        }
    }
    let escalate = if cfg.escalate_url.trim().is_empty() {
        None
    } else {
        let url = cfg.escalate_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(format!(
                "playbooks.escalate_url: {url:?} is not an http(s) URL"
            ));
        }
        if !header_safe(&cfg.escalate_token) {
            errors.push("playbooks.escalate_token: must be printable ASCII with no spaces".into());
        }
        Some(EscalateSettings {
            url: url.to_owned(),
            token: cfg.escalate_token.clone(),
        })
    };
    let s = &cfg.smtp;
    let smtp = if s.host.trim().is_empty() {
        None
    } else {
        let tls = SmtpTls::parse(&s.tls).unwrap_or_else(|| {
            errors.push(format!(
                "playbooks.smtp.tls: {:?} is not one of starttls, opportunistic, tls, none",
                s.tls
            ));
            SmtpTls::StartTls
        });
        let from = s
            .from
            .parse()
            .map_err(|e| {
                errors.push(format!(
                    "playbooks.smtp.from: {:?} is not a mail address: {e}",
                    s.from
                ))
            })
            .ok();
        let ca_file = (!s.ca_file.as_os_str().is_empty()).then(|| s.ca_file.clone());
        if let Some(ca) = &ca_file
            && !ca.is_file()
        {
            errors.push(format!(
                "playbooks.smtp.ca_file: {} is not a file",
                ca.display()
            ));
        }
        if s.port == 0 {
            errors.push("playbooks.smtp.port: must be greater than 0".into());
        }
        from.map(|from| SmtpSettings {
            host: s.host.trim().to_owned(),
            port: s.port,
            tls,
            username: s.username.clone(),
            password: s.password.clone(),
            from,
            ca_file,
        })
    };
    let r = &cfg.report;
    let offset = super::parse_offset(&r.timezone);
    if offset.is_none() {
        errors.push(format!(
            "playbooks.report.timezone: {:?} is not a UTC offset like +08:00",
            r.timezone
        ));
    }
    let schedule = Schedule::parse(&r.time, offset.unwrap_or(time::UtcOffset::UTC))
        .map_err(|e| errors.push(format!("playbooks.report.time: {e}")))
        .ok();
    let mut report_regions = Vec::new();
    for (i, code) in r.regions.iter().enumerate() {
        match code.trim().parse::<RegionCode>() {
            Ok(c) if regions.contains(c) => report_regions.push(c),
            Ok(c) => errors.push(format!(
                "playbooks.report.regions[{i}]: {c} is not a known region"
            )),
            Err(e) => errors.push(format!("playbooks.report.regions[{i}]: {e}")),
        }
    }
    if r.regions.is_empty() {
        report_regions.extend(node);
    }
    let report_to = if !r.to_parent || r.parent_url.trim().is_empty() {
        if !r.parent_token.is_empty() && r.parent_url.trim().is_empty() {
            errors.push(
                "playbooks.report.parent_token: set, but playbooks.report.parent_url is empty"
                    .into(),
            );
        }
        None
    } else {
        let url = r.parent_url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(format!(
                "playbooks.report.parent_url: {url:?} is not an http(s) URL"
            ));
        }
        if r.parent_token.is_empty() || !header_safe(&r.parent_token) {
            errors.push(
                "playbooks.report.parent_token: a collector token of the parent is needed \
                 (printable ASCII, no spaces)"
                    .into(),
            );
        }
        Some(EscalateSettings {
            url: format!("{url}/api/v1/reports"),
            token: r.parent_token.clone(),
        })
    };
    let mut expect_from = Vec::new();
    for (i, code) in r.expect_from.iter().enumerate() {
        match code.trim().parse::<RegionCode>() {
            Ok(c) if regions.contains(c) => expect_from.push(c),
            Ok(c) => errors.push(format!(
                "playbooks.report.expect_from[{i}]: {c} is not a known region"
            )),
            Err(e) => errors.push(format!("playbooks.report.expect_from[{i}]: {e}")),
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(PlaybooksResolved {
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
        report: ReportSettings {
            schedule: schedule?,
            regions: report_regions,
            silent_hours: r.silent_hours,
            top_rules: r.top_rules,
        },
        queue: cfg.queue,
        report_to_federation: r.to_parent && r.parent_url.trim().is_empty(),
        expect_from,
        grace: Duration::from_secs(r.grace_secs),
    })
}

fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn playbooks_mistakes_name_their_keys() {
        let text = r#"
version = 1
[playbooks]
dir = "/nonexistent/playbooks"
escalate_url = "parent.example.org"
escalate_token = "has space"
max_attempts = 0
[playbooks.smtp]
host = "127.0.0.1"
tls = "ssl"
from = "not an address"
[playbooks.report]
time = "8 o'clock"
timezone = "Beijing"
regions = ["419999"]
parent_url = "parent.example.org"
expect_from = ["410100", "41"]
"#;
        let e = parse(text).unwrap_err().0;
        let want = [
            "playbooks.dir: /nonexistent/playbooks is not a directory",
            "playbooks.max_attempts: must be greater than 0",
            "playbooks.escalate_url: \"parent.example.org\" is not an http(s) URL",
            "playbooks.escalate_token: must be printable ASCII",
            "playbooks.smtp.tls: \"ssl\" is not one of",
            "playbooks.smtp.from: \"not an address\" is not a mail address",
            "playbooks.report.timezone: \"Beijing\" is not a UTC offset",
            "playbooks.report.time: \"8 o'clock\" is not a time of day",
            "playbooks.report.regions[0]: 419999 is not a known region",
            "playbooks.report.parent_url: \"parent.example.org\" is not an http(s) URL",
            "playbooks.report.parent_token: a collector token of the parent is needed",
            "playbooks.report.expect_from[1]: ",
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
    fn reports_go_to_the_federation_parent_and_expect_its_children() {
        let fed = "version = 1\n[federation]\nparent_url = \"http://province:8080/\"\ntoken = \"owt_x\"\nchildren = [\"410100\", \"410200\"]\n";
        let p = parse(fed).unwrap().playbooks.unwrap();
        let to = p.sender.report_to.expect("to the federation parent");
        assert_eq!(to.url, "http://province:8080/api/v1/reports");
        assert_eq!(to.token, "owt_x");
        assert_eq!(p.expect_from.len(), 2);
        // Its own keys win; to_parent = false keeps reports local.
        let own = format!(
            "{fed}[playbooks.report]\nparent_url = \"http://other:1\"\nparent_token = \"t2\"\nexpect_from = [\"410300\"]\n"
        );
        let p = parse(&own).unwrap().playbooks.unwrap();
        assert_eq!(
            p.sender.report_to.unwrap().url,
            "http://other:1/api/v1/reports"
        );
        assert_eq!(p.expect_from, ["410300".parse().unwrap()]);
        let local = format!("{fed}[playbooks.report]\nto_parent = false\n");
        let p = parse(&local).unwrap().playbooks.unwrap();
        assert!(p.sender.report_to.is_none());
    }

    #[test]
    fn playbooks_resolve_with_defaults() {
        let r = parse("version = 1\n").unwrap();
        let p = r.playbooks.expect("defaults resolve");
        assert!(p.dir.is_none());
        assert!(p.sender.smtp.is_none());
        assert_eq!(p.report.regions, [r.region]);
        assert_eq!(p.report.schedule.at_secs, 8 * 3600);
        assert_eq!(p.retry.max_attempts, 12);
    }
}
