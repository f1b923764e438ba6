//! `expand`: `%name%` placeholders in a value replaced by the values configured for them.

use std::collections::HashMap;

/// Values of `expand` placeholders: the name without `%` → the values it stands for.
pub type Placeholders = HashMap<String, Vec<String>>;

/// `expand`: every `%name%` replaced by each of the placeholder's values (all combinations).
pub(crate) fn expand(text: &str, ph: &Placeholders) -> Result<Vec<String>, String> {
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
