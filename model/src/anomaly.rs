//! Anomaly detection as the rest of the node sees it: the kinds of detector and what an alert
//! raised by a detector carries (`Alert::anomaly`), so an analyst can read why it fired. The
//! detectors, their baselines and the calendar are in the `onewall-anomaly` crate.

use serde::{Deserialize, Serialize};

/// What a detector looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Counts per group per bucket against a seasonal baseline: spikes, drops, silence.
    Volume,
    /// A value (or tuple) new for its group after the learning window.
    FirstSeen,
    /// A value whose share within its group is below a threshold.
    Rare,
    /// A numeric field per group per bucket against the group's own baseline.
    Outlier,
    /// Activity outside the group's usual hours.
    TimeOfDay,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [
        AnomalyKind::Volume,
        AnomalyKind::FirstSeen,
        AnomalyKind::Rare,
        AnomalyKind::Outlier,
        AnomalyKind::TimeOfDay,
    ];

    /// The name used in detector documents, JSON and the API (`volume`, `first_seen` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::Volume => "volume",
            AnomalyKind::FirstSeen => "first_seen",
            AnomalyKind::Rare => "rare",
            AnomalyKind::Outlier => "outlier",
            AnomalyKind::TimeOfDay => "time_of_day",
        }
    }

    /// The kind named `s` (as [`AnomalyKind::as_str`] spells it).
    pub fn parse(s: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One `group-by` field of a detector and its value for the group that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupField {
    pub field: String,
    pub value: String,
}

/// What an alert raised by an anomaly detector carries: enough to explain it in one sentence
/// and to check that sentence against the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAnomaly {
    /// The detector's id (also the alert's rule id).
    pub detector: String,
    pub kind: AnomalyKind,
    /// The group the detector keeps a baseline for (empty: the detector has one group).
    #[serde(default)]
    pub group: Vec<GroupField>,
    /// What was observed, as shown: "57 events in 10 min", "203.0.113.0/24", "03:00".
    pub observed: String,
    /// The observed number, when it is one (a count, a sum, an hour, a share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<f64>,
    /// What the baseline expected, as shown: "3–12 events", "one of 4 networks seen before",
    /// "08:00–19:00 on working days".
    pub expected: String,
    /// The expected band's low and high ends, when it is numeric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_high: Option<f64>,
    /// How far outside the baseline, 0 to 100 (a documented scale per kind).
    pub score: f64,
    /// How much history the baseline holds, in seconds (from the group's first observation).
    pub baseline_secs: i64,
    /// The one-sentence explanation, in English.
    pub explanation: String,
    /// The same sentence in Chinese (the console shows it first).
    pub explanation_zh: String,
}
