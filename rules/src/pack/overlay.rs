//! Per-region overlays: a city (or county, or province) disables a rule, changes its level, or
//! adds an exception (with author, reason and expiry date) for its own events.
//!
//! ```yaml
//! region: "410100"          # 郑州: applies to events of this region and the regions under it
//! rules:
//!   - id: 5c7e3f2a-...      # the rule's id
//!     disable: true
//!   - id: 0b1c...
//!     level: low            # the alerts' severity in this region
//! exceptions:
//!   - rule: 0b1c...
//!     author: li.si
//!     reason: the vulnerability scanner
//!     expires: 2027-01-31   # applies up to the end of this day (UTC); reported once expired
//!     match:                # a Sigma selection over the event's fields
//!       source.ip|cidr: 10.20.0.0/24
//! ```

use serde::de::Deserialize;
use serde_norway::{Mapping, Value as Yaml};

use onewall_model::{RegionCode, Severity, Timestamp};

/// One overlay file, parsed.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Where it came from.
    pub path: String,
    /// The region it applies to (and the regions under it).
    pub region: RegionCode,
    /// Rules disabled in the region.
    pub disabled: Vec<String>,
    /// Rules whose alerts take another severity in the region.
    pub levels: Vec<(String, Severity)>,
    /// Exceptions: events a rule must not alert on.
    pub exceptions: Vec<Exception>,
}

/// An exception: the rule's alerts for events matching `selection` are dropped until the end
/// of the `expires` day.
#[derive(Debug, Clone)]
pub struct Exception {
    pub rule: String,
    pub author: String,
    pub reason: String,
    /// The expiry date as written (`YYYY-MM-DD`).
    pub expires: String,
    /// The first instant the exception no longer applies (the next day, 00:00 UTC).
    pub until: Timestamp,
    /// The Sigma selection (a map of `field|modifiers: value`).
    pub selection: Mapping,
}

impl Exception {
    /// Has the exception expired at `now`?
    pub fn expired(&self, now: Timestamp) -> bool {
        now >= self.until
    }
}

fn text(v: Option<&Yaml>) -> Option<String> {
    match v {
        Some(Yaml::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Yaml::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// `YYYY-MM-DD` → the start of the next day, UTC.
fn day_after(date: &str) -> Option<Timestamp> {
    let ok = date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-';
    if !ok {
        return None;
    }
    let start = Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    Some(start.add_secs(86_400))
}

impl Overlay {
    /// Parse an overlay file. Errors name the key and the entry.
    pub fn parse(path: &str, text_: &str) -> Result<Overlay, String> {
        let doc = Yaml::deserialize(serde_norway::Deserializer::from_str(text_))
            .map_err(|e| format!("bad yaml: {e}"))?;
        let Yaml::Mapping(m) = doc else {
            return Err("an overlay is a map".into());
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                Some("region" | "rules" | "exceptions" | "description")
            ) {
                return Err(format!(
                    "unknown key '{}' (region, rules, exceptions, description)",
                    k.as_str().unwrap_or("?")
                ));
            }
        }
        let region = text(m.get("region")).ok_or("missing 'region' (a GB/T 2260 code)")?;
        let region: RegionCode = region
            .parse()
            .map_err(|e| format!("region '{region}': {e}"))?;
        let mut o = Overlay {
            path: path.to_owned(),
            region,
            disabled: Vec::new(),
            levels: Vec::new(),
            exceptions: Vec::new(),
        };
        let list = |key: &str| -> Result<Vec<Mapping>, String> {
            match m.get(key) {
                None | Some(Yaml::Null) => Ok(Vec::new()),
                Some(Yaml::Sequence(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Yaml::Mapping(e) => Ok(e.clone()),
                        _ => Err(format!("{key}[{}]: expected a map", i + 1)),
                    })
                    .collect(),
                Some(_) => Err(format!("'{key}' must be a list")),
            }
        };
        for (i, r) in list("rules")?.iter().enumerate() {
            let at = |e: &str| format!("rules[{}]: {e}", i + 1);
            let id = text(r.get("id")).ok_or_else(|| at("missing 'id'"))?;
            for k in r.keys() {
                if !matches!(k.as_str(), Some("id" | "disable" | "level")) {
                    return Err(at(&format!(
                        "unknown key '{}' (id, disable, level)",
                        k.as_str().unwrap_or("?")
                    )));
                }
            }
            if matches!(r.get("disable"), Some(Yaml::Bool(true))) {
                o.disabled.push(id.clone());
            }
            if let Some(level) = text(r.get("level")) {
                let sev: Severity = level
                    .parse()
                    .map_err(|_| at(&format!("unknown level '{level}'")))?;
                o.levels.push((id, sev));
            }
        }
        for (i, e) in list("exceptions")?.iter().enumerate() {
            let at = |msg: &str| format!("exceptions[{}]: {msg}", i + 1);
            let need = |key: &str| text(e.get(key)).ok_or_else(|| at(&format!("missing '{key}'")));
            let rule = need("rule")?;
            let author = need("author")?;
            let reason = need("reason")?;
            let expires = need("expires")?;
            let until = day_after(&expires)
                .ok_or_else(|| at(&format!("expires '{expires}' is not a YYYY-MM-DD date")))?;
            let selection = match e.get("match") {
                Some(Yaml::Mapping(s)) if !s.is_empty() => s.clone(),
                _ => return Err(at("missing 'match' (a map of field: value)")),
            };
            o.exceptions.push(Exception {
                rule,
                author,
                reason,
                expires,
                until,
                selection,
            });
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_the_end_of_the_day() {
        let until = day_after("2027-01-31").expect("date");
        assert_eq!(
            until,
            Timestamp::parse_rfc3339("2027-02-01T00:00:00Z").expect("t")
        );
        assert!(day_after("31.01.2027").is_none());
        assert!(day_after("2027-13-01").is_none());
    }
}
