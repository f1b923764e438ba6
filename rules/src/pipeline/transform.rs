//! Applying one pipeline's items to a rule document (a YAML map, before compilation).

use std::collections::HashSet;

use serde_norway::{Mapping, Value as Yaml};

use super::definition::{FieldCond, Item, LogsourceSpec, Pipeline, RuleCond, Transform};

/// At most this many AND-groups come out of one map whose fields map to several names.
const MAX_EXPANSION: usize = 256;

/// What the pipelines did to a rule so far.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    /// Ids of the items that applied (for `processing_item_applied`).
    applied: HashSet<String>,
    /// An `add_condition` applied: the rule is routed.
    pub(super) routed: bool,
}

impl State {
    pub(super) fn absorb(&mut self, other: State) {
        self.applied.extend(other.applied);
        self.routed |= other.routed;
    }
}

/// What the items' rule conditions read of a rule: its logsource and tags, read out of the
/// document once (a pipeline has a hundred items, and the document's map hashes every key
/// looked up), and again only after an item changed the logsource. Owned, so the document
/// can change while they are held.
#[derive(Debug, Default)]
pub(super) struct Facts {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    tags: Vec<String>,
}

impl Facts {
    pub(super) fn of(doc: &Mapping) -> Self {
        let l = logsource(doc);
        let field = |k: &str| l.and_then(|l| text(l, k)).map(str::to_owned);
        let tags = match doc.get("tags") {
            Some(Yaml::Sequence(tags)) => tags
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Facts {
            product: field("product"),
            category: field("category"),
            service: field("service"),
            tags,
        }
    }
}

/// Whether applying `p` to a rule (its [`Facts`]) would do anything: some item's rule
/// conditions hold on it as it is. (Items only change the rule when their conditions hold, so
/// when none holds now, none holds after the ones before it either: this is exactly
/// [`apply`]'s answer.)
pub(super) fn takes(p: &Pipeline, facts: &Facts, state: &State) -> bool {
    p.items
        .iter()
        .any(|item| rule_conds_hold(item, facts, state))
}

/// Apply `p` to `doc`; true when at least one item's rule conditions held.
pub(super) fn apply(p: &Pipeline, doc: &mut Mapping, state: &mut State) -> Result<bool, String> {
    let mut any = false;
    let mut facts = Facts::of(doc);
    for item in &p.items {
        if !rule_conds_hold(item, &facts, state) {
            continue;
        }
        any = true;
        if let Some(id) = &item.id {
            state.applied.insert(id.clone());
        }
        let at = |e: String| match &item.id {
            Some(id) => format!("pipeline {} item {id}: {e}", p.name),
            None => format!("pipeline {}: {e}", p.name),
        };
        match &item.transform {
            Transform::FieldMap(_) | Transform::PrefixMap(_) | Transform::Prefix(_) => {
                for_each_selection(doc, |def| rename_selection(item, def)).map_err(at)?;
            }
            Transform::ReplaceString { .. } => {
                for_each_selection(doc, |def| {
                    replace_strings(item, None, def);
                    Ok(())
                })
                .map_err(at)?;
            }
            Transform::AddCondition {
                conditions,
                negated,
            } => {
                add_condition(doc, conditions, *negated).map_err(at)?;
                state.routed = true;
            }
            Transform::ChangeLogsource(spec) => {
                change_logsource(doc, spec);
                facts = Facts::of(doc);
            }
            Transform::MapString(map) => {
                for_each_selection(doc, |def| {
                    map_strings(item, map, def);
                    Ok(())
                })
                .map_err(at)?;
            }
            Transform::Failure(message) => {
                for_each_selection(doc, |def| match failing_field(item, def) {
                    Some(field) => Err(format!("field '{field}': {message}")),
                    None => Ok(()),
                })
                .map_err(at)?;
            }
        }
    }
    Ok(any)
}

fn text<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    match m.get(key) {
        Some(Yaml::String(s)) => Some(s),
        _ => None,
    }
}

fn logsource(doc: &Mapping) -> Option<&Mapping> {
    match doc.get("logsource") {
        Some(Yaml::Mapping(l)) => Some(l),
        _ => None,
    }
}

/// `product=windows category=process_creation` (or `none`), for messages.
pub(super) fn describe_logsource(doc: &Mapping) -> String {
    let parts: Vec<String> = ["product", "category", "service"]
        .iter()
        .filter_map(|k| {
            logsource(doc)
                .and_then(|l| text(l, k))
                .map(|v| format!("{k}={v}"))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" ")
    }
}

fn logsource_matches(spec: &LogsourceSpec, facts: &Facts) -> bool {
    let check = |want: &Option<String>, have: &Option<String>| {
        want.as_ref()
            .is_none_or(|w| have.as_ref().is_some_and(|v| v.eq_ignore_ascii_case(w)))
    };
    check(&spec.product, &facts.product)
        && check(&spec.category, &facts.category)
        && check(&spec.service, &facts.service)
}

fn rule_conds_hold(item: &Item, facts: &Facts, state: &State) -> bool {
    if item.rule_conds.is_empty() {
        return !item.rule_not;
    }
    let one = |c: &RuleCond| match c {
        RuleCond::Logsource(spec) => logsource_matches(spec, facts),
        RuleCond::Tag(tag) => facts.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
        RuleCond::Applied(id) => state.applied.contains(id),
    };
    let held = if item.rule_or {
        item.rule_conds.iter().any(one)
    } else {
        item.rule_conds.iter().all(one)
    };
    held != item.rule_not
}

fn field_conds_hold(item: &Item, field: &str) -> bool {
    let held = item.field_conds.iter().all(|c| match c {
        FieldCond::Include(list) => list.iter().any(|f| f == field),
        FieldCond::Exclude(list) => !list.iter().any(|f| f == field),
    });
    held != item.field_not
}

/// Run `f` on every search identifier's definition, in `detection` (rules) or `filter`
/// (filter documents, whose `rules` key is not a selection).
fn for_each_selection(
    doc: &mut Mapping,
    mut f: impl FnMut(&mut Yaml) -> Result<(), String>,
) -> Result<(), String> {
    for key in ["detection", "filter"] {
        if let Some(Yaml::Mapping(d)) = doc.get_mut(key) {
            for (name, def) in d.iter_mut() {
                if matches!(name.as_str(), Some("condition" | "timeframe" | "rules")) {
                    continue;
                }
                f(def).map_err(|e| format!("{} '{}': {e}", key, name.as_str().unwrap_or("?")))?;
            }
        }
    }
    Ok(())
}

/// The names `field` maps to under `item`, or `None` when the item leaves it alone.
fn map_field(item: &Item, field: &str) -> Option<Vec<String>> {
    if field.is_empty() || !field_conds_hold(item, field) {
        return None;
    }
    match &item.transform {
        Transform::FieldMap(map) => map
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, to)| to.clone()),
        Transform::PrefixMap(map) => map
            .iter()
            .find(|(p, _)| field.starts_with(p.as_str()))
            .map(|(p, to)| vec![format!("{to}{}", &field[p.len()..])]),
        Transform::Prefix(prefix) => Some(vec![format!("{prefix}{field}")]),
        _ => None,
    }
}

fn rename_selection(item: &Item, def: &mut Yaml) -> Result<(), String> {
    let groups: Vec<Mapping> = match def {
        Yaml::Mapping(m) => rename_map(item, m)?,
        Yaml::Sequence(list) if list.iter().all(|v| matches!(v, Yaml::Mapping(_))) => {
            let mut out = Vec::new();
            for v in list.iter() {
                if let Yaml::Mapping(m) = v {
                    out.extend(rename_map(item, m)?);
                }
            }
            out
        }
        // Keyword searches have no field names.
        _ => return Ok(()),
    };
    *def = match (&*def, groups.len()) {
        (Yaml::Mapping(_), 1) => Yaml::Mapping(groups.into_iter().next().unwrap_or_default()),
        _ => Yaml::Sequence(groups.into_iter().map(Yaml::Mapping).collect()),
    };
    Ok(())
}

/// One AND-map renamed; several maps when a field maps to several names (their OR).
fn rename_map(item: &Item, m: &Mapping) -> Result<Vec<Mapping>, String> {
    let mut groups = vec![Mapping::new()];
    for (key, value) in m {
        let Some(k) = key.as_str() else {
            for g in &mut groups {
                g.insert(key.clone(), value.clone());
            }
            continue;
        };
        let (field, mods) = match k.find('|') {
            Some(i) => (&k[..i], &k[i..]),
            None => (k, ""),
        };
        let names = map_field(item, field).unwrap_or_else(|| vec![field.to_owned()]);
        let mut value = value.clone();
        if mods.split('|').any(|m| m == "fieldref") {
            map_fieldref(item, &mut value)?;
        }
        if groups.len() * names.len() > MAX_EXPANSION {
            return Err(format!(
                "mapping field names to several names makes more than {MAX_EXPANSION} alternatives"
            ));
        }
        let mut next = Vec::with_capacity(groups.len() * names.len());
        for g in &groups {
            for n in &names {
                let mut g = g.clone();
                g.insert(unique_key(&g, &format!("{n}{mods}")), value.clone());
                next.push(g);
            }
        }
        groups = next;
    }
    Ok(groups)
}

/// `key`, or when the map has it already (two fields of one selection mapped to one name, as
/// `cs-uri-stem` and `cs-uri-query` both to `url.original`), `key|#2` (`|#3` ...): each stays
/// its own item, ANDed, as pySigma keeps them (the compiler ignores `#` parts of a key).
fn unique_key(g: &Mapping, key: &str) -> Yaml {
    let taken = |k: &str| g.contains_key(k);
    let key = key.split("|#").next().unwrap_or(key);
    if !taken(key) {
        return Yaml::String(key.to_owned());
    }
    let n = (2..).find(|n| !taken(&format!("{key}|#{n}"))).unwrap_or(2);
    Yaml::String(format!("{key}|#{n}"))
}

/// `fieldref` values name fields: map them too. A field mapped to several names is referred
/// to by the first (a reference names one field).
fn map_fieldref(item: &Item, value: &mut Yaml) -> Result<(), String> {
    let one = |v: &mut Yaml| -> Result<(), String> {
        if let Yaml::String(s) = v
            && let Some(first) = map_field(item, s).and_then(|n| n.into_iter().next())
        {
            *s = first;
        }
        Ok(())
    };
    match value {
        Yaml::Sequence(list) => list.iter_mut().try_for_each(one),
        v => one(v),
    }
}

fn replace_strings(item: &Item, field: Option<&str>, def: &mut Yaml) {
    let Transform::ReplaceString { regex, replacement } = &item.transform else {
        return;
    };
    match def {
        Yaml::String(s) if field.is_none_or(|f| field_conds_hold(item, f)) => {
            let new = regex.replace_all(s, replacement.as_str()).into_owned();
            *s = new;
        }
        Yaml::Sequence(list) => list
            .iter_mut()
            .for_each(|v| replace_strings(item, field, v)),
        Yaml::Mapping(m) => {
            for (k, v) in m.iter_mut() {
                let f = k.as_str().map(|k| k.split('|').next().unwrap_or(k));
                replace_strings(item, f, v);
            }
        }
        _ => {}
    }
}

/// The maps of a selection (one map, or a list of maps); none for keyword searches.
fn maps_of(def: &mut Yaml) -> Vec<&mut Mapping> {
    match def {
        Yaml::Mapping(m) => vec![m],
        Yaml::Sequence(list) => list
            .iter_mut()
            .filter_map(|v| match v {
                Yaml::Mapping(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn field_of(key: &Yaml) -> Option<&str> {
    key.as_str().map(|k| k.split('|').next().unwrap_or(k))
}

/// The first field of `def` that `item`'s field name conditions select.
fn failing_field(item: &Item, def: &mut Yaml) -> Option<String> {
    maps_of(def)
        .into_iter()
        .flat_map(|m| {
            m.keys()
                .filter_map(field_of)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|f| !f.is_empty() && field_conds_hold(item, f))
}

/// `map_string` on the values of the fields `item` selects; a value mapped to several
/// becomes their list (an OR, as a list of values is).
fn map_strings(item: &Item, map: &[(String, Vec<String>)], def: &mut Yaml) {
    let one = |v: &Yaml| -> Vec<Yaml> {
        match v {
            Yaml::String(s) => match map.iter().find(|(from, _)| from == s) {
                Some((_, to)) => to.iter().cloned().map(Yaml::String).collect(),
                None => vec![v.clone()],
            },
            other => vec![other.clone()],
        }
    };
    for m in maps_of(def) {
        for (k, v) in m.iter_mut() {
            if !field_of(k).is_some_and(|f| !f.is_empty() && field_conds_hold(item, f)) {
                continue;
            }
            let mapped: Vec<Yaml> = match &*v {
                Yaml::Sequence(list) => list.iter().flat_map(one).collect(),
                single => one(single),
            };
            *v = match (&*v, mapped.len()) {
                (Yaml::Sequence(_), _) | (_, 2..) => Yaml::Sequence(mapped),
                _ => mapped.into_iter().next().unwrap_or(Yaml::Null),
            };
        }
    }
}

fn add_condition(doc: &mut Mapping, conditions: &Mapping, negated: bool) -> Result<(), String> {
    let section = if doc.contains_key("detection") {
        "detection"
    } else {
        "filter"
    };
    let Some(Yaml::Mapping(d)) = doc.get_mut(section) else {
        return Err(format!("'{section}' is not a map"));
    };
    let name = (1..)
        .map(|n| format!("_cond{n}"))
        .find(|n| !d.contains_key(n.as_str()))
        .unwrap_or_default();
    let guard = if negated {
        format!("not {name}")
    } else {
        name.clone()
    };
    let wrap = |c: &str| format!("{guard} and ({c})");
    match d.get_mut("condition") {
        Some(Yaml::String(c)) => *c = wrap(c),
        Some(Yaml::Sequence(list)) => {
            for c in list.iter_mut() {
                if let Yaml::String(s) = c {
                    *s = wrap(s);
                }
            }
        }
        // Leave a missing or odd condition for the compiler to report.
        _ => return Ok(()),
    }
    d.insert(Yaml::String(name), Yaml::Mapping(conditions.clone()));
    Ok(())
}

fn change_logsource(doc: &mut Mapping, spec: &LogsourceSpec) {
    if !matches!(doc.get("logsource"), Some(Yaml::Mapping(_))) {
        doc.insert("logsource".into(), Yaml::Mapping(Mapping::new()));
    }
    if let Some(Yaml::Mapping(l)) = doc.get_mut("logsource") {
        for (key, v) in [
            ("product", &spec.product),
            ("category", &spec.category),
            ("service", &spec.service),
        ] {
            if let Some(v) = v {
                l.insert(key.into(), Yaml::String(v.clone()));
            }
        }
    }
}
