//! Duty (值班值守): shifts per region with the people on duty, who is on duty now (the
//! playbooks address them), coverage during 重保 periods (a region in scope with nobody on
//! duty raises an alert), and handovers signed by both shifts. A child sends its roster up, so
//! the parent sees every level's duty; a roster received from a county is passed on up, so
//! the province sees the counties' duty too.

use onewall_model::id::{HandoverId, ShiftId};
use onewall_model::supervise::{Handover, OnDuty, Shift, SuperviseUp};
use onewall_model::{Alert, AlertId, RegionCode, Timestamp};
use serde::Deserialize;

use crate::period::period_covers;
use crate::{Actor, Result, SuperviseError, Supervision, db};

/// The longest shift.
const MAX_SHIFT_DAYS: i64 = 31;
/// The most people on one shift, and the longest name, contact or note.
const MAX_PEOPLE: usize = 50;
const MAX_FIELD_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 10_000;
/// The most handovers one list answers.
const MAX_HANDOVERS: usize = 1000;

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

/// Every mistake in `new`, as `field: reason`.
fn shift_errors(new: &NewShift) -> Vec<String> {
    let mut errs = Vec::new();
    if new.start >= new.end {
        errs.push("end: must be after start".to_owned());
    } else if new.end.secs() - new.start.secs() > MAX_SHIFT_DAYS * 86_400 {
        errs.push(format!("end: a shift lasts at most {MAX_SHIFT_DAYS} days"));
    }
    if new.people.is_empty() {
        errs.push("people: at least one person is needed".to_owned());
    } else if new.people.len() > MAX_PEOPLE {
        errs.push(format!("people: more than {MAX_PEOPLE}"));
    }
    for (i, p) in new.people.iter().enumerate() {
        if p.name.trim().is_empty() {
            errs.push(format!("people[{i}].name: must not be empty"));
        }
        if p.phone.trim().is_empty() && p.email.trim().is_empty() {
            errs.push(format!("people[{i}]: a phone or an email is needed"));
        }
        let long = [
            ("name", p.name.as_str()),
            ("phone", p.phone.as_str()),
            ("email", p.email.as_str()),
            ("user", p.user.as_deref().unwrap_or("")),
        ];
        for (field, v) in long {
            if v.chars().count() > MAX_FIELD_CHARS {
                errs.push(format!(
                    "people[{i}].{field}: longer than {MAX_FIELD_CHARS} characters"
                ));
            }
        }
    }
    if new.note.chars().count() > MAX_NOTE_CHARS {
        errs.push(format!("note: longer than {MAX_NOTE_CHARS} characters"));
    }
    errs
}

impl Supervision {
    /// Add a shift (a region of this node's; start < end; at most 31 days; at least one
    /// person with a phone or email); audited `duty.shift`; the roster goes up.
    pub async fn add_shift(&self, actor: &Actor, new: NewShift) -> Result<Shift> {
        let mut errs = Vec::new();
        if !self.tree.contains(new.region) {
            errs.push(format!("region: {} is not a known region", new.region));
        } else if !self.covers(self.node.region, new.region) {
            errs.push(format!(
                "region: {} is not within this node's region {}",
                new.region, self.node.region
            ));
        }
        errs.extend(shift_errors(&new));
        if !errs.is_empty() {
            return Err(SuperviseError::Invalid(errs.join("; ")));
        }
        let now = Timestamp::now();
        let people = new
            .people
            .into_iter()
            .map(|p| OnDuty {
                name: p.name.trim().to_owned(),
                user: p.user.filter(|u| !u.trim().is_empty()),
                phone: p.phone.trim().to_owned(),
                email: p.email.trim().to_owned(),
                role: p.role,
            })
            .collect();
        let shift = Shift {
            id: ShiftId::new(now),
            region: new.region,
            start: new.start,
            end: new.end,
            people,
            note: new.note,
        };
        self.audit(actor.audit_record(
            "duty.shift",
            shift.id.to_string(),
            format!(
                "{} from {} to {}",
                shift.region,
                shift.start.to_rfc3339(),
                shift.end.to_rfc3339()
            ),
        ))?;
        let s = shift.clone();
        self.db.call(move |c| db::duty::put_shift(c, &s)).await?;
        self.reload_cache()?;
        self.roster_up(now)?;
        Ok(shift)
    }

    /// Remove a shift of this node's; audited `duty.shift.remove`; the roster goes up.
    pub async fn remove_shift(&self, actor: &Actor, id: ShiftId) -> Result<()> {
        let shift = self
            .cached()
            .shifts
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| SuperviseError::NotFound(format!("no shift {id}")))?;
        if !self.covers(self.node.region, shift.region) {
            return Err(SuperviseError::Forbidden(format!(
                "shift {id} is of {}, outside this node's region",
                shift.region
            )));
        }
        self.audit(actor.audit_record(
            "duty.shift.remove",
            id.to_string(),
            shift.region.to_string(),
        ))?;
        self.db.call(move |c| db::duty::remove_shift(c, id)).await?;
        self.reload_cache()?;
        self.roster_up(Timestamp::now())?;
        Ok(())
    }

    /// Send this node's roster (its own region's shifts not ended at `now`) to the parent.
    fn roster_up(&self, now: Timestamp) -> Result<()> {
        if !self.courier.has_parent() {
            return Ok(());
        }
        let region = self.node.region;
        let shifts: Vec<Shift> = self
            .cached()
            .shifts
            .into_iter()
            .filter(|s| s.region == region && s.end > now)
            .collect();
        self.courier
            .up(SuperviseUp::Roster { region, shifts })
            .map_err(|e| SuperviseError::Internal(format!("sending the duty roster: {e}")))
    }

    /// Parent: a child's roster (replaces what was held for its regions: the shifts not
    /// ended yet; those past stay). Passed on up when this node has a parent.
    pub async fn receive_roster(
        &self,
        via: RegionCode,
        region: RegionCode,
        shifts: Vec<Shift>,
    ) -> Result<()> {
        if region == self.node.region || !self.tree.is_within(region, via) {
            return Err(SuperviseError::Forbidden(format!(
                "roster of {region} came from {via}, outside its region"
            )));
        }
        if let Some(s) = shifts.iter().find(|s| s.region != region) {
            return Err(SuperviseError::Invalid(format!(
                "roster of {region} holds shift {} of {}",
                s.id, s.region
            )));
        }
        let now = Timestamp::now();
        let kept = shifts.clone();
        self.db
            .call(move |c| db::duty::replace_roster(c, &[region], &kept, now))
            .await?;
        self.reload_cache()?;
        if self.courier.has_parent() {
            self.courier
                .up(SuperviseUp::Roster { region, shifts })
                .map_err(|e| SuperviseError::Internal(format!("passing on the roster: {e}")))?;
        }
        Ok(())
    }

    /// Shifts of `regions` (empty: all) overlapping `[from, to)`, by start.
    pub fn shifts(&self, regions: &[RegionCode], from: Timestamp, to: Timestamp) -> Vec<Shift> {
        let mut out: Vec<Shift> = self
            .cached()
            .shifts
            .into_iter()
            .filter(|s| regions.is_empty() || regions.contains(&s.region))
            .filter(|s| s.start < to && s.end > from)
            .collect();
        out.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        out
    }

    /// Who is on duty in `region` at `at` (its own shifts; from the cache, cheap). A person
    /// on two overlapping shifts is named once; leaders first.
    pub fn on_duty(&self, region: RegionCode, at: Timestamp) -> Vec<OnDuty> {
        let c = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<OnDuty> = Vec::new();
        for s in c
            .shifts
            .iter()
            .filter(|s| s.region == region && s.start <= at && at < s.end)
        {
            for p in &s.people {
                if !out
                    .iter()
                    .any(|o| o.name == p.name && o.phone == p.phone && o.email == p.email)
                {
                    out.push(p.clone());
                }
            }
        }
        out.sort_by_key(|p| p.role != onewall_model::supervise::DutyRole::Leader);
        out
    }

    /// Regions in an active period's scope at `now` that this node answers for (its own, and
    /// its children's from their rosters) with nobody on duty: one alert per period, region
    /// and hour (rule [`DUTY_MISSING_RULE_ID`]), raised once.
    pub async fn check_duty(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let hour = Timestamp::from_secs(now.secs().div_euclid(3600) * 3600);
        let mut alerts = Vec::new();
        for p in self.periods(Some(now)) {
            let mut regions = Vec::new();
            if period_covers(&self.tree, &p.regions, self.node.region) {
                regions.push(self.node.region);
            }
            regions.extend(self.covered_children(&p.regions));
            for region in regions {
                if !self.on_duty(region, now).is_empty() {
                    continue;
                }
                let id = p.id;
                if self
                    .db
                    .call(move |c| db::duty::flag_duty(c, id, region, hour, now))
                    .await?
                {
                    alerts.push(self.duty_alert(&p, region, hour, now)?);
                }
            }
        }
        if !alerts.is_empty() {
            tracing::warn!(count = alerts.len(), "nobody on duty in a 重保 period");
        }
        Ok(alerts)
    }

    fn duty_alert(
        &self,
        p: &onewall_model::supervise::ProtectionPeriod,
        region: RegionCode,
        hour: Timestamp,
        now: Timestamp,
    ) -> Result<Alert> {
        let code = region.to_string();
        let name = self.region_name(region);
        crate::alert::Raised {
            id: AlertId::derive(
                hour,
                b"alert/duty/v1",
                &[&p.id.to_bytes(), code.as_bytes(), &hour.nanos().to_le_bytes()],
            ),
            rule_id: DUTY_MISSING_RULE_ID,
            title: format!(
                "重保期间 {name}({code}) 无人值班 ({}, {}) — nobody on duty in {code} during the period",
                p.name,
                self.local(now)
            ),
            severity: "high",
            tags: &["onewall.supervise", "onewall.duty"],
            region,
            matched: vec![
                ("period.id", p.id.to_string()),
                ("period.name", p.name.clone()),
                ("duty.region", code.clone()),
                ("duty.hour", hour.to_rfc3339()),
            ],
        }
        .at(now)
    }

    /// A shift named by a handover: held, and of its region.
    fn handover_shift(&self, id: Option<ShiftId>, region: RegionCode, field: &str) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        match self.cached().shifts.into_iter().find(|s| s.id == id) {
            None => Err(SuperviseError::Invalid(format!("{field}: no shift {id}"))),
            Some(s) if s.region != region => Err(SuperviseError::Invalid(format!(
                "{field}: shift {id} is of {}, not {region}",
                s.region
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Record a handover, signed by the outgoing actor; the node's open incidents of the
    /// region and its pending bulletins are filled in. Audited `duty.handover`.
    pub async fn hand_over(&self, actor: &Actor, new: NewHandover) -> Result<Handover> {
        if !self.tree.contains(new.region) || !self.covers(self.node.region, new.region) {
            return Err(SuperviseError::Invalid(format!(
                "region: {} is not within this node's region {}",
                new.region, self.node.region
            )));
        }
        self.handover_shift(new.from_shift, new.region, "from_shift")?;
        self.handover_shift(new.to_shift, new.region, "to_shift")?;
        if new.notes.chars().count() > MAX_NOTE_CHARS {
            return Err(SuperviseError::Invalid(format!(
                "notes: longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let now = Timestamp::now();
        let mut open: Vec<_> = self
            .incidents_of(self.subtree(new.region), None, true)
            .await?
            .into_iter()
            .filter(|i| i.status.is_open())
            .map(|i| i.id)
            .collect();
        open.sort();
        let pending = self.pending_bulletins(new.region).await?;
        let h = Handover {
            id: HandoverId::new(now),
            region: new.region,
            from_shift: new.from_shift,
            to_shift: new.to_shift,
            open_incidents: open,
            pending_bulletins: pending,
            notes: new.notes,
            handed_by: actor.name.clone(),
            handed_at: now,
            taken_by: None,
            taken_at: None,
        };
        self.audit(actor.audit_record(
            "duty.handover",
            h.id.to_string(),
            format!(
                "{}: {} open incidents, {} pending bulletins",
                h.region,
                h.open_incidents.len(),
                h.pending_bulletins.len()
            ),
        ))?;
        let kept = h.clone();
        self.db
            .call(move |c| db::duty::put_handover(c, &kept))
            .await?;
        Ok(h)
    }

    /// The incoming actor signs a handover (not the one who handed over). Audited
    /// `duty.takeover`.
    pub async fn take_over(&self, actor: &Actor, id: HandoverId) -> Result<Handover> {
        let mut h = self
            .db
            .call(move |c| db::duty::handover(c, id))
            .await?
            .ok_or_else(|| SuperviseError::NotFound(format!("no handover {id}")))?;
        if let Some(by) = &h.taken_by {
            return Err(SuperviseError::Conflict(format!(
                "handover {id} was taken over by {by} already"
            )));
        }
        if h.handed_by == actor.name {
            return Err(SuperviseError::Forbidden(format!(
                "handover {id} was handed over by {}: the incoming shift signs it",
                actor.name
            )));
        }
        h.taken_by = Some(actor.name.clone());
        h.taken_at = Some(Timestamp::now());
        self.audit(actor.audit_record("duty.takeover", id.to_string(), h.region.to_string()))?;
        let kept = h.clone();
        self.db
            .call(move |c| db::duty::put_handover(c, &kept))
            .await?;
        Ok(h)
    }

    /// Handovers of `regions` (empty: all), newest first (at most 1000; 0 means 100).
    pub async fn handovers(&self, regions: &[RegionCode], limit: usize) -> Result<Vec<Handover>> {
        let limit = if limit == 0 {
            100
        } else {
            limit.min(MAX_HANDOVERS)
        };
        let regions = regions.to_vec();
        self.db
            .call(move |c| db::duty::handovers(c, &regions, limit))
            .await
    }
}
