//! How long an indicator matches and how its confidence decays.
//!
//! **Window.** An indicator matches from its `valid_from` (from any time when it has none) until
//! its end, exclusive. Its end is its `valid_until`; when it has none, its start plus the feed's
//! default lifetime ([`FeedPolicy::lifetime`]), where its start is its `valid_from`, or, when it
//! has none, the time its feed was loaded into the set; with no lifetime either, it never
//! expires.
//!
//! **Decay.** The confidence an indicator matches with at time `t`, from the confidence `c0` its
//! source gave, is computed at match time ([`Decay`]); a decayed confidence never goes below the
//! floor `f`, and an indicator whose source gave less than the floor keeps what it was given:
//!
//! - `none`: `c(t) = c0`.
//! - `linear`: from `c0` at the start down to `f` at the end,
//!   `c(t) = f + (c0 - f) * (end - t) / (end - start)`; no decay when the indicator has no end.
//! - `half-life` of `h` seconds: `c(t) = max(f, c0 * 0.5^((t - start) / h))`.
//!
//! Results are rounded to the nearest whole number. A high-severity indicator so alerts at lower
//! severity as it ages ([`crate::alert::severity_for`]) and stops paging before it expires.

use std::time::Duration;

use onewall_model::Timestamp;
use serde::Deserialize;

/// What a feed says of the lifetime of its indicators.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeedPolicy {
    /// How long an indicator without `valid_until` matches, from its start (see the module's
    /// doc); `None`: until its source withdraws it.
    pub lifetime: Option<Duration>,
    pub decay: Decay,
}

impl FeedPolicy {
    /// A policy with this lifetime and no decay.
    pub fn lifetime(lifetime: Duration) -> FeedPolicy {
        FeedPolicy {
            lifetime: Some(lifetime),
            decay: Decay::None,
        }
    }
}

/// How confidence decays over an indicator's life (formulas in the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(tag = "function", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Decay {
    /// The source's confidence, unchanged.
    #[default]
    None,
    /// Straight down from the source's confidence at the start to `floor` at the end.
    Linear {
        #[serde(default)]
        floor: u8,
    },
    /// Halved every `half_life_secs` from the start, down to `floor`.
    HalfLife {
        half_life_secs: u64,
        #[serde(default)]
        floor: u8,
    },
}

/// `None` for an absent `valid_from` as stored.
pub(crate) const NO_FROM: i64 = i64::MIN;
/// `None` for an absent `valid_until` as stored.
pub(crate) const NO_UNTIL: i64 = i64::MAX;

/// The times one indicator's lifetime depends on, as stored (nanoseconds; [`NO_FROM`] and
/// [`NO_UNTIL`] for absent ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub from: i64,
    pub until: i64,
}

impl Span {
    pub fn new(from: Option<Timestamp>, until: Option<Timestamp>) -> Span {
        Span {
            from: from.map_or(NO_FROM, |t| t.0),
            until: until.map_or(NO_UNTIL, |t| t.0),
        }
    }

    /// The start decay counts from: `valid_from`, else the load time.
    fn start(self, loaded: Timestamp) -> i64 {
        if self.from == NO_FROM {
            loaded.0
        } else {
            self.from
        }
    }

    /// The end (exclusive): `valid_until`, else start + lifetime, else never.
    fn end(self, loaded: Timestamp, lifetime: Option<Duration>) -> i64 {
        if self.until != NO_UNTIL {
            return self.until;
        }
        match lifetime {
            Some(l) => self
                .start(loaded)
                .saturating_add(i64::try_from(l.as_nanos()).unwrap_or(i64::MAX)),
            None => NO_UNTIL,
        }
    }
}

/// Where an indicator stands at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Before its `valid_from`.
    NotYet,
    /// Matching, at this confidence.
    Active(u8),
    /// Past its end.
    Expired,
}

/// Where an indicator of source confidence `c0` and times `span`, in a feed loaded at
/// `loaded` under `policy`, stands at `now`.
pub(crate) fn standing(
    c0: u8,
    span: Span,
    loaded: Timestamp,
    policy: &FeedPolicy,
    now: Timestamp,
) -> Standing {
    let t = now.0;
    if span.from != NO_FROM && t < span.from {
        return Standing::NotYet;
    }
    let end = span.end(loaded, policy.lifetime);
    if t >= end {
        return Standing::Expired;
    }
    let start = span.start(loaded);
    Standing::Active(decayed(c0, start, end, t, policy.decay))
}

/// The decayed confidence (see the module's doc) at `t` of `c0` over `[start, end)`.
pub fn decayed(c0: u8, start: i64, end: i64, t: i64, decay: Decay) -> u8 {
    let (floor, fraction) = match decay {
        Decay::None => return c0,
        Decay::Linear { floor } => {
            if end == NO_UNTIL || end <= start {
                return c0;
            }
            let left = (end.saturating_sub(t)) as f64 / (end.saturating_sub(start)) as f64;
            (floor, left.clamp(0.0, 1.0))
        }
        Decay::HalfLife {
            half_life_secs,
            floor,
        } => {
            if half_life_secs == 0 {
                return c0.min(floor);
            }
            let elapsed = (t.saturating_sub(start)).max(0) as f64 / 1e9;
            (floor, 0.5f64.powf(elapsed / half_life_secs as f64))
        }
    };
    if c0 <= floor {
        return c0;
    }
    let c = match decay {
        Decay::Linear { .. } => f64::from(floor) + f64::from(c0 - floor) * fraction,
        _ => (f64::from(c0) * fraction).max(f64::from(floor)),
    };
    c.round().clamp(0.0, 100.0) as u8
}

/// How many indicators of a set stand where, at a time (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifetimeCounts {
    /// Matching now.
    pub active: usize,
    /// Matching now at a confidence below their source's.
    pub decayed: usize,
    /// Past their end: no longer matching.
    pub expired: usize,
    /// Not matching yet (`valid_from` ahead).
    pub pending: usize,
}

impl LifetimeCounts {
    pub(crate) fn add(&mut self, c0: u8, s: Standing) {
        match s {
            Standing::NotYet => self.pending += 1,
            Standing::Expired => self.expired += 1,
            Standing::Active(c) => {
                self.active += 1;
                if c < c0 {
                    self.decayed += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = Timestamp::NANOS_PER_DAY;

    fn at(days: i64) -> Timestamp {
        Timestamp(1_700_000_000 * Timestamp::NANOS_PER_SEC + days * DAY)
    }

    #[test]
    fn valid_until_ends_matching_and_valid_from_starts_it() {
        let span = Span::new(Some(at(1)), Some(at(10)));
        let p = FeedPolicy::default();
        assert_eq!(standing(80, span, at(0), &p, at(0)), Standing::NotYet);
        assert_eq!(standing(80, span, at(0), &p, at(1)), Standing::Active(80));
        assert_eq!(
            standing(80, span, at(0), &p, Timestamp(at(10).0 - 1)),
            Standing::Active(80)
        );
        assert_eq!(standing(80, span, at(0), &p, at(10)), Standing::Expired);
    }

    #[test]
    fn the_feed_lifetime_counts_from_valid_from_or_the_load_time() {
        let p = FeedPolicy::lifetime(Duration::from_secs(7 * 86_400));
        let from = Span::new(Some(at(2)), None);
        assert_eq!(standing(50, from, at(0), &p, at(8)), Standing::Active(50));
        assert_eq!(standing(50, from, at(0), &p, at(9)), Standing::Expired);
        let none = Span::new(None, None);
        assert_eq!(standing(50, none, at(5), &p, at(11)), Standing::Active(50));
        assert_eq!(standing(50, none, at(5), &p, at(12)), Standing::Expired);
        // Without valid_from an indicator matches events from before its load (retro-hunts).
        assert_eq!(standing(50, none, at(5), &p, at(-3)), Standing::Active(50));
        // An explicit valid_until wins over the lifetime.
        let until = Span::new(None, Some(at(30)));
        assert_eq!(standing(50, until, at(5), &p, at(20)), Standing::Active(50));
        // No lifetime, no valid_until: never expires.
        let forever = FeedPolicy::default();
        assert_eq!(
            standing(50, none, at(0), &forever, at(10_000)),
            Standing::Active(50)
        );
    }

    #[test]
    fn linear_decay_goes_from_the_source_confidence_to_the_floor_over_the_lifetime() {
        let p = FeedPolicy {
            lifetime: Some(Duration::from_secs(10 * 86_400)),
            decay: Decay::Linear { floor: 20 },
        };
        let span = Span::new(Some(at(0)), None);
        let c = |d: i64| standing(100, span, at(0), &p, at(d));
        assert_eq!(c(0), Standing::Active(100));
        assert_eq!(c(5), Standing::Active(60)); // 20 + 80 * 5/10
        assert_eq!(c(9), Standing::Active(28)); // 20 + 80 * 1/10
        assert_eq!(c(10), Standing::Expired);
        // A source confidence under the floor is kept.
        assert_eq!(standing(10, span, at(0), &p, at(5)), Standing::Active(10));
    }

    #[test]
    fn half_life_decay_halves_per_period_down_to_the_floor() {
        let p = FeedPolicy {
            lifetime: None,
            decay: Decay::HalfLife {
                half_life_secs: 86_400,
                floor: 10,
            },
        };
        let span = Span::new(Some(at(0)), None);
        let c = |d: i64| standing(80, span, at(0), &p, at(d));
        assert_eq!(c(0), Standing::Active(80));
        assert_eq!(c(1), Standing::Active(40));
        assert_eq!(c(2), Standing::Active(20));
        assert_eq!(c(3), Standing::Active(10));
        assert_eq!(c(30), Standing::Active(10), "never below the floor");
    }

    #[test]
    fn decay_reads_from_configuration() {
        let d: Decay =
            serde_json::from_str(r#"{"function":"half-life","half_life_secs":3600,"floor":5}"#)
                .expect("decay");
        assert_eq!(
            d,
            Decay::HalfLife {
                half_life_secs: 3600,
                floor: 5
            }
        );
        let l: Decay = serde_json::from_str(r#"{"function":"linear"}"#).expect("linear");
        assert_eq!(l, Decay::Linear { floor: 0 });
        assert!(serde_json::from_str::<Decay>(r#"{"function":"cubic"}"#).is_err());
    }

    #[test]
    fn counts_say_what_is_active_decayed_expired_and_pending() {
        let mut n = LifetimeCounts::default();
        n.add(80, Standing::Active(80));
        n.add(80, Standing::Active(60));
        n.add(80, Standing::Expired);
        n.add(80, Standing::NotYet);
        assert_eq!(
            n,
            LifetimeCounts {
                active: 2,
                decayed: 1,
                expired: 1,
                pending: 1
            }
        );
    }
}
