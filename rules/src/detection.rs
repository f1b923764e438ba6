//! Search identifiers (the named entries under `detection:`), compiled from YAML into
//! [`Selection`]s and matched against an event.
//!
//! - A map is an AND of its `field|modifiers: value(s)` items.
//! - A list of maps is an OR of those maps.
//! - A list of plain values (or one plain value) is a keyword search: any value contained in
//!   the event's `message` (or raw text when there is no `message`).
//! - A map key with no field name (`'|all': [...]`) is a keyword search too, with modifiers.

use onewall_model::{FieldId, MatchedField, Value};
use serde_norway::Value as Yaml;

use crate::context::{EventContext, field_bit};
use crate::pattern::{Anchor, Pattern};

/// Modifiers that the Sigma specification defines but this engine does not implement yet.
const NOT_YET: &[&str] = &[
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "base64",
    "base64offset",
    "utf16",
    "utf16le",
    "utf16be",
    "wide",
    "windash",
    "exists",
    "cased",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "fieldref",
    "expand",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// One compiled search identifier: an OR of AND-groups.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    groups: Vec<Group>,
}

/// Items that must all match.
#[derive(Debug, Clone)]
struct Group {
    items: Vec<Item>,
    /// Fields the group cannot match without (items with no `null` value), as a
    /// [`field_bit`] mask: a quick rejection before any lookup.
    required: u64,
}

impl Group {
    fn new(items: Vec<Item>) -> Group {
        let required = items
            .iter()
            .filter(|i| !i.values.iter().any(|v| matches!(v, ValuePattern::Null)))
            .filter_map(|i| match &i.target {
                Target::Field { id, .. } => Some(field_bit(*id)),
                Target::Keywords => None,
            })
            .fold(0, |acc, bit| acc | bit);
        Group { items, required }
    }
}

/// One `field|modifiers: values` entry (or a keyword list).
#[derive(Debug, Clone)]
struct Item {
    target: Target,
    /// `|all`: every value must match (else any one).
    all: bool,
    values: Vec<ValuePattern>,
}

#[derive(Debug, Clone)]
enum Target {
    Field { id: FieldId, name: Box<str> },
    Keywords,
}

#[derive(Debug, Clone)]
enum ValuePattern {
    /// `null`: the field is absent or null.
    Null,
    /// A string (or number, compared as text).
    Text { pattern: Pattern, source: Box<str> },
}

impl Selection {
    /// Compile the search identifier `name` defined as `def`. Errors name the identifier.
    pub(crate) fn compile(name: &str, def: &Yaml) -> Result<Selection, String> {
        let at = |reason: String| format!("search identifier '{name}': {reason}");
        let groups = match def {
            Yaml::Mapping(map) => vec![compile_map(map).map_err(at)?],
            Yaml::Sequence(items) if items.is_empty() => {
                return Err(at("empty list".into()));
            }
            Yaml::Sequence(items) if items.iter().all(|i| matches!(i, Yaml::Mapping(_))) => items
                .iter()
                .filter_map(|i| match i {
                    Yaml::Mapping(map) => Some(compile_map(map).map_err(at)),
                    _ => None,
                })
                .collect::<Result<_, _>>()?,
            Yaml::Sequence(items) if items.iter().any(|i| matches!(i, Yaml::Mapping(_))) => {
                return Err(at("a list mixes maps and plain values".into()));
            }
            Yaml::Sequence(_) | Yaml::String(_) | Yaml::Number(_) | Yaml::Bool(_) => {
                let item = compile_item(Target::Keywords, false, Anchor::Anywhere, def);
                vec![Group::new(vec![item.map_err(at)?])]
            }
            Yaml::Null => return Err(at("has no definition".into())),
            Yaml::Tagged(_) => return Err(at("yaml tags are not supported".into())),
        };
        Ok(Selection { groups })
    }

    /// Fields every group needs (a [`field_bit`] mask): the selection cannot match an event
    /// lacking any of them.
    pub(crate) fn required(&self) -> u64 {
        self.groups.iter().fold(u64::MAX, |acc, g| acc & g.required)
    }

    /// Does the event match this search identifier?
    pub(crate) fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        self.groups.iter().any(|g| g.matches(cx))
    }

    /// Push the field values that made this (matching) selection true.
    pub(crate) fn collect(&self, cx: &mut EventContext<'_>, out: &mut Vec<MatchedField>) {
        if let Some(group) = self.groups.iter().find(|g| g.matches(cx)) {
            for item in &group.items {
                item.collect(cx, out);
            }
        }
    }
}

impl Group {
    fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        cx.may_have(self.required) && self.items.iter().all(|i| i.matches(cx))
    }
}

impl Item {
    fn matches(&self, cx: &mut EventContext<'_>) -> bool {
        match &self.target {
            Target::Field { id, .. } => {
                let value = cx.field(*id);
                let mut hits = self.values.iter().map(|vp| field_hit(cx, *id, value, vp));
                if self.all {
                    hits.all(|h| h)
                } else {
                    hits.any(|h| h)
                }
            }
            Target::Keywords => {
                let mut hits = self.values.iter().map(|vp| keyword_hit(cx, vp));
                if self.all {
                    hits.all(|h| h)
                } else {
                    hits.any(|h| h)
                }
            }
        }
    }

    fn collect(&self, cx: &mut EventContext<'_>, out: &mut Vec<MatchedField>) {
        match &self.target {
            Target::Field { id, name } => {
                if let Some(v) = cx.field(*id).filter(|v| !v.is_null()) {
                    out.push(MatchedField {
                        field: name.to_string(),
                        value: v.to_string(),
                    });
                }
            }
            Target::Keywords => {
                for vp in &self.values {
                    if let ValuePattern::Text { source, .. } = vp
                        && keyword_hit(cx, vp)
                    {
                        out.push(MatchedField {
                            field: "keywords".into(),
                            value: source.to_string(),
                        });
                    }
                }
            }
        }
    }
}

fn field_hit(
    cx: &mut EventContext<'_>,
    id: FieldId,
    value: Option<&Value>,
    vp: &ValuePattern,
) -> bool {
    match (vp, value) {
        (ValuePattern::Null, v) => v.is_none_or(Value::is_null),
        (ValuePattern::Text { .. }, None) => false,
        (ValuePattern::Text { pattern, .. }, Some(v)) => cx.value_matches(id, v, pattern),
    }
}

fn keyword_hit(cx: &mut EventContext<'_>, vp: &ValuePattern) -> bool {
    match vp {
        ValuePattern::Null => false,
        ValuePattern::Text { pattern, .. } => cx.keyword_matches(pattern),
    }
}

fn compile_map(map: &serde_norway::Mapping) -> Result<Group, String> {
    if map.is_empty() {
        return Err("empty map".into());
    }
    let mut items = Vec::with_capacity(map.len());
    for (key, value) in map {
        let Yaml::String(key) = key else {
            return Err(format!("field name {} is not a string", yaml_text(key)));
        };
        let field = key.split('|').next().unwrap_or_default();
        items.push(compile_key(key, value).map_err(|e| {
            if field.is_empty() {
                format!("key '{key}': {e}")
            } else {
                format!("field '{field}': {e}")
            }
        })?);
    }
    Ok(Group::new(items))
}

/// Compile one `field|mod|mod: value` entry.
fn compile_key(key: &str, value: &Yaml) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mut anchor = Anchor::Whole;
    let mut all = false;
    for m in parts {
        let set = |anchor: &mut Anchor, a: Anchor| {
            if *anchor != Anchor::Whole && *anchor != a {
                Err(format!(
                    "modifier '{m}' conflicts with an earlier contains/startswith/endswith"
                ))
            } else {
                *anchor = a;
                Ok(())
            }
        };
        match m {
            "contains" => set(&mut anchor, Anchor::Anywhere)?,
            "startswith" => set(&mut anchor, Anchor::Start)?,
            "endswith" => set(&mut anchor, Anchor::End)?,
            "all" => all = true,
            "" => return Err("empty modifier".into()),
            m if NOT_YET.contains(&m) => {
                return Err(format!("modifier '{m}' is not supported yet"));
            }
            m => return Err(format!("unknown modifier '{m}'")),
        }
    }
    if field.is_empty() {
        if key.is_empty() {
            return Err("empty field name".into());
        }
        // `'|all': [...]` and friends: keywords with modifiers. Keywords are always substring
        // searches; an explicit startswith/endswith would be meaningless on the whole text.
        if anchor == Anchor::Start || anchor == Anchor::End {
            return Err("startswith/endswith cannot apply to keywords".into());
        }
        return compile_item(Target::Keywords, all, Anchor::Anywhere, value);
    }
    let id = FieldId::intern(field).ok_or("the field name table is full")?;
    let target = Target::Field {
        id,
        name: field.into(),
    };
    compile_item(target, all, anchor, value)
}

fn compile_item(target: Target, all: bool, anchor: Anchor, value: &Yaml) -> Result<Item, String> {
    let values = match value {
        Yaml::Sequence(list) if list.is_empty() => return Err("empty value list".into()),
        Yaml::Sequence(list) => list
            .iter()
            .map(|v| value_pattern(v, anchor))
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![value_pattern(single, anchor)?],
    };
    if matches!(target, Target::Keywords) && values.iter().any(|v| matches!(v, ValuePattern::Null))
    {
        return Err("a keyword cannot be null".into());
    }
    Ok(Item {
        target,
        all,
        values,
    })
}

fn value_pattern(v: &Yaml, anchor: Anchor) -> Result<ValuePattern, String> {
    let text = match v {
        Yaml::Null => return Ok(ValuePattern::Null),
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Sequence(_) => return Err("nested lists are not allowed as values".into()),
        Yaml::Mapping(_) => return Err("a map is not allowed as a value".into()),
        Yaml::Tagged(_) => return Err("yaml tags are not supported".into()),
    };
    Ok(ValuePattern::Text {
        pattern: Pattern::compile(&text, anchor),
        source: text.into(),
    })
}

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
