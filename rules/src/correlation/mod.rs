//! Sigma correlation rule definitions (Sigma 2.1 correlations): parsed from the same rule files
//! and packs as detection rules (multi-document YAML), resolved against the compiled rules, and
//! executed by the correlator (`onewall-correlate`).
//!
//! A correlation document has a `correlation:` map with `type` (`event_count`, `value_count`,
//! `temporal`, `temporal_ordered`, `value_sum`, `value_avg`, `value_percentile`), `rules` (ids
//! or `name`s of detection rules or other correlations: chains), `group-by`, `timespan`
//! (`30s`, `5m`, `1h`, `2d`, `1w`), `condition` (a map of `gt gte lt lte eq neq`, several
//! keys ANDed into a range, plus `field` for the value types and `percentile` for
//! `value_percentile`), `aliases` and `generate`. `field` may also be written directly under
//! `correlation:`.
//!
//! onewall extension: `suppress` under `correlation:` (a timespan) sets how long a group stays
//! quiet after the rule fired for it; without it the node's default applies.

mod info;
mod parse;

use std::collections::HashMap;
use std::fmt;

use onewall_model::Severity;

use crate::{LoadReport, RuleError, RuleInfo, RuleSource};

pub use info::{CorrelationInfo, ReferenceInfo};

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

    fn parse(s: &str) -> Option<CorrelationType> {
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

    fn is_empty(&self) -> bool {
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

/// Parse every correlation document of `sources`. A document that is not a correlation is
/// skipped (the rule engine compiles it); a broken correlation is reported, the others load.
pub fn load_correlations(sources: &[RuleSource]) -> (CorrelationSet, LoadReport) {
    let mut set = CorrelationSet::default();
    let mut report = LoadReport::default();
    for src in sources {
        parse::parse_source(src, &mut set, &mut report);
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    set.rules.retain(|r| {
        if let Some(first) = seen.get(&r.id) {
            report.errors.push(RuleError::new(
                &r.path,
                Some(&r.id),
                format!("duplicate correlation id, first defined in {first}"),
            ));
            report.compiled -= 1;
            return false;
        }
        seen.insert(r.id.clone(), r.path.clone());
        true
    });
    (set, report)
}

impl CorrelationSet {
    /// Resolve every reference against the compiled detection rules (`base`) and the other
    /// correlations; order the result so a correlation comes after those it refers to. A
    /// correlation with an unknown reference, an alias naming a rule it does not use, or a
    /// cycle is reported and left out.
    pub fn resolve(&self, base: &[RuleInfo]) -> (Vec<ResolvedCorrelation>, Vec<RuleError>) {
        self.resolve_with(base, &HashMap::new())
    }

    /// As [`CorrelationSet::resolve`]; `unavailable` says why a rule that is not loaded is
    /// missing (by id or name: "disabled by pack x's manifest", "did not compile"), so an
    /// error about a correlation referring to it names both and the reason.
    pub fn resolve_with(
        &self,
        base: &[RuleInfo],
        unavailable: &HashMap<String, String>,
    ) -> (Vec<ResolvedCorrelation>, Vec<RuleError>) {
        let mut errors = Vec::new();
        let by_id: HashMap<&str, &RuleInfo> = base.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut names: HashMap<&str, String> = HashMap::new();
        for n in &self.names {
            let id = n.id.clone().or_else(|| {
                base.iter()
                    .find(|r| r.path == n.path && r.title == n.title)
                    .map(|r| r.id.clone())
            });
            if let Some(id) = id.filter(|id| by_id.contains_key(id.as_str())) {
                names.insert(n.name.as_str(), id);
            }
        }
        let corr_ids: HashMap<&str, &str> = self
            .rules
            .iter()
            .flat_map(|r| {
                let mut v = vec![(r.id.as_str(), r.id.as_str())];
                if let Some(n) = &r.name {
                    v.push((n.as_str(), r.id.as_str()));
                }
                v
            })
            .collect();
        let mut resolved: Vec<ResolvedCorrelation> = Vec::new();
        for r in &self.rules {
            match resolve_one(r, &by_id, &names, &corr_ids, unavailable) {
                Ok(c) => resolved.push(c),
                Err(reason) => errors.push(RuleError::new(&r.path, Some(&r.id), reason)),
            }
        }
        // Order by dependency; drop what refers to a dropped correlation or sits in a cycle.
        let mut ordered: Vec<ResolvedCorrelation> = Vec::with_capacity(resolved.len());
        let mut pending = resolved;
        loop {
            let before = pending.len();
            let mut rest = Vec::new();
            for c in pending {
                let ready = c.targets.iter().all(|t| match t {
                    RuleTarget::Detection(_) => true,
                    RuleTarget::Correlation(id) => ordered.iter().any(|o| o.rule.id == *id),
                });
                if ready {
                    ordered.push(c);
                } else {
                    rest.push(c);
                }
            }
            pending = rest;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        for c in &pending {
            let missing: Vec<&str> = c
                .targets
                .iter()
                .filter_map(|t| match t {
                    RuleTarget::Correlation(id) if !ordered.iter().any(|o| o.rule.id == *id) => {
                        Some(id.as_str())
                    }
                    _ => None,
                })
                .collect();
            errors.push(RuleError::new(
                &c.rule.path,
                Some(&c.rule.id),
                format!(
                    "correlation '{}' refers to correlation {}, which did not load or leads \
                     back to it through a cycle",
                    c.rule.title,
                    missing.join(", ")
                ),
            ));
        }
        (ordered, errors)
    }
}

fn resolve_one(
    r: &CorrelationRule,
    by_id: &HashMap<&str, &RuleInfo>,
    names: &HashMap<&str, String>,
    corr_ids: &HashMap<&str, &str>,
    unavailable: &HashMap<String, String>,
) -> Result<ResolvedCorrelation, String> {
    let mut targets = Vec::with_capacity(r.rules.len());
    for reference in &r.rules {
        let target = if by_id.contains_key(reference.as_str()) {
            RuleTarget::Detection(reference.clone())
        } else if let Some(id) = names.get(reference.as_str()) {
            RuleTarget::Detection(id.clone())
        } else if let Some(id) = corr_ids.get(reference.as_str()) {
            if *id == r.id {
                return Err("a correlation cannot refer to itself".into());
            }
            RuleTarget::Correlation((*id).to_owned())
        } else if let Some(why) = unavailable.get(reference.as_str()) {
            return Err(format!(
                "correlation '{}' refers to rule '{reference}', which is not loaded: {why}",
                r.title
            ));
        } else {
            return Err(format!(
                "correlation '{}' refers to rule '{reference}', which is neither the id nor \
                 the name of a loaded rule",
                r.title
            ));
        };
        targets.push(target);
    }
    let mut group_fields = Vec::with_capacity(r.group_by.len());
    for g in &r.group_by {
        let per_target = match r.aliases.iter().find(|(alias, _)| alias == g) {
            None => vec![g.clone(); targets.len()],
            Some((alias, map)) => {
                for (reference, _) in map {
                    if !r.rules.contains(reference) {
                        return Err(format!(
                            "aliases.{alias}: '{reference}' is not one of the correlation's rules"
                        ));
                    }
                }
                let mut fields = Vec::with_capacity(targets.len());
                for reference in &r.rules {
                    match map.iter().find(|(k, _)| k == reference) {
                        Some((_, field)) => fields.push(field.clone()),
                        None => {
                            return Err(format!(
                                "aliases.{alias}: no field for rule '{reference}'"
                            ));
                        }
                    }
                }
                fields
            }
        };
        group_fields.push(per_target);
    }
    Ok(ResolvedCorrelation {
        rule: r.clone(),
        targets,
        group_fields,
    })
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

#[cfg(test)]
mod tests;
