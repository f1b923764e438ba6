//! One Sigma rule document: its metadata ([`RuleInfo`]) and its compiled detection.

use serde::Serialize;
use serde_norway::{Mapping, Value as Yaml};

use onewall_model::{FieldId, RuleRef, Severity};

use crate::clause::Clause;
use crate::condition::{self, Expr};
use crate::context::EventContext;
use crate::detection::Selection;
use crate::error::RuleError;
use crate::modifier::Placeholders;
use crate::yaml::{opt_string, scalar, string_list, yaml_text};

/// Where a rule's events come from, as the rule's `logsource` says. Recorded, not yet used to
/// route events: every rule is tried on every event for now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logsource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// What the engine knows about a compiled rule, for listing and for alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// The rule's `id`; when the document has none, a stable id derived from the file name,
    /// the title and the document's position in the file: `ow-` and 16 hex digits.
    pub id: String,
    pub title: String,
    /// The rule's `level`; `medium` when the rule gives none.
    pub level: Severity,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// The source the rule came from ([`RuleSource::path`]).
    pub path: String,
    pub description: Option<String>,
    pub author: Option<String>,
    pub falsepositives: Vec<String>,
    pub logsource: Logsource,
}

impl RuleInfo {
    /// The rule as an alert records it.
    pub fn to_rule_ref(&self) -> RuleRef {
        RuleRef {
            id: self.id.clone(),
            title: self.title.clone(),
            level: self.level,
            status: self.status.clone(),
            tags: self.tags.clone(),
        }
    }
}

/// A rule's detection, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    selections: Vec<Selection>,
    condition: Expr,
    /// Selections the condition uses without negation, for [`CompiledRule::collect`].
    positive: Vec<usize>,
    /// Sigma filter documents applied to this rule: each must match too.
    filters: Vec<CompiledRule>,
}

impl CompiledRule {
    /// Fields the rule cannot match without, as a 64-bit summary (see
    /// [`crate::context::field_bit`]); the engine checks it before evaluating the rule.
    pub(crate) fn required(&self) -> u64 {
        self.condition
            .required(&|i| self.selections.get(i).map_or(0, Selection::required))
    }

    /// Clauses that all hold whenever the rule matches (see [`Expr::necessary`]); filters
    /// only narrow a rule, so they are left out.
    pub(crate) fn necessary(&self) -> Vec<Clause> {
        self.condition.necessary(&|i| {
            self.selections
                .get(i)
                .map_or_else(Vec::new, Selection::necessary)
        })
    }

    /// Push every field the rule (and its filters) reads.
    pub(crate) fn fields(&self, out: &mut Vec<FieldId>) {
        for s in &self.selections {
            s.fields(out);
        }
        for f in &self.filters {
            f.fields(out);
        }
    }

    pub(crate) fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        self.condition
            .eval(&mut |i| self.selections.get(i).is_some_and(|s| s.matches(cx)))
            && self.filters.iter().all(|f| f.matches(cx))
    }

    /// AND a filter document's condition to this rule's.
    pub(crate) fn add_filter(&mut self, filter: CompiledRule) {
        self.filters.push(filter);
    }

    /// The field values that made the positive selections of a matching rule true.
    pub(crate) fn collect(
        &self,
        cx: &mut EventContext<'_>,
        out: &mut Vec<onewall_model::MatchedField>,
    ) {
        // A selection that does not match pushes nothing.
        for &i in &self.positive {
            if let Some(sel) = self.selections.get(i) {
                sel.collect(cx, out);
            }
        }
        // Keep the first of each (field, value): a handful, compared in place.
        let mut i = 0;
        while i < out.len() {
            let (before, rest) = out.split_at(i);
            if before
                .iter()
                .any(|m| m.field == rest[0].field && m.value == rest[0].value)
            {
                out.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

/// Compile one rule document, the `index`-th of its file (for a derived id).
pub(crate) fn compile_document(
    path: &str,
    index: usize,
    doc: &Yaml,
    ph: &Placeholders,
) -> Result<(RuleInfo, CompiledRule), RuleError> {
    let Yaml::Mapping(m) = doc else {
        return Err(RuleError::new(path, None, "rule document is not a map"));
    };
    let id = match m.get("id") {
        None | Some(Yaml::Null) => None,
        Some(Yaml::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(other) => {
            return Err(RuleError::new(
                path,
                None,
                format!(
                    "'id' must be a non-empty string, found {}",
                    yaml_text(other)
                ),
            ));
        }
    };
    let fail = |reason: String| RuleError::new(path, id.as_deref(), reason);
    if let Some(action) = m.get("action") {
        return Err(fail(format!(
            "'action: {}' documents are not supported yet",
            scalar(action).unwrap_or_else(|| yaml_text(action))
        )));
    }
    let title = match m.get("title") {
        Some(Yaml::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        None | Some(Yaml::Null) => return Err(fail("missing 'title'".into())),
        Some(other) => {
            return Err(fail(format!(
                "'title' must be a non-empty string, found {}",
                yaml_text(other)
            )));
        }
    };
    let level = match opt_string(m, "level").map_err(&fail)? {
        None => Severity::Medium,
        Some(l) => l
            .parse()
            .map_err(|_| fail(format!("unknown level '{l}'")))?,
    };
    let detection = match m.get("detection") {
        Some(Yaml::Mapping(d)) => d,
        None | Some(Yaml::Null) => return Err(fail("missing 'detection'".into())),
        Some(other) => {
            return Err(fail(format!(
                "'detection' must be a map, found {}",
                yaml_text(other)
            )));
        }
    };
    let compiled = compile_detection(detection, ph).map_err(&fail)?;
    let info = RuleInfo {
        id: id
            .clone()
            .unwrap_or_else(|| derived_id(path, &title, index)),
        title,
        level,
        status: opt_string(m, "status").map_err(&fail)?,
        tags: string_list(m, "tags").map_err(&fail)?,
        path: path.to_owned(),
        description: opt_string(m, "description").map_err(&fail)?,
        author: opt_string(m, "author").map_err(&fail)?,
        falsepositives: string_list(m, "falsepositives").map_err(&fail)?,
        logsource: logsource(m).map_err(&fail)?,
    };
    Ok((info, compiled))
}

pub(crate) fn compile_detection(d: &Mapping, ph: &Placeholders) -> Result<CompiledRule, String> {
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut condition = None;
    for (key, def) in d {
        let Yaml::String(key) = key else {
            return Err(format!(
                "search identifier {} is not a string",
                yaml_text(key)
            ));
        };
        match key.as_str() {
            "condition" => condition = Some(def),
            "timeframe" => return Err("'timeframe' is not supported yet".into()),
            name => {
                selections.push(Selection::compile(name, def, ph)?);
                names.push(name.to_owned());
            }
        }
    }
    let parse = |text: &str| condition::parse(text, &names).map_err(|e| format!("condition: {e}"));
    let condition = match condition {
        None | Some(Yaml::Null) => return Err("missing 'detection.condition'".into()),
        Some(Yaml::String(c)) => parse(c)?,
        Some(Yaml::Sequence(list)) if !list.is_empty() => {
            let mut exprs = Vec::with_capacity(list.len());
            for c in list {
                match c {
                    Yaml::String(c) => exprs.push(parse(c)?),
                    other => {
                        return Err(format!(
                            "condition: expected a string, found {}",
                            yaml_text(other)
                        ));
                    }
                }
            }
            if exprs.len() == 1 {
                exprs.remove(0)
            } else {
                Expr::Or(exprs)
            }
        }
        Some(other) => {
            return Err(format!(
                "condition: expected a string or a list of strings, found {}",
                yaml_text(other)
            ));
        }
    };
    let mut positive = Vec::new();
    condition.positive(&mut positive);
    positive.sort_unstable();
    positive.dedup();
    Ok(CompiledRule {
        selections,
        condition,
        positive,
        filters: Vec::new(),
    })
}

pub(crate) fn logsource(m: &Mapping) -> Result<Logsource, String> {
    match m.get("logsource") {
        None | Some(Yaml::Null) => Ok(Logsource::default()),
        Some(Yaml::Mapping(l)) => Ok(Logsource {
            product: opt_string(l, "product").map_err(|e| format!("logsource: {e}"))?,
            category: opt_string(l, "category").map_err(|e| format!("logsource: {e}"))?,
            service: opt_string(l, "service").map_err(|e| format!("logsource: {e}"))?,
        }),
        Some(other) => Err(format!(
            "'logsource' must be a map, found {}",
            yaml_text(other)
        )),
    }
}

/// A stable id for a rule without one: FNV-1a over the file name (not the directory, so a
/// moved pack keeps its ids), the title and the document's position in the file.
fn derived_id(path: &str, title: &str, index: usize) -> String {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut h = onewall_model::hash::Fnv1a::default();
    for part in [
        file.as_bytes(),
        &[0],
        title.as_bytes(),
        &[0],
        index.to_string().as_bytes(),
    ] {
        std::hash::Hasher::write(&mut h, part);
    }
    format!("ow-{:016x}", std::hash::Hasher::finish(&h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_ignore_the_directory() {
        let a = derived_id("/a/b/x.yml", "Title", 1);
        assert_eq!(a, derived_id("c/x.yml", "Title", 1));
        assert_ne!(a, derived_id("c/x.yml", "Title", 2));
        assert_ne!(a, derived_id("c/y.yml", "Title", 1));
        assert!(a.starts_with("ow-") && a.len() == 19);
    }
}
