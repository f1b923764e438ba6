//! Statistics over events, alerts and incidents: counts over time ([`Histogram`]), the most
//! frequent values of a field ([`Top`]) and what each event source sent ([`SourceStat`]).
//!
//! Backends answer event statistics from rollups written with the events (the embedded
//! store: per minute by region, department and source, and per hour by common field term) or
//! from `GROUP BY` (ClickHouse), never by reading the events one by one, except when a query
//! asks for what no rollup holds (text, field filters): then the matching events are counted.
//! Alert and incident statistics group their tables. What the backends share lives here:
//! the query, the bucket arithmetic, and the counting of records held in memory (incidents,
//! which are few, and the generic defaults of [`crate::Store`]).

use std::collections::{BTreeMap, HashMap};

use onewall_model::{Alert, Entity, EntityKind, Event, Incident, RegionCode, Severity, Timestamp};
use serde::Serialize;

use crate::StoreError;

/// The field holding an event's department (the source's configured department or the
/// sender's own organization); the department scope of events.
pub const DEPARTMENT_FIELD: &str = "organization.name";

/// What a statistic counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsKind {
    Events,
    Alerts,
    Incidents,
}

impl StatsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatsKind::Events => "events",
            StatsKind::Alerts => "alerts",
            StatsKind::Incidents => "incidents",
        }
    }
}

impl std::str::FromStr for StatsKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "events" => Ok(StatsKind::Events),
            "alerts" => Ok(StatsKind::Alerts),
            "incidents" => Ok(StatsKind::Incidents),
            _ => Err(format!(
                "unknown kind {s:?}; expected events, alerts or incidents"
            )),
        }
    }
}

/// A field whose values [`crate::Store::stats_top`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TopField {
    SourceIp,
    DestinationIp,
    HostName,
    UserName,
    /// The rule id (alerts; incidents: each of their rules).
    Rule,
    /// ATT&CK tactics of the rule's tags (alerts) or of the classification (incidents).
    Tactic,
    Region,
    /// Severity name (alerts, incidents).
    Severity,
    /// The event source's key, `collector peer-address` (events).
    Source,
}

impl TopField {
    pub const ALL: [TopField; 9] = [
        TopField::SourceIp,
        TopField::DestinationIp,
        TopField::HostName,
        TopField::UserName,
        TopField::Rule,
        TopField::Tactic,
        TopField::Region,
        TopField::Severity,
        TopField::Source,
    ];

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TopField::SourceIp => "source.ip",
            TopField::DestinationIp => "destination.ip",
            TopField::HostName => "host.name",
            TopField::UserName => "user.name",
            TopField::Rule => "rule",
            TopField::Tactic => "tactic",
            TopField::Region => "region",
            TopField::Severity => "severity",
            TopField::Source => "source",
        }
    }

    /// The entity kind an alert or incident keeps this field's values as.
    pub fn entity_kind(self) -> Option<EntityKind> {
        match self {
            TopField::SourceIp => Some(EntityKind::SourceIp),
            TopField::DestinationIp => Some(EntityKind::DestinationIp),
            TopField::HostName => Some(EntityKind::Host),
            TopField::UserName => Some(EntityKind::User),
            _ => None,
        }
    }

    /// Whether records of `kind` have this field.
    pub fn applies_to(self, kind: StatsKind) -> bool {
        match kind {
            StatsKind::Events => {
                !matches!(self, TopField::Rule | TopField::Tactic | TopField::Severity)
            }
            StatsKind::Alerts | StatsKind::Incidents => self != TopField::Source,
        }
    }
}

impl std::str::FromStr for TopField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TopField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = TopField::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown field {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// The records a statistic counts. Every condition given must hold.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub kind: StatsKind,
    /// Record time at or after this (events: event time; alerts: alert time; incidents:
    /// first seen). Event rollups count whole minutes: the minute holding `from` counts.
    pub from: Timestamp,
    /// Record time before this.
    pub to: Timestamp,
    /// Records of these regions only (the caller resolves subtrees); empty means all.
    pub regions: Vec<RegionCode>,
    /// Events whose [`DEPARTMENT_FIELD`] is this (events only: the API limits alerts and
    /// incidents to a department itself, as its lists do).
    pub department: Option<String>,
    /// Alerts and incidents at least this severe.
    pub min_severity: Option<Severity>,
    /// Alerts of this rule, incidents holding it.
    pub rule_id: Option<String>,
    /// Events of this source key (`collector peer-address`, see [`source_key`]).
    pub source: Option<String>,
    /// Events with `field == value` for every pair (as [`crate::EventQuery::filters`]).
    pub filters: Vec<(String, String)>,
    /// Events whose raw text holds this (as [`crate::EventQuery::text`]).
    pub text: Option<String>,
}

impl StatsQuery {
    /// A query of `kind` over `[from, to)` with no other condition.
    pub fn new(kind: StatsKind, from: Timestamp, to: Timestamp) -> StatsQuery {
        StatsQuery {
            kind,
            from,
            to,
            regions: Vec::new(),
            department: None,
            min_severity: None,
            rule_id: None,
            source: None,
            filters: Vec::new(),
            text: None,
        }
    }

    /// Whether an event query needs the events themselves (no rollup holds text or fields).
    pub fn needs_events(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.is_empty()) || !self.filters.is_empty()
    }

    pub(crate) fn in_regions(&self, r: RegionCode) -> bool {
        self.regions.is_empty() || self.regions.contains(&r)
    }
}

/// The most intervals one histogram may have.
pub const MAX_BUCKETS: i64 = 1500;

/// Counts per interval: `buckets[i]` counts the records in `[start + i·interval, start +
/// (i+1)·interval)`, where `start` is `from` rounded down to a multiple of the interval
/// (since the epoch, so days are UTC days). Every interval of the range is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Histogram {
    pub start: Timestamp,
    pub interval_secs: i64,
    pub buckets: Vec<u64>,
}

impl Histogram {
    /// The empty histogram of `[from, to)` by `interval_secs`; more than [`MAX_BUCKETS`]
    /// intervals, or an interval under a minute, is [`StoreError::InvalidQuery`].
    pub fn empty(from: Timestamp, to: Timestamp, interval_secs: i64) -> crate::Result<Histogram> {
        if interval_secs < 60 || interval_secs % 60 != 0 {
            return Err(StoreError::InvalidQuery(format!(
                "interval: {interval_secs} s is not a whole number of minutes"
            )));
        }
        let step = interval_secs * Timestamp::NANOS_PER_SEC;
        let start = from.0.div_euclid(step) * step;
        let n = if to.0 <= from.0 {
            0
        } else {
            (to.0 - start + step - 1) / step
        };
        if n > MAX_BUCKETS {
            return Err(StoreError::InvalidQuery(format!(
                "interval: {n} buckets over the range; at most {MAX_BUCKETS}"
            )));
        }
        Ok(Histogram {
            start: Timestamp(start),
            interval_secs,
            buckets: vec![0; usize::try_from(n).unwrap_or(0)],
        })
    }

    fn step(&self) -> i64 {
        self.interval_secs * Timestamp::NANOS_PER_SEC
    }

    /// Add `n` to the bucket holding `t` (nothing when `t` is outside).
    pub fn add(&mut self, t: i64, n: u64) {
        let i = (t - self.start.0).div_euclid(self.step());
        if let Some(b) = usize::try_from(i)
            .ok()
            .and_then(|i| self.buckets.get_mut(i))
        {
            *b += n;
        }
    }

    /// The start of bucket `i`.
    pub fn time(&self, i: usize) -> Timestamp {
        Timestamp(self.start.0 + i64::try_from(i).unwrap_or(0) * self.step())
    }

    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// One value and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopCount {
    pub value: String,
    pub count: u64,
    /// The rule's title, for [`TopField::Rule`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The most frequent values of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Top {
    /// How many different values were seen.
    pub distinct: u64,
    /// The count of every value not in `items`.
    pub other: u64,
    /// The most frequent first (equal counts by value).
    pub items: Vec<TopCount>,
}

impl Top {
    /// The top `limit` of `counts` (value → count), with titles from `titles`.
    pub fn of(counts: HashMap<String, u64>, limit: usize, titles: &HashMap<String, String>) -> Top {
        let distinct = counts.len() as u64;
        let mut all: Vec<(String, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let other = all.iter().skip(limit).map(|(_, n)| n).sum();
        let items = all
            .into_iter()
            .take(limit)
            .map(|(value, count)| TopCount {
                title: titles.get(&value).cloned(),
                value,
                count,
            })
            .collect();
        Top {
            distinct,
            other,
            items,
        }
    }
}

/// What one source sent over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStat {
    /// `collector peer-address` ([`source_key`]).
    pub source: String,
    /// The region of its latest events.
    pub region: RegionCode,
    pub count: u64,
    pub parse_errors: u64,
    /// Event time of its latest event in the range (to the minute on rollups).
    pub last_seen: Timestamp,
}

/// The key of an event's source: the collector and the sending address (without port), as
/// the daily report and the overview name sources.
pub fn source_key(e: &Event) -> String {
    match e.source.peer {
        Some(peer) => format!("{} {}", e.source.collector, peer.ip()),
        None => e.source.collector.to_string(),
    }
}

/// The department of an event ([`DEPARTMENT_FIELD`]), empty when it has none.
pub fn department_of(e: &Event) -> String {
    e.fields
        .get(DEPARTMENT_FIELD)
        .and_then(|v| v.to_text())
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

/// Whether an alert satisfies the query's alert conditions (range, regions, severity, rule).
pub fn alert_matches(q: &StatsQuery, a: &Alert) -> bool {
    a.time >= q.from
        && a.time < q.to
        && q.in_regions(a.region)
        && q.min_severity.is_none_or(|s| a.severity >= s)
        && q.rule_id.as_deref().is_none_or(|r| a.rule.id == r)
}

/// Whether an incident satisfies the query's incident conditions (first seen in range,
/// regions, severity, rule).
pub fn incident_matches(q: &StatsQuery, i: &Incident) -> bool {
    i.first_seen >= q.from
        && i.first_seen < q.to
        && q.in_regions(i.region)
        && q.min_severity.is_none_or(|s| i.severity >= s)
        && q.rule_id
            .as_deref()
            .is_none_or(|r| i.rule_ids.iter().any(|x| x == r))
}

/// The values of `field` an alert counts once each.
pub fn alert_values(a: &Alert, field: TopField) -> Vec<String> {
    distinct_values(field, &a.entities, |f| match f {
        TopField::Rule => vec![a.rule.id.clone()],
        TopField::Tactic => a.rule.attack().tactics,
        TopField::Region => vec![a.region.to_string()],
        _ => vec![a.severity.as_str().to_owned()],
    })
}

/// The values of `field` an incident counts once each.
pub fn incident_values(i: &Incident, field: TopField) -> Vec<String> {
    distinct_values(field, &i.entities, |f| match f {
        TopField::Rule => i.rule_ids.clone(),
        TopField::Tactic => i.classification.tactics.clone(),
        TopField::Region => vec![i.region.to_string()],
        _ => vec![i.severity.as_str().to_owned()],
    })
}

/// A record's distinct values of `field`: its entities of the field's kind, none for
/// `source`, and `own` for the record's rule, tactic, region and severity.
fn distinct_values(
    field: TopField,
    entities: &[Entity],
    own: impl FnOnce(TopField) -> Vec<String>,
) -> Vec<String> {
    let mut v: Vec<String> = match field {
        TopField::Rule | TopField::Tactic | TopField::Region | TopField::Severity => own(field),
        TopField::Source => Vec::new(),
        f => entities
            .iter()
            .filter(|e| Some(e.kind) == f.entity_kind())
            .map(|e| e.value.clone())
            .collect(),
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// Counting of records held in memory, by their time and their values of a field.
#[derive(Debug, Default)]
pub struct Tally {
    pub counts: HashMap<String, u64>,
    pub titles: HashMap<String, String>,
}

impl Tally {
    pub fn add(&mut self, values: Vec<String>) {
        for v in values {
            *self.counts.entry(v).or_default() += 1;
        }
    }

    pub fn top(self, limit: usize) -> Top {
        Top::of(self.counts, limit, &self.titles)
    }
}

/// The sources of `events` (already limited to the query), by key.
pub fn sources_of<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<SourceStat> {
    let mut by: BTreeMap<String, SourceStat> = BTreeMap::new();
    for e in events {
        let s = by.entry(source_key(e)).or_insert_with_key(|k| SourceStat {
            source: k.clone(),
            region: e.region,
            count: 0,
            parse_errors: 0,
            last_seen: e.time,
        });
        s.count += 1;
        s.parse_errors += u64::from(e.parse_error.is_some());
        if e.time >= s.last_seen {
            s.last_seen = e.time;
            s.region = e.region;
        }
    }
    by.into_values().collect()
}

/// The value of `field` an event counts under (`None`: the event has none).
pub fn event_value(e: &Event, field: TopField) -> Option<String> {
    use onewall_model::event::names;
    let name = match field {
        TopField::SourceIp => names::SOURCE_IP,
        TopField::DestinationIp => names::DESTINATION_IP,
        TopField::HostName => names::HOST_NAME,
        TopField::UserName => names::USER_NAME,
        TopField::Region => return Some(e.region.to_string()),
        TopField::Source => return Some(source_key(e)),
        TopField::Rule | TopField::Tactic | TopField::Severity => return None,
    };
    e.fields
        .get(name)
        .and_then(|v| v.to_text())
        .map(|t| t.into_owned())
}

/// Whether an event satisfies the query's conditions that rollups can answer (region,
/// department, source); text and field filters are the store search's.
pub fn event_matches(q: &StatsQuery, e: &Event) -> bool {
    q.in_regions(e.region)
        && q.department
            .as_deref()
            .is_none_or(|d| department_of(e) == d)
        && q.source.as_deref().is_none_or(|s| source_key(e) == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_aligned_to_the_interval() {
        let m = 60 * Timestamp::NANOS_PER_SEC;
        let h = Histogram::empty(
            Timestamp(90 * Timestamp::NANOS_PER_SEC),
            Timestamp(5 * m),
            120,
        )
        .unwrap();
        assert_eq!(h.start, Timestamp(0));
        assert_eq!(h.buckets.len(), 3);
        assert!(Histogram::empty(Timestamp(0), Timestamp(2000 * m), 60).is_err());
        assert!(Histogram::empty(Timestamp(0), Timestamp(m), 30).is_err());
        let mut h = h;
        h.add(4 * m + 1, 2);
        h.add(6 * m, 9);
        assert_eq!(h.buckets, vec![0, 0, 2]);
    }

    #[test]
    fn top_keeps_the_largest_and_counts_the_rest() {
        let counts: HashMap<String, u64> = [("a", 3), ("b", 5), ("c", 1), ("d", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let t = Top::of(counts, 2, &HashMap::new());
        assert_eq!(t.distinct, 4);
        assert_eq!(t.other, 4);
        let v: Vec<&str> = t.items.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(v, ["b", "a"]);
    }
}
