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
    let mut merged = Mapping::new();
    let mut conditions = Vec::new();
    for (i, doc) in unique.iter().enumerate() {
        let v = i + 1;
        let Some(Yaml::Mapping(d)) = doc.get(section) else {
            return Err(format!("'{section}' is not a map"));
        };
        for (name, def) in d {
            match name.as_str() {
                Some("condition") => match def {
                    Yaml::String(c) => conditions.push(Yaml::String(rename_condition(c, v))),
                    Yaml::Sequence(list) => {
                        for c in list {
                            let Yaml::String(c) = c else {
                                return Err("condition: expected a string".into());
                            };
                            conditions.push(Yaml::String(rename_condition(c, v)));
                        }
                    }
                    _ => return Err("condition: expected a string or a list".into()),
                },
                Some(k @ ("timeframe" | "rules")) => {
                    merged.insert(k.into(), def.clone());
                }
                Some(n) => {
                    merged.insert(Yaml::String(rename(n, v)), def.clone());
                }
                None => return Err("a search identifier is not a string".into()),
            }
        }
    }
    merged.insert("condition".into(), Yaml::Sequence(conditions));
    let mut out = unique.swap_remove(0);
    out.insert(section.into(), Yaml::Mapping(merged));
    Ok(out)
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
    fn conditions_are_renamed_per_version() {
        assert_eq!(
            rename_condition("_cond1 and (1 of sel* and not filter) or all of them", 2),
            "_v2_cond1 and (1 of v2_sel* and not v2_filter) or all of v2_*"
        );
        assert_eq!(rename_condition("selection", 1), "v1_selection");
    }
}
