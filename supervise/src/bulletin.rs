//! A bulletin's lifecycle, pure: each recipient's copy and the steps that move it, what is
//! due and overdue, and the per-recipient statistics.
//!
//! ```text
//!  issued ─sign─► signed ─answer─► answered ──(notice, or not affected: done)
//!                                     │ rectification, affected
//!                                     ▼
//!                  returned ◄─review(returned)─ submitted ─review(accepted)─► accepted
//!                     └──────────rectify──────────▲
//! ```

use std::collections::BTreeMap;

use onewall_model::supervise::{
    Bulletin, BulletinKind, DeadlineKind, Recipient, RecipientState, Step, StepKind,
};
use onewall_model::{RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Result, SuperviseError};

/// One recipient's copy of a bulletin: where it stands and every step taken on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Copy {
    pub recipient: Recipient,
    pub state: RecipientState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<Timestamp>,
    /// The answer: affected or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected: Option<bool>,
    /// The latest rectification submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Timestamp>,
    /// Times the issuer returned the rectification.
    #[serde(default)]
    pub returned: u32,
    /// Deadlines missed (and alerted), in the order they were missed.
    #[serde(default)]
    pub overdue: Vec<DeadlineKind>,
    /// Every step, in the order taken.
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Copy {
    /// A fresh copy for `recipient`.
    pub fn new(recipient: Recipient) -> Copy {
        Copy {
            recipient,
            state: RecipientState::Issued,
            signed: None,
            answered: None,
            affected: None,
            submitted: None,
            accepted: None,
            returned: 0,
            overdue: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Is nothing more due from anyone (a notice answered; a rectification accepted or
    /// answered "not affected")?
    pub fn is_done(&self, kind: BulletinKind) -> bool {
        match (kind, self.state) {
            (_, RecipientState::Accepted) => true,
            (BulletinKind::Notice, RecipientState::Answered) => true,
            (BulletinKind::Rectification, RecipientState::Answered) => self.affected == Some(false),
            _ => false,
        }
    }

    /// The next deadline the recipient has to meet, and when: `None` once done (or waiting
    /// for the issuer's review).
    pub fn due(&self, bulletin: &Bulletin) -> Option<(DeadlineKind, Timestamp)> {
        if self.is_done(bulletin.kind) {
            return None;
        }
        let d = &bulletin.deadlines;
        match self.state {
            RecipientState::Issued => Some((DeadlineKind::Sign, d.sign)),
            RecipientState::Signed => Some((DeadlineKind::Answer, d.answer)),
            RecipientState::Answered | RecipientState::Returned => {
                Some((DeadlineKind::Rectify, rectify_deadline(bulletin)))
            }
            RecipientState::Submitted | RecipientState::Accepted => None,
        }
    }

    /// Whether the step with `id` is on this copy.
    pub fn has_step(&self, id: onewall_model::id::StepId) -> bool {
        self.steps.iter().any(|s| s.id == id)
    }
}

/// When the rectification is due: the bulletin's rectify deadline, else its answer deadline.
pub fn rectify_deadline(bulletin: &Bulletin) -> Timestamp {
    bulletin
        .deadlines
        .rectify
        .unwrap_or(bulletin.deadlines.answer)
}

/// Its Chinese name, as titles and audit details print it (`签收` ...).
pub fn deadline_zh(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::Sign => "签收",
        DeadlineKind::Answer => "反馈",
        DeadlineKind::Rectify => "整改",
    }
}

/// Its wire name (`sign` ...).
pub fn deadline_name(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::Sign => "sign",
        DeadlineKind::Answer => "answer",
        DeadlineKind::Rectify => "rectify",
    }
}

/// A bulletin with every copy this node holds (the issuer holds all; a recipient's node
/// holds the copies of its own recipients).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulletinView {
    pub bulletin: Bulletin,
    pub copies: Vec<Copy>,
    /// Issued by this node (else received from the parent).
    pub issued_here: bool,
}

impl BulletinView {
    /// The copy of `recipient`, if this node holds it.
    pub fn copy(&self, recipient: &Recipient) -> Option<&Copy> {
        self.copies.iter().find(|c| &c.recipient == recipient)
    }

    /// Whether some copy still has something due (or awaits review).
    pub fn is_open(&self) -> bool {
        self.copies.iter().any(|c| !c.is_done(self.bulletin.kind))
    }
}

/// What applying a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The copy moved.
    Applied,
    /// The step (by id) was already on the copy: nothing changed.
    Duplicate,
}

/// Apply `step` to `copy` of `bulletin`, checking the state allows it (sign before answer,
/// rectify only when affected on a rectification bulletin and not yet accepted, review only
/// of a submitted rectification, a non-empty reason when returned). A step whose id is
/// already on the copy is a [`Applied::Duplicate`] and changes nothing.
/// `SuperviseError::Conflict` names the state and the step when it does not fit;
/// `Forbidden` when the step is taken on the wrong side (a review anywhere but on the
/// issuer's node, another step anywhere but on the recipient's); `Invalid` when it names
/// another bulletin or recipient, or a return has no reason.
pub fn apply(bulletin: &Bulletin, copy: &mut Copy, step: &Step) -> Result<Applied> {
    if copy.has_step(step.id) {
        return Ok(Applied::Duplicate);
    }
    if step.bulletin != bulletin.id {
        return Err(SuperviseError::Invalid(format!(
            "step {} is about bulletin {}, not {}",
            step.id, step.bulletin, bulletin.id
        )));
    }
    if step.recipient != copy.recipient {
        return Err(SuperviseError::Invalid(format!(
            "step {} is about recipient {}, not {}",
            step.id, step.recipient, copy.recipient
        )));
    }
    match &step.kind {
        StepKind::Review { accepted, reason } => {
            if step.node_region != bulletin.issuer {
                return Err(SuperviseError::Forbidden(format!(
                    "only the issuer ({}) reviews bulletin {}; the step came from {}",
                    bulletin.issuer, bulletin.id, step.node_region
                )));
            }
            if copy.state != RecipientState::Submitted {
                return Err(conflict(
                    bulletin,
                    copy,
                    step,
                    "only a submitted rectification is reviewed",
                ));
            }
            if *accepted {
                copy.state = RecipientState::Accepted;
                copy.accepted = Some(step.at);
            } else {
                if reason.trim().is_empty() {
                    return Err(SuperviseError::Invalid(
                        "reason: a returned rectification needs the reason".into(),
                    ));
                }
                copy.state = RecipientState::Returned;
                copy.returned += 1;
            }
        }
        kind => {
            if step.node_region != copy.recipient.region {
                return Err(SuperviseError::Forbidden(format!(
                    "{} of bulletin {} is the recipient's ({}); the step came from {}",
                    kind.name(),
                    bulletin.id,
                    copy.recipient.region,
                    step.node_region
                )));
            }
            apply_recipient(bulletin, copy, step)?;
        }
    }
    copy.steps.push(step.clone());
    Ok(Applied::Applied)
}

/// The refusal of a step the copy's state does not allow.
fn conflict(bulletin: &Bulletin, copy: &Copy, step: &Step, wants: &str) -> SuperviseError {
    SuperviseError::Conflict(format!(
        "cannot {} bulletin {} for {}: the copy is {} ({wants})",
        step.kind.name(),
        bulletin.id,
        copy.recipient,
        state_name(copy.state)
    ))
}

/// The recipient's steps: sign, answer, rectify.
fn apply_recipient(bulletin: &Bulletin, copy: &mut Copy, step: &Step) -> Result<()> {
    let conflict = |copy: &Copy, wants: &str| conflict(bulletin, copy, step, wants);
    match &step.kind {
        StepKind::Sign => {
            if copy.state != RecipientState::Issued {
                return Err(conflict(copy, "it was signed already"));
            }
            copy.state = RecipientState::Signed;
            copy.signed = Some(step.at);
        }
        StepKind::Answer { affected, .. } => {
            if copy.state != RecipientState::Signed {
                return Err(conflict(copy, "an answer follows the signature, once"));
            }
            copy.state = RecipientState::Answered;
            copy.answered = Some(step.at);
            copy.affected = Some(*affected);
        }
        StepKind::Rectify { text, .. } => {
            if bulletin.kind != BulletinKind::Rectification {
                return Err(conflict(copy, "a notice asks for no rectification"));
            }
            let open = matches!(
                copy.state,
                RecipientState::Answered | RecipientState::Returned
            );
            if !open || copy.affected != Some(true) {
                return Err(conflict(
                    copy,
                    "a rectification follows an answer \"affected\" or a return",
                ));
            }
            if text.trim().is_empty() {
                return Err(SuperviseError::Invalid(
                    "text: a rectification says what was done".into(),
                ));
            }
            copy.state = RecipientState::Submitted;
            copy.submitted = Some(step.at);
        }
        StepKind::Review { .. } => return Err(conflict(copy, "a review is the issuer's")),
    }
    Ok(())
}

/// A state's wire name (`issued` ...).
pub fn state_name(s: RecipientState) -> &'static str {
    match s {
        RecipientState::Issued => "issued",
        RecipientState::Signed => "signed",
        RecipientState::Answered => "answered",
        RecipientState::Submitted => "submitted",
        RecipientState::Returned => "returned",
        RecipientState::Accepted => "accepted",
    }
}

/// A deadline missed by a copy at `now` and not yet alerted: the caller alerts and records
/// it (`copy.overdue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub recipient: Recipient,
    pub kind: DeadlineKind,
    pub deadline: Timestamp,
}

/// The deadlines of `view`'s copies past at `now` and not met nor alerted yet. Signing and
/// answering are checked on every copy; rectifying on a rectification bulletin's copies
/// answered "affected" whose rectification is not submitted (a returned one is due again
/// against the same deadline). A deadline is missed once `now` is past it; each kind is
/// missed at most once per copy.
pub fn missed(view: &BulletinView, now: Timestamp) -> Vec<Missed> {
    let b = &view.bulletin;
    let mut out = Vec::new();
    for c in &view.copies {
        let mut check = |kind: DeadlineKind, deadline: Timestamp, met: bool| {
            if !met && now > deadline && !c.overdue.contains(&kind) {
                out.push(Missed {
                    recipient: c.recipient.clone(),
                    kind,
                    deadline,
                });
            }
        };
        check(DeadlineKind::Sign, b.deadlines.sign, c.signed.is_some());
        check(
            DeadlineKind::Answer,
            b.deadlines.answer,
            c.answered.is_some(),
        );
        if b.kind == BulletinKind::Rectification && c.affected == Some(true) {
            let met = matches!(
                c.state,
                RecipientState::Submitted | RecipientState::Accepted
            );
            check(DeadlineKind::Rectify, rectify_deadline(b), met);
        }
    }
    out
}

/// A recipient's record over many bulletins.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecipientStats {
    pub recipient: Option<Recipient>,
    /// Its region's name.
    pub name: String,
    pub bulletins: u32,
    pub signed: u32,
    pub signed_on_time: u32,
    pub answered: u32,
    pub answered_on_time: u32,
    /// Rectifications due (rectification bulletins answered "affected").
    pub rectifications: u32,
    /// Rectifications whose latest submission was by the rectify deadline.
    pub rectified_on_time: u32,
    pub accepted: u32,
    pub returned: u32,
    /// Deadlines missed.
    pub overdue: u32,
}

/// Statistics per recipient over `views` (every copy counted once per bulletin), sorted by
/// recipient. `name_of` names a region. On time means the step's time is at or before the
/// deadline; a rectification counts as on time when its latest submission was.
pub fn stats(
    views: &[BulletinView],
    name_of: &dyn Fn(RegionCode) -> String,
) -> Vec<RecipientStats> {
    let mut by: BTreeMap<Recipient, RecipientStats> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for v in views {
        let b = &v.bulletin;
        for c in &v.copies {
            if !seen.insert((b.id, c.recipient.clone())) {
                continue;
            }
            let s = by
                .entry(c.recipient.clone())
                .or_insert_with(|| RecipientStats {
                    recipient: Some(c.recipient.clone()),
                    name: name_of(c.recipient.region),
                    ..RecipientStats::default()
                });
            s.bulletins += 1;
            let on_time = |t: Option<Timestamp>, d: Timestamp| u32::from(t.is_some_and(|t| t <= d));
            s.signed += u32::from(c.signed.is_some());
            s.signed_on_time += on_time(c.signed, b.deadlines.sign);
            s.answered += u32::from(c.answered.is_some());
            s.answered_on_time += on_time(c.answered, b.deadlines.answer);
            if b.kind == BulletinKind::Rectification && c.affected == Some(true) {
                s.rectifications += 1;
                s.rectified_on_time += on_time(c.submitted, rectify_deadline(b));
            }
            s.accepted += u32::from(c.state == RecipientState::Accepted);
            s.returned += c.returned;
            s.overdue += c.overdue.len() as u32;
        }
    }
    by.into_values().collect()
}
