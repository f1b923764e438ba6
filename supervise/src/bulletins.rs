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
use onewall_model::{IncidentId, RegionCode, Timestamp};
use serde::Deserialize;

use crate::bulletin::{Applied, BulletinView, Copy, apply};
use crate::{Actor, Result, SuperviseError, Supervision, db};

mod check;
mod deadlines;
mod read;
mod remote;

use check::{
    ITEM_MAX, LIST_MAX, TEXT_MAX, TITLE_MAX, check_items, check_text, clip, file_name, invalid,
    is_cve, kind_name, media_type, step_detail,
};

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

/// Where a step taken here goes.
enum Route {
    Up(SuperviseUp),
    Down(RegionCode, SuperviseDown),
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
            // Queued for every child node or for none, before the commit: a failure leaves
            // neither the bulletin here nor a copy at some of the children.
            let msgs = downs
                .iter()
                .map(|(child, b)| {
                    let bulletin = Box::new(b.clone());
                    (*child, SuperviseDown::Bulletin { bulletin })
                })
                .collect();
            if let Err(e) = self.courier.down_all(msgs) {
                return Ok(Err(SuperviseError::Internal(format!(
                    "queueing bulletin {} for its child nodes: {e:#}",
                    bulletin.id
                ))));
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
}
