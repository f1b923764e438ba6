//! Processing pipelines: logsource routing and field mapping as data.
//!
//! A pipeline is a YAML document in a useful subset of pySigma's processing-pipeline format:
//!
//! ```yaml
//! name: windows-winlogbeat
//! priority: 30
//! transformations:
//!   - id: winlogbeat_shape
//!     type: add_condition
//!     conditions: { log.format: windows, winlog.event_id|exists: true }
//!     rule_conditions: [{ type: logsource, product: windows }]
//!   - type: field_name_mapping
//!     mapping: { EventID: event.code, Channel: winlog.channel }
//!     rule_conditions: [{ type: logsource, product: windows }]
//! ```
//!
//! Transformations (`type:`): `field_name_mapping` (a name to one name or a list of names, a
//! list being an OR), `field_name_prefix_mapping`, `field_name_prefix` (prefix every field),
//! `add_condition` (`conditions`, optional `negated`), `change_logsource` (`product`,
//! `category`, `service`) and `replace_string` (`regex`, `replacement`; in string values).
//! Each may carry `rule_conditions` (`logsource`, `tag`, `processing_item_applied`) with
//! `rule_cond_op: and|or` and `rule_cond_not`, and the field transformations
//! `field_name_conditions` (`include_fields`, `exclude_fields`) with `field_name_cond_not`.
//!
//! A pipeline transforms a rule document before it is compiled ([`PipelineSet::apply`]). The
//! set applies its pipelines in `priority` order, as pySigma chains them, with one departure:
//! pipelines of **equal priority are alternatives** (the three Windows JSON shapes, web,
//! firewall ...). Each alternative transforms its own copy of the rule; the alternatives
//! none of whose items applied are dropped; when several remain, the rule becomes the OR of
//! their versions, each under its own added conditions (see [`merge`]). So one Windows rule
//! matches Winlogbeat, NXLog and evtx_dump events, each with its own field names.
//!
//! `add_condition` is how a rule is routed: the conditions are ANDed to the rule's, so a rule
//! is only evaluated on events whose logsource it can match. A [`PipelineSet`] built with
//! [`PipelineSet::require_routing`] refuses rules that no `add_condition` applied to.

mod merge;
mod shipped;
mod sources;
mod transform;

use std::fmt;

use regex::Regex;
use serde::de::Deserialize;
use serde_norway::{Mapping, Value as Yaml};

pub use shipped::{SHIPPED, shipped, shipped_names};
pub(crate) use sources::{DocAction, rewrite_sources, transform_sources};

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
    items: Vec<Item>,
}

#[derive(Debug, Clone)]
struct Item {
    id: Option<String>,
    transform: Transform,
    rule_conds: Vec<RuleCond>,
    rule_or: bool,
    rule_not: bool,
    field_conds: Vec<FieldCond>,
    field_not: bool,
}

#[derive(Debug, Clone)]
enum Transform {
    FieldMap(Vec<(String, Vec<String>)>),
    PrefixMap(Vec<(String, String)>),
    Prefix(String),
    AddCondition { conditions: Mapping, negated: bool },
    ChangeLogsource(LogsourceSpec),
    ReplaceString { regex: Regex, replacement: String },
}

/// `product`, `category`, `service`, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LogsourceSpec {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

#[derive(Debug, Clone)]
enum RuleCond {
    Logsource(LogsourceSpec),
    Tag(String),
    Applied(String),
}

#[derive(Debug, Clone)]
enum FieldCond {
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

fn parse_item(t: &Yaml) -> Result<Item, String> {
    let Yaml::Mapping(m) = t else {
        return Err("a transformation is a map".into());
    };
    let kind = string(m.get("type"), "type")?.ok_or("missing 'type'")?;
    let transform = match kind.as_str() {
        "field_name_mapping" => {
            let Some(Yaml::Mapping(map)) = m.get("mapping") else {
                return Err("field_name_mapping needs a 'mapping' map".into());
            };
            let mut out = Vec::new();
            for (k, v) in map {
                let from = string(Some(k), "mapping")?.unwrap_or_default();
                let to = strings(Some(v), "mapping")?;
                if to.is_empty() {
                    return Err(format!("field_name_mapping: '{from}' maps to nothing"));
                }
                out.push((from, to));
            }
            Transform::FieldMap(out)
        }
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

/// The pipelines a rule set is compiled with, in the order they apply.
#[derive(Debug, Clone, Default)]
pub struct PipelineSet {
    /// Stages in priority order; a stage of several pipelines holds alternatives.
    stages: Vec<Vec<Pipeline>>,
    require_routing: bool,
}

impl PipelineSet {
    /// Order `pipelines` by priority (stable); equal priorities become alternatives.
    pub fn new(mut pipelines: Vec<Pipeline>) -> PipelineSet {
        pipelines.sort_by_key(|p| p.priority);
        let mut stages: Vec<Vec<Pipeline>> = Vec::new();
        for p in pipelines {
            match stages.last_mut() {
                Some(stage) if stage[0].priority == p.priority => stage.push(p),
                _ => stages.push(vec![p]),
            }
        }
        PipelineSet {
            stages,
            require_routing: false,
        }
    }

    /// The shipped pipelines named (see [`shipped_names`]).
    pub fn shipped(names: &[&str]) -> Result<PipelineSet, PipelineError> {
        let list = names
            .iter()
            .map(|n| shipped(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PipelineSet::new(list))
    }

    /// Refuse (report and skip) rules that no `add_condition` routed: they would otherwise be
    /// evaluated on every event whatever its logsource.
    pub fn require_routing(mut self, yes: bool) -> PipelineSet {
        self.require_routing = yes;
        self
    }

    /// True when the set holds no pipeline.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The pipelines' names, in the order they apply.
    pub fn names(&self) -> Vec<&str> {
        self.stages
            .iter()
            .flatten()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Transform one rule (or filter) document. `Ok(false)` when nothing applied.
    pub fn apply(&self, doc: &mut Mapping) -> Result<bool, String> {
        let mut state = transform::State::default();
        let mut any = false;
        for stage in &self.stages {
            if let [only] = stage.as_slice() {
                any |= transform::apply(only, doc, &mut state)?;
                continue;
            }
            let mut variants = Vec::new();
            for p in stage {
                let mut copy = doc.clone();
                let mut st = state.clone();
                if transform::apply(p, &mut copy, &mut st)? {
                    variants.push((copy, st));
                }
            }
            if variants.is_empty() {
                continue;
            }
            any = true;
            let (docs, states): (Vec<Mapping>, Vec<transform::State>) =
                variants.into_iter().unzip();
            *doc = merge::merge(docs)?;
            for st in states {
                state.absorb(st);
            }
        }
        if self.require_routing && !state.routed {
            return Err(format!(
                "no pipeline ({}) routes logsource {}",
                self.names().join(", "),
                transform::describe_logsource(doc)
            ));
        }
        Ok(any)
    }
}

impl fmt::Display for PipelineSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

impl crate::Engine {
    /// As [`crate::Engine::compile_with`], with every rule document first transformed by
    /// `pipelines` (field names mapped, routing conditions added, logsources changed). A rule
    /// the pipelines refuse is reported and skipped. An empty set changes nothing.
    pub fn compile_with_pipelines(
        sources: impl IntoIterator<Item = crate::RuleSource>,
        placeholders: &crate::Placeholders,
        pipelines: &PipelineSet,
    ) -> (crate::Engine, crate::LoadReport) {
        if pipelines.is_empty() {
            return Self::compile_with(sources, placeholders);
        }
        let mut refused = crate::LoadReport::default();
        let sources = transform_sources(pipelines, sources, &mut refused);
        let (engine, mut report) = Self::compile_with(sources, placeholders);
        report.merge(refused);
        (engine, report)
    }
}
