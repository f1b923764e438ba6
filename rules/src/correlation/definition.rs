//! What a correlation rule says, once parsed: its type, condition, rules and fields, and
//! the resolved form the correlator runs.

use std::fmt;

use onewall_model::Severity;

/// The seven correlation types of Sigma 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// Number of events in the window.
    EventCount,
    /// Number of distinct values of `field` in the window.
    ValueCount,
    /// Every referenced rule (or `condition` many of them) seen in the window, any order.
    Temporal,
    /// Every referenced rule seen in the window, in the order they are listed.
    TemporalOrdered,
    /// Sum of the numeric `field` in the window.
    ValueSum,
    /// Mean of the numeric `field` in the window.
    ValueAvg,
    /// The `percentile` (0–100, nearest rank) of the numeric `field` in the window.
    ValuePercentile,
}

impl CorrelationType {
    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    const ALL: [CorrelationType; 7] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::ValuePercentile,
    ];

    pub(super) fn parse(s: &str) -> Option<CorrelationType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the type aggregates a `field`.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Whether the type is one of the two temporal ones.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

impl fmt::Display for CorrelationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition: every bound given must hold (`gt: 100, lte: 200` is a range).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Condition {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
    pub eq: Option<f64>,
    pub neq: Option<f64>,
}

impl Condition {
    /// `gte: n`.
    pub fn at_least(n: f64) -> Self {
        Condition {
            gte: Some(n),
            ..Default::default()
        }
    }

    /// Whether `v` satisfies every bound.
    pub fn holds(&self, v: f64) -> bool {
        self.gt.is_none_or(|b| v > b)
            && self.gte.is_none_or(|b| v >= b)
            && self.lt.is_none_or(|b| v < b)
            && self.lte.is_none_or(|b| v <= b)
            && self.eq.is_none_or(|b| v == b)
            && self.neq.is_none_or(|b| v != b)
    }

    pub(super) fn is_empty(&self) -> bool {
        *self == Condition::default()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, v) in [
            ("gt", self.gt),
            ("gte", self.gte),
            ("lt", self.lt),
            ("lte", self.lte),
            ("eq", self.eq),
            ("neq", self.neq),
        ] {
            if let Some(v) = v {
                if !first {
                    f.write_str(" and ")?;
                }
                first = false;
                write!(f, "{name} {v}")?;
            }
        }
        Ok(())
    }
}

/// One correlation document, as written (references not yet resolved).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CorrelationRule {
    /// The `id`; a correlation without one gets `ow-corr-` and its `name` or title.
    pub id: String,
    /// The `name` other correlations may refer to it by.
    pub name: Option<String>,
    pub title: String,
    /// The `level` of the alerts it raises; `high` when not given.
    pub level: Severity,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// The source the document came from.
    pub path: String,
    pub kind: CorrelationType,
    /// `rules`, as written (ids or names).
    pub rules: Vec<String>,
    /// `group-by` fields (or alias names).
    pub group_by: Vec<String>,
    /// `timespan`, in seconds.
    pub timespan_secs: i64,
    pub condition: Condition,
    /// The field aggregated by the value types.
    pub field: Option<String>,
    /// For `value_percentile`: which percentile (0–100).
    pub percentile: Option<f64>,
    /// `aliases`: alias name → (rule reference as written → field in that rule's events).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`: whether the referenced rules raise alerts of their own too.
    pub generate: bool,
    /// onewall's `suppress` (seconds), when the rule sets it.
    pub suppress_secs: Option<i64>,
}

/// A rule as a correlation may refer to it: its id, and its `name` if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleName {
    pub path: String,
    pub title: String,
    pub id: Option<String>,
    pub name: String,
}

/// What one pass over the sources found: the correlation documents and the `name`s of the
/// detection rules (for resolving references).
#[derive(Debug, Clone, Default)]
pub struct CorrelationSet {
    pub rules: Vec<CorrelationRule>,
    pub names: Vec<RuleName>,
}

/// What a reference in `rules:` resolved to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum RuleTarget {
    /// A detection rule, by its id.
    Detection(String),
    /// Another correlation, by its id.
    Correlation(String),
}

impl RuleTarget {
    /// The id of the rule the alert carries.
    pub fn id(&self) -> &str {
        match self {
            RuleTarget::Detection(id) | RuleTarget::Correlation(id) => id,
        }
    }
}

/// A correlation whose references are resolved, ready to execute.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResolvedCorrelation {
    pub rule: CorrelationRule,
    /// `rules:` in order, resolved.
    pub targets: Vec<RuleTarget>,
    /// Per group-by entry, per target (same order as `targets`): the event field to read.
    pub group_fields: Vec<Vec<String>>,
}

/// Parse a Sigma timespan (`30s`, `5m`, `1h`, `2d`, `1w`) into seconds.
pub fn parse_timespan(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "timespan '{s}': expected a number and one of s, m, h, d, w"
            ));
        }
    };
    match num.parse::<i64>() {
        Ok(n) if n > 0 => n
            .checked_mul(mult)
            .ok_or_else(|| format!("timespan '{s}' is too long")),
        _ => Err(format!(
            "timespan '{s}': expected a positive whole number before the unit"
        )),
    }
}
