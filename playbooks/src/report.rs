//! The daily report (零报告: sent even when nothing happened), as a pure function of the data
//! passed in, and the schedule it runs on.

use std::collections::{BTreeMap, HashMap, HashSet};

use onewall_model::{Alert, Grade, Incident, RegionCode, RegionTree, TimelineKind, Timestamp};
use serde::Serialize;
use time::UtcOffset;

use crate::subject::incident_grade;

/// The line a report with no incidents carries.
pub const ZERO_LINE: &str = "零报告 — no incidents";

/// The last time a source sent anything (the node event bus carries it).
pub use onewall_model::bus::SourceSeen;

/// Everything a report is made from. Incidents and alerts may include ones outside the
/// region or the period: [`build`] picks its own.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The region reported on (its whole subtree).
    pub region: RegionCode,
    /// The region tree, for subtrees and names.
    pub tree: &'a RegionTree,
    /// Start of the period (inclusive).
    pub from: Timestamp,
    /// End of the period (exclusive); the report's time.
    pub to: Timestamp,
    /// The offset the report's times and date are written in.
    pub offset: UtcOffset,
    /// Incidents created or changed in the period (and any others).
    pub incidents: &'a [Incident],
    /// Alerts of the period (and any others).
    pub alerts: &'a [Alert],
    /// Every source's last activity.
    pub sources: &'a [SourceSeen],
    /// A source that sent nothing for this many hours before `to` is silent.
    pub silent_hours: u32,
    /// How many rules to list.
    pub top_rules: usize,
}

/// A rule and how many alerts it raised in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// Rule id.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// Alerts in the period.
    pub alerts: u64,
}

/// A source that went quiet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentSource {
    /// The source.
    pub key: String,
    /// Its region.
    pub region: RegionCode,
    /// When it last sent something.
    pub last_seen: Timestamp,
    /// Whole hours since then, at the report's time.
    pub silent_hours: i64,
}

/// One region's daily report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    /// The region reported on.
    pub region: RegionCode,
    /// Its name.
    pub region_name: String,
    /// The report's date (`YYYY-MM-DD`, local to the configured offset, of the period's end).
    pub date: String,
    /// Start of the period.
    pub from: Timestamp,
    /// End of the period.
    pub to: Timestamp,
    /// Start and end as local text, `YYYY-MM-DD HH:MM`, and the offset (`+08:00`).
    pub from_local: String,
    /// See `from_local`.
    pub to_local: String,
    /// See `from_local`.
    pub offset: String,
    /// Incidents opened in the period, by grade (`I`..`IV`); every grade is present.
    pub opened: BTreeMap<Grade, u64>,
    /// Incidents closed (resolved, closed or false positive) in the period, by grade.
    pub closed: BTreeMap<Grade, u64>,
    /// Incidents still open at the report's time (of those passed in).
    pub still_open: u64,
    /// Alerts in the period.
    pub alerts: u64,
    /// Rules with the most alerts, most first.
    pub top_rules: Vec<RuleCount>,
    /// Sources that went silent, longest silent first.
    pub silent_sources: Vec<SilentSource>,
    /// The silence threshold used, in hours.
    pub silent_hours: u32,
    /// Unknown and silent hosts of the region, when the node keeps assets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<ReportExposure>,
}

/// Hosts listed at most per kind in a report (the counts are whole).
pub const EXPOSURE_LISTED: usize = 20;

/// The region's exposure in a report: hosts seen but not registered (未登记资产) and
/// registered hosts that sent nothing (静默资产), counted, the first
/// [`EXPOSURE_LISTED`] of each listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportExposure {
    pub unknown: usize,
    pub silent: usize,
    /// The silence threshold, in hours.
    pub silent_hours: u32,
    pub unknown_hosts: Vec<ExposedHost>,
    pub silent_hosts: Vec<ExposedHost>,
}

pub use onewall_model::asset::{ExposedHost, ExposureReport};

impl ReportExposure {
    /// The part of `r` in `region`'s subtree.
    pub fn of(r: &ExposureReport, region: RegionCode, tree: &RegionTree) -> ReportExposure {
        let within = |c: RegionCode| c == region || tree.is_within(c, region);
        let unknown: Vec<&ExposedHost> = r.unknown.iter().filter(|h| within(h.region)).collect();
        let silent: Vec<&ExposedHost> = r.silent.iter().filter(|h| within(h.region)).collect();
        let first = |v: &[&ExposedHost]| {
            v.iter()
                .take(EXPOSURE_LISTED)
                .map(|h| (*h).clone())
                .collect()
        };
        ReportExposure {
            unknown: unknown.len(),
            silent: silent.len(),
            silent_hours: r.silent_hours,
            unknown_hosts: first(&unknown),
            silent_hosts: first(&silent),
        }
    }

    /// Its lines in the report's text.
    fn text(&self, t: &mut String) {
        let line = |t: &mut String, h: &ExposedHost| {
            let mut l = format!("  - {}", h.address);
            if let Some(n) = h.host.as_ref().filter(|n| **n != h.address) {
                l.push_str(&format!(" ({n})"));
            }
            if let Some(s) = &h.system {
                l.push_str(&format!(" 系统 {s}"));
            }
            l.push_str(&format!(" [{}]", h.region));
            match h.last_seen {
                Some(at) => l.push_str(&format!(" 最后出现 {}", at.to_rfc3339())),
                None => l.push_str(" 从未出现"),
            }
            t.push_str(&l);
            t.push('\n');
        };
        t.push_str(&format!("未登记资产: {}\n", self.unknown));
        for h in &self.unknown_hosts {
            line(t, h);
        }
        t.push_str(&format!(
            "静默资产 (超过 {} 小时无数据): {}\n",
            self.silent_hours, self.silent
        ));
        for h in &self.silent_hosts {
            line(t, h);
        }
    }
}

impl DailyReport {
    /// Incidents opened, all grades.
    pub fn opened_total(&self) -> u64 {
        self.opened.values().sum()
    }

    /// Incidents closed, all grades.
    pub fn closed_total(&self) -> u64 {
        self.closed.values().sum()
    }

    /// Nothing was opened or closed: a zero report.
    pub fn is_zero(&self) -> bool {
        self.opened_total() == 0 && self.closed_total() == 0
    }

    /// The subject line: `【日报】郑州市(410100) 2026-11-28 零报告` or `… 新增 3 起事件`.
    pub fn title(&self) -> String {
        let what = if self.is_zero() {
            "零报告".to_owned()
        } else {
            format!(
                "新增 {} 起事件, 完结 {} 起",
                self.opened_total(),
                self.closed_total()
            )
        };
        format!(
            "【日报】{}({}) {} {what}",
            self.region_name, self.region, self.date
        )
    }

    /// The report as plain text.
    pub fn text(&self) -> String {
        let by_grade = |m: &BTreeMap<Grade, u64>| {
            Grade::ALL
                .iter()
                .map(|g| format!("{}级 {}", g.numeral(), m.get(g).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut t = format!(
            "onewall 日报 {}({}) {}\n统计时段: {} — {} (UTC{})\n",
            self.region_name, self.region, self.date, self.from_local, self.to_local, self.offset
        );
        if self.is_zero() {
            t.push_str(ZERO_LINE);
            t.push('\n');
        }
        t.push_str(&format!(
            "新增事件: {} ({})\n完结事件: {} ({})\n仍在处置: {}\n告警: {}\n",
            self.opened_total(),
            by_grade(&self.opened),
            self.closed_total(),
            by_grade(&self.closed),
            self.still_open,
            self.alerts
        ));
        if self.top_rules.is_empty() {
            t.push_str("告警最多的规则: 无\n");
        } else {
            t.push_str("告警最多的规则:\n");
            for (i, r) in self.top_rules.iter().enumerate() {
                t.push_str(&format!(
                    "  {}. {} ({}): {}\n",
                    i + 1,
                    r.title,
                    r.id,
                    r.alerts
                ));
            }
        }
        if self.silent_sources.is_empty() {
            t.push_str(&format!(
                "静默数据源 (超过 {} 小时无数据): 无\n",
                self.silent_hours
            ));
        } else {
            t.push_str(&format!(
                "静默数据源 (超过 {} 小时无数据):\n",
                self.silent_hours
            ));
            for s in &self.silent_sources {
                t.push_str(&format!(
                    "  - {} [{}] 最后数据 {} ({} 小时)\n",
                    s.key,
                    s.region,
                    s.last_seen.to_rfc3339(),
                    s.silent_hours
                ));
            }
        }
        if let Some(e) = &self.exposure {
            e.text(&mut t);
        }
        t
    }
}

/// Build a region's report from the data passed in. Pure: the same input gives the same report.
pub fn build(input: &ReportInput<'_>) -> DailyReport {
    let within = |c: RegionCode| c == input.region || input.tree.is_within(c, input.region);
    let in_period = |t: Timestamp| t >= input.from && t < input.to;
    let zero = || {
        Grade::ALL
            .iter()
            .map(|g| (*g, 0u64))
            .collect::<BTreeMap<_, _>>()
    };
    let mut opened = zero();
    let mut closed = zero();
    let mut still_open = 0;
    let mut seen = HashSet::new();
    // Drills (演练) are exercises, not incidents: the zero report leaves them out.
    for inc in input.incidents.iter().filter(|i| i.drill.is_none()) {
        if !within(inc.region) || !seen.insert(inc.id) {
            continue;
        }
        let grade = incident_grade(inc);
        if in_period(inc.created) {
            *opened.entry(grade).or_default() += 1;
        }
        if closed_in(inc, input.from, input.to) {
            *closed.entry(grade).or_default() += 1;
        }
        if inc.status.is_open() && inc.created < input.to {
            still_open += 1;
        }
    }
    let mut rules: HashMap<&str, (&str, u64)> = HashMap::new();
    let mut alerts = 0;
    let mut seen_alerts = HashSet::new();
    for a in input.alerts.iter().filter(|a| a.drill.is_none()) {
        if !within(a.region) || !in_period(a.created) || !seen_alerts.insert(a.id) {
            continue;
        }
        alerts += 1;
        rules.entry(&a.rule.id).or_insert((&a.rule.title, 0)).1 += 1;
    }
    let mut top_rules: Vec<RuleCount> = rules
        .into_iter()
        .map(|(id, (title, n))| RuleCount {
            id: id.to_owned(),
            title: title.to_owned(),
            alerts: n,
        })
        .collect();
    top_rules.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.id.cmp(&b.id)));
    top_rules.truncate(input.top_rules);
    let threshold = input.to.add_secs(-(input.silent_hours as i64) * 3600);
    let mut silent_sources: Vec<SilentSource> = input
        .sources
        .iter()
        .filter(|s| within(s.region) && s.last_seen <= threshold)
        .map(|s| SilentSource {
            key: s.key.clone(),
            region: s.region,
            last_seen: s.last_seen,
            silent_hours: (input.to.secs() - s.last_seen.secs()) / 3600,
        })
        .collect();
    silent_sources.sort_by(|a, b| {
        a.last_seen
            .cmp(&b.last_seen)
            .then_with(|| a.key.cmp(&b.key))
    });
    DailyReport {
        region: input.region,
        region_name: input
            .tree
            .get(input.region)
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        date: local(input.to, input.offset, false),
        from: input.from,
        to: input.to,
        from_local: local(input.from, input.offset, true),
        to_local: local(input.to, input.offset, true),
        offset: offset_text(input.offset),
        opened,
        closed,
        still_open,
        alerts,
        top_rules,
        silent_sources,
        silent_hours: input.silent_hours,
        exposure: None,
    }
}

/// Whether the incident left the open states within `[from, to)`: its timeline has such a
/// step; an incident with no timeline counts by its status and `updated`.
fn closed_in(inc: &Incident, from: Timestamp, to: Timestamp) -> bool {
    let mut any_step = false;
    for e in &inc.timeline {
        if let TimelineKind::StatusChanged { from: a, to: b } = e.change {
            any_step = true;
            if a.is_open() && !b.is_open() && e.at >= from && e.at < to {
                return true;
            }
        }
    }
    !any_step && !inc.status.is_open() && inc.updated >= from && inc.updated < to
}

fn local(t: Timestamp, offset: UtcOffset, with_time: bool) -> String {
    let d = t.to_offset_date_time().to_offset(offset);
    if with_time {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            d.year(),
            d.month() as u8,
            d.day(),
            d.hour(),
            d.minute()
        )
    } else {
        format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }
}

fn offset_text(o: UtcOffset) -> String {
    let (h, m, _) = o.as_hms();
    let sign = if h < 0 || m < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// A time of day at which the report runs, in a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Seconds after local midnight.
    pub at_secs: i64,
    /// The offset the time of day is in (`+08:00`: Beijing time).
    pub offset: UtcOffset,
}

impl Schedule {
    /// Read `HH:MM` or `HH:MM:SS`.
    pub fn parse(time_of_day: &str, offset: UtcOffset) -> Result<Schedule, String> {
        let parts: Vec<&str> = time_of_day.trim().split(':').collect();
        let num = |s: &str, max: i64| -> Option<i64> {
            (s.len() == 2)
                .then(|| s.parse::<i64>().ok())
                .flatten()
                .filter(|v| (0..=max).contains(v))
        };
        let secs = match parts.as_slice() {
            [h, m] => num(h, 23).zip(num(m, 59)).map(|(h, m)| h * 3600 + m * 60),
            [h, m, s] => num(h, 23)
                .zip(num(m, 59))
                .zip(num(s, 59))
                .map(|((h, m), s)| h * 3600 + m * 60 + s),
            _ => None,
        };
        secs.map(|at_secs| Schedule { at_secs, offset })
            .ok_or_else(|| format!("{time_of_day:?} is not a time of day like 08:00"))
    }

    /// The latest run time at or before `now`.
    pub fn last_due(&self, now: Timestamp) -> Timestamp {
        let off = self.offset.whole_seconds() as i64;
        let local = now.secs() + off;
        let day_start = local.div_euclid(86_400) * 86_400;
        let mut due = day_start + self.at_secs;
        if due > local {
            due -= 86_400;
        }
        Timestamp::from_secs(due - off)
    }

    /// The first run time after `now`.
    pub fn next_after(&self, now: Timestamp) -> Timestamp {
        self.last_due(now).add_secs(86_400)
    }

    /// The local date (`YYYY-MM-DD`) of a run time: the date its report carries.
    pub fn date_of(&self, due: Timestamp) -> String {
        local(due, self.offset, false)
    }

    /// The run time on the local date `day` (`YYYY-MM-DD`); `None` when it is not a date.
    pub fn due_on(&self, day: &str) -> Option<Timestamp> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(day, &fmt).ok()?;
        let midnight = date.midnight().assume_offset(self.offset).unix_timestamp();
        Some(Timestamp::from_secs(midnight + self.at_secs))
    }
}

#[cfg(test)]
mod tests;
