//! Finding the events that hold given values ([`crate::Store::find_events`]), day by day from
//! the newest. When every field the query names is a common field and the day keeps posting
//! lists, the candidates come from the day's terms of those fields (the distinct values, far
//! fewer than the events); otherwise the day's rows are read once, in storage order, and
//! only the named fields of each event's typed JSON are decoded and checked. Either way each
//! hit is confirmed on its fields, sorted newest first and cut to the page.

use rusqlite::{Connection, params};

use super::events::{EVENT_COLUMNS, days_desc, event_from_row};
use super::postings;
use super::schema::day_table;
use super::sql::int;
use crate::codec::COMMON_COLUMNS;
use crate::cursor::{Cursor, CursorKind, decode_opt, page};
use crate::find::ValueCheck;
use crate::{Page, Result, ValueQuery, effective_limit};

/// A hit: event time, id and rowid in its day table.
type Hit = (i64, [u8; 16], i64);

/// One page of the events holding any of `q`'s values, newest first.
pub(super) fn find_events(
    conn: &mut Connection,
    q: &ValueQuery,
) -> Result<Page<onewall_model::Event>> {
    q.check()?;
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Event, q.cursor.as_deref())?;
    let empty = Page {
        items: Vec::new(),
        next_cursor: None,
    };
    if q.is_empty() || matches!((q.from, q.to), (Some(f), Some(t)) if f >= t) {
        return Ok(empty);
    }
    let check = ValueCheck::new(q);
    // The common fields' places when every field named is one (the posting lists can answer).
    let places: Option<Vec<(usize, &str)>> = q
        .fields()
        .into_iter()
        .map(|f| {
            COMMON_COLUMNS
                .iter()
                .position(|(n, _)| *n == f)
                .map(|p| (p, COMMON_COLUMNS[p].0))
        })
        .collect();
    // Times in range, both inclusive; the cursor lowers the top.
    let lo = q.from.map_or(i64::MIN, |t| t.0);
    let hi =
        q.to.map_or(i64::MAX, |t| t.0.saturating_sub(1))
            .min(cursor.map_or(i64::MAX, |c| c.key));
    let day_lo = q.from.map(|t| t.yyyymmdd());
    let day_hi = (hi != i64::MAX).then(|| onewall_model::Timestamp(hi).yyyymmdd());

    let tx = conn.transaction()?;
    let mut items = Vec::new();
    for (day, has_postings) in days_desc(&tx, day_lo, day_hi)? {
        let want = limit + 1 - items.len();
        let mut hits = match (&places, has_postings) {
            (Some(places), true) => by_terms(&tx, day, places, &check, (lo, hi), cursor)?,
            _ => by_rows(&tx, day, &check, (lo, hi), cursor)?,
        };
        hits.sort_unstable_by_key(|h| std::cmp::Reverse((h.0, h.1)));
        hits.truncate(want);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {} WHERE rowid = ?1",
            day_table(day)
        );
        let mut read = tx.prepare_cached(&sql)?;
        for (_, _, rowid) in hits {
            let mut rows = read.query([rowid])?;
            if let Some(row) = rows.next()? {
                items.push(event_from_row(row)?);
            }
        }
        if items.len() > limit {
            break;
        }
    }
    Ok(page(items, limit))
}

/// Whether a row at `time` with `id` comes after the cursor (newest first).
fn after(cursor: Option<Cursor>, time: i64, id: &[u8; 16]) -> bool {
    cursor.is_none_or(|c| time < c.key || (time == c.key && *id < c.id))
}

/// Read a row's `(time, id, fields)` and keep it when it is past the cursor and holds a
/// value of the query.
fn confirm(
    row: &rusqlite::Row<'_>,
    check: &ValueCheck,
    cursor: Option<Cursor>,
) -> Result<Option<Hit>> {
    let rowid: i64 = row.get(0)?;
    let time: i64 = row.get(1)?;
    let id: [u8; 16] = row
        .get_ref(2)?
        .as_blob()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| super::backend(format_args!("stored event {rowid} has a bad id")))?;
    if !after(cursor, time, &id) {
        return Ok(None);
    }
    let fields = row
        .get_ref(3)?
        .as_str()
        .map_err(|e| super::backend(format_args!("stored event {rowid} has bad fields: {e}")))?;
    let found = check
        .fields_json(fields)
        .map_err(|e| super::backend(format_args!("stored event {rowid} has bad fields: {e}")))?;
    Ok(found.then_some((time, id, rowid)))
}

/// Every event of a day in `span` holding a value of the query, read row by row.
fn by_rows(
    conn: &Connection,
    day: u32,
    check: &ValueCheck,
    span: (i64, i64),
    cursor: Option<Cursor>,
) -> Result<Vec<Hit>> {
    let sql = format!(
        "SELECT rowid, time, id, fields FROM {} WHERE time >= ?1 AND time <= ?2",
        day_table(day)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![span.0, span.1])?;
    let mut hits = Vec::new();
    while let Some(row) = rows.next()? {
        if let Some(hit) = confirm(row, check, cursor)? {
            hits.push(hit);
        }
    }
    Ok(hits)
}

/// Every event of a day in `span` holding a value of the query, when all its fields are
/// common fields: the day's distinct terms of those fields are checked, the posting runs of
/// the matching ones give the candidates, and each candidate is confirmed on its fields.
fn by_terms(
    conn: &Connection,
    day: u32,
    places: &[(usize, &str)],
    check: &ValueCheck,
    span: (i64, i64),
    cursor: Option<Cursor>,
) -> Result<Vec<Hit>> {
    let sql = format!(
        "SELECT DISTINCT term FROM {} WHERE field = ?1 AND tmax >= ?2 AND tmin <= ?3",
        postings::terms_table(day)
    );
    let mut terms = conn.prepare_cached(&sql)?;
    let mut rowids: Vec<i64> = Vec::new();
    for &(place, field) in places {
        let matching: Vec<String> = terms
            .query_map(params![int(place), span.0, span.1], |r| {
                r.get::<_, String>(0)
            })?
            .filter(|t| t.as_ref().map_or(true, |t| check.column_text(field, t)))
            .collect::<rusqlite::Result<_>>()?;
        for term in matching {
            postings::merge(conn, day, place, &term, span.0, span.1, |group| {
                rowids.extend_from_slice(group);
                Ok(true)
            })?;
        }
    }
    rowids.sort_unstable();
    rowids.dedup();
    let sql = format!(
        "SELECT rowid, time, id, fields FROM {} WHERE rowid = ?1",
        day_table(day)
    );
    let mut read = conn.prepare_cached(&sql)?;
    let mut hits = Vec::new();
    for rowid in rowids {
        let mut rows = read.query([rowid])?;
        if let Some(row) = rows.next()?
            && let Some(hit) = confirm(row, check, cursor)?
        {
            hits.push(hit);
        }
    }
    Ok(hits)
}
