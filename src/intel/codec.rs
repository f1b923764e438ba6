//! An indicator as JSON: how `intel.sqlite` keeps imported and local indicators and how the
//! API shows them. One shape both ways, so what was stored reads back the same.

use onewall_intel::{Indicator, Observable};

/// An indicator's JSON form (`type` and `value` as the alerts name them): the shape a parent
/// shares with its children, so one form is kept, served and sent.
pub use onewall_model::intel::SharedIndicator as IndicatorJson;

/// To and from an indicator's JSON form.
pub trait Codec: Sized {
    fn of(i: &Indicator) -> Self;
    /// The indicator again, in the feed the JSON names; a value its kind does not accept is
    /// an error naming it.
    fn indicator(self) -> Result<Indicator, onewall_intel::IntelError>;
}

impl Codec for IndicatorJson {
    fn of(i: &Indicator) -> IndicatorJson {
        i.to_shared()
    }

    fn indicator(self) -> Result<Indicator, onewall_intel::IntelError> {
        let feed = self.feed.clone();
        Indicator::from_shared(self, &feed)
    }
}

/// `kind\u{1f}value`: an indicator's key within its feed.
pub fn key(v: &Observable) -> String {
    format!("{}\u{1f}{}", v.kind().as_str(), v.text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{IndicatorKind, Timestamp};

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
