//! Events: per-day tables, writes, lookups, searches and retention.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use onewall_model::{Event, EventId, Format, RegionCode, Source, Timestamp, Value};
use rusqlite::{Connection, Row, params, params_from_iter};

use super::postings;
use super::schema::{day_table, day_table_ddl};
use super::sql::{Conditions, int};
use super::stats;
use super::{Writer, backend};
use crate::codec::{self, COMMON_COLUMNS};
use crate::cursor::{CursorKind, decode_opt, page};
use crate::{EventQuery, Page, Result, StoreError, effective_limit};

/// The columns an [`Event`] is read from, in [`event_from_row`]'s order.
pub(super) const EVENT_COLUMNS: &str =
    "id, time, received, region, collector, peer, format, raw, parse_error, fields";

/// The days that have a table, from the catalog, each with whether it keeps posting lists
/// (days written before them keep an index per common field instead).
pub(super) fn load_days(conn: &Connection) -> Result<BTreeMap<u32, bool>> {
    let mut stmt = conn.prepare("SELECT day, postings FROM event_days")?;
    let mut days = BTreeMap::new();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)))?;
    for row in rows {
        let (day, postings) = row?;
        days.insert(catalog_day(day)?, postings);
    }
    Ok(days)
}

fn catalog_day(day: i64) -> Result<u32> {
    u32::try_from(day).map_err(|_| backend(format_args!("event_days holds a bad day {day}")))
}

/// Days with a table between `lo` and `hi` (both inclusive, `YYYYMMDD`), newest first, each
/// with whether it keeps posting lists.
pub(super) fn days_desc(
    conn: &Connection,
    lo: Option<u32>,
    hi: Option<u32>,
) -> Result<Vec<(u32, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, postings FROM event_days WHERE day >= ?1 AND day <= ?2 ORDER BY day DESC",
    )?;
    let rows = stmt.query_map(params![lo.unwrap_or(0), hi.unwrap_or(u32::MAX)], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
    })?;
    rows.map(|row| {
        let (day, postings) = row?;
        Ok((catalog_day(day)?, postings))
    })
    .collect()
}

fn insert_sql(day: u32) -> String {
    let t = day_table(day);
    let mut cols = EVENT_COLUMNS.to_owned();
    for (_, col) in COMMON_COLUMNS {
        cols.push_str(", ");
        cols.push_str(col);
    }
    let placeholders: Vec<String> = (1..=10 + COMMON_COLUMNS.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT OR IGNORE INTO {t} ({cols}) VALUES ({})",
        placeholders.join(", ")
    )
}

/// What an event's row needs beyond the event itself, made before the writer is taken so the
/// encoding runs beside whatever the writer is doing.
#[derive(Debug, PartialEq)]
pub(super) struct Encoded {
    fields: String,
    common: [Option<String>; COMMON_COLUMNS.len()],
    /// The event's department and source key, for the rollups.
    department: String,
    source: String,
}

/// Batches of at least this many events are encoded in two halves on two threads.
const SPLIT_ENCODING_AT: usize = 256;

/// Encode a batch's events for [`write_events`], in order. A large batch is encoded in two
/// halves, the second on a thread of its own: the encoding (the fields' JSON of a wide
/// Windows event is most of it) is on the store stage's path before every write, and each
/// event's parts depend on that event alone.
pub(super) fn encode(events: &[Event]) -> Result<Vec<Encoded>> {
    let (head, tail) =
        onewall_model::halves::in_halves("onewall-encode", events, SPLIT_ENCODING_AT, encode_each);
    let mut all = head?;
    if let Some(tail) = tail {
        all.extend(tail?);
    }
    Ok(all)
}

fn encode_each(events: &[Event]) -> Result<Vec<Encoded>> {
    events
        .iter()
        .map(|e| {
            Ok(Encoded {
                fields: codec::fields_to_json(&e.fields)
                    .map_err(|e| backend(format_args!("encoding fields: {e}")))?,
                common: COMMON_COLUMNS.map(|(name, _)| {
                    e.fields
                        .get(name)
                        .and_then(Value::to_text)
                        .map(|t| t.into_owned())
                }),
                department: crate::stats::department_of(e),
                source: crate::stats::source_key(e),
            })
        })
        .collect()
}

/// Write a batch (with its [`encode`]d parts) in one transaction, creating the day tables it
/// needs.
pub(super) fn write_events(w: &mut Writer, events: &[Event], encoded: Vec<Encoded>) -> Result<()> {
    let mut by_day: BTreeMap<u32, Vec<(&Event, Encoded)>> = BTreeMap::new();
    for (e, enc) in events.iter().zip(encoded) {
        by_day.entry(e.time.yyyymmdd()).or_default().push((e, enc));
    }
    let tx = w.conn.transaction()?;
    let mut created = Vec::new();
    let mut rollup = stats::Rollup::default();
    for (&day, batch) in &by_day {
        let postings = match w.days.get(&day) {
            Some(&postings) => postings,
            None => {
                tx.execute_batch(&day_table_ddl(day))?;
                tx.execute_batch(&postings::terms_ddl(day))?;
                tx.execute(
                    "INSERT OR IGNORE INTO event_days (day, rows, postings) VALUES (?1, 0, 1)",
                    [day],
                )?;
                created.push(day);
                true
            }
        };
        let mut inserted = 0usize;
        let mut terms = postings::Batch::default();
        {
            let mut stmt = tx.prepare_cached(&insert_sql(day))?;
            for (e, enc) in batch {
                let [c0, c1, c2, c3, c4, c5] = &enc.common;
                let added = stmt.execute(params![
                    &e.id.to_bytes()[..],
                    e.time.0,
                    e.received.0,
                    e.region.get(),
                    &*e.source.collector,
                    e.source.peer.map(|p| p.to_string()),
                    e.format.as_str(),
                    &e.raw[..],
                    e.parse_error.as_deref(),
                    enc.fields,
                    c0,
                    c1,
                    c2,
                    c3,
                    c4,
                    c5,
                ])?;
                inserted += added;
                if added > 0 {
                    rollup.add(e, &enc.common, &enc.department, &enc.source);
                }
                if postings && added > 0 {
                    let rowid = tx.last_insert_rowid();
                    for (field, text) in enc.common.iter().enumerate() {
                        if let Some(text) = text {
                            terms.add(field, text, e.time.0, rowid);
                        }
                    }
                    terms.add(postings::EVERY, "", e.time.0, rowid);
                }
            }
        }
        terms.write(&tx, day)?;
        tx.execute(
            "UPDATE event_days SET rows = rows + ?1 WHERE day = ?2",
            params![int(inserted), day],
        )?;
    }
    rollup.write(&tx)?;
    tx.commit()?;
    w.days.extend(created.into_iter().map(|d| (d, true)));
    tracing::debug!(events = events.len(), days = by_day.len(), "events written");
    Ok(())
}

/// Look an event up by id. The id tells when it was received, which is usually its event
/// day, so that table is tried first, then the others newest first.
pub(super) fn get_event(conn: &mut Connection, id: EventId) -> Result<Option<Event>> {
    let tx = conn.transaction()?;
    let mut days: Vec<u32> = days_desc(&tx, None, None)?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let hint = id.timestamp().yyyymmdd();
    if let Some(pos) = days.iter().position(|&d| d == hint) {
        days.remove(pos);
        days.insert(0, hint);
    }
    let key = id.to_bytes();
    for day in days {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {} WHERE id = ?1",
            day_table(day)
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let mut rows = stmt.query([&key[..]])?;
        if let Some(row) = rows.next()? {
            return event_from_row(row).map(Some);
        }
    }
    Ok(None)
}

/// One page of events, newest first, walking the day tables from the newest in range.
pub(super) fn search_events(conn: &mut Connection, q: &EventQuery) -> Result<Page<Event>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Event, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    // The first filter on a common field picks the rows through its posting lists.
    let mut driver = None;
    for (name, value) in &q.filters {
        let common = field_filter(&mut cond, name, value)?;
        if driver.is_none() {
            driver = common;
        }
    }
    let empty = Page {
        items: Vec::new(),
        next_cursor: None,
    };
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from >= to
    {
        return Ok(empty);
    }
    cond.range("time", q.from.map(|t| t.0), q.to.map(|t| t.0));
    cond.after("time", cursor);
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let p = cond.bind(text.as_bytes().to_vec());
        match crate::search_text::Gb18030Needle::of(text) {
            // Raw bytes in GB18030 are found by the text's GB18030 bytes, confirmed in the
            // decoded fields (a match across two characters' bytes is not one).
            Some(n) => {
                let gbk = cond.bind(n.gb18030);
                let json = cond.bind(n.json);
                cond.push(format!(
                    "(instr(raw, {p}) > 0 OR (instr(raw, {gbk}) > 0 AND instr(fields, {json}) > 0))"
                ));
            }
            None => cond.push(format!("instr(raw, {p}) > 0")),
        }
    }
    cond.regions(&q.regions);

    let lo = q.from.map(Timestamp::yyyymmdd);
    let mut hi = q.to.map(|t| Timestamp(t.0.saturating_sub(1)).yyyymmdd());
    if let Some(c) = cursor {
        let day = Timestamp(c.key).yyyymmdd();
        hi = Some(hi.map_or(day, |h| h.min(day)));
    }
    // The time bounds a posting run is cut to, both inclusive.
    let span = (
        q.from.map_or(i64::MIN, |t| t.0),
        q.to.map_or(i64::MAX, |t| t.0.saturating_sub(1))
            .min(cursor.map_or(i64::MAX, |c| c.key)),
    );

    let tx = conn.transaction()?;
    let days = days_desc(&tx, lo, hi)?;
    let mut items = Vec::new();
    for (day, postings) in days {
        let want = limit + 1 - items.len();
        if postings {
            // The first common field's runs, or the runs of every event.
            let driver = driver
                .as_ref()
                .map_or((postings::EVERY, ""), |(field, term)| {
                    (*field, term.as_str())
                });
            by_postings(&tx, day, driver, span, &cond, want, &mut items)?;
        } else {
            by_scan(&tx, day, &cond, want, &mut items)?;
        }
        if items.len() > limit {
            break;
        }
    }
    Ok(page(items, limit))
}

/// Up to `want` of a day's events matching `cond`, newest first, through the table's indexes
/// (a day written by schema version 1).
fn by_scan(
    conn: &Connection,
    day: u32,
    cond: &Conditions,
    want: usize,
    items: &mut Vec<Event>,
) -> Result<()> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM {} {} ORDER BY time DESC, id DESC LIMIT {}",
        day_table(day),
        cond.where_clause(),
        cond.next_placeholder()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(cond.params_with(int(want))))?;
    while let Some(row) = rows.next()? {
        items.push(event_from_row(row)?);
    }
    Ok(())
}

/// Up to `want` of a day's events matching `cond`, newest first: the candidates come from the
/// posting lists of `driver` (a common field's place and term) within `span`, and each is
/// read by rowid under every condition.
fn by_postings(
    conn: &Connection,
    day: u32,
    driver: (usize, &str),
    span: (i64, i64),
    cond: &Conditions,
    want: usize,
    items: &mut Vec<Event>,
) -> Result<()> {
    let t = day_table(day);
    let rowid = cond.next_placeholder();
    let sql = match cond.where_clause() {
        w if w.is_empty() => format!("SELECT {EVENT_COLUMNS} FROM {t} WHERE rowid = {rowid}"),
        w => format!("SELECT {EVENT_COLUMNS} FROM {t} {w} AND rowid = {rowid}"),
    };
    let mut read = conn.prepare_cached(&sql)?;
    // The conditions' values are bound once; each candidate rebinds only its rowid.
    let params = cond.params_with(0i64);
    for (i, p) in params.iter().enumerate() {
        read.raw_bind_parameter(i + 1, p)?;
    }
    let last = params.len();
    let mut group: Vec<Event> = Vec::new();
    let mut found = 0;
    postings::merge(conn, day, driver.0, driver.1, span.0, span.1, |rowids| {
        group.clear();
        for &r in rowids {
            read.raw_bind_parameter(last, r)?;
            let mut rows = read.raw_query();
            if let Some(row) = rows.next()? {
                group.push(event_from_row(row)?);
            }
        }
        // Equal times go by id, newest first, as the scan orders them.
        group.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        let take = group.len().min(want - found);
        found += take;
        items.extend(group.drain(..take));
        Ok(found < want)
    })
}

/// Add the condition for `name == value` (see [`EventQuery::filters`]). For a common field,
/// its place among the common columns and the text its column and posting lists hold.
fn field_filter(cond: &mut Conditions, name: &str, value: &str) -> Result<Option<(usize, String)>> {
    if let Some((place, col, text)) = codec::common_filter(name, value) {
        let p = cond.bind(text.clone());
        cond.push(format!("{col} = {p}"));
        return Ok(Some((place, text)));
    }
    codec::check_filter_field(name)?;
    // In the typed JSON a field is one of: a string, an integer, a real, true/false, null, a
    // list, or an object `{"$ip": text}` / `{"$time": nanos}`. Compare the value's text form:
    // one branch per JSON type the filter text could be the text form of.
    let path = cond.bind(format!("$.\"{name}\""));
    let mut arms = vec![format!(
        "WHEN 'text' THEN json_extract(fields, {path}) = {}",
        cond.bind(value.to_owned())
    )];
    if let Ok(i) = value.parse::<i64>()
        && i.to_string() == value
    {
        arms.push(format!(
            "WHEN 'integer' THEN json_extract(fields, {path}) = {}",
            cond.bind(i)
        ));
    }
    if let Ok(f) = value.parse::<f64>()
        && f.is_finite()
        && f.to_string() == value
    {
        arms.push(format!(
            "WHEN 'real' THEN json_extract(fields, {path}) = {}",
            cond.bind(f)
        ));
    }
    match value {
        "true" => arms.push("WHEN 'true' THEN 1".to_owned()),
        "false" => arms.push("WHEN 'false' THEN 1".to_owned()),
        _ => {}
    }
    let mut typed = Vec::new();
    if let Ok(ip) = value.parse::<IpAddr>() {
        let p = cond.bind(format!("$.\"{name}\".\"$ip\""));
        typed.push(format!(
            "json_extract(fields, {p}) = {}",
            cond.bind(ip.to_string())
        ));
    }
    if let Ok(t) = Timestamp::parse_rfc3339(value) {
        let p = cond.bind(format!("$.\"{name}\".\"$time\""));
        typed.push(format!("json_extract(fields, {p}) = {}", cond.bind(t.0)));
    }
    if !typed.is_empty() {
        arms.push(format!("WHEN 'object' THEN {}", typed.join(" OR ")));
    }
    cond.push(format!(
        "(CASE json_type(fields, {path}) {} ELSE 0 END)",
        arms.join(" ")
    ));
    Ok(None)
}

/// Drop the tables of every day before `before`'s day; the number of days dropped.
pub(super) fn drop_days_before(w: &mut Writer, before: Timestamp) -> Result<usize> {
    let cutoff = before.yyyymmdd();
    let tx = w.conn.transaction()?;
    let days: Vec<u32> = {
        let mut stmt = tx.prepare("SELECT day FROM event_days WHERE day < ?1 ORDER BY day")?;
        let rows = stmt.query_map([cutoff], |r| r.get::<_, i64>(0))?;
        rows.map(|d| catalog_day(d?)).collect::<Result<_>>()?
    };
    for &day in &days {
        tx.execute_batch(&format!(
            "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
            day_table(day),
            postings::terms_table(day)
        ))?;
        tx.execute("DELETE FROM event_days WHERE day = ?1", [day])?;
    }
    // The rollups of the dropped days go with them.
    let midnight = before.0.div_euclid(Timestamp::NANOS_PER_DAY) * Timestamp::NANOS_PER_DAY;
    stats::drop_before(&tx, Timestamp(midnight))?;
    tx.commit()?;
    for day in &days {
        w.days.remove(day);
    }
    if !days.is_empty() {
        // Statements prepared for the dropped tables can never run again.
        w.conn.flush_prepared_statement_cache();
        tracing::info!(
            days = days.len(),
            before = cutoff,
            "dropped event days past retention"
        );
    }
    Ok(days.len())
}

/// Fill the rollups from the stored events (a store written before they existed).
pub(super) fn backfill_rollups(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM event_minutes; DELETE FROM event_hours; DELETE FROM event_hour_terms;
         DELETE FROM event_minute_totals;",
    )?;
    let days: Vec<u32> = {
        let mut stmt = conn.prepare("SELECT day FROM event_days ORDER BY day")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        rows.map(|d| catalog_day(d?)).collect::<Result<_>>()?
    };
    for day in days {
        let mut rollup = stats::Rollup::default();
        let sql = format!("SELECT {EVENT_COLUMNS} FROM {}", day_table(day));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let e = event_from_row(row)?;
            let common = COMMON_COLUMNS.map(|(name, _)| {
                e.fields
                    .get(name)
                    .and_then(Value::to_text)
                    .map(|t| t.into_owned())
            });
            let dept = crate::stats::department_of(&e);
            rollup.add(&e, &common, &dept, &crate::stats::source_key(&e));
        }
        rollup.write(conn)?;
    }
    Ok(())
}

/// Events stored, per the catalog's counters.
pub(super) fn count(conn: &Connection) -> Result<(u64, Vec<u32>)> {
    let mut stmt = conn.prepare_cached("SELECT day, rows FROM event_days ORDER BY day")?;
    let mut rows = stmt.query([])?;
    let mut total = 0u64;
    let mut days = Vec::new();
    while let Some(row) = rows.next()? {
        days.push(catalog_day(row.get(0)?)?);
        total += u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
    }
    Ok((total, days))
}

fn corrupt(what: &str, detail: impl fmt::Display) -> StoreError {
    backend(format_args!("stored event has a bad {what}: {detail}"))
}

/// An [`Event`] from a row of [`EVENT_COLUMNS`].
pub(super) fn event_from_row(row: &Row<'_>) -> Result<Event> {
    let id: [u8; 16] = row
        .get_ref(0)?
        .as_blob()
        .map_err(|e| corrupt("id", e))?
        .try_into()
        .map_err(|_| corrupt("id", "not 16 bytes"))?;
    let region: i64 = row.get(3)?;
    let region = u32::try_from(region)
        .ok()
        .and_then(|r| RegionCode::new(r).ok())
        .ok_or_else(|| corrupt("region", region))?;
    let collector: String = row.get(4)?;
    let peer: Option<String> = row.get(5)?;
    let format: String = row.get(6)?;
    let raw: Vec<u8> = row.get(7)?;
    let parse_error: Option<String> = row.get(8)?;
    let fields =
        codec::fields_from_json(row.get_ref(9)?.as_str().map_err(|e| corrupt("fields", e))?)
            .map_err(|e| corrupt("fields", e))?;
    Ok(Event {
        id: EventId::from_bytes(id),
        time: Timestamp(row.get(1)?),
        received: Timestamp(row.get(2)?),
        region,
        source: Source::new(&collector, peer.and_then(|p| p.parse().ok())),
        // A format this build does not know was written by a newer one; keep the event.
        format: format.parse().unwrap_or(Format::Unknown),
        raw: raw.into_boxed_slice(),
        fields,
        parse_error: parse_error.map(String::into_boxed_str),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statement_has_a_placeholder_per_column() {
        let sql = insert_sql(20261128);
        assert!(sql.contains("events_20261128"));
        assert!(sql.contains("?16)"));
    }

    #[test]
    fn a_batch_encoded_in_halves_is_encoded_in_order() {
        use crate::conformance::{day0, event};
        for n in [0, 1, SPLIT_ENCODING_AT - 1, SPLIT_ENCODING_AT, 1_001] {
            let events: Vec<Event> = (0..n)
                .map(|k| {
                    let mut e = event(day0().add_secs(k as i64), &format!("event {k}"));
                    e.fields.insert("host.name", format!("web{:02}", k % 40));
                    e
                })
                .collect();
            let split = encode(&events).expect("encode");
            assert_eq!(split.len(), n);
            assert_eq!(split, encode_each(&events).expect("encode one by one"));
            for (e, enc) in events.iter().zip(&split) {
                assert_eq!(enc.fields, codec::fields_to_json(&e.fields).expect("json"));
            }
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
