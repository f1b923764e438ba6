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

use crate::Placeholders;
use crate::context::{EventContext, field_bit};
use crate::index::{self, Atom, Clause, On};
use crate::literal;
use crate::modifier::{self, Cidr, CmpOp, DatePart, Utf16};
use crate::pattern::{Anchor, Need, Pattern};
use crate::textset::TextSet;

/// One compiled search identifier: an OR of AND-groups.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// The search identifier's name, recorded on the values it matched.
    name: Box<str>,
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
            .filter(|i| i.values.iter().all(ValuePattern::needs_field))
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
    /// Every value is a case-insensitive string (or variants of one): a scalar field is
    /// lowercased once and compared with each.
    text_only: bool,
    /// Many such values, any one of which may match: matched together.
    set: Option<TextSet>,
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
    /// `cased`: a case-sensitive string.
    Cased { pattern: Pattern, source: Box<str> },
    /// `re`: a regular expression, searched anywhere in the value's text.
    Regex {
        re: regex::Regex,
        source: Box<str>,
        /// A lowercased literal every match contains (see [`literal::required`]).
        literal: Option<Box<str>>,
    },
    /// `cidr`: an address in the network.
    Cidr { net: Cidr, source: Box<str> },
    /// `lt lte gt gte`: a numeric comparison.
    Cmp {
        op: CmpOp,
        num: f64,
        source: Box<str>,
    },
    /// `minute hour day week month year`: a date part equal to a number.
    Date {
        part: DatePart,
        num: i64,
        source: Box<str>,
    },
    /// `exists`: the field is present and not null (or, `false`, absent or null).
    Exists(bool),
    /// `fieldref`: the value equals (or contains, ...) the other field's value.
    FieldRef {
        other: FieldId,
        anchor: Anchor,
        source: Box<str>,
    },
    /// `neq`: the field is present and does not match.
    Neq(Box<ValuePattern>),
    /// Any one of several variants (`windash`, `base64offset`).
    AnyOf(Vec<ValuePattern>, Box<str>),
}

impl ValuePattern {
    /// Is this a case-insensitive string, or variants of one?
    fn is_text(&self) -> bool {
        match self {
            ValuePattern::Text { .. } => true,
            ValuePattern::AnyOf(list, _) => list.iter().all(ValuePattern::is_text),
            _ => false,
        }
    }

    /// Push the patterns of a text value ([`ValuePattern::is_text`]).
    fn text_patterns<'a>(&'a self, out: &mut Vec<&'a Pattern>) {
        match self {
            ValuePattern::Text { pattern, .. } => out.push(pattern),
            ValuePattern::AnyOf(list, _) => list.iter().for_each(|v| v.text_patterns(out)),
            _ => {}
        }
    }

    /// Does a text value match `lower` (a lowercased scalar)?
    fn text_matches(&self, lower: &str) -> bool {
        match self {
            ValuePattern::Text { pattern, .. } => pattern.matches(lower),
            ValuePattern::AnyOf(list, _) => list.iter().any(|v| v.text_matches(lower)),
            _ => false,
        }
    }

    /// Can this value match an event that lacks the field?
    fn needs_field(&self) -> bool {
        match self {
            ValuePattern::Null | ValuePattern::Exists(false) => false,
            ValuePattern::AnyOf(v, _) => v.iter().all(ValuePattern::needs_field),
            _ => true,
        }
    }

    fn source(&self) -> Option<&str> {
        match self {
            ValuePattern::Text { source, .. }
            | ValuePattern::Cased { source, .. }
            | ValuePattern::Regex { source, .. }
            | ValuePattern::Cidr { source, .. }
            | ValuePattern::Cmp { source, .. }
            | ValuePattern::Date { source, .. }
            | ValuePattern::FieldRef { source, .. }
            | ValuePattern::AnyOf(_, source) => Some(source),
            ValuePattern::Neq(inner) => inner.source(),
            ValuePattern::Null | ValuePattern::Exists(_) => None,
        }
    }
}

impl Selection {
    /// Compile the search identifier `name` defined as `def`. Errors name the identifier.
    pub(crate) fn compile(name: &str, def: &Yaml, ph: &Placeholders) -> Result<Selection, String> {
        let at = |reason: String| format!("search identifier '{name}': {reason}");
        let groups = match def {
            Yaml::Mapping(map) => vec![compile_map(map, ph).map_err(at)?],
            Yaml::Sequence(items) if items.is_empty() => {
                return Err(at("empty list".into()));
            }
            Yaml::Sequence(items) if items.iter().all(|i| matches!(i, Yaml::Mapping(_))) => items
                .iter()
                .filter_map(|i| match i {
                    Yaml::Mapping(map) => Some(compile_map(map, ph).map_err(at)),
                    _ => None,
                })
                .collect::<Result<_, _>>()?,
            Yaml::Sequence(items) if items.iter().any(|i| matches!(i, Yaml::Mapping(_))) => {
                return Err(at("a list mixes maps and plain values".into()));
            }
            Yaml::Sequence(_) | Yaml::String(_) | Yaml::Number(_) | Yaml::Bool(_) => {
                let item = compile_item(Target::Keywords, &Mods::keywords(), def, ph);
                vec![Group::new(vec![item.map_err(at)?])]
            }
            Yaml::Null => return Err(at("has no definition".into())),
            Yaml::Tagged(_) => return Err(at("yaml tags are not supported".into())),
        };
        Ok(Selection {
            name: name.into(),
            groups,
        })
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
                item.collect(cx, &self.name, out);
            }
        }
    }
}

impl Selection {
    /// Clauses (each an OR of [`Atom`]s) that all hold whenever this selection matches; empty
    /// when nothing is known. For the candidate index: sound, not complete.
    pub(crate) fn necessary(&self) -> Vec<Clause> {
        index::any_of(self.groups.iter().map(Group::necessary).collect())
    }

    /// Push every field this selection reads.
    pub(crate) fn fields(&self, out: &mut Vec<FieldId>) {
        for item in self.groups.iter().flat_map(|g| &g.items) {
            if let Target::Field { id, .. } = &item.target {
                out.push(*id);
            }
            for v in &item.values {
                v.fields(out);
            }
        }
    }
}

impl Group {
    fn necessary(&self) -> Vec<Clause> {
        self.items.iter().flat_map(Item::necessary).collect()
    }
}

impl Item {
    /// Clauses that hold whenever this item matches.
    fn necessary(&self) -> Vec<Clause> {
        let on = match &self.target {
            Target::Field { id, .. } => On::Field(*id),
            Target::Keywords => On::Keywords,
        };
        let per_value = self.values.iter().map(|v| v.atoms(on));
        if self.all {
            // Every value must match: each one's atoms are a clause of their own.
            per_value.flatten().collect()
        } else {
            // Any value may match: one clause of all their atoms, if each has some.
            per_value
                .collect::<Option<Vec<Clause>>>()
                .map(|cs| vec![cs.concat()])
                .unwrap_or_default()
        }
    }
}

impl ValuePattern {
    /// Atoms of which one holds on `on` whenever this value matches it: a literal the
    /// lowercased text must hold, else (for fields) the field's presence; `None` when the value
    /// can match without the field (`null`, `exists: false`) or offers nothing on keywords.
    fn atoms(&self, on: On) -> Option<Clause> {
        let present = || match on {
            On::Field(id) => Some(vec![Atom::present(id)]),
            On::Keywords => None,
        };
        match self {
            ValuePattern::Text { pattern, .. } => match pattern.necessary() {
                Some(need) => Some(vec![Atom::new(on, need)]),
                None => present(),
            },
            ValuePattern::AnyOf(list, _) => list
                .iter()
                .map(|v| v.atoms(on))
                .collect::<Option<Vec<Clause>>>()
                .map(|cs| cs.concat()),
            ValuePattern::Regex {
                literal: Some(lit), ..
            } => Some(vec![Atom::new(on, Need::Contains(lit))]),
            ValuePattern::Null | ValuePattern::Exists(false) => None,
            ValuePattern::Cased { .. }
            | ValuePattern::Regex { .. }
            | ValuePattern::Cidr { .. }
            | ValuePattern::Cmp { .. }
            | ValuePattern::Date { .. }
            | ValuePattern::Exists(true)
            | ValuePattern::FieldRef { .. }
            | ValuePattern::Neq(_) => present(),
        }
    }

    fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            ValuePattern::FieldRef { other, .. } => out.push(*other),
            ValuePattern::Neq(inner) => inner.fields(out),
            ValuePattern::AnyOf(list, _) => list.iter().for_each(|v| v.fields(out)),
            _ => {}
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
                if self.text_only {
                    match value {
                        // A string pattern never matches an absent or null field.
                        None | Some(Value::Null) => return false,
                        Some(Value::List(_)) => {}
                        Some(scalar) => {
                            let text = cx.lower(*id, scalar);
                            return if self.all {
                                self.values.iter().all(|vp| vp.text_matches(text))
                            } else if let Some(set) = &self.set {
                                set.matches(text)
                            } else {
                                self.values.iter().any(|vp| vp.text_matches(text))
                            };
                        }
                    }
                }
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

    fn collect(&self, cx: &mut EventContext<'_>, selection: &str, out: &mut Vec<MatchedField>) {
        match &self.target {
            Target::Field { id, name } => {
                if let Some(v) = cx.field(*id).filter(|v| !v.is_null()) {
                    out.push(MatchedField {
                        field: name.to_string(),
                        value: v.to_string(),
                        selection: Some(selection.to_owned()),
                    });
                }
            }
            Target::Keywords => {
                for vp in &self.values {
                    if let Some(source) = vp.source()
                        && keyword_hit(cx, vp)
                    {
                        out.push(MatchedField {
                            field: "keywords".into(),
                            value: source.to_string(),
                            selection: Some(selection.to_owned()),
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
    let present = value.filter(|v| !v.is_null());
    match vp {
        ValuePattern::Null => present.is_none(),
        ValuePattern::Exists(want) => present.is_some() == *want,
        ValuePattern::AnyOf(list, _) => list.iter().any(|p| field_hit(cx, id, value, p)),
        ValuePattern::Neq(inner) => present.is_some() && !field_hit(cx, id, value, inner),
        _ => match value {
            None => false,
            Some(v) => scalar_hit(cx, id, v, vp),
        },
    }
}

/// A typed pattern against a present value (lists: any element).
fn scalar_hit(cx: &mut EventContext<'_>, id: FieldId, v: &Value, vp: &ValuePattern) -> bool {
    match vp {
        ValuePattern::Text { pattern, .. } => cx.value_matches(id, v, pattern),
        ValuePattern::Cased { pattern, .. } => text_any(v, &mut |s| pattern.matches(s)),
        ValuePattern::Regex { re, .. } => text_any(v, &mut |s| re.is_match(s)),
        ValuePattern::Cidr { net, .. } => any_scalar(v, &mut |s| net.matches(s)),
        ValuePattern::Cmp { op, num, .. } => any_scalar(v, &mut |s| {
            modifier::number(s).is_some_and(|x| op.holds(x, *num))
        }),
        ValuePattern::Date { part, num, .. } => any_scalar(v, &mut |s| part.of(s) == Some(*num)),
        ValuePattern::FieldRef { other, anchor, .. } => {
            let Some(o) = cx.field(*other).and_then(Value::to_text) else {
                return false;
            };
            let o = o.to_lowercase();
            text_any(v, &mut |s| {
                let s = s.to_lowercase();
                match anchor {
                    Anchor::Whole => s == o,
                    Anchor::Start => s.starts_with(&o),
                    Anchor::End => s.ends_with(&o),
                    Anchor::Anywhere => s.contains(&o),
                }
            })
        }
        ValuePattern::Null
        | ValuePattern::Exists(_)
        | ValuePattern::Neq(_)
        | ValuePattern::AnyOf(..) => field_hit(cx, id, Some(v), vp),
    }
}

/// Any scalar in `v` (itself, or a list's elements) satisfies `f`.
fn any_scalar(v: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::List(items) => items.iter().any(|i| any_scalar(i, f)),
        scalar => f(scalar),
    }
}

/// Any scalar in `v`, as its original (not case-folded) text, satisfies `f`.
fn text_any(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    any_scalar(v, &mut |s| s.to_text().is_some_and(|t| f(&t)))
}

fn keyword_hit(cx: &mut EventContext<'_>, vp: &ValuePattern) -> bool {
    match vp {
        ValuePattern::Text { pattern, .. } => cx.keyword_matches(pattern),
        ValuePattern::AnyOf(list, _) => list.iter().any(|p| keyword_hit(cx, p)),
        ValuePattern::Cased { pattern, .. } => cx.keyword_text(&mut |s| pattern.matches(s)),
        ValuePattern::Regex { re, .. } => cx.keyword_text(&mut |s| re.is_match(s)),
        _ => false,
    }
}

fn compile_map(map: &serde_norway::Mapping, ph: &Placeholders) -> Result<Group, String> {
    if map.is_empty() {
        return Err("empty map".into());
    }
    let mut items = Vec::with_capacity(map.len());
    for (key, value) in map {
        let Yaml::String(key) = key else {
            return Err(format!("field name {} is not a string", yaml_text(key)));
        };
        let field = key.split('|').next().unwrap_or_default();
        items.push(compile_key(key, value, ph).map_err(|e| {
            if field.is_empty() {
                format!("key '{key}': {e}")
            } else {
                format!("field '{field}': {e}")
            }
        })?);
    }
    Ok(Group::new(items))
}

/// A value transformation, applied in the order the modifiers are written.
#[derive(Debug, Clone, Copy)]
enum Transform {
    Windash,
    Base64,
    Base64Offset,
    Utf16(Utf16),
}

/// What kind of comparison the value is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Re,
    Cidr,
    Cmp(CmpOp),
    Date(DatePart),
    Exists,
    FieldRef,
}

/// The modifiers of one key.
#[derive(Debug, Clone)]
struct Mods {
    anchor: Anchor,
    all: bool,
    cased: bool,
    neq: bool,
    expand: bool,
    kind: Kind,
    /// `re` sub-modifiers `i`, `m`, `s`.
    flags: (bool, bool, bool),
    transforms: Vec<Transform>,
}

impl Mods {
    fn plain(anchor: Anchor) -> Mods {
        Mods {
            anchor,
            all: false,
            cased: false,
            neq: false,
            expand: false,
            kind: Kind::Text,
            flags: (false, false, false),
            transforms: Vec::new(),
        }
    }

    /// A plain keyword list: substring searches.
    fn keywords() -> Mods {
        Mods::plain(Anchor::Anywhere)
    }
}

fn parse_mods<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Mods, String> {
    let mut mods = Mods::plain(Anchor::Whole);
    for m in parts {
        let set_anchor = |mods: &mut Mods, a: Anchor| {
            if mods.anchor != Anchor::Whole && mods.anchor != a {
                Err(format!(
                    "modifier '{m}' conflicts with an earlier contains/startswith/endswith"
                ))
            } else {
                mods.anchor = a;
                Ok(())
            }
        };
        let set_kind = |mods: &mut Mods, k: Kind| {
            if mods.kind != Kind::Text {
                Err(format!(
                    "modifier '{m}' conflicts with an earlier type modifier"
                ))
            } else {
                mods.kind = k;
                Ok(())
            }
        };
        match m {
            "contains" => set_anchor(&mut mods, Anchor::Anywhere)?,
            "startswith" => set_anchor(&mut mods, Anchor::Start)?,
            "endswith" => set_anchor(&mut mods, Anchor::End)?,
            "all" => mods.all = true,
            "cased" => mods.cased = true,
            "neq" => mods.neq = true,
            "expand" => mods.expand = true,
            "windash" => mods.transforms.push(Transform::Windash),
            "base64" => mods.transforms.push(Transform::Base64),
            "base64offset" => mods.transforms.push(Transform::Base64Offset),
            "utf16le" | "wide" => mods.transforms.push(Transform::Utf16(Utf16::Le)),
            "utf16be" => mods.transforms.push(Transform::Utf16(Utf16::Be)),
            "utf16" => mods.transforms.push(Transform::Utf16(Utf16::Bom)),
            "re" => set_kind(&mut mods, Kind::Re)?,
            "i" | "ignorecase" => mods.flags.0 = true,
            "m" | "multiline" => mods.flags.1 = true,
            "s" | "dotall" => mods.flags.2 = true,
            "cidr" => set_kind(&mut mods, Kind::Cidr)?,
            "exists" => set_kind(&mut mods, Kind::Exists)?,
            "fieldref" => set_kind(&mut mods, Kind::FieldRef)?,
            "" => return Err("empty modifier".into()),
            m => {
                if let Some(op) = CmpOp::parse(m) {
                    set_kind(&mut mods, Kind::Cmp(op))?
                } else if let Some(part) = DatePart::parse(m) {
                    set_kind(&mut mods, Kind::Date(part))?
                } else {
                    return Err(format!("unknown modifier '{m}'"));
                }
            }
        }
    }
    if mods.flags != (false, false, false) && mods.kind != Kind::Re {
        return Err("modifiers 'i', 'm' and 's' apply only after 're'".into());
    }
    if mods.kind != Kind::Text && !mods.transforms.is_empty() {
        return Err("windash/base64/utf16 modifiers apply only to string values".into());
    }
    Ok(mods)
}

/// Compile one `field|mod|mod: value` entry.
fn compile_key(key: &str, value: &Yaml, ph: &Placeholders) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mods = parse_mods(parts)?;
    if field.is_empty() {
        if key.is_empty() {
            return Err("empty field name".into());
        }
        // `'|all': [...]` and friends: keywords with modifiers. Keywords are always substring
        // searches; an explicit startswith/endswith would be meaningless on the whole text.
        if mods.anchor == Anchor::Start || mods.anchor == Anchor::End {
            return Err("startswith/endswith cannot apply to keywords".into());
        }
        if !matches!(mods.kind, Kind::Text | Kind::Re) {
            return Err("only string and 're' modifiers apply to keywords".into());
        }
        let mods = Mods {
            anchor: Anchor::Anywhere,
            ..mods
        };
        return compile_item(Target::Keywords, &mods, value, ph);
    }
    let id = FieldId::intern(field).ok_or("the field name table is full")?;
    let target = Target::Field {
        id,
        name: field.into(),
    };
    compile_item(target, &mods, value, ph)
}

fn compile_item(
    target: Target,
    mods: &Mods,
    value: &Yaml,
    ph: &Placeholders,
) -> Result<Item, String> {
    let values = match value {
        Yaml::Sequence(list) if list.is_empty() => return Err("empty value list".into()),
        Yaml::Sequence(list) => list
            .iter()
            .map(|v| value_pattern(v, mods, ph))
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![value_pattern(single, mods, ph)?],
    };
    if matches!(target, Target::Keywords) && values.iter().any(|v| matches!(v, ValuePattern::Null))
    {
        return Err("a keyword cannot be null".into());
    }
    let text_only =
        matches!(target, Target::Field { .. }) && values.iter().all(ValuePattern::is_text);
    let set = if text_only && !mods.all {
        let mut patterns = Vec::new();
        for v in &values {
            v.text_patterns(&mut patterns);
        }
        TextSet::build(patterns)
    } else {
        None
    };
    Ok(Item {
        target,
        all: mods.all,
        values,
        text_only,
        set,
    })
}

/// A YAML scalar as rule text: integral floats (`1.0`) read as integers.
fn scalar_text(v: &Yaml) -> Result<String, String> {
    Ok(match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => return Err("null is not allowed here".into()),
        Yaml::Sequence(_) => return Err("nested lists are not allowed as values".into()),
        Yaml::Mapping(_) => return Err("a map is not allowed as a value".into()),
        Yaml::Tagged(_) => return Err("yaml tags are not supported".into()),
    })
}

fn value_pattern(v: &Yaml, mods: &Mods, ph: &Placeholders) -> Result<ValuePattern, String> {
    if matches!(v, Yaml::Null) && !matches!(mods.kind, Kind::Exists) {
        return Ok(ValuePattern::Null);
    }
    let vp = typed_pattern(v, mods, ph)?;
    Ok(if mods.neq {
        ValuePattern::Neq(Box::new(vp))
    } else {
        vp
    })
}

fn typed_pattern(v: &Yaml, mods: &Mods, ph: &Placeholders) -> Result<ValuePattern, String> {
    if let Kind::Exists = mods.kind {
        return match v {
            Yaml::Bool(b) => Ok(ValuePattern::Exists(*b)),
            Yaml::String(s) if s == "true" || s == "false" => Ok(ValuePattern::Exists(s == "true")),
            other => Err(format!(
                "'exists' takes true or false, found {}",
                yaml_text(other)
            )),
        };
    }
    let text = scalar_text(v)?;
    let texts = if mods.expand {
        expand(&text, ph)?
    } else {
        vec![text.clone()]
    };
    if texts.len() != 1 {
        let source: Box<str> = text.as_str().into();
        let alts = texts
            .iter()
            .map(|t| {
                let mods = Mods {
                    expand: false,
                    transforms: mods.transforms.clone(),
                    ..*mods
                };
                typed_pattern(&Yaml::String(t.clone()), &mods, ph)
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(ValuePattern::AnyOf(alts, source));
    }
    let text = texts.into_iter().next().ok_or("no value")?;
    let source: Box<str> = text.as_str().into();
    Ok(match mods.kind {
        Kind::Re => {
            let (i, m, s) = mods.flags;
            let re = regex::RegexBuilder::new(&text)
                .case_insensitive(i)
                .multi_line(m)
                .dot_matches_new_line(s)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| {
                    let e = e.to_string();
                    let last = e.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
                    format!(
                        "bad regular expression '{text}': {}",
                        last.trim().to_lowercase()
                    )
                })?;
            ValuePattern::Regex {
                re,
                literal: literal::required(&text, i).map(String::into_boxed_str),
                source,
            }
        }
        Kind::Cidr => ValuePattern::Cidr {
            net: Cidr::parse(&text)?,
            source,
        },
        Kind::Cmp(op) => ValuePattern::Cmp {
            op,
            num: text
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not a number"))?,
            source,
        },
        Kind::Date(part) => ValuePattern::Date {
            part,
            num: text
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not an integer"))?,
            source,
        },
        Kind::FieldRef => ValuePattern::FieldRef {
            other: FieldId::intern(&text).ok_or("the field name table is full")?,
            anchor: mods.anchor,
            source,
        },
        Kind::Exists => return Err("'exists' takes true or false".into()),
        Kind::Text => {
            let variants = transform(&text, &mods.transforms)?;
            let mut pats: Vec<ValuePattern> = variants
                .iter()
                .map(|t| {
                    let pattern = Pattern::compile_case(t, mods.anchor, !mods.cased);
                    if mods.cased {
                        ValuePattern::Cased {
                            pattern,
                            source: source.clone(),
                        }
                    } else {
                        ValuePattern::Text {
                            pattern,
                            source: source.clone(),
                        }
                    }
                })
                .collect();
            if pats.len() == 1 {
                pats.pop().ok_or("no value")?
            } else {
                ValuePattern::AnyOf(pats, source)
            }
        }
    })
}

/// `expand`: every `%name%` replaced by each of the placeholder's values (all combinations).
fn expand(text: &str, ph: &Placeholders) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let values = ph
            .get(name)
            .ok_or_else(|| format!("unknown placeholder '%{name}%'"))?;
        if values.is_empty() {
            return Err(format!("placeholder '%{name}%' has no values"));
        }
        let lead = &rest[..start];
        out = out
            .iter()
            .flat_map(|o| values.iter().map(move |v| format!("{o}{lead}{v}")))
            .collect();
        rest = &rest[start + len + 2..];
    }
    for o in &mut out {
        o.push_str(rest);
    }
    Ok(out)
}

/// Apply value transformations in order. Binary results (UTF-16 not followed by base64) are
/// kept as text with one character per byte.
fn transform(text: &str, transforms: &[Transform]) -> Result<Vec<String>, String> {
    let mut values: Vec<Vec<u8>> = vec![text.as_bytes().to_vec()];
    for t in transforms {
        values = match t {
            Transform::Windash => {
                let mut out = Vec::new();
                for v in &values {
                    let s = String::from_utf8_lossy(v);
                    out.extend(modifier::windash(&s)?.into_iter().map(String::into_bytes));
                }
                out
            }
            Transform::Utf16(kind) => values
                .iter()
                .map(|v| modifier::utf16(&String::from_utf8_lossy(v), *kind))
                .collect(),
            Transform::Base64 => values
                .iter()
                .map(|v| modifier::base64(v).into_bytes())
                .collect(),
            Transform::Base64Offset => values
                .iter()
                .flat_map(|v| modifier::base64offset(v))
                .map(String::into_bytes)
                .collect(),
        };
    }
    Ok(values
        .into_iter()
        .map(|v| match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
        })
        .collect())
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
