//! STIX 2.1 bundles (and TAXII 2.1 envelopes) into indicators.
//!
//! Each `indicator` object whose `pattern_type` is `stix` (or absent) and whose pattern has
//! the supported shape (see [`pattern`]) gives one [`Indicator`] per value it names, all
//! sharing its metadata:
//!
//! - `id` → the indicator's id; `name` or, when present, `description` → its description;
//!   `labels` and `indicator_types` → its labels.
//! - `confidence` (0–100) → confidence; absent, 50 (the STIX 2.1 "not stated" middle, as for
//!   any indicator whose source says nothing).
//! - `valid_from` / `valid_until` → the validity window.
//! - TLP: the strictest of the markings in `object_marking_refs`, read from the standard TLP
//!   1.0 and TLP 2.0 marking-definition ids, or from a `marking-definition` in the same
//!   document (`definition_type: tlp`, the TLP 2.0 extension's `tlp_2_0`, or a `TLP:...`
//!   name); no TLP marking → AMBER.
//! - ATT&CK: `external_references` with `source_name: mitre-attack` (their `external_id`),
//!   `kill_chain_phases` of the `mitre-attack` kill chain (the tactic's id, `TA0011` for
//!   `command-and-control`), and the ATT&CK ids of the objects the indicator `indicates`
//!   through a `relationship` in the same document (attack patterns, intrusion sets,
//!   malware ...).
//! - Severity: the `x_severity` custom property when it names a severity; else high when
//!   `indicator_types` or `labels` say `malicious-activity`, `compromised` or `attribution`,
//!   low for `anomalous-activity`, informational for `benign`; else medium.
//!
//! Not taken, each with its reason: revoked indicators, other pattern types, unsupported or
//! invalid patterns, a confidence outside 0–100, unreadable or inverted validity times.

pub mod pattern;

use std::collections::HashMap;

use onewall_model::{Severity, Timestamp, Tlp};
use serde_json::Value;

use super::{FeedRead, Rejected};
use crate::{Indicator, IntelError};

/// The standard TLP marking definitions: TLP 1.0 (in the STIX 2.1 specification) and TLP 2.0
/// (the OASIS TLP 2.0 marking definitions).
const TLP_IDS: [(&str, Tlp); 9] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
];

/// The ATT&CK enterprise tactics by the phase names `kill_chain_phases` use.
const TACTICS: [(&str, &str); 14] = [
    ("reconnaissance", "TA0043"),
    ("resource-development", "TA0042"),
    ("initial-access", "TA0001"),
    ("execution", "TA0002"),
    ("persistence", "TA0003"),
    ("privilege-escalation", "TA0004"),
    ("defense-evasion", "TA0005"),
    ("credential-access", "TA0006"),
    ("discovery", "TA0007"),
    ("lateral-movement", "TA0008"),
    ("collection", "TA0009"),
    ("command-and-control", "TA0011"),
    ("exfiltration", "TA0010"),
    ("impact", "TA0040"),
];

fn malformed(reason: impl Into<String>) -> IntelError {
    IntelError::MalformedFeed {
        format: "stix",
        reason: reason.into(),
    }
}

/// Read a STIX 2.1 bundle, or a TAXII 2.1 envelope (`{"objects": [...], "more": ...}`), of
/// feed `feed`. A body that is not JSON, or not a bundle or envelope, is refused whole.
pub fn read_bundle(json: &[u8], feed: &str) -> Result<FeedRead, IntelError> {
    let doc: Value =
        serde_json::from_slice(json).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(map) = &doc else {
        return Err(malformed(format!(
            "the top level is {}, not a bundle object",
            json_type(&doc)
        )));
    };
    match map.get("type").and_then(Value::as_str) {
        Some("bundle") | None => {}
        Some(other) => {
            return Err(malformed(format!(
                "the top level is a {other:?} object, not a bundle"
            )));
        }
    }
    match map.get("objects") {
        Some(Value::Array(objects)) => Ok(read_objects(objects, feed)),
        // A bundle may have no objects; an envelope without them is an empty page.
        None if map.contains_key("type") || map.contains_key("more") => Ok(FeedRead::default()),
        None => Err(malformed(
            "neither a bundle nor a TAXII envelope: no \"objects\"",
        )),
        Some(other) => Err(malformed(format!(
            "\"objects\" is {}, not an array",
            json_type(other)
        ))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Read the objects of one bundle or one TAXII page. Marking definitions, relationships and
/// ATT&CK objects are looked up among these objects only.
pub fn read_objects(objects: &[Value], feed: &str) -> FeedRead {
    let ctx = Context::new(objects);
    let mut read = FeedRead::default();
    for (n, o) in objects.iter().enumerate() {
        if o.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let id = str_of(o, "id").map_or_else(|| format!("object {n}"), str::to_string);
        match indicators(o, &ctx, feed) {
            Ok(mut v) => read.indicators.append(&mut v),
            Err(reason) => read.rejected.push(Rejected { item: id, reason }),
        }
    }
    read
}

fn str_of<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn strings(o: &Value, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What the other objects of the document say about indicators.
struct Context {
    /// Marking-definition id → TLP, for the TLP markings the document defines.
    markings: HashMap<String, Tlp>,
    /// Object id → its ATT&CK ids (attack patterns, intrusion sets, malware ...).
    attack: HashMap<String, Vec<String>>,
    /// Indicator id → the ids it `indicates`.
    indicates: HashMap<String, Vec<String>>,
}

impl Context {
    fn new(objects: &[Value]) -> Context {
        let mut ctx = Context {
            markings: HashMap::new(),
            attack: HashMap::new(),
            indicates: HashMap::new(),
        };
        for o in objects {
            let Some(id) = str_of(o, "id") else { continue };
            match str_of(o, "type") {
                Some("marking-definition") => {
                    if let Some(tlp) = marking_tlp(o) {
                        ctx.markings.insert(id.to_string(), tlp);
                    }
                }
                Some("relationship") => {
                    if str_of(o, "relationship_type") == Some("indicates")
                        && o.get("revoked").and_then(Value::as_bool) != Some(true)
                        && let (Some(s), Some(t)) =
                            (str_of(o, "source_ref"), str_of(o, "target_ref"))
                    {
                        ctx.indicates
                            .entry(s.to_string())
                            .or_default()
                            .push(t.to_string());
                    }
                }
                _ => {
                    let ids = attack_refs(o);
                    if !ids.is_empty() {
                        ctx.attack.insert(id.to_string(), ids);
                    }
                }
            }
        }
        ctx
    }
}

/// A marking definition's TLP level, if it is a TLP marking.
fn marking_tlp(o: &Value) -> Option<Tlp> {
    if str_of(o, "definition_type") == Some("tlp")
        && let Some(t) = o.pointer("/definition/tlp").and_then(Value::as_str)
    {
        return Tlp::parse(t);
    }
    if let Some(ext) = o.get("extensions").and_then(Value::as_object) {
        for e in ext.values() {
            if let Some(t) = str_of(e, "tlp_2_0") {
                return Tlp::parse(t);
            }
        }
    }
    str_of(o, "name")
        .filter(|n| n.to_ascii_uppercase().starts_with("TLP:"))
        .and_then(Tlp::parse)
}

/// The ATT&CK ids an object's `external_references` give.
fn attack_refs(o: &Value) -> Vec<String> {
    o.get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| str_of(r, "source_name") == Some("mitre-attack"))
        .filter_map(|r| str_of(r, "external_id"))
        .map(str::to_string)
        .collect()
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// The indicators one `indicator` object gives, or why it gives none.
fn indicators(o: &Value, ctx: &Context, feed: &str) -> Result<Vec<Indicator>, String> {
    if o.get("revoked").and_then(Value::as_bool) == Some(true) {
        return Err("revoked".into());
    }
    match str_of(o, "pattern_type") {
        None | Some("stix") => {}
        Some(other) => return Err(format!("pattern_type {other} is not supported (only stix)")),
    }
    let pattern = str_of(o, "pattern").ok_or("no pattern")?;
    let values = pattern::observables(pattern).map_err(|e| format!("pattern: {e}"))?;
    let confidence = match o.get("confidence") {
        None | Some(Value::Null) => 50,
        Some(c) => c
            .as_u64()
            .filter(|c| *c <= 100)
            .and_then(|c| u8::try_from(c).ok())
            .ok_or_else(|| format!("confidence {c} is not 0 to 100"))?,
    };
    let valid_from = time_of(o, "valid_from")?;
    let valid_until = time_of(o, "valid_until")?;
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u <= f
    {
        return Err("valid_until is not after valid_from".into());
    }
    let mut labels = strings(o, "labels");
    for t in strings(o, "indicator_types") {
        push_unique(&mut labels, t);
    }
    let tlp = strings(o, "object_marking_refs")
        .iter()
        .filter_map(|m| {
            TLP_IDS
                .iter()
                .find(|(id, _)| id == m)
                .map(|(_, t)| *t)
                .or_else(|| ctx.markings.get(m).copied())
        })
        .max()
        .unwrap_or(Tlp::Amber);
    let id = str_of(o, "id").map(str::to_string);
    let attack = attack_of(o, id.as_deref(), ctx);
    let description = str_of(o, "description")
        .or_else(|| str_of(o, "name"))
        .map(str::to_string);
    let severity = severity_of(o, &labels);
    Ok(values
        .into_iter()
        .map(|value| Indicator {
            value,
            feed: feed.to_string(),
            id: id.clone(),
            confidence,
            severity,
            tlp,
            valid_from,
            valid_until,
            labels: labels.clone(),
            attack: attack.clone(),
            description: description.clone(),
        })
        .collect())
}

fn time_of(o: &Value, key: &str) -> Result<Option<Timestamp>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Timestamp::parse_rfc3339(s)
            .map(Some)
            .map_err(|e| format!("{key} {s:?} is not a timestamp: {e}")),
        Some(other) => Err(format!("{key} is {}, not a timestamp", json_type(other))),
    }
}

fn attack_of(o: &Value, id: Option<&str>, ctx: &Context) -> Vec<String> {
    let mut attack = Vec::new();
    for a in attack_refs(o) {
        push_unique(&mut attack, a);
    }
    for phase in o
        .get("kill_chain_phases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if str_of(phase, "kill_chain_name") != Some("mitre-attack") {
            continue;
        }
        let name = str_of(phase, "phase_name").unwrap_or_default();
        if let Some((_, ta)) = TACTICS.iter().find(|(n, _)| *n == name) {
            push_unique(&mut attack, (*ta).to_string());
        }
    }
    for target in id
        .and_then(|id| ctx.indicates.get(id))
        .into_iter()
        .flatten()
    {
        for a in ctx.attack.get(target).into_iter().flatten() {
            push_unique(&mut attack, a.clone());
        }
    }
    attack
}

fn severity_of(o: &Value, labels: &[String]) -> Severity {
    if let Some(s) = str_of(o, "x_severity").and_then(|s| s.to_ascii_lowercase().parse().ok()) {
        return s;
    }
    let has = |names: &[&str]| labels.iter().any(|l| names.contains(&l.as_str()));
    if has(&["malicious-activity", "compromised", "attribution"]) {
        Severity::High
    } else if has(&["anomalous-activity"]) {
        Severity::Low
    } else if has(&["benign"]) {
        Severity::Informational
    } else {
        Severity::Medium
    }
}
