//! What a periodic report reads from the store: every page of the span's alerts and of the
//! incidents created in it, within the scope's regions.

use onewall_model::{Alert, Incident};
use onewall_store::{AlertQuery, IncidentQuery, MAX_LIMIT, Store};

use super::{ReportScope, Span};
use crate::Result;

/// Drop what the report does not count, so a long span's alerts fit in memory.
fn slim(mut a: Alert, keep_target: bool) -> Alert {
    a.event_ids = Vec::new();
    a.matched = Vec::new();
    a.intel = None;
    a.anomaly = None;
    a.entities
        .retain(|e| e.kind == onewall_model::EntityKind::SourceIp);
    if !keep_target {
        a.target = None;
    }
    a
}

/// The alerts timed in `span` in `scope`'s regions (drills included).
pub(super) async fn alerts(
    store: &dyn Store,
    span: &Span,
    scope: &ReportScope,
) -> Result<Vec<Alert>> {
    let dept = scope.department.as_deref();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search_alerts(AlertQuery {
                from: Some(span.from),
                to: Some(span.to),
                regions: scope.regions.clone(),
                limit: MAX_LIMIT,
                cursor,
                ..AlertQuery::default()
            })
            .await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|a| {
                    dept.is_none_or(|d| a.target.as_ref().is_some_and(|t| t.department == d))
                })
                .map(|a| slim(a, dept.is_some())),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The incidents created in `span` in `scope`'s regions (drills included): those seen since
/// its start, kept when created in it.
pub(super) async fn incidents(
    store: &dyn Store,
    span: &Span,
    scope: &ReportScope,
) -> Result<Vec<Incident>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search_incidents(IncidentQuery {
                since: Some(span.from),
                regions: scope.regions.clone(),
                limit: MAX_LIMIT,
                cursor,
                ..IncidentQuery::default()
            })
            .await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|i| span.from <= i.created && i.created < span.to),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
