//! MISP feeds: the manifest (`manifest.json`, which events the feed publishes) and the event
//! files (`<uuid>.json`, one `{"Event": {...}}` each), as MISP publishes them.
//!
//! Each attribute of an event, and of its objects, with `to_ids: true` and of a matched type
//! gives one indicator (two for `domain|ip`):
//!
//! | MISP type | indicator |
//! | --- | --- |
//! | `ip-src`, `ip-dst` (address or CIDR), `ip-src\|port`, `ip-dst\|port` | address or range |
//! | `domain`, `hostname` | exactly this domain |
//! | `domain\|ip` | the domain and the address |
//! | `url` | the URL |
//! | `md5`, `sha1`, `sha256`, `filename\|md5`, `filename\|sha1`, `filename\|sha256` | the hash |
//! | `email`, `email-src`, `email-dst` | the email address |
//!
//! Others (including `link`, a reference rather than something to look for) are refused
//! with a reason, as are `to_ids: false` and deleted attributes. The indicator's id is the
//! attribute's uuid; its description the attribute's comment, else the event's `info`.
//!
//! - Severity from the event's `threat_level_id`: 1 high, 2 medium, 3 low, 4 (undefined) or
//!   absent medium.
//! - TLP: the strictest `tlp:` tag on the attribute, else on its object, else on the event;
//!   none → AMBER.
//! - Confidence: the `estimative-language:confidence-in-analytic-judgment` tag (high 90,
//!   moderate 60, low 30) or the `estimative-language:likelihood-probability` tag
//!   (almost-certain 95, very-likely 85, likely 70, roughly-even-chance 50, unlikely 30,
//!   very-unlikely 15, almost-no-chance 5), the attribute's over the event's; else 70 (a
//!   published MISP event is vetted by its producer, so above the 50 "not stated").
//! - ATT&CK: `misp-galaxy:mitre-*` tags (`misp-galaxy:mitre-attack-pattern="Command and
//!   Scripting Interpreter - T1059"` gives `T1059`) and the event's `Galaxy` clusters.
//! - Labels: the other tags of the attribute and the event.
//! - No validity window: MISP's `first_seen`/`last_seen` say when the value was observed,
//!   not how long to look for it; the feed's lifetime applies.

use onewall_model::{IndicatorKind, Severity, Timestamp, Tlp};
use serde_json::{Map, Value};

use super::{FeedRead, Rejected};
use crate::{Indicator, IntelError, Observable};

/// One event a MISP feed's manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MispManifestEntry {
    pub uuid: String,
    pub info: String,
    /// The event's date as MISP writes it (`2024-03-18`).
    pub date: String,
    /// When the event last changed: the node fetches an event again only when it moved.
    pub timestamp: Option<Timestamp>,
    pub threat_level_id: Option<u8>,
    /// The event's tag names (`tlp:green`, `misp-galaxy:...`).
    pub tags: Vec<String>,
}

impl MispManifestEntry {
    /// The event file beside the manifest (`<uuid>.json`).
    pub fn file_name(&self) -> String {
        format!("{}.json", self.uuid)
    }
}

fn malformed(reason: impl Into<String>) -> IntelError {
    IntelError::MalformedFeed {
        format: "misp",
        reason: reason.into(),
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, IntelError> {
    v.as_object()
        .ok_or_else(|| malformed(format!("{what} is not an object")))
}

fn str_of<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// A number MISP may write as a number or a string (`"threat_level_id": "1"`).
fn num_of(o: &Value, key: &str) -> Option<i64> {
    match o.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn tags(o: &Value) -> Vec<String> {
    o.get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| str_of(t, "name"))
        .map(str::to_string)
        .collect()
}

/// Read a feed's `manifest.json`: event uuid → its summary, in uuid order.
pub fn read_misp_manifest(json: &[u8]) -> Result<Vec<MispManifestEntry>, IntelError> {
    let doc: Value =
        serde_json::from_slice(json).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let map = object(&doc, "the manifest")?;
    let mut out = Vec::with_capacity(map.len());
    for (uuid, e) in map {
        let e_map = object(e, &format!("manifest entry {uuid}"))?;
        let info = e_map
            .get("info")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(format!("manifest entry {uuid} has no info")))?;
        let timestamp = num_of(e, "timestamp").map(Timestamp::from_secs);
        out.push(MispManifestEntry {
            uuid: uuid.clone(),
            info: info.to_string(),
            date: str_of(e, "date").unwrap_or_default().to_string(),
            timestamp,
            threat_level_id: num_of(e, "threat_level_id").and_then(|n| u8::try_from(n).ok()),
            tags: tags(e),
        });
    }
    out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    Ok(out)
}

/// What an event says that its attributes share.
struct EventMeta {
    severity: Severity,
    tags: Vec<String>,
    attack: Vec<String>,
    info: Option<String>,
}

/// Read one event file (`{"Event": {...}}`) of feed `feed`.
pub fn read_misp_event(json: &[u8], feed: &str) -> Result<FeedRead, IntelError> {
    let doc: Value =
        serde_json::from_slice(json).map_err(|e| malformed(format!("not JSON: {e}")))?;
    object(&doc, "the event file")?;
    let event = doc
        .get("Event")
        .ok_or_else(|| malformed("no \"Event\" at the top level"))?;
    object(event, "\"Event\"")?;
    let severity = match num_of(event, "threat_level_id") {
        Some(1) => Severity::High,
        Some(3) => Severity::Low,
        _ => Severity::Medium,
    };
    let mut attack = Vec::new();
    for t in tags(event) {
        if let Some(a) = galaxy_attack(&t) {
            push_unique(&mut attack, a);
        }
    }
    for a in cluster_attack(event) {
        push_unique(&mut attack, a);
    }
    let meta = EventMeta {
        severity,
        tags: tags(event),
        attack,
        info: str_of(event, "info").map(str::to_string),
    };
    let mut read = FeedRead::default();
    let list = |o: &Value, key: &str| -> Result<Vec<Value>, IntelError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(malformed(format!("\"{key}\" is not an array"))),
        }
    };
    for a in list(event, "Attribute")? {
        attribute(&a, &[], &meta, feed, &mut read);
    }
    for o in list(event, "Object")? {
        let object_tags = tags(&o);
        if o.get("deleted").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        for a in list(&o, "Attribute")? {
            attribute(&a, &object_tags, &meta, feed, &mut read);
        }
    }
    Ok(read)
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// `misp-galaxy:mitre-attack-pattern="Command and Scripting Interpreter - T1059"` → `T1059`.
fn galaxy_attack(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("misp-galaxy:mitre-")?;
    let value = rest.split_once('=')?.1.trim_matches('"');
    attack_id(value.rsplit_once(" - ")?.1)
}

/// An ATT&CK id (`T1059`, `T1071.001`, `G0016`, `S0154`, `TA0011`), if `s` is one.
fn attack_id(s: &str) -> Option<String> {
    let s = s.trim();
    let digits = s
        .strip_prefix("TA")
        .or_else(|| s.strip_prefix(['T', 'G', 'S', 'M', 'C']))?;
    let (main, sub) = digits.split_once('.').unwrap_or((digits, "000"));
    (main.len() == 4
        && sub.len() == 3
        && main.bytes().chain(sub.bytes()).all(|b| b.is_ascii_digit()))
    .then(|| s.to_string())
}

/// The ATT&CK ids of an event's `Galaxy` clusters of the mitre galaxies.
fn cluster_attack(event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for g in event
        .get("Galaxy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !str_of(g, "type").is_some_and(|t| t.starts_with("mitre-")) {
            continue;
        }
        for c in g
            .get("GalaxyCluster")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ids = c
                .pointer("/meta/external_id")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(attack_id);
            let from_value = str_of(c, "value")
                .and_then(|v| v.rsplit_once(" - "))
                .and_then(|(_, id)| attack_id(id));
            for id in ids.chain(from_value) {
                push_unique(&mut out, id);
            }
        }
    }
    out
}

fn confidence_of(tags: &[String]) -> Option<u8> {
    tags.iter().find_map(|t| {
        let (name, value) = t.split_once('=')?;
        let value = value.trim_matches('"');
        match name {
            "estimative-language:confidence-in-analytic-judgment" => match value {
                "high" => Some(90),
                "moderate" => Some(60),
                "low" => Some(30),
                _ => None,
            },
            "estimative-language:likelihood-probability" => match value {
                "almost-certain" => Some(95),
                "very-likely" => Some(85),
                "likely" => Some(70),
                "roughly-even-chance" => Some(50),
                "unlikely" => Some(30),
                "very-unlikely" => Some(15),
                "almost-no-chance" => Some(5),
                _ => None,
            },
            _ => None,
        }
    })
}

fn tlp_of(tags: &[String]) -> Option<Tlp> {
    tags.iter()
        .filter(|t| t.to_ascii_lowercase().starts_with("tlp:"))
        .filter_map(|t| Tlp::parse(t))
        .max()
}

/// One attribute: its indicators into `read.indicators`, or its reason into `read.rejected`.
fn attribute(a: &Value, object_tags: &[String], meta: &EventMeta, feed: &str, read: &mut FeedRead) {
    let item = str_of(a, "uuid")
        .unwrap_or("attribute without uuid")
        .to_string();
    let values = match attribute_values(a) {
        Ok(v) => v,
        Err(reason) => {
            read.rejected.push(Rejected { item, reason });
            return;
        }
    };
    let own = tags(a);
    let tlp = tlp_of(&own)
        .or_else(|| tlp_of(object_tags))
        .or_else(|| tlp_of(&meta.tags))
        .unwrap_or(Tlp::Amber);
    let confidence = confidence_of(&own)
        .or_else(|| confidence_of(object_tags))
        .or_else(|| confidence_of(&meta.tags))
        .unwrap_or(70);
    let mut attack = meta.attack.clone();
    let mut labels = Vec::new();
    for t in own.iter().chain(object_tags).chain(&meta.tags) {
        if let Some(id) = galaxy_attack(t) {
            push_unique(&mut attack, id);
        } else if !t.to_ascii_lowercase().starts_with("tlp:")
            && !t.starts_with("estimative-language:")
        {
            push_unique(&mut labels, t.clone());
        }
    }
    let description = str_of(a, "comment")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string)
        .or_else(|| meta.info.clone());
    for value in values {
        read.indicators.push(Indicator {
            value,
            feed: feed.to_string(),
            id: Some(item.clone()),
            confidence,
            severity: meta.severity,
            tlp,
            valid_from: None,
            valid_until: None,
            labels: labels.clone(),
            attack: attack.clone(),
            description: description.clone(),
        });
    }
}

/// The values an attribute names, or why it is not an indicator.
fn attribute_values(a: &Value) -> Result<Vec<Observable>, String> {
    if a.get("deleted").and_then(Value::as_bool) == Some(true) {
        return Err("deleted".into());
    }
    let to_ids = match a.get("to_ids") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    };
    if !to_ids {
        return Err("to_ids is false".into());
    }
    let ty = str_of(a, "type").ok_or("no type")?;
    let value = str_of(a, "value").ok_or("no value")?;
    let parse =
        |kind: IndicatorKind, v: &str| Observable::parse(kind, v).map_err(|e| format!("{ty}: {e}"));
    let address = |v: &str| {
        parse(
            if v.contains('/') {
                IndicatorKind::Cidr
            } else {
                IndicatorKind::Ip
            },
            v,
        )
    };
    let after_bar = |v: &'_ str| -> Result<String, String> {
        v.rsplit_once('|')
            .map(|(_, h)| h.to_string())
            .ok_or_else(|| format!("{ty} value {v:?} has no '|'"))
    };
    let before_bar = |v: &'_ str| -> Result<String, String> {
        v.rsplit_once('|')
            .map(|(a, _)| a.to_string())
            .ok_or_else(|| format!("{ty} value {v:?} has no '|'"))
    };
    Ok(match ty {
        "ip-src" | "ip-dst" => vec![address(value)?],
        "ip-src|port" | "ip-dst|port" => vec![address(&before_bar(value)?)?],
        "domain" | "hostname" => vec![parse(IndicatorKind::Domain, value)?],
        "domain|ip" => vec![
            parse(IndicatorKind::Domain, &before_bar(value)?)?,
            address(&after_bar(value)?)?,
        ],
        "url" => vec![parse(IndicatorKind::Url, value)?],
        "md5" => vec![parse(IndicatorKind::Md5, value)?],
        "sha1" => vec![parse(IndicatorKind::Sha1, value)?],
        "sha256" => vec![parse(IndicatorKind::Sha256, value)?],
        "filename|md5" => vec![parse(IndicatorKind::Md5, &after_bar(value)?)?],
        "filename|sha1" => vec![parse(IndicatorKind::Sha1, &after_bar(value)?)?],
        "filename|sha256" => vec![parse(IndicatorKind::Sha256, &after_bar(value)?)?],
        "email" | "email-src" | "email-dst" => vec![parse(IndicatorKind::Email, value)?],
        "link" => return Err("type link is a reference, not an indicator".into()),
        other => return Err(format!("type {other} is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_come_from_galaxy_tags() {
        assert_eq!(
            galaxy_attack(
                r#"misp-galaxy:mitre-attack-pattern="Command and Scripting Interpreter - T1059""#
            ),
            Some("T1059".into())
        );
        assert_eq!(
            galaxy_attack(r#"misp-galaxy:mitre-attack-pattern="Web Protocols - T1071.001""#),
            Some("T1071.001".into())
        );
        assert_eq!(
            galaxy_attack(r#"misp-galaxy:mitre-intrusion-set="APT29 - G0016""#),
            Some("G0016".into())
        );
        assert_eq!(galaxy_attack(r#"misp-galaxy:threat-actor="Sofacy""#), None);
        assert_eq!(
            galaxy_attack(r#"misp-galaxy:mitre-attack-pattern="Odd - X""#),
            None
        );
    }

    #[test]
    fn confidence_and_tlp_read_their_tags() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            confidence_of(&t(&[
                r#"estimative-language:confidence-in-analytic-judgment="moderate""#
            ])),
            Some(60)
        );
        assert_eq!(confidence_of(&t(&["tlp:red"])), None);
        assert_eq!(
            tlp_of(&t(&["tlp:green", "TLP:AMBER+STRICT", "type:OSINT"])),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(tlp_of(&t(&["tlp:ex:chr"])), None);
    }
}
