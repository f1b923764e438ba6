//! What a loaded correlation looks like from outside: a listing entry ([`CorrelationInfo`]) and
//! a hash of its definition ([`ResolvedCorrelation::definition_hash`]) that tells a reload
//! whether its state may be kept.

use onewall_model::Severity;

use super::definition::{CorrelationType, ResolvedCorrelation, RuleTarget};

/// One reference of a correlation's `rules:`, as written and as resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceInfo {
    /// The reference as written (an id or a `name`).
    pub reference: String,
    /// The id of the rule it resolved to.
    pub id: String,
    /// `detection` or `correlation` (a chain).
    pub kind: &'static str,
}

/// A loaded correlation rule, for `GET /api/v1/rules` and `onewall rules check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CorrelationInfo {
    pub id: String,
    pub title: String,
    pub level: Severity,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub path: String,
    /// The correlation type (`event_count`, `value_count`, ...).
    #[serde(rename = "type")]
    pub kind: CorrelationType,
    /// The rules it counts, in order.
    pub rules: Vec<ReferenceInfo>,
    pub group_by: Vec<String>,
    pub timespan_secs: i64,
    /// The condition as text (`gte 20`), with the aggregated field when there is one.
    pub condition: String,
    pub field: Option<String>,
    pub generate: bool,
}

impl ResolvedCorrelation {
    /// The listing entry.
    pub fn info(&self) -> CorrelationInfo {
        let r = &self.rule;
        CorrelationInfo {
            id: r.id.clone(),
            title: r.title.clone(),
            level: r.level,
            status: r.status.clone(),
            tags: r.tags.clone(),
            path: r.path.clone(),
            kind: r.kind,
            rules: r
                .rules
                .iter()
                .zip(&self.targets)
                .map(|(reference, t)| ReferenceInfo {
                    reference: reference.clone(),
                    id: t.id().to_owned(),
                    kind: match t {
                        RuleTarget::Detection(_) => "detection",
                        RuleTarget::Correlation(_) => "correlation",
                    },
                })
                .collect(),
            group_by: r.group_by.clone(),
            timespan_secs: r.timespan_secs,
            condition: r.condition.to_string(),
            field: r.field.clone(),
            generate: r.generate,
        }
    }

    /// A stable 64-bit hash (FNV-1a) of everything that decides what the correlation counts and
    /// when it fires: the parsed document (not the file it came from) and its resolved
    /// references. Equal hashes mean a window's state means the same under both definitions.
    pub fn definition_hash(&self) -> u64 {
        let mut rule = self.rule.clone();
        rule.path = String::new();
        let text = serde_norway::to_string(&(&rule, &self.targets, &self.group_fields))
            .unwrap_or_else(|_| format!("{rule:?}{:?}{:?}", self.targets, self.group_fields));
        onewall_model::hash::fnv1a(text.as_bytes())
    }
}
