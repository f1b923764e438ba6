//! Drills (演练): a drill has regions, a window and the red team's planned actions, replayed
//! from a scenario (each action's events, marked with the drill and action ids) or carried out
//! live from the red team's addresses. Alerts of a drill are marked ([`Marker`]), kept out of
//! the real statistics and reports, and scored per planned action: time to detect, time to
//! respond, missed ([`score`]).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use onewall_model::id::DrillId;
use onewall_model::supervise::{
    DRILL_ACTION_FIELD, DRILL_ID_FIELD, Drill, DrillMark, DrillMode, PlannedAction, SuperviseDown,
};
use onewall_model::{
    Alert, EntityKind, Event, Incident, IncidentStatus, RegionCode, TimelineKind, Timestamp,
};
use onewall_store::{AlertQuery, IncidentQuery};
use serde::Serialize;

use crate::doc::Doc;
use crate::{Actor, Result, SuperviseError, Supervision, db};

/// A scenario as written (YAML or JSON): the drill without ids and issuer.
///
/// ```yaml
/// name: 2026 护网演练 第一轮
/// regions: ["410100"]
/// start: 2026-12-07T09:00:00+08:00
/// end: 2026-12-07T18:00:00+08:00
/// mode: scenario            # or live, with red_team: ["10.9.0.0/16"]
/// actions:
///   - id: brute
///     name: SSH 暴力破解
///     at_secs: 0
///     technique: T1110
///     expect: { rules: ["onewall-ssh-brute-force"] }
///     events:
///       - "<38>Dec  7 09:00:01 web1 sshd[1]: Failed password for root from 10.9.0.5 port 2222 ssh2"
///       - { "message": "...", "source.ip": "10.9.0.5" }
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The drill's name.
    pub name: String,
    /// The regions it covers (each with its subtree).
    pub regions: Vec<RegionCode>,
    /// The window: from.
    pub start: Timestamp,
    /// The window: until.
    pub end: Timestamp,
    /// Replayed events (`scenario`, the default) or a live red team (`live`).
    #[serde(default)]
    pub mode: DrillMode,
    /// Live drills: the red team's addresses or networks.
    #[serde(default)]
    pub red_team: Vec<String>,
    /// The planned actions.
    pub actions: Vec<PlannedAction>,
}

impl Scenario {
    /// Read a scenario from YAML or JSON text; every mistake named (action ids unique, at
    /// least one action, start < end, events only in scenario mode, red team addresses
    /// parse, `at_secs` within the window).
    pub fn parse(text: &str) -> Result<Scenario> {
        let bad = |m: String| SuperviseError::Invalid(format!("drill scenario: {m}"));
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return Err(bad("the text is empty".into()));
        }
        // JSON is YAML too, but serde_json names JSON mistakes more plainly.
        let (s, raw): (Scenario, serde_json::Value) = if trimmed.starts_with('{') {
            let s = serde_json::from_str(text).map_err(|e| bad(format!("JSON: {e}")))?;
            (
                s,
                serde_json::from_str(text).map_err(|e| bad(format!("JSON: {e}")))?,
            )
        } else {
            let s = serde_norway::from_str(text).map_err(|e| bad(format!("YAML: {e}")))?;
            (
                s,
                serde_norway::from_str(text).map_err(|e| bad(format!("YAML: {e}")))?,
            )
        };
        unknown_keys(&raw).map_err(bad)?;
        s.check().map_err(bad)?;
        Ok(s)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        if self.regions.is_empty() {
            return Err("`regions` is empty: name at least one region".into());
        }
        if self.start >= self.end {
            return Err(format!(
                "`start` ({}) is not before `end` ({})",
                self.start.to_rfc3339(),
                self.end.to_rfc3339()
            ));
        }
        if self.actions.is_empty() {
            return Err("`actions` is empty: plan at least one action".into());
        }
        for (i, n) in self.red_team.iter().enumerate() {
            Net::parse(n).map_err(|e| format!("red_team[{i}]: {e}"))?;
        }
        if self.mode == DrillMode::Live && self.red_team.is_empty() {
            return Err("a live drill needs `red_team` addresses or networks".into());
        }
        let window = self.end.secs() - self.start.secs();
        let mut ids = HashSet::new();
        for (i, a) in self.actions.iter().enumerate() {
            let at = |m: String| format!("actions[{i}] (`{}`): {m}", a.id);
            if a.id.trim().is_empty() {
                return Err(format!("actions[{i}]: `id` is empty"));
            }
            if !ids.insert(a.id.as_str()) {
                return Err(at("the id is used by an earlier action".into()));
            }
            if a.name.trim().is_empty() {
                return Err(at("`name` is empty".into()));
            }
            if i64::try_from(a.at_secs).map_or(true, |s| s >= window) {
                return Err(at(format!(
                    "`at_secs` {} is not within the window ({window} s)",
                    a.at_secs
                )));
            }
            if let Some(r) = a.region
                && !self.regions.contains(&r)
            {
                return Err(at(format!(
                    "`region` {r} is not one of the drill's regions"
                )));
            }
            match self.mode {
                DrillMode::Live if !a.events.is_empty() => {
                    return Err(at("a live drill replays no events: remove `events`".into()));
                }
                DrillMode::Scenario if a.events.is_empty() => {
                    return Err(at(
                        "no `events`: a scenario drill replays each action's events".into(),
                    ));
                }
                _ => {}
            }
            for (j, e) in a.events.iter().enumerate() {
                if !(e.is_string() || e.is_object()) {
                    return Err(at(format!(
                        "events[{j}] is neither a log line (text) nor an event (object)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The keys an action and its `expect` may have: a misspelt key would otherwise be dropped
/// silently (the action's record reads leniently, as other levels' newer drills must).
const ACTION_KEYS: &[&str] = &[
    "id",
    "name",
    "at_secs",
    "technique",
    "expect",
    "region",
    "events",
];
const EXPECT_KEYS: &[&str] = &["rules", "tags"];

fn unknown_keys(raw: &serde_json::Value) -> std::result::Result<(), String> {
    let actions = raw.get("actions").and_then(|a| a.as_array());
    for (i, a) in actions.into_iter().flatten().enumerate() {
        let Some(obj) = a.as_object() else { continue };
        let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or("");
        for k in obj.keys().filter(|k| !ACTION_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "actions[{i}] (`{id}`): unknown field `{k}`, expected one of {}",
                ACTION_KEYS.join(", ")
            ));
        }
        let expect = obj.get("expect").and_then(|e| e.as_object());
        for k in expect.into_iter().flat_map(|e| e.keys()) {
            if !EXPECT_KEYS.contains(&k.as_str()) {
                return Err(format!(
                    "actions[{i}] (`{id}`).expect: unknown field `{k}`, expected rules or tags"
                ));
            }
        }
    }
    Ok(())
}

/// An address or a network (`10.9.0.5`, `10.9.0.0/16`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(s: &str) -> std::result::Result<Net, String> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{s}` is not an address or network (10.9.0.0/16)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Net { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => match v.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)), 32),
                    None => (u128::from(v), 128),
                },
            }
        }
        let (n, nw) = bits(self.addr);
        let (a, aw) = bits(ip);
        if nw != aw {
            return false;
        }
        let host = u32::from(nw - self.prefix.min(nw));
        if host >= 128 {
            return true;
        }
        (n >> host) == (a >> host)
    }
}

/// Is `code` `ancestor` or in its subtree? Region codes (GB/T 2260) are hierarchical by
/// digit pairs: a province `41 00 00` holds every code starting `41`, a city `41 01 00`
/// every code starting `4101`. The marker runs on the detect path with no region tree.
pub(crate) fn region_within(code: RegionCode, ancestor: RegionCode) -> bool {
    let (c, a) = (code.get(), ancestor.get());
    let mut unit = 1;
    while unit < 1_000_000 && a % (unit * 100) == 0 {
        unit *= 100;
    }
    c / unit == a / unit
}

/// A live drill, ready for the hot path.
#[derive(Debug, Clone)]
struct Live {
    id: DrillId,
    regions: Vec<RegionCode>,
    start: Timestamp,
    end: Timestamp,
    nets: Vec<Net>,
    actions: Vec<PlannedAction>,
}

/// What the detect stage marks alerts with: the drills running (or about to), with their
/// red-team networks parsed. Built from the cache after each change.
#[derive(Debug, Clone, Default)]
pub struct Marker {
    drills: Vec<Drill>,
    /// Drill ids as events carry them (text), by id.
    by_text: HashMap<String, DrillId>,
    live: Vec<Live>,
}

impl Marker {
    /// A marker over `drills` (those not ended long ago).
    pub fn new(drills: Vec<Drill>) -> Marker {
        let by_text = drills.iter().map(|d| (d.id.to_string(), d.id)).collect();
        let live = drills
            .iter()
            .filter(|d| d.mode == DrillMode::Live)
            .map(|d| Live {
                id: d.id,
                regions: d.regions.clone(),
                start: d.start,
                end: d.end,
                nets: d
                    .red_team
                    .iter()
                    .filter_map(|n| Net::parse(n).ok())
                    .collect(),
                actions: d.actions.clone(),
            })
            .collect();
        Marker {
            drills,
            by_text,
            live,
        }
    }

    /// Is there nothing to mark with?
    pub fn is_empty(&self) -> bool {
        self.drills.is_empty()
    }

    /// The mark of `alert`, raised on `events` (the alert's own events among the batch):
    /// an event carrying the drill fields (`onewall.drill.id`, `onewall.drill.action`) of a
    /// drill held here; or, for a live drill, an alert in its regions and window naming a
    /// red-team address (its action: the latest one carried out by the alert's time whose
    /// `expect` the alert meets, if any).
    pub fn mark(&self, alert: &Alert, events: &[&Event]) -> Option<DrillMark> {
        if self.drills.is_empty() {
            return None;
        }
        for e in events {
            let Some(id) = e.get(DRILL_ID_FIELD).and_then(|v| v.to_text()) else {
                continue;
            };
            if let Some(drill) = self.by_text.get(id.trim()) {
                let action = e
                    .get(DRILL_ACTION_FIELD)
                    .and_then(|v| v.to_text())
                    .map(|a| a.into_owned())
                    .filter(|a| !a.is_empty());
                return Some(DrillMark {
                    drill: *drill,
                    action,
                });
            }
        }
        let live = self.live.iter().find(|l| {
            l.start <= alert.time
                && alert.time <= l.end
                && l.regions.iter().any(|r| region_within(alert.region, *r))
                && names_red_team(alert, events, &l.nets)
        })?;
        let action = live
            .actions
            .iter()
            .filter(|a| live.start.add_secs(a.at_secs as i64) <= alert.time && expects(a, alert))
            .max_by_key(|a| a.at_secs)
            .map(|a| a.id.clone());
        Some(DrillMark {
            drill: live.id,
            action,
        })
    }
}

/// Does the alert (its address entities, or its events' source and destination addresses)
/// name an address of `nets`?
fn names_red_team(alert: &Alert, events: &[&Event], nets: &[Net]) -> bool {
    let hit = |s: &str| {
        s.trim()
            .parse::<IpAddr>()
            .is_ok_and(|ip| nets.iter().any(|n| n.contains(ip)))
    };
    alert
        .entities
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EntityKind::SourceIp | EntityKind::DestinationIp | EntityKind::Host
            )
        })
        .any(|e| hit(&e.value))
        || events.iter().any(|e| {
            ["source.ip", "destination.ip"]
                .iter()
                .filter_map(|f| e.get(f).and_then(|v| v.to_text()))
                .any(|v| hit(&v))
        })
}

/// Does `alert` meet what `action` expects (a rule id, or a tag, case-insensitive)? An action
/// that expects nothing is met by any alert.
fn expects(action: &PlannedAction, alert: &Alert) -> bool {
    let x = &action.expect;
    if x.rules.is_empty() && x.tags.is_empty() {
        return true;
    }
    x.rules.iter().any(|r| *r == alert.rule.id)
        || x.tags
            .iter()
            .any(|t| alert.rule.tags.iter().any(|a| a.eq_ignore_ascii_case(t)))
}

/// How one planned action went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionScore {
    /// The action's id.
    pub action: String,
    /// Its name.
    pub name: String,
    /// When it was carried out (start + at_secs).
    pub executed: Timestamp,
    /// The first drill alert of the action (by mark, or by `expect` for live drills).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<Timestamp>,
    /// When an incident holding one of its alerts was first acknowledged (or left `new`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responded: Option<Timestamp>,
    /// Seconds from `executed` to `detected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect_secs: Option<i64>,
    /// Seconds from `executed` to `responded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub respond_secs: Option<i64>,
    /// Not detected by the end of the drill.
    pub missed: bool,
    /// The drill alerts of the action.
    pub alerts: u64,
    /// Whether an alert matched what the action expected (its rules or tags).
    pub expected_matched: bool,
}

/// A drill's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    /// The drill.
    pub drill: Drill,
    /// Each planned action's score, in the plan's order.
    pub actions: Vec<ActionScore>,
    /// Actions detected.
    pub detected: u64,
    /// Actions missed (not detected by the end).
    pub missed: u64,
    /// Mean seconds to detect, over the actions detected.
    pub mean_detect_secs: Option<f64>,
    /// Mean seconds to respond, over the actions responded to.
    pub mean_respond_secs: Option<f64>,
    /// Share of actions detected, 0–100.
    pub score: f64,
    /// When the report was made.
    pub generated: Timestamp,
}

/// When `drill` began: its replay's start for a started scenario, else its window's start.
fn began(drill: &Drill) -> Timestamp {
    drill.started.unwrap_or(drill.start)
}

/// When `drill` is over: its window's end, or later when a late replay's last action falls
/// after it.
pub fn drill_end(drill: &Drill) -> Timestamp {
    let last = drill.actions.iter().map(|a| a.at_secs).max().unwrap_or(0) as i64;
    drill.end.max(began(drill).add_secs(last))
}

/// When an incident first left `new` (the earliest status change away from it).
fn left_new(i: &Incident) -> Option<Timestamp> {
    i.timeline
        .iter()
        .filter(|t| {
            matches!(
                t.change,
                TimelineKind::StatusChanged {
                    from: IncidentStatus::New,
                    ..
                }
            )
        })
        .map(|t| t.at)
        .min()
}

/// Score `drill` from its alerts (marked with it) and the incidents holding them. An alert
/// marked with the drill but no action counts for a live drill's action when it meets the
/// action's `expect` and came after the action was carried out.
pub fn score(
    drill: &Drill,
    alerts: &[Alert],
    incidents: &[Incident],
    now: Timestamp,
) -> DrillReport {
    let ours: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.drill.as_ref().is_some_and(|m| m.drill == drill.id))
        .collect();
    let over = now >= drill_end(drill);
    let mut actions = Vec::with_capacity(drill.actions.len());
    for pa in &drill.actions {
        let executed = began(drill).add_secs(pa.at_secs as i64);
        let mine: Vec<&Alert> = ours
            .iter()
            .copied()
            .filter(
                |a| match a.drill.as_ref().and_then(|m| m.action.as_deref()) {
                    Some(act) => act == pa.id,
                    None => {
                        drill.mode == DrillMode::Live && a.created >= executed && expects(pa, a)
                    }
                },
            )
            .collect();
        let detected = mine.iter().map(|a| a.created).min();
        let ids: HashSet<_> = mine.iter().map(|a| a.id).collect();
        let responded = incidents
            .iter()
            .filter(|i| i.alert_ids.iter().any(|id| ids.contains(id)))
            .filter_map(left_new)
            .min();
        let secs = |t: Option<Timestamp>| t.map(|t| (t.secs() - executed.secs()).max(0));
        actions.push(ActionScore {
            action: pa.id.clone(),
            name: pa.name.clone(),
            executed,
            detected,
            responded,
            detect_secs: secs(detected),
            respond_secs: secs(responded),
            missed: detected.is_none() && over,
            alerts: mine.len() as u64,
            expected_matched: mine.iter().any(|a| expects(pa, a)),
        });
    }
    let mean = |v: Vec<i64>| (!v.is_empty()).then(|| v.iter().sum::<i64>() as f64 / v.len() as f64);
    let detected = actions.iter().filter(|a| a.detected.is_some()).count() as u64;
    let missed = actions.iter().filter(|a| a.missed).count() as u64;
    let score = if actions.is_empty() {
        0.0
    } else {
        (detected as f64 * 1000.0 / actions.len() as f64).round() / 10.0
    };
    DrillReport {
        drill: drill.clone(),
        mean_detect_secs: mean(actions.iter().filter_map(|a| a.detect_secs).collect()),
        mean_respond_secs: mean(actions.iter().filter_map(|a| a.respond_secs).collect()),
        actions,
        detected,
        missed,
        score,
        generated: now,
    }
}

/// Seconds as people read them (`2 分 5 秒`).
pub(crate) fn duration_zh(secs: f64) -> String {
    let s = secs.round() as i64;
    match s {
        s if s < 60 => format!("{s} 秒"),
        s if s < 3600 => format!("{} 分 {} 秒", s / 60, s % 60),
        s => format!("{} 小时 {} 分", s / 3600, (s % 3600) / 60),
    }
}

/// A time in the drill report (RFC 3339, seconds).
fn at(t: Timestamp) -> String {
    Timestamp::from_secs(t.secs()).to_rfc3339()
}

impl DrillReport {
    /// As a document.
    pub fn to_doc(&self) -> Doc {
        let d = &self.drill;
        let mode = match d.mode {
            DrillMode::Scenario => "场景回放",
            DrillMode::Live => "实战攻防",
        };
        let regions: Vec<String> = d.regions.iter().map(ToString::to_string).collect();
        let mut doc = Doc::new(
            format!("{} 演练报告", d.name),
            format!(
                "{} 至 {}，地区 {}",
                at(d.start),
                at(d.end),
                regions.join("、")
            ),
        );
        let opt = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), duration_zh);
        doc.heading("一、总体情况").figures(vec![
            ("演练编号".into(), d.id.to_string()),
            ("演练方式".into(), mode.into()),
            ("计划动作".into(), self.actions.len().to_string()),
            ("已发现".into(), self.detected.to_string()),
            ("未发现".into(), self.missed.to_string()),
            ("平均发现时间".into(), opt(self.mean_detect_secs)),
            ("平均响应时间".into(), opt(self.mean_respond_secs)),
            ("得分".into(), format!("{:.1}", self.score)),
        ]);
        let rows = self
            .actions
            .iter()
            .map(|a| {
                let state = if a.detected.is_some() {
                    "已发现"
                } else if a.missed {
                    "未发现"
                } else {
                    "进行中"
                };
                vec![
                    a.action.clone(),
                    a.name.clone(),
                    at(a.executed),
                    a.detected.map_or_else(|| "—".into(), at),
                    a.detect_secs.map_or_else(|| "—".into(), |s| s.to_string()),
                    a.respond_secs.map_or_else(|| "—".into(), |s| s.to_string()),
                    a.alerts.to_string(),
                    if a.expected_matched { "是" } else { "否" }.into(),
                    state.into(),
                ]
            })
            .collect();
        doc.heading("二、各动作得分").table(
            "计划动作",
            &[
                "动作",
                "名称",
                "实施时间",
                "发现时间",
                "发现用时(秒)",
                "响应用时(秒)",
                "告警数",
                "命中预期",
                "结果",
            ],
            rows,
        );
        doc.paragraph(format!("报告生成于 {}。", at(self.generated)));
        doc
    }
}

impl Supervision {
    /// Plan a drill from a scenario (regions within this node's subtree); stored, sent to the
    /// child nodes it covers, audited `drill.plan`.
    pub async fn plan_drill(&self, actor: &Actor, scenario: Scenario) -> Result<Drill> {
        scenario
            .check()
            .map_err(|m| SuperviseError::Invalid(format!("drill scenario: {m}")))?;
        for r in &scenario.regions {
            if !self.tree.contains(*r) {
                return Err(SuperviseError::Invalid(format!(
                    "drill: unknown region {r}"
                )));
            }
            if !self.covers(self.node.region, *r) || !self.covers(actor.scope, *r) {
                return Err(SuperviseError::Forbidden(format!(
                    "drill: region {r} is outside your scope"
                )));
            }
        }
        let now = Timestamp::now();
        let drill = Drill {
            id: DrillId::new(now),
            name: scenario.name,
            regions: scenario.regions,
            start: scenario.start,
            end: scenario.end,
            mode: scenario.mode,
            red_team: scenario.red_team,
            actions: scenario.actions,
            issuer: self.node.region,
            by: actor.name.clone(),
            created: now,
            started: None,
        };
        let d = drill.clone();
        self.db.call(move |c| db::drills::put(c, &d)).await?;
        self.reload_cache()?;
        self.audit(actor.audit_record(
            "drill.plan",
            format!("drill/{}", drill.id),
            format!("{} ({} actions)", drill.name, drill.actions.len()),
        ))?;
        self.send_drill_down(&drill)?;
        Ok(drill)
    }

    /// Queue `drill` for every child node whose region it covers (or that covers one of its
    /// regions).
    fn send_drill_down(&self, drill: &Drill) -> Result<()> {
        for child in self.courier.children() {
            let concerned = drill
                .regions
                .iter()
                .any(|r| self.covers(*r, child) || self.covers(child, *r));
            if concerned {
                let msg = SuperviseDown::Drill {
                    drill: Box::new(drill.clone()),
                };
                self.courier.down(child, msg).map_err(|e| {
                    SuperviseError::Internal(format!("drill: queueing for {child}: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// Child: a drill from the parent (idempotent: the same drill again changes nothing; a
    /// changed one, such as its start, replaces it). Passed on to this node's children.
    pub async fn receive_drill(&self, parent: RegionCode, drill: Drill) -> Result<()> {
        let d = drill.clone();
        let changed = self.db.call(move |c| db::drills::put(c, &d)).await?;
        if !changed {
            return Ok(());
        }
        self.reload_cache()?;
        let action = if drill.started.is_some() {
            "drill.start"
        } else {
            "drill.plan"
        };
        self.audit(Actor::remote(parent, &drill.by).audit_record(
            action,
            format!("drill/{}", drill.id),
            format!("{} (from {parent})", drill.name),
        ))?;
        self.send_drill_down(&drill)
    }

    /// Mark a scenario drill started at `at` (the node's replay runs its actions from then);
    /// audited `drill.start`. Refused when started already or not a scenario.
    pub async fn start_drill(&self, actor: &Actor, id: DrillId, at: Timestamp) -> Result<Drill> {
        let mut drill = self
            .drill(id)
            .filter(|d| d.regions.iter().any(|r| self.covers(actor.scope, *r)))
            .ok_or_else(|| SuperviseError::NotFound(format!("no drill {id}")))?;
        if drill.mode != DrillMode::Scenario {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} is a live exercise: there is nothing to replay"
            )));
        }
        if let Some(s) = drill.started {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} was started already at {}",
                s.to_rfc3339()
            )));
        }
        if at >= drill.end {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} ended at {}",
                drill.end.to_rfc3339()
            )));
        }
        drill.started = Some(at);
        let d = drill.clone();
        self.db.call(move |c| db::drills::put(c, &d)).await?;
        self.reload_cache()?;
        self.audit(actor.audit_record("drill.start", format!("drill/{id}"), drill.name.clone()))?;
        self.send_drill_down(&drill)?;
        Ok(drill)
    }

    /// Every drill held, newest start first.
    pub fn drills(&self) -> Vec<Drill> {
        let mut d = self.cached().drills;
        d.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
        d
    }

    /// One drill.
    pub fn drill(&self, id: DrillId) -> Option<Drill> {
        self.cached().drills.into_iter().find(|d| d.id == id)
    }

    /// The marker over the drills held (for the detect stage).
    pub fn marker(&self) -> Marker {
        Marker::new(self.cached().drills)
    }

    /// The drill's report now: its alerts (by mark) and their incidents from the store.
    /// Alerts are read from the drill's window (from the earlier of its start and its
    /// replay's start, to the later of its end and now), every page.
    pub async fn drill_report(&self, id: DrillId, now: Timestamp) -> Result<DrillReport> {
        let drill = self
            .drill(id)
            .ok_or_else(|| SuperviseError::NotFound(format!("no drill {id}")))?;
        let from = drill.start.min(began(&drill));
        let to = drill_end(&drill).max(now).add_secs(1);
        let mut alerts = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .search_alerts(AlertQuery {
                    from: Some(from),
                    to: Some(to),
                    limit: onewall_store::MAX_LIMIT,
                    cursor,
                    ..AlertQuery::default()
                })
                .await?;
            alerts.extend(
                page.items
                    .into_iter()
                    .filter(|a| a.drill.as_ref().is_some_and(|m| m.drill == id)),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let ids: HashSet<_> = alerts.iter().map(|a| a.id).collect();
        let mut incidents = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .search_incidents(IncidentQuery {
                    since: Some(from),
                    limit: onewall_store::MAX_LIMIT,
                    cursor,
                    ..IncidentQuery::default()
                })
                .await?;
            incidents.extend(
                page.items
                    .into_iter()
                    .filter(|i| i.drill == Some(id) || i.alert_ids.iter().any(|a| ids.contains(a))),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(score(&drill, &alerts, &incidents, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hold_their_addresses() {
        let n = Net::parse("10.9.0.0/16").expect("net");
        assert!(n.contains("10.9.255.1".parse().expect("ip")));
        assert!(!n.contains("10.10.0.1".parse().expect("ip")));
        assert!(n.contains("::ffff:10.9.0.1".parse().expect("ip")));
        let one = Net::parse("10.9.0.5").expect("addr");
        assert!(one.contains("10.9.0.5".parse().expect("ip")));
        assert!(!one.contains("10.9.0.6".parse().expect("ip")));
        assert!(
            Net::parse("0.0.0.0/0")
                .expect("all")
                .contains("1.2.3.4".parse().expect("ip"))
        );
        assert!(
            Net::parse("2001:db8::/32")
                .expect("v6")
                .contains("2001:db8::1".parse().expect("ip"))
        );
        assert!(Net::parse("10.9.0.0/33").is_err());
        assert!(Net::parse("red team").is_err());
    }

    #[test]
    fn region_codes_nest_by_digit_pairs() {
        let r = |c| RegionCode::new(c).expect("code");
        assert!(region_within(r(410102), r(410100)));
        assert!(region_within(r(410102), r(410000)));
        assert!(region_within(r(410100), r(410100)));
        assert!(!region_within(r(410202), r(410100)));
        assert!(!region_within(r(420100), r(410000)));
        assert!(!region_within(r(410000), r(410100)));
    }
}
