//! Time as UTC nanoseconds since the Unix epoch.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ModelError;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z. Ordered, `Copy`, 8 bytes.
/// Serialized as RFC 3339 text in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;
    pub const NANOS_PER_DAY: i64 = 86_400 * Self::NANOS_PER_SEC;

    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_nanos() as i64),
            Err(e) => Timestamp(-(e.duration().as_nanos() as i64)),
        }
    }

    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(Self::NANOS_PER_SEC))
    }

    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    pub fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(Self::NANOS_PER_SEC)
    }

    /// Days since the epoch (UTC), the unit retention drops.
    pub fn day(self) -> i64 {
        self.0.div_euclid(Self::NANOS_PER_DAY)
    }

    pub fn add_secs(self, secs: i64) -> Self {
        Timestamp(
            self.0
                .saturating_add(secs.saturating_mul(Self::NANOS_PER_SEC)),
        )
    }

    pub fn to_offset_date_time(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        let n = t.unix_timestamp_nanos();
        Timestamp(n.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    /// Parse RFC 3339 (`2026-11-28T04:06:26Z`, `2026-11-28T12:06:26.5+08:00`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, ModelError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Self::from_offset_date_time)
            .map_err(|e| ModelError::Timestamp {
                input: s.to_owned(),
                reason: e.to_string(),
            })
    }

    /// RFC 3339 in UTC with as many fractional digits as needed.
    pub fn to_rfc3339(self) -> String {
        self.to_offset_date_time()
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.to_string())
    }

    /// `YYYYMMDD` of the UTC day, used to name per-day partitions.
    pub fn yyyymmdd(self) -> u32 {
        let d = self.to_offset_date_time();
        d.year() as u32 * 10_000 + u8::from(d.month()) as u32 * 100 + d.day() as u32
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_nanos() {
        let t = Timestamp::parse_rfc3339("2026-11-28T12:06:26.123456789+08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-28T04:06:26.123456789Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
    }

    #[test]
    fn bad_text_names_the_input() {
        let e = Timestamp::parse_rfc3339("yesterday").unwrap_err();
        assert!(e.to_string().contains("yesterday"), "{e}");
    }

    #[test]
    fn day_and_yyyymmdd() {
        let t = Timestamp::parse_rfc3339("2026-11-28T23:59:59Z").unwrap();
        assert_eq!(t.yyyymmdd(), 20261128);
        assert_eq!(t.add_secs(1).yyyymmdd(), 20261129);
        assert_eq!(t.add_secs(1).day(), t.day() + 1);
    }
}
