//! Sigma correlation rules, executed on a stream of alerts.
//!
//! Each resolved correlation ([`ResolvedCorrelation`]) keeps its groups (one per distinct
//! `group-by` value tuple) in a map. An alert of one of the correlation's `rules` enters its
//! group's window; the condition is evaluated over sliding windows of `timespan` on event time
//! ending at the new entry (and, for a late entry, at every later entry within `timespan`).
//! When it holds, a correlation alert is raised, the window's entries are consumed, and the
//! group is quiet for the suppression time. Correlation alerts are fed back in, so a
//! correlation may refer to another (chains).
//!
//! # Semantics, in detail
//!
//! - **Event time**: windows are measured on the alerts' `time`. Per correlation, the
//!   watermark is the latest event time seen; an alert older than the watermark minus the
//!   allowed lateness is dropped and counted ([`Stats::late`]). Entries are kept until they can
//!   no longer be in a window with an acceptable alert.
//! - **Fields**: a group-by field (through `aliases` when the name is an alias) and the `field`
//!   of the value types are read from the alert's matched fields, then its event, then its
//!   entities (`source.ip`, `host.name`, `user.name` ...). An alert lacking a group-by field or
//!   the value field (or with a value that is not a number, for the numeric types) is skipped
//!   and counted ([`Stats::missing_field`]).
//! - **Suppression**: after firing, a group does not fire again until its event time passes
//!   the window end plus the suppression time: the rule's `suppress`, else the configured
//!   default, else the rule's `timespan`. `0` turns suppression off (every completed window
//!   fires).
//! - **Bounds**: at most [`SigmaConfig::max_keys_per_rule`] groups per correlation (the least
//!   recently touched is evicted and counted, [`Stats::evicted`]) and at most
//!   [`SigmaConfig::max_entries_per_key`] entries per group (the oldest go first).
//! - **Output**: a correlation alert carries the correlation as its rule, the window's end as
//!   its time, the contributing alerts' first event ids as `event_ids`, the group-by values
//!   and the measured figure (`correlation.value`) and every contributing alert id
//!   (`correlation.alert_id`) as matched fields, and the last alert's entities plus those the
//!   group-by values name.
//! - **generate**: a detection rule referred to only by correlations with `generate: false`
//!   is *quiet* ([`SigmaCorrelator::is_quiet`]): the node still stores its alerts (they are
//!   the correlation's evidence) but does not open incidents for them.

mod reload;
mod snapshot;
mod window;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use onewall_model::hash::fnv1a;
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Event, EventId, MatchedField, RuleRef, Timestamp,
};
use onewall_rules::correlation::{CorrelationType, ResolvedCorrelation, RuleTarget};

pub use reload::ReloadOutcome;
pub use snapshot::{Snapshot, SnapshotError};
use window::{Entry, Group};

/// Matched-field name under which a correlation alert lists each contributing alert id.
pub const CONTRIBUTING_ALERT: &str = "correlation.alert_id";
/// Matched-field name of the figure the condition held for.
pub const MEASURED_VALUE: &str = "correlation.value";

/// How the correlation engine bounds and times its state.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaConfig {
    /// How far behind the latest event time an alert may be and still count (seconds).
    pub allowed_lateness_secs: i64,
    /// Groups kept per correlation rule; the least recently touched is evicted past it.
    pub max_keys_per_rule: usize,
    /// Entries kept per group; the oldest are dropped past it.
    pub max_entries_per_key: usize,
    /// Quiet time after a group fired, for rules that set no `suppress`; `None`: the rule's
    /// timespan.
    pub suppress_secs: Option<i64>,
}

impl Default for SigmaConfig {
    fn default() -> Self {
        SigmaConfig {
            allowed_lateness_secs: 60,
            max_keys_per_rule: 100_000,
            max_entries_per_key: 10_000,
            suppress_secs: None,
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Alerts that entered a window.
    pub accepted: u64,
    /// Alerts dropped for arriving later than the allowed lateness.
    pub late: u64,
    /// Alerts skipped for lacking a group-by or value field.
    pub missing_field: u64,
    /// Groups evicted to keep within the key bound.
    pub evicted: u64,
    /// Correlation alerts raised.
    pub fired: u64,
}

/// Looks up an alert's event, for field values.
pub trait EventLookup {
    /// The event with this id, when at hand.
    fn event(&self, id: EventId) -> Option<&Event>;
}

/// No events at hand: fields come from the alerts alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventLookup for NoEvents {
    fn event(&self, _: EventId) -> Option<&Event> {
        None
    }
}

impl EventLookup for HashMap<EventId, &Event> {
    fn event(&self, id: EventId) -> Option<&Event> {
        self.get(&id).copied()
    }
}

#[derive(Debug)]
struct RuleState {
    def: ResolvedCorrelation,
    /// [`ResolvedCorrelation::definition_hash`]: state is kept across a reload or restart
    /// only for the same definition.
    hash: u64,
    rule_ref: RuleRef,
    span: i64,
    suppress: i64,
    /// Groups by key (the group-by values joined by U+001F); the key is shared with `order`.
    groups: HashMap<Arc<str>, Group>,
    /// Touch order for eviction: (key, seq at the touch); stale pairs are skipped.
    order: VecDeque<(Arc<str>, u64)>,
    watermark: i64,
    seq: u64,
}

/// The Sigma correlation engine: every loaded correlation and its groups.
#[derive(Debug)]
pub struct SigmaCorrelator {
    rules: Vec<RuleState>,
    /// Rule id (detection or correlation) → (correlation index, target index) consuming it.
    consumers: HashMap<String, Arc<[(usize, u16)]>>,
    quiet: HashSet<String>,
    config: SigmaConfig,
    stats: Stats,
    /// Scratch buffer for the group key of the alert being entered.
    key_buf: String,
}

const NANOS: i64 = Timestamp::NANOS_PER_SEC;

impl SigmaCorrelator {
    /// An engine for `rules`, which must be in dependency order (as
    /// [`onewall_rules::correlation::CorrelationSet::resolve`] returns them).
    pub fn new(rules: Vec<ResolvedCorrelation>, config: SigmaConfig) -> Self {
        let mut consumers: HashMap<String, Vec<(usize, u16)>> = HashMap::new();
        let mut generate: HashSet<String> = HashSet::new();
        let mut referenced: HashSet<String> = HashSet::new();
        let mut states = Vec::with_capacity(rules.len());
        for (i, def) in rules.into_iter().enumerate() {
            for (t, target) in def.targets.iter().enumerate() {
                consumers
                    .entry(target.id().to_owned())
                    .or_default()
                    .push((i, t as u16));
                if let RuleTarget::Detection(id) = target {
                    referenced.insert(id.clone());
                    if def.rule.generate {
                        generate.insert(id.clone());
                    }
                }
            }
            let span = def.rule.timespan_secs.saturating_mul(NANOS);
            let suppress = def
                .rule
                .suppress_secs
                .or(config.suppress_secs)
                .unwrap_or(def.rule.timespan_secs)
                .saturating_mul(NANOS);
            let rule_ref = RuleRef {
                id: def.rule.id.clone(),
                title: def.rule.title.clone(),
                level: def.rule.level,
                status: def.rule.status.clone(),
                tags: def.rule.tags.clone(),
            };
            states.push(RuleState {
                hash: def.definition_hash(),
                def,
                rule_ref,
                span,
                suppress,
                groups: HashMap::new(),
                order: VecDeque::new(),
                watermark: i64::MIN,
                seq: 0,
            });
        }
        let quiet = referenced.difference(&generate).cloned().collect();
        let consumers = consumers
            .into_iter()
            .map(|(id, list)| (id, Arc::from(list)))
            .collect();
        SigmaCorrelator {
            rules: states,
            consumers,
            key_buf: String::new(),
            quiet,
            config,
            stats: Stats::default(),
        }
    }

    /// Number of correlation rules loaded.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether alerts of this detection rule are only evidence for correlations
    /// (`generate: false` everywhere it is referred to).
    pub fn is_quiet(&self, rule_id: &str) -> bool {
        self.quiet.contains(rule_id)
    }

    /// Counters since start.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Groups held, over every rule.
    pub fn keys(&self) -> usize {
        self.rules.iter().map(|r| r.groups.len()).sum()
    }

    /// An estimate of the heap the state takes, in bytes (capacities, not allocator overhead).
    pub fn state_bytes(&self) -> usize {
        use std::mem::size_of;
        self.rules
            .iter()
            .map(|r| {
                // Each key is stored once (shared by the map and the touch queue) behind two
                // reference counts.
                let per_slot = size_of::<Arc<str>>() + size_of::<Group>() + 8;
                let groups: usize = r
                    .groups
                    .iter()
                    .map(|(k, g)| {
                        k.len()
                            + 2 * size_of::<usize>()
                            + g.entries.capacity() * size_of::<Entry>()
                            + g.values.capacity() * size_of::<String>()
                            + g.values.iter().map(|v| v.capacity()).sum::<usize>()
                    })
                    .sum();
                let order = r.order.capacity() * size_of::<(Arc<str>, u64)>();
                r.groups.capacity() * per_slot + groups + order
            })
            .sum()
    }

    /// Feed alerts (any order; each is taken in event-time order within the batch). Returns
    /// the correlation alerts raised, chained ones included. `now` stamps them.
    pub fn process(
        &mut self,
        alerts: &[Alert],
        events: &dyn EventLookup,
        now: Timestamp,
    ) -> Vec<Alert> {
        let mut order: Vec<&Alert> = alerts.iter().collect();
        order.sort_by_key(|a| (a.time, a.id));
        let mut out = Vec::new();
        for alert in order {
            self.feed(alert, events, now, &mut out);
        }
        out
    }

    fn feed(
        &mut self,
        alert: &Alert,
        events: &dyn EventLookup,
        now: Timestamp,
        out: &mut Vec<Alert>,
    ) {
        let Some(consumers) = self.consumers.get(&alert.rule.id).map(Arc::clone) else {
            return;
        };
        for &(ri, target) in consumers.iter() {
            if let Some(fired) = self.enter(ri, target, alert, events, now) {
                out.push(fired.clone());
                // Chains: the new alert may feed later correlations (dependency order means no
                // cycle).
                self.feed(&fired, events, now, out);
            }
        }
    }

    fn enter(
        &mut self,
        ri: usize,
        target: u16,
        alert: &Alert,
        events: &dyn EventLookup,
        now: Timestamp,
    ) -> Option<Alert> {
        let lateness = self.config.allowed_lateness_secs.saturating_mul(NANOS);
        let max_keys = self.config.max_keys_per_rule.max(1);
        let max_entries = self.config.max_entries_per_key.max(1);
        let state = self.rules.get_mut(ri)?;
        let t = alert.time.nanos();
        if state.watermark != i64::MIN && t < state.watermark.saturating_sub(lateness) {
            self.stats.late += 1;
            return None;
        }
        let mut values: Vec<Cow<'_, str>> = Vec::with_capacity(state.def.group_fields.len());
        for fields in &state.def.group_fields {
            let field = fields.get(usize::from(target))?;
            match field_value(alert, field, events) {
                Some(v) => values.push(v),
                None => {
                    self.stats.missing_field += 1;
                    return None;
                }
            }
        }
        let Some(v) = measured(&state.def, alert, events) else {
            self.stats.missing_field += 1;
            return None;
        };
        let buf = &mut self.key_buf;
        buf.clear();
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                buf.push('\u{1f}');
            }
            buf.push_str(value);
        }
        // One lookup by the scratch key: the stored key is shared (no allocation) when the
        // group exists.
        let existing = find_group(&state.groups, buf, t, alert.id);
        let is_new = existing.is_none();
        let key = match existing {
            Some((_, true)) => return None,
            Some((k, false)) => k,
            None => Arc::from(buf.as_str()),
        };
        self.stats.accepted += 1;
        state.watermark = state.watermark.max(t);
        state.seq += 1;
        let seq = state.seq;
        if is_new {
            self.stats.evicted += make_room(state, max_keys);
        }
        // Compact the touch queue when stale pairs dominate.
        if state.order.len() > 2 * state.groups.len() + 1024 {
            compact(&mut state.order);
        }
        state.order.push_back((Arc::clone(&key), seq));
        let group = state.groups.entry(key).or_default();
        group.seq = seq;
        if group.values.is_empty() {
            group.values = values.into_iter().map(Cow::into_owned).collect();
        }
        let horizon = state
            .watermark
            .saturating_sub(lateness)
            .saturating_sub(state.span);
        let entry = Entry {
            t,
            target,
            v,
            alert: alert.id,
            event: alert.event_ids.first().copied(),
        };
        let at = group.insert(entry);
        let before = group.entries.len();
        group.trim(horizon, max_entries);
        let at = at.saturating_sub(before - group.entries.len());
        let fired = group.evaluate(&state.def, at, state.span)?;
        if fired.end < group.quiet_until {
            return None;
        }
        let taken: Vec<Entry> = group.entries.drain(fired.range.clone()).collect();
        group.quiet_until = if state.suppress > 0 {
            fired.end.saturating_add(state.suppress)
        } else {
            0
        };
        let group_values = group.values.clone();
        if group.entries.is_empty() && group.quiet_until <= state.watermark {
            state.groups.remove(values_key(&group_values).as_str());
        }
        self.stats.fired += 1;
        Some(correlation_alert(
            state,
            &group_values,
            &taken,
            fired.value,
            fired.end,
            alert,
            now,
        ))
    }
}

/// The value an alert adds to its group's aggregate: the hash of the counted field's value
/// (`value_count`), the number in the summed or averaged field, else 0. `None` when the
/// correlation needs a field the alert lacks (or whose value is not a finite number).
fn measured(def: &ResolvedCorrelation, alert: &Alert, events: &dyn EventLookup) -> Option<u64> {
    Some(match (&def.rule.kind, &def.rule.field) {
        (CorrelationType::ValueCount, Some(f)) => fnv1a(field_value(alert, f, events)?.as_bytes()),
        (k, Some(f)) if k.needs_field() => {
            match field_value(alert, f, events).and_then(|s| s.trim().parse::<f64>().ok()) {
                Some(n) if n.is_finite() => n.to_bits(),
                _ => return None,
            }
        }
        _ => 0,
    })
}

/// The group stored under `key`, shared (no allocation), and whether it already holds this
/// alert: an alert delivered again (a spool replay) while still in its group's window counts
/// once. Entries are in time order, so only those at its instant are looked at.
fn find_group(
    groups: &HashMap<Arc<str>, Group>,
    key: &str,
    t: i64,
    alert: AlertId,
) -> Option<(Arc<str>, bool)> {
    groups.get_key_value(key).map(|(k, g)| {
        let from = g.entries.partition_point(|e| e.t < t);
        let again = g
            .entries
            .range(from..)
            .take_while(|e| e.t == t)
            .any(|e| e.alert == alert);
        (Arc::clone(k), again)
    })
}

/// Evict the least recently touched groups until a new one fits under `max_keys`; returns
/// how many were evicted.
fn make_room(state: &mut RuleState, max_keys: usize) -> u64 {
    let mut evicted = 0;
    while state.groups.len() >= max_keys {
        let Some((old, old_seq)) = state.order.pop_front() else {
            break;
        };
        if state.groups.get(&old).is_some_and(|g| g.seq == old_seq) {
            state.groups.remove(&old);
            evicted += 1;
        }
    }
    evicted
}

/// Drop the stale pairs of a touch queue without a map lookup. A key is held once by the
/// group map and once by each of its pairs in the queue, and only its newest pair is live.
/// Going from the front, a pair whose key is held more than twice has a newer pair behind it
/// (older ones are already dropped), and a key held once has lost its group.
fn compact(order: &mut VecDeque<(Arc<str>, u64)>) {
    let old = std::mem::take(order);
    order.reserve(old.len() / 2);
    for (key, seq) in old {
        if Arc::strong_count(&key) == 2 {
            order.push_back((key, seq));
        }
    }
}

fn values_key(values: &[String]) -> String {
    values.join("\u{1f}")
}

/// A field's value for an alert: its matched fields, then its event, then its entities.
fn field_value<'a>(
    alert: &'a Alert,
    field: &str,
    events: &'a dyn EventLookup,
) -> Option<Cow<'a, str>> {
    if let Some(m) = alert.matched.iter().find(|m| m.field == field) {
        return Some(Cow::Borrowed(&m.value));
    }
    for id in &alert.event_ids {
        if let Some(v) = events
            .event(*id)
            .and_then(|e| e.get(field))
            .and_then(|v| v.to_text())
        {
            return Some(v);
        }
    }
    EntityKind::of_field(field)
        .and_then(|kind| alert.entity(kind))
        .map(Cow::Borrowed)
}

/// Contributing alert ids listed on one correlation alert at most.
const MAX_LISTED: usize = 1000;

fn correlation_alert(
    state: &RuleState,
    values: &[String],
    taken: &[Entry],
    measured: f64,
    end: i64,
    last: &Alert,
    now: Timestamp,
) -> Alert {
    let mut matched: Vec<MatchedField> = state
        .def
        .rule
        .group_by
        .iter()
        .zip(values)
        .map(|(f, v)| MatchedField {
            field: f.clone(),
            value: v.clone(),
            selection: None,
        })
        .collect();
    matched.push(MatchedField {
        field: MEASURED_VALUE.into(),
        value: format_number(measured),
        selection: None,
    });
    let mut entities: Vec<Entity> = last.entities.clone();
    for (fields, v) in state.def.group_fields.iter().zip(values) {
        for kind in fields.iter().filter_map(|f| EntityKind::of_field(f)) {
            let e = Entity::new(kind, v.clone());
            if !entities.contains(&e) {
                entities.push(e);
            }
        }
    }
    let mut event_ids: Vec<EventId> = Vec::new();
    let mut seen_events = HashSet::new();
    let mut seen_alerts: HashSet<AlertId> = HashSet::new();
    for e in taken.iter().rev() {
        if seen_alerts.len() >= MAX_LISTED {
            break;
        }
        if seen_alerts.insert(e.alert) {
            matched.push(MatchedField {
                field: CONTRIBUTING_ALERT.into(),
                value: e.alert.to_string(),
                selection: None,
            });
        }
        if let Some(ev) = e.event
            && seen_events.insert(ev)
        {
            event_ids.push(ev);
        }
    }
    event_ids.reverse();
    // The same window over the same alerts (a replay) makes the same id, which the stores
    // ignore the second time.
    let id = AlertId::for_correlation(
        last.id.timestamp(),
        &state.rule_ref.id,
        values,
        taken.iter().map(|e| e.alert),
    );
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id,
        time: Timestamp(end),
        created: now,
        rule: state.rule_ref.clone(),
        severity: state.rule_ref.level,
        event_ids,
        entities,
        region: last.region,
        matched,
        // A correlation over a drill's alerts is the drill's too.
        drill: last.drill.clone(),
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests;
