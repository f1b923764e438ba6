//! Exports: `GET /api/v1/export/{events,alerts,incidents}` streams every record a list
//! endpoint's filters select, as NDJSON (default) or CSV (`format=csv`).
//!
//! - The same filters as the lists (`region` within the caller's subtree; department for
//!   callers with one), plus `format` and `limit` (at most this many rows).
//! - At most [`ExportLimit`] rows (`[auth] export_max_rows`): a `limit` above it, or a
//!   selection of more rows without a `limit`, answers 400 before anything is sent.
//! - Without a `limit`, the rows are counted first, for at most [`ExportCountBudget`]
//!   (`[auth] export_count_ms`); a selection that cannot be counted in that time answers 400
//!   asking for a `limit` or narrower filters.
//! - Rows are masked whole for callers without the `pii` permission, in both formats, and
//!   their `q` and `filter` are matched under that view ([`crate::view`]).
//! - CSV is UTF-8 with a byte-order mark (so spreadsheets read Chinese text), CRLF line ends,
//!   fixed columns per kind; nested values are compact JSON, lists of plain values are
//!   joined with `;`. A cell that a spreadsheet would run as a formula (starting with `=`,
//!   `+`, `-`, `@`, tab or CR, and not a number) gets a leading `'`.
//! - Every export is recorded in the audit log as action `export`, with its kind, format,
//!   filters (personal data masked) and the number of rows sent.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use onewall_store::{AlertQuery, EventQuery, IncidentQuery, MAX_LIMIT};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::access::{Caller, record};
use crate::params::Params;
use crate::view::{ViewSearch, audit_query, under_view};
use crate::{ApiError, ApiState, query};

/// Rows an export sends at most when the node sets no other bound.
pub const DEFAULT_MAX_ROWS: usize = 100_000;

/// The most rows one export may send (`[auth] export_max_rows`); the binary adds it to the
/// router as an extension, [`DEFAULT_MAX_ROWS`] without one.
#[derive(Debug, Clone, Copy)]
pub struct ExportLimit(pub usize);

/// How long an export without a `limit` may spend counting its rows when the node sets no
/// other budget.
pub const DEFAULT_COUNT_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The time an export without a `limit` may spend counting its selection before it answers
/// 400 (`[auth] export_count_ms`); the binary adds it to the router as an extension,
/// [`DEFAULT_COUNT_BUDGET`] without one.
#[derive(Debug, Clone, Copy)]
pub struct ExportCountBudget(pub std::time::Duration);

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

/// What is exported, as a store query.
#[derive(Debug, Clone)]
enum Selection {
    /// With the text search a caller without `pii` runs under its view.
    Events(EventQuery, Option<ViewSearch>),
    Alerts(AlertQuery),
    Incidents(IncidentQuery),
}

impl Selection {
    fn kind(&self) -> &'static str {
        match self {
            Selection::Events(..) => "events",
            Selection::Alerts(_) => "alerts",
            Selection::Incidents(_) => "incidents",
        }
    }

    /// One page from `cursor`: the records the caller may see (department included), as JSON
    /// (masked when `mask`), and where the next page starts.
    async fn page(
        &self,
        s: &ApiState,
        c: &Caller,
        cursor: Option<String>,
        mask: bool,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let to_json =
            |v: &dyn erased::Ser| -> Value { if mask { v.masked(c, s) } else { Value::Null } };
        let store = &*s.store;
        let mut out = Vec::new();
        let next = match self {
            Selection::Events(q, view) => {
                let page = store
                    .search_events(EventQuery {
                        limit: MAX_LIMIT,
                        cursor,
                        ..q.clone()
                    })
                    .await?;
                for e in &page.items {
                    if c.event_in_department(e) && view.as_ref().is_none_or(|v| v.keeps(e)) {
                        out.push(to_json(e));
                    }
                }
                page.next_cursor
            }
            Selection::Alerts(q) => {
                let page = store
                    .search_alerts(AlertQuery {
                        limit: MAX_LIMIT,
                        cursor,
                        ..q.clone()
                    })
                    .await?;
                for a in &page.items {
                    if c.alert_in_department(store, a).await? {
                        out.push(to_json(a));
                    }
                }
                page.next_cursor
            }
            Selection::Incidents(q) => {
                let page = store
                    .search_incidents(IncidentQuery {
                        limit: MAX_LIMIT,
                        cursor,
                        ..q.clone()
                    })
                    .await?;
                for i in &page.items {
                    if c.incident_in_department(store, i).await? {
                        out.push(to_json(i));
                    }
                }
                page.next_cursor
            }
        };
        Ok((out, next))
    }

    /// The CSV columns: header and JSON pointer into the record.
    fn columns(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Selection::Events(..) => &[
                ("id", "/id"),
                ("time", "/time"),
                ("received", "/received"),
                ("region", "/region"),
                ("collector", "/source/collector"),
                ("peer", "/source/peer"),
                ("format", "/format"),
                ("raw", "/raw"),
                ("fields", "/fields"),
                ("parse_error", "/parse_error"),
            ],
            Selection::Alerts(_) => &[
                ("id", "/id"),
                ("time", "/time"),
                ("created", "/created"),
                ("region", "/region"),
                ("severity", "/severity"),
                ("rule_id", "/rule/id"),
                ("rule_title", "/rule/title"),
                ("event_ids", "/event_ids"),
                ("entities", "/entities"),
                ("matched", "/matched"),
            ],
            Selection::Incidents(_) => &[
                ("id", "/id"),
                ("title", "/title"),
                ("status", "/status"),
                ("severity", "/severity"),
                ("grade", "/classification/grade"),
                ("category", "/classification/category"),
                ("region", "/region"),
                ("regions", "/regions"),
                ("assignee", "/assignee"),
                ("team", "/team"),
                ("first_seen", "/first_seen"),
                ("last_seen", "/last_seen"),
                ("updated", "/updated"),
                ("alert_ids", "/alert_ids"),
                ("rule_ids", "/rule_ids"),
                ("entities", "/entities"),
            ],
        }
    }
}

/// Serializing any of the three record kinds through one closure.
mod erased {
    use serde_json::Value;

    use crate::access::Caller;
    use crate::{ApiState, masked};

    pub trait Ser {
        fn masked(&self, c: &Caller, s: &ApiState) -> Value;
    }

    impl<T: serde::Serialize> Ser for T {
        fn masked(&self, c: &Caller, s: &ApiState) -> Value {
            masked(c, &s.access.mask, self)
        }
    }
}

/// Export the records a list's filters select (`events`, `alerts` or `incidents`).
#[utoipa::path(get, path = "/api/v1/export/{kind}",
    params(("kind" = String, Path, description = "events, alerts or incidents"),
           ("format" = Option<String>, Query, description = "ndjson (default) or csv (UTF-8 with BOM)"),
           ("limit" = Option<usize>, Query, description = "at most this many rows (no more than the node's export_max_rows)"),
           ("q" = Option<String>, Query, description = "events: text in the raw event"),
           ("filter" = Option<Vec<String>>, Query, description = "events: FIELD:VALUE, repeatable"),
           ("from" = Option<String>, Query, description = "events, alerts: RFC 3339"),
           ("to" = Option<String>, Query, description = "events, alerts: RFC 3339"),
           ("rule_id" = Option<String>, Query, description = "alerts of this rule"),
           ("severity" = Option<String>, Query, description = "alerts, incidents: at least this severe"),
           ("status" = Option<String>, Query, description = "incidents: new, acknowledged, investigating, resolved, closed, false_positive"),
           ("open" = Option<bool>, Query, description = "incidents: only open ones"),
           ("since" = Option<String>, Query, description = "incidents: last seen at or after (RFC 3339)"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree")),
    responses((status = 200, description = "the records, as application/x-ndjson or text/csv"),
              (status = 400, description = "invalid query, or more rows than the export bound"),
              (status = 404, description = "no such kind")))]
pub async fn export(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    limit: Option<Extension<ExportLimit>>,
    budget: Option<Extension<ExportCountBudget>>,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let cap = limit.map_or(DEFAULT_MAX_ROWS, |Extension(ExportLimit(n))| n);
    let extra = ["format", "limit"];
    let (selection, p) = match kind.as_str() {
        "events" => {
            let p = Params::parse(raw.as_deref(), &query::with(&query::EVENT_FILTERS, &extra))?;
            let mut q = query::events(&s, &c, &p)?;
            let view = under_view(&c, &s.access.mask, &mut q)?;
            (Selection::Events(q, view), p)
        }
        "alerts" => {
            let p = Params::parse(raw.as_deref(), &query::with(&query::ALERT_FILTERS, &extra))?;
            (Selection::Alerts(query::alerts(&s, &c, &p)?), p)
        }
        "incidents" => {
            let p = Params::parse(
                raw.as_deref(),
                &query::with(&query::INCIDENT_FILTERS, &extra),
            )?;
            (Selection::Incidents(query::incidents(&s, &c, &p)?), p)
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no export of {other:?}; expected events, alerts or incidents"
            )));
        }
    };
    let format = match p.one("format")? {
        None | Some("ndjson") => Format::Ndjson,
        Some("csv") => Format::Csv,
        Some(f) => {
            return Err(ApiError::invalid(format!(
                "format: expected ndjson or csv, got {f:?}"
            )));
        }
    };
    let asked = p.limit()?;
    if asked > cap {
        return Err(ApiError::invalid(format!(
            "limit: {asked} is more than this node exports at once ({cap} rows, \
             auth.export_max_rows)"
        )));
    }
    let rows = if asked == 0 { cap } else { asked };
    if asked == 0 {
        // Count first (nothing is sent yet), so a selection beyond the bound is a clear 400
        // rather than a silently cut file. Counting is bounded in time: a selection too slow
        // to count is refused as well.
        let budget = budget.map_or(DEFAULT_COUNT_BUDGET, |Extension(ExportCountBudget(d))| d);
        let count = async {
            let mut n = 0usize;
            let mut cursor = None;
            loop {
                let (items, next) = selection.page(&s, &c, cursor, false).await?;
                n += items.len();
                if n > cap {
                    return Err(ApiError::invalid(format!(
                        "the export selects more than {cap} {} (auth.export_max_rows); narrow \
                         it with from/to, region or other filters, or ask for fewer with limit",
                        selection.kind()
                    )));
                }
                match next {
                    Some(c) => cursor = Some(c),
                    None => return Ok(()),
                }
            }
        };
        match tokio::time::timeout(budget, count).await {
            Ok(counted) => counted?,
            Err(_) => {
                return Err(ApiError::invalid(format!(
                    "the export's {} could not be counted within {} ms (auth.export_count_ms); \
                     give a limit (at most {cap}) or narrow it with from/to, region or other \
                     filters",
                    selection.kind(),
                    budget.as_millis()
                )));
            }
        }
    }
    let filters = audit_query(raw.as_deref().unwrap_or_default(), &s.access.mask);
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let kind = selection.kind();
    tokio::spawn(stream(s, c, selection, format, rows, filters, tx));
    let (content_type, ext) = match format {
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"onewall-{kind}.{ext}\""),
            ),
        ],
        Body::from_stream(ChannelBody(rx)),
    )
        .into_response())
}

/// Send up to `rows` records to `tx`, then audit the export.
async fn stream(
    s: ApiState,
    c: Caller,
    selection: Selection,
    format: Format,
    rows: usize,
    filters: String,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut buf = String::new();
    let columns = selection.columns();
    if format == Format::Csv {
        buf.push('\u{feff}');
        let header: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
        buf.push_str(&header.join(","));
        buf.push_str("\r\n");
    }
    let mut sent = 0usize;
    let mut cursor = None;
    let mut outcome = "complete";
    'pages: while sent < rows {
        let (items, next) = match selection.page(&s, &c, cursor, true).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, kind = selection.kind(), "export failed");
                let _ = tx.send(Err(std::io::Error::other(e.message))).await;
                outcome = "failed";
                break;
            }
        };
        for item in items {
            if sent == rows {
                break 'pages;
            }
            match format {
                Format::Ndjson => {
                    buf.push_str(&item.to_string());
                    buf.push('\n');
                }
                Format::Csv => csv_row(&mut buf, columns, &item),
            }
            sent += 1;
            if buf.len() >= CHUNK
                && tx
                    .send(Ok(Bytes::from(std::mem::take(&mut buf))))
                    .await
                    .is_err()
            {
                outcome = "client gone";
                break 'pages;
            }
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    if outcome == "complete" && !buf.is_empty() && tx.send(Ok(Bytes::from(buf))).await.is_err() {
        outcome = "client gone";
    }
    let fmt = match format {
        Format::Ndjson => "ndjson",
        Format::Csv => "csv",
    };
    record(
        &s.access.audit,
        c.audit_record(
            "export",
            format!(
                "{} format={fmt} filters={filters:?} rows={sent} {outcome}",
                selection.kind()
            ),
            if outcome == "failed" { 500 } else { 200 },
        ),
    )
    .await;
}

/// One CSV line of `item`'s `columns`.
fn csv_row(buf: &mut String, columns: &[(&str, &str)], item: &Value) {
    for (n, (_, pointer)) in columns.iter().enumerate() {
        if n > 0 {
            buf.push(',');
        }
        let cell = match item.pointer(pointer) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(list)) if list.iter().all(|v| !v.is_object() && !v.is_array()) => {
                list.iter()
                    .map(|v| match v {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(";")
            }
            Some(other) => other.to_string(),
        };
        push_cell(buf, &cell);
    }
    buf.push_str("\r\n");
}

/// A CSV cell: quoted when it holds a comma, quote or line end; a would-be formula defused.
fn push_cell(buf: &mut String, cell: &str) {
    let formula =
        cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    let needs_quotes = formula || cell.contains([',', '"', '\r', '\n']);
    if needs_quotes {
        buf.push('"');
    }
    if formula {
        buf.push('\'');
    }
    for ch in cell.chars() {
        if ch == '"' {
            buf.push('"');
        }
        buf.push(ch);
    }
    if needs_quotes {
        buf.push('"');
    }
}

/// The response body: chunks from the exporting task.
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_cells() {
        let mut buf = String::new();
        let cols = [
            ("a", "/a"),
            ("b", "/b"),
            ("c", "/c"),
            ("d", "/d"),
            ("e", "/e"),
        ];
        csv_row(
            &mut buf,
            &cols,
            &json!({"a": "河南, \"郑州\"", "b": ["x", 1], "c": {"k": 1}, "d": "=cmd()", "e": "-5"}),
        );
        assert_eq!(
            buf,
            "\"河南, \"\"郑州\"\"\",x;1,\"{\"\"k\"\":1}\",\"'=cmd()\",-5\r\n"
        );
    }
}
