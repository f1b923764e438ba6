//! What the numeric kinds (`volume`, `outlier`, `time_of_day`) share: reading their
//! parameters, buckets on the calendar's clock, which day's profile a day takes, and robust
//! statistics.

use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use crate::calendar::{DayKind, LocalTime};
use crate::kind::Observation;

/// Which side of the band a detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Both,
    Up,
    Down,
}

impl Direction {
    pub fn high(self) -> bool {
        matches!(self, Direction::Both | Direction::Up)
    }

    pub fn low(self) -> bool {
        matches!(self, Direction::Both | Direction::Down)
    }

    pub(crate) fn parse(s: &str) -> Option<Direction> {
        match s {
            "both" => Some(Direction::Both),
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            _ => None,
        }
    }
}

/// Reads a kind's own parameters from the `anomaly:` map; every error names the key.
pub(crate) struct ParamReader<'a> {
    map: &'a Mapping,
    kind: &'static str,
}

impl<'a> ParamReader<'a> {
    /// Fails on a key that is neither common nor one of `own`.
    pub fn new(map: &'a Mapping, kind: &'static str, own: &[&str]) -> Result<Self, String> {
        crate::document::check_keys(map, own).map_err(|e| format!("{e} for kind {kind}"))?;
        Ok(ParamReader { map, kind })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, want: &str, got: &Value) -> String {
        let got = serde_norway::to_string(got).unwrap_or_default();
        format!(
            "anomaly.{key}: expected {want} for kind {}, got {}",
            self.kind,
            got.trim()
        )
    }

    /// A timespan (`10m`, `1h`, `1d`) in seconds.
    pub fn timespan(&self, key: &str, default: i64) -> Result<i64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                Some(s) => onewall_rules::correlation::parse_timespan(s)
                    .map_err(|e| format!("anomaly.{key}: {e}")),
                None => Err(self.bad(key, "a timespan such as 1h", v)),
            },
        }
    }

    /// A number at least `min`.
    pub fn number(&self, key: &str, default: f64, min: f64) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() && n >= min => Ok(n),
                _ => Err(self.bad(key, &format!("a number of at least {min}"), v)),
            },
        }
    }

    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(key, "true or false", v)),
        }
    }

    /// One of `choices` (the first is the default).
    pub fn choice(&self, key: &str, choices: &[&'static str]) -> Result<&'static str, String> {
        let Some(v) = self.get(key) else {
            return Ok(choices[0]);
        };
        let s = v.as_str().unwrap_or("");
        choices
            .iter()
            .find(|c| **c == s)
            .copied()
            .ok_or_else(|| self.bad(key, &format!("one of {}", choices.join(", ")), v))
    }

    /// A field name.
    pub fn field(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                _ => Err(self.bad(key, "a field name", v)),
            },
        }
    }
}

/// A bucket length in seconds that divides a day.
pub(crate) fn check_bucket(secs: i64) -> Result<i64, String> {
    if secs <= 0 || 86_400 % secs != 0 {
        return Err(format!(
            "anomaly.bucket: {secs} s does not divide a day (use e.g. 10m, 1h, 6h or 1d)"
        ));
    }
    Ok(secs)
}

/// The calendar's offset from UTC, read off an observation (its local time and instant).
pub(crate) fn offset_of(obs: &Observation<'_>) -> i64 {
    let t = obs.time.secs();
    let local = obs.local.day * 86_400
        + i64::from(obs.local.hour) * 3600
        + i64::from(obs.local.minute) * 60
        + t.rem_euclid(60);
    local - t
}

/// The start (UTC seconds) of the bucket of `bucket` seconds that holds `t`, buckets aligned
/// on the calendar's midnight (`offset` from UTC).
pub(crate) fn bucket_start(t: i64, offset: i64, bucket: i64) -> i64 {
    (t + offset).div_euclid(bucket) * bucket - offset
}

/// Which weekday's profile a day takes (0 = Monday … 6 = Sunday). Ordinary working days and
/// weekends keep their own; a public holiday (or a weekday given off) takes **Sunday's**; a
/// make-up working day (调休) takes **Wednesday's**, an ordinary mid-week working day.
pub fn profile_weekday(local: &LocalTime) -> u8 {
    match local.day_kind {
        DayKind::Workday | DayKind::Weekend => local.weekday,
        DayKind::Holiday => 6,
        DayKind::MakeUpWorkday => 2,
    }
}

/// Median of `v` (sorted in place); `v` is not empty.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median and median absolute deviation of `v` (reordered); `v` is not empty.
pub(crate) fn median_mad(v: &mut [f64]) -> (f64, f64) {
    let m = median(v);
    for x in v.iter_mut() {
        *x = (*x - m).abs();
    }
    (m, median(v))
}

/// A non-negative count in two bytes: 0 is "no value", else `1 + round(ln(1 + v) · SCALE)`.
/// Within 0.05 % (and ±0.5 up to about 2,000), up to about 10¹².
const SCALE: f64 = 2340.0;

pub(crate) fn encode(v: f64) -> u16 {
    let c = (v.max(0.0).ln_1p() * SCALE).round() + 1.0;
    c.min(f64::from(u16::MAX)) as u16
}

pub(crate) fn decode(c: u16) -> Option<f64> {
    if c == 0 {
        return None;
    }
    Some((f64::from(c - 1) / SCALE).exp_m1())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_small_counts_exactly_and_large_ones_closely() {
        for v in [0.0, 1.0, 2.5, 57.0, 300.0, 1999.0] {
            let back = decode(encode(v)).unwrap_or(-1.0);
            assert!(
                (back - v).abs() <= 0.5 && (back - v).abs() <= 0.0005 * v + 0.01,
                "{v}: {back}"
            );
        }
        let big = 5.0e9;
        let back = decode(encode(big)).unwrap_or(0.0);
        assert!((back - big).abs() / big < 0.001, "{back}");
        assert_eq!(decode(0), None);
    }

    #[test]
    fn buckets_align_on_local_midnight() {
        // UTC+8: local midnight is 16:00 UTC.
        let off = 8 * 3600;
        assert_eq!(bucket_start(16 * 3600 + 5, off, 86_400), 16 * 3600);
        assert_eq!(bucket_start(16 * 3600 - 5, off, 86_400), 16 * 3600 - 86_400);
        assert_eq!(bucket_start(3600 + 700, off, 600), 3600 + 600);
    }

    #[test]
    fn unknown_and_bad_parameters_name_their_key() {
        let map: Mapping = serde_norway::from_str("kind: volume\nbukket: 1h").unwrap_or_default();
        let err = ParamReader::new(&map, "volume", &["bucket"])
            .err()
            .unwrap_or_default();
        assert!(err.contains("anomaly.bukket"), "{err}");
        let map: Mapping = serde_norway::from_str("sensitivity: -1").unwrap_or_default();
        let r = ParamReader::new(&map, "volume", &["sensitivity"]);
        let err = r
            .and_then(|r| r.number("sensitivity", 4.0, 0.5))
            .err()
            .unwrap_or_default();
        assert!(err.contains("anomaly.sensitivity"), "{err}");
        assert!(check_bucket(7 * 3600).is_err());
        assert_eq!(check_bucket(600), Ok(600));
    }
}

#[cfg(test)]
#[path = "tests/support.rs"]
pub(crate) mod support;

#[cfg(test)]
#[path = "tests/props.rs"]
mod props;
