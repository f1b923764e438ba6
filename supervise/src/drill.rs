//! Drills (演练): a drill has regions, a window and the red team's planned actions, replayed
//! from a scenario (each action's events, marked with the drill and action ids) or carried out
//! live from the red team's addresses. Alerts of a drill are marked ([`Marker`]), kept out of
//! the real statistics and reports, and scored per planned action: time to detect, time to
//! respond, missed ([`score`]). (Helper h3.)

use onewall_model::id::DrillId;
use onewall_model::supervise::{Drill, DrillMark, DrillMode};
use onewall_model::{Alert, Event, Incident, RegionCode, Timestamp};
use serde::Serialize;

use crate::doc::Doc;
use crate::{Actor, Result, Supervision};

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
    pub name: String,
    pub regions: Vec<RegionCode>,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub mode: DrillMode,
    #[serde(default)]
    pub red_team: Vec<String>,
    pub actions: Vec<onewall_model::supervise::PlannedAction>,
}

impl Scenario {
    /// Read a scenario from YAML or JSON text; every mistake named (action ids unique, at
    /// least one action, start < end, events only in scenario mode, red team addresses
    /// parse, `at_secs` within the window).
    pub fn parse(text: &str) -> Result<Scenario> {
        let _ = text;
        todo!("h3")
    }
}

/// What the detect stage marks alerts with: the drills running (or about to), with their
/// red-team networks parsed. Built from the cache after each change.
#[derive(Debug, Clone, Default)]
pub struct Marker {
    drills: Vec<Drill>,
}

impl Marker {
    /// A marker over `drills` (those not ended long ago).
    pub fn new(drills: Vec<Drill>) -> Marker {
        Marker { drills }
    }

    /// Is there nothing to mark with?
    pub fn is_empty(&self) -> bool {
        self.drills.is_empty()
    }

    /// The mark of `alert`, raised on `events` (the alert's own events among the batch):
    /// an event carrying the drill fields (`onewall.drill.id`, `onewall.drill.action`) of a
    /// drill held here; or, for a live drill, an alert in its regions and window naming a
    /// red-team address.
    pub fn mark(&self, alert: &Alert, events: &[&Event]) -> Option<DrillMark> {
        let _ = (alert, events);
        todo!("h3")
    }
}

/// How one planned action went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionScore {
    pub action: String,
    pub name: String,
    /// When it was carried out (start + at_secs).
    pub executed: Timestamp,
    /// The first drill alert of the action (by mark, or by `expect` for live drills).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<Timestamp>,
    /// When an incident holding one of its alerts was first acknowledged (or left `new`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responded: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub respond_secs: Option<i64>,
    /// Not detected by the end of the drill.
    pub missed: bool,
    pub alerts: u64,
    /// Whether an alert matched what the action expected (its rules or tags).
    pub expected_matched: bool,
}

/// A drill's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    pub drill: Drill,
    pub actions: Vec<ActionScore>,
    pub detected: u64,
    pub missed: u64,
    pub mean_detect_secs: Option<f64>,
    pub mean_respond_secs: Option<f64>,
    /// Share of actions detected, 0–100.
    pub score: f64,
    pub generated: Timestamp,
}

/// Score `drill` from its alerts (marked with it) and the incidents holding them.
pub fn score(
    drill: &Drill,
    alerts: &[Alert],
    incidents: &[Incident],
    now: Timestamp,
) -> DrillReport {
    let _ = (drill, alerts, incidents, now);
    todo!("h3")
}

impl DrillReport {
    /// As a document.
    pub fn to_doc(&self) -> Doc {
        todo!("h3")
    }
}

impl Supervision {
    /// Plan a drill from a scenario (regions within this node's subtree); stored, sent to the
    /// child nodes it covers, audited `drill.plan`.
    pub async fn plan_drill(&self, actor: &Actor, scenario: Scenario) -> Result<Drill> {
        let _ = (actor, scenario);
        todo!("h3")
    }

    /// Child: a drill from the parent (idempotent).
    pub async fn receive_drill(&self, parent: RegionCode, drill: Drill) -> Result<()> {
        let _ = (parent, drill);
        todo!("h3")
    }

    /// Mark a scenario drill started at `at` (the node's replay runs its actions from then);
    /// audited `drill.start`. Refused when started already or not a scenario.
    pub async fn start_drill(&self, actor: &Actor, id: DrillId, at: Timestamp) -> Result<Drill> {
        let _ = (actor, id, at);
        todo!("h3")
    }

    /// Every drill held, newest start first.
    pub fn drills(&self) -> Vec<Drill> {
        self.cached().drills
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
    pub async fn drill_report(&self, id: DrillId, now: Timestamp) -> Result<DrillReport> {
        let _ = (id, now);
        todo!("h3")
    }
}
