//! 重保 periods: declared by a node over regions of its subtree and sent down to the child
//! nodes they cover; while one runs, SLA deadlines in its regions are divided by its factor,
//! each covered child sends a zero report every `report_every_mins` (a slot), a slot's report
//! missing `grace_mins` after it was due raises an alert at the parent, and a duty roster is
//! required in every covered region ([`crate::duty`]). Lessons recorded by responders go up to
//! the issuer for the 复盘 ([`crate::review`]).
//!
//! A period received from the parent is passed on to this node's covered children, so a
//! province's period reaches the counties; the city then checks its counties' slots as the
//! province checks the city's.
//!
//! A child that was down over several slots sends only the latest one due when it comes
//! back: a zero report for a slot long past says nothing about that slot now, and the parent
//! has flagged it missing already, which is what happened.

use std::collections::HashMap;

use onewall_model::id::{PeriodId, StepId};
use onewall_model::supervise::{Lesson, ProtectionPeriod, SlotReport, SuperviseDown, SuperviseUp};
use onewall_model::{Alert, AlertId, RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Actor, Result, SuperviseError, Supervision, db};

/// The rule id of the alert a missing slot report raises at the parent.
pub const MISSING_SLOT_RULE_ID: &str = "onewall-period-report-missing";

/// The longest period that can be declared (a year and a day).
const MAX_DAYS: i64 = 366;
/// The shortest slot.
const MIN_EVERY_MINS: u32 = 5;
/// The longest grace time (a day).
const MAX_GRACE_MINS: u32 = 24 * 60;
/// The longest name and lesson text, in characters.
const MAX_NAME_CHARS: usize = 200;
const MAX_LESSON_CHARS: usize = 10_000;
/// Periods ended longer ago than this are no longer checked for missing slots, nor are slots
/// whose grace time ended longer ago.
const CHECK_AFTER_END_SECS: i64 = 7 * 86_400;

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

/// The slots of `period` due at or before `until` (start + k × every, k ≥ 1, before its end
/// or cancellation).
pub fn slots(period: &ProtectionPeriod, until: Timestamp) -> Vec<Timestamp> {
    let every = i64::from(period.report_every_mins.max(1)) * 60;
    let ends = period.ends();
    let mut out = Vec::new();
    let mut k: i64 = 1;
    loop {
        let t = period.start.add_secs(every * k);
        if t >= ends || t > until {
            return out;
        }
        out.push(t);
        k += 1;
    }
}

/// The latest slot of `period` due at or before `until`, without listing them all.
pub fn last_slot(period: &ProtectionPeriod, until: Timestamp) -> Option<Timestamp> {
    let every = i64::from(period.report_every_mins.max(1)) * 60 * 1_000_000_000;
    let last_due = until.nanos().min(period.ends().nanos() - 1);
    let k = (last_due - period.start.nanos()).div_euclid(every);
    (k >= 1).then(|| Timestamp(period.start.nanos() + k * every))
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
    /// Not arrived and past the grace time (flagged); a slot due before the period was
    /// declared is never missing.
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

/// Does a period over `regions` cover `region`: does it lie in one of their subtrees, or
/// contain one of them (a city whose county is in scope answers for it too)?
pub(crate) fn period_covers(
    tree: &onewall_model::RegionTree,
    regions: &[RegionCode],
    region: RegionCode,
) -> bool {
    regions
        .iter()
        .any(|&r| tree.is_within(region, r) || tree.is_within(r, region))
}

fn grace_secs(p: &ProtectionPeriod) -> i64 {
    i64::from(p.grace_mins) * 60
}

impl Supervision {
    /// Check `new` against the rules (collecting every mistake) and make the period.
    fn new_period(
        &self,
        actor: &Actor,
        new: NewPeriod,
        now: Timestamp,
    ) -> Result<ProtectionPeriod> {
        let d = &self.cfg.config.period;
        let sla_factor = new.sla_factor.unwrap_or(d.sla_factor);
        let every = new.report_every_mins.unwrap_or(d.report_every_mins);
        let grace = new.grace_mins.unwrap_or(d.grace_mins);
        let mut errs = Vec::new();
        let name = new.name.trim().to_owned();
        if name.is_empty() {
            errs.push("name: must not be empty".to_owned());
        } else if name.chars().count() > MAX_NAME_CHARS {
            errs.push(format!("name: longer than {MAX_NAME_CHARS} characters"));
        }
        let mut regions = new.regions.clone();
        regions.sort();
        regions.dedup();
        if regions.is_empty() {
            errs.push("regions: at least one region is needed".to_owned());
        }
        for r in &regions {
            if !self.tree.contains(*r) {
                errs.push(format!("regions: {r} is not a known region"));
            } else if !self.covers(self.node.region, *r) {
                errs.push(format!(
                    "regions: {r} is not within this node's region {}",
                    self.node.region
                ));
            }
        }
        if new.start >= new.end {
            errs.push("end: must be after start".to_owned());
        } else if new.end.secs() - new.start.secs() > MAX_DAYS * 86_400 {
            errs.push(format!("end: a period lasts at most {MAX_DAYS} days"));
        }
        if new.end <= now {
            errs.push("end: already past".to_owned());
        }
        if !(1.0..=100.0).contains(&sla_factor) {
            errs.push(format!("sla_factor: {sla_factor} is not between 1 and 100"));
        }
        if every < MIN_EVERY_MINS {
            errs.push(format!(
                "report_every_mins: {every} is less than {MIN_EVERY_MINS}"
            ));
        }
        if grace > MAX_GRACE_MINS {
            errs.push(format!("grace_mins: {grace} is more than {MAX_GRACE_MINS}"));
        }
        if !errs.is_empty() {
            return Err(SuperviseError::Invalid(errs.join("; ")));
        }
        Ok(ProtectionPeriod {
            id: PeriodId::new(now),
            name,
            regions,
            start: new.start,
            end: new.end,
            sla_factor,
            report_every_mins: every,
            grace_mins: grace,
            issuer: self.node.region,
            by: actor.name.clone(),
            created: now,
            cancelled: None,
        })
    }

    /// The child regions of this node a period over `regions` covers.
    pub(crate) fn covered_children(&self, regions: &[RegionCode]) -> Vec<RegionCode> {
        let mut out: Vec<RegionCode> = self
            .courier
            .children()
            .into_iter()
            .filter(|&c| period_covers(&self.tree, regions, c))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Send `p` to the covered children, then store it and refresh the cache. Answers
    /// whether it changed (an unchanged period is not sent again). Sent first: when storing
    /// fails the message comes again and is sent again (children apply it idempotently);
    /// stored first, a failed send would leave it held here and never passed on.
    /// `record`, when given, is audited between sending and storing, so a period received
    /// is audited once even when passing it on failed and it came again.
    async fn keep_and_send(
        &self,
        p: &ProtectionPeriod,
        record: Option<onewall_store::audit::AuditRecord>,
    ) -> Result<bool> {
        if self.period(p.id).as_ref() == Some(p) {
            return Ok(false);
        }
        let msgs = self
            .covered_children(&p.regions)
            .into_iter()
            .map(|child| {
                let period = Box::new(p.clone());
                (child, SuperviseDown::Period { period })
            })
            .collect();
        self.courier.down_all(msgs).map_err(|e| {
            SuperviseError::Internal(format!("sending period {} to its child nodes: {e}", p.id))
        })?;
        if let Some(r) = record {
            self.audit(r)?;
        }
        let stored = p.clone();
        self.db.call(move |c| db::periods::put(c, &stored)).await?;
        self.reload_cache()?;
        Ok(true)
    }

    /// Declare a period (regions within this node's subtree, start < end), store it, send it
    /// to every child node it covers, audit `period.declare`.
    pub async fn declare_period(&self, actor: &Actor, new: NewPeriod) -> Result<ProtectionPeriod> {
        let now = Timestamp::now();
        let p = self.new_period(actor, new, now)?;
        let regions: Vec<String> = p.regions.iter().map(ToString::to_string).collect();
        self.audit(actor.audit_record(
            "period.declare",
            p.id.to_string(),
            format!(
                "{} regions {} from {} to {} sla_factor {} every {} min grace {} min",
                p.name,
                regions.join(","),
                p.start.to_rfc3339(),
                p.end.to_rfc3339(),
                p.sla_factor,
                p.report_every_mins,
                p.grace_mins
            ),
        ))?;
        self.keep_and_send(&p, None).await?;
        tracing::info!(period = %p.id, name = %p.name, "重保 period declared");
        Ok(p)
    }

    /// End a period now (the issuer's); sent down again.
    pub async fn cancel_period(&self, actor: &Actor, id: PeriodId) -> Result<ProtectionPeriod> {
        let now = Timestamp::now();
        let mut p = self
            .period(id)
            .ok_or_else(|| SuperviseError::NotFound(format!("no period {id}")))?;
        if p.issuer != self.node.region {
            return Err(SuperviseError::Forbidden(format!(
                "period {id} was declared by {}: only its issuer can cancel it",
                p.issuer
            )));
        }
        if p.cancelled.is_some() {
            return Err(SuperviseError::Conflict(format!(
                "period {id} is cancelled already"
            )));
        }
        if p.end <= now {
            return Err(SuperviseError::Conflict(format!("period {id} has ended")));
        }
        p.cancelled = Some(now);
        self.audit(actor.audit_record("period.cancel", id.to_string(), p.name.clone()))?;
        self.keep_and_send(&p, None).await?;
        Ok(p)
    }

    /// Child: a period from the parent (new or changed; idempotent). Passed on to this
    /// node's children it covers.
    pub async fn receive_period(&self, parent: RegionCode, period: ProtectionPeriod) -> Result<()> {
        if period.issuer == self.node.region {
            return Err(SuperviseError::Invalid(format!(
                "period {} from {parent} names this node's region as its issuer",
                period.id
            )));
        }
        if !period_covers(&self.tree, &period.regions, self.node.region) {
            return Err(SuperviseError::Invalid(format!(
                "period {} from {parent} does not cover this node's region {}",
                period.id, self.node.region
            )));
        }
        let action = if period.cancelled.is_some() {
            "period.cancel"
        } else {
            "period.declare"
        };
        let held = self.period(period.id);
        if held.as_ref() == Some(&period) {
            return Ok(());
        }
        let record = Actor::remote(period.issuer, &period.by).audit_record(
            action,
            period.id.to_string(),
            format!("{} (from {parent})", period.name),
        );
        self.keep_and_send(&period, Some(record)).await?;
        Ok(())
    }

    /// Every period held, newest start first (active ones at `active_at` only, when given).
    pub fn periods(&self, active_at: Option<Timestamp>) -> Vec<ProtectionPeriod> {
        let mut out: Vec<ProtectionPeriod> = self
            .cached()
            .periods
            .into_iter()
            .filter(|p| active_at.is_none_or(|at| p.active_at(at)))
            .collect();
        out.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
        out
    }

    /// One period.
    pub fn period(&self, id: PeriodId) -> Option<ProtectionPeriod> {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .periods
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }

    /// The factor SLA deadlines of `region` are divided by at `at`: the largest of the active
    /// periods covering it, 1 when none (read from the cache; cheap).
    pub fn sla_factor(&self, region: RegionCode, at: Timestamp) -> f64 {
        let c = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.periods
            .iter()
            .filter(|p| p.active_at(at))
            .filter(|p| p.regions.iter().any(|&r| self.tree.is_within(region, r)))
            .map(|p| p.sla_factor)
            .fold(1.0, f64::max)
    }

    /// Child: the slot reports this node owes its parent at `now` and has not sent (periods
    /// from the parent covering this node's region): per period, the latest slot due, when
    /// it has not been sent (earlier ones missed while down are left missed).
    pub async fn slot_reports_due(&self, now: Timestamp) -> Result<Vec<SlotDue>> {
        if !self.courier.has_parent() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for p in self.cached().periods {
            if p.issuer == self.node.region
                || !period_covers(&self.tree, &p.regions, self.node.region)
            {
                continue;
            }
            let Some(slot) = last_slot(&p, now) else {
                continue;
            };
            let id = p.id;
            if !self
                .db
                .call(move |c| db::periods::was_sent(c, id, slot))
                .await?
            {
                out.push(SlotDue { period: p, slot });
            }
        }
        Ok(out)
    }

    /// Child: the zero report of `due` at `now` from the store: incidents (not drills) of
    /// this node's subtree opened since the previous slot, those still open, who is on duty.
    pub async fn slot_report(&self, due: &SlotDue, now: Timestamp) -> Result<SlotReport> {
        let p = &due.period;
        let from = due
            .slot
            .add_secs(-i64::from(p.report_every_mins.max(1)) * 60);
        let subtree = self.subtree(self.node.region);
        let new = self
            .incidents_of(subtree.clone(), Some(from), false)
            .await?
            .iter()
            .filter(|i| i.drill.is_none() && i.created >= from && i.created < now)
            .count();
        let open = self
            .incidents_of(subtree, None, true)
            .await?
            .iter()
            .filter(|i| i.drill.is_none())
            .count();
        let people: Vec<String> = self
            .on_duty(self.node.region, now)
            .into_iter()
            .map(|d| d.name)
            .collect();
        let duty = if people.is_empty() {
            "无人值班".to_owned()
        } else {
            format!("值班人员: {}", people.join("、"))
        };
        let text = if new == 0 {
            format!(
                "{} {} 时段零报告: 无新增事件, 在办事件 {open} 起; {duty}",
                self.node.name,
                self.local(due.slot)
            )
        } else {
            format!(
                "{} {} 时段报告: 新增事件 {new} 起, 在办事件 {open} 起; {duty}",
                self.node.name,
                self.local(due.slot)
            )
        };
        Ok(SlotReport {
            period: p.id,
            region: self.node.region,
            node: self.node.name.clone(),
            slot: due.slot,
            sent: now,
            incidents_new: u32::try_from(new).unwrap_or(u32::MAX),
            incidents_open: u32::try_from(open).unwrap_or(u32::MAX),
            zero: new == 0,
            text,
        })
    }

    /// Child: record `report` as sent (queued up through the courier here). A slot already
    /// sent is not sent again.
    pub async fn send_slot_report(&self, report: SlotReport) -> Result<()> {
        let (id, slot) = (report.period, report.slot);
        if self.period(id).is_none() {
            return Err(SuperviseError::NotFound(format!("no period {id}")));
        }
        if self
            .db
            .call(move |c| db::periods::was_sent(c, id, slot))
            .await?
        {
            return Ok(());
        }
        // Queued before it is recorded: a failure in between sends it twice, which the
        // parent's first-arrival rule absorbs; the other order could lose it.
        self.courier
            .up(SuperviseUp::SlotReport {
                report: Box::new(report.clone()),
            })
            .map_err(|e| SuperviseError::Internal(format!("sending slot report: {e}")))?;
        self.db
            .call(move |c| db::periods::put_sent(c, &report))
            .await?;
        Ok(())
    }

    /// Parent: a child's slot report arrived (idempotent; kept with its arrival time).
    pub async fn receive_slot_report(&self, via: RegionCode, report: SlotReport) -> Result<()> {
        if !self.tree.is_within(report.region, via) {
            return Err(SuperviseError::Forbidden(format!(
                "slot report of {} came from {via}, outside its region",
                report.region
            )));
        }
        let Some(p) = self.period(report.period) else {
            return Err(SuperviseError::NotFound(format!(
                "slot report from {via} names period {}, not held here",
                report.period
            )));
        };
        if !period_covers(&self.tree, &p.regions, report.region) {
            return Err(SuperviseError::Invalid(format!(
                "period {} does not cover {}",
                p.id, report.region
            )));
        }
        let now = Timestamp::now();
        self.db
            .call(move |c| db::periods::put_received(c, &report, now))
            .await?;
        Ok(())
    }

    /// Parent: every (child, slot) past its grace time at `now` without a report, not flagged
    /// yet: one alert each (rule [`MISSING_SLOT_RULE_ID`], in the child's region), flagged so it
    /// is raised once. The children are those of `[federation] children` the period covers.
    pub async fn check_slots(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let mut alerts = Vec::new();
        for p in self.cached().periods {
            if p.ends().add_secs(grace_secs(&p) + CHECK_AFTER_END_SECS) < now {
                continue;
            }
            let children = self.covered_children(&p.regions);
            if children.is_empty() {
                continue;
            }
            // Only the slots whose grace time ended since the last check (every slot before
            // was settled then), and none older than the window (a node down for a week):
            // each check stays small however long the period and short its slots. A slot
            // due before the period was declared was never owed.
            let id = p.id;
            let checked = self.db.call(move |c| db::periods::checked(c, id)).await?;
            let grace = grace_secs(&p);
            let mut due = slots(&p, now.add_secs(-grace));
            due.retain(|s| {
                let settles = s.add_secs(grace);
                *s > p.created
                    && settles.add_secs(CHECK_AFTER_END_SECS) >= now
                    && checked.is_none_or(|c| settles > c)
            });
            let candidates: Vec<(RegionCode, Timestamp)> = children
                .iter()
                .flat_map(|&c| due.iter().map(move |&s| (c, s)))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let flagged = self
                .db
                .call(move |c| db::periods::flag_missing(c, id, &candidates, now))
                .await?;
            for (child, slot) in flagged {
                alerts.push(self.missing_slot_alert(&p, child, slot, now)?);
            }
        }
        if !alerts.is_empty() {
            tracing::warn!(count = alerts.len(), "重保 slot reports missing");
        }
        Ok(alerts)
    }

    fn missing_slot_alert(
        &self,
        p: &ProtectionPeriod,
        child: RegionCode,
        slot: Timestamp,
        now: Timestamp,
    ) -> Result<Alert> {
        let code = child.to_string();
        let name = self.region_name(child);
        crate::alert::Raised {
            id: AlertId::derive(
                slot,
                b"alert/slot/v1",
                &[&p.id.to_bytes(), code.as_bytes(), &slot.nanos().to_le_bytes()],
            ),
            rule_id: MISSING_SLOT_RULE_ID,
            title: format!(
                "重保期间 {name}({code}) 未按时报送 {} {} 时段零报告 — child {code} did not send its zero report for the slot at {}",
                p.name,
                self.local(slot),
                slot.to_rfc3339()
            ),
            severity: "high",
            tags: &["onewall.supervise", "onewall.period"],
            region: child,
            matched: vec![
                ("period.id", p.id.to_string()),
                ("period.name", p.name.clone()),
                ("report.region", code.clone()),
                ("report.slot", slot.to_rfc3339()),
            ],
        }
        .at(now)
    }

    /// Each covered child's report of each slot of `period` due by `now`.
    pub async fn slot_statuses(&self, period: PeriodId, now: Timestamp) -> Result<Vec<SlotStatus>> {
        let p = self
            .period(period)
            .ok_or_else(|| SuperviseError::NotFound(format!("no period {period}")))?;
        let got = self
            .db
            .call(move |c| db::periods::received(c, period))
            .await?;
        let mut by: HashMap<(RegionCode, Timestamp), (SlotReport, Timestamp)> = got
            .into_iter()
            .map(|(r, at)| ((r.region, r.slot), (r, at)))
            .collect();
        let grace = grace_secs(&p);
        let mut out = Vec::new();
        for slot in slots(&p, now) {
            for child in self.covered_children(&p.regions) {
                let got = by.remove(&(child, slot));
                let limit = slot.add_secs(grace);
                out.push(SlotStatus {
                    region: child,
                    slot,
                    received: got.as_ref().map(|g| g.1),
                    late: got.as_ref().is_some_and(|g| g.1 > limit),
                    missing: got.is_none() && limit <= now && slot > p.created,
                    report: got.map(|g| g.0),
                });
            }
        }
        Ok(out)
    }

    /// Record a lesson for `period` (sent up when the period came from the parent); audited
    /// `period.lesson`.
    pub async fn add_lesson(
        &self,
        actor: &Actor,
        period: PeriodId,
        text: String,
    ) -> Result<Lesson> {
        let p = self
            .period(period)
            .ok_or_else(|| SuperviseError::NotFound(format!("no period {period}")))?;
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(SuperviseError::Invalid("text: must not be empty".into()));
        }
        if text.chars().count() > MAX_LESSON_CHARS {
            return Err(SuperviseError::Invalid(format!(
                "text: longer than {MAX_LESSON_CHARS} characters"
            )));
        }
        let now = Timestamp::now();
        let lesson = Lesson {
            id: StepId::new(now),
            period,
            region: self.node.region,
            by: actor.name.clone(),
            at: now,
            text,
        };
        self.audit(actor.audit_record("period.lesson", period.to_string(), lesson.id.to_string()))?;
        let l = lesson.clone();
        self.db
            .call(move |c| db::periods::put_lesson(c, &l))
            .await?;
        self.lesson_up(&p, &lesson)?;
        Ok(lesson)
    }

    /// Send `lesson` up when `p` came from the parent (the issuer gathers them).
    fn lesson_up(&self, p: &ProtectionPeriod, lesson: &Lesson) -> Result<()> {
        if p.issuer != self.node.region && self.courier.has_parent() {
            self.courier
                .up(SuperviseUp::Lesson {
                    lesson: Box::new(lesson.clone()),
                })
                .map_err(|e| SuperviseError::Internal(format!("sending lesson: {e}")))?;
        }
        Ok(())
    }

    /// Parent: a lesson a child recorded (idempotent); passed on up when the period came
    /// from this node's parent.
    pub async fn receive_lesson(&self, via: RegionCode, lesson: Lesson) -> Result<()> {
        if !self.tree.is_within(lesson.region, via) {
            return Err(SuperviseError::Forbidden(format!(
                "lesson of {} came from {via}, outside its region",
                lesson.region
            )));
        }
        let Some(p) = self.period(lesson.period) else {
            return Err(SuperviseError::NotFound(format!(
                "lesson from {via} names period {}, not held here",
                lesson.period
            )));
        };
        let id = lesson.id;
        if self
            .db
            .call(move |c| db::periods::has_lesson(c, id))
            .await?
        {
            return Ok(());
        }
        // Audited and passed on before it is kept: a failure in between brings the message
        // again, and only a kept lesson counts as applied.
        self.audit(Actor::remote(lesson.region, &lesson.by).audit_record(
            "period.lesson",
            lesson.period.to_string(),
            lesson.id.to_string(),
        ))?;
        self.lesson_up(&p, &lesson)?;
        self.db
            .call(move |c| db::periods::put_lesson(c, &lesson))
            .await?;
        Ok(())
    }

    /// The lessons of `period`, oldest first.
    pub async fn lessons(&self, period: PeriodId) -> Result<Vec<Lesson>> {
        self.db.call(move |c| db::periods::lessons(c, period)).await
    }

    /// A region's name (its code when the tree does not know it).
    pub(crate) fn region_name(&self, code: RegionCode) -> String {
        self.tree
            .get(code)
            .map_or_else(|| code.to_string(), |r| r.name.clone())
    }

    /// `t` as `YYYY-MM-DD HH:MM` in the reports' offset.
    pub(crate) fn local(&self, t: Timestamp) -> String {
        let d = t.to_offset_date_time().to_offset(self.cfg.offset);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    }

    /// Every region of `region`'s subtree, `region` first.
    pub(crate) fn subtree(&self, region: RegionCode) -> Vec<RegionCode> {
        let mut out = vec![region];
        out.extend(
            self.tree
                .iter()
                .map(|r| r.code)
                .filter(|&c| c != region && self.tree.is_within(c, region)),
        );
        out
    }

    /// Incidents owned by `regions` (last seen at or after `since`; open ones only when
    /// asked), every page.
    pub(crate) async fn incidents_of(
        &self,
        regions: Vec<RegionCode>,
        since: Option<Timestamp>,
        open_only: bool,
    ) -> Result<Vec<onewall_model::Incident>> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .search_incidents(onewall_store::IncidentQuery {
                    open_only,
                    since,
                    regions: regions.clone(),
                    limit: onewall_store::MAX_LIMIT,
                    cursor,
                    ..Default::default()
                })
                .await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(start: i64, end: i64, every: u32) -> ProtectionPeriod {
        ProtectionPeriod {
            id: PeriodId::new(Timestamp::from_secs(0)),
            name: "两会".into(),
            regions: vec![],
            start: Timestamp::from_secs(start),
            end: Timestamp::from_secs(end),
            sla_factor: 2.0,
            report_every_mins: every,
            grace_mins: 30,
            issuer: RegionCode::new(410000).expect("code"),
            by: "admin".into(),
            created: Timestamp::from_secs(0),
            cancelled: None,
        }
    }

    #[test]
    fn the_first_slot_is_one_step_after_the_start_and_none_falls_at_or_after_the_end() {
        let t = Timestamp::from_secs;
        // 10:00 to 16:00 every 2 hours: 12:00 and 14:00; 16:00 is the end, not a slot.
        let p = period(36_000, 57_600, 120);
        assert!(slots(&p, t(36_000)).is_empty(), "none at the start");
        assert!(
            slots(&p, t(43_199)).is_empty(),
            "none a second before the first"
        );
        assert_eq!(slots(&p, t(43_200)), vec![t(43_200)]);
        assert_eq!(slots(&p, t(57_600)), vec![t(43_200), t(50_400)]);
        assert_eq!(slots(&p, t(1_000_000)), vec![t(43_200), t(50_400)]);
        assert_eq!(last_slot(&p, t(43_199)), None);
        assert_eq!(last_slot(&p, t(43_200)), Some(t(43_200)));
        assert_eq!(last_slot(&p, t(57_600)), Some(t(50_400)));
        assert_eq!(last_slot(&p, t(1_000_000)), Some(t(50_400)));
        // A period whose end is a second after a slot keeps that slot.
        let q = period(36_000, 50_401, 120);
        assert_eq!(slots(&q, t(60_000)), vec![t(43_200), t(50_400)]);
        assert_eq!(last_slot(&q, t(60_000)), Some(t(50_400)));
    }

    #[test]
    fn a_cancelled_period_has_no_slot_after_its_cancellation() {
        let t = Timestamp::from_secs;
        let mut p = period(0, 86_400, 60);
        p.cancelled = Some(t(3 * 3600));
        assert_eq!(slots(&p, t(86_400)), vec![t(3600), t(7200)]);
        assert_eq!(last_slot(&p, t(86_400)), Some(t(7200)));
    }

    proptest::proptest! {
        #[test]
        fn slots_are_evenly_spaced_inside_the_period(
            start in 0i64..1_000_000,
            len in 1i64..200_000,
            every in 5u32..600,
            until in 0i64..1_300_000,
            cancel in proptest::option::of(0i64..200_000),
        ) {
            let mut p = period(start, start + len, every);
            p.cancelled = cancel.map(|c| Timestamp::from_secs(start + c));
            let until = Timestamp::from_secs(until);
            let got = slots(&p, until);
            let step = i64::from(every) * 60;
            for (k, s) in got.iter().enumerate() {
                proptest::prop_assert_eq!(s.secs(), start + step * (k as i64 + 1));
                proptest::prop_assert!(*s < p.ends() && *s <= until);
            }
            let next = Timestamp::from_secs(start + step * (got.len() as i64 + 1));
            proptest::prop_assert!(next >= p.ends() || next > until, "a slot was left out");
            proptest::prop_assert_eq!(last_slot(&p, until), got.last().copied());
        }
    }

    #[test]
    fn last_slot_agrees_with_the_list_everywhere() {
        let p = period(1_000, 1_000 + 10 * 300 + 17, 5);
        for s in 0..4_500 {
            let until = Timestamp::from_secs(s);
            assert_eq!(
                last_slot(&p, until),
                slots(&p, until).last().copied(),
                "at {s}"
            );
        }
    }
}
