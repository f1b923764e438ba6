//! 重保 periods: declared by a node over regions of its subtree and sent down to the child
//! nodes they cover; while one runs, SLA deadlines in its regions are divided by its factor,
//! each covered child sends a zero report every `report_every_mins` (a slot), a slot's report
//! missing `grace_mins` after it was due raises an alert at the parent, and a duty roster is
//! required in every covered region ([`crate::duty`]). Lessons recorded by responders go up to
//! the issuer for the 复盘 ([`crate::review`]). (Helper h2.)

use onewall_model::id::PeriodId;
use onewall_model::supervise::{Lesson, ProtectionPeriod, SlotReport};
use onewall_model::{Alert, RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Actor, Result, Supervision};

/// The rule id of the alert a missing slot report raises at the parent.
pub const MISSING_SLOT_RULE_ID: &str = "onewall-period-report-missing";

/// A period to declare (the body of `POST /api/v1/periods`); unset numbers come from
/// `[supervise.period]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPeriod {
    pub name: String,
    pub regions: Vec<RegionCode>,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub sla_factor: Option<f64>,
    #[serde(default)]
    pub report_every_mins: Option<u32>,
    #[serde(default)]
    pub grace_mins: Option<u32>,
}

/// The slots of `period` due at or before `until` (start + k × every, k ≥ 1, before its end).
pub fn slots(period: &ProtectionPeriod, until: Timestamp) -> Vec<Timestamp> {
    let _ = (period, until);
    todo!("h2")
}

/// How one child's report of one slot went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotStatus {
    pub region: RegionCode,
    pub slot: Timestamp,
    /// When it arrived, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<Timestamp>,
    /// Arrived after the grace time.
    pub late: bool,
    /// Not arrived and past the grace time (flagged).
    pub missing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<SlotReport>,
}

/// A slot report this node owes its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotDue {
    pub period: ProtectionPeriod,
    pub slot: Timestamp,
}

impl Supervision {
    /// Declare a period (regions within this node's subtree, start < end), store it, send it
    /// to every child node it covers, audit `period.declare`.
    pub async fn declare_period(&self, actor: &Actor, new: NewPeriod) -> Result<ProtectionPeriod> {
        let _ = (actor, new);
        todo!("h2")
    }

    /// End a period now (the issuer's); sent down again.
    pub async fn cancel_period(&self, actor: &Actor, id: PeriodId) -> Result<ProtectionPeriod> {
        let _ = (actor, id);
        todo!("h2")
    }

    /// Child: a period from the parent (new or changed; idempotent).
    pub async fn receive_period(&self, parent: RegionCode, period: ProtectionPeriod) -> Result<()> {
        let _ = (parent, period);
        todo!("h2")
    }

    /// Every period held, newest start first (active ones at `active_at` only, when given).
    pub fn periods(&self, active_at: Option<Timestamp>) -> Vec<ProtectionPeriod> {
        let _ = active_at;
        todo!("h2")
    }

    /// One period.
    pub fn period(&self, id: PeriodId) -> Option<ProtectionPeriod> {
        let _ = id;
        todo!("h2")
    }

    /// The factor SLA deadlines of `region` are divided by at `at`: the largest of the active
    /// periods covering it, 1 when none (read from the cache; cheap).
    pub fn sla_factor(&self, region: RegionCode, at: Timestamp) -> f64 {
        let _ = (region, at);
        todo!("h2")
    }

    /// Child: the slot reports this node owes its parent at `now` and has not sent (periods
    /// from the parent covering this node's region).
    pub async fn slot_reports_due(&self, now: Timestamp) -> Result<Vec<SlotDue>> {
        let _ = now;
        todo!("h2")
    }

    /// Child: record `report` as sent (queued up through the courier here).
    pub async fn send_slot_report(&self, report: SlotReport) -> Result<()> {
        let _ = report;
        todo!("h2")
    }

    /// Parent: a child's slot report arrived (idempotent; kept with its arrival time).
    pub async fn receive_slot_report(&self, via: RegionCode, report: SlotReport) -> Result<()> {
        let _ = (via, report);
        todo!("h2")
    }

    /// Parent: every (child, slot) past its grace time at `now` without a report, not flagged
    /// yet: one alert each (rule [`MISSING_SLOT_RULE_ID`], in the child's region), flagged so it
    /// is raised once. The children are those of `[federation] children` the period covers.
    pub async fn check_slots(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let _ = now;
        todo!("h2")
    }

    /// Each covered child's report of each slot of `period` due by `now`.
    pub async fn slot_statuses(&self, period: PeriodId, now: Timestamp) -> Result<Vec<SlotStatus>> {
        let _ = (period, now);
        todo!("h2")
    }

    /// Record a lesson for `period` (sent up when the period came from the parent); audited
    /// `period.lesson`.
    pub async fn add_lesson(
        &self,
        actor: &Actor,
        period: PeriodId,
        text: String,
    ) -> Result<Lesson> {
        let _ = (actor, period, text);
        todo!("h2")
    }

    /// Parent: a lesson a child recorded (idempotent).
    pub async fn receive_lesson(&self, via: RegionCode, lesson: Lesson) -> Result<()> {
        let _ = (via, lesson);
        todo!("h2")
    }

    /// The lessons of `period`, oldest first.
    pub async fn lessons(&self, period: PeriodId) -> Result<Vec<Lesson>> {
        let _ = period;
        todo!("h2")
    }
}
