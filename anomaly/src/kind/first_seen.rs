//! The `first_seen` kind: a value (or tuple) new for its group.
//!
//! Per group, the values seen are kept as 64-bit hashes with the day each was last seen (12
//! bytes a value, no text): a value unseen for `history` (default 30 days) is forgotten, and
//! past `max-entries` values the least recently seen one makes room (counted in
//! `entries_evicted`). Once the group holds `group-learning` of history (default: the
//! detector's `learning`), a value not in its set is a finding. A group that holds no value
//! (every one forgotten) learns its next value quietly; an event without the field is not a
//! value: it only keeps the group alive.
//!
//! Parameters (beside the common keys): `history` (timespan), `group-learning` (timespan).
//!
//! Score (0–100): 40, plus up to 40 for how much of `history` the group's baseline covers,
//! plus up to 20 for how settled the group is (20 when it knew one value, falling to 0 at 50
//! values): a new network for a user who always came from one, after a month, scores 100.

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::{Cx, Finding, Kind, Observation};
use crate::document::{check_keys, timespan_key};
use crate::explain::Reason;

/// Parameters of a `first_seen` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// How long a value is remembered after it was last seen, in seconds.
    pub history_secs: i64,
    /// History a group needs before a new value is a finding; `None`: the detector's learning.
    pub group_learning_secs: Option<i64>,
    /// The detector's learning period (set by the document).
    pub learning_secs: i64,
    /// Values kept per group (set by the document from `max-entries`).
    pub max_entries: usize,
}

const OWN_KEYS: &[&str] = &["history", "group-learning"];

/// Value hashes with one 32-bit number each (a day, a count), sorted by hash, in one
/// allocation of 12 bytes an entry (a hash's halves and the number), so a lookup touches one
/// block of memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Entries(Vec<[u32; 3]>);

impl Entries {
    fn hash_of(e: &[u32; 3]) -> u64 {
        (u64::from(e[0]) << 32) | u64::from(e[1])
    }

    /// `Ok(index)` of `h`, or `Err(where it would go)`.
    #[inline]
    pub(crate) fn find(&self, h: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&h, Self::hash_of)
    }

    pub(crate) fn number(&self, i: usize) -> u32 {
        self.0[i][2]
    }

    pub(crate) fn set_number(&mut self, i: usize, n: u32) {
        self.0[i][2] = n;
    }

    pub(crate) fn insert(&mut self, at: usize, h: u64, n: u32) {
        self.0.insert(at, [(h >> 32) as u32, h as u32, n]);
    }

    pub(crate) fn remove(&mut self, i: usize) {
        self.0.remove(i);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The index and number of the entry with the smallest number.
    pub(crate) fn min(&self) -> Option<(usize, u32)> {
        self.0
            .iter()
            .map(|e| e[2])
            .enumerate()
            .min_by_key(|(_, n)| *n)
    }

    /// Replace each number by `f(number)`, dropping the entries it maps to `None`.
    pub(crate) fn update(&mut self, mut f: impl FnMut(u32) -> Option<u32>) {
        self.0.retain_mut(|e| match f(e[2]) {
            Some(n) => {
                e[2] = n;
                true
            }
            None => false,
        });
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * 12
    }

    /// Load the entries into the cache (see `set`'s batch loop).
    #[inline]
    pub(crate) fn touch(&self) {
        if let Some(e) = self.0.get(self.0.len() / 2) {
            std::hint::black_box(e[0]);
        }
    }
}

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    last_seen: Timestamp,
    /// The group's first observation.
    since: Timestamp,
    /// Hashes of the values seen, each with the day it was last seen (days since 1970-01-01).
    seen: Entries,
    /// The last day values were forgotten on.
    swept: u32,
}

/// A value's hash, stable across builds and restarts (it is kept in snapshots).
pub fn value_hash(value: &str) -> u64 {
    crate::set::stable_hash(value.as_bytes())
}

fn day_of(t: Timestamp) -> u32 {
    u32::try_from(t.secs().div_euclid(86_400)).unwrap_or(0)
}

impl State {
    /// Forget values unseen for longer than `history`.
    fn sweep(&mut self, p: &Params, today: u32) {
        let keep_from = today.saturating_sub(u32::try_from(p.history_secs / 86_400).unwrap_or(0));
        self.seen.update(|day| (day >= keep_from).then_some(day));
        self.swept = today;
    }

    /// Make room for one value: drop the least recently seen.
    fn evict_one(&mut self, cx: &mut Cx<'_>) {
        if let Some((i, _)) = self.seen.min() {
            self.seen.remove(i);
            cx.counters.entries_evicted += 1;
        }
    }

    /// Load the values into the cache ahead of an observation.
    #[inline]
    pub(crate) fn touch(&self) {
        self.seen.touch();
    }

    /// How many values the group knows.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.len() == 0
    }
}

impl Kind for State {
    type Params = Params;

    fn parse(map: &Mapping) -> Result<Params, String> {
        check_keys(map, OWN_KEYS)?;
        Ok(Params {
            history_secs: timespan_key(map, "history")?.unwrap_or(30 * 86_400),
            group_learning_secs: timespan_key(map, "group-learning")?,
            learning_secs: 7 * 86_400,
            max_entries: 1_000,
        })
    }

    fn new(_params: &Params, first: &Observation<'_>) -> Self {
        State {
            last_seen: first.time,
            since: first.time,
            seen: Entries::default(),
            swept: day_of(first.time),
        }
    }

    fn observe(&mut self, p: &Params, obs: &Observation<'_>, cx: &mut Cx<'_>) -> Option<Finding> {
        self.last_seen = self.last_seen.max(obs.time);
        let value = obs.value?;
        let today = day_of(obs.time);
        if today > self.swept {
            self.sweep(p, today);
        }
        let h = value_hash(value);
        match self.seen.find(h) {
            Ok(i) => {
                if self.seen.number(i) < today {
                    self.seen.set_number(i, today);
                }
                None
            }
            Err(_) => {
                let known = self.seen.len();
                let age = obs.time.secs() - self.since.secs();
                let needed = p.group_learning_secs.unwrap_or(p.learning_secs);
                if known >= p.max_entries.max(1) {
                    self.evict_one(cx);
                }
                let at = self.seen.find(h).unwrap_or_else(|e| e);
                self.seen.insert(at, h, today);
                if cx.learning || age < needed || known == 0 {
                    return None;
                }
                cx.counters.findings += 1;
                Some(finding(p, value, obs.time, age, known))
            }
        }
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        self.seen.heap_bytes()
    }
}

fn finding(p: &Params, value: &str, time: Timestamp, age: i64, known: usize) -> Finding {
    let baseline = age.min(p.history_secs).max(0);
    let covered = baseline as f64 / p.history_secs.max(1) as f64;
    let settled = 1.0 - ((known as f64 - 1.0) / 49.0).clamp(0.0, 1.0);
    let score = (40.0 + 40.0 * covered.min(1.0) + 20.0 * settled).clamp(0.0, 100.0);
    let expected = if known == 1 {
        "the one value seen before".to_owned()
    } else {
        format!("one of {known} values seen before")
    };
    Finding {
        time,
        reason: Reason::FirstSeen {
            value: value.to_owned(),
            history_secs: baseline,
        },
        score: (score * 10.0).round() / 10.0,
        observed: value.to_owned(),
        observed_value: None,
        expected,
        expected_low: None,
        expected_high: None,
        baseline_secs: baseline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::kind::Counters;

    const DAY: i64 = 86_400;

    fn params() -> Params {
        let mut map = Mapping::new();
        map.insert("history".into(), "30d".into());
        let mut p = State::parse(&map).expect("params");
        p.learning_secs = 7 * DAY;
        p.max_entries = 4;
        p
    }

    fn run(
        s: &mut State,
        p: &Params,
        cal: &Calendar,
        c: &mut Counters,
        secs: i64,
        v: &str,
    ) -> Option<Finding> {
        let time = Timestamp::from_secs(secs);
        let obs = Observation {
            time,
            local: cal.local(time),
            value: Some(v),
            number: None,
        };
        let mut cx = Cx {
            calendar: cal,
            learning: false,
            detector_age_secs: secs,
            counters: c,
        };
        s.observe(p, &obs, &mut cx)
    }

    #[test]
    fn a_new_value_after_the_group_learnt_is_a_finding_once() {
        let (p, cal, mut c) = (params(), Calendar::new(0), Counters::default());
        let first = Observation {
            time: Timestamp::from_secs(0),
            local: cal.local(Timestamp::from_secs(0)),
            value: Some("10.0.0.0/24"),
            number: None,
        };
        let mut s = State::new(&p, &first);
        assert!(run(&mut s, &p, &cal, &mut c, 0, "10.0.0.0/24").is_none());
        // Within the group's learning: new values are learnt quietly.
        assert!(run(&mut s, &p, &cal, &mut c, 3 * DAY, "10.0.1.0/24").is_none());
        assert!(run(&mut s, &p, &cal, &mut c, 8 * DAY, "10.0.0.0/24").is_none());
        let f = run(&mut s, &p, &cal, &mut c, 8 * DAY, "203.0.113.0/24").expect("finding");
        assert_eq!(
            f.reason,
            Reason::FirstSeen {
                value: "203.0.113.0/24".into(),
                history_secs: 8 * DAY
            }
        );
        assert_eq!(f.expected, "one of 2 values seen before");
        assert!(f.score > 60.0 && f.score <= 100.0, "{}", f.score);
        assert!(run(&mut s, &p, &cal, &mut c, 8 * DAY + 60, "203.0.113.0/24").is_none());
        assert_eq!(c.findings, 1);
    }

    #[test]
    fn values_are_forgotten_after_history_and_bounded_by_max_entries() {
        let (p, cal, mut c) = (params(), Calendar::new(0), Counters::default());
        let first = Observation {
            time: Timestamp::from_secs(0),
            local: cal.local(Timestamp::from_secs(0)),
            value: Some("a"),
            number: None,
        };
        let mut s = State::new(&p, &first);
        for v in ["a", "b", "c", "d"] {
            run(&mut s, &p, &cal, &mut c, 0, v);
        }
        assert_eq!(s.len(), 4);
        // "a" is seen daily; the rest are not seen again and fall out after 30 days.
        for d in 1..40 {
            assert!(run(&mut s, &p, &cal, &mut c, d * DAY, "a").is_none());
        }
        assert_eq!(s.len(), 1);
        assert!(run(&mut s, &p, &cal, &mut c, 40 * DAY, "b").is_some());
        for v in ["x", "y"] {
            run(&mut s, &p, &cal, &mut c, 41 * DAY, v);
        }
        assert_eq!(s.len(), 4);
        run(&mut s, &p, &cal, &mut c, 42 * DAY, "w");
        assert_eq!(s.len(), 4);
        assert_eq!(c.entries_evicted, 1);
        assert!(s.heap_bytes() >= 4 * 12);
    }

    #[test]
    fn unknown_parameters_are_named() {
        let mut map = Mapping::new();
        map.insert("histroy".into(), "30d".into());
        let e = State::parse(&map).expect_err("unknown key");
        assert!(e.contains("histroy"), "{e}");
        let mut map = Mapping::new();
        map.insert("history".into(), "thirty".into());
        let e = State::parse(&map).expect_err("bad timespan");
        assert!(e.contains("history"), "{e}");
    }
}
