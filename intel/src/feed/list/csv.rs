//! CSV lists: the header, the column mapping, one record per line.

use onewall_model::Timestamp;
use time::PrimitiveDateTime;
use time::macros::format_description;

use super::{
    Column, CsvColumns, ListFormat, kind_of_name, new_indicator, parse_guessed, parse_value,
};
use super::{FeedRead, Rejected, split_record};
use crate::IntelError;

/// The mapping with every column a position.
#[derive(Debug)]
struct Resolved {
    value: usize,
    kind: Option<usize>,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    confidence: Option<usize>,
    tags: Vec<usize>,
    id: Option<usize>,
    description: Option<usize>,
}

fn malformed(reason: String) -> IntelError {
    IntelError::MalformedFeed {
        format: "csv list",
        reason,
    }
}

fn resolve(cols: &CsvColumns, header: Option<&[String]>) -> Result<Resolved, IntelError> {
    let one = |c: &Column| -> Result<usize, IntelError> {
        match c {
            Column::Index(i) => Ok(*i),
            Column::Name(n) => {
                let h = header.ok_or_else(|| {
                    malformed(format!(
                        "column {n:?} is named but the list has no header (set header, or name \
                         columns by position)"
                    ))
                })?;
                h.iter()
                    .position(|x| x.trim().eq_ignore_ascii_case(n.trim()))
                    .ok_or_else(|| {
                        malformed(format!(
                            "column {n:?} is not in the header ({})",
                            h.join(",")
                        ))
                    })
            }
        }
    };
    let opt = |c: &Option<Column>| c.as_ref().map(one).transpose();
    Ok(Resolved {
        value: one(&cols.value)?,
        kind: opt(&cols.kind)?,
        first_seen: opt(&cols.first_seen)?,
        last_seen: opt(&cols.last_seen)?,
        confidence: opt(&cols.confidence)?,
        tags: cols.tags.iter().map(one).collect::<Result<_, _>>()?,
        id: opt(&cols.id)?,
        description: opt(&cols.description)?,
    })
}

/// A CSV list; and how many records it held.
pub(super) fn read_csv(
    text: &str,
    feed: &str,
    format: &ListFormat,
    cols: &CsvColumns,
) -> Result<(FeedRead, usize), IntelError> {
    let mut read = FeedRead::default();
    let mut records = 0;
    let mut last_comment: Option<&str> = None;
    let mut resolved: Option<Resolved> = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            if resolved.is_none() {
                last_comment = Some(c);
            }
            continue;
        }
        let item = format!("line {}", n + 1);
        let res = match &resolved {
            Some(r) => r,
            None => {
                let header = if cols.header {
                    split_record(t, cols.delimiter)
                } else {
                    last_comment.and_then(|c| split_record(c.trim(), cols.delimiter))
                };
                let r = resolved.insert(resolve(cols, header.as_deref())?);
                if cols.header {
                    continue;
                }
                r
            }
        };
        records += 1;
        let Some(fields) = split_record(t, cols.delimiter) else {
            read.rejected.push(Rejected {
                item,
                reason: "a quote is not closed".into(),
            });
            continue;
        };
        match record(&fields, res, feed, format) {
            Ok(ind) => read.indicators.push(ind),
            Err(reason) => read.rejected.push(Rejected { item, reason }),
        }
    }
    Ok((read, records))
}

fn record(
    fields: &[String],
    res: &Resolved,
    feed: &str,
    format: &ListFormat,
) -> Result<crate::Indicator, String> {
    let get = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
    };
    let value = fields.get(res.value).map(|s| s.trim()).ok_or_else(|| {
        format!(
            "has {} columns; the value is column {}",
            fields.len(),
            res.value
        )
    })?;
    if value.is_empty() {
        return Err("the value is empty".into());
    }
    let kind = match (format.kind, res.kind) {
        (Some(k), _) => k,
        (None, Some(_)) => {
            let name = get(res.kind).unwrap_or("");
            kind_of_name(name)
                .or_else(|| format.csv.as_ref().and_then(|c| c.kinds.get(name).copied()))
                .ok_or_else(|| format!("kind {name:?} is not one onewall matches"))?
        }
        (None, None) => return finish_record(parse_guessed(value)?, fields, res, feed, format),
    };
    finish_record(parse_value(kind, value)?, fields, res, feed, format)
}

fn finish_record(
    value: crate::Observable,
    fields: &[String],
    res: &Resolved,
    feed: &str,
    format: &ListFormat,
) -> Result<crate::Indicator, String> {
    let get = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
    };
    let mut ind = new_indicator(value, feed, format);
    ind.valid_from = get(res.first_seen)
        .and_then(parse_time)
        .or_else(|| get(res.last_seen).and_then(parse_time));
    if let Some(c) = get(res.confidence).and_then(|c| c.parse::<u8>().ok()) {
        ind.confidence = c.min(100);
    }
    for &col in &res.tags {
        for tag in get(Some(col)).unwrap_or("").split(',') {
            let tag = tag.trim();
            if !tag.is_empty()
                && !tag.eq_ignore_ascii_case("none")
                && !ind.labels.iter().any(|l| l == tag)
            {
                ind.labels.push(tag.to_string());
            }
        }
    }
    ind.id = get(res.id).map(str::to_string);
    ind.description = get(res.description).map(str::to_string);
    Ok(ind)
}

/// A time as lists write them: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC, optionally followed by
/// `UTC`), or a date.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let t = s.trim();
    let t = t.strip_suffix("UTC").map_or(t, str::trim_end);
    if let Ok(ts) = Timestamp::parse_rfc3339(t) {
        return Some(ts);
    }
    let full = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(dt) = PrimitiveDateTime::parse(t, &full) {
        return Some(Timestamp::from_offset_date_time(dt.assume_utc()));
    }
    let day = format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &day)
        .ok()
        .map(|d| Timestamp::from_offset_date_time(d.midnight().assume_utc()))
}
