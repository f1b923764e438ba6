//! Statistics of the embedded store: rollups written with the events, and the reads that
//! answer from them and from the alerts' tables.
//!
//! - `event_minutes`: per minute (of event time), region, department and source key, the
//!   events written, their parse errors and the latest event time. Written in the events'
//!   transaction, counting only rows actually inserted (a duplicate id counts nothing).
//! - `event_hours`: the same per hour, so a day is read from 24 rows per source rather than
//!   1,440 (ranges are read as whole hours in the middle and minutes at the edges).
//! - `event_hour_terms`: per hour, common field (`source.ip`, `destination.ip`, `host.name`,
//!   `user.name`), region, department and term, the events carrying it (top-N of events).
//! - `event_minute_totals`: per minute, the events of every region, department and source
//!   (histograms of the whole tree read one row per minute).
//! - `alert_terms`: per alert, its entity values and ATT&CK tactics (top-N of alerts).
//!
//! Retention drops the rollups with their days (and alert terms with their alerts).

use std::collections::HashMap;

use onewall_model::hash::FxMap;
use onewall_model::{Alert, Event, RegionCode, Severity, Timestamp};
use rusqlite::{Connection, params, params_from_iter};

use super::alert_rollup;
use super::backend;
use super::sql::Conditions;
use crate::Result;
use crate::stats::{Histogram, SourceStat, StatsQuery, Top, TopField};

const MINUTE: i64 = 60 * Timestamp::NANOS_PER_SEC;
const HOUR: i64 = 60 * MINUTE;

/// The rollup tables (part of the schema, idempotent).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS event_minutes (
    minute INTEGER NOT NULL,        -- event time / 60 s
    region INTEGER NOT NULL,
    department TEXT NOT NULL,       -- organization.name, '' for none
    source TEXT NOT NULL,           -- collector and peer address
    events INTEGER NOT NULL,
    parse_errors INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,     -- latest event time (ns)
    PRIMARY KEY (minute, region, department, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_hours (
    hour INTEGER NOT NULL,          -- event time / 3600 s; the same counts as event_minutes
    region INTEGER NOT NULL,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    events INTEGER NOT NULL,
    parse_errors INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (hour, region, department, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_minute_totals (
    minute INTEGER NOT NULL PRIMARY KEY, -- event time / 60 s; the sum of its event_minutes rows
    events INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_hour_terms (
    field INTEGER NOT NULL,         -- place in TERM_FIELDS
    hour INTEGER NOT NULL,          -- event time / 3600 s
    region INTEGER NOT NULL,
    department TEXT NOT NULL,
    term TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (field, hour, region, department, term)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_terms (
    field INTEGER NOT NULL,         -- place in TERM_FIELDS, or TACTIC
    time INTEGER NOT NULL,
    alert BLOB NOT NULL,
    term TEXT NOT NULL,
    region INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    PRIMARY KEY (field, time, alert, term)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_stats ON alerts (time, region, severity, rule_id);
";

/// The fields with term rollups, by place (their place in the common columns is the event's
/// encoded text's index: host 0, source 1, destination 2, user 3).
const TERM_FIELDS: [(TopField, usize); 4] = [
    (TopField::HostName, 0),
    (TopField::SourceIp, 1),
    (TopField::DestinationIp, 2),
    (TopField::UserName, 3),
];
/// The `alert_terms` field of ATT&CK tactics.
const TACTIC: i64 = 9;

fn term_field(f: TopField) -> Option<i64> {
    if f == TopField::Tactic {
        return Some(TACTIC);
    }
    TERM_FIELDS
        .iter()
        .position(|(t, _)| *t == f)
        .and_then(|p| i64::try_from(p).ok())
}

/// A minute rollup's key: minute (or hour), region, department, source (as [`Names`]).
type MinuteKey = (i64, u32, u32, u32);
/// Its counts: events, parse errors, latest event time.
type MinuteCounts = (i64, i64, i64);
/// A term rollup's key: hour, field, region, department, term (as [`Names`]).
type TermKey = (i64, usize, u32, u32, u32);

/// The texts of one batch's keys (departments, sources, terms), each held once: a key is
/// counted without allocating its text again.
#[derive(Debug, Default)]
struct Names {
    ids: FxMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Names {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.ids.insert(text.into(), id);
        self.texts.push(text.into());
        id
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }
}

/// What one write batch adds to the event rollups.
#[derive(Debug, Default)]
pub(super) struct Rollup {
    names: Names,
    minutes: FxMap<MinuteKey, MinuteCounts>,
    terms: FxMap<TermKey, i64>,
}

impl Rollup {
    /// Count an inserted event; `common` is its encoded common-field texts, `department`
    /// and `source` its keys.
    pub fn add(&mut self, e: &Event, common: &[Option<String>], department: &str, source: &str) {
        let (dept, src) = (self.names.id(department), self.names.id(source));
        let m = self
            .minutes
            .entry((e.time.0.div_euclid(MINUTE), e.region.get(), dept, src))
            .or_insert((0, 0, i64::MIN));
        m.0 += 1;
        m.1 += i64::from(e.parse_error.is_some());
        m.2 = m.2.max(e.time.0);
        let hour = e.time.0.div_euclid(HOUR);
        for (place, (_, col)) in TERM_FIELDS.iter().enumerate() {
            if let Some(Some(term)) = common.get(*col) {
                let term = self.names.id(term);
                *self
                    .terms
                    .entry((hour, place, e.region.get(), dept, term))
                    .or_default() += 1;
            }
        }
    }

    /// Add the batch to the rollup tables (inside the events' transaction); the hours are
    /// the batch's minutes summed.
    pub fn write(self, conn: &Connection) -> Result<()> {
        let mut hours: FxMap<MinuteKey, MinuteCounts> = FxMap::default();
        let mut totals: FxMap<i64, i64> = FxMap::default();
        for (&(minute, region, dept, src), &(n, errors, last)) in &self.minutes {
            *totals.entry(minute).or_default() += n;
            let h = hours
                .entry((minute.div_euclid(HOUR / MINUTE), region, dept, src))
                .or_insert((0, 0, i64::MIN));
            h.0 += n;
            h.1 += errors;
            h.2 = h.2.max(last);
        }
        for (table, unit, rows) in [
            ("event_minutes", "minute", self.minutes),
            ("event_hours", "hour", hours),
        ] {
            let mut m = conn.prepare_cached(&format!(
                "INSERT INTO {table} ({unit}, region, department, source, events, parse_errors, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO UPDATE SET events = events + excluded.events,
                     parse_errors = parse_errors + excluded.parse_errors,
                     last_seen = max(last_seen, excluded.last_seen)"
            ))?;
            for ((at, region, dept, source), (n, errors, last)) in rows {
                let (dept, source) = (self.names.text(dept), self.names.text(source));
                m.execute(params![at, region, dept, source, n, errors, last])?;
            }
        }
        let mut m = conn.prepare_cached(
            "INSERT INTO event_minute_totals (minute, events) VALUES (?1, ?2)
             ON CONFLICT DO UPDATE SET events = events + excluded.events",
        )?;
        for (minute, n) in totals {
            m.execute(params![minute, n])?;
        }
        let mut t = conn.prepare_cached(
            "INSERT INTO event_hour_terms (field, hour, region, department, term, events)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO UPDATE SET events = events + excluded.events",
        )?;
        for ((hour, field, region, dept, term), n) in self.terms {
            t.execute(params![
                i64::try_from(field).unwrap_or(0),
                hour,
                region,
                self.names.text(dept),
                self.names.text(term),
                n
            ])?;
        }
        Ok(())
    }
}

/// Drop the event rollups before `cutoff` (the first kept day's midnight).
pub(super) fn drop_before(conn: &Connection, cutoff: Timestamp) -> Result<()> {
    conn.execute(
        "DELETE FROM event_minutes WHERE minute < ?1",
        [cutoff.0.div_euclid(MINUTE)],
    )?;
    conn.execute(
        "DELETE FROM event_minute_totals WHERE minute < ?1",
        [cutoff.0.div_euclid(MINUTE)],
    )?;
    conn.execute(
        "DELETE FROM event_hours WHERE hour < ?1",
        [cutoff.0.div_euclid(HOUR)],
    )?;
    for place in 0..TERM_FIELDS.len() {
        conn.execute(
            "DELETE FROM event_hour_terms WHERE field = ?1 AND hour < ?2",
            params![i64::try_from(place).unwrap_or(0), cutoff.0.div_euclid(HOUR)],
        )?;
    }
    Ok(())
}

/// Sum the minute rollup into the minute totals (the upgrade from version 3).
pub(super) fn backfill_minute_totals(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM event_minute_totals;
         INSERT INTO event_minute_totals (minute, events)
         SELECT minute, sum(events) FROM event_minutes GROUP BY minute;",
    )?;
    Ok(())
}

/// Write an inserted alert's terms; returns them (field, term).
pub(super) fn write_alert_terms(conn: &Connection, a: &Alert) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO alert_terms (field, time, alert, term, region, severity, rule_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let id = a.id.to_bytes();
    let mut terms = Vec::new();
    let mut put = |field: i64, term: String| {
        if stmt.execute(params![
            field,
            a.time.0,
            &id[..],
            term,
            a.region.get(),
            a.severity as i64,
            a.rule.id
        ])? > 0
        {
            terms.push((field, term));
        }
        Ok::<_, rusqlite::Error>(())
    };
    for (place, (f, _)) in TERM_FIELDS.iter().enumerate() {
        for v in crate::stats::alert_values(a, *f) {
            put(i64::try_from(place).unwrap_or(0), v)?;
        }
    }
    let mut tactics = a.rule.attack().tactics;
    tactics.sort_unstable();
    tactics.dedup();
    for t in tactics {
        put(TACTIC, t)?;
    }
    Ok(terms)
}

/// The rows of the minute and hour rollups covering `q`'s range (whole hours from
/// `event_hours` when `hours`, the minutes at the edges from `event_minutes`), limited to its
/// regions, department and source: a subquery with columns `m` (the row's first minute),
/// `region`, `department`, `source`, `events`, `parse_errors`, `last_seen`. The minute holding
/// `from` counts.
fn rollup_rows(q: &StatsQuery, hours: bool, c: &mut Conditions) -> String {
    let lo = q.from.0.div_euclid(MINUTE);
    let hi = (q.to.0 + MINUTE - 1).div_euclid(MINUTE);
    let (h_lo, h_hi) = if hours {
        ((lo + 59).div_euclid(60), hi.div_euclid(60))
    } else {
        (0, 0)
    };
    let mut branches = Vec::new();
    let cols = "region, department, source, events, parse_errors, last_seen";
    let mut branch = |c: &mut Conditions, table: &str, unit: &str, m: &str, lo: i64, hi: i64| {
        let mut w = vec![
            format!("{unit} >= {}", c.bind(lo)),
            format!("{unit} < {}", c.bind(hi)),
        ];
        if !q.regions.is_empty() {
            let list: Vec<String> = q.regions.iter().map(|r| r.get().to_string()).collect();
            let p = c.bind(format!("[{}]", list.join(",")));
            w.push(format!("region IN (SELECT value FROM json_each({p}))"));
        }
        if let Some(d) = &q.department {
            w.push(format!("department = {}", c.bind(d.clone())));
        }
        if let Some(src) = &q.source {
            w.push(format!("source = {}", c.bind(src.clone())));
        }
        branches.push(format!(
            "SELECT {m} AS m, {cols} FROM {table} WHERE {}",
            w.join(" AND ")
        ));
    };
    if h_lo < h_hi {
        branch(c, "event_minutes", "minute", "minute", lo, h_lo * 60);
        branch(c, "event_hours", "hour", "hour * 60", h_lo, h_hi);
        branch(c, "event_minutes", "minute", "minute", h_hi * 60, hi);
    } else {
        branch(c, "event_minutes", "minute", "minute", lo, hi);
    }
    format!("({})", branches.join(" UNION ALL "))
}

/// The rollups' conditions of a term query: regions, department.
fn term_conditions(q: &StatsQuery) -> Conditions {
    let mut c = Conditions::default();
    c.regions(&q.regions);
    if let Some(d) = &q.department {
        let p = c.bind(d.clone());
        c.push(format!("department = {p}"));
    }
    c
}

/// Units `[lo, hi)` of `unit` ns covering `[from, to)`: the unit holding `from` counts.
fn units(q: &StatsQuery, unit: i64) -> (i64, i64) {
    (
        q.from.0.div_euclid(unit),
        (q.to.0 + unit - 1).div_euclid(unit),
    )
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Events per interval, from the rollups (hours for intervals of whole hours).
pub(super) fn event_histogram(
    conn: &Connection,
    q: &StatsQuery,
    interval_secs: i64,
) -> Result<Histogram> {
    let mut h = Histogram::empty(q.from, q.to, interval_secs)?;
    let mut c = Conditions::default();
    let sql = if q.regions.is_empty() && q.department.is_none() && q.source.is_none() {
        // The whole tree: one row per minute.
        let (lo, hi) = units(q, MINUTE);
        c.range("minute", Some(lo), Some(hi));
        format!(
            "SELECT minute, events FROM event_minute_totals {}",
            c.where_clause()
        )
    } else {
        let rows = rollup_rows(q, interval_secs % 3600 == 0, &mut c);
        format!("SELECT m, sum(events) FROM {rows} GROUP BY m")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(c.params()))?;
    while let Some(r) = rows.next()? {
        h.add(r.get::<_, i64>(0)? * MINUTE, count(r.get(1)?));
    }
    Ok(h)
}

/// Run `sql` (two columns: a value and a count) and tally the values.
fn tally(conn: &Connection, sql: &str, c: &Conditions) -> Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    tally_into(conn, sql, c, &mut out)?;
    Ok(out)
}

/// Run `sql` (two columns: a value and a count) and add the values to `out`.
fn tally_into(
    conn: &Connection,
    sql: &str,
    c: &Conditions,
    out: &mut HashMap<String, u64>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(c.params()))?;
    while let Some(r) = rows.next()? {
        let v = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            _ => continue,
        };
        *out.entry(v).or_default() += count(r.get(1)?);
    }
    Ok(())
}

/// The top values of an event field, from the rollups; `None` when they cannot answer (a
/// term field with a source condition).
pub(super) fn event_top(
    conn: &Connection,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Option<Top>> {
    let counts = match field {
        TopField::Region | TopField::Source => {
            let mut c = Conditions::default();
            let rows = rollup_rows(q, true, &mut c);
            let col = if field == TopField::Region {
                "region"
            } else {
                "source"
            };
            let sql = format!("SELECT {col}, sum(events) FROM {rows} GROUP BY {col}");
            tally(conn, &sql, &c)?
        }
        f => {
            let Some(place) = term_field(f).filter(|p| *p != TACTIC) else {
                return Ok(Some(Top::default()));
            };
            if q.source.is_some() {
                return Ok(None);
            }
            let mut c = term_conditions(q);
            let p = c.bind(place);
            c.push(format!("field = {p}"));
            let (lo, hi) = units(q, HOUR);
            c.range("hour", Some(lo), Some(hi));
            let sql = format!(
                "SELECT term, sum(events) FROM event_hour_terms {} GROUP BY term",
                c.where_clause()
            );
            tally(conn, &sql, &c)?
        }
    };
    Ok(Some(Top::of(counts, limit, &HashMap::new())))
}

/// Each source's events, from the minute rollup.
pub(super) fn event_sources(conn: &Connection, q: &StatsQuery) -> Result<Vec<SourceStat>> {
    let mut c = Conditions::default();
    let rows = rollup_rows(q, true, &mut c);
    // The region of the latest row (SQLite takes the bare column from the max() row).
    let sql = format!(
        "SELECT source, region, sum(events), sum(parse_errors), max(last_seen)
         FROM {rows} GROUP BY source ORDER BY source"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(c.params()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let region: i64 = r.get(1)?;
        out.push(SourceStat {
            source: r.get(0)?,
            region: u32::try_from(region)
                .ok()
                .and_then(|r| RegionCode::new(r).ok())
                .ok_or_else(|| {
                    backend(format_args!("event_minutes holds a bad region {region}"))
                })?,
            count: count(r.get(2)?),
            parse_errors: count(r.get(3)?),
            last_seen: Timestamp(r.get(4)?),
        });
    }
    Ok(out)
}

/// The alert conditions of `q` on a table with `time`, `region`, `severity`, `rule_id`.
fn alert_conditions(q: &StatsQuery) -> Conditions {
    let mut c = Conditions::default();
    c.range("time", Some(q.from.0), Some(q.to.0));
    c.regions(&q.regions);
    if let Some(s) = q.min_severity {
        let p = c.bind(s as i64);
        c.push(format!("severity >= {p}"));
    }
    if let Some(r) = &q.rule_id {
        let p = c.bind(r.clone());
        c.push(format!("rule_id = {p}"));
    }
    c
}

/// Alerts per interval.
pub(super) fn alert_histogram(
    conn: &Connection,
    q: &StatsQuery,
    interval_secs: i64,
) -> Result<Histogram> {
    let mut h = Histogram::empty(q.from, q.to, interval_secs)?;
    let mut c = alert_conditions(q);
    let step = interval_secs * Timestamp::NANOS_PER_SEC;
    let start = c.bind(h.start.0);
    let stepp = c.bind(step);
    let sql = format!(
        "SELECT ((time - {start}) / {stepp}) * {stepp} + {start}, count(*) FROM alerts {} GROUP BY 1",
        c.where_clause()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(c.params()))?;
    while let Some(r) = rows.next()? {
        h.add(r.get(0)?, count(r.get(1)?));
    }
    Ok(h)
}

/// The top values of an alert field: whole hours from the hourly rollup, the range's edges
/// (or a query naming a rule) from the alerts' rows.
pub(super) fn alert_top(
    conn: &Connection,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Top> {
    if field == TopField::Source {
        return Ok(Top::default());
    }
    let mut counts = HashMap::new();
    // The top regions of the whole tree group the alerts' table (the rollup would read
    // every region's hours of all time).
    let split =
        alert_rollup::split(q).filter(|_| !(field == TopField::Region && q.regions.is_empty()));
    match split {
        Some((hours, edges)) => {
            rolled_alert_counts(conn, q, field, hours, &mut counts)?;
            for (from, to) in edges {
                let edge = StatsQuery {
                    from: Timestamp(from),
                    to: Timestamp(to),
                    ..q.clone()
                };
                alert_counts(conn, &edge, field, &mut counts)?;
            }
        }
        None => alert_counts(conn, q, field, &mut counts)?,
    }
    let counts = if field == TopField::Severity {
        counts
            .into_iter()
            .map(|(k, n)| {
                let name = k
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| Severity::ALL.get(i))
                    .map_or(k, |s| s.as_str().to_owned());
                (name, n)
            })
            .collect()
    } else {
        counts
    };
    let mut top = Top::of(counts, limit, &HashMap::new());
    if field == TopField::Rule {
        let mut stmt = conn.prepare_cached(
            "SELECT json_extract(body, '$.rule.title') FROM alerts WHERE rule_id = ?1
             ORDER BY time DESC LIMIT 1",
        )?;
        for item in &mut top.items {
            item.title = stmt
                .query_row([&item.value], |r| r.get::<_, Option<String>>(0))
                .ok()
                .flatten();
        }
    }
    Ok(top)
}

/// Add the alerts of `q` to `out` by their values of `field`, from the alerts' rows.
fn alert_counts(
    conn: &Connection,
    q: &StatsQuery,
    field: TopField,
    out: &mut HashMap<String, u64>,
) -> Result<()> {
    let mut c = alert_conditions(q);
    let sql = match field {
        TopField::Rule | TopField::Region | TopField::Severity => {
            let col = match field {
                TopField::Rule => "rule_id",
                TopField::Region => "region",
                _ => "severity",
            };
            format!(
                "SELECT {col}, count(*) FROM alerts {} GROUP BY {col}",
                c.where_clause()
            )
        }
        f => {
            let place = term_field(f).unwrap_or(TACTIC);
            let p = c.bind(place);
            c.push(format!("field = {p}"));
            format!(
                "SELECT term, count(*) FROM alert_terms {} GROUP BY term",
                c.where_clause()
            )
        }
    };
    tally_into(conn, &sql, &c, out)
}

/// Add the alerts of `q`'s whole hours `[lo, hi)` to `out` by their values of `field`, from
/// the hourly rollup (severities as their rank, as [`alert_counts`] reads them).
fn rolled_alert_counts(
    conn: &Connection,
    q: &StatsQuery,
    field: TopField,
    hours: (i64, i64),
    out: &mut HashMap<String, u64>,
) -> Result<()> {
    let sum = alert_rollup::severity_sum(q);
    let (place, col) = match field {
        TopField::Rule => (alert_rollup::RULE, "term"),
        TopField::Region => (alert_rollup::RULE, "region"),
        TopField::Severity => (alert_rollup::RULE, ""),
        f => (term_field(f).unwrap_or(TACTIC), "term"),
    };
    let c = alert_rollup::conditions(q, place, hours);
    if field == TopField::Severity {
        let sql = format!(
            "SELECT sum(s0), sum(s1), sum(s2), sum(s3), sum(s4) FROM alert_hour_terms {}",
            c.where_clause()
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let sums: [Option<i64>; 5] = stmt.query_row(params_from_iter(c.params()), |r| {
            Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
        })?;
        let from = q.min_severity.map_or(0, |s| s as usize);
        for (rank, n) in sums.into_iter().enumerate().skip(from) {
            if let Some(n) = n.filter(|n| *n > 0) {
                *out.entry(rank.to_string()).or_default() += count(n);
            }
        }
        return Ok(());
    }
    let sql = format!(
        "SELECT {col}, {sum} FROM alert_hour_terms {}",
        c.where_clause()
    );
    tally_into(conn, &sql, &c, out)
}
