//! The five detector kinds behind one interface. A kind keeps one state per group (the
//! detector's `group-by` values); the set ([`crate::set`]) finds the group, bounds how many
//! there are, and turns a [`Finding`] into an alert.
//!
//! Time is event time: a kind is told of each observation, and of the detector's watermark
//! (the latest event time it has seen) moving on, so buckets close and silence is noticed the
//! same way live and over a replayed stream.

pub mod baseline;
pub mod first_seen;
pub mod outlier;
pub mod rare;
pub mod time_of_day;
pub mod volume;

use onewall_model::{AnomalyKind, Timestamp};
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use crate::calendar::{Calendar, LocalTime};
use crate::explain::Reason;

/// One event as a kind sees it, after the detector's selection matched and its group was
/// found.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The event's time.
    pub time: Timestamp,
    /// The same instant on the calendar's clock (hour of week, kind of day).
    pub local: LocalTime,
    /// The detector's `field` value (a tuple's values joined by U+001F), after its
    /// `transform`; `None` when the kind reads no field or the event does not have it.
    pub value: Option<&'a str>,
    /// The detector's numeric value: `field` read as a number for `outlier`, the `weight`
    /// field (default 1) for `volume`; `None` when absent or not a number.
    pub number: Option<f64>,
}

/// What a kind's state may use besides its own: the calendar, the detector's learning state
/// and the counters the set reports.
#[derive(Debug)]
pub struct Cx<'a> {
    pub calendar: &'a Calendar,
    /// The detector is still in its learning period: update the baseline, report nothing.
    pub learning: bool,
    /// How much history the detector holds (from its first observation), in seconds.
    pub detector_age_secs: i64,
    pub counters: &'a mut Counters,
}

/// Per-detector counts the API and metrics show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Entries dropped inside a group to keep it under `max-entries` (values of `first_seen`
    /// and `rare`).
    pub entries_evicted: u64,
    /// Groups dropped to keep the detector under `max-groups` (counted by the set).
    pub groups_evicted: u64,
    /// Findings the kinds reported (before suppression).
    pub findings: u64,
}

/// What a kind reports: something outside its group's baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The event's time, or the end of the bucket that closed.
    pub time: Timestamp,
    pub reason: Reason,
    /// How far outside the baseline, 0 to 100.
    pub score: f64,
    /// What was observed, as shown ("57 events in 10 min").
    pub observed: String,
    pub observed_value: Option<f64>,
    /// What the baseline expected, as shown ("3–12 events").
    pub expected: String,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    /// How much history the group's baseline holds, in seconds.
    pub baseline_secs: i64,
}

/// The interface each kind implements: a state per group, and its parameters (from the
/// detector document's `anomaly:` map) shared by all the detector's groups.
pub trait Kind: Sized {
    type Params: std::fmt::Debug + Clone + PartialEq + Send + Sync;

    /// Read the kind's parameters from the `anomaly:` map (the keys common to all kinds —
    /// `kind`, `group-by`, `field`, `transform`, `learning`, `max-groups`, `max-entries`,
    /// `suppress` — are read by [`crate::document`] and may be ignored here). An unknown or
    /// bad parameter is an error naming it.
    fn parse(params: &Mapping) -> Result<Self::Params, String>;

    /// A new group's state, created at its first observation (which is then passed to
    /// [`Kind::observe`]).
    fn new(params: &Self::Params, first: &Observation<'_>) -> Self;

    /// Take one observation. Returns a finding when it is anomalous (and `cx.learning` is
    /// false).
    fn observe(
        &mut self,
        params: &Self::Params,
        obs: &Observation<'_>,
        cx: &mut Cx<'_>,
    ) -> Option<Finding>;

    /// The detector's watermark moved to `now` (called at most once per [`Kind::tick_secs`]
    /// of event time, for every group): close finished buckets and report what they show
    /// (a drop, a source gone silent, a bucket's sum far above its baseline).
    /// A kind without buckets keeps the default: nothing to close.
    fn advance(
        &mut self,
        _params: &Self::Params,
        _now: Timestamp,
        _cx: &mut Cx<'_>,
    ) -> Vec<Finding> {
        Vec::new()
    }

    /// How often [`Kind::advance`] is needed, in seconds of event time (`None`: never, the
    /// default).
    fn tick_secs(_params: &Self::Params) -> Option<i64> {
        None
    }

    /// The latest event time this group observed (the set evicts the least recent groups).
    fn last_seen(&self) -> Timestamp;

    /// Bytes this state holds on the heap beyond its own size, for the bound and the bench.
    fn heap_bytes(&self) -> usize;
}

/// A detector's parameters, one variant per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    Volume(<volume::State as Kind>::Params),
    FirstSeen(<first_seen::State as Kind>::Params),
    Rare(<rare::State as Kind>::Params),
    Outlier(<outlier::State as Kind>::Params),
    TimeOfDay(<time_of_day::State as Kind>::Params),
}

/// One group's state, one variant per kind (snapshotted with serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum State {
    Volume(volume::State),
    FirstSeen(first_seen::State),
    Rare(rare::State),
    Outlier(outlier::State),
    TimeOfDay(time_of_day::State),
}

macro_rules! dispatch {
    ($params:expr, $state:expr, |$p:ident, $s:ident| $body:expr, $mismatch:expr) => {
        match ($params, $state) {
            (Params::Volume($p), State::Volume($s)) => $body,
            (Params::FirstSeen($p), State::FirstSeen($s)) => $body,
            (Params::Rare($p), State::Rare($s)) => $body,
            (Params::Outlier($p), State::Outlier($s)) => $body,
            (Params::TimeOfDay($p), State::TimeOfDay($s)) => $body,
            _ => $mismatch,
        }
    };
}

impl Params {
    /// Read the parameters of `kind` from the `anomaly:` map.
    pub fn parse(kind: AnomalyKind, map: &Mapping) -> Result<Params, String> {
        Ok(match kind {
            AnomalyKind::Volume => Params::Volume(volume::State::parse(map)?),
            AnomalyKind::FirstSeen => Params::FirstSeen(first_seen::State::parse(map)?),
            AnomalyKind::Rare => Params::Rare(rare::State::parse(map)?),
            AnomalyKind::Outlier => Params::Outlier(outlier::State::parse(map)?),
            AnomalyKind::TimeOfDay => Params::TimeOfDay(time_of_day::State::parse(map)?),
        })
    }

    pub fn kind(&self) -> AnomalyKind {
        match self {
            Params::Volume(_) => AnomalyKind::Volume,
            Params::FirstSeen(_) => AnomalyKind::FirstSeen,
            Params::Rare(_) => AnomalyKind::Rare,
            Params::Outlier(_) => AnomalyKind::Outlier,
            Params::TimeOfDay(_) => AnomalyKind::TimeOfDay,
        }
    }

    /// A new group's state for these parameters.
    pub fn new_state(&self, first: &Observation<'_>) -> State {
        match self {
            Params::Volume(p) => State::Volume(volume::State::new(p, first)),
            Params::FirstSeen(p) => State::FirstSeen(first_seen::State::new(p, first)),
            Params::Rare(p) => State::Rare(rare::State::new(p, first)),
            Params::Outlier(p) => State::Outlier(outlier::State::new(p, first)),
            Params::TimeOfDay(p) => State::TimeOfDay(time_of_day::State::new(p, first)),
        }
    }

    /// See [`Kind::tick_secs`].
    pub fn tick_secs(&self) -> Option<i64> {
        match self {
            Params::Volume(p) => volume::State::tick_secs(p),
            Params::FirstSeen(p) => first_seen::State::tick_secs(p),
            Params::Rare(p) => rare::State::tick_secs(p),
            Params::Outlier(p) => outlier::State::tick_secs(p),
            Params::TimeOfDay(p) => time_of_day::State::tick_secs(p),
        }
    }
}

impl State {
    /// See [`Kind::observe`]; a state of another kind than `params` (a snapshot of a changed
    /// detector the set failed to drop) observes nothing.
    pub fn observe(
        &mut self,
        params: &Params,
        obs: &Observation<'_>,
        cx: &mut Cx<'_>,
    ) -> Option<Finding> {
        dispatch!(params, self, |p, s| s.observe(p, obs, cx), None)
    }

    /// See [`Kind::advance`].
    pub fn advance(&mut self, params: &Params, now: Timestamp, cx: &mut Cx<'_>) -> Vec<Finding> {
        dispatch!(params, self, |p, s| s.advance(p, now, cx), Vec::new())
    }

    /// Whether this state belongs to a detector with `params`' kind.
    pub fn fits(&self, params: &Params) -> bool {
        dispatch!(params, self, |_p, _s| true, false)
    }

    pub fn last_seen(&self) -> Timestamp {
        match self {
            State::Volume(s) => s.last_seen(),
            State::FirstSeen(s) => s.last_seen(),
            State::Rare(s) => s.last_seen(),
            State::Outlier(s) => s.last_seen(),
            State::TimeOfDay(s) => s.last_seen(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            State::Volume(s) => s.heap_bytes(),
            State::FirstSeen(s) => s.heap_bytes(),
            State::Rare(s) => s.heap_bytes(),
            State::Outlier(s) => s.heap_bytes(),
            State::TimeOfDay(s) => s.heap_bytes(),
        }
    }
}
