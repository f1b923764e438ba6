//! The `volume` kind: how many events (or how much of a `weight` field) a group has per
//! bucket, against a seasonal baseline by **hour of week**; it reports spikes, drops and a
//! group falling silent.
//!
//! Parameters: `bucket` (a timespan dividing a day, default `1h`), `direction` (`both`, `up`,
//! `down`), `sensitivity` (the band's half-width in robust sigmas, default 4), `min-count` (a
//! spike must pass the band's top, a drop its bottom, by at least this many, default 10),
//! `silence` (default true), `weight` (a numeric field added instead of 1).
//!
//! **Baseline.** Each of the 168 hours of the week keeps the last four weeks' values (the mean
//! count per bucket in that hour), two bytes each on a log scale: 1,344 bytes per group, fixed.
//! A bucket is judged against the profile of its hour: the median of those weeks, and a
//! robust sigma, the largest of 1.4826 × their median absolute deviation, √median (a Poisson
//! floor, so quiet groups are not noisy) and 5 % of the median. The band is median ± sensitivity
//! × sigma. An hour needs two weeks of values before it judges. What a bucket teaches is
//! clipped to the band, so a spike does not poison the baseline (a lasting change is learnt
//! within a few weeks).
//!
//! **Calendar.** Working days and weekends take their own weekday's profile; a public holiday
//! (or a weekday given off) takes **Sunday's**; a make-up working day (调休) takes
//! **Wednesday's**. Holidays and make-up days are judged but not learnt, so the profiles stay
//! those of ordinary weeks and the Monday after a week-long holiday is a Monday.
//!
//! A group's first bucket (partial) is judged but not learnt; an event more than a bucket
//! older than the current bucket is not counted (its bucket is closed and learnt); a later
//! one counts in the current bucket.
//!
//! **When.** A spike is reported as soon as the running count passes the band's top (plus
//! `min-count`), once per bucket, so a flood is seen before its bucket ends. Drops and silence
//! are reported when the bucket closes (in `advance`). Silence (nothing at all in a bucket whose
//! band's bottom is at least one event) is reported once, until the group sends again.
//!
//! **Score.** Bands out: `50 × |count − median| / (sensitivity × sigma)`, capped at 100 (a
//! count just outside the band scores 50, twice as far 100). Silence scores
//! `50 + 50 × low / (low + 20)` where `low` is the band's bottom (≈ 52 for 1 event, 75 for 20,
//! 97 for 300).

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::baseline::{
    Direction, ParamReader, bucket_start, check_bucket, decode, encode, median_mad, offset_of,
    ordinary, profile_weekday,
};
use super::{Cx, Finding, Kind, Observation};
use crate::calendar::{DayKind, LocalTime};
use crate::explain::{Reason, fmt_num, per_en, span_en};

/// Parameters of a `volume` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub bucket_secs: i64,
    pub direction: Direction,
    pub sensitivity: f64,
    pub min_count: f64,
    pub silence: bool,
    /// The numeric field added instead of 1 (the set passes it as [`Observation::number`]).
    pub weight: Option<String>,
}

/// Weeks of history per hour of the week.
const WEEKS: usize = 4;
const SLOTS: usize = 168;
/// Weeks an hour needs before it judges.
const MIN_WEEKS: usize = 2;
/// A gap longer than this is closed as four weeks of nothing.
const MAX_GAP_SECS: i64 = WEEKS as i64 * 7 * 86_400;

/// The band the current bucket is judged by, and where what it shows is learnt.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Band {
    known: bool,
    center: f32,
    sigma: f32,
    low: f32,
    high: f32,
    /// The running count at which a spike is reported.
    spike_at: f32,
    hour: u8,
    minute: u8,
    day: DayKind,
    /// An ordinary day: learn into `slot`, week `week`.
    ordinary: bool,
    slot: u8,
    week: u8,
}

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// `SLOTS × WEEKS` coded values ([`super::baseline::encode`]; 0: none yet).
    ring: Vec<u16>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The current bucket's start (UTC seconds) and running count.
    start: i64,
    count: f64,
    /// Closed buckets of the current hour (sub-hour buckets): their clipped sum and number.
    hour_sum: f64,
    hour_n: u16,
    band: Band,
    spiked: bool,
    silent: bool,
}

impl Kind for State {
    type Params = Params;

    fn parse(map: &Mapping) -> Result<Params, String> {
        let r = ParamReader::new(
            map,
            "volume",
            &[
                "bucket",
                "direction",
                "sensitivity",
                "min-count",
                "silence",
                "weight",
            ],
        )?;
        Ok(Params {
            bucket_secs: check_bucket(r.timespan("bucket", 3600)?)?,
            direction: Direction::parse(r.choice("direction", &["both", "up", "down"])?)
                .unwrap_or(Direction::Both),
            sensitivity: r.number("sensitivity", 4.0, 0.5)?,
            min_count: r.number("min-count", 10.0, 0.0)?,
            silence: r.boolean("silence", true)?,
            weight: r.field("weight")?,
        })
    }

    fn new(p: &Params, first: &Observation<'_>) -> Self {
        let offset = offset_of(first);
        let start = bucket_start(first.time.secs(), offset, p.bucket_secs);
        let in_day = (start + offset).rem_euclid(86_400);
        let local = LocalTime {
            hour: (in_day / 3600) as u8,
            minute: ((in_day % 3600) / 60) as u8,
            ..first.local
        };
        let mut state = State {
            ring: vec![0; SLOTS * WEEKS],
            first_seen: first.time,
            last_seen: first.time,
            start,
            count: 0.0,
            hour_sum: 0.0,
            hour_n: 0,
            band: unknown_band(&local),
            spiked: false,
            silent: false,
        };
        state.band = state.band_for(p, &local);
        // The group's first bucket is partial: it is judged but not learnt.
        state.band.ordinary = false;
        state
    }

    fn observe(&mut self, p: &Params, obs: &Observation<'_>, cx: &mut Cx<'_>) -> Option<Finding> {
        let t = obs.time.secs();
        let mut found = None;
        if t >= self.start + p.bucket_secs {
            found = self.roll(p, t, cx).into_iter().next();
        } else if t < self.start - p.bucket_secs {
            // More than a bucket late: its bucket is closed and learnt.
            return None;
        }
        if obs.time > self.last_seen {
            self.last_seen = obs.time;
        }
        self.silent = false;
        self.count += obs.number.unwrap_or(1.0).max(0.0);
        if !self.spiked
            && found.is_none()
            && self.count >= f64::from(self.band.spike_at)
            && p.direction.high()
            && !cx.learning
        {
            self.spiked = true;
            found = Some(self.finding(p, obs.time, true));
        }
        cx.counters.findings += u64::from(found.is_some());
        found
    }

    fn advance(&mut self, p: &Params, now: Timestamp, cx: &mut Cx<'_>) -> Vec<Finding> {
        let found = self.roll(p, now.secs(), cx);
        cx.counters.findings += found.len() as u64;
        found
    }

    fn tick_secs(p: &Params) -> Option<i64> {
        Some(p.bucket_secs)
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        self.ring.capacity() * std::mem::size_of::<u16>()
    }
}

fn unknown_band(local: &LocalTime) -> Band {
    Band {
        known: false,
        center: 0.0,
        sigma: 0.0,
        low: 0.0,
        high: 0.0,
        spike_at: f32::INFINITY,
        hour: local.hour,
        minute: local.minute,
        day: local.day_kind,
        ordinary: ordinary(local),
        slot: (u16::from(local.weekday) * 24 + u16::from(local.hour)) as u8,
        week: (local.day + 3).div_euclid(7).rem_euclid(WEEKS as i64) as u8,
    }
}

impl State {
    /// The band of a bucket starting at `local`: its profile hour's weeks, if it has enough.
    fn band_for(&self, p: &Params, local: &LocalTime) -> Band {
        let mut band = unknown_band(local);
        let profile = usize::from(profile_weekday(local)) * 24 + usize::from(local.hour);
        let mut values = [0.0f64; WEEKS];
        let mut n = 0;
        for &c in &self.ring[profile * WEEKS..(profile + 1) * WEEKS] {
            if let Some(v) = decode(c) {
                values[n] = v;
                n += 1;
            }
        }
        if n < MIN_WEEKS {
            return band;
        }
        let (m, mad) = median_mad(&mut values[..n]);
        let sigma = (1.4826 * mad).max(m.max(1.0).sqrt()).max(0.05 * m);
        let half = p.sensitivity * sigma;
        band.known = true;
        band.center = m as f32;
        band.sigma = sigma as f32;
        band.low = (m - half) as f32;
        band.high = (m + half) as f32;
        band.spike_at = (m + half + p.min_count.max(1e-6)) as f32;
        band
    }

    /// Close every bucket that ended by `until` (UTC seconds).
    fn roll(&mut self, p: &Params, until: i64, cx: &mut Cx<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let offset = i64::from(cx.calendar.utc_offset_secs());
        while self.start + p.bucket_secs <= until {
            out.extend(self.close(p, cx, offset));
            if until - self.start > MAX_GAP_SECS {
                // Four weeks of nothing teach every hour the same: skip to them.
                self.hour_sum = 0.0;
                self.hour_n = 0;
                let start = bucket_start(until - MAX_GAP_SECS, offset, p.bucket_secs);
                self.open(p, start, cx);
            }
        }
        out
    }

    /// Judge and learn the current bucket, then open the next.
    fn close(&mut self, p: &Params, cx: &mut Cx<'_>, offset: i64) -> Option<Finding> {
        let band = self.band;
        let end = self.start + p.bucket_secs;
        let mut found = None;
        if band.known && !cx.learning && p.direction.low() {
            let nothing = self.last_seen.secs() < self.start && self.count <= 0.0;
            let low = f64::from(band.low);
            if nothing && p.silence && low >= 1.0 {
                if !self.silent {
                    self.silent = true;
                    found = Some(self.silence(p, end));
                }
            } else if !nothing && self.count < low && low - self.count >= p.min_count {
                found = Some(self.finding(p, Timestamp::from_secs(end), false));
            }
        }
        if band.ordinary {
            let learnt = if band.known {
                self.count
                    .clamp(f64::from(band.low).max(0.0), f64::from(band.high))
            } else {
                self.count
            };
            self.hour_sum += learnt;
            self.hour_n += 1;
        }
        if (end + offset).rem_euclid(3600) == 0 {
            if band.ordinary && self.hour_n > 0 {
                let at = usize::from(band.slot) * WEEKS + usize::from(band.week);
                self.ring[at] = encode(self.hour_sum / f64::from(self.hour_n));
            }
            self.hour_sum = 0.0;
            self.hour_n = 0;
        }
        self.open(p, end, cx);
        found
    }

    fn open(&mut self, p: &Params, start: i64, cx: &Cx<'_>) {
        self.start = start;
        self.count = 0.0;
        self.spiked = false;
        self.band = self.band_for(p, &cx.calendar.local(Timestamp::from_secs(start)));
    }

    /// A spike (`high`) or a drop of the current bucket.
    fn finding(&self, p: &Params, time: Timestamp, high: bool) -> Finding {
        let b = self.band;
        let (low, top) = (f64::from(b.low).max(0.0), f64::from(b.high));
        let z = (self.count - f64::from(b.center)).abs() / f64::from(b.sigma).max(1e-9);
        let (count, bucket_secs, hour, minute, day) =
            (self.count, p.bucket_secs, b.hour, b.minute, b.day);
        let reason = if high {
            Reason::Spike {
                count,
                low,
                high: top,
                bucket_secs,
                hour,
                minute,
                day,
            }
        } else {
            Reason::Drop {
                count,
                low,
                high: top,
                bucket_secs,
                hour,
                minute,
                day,
            }
        };
        Finding {
            time,
            reason,
            score: (50.0 * z / p.sensitivity).min(100.0),
            observed: format!("{} events in {}", fmt_num(count), span_en(bucket_secs)),
            observed_value: Some(count),
            expected: format!(
                "{}–{} events {}",
                fmt_num(low),
                fmt_num(top),
                per_en(bucket_secs)
            ),
            expected_low: Some(low),
            expected_high: Some(top),
            baseline_secs: (time.secs() - self.first_seen.secs()).max(0),
        }
    }

    fn silence(&self, p: &Params, end: i64) -> Finding {
        let b = self.band;
        let low = f64::from(b.low);
        let silent_secs = end - self.last_seen.secs();
        Finding {
            time: Timestamp::from_secs(end),
            reason: Reason::Silent {
                silent_secs,
                expected_low: low,
                bucket_secs: p.bucket_secs,
            },
            score: 50.0 + 50.0 * low / (low + 20.0),
            observed: format!("nothing for {}", span_en(silent_secs)),
            observed_value: Some(0.0),
            expected: format!("at least {} events {}", fmt_num(low), per_en(p.bucket_secs)),
            expected_low: Some(low),
            expected_high: Some(f64::from(b.high)),
            baseline_secs: (end - self.first_seen.secs()).max(0),
        }
    }
}

#[cfg(test)]
#[path = "tests/volume.rs"]
mod tests;
