//! Scoring: alarms matched to injections, precision and recall per kind, a baseline's
//! threshold chosen so its recall equals onewall's, false alarms per day per 1,000 entities.
//!
//! An alarm matches an injection when its detector kind is the injection's, its entity (the
//! detector's group) is the injection's, and its time falls in the injection's window or
//! one bucket (an hour) after it. Precision is matched alarms over alarms; recall is
//! injections with at least one matching alarm over injections.

use std::collections::HashMap;

use onewall_model::AnomalyKind;

use super::features::Row;
use super::month::{DAYS, DB_USERS, HOSTS, InjKind, Injection, LEARNING_DAYS, START, USERS};

/// One bucket of slack after an injection's window.
pub const SLACK: i64 = 3600;

/// An alert, reduced to what scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub kind: AnomalyKind,
    pub entity: String,
    pub time: i64,
    /// The alert's sentence (empty for a baseline's alarm).
    pub why: String,
}

pub fn matches(a: &Alarm, inj: &Injection) -> bool {
    inj.kind.detector_kind() == a.kind
        && inj.entity == a.entity
        && (inj.start..=inj.end + SLACK).contains(&a.time)
}

/// The figures of one method for one detector kind.
#[derive(Debug, Clone, Default)]
pub struct KindScore {
    pub alarms: usize,
    pub true_alarms: usize,
    /// Injections found, per injection kind.
    pub found: HashMap<InjKind, usize>,
    pub injections: usize,
    pub detected: usize,
}

impl KindScore {
    pub fn precision(&self) -> Option<f64> {
        (self.alarms > 0).then(|| self.true_alarms as f64 / self.alarms as f64)
    }

    pub fn recall(&self) -> f64 {
        if self.injections == 0 {
            0.0
        } else {
            self.detected as f64 / self.injections as f64
        }
    }
}

/// Score `alarms` of `kind` against the injections.
pub fn score(kind: AnomalyKind, alarms: &[Alarm], injections: &[Injection]) -> KindScore {
    let mut s = KindScore::default();
    let of_kind: Vec<&Alarm> = alarms.iter().filter(|a| a.kind == kind).collect();
    s.alarms = of_kind.len();
    s.true_alarms = of_kind
        .iter()
        .filter(|a| injections.iter().any(|i| matches(a, i)))
        .count();
    for inj in injections.iter().filter(|i| i.kind.detector_kind() == kind) {
        s.injections += 1;
        if of_kind.iter().any(|a| matches(a, inj)) {
            s.detected += 1;
            *s.found.entry(inj.kind).or_default() += 1;
        }
    }
    s
}

/// Entities a kind watches (for false alarms per 1,000 entities).
pub fn entities(kind: AnomalyKind) -> usize {
    match kind {
        AnomalyKind::Volume => HOSTS,
        AnomalyKind::Outlier => DB_USERS,
        _ => USERS,
    }
}

/// Alarms of `kind` per day (after learning) per 1,000 entities.
pub fn false_alarm_rate(kind: AnomalyKind, alarms: &[Alarm]) -> f64 {
    let n = alarms.iter().filter(|a| a.kind == kind).count();
    let days = (DAYS - LEARNING_DAYS) as f64;
    n as f64 / days / (entities(kind) as f64 / 1000.0)
}

/// When learning ends: rows before it raise no alarm for any method.
pub fn learned() -> i64 {
    START + LEARNING_DAYS * 86_400
}

/// The highest threshold at which a baseline's recall on `kind` reaches `target` (the k-th
/// best of each injection's best-scoring row): `None` when no threshold does.
pub fn threshold_for_recall(
    kind: AnomalyKind,
    rows: &[Row],
    scores: &[f64],
    injections: &[Injection],
    target: f64,
) -> Option<f64> {
    let mut best: Vec<f64> = injections
        .iter()
        .filter(|i| i.kind.detector_kind() == kind)
        .map(|inj| {
            rows.iter()
                .zip(scores)
                .filter(|(r, _)| r.kind == kind && r.t >= learned())
                .filter(|(r, _)| matches(&alarm_of(r), inj))
                .map(|(_, s)| *s)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    if best.is_empty() {
        return None;
    }
    best.sort_by(|a, b| b.total_cmp(a));
    let need = ((target * best.len() as f64) - 1e-9).ceil().max(1.0) as usize;
    best.get(need - 1).copied().filter(|t| t.is_finite())
}

pub fn alarm_of(r: &Row) -> Alarm {
    Alarm {
        kind: r.kind,
        entity: r.entity.clone(),
        time: r.t,
        why: String::new(),
    }
}

/// A baseline's alarms: rows of `kind` after learning scoring at least `threshold`.
pub fn baseline_alarms(
    kind: AnomalyKind,
    rows: &[Row],
    scores: &[f64],
    threshold: f64,
) -> Vec<Alarm> {
    rows.iter()
        .zip(scores)
        .filter(|(r, s)| r.kind == kind && r.t >= learned() && **s >= threshold)
        .map(|(r, _)| alarm_of(r))
        .collect()
}
