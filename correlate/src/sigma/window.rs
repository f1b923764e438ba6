//! One group's sliding window: its entries in event-time order, and the evaluation of a
//! correlation's condition over a window.

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use onewall_model::{AlertId, EventId};
use onewall_rules::correlation::{CorrelationType, ResolvedCorrelation};

/// One alert as the window keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Event time, nanoseconds.
    pub t: i64,
    /// Which of the correlation's `rules` it matched (index).
    pub target: u16,
    /// The aggregated value: a hash of the text for `value_count`, `f64` bits for the numeric
    /// types, 0 otherwise.
    pub v: u64,
    pub alert: AlertId,
    pub event: Option<EventId>,
}

/// A group's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Group {
    /// Entries sorted by `t`.
    pub entries: VecDeque<Entry>,
    /// The group-by values, for the alert it raises.
    pub values: Vec<String>,
    /// No firing before this event time (nanoseconds) after the group fired.
    pub quiet_until: i64,
    /// Touch counter, matched against the eviction queue.
    pub seq: u64,
}

/// What a window holds when the condition is met.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fired {
    /// Window end (event time, nanoseconds).
    pub end: i64,
    /// The aggregated figure the condition held for.
    pub value: f64,
    /// Indices (into `entries`) of the window's entries.
    pub range: std::ops::Range<usize>,
}

impl Group {
    /// Insert in time order; returns the index.
    pub fn insert(&mut self, e: Entry) -> usize {
        let at = self.entries.partition_point(|x| x.t <= e.t);
        self.entries.insert(at, e);
        at
    }

    /// Drop entries older than `horizon`, and the oldest beyond `max` entries.
    pub fn trim(&mut self, horizon: i64, max: usize) {
        while self.entries.front().is_some_and(|e| e.t < horizon) {
            self.entries.pop_front();
        }
        while self.entries.len() > max {
            self.entries.pop_front();
        }
    }

    /// Evaluate every window `[end - span, end]` whose end is an entry at or after index `from`
    /// and within `span` of it; the first that satisfies the condition is returned.
    pub fn evaluate(&self, c: &ResolvedCorrelation, from: usize, span: i64) -> Option<Fired> {
        let start_t = self.entries.get(from)?.t;
        let mut end_idx = from;
        while let Some(end) = self.entries.get(end_idx) {
            if end.t > start_t + span {
                break;
            }
            // Include every entry at the same instant as `end`.
            let mut last = end_idx;
            while self.entries.get(last + 1).is_some_and(|x| x.t == end.t) {
                last += 1;
            }
            let first = self.entries.partition_point(|x| x.t < end.t - span);
            let range = first..last + 1;
            if let Some(value) = measure(c, &self.entries, range.clone())
                && c.rule.condition.holds(value)
            {
                return Some(Fired {
                    end: end.t,
                    value,
                    range,
                });
            }
            end_idx = last + 1;
        }
        None
    }
}

/// The correlation's figure over `entries[range]`; `None` when the type cannot be measured
/// (an ordered sequence that is not complete).
fn measure(
    c: &ResolvedCorrelation,
    entries: &VecDeque<Entry>,
    range: std::ops::Range<usize>,
) -> Option<f64> {
    let window = entries.range(range);
    match c.rule.kind {
        CorrelationType::EventCount => Some(window.len() as f64),
        CorrelationType::ValueCount => {
            let distinct: HashSet<u64> = window.map(|e| e.v).collect();
            Some(distinct.len() as f64)
        }
        CorrelationType::Temporal => {
            let distinct: HashSet<u16> = window.map(|e| e.target).collect();
            Some(distinct.len() as f64)
        }
        CorrelationType::TemporalOrdered => {
            // Greedy: the first entry of rule 0, then the first later entry of rule 1, ...
            let mut next = 0u16;
            let mut last_t = i64::MIN;
            for e in window {
                if usize::from(next) == c.targets.len() {
                    break;
                }
                if e.target == next && e.t >= last_t {
                    next += 1;
                    last_t = e.t;
                }
            }
            Some(f64::from(next))
        }
        CorrelationType::ValueSum => Some(window.map(|e| f64::from_bits(e.v)).sum()),
        CorrelationType::ValueAvg => {
            let n = window.len();
            (n > 0).then(|| window.map(|e| f64::from_bits(e.v)).sum::<f64>() / n as f64)
        }
        CorrelationType::ValuePercentile => {
            let mut values: Vec<f64> = window.map(|e| f64::from_bits(e.v)).collect();
            if values.is_empty() {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let p = c.rule.percentile.unwrap_or(50.0);
            // Nearest rank.
            let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
            values.get(rank - 1).copied()
        }
    }
}
