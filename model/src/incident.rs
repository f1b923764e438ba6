//! Incidents: alerts grouped for an analyst to work.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{AlertId, Entity, Grade, IncidentId, ModelError, RegionCode, Severity, Timestamp};

/// Where an incident is in its life.
///
/// ```text
/// new → acknowledged → investigating → resolved → closed
///  └──────────┴──────────────┴────────────┴──→ false_positive
/// ```
/// A step may skip ahead (an analyst may resolve a new incident outright). A resolved incident
/// may be reopened to `investigating`; `closed` and `false_positive` are final except that a
/// false positive may be reopened to `investigating` by an analyst who was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    Acknowledged,
    Investigating,
    Resolved,
    Closed,
    FalsePositive,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 6] = [
        IncidentStatus::New,
        IncidentStatus::Acknowledged,
        IncidentStatus::Investigating,
        IncidentStatus::Resolved,
        IncidentStatus::Closed,
        IncidentStatus::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Closed => "closed",
            IncidentStatus::FalsePositive => "false_positive",
        }
    }

    fn rank(self) -> u8 {
        match self {
            IncidentStatus::New => 0,
            IncidentStatus::Acknowledged => 1,
            IncidentStatus::Investigating => 2,
            IncidentStatus::Resolved => 3,
            IncidentStatus::Closed => 4,
            IncidentStatus::FalsePositive => 5,
        }
    }

    /// Still being worked: new alerts about it join it.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            IncidentStatus::New | IncidentStatus::Acknowledged | IncidentStatus::Investigating
        )
    }

    pub fn can_become(self, to: IncidentStatus) -> bool {
        use IncidentStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Closed, _) => false,
            (FalsePositive, Investigating) => true,
            (FalsePositive, _) => false,
            (_, FalsePositive) => true,
            (Resolved, Investigating) => true,
            (a, b) => b.rank() > a.rank() && b != FalsePositive,
        }
    }

    /// Check a transition; the error names both ends.
    pub fn transition(self, to: IncidentStatus) -> Result<IncidentStatus, ModelError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(ModelError::Transition {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        IncidentStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| ModelError::UnknownName {
                what: "incident status",
                input: s.to_owned(),
                expected: "new, acknowledged, investigating, resolved, closed, false_positive",
            })
    }
}

/// What changed, in an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineKind {
    Created,
    /// An alert was linked by hand.
    AlertAdded {
        alert_id: AlertId,
    },
    /// Alerts the correlator added. Additions with no other change between them are one
    /// entry: `at` is the first, `until` the last, `count` how many, `sample` the first few
    /// ids (the incident's `alert_ids` holds them all). An incident fed by a long attack keeps
    /// a short timeline.
    AlertsAdded {
        count: u64,
        until: Timestamp,
        sample: Vec<AlertId>,
    },
    StatusChanged {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    Assigned {
        assignee: Option<String>,
        team: Option<String>,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    /// The grade changed (GB/T 20986-2023 Ⅰ–Ⅳ).
    GradeChanged {
        from: Option<Grade>,
        to: Grade,
    },
    /// Another incident was merged into this one (`into` absent), or this one into another.
    Merged {
        from: Option<IncidentId>,
        into: Option<IncidentId>,
    },
    Comment {
        text: String,
    },
    /// An alert was unlinked from the incident by hand.
    AlertRemoved {
        alert_id: AlertId,
    },
    /// The grade (severity) was overridden by hand, with the reason given.
    GradeOverridden {
        from: Severity,
        to: Severity,
        reason: String,
    },
    /// Why the status just changed (required for `false_positive`).
    StatusReason {
        status: IncidentStatus,
        reason: String,
    },
    /// The incident was not acknowledged within its SLA; an alert was raised.
    SlaBreached {
        /// When acknowledgement was due.
        due: Timestamp,
        /// The SLA that applied, in minutes.
        minutes: i64,
    },
    /// An alert naming a CVE hit a host with that CVE open: "target web01 has open
    /// CVE-2021-44228". The severity was raised (a `SeverityChanged` entry follows when it
    /// changed).
    TargetVulnerable {
        /// The host (its name, else its address).
        target: String,
        /// The system it belongs to.
        system: String,
        cve: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    /// Who did it: a user name, or `system` / `correlator`.
    pub actor: String,
    #[serde(flatten)]
    pub change: TimelineKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    /// The correlator's grouping key (e.g. rule and host), so it can find the incident again.
    pub group_key: String,
    /// The region the incident belongs to.
    pub region: RegionCode,
    /// Every region its alerts came from.
    pub regions: Vec<RegionCode>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub entities: Vec<Entity>,
    pub alert_ids: Vec<AlertId>,
    /// Rule ids of its alerts.
    pub rule_ids: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub parent: Option<IncidentId>,
    pub children: Vec<IncidentId>,
    pub timeline: Vec<TimelineEntry>,
    /// Category, grade and the ATT&CK tactics seen.
    #[serde(default)]
    pub classification: Classification,
    /// The registered systems its alerts hit (one per system and host), with who answers for
    /// them; filled by the correlator from `Alert::target`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<crate::asset::AlertTarget>,
    /// The drill (演练) its alerts came from: the correlator never groups drill alerts with
    /// real ones, and drill incidents are kept out of the real statistics and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::id::DrillId>,
}

/// What kind of incident it is and how grave: GB/T 20986-2023 codes and grade, and the
/// ATT&CK tactics its alerts showed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// GB/T 20986-2023 category code (`MP`, `NA`, `DS`, `IC`, `DE`, `RO`, `SHE`, `AB`, `FOC`,
    /// `OTH`), from its rules' `gbt20986.<CODE>` tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Subcategory, as `<CODE>.<n>` (from a `gbt20986.<CODE>.<n>` tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    /// Grade Ⅰ–Ⅳ from the node's grading policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// ATT&CK tactics seen (`credential_access`, `lateral_movement` ...), in order of first
    /// appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
}

impl TimelineEntry {
    /// What `actor` changed at `at`.
    pub fn new(at: Timestamp, actor: &str, change: TimelineKind) -> Self {
        TimelineEntry {
            at,
            actor: actor.to_owned(),
            change,
        }
    }
}

impl Incident {
    /// The incident's grade: the one its grading policy gave it, else read from its severity
    /// ([`Grade::from_severity`]).
    pub fn grade(&self) -> Grade {
        self.classification
            .grade
            .unwrap_or_else(|| Grade::from_severity(self.severity))
    }

    /// Add an entry to the timeline: `actor` changed this at `at`.
    pub fn record(&mut self, actor: &str, at: Timestamp, change: TimelineKind) {
        self.timeline.push(TimelineEntry::new(at, actor, change));
    }

    /// Change status, checking the lifecycle and recording it in the timeline.
    pub fn set_status(
        &mut self,
        to: IncidentStatus,
        actor: &str,
        at: Timestamp,
    ) -> Result<(), ModelError> {
        let from = self.status;
        self.status = from.transition(to)?;
        self.updated = at;
        self.record(actor, at, TimelineKind::StatusChanged { from, to });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentStatus::*;

    #[test]
    fn lifecycle() {
        assert!(New.can_become(Acknowledged));
        assert!(Acknowledged.can_become(Investigating));
        assert!(Investigating.can_become(Resolved));
        assert!(Resolved.can_become(Closed));
        assert!(New.can_become(Resolved));
        assert!(Investigating.can_become(FalsePositive));
        assert!(Resolved.can_become(Investigating));
        assert!(!Closed.can_become(New));
        assert!(!Acknowledged.can_become(New));
        assert!(!New.can_become(New));
        assert!(!FalsePositive.can_become(Closed));
        let e = Closed.transition(Investigating).unwrap_err();
        assert_eq!(
            e.to_string(),
            "incident status cannot go from closed to investigating"
        );
    }
}
