//! The `outlier` kind: a numeric field (`field`, e.g. bytes sent) summed (or its maximum) per
//! group per bucket, against the group's own baseline: the 数据泄露 case, a user sending ten
//! times their usual bytes in an hour.
//!
//! Parameters: `field` (numeric; the set passes it as [`Observation::number`]), `bucket`
//! (default `1h`, dividing a day), `aggregate` (`sum` default, `max`), `direction` (`up`
//! default, `down`, `both`), `sensitivity` (the band's half-width in robust sigmas of the log
//! value, default 3.5), `min-value` (an outlier must also exceed this, default 0), `min-ratio`
//! (a high outlier must also be this many times the profile's typical value, default 1: the
//! band alone), `seasonal`
//! (`day-kind-hour` default: 24 profiles for working days and 24 for rest days — weekends and
//! holidays; or `none`).
//!
//! **Baseline.** Byte counts spread over orders of magnitude, so the baseline is kept on
//! `ln(1 + value)`: per profile an exponentially weighted centre and mean absolute deviation
//! (running means over the first 8 buckets, then weight 1/8), two bytes each, plus one
//! profile pooled over all hours. Only buckets with activity teach (an idle hour says nothing
//! about how much a busy one sends), and what they teach is clipped to the band, so an
//! exfiltration does not become the norm. Sigma is 1.25 × the mean absolute deviation, at
//! least 0.25 (× 1.28). An hour's profile judges once it has 4 buckets; before that, the
//! pooled profile once it has 8. 49 profiles × 6 bytes: 294 bytes on the heap per group,
//! fixed, and 80 inline.
//!
//! An event more than a bucket older than the current bucket is not counted (its bucket was
//! closed and learnt); a later one counts in the current bucket.
//!
//! **When.** The high side is reported as soon as the running aggregate passes the band's
//! top (and `min-value`), once per bucket, so exfiltration is seen early. The low side (a
//! bucket with activity far under its band) is reported when the bucket closes.
//!
//! **Score.** Bands out on the log scale: `50 × |ln(1 + value) − centre| / (sensitivity ×
//! sigma)`, capped at 100.

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::baseline::{Direction, ParamReader, bucket_start, check_bucket, offset_of};
use super::{Cx, Finding, Kind, Observation};
use crate::calendar::{DayKind, LocalTime};
use crate::explain::{Reason, fmt_num, per_en, span_en};

/// How a bucket's values are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Max,
}

/// Which profile a bucket is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seasonal {
    /// One profile for every bucket.
    None,
    /// The bucket's hour on working days, or on rest days (weekends, holidays).
    DayKindHour,
}

/// Parameters of an `outlier` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The numeric field, as shown in explanations.
    pub field: String,
    pub bucket_secs: i64,
    pub aggregate: Aggregate,
    pub direction: Direction,
    pub sensitivity: f64,
    pub min_value: f64,
    /// A high outlier must also be at least this many times the profile's typical value
    /// (`exp(centre) − 1`), so a group whose log values swing widely is not reported for a
    /// bucket a few times its usual.
    pub min_ratio: f64,
    pub seasonal: Seasonal,
}

/// Fixed-point scale of the log values.
const FIX: f32 = 2048.0;
const HOUR_MIN_N: u8 = 4;
const POOLED_MIN_N: u8 = 8;
const SIGMA_FLOOR: f64 = 0.25;
/// Profiles with seasonality: 2 day classes × 24 hours, and the pooled one.
const SEASONAL_SLOTS: usize = 49;

/// One profile: centre and mean absolute deviation of `ln(1 + value)`, fixed point, and how
/// many buckets taught it (up to 255).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Profile {
    mu: u16,
    dev: u16,
    n: u8,
}

impl Profile {
    fn mu(self) -> f64 {
        f64::from(f32::from(self.mu) / FIX)
    }

    fn sigma(self) -> f64 {
        (1.25 * f64::from(f32::from(self.dev) / FIX)).max(SIGMA_FLOOR)
    }

    /// Take `x`; `clip` is the band's half-width once the profile judges: the centre moves
    /// by at most that much, the deviation by at most as much.
    fn learn(&mut self, x: f64, clip: Option<f64>) {
        let (mu, dev) = (self.mu(), f64::from(f32::from(self.dev) / FIX));
        let (mu, dev) = if self.n == 0 {
            (x, 0.0)
        } else {
            let residual = (x - mu).abs();
            let (x, residual) = match clip {
                Some(half) => (x.clamp(mu - half, mu + half), residual.min(half)),
                None => (x, residual),
            };
            // Running means over the first buckets (the deviation from the second), then
            // weights of 1/8.
            let alpha = 1.0 / f64::from(self.n.min(7) + 1);
            let alpha_dev = 1.0 / f64::from(self.n.min(8));
            (mu + alpha * (x - mu), dev + alpha_dev * (residual - dev))
        };
        self.mu = fixed(mu);
        self.dev = fixed(dev);
        self.n = self.n.saturating_add(1);
    }
}

fn fixed(x: f64) -> u16 {
    (x.max(0.0) * f64::from(FIX))
        .round()
        .min(f64::from(u16::MAX)) as u16
}

/// The current bucket: where it learns and the band it is judged by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Current {
    /// The hour profile it teaches (with seasonality).
    slot: Option<u8>,
    /// The band (log scale), when a profile judges.
    band: Option<(f32, f32)>,
    /// The running aggregate at which the high side is reported.
    report_at: f32,
    hour: u8,
    minute: u8,
    day: DayKind,
}

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    profiles: Box<[Profile]>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    start: i64,
    agg: f64,
    active: bool,
    reported: bool,
    cur: Current,
}

impl Kind for State {
    type Params = Params;

    fn parse(map: &Mapping) -> Result<Params, String> {
        let own = [
            "bucket",
            "aggregate",
            "direction",
            "sensitivity",
            "min-value",
            "min-ratio",
            "seasonal",
        ];
        let r = ParamReader::new(map, "outlier", &own)?;
        let field = match map.get("field") {
            Some(v) if v.as_str().is_some() => v.as_str().map(str::to_owned),
            Some(v) => v
                .as_sequence()
                .and_then(|s| s.first())
                .and_then(|f| f.as_str())
                .map(str::to_owned),
            None => None,
        };
        let field = field.ok_or("anomaly.field: the outlier kind needs a numeric field")?;
        Ok(Params {
            field,
            bucket_secs: check_bucket(r.timespan("bucket", 3600)?)?,
            aggregate: match r.choice("aggregate", &["sum", "max"])? {
                "max" => Aggregate::Max,
                _ => Aggregate::Sum,
            },
            direction: Direction::parse(r.choice("direction", &["up", "down", "both"])?)
                .unwrap_or(Direction::Up),
            sensitivity: r.number("sensitivity", 3.5, 0.5)?,
            min_value: r.number("min-value", 0.0, 0.0)?,
            min_ratio: r.number("min-ratio", 1.0, 1.0)?,
            seasonal: match r.choice("seasonal", &["day-kind-hour", "none"])? {
                "none" => Seasonal::None,
                _ => Seasonal::DayKindHour,
            },
        })
    }

    fn new(p: &Params, first: &Observation<'_>) -> Self {
        let slots = match p.seasonal {
            Seasonal::None => 1,
            Seasonal::DayKindHour => SEASONAL_SLOTS,
        };
        let mut state = State {
            profiles: vec![Profile::default(); slots].into_boxed_slice(),
            first_seen: first.time,
            last_seen: first.time,
            start: 0,
            agg: 0.0,
            active: false,
            reported: false,
            cur: Current {
                slot: None,
                band: None,
                report_at: f32::INFINITY,
                hour: 0,
                minute: 0,
                day: first.local.day_kind,
            },
        };
        state.open_at(p, first);
        state
    }

    fn observe(&mut self, p: &Params, obs: &Observation<'_>, cx: &mut Cx<'_>) -> Option<Finding> {
        let mut found = None;
        let t = obs.time.secs();
        if t >= self.start + p.bucket_secs {
            found = self.close(p, cx);
            self.open_at(p, obs);
        } else if t < self.start - p.bucket_secs {
            // More than a bucket late: its bucket is closed and learnt.
            return None;
        }
        if obs.time > self.last_seen {
            self.last_seen = obs.time;
        }
        let v = obs.number?;
        if !v.is_finite() {
            return found;
        }
        let v = v.max(0.0);
        self.agg = match (p.aggregate, self.active) {
            (Aggregate::Sum, _) => self.agg + v,
            (Aggregate::Max, true) => self.agg.max(v),
            (Aggregate::Max, false) => v,
        };
        self.active = true;
        if found.is_none()
            && !self.reported
            && self.agg >= f64::from(self.cur.report_at)
            && p.direction.high()
            && !cx.learning
        {
            self.reported = true;
            found = self.finding(p, obs.time);
        }
        cx.counters.findings += u64::from(found.is_some());
        found
    }

    fn advance(&mut self, p: &Params, now: Timestamp, cx: &mut Cx<'_>) -> Vec<Finding> {
        if now.secs() < self.start + p.bucket_secs || !self.active {
            return Vec::new();
        }
        let found = self.close(p, cx);
        cx.counters.findings += u64::from(found.is_some());
        found.into_iter().collect()
    }

    fn tick_secs(p: &Params) -> Option<i64> {
        // Only the low side needs buckets closed on time; the high side is seen as it grows.
        p.direction.low().then_some(p.bucket_secs)
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        self.profiles.len() * std::mem::size_of::<Profile>()
    }
}

impl State {
    /// Open the bucket holding `obs`, judged by its profile.
    fn open_at(&mut self, p: &Params, obs: &Observation<'_>) {
        let offset = offset_of(obs);
        self.start = bucket_start(obs.time.secs(), offset, p.bucket_secs);
        let in_day = (self.start + offset).rem_euclid(86_400);
        let local = LocalTime {
            hour: (in_day / 3600) as u8,
            minute: ((in_day % 3600) / 60) as u8,
            ..obs.local
        };
        self.agg = 0.0;
        self.active = false;
        self.reported = false;
        let slot = match p.seasonal {
            Seasonal::None => None,
            Seasonal::DayKindHour => {
                let class = if local.day_kind.is_working() { 0 } else { 24 };
                Some(class + local.hour)
            }
        };
        let pooled = self.profiles[self.profiles.len() - 1];
        let judge = match slot.map(|s| self.profiles[usize::from(s)]) {
            Some(hour) if hour.n >= HOUR_MIN_N => Some(hour),
            _ if pooled.n >= POOLED_MIN_N => Some(pooled),
            _ => None,
        };
        let band = judge.map(|j| (j.mu() as f32, j.sigma() as f32));
        let report_at = band.map_or(f32::INFINITY, |(mu, sigma)| {
            let top = (f64::from(mu) + p.sensitivity * f64::from(sigma)).exp_m1();
            let ratio = f64::from(mu).exp_m1() * p.min_ratio;
            top.max(ratio).max(p.min_value).max(1e-30) as f32
        });
        self.cur = Current {
            slot,
            band,
            report_at,
            hour: local.hour,
            minute: local.minute,
            day: local.day_kind,
        };
    }

    /// Judge the low side and learn the bucket (if it had activity).
    fn close(&mut self, p: &Params, cx: &mut Cx<'_>) -> Option<Finding> {
        if !self.active {
            return None;
        }
        self.active = false;
        let x = self.agg.ln_1p();
        let mut found = None;
        if let Some((mu, sigma)) = self.cur.band {
            let low = f64::from(mu) - p.sensitivity * f64::from(sigma);
            if x < low && p.direction.low() && !cx.learning {
                let end = Timestamp::from_secs(self.start + p.bucket_secs);
                found = self.finding(p, end);
            }
        }
        let clip = |prof: &Profile| p.sensitivity * prof.sigma();
        if let Some(s) = self.cur.slot {
            let prof = &mut self.profiles[usize::from(s)];
            let half = (prof.n >= HOUR_MIN_N).then(|| clip(prof));
            prof.learn(x, half);
        }
        let last = self.profiles.len() - 1;
        let pooled = &mut self.profiles[last];
        let half = (pooled.n >= POOLED_MIN_N).then(|| clip(pooled));
        pooled.learn(x, half);
        found
    }

    fn finding(&self, p: &Params, time: Timestamp) -> Option<Finding> {
        let (mu, sigma) = self.cur.band?;
        let (mu, sigma) = (f64::from(mu), f64::from(sigma));
        let half = p.sensitivity * sigma;
        let (low, high) = ((mu - half).exp_m1().max(0.0), (mu + half).exp_m1());
        let z = (self.agg.ln_1p() - mu).abs() / sigma;
        let c = self.cur;
        Some(Finding {
            time,
            reason: Reason::Outlier {
                field: p.field.clone(),
                value: self.agg,
                low,
                high,
                bucket_secs: p.bucket_secs,
                hour: c.hour,
                minute: c.minute,
                day: (p.seasonal == Seasonal::DayKindHour).then_some(c.day),
            },
            score: (50.0 * z / p.sensitivity).min(100.0),
            observed: format!(
                "{} {} in {}",
                fmt_num(self.agg),
                p.field,
                span_en(p.bucket_secs)
            ),
            observed_value: Some(self.agg),
            expected: format!(
                "{}–{} {} {}",
                fmt_num(low),
                fmt_num(high),
                p.field,
                per_en(p.bucket_secs)
            ),
            expected_low: Some(low),
            expected_high: Some(high),
            baseline_secs: (time.secs() - self.first_seen.secs()).max(0),
        })
    }
}

#[cfg(test)]
#[path = "tests/outlier.rs"]
mod tests;
