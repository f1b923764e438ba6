//! A bulletin's lifecycle, pure: each recipient's copy and the steps that move it, what is
//! due and overdue, and the per-recipient statistics. (Helper h1.)
//!
//! ```text
//!  issued ─sign─► signed ─answer─► answered ──(notice, or not affected: done)
//!                                     │ rectification, affected
//!                                     ▼
//!                  returned ◄─review(returned)─ submitted ─review(accepted)─► accepted
//!                     └──────────rectify──────────▲
//! ```

use onewall_model::supervise::{
    Bulletin, BulletinKind, DeadlineKind, Recipient, RecipientState, Step,
};
use onewall_model::{RegionCode, Timestamp};
use serde::Serialize;

use crate::Result;

/// One recipient's copy of a bulletin: where it stands and every step taken on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Copy {
    pub recipient: Recipient,
    pub state: RecipientState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<Timestamp>,
    /// The answer: affected or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected: Option<bool>,
    /// The latest rectification submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Timestamp>,
    /// Times the issuer returned the rectification.
    pub returned: u32,
    /// Deadlines missed (and alerted), in the order they were missed.
    pub overdue: Vec<DeadlineKind>,
    /// Every step, in the order taken.
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
        let _ = kind;
        todo!("h1")
    }

    /// The next deadline the recipient has to meet, and when: `None` once done (or waiting
    /// for the issuer's review).
    pub fn due(&self, bulletin: &Bulletin) -> Option<(DeadlineKind, Timestamp)> {
        let _ = bulletin;
        todo!("h1")
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
/// `SuperviseError::Conflict` names the state and the step when it does not fit.
pub fn apply(bulletin: &Bulletin, copy: &mut Copy, step: &Step) -> Result<Applied> {
    let _ = (bulletin, copy, step);
    todo!("h1")
}

/// A deadline missed by a copy at `now` and not yet alerted: the caller alerts and records
/// it (`copy.overdue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub recipient: Recipient,
    pub kind: DeadlineKind,
    pub deadline: Timestamp,
}

/// The deadlines of `view`'s copies past at `now` and not met nor alerted yet.
pub fn missed(view: &BulletinView, now: Timestamp) -> Vec<Missed> {
    let _ = (view, now);
    todo!("h1")
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
    pub rectified_on_time: u32,
    pub accepted: u32,
    pub returned: u32,
    /// Deadlines missed.
    pub overdue: u32,
}

/// Statistics per recipient over `views` (every copy counted once per bulletin), sorted by
/// recipient. `name_of` names a region.
pub fn stats(
    views: &[BulletinView],
    name_of: &dyn Fn(RegionCode) -> String,
) -> Vec<RecipientStats> {
    let _ = (views, name_of);
    todo!("h1")
}
