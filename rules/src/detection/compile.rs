//! Search identifiers compiled from YAML: maps, lists and keywords to groups of items, each
//! `field|modifiers: value` to [`ValuePattern`]s (the modifiers read by
//! [`crate::modifier::parse_mods`]).

use onewall_model::FieldId;
use serde_norway::Value as Yaml;

use super::{Group, Item, Selection, Target, ValuePattern};
use crate::modifier::{self, Cidr, Kind, Mods, Placeholders, parse_mods};
use crate::pattern::{Anchor, Pattern};
use crate::textset::TextSet;
use crate::yaml::yaml_text;

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

/// Compile one `field|mod|mod: value` entry.
fn compile_key(key: &str, value: &Yaml, ph: &Placeholders) -> Result<Item, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    // `#2`: a pipeline mapped two fields of one map to this name; each is its own item.
    let mods = parse_mods(parts.filter(|m| !is_duplicate_mark(m)))?;
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

/// `#` and digits: the mark a pipeline puts on the second (third ...) key of a map that names
/// the same field with the same modifiers.
fn is_duplicate_mark(part: &str) -> bool {
    part.strip_prefix('#')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
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
        modifier::expand(&text, ph)?
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
            let (re, literal) = modifier::regex(&text, mods.flags)?;
            ValuePattern::Regex {
                re,
                need: literal
                    .filter(|l| !l.is_empty())
                    .map(|l| Pattern::compile_case(&escape(&l), Anchor::Anywhere, false)),
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
            let variants = modifier::transform(&text, &mods.transforms)?;
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

/// `text` as a Sigma string value that matches it literally (wildcards and backslashes
/// escaped).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
