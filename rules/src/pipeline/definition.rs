//! One processing pipeline read from YAML: its transformations and the conditions on rules
//! and fields that gate each one.

use regex::Regex;
use serde::de::Deserialize;
use serde_norway::{Mapping, Value as Yaml};

/// A pipeline that could not be read: which pipeline, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pipeline {name}: {reason}")]
pub struct PipelineError {
    /// The pipeline's name or where it came from.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// One processing pipeline, parsed.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The pipeline's `name` (or where it came from, when it has none).
    pub name: String,
    /// Lower runs first; equal priorities are alternatives (see the module docs).
    pub priority: i64,
    pub(super) items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) id: Option<String>,
    pub(super) transform: Transform,
    pub(super) rule_conds: Vec<RuleCond>,
    pub(super) rule_or: bool,
    pub(super) rule_not: bool,
    pub(super) field_conds: Vec<FieldCond>,
    pub(super) field_not: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Transform {
    FieldMap(Vec<(String, Vec<String>)>),
    PrefixMap(Vec<(String, String)>),
    Prefix(String),
    AddCondition {
        conditions: Mapping,
        negated: bool,
    },
    ChangeLogsource(LogsourceSpec),
    ReplaceString {
        regex: Regex,
        replacement: String,
    },
    /// `map_string`: a string value equal to a key becomes the key's value(s).
    MapString(Vec<(String, Vec<String>)>),
    /// `detection_item_failure`: a rule with a field this item applies to is refused.
    Failure(String),
}

/// `product`, `category`, `service`, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct LogsourceSpec {
    pub(super) product: Option<String>,
    pub(super) category: Option<String>,
    pub(super) service: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum RuleCond {
    Logsource(LogsourceSpec),
    Tag(String),
    Applied(String),
}

#[derive(Debug, Clone)]
pub(super) enum FieldCond {
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl Pipeline {
    /// Parse a pipeline from YAML. `origin` names it in errors when it has no `name`.
    pub fn from_yaml(origin: &str, text: &str) -> Result<Pipeline, PipelineError> {
        let fail = |reason: String| PipelineError {
            name: origin.to_owned(),
            reason,
        };
        let doc = Yaml::deserialize(serde_norway::Deserializer::from_str(text))
            .map_err(|e| fail(format!("bad yaml: {e}")))?;
        let Yaml::Mapping(m) = doc else {
            return Err(fail("a pipeline is a map".into()));
        };
        let name = match m.get("name") {
            Some(Yaml::String(s)) => s.clone(),
            None => origin.to_owned(),
            Some(_) => return Err(fail("'name' must be a string".into())),
        };
        let fail = |reason: String| PipelineError {
            name: name.clone(),
            reason,
        };
        let priority = match m.get("priority") {
            None => 0,
            Some(Yaml::Number(n)) => n
                .as_i64()
                .ok_or_else(|| fail("'priority' must be an integer".into()))?,
            Some(_) => return Err(fail("'priority' must be an integer".into())),
        };
        for key in m.keys() {
            match key.as_str() {
                Some("name" | "priority" | "transformations" | "vars") => {}
                Some(k @ ("postprocessing" | "finalizers")) => {
                    return Err(fail(format!(
                        "'{k}' is not supported (query backends only)"
                    )));
                }
                _ => return Err(fail(format!("unknown key {}", show(key)))),
            }
        }
        let items = match m.get("transformations") {
            Some(Yaml::Sequence(list)) => list
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    parse_item(t).map_err(|e| fail(format!("transformation {}: {e}", i + 1)))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
            Some(_) => return Err(fail("'transformations' must be a list".into())),
        };
        Ok(Pipeline {
            name,
            priority,
            items,
        })
    }
}

fn show(v: &Yaml) -> String {
    serde_norway::to_string(v)
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_else(|_| "?".into())
}

fn string(v: Option<&Yaml>, what: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::String(s)) => Ok(Some(s.clone())),
        Some(Yaml::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("'{what}' must be a string, found {}", show(other))),
    }
}

fn strings(v: Option<&Yaml>, what: &str) -> Result<Vec<String>, String> {
    match v {
        Some(Yaml::Sequence(list)) => list
            .iter()
            .map(|s| string(Some(s), what).map(Option::unwrap_or_default))
            .collect(),
        other => Ok(string(other, what)?.into_iter().collect()),
    }
}

fn logsource_spec(m: &Mapping) -> Result<LogsourceSpec, String> {
    Ok(LogsourceSpec {
        product: string(m.get("product"), "product")?,
        category: string(m.get("category"), "category")?,
        service: string(m.get("service"), "service")?,
    })
}

/// A `mapping` of one name to one or several (`field_name_mapping`, `map_string`).
fn one_to_many(m: &Mapping, kind: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let Some(Yaml::Mapping(map)) = m.get("mapping") else {
        return Err(format!("{kind} needs a 'mapping' map"));
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let from = string(Some(k), "mapping")?.unwrap_or_default();
        let to = strings(Some(v), "mapping")?;
        if to.is_empty() {
            return Err(format!("{kind}: '{from}' maps to nothing"));
        }
        out.push((from, to));
    }
    Ok(out)
}

fn rule_conditions(m: &Mapping) -> Result<Vec<RuleCond>, String> {
    let mut rule_conds = Vec::new();
    match m.get("rule_conditions") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(list)) => {
            for c in list {
                let Yaml::Mapping(c) = c else {
                    return Err("a rule condition is a map".into());
                };
                let kind = string(c.get("type"), "type")?.ok_or("rule condition without 'type'")?;
                rule_conds.push(match kind.as_str() {
                    "logsource" => RuleCond::Logsource(logsource_spec(c)?),
                    "tag" => RuleCond::Tag(
                        string(c.get("tag"), "tag")?.ok_or("tag condition needs a 'tag'")?,
                    ),
                    "processing_item_applied" => RuleCond::Applied(
                        string(c.get("processing_item_id"), "processing_item_id")?
                            .ok_or("processing_item_applied needs 'processing_item_id'")?,
                    ),
                    other => return Err(format!("rule condition type '{other}' is not supported")),
                });
            }
        }
        Some(_) => return Err("'rule_conditions' must be a list".into()),
    }
    Ok(rule_conds)
}

fn parse_item(t: &Yaml) -> Result<Item, String> {
    let Yaml::Mapping(m) = t else {
        return Err("a transformation is a map".into());
    };
    let kind = string(m.get("type"), "type")?.ok_or("missing 'type'")?;
    let transform = match kind.as_str() {
        "field_name_mapping" => Transform::FieldMap(one_to_many(m, &kind)?),
        "map_string" => Transform::MapString(one_to_many(m, &kind)?),
        "detection_item_failure" => Transform::Failure(
            string(m.get("message"), "message")?
                .ok_or("detection_item_failure needs a 'message'")?,
        ),
        "field_name_prefix_mapping" => {
            let Some(Yaml::Mapping(map)) = m.get("mapping") else {
                return Err("field_name_prefix_mapping needs a 'mapping' map".into());
            };
            let mut out = Vec::new();
            for (k, v) in map {
                let from = string(Some(k), "mapping")?.unwrap_or_default();
                let to = string(Some(v), "mapping")?.ok_or_else(|| {
                    format!("field_name_prefix_mapping: '{from}' maps to nothing")
                })?;
                out.push((from, to));
            }
            Transform::PrefixMap(out)
        }
        "field_name_prefix" => Transform::Prefix(
            string(m.get("prefix"), "prefix")?.ok_or("field_name_prefix needs a 'prefix'")?,
        ),
        "add_condition" => {
            let Some(Yaml::Mapping(conditions)) = m.get("conditions") else {
                return Err("add_condition needs a 'conditions' map".into());
            };
            let negated = matches!(m.get("negated"), Some(Yaml::Bool(true)));
            Transform::AddCondition {
                conditions: conditions.clone(),
                negated,
            }
        }
        "change_logsource" => Transform::ChangeLogsource(logsource_spec(m)?),
        "replace_string" => {
            let re = string(m.get("regex"), "regex")?.ok_or("replace_string needs a 'regex'")?;
            let regex = Regex::new(&re).map_err(|e| format!("replace_string: bad regex: {e}"))?;
            let replacement = string(m.get("replacement"), "replacement")?.unwrap_or_default();
            Transform::ReplaceString { regex, replacement }
        }
        other => return Err(format!("transformation type '{other}' is not supported")),
    };
    let rule_conds = rule_conditions(m)?;
    let mut field_conds = Vec::new();
    match m.get("field_name_conditions") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(list)) => {
            for c in list {
                let Yaml::Mapping(c) = c else {
                    return Err("a field name condition is a map".into());
                };
                let fields = strings(c.get("fields"), "fields")?;
                let kind = string(c.get("type"), "type")?.unwrap_or_default();
                field_conds.push(match kind.as_str() {
                    "include_fields" => FieldCond::Include(fields),
                    "exclude_fields" => FieldCond::Exclude(fields),
                    other => {
                        return Err(format!(
                            "field name condition type '{other}' is not supported"
                        ));
                    }
                });
            }
        }
        Some(_) => return Err("'field_name_conditions' must be a list".into()),
    }
    let op = string(m.get("rule_cond_op"), "rule_cond_op")?;
    let rule_or = match op.as_deref() {
        None | Some("and") => false,
        Some("or") => true,
        Some(o) => return Err(format!("rule_cond_op must be 'and' or 'or', found '{o}'")),
    };
    Ok(Item {
        id: string(m.get("id"), "id")?,
        transform,
        rule_conds,
        rule_or,
        rule_not: matches!(m.get("rule_cond_not"), Some(Yaml::Bool(true))),
        field_conds,
        field_not: matches!(m.get("field_name_cond_not"), Some(Yaml::Bool(true))),
    })
}
