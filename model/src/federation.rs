//! The federation wire protocol between a child node (a city) and its parent (the province).
//!
//! Children always initiate: a child `POST`s a [`PushRequest`] to the parent's
//! [`PUSH_PATH`] with a bearer token of a `collector` scoped to its region, at least every
//! heartbeat even with nothing queued. The parent answers a [`PushReply`] that carries the
//! downlink messages queued for that child after the child's `ack_down`.
//!
//! Both directions are sequenced and idempotent:
//! - up-messages carry the child's outbox sequence; the parent keeps the last sequence it
//!   applied per child region and outbox epoch and skips anything at or below it, and answers
//!   `acked_up` so the child can drop what was applied (never more than it sent). A push
//!   reaching far past that last sequence (a new epoch: past the beginning) is refused, not
//!   acknowledged. Alerts keep their ids, so a repeated alert is ignored.
//! - down-messages carry a per-child sequence; the child keeps the last one it applied and
//!   reports it as `ack_down` on its next push, and the parent drops what was acknowledged.
//! - a change applied from the other side is recorded with a [`remote_actor`] name and never
//!   sent back (see [`is_remote_actor`]).
//!
//! Pure data: no I/O here. The node's `federation` module does the sending and applying.

use serde::{Deserialize, Serialize};

use crate::{
    Alert, AlertId, Entity, Grade, IncidentId, IncidentStatus, RegionCode, Severity, Timestamp,
};

/// Where a child pushes.
pub const PUSH_PATH: &str = "/api/v1/federation/push";

/// The prefix of timeline actors whose change came from another node.
pub const REMOTE_ACTOR_PREFIX: &str = "remote:";

/// The timeline actor for a change made by `by` on the node of `region`: `remote:REGION/BY`.
pub fn remote_actor(region: RegionCode, by: &str) -> String {
    format!("{REMOTE_ACTOR_PREFIX}{region}/{by}")
}

/// Whether a timeline actor names a change that came from another node (such changes are
/// never sent back).
pub fn is_remote_actor(actor: &str) -> bool {
    actor.starts_with(REMOTE_ACTOR_PREFIX)
}

/// A child's push: its state and a batch of sequenced up-messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The child node's name (`[node] name`).
    pub node: String,
    /// The child's region; every pushed alert and incident must lie within it.
    pub region: RegionCode,
    /// The identity of the child's outbox, made when it was created. The parent keeps a last
    /// sequence per region and epoch: a new one (a child whose data directory was wiped starts
    /// its sequence again) starts from the beginning and leaves the other epochs' alone.
    #[serde(default)]
    pub epoch: String,
    /// When the child sent this push.
    pub sent: Timestamp,
    /// Messages still queued at the child after this batch.
    pub outbox_depth: u64,
    /// When the oldest message still queued (this batch included) was queued, if any.
    #[serde(default)]
    pub oldest_queued: Option<Timestamp>,
    /// The highest downlink sequence the child has applied.
    #[serde(default)]
    pub ack_down: u64,
    /// Up-messages in sequence order.
    #[serde(default)]
    pub messages: Vec<UpMessage>,
    /// The child's organisation (`[federation] organisation`; its region code when not set):
    /// indicators marked TLP AMBER+STRICT go only to a child of the parent's own organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// What the child holds of the parent's shared indicators; absent from a child that takes
    /// none (the parent then sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::intel::IntelSync>,
}

/// One up-message with its sequence in the child's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpMessage {
    pub seq: u64,
    #[serde(flatten)]
    pub body: Up,
}

/// What a child tells its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Up {
    /// An alert the child raised, whole (not its raw events).
    Alert { alert: Box<Alert> },
    /// The child's incident as it is now.
    Incident { incident: Box<IncidentSnapshot> },
    /// A status change on a child incident linked to a parent incident.
    Status {
        /// The child's incident.
        incident: IncidentId,
        /// The parent incident it is linked to.
        parent: IncidentId,
        from: IncidentStatus,
        to: IncidentStatus,
        by: String,
        at: Timestamp,
    },
    /// A comment on a child incident linked to a parent incident.
    Comment {
        incident: IncidentId,
        parent: IncidentId,
        text: String,
        by: String,
        at: Timestamp,
    },
    /// Indicators the child's events matched: which region saw them, how often, when.
    Sightings {
        sightings: Vec<crate::intel::SightingReport>,
    },
    /// The child's asset figures per region and department (sent when they change, and
    /// periodically); the parent keeps the latest per child.
    AssetRollup {
        rollup: Box<crate::asset::AssetRollup>,
    },
    /// Supervision: a recipient's step on a bulletin, a 重保 slot report, a lesson, the duty
    /// roster.
    Supervise {
        msg: Box<crate::supervise::SuperviseUp>,
    },
}

/// What the parent needs to know of a child's incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSnapshot {
    pub id: IncidentId,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    #[serde(default)]
    pub grade: Option<Grade>,
    pub region: RegionCode,
    /// The alerts that joined the incident since the child's previous snapshot of it (every
    /// alert in the first one after the child starts): the parent links each to it.
    pub alert_ids: Vec<AlertId>,
    pub entities: Vec<Entity>,
    /// The parent incident it is linked to (after a dispatch).
    #[serde(default)]
    pub parent: Option<IncidentId>,
    pub updated: Timestamp,
}

impl IncidentSnapshot {
    /// The snapshot of `incident`, linked to `parent` when set.
    pub fn of(incident: &crate::Incident, parent: Option<IncidentId>) -> IncidentSnapshot {
        IncidentSnapshot {
            id: incident.id,
            title: incident.title.clone(),
            status: incident.status,
            severity: incident.severity,
            grade: incident.classification.grade,
            region: incident.region,
            alert_ids: incident.alert_ids.clone(),
            entities: incident.entities.clone(),
            parent,
            updated: incident.updated,
        }
    }
}

/// The parent's answer to a push.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushReply {
    /// The parent's node name.
    pub node: String,
    /// The parent's region (children name it on timeline entries).
    #[serde(default)]
    pub region: Option<RegionCode>,
    /// The highest up-sequence the parent has applied for this child: the child may drop
    /// everything at or below it.
    pub acked_up: u64,
    /// Downlink messages after the child's `ack_down`, in sequence order.
    #[serde(default)]
    pub messages: Vec<DownMessage>,
    /// The next page of the parent's shared indicators, when the child's [`IntelSync`] is
    /// behind the parent's shared set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::intel::IntelPage>,
}

/// One down-message with its sequence for this child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownMessage {
    pub seq: u64,
    #[serde(flatten)]
    pub body: Down,
}

/// What a parent tells a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Down {
    /// The parent hands its incident to the child's team: the child links the local incidents
    /// named (or opens one when none is named or known).
    Dispatch {
        /// The parent incident.
        incident: IncidentId,
        title: String,
        severity: Severity,
        note: String,
        #[serde(default)]
        team: Option<String>,
        by: String,
        at: Timestamp,
        /// The child's incidents the parent knows to be part of it.
        #[serde(default)]
        child_incidents: Vec<IncidentId>,
        /// The parent incident's alerts that came from this child.
        #[serde(default)]
        alert_ids: Vec<AlertId>,
    },
    /// The parent incident's status changed.
    Status {
        incident: IncidentId,
        from: IncidentStatus,
        to: IncidentStatus,
        by: String,
        at: Timestamp,
    },
    /// A comment on the parent incident.
    Comment {
        incident: IncidentId,
        text: String,
        by: String,
        at: Timestamp,
    },
    /// Supervision: a bulletin, the issuer's review, a 重保 period, a drill.
    Supervise {
        msg: Box<crate::supervise::SuperviseDown>,
    },
}

impl Down {
    /// The parent incident the message is about (none for supervision).
    pub fn incident(&self) -> Option<IncidentId> {
        match self {
            Down::Dispatch { incident, .. }
            | Down::Status { incident, .. }
            | Down::Comment { incident, .. } => Some(*incident),
            Down::Supervise { .. } => None,
        }
    }
}

/// The body of `POST /api/v1/incidents/{id}/dispatch` on the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// The child region to dispatch to.
    pub region: String,
    /// What the child's team should do.
    pub note: String,
    /// The child's team to assign, if any.
    #[serde(default)]
    pub team: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EntityKind, Id, RuleRef};

    fn alert() -> Alert {
        Alert {
            target: None,
            intel: None,
            anomaly: None,
            id: AlertId::new(Timestamp(1_700_000_000_000_000_000)),
            time: Timestamp(1_700_000_000_000_000_000),
            created: Timestamp(1_700_000_000_000_000_001),
            rule: RuleRef {
                id: "r1".into(),
                title: "SSH failure".into(),
                level: Severity::Medium,
                status: None,
                tags: vec![],
            },
            severity: Severity::Medium,
            event_ids: vec![],
            entities: vec![Entity {
                kind: EntityKind::SourceIp,
                value: "203.0.113.9".into(),
            }],
            region: "410100".parse().unwrap(),
            matched: vec![],
            drill: None,
        }
    }

    #[test]
    fn push_round_trips_with_tagged_messages() {
        let req = PushRequest {
            organisation: None,
            intel: None,
            node: "zz".into(),
            region: "410100".parse().unwrap(),
            epoch: "e1".into(),
            sent: Timestamp(5),
            outbox_depth: 3,
            oldest_queued: Some(Timestamp(1)),
            ack_down: 7,
            messages: vec![
                UpMessage {
                    seq: 1,
                    body: Up::Alert {
                        alert: Box::new(alert()),
                    },
                },
                UpMessage {
                    seq: 2,
                    body: Up::Comment {
                        incident: Id::new(Timestamp(9)),
                        parent: Id::new(Timestamp(8)),
                        text: "on it".into(),
                        by: "bob".into(),
                        at: Timestamp(10),
                    },
                },
            ],
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["messages"][0]["type"], "alert");
        assert_eq!(json["messages"][0]["seq"], 1);
        assert_eq!(json["messages"][1]["type"], "comment");
        let back: PushRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn reply_defaults_and_down_incident() {
        let r: PushReply = serde_json::from_str(r#"{"node":"p","acked_up":4}"#).unwrap();
        assert_eq!(r.acked_up, 4);
        assert!(r.messages.is_empty());
        let id = IncidentId::new(Timestamp(3));
        let d: DownMessage = serde_json::from_value(serde_json::json!({
            "seq": 2, "type": "status", "incident": id,
            "from": "new", "to": "closed", "by": "alice", "at": Timestamp(4),
        }))
        .unwrap();
        assert_eq!(d.body.incident(), Some(id));
    }

    #[test]
    fn remote_actors_are_marked() {
        let a = remote_actor("410000".parse().unwrap(), "alice");
        assert_eq!(a, "remote:410000/alice");
        assert!(is_remote_actor(&a));
        assert!(!is_remote_actor("alice"));
    }

    #[test]
    fn dispatch_request_names_unknown_keys() {
        let e = serde_json::from_str::<DispatchRequest>(r#"{"region":"410100","nte":"x"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("nte"), "{e}");
    }
}
