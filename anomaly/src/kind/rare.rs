//! The `rare` kind: a value whose share within its group is below a threshold.
//!
//! Per group, counts per value in a Space-Saving table of at most `max-entries` counters
//! (values as 64-bit hashes, 12 bytes a counter): a value not in a full table takes the place
//! of the smallest counter (counted in `entries_evicted`) and inherits its count, so counts
//! are over-estimates and a value judged rare is rare. Counts decay: every `half-life`
//! (default 7 days) of event time all counts and the total halve, so old habits fade.
//!
//! A value seen when the group has `min-total` observations (default 100) and whose share,
//! counting this one, is under `threshold` (default 0.01) is a finding. `min-count` (default
//! 0) is how many earlier observations a value needs before it can be rare: 0 judges a value
//! never seen too; 1 leaves never-seen values to a `first_seen` detector, so a group that
//! often meets one-off values (a user logging on to a random host now and then) is judged on
//! the values that come back.
//!
//! Score (0–100): 50 plus 50 × how far under the threshold the share is (a value never seen
//! before in a group of thousands scores close to 100).

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::{Cx, Finding, Kind, Observation};
use crate::document::{check_keys, number_key, timespan_key};
use crate::explain::Reason;
use crate::kind::first_seen::{Entries, value_hash};

/// Parameters of a `rare` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// A value under this share of the group's observations is rare (0 to 1).
    pub threshold: f64,
    /// Observations a group needs before it judges.
    pub min_total: u32,
    /// Earlier observations a value needs before it can be rare.
    pub min_count: u32,
    /// Counts halve every this many seconds of event time.
    pub half_life_secs: i64,
    /// Counters per group (set by the document from `max-entries`).
    pub max_entries: usize,
}

const OWN_KEYS: &[&str] = &["threshold", "min-total", "min-count", "half-life"];

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    last_seen: Timestamp,
    since: Timestamp,
    /// When counts last halved.
    decayed: Timestamp,
    /// Observations counted (decayed as the counts are).
    total: u32,
    /// Value hashes with their counts.
    counts: Entries,
}

impl State {
    fn decay(&mut self, p: &Params, now: Timestamp) {
        let periods = (now.secs() - self.decayed.secs()) / p.half_life_secs.max(1);
        if periods <= 0 {
            return;
        }
        let shift = periods.min(31) as u32;
        self.total >>= shift;
        self.counts.update(|c| Some(c >> shift).filter(|c| *c > 0));
        self.decayed = self.decayed.add_secs(periods * p.half_life_secs.max(1));
    }

    /// Count `h` once; its count after.
    fn count(&mut self, p: &Params, h: u64, cx: &mut Cx<'_>) -> u32 {
        match self.counts.find(h) {
            Ok(i) => {
                let c = self.counts.number(i).saturating_add(1);
                self.counts.set_number(i, c);
                c
            }
            Err(mut at) => {
                let mut inherited = 0;
                if self.counts.len() >= p.max_entries.max(1) {
                    let (min_i, min_c) = self.counts.min().unwrap_or((0, 0));
                    self.counts.remove(min_i);
                    cx.counters.entries_evicted += 1;
                    inherited = min_c;
                    at = self.counts.find(h).unwrap_or_else(|e| e);
                }
                self.counts.insert(at, h, inherited + 1);
                inherited + 1
            }
        }
    }

    /// Load the counts into the cache ahead of an observation.
    #[inline]
    pub(crate) fn touch(&self) {
        self.counts.touch();
    }

    /// The observations counted (decayed).
    pub fn total(&self) -> u32 {
        self.total
    }
}

impl Kind for State {
    type Params = Params;

    fn parse(map: &Mapping) -> Result<Params, String> {
        check_keys(map, OWN_KEYS)?;
        let threshold = number_key(map, "threshold")?.unwrap_or(0.01);
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(format!(
                "threshold: expected a share between 0 and 1, got {threshold}"
            ));
        }
        let min_total = number_key(map, "min-total")?.unwrap_or(100.0);
        if !(1.0..=f64::from(u32::MAX)).contains(&min_total) || min_total.fract() != 0.0 {
            return Err(format!(
                "min-total: expected a whole number of at least 1, got {min_total}"
            ));
        }
        let min_count = number_key(map, "min-count")?.unwrap_or(0.0);
        if !(0.0..=f64::from(u32::MAX)).contains(&min_count) || min_count.fract() != 0.0 {
            return Err(format!(
                "min-count: expected a whole number of at least 0, got {min_count}"
            ));
        }
        Ok(Params {
            threshold,
            min_total: min_total as u32,
            min_count: min_count as u32,
            half_life_secs: timespan_key(map, "half-life")?.unwrap_or(7 * 86_400),
            max_entries: 1_000,
        })
    }

    fn new(_params: &Params, first: &Observation<'_>) -> Self {
        State {
            last_seen: first.time,
            since: first.time,
            decayed: first.time,
            total: 0,
            counts: Entries::default(),
        }
    }

    fn observe(&mut self, p: &Params, obs: &Observation<'_>, cx: &mut Cx<'_>) -> Option<Finding> {
        self.last_seen = self.last_seen.max(obs.time);
        let value = obs.value?;
        self.decay(p, obs.time);
        let before = self.total;
        self.total = self.total.saturating_add(1);
        let count = self.count(p, value_hash(value), cx);
        let share = f64::from(count) / f64::from(self.total);
        if cx.learning || before < p.min_total || share >= p.threshold || count <= p.min_count {
            return None;
        }
        cx.counters.findings += 1;
        let baseline = (obs.time.secs() - self.since.secs()).max(0);
        let score = 50.0 + 50.0 * (1.0 - share / p.threshold);
        Some(Finding {
            time: obs.time,
            reason: Reason::Rare {
                value: value.to_owned(),
                count: u64::from(count),
                total: u64::from(self.total),
                threshold: p.threshold,
            },
            score: (score.clamp(0.0, 100.0) * 10.0).round() / 10.0,
            observed: format!("{value}: {count} of {}", self.total),
            observed_value: Some(share),
            expected: format!("at least {}% of the group's events", p.threshold * 100.0),
            expected_low: Some(p.threshold),
            expected_high: None,
            baseline_secs: baseline,
        })
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::kind::Counters;

    fn params(max_entries: usize) -> Params {
        let mut map = Mapping::new();
        map.insert("threshold".into(), 0.05.into());
        map.insert("min-total".into(), 20.into());
        map.insert("half-life".into(), "1d".into());
        let mut p = State::parse(&map).expect("params");
        p.max_entries = max_entries;
        p
    }

    fn feed(s: &mut State, p: &Params, c: &mut Counters, secs: i64, v: &str) -> Option<Finding> {
        let cal = Calendar::new(0);
        let time = Timestamp::from_secs(secs);
        let obs = Observation {
            time,
            local: cal.local(time),
            value: Some(v),
            number: None,
        };
        let mut cx = Cx {
            calendar: &cal,
            learning: false,
            detector_age_secs: secs,
            counters: c,
        };
        s.observe(p, &obs, &mut cx)
    }

    fn start(p: &Params) -> State {
        let cal = Calendar::new(0);
        let obs = Observation {
            time: Timestamp::from_secs(0),
            local: cal.local(Timestamp::from_secs(0)),
            value: None,
            number: None,
        };
        State::new(p, &obs)
    }

    #[test]
    fn a_value_under_the_threshold_is_rare_once_the_group_has_enough() {
        let (p, mut c) = (params(100), Counters::default());
        let mut s = start(&p);
        // Too few observations to judge: nothing, even for a value seen once.
        assert!(feed(&mut s, &p, &mut c, 0, "odd").is_none());
        for i in 0..30 {
            let v = if i % 2 == 0 { "sshd" } else { "cron" };
            assert!(feed(&mut s, &p, &mut c, i, v).is_none());
        }
        let f = feed(&mut s, &p, &mut c, 40, "nc").expect("rare");
        match f.reason {
            Reason::Rare { count, total, .. } => assert_eq!((count, total), (1, 32)),
            other => panic!("{other:?}"),
        }
        assert!(f.score > 50.0 && f.score <= 100.0);
        // A common value is not rare.
        assert!(feed(&mut s, &p, &mut c, 41, "sshd").is_none());
        assert_eq!(c.findings, 1);
    }

    #[test]
    fn min_count_leaves_never_seen_values_to_first_seen() {
        let mut p = params(100);
        p.min_count = 1;
        let mut c = Counters::default();
        let mut s = start(&p);
        for i in 0..60 {
            let v = if i % 2 == 0 { "sshd" } else { "cron" };
            assert!(feed(&mut s, &p, &mut c, i, v).is_none());
        }
        // A value never seen is not judged; when it comes back, it is rare.
        assert!(feed(&mut s, &p, &mut c, 70, "nc").is_none());
        let f = feed(&mut s, &p, &mut c, 71, "nc").expect("rare the second time");
        match f.reason {
            Reason::Rare { count, .. } => assert_eq!(count, 2),
            other => panic!("{other:?}"),
        }
        let mut map = Mapping::new();
        map.insert("min-count".into(), (-1).into());
        assert!(State::parse(&map).expect_err("bad").contains("min-count"));
    }

    #[test]
    fn counts_are_bounded_and_decay() {
        let (p, mut c) = (params(3), Counters::default());
        let mut s = start(&p);
        for i in 0..10 {
            for v in ["a", "b", "c", "d"] {
                feed(&mut s, &p, &mut c, i, v);
            }
        }
        assert!(s.counts.len() <= 3);
        assert!(c.entries_evicted > 0);
        assert_eq!(s.total(), 40);
        // Two half-lives later every count has been halved twice.
        feed(&mut s, &p, &mut c, 2 * 86_400 + 5, "a");
        assert_eq!(s.total(), 11);
        assert!(s.heap_bytes() >= 3 * 12);
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut map = Mapping::new();
        map.insert("threshold".into(), 2.into());
        assert!(State::parse(&map).expect_err("bad").contains("threshold"));
        let mut map = Mapping::new();
        map.insert("min-totl".into(), 2.into());
        assert!(State::parse(&map).expect_err("bad").contains("min-totl"));
    }
}
