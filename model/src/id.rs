//! Time-ordered 128-bit ids: 48 bits of Unix milliseconds, then 80 bits that are a per-process
//! random start plus a counter. Ids made in one process are strictly increasing; ids from
//! different processes do not collide in practice. Text form: 26 characters of Crockford base32
//! (the ULID layout), which sorts like the number.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ModelError, Timestamp};

mod derive;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LOW_BITS: u32 = 80;
const LOW_MASK: u128 = (1u128 << LOW_BITS) - 1;

/// A typed 128-bit id. `T` is only a marker so an [`EventId`] is never passed as an
/// [`IncidentId`].
pub struct Id<T> {
    value: u128,
    kind: PhantomData<fn() -> T>,
}

/// Marker for events.
#[derive(Debug)]
pub enum EventMarker {}
/// Marker for alerts.
#[derive(Debug)]
pub enum AlertMarker {}
/// Marker for incidents.
#[derive(Debug)]
pub enum IncidentMarker {}

/// Marker for bulletins (安全通报).
#[derive(Debug)]
pub enum BulletinMarker {}
/// Marker for a step on a bulletin (签收, 反馈, 整改, 复核), and for lessons.
#[derive(Debug)]
pub enum StepMarker {}
/// Marker for 重保 periods.
#[derive(Debug)]
pub enum PeriodMarker {}
/// Marker for duty shifts.
#[derive(Debug)]
pub enum ShiftMarker {}
/// Marker for shift handovers.
#[derive(Debug)]
pub enum HandoverMarker {}
/// Marker for drills (演练).
#[derive(Debug)]
pub enum DrillMarker {}

pub type EventId = Id<EventMarker>;
pub type BulletinId = Id<BulletinMarker>;
pub type StepId = Id<StepMarker>;
pub type PeriodId = Id<PeriodMarker>;
pub type ShiftId = Id<ShiftMarker>;
pub type HandoverId = Id<HandoverMarker>;
pub type DrillId = Id<DrillMarker>;
pub type AlertId = Id<AlertMarker>;
pub type IncidentId = Id<IncidentMarker>;

fn process_seed() -> u128 {
    static SEED: OnceLock<u128> = OnceLock::new();
    *SEED.get_or_init(|| {
        let mut a = RandomState::new().build_hasher();
        a.write_u64(std::process::id() as u64);
        let mut b = RandomState::new().build_hasher();
        b.write_u128(Timestamp::now().0 as u128);
        // Leave headroom so the counter never carries into the time bits.
        (((a.finish() as u128) << 64) | b.finish() as u128) & (LOW_MASK >> 2)
    })
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl<T> Id<T> {
    /// A new id for something that happened at `at` (milliseconds are kept).
    pub fn new(at: Timestamp) -> Self {
        let ms = at.millis().clamp(0, (1i64 << 48) - 1) as u64;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) as u128;
        let low = (process_seed() + n) & LOW_MASK;
        Id::from_u128(((ms as u128) << LOW_BITS) | low)
    }

    pub fn now() -> Self {
        Self::new(Timestamp::now())
    }

    pub const fn from_u128(value: u128) -> Self {
        Id {
            value,
            kind: PhantomData,
        }
    }

    pub const fn as_u128(self) -> u128 {
        self.value
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.value.to_be_bytes()
    }

    pub fn from_bytes(b: [u8; 16]) -> Self {
        Id::from_u128(u128::from_be_bytes(b))
    }

    /// The millisecond the id was made for.
    pub fn timestamp(self) -> Timestamp {
        Timestamp::from_millis((self.value >> LOW_BITS) as i64)
    }

    /// The smallest id of millisecond `at`: a bound for range scans.
    pub fn min_at(at: Timestamp) -> Self {
        Id::from_u128((at.millis().max(0) as u128) << LOW_BITS)
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, o: &Self) -> bool {
        self.value == o.value
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.value.cmp(&o.value)
    }
}
impl<T> std::hash::Hash for Id<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.value.hash(h)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 26];
        let mut v = self.value;
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(v & 31) as usize];
            v >>= 5;
        }
        // The alphabet is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> FromStr for Id<T> {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let err = |reason| ModelError::Id {
            input: s.chars().take(64).collect(),
            reason,
        };
        if s.len() != 26 {
            return Err(err("expected 26 characters of Crockford base32"));
        }
        let mut v: u128 = 0;
        for (i, c) in s.bytes().enumerate() {
            let d = match c.to_ascii_uppercase() {
                c @ b'0'..=b'9' => c - b'0',
                b'O' => 0,
                b'I' | b'L' => 1,
                c => match ALPHABET.iter().position(|&a| a == c) {
                    Some(p) => p as u8,
                    None => return Err(err("character outside Crockford base32")),
                },
            };
            if i == 0 && d > 7 {
                return Err(err("value exceeds 128 bits"));
            }
            v = (v << 5) | d as u128;
        }
        Ok(Id::from_u128(v))
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_round_trip() {
        let t = Timestamp::now();
        let a = EventId::new(t);
        let b = EventId::new(t);
        assert!(b > a);
        assert_eq!(a.to_string().parse::<EventId>().unwrap(), a);
        assert_eq!(a.timestamp().millis(), t.millis());
        assert!(a.to_string() < b.to_string(), "text sorts like the number");
    }

    #[test]
    fn id_is_ordered_by_time_first() {
        let early = EventId::new(Timestamp::from_secs(1_000));
        let late = EventId::new(Timestamp::from_secs(2_000));
        // Made after `late`, but ordered by its time bits.
        let early_again = EventId::new(Timestamp::from_secs(1_000));
        assert!(late > early);
        assert!(late > early_again);
        assert!(EventId::min_at(Timestamp::from_secs(2_000)) <= late);
    }

    #[test]
    fn bad_ids_are_refused_with_reason() {
        assert!(
            "short"
                .parse::<EventId>()
                .unwrap_err()
                .to_string()
                .contains("26")
        );
        assert!("8ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<EventId>().is_err());
        assert!("0000000000000000000000000U".parse::<EventId>().is_err());
    }
}
