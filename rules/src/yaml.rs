//! Small readers of rule YAML shared by rules, filters and correlations, and the short text
//! of a YAML value for messages.

use serde_norway::{Mapping, Value as Yaml};

/// Short text of a YAML scalar for messages.
pub(crate) fn yaml_text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => format!("'{s}'"),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => "null".into(),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a map".into(),
        Yaml::Tagged(_) => "a tagged value".into(),
    }
}

/// A scalar as text (numbers and booleans too); `None` for null, lists and maps.
pub(crate) fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An optional string; numbers and booleans read as text.
pub(crate) fn opt_string(m: &Mapping, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(v) => scalar(v)
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a string, found {}", yaml_text(v))),
    }
}

/// A list of strings; a single string counts as a list of one.
pub(crate) fn string_list(m: &Mapping, key: &str) -> Result<Vec<String>, String> {
    match m.get(key) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| {
                scalar(v).ok_or_else(|| {
                    format!("'{key}' must be a list of strings, found {}", yaml_text(v))
                })
            })
            .collect(),
        Some(v) => scalar(v)
            .map(|s| vec![s])
            .ok_or_else(|| format!("'{key}' must be a list of strings, found {}", yaml_text(v))),
    }
}
