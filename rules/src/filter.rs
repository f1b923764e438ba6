//! Sigma filter documents (`filter:` with `rules`, selections and a `condition`): the filter's
//! condition is ANDed to the condition of every rule it names (by id or title) whose
//! logsource it is compatible with, as pySigma and rsigma-eval apply them. A filter's
//! condition is therefore usually `not selection`.

use serde_norway::{Mapping, Value as Yaml};

use crate::error::RuleError;
use crate::modifier::Placeholders;
use crate::rule::{CompiledRule, Logsource, RuleInfo, compile_detection, logsource};
use crate::yaml::opt_string;

/// A compiled filter document.
#[derive(Debug)]
pub(crate) struct FilterDoc {
    pub(crate) path: String,
    pub(crate) id: Option<String>,
    pub(crate) title: String,
    /// Rule ids or titles the filter applies to.
    pub(crate) targets: Vec<String>,
    pub(crate) logsource: Logsource,
    pub(crate) detection: CompiledRule,
}

/// Is `m` a filter document?
pub(crate) fn is_filter(m: &Mapping) -> bool {
    m.contains_key("filter") && !m.contains_key("detection")
}

pub(crate) fn compile_filter(
    path: &str,
    m: &Mapping,
    ph: &Placeholders,
) -> Result<FilterDoc, RuleError> {
    let id = opt_string(m, "id").ok().flatten();
    let fail = |reason: String| RuleError::new(path, id.as_deref(), reason);
    let title = opt_string(m, "title")
        .map_err(&fail)?
        .ok_or_else(|| fail("missing 'title'".into()))?;
    let Some(Yaml::Mapping(f)) = m.get("filter") else {
        return Err(fail("'filter' must be a map".into()));
    };
    let targets = match f.get("rules") {
        Some(Yaml::String(s)) => vec![s.clone()],
        Some(Yaml::Sequence(list)) if !list.is_empty() => list
            .iter()
            .map(|v| match v {
                Yaml::String(s) => Ok(s.clone()),
                _ => Err(fail("filter.rules: expected rule ids or titles".into())),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(fail("missing 'filter.rules' (the rules to filter)".into())),
    };
    let mut detection = f.clone();
    detection.remove("rules");
    let detection = compile_detection(&detection, ph).map_err(|e| fail(format!("filter: {e}")))?;
    let logsource = logsource(m).map_err(&fail)?;
    Ok(FilterDoc {
        path: path.to_owned(),
        id,
        title,
        targets,
        logsource,
        detection,
    })
}

impl FilterDoc {
    /// Does this filter apply to `rule`?
    pub(crate) fn applies_to(&self, rule: &RuleInfo) -> bool {
        let named = self
            .targets
            .iter()
            .any(|t| *t == rule.id || *t == rule.title);
        let same = |f: &Option<String>, r: &Option<String>| {
            f.as_ref()
                .is_none_or(|f| r.as_ref().is_some_and(|r| f.eq_ignore_ascii_case(r)))
        };
        named
            && same(&self.logsource.product, &rule.logsource.product)
            && same(&self.logsource.category, &rule.logsource.category)
            && same(&self.logsource.service, &rule.logsource.service)
    }
}
