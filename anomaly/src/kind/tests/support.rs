//! A driver that feeds a kind the way the set does: observations in time order, and
//! `advance` whenever the watermark crosses a `tick_secs` boundary.

use onewall_model::Timestamp;
use serde_norway::Mapping;

use crate::calendar::Calendar;
use crate::kind::{Counters, Cx, Finding, Kind, Observation};

/// 2024-09-02 00:00 in UTC+8, a Monday.
pub const MONDAY: i64 = 1_725_206_400;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;
pub const WEEK: i64 = 7 * DAY;

pub struct Driver<K: Kind> {
    pub params: K::Params,
    pub state: Option<K>,
    pub calendar: Calendar,
    pub counters: Counters,
    pub learning: bool,
    pub findings: Vec<Finding>,
    first: Option<i64>,
    last_tick: Option<i64>,
}

impl<K: Kind> Driver<K> {
    pub fn new(yaml: &str, calendar: Calendar) -> Self {
        let map: Mapping = serde_norway::from_str(yaml).expect("test parameters are YAML");
        let params = K::parse(&map).expect("test parameters parse");
        Driver {
            params,
            state: None,
            calendar,
            counters: Counters::default(),
            learning: false,
            findings: Vec::new(),
            first: None,
            last_tick: None,
        }
    }

    /// One event at `t` (UTC seconds), with `number`.
    pub fn event(&mut self, t: i64, number: Option<f64>) {
        self.advance_to(t);
        let time = Timestamp::from_secs(t);
        let obs = Observation {
            time,
            local: self.calendar.local(time),
            value: None,
            number,
        };
        let first = *self.first.get_or_insert(t);
        let mut cx = Cx {
            calendar: &self.calendar,
            learning: self.learning,
            detector_age_secs: t - first,
            counters: &mut self.counters,
        };
        let state = self.state.get_or_insert_with(|| K::new(&self.params, &obs));
        if let Some(f) = state.observe(&self.params, &obs, &mut cx) {
            self.findings.push(f);
        }
    }

    /// The watermark moved to `t`: advance when it crossed a tick.
    pub fn advance_to(&mut self, t: i64) {
        let Some(tick) = K::tick_secs(&self.params) else {
            return;
        };
        let k = t.div_euclid(tick);
        let crossed = self.last_tick.is_some_and(|l| k > l);
        self.last_tick = Some(self.last_tick.map_or(k, |l| l.max(k)));
        let (Some(state), true) = (self.state.as_mut(), crossed) else {
            return;
        };
        let mut cx = Cx {
            calendar: &self.calendar,
            learning: self.learning,
            detector_age_secs: t - self.first.unwrap_or(t),
            counters: &mut self.counters,
        };
        let found = state.advance(&self.params, Timestamp::from_secs(t), &mut cx);
        self.findings.extend(found);
    }

    /// `n` events spread evenly over `[from, from + span)`, each with `number`.
    pub fn spread(&mut self, from: i64, span: i64, n: u32, number: Option<f64>) {
        for i in 0..n {
            self.event(from + span * i64::from(i) / i64::from(n), number);
        }
    }

    /// Take the findings so far.
    pub fn take(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }
}

/// A small deterministic noise source: uniform in `[1 − width, 1 + width]`.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn factor(&mut self, width: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        1.0 + width * (2.0 * u - 1.0)
    }
}

/// A date of the test calendar, `days` after [`MONDAY`].
pub fn date(days: i64) -> time::Date {
    let base =
        time::Date::from_calendar_date(2024, time::Month::September, 2).expect("a valid date");
    base + time::Duration::days(days)
}
