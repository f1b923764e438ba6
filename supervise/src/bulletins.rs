//! The node's bulletins: issue, take a step, apply what other levels sent, list, statistics,
//! deadlines. Every step is audited once on each node that holds the copy (`bulletin.issue`,
//! `bulletin.sign`, `bulletin.answer`, `bulletin.rectify`, `bulletin.review`), with the actor
//! as named where it was taken (`remote:REGION/USER` on the other levels).
//!
//! Routing: a recipient of a child region gets the bulletin down the federation (only its
//! copies); a department of this node's region gets it here (a `BulletinReceived` event). A
//! recipient's step on a bulletin from the parent goes up with its attachments' bytes; the
//! issuer's review of a child's copy goes down.

use base64::Engine as _;
use metrics::counter;
use onewall_model::bus::{NodeEvent, SupervisionEvent};
use onewall_model::id::{BulletinId, StepId};
use onewall_model::supervise::{
    Attachment, AttachmentFile, Bulletin, BulletinKind, Deadlines, Recipient, Step, StepKind,
    SuperviseDown, SuperviseUp, WarningLevel,
};
use onewall_model::{Alert, AlertId, IncidentId, RegionCode, Timestamp};
use serde::Deserialize;
use serde_json::json;

use crate::bulletin::{
    Applied, BulletinView, Copy, Missed, RecipientStats, apply, deadline_name, deadline_zh, missed,
    stats,
};
use crate::files::{is_sha256_hex, sha256_hex};
use crate::{Actor, Result, SuperviseError, Supervision, db};

/// The rule id of the alert a missed bulletin deadline raises (on both sides).
pub const OVERDUE_RULE_ID: &str = "onewall-bulletin-overdue";

/// A bulletin to issue (the body of `POST /api/v1/bulletins`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBulletin {
    pub title: String,
    pub level: WarningLevel,
    pub kind: BulletinKind,
    pub body: String,
    #[serde(default)]
    pub cves: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub incidents: Vec<IncidentId>,
    /// Who it goes to.
    pub to: To,
    /// The feedback (反馈) deadline.
    pub deadline: Timestamp,
    /// 签收 by (default: `[supervise] sign_hours` after issue, and not after `deadline`).
    #[serde(default)]
    pub sign_deadline: Option<Timestamp>,
    /// 整改 by, for a rectification bulletin (default: `deadline`).
    #[serde(default)]
    pub rectify_deadline: Option<Timestamp>,
}

/// The recipients: child regions (each its node's team) and departments of this node's
/// region (or of a named region: `{"region": "...", "department": "..."}` entries in
/// `recipients`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct To {
    #[serde(default)]
    pub regions: Vec<RegionCode>,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<Recipient>,
}

/// A file of a rectification, as the API read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Which bulletins a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulletinQuery {
    /// Issued here (`Some(true)`), received (`Some(false)`), or both.
    pub issued_here: Option<bool>,
    /// Only bulletins with a copy whose recipient lies in these regions (empty: all) ...
    pub regions: Vec<RegionCode>,
    /// ... and, when set, is this department (a department caller's inbox).
    pub department: Option<String>,
    /// Only those with a copy still open (not done).
    pub open_only: bool,
    pub limit: usize,
}

/// The longest title, in characters.
const TITLE_MAX: usize = 200;
/// The longest body, answer, rectification or review text, in characters.
const TEXT_MAX: usize = 100_000;
/// The most CVEs, indicators, incidents or recipients a bulletin names.
const LIST_MAX: usize = 1000;
/// The longest CVE id, indicator, department or file name, in characters.
const ITEM_MAX: usize = 512;
/// A list's default length.
const LIST_DEFAULT: usize = 100;

/// Where a step taken here goes.
enum Route {
    Up(SuperviseUp),
    Down(RegionCode, SuperviseDown),
}

fn invalid(msg: impl Into<String>) -> SuperviseError {
    SuperviseError::Invalid(msg.into())
}

/// Check a text field: non-empty when `required`, at most `max` characters.
fn check_text(field: &str, text: &str, required: bool, max: usize) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(invalid(format!("{field}: must not be empty")));
    }
    let n = text.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{field}: {n} characters, at most {max} are allowed"
        )));
    }
    Ok(())
}

/// Check a list of short texts (`cves`, `indicators`).
fn check_items(field: &str, items: &[String], each: impl Fn(&str) -> bool) -> Result<()> {
    if items.len() > LIST_MAX {
        return Err(invalid(format!(
            "{field}: {} entries, at most {LIST_MAX} are allowed",
            items.len()
        )));
    }
    for (i, it) in items.iter().enumerate() {
        check_text(&format!("{field}[{i}]"), it, true, ITEM_MAX)?;
        if !each(it) {
            return Err(invalid(format!("{field}[{i}]: {it:?} is not valid")));
        }
    }
    Ok(())
}

/// `CVE-YYYY-NNNN` (four or more digits).
fn is_cve(s: &str) -> bool {
    let mut parts = s.split('-');
    let ok = |p: Option<&str>, min: usize| {
        p.is_some_and(|p| p.len() >= min && p.bytes().all(|b| b.is_ascii_digit()))
    };
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case("CVE"))
        && ok(parts.next(), 4)
        && ok(parts.next(), 4)
        && parts.next().is_none()
}

/// The severity of an overdue alert: the bulletin's warning level.
fn severity_of(level: WarningLevel) -> &'static str {
    match level {
        WarningLevel::Red => "critical",
        WarningLevel::Orange => "high",
        WarningLevel::Yellow => "medium",
        WarningLevel::Blue => "low",
    }
}

/// What the audit record of a step says beside its action.
fn step_detail(step: &Step) -> String {
    let what = match &step.kind {
        StepKind::Sign => String::new(),
        StepKind::Answer { affected, text } => {
            format!(" affected={affected} text={}", clip(text))
        }
        StepKind::Rectify { text, attachments } => {
            let files: Vec<String> = attachments
                .iter()
                .map(|a| format!("{}:{}", a.name, a.sha256))
                .collect();
            format!(" text={} files=[{}]", clip(text), files.join(", "))
        }
        StepKind::Review { accepted, reason } => {
            format!(" accepted={accepted} reason={}", clip(reason))
        }
    };
    format!("step={} recipient={}{what}", step.id, step.recipient)
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

/// A file's name as kept: its last path component, no control characters.
fn file_name(i: usize, name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(invalid(format!(
            "attachments[{i}].name: {name:?} names no file"
        )));
    }
    if base.chars().any(char::is_control) {
        return Err(invalid(format!(
            "attachments[{i}].name: {name:?} holds control characters"
        )));
    }
    check_text(&format!("attachments[{i}].name"), base, true, ITEM_MAX)?;
    Ok(base.to_owned())
}

fn media_type(i: usize, m: &str) -> Result<String> {
    let m = m.trim();
    if m.is_empty() {
        return Ok("application/octet-stream".into());
    }
    let ok =
        m.len() <= 127 && m.contains('/') && m.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if !ok {
        return Err(invalid(format!(
            "attachments[{i}].media_type: {m:?} is not a media type"
        )));
    }
    Ok(m.to_owned())
}

impl Supervision {
    fn name_of(&self, region: RegionCode) -> String {
        self.tree
            .get(region)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// The child node a recipient of `region` is reached through.
    fn child_for(&self, region: RegionCode) -> RegionCode {
        self.courier
            .children()
            .into_iter()
            .find(|c| self.covers(*c, region))
            .unwrap_or(region)
    }

    /// Whether `region` is a child region of this node: a federation child, or a direct
    /// child in the region tree.
    fn is_child_region(&self, region: RegionCode) -> bool {
        region != self.node.region
            && (self.courier.children().contains(&region)
                || self.tree.parent(region) == Some(self.node.region))
    }

    /// The recipients `to` names, checked: departments of this node's region, child regions,
    /// departments of a child region. Deduplicated, in order.
    fn recipients(&self, actor: &Actor, to: &To) -> Result<Vec<Recipient>> {
        let mut out: Vec<Recipient> = Vec::new();
        let mut push = |r: Recipient, field: String| -> Result<()> {
            if let Some(d) = &r.department {
                check_text(&field, d, true, ITEM_MAX)?;
            }
            if r.region == self.node.region {
                if r.department.is_none() {
                    return Err(invalid(format!(
                        "{field}: {} is this node's own region; name its departments",
                        r.region
                    )));
                }
            } else if !self.is_child_region(r.region) {
                return Err(invalid(format!(
                    "{field}: {} is not a child region of this node ({})",
                    r.region, self.node.region
                )));
            }
            if !self.covers(actor.scope, r.region) {
                return Err(SuperviseError::Forbidden(format!(
                    "{field}: {} lies outside the caller's scope {}",
                    r.region, actor.scope
                )));
            }
            let r = Recipient {
                region: r.region,
                department: r.department.map(|d| d.trim().to_owned()),
            };
            if !out.contains(&r) {
                out.push(r);
            }
            Ok(())
        };
        for (i, region) in to.regions.iter().enumerate() {
            let r = Recipient {
                region: *region,
                department: None,
            };
            push(r, format!("to.regions[{i}]"))?;
        }
        for (i, d) in to.departments.iter().enumerate() {
            let r = Recipient {
                region: self.node.region,
                department: Some(d.clone()),
            };
            push(r, format!("to.departments[{i}]"))?;
        }
        for (i, r) in to.recipients.iter().enumerate() {
            push(r.clone(), format!("to.recipients[{i}]"))?;
        }
        if out.is_empty() {
            return Err(invalid("to: at least one recipient"));
        }
        if out.len() > LIST_MAX {
            return Err(invalid(format!("to: at most {LIST_MAX} recipients")));
        }
        Ok(out)
    }

    /// The deadlines of `new` issued at `now`, checked: in the future, sign ≤ answer ≤
    /// rectify, a rectify deadline only on a rectification bulletin.
    fn deadlines(&self, new: &NewBulletin, now: Timestamp) -> Result<Deadlines> {
        if new.deadline <= now {
            return Err(invalid("deadline: must be in the future"));
        }
        let default_sign = now
            .add_secs(i64::from(self.cfg.config.sign_hours) * 3600)
            .min(new.deadline);
        let sign = new.sign_deadline.unwrap_or(default_sign);
        if sign <= now {
            return Err(invalid("sign_deadline: must be in the future"));
        }
        if sign > new.deadline {
            return Err(invalid("sign_deadline: must not be after deadline"));
        }
        let rectify = match (new.kind, new.rectify_deadline) {
            (BulletinKind::Notice, Some(_)) => {
                return Err(invalid(
                    "rectify_deadline: a notice asks for no rectification",
                ));
            }
            (BulletinKind::Notice, None) => None,
            (BulletinKind::Rectification, r) => {
                let r = r.unwrap_or(new.deadline);
                if r < new.deadline {
                    return Err(invalid("rectify_deadline: must not be before deadline"));
                }
                Some(r)
            }
        };
        Ok(Deadlines {
            sign,
            answer: new.deadline,
            rectify,
        })
    }

    /// Issue a bulletin: checked (title, body, recipients: child regions of this node or
    /// departments of a region this node holds, deadlines in the future and sign ≤ answer ≤
    /// rectify), stored, sent, audited. Answers the bulletin with its copies.
    pub async fn issue(&self, actor: &Actor, new: NewBulletin) -> Result<BulletinView> {
        let now = Timestamp::now();
        if actor.department.is_some() {
            return Err(SuperviseError::Forbidden(
                "a department's user receives bulletins; issuing is the region's".into(),
            ));
        }
        check_text("title", &new.title, true, TITLE_MAX)?;
        check_text("body", &new.body, true, TEXT_MAX)?;
        check_items("cves", &new.cves, is_cve)?;
        check_items("indicators", &new.indicators, |_| true)?;
        if new.incidents.len() > LIST_MAX {
            return Err(invalid(format!("incidents: at most {LIST_MAX} entries")));
        }
        let recipients = self.recipients(actor, &new.to)?;
        let deadlines = self.deadlines(&new, now)?;
        let period = self
            .cached()
            .periods
            .into_iter()
            .find(|p| {
                p.active_at(now)
                    && p.regions.iter().any(|r| {
                        self.covers(*r, self.node.region)
                            || recipients.iter().any(|x| self.covers(*r, x.region))
                    })
            })
            .map(|p| p.id);
        let bulletin = Bulletin {
            id: BulletinId::new(now),
            issuer: self.node.region,
            issuer_node: self.node.name.clone(),
            title: new.title.trim().to_owned(),
            level: new.level,
            kind: new.kind,
            body: new.body,
            cves: new.cves.iter().map(|c| c.trim().to_uppercase()).collect(),
            indicators: new.indicators.iter().map(|i| i.trim().to_owned()).collect(),
            incidents: new.incidents,
            deadlines,
            recipients: recipients.clone(),
            period,
            by: actor.name.clone(),
            issued: now,
        };
        let copies: Vec<Copy> = recipients.iter().cloned().map(Copy::new).collect();
        // One message per child node, naming only the recipients it holds.
        let mut downs: Vec<(RegionCode, Bulletin)> = Vec::new();
        for r in recipients.iter().filter(|r| r.region != self.node.region) {
            let child = self.child_for(r.region);
            match downs.iter_mut().find(|(c, _)| *c == child) {
                Some((_, b)) => b.recipients.push(r.clone()),
                None => {
                    let mut b = bulletin.clone();
                    b.recipients = vec![r.clone()];
                    downs.push((child, b));
                }
            }
        }
        let to: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let record = actor.audit_record(
            "bulletin.issue",
            format!("bulletin {}", bulletin.id),
            format!(
                "title={} level={} kind={} recipients=[{}]",
                clip(&bulletin.title),
                bulletin.level.as_str(),
                kind_name(bulletin.kind),
                to.join(", ")
            ),
        );
        self.db.with(|c| {
            let tx = c.transaction()?;
            db::bulletins::insert(&tx, &bulletin, true, &copies)?;
            for (child, b) in &downs {
                let msg = SuperviseDown::Bulletin {
                    bulletin: Box::new(b.clone()),
                };
                if let Err(e) = self.courier.down(*child, msg) {
                    return Ok(Err(SuperviseError::Internal(format!(
                        "queueing bulletin {} for {child}: {e:#}",
                        bulletin.id
                    ))));
                }
            }
            if let Err(e) = self.audit(record) {
                return Ok(Err(e));
            }
            tx.commit()?;
            Ok(Ok(()))
        })??;
        counter!("onewall_supervise_bulletins_issued_total").increment(1);
        tracing::info!(bulletin = %bulletin.id, recipients = to.len(), "bulletin issued");
        if recipients.iter().any(|r| r.region == self.node.region) {
            self.publish(SupervisionEvent::BulletinReceived {
                bulletin: Box::new(bulletin.clone()),
            })
            .await;
        }
        Ok(BulletinView {
            bulletin,
            copies,
            issued_here: true,
        })
    }

    async fn publish(&self, e: SupervisionEvent) {
        self.bus.publish(NodeEvent::Supervision(Box::new(e))).await;
    }

    /// Take a step on `recipient`'s copy of bulletin `id`: sign, answer or rectify (the
    /// recipient's, on a copy this node holds as recipient; the actor's department must be
    /// the recipient's when it has one), or review (the issuer's). Rectification files are
    /// size-checked (`attachment_max_mib`, `step_max_mib`), hashed and kept. Answers the
    /// bulletin as it is after the step.
    pub async fn take_step(
        &self,
        actor: &Actor,
        id: BulletinId,
        recipient: Option<Recipient>,
        kind: StepKind,
        uploads: Vec<Upload>,
    ) -> Result<BulletinView> {
        let now = Timestamp::now();
        let view = self
            .db
            .with(|c| db::bulletins::view(c, id))?
            .ok_or_else(|| SuperviseError::NotFound(format!("bulletin {id} not found")))?;
        let recipient = match (recipient, &kind) {
            (Some(r), _) => r,
            (None, StepKind::Review { .. }) => {
                return Err(invalid("recipient: a review names the recipient reviewed"));
            }
            (None, _) => Recipient {
                region: self.node.region,
                department: actor.department.clone(),
            },
        };
        if let Some(d) = &actor.department
            && recipient.department.as_ref() != Some(d)
        {
            return Err(SuperviseError::Forbidden(format!(
                "a user of department {d} acts only on that department's copy, not {recipient}"
            )));
        }
        if !self.covers(actor.scope, recipient.region) {
            return Err(SuperviseError::Forbidden(format!(
                "recipient {recipient} lies outside the caller's scope {}",
                actor.scope
            )));
        }
        if view.copy(&recipient).is_none() {
            return Err(SuperviseError::NotFound(format!(
                "bulletin {id} has no copy for {recipient} on this node"
            )));
        }
        let (kind, files) = self.check_step(kind, uploads)?;
        let step = Step {
            id: StepId::new(now),
            bulletin: id,
            recipient,
            kind,
            by: actor.name.clone(),
            node_region: self.node.region,
            at: now,
        };
        let route = match &step.kind {
            StepKind::Review { .. } if step.recipient.region != self.node.region => {
                Some(Route::Down(
                    self.child_for(step.recipient.region),
                    SuperviseDown::Step {
                        step: Box::new(step.clone()),
                    },
                ))
            }
            StepKind::Review { .. } => None,
            _ if !view.issued_here => Some(Route::Up(SuperviseUp::Step {
                step: Box::new(step.clone()),
                files,
            })),
            _ => None,
        };
        let record = actor.audit_record(
            &format!("bulletin.{}", step.kind.name()),
            format!("bulletin {id}"),
            step_detail(&step),
        );
        let view = self
            .commit_step(&step, route, record)?
            .ok_or_else(|| SuperviseError::Conflict(format!("step {} held already", step.id)))?;
        self.publish(SupervisionEvent::BulletinStep {
            bulletin: Box::new(view.bulletin.clone()),
            step: Box::new(step),
        })
        .await;
        Ok(view)
    }

    /// Check a step's texts and keep its uploads (a rectification's): answers the step with
    /// the uploads as its attachments, and their bytes for the parent.
    fn check_step(
        &self,
        kind: StepKind,
        uploads: Vec<Upload>,
    ) -> Result<(StepKind, Vec<AttachmentFile>)> {
        match kind {
            StepKind::Sign | StepKind::Answer { .. } | StepKind::Review { .. }
                if !uploads.is_empty() =>
            {
                Err(invalid("attachments: only a rectification carries files"))
            }
            StepKind::Sign => Ok((StepKind::Sign, Vec::new())),
            StepKind::Answer { affected, text } => {
                check_text("text", &text, false, TEXT_MAX)?;
                Ok((StepKind::Answer { affected, text }, Vec::new()))
            }
            StepKind::Review { accepted, reason } => {
                check_text("reason", &reason, !accepted, TEXT_MAX)?;
                Ok((StepKind::Review { accepted, reason }, Vec::new()))
            }
            StepKind::Rectify { text, .. } => {
                check_text("text", &text, true, TEXT_MAX)?;
                let (attachments, files) = self.keep_uploads(uploads)?;
                Ok((StepKind::Rectify { text, attachments }, files))
            }
        }
    }

    /// Size-check, hash and keep a rectification's files.
    fn keep_uploads(&self, uploads: Vec<Upload>) -> Result<(Vec<Attachment>, Vec<AttachmentFile>)> {
        const MIB: u64 = 1024 * 1024;
        let each = u64::from(self.cfg.config.attachment_max_mib) * MIB;
        let all = u64::from(self.cfg.config.step_max_mib) * MIB;
        if uploads.len() > LIST_MAX {
            return Err(invalid(format!("attachments: at most {LIST_MAX} files")));
        }
        let mut total = 0u64;
        let mut checked = Vec::new();
        for (i, u) in uploads.iter().enumerate() {
            let name = file_name(i, &u.name)?;
            let media_type = media_type(i, &u.media_type)?;
            let size = u.bytes.len() as u64;
            if size > each {
                return Err(SuperviseError::TooLarge(format!(
                    "attachments[{i}] ({name}): {size} bytes, at most {} MiB per file",
                    self.cfg.config.attachment_max_mib
                )));
            }
            total += size;
            if total > all {
                return Err(SuperviseError::TooLarge(format!(
                    "attachments: {total} bytes by {name}, at most {} MiB per rectification",
                    self.cfg.config.step_max_mib
                )));
            }
            checked.push((name, media_type, size));
        }
        let mut attachments = Vec::new();
        let mut files = Vec::new();
        for ((name, media_type, size), u) in checked.into_iter().zip(uploads) {
            let sha256 = self.files.put(&u.bytes)?;
            files.push(AttachmentFile {
                sha256: sha256.clone(),
                content: base64::engine::general_purpose::STANDARD.encode(&u.bytes),
            });
            attachments.push(Attachment {
                name,
                media_type,
                size,
                sha256,
            });
        }
        Ok((attachments, files))
    }

    /// Apply `step` to its copy, keep both, send it where `route` says and audit `record`,
    /// all or nothing: the step row, the copy, the queued message and the audit entry are
    /// made inside one transaction of `supervise.sqlite` that commits last. Answers the
    /// bulletin after the step, or `None` when the step was held already (nothing done).
    fn commit_step(
        &self,
        step: &Step,
        route: Option<Route>,
        record: onewall_store::audit::AuditRecord,
    ) -> Result<Option<BulletinView>> {
        self.db
            .with(|c| {
                let tx = c.transaction()?;
                let Some(mut view) = db::bulletins::view(&tx, step.bulletin)? else {
                    return Ok(Err(SuperviseError::NotFound(format!(
                        "bulletin {} not found",
                        step.bulletin
                    ))));
                };
                if db::bulletins::has_step(&tx, step.id)? {
                    return Ok(Ok(None));
                }
                let Some(copy) = view
                    .copies
                    .iter_mut()
                    .find(|c| c.recipient == step.recipient)
                else {
                    return Ok(Err(SuperviseError::NotFound(format!(
                        "bulletin {} has no copy for {} on this node",
                        step.bulletin, step.recipient
                    ))));
                };
                match apply(&view.bulletin, copy, step) {
                    Ok(Applied::Applied) => {}
                    Ok(Applied::Duplicate) => return Ok(Ok(None)),
                    Err(e) => return Ok(Err(e)),
                }
                db::bulletins::record_step(&tx, step, copy)?;
                let sent = match route {
                    Some(Route::Up(msg)) => self.courier.up(msg),
                    Some(Route::Down(child, msg)) => self.courier.down(child, msg),
                    None => Ok(()),
                };
                if let Err(e) = sent {
                    return Ok(Err(SuperviseError::Internal(format!(
                        "queueing step {} of bulletin {}: {e:#}",
                        step.id, step.bulletin
                    ))));
                }
                if let Err(e) = self.audit(record) {
                    return Ok(Err(e));
                }
                tx.commit()?;
                Ok(Ok(Some(view)))
            })?
            .inspect(|v| {
                if v.is_some() {
                    counter!("onewall_supervise_bulletin_steps_total", "step" => step.kind.name())
                        .increment(1);
                }
            })
    }

    /// Child: a bulletin from the parent (idempotent). A bulletin that is not the parent's,
    /// or names no recipient this node holds, is logged and dropped (see
    /// [`Supervision::receive_step`] for why refusals are not errors).
    pub async fn receive_bulletin(&self, parent: RegionCode, bulletin: Bulletin) -> Result<()> {
        let id = bulletin.id;
        let got = self.try_receive_bulletin(parent, bulletin).await;
        refused_is_dropped(got, "bulletin", id, parent)
    }

    async fn try_receive_bulletin(&self, parent: RegionCode, mut bulletin: Bulletin) -> Result<()> {
        if bulletin.issuer != parent {
            return Err(invalid(format!(
                "bulletin {} was issued by {}, not by the parent {parent}",
                bulletin.id, bulletin.issuer
            )));
        }
        bulletin
            .recipients
            .retain(|r| self.covers(self.node.region, r.region));
        if bulletin.recipients.is_empty() {
            return Err(invalid(format!(
                "bulletin {} names no recipient in {}",
                bulletin.id, self.node.region
            )));
        }
        let copies: Vec<Copy> = bulletin.recipients.iter().cloned().map(Copy::new).collect();
        let to: Vec<String> = bulletin
            .recipients
            .iter()
            .map(ToString::to_string)
            .collect();
        let record = Actor::remote(parent, &bulletin.by).audit_record(
            "bulletin.issue",
            format!("bulletin {}", bulletin.id),
            format!(
                "title={} level={} kind={} recipients=[{}]",
                clip(&bulletin.title),
                bulletin.level.as_str(),
                kind_name(bulletin.kind),
                to.join(", ")
            ),
        );
        let new = self.db.with(|c| {
            let tx = c.transaction()?;
            if !db::bulletins::insert(&tx, &bulletin, false, &copies)? {
                return Ok(Ok(false));
            }
            if let Err(e) = self.audit(record) {
                return Ok(Err(e));
            }
            tx.commit()?;
            Ok(Ok(true))
        })??;
        if new {
            counter!("onewall_supervise_bulletins_received_total").increment(1);
            tracing::info!(bulletin = %bulletin.id, %parent, "bulletin received");
            self.publish(SupervisionEvent::BulletinReceived {
                bulletin: Box::new(bulletin),
            })
            .await;
        }
        Ok(())
    }

    /// Apply a step taken on another level (a child's step, the parent's review), with the
    /// bytes of the files it names (idempotent: a step held already changes nothing and is
    /// not audited again). `via` is the region of the node it came from.
    ///
    /// A step this node must refuse (a bulletin it does not hold, a step the copy's state
    /// does not allow, a review from anyone but the issuer, a recipient's step on a bulletin
    /// this node did not issue, files that do not match their hashes) is logged and counted
    /// (`onewall_supervise_steps_refused_total`) and answers `Ok`: the federation resends a
    /// message whose applying fails, and a refusal would be the same on every resend, so an
    /// error would hold every message behind it on the sequenced channel forever. Only a
    /// failure of this node (database, files, audit log) is an error, to be retried.
    pub async fn receive_step(
        &self,
        via: RegionCode,
        step: onewall_model::supervise::Step,
        files: Vec<onewall_model::supervise::AttachmentFile>,
    ) -> Result<()> {
        let id = step.bulletin;
        let got = self.try_receive_step(via, step, files).await;
        refused_is_dropped(got, "step", id, via)
    }

    async fn try_receive_step(
        &self,
        via: RegionCode,
        step: Step,
        files: Vec<AttachmentFile>,
    ) -> Result<()> {
        if self.db.with(|c| db::bulletins::has_step(c, step.id))? {
            return Ok(());
        }
        let view = self
            .db
            .with(|c| db::bulletins::view(c, step.bulletin))?
            .ok_or_else(|| {
                SuperviseError::NotFound(format!("bulletin {} not held", step.bulletin))
            })?;
        if step.node_region != via {
            return Err(invalid(format!(
                "step {} was taken on {}, but came from {via}",
                step.id, step.node_region
            )));
        }
        let review = matches!(step.kind, StepKind::Review { .. });
        if view.issued_here == review {
            return Err(invalid(format!(
                "a {} of bulletin {} does not come from {via} to this node (issued here: {})",
                step.kind.name(),
                step.bulletin,
                view.issued_here
            )));
        }
        if let StepKind::Rectify { attachments, .. } = &step.kind {
            self.keep_files(attachments, &files)?;
        }
        let record = Actor::remote(via, &step.by).audit_record(
            &format!("bulletin.{}", step.kind.name()),
            format!("bulletin {}", step.bulletin),
            step_detail(&step),
        );
        if let Some(view) = self.commit_step(&step, None, record)? {
            self.publish(SupervisionEvent::BulletinStep {
                bulletin: Box::new(view.bulletin),
                step: Box::new(step),
            })
            .await;
        }
        Ok(())
    }

    /// Keep the bytes of a remote rectification's attachments: each must come with the step
    /// (or be kept already), decode, and hash to its name and size.
    fn keep_files(&self, attachments: &[Attachment], files: &[AttachmentFile]) -> Result<()> {
        let each = u64::from(self.cfg.config.attachment_max_mib) * 1024 * 1024;
        for a in attachments {
            if !is_sha256_hex(&a.sha256) {
                return Err(invalid(format!("attachment {}: bad sha256", a.name)));
            }
            let Some(f) = files.iter().find(|f| f.sha256 == a.sha256) else {
                if self.files.has(&a.sha256) {
                    continue;
                }
                return Err(invalid(format!(
                    "attachment {} came without its bytes",
                    a.name
                )));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&f.content)
                .map_err(|e| invalid(format!("attachment {}: base64: {e}", a.name)))?;
            if bytes.len() as u64 > each {
                return Err(SuperviseError::TooLarge(format!(
                    "attachment {}: {} bytes, more than this node keeps",
                    a.name,
                    bytes.len()
                )));
            }
            if sha256_hex(&bytes) != a.sha256 || bytes.len() as u64 != a.size {
                return Err(invalid(format!(
                    "attachment {}: the bytes do not match its sha256 and size",
                    a.name
                )));
            }
            self.files.put(&bytes)?;
        }
        Ok(())
    }

    /// The bulletins `q` selects, newest first, each with only the copies `q` selects.
    pub async fn bulletins(&self, q: &BulletinQuery) -> Result<Vec<BulletinView>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, None))?;
        let limit = if q.limit == 0 { LIST_DEFAULT } else { q.limit };
        Ok(self.select(all, q).take(limit).collect())
    }

    /// The views `q` selects: issued here or received, copies in its regions and department,
    /// open ones.
    fn select<'a>(
        &'a self,
        all: Vec<BulletinView>,
        q: &'a BulletinQuery,
    ) -> impl Iterator<Item = BulletinView> + 'a {
        all.into_iter().filter_map(move |mut v| {
            if q.issued_here.is_some_and(|h| h != v.issued_here) {
                return None;
            }
            if !q.regions.is_empty() || q.department.is_some() {
                v.copies.retain(|c| {
                    (q.regions.is_empty()
                        || q.regions
                            .iter()
                            .any(|r| self.covers(*r, c.recipient.region)))
                        && (q.department.is_none() || c.recipient.department == q.department)
                });
                if v.copies.is_empty() {
                    return None;
                }
            }
            if q.open_only && !v.is_open() {
                return None;
            }
            Some(v)
        })
    }

    /// One bulletin with every copy this node holds (the caller applies its scope).
    pub async fn bulletin(&self, id: BulletinId) -> Result<Option<BulletinView>> {
        self.db.with(|c| db::bulletins::view(c, id))
    }

    /// An attachment of bulletin `id` by its SHA-256 (only one a step of that bulletin names).
    pub async fn attachment(
        &self,
        id: BulletinId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let Some(view) = self.db.with(|c| db::bulletins::view(c, id))? else {
            return Ok(None);
        };
        let named = view
            .copies
            .iter()
            .flat_map(|c| &c.steps)
            .filter_map(|s| match &s.kind {
                StepKind::Rectify { attachments, .. } => Some(attachments),
                _ => None,
            })
            .flatten()
            .find(|a| a.sha256 == sha256)
            .cloned();
        match named {
            Some(a) => Ok(self.files.get(sha256)?.map(|bytes| (a, bytes))),
            None => Ok(None),
        }
    }

    /// Statistics per recipient over the bulletins `q` selects issued in `[from, to)` (the
    /// list's limit does not apply).
    pub async fn bulletin_stats(
        &self,
        q: &BulletinQuery,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<RecipientStats>> {
        let all = self.db.with(|c| db::bulletins::views(c, from, to))?;
        let views: Vec<BulletinView> = self.select(all, q).collect();
        Ok(stats(&views, &|r| self.name_of(r)))
    }

    /// The bulletins `region`'s recipients (any department) still have to sign, answer or
    /// rectify on this node, oldest first (a handover lists them).
    pub async fn pending_bulletins(&self, region: RegionCode) -> Result<Vec<BulletinId>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, None))?;
        let mut out: Vec<BulletinId> = all
            .iter()
            .filter(|v| {
                v.copies
                    .iter()
                    .any(|c| c.recipient.region == region && c.due(&v.bulletin).is_some())
            })
            .map(|v| v.bulletin.id)
            .collect();
        out.reverse();
        Ok(out)
    }

    /// Deadlines missed at `now` on every copy this node holds, not alerted yet: one alert
    /// each (rule [`OVERDUE_RULE_ID`], in the recipient's region, id derived from bulletin,
    /// recipient and deadline kind so both levels raise the same alert id), recorded so it is
    /// raised once. The caller stores and publishes them.
    pub async fn check_bulletin_deadlines(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, Some(now)))?;
        let mut raised = Vec::new();
        for v in &all {
            for m in missed(v, now) {
                let alert = self.overdue_alert(&v.bulletin, &m, now)?;
                let marked = self.db.with(|c| {
                    let tx = c.transaction()?;
                    let Some(mut fresh) = db::bulletins::view(&tx, v.bulletin.id)? else {
                        return Ok(false);
                    };
                    let Some(copy) = fresh.copies.iter_mut().find(|c| c.recipient == m.recipient)
                    else {
                        return Ok(false);
                    };
                    if copy.overdue.contains(&m.kind) {
                        return Ok(false);
                    }
                    copy.overdue.push(m.kind);
                    let marked =
                        db::bulletins::mark_alerted(&tx, v.bulletin.id, copy, m.kind, now)?;
                    tx.commit()?;
                    Ok(marked)
                })?;
                if marked {
                    counter!("onewall_supervise_bulletin_overdue_total", "kind" => deadline_name(m.kind))
                        .increment(1);
                    raised.push(alert);
                }
            }
        }
        Ok(raised)
    }

    /// The alert of a missed deadline, the same on the issuer's and the recipient's node.
    fn overdue_alert(&self, b: &Bulletin, m: &Missed, now: Timestamp) -> Result<Alert> {
        let who = match self.name_of(m.recipient.region) {
            n if n.is_empty() => m.recipient.to_string(),
            n => match &m.recipient.department {
                Some(d) => format!("{n} {d}"),
                None => n,
            },
        };
        let (id, recipient) = (b.id.to_string(), m.recipient.to_string());
        let kind = deadline_name(m.kind);
        let v = json!({
            "id": AlertId::derive(
                m.deadline,
                b"alert/bulletin/v1",
                &[id.as_bytes(), recipient.as_bytes(), kind.as_bytes()],
            ),
            "time": now,
            "created": now,
            "rule": {
                "id": OVERDUE_RULE_ID,
                "title": format!(
                    "通报逾期未{} — bulletin {id} overdue ({kind}): {who} 「{}」",
                    deadline_zh(m.kind),
                    b.title
                ),
                "level": severity_of(b.level),
                "tags": ["onewall.supervise", "onewall.bulletin"],
            },
            "severity": severity_of(b.level),
            "event_ids": [],
            "entities": [],
            "region": m.recipient.region,
            "matched": [
                {"field": "bulletin.id", "value": id},
                {"field": "bulletin.recipient", "value": recipient},
                {"field": "bulletin.deadline_kind", "value": kind},
                {"field": "bulletin.deadline", "value": m.deadline.to_rfc3339()},
                {"field": "bulletin.level", "value": b.level.as_str()},
            ],
        });
        serde_json::from_value(v)
            .map_err(|e| SuperviseError::Internal(format!("building the overdue alert: {e}")))
    }
}

/// A bulletin kind's wire name.
fn kind_name(k: BulletinKind) -> &'static str {
    match k {
        BulletinKind::Notice => "notice",
        BulletinKind::Rectification => "rectification",
    }
}

/// A remote bulletin or step refused: logged, counted, and answered `Ok` (see
/// [`Supervision::receive_step`]); a failure of this node stays an error.
fn refused_is_dropped(
    got: Result<()>,
    what: &'static str,
    id: BulletinId,
    via: RegionCode,
) -> Result<()> {
    match got {
        Err(SuperviseError::Internal(e)) => Err(SuperviseError::Internal(e)),
        Err(e) => {
            counter!("onewall_supervise_steps_refused_total", "what" => what).increment(1);
            tracing::warn!(bulletin = %id, %via, error = %e, "supervision from another level refused; dropped");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}
