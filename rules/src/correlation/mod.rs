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

mod definition;
mod info;
mod parse;

use std::collections::HashMap;

use crate::{LoadReport, RuleError, RuleInfo, RuleSource};

pub use definition::{
    Condition, CorrelationRule, CorrelationSet, CorrelationType, ResolvedCorrelation, RuleName,
    RuleTarget, parse_timespan,
};
pub use info::{CorrelationInfo, ReferenceInfo};

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

#[cfg(test)]
mod tests;
