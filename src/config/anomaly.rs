//! `[anomaly]`: whether the node runs its anomaly detectors, the working-day calendar they
//! count by (the zone, and dates added to the built-in Chinese holidays and make-up working
//! days), their default bounds, and how often their state is written to disk.

use onewall_anomaly::{AnomalyConfig, Calendar};
use serde::{Deserialize, Serialize};

/// The `[anomaly]` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalySection {
    /// Run the detectors of the rule set (documents with an `anomaly:` key).
    pub enabled: bool,
    /// The calendar's offset from UTC, `+08:00` style: hours of the day and days are counted
    /// on this clock.
    pub utc_offset: String,
    /// Extra public holidays (`YYYY-MM-DD`), for years the built-in calendar lacks.
    pub holidays: Vec<String>,
    /// Extra make-up working days (调休, `YYYY-MM-DD`).
    pub workdays: Vec<String>,
    /// Groups per detector when the detector does not say.
    pub max_groups: usize,
    /// Entries per group when the detector does not say.
    pub max_entries: usize,
    /// Seconds between writes of `anomaly.snapshot` (also written when the node stops).
    pub snapshot_interval_secs: u64,
}

impl Default for AnomalySection {
    fn default() -> Self {
        let d = AnomalyConfig::default();
        AnomalySection {
            enabled: true,
            utc_offset: "+08:00".into(),
            holidays: Vec::new(),
            workdays: Vec::new(),
            max_groups: d.max_groups,
            max_entries: d.max_entries,
            snapshot_interval_secs: 60,
        }
    }
}

/// A `YYYY-MM-DD` date.
fn parse_date(s: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &format).ok()
}

impl AnomalySection {
    /// Every mistake, `anomaly.key: reason`.
    pub fn validate(&self) -> Vec<String> {
        self.resolve().err().unwrap_or_default()
    }

    /// The detectors' settings: China's calendar on the configured clock with the extra
    /// dates, and the bounds.
    pub fn resolve(&self) -> Result<AnomalyConfig, Vec<String>> {
        let mut errors = Vec::new();
        let offset = match crate::config::parse_offset(&self.utc_offset) {
            Some(o) => o.whole_seconds(),
            None => {
                errors.push(format!(
                    "anomaly.utc_offset: {:?} is not an offset like +08:00",
                    self.utc_offset
                ));
                8 * 3600
            }
        };
        let mut calendar = Calendar::china().with_utc_offset(offset);
        for (key, dates) in [("holidays", &self.holidays), ("workdays", &self.workdays)] {
            for (i, d) in dates.iter().enumerate() {
                match parse_date(d) {
                    Some(date) if key == "holidays" => calendar.add_holiday(date),
                    Some(date) => calendar.add_workday(date),
                    None => errors.push(format!(
                        "anomaly.{key}[{i}]: {d:?} is not a date (YYYY-MM-DD)"
                    )),
                }
            }
        }
        if self.max_groups == 0 {
            errors.push("anomaly.max_groups: must be at least 1".into());
        }
        if self.max_entries == 0 {
            errors.push("anomaly.max_entries: must be at least 1".into());
        }
        if self.snapshot_interval_secs == 0 {
            errors.push("anomaly.snapshot_interval_secs: must be at least 1".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AnomalyConfig {
            calendar,
            max_groups: self.max_groups,
            max_entries: self.max_entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        let s = AnomalySection {
            utc_offset: "8".into(),
            holidays: vec!["2031-10-01".into(), "Oct 2".into()],
            workdays: vec!["2031-13-01".into()],
            max_groups: 0,
            max_entries: 0,
            snapshot_interval_secs: 0,
            ..AnomalySection::default()
        };
        let e = s.validate();
        for says in [
            "anomaly.utc_offset: \"8\"",
            "anomaly.holidays[1]: \"Oct 2\"",
            "anomaly.workdays[0]: \"2031-13-01\"",
            "anomaly.max_groups:",
            "anomaly.max_entries:",
            "anomaly.snapshot_interval_secs:",
        ] {
            assert!(e.iter().any(|x| x.starts_with(says)), "{says} in {e:?}");
        }
        assert_eq!(e.len(), 6, "{e:?}");
    }

    #[test]
    fn the_defaults_resolve_to_china_on_utc_plus_8() {
        let c = AnomalySection::default().resolve().unwrap();
        assert_eq!(c.calendar.utc_offset_secs(), 8 * 3600);
        let c = AnomalySection {
            utc_offset: "-05:30".into(),
            max_groups: 7,
            ..AnomalySection::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.calendar.utc_offset_secs(), -(5 * 3600 + 1800));
        assert_eq!(c.max_groups, 7);
    }
}
