//! Statistics computed from a store's searches: what [`crate::Store`]'s statistics do unless
//! a backend answers them itself, and what a backend falls back to for queries its rollups
//! cannot answer (event text and field filters). Incidents are few, so every backend counts
//! them this way.

use onewall_model::Event;

use crate::stats::{
    self, Histogram, SourceStat, StatsKind, StatsQuery, Tally, Top, TopField, alert_matches,
    alert_values, event_matches, event_value, incident_matches, incident_values,
};
use crate::{AlertQuery, EventQuery, IncidentQuery, MAX_LIMIT, Result, Store, StoreError};

/// The most events a statistic reads one by one; past it the query is refused as too broad.
pub const MAX_SCANNED_EVENTS: usize = 200_000;

/// Every event of `q` (text, filters, department, regions, source), at most
/// [`MAX_SCANNED_EVENTS`].
pub async fn events<S: Store + ?Sized>(store: &S, q: &StatsQuery) -> Result<Vec<Event>> {
    let mut filters = q.filters.clone();
    if let Some(d) = &q.department {
        filters.push((stats::DEPARTMENT_FIELD.to_owned(), d.clone()));
    }
    let mut eq = EventQuery {
        text: q.text.clone().filter(|t| !t.is_empty()),
        from: Some(q.from),
        to: Some(q.to),
        filters,
        regions: q.regions.clone(),
        limit: MAX_LIMIT,
        cursor: None,
    };
    let mut out = Vec::new();
    let mut read = 0;
    loop {
        let page = store.search_events(eq.clone()).await?;
        read += page.items.len();
        out.extend(page.items.into_iter().filter(|e| event_matches(q, e)));
        match page.next_cursor {
            Some(c) if read < MAX_SCANNED_EVENTS => eq.cursor = Some(c),
            Some(_) => {
                return Err(StoreError::InvalidQuery(format!(
                    "the query matches more than {MAX_SCANNED_EVENTS} events; narrow the range, the text or the filters"
                )));
            }
            None => return Ok(out),
        }
    }
}

/// Every alert of `q`.
pub async fn alerts<S: Store + ?Sized>(
    store: &S,
    q: &StatsQuery,
) -> Result<Vec<onewall_model::Alert>> {
    let mut aq = AlertQuery {
        from: Some(q.from),
        to: Some(q.to),
        rule_id: q.rule_id.clone(),
        min_severity: q.min_severity,
        regions: q.regions.clone(),
        limit: MAX_LIMIT,
        cursor: None,
    };
    let mut out = Vec::new();
    loop {
        let page = store.search_alerts(aq.clone()).await?;
        out.extend(page.items.into_iter().filter(|a| alert_matches(q, a)));
        match page.next_cursor {
            Some(c) => aq.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every incident of `q` (first seen in range).
pub async fn incidents<S: Store + ?Sized>(
    store: &S,
    q: &StatsQuery,
) -> Result<Vec<onewall_model::Incident>> {
    let mut iq = IncidentQuery {
        since: Some(q.from),
        min_severity: q.min_severity,
        regions: q.regions.clone(),
        limit: MAX_LIMIT,
        ..IncidentQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.search_incidents(iq.clone()).await?;
        out.extend(page.items.into_iter().filter(|i| incident_matches(q, i)));
        match page.next_cursor {
            Some(c) => iq.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Counts over time of `q`, read record by record.
pub async fn histogram<S: Store + ?Sized>(
    store: &S,
    q: &StatsQuery,
    interval_secs: i64,
) -> Result<Histogram> {
    let mut h = Histogram::empty(q.from, q.to, interval_secs)?;
    match q.kind {
        StatsKind::Events => events(store, q)
            .await?
            .iter()
            .for_each(|e| h.add(e.time.0, 1)),
        StatsKind::Alerts => alerts(store, q)
            .await?
            .iter()
            .for_each(|a| h.add(a.time.0, 1)),
        StatsKind::Incidents => incidents(store, q)
            .await?
            .iter()
            .for_each(|i| h.add(i.first_seen.0, 1)),
    }
    Ok(h)
}

/// The top values of `field` in `q`, read record by record.
pub async fn top<S: Store + ?Sized>(
    store: &S,
    q: &StatsQuery,
    field: TopField,
    limit: usize,
) -> Result<Top> {
    let mut t = Tally::default();
    match q.kind {
        StatsKind::Events => {
            for e in events(store, q).await? {
                t.add(event_value(&e, field).into_iter().collect());
            }
        }
        StatsKind::Alerts => {
            for a in alerts(store, q).await? {
                if field == TopField::Rule {
                    t.titles.insert(a.rule.id.clone(), a.rule.title.clone());
                }
                t.add(alert_values(&a, field));
            }
        }
        StatsKind::Incidents => {
            for i in incidents(store, q).await? {
                t.add(incident_values(&i, field));
            }
        }
    }
    Ok(t.top(limit))
}

/// The sources of the events of `q`, read event by event.
pub async fn sources<S: Store + ?Sized>(store: &S, q: &StatsQuery) -> Result<Vec<SourceStat>> {
    let events = events(store, q).await?;
    Ok(stats::sources_of(events.iter()))
}
