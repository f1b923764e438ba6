//! Several versions of one rule (one per alternative pipeline) made into one rule: the OR of
//! the versions' conditions, each over its own renamed copy of the search identifiers.
//!
//! Version `i` names its identifier `sel` as `v{i}_sel`, and `_cond1` as `_v{i}_cond1`, so
//! that `1 of them` becomes `1 of v{i}_*` and still leaves out the `_` identifiers, and a
//! pattern `selection_*` becomes `v{i}_selection_*`.

use serde_norway::{Mapping, Value as Yaml};

/// Merge the versions; identical versions count once.
pub(super) fn merge(mut docs: Vec<Mapping>) -> Result<Mapping, String> {
    let mut unique: Vec<Mapping> = Vec::with_capacity(docs.len());
    for d in docs.drain(..) {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    if unique.len() == 1 {
        return Ok(unique.remove(0));
    }
    let section = if unique[0].contains_key("detection") {
        "detection"
    } else {
        "filter"
    };
    let mut maps = Vec::with_capacity(unique.len());
    let mut conds: Vec<Vec<String>> = Vec::with_capacity(unique.len());
    for doc in &unique {
        let Some(Yaml::Mapping(d)) = doc.get(section) else {
            return Err(format!("'{section}' is not a map"));
        };
        conds.push(match d.get("condition") {
            Some(Yaml::String(c)) => vec![c.clone()],
            Some(Yaml::Sequence(list)) => list
                .iter()
                .map(|c| match c {
                    Yaml::String(c) => Ok(c.clone()),
                    _ => Err("condition: expected a string".to_owned()),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err("condition: expected a string or a list".into()),
        });
        maps.push(d);
    }
    let hoisted = common_guards(&maps, &conds);
    let mut merged = Mapping::new();
    for name in &hoisted {
        if let Some(def) = maps[0].get(name.as_str()) {
            merged.insert(Yaml::String(name.clone()), def.clone());
        }
    }
    let mut alternatives = Vec::new();
    for (i, d) in maps.iter().enumerate() {
        let v = i + 1;
        for (name, def) in d.iter() {
            match name.as_str() {
                Some("condition") => {}
                Some(k @ ("timeframe" | "rules")) => {
                    merged.insert(k.into(), def.clone());
                }
                Some(n) if hoisted.iter().any(|h| h == n) => {}
                Some(n) => {
                    merged.insert(Yaml::String(rename(n, v)), def.clone());
                }
                None => return Err("a search identifier is not a string".into()),
            }
        }
        for c in &conds[i] {
            let (guards, inner) = guard_chain(c);
            let mut kept = String::new();
            let outer: Vec<&String> = guards.iter().filter(|g| !hoisted.contains(g)).collect();
            for g in &outer {
                kept.push_str(g);
                kept.push_str(" and (");
            }
            kept.push_str(inner);
            kept.push_str(&")".repeat(outer.len()));
            alternatives.push(rename_condition(&kept, v));
        }
    }
    let condition = if hoisted.is_empty() {
        Yaml::Sequence(alternatives.into_iter().map(Yaml::String).collect())
    } else {
        // The guards every version shares (the logsource's EventID and channel, mapped alike in
        // every shape) stay outside the OR, where the engine's index can see them.
        let alts: Vec<String> = alternatives.iter().map(|a| format!("({a})")).collect();
        Yaml::String(format!(
            "{} and ({})",
            hoisted.join(" and "),
            alts.join(" or ")
        ))
    };
    merged.insert("condition".into(), condition);
    let mut out = unique.swap_remove(0);
    out.insert(section.into(), Yaml::Mapping(merged));
    Ok(out)
}

/// The `_cond` guards `add_condition` put in front of a condition (`_c2 and (_c1 and (x))`),
/// outermost first, and what they guard.
fn guard_chain(c: &str) -> (Vec<String>, &str) {
    let mut guards = Vec::new();
    let mut rest = c;
    loop {
        let Some((name, tail)) = rest.split_once(" and (") else {
            return (guards, rest);
        };
        if !name.starts_with("_cond") || name.contains(char::is_whitespace) {
            return (guards, rest);
        }
        let Some(inner) = tail.strip_suffix(')') else {
            return (guards, rest);
        };
        // The parenthesis opened after `and` must close at the very end.
        let mut depth = 1i32;
        let balanced = inner.chars().all(|ch| {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth > 0
        });
        if !balanced {
            return (guards, rest);
        }
        guards.push(name.to_owned());
        rest = inner;
    }
}

/// Guards found in every condition of every version, with the same definition everywhere.
fn common_guards(maps: &[&Mapping], conds: &[Vec<String>]) -> Vec<String> {
    let Some(first) = conds.first().and_then(|c| c.first()) else {
        return Vec::new();
    };
    let (candidates, _) = guard_chain(first);
    candidates
        .into_iter()
        .filter(|g| {
            let def = maps[0].get(g.as_str());
            def.is_some()
                && maps.iter().all(|m| m.get(g.as_str()) == def)
                && conds.iter().flatten().all(|c| guard_chain(c).0.contains(g))
        })
        .collect()
}

fn rename(name: &str, v: usize) -> String {
    match name.strip_prefix('_') {
        Some(rest) => format!("_v{v}_{rest}"),
        None => format!("v{v}_{name}"),
    }
}

/// Rename the identifiers and patterns of a condition for version `v`.
fn rename_condition(text: &str, v: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let lower = word.to_ascii_lowercase();
        let keep = matches!(lower.as_str(), "and" | "or" | "not" | "of" | "any" | "all")
            || word.chars().all(|c| c.is_ascii_digit());
        if lower == "them" {
            out.push_str(&format!("v{v}_*"));
        } else if keep {
            out.push_str(word);
        } else {
            out.push_str(&rename(word, v));
        }
        word.clear();
    };
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_chains_are_read_back() {
        let (g, inner) = guard_chain("_cond3 and (_cond2 and (_cond1 and (sel and not (f))))");
        assert_eq!(g, ["_cond3", "_cond2", "_cond1"]);
        assert_eq!(inner, "sel and not (f)");
        let (g, inner) = guard_chain("_cond1 and (a) or (b)");
        assert!(g.is_empty());
        assert_eq!(inner, "_cond1 and (a) or (b)");
    }

    #[test]
    fn conditions_are_renamed_per_version() {
        assert_eq!(
            rename_condition("_cond1 and (1 of sel* and not filter) or all of them", 2),
            "_v2_cond1 and (1 of v2_sel* and not v2_filter) or all of v2_*"
        );
        assert_eq!(rename_condition("selection", 1), "v1_selection");
    }
}
