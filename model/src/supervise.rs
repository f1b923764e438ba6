//! Supervision (监管) records that cross crates and levels: bulletins (安全通报) and the steps
//! their recipients and issuer take (签收, 反馈, 整改, 复核), 重保 periods with their slot
//! reports and lessons, duty shifts, drills (演练) and the marks their alerts and incidents
//! carry, and the federation messages that carry all of it between levels.
//!
//! Pure data: the lifecycle rules are the `supervise` crate's; the node sends and applies.

use serde::{Deserialize, Serialize};

use crate::id::{BulletinId, DrillId, HandoverId, PeriodId, ShiftId, StepId};
use crate::{IncidentId, RegionCode, Timestamp};

/// A 预警 level of a bulletin: 红 (particularly serious), 橙, 黄, 蓝 (general).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningLevel {
    Red,
    Orange,
    Yellow,
    Blue,
}

impl WarningLevel {
    /// Its name as a bulletin prints it (`红色预警` ...).
    pub fn zh(self) -> &'static str {
        match self {
            WarningLevel::Red => "红色预警",
            WarningLevel::Orange => "橙色预警",
            WarningLevel::Yellow => "黄色预警",
            WarningLevel::Blue => "蓝色预警",
        }
    }

    /// Its wire name (`red` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningLevel::Red => "red",
            WarningLevel::Orange => "orange",
            WarningLevel::Yellow => "yellow",
            WarningLevel::Blue => "blue",
        }
    }
}

/// What a bulletin asks of its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulletinKind {
    /// 通报预警: sign for it and answer (affected or not, what was done).
    Notice,
    /// 整改通报: sign, answer, and (when affected) submit the rectification with evidence for
    /// the issuer's review.
    Rectification,
}

/// Who a bulletin is addressed to: a region (its node's team), or a department of a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Recipient {
    pub region: RegionCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.department {
            Some(d) => write!(f, "{}/{d}", self.region),
            None => write!(f, "{}", self.region),
        }
    }
}

/// A bulletin's deadlines. Signing and answering are due from every recipient; rectifying
/// only from those of a rectification bulletin who answered that they are affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// 签收 by.
    pub sign: Timestamp,
    /// 反馈 by (the feedback deadline).
    pub answer: Timestamp,
    /// 整改 by (rectification bulletins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rectify: Option<Timestamp>,
}

/// A bulletin as issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    pub id: BulletinId,
    /// The issuing node's region.
    pub issuer: RegionCode,
    /// The issuing node's name.
    pub issuer_node: String,
    pub title: String,
    pub level: WarningLevel,
    pub kind: BulletinKind,
    pub body: String,
    /// Related CVE ids (`CVE-2024-3400`).
    #[serde(default)]
    pub cves: Vec<String>,
    /// Related indicators (addresses, domains, hashes, URLs), as text.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Related incidents (of the issuing node).
    #[serde(default)]
    pub incidents: Vec<IncidentId>,
    pub deadlines: Deadlines,
    pub recipients: Vec<Recipient>,
    /// The 重保 period it was issued in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodId>,
    /// Who issued it (user name).
    pub by: String,
    pub issued: Timestamp,
}

/// A file attached to a rectification: its bytes are kept by every node that holds the
/// bulletin, named by their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name as uploaded (no directories).
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

/// An attachment's bytes on the wire (base64), beside the step that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentFile {
    pub sha256: String,
    /// Standard base64 of the bytes.
    pub content: String,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepKind {
    /// 签收: the recipient has the bulletin.
    Sign,
    /// 反馈: affected or not, and what was done.
    Answer { affected: bool, text: String },
    /// 整改: what was rectified, with evidence.
    Rectify {
        text: String,
        #[serde(default)]
        attachments: Vec<Attachment>,
    },
    /// 复核 by the issuer: accepted, or returned to the recipient with the reason.
    Review { accepted: bool, reason: String },
}

impl StepKind {
    /// Its name in audit records and URLs: `sign`, `answer`, `rectify`, `review`.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Sign => "sign",
            StepKind::Answer { .. } => "answer",
            StepKind::Rectify { .. } => "rectify",
            StepKind::Review { .. } => "review",
        }
    }
}

/// One step on one recipient's copy of a bulletin. Its id is made where it was taken and kept
/// on every level, so a step applied twice (a redelivery) is applied once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    pub bulletin: BulletinId,
    /// The recipient whose copy it is about (for a review: the one reviewed).
    pub recipient: Recipient,
    #[serde(flatten)]
    pub kind: StepKind,
    /// The user who took it, as named on the node where it was taken.
    pub by: String,
    /// The region of the node where it was taken.
    pub node_region: RegionCode,
    pub at: Timestamp,
}

/// Where a recipient's copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Sent, not signed for.
    Issued,
    /// Signed for, not answered.
    Signed,
    /// Answered. Final for a notice, and for a rectification bulletin answered "not affected";
    /// otherwise the rectification is due.
    Answered,
    /// Rectification submitted, awaiting the issuer's review.
    Submitted,
    /// Returned by the issuer: the rectification is due again.
    Returned,
    /// Rectification accepted by the issuer. Final.
    Accepted,
}

/// A deadline a recipient missed, once alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Sign,
    Answer,
    Rectify,
}

/// A 重保 period (重要时期安全保障): regions under tighter watch from start to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectionPeriod {
    pub id: PeriodId,
    pub name: String,
    /// The regions in scope (each with its subtree).
    pub regions: Vec<RegionCode>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// SLA deadlines are divided by this during the period (≥ 1).
    pub sla_factor: f64,
    /// The zero report is due every this many minutes from the start (a slot each).
    pub report_every_mins: u32,
    /// A slot's report counts as missing this long after it was due.
    pub grace_mins: u32,
    /// The node that declared it.
    pub issuer: RegionCode,
    pub by: String,
    pub created: Timestamp,
    /// Ended early (by the issuer), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<Timestamp>,
}

impl ProtectionPeriod {
    /// Is it running at `at` (started, not ended or cancelled)?
    pub fn active_at(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end && self.cancelled.is_none_or(|c| at < c)
    }

    /// When it ends: its end, or when it was cancelled.
    pub fn ends(&self) -> Timestamp {
        self.cancelled.map_or(self.end, |c| c.min(self.end))
    }
}

/// A region's zero report (零报告) for one slot of a 重保 period: sent even when nothing
/// happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotReport {
    pub period: PeriodId,
    pub region: RegionCode,
    /// The reporting node's name.
    pub node: String,
    /// When the slot was due (start + k × report_every).
    pub slot: Timestamp,
    pub sent: Timestamp,
    /// Incidents opened in the slot, and still open at `sent`.
    pub incidents_new: u32,
    pub incidents_open: u32,
    /// True when nothing was opened in the slot (零报告).
    pub zero: bool,
    /// The report as text (who is on duty, what happened).
    pub text: String,
}

/// A lesson a responder recorded for a period's 复盘.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    pub id: StepId,
    pub period: PeriodId,
    pub region: RegionCode,
    pub by: String,
    pub at: Timestamp,
    pub text: String,
}

/// A person on duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDuty {
    pub name: String,
    /// Their user name on the node, when they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// `leader` (值班领导) or `member` (值班员).
    #[serde(default)]
    pub role: DutyRole,
}

/// A duty role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DutyRole {
    Leader,
    #[default]
    Member,
}

/// A duty shift of a region: who is on duty from start to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub id: ShiftId,
    pub region: RegionCode,
    pub start: Timestamp,
    pub end: Timestamp,
    pub people: Vec<OnDuty>,
    #[serde(default)]
    pub note: String,
}

/// A shift handover (交接班): what the outgoing shift hands over, signed by both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handover {
    pub id: HandoverId,
    pub region: RegionCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_shift: Option<ShiftId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_shift: Option<ShiftId>,
    /// Incidents open at the handover (the node fills them in).
    pub open_incidents: Vec<IncidentId>,
    /// Bulletins the region still has to sign, answer or rectify.
    pub pending_bulletins: Vec<BulletinId>,
    pub notes: String,
    /// The outgoing person (signed when created).
    pub handed_by: String,
    pub handed_at: Timestamp,
    /// The incoming person, once they signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Timestamp>,
}

/// How a drill's attacks arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillMode {
    /// The node replays the scenario's events (marked with the drill and action).
    #[default]
    Scenario,
    /// A live red team attacks from `red_team` addresses.
    Live,
}

/// What a planned action should be detected as (any that holds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// Rule ids whose alert counts as detecting it.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule tags (`attack.t1110`) whose alert counts.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One action the red team plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Unique within the drill (`a1`, `brute-force` ...).
    pub id: String,
    pub name: String,
    /// Seconds after the drill's start it is carried out (for a scenario: when its events are
    /// replayed).
    #[serde(default)]
    pub at_secs: u64,
    /// ATT&CK technique, when given (`T1110`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// The region its events belong to (one of the drill's; the first when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    /// A scenario's events: each a raw log line (text, parsed as syslog would be) or a JSON
    /// object (an event as the HTTP JSON intake takes it).
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
}

/// A drill (演练): its window, regions and the red team's planned actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drill {
    pub id: DrillId,
    pub name: String,
    pub regions: Vec<RegionCode>,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub mode: DrillMode,
    /// Live drills: the red team's source addresses or networks (`10.9.0.0/16`); alerts in
    /// the drill's regions and window that name one are the drill's.
    #[serde(default)]
    pub red_team: Vec<String>,
    pub actions: Vec<PlannedAction>,
    pub issuer: RegionCode,
    pub by: String,
    pub created: Timestamp,
    /// When the node began replaying the scenario (the actions' `at_secs` count from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
}

/// The mark of an alert raised inside a drill: kept out of the real statistics and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillMark {
    pub drill: DrillId,
    /// The planned action it came from, when known (a scenario's events carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// The field a replayed scenario event carries its drill id in.
pub const DRILL_ID_FIELD: &str = "onewall.drill.id";
/// The field a replayed scenario event carries its planned action's id in.
pub const DRILL_ACTION_FIELD: &str = "onewall.drill.action";

/// Supervision a parent sends a child (inside `Down::Supervise`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuperviseDown {
    /// A bulletin for recipients in the child's subtree (only theirs are listed).
    Bulletin { bulletin: Box<Bulletin> },
    /// A step the issuer took on a recipient's copy (a review).
    Step { step: Box<Step> },
    /// A 重保 period covering the child's region (sent again when changed or cancelled).
    Period { period: Box<ProtectionPeriod> },
    /// A drill covering the child's region.
    Drill { drill: Box<Drill> },
}

/// Supervision a child sends its parent (inside `Up::Supervise`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuperviseUp {
    /// A step a recipient took, with the bytes of the attachments it names.
    Step {
        step: Box<Step>,
        #[serde(default)]
        files: Vec<AttachmentFile>,
    },
    /// A zero report for one slot of a 重保 period.
    SlotReport { report: Box<SlotReport> },
    /// A lesson recorded for a period's 复盘.
    Lesson { lesson: Box<Lesson> },
    /// The child's current duty shifts (from now on; replaces what the parent held for the
    /// region).
    Roster {
        region: RegionCode,
        shifts: Vec<Shift>,
    },
}

impl SuperviseUp {
    /// The regions the message speaks for, for the parent's scope check.
    pub fn regions(&self) -> Vec<RegionCode> {
        match self {
            SuperviseUp::Step { step, .. } => vec![step.recipient.region],
            SuperviseUp::SlotReport { report } => vec![report.region],
            SuperviseUp::Lesson { lesson } => vec![lesson.region],
            SuperviseUp::Roster { region, shifts } => {
                let mut r: Vec<RegionCode> = shifts.iter().map(|s| s.region).collect();
                r.push(*region);
                r.sort();
                r.dedup();
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_messages_read_back() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let step = Step {
            id: StepId::new(at),
            bulletin: BulletinId::new(at),
            recipient: Recipient {
                region: RegionCode::new(410100).expect("code"),
                department: Some("教育局".into()),
            },
            kind: StepKind::Answer {
                affected: true,
                text: "已排查".into(),
            },
            by: "zhang".into(),
            node_region: RegionCode::new(410100).expect("code"),
            at,
        };
        let up = SuperviseUp::Step {
            step: Box::new(step.clone()),
            files: Vec::new(),
        };
        let json = serde_json::to_value(&up).expect("json");
        assert_eq!(json["kind"], "step");
        assert_eq!(json["step"]["step"], "answer");
        assert_eq!(json["step"]["recipient"]["department"], "教育局");
        let back: SuperviseUp = serde_json::from_value(json).expect("back");
        assert_eq!(back, up);
        assert_eq!(step.recipient.to_string(), "410100/教育局");
        assert_eq!(up.regions(), vec![RegionCode::new(410100).expect("code")]);
    }

    #[test]
    fn a_period_is_active_between_start_and_its_end_or_cancellation() {
        let t = |s: i64| Timestamp::from_millis(s * 1000);
        let mut p = ProtectionPeriod {
            id: PeriodId::new(t(0)),
            name: "两会".into(),
            regions: vec![],
            start: t(100),
            end: t(200),
            sla_factor: 2.0,
            report_every_mins: 120,
            grace_mins: 30,
            issuer: RegionCode::new(410000).expect("code"),
            by: "admin".into(),
            created: t(0),
            cancelled: None,
        };
        assert!(!p.active_at(t(99)) && p.active_at(t(100)) && !p.active_at(t(200)));
        p.cancelled = Some(t(150));
        assert!(p.active_at(t(149)) && !p.active_at(t(150)));
        assert_eq!(p.ends(), t(150));
    }
}
