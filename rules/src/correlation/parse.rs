//! Reading correlation documents out of rule sources.

use serde_norway::{Mapping, Value as Yaml};

use onewall_model::Severity;

use super::definition::{
    Condition, CorrelationRule, CorrelationSet, CorrelationType, RuleName, parse_timespan,
};
use crate::yaml::yaml_text;
use crate::{LoadReport, RuleError, RuleSource};

/// Walk every document of `src`: correlations are parsed into `set.rules` (counted in
/// `report`), detection rules with a `name` are recorded in `set.names`. YAML errors are left
/// to the rule engine, which reports them.
pub(super) fn parse_source(src: &RuleSource, set: &mut CorrelationSet, report: &mut LoadReport) {
    // A syntax error ends the documents; the rule engine reports it.
    let parsed = src.documents();
    for doc in &parsed.docs {
        // Null documents (and other non-maps) are nothing here.
        let Yaml::Mapping(m) = doc else { continue };
        if m.contains_key("correlation") {
            report.total += 1;
            match parse_correlation(&src.path, m) {
                Ok(rule) => {
                    report.compiled += 1;
                    set.rules.push(rule);
                }
                Err(e) => report.errors.push(e),
            }
        } else if let (Some(Yaml::String(name)), Some(Yaml::String(title))) =
            (m.get("name"), m.get("title"))
        {
            set.names.push(RuleName {
                path: src.path.clone(),
                title: title.trim().to_owned(),
                id: match m.get("id") {
                    Some(Yaml::String(id)) if !id.trim().is_empty() => Some(id.trim().to_owned()),
                    _ => None,
                },
                name: name.trim().to_owned(),
            });
        }
    }
}

fn text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.trim().to_owned()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn opt_text(m: &Mapping, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(v) => text(v)
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a string, found {}", yaml_text(v))),
    }
}

fn text_list(m: &Mapping, key: &str) -> Result<Vec<String>, String> {
    match m.get(key) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .map(|v| {
                text(v).ok_or_else(|| {
                    format!("'{key}' must be a list of strings, found {}", yaml_text(v))
                })
            })
            .collect(),
        Some(v) => text(v)
            .map(|s| vec![s])
            .ok_or_else(|| format!("'{key}' must be a list of strings, found {}", yaml_text(v))),
    }
}

fn number(key: &str, v: &Yaml) -> Result<f64, String> {
    match v {
        Yaml::Number(n) => n
            .as_f64()
            .ok_or_else(|| format!("condition.{key}: {n} is not a number")),
        Yaml::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("condition.{key}: '{s}' is not a number")),
        other => Err(format!(
            "condition.{key}: expected a number, found {}",
            yaml_text(other)
        )),
    }
}

fn parse_correlation(path: &str, m: &Mapping) -> Result<CorrelationRule, RuleError> {
    let id = opt_text(m, "id").ok().flatten().filter(|s| !s.is_empty());
    let fail = |reason: String| RuleError::new(path, id.as_deref(), reason);
    let title = opt_text(m, "title")
        .map_err(&fail)?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("missing 'title'".into()))?;
    let name = opt_text(m, "name").map_err(&fail)?;
    let level = match opt_text(m, "level").map_err(&fail)? {
        None => Severity::High,
        Some(l) => l
            .parse()
            .map_err(|_| fail(format!("unknown level '{l}'")))?,
    };
    let c = match m.get("correlation") {
        Some(Yaml::Mapping(c)) => c,
        Some(other) => {
            return Err(fail(format!(
                "'correlation' must be a map, found {}",
                yaml_text(other)
            )));
        }
        None => return Err(fail("missing 'correlation'".into())),
    };
    check_keys(c).map_err(&fail)?;
    let kind_text = opt_text(c, "type")
        .map_err(|e| fail(format!("correlation: {e}")))?
        .ok_or_else(|| fail("correlation: missing 'type'".into()))?;
    let kind = CorrelationType::parse(&kind_text).ok_or_else(|| {
        fail(format!(
            "correlation.type: unknown type '{kind_text}' (expected event_count, value_count, \
             temporal, temporal_ordered, value_sum, value_avg or value_percentile)"
        ))
    })?;
    let rules = text_list(c, "rules").map_err(|e| fail(format!("correlation: {e}")))?;
    if rules.is_empty() {
        return Err(fail(
            "correlation.rules: at least one rule is required".into(),
        ));
    }
    let group_by = text_list(c, "group-by").map_err(|e| fail(format!("correlation: {e}")))?;
    let timespan_secs =
        match opt_text(c, "timespan").map_err(|e| fail(format!("correlation: {e}")))? {
            None => return Err(fail("correlation: missing 'timespan'".into())),
            Some(t) => parse_timespan(&t).map_err(|e| fail(format!("correlation.{e}")))?,
        };
    let suppress_secs = opt_text(c, "suppress")
        .map_err(|e| fail(format!("correlation: {e}")))?
        .map(|t| {
            if t == "0" || t == "0s" {
                Ok(0)
            } else {
                parse_timespan(&t).map_err(|e| fail(format!("correlation.suppress: {e}")))
            }
        })
        .transpose()?;
    let mut field = opt_text(c, "field").map_err(|e| fail(format!("correlation: {e}")))?;
    let (mut condition, percentile) = parse_condition(c, &mut field).map_err(&fail)?;
    if condition.is_empty() {
        if kind.is_temporal() {
            condition = Condition::at_least(rules.len() as f64);
        } else {
            return Err(fail(format!(
                "correlation.condition: {kind} needs at least one of gt, gte, lt, lte, eq, neq"
            )));
        }
    }
    if kind.needs_field() && field.is_none() {
        return Err(fail(format!("correlation.condition: {kind} needs 'field'")));
    }
    if kind == CorrelationType::ValuePercentile && percentile.is_none() {
        return Err(fail(
            "correlation.condition: value_percentile needs 'percentile' (0-100)".into(),
        ));
    }
    let aliases = parse_aliases(c).map_err(&fail)?;
    let generate = match c.get("generate").or_else(|| m.get("generate")) {
        None | Some(Yaml::Null) => false,
        Some(Yaml::Bool(b)) => *b,
        Some(other) => {
            return Err(fail(format!(
                "generate: expected true or false, found {}",
                yaml_text(other)
            )));
        }
    };
    let id = id.clone().unwrap_or_else(|| {
        format!(
            "ow-corr-{}",
            name.as_deref()
                .unwrap_or(&title)
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        )
    });
    Ok(CorrelationRule {
        id,
        name,
        title,
        level,
        status: opt_text(m, "status").map_err(&fail)?,
        tags: text_list(m, "tags").map_err(&fail)?,
        path: path.to_owned(),
        kind,
        rules,
        group_by,
        timespan_secs,
        condition,
        field,
        percentile,
        aliases,
        generate,
        suppress_secs,
    })
}

/// Every key of the `correlation` map is one Sigma defines.
fn check_keys(c: &Mapping) -> Result<(), String> {
    for key in c.keys() {
        let known = matches!(
            key.as_str(),
            Some(
                "type"
                    | "rules"
                    | "group-by"
                    | "timespan"
                    | "condition"
                    | "aliases"
                    | "generate"
                    | "field"
                    | "suppress"
            )
        );
        if !known {
            return Err(format!("correlation: unknown key {}", yaml_text(key)));
        }
    }
    Ok(())
}

/// `correlation.condition`: the comparisons, and the `percentile` (and `field`, which may
/// also stand beside the condition) of the value aggregations.
fn parse_condition(
    c: &Mapping,
    field: &mut Option<String>,
) -> Result<(Condition, Option<f64>), String> {
    let mut percentile = None;
    let mut condition = Condition::default();
    match c.get("condition") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(cond)) => {
            for (k, v) in cond {
                let key = k.as_str().unwrap_or_default();
                let slot = match key {
                    "gt" => &mut condition.gt,
                    "gte" => &mut condition.gte,
                    "lt" => &mut condition.lt,
                    "lte" => &mut condition.lte,
                    "eq" => &mut condition.eq,
                    "neq" => &mut condition.neq,
                    "field" => {
                        *field = Some(text(v).ok_or_else(|| {
                            format!(
                                "correlation.condition.field: expected a string, found {}",
                                yaml_text(v)
                            )
                        })?);
                        continue;
                    }
                    "percentile" => {
                        let p = number(key, v)?;
                        if !(0.0..=100.0).contains(&p) {
                            return Err(format!(
                                "correlation.condition.percentile: {p} is not between 0 and 100"
                            ));
                        }
                        percentile = Some(p);
                        continue;
                    }
                    _ => {
                        return Err(format!(
                            "correlation.condition: unknown operator {} (expected gt, gte, lt, \
                             lte, eq, neq, field or percentile)",
                            yaml_text(k)
                        ));
                    }
                };
                *slot = Some(number(key, v).map_err(|e| format!("correlation.{e}"))?);
            }
        }
        Some(other) => {
            return Err(format!(
                "correlation.condition: expected a map, found {}",
                yaml_text(other)
            ));
        }
    }
    Ok((condition, percentile))
}

/// Per alias, the field each rule names it by (`CorrelationRule::aliases`).
type Aliases = Vec<(String, Vec<(String, String)>)>;

/// `correlation.aliases`: per alias, the field each rule names it by.
fn parse_aliases(c: &Mapping) -> Result<Aliases, String> {
    let mut aliases = Vec::new();
    match c.get("aliases") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(a)) => {
            for (alias, map) in a {
                let alias = text(alias).unwrap_or_default();
                let Yaml::Mapping(map) = map else {
                    return Err(format!(
                        "correlation.aliases.{alias}: expected a map of rule name to field"
                    ));
                };
                let mut pairs = Vec::new();
                for (r, f) in map {
                    match (text(r), text(f)) {
                        (Some(r), Some(f)) => pairs.push((r, f)),
                        _ => {
                            return Err(format!(
                                "correlation.aliases.{alias}: rule names and fields must be strings"
                            ));
                        }
                    }
                }
                aliases.push((alias, pairs));
            }
        }
        Some(other) => {
            return Err(format!(
                "correlation.aliases: expected a map, found {}",
                yaml_text(other)
            ));
        }
    }
    Ok(aliases)
}
