//! Events: rows, idempotent writes, lookups, searches and retention by day partition.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::net::IpAddr;

use clickhouse::{Client, Row};
use onewall_model::{Event, EventId, Format, RegionCode, Source, Timestamp, Value};
use serde::{Deserialize, Serialize};

use super::Culprit;
use super::records::Conditions;
use crate::codec::{self, COMMON_COLUMNS, common_filter, fields_from_json, fields_to_json};
use crate::cursor::{CursorKind, decode_opt, page};
use crate::{EventQuery, Page, Result, effective_limit};

/// One row of `events`, in the table's column order.
#[derive(Debug, Row, Serialize)]
pub(super) struct EventRow {
    day: u32,
    region: u32,
    time: i64,
    id: [u8; 16],
    received: i64,
    collector: String,
    peer: Option<String>,
    format: String,
    raw: Vec<u8>,
    parse_error: Option<String>,
    fields: String,
    host_name: Option<String>,
    source_ip: Option<String>,
    destination_ip: Option<String>,
    user_name: Option<String>,
    process_name: Option<String>,
    event_action: Option<String>,
    field_names: Vec<String>,
    field_values: Vec<String>,
}

/// The columns an [`Event`] is read back from.
#[derive(Debug, Row, Deserialize)]
pub(super) struct EventRead {
    id: [u8; 16],
    time: i64,
    received: i64,
    region: u32,
    collector: String,
    peer: Option<String>,
    format: String,
    raw: Vec<u8>,
    parse_error: Option<String>,
    fields: String,
}

#[derive(Debug, Row, Deserialize)]
struct IdRead {
    id: [u8; 16],
}

/// A real's text in `field_values`: Rust's shortest round-trip form, zero unsigned.
fn real_text(f: f64) -> String {
    if f == 0.0 {
        "0".to_owned()
    } else {
        f.to_string()
    }
}

/// A value's typed text in `field_values`; `None` for values no filter matches.
fn typed_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => format!("s:{s}"),
        Value::Int(i) => format!("i:{i}"),
        Value::Float(f) if f.is_finite() => format!("f:{}", real_text(*f)),
        Value::Bool(b) => format!("b:{b}"),
        Value::Ip(ip) => format!("p:{ip}"),
        Value::Time(t) => format!("t:{}", t.0),
        Value::Float(_) | Value::Null | Value::List(_) => return None,
    })
}

/// The typed texts a filter value matches in `field_values` (see [`EventQuery::filters`]):
/// the text itself, and the integer, real, boolean, address or time it spells exactly.
pub(super) fn filter_texts(value: &str) -> Vec<String> {
    let mut out = vec![format!("s:{value}")];
    if let Ok(i) = value.parse::<i64>()
        && i.to_string() == value
    {
        out.push(format!("i:{i}"));
    }
    if let Ok(f) = value.parse::<f64>()
        && f.is_finite()
        && f.to_string() == value
    {
        out.push(format!("f:{}", real_text(f)));
    }
    if value == "true" || value == "false" {
        out.push(format!("b:{value}"));
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        out.push(format!("p:{ip}"));
    }
    if let Ok(t) = Timestamp::parse_rfc3339(value) {
        out.push(format!("t:{}", t.0));
    }
    out
}

impl EventRow {
    pub(super) fn from_event(e: &Event, culprit: &Culprit) -> Result<EventRow> {
        let common = |name: &str| {
            e.fields
                .get(name)
                .and_then(Value::to_text)
                .map(|t| t.into_owned())
        };
        let mut field_names = Vec::new();
        let mut field_values = Vec::new();
        for (name, v) in e.fields.iter() {
            if COMMON_COLUMNS.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(text) = typed_text(v) {
                field_names.push(name.to_owned());
                field_values.push(text);
            }
        }
        Ok(EventRow {
            day: e.time.yyyymmdd(),
            region: e.region.get(),
            time: e.time.0,
            id: e.id.to_bytes(),
            received: e.received.0,
            collector: e.source.collector.to_string(),
            peer: e.source.peer.map(|p| p.to_string()),
            format: e.format.as_str().to_owned(),
            raw: e.raw.to_vec(),
            parse_error: e.parse_error.as_deref().map(str::to_owned),
            fields: fields_to_json(&e.fields).map_err(|e| culprit.error("encoding fields", e))?,
            host_name: common(COMMON_COLUMNS[0].0),
            source_ip: common(COMMON_COLUMNS[1].0),
            destination_ip: common(COMMON_COLUMNS[2].0),
            user_name: common(COMMON_COLUMNS[3].0),
            process_name: common(COMMON_COLUMNS[4].0),
            event_action: common(COMMON_COLUMNS[5].0),
            field_names,
            field_values,
        })
    }
}

fn hex(id: &[u8; 16]) -> String {
    format!("{:032X}", u128::from_be_bytes(*id))
}

/// The time spans a batch's look-up reads: its event times split at the largest gaps into
/// at most this many ranges, so one late event does not widen the look-up to a whole day.
const MAX_ID_CHECK_RANGES: usize = 32;
/// Gaps narrower than this (in nanoseconds, one minute) never split a range.
const MIN_SPLIT_GAP: i64 = 60_000_000_000;

/// Inclusive `(lo, hi)` ranges of event time covering every time in `times` (sorted
/// ascending), split at the widest gaps of a minute or more, at most
/// [`MAX_ID_CHECK_RANGES`].
fn time_ranges(times: &[i64]) -> Vec<(i64, i64)> {
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Vec::new();
    };
    // Indices i where a new range starts at times[i]: the widest gaps.
    let mut gaps: Vec<(i64, usize)> = times
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[1].saturating_sub(w[0]), i + 1))
        .filter(|&(gap, _)| gap >= MIN_SPLIT_GAP)
        .collect();
    gaps.sort_unstable_by_key(|g| std::cmp::Reverse(g.0));
    let mut starts: Vec<usize> = gaps
        .iter()
        .take(MAX_ID_CHECK_RANGES - 1)
        .map(|&(_, i)| i)
        .collect();
    starts.sort_unstable();
    let mut ranges = Vec::with_capacity(starts.len() + 1);
    let mut lo = first;
    for i in starts {
        ranges.push((lo, times[i - 1]));
        lo = times[i];
    }
    ranges.push((lo, last));
    ranges
}

/// The ids of `batch` already stored. One query reads the ids stored in the batch's
/// regions, days and time spans (the primary index's prefix), which are few for a fresh
/// batch and the batch itself for a replay; the batch's ids are not sent, since a long
/// `IN` list costs the server more to parse than the look-up.
async fn stored_ids(
    client: &Client,
    culprit: &Culprit,
    batch: &[&Event],
) -> Result<HashSet<[u8; 16]>> {
    let regions: BTreeSet<u32> = batch.iter().map(|e| e.region.get()).collect();
    let days: BTreeSet<u32> = batch.iter().map(|e| e.time.yyyymmdd()).collect();
    let mut times: Vec<i64> = batch.iter().map(|e| e.time.0).collect();
    times.sort_unstable();
    let ranges: Vec<String> = time_ranges(&times)
        .iter()
        .map(|(lo, hi)| format!("(time >= {lo} AND time <= {hi})"))
        .collect();
    if ranges.is_empty() {
        return Ok(HashSet::new());
    }
    let list = |s: &BTreeSet<u32>| s.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT id FROM events WHERE day IN ({}) AND region IN ({}) AND ({})",
        list(&days),
        list(&regions),
        ranges.join(" OR ")
    );
    let rows: Vec<IdRead> = client
        .query(&sql)
        .fetch_all()
        .await
        .map_err(|e| culprit.error("checking stored event ids", e))?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Write a batch, leaving out ids stored before or seen earlier in the batch. The caller holds
/// the event write lock.
pub(super) async fn write_events(
    client: &Client,
    culprit: &Culprit,
    events: &[Event],
) -> Result<()> {
    let mut seen = HashSet::with_capacity(events.len());
    let batch: Vec<&Event> = events
        .iter()
        .filter(|e| seen.insert(e.id.to_bytes()))
        .collect();
    let stored = stored_ids(client, culprit, &batch).await?;
    let rows = batch
        .iter()
        .filter(|e| !stored.contains(&e.id.to_bytes()))
        .map(|e| EventRow::from_event(e, culprit))
        .collect::<Result<Vec<_>>>()?;
    insert_rows(client, culprit, &rows).await?;
    tracing::debug!(
        events = events.len(),
        written = rows.len(),
        "events written"
    );
    Ok(())
}

/// Insert rows as they are, in one INSERT (no id check).
pub(super) async fn insert_rows(
    client: &Client,
    culprit: &Culprit,
    rows: &[EventRow],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let err = |e| culprit.error("inserting events", e);
    let mut insert = client.insert::<EventRow>("events").await.map_err(err)?;
    for row in rows {
        insert.write(row).await.map_err(err)?;
    }
    insert.end().await.map_err(err)
}

/// Look an event up by id. The id tells when it was received, which is usually its event
/// day, so that partition is read first, then the others.
pub(super) async fn get_event(
    client: &Client,
    culprit: &Culprit,
    id: EventId,
) -> Result<Option<Event>> {
    let hint = id.timestamp().yyyymmdd();
    for days in [format!("day = {hint}"), format!("day != {hint}")] {
        let row: Option<EventRead> = client
            .query(&format!(
                "SELECT ?fields FROM events WHERE {days} AND id = unhex(?) LIMIT 1"
            ))
            .bind(hex(&id.to_bytes()))
            .fetch_optional()
            .await
            .map_err(|e| culprit.error("reading an event", e))?;
        if let Some(r) = row {
            return event_from_row(r, culprit).map(Some);
        }
    }
    Ok(None)
}

/// One page of events, newest first.
pub(super) async fn search_events(
    client: &Client,
    culprit: &Culprit,
    q: &EventQuery,
) -> Result<Page<Event>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Event, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    for (name, value) in &q.filters {
        field_filter(&mut cond, name, value)?;
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    cond.range("time", q.from.map(|t| t.0), q.to.map(|t| t.0));
    cond.after("time", cursor);
    // The day partitions the range and the cursor allow, so whole days are skipped.
    if let Some(from) = q.from {
        cond.push(format!("day >= {}", from.yyyymmdd()));
    }
    let mut hi = q.to.map(|t| Timestamp(t.0.saturating_sub(1)).yyyymmdd());
    if let Some(c) = cursor {
        let day = Timestamp(c.key).yyyymmdd();
        hi = Some(hi.map_or(day, |h| h.min(day)));
    }
    if let Some(hi) = hi {
        cond.push(format!("day <= {hi}"));
    }
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let p = cond.bind(text);
        match crate::search_text::Gb18030Needle::of(text) {
            // Raw bytes in GB18030 are found by the text's GB18030 bytes (spelled in hex, as
            // they are not UTF-8), confirmed in the decoded fields.
            Some(n) => {
                let gbk = n.gb18030_hex();
                let json = cond.bind(&n.json);
                cond.push(format!(
                    "(position(raw, {p}) > 0 OR (position(raw, unhex('{gbk}')) > 0 AND position(fields, {json}) > 0))"
                ));
            }
            None => cond.push(format!("position(raw, {p}) > 0")),
        }
    }
    cond.regions(&q.regions);
    events_page(client, culprit, &cond, limit, "searching events").await
}

/// The page of at most `limit` events `cond` selects, newest first (one more is read to
/// know whether a page follows); `what` names the search in an error.
pub(super) async fn events_page(
    client: &Client,
    culprit: &Culprit,
    cond: &Conditions,
    limit: usize,
    what: &str,
) -> Result<Page<Event>> {
    let sql = format!(
        "SELECT ?fields FROM events {} ORDER BY time DESC, id DESC LIMIT {}",
        cond.where_clause(),
        limit + 1
    );
    let rows: Vec<EventRead> = cond
        .apply(client.query(&sql))
        .fetch_all()
        .await
        .map_err(|e| culprit.error(what, e))?;
    let items = rows
        .into_iter()
        .map(|r| event_from_row(r, culprit))
        .collect::<Result<Vec<_>>>()?;
    Ok(page(items, limit))
}

/// Add the condition for `name == value` (see [`EventQuery::filters`]).
fn field_filter(cond: &mut Conditions, name: &str, value: &str) -> Result<()> {
    if let Some((_, col, text)) = common_filter(name, value) {
        let p = cond.bind(&text);
        cond.push(format!("{col} = {p}"));
        return Ok(());
    }
    codec::check_filter_field(name)?;
    let n = cond.bind(name);
    let alternatives: Vec<String> = filter_texts(value)
        .iter()
        .map(|t| format!("v = {}", cond.bind(t)))
        .collect();
    cond.push(format!(
        "arrayExists((n, v) -> n = {n} AND ({}), field_names, field_values)",
        alternatives.join(" OR ")
    ));
    Ok(())
}

/// The day partitions that hold events, oldest first.
pub(super) async fn days(client: &Client, culprit: &Culprit) -> Result<Vec<u32>> {
    if culprit.layout.cluster.is_some() {
        // Parts are on every shard; the day column, read through the Distributed table, is
        // small.
        let mut days: Vec<u32> = client
            .query("SELECT DISTINCT day FROM events")
            .fetch_all()
            .await
            .map_err(|e| culprit.error("listing event days", e))?;
        days.sort_unstable();
        return Ok(days);
    }
    let parts: Vec<String> = client
        .query(
            "SELECT DISTINCT partition FROM system.parts \
             WHERE database = ? AND table = 'events' AND active",
        )
        .bind(&culprit.database)
        .fetch_all()
        .await
        .map_err(|e| culprit.error("listing event days", e))?;
    let mut days = parts
        .iter()
        .map(|p| {
            p.trim_matches('\'').parse::<u32>().map_err(|_| {
                culprit.error(
                    "listing event days",
                    format_args!("partition {p:?} is not a day"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// Drop the partitions of every day before `before`'s day; the number of days dropped. The
/// caller holds the event write lock.
pub(super) async fn drop_days_before(
    client: &Client,
    culprit: &Culprit,
    before: Timestamp,
) -> Result<usize> {
    let cutoff = before.yyyymmdd();
    let old: Vec<u32> = days(client, culprit)
        .await?
        .into_iter()
        .filter(|&d| d < cutoff)
        .collect();
    for day in &old {
        client
            .query(&format!(
                "ALTER TABLE {}{} DROP PARTITION {day}",
                culprit.layout.local("events"),
                culprit.layout.on_cluster()
            ))
            .execute()
            .await
            .map_err(|e| culprit.error(&format!("dropping event day {day}"), e))?;
        if culprit.layout.cluster.is_none() {
            // The statistics' rollups of that day go with it.
            for rollup in ["event_minutes", "event_hours"] {
                client
                    .query(&format!("ALTER TABLE {rollup} DROP PARTITION {day}"))
                    .execute()
                    .await
                    .map_err(|e| culprit.error(&format!("dropping {rollup} of day {day}"), e))?;
            }
        }
    }
    if !old.is_empty() {
        tracing::info!(
            days = old.len(),
            before = cutoff,
            "dropped event days past retention"
        );
    }
    Ok(old.len())
}

pub(super) fn event_from_row(r: EventRead, culprit: &Culprit) -> Result<Event> {
    let corrupt = |what: &str, detail: &dyn fmt::Display| {
        culprit.error(
            "reading an event",
            format_args!("stored event has a bad {what}: {detail}"),
        )
    };
    let region = RegionCode::new(r.region).map_err(|_| corrupt("region", &r.region))?;
    Ok(Event {
        id: EventId::from_bytes(r.id),
        time: Timestamp(r.time),
        received: Timestamp(r.received),
        region,
        source: Source::new(&r.collector, r.peer.and_then(|p| p.parse().ok())),
        // A format this build does not know was written by a newer one; keep the event.
        format: r.format.parse().unwrap_or(Format::Unknown),
        raw: r.raw.into_boxed_slice(),
        fields: fields_from_json(&r.fields).map_err(|e| corrupt("fields", &e))?,
        parse_error: r.parse_error.map(String::into_boxed_str),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    #[test]
    fn filter_texts_cover_every_spelling() {
        assert_eq!(filter_texts("x"), vec!["s:x"]);
        assert!(filter_texts("1234").contains(&"i:1234".to_owned()));
        assert!(!filter_texts("01234").iter().any(|t| t.starts_with("i:")));
        assert!(filter_texts("0.5").contains(&"f:0.5".to_owned()));
        assert!(filter_texts("FE80:0::1").contains(&"p:fe80::1".to_owned()));
        assert!(filter_texts("true").contains(&"b:true".to_owned()));
        assert_eq!(
            typed_text(&Value::Float(-0.0)),
            typed_text(&Value::Float(0.0))
        );
        assert_eq!(typed_text(&Value::Null), None);
    }

    #[test]
    fn time_ranges_split_at_the_widest_gaps() {
        assert!(time_ranges(&[]).is_empty());
        assert_eq!(time_ranges(&[5, 5, 5]), vec![(5, 5)]);
        let m = MIN_SPLIT_GAP;
        assert_eq!(time_ranges(&[1, 2, 3, 1000, 1001]), vec![(1, 1001)]);
        assert_eq!(
            time_ranges(&[1, 2, 3, 3 + m, 4 + m]),
            vec![(1, 3), (3 + m, 4 + m)]
        );
        let spread: Vec<i64> = (0..1000).map(|k| k * k * m).collect();
        let ranges = time_ranges(&spread);
        assert_eq!(ranges.len(), MAX_ID_CHECK_RANGES);
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(999 * 999 * m));
        for t in &spread {
            assert!(
                ranges.iter().any(|(lo, hi)| lo <= t && t <= hi),
                "{t} covered"
            );
        }
    }

    #[test]
    fn quoted_field_names_are_refused() {
        let mut c = Conditions::default();
        assert!(matches!(
            field_filter(&mut c, "a\"b", "x"),
            Err(StoreError::InvalidQuery(_))
        ));
        assert!(field_filter(&mut c, "", "x").is_err());
    }
}
