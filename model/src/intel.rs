//! Threat intelligence as the rest of the node sees it: the kinds of indicator, the Traffic
//! Light Protocol marking that says how far one may travel, and what an alert raised by an
//! indicator carries (`Alert::intel`). The indicators themselves, the feeds and the matcher
//! are in the `onewall-intel` crate.

use serde::{Deserialize, Serialize};

/// What an indicator's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorKind {
    /// One IPv4 or IPv6 address (`ipv4-addr`/`ipv6-addr` in STIX).
    Ip,
    /// An address range in CIDR notation.
    Cidr,
    /// Exactly this domain name.
    Domain,
    /// This domain and every name under it (`example.com` covers `a.b.example.com`).
    DomainTree,
    Url,
    Md5,
    Sha1,
    Sha256,
    /// The Chinese national hash (GB/T 32905), 256 bits like SHA-256.
    Sm3,
    Email,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 10] = [
        IndicatorKind::Ip,
        IndicatorKind::Cidr,
        IndicatorKind::Domain,
        IndicatorKind::DomainTree,
        IndicatorKind::Url,
        IndicatorKind::Md5,
        IndicatorKind::Sha1,
        IndicatorKind::Sha256,
        IndicatorKind::Sm3,
        IndicatorKind::Email,
    ];

    /// The name used in JSON, configuration and the API (`ip`, `domain-tree`, `sha256` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::DomainTree => "domain-tree",
            IndicatorKind::Url => "url",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Sm3 => "sm3",
            IndicatorKind::Email => "email",
        }
    }

    /// The kind named `s` (as [`IndicatorKind::as_str`] spells it).
    pub fn parse(s: &str) -> Option<IndicatorKind> {
        IndicatorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the file hash kinds.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 | IndicatorKind::Sm3
        )
    }
}

/// Traffic Light Protocol 2.0: how far an indicator may be shared. Ordered from the most
/// shareable to the least, so `tlp <= Tlp::Amber` reads "may go down the tree".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum Tlp {
    #[serde(rename = "CLEAR", alias = "WHITE", alias = "clear", alias = "white")]
    Clear,
    #[serde(rename = "GREEN", alias = "green")]
    Green,
    /// The default for an indicator whose source says nothing: shared inside the tree only.
    #[default]
    #[serde(rename = "AMBER", alias = "amber")]
    Amber,
    #[serde(rename = "AMBER+STRICT", alias = "amber+strict")]
    AmberStrict,
    #[serde(rename = "RED", alias = "red")]
    Red,
}

impl Tlp {
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    /// Read a marking as feeds write it: `TLP:AMBER`, `tlp:amber+strict`, `white`, `RED` ...
    pub fn parse(s: &str) -> Option<Tlp> {
        let t = s.trim();
        let t = t
            .strip_prefix("TLP:")
            .or_else(|| t.strip_prefix("tlp:"))
            .unwrap_or(t);
        match t.to_ascii_uppercase().as_str() {
            "CLEAR" | "WHITE" => Some(Tlp::Clear),
            "GREEN" => Some(Tlp::Green),
            "AMBER" => Some(Tlp::Amber),
            "AMBER+STRICT" | "AMBER-STRICT" => Some(Tlp::AmberStrict),
            "RED" => Some(Tlp::Red),
            _ => None,
        }
    }
}

/// The indicator an intelligence alert names (`intel.indicator` in its JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRef {
    /// The indicator's value as normalised (lower-case domain, canonical address ...).
    pub value: String,
    #[serde(rename = "type")]
    pub kind: IndicatorKind,
    /// The feed that holds it (`local` for indicators added through the API).
    pub feed: String,
    /// 0–100, after decay, when the alert was raised.
    pub confidence: u8,
    pub tlp: Tlp,
    /// The indicator's id in its source (a STIX id, a MISP attribute uuid), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// What an alert raised by threat intelligence carries beside its rule (`Alert::intel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertIntel {
    pub indicator: IndicatorRef,
    /// The event field whose value matched (`destination.ip`, `dns.question.name` ...).
    pub field: String,
    /// The value the event held there (for a range or a domain tree, the address or name
    /// inside it).
    pub observed: String,
    /// True when found by a retro-hunt of the stored history after the indicator arrived;
    /// the alert's time is then the event's.
    #[serde(default)]
    pub retro: bool,
    /// Sightings folded into this alert: the same indicator seen by the same entity again
    /// within the folding window counts here instead of raising another alert.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

/// May an indicator marked `tlp` go from this node to a child node? CLEAR, GREEN and AMBER go
/// down the tree (and on from each child to its own children); AMBER+STRICT only to a node of
/// the same organisation (`same_organisation`: the child's `[federation] organisation` is this
/// node's); RED never leaves the node that holds it.
pub fn may_share_down(tlp: Tlp, same_organisation: bool) -> bool {
    match tlp {
        Tlp::Clear | Tlp::Green | Tlp::Amber => true,
        Tlp::AmberStrict => same_organisation,
        Tlp::Red => false,
    }
}

/// An indicator as a parent shares it with its children (in the push reply's `intel` page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedIndicator {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: IndicatorKind,
    /// The feed that holds it at the node that shares it.
    pub feed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub confidence: u8,
    pub severity: crate::Severity,
    pub tlp: Tlp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<crate::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<crate::Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a child holds of its parent's shared indicators, sent with every push: the version
/// of the parent's shared set and how many of its indicators the child has read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelSync {
    pub version: u64,
    /// Indicators of that version read so far (the next page starts here).
    pub next: u64,
}

/// A page of the parent's shared indicators, in the push reply. The shared set has a
/// version (it changes whenever the parent's indicators do); a child reads it page by page
/// from `from`, and swaps in the whole set when it has read `total`. A page of a new version
/// starts again from 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelPage {
    pub version: u64,
    pub from: u64,
    pub total: u64,
    pub indicators: Vec<SharedIndicator>,
}

/// A child's report of an indicator its events matched, sent up so the parent sees which
/// regions saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SightingReport {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: IndicatorKind,
    pub feed: String,
    /// The region whose events matched (the child's, or one below it).
    pub region: crate::RegionCode,
    /// Matching events (folded ones included) since the indicator was first seen there.
    pub count: u64,
    pub first_seen: crate::Timestamp,
    pub last_seen: crate::Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_reads_the_spellings_feeds_use_and_orders_by_reach() {
        assert_eq!(Tlp::parse("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::parse("white"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("tlp:red"), Some(Tlp::Red));
        assert_eq!(Tlp::parse("purple"), None);
        assert!(
            Tlp::Green < Tlp::Amber && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
        let json = serde_json::to_string(&Tlp::AmberStrict).expect("json");
        assert_eq!(json, "\"AMBER+STRICT\"");
        assert_eq!(
            serde_json::from_str::<Tlp>("\"WHITE\"").expect("alias"),
            Tlp::Clear
        );
    }

    #[test]
    fn tlp_decides_what_goes_down_the_tree() {
        for tlp in [Tlp::Clear, Tlp::Green, Tlp::Amber] {
            assert!(may_share_down(tlp, false) && may_share_down(tlp, true));
        }
        assert!(may_share_down(Tlp::AmberStrict, true));
        assert!(!may_share_down(Tlp::AmberStrict, false));
        assert!(!may_share_down(Tlp::Red, true));
    }

    #[test]
    fn indicator_kinds_round_trip_by_name() {
        for k in IndicatorKind::ALL {
            assert_eq!(IndicatorKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }

    #[test]
    fn an_intel_alert_part_reads_back_and_defaults_its_count() {
        let part: AlertIntel = serde_json::from_value(serde_json::json!({
            "indicator": {"value": "203.0.113.9", "type": "ip", "feed": "feodo",
                          "confidence": 80, "tlp": "GREEN"},
            "field": "destination.ip", "observed": "203.0.113.9"
        }))
        .expect("reads");
        assert_eq!(part.count, 1);
        assert!(!part.retro);
        assert_eq!(part.indicator.kind, IndicatorKind::Ip);
    }
}
