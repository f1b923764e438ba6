//! One detector's running state: its groups, learning, watermark, ticks, bounds and
//! suppression.

use std::fmt::Write;

use onewall_model::hash::FxMap;
use onewall_model::{Alert, Event, RegionCode, Timestamp, Value};
use serde::{Deserialize, Serialize};

use super::alert::{build_alert, reason_key};
use super::{Detector, DetectorStatus, stable_hash};
use crate::calendar::Calendar;
use crate::document::Transform;
use crate::kind::{Counters, Cx, Finding, Observation, State};

/// Group values are joined with this in keys and tuples.
pub(crate) const SEP: char = '\u{1f}';

/// One group: its `group-by` values as text, its last region, its kind state, and the reasons
/// it fired for lately.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    pub(crate) values: Box<[Box<str>]>,
    pub(crate) region: RegionCode,
    pub(crate) state: State,
    /// (hash of a reason key, event time in seconds until which it stays quiet).
    #[serde(default)]
    pub(crate) fired: Vec<(u64, i64)>,
}

impl Group {
    /// Bytes this group takes: itself, its map entry, its values and its kind state's heap.
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Group>()
            + 9
            + self.values.iter().map(|v| 16 + v.len()).sum::<usize>()
            + self.fired.capacity() * 16
            + self.state.heap_bytes()
    }
}

/// Buffers reused from event to event.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    key: String,
    value: String,
}

/// One detector's state (snapshotted as is).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct DetState {
    pub(crate) id: String,
    pub(crate) digest: u64,
    pub(crate) first_seen: Option<Timestamp>,
    pub(crate) watermark: Option<Timestamp>,
    /// The last tick (watermark seconds / tick) the groups advanced at.
    pub(crate) tick: Option<i64>,
    pub(crate) observed: u64,
    pub(crate) alerts: u64,
    pub(crate) counters: Counters,
    pub(crate) groups: FxMap<u64, Group>,
}

/// Append `v` as text; false for a value with no text (a list, null).
fn push_text(v: &Value, out: &mut String) -> bool {
    match v {
        Value::Str(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        other => match other.to_text() {
            Some(t) => out.push_str(&t),
            None => return false,
        },
    }
    true
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Drop the least recently seen sixteenth of `groups` (at least one).
fn evict(groups: &mut FxMap<u64, Group>, max: usize, counters: &mut Counters) {
    let drop_n = (max / 16).clamp(1, groups.len().max(1));
    let mut seen: Vec<Timestamp> = groups.values().map(|g| g.state.last_seen()).collect();
    if seen.is_empty() {
        return;
    }
    let (_, cutoff, _) = seen.select_nth_unstable(drop_n - 1);
    let cutoff = *cutoff;
    let mut dropped = 0usize;
    groups.retain(|_, g| {
        if dropped < drop_n && g.state.last_seen() <= cutoff {
            dropped += 1;
            false
        } else {
            true
        }
    });
    counters.groups_evicted += dropped as u64;
}

impl DetState {
    pub(crate) fn for_detector(det: &Detector) -> DetState {
        DetState {
            id: det.doc.id.clone(),
            digest: det.doc.digest,
            ..DetState::default()
        }
    }

    fn learning_at(&self, det: &Detector, t: Timestamp) -> bool {
        self.first_seen
            .is_none_or(|f| t.secs() < f.secs() + det.doc.learning_secs)
    }

    pub(crate) fn status(&self, det: &Detector) -> DetectorStatus {
        let learning_until = self.first_seen.map(|f| f.add_secs(det.doc.learning_secs));
        DetectorStatus {
            id: det.doc.id.clone(),
            kind: det.doc.kind,
            learning: match (learning_until, self.watermark) {
                (Some(until), Some(w)) => w < until,
                _ => true,
            },
            learning_until,
            first_seen: self.first_seen,
            watermark: self.watermark,
            groups: self.groups.len(),
            max_groups: det.max_groups,
            observed: self.observed,
            alerts: self.alerts,
            state_bytes: self.state_bytes(),
            counters: self.counters,
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<DetState>() + self.groups.values().map(Group::bytes).sum::<usize>()
    }

    /// Move the watermark to `t` when it is later; advance every group when it crosses a tick.
    fn advance_to(
        &mut self,
        det: &Detector,
        cal: &Calendar,
        t: Timestamp,
        now: Timestamp,
        out: &mut Vec<Alert>,
    ) {
        if self.watermark.is_some_and(|w| w >= t) {
            return;
        }
        self.watermark = Some(t);
        let Some(tick) = det.tick_secs else { return };
        let index = t.secs().div_euclid(tick);
        let crossed = self.tick.is_some_and(|last| index > last);
        self.tick = Some(index);
        if !crossed {
            return;
        }
        let mut cx = Cx {
            calendar: cal,
            learning: self.learning_at(det, t),
            detector_age_secs: self.age(t),
            counters: &mut self.counters,
        };
        for g in self.groups.values_mut() {
            for f in g.state.advance(&det.params, t, &mut cx) {
                if let Some(a) = fire(det, g, f, None, now) {
                    self.alerts += 1;
                    out.push(a);
                }
            }
        }
    }

    fn age(&self, t: Timestamp) -> i64 {
        self.first_seen.map_or(0, |f| (t.secs() - f.secs()).max(0))
    }

    /// Observe one event the detector's selection matched.
    pub(crate) fn observe(
        &mut self,
        det: &Detector,
        cal: &Calendar,
        event: &Event,
        now: Timestamp,
        scratch: &mut Scratch,
        out: &mut Vec<Alert>,
    ) {
        let t = event.time;
        self.observed += 1;
        if self.first_seen.is_none() {
            self.first_seen = Some(t);
        }
        self.advance_to(det, cal, t, now, out);
        let Scratch { key, value } = scratch;
        key.clear();
        for f in &det.group_fields {
            if let Some(v) = f.get(event) {
                push_text(v, key);
            }
            key.push(SEP);
        }
        let group_key = stable_hash(key.as_bytes());
        let has_value = read_value(det, event, value);
        let obs = Observation {
            time: t,
            local: cal.local(t),
            value: has_value.then_some(value.as_str()),
            number: match &det.number_field {
                Some(f) => f.get(event).and_then(number),
                None => Some(1.0),
            },
        };
        if !self.groups.contains_key(&group_key) && self.groups.len() >= det.max_groups {
            evict(&mut self.groups, det.max_groups, &mut self.counters);
        }
        let group = self.groups.entry(group_key).or_insert_with(|| Group {
            values: key
                .split(SEP)
                .take(det.group_fields.len())
                .map(Box::from)
                .collect(),
            region: event.region,
            state: det.params.new_state(&obs),
            fired: Vec::new(),
        });
        group.region = event.region;
        let mut cx = Cx {
            calendar: cal,
            learning: self
                .first_seen
                .is_none_or(|f| t.secs() < f.secs() + det.doc.learning_secs),
            detector_age_secs: self.first_seen.map_or(0, |f| (t.secs() - f.secs()).max(0)),
            counters: &mut self.counters,
        };
        if let Some(f) = group.state.observe(&det.params, &obs, &mut cx)
            && let Some(a) = fire(det, group, f, Some(event), now)
        {
            self.alerts += 1;
            out.push(a);
        }
    }
}

/// The detector's `field` value of `event` into `out` (a tuple's values joined by [`SEP`]),
/// after its transform; false when the event lacks one of the fields.
fn read_value(det: &Detector, event: &Event, out: &mut String) -> bool {
    out.clear();
    if det.value_fields.is_empty() {
        return false;
    }
    for (i, f) in det.value_fields.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        let transform = det.doc.transform;
        let ok = match f.get(event) {
            // Untransformed values are written as they are (no text made for numbers).
            Some(v) if transform == Transform::None => push_text(v, out),
            Some(Value::Ip(ip)) => {
                transform.apply_ip(*ip, out);
                true
            }
            Some(Value::Str(s)) => {
                transform.apply(s, out);
                true
            }
            Some(v) => match v.to_text() {
                Some(t) => {
                    transform.apply(&t, out);
                    true
                }
                None => false,
            },
            None => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The alert for `finding` (created `now`) unless the group fired for the same reason within
/// `suppress`.
fn fire(
    det: &Detector,
    group: &mut Group,
    finding: Finding,
    event: Option<&Event>,
    now: Timestamp,
) -> Option<Alert> {
    let key = reason_key(&finding.reason);
    let h = stable_hash(key.as_bytes());
    let t = finding.time.secs();
    group.fired.retain(|(_, until)| *until > t);
    if group.fired.iter().any(|(k, _)| *k == h) {
        return None;
    }
    group.fired.push((h, t + det.doc.suppress_secs));
    Some(build_alert(det, group, finding, event, &key, now))
}
