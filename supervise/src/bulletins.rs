//! The node's bulletins: issue, take a step, apply what other levels sent, list, statistics,
//! deadlines. Every step is audited once on each node that holds the copy (`bulletin.issue`,
//! `bulletin.sign`, `bulletin.answer`, `bulletin.rectify`, `bulletin.review`), with the actor
//! as named where it was taken (`remote:REGION/USER` on the other levels). (Helper h1.)
//!
//! Routing: a recipient of a child region gets the bulletin down the federation (only its
//! copies); a department of this node's region gets it here (a `BulletinReceived` event). A
//! recipient's step on a bulletin from the parent goes up with its attachments' bytes; the
//! issuer's review of a child's copy goes down.

use onewall_model::id::BulletinId;
use onewall_model::supervise::{
    Attachment, Bulletin, BulletinKind, Recipient, StepKind, WarningLevel,
};
use onewall_model::{Alert, IncidentId, RegionCode, Timestamp};
use serde::Deserialize;

use crate::bulletin::{BulletinView, RecipientStats};
use crate::{Actor, Result, Supervision};

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

impl Supervision {
    /// Issue a bulletin: checked (title, body, recipients: child regions of this node or
    /// departments of a region this node holds, deadlines in the future and sign ≤ answer ≤
    /// rectify), stored, sent, audited. Answers the bulletin with its copies.
    pub async fn issue(&self, actor: &Actor, new: NewBulletin) -> Result<BulletinView> {
        let _ = (actor, new);
        todo!("h1")
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
        let _ = (actor, id, recipient, kind, uploads);
        todo!("h1")
    }

    /// Child: a bulletin from the parent (idempotent).
    pub async fn receive_bulletin(&self, parent: RegionCode, bulletin: Bulletin) -> Result<()> {
        let _ = (parent, bulletin);
        todo!("h1")
    }

    /// Apply a step taken on another level (a child's step, the parent's review), with the
    /// bytes of the files it names (idempotent: a step held already changes nothing and is
    /// not audited again). `via` is the region of the node it came from.
    pub async fn receive_step(
        &self,
        via: RegionCode,
        step: onewall_model::supervise::Step,
        files: Vec<onewall_model::supervise::AttachmentFile>,
    ) -> Result<()> {
        let _ = (via, step, files);
        todo!("h1")
    }

    /// The bulletins `q` selects, newest first.
    pub async fn bulletins(&self, q: &BulletinQuery) -> Result<Vec<BulletinView>> {
        let _ = q;
        todo!("h1")
    }

    /// One bulletin.
    pub async fn bulletin(&self, id: BulletinId) -> Result<Option<BulletinView>> {
        let _ = id;
        todo!("h1")
    }

    /// An attachment of bulletin `id` by its SHA-256 (only one a step of that bulletin names).
    pub async fn attachment(
        &self,
        id: BulletinId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        let _ = (id, sha256);
        todo!("h1")
    }

    /// Statistics per recipient over the bulletins `q` selects issued in `[from, to)`.
    pub async fn bulletin_stats(
        &self,
        q: &BulletinQuery,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<RecipientStats>> {
        let _ = (q, from, to);
        todo!("h1")
    }

    /// Deadlines missed at `now` on every copy this node holds, not alerted yet: one alert
    /// each (rule [`OVERDUE_RULE_ID`], in the recipient's region, id derived from bulletin,
    /// recipient and deadline kind so both levels raise the same alert id), recorded so it is
    /// raised once. The caller stores and publishes them.
    pub async fn check_bulletin_deadlines(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let _ = now;
        todo!("h1")
    }
}
