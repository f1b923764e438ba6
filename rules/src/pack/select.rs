//! A pack's `enable` / `disable` selectors, read from a rule document's metadata.

use serde_norway::{Mapping, Value as Yaml};

/// Rules picked by id, tag, level, status or logsource product. Empty lists pick nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Rule ids, exactly.
    pub ids: Vec<String>,
    /// Tags, case-insensitive; a trailing `*` matches any tag with that prefix
    /// (`attack.t1059*`).
    pub tags: Vec<String>,
    /// Levels (`informational low medium high critical`).
    pub levels: Vec<String>,
    /// Statuses (`stable test experimental deprecated unsupported`).
    pub statuses: Vec<String>,
    /// `logsource.product` values, as the rule writes them.
    pub products: Vec<String>,
}

fn text(v: Option<&Yaml>) -> Option<String> {
    match v {
        Some(Yaml::String(s)) => Some(s.trim().to_owned()),
        Some(Yaml::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl Selector {
    pub(crate) fn parse(m: &Mapping, what: &str) -> Result<Selector, String> {
        let mut s = Selector::default();
        for (k, v) in m {
            let key = k.as_str().unwrap_or_default();
            let list = match v {
                Yaml::Sequence(items) => items
                    .iter()
                    .map(|i| text(Some(i)).ok_or_else(|| format!("{what}.{key}: expected strings")))
                    .collect::<Result<Vec<_>, _>>()?,
                Yaml::Null => Vec::new(),
                other => vec![
                    text(Some(other)).ok_or_else(|| format!("{what}.{key}: expected a list"))?,
                ],
            };
            match key {
                "ids" => s.ids = list,
                "tags" => s.tags = list,
                "levels" => s.levels = list,
                "statuses" => s.statuses = list,
                "products" => s.products = list,
                other => {
                    return Err(format!(
                        "{what}: unknown key '{other}' (ids, tags, levels, statuses, products)"
                    ));
                }
            }
        }
        Ok(s)
    }

    /// True when only `ids` is given (or nothing).
    pub(crate) fn has_attributes(&self) -> bool {
        !(self.tags.is_empty()
            && self.levels.is_empty()
            && self.statuses.is_empty()
            && self.products.is_empty())
    }

    /// Does a tag, level, status or product criterion pick this document?
    pub(crate) fn picks_by_attribute(&self, doc: &Mapping) -> bool {
        let eq = |list: &[String], v: Option<String>| {
            v.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(&v)))
        };
        // The defaults: `medium` for a detection rule, `high` for a correlation.
        let default_level = if doc.contains_key("correlation") {
            "high"
        } else {
            "medium"
        };
        let level = text(doc.get("level")).or_else(|| Some(default_level.into()));
        let product = match doc.get("logsource") {
            Some(Yaml::Mapping(l)) => text(l.get("product")),
            _ => None,
        };
        let tags: Vec<String> = match doc.get("tags") {
            Some(Yaml::Sequence(t)) => t.iter().filter_map(|t| text(Some(t))).collect(),
            _ => Vec::new(),
        };
        let tag_hit = self.tags.iter().any(|want| {
            tags.iter().any(|t| match want.strip_suffix('*') {
                Some(prefix) => t
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase()),
                None => t.eq_ignore_ascii_case(want),
            })
        });
        tag_hit
            || eq(&self.levels, level)
            || eq(&self.statuses, text(doc.get("status")))
            || eq(&self.products, product)
    }
}

/// Is the document (a rule; filters always load) enabled under `enable` and `disable`?
pub(crate) fn enabled(enable: &Selector, disable: &Selector, doc: &Mapping) -> bool {
    if doc.contains_key("filter") && !doc.contains_key("detection") {
        return true;
    }
    let id = text(doc.get("id"));
    if let Some(id) = &id {
        if enable.ids.contains(id) {
            return true;
        }
        if disable.ids.contains(id) {
            return false;
        }
    }
    let allowed = !enable.has_attributes() || enable.picks_by_attribute(doc);
    allowed && !disable.picks_by_attribute(doc)
}
