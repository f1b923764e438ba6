//! Duty (值班值守): shifts per region with the people on duty, who is on duty now (the
//! playbooks address them), coverage during 重保 periods (a region in scope with nobody on
//! duty raises an alert), and handovers signed by both shifts. A child sends its roster up, so
//! the parent sees every level's duty. (Helper h2.)

use onewall_model::id::{HandoverId, ShiftId};
use onewall_model::supervise::{Handover, OnDuty, Shift};
use onewall_model::{Alert, RegionCode, Timestamp};
use serde::Deserialize;

use crate::{Actor, Result, Supervision};

/// The rule id of the alert a region without anyone on duty in a 重保 period raises.
pub const DUTY_MISSING_RULE_ID: &str = "onewall-duty-missing";

/// A shift to add (the body of `POST /api/v1/duty/shifts`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    pub region: RegionCode,
    pub start: Timestamp,
    pub end: Timestamp,
    pub people: Vec<OnDuty>,
    #[serde(default)]
    pub note: String,
}

/// A handover to record (the body of `POST /api/v1/duty/handovers`); the node fills in the
/// open incidents and pending bulletins of the region.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHandover {
    pub region: RegionCode,
    #[serde(default)]
    pub from_shift: Option<ShiftId>,
    #[serde(default)]
    pub to_shift: Option<ShiftId>,
    #[serde(default)]
    pub notes: String,
}

impl Supervision {
    /// Add a shift (a region of this node's; start < end; at least one person with a phone
    /// or email); audited `duty.shift`; the roster goes up.
    pub async fn add_shift(&self, actor: &Actor, new: NewShift) -> Result<Shift> {
        let _ = (actor, new);
        todo!("h2")
    }

    /// Remove a shift of this node's; audited; the roster goes up.
    pub async fn remove_shift(&self, actor: &Actor, id: ShiftId) -> Result<()> {
        let _ = (actor, id);
        todo!("h2")
    }

    /// Parent: a child's roster (replaces what was held for its regions).
    pub async fn receive_roster(
        &self,
        via: RegionCode,
        region: RegionCode,
        shifts: Vec<Shift>,
    ) -> Result<()> {
        let _ = (via, region, shifts);
        todo!("h2")
    }

    /// Shifts of `regions` (empty: all) overlapping `[from, to)`, by start.
    pub fn shifts(&self, regions: &[RegionCode], from: Timestamp, to: Timestamp) -> Vec<Shift> {
        let _ = (regions, from, to);
        todo!("h2")
    }

    /// Who is on duty in `region` at `at` (its own shifts; from the cache, cheap).
    pub fn on_duty(&self, region: RegionCode, at: Timestamp) -> Vec<OnDuty> {
        let _ = (region, at);
        todo!("h2")
    }

    /// Regions in an active period's scope at `now` that this node answers for (its own, and
    /// its children's from their rosters) with nobody on duty: one alert per period, region
    /// and hour (rule [`DUTY_MISSING_RULE_ID`]), raised once.
    pub async fn check_duty(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let _ = now;
        todo!("h2")
    }

    /// Record a handover, signed by the outgoing actor; the node's open incidents of the
    /// region and its pending bulletins are filled in. Audited `duty.handover`.
    pub async fn hand_over(&self, actor: &Actor, new: NewHandover) -> Result<Handover> {
        let _ = (actor, new);
        todo!("h2")
    }

    /// The incoming actor signs a handover (not the one who handed over). Audited
    /// `duty.takeover`.
    pub async fn take_over(&self, actor: &Actor, id: HandoverId) -> Result<Handover> {
        let _ = (actor, id);
        todo!("h2")
    }

    /// Handovers of `regions` (empty: all), newest first.
    pub async fn handovers(&self, regions: &[RegionCode], limit: usize) -> Result<Vec<Handover>> {
        let _ = (regions, limit);
        todo!("h2")
    }
}
