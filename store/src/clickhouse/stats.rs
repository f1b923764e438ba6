//! Statistics on ClickHouse: `GROUP BY` over the events and alerts tables (ClickHouse 18.16
//! and later), partition-pruned by day. Queries the grouping cannot answer (event text and
//! field filters, incidents) go through the searches (`crate::stats_generic`); alerts' entity
//! values and tactics are extracted from their bodies by the server.

use std::collections::HashMap;

use clickhouse::{Client, Row};
use onewall_model::{RegionCode, Severity, Timestamp};
use serde::Deserialize;

use super::Culprit;
use super::records::Conditions;
use crate::Result;
use crate::stats::{DEPARTMENT_FIELD, Histogram, SourceStat, StatsQuery, Top, TopField};

/// An event's source key (`collector` and the peer's address without its port), as
/// [`crate::stats::source_key`] makes it.
const SOURCE_KEY: &str = "if(isNull(peer), toString(collector), concat(toString(collector), ' ', \
     if(startsWith(assumeNotNull(peer), '['), \
        substring(assumeNotNull(peer), 2, position(assumeNotNull(peer), ']') - 2), \
        splitByChar(':', assumeNotNull(peer))[1])))";

/// The per-minute rollup of the events (one server; a cluster groups the events table):
/// filled by a materialized view on every insert, so each insert block adds one row per
/// minute, region, department (its typed text in `field_values`) and source it holds, and
/// reads sum them. Partitioned by day, dropped with the events' days.
const ROLLUP_TABLE: &str = "CREATE TABLE IF NOT EXISTS event_minutes (
    day UInt32, minute Int64, region UInt32, department String, source String,
    n UInt64, errors UInt64, last Int64
) ENGINE = MergeTree() PARTITION BY day ORDER BY (minute, region, department, source)";

/// The hourly rollup of the events (one server), beside the minute one: an
/// `AggregatingMergeTree` whose rows of one hour, region, department and source merge into
/// one, so a day's sources are read from a few thousand rows whatever the insert blocks were
/// (the minute rollup holds a row per minute, source and insert block: about half a million
/// a day at 10 M events). Ranges read their whole hours here and the minutes at their edges
/// from `event_minutes`.
const HOURS_TABLE: &str = "CREATE TABLE IF NOT EXISTS event_hours (
    day UInt32, hour Int64, region UInt32, department String, source String,
    n AggregateFunction(count), errors AggregateFunction(sum, UInt64),
    last AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree() PARTITION BY day ORDER BY (hour, region, department, source)";

fn hours_select() -> String {
    format!(
        "SELECT day, intDiv(time, 3600000000000) AS hour, region, \
         field_values[indexOf(field_names, '{DEPARTMENT_FIELD}')] AS department, \
         {SOURCE_KEY} AS source, countState() AS n, \
         sumState(toUInt64(isNotNull(parse_error))) AS errors, maxState(time) AS last \
         FROM events GROUP BY day, hour, region, department, source"
    )
}

/// The latest title of each rule that raised an alert (one server), so the top rules get
/// their titles without reading alert bodies: a row per rule and insert block, merged to one
/// per rule in the background.
const RULE_TITLES_TABLE: &str = "CREATE TABLE IF NOT EXISTS rule_titles (
    rule_id String, latest Int64, title String
) ENGINE = ReplacingMergeTree() ORDER BY rule_id";

fn rule_titles_select() -> String {
    "SELECT toString(rule_id) AS rule_id, max(time) AS latest, \
     argMax(visitParamExtractString(body, 'title'), time) AS title FROM alerts GROUP BY rule_id"
        .to_owned()
}

fn rollup_select() -> String {
    format!(
        "SELECT day, intDiv(time, 60000000000) AS minute, region, \
         field_values[indexOf(field_names, '{DEPARTMENT_FIELD}')] AS department, \
         {SOURCE_KEY} AS source, count() AS n, countIf(isNotNull(parse_error)) AS errors, \
         max(time) AS last FROM events GROUP BY day, minute, region, department, source"
    )
}

/// The values of `f` in an alert's body, as a ClickHouse array expression.
fn body_terms(f: TopField) -> Option<String> {
    match f.entity_kind() {
        Some(kind) => Some(format!(
            "extractAll(body, '\"kind\":\"{}\",\"value\":\"([^\"]*)\"')",
            kind.as_str()
        )),
        None if f == TopField::Tactic => Some(
            "extractAll(arrayStringConcat(extractAll(body, '\"tactics\":\\\\[([^\\\\]]*)\\\\]'), ','), \
                 '\"([^\"]*)\"')"
                .to_owned(),
        ),
        None => None,
    }
}

/// Each alert's entity values and tactics, one row each (field 1–4: source and destination
/// address, host, user; 5: tactic), filled by a materialized view from the alerts' bodies so
/// the top values are grouped without reading the bodies again. Dropped with the alerts'
/// months.
const ALERT_TERMS_TABLE: &str = "CREATE TABLE IF NOT EXISTS alert_terms (
    month UInt32, time Int64, id FixedString(16), region UInt32, severity UInt8,
    rule_id String, field UInt8, term String
) ENGINE = MergeTree() PARTITION BY month ORDER BY (field, time, id)";

/// The field number of `f` in `alert_terms`.
fn alert_term_field(f: TopField) -> Option<u8> {
    match f {
        TopField::SourceIp => Some(1),
        TopField::DestinationIp => Some(2),
        TopField::HostName => Some(3),
        TopField::UserName => Some(4),
        TopField::Tactic => Some(5),
        _ => None,
    }
}

fn alert_terms_select() -> String {
    let mut arrays = Vec::new();
    for f in [
        TopField::SourceIp,
        TopField::DestinationIp,
        TopField::HostName,
        TopField::UserName,
        TopField::Tactic,
    ] {
        if let (Some(k), Some(expr)) = (alert_term_field(f), body_terms(f)) {
            arrays.push(format!("arrayMap(x -> tuple(toUInt8({k}), x), {expr})"));
        }
    }
    format!(
        "SELECT month, time, id, region, severity, toString(rule_id) AS rule_id, \
         tupleElement(ft, 1) AS field, tupleElement(ft, 2) AS term \
         FROM alerts ARRAY JOIN arrayConcat({}) AS ft",
        arrays.join(", ")
    )
}

/// Create `table` (`ddl`) and its view `view` (`select`) when absent, filling the table from
/// what `select` reads now (the store is opened before anything writes).
async fn create_view(
    client: &Client,
    culprit: &Culprit,
    (table, view, ddl, select): (&str, &str, &str, String),
) -> Result<()> {
    let err = |e| culprit.error(&format!("creating {table}"), e);
    let exists: u64 = client
        .query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?")
        .bind(view)
        .fetch_one()
        .await
        .map_err(err)?;
    if exists > 0 {
        return Ok(());
    }
    client.query(ddl).execute().await.map_err(err)?;
    client
        .query(&format!("INSERT INTO {table} {select}"))
        .execute()
        .await
        .map_err(err)?;
    client
        .query(&format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {view} TO {table} AS {select}"
        ))
        .execute()
        .await
        .map_err(err)?;
    Ok(())
}

/// Create the events rollups, the rule titles and the alerts' terms with their views when
/// absent (a store of an earlier version gets those it lacks, filled from what it holds).
pub(super) async fn create_rollup(client: &Client, culprit: &Culprit) -> Result<()> {
    for rollup in [
        (
            "event_minutes",
            "event_minutes_mv",
            ROLLUP_TABLE,
            rollup_select(),
        ),
        ("event_hours", "event_hours_mv", HOURS_TABLE, hours_select()),
        (
            "rule_titles",
            "rule_titles_mv",
            RULE_TITLES_TABLE,
            rule_titles_select(),
        ),
        (
            "alert_terms",
            "alert_terms_mv",
            ALERT_TERMS_TABLE,
            alert_terms_select(),
        ),
    ] {
        create_view(client, culprit, rollup).await?;
    }
    Ok(())
}

/// The minutes of `q`: the one holding `from` counts, the one holding `to` does not unless
/// `to` is past its start.
fn minutes(q: &StatsQuery) -> (i64, i64) {
    let lo = q.from.0.div_euclid(60 * Timestamp::NANOS_PER_SEC);
    let hi = (q.to.0 + 60 * Timestamp::NANOS_PER_SEC - 1).div_euclid(60 * Timestamp::NANOS_PER_SEC);
    (lo, hi)
}

/// The rollup's conditions for `q`: its minutes (the one holding `from` counts), days,
/// regions, department, source.
fn rollup_conditions(q: &StatsQuery) -> Conditions {
    let mut c = Conditions::default();
    let (lo, hi) = minutes(q);
    c.range("minute", Some(lo), Some(hi));
    rollup_scope(&mut c, q);
    c
}

/// A range `[lo, hi)` of hours or minutes.
type Span = (i64, i64);

/// The minutes of `q` split into the whole hours inside them and the minutes at their edges:
/// `(hours, edges)`, hours as `[first, end)`, edges as minute ranges `[lo, hi)`.
fn split_hours(q: &StatsQuery) -> (Option<Span>, Vec<Span>) {
    let (lo, hi) = minutes(q);
    let (h_lo, h_hi) = (
        lo.div_euclid(60) + i64::from(lo.rem_euclid(60) != 0),
        hi.div_euclid(60),
    );
    if h_lo >= h_hi {
        return (None, vec![(lo, hi)]);
    }
    let edges = [(lo, h_lo * 60), (h_hi * 60, hi)]
        .into_iter()
        .filter(|(a, b)| a < b)
        .collect();
    (Some((h_lo, h_hi)), edges)
}

/// The events of `q` per source and region, from the hourly rollup and the minutes at the
/// edges: a subquery of rows `(source, region, k, e, l)` (events, parse errors, latest time)
/// and its conditions, whose strings are bound in the order of the text.
fn rollup_per_source(q: &StatsQuery) -> (String, Conditions) {
    let (hours, edges) = split_hours(q);
    let mut c = Conditions::default();
    let mut parts = Vec::new();
    if let Some((h_lo, h_hi)) = hours {
        let mut w = Conditions::default();
        w.range("hour", Some(h_lo), Some(h_hi));
        rollup_scope(&mut w, q);
        parts.push(format!(
            "SELECT source, region, countMerge(n) AS k, sumMerge(errors) AS e, \
             maxMerge(last) AS l FROM event_hours {} GROUP BY source, region",
            w.where_clause()
        ));
        c.absorb(w);
    }
    for (lo, hi) in edges {
        let mut w = Conditions::default();
        w.range("minute", Some(lo), Some(hi));
        rollup_scope(&mut w, q);
        parts.push(format!(
            "SELECT source, region, sum(n) AS k, sum(errors) AS e, max(last) AS l \
             FROM event_minutes {} GROUP BY source, region",
            w.where_clause()
        ));
        c.absorb(w);
    }
    (format!("({})", parts.join(" UNION ALL ")), c)
}

/// A rollup's days, regions, department and source for `q`.
fn rollup_scope(c: &mut Conditions, q: &StatsQuery) {
    c.push(format!("day >= {}", q.from.yyyymmdd()));
    c.push(format!(
        "day <= {}",
        Timestamp(q.to.0.saturating_sub(1)).yyyymmdd()
    ));
    c.regions(&q.regions);
    if let Some(d) = &q.department {
        let alternatives: Vec<String> = super::events::filter_texts(d)
            .iter()
            .map(|t| c.bind(t).to_owned())
            .collect();
        c.push(format!("department IN ({})", alternatives.join(", ")));
    }
    if let Some(s) = &q.source {
        let p = c.bind(s);
        c.push(format!("source = {p}"));
    }
}

/// Events per interval from the rollup.
pub(super) async fn rollup_histogram(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
    interval_secs: i64,
) -> Result<Histogram> {
    let h = Histogram::empty(q.from, q.to, interval_secs)?;
    let over = Grouped {
        time: "minute * 60000000000",
        // Not `AS n`: ClickHouse would read the alias inside its own aggregate.
        count: "sum(n) AS total",
        table: "event_minutes",
    };
    over.count(client, culprit, rollup_conditions(q), h).await
}

/// What a histogram groups: the time in nanoseconds, the count per group (with its alias),
/// the table.
struct Grouped<'a> {
    time: &'a str,
    count: &'a str,
    table: &'a str,
}

impl Grouped<'_> {
    /// Count into `h`'s intervals the rows of the table that `c` selects.
    async fn count(
        &self,
        client: &Client,
        culprit: &Culprit,
        c: Conditions,
        mut h: Histogram,
    ) -> Result<Histogram> {
        let step = h.interval_secs * Timestamp::NANOS_PER_SEC;
        let sql = format!(
            "SELECT intDiv({time} - {start}, {step}) AS b, {count} FROM {table} {} GROUP BY b",
            c.where_clause(),
            time = self.time,
            count = self.count,
            table = self.table,
            start = h.start.0,
        );
        let rows: Vec<Bucket> = c
            .apply(client.query(&sql))
            .fetch_all()
            .await
            .map_err(|e| culprit.error("counting over time", e))?;
        for r in rows {
            h.add(h.start.0 + r.b * step, r.n);
        }
        Ok(h)
    }
}

/// The top regions or sources of events from the rollup.
pub(super) async fn rollup_top(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Top> {
    let (rows, c) = rollup_per_source(q);
    let key = if field == TopField::Region {
        "toString(region)"
    } else {
        "source"
    };
    let sql = format!("SELECT {key} AS key, sum(k) AS total, '' AS title FROM {rows} GROUP BY key");
    top_of(client, culprit, &c, &sql, limit, false).await
}

/// Each source's events from the rollup.
pub(super) async fn rollup_sources(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
) -> Result<Vec<SourceStat>> {
    let (rows, c) = rollup_per_source(q);
    let sql = format!(
        "SELECT source AS key, argMax(region, l) AS latest_region, sum(k) AS total, \
         sum(e) AS errs, max(l) AS latest FROM {rows} GROUP BY key ORDER BY key"
    );
    read_sources(client, culprit, &c, &sql).await
}

#[derive(Debug, Row, Deserialize)]
struct Bucket {
    b: i64,
    n: u64,
}

#[derive(Debug, Row, Deserialize)]
struct KeyCount {
    key: String,
    n: u64,
    title: String,
}

#[derive(Debug, Row, Deserialize)]
struct KeyTitle {
    key: String,
    title: String,
}

#[derive(Debug, Row, Deserialize)]
struct SourceRow {
    key: String,
    latest_region: u32,
    n: u64,
    errors: u64,
    last: i64,
}

/// The conditions of an event query the grouping answers: range (and its day partitions),
/// regions, department, source.
fn event_conditions(q: &StatsQuery) -> Conditions {
    let mut c = Conditions::default();
    c.range("time", Some(q.from.0), Some(q.to.0));
    c.push(format!("day >= {}", q.from.yyyymmdd()));
    c.push(format!(
        "day <= {}",
        Timestamp(q.to.0.saturating_sub(1)).yyyymmdd()
    ));
    c.regions(&q.regions);
    if let Some(d) = &q.department {
        // As the event list's department filter: the field's value in any typed spelling.
        let alternatives: Vec<String> = super::events::filter_texts(d)
            .iter()
            .map(|t| format!("fval = {}", c.bind(t)))
            .collect();
        c.push(format!(
            "arrayExists((fname, fval) -> fname = '{DEPARTMENT_FIELD}' AND ({}), field_names, field_values)",
            alternatives.join(" OR ")
        ));
    }
    if let Some(s) = &q.source {
        let p = c.bind(s);
        c.push(format!("{SOURCE_KEY} = {p}"));
    }
    c
}

fn alert_conditions(q: &StatsQuery) -> Conditions {
    let mut c = Conditions::default();
    c.range("time", Some(q.from.0), Some(q.to.0));
    c.push(format!("month >= {}", q.from.yyyymmdd() / 100));
    c.push(format!(
        "month <= {}",
        Timestamp(q.to.0.saturating_sub(1)).yyyymmdd() / 100
    ));
    c.regions(&q.regions);
    if let Some(s) = q.min_severity {
        c.push(format!("severity >= {}", s as u8));
    }
    if let Some(r) = &q.rule_id {
        let p = c.bind(r);
        c.push(format!("rule_id = {p}"));
    }
    c
}

/// Counts per interval of the events (`table` = `events`) or alerts of `q`.
pub(super) async fn histogram(
    client: &Client,
    culprit: &Culprit,
    table: &str,
    q: &StatsQuery,
    interval_secs: i64,
) -> Result<Histogram> {
    let h = Histogram::empty(q.from, q.to, interval_secs)?;
    let c = if table == "events" {
        event_conditions(q)
    } else {
        alert_conditions(q)
    };
    let over = Grouped {
        time: "time",
        count: "count() AS n",
        table,
    };
    over.count(client, culprit, c, h).await
}

/// The top values of `field` over events, or `None` when the grouping cannot answer.
pub(super) async fn event_top(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Option<Top>> {
    let mut c = event_conditions(q);
    let key = match field {
        TopField::Region => "toString(region)".to_owned(),
        TopField::Source => SOURCE_KEY.to_owned(),
        TopField::SourceIp => common(&mut c, "source_ip"),
        TopField::DestinationIp => common(&mut c, "destination_ip"),
        TopField::HostName => common(&mut c, "host_name"),
        TopField::UserName => common(&mut c, "user_name"),
        TopField::Rule | TopField::Tactic | TopField::Severity => {
            return Ok(Some(Top::default()));
        }
    };
    let sql = if field == TopField::Source {
        // Grouped by the columns first: the key is built once per sender, not per event.
        format!(
            "SELECT {key} AS key, sum(k) AS n, '' AS title FROM \
             (SELECT collector, peer, count() AS k FROM events {} GROUP BY collector, peer) \
             GROUP BY key",
            c.where_clause()
        )
    } else {
        format!(
            "SELECT {key} AS key, count() AS n, '' AS title FROM events {} GROUP BY key",
            c.where_clause()
        )
    };
    top_of(client, culprit, &c, &sql, limit, false)
        .await
        .map(Some)
}

/// A common column's value, for rows that have it.
fn common(c: &mut Conditions, col: &str) -> String {
    c.push(format!("isNotNull({col})"));
    format!("assumeNotNull({col})")
}

/// The top values of `field` over alerts, or `None` when the grouping cannot answer (entity
/// values and tactics live in the alert's body).
pub(super) async fn alert_top(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Option<Top>> {
    let c = alert_conditions(q);
    let (key, title) = match field {
        // Titles are read for the top rules only, afterwards: `any(…)` over the bodies
        // would decode every alert's body in the range (114 ms of a 10 M-event overview).
        TopField::Rule => ("toString(rule_id)", "''"),
        TopField::Region => ("toString(region)", "''"),
        TopField::Severity => ("toString(severity)", "''"),
        TopField::Source => return Ok(Some(Top::default())),
        f if culprit.layout.cluster.is_none() => {
            return alert_terms_top(client, culprit, q, f, limit)
                .await
                .map(Some);
        }
        f => return body_top(client, culprit, &c, f, limit).await.map(Some),
    };
    let sql = format!(
        "SELECT {key} AS key, count() AS n, {title} AS title FROM alerts {} GROUP BY key",
        c.where_clause()
    );
    let severity = field == TopField::Severity;
    let mut top = top_of(client, culprit, &c, &sql, limit, severity).await?;
    if field == TopField::Rule {
        rule_titles(client, culprit, &mut top).await?;
    }
    Ok(Some(top))
}

/// The title of each top rule, from one of its alerts (`LIMIT 1` per rule: the scan stops at
/// the first granule holding the rule).
async fn rule_titles(client: &Client, culprit: &Culprit, top: &mut Top) -> Result<()> {
    if top.items.is_empty() {
        return Ok(());
    }
    let sql = if culprit.layout.cluster.is_none() {
        // The latest title of each, from the rule titles (a few rows per rule).
        let marks = vec!["?"; top.items.len()].join(", ");
        format!(
            "SELECT rule_id AS key, argMax(title, latest) AS title FROM rule_titles \
             WHERE rule_id IN ({marks}) GROUP BY key"
        )
    } else {
        // No constant column: 18.16 refuses one in a UNION ALL over a Distributed table.
        let one = "(SELECT toString(rule_id) AS key, \
                   visitParamExtractString(body, 'title') AS title FROM alerts \
                   WHERE rule_id = ? LIMIT 1)";
        vec![one; top.items.len()].join(" UNION ALL ")
    };
    let mut q = client.query(&sql);
    for item in &top.items {
        q = q.bind(item.value.as_str());
    }
    let rows: Vec<KeyTitle> = q
        .fetch_all()
        .await
        .map_err(|e| culprit.error("reading rule titles", e))?;
    let titles: HashMap<String, String> = rows.into_iter().map(|r| (r.key, r.title)).collect();
    for item in &mut top.items {
        item.title = titles.get(&item.value).filter(|t| !t.is_empty()).cloned();
    }
    Ok(())
}

/// The top entity values or tactics of alerts, read from their bodies (each alert counts a
/// value once): entities as `{"kind":K,"value":V}`, tactics in the rule's `attack.tactics`.
/// A value holding an escaped quote is cut at it.
async fn body_top(
    client: &Client,
    culprit: &Culprit,
    c: &Conditions,
    field: TopField,
    limit: usize,
) -> Result<Top> {
    let terms = body_terms(field).unwrap_or_else(|| "emptyArrayString()".to_owned());
    let sql = format!(
        "SELECT term AS key, uniqExact(id) AS n, '' AS title FROM \
         (SELECT id, arrayJoin({terms}) AS term FROM alerts {}) GROUP BY key",
        c.where_clause()
    );
    top_of(client, culprit, c, &sql, limit, false).await
}

/// The top entity values or tactics of alerts from `alert_terms` (one server).
pub(super) async fn alert_terms_top(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Top> {
    let mut c = alert_conditions(q);
    c.push(format!("field = {}", alert_term_field(field).unwrap_or(0)));
    let sql = format!(
        "SELECT term AS key, count() AS total, '' AS title FROM alert_terms {} GROUP BY key",
        c.where_clause()
    );
    top_of(client, culprit, &c, &sql, limit, false).await
}

async fn top_of(
    client: &Client,
    culprit: &Culprit,
    c: &Conditions,
    sql: &str,
    limit: usize,
    severity: bool,
) -> Result<Top> {
    let rows: Vec<KeyCount> = c
        .apply(client.query(sql))
        .fetch_all()
        .await
        .map_err(|e| culprit.error("counting values", e))?;
    let mut counts = HashMap::new();
    let mut titles = HashMap::new();
    for r in rows {
        let key = if severity {
            r.key
                .parse::<usize>()
                .ok()
                .and_then(|i| Severity::ALL.get(i))
                .map_or(r.key, |s| s.as_str().to_owned())
        } else {
            r.key
        };
        if !r.title.is_empty() {
            titles.insert(key.clone(), r.title);
        }
        *counts.entry(key).or_default() += r.n;
    }
    Ok(Top::of(counts, limit, &titles))
}

/// Each source's events in `q`.
pub(super) async fn sources(
    client: &Client,
    culprit: &Culprit,
    q: &StatsQuery,
) -> Result<Vec<SourceStat>> {
    let c = event_conditions(q);
    // Grouped by the columns first: the key is built once per sender, not per event.
    let sql = format!(
        "SELECT {SOURCE_KEY} AS key, argMax(r, t) AS latest_region, sum(k) AS n, \
         sum(e) AS errors, max(t) AS last FROM \
         (SELECT collector, peer, argMax(region, time) AS r, max(time) AS t, count() AS k, \
          countIf(isNotNull(parse_error)) AS e FROM events {} GROUP BY collector, peer) \
         GROUP BY key ORDER BY key",
        c.where_clause()
    );
    read_sources(client, culprit, &c, &sql).await
}

async fn read_sources(
    client: &Client,
    culprit: &Culprit,
    c: &Conditions,
    sql: &str,
) -> Result<Vec<SourceStat>> {
    let rows: Vec<SourceRow> = c
        .apply(client.query(sql))
        .fetch_all()
        .await
        .map_err(|e| culprit.error("counting sources", e))?;
    Ok(rows
        .into_iter()
        .map(|r| SourceStat {
            source: r.key,
            region: RegionCode::new(r.latest_region).unwrap_or(RegionCode::HENAN),
            count: r.n,
            parse_errors: r.errors,
            last_seen: Timestamp(r.last),
        })
        .collect())
}
