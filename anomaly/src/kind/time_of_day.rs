//! The `time_of_day` kind: activity at an hour a group is not usually active.
//!
//! Parameters: `threshold` (the share of the group's activity at that hour of the day, for
//! that class of day, under which it is unusual; default 0.01), `min-total` (observations
//! before the group judges, default 50), `day-classes` (`working-rest` default: one profile
//! for working days — including make-up working days — and one for rest days — weekends and
//! holidays; or `none`).
//!
//! **Baseline.** Per group a histogram of 2 × 24 two-byte counters of **active hours**: each
//! clock hour in which the group did anything counts once, however many events it sent, so a
//! burst does not make its hour usual and a busy hour is not worth more than a quiet one.
//! Every 28 days (and whenever a counter would overflow) all counters are halved, so old
//! habits fade and the state stays 96 bytes (on the heap) and 56 inline. The group judges once
//! it has `min-total` observations (events). A day class judges by its own profile once that
//! holds half `min-total` active hours; before, by both together (a 9-to-6 user at 11:00 on a
//! Saturday is not unusual; at 03:00 it is).
//!
//! **Unusual.** An hour is unusual when its share, its neighbours counting half, is under
//! `threshold` (so the hour just before or after the usual ones, or a one-hour gap in the
//! working day, is not), and it is outside the group's usual hours as shown.
//!
//! **When.** At the first event of a clock hour; the same hour is not reported twice, and an
//! event late from an earlier hour than the latest counted is neither counted nor judged.
//!
//! **Score.** `50 + 50 × (1 − share / threshold)`: 100 for an hour never seen, 50 just under
//! the threshold.
//!
//! **Usual hours** as shown ("08:00–19:00"): the shortest span of the day (wrapping past
//! midnight if need be) that holds every hour whose share reaches the threshold.

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::baseline::ParamReader;
use super::{Cx, Finding, Kind, Observation};
use crate::calendar::LocalTime;
use crate::explain::Reason;

/// Parameters of a `time_of_day` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub threshold: f64,
    pub min_total: u32,
    /// Working days and rest days have their own profile.
    pub day_classes: bool,
}

/// Days between halvings of the histogram.
const HALVE_EVERY_DAYS: i64 = 28;

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Active hours per hour of day: row 0 working days (or all days), row 1 rest days.
    hist: Box<[[u16; 24]; 2]>,
    totals: [u32; 2],
    /// Observations (events) so far, for `min-total`.
    seen: u32,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The local clock hour (days × 24 + hour) last counted and judged.
    last_hour: i64,
    /// The local day the histogram was last halved.
    halved_day: i64,
}

impl Kind for State {
    type Params = Params;

    fn parse(map: &Mapping) -> Result<Params, String> {
        let r = ParamReader::new(
            map,
            "time_of_day",
            &["threshold", "min-total", "day-classes"],
        )?;
        let threshold = r.number("threshold", 0.01, 0.0)?;
        if threshold <= 0.0 || threshold >= 1.0 {
            return Err(format!(
                "anomaly.threshold: expected a share between 0 and 1 for kind time_of_day, got {threshold}"
            ));
        }
        let min_total = r.number("min-total", 50.0, 1.0)?;
        Ok(Params {
            threshold,
            min_total: min_total.min(f64::from(u32::MAX)) as u32,
            day_classes: r.choice("day-classes", &["working-rest", "none"])? == "working-rest",
        })
    }

    fn new(_p: &Params, first: &Observation<'_>) -> Self {
        State {
            hist: Box::new([[0; 24]; 2]),
            totals: [0; 2],
            seen: 0,
            first_seen: first.time,
            last_seen: first.time,
            last_hour: i64::MIN,
            halved_day: first.local.day,
        }
    }

    fn observe(&mut self, p: &Params, obs: &Observation<'_>, cx: &mut Cx<'_>) -> Option<Finding> {
        if obs.time > self.last_seen {
            self.last_seen = obs.time;
        }
        self.seen = self.seen.saturating_add(1);
        let local = obs.local;
        let clock_hour = local.day * 24 + i64::from(local.hour);
        if clock_hour <= self.last_hour {
            // Counted already, or late from an hour gone by.
            return None;
        }
        self.last_hour = clock_hour;
        if local.day - self.halved_day >= HALVE_EVERY_DAYS {
            self.halve();
            self.halved_day = local.day;
        }
        let row = usize::from(p.day_classes && !local.day_kind.is_working());
        let hour = usize::from(local.hour);
        let mut found = None;
        if self.seen >= p.min_total && !cx.learning {
            let profile = self.profile(p, row);
            let (counts, total) = self.counts(profile);
            let share = smoothed_share(&counts, total, hour);
            let span = usual_span(&usual(&counts, total, p.threshold));
            if share < p.threshold && !span.is_some_and(|s| in_span(s, local.hour)) {
                found = Some(self.finding(p, obs.time, local, share, profile, span));
                cx.counters.findings += 1;
            }
        }
        if self.hist[row][hour] == u16::MAX {
            self.halve();
        }
        self.hist[row][hour] += 1;
        self.totals[row] += 1;
        found
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<[[u16; 24]; 2]>()
    }
}

/// Which profile judged: a day class's own, or both together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Row(usize),
    Both,
}

impl State {
    fn halve(&mut self) {
        for (row, total) in self.hist.iter_mut().zip(self.totals.iter_mut()) {
            for c in row.iter_mut() {
                *c /= 2;
            }
            *total = row.iter().map(|&c| u32::from(c)).sum();
        }
    }

    /// The profile that judges a day of `row`: its own once it holds half `min-total` active
    /// hours, else both together.
    fn profile(&self, p: &Params, row: usize) -> Profile {
        if self.totals[row] >= p.min_total.div_ceil(2) {
            Profile::Row(row)
        } else {
            Profile::Both
        }
    }

    /// A profile's counters per hour of day and their total.
    fn counts(&self, profile: Profile) -> ([u32; 24], u32) {
        match profile {
            Profile::Row(r) => (self.hist[r].map(u32::from), self.totals[r]),
            Profile::Both => (
                std::array::from_fn(|h| u32::from(self.hist[0][h]) + u32::from(self.hist[1][h])),
                self.totals[0] + self.totals[1],
            ),
        }
    }

    fn finding(
        &self,
        p: &Params,
        time: Timestamp,
        local: LocalTime,
        share: f64,
        profile: Profile,
        span: Option<(u8, u8)>,
    ) -> Finding {
        let (hour, day) = (local.hour, local.day_kind);
        let usual = span.map_or(String::new(), |(a, b)| format!("{a:02}:00–{b:02}:00"));
        let on = match profile {
            Profile::Row(0) if p.day_classes => " on working days",
            Profile::Row(_) if p.day_classes => " on rest days",
            _ => "",
        };
        Finding {
            time,
            reason: Reason::OffHours {
                hour,
                day,
                usual: usual.clone(),
            },
            score: (50.0 + 50.0 * (1.0 - share / p.threshold)).clamp(50.0, 100.0),
            observed: format!("{hour:02}:00 on {}", crate::explain::day_en(day)),
            observed_value: Some(f64::from(hour)),
            expected: if usual.is_empty() {
                "no usual hours yet".into()
            } else {
                format!("{usual}{on}")
            },
            expected_low: span.map(|(a, _)| f64::from(a)),
            expected_high: span.map(|(_, b)| f64::from(b)),
            baseline_secs: (time.secs() - self.first_seen.secs()).max(0),
        }
    }
}

/// The share of `hour`, its neighbours counting half: an hour next to usual ones is not
/// unusual, nor a gap of one hour inside the working day.
fn smoothed_share(counts: &[u32; 24], total: u32, hour: usize) -> f64 {
    if total == 0 {
        return 1.0;
    }
    let c = |h: usize| f64::from(counts[h % 24]);
    (c(hour) + (c(hour + 23) + c(hour + 1)) / 2.0) / (2.0 * f64::from(total))
}

/// Per hour of day, whether its share reaches the threshold.
fn usual(counts: &[u32; 24], total: u32, threshold: f64) -> [bool; 24] {
    std::array::from_fn(|h| total > 0 && f64::from(counts[h]) / f64::from(total) >= threshold)
}

/// Whether `hour` is inside `span` (as [`usual_span`] gives it, wrapping past midnight).
fn in_span((first, after_last): (u8, u8), hour: u8) -> bool {
    if first < after_last {
        (first..after_last).contains(&hour)
    } else {
        hour >= first || hour < after_last
    }
}

/// The shortest span of the day, wrapping past midnight if need be, that holds every usual
/// hour: (first hour, the hour after the last), e.g. (8, 19); `None` when no hour is usual.
fn usual_span(usual: &[bool; 24]) -> Option<(u8, u8)> {
    if !usual.iter().any(|&u| u) {
        return None;
    }
    if usual.iter().all(|&u| u) {
        return Some((0, 24));
    }
    // The longest circular run of unusual hours; the span is its complement.
    let (mut best_len, mut best_end) = (0, 0);
    for start in 0..24 {
        if usual[start] || !usual[(start + 23) % 24] {
            continue;
        }
        let mut len = 0;
        while !usual[(start + len) % 24] {
            len += 1;
        }
        if len > best_len {
            best_len = len;
            best_end = (start + len) % 24;
        }
    }
    let first = best_end;
    let after_last = (best_end + 24 - best_len) % 24;
    let after_last = if after_last == 0 { 24 } else { after_last };
    Some((first as u8, after_last as u8))
}

#[cfg(test)]
#[path = "tests/time_of_day.rs"]
mod tests;
