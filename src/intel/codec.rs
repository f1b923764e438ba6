//! An indicator as JSON: how `intel.sqlite` keeps imported and local indicators and how the
//! API shows them. One shape both ways, so what was stored reads back the same.

use onewall_intel::{Indicator, Observable};
use onewall_model::{IndicatorKind, Severity, Timestamp, Tlp};
use serde::{Deserialize, Serialize};

/// An indicator's JSON form (`type` and `value` as the alerts name them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorJson {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: IndicatorKind,
    pub feed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub confidence: u8,
    pub severity: Severity,
    pub tlp: Tlp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IndicatorJson {
    pub fn of(i: &Indicator) -> IndicatorJson {
        IndicatorJson {
            value: i.value.text(),
            kind: i.value.kind(),
            feed: i.feed.clone(),
            id: i.id.clone(),
            confidence: i.confidence,
            severity: i.severity,
            tlp: i.tlp,
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            labels: i.labels.clone(),
            attack: i.attack.clone(),
            description: i.description.clone(),
        }
    }

    /// The indicator again; a value its kind does not accept is an error naming it.
    pub fn indicator(self) -> Result<Indicator, onewall_intel::IntelError> {
        Ok(Indicator {
            value: Observable::parse(self.kind, &self.value)?,
            feed: self.feed,
            id: self.id,
            confidence: self.confidence.min(100),
            severity: self.severity,
            tlp: self.tlp,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            labels: self.labels,
            attack: self.attack,
            description: self.description,
        })
    }
}

/// `kind\u{1f}value`: an indicator's key within its feed.
pub fn key(v: &Observable) -> String {
    format!("{}\u{1f}{}", v.kind().as_str(), v.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indicator_reads_back_the_same() {
        let mut i = Indicator::new(
            Observable::parse(IndicatorKind::Cidr, "10.1.2.3/8").expect("cidr"),
            "cti",
        );
        i.labels = vec!["c2".into()];
        i.valid_until = Some(Timestamp::from_secs(1_900_000_000));
        let json = serde_json::to_string(&IndicatorJson::of(&i)).expect("json");
        assert!(json.contains("\"type\":\"cidr\""), "{json}");
        let back: IndicatorJson = serde_json::from_str(&json).expect("reads");
        assert_eq!(back.indicator().expect("valid"), i);
    }
}
