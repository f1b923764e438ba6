//! `[supervise]`: bulletin deadlines and attachment limits, the defaults of 重保 periods, how
//! often the deadline, slot-report and duty checks run, when periodic reports are made, and
//! the formula of the child-region score.
//!
//! ```toml
//! [supervise]
//! enabled = true
//! sign_hours = 24             # 签收 due this long after issue (unless the bulletin says)
//! attachment_max_mib = 8      # one file of a rectification
//! step_max_mib = 32           # all files of one rectification
//! check_secs = 60             # deadlines, slot reports, duty coverage
//!
//! [supervise.period]          # defaults of a new 重保 period
//! sla_factor = 2.0
//! report_every_mins = 120
//! grace_mins = 30
//!
//! [supervise.reports]
//! time = "08:00"              # weekly on Monday, monthly on the 1st, annual on 1 January
//! offset = "+08:00"
//! weekly = true
//! monthly = true
//! annual = true
//! departments = []          # departments that get their own reports too
//!
//! [supervise.score]           # 0–100 per child region; see report::score
//! sla = 30
//! zero_report = 20
//! bulletins = 30
//! findings = 20
//! incident_penalty = 2        # points off per grade Ⅰ/Ⅱ incident, at most 20
//! ```

use onewall_model::config::ConfigError;
use serde::{Deserialize, Serialize};

/// The `[supervise]` section as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuperviseConfig {
    /// Keep bulletins, periods, duty, drills and reports (on by default).
    pub enabled: bool,
    /// Hours after issue a bulletin must be signed for, unless it names its own deadline.
    pub sign_hours: u32,
    /// The largest attachment of a rectification, in MiB.
    pub attachment_max_mib: u32,
    /// The largest total of one rectification's attachments, in MiB.
    pub step_max_mib: u32,
    /// Seconds between the deadline, slot-report and duty checks.
    pub check_secs: u64,
    pub period: PeriodDefaults,
    pub reports: ReportSchedule,
    pub score: ScoreWeights,
}

impl Default for SuperviseConfig {
    fn default() -> Self {
        SuperviseConfig {
            enabled: true,
            sign_hours: 24,
            attachment_max_mib: 8,
            step_max_mib: 32,
            check_secs: 60,
            period: PeriodDefaults::default(),
            reports: ReportSchedule::default(),
            score: ScoreWeights::default(),
        }
    }
}

/// The defaults of a new 重保 period.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeriodDefaults {
    pub sla_factor: f64,
    pub report_every_mins: u32,
    pub grace_mins: u32,
}

impl Default for PeriodDefaults {
    fn default() -> Self {
        PeriodDefaults {
            sla_factor: 2.0,
            report_every_mins: 120,
            grace_mins: 30,
        }
    }
}

/// When the periodic reports are made.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSchedule {
    /// Time of day (`HH:MM`) in `offset`.
    pub time: String,
    /// UTC offset of the reports' days (`+08:00`).
    pub offset: String,
    pub weekly: bool,
    pub monthly: bool,
    pub annual: bool,
    /// Departments of the node's region that get their own reports on the same schedule
    /// (besides the region's).
    pub departments: Vec<String>,
}

impl Default for ReportSchedule {
    fn default() -> Self {
        ReportSchedule {
            time: "08:00".into(),
            offset: "+08:00".into(),
            weekly: true,
            monthly: true,
            annual: true,
            departments: Vec::new(),
        }
    }
}

/// The weights of the child-region score (see `report::score`): each part is a rate in
/// [0, 1] times its weight; the weights of parts without data are spread over the others;
/// `incident_penalty` points come off per grade Ⅰ or Ⅱ incident (at most 20).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreWeights {
    pub sla: f64,
    pub zero_report: f64,
    pub bulletins: f64,
    pub findings: f64,
    pub incident_penalty: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            sla: 30.0,
            zero_report: 20.0,
            bulletins: 30.0,
            findings: 20.0,
            incident_penalty: 2.0,
        }
    }
}

/// `[supervise]` checked: what the service runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct SuperviseResolved {
    pub config: SuperviseConfig,
    /// The reports' offset, parsed.
    pub offset: time::UtcOffset,
    /// The reports' time of day, in minutes after midnight.
    pub report_minute: u32,
}

impl Default for SuperviseResolved {
    fn default() -> Self {
        SuperviseConfig::default()
            .resolve()
            .unwrap_or_else(|_| SuperviseResolved {
                config: SuperviseConfig::default(),
                offset: time::UtcOffset::UTC,
                report_minute: 8 * 60,
            })
    }
}

impl SuperviseConfig {
    /// Check every key; answers every mistake as `supervise.KEY: reason`.
    pub fn resolve(&self) -> Result<SuperviseResolved, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut positive = |key: &str, v: u64| {
            if v == 0 {
                errors.push(ConfigError::new(
                    format!("supervise.{key}"),
                    "must be positive",
                ));
            }
        };
        positive("sign_hours", self.sign_hours.into());
        positive("attachment_max_mib", self.attachment_max_mib.into());
        positive("step_max_mib", self.step_max_mib.into());
        positive("check_secs", self.check_secs);
        positive(
            "period.report_every_mins",
            self.period.report_every_mins.into(),
        );
        if self.step_max_mib < self.attachment_max_mib {
            errors.push(ConfigError::new(
                "supervise.step_max_mib",
                "must be at least attachment_max_mib",
            ));
        }
        if !(self.period.sla_factor >= 1.0 && self.period.sla_factor <= 100.0) {
            errors.push(ConfigError::new(
                "supervise.period.sla_factor",
                "must be from 1 to 100 (deadlines are divided by it)",
            ));
        }
        let offset = onewall_model::config::parse_offset(&self.reports.offset);
        if offset.is_none() {
            errors.push(ConfigError::new(
                "supervise.reports.offset",
                format!("{:?} is not a UTC offset like +08:00", self.reports.offset),
            ));
        }
        let minute = parse_hhmm(&self.reports.time);
        if minute.is_none() {
            errors.push(ConfigError::new(
                "supervise.reports.time",
                format!("{:?} is not a time of day like 08:00", self.reports.time),
            ));
        }
        for (i, d) in self.reports.departments.iter().enumerate() {
            if d.trim().is_empty() || d.chars().count() > 128 {
                errors.push(ConfigError::new(
                    format!("supervise.reports.departments[{i}]"),
                    "must be a department's name (1 to 128 characters)",
                ));
            }
        }
        let w = &self.score;
        for (key, v) in [
            ("sla", w.sla),
            ("zero_report", w.zero_report),
            ("bulletins", w.bulletins),
            ("findings", w.findings),
            ("incident_penalty", w.incident_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                errors.push(ConfigError::new(
                    format!("supervise.score.{key}"),
                    "must be a number of points, 0 or more",
                ));
            }
        }
        if w.sla + w.zero_report + w.bulletins + w.findings <= 0.0 {
            errors.push(ConfigError::new(
                "supervise.score",
                "the weights sla, zero_report, bulletins and findings must not all be 0",
            ));
        }
        match (errors.is_empty(), offset, minute) {
            (true, Some(offset), Some(report_minute)) => Ok(SuperviseResolved {
                config: self.clone(),
                offset,
                report_minute,
            }),
            _ => Err(errors),
        }
    }
}

/// `HH:MM` as minutes after midnight.
fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve_and_mistakes_are_each_named() {
        let r = SuperviseConfig::default().resolve().expect("defaults");
        assert_eq!(r.report_minute, 480);
        let bad = SuperviseConfig {
            sign_hours: 0,
            reports: ReportSchedule {
                time: "25:00".into(),
                offset: "Beijing".into(),
                ..ReportSchedule::default()
            },
            ..SuperviseConfig::default()
        };
        let errs = bad.resolve().expect_err("bad");
        let keys: Vec<_> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "supervise.sign_hours",
                "supervise.reports.offset",
                "supervise.reports.time"
            ]
        );
    }
}
