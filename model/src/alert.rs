//! Alerts: a rule fired.

use serde::{Deserialize, Serialize};

use crate::{AlertId, Entity, EventId, RegionCode, Severity, Timestamp};

/// The rule that fired, as the alert keeps it (the rule may change or vanish later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub level: Severity,
    /// Sigma status (`stable`, `test`, `experimental` ...), when the rule gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tags as written, e.g. `attack.t1110.001`, `attack.credential_access`.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A field value that made a selection match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedField {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    /// Event time of the (last) event that fired the rule.
    pub time: Timestamp,
    /// When this node raised the alert.
    pub created: Timestamp,
    pub rule: RuleRef,
    /// The alert's severity: the rule's level unless an overlay changed it.
    pub severity: Severity,
    pub event_ids: Vec<EventId>,
    pub entities: Vec<Entity>,
    pub region: RegionCode,
    /// Selections that matched and the field values that made them match, when known.
    #[serde(default)]
    pub matched: Vec<MatchedField>,
}

impl Alert {
    /// The first entity of `kind`.
    pub fn entity(&self, kind: crate::EntityKind) -> Option<&str> {
        self.entities
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.value.as_str())
    }
}
