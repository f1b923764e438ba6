//! Alerts, incidents, the node's key/value state, and the stats.

use onewall_model::{Alert, AlertId, Incident, IncidentId, Severity, Timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::sql::{Conditions, int};
use super::{backend, events};
use crate::cursor::{CursorKind, decode_opt, page};
use crate::{
    AlertQuery, IncidentChange, IncidentQuery, Page, Result, StoreError, StoreStats,
    effective_limit,
};

/// A severity's rank as stored: 0 informational .. 4 critical.
fn rank(s: Severity) -> i64 {
    s as i64
}

fn to_body<T: Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| backend(format_args!("encoding {what}: {e}")))
}

fn from_body<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| backend(format_args!("stored {what} does not decode: {e}")))
}

/// Run a `SELECT body ... LIMIT n` and decode every row.
fn bodies<T: DeserializeOwned>(
    conn: &Connection,
    what: &str,
    sql: &str,
    params: Vec<rusqlite::types::Value>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let text = row
            .get_ref(0)?
            .as_str()
            .map_err(|e| backend(format_args!("stored {what} is not text: {e}")))?;
        out.push(from_body(what, text)?);
    }
    Ok(out)
}

// ---- alerts ----

/// An alert with its body encoded: done before the writer is taken (see [`write_alerts`]).
#[derive(Debug)]
pub(super) struct PreparedAlert {
    alert: Alert,
    body: String,
}

pub(super) fn prepare_alerts(alerts: Vec<Alert>) -> Result<Vec<PreparedAlert>> {
    alerts
        .into_iter()
        .map(|alert| {
            let body = to_body("alert", &alert)?;
            Ok(PreparedAlert { alert, body })
        })
        .collect()
}

pub(super) fn write_alerts(conn: &mut Connection, alerts: Vec<PreparedAlert>) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut rollup = super::alert_rollup::AlertRollup::default();
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO alerts (id, time, created, rule_id, severity, region, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for PreparedAlert { alert: a, body } in alerts {
            let added = stmt.execute(params![
                &a.id.to_bytes()[..],
                a.time.0,
                a.created.0,
                a.rule.id,
                rank(a.severity),
                a.region.get(),
                body,
            ])?;
            if added > 0 {
                let terms = super::stats::write_alert_terms(&tx, &a)?;
                rollup.add(&a, &terms);
            }
        }
        rollup.write(&tx)?;
    }
    tx.commit()?;
    Ok(())
}

/// Fill the alerts' statistics terms from the stored alerts (a store written before them).
pub(super) fn backfill_alert_terms(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM alert_terms", [])?;
    let mut stmt = conn.prepare("SELECT body FROM alerts")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        let a: Alert = from_body("alert", &text)?;
        super::stats::write_alert_terms(conn, &a)?;
    }
    super::alert_rollup::recount(conn, None, None)
}

pub(super) fn get_alert(conn: &mut Connection, id: AlertId) -> Result<Option<Alert>> {
    let found = bodies(
        conn,
        "alert",
        "SELECT body FROM alerts WHERE id = ?1",
        vec![id.to_bytes().to_vec().into()],
    )?;
    Ok(found.into_iter().next())
}

pub(super) fn search_alerts(conn: &mut Connection, q: &AlertQuery) -> Result<Page<Alert>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Alert, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    cond.range("time", q.from.map(|t| t.0), q.to.map(|t| t.0));
    cond.after("time", cursor);
    if let Some(rule) = &q.rule_id {
        let p = cond.bind(rule.clone());
        cond.push(format!("rule_id = {p}"));
    }
    if let Some(s) = q.min_severity {
        let p = cond.bind(rank(s));
        cond.push(format!("severity >= {p}"));
    }
    cond.regions(&q.regions);
    let sql = format!(
        "SELECT body FROM alerts {} ORDER BY time DESC, id DESC LIMIT {}",
        cond.where_clause(),
        cond.next_placeholder()
    );
    let items = bodies(conn, "alert", &sql, cond.params_with(int(limit + 1)))?;
    Ok(page(items, limit))
}

// ---- incidents ----

/// Incidents this writer stored last, with the `updated` value they were stored with: an
/// update that finds the row unchanged since starts from the cached copy instead of decoding
/// the stored JSON, which for an incident with many alerts was the larger part of the
/// correlator's per-batch cost. Only the writer connection writes incidents, and it fills
/// the cache after each commit, so a hit is the stored incident.
#[derive(Debug, Default)]
pub(super) struct IncidentCache {
    map: std::collections::HashMap<IncidentId, (i64, Incident)>,
}

impl IncidentCache {
    /// Incidents kept; when full the cache starts again.
    const CAPACITY: usize = 512;

    fn get(&self, id: IncidentId, updated: i64) -> Option<Incident> {
        match self.map.get(&id) {
            Some((at, inc)) if *at == updated => Some(inc.clone()),
            _ => None,
        }
    }

    fn put(&mut self, inc: Incident) {
        if self.map.len() >= Self::CAPACITY && !self.map.contains_key(&inc.id) {
            self.map.clear();
        }
        self.map.insert(inc.id, (inc.updated.0, inc));
    }

    fn forget(&mut self, id: IncidentId) {
        self.map.remove(&id);
    }
}

/// Write incident `i`'s row (its body without `alert_ids`) and its evidence. `stored` is
/// the evidence already in `incident_alerts` for it (empty for a new incident, or one whose
/// body still holds its ids): when `i.alert_ids` extends it, only the new ids are added,
/// otherwise the incident's rows are written again.
fn upsert_incident(tx: &Connection, i: &mut Incident, stored: &[AlertId]) -> Result<()> {
    let alert_ids = std::mem::take(&mut i.alert_ids);
    let body = to_body("incident", i);
    i.alert_ids = alert_ids;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO incidents
            (id, status, severity, region, group_key, first_seen, last_seen, updated, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET
            status = excluded.status, severity = excluded.severity, region = excluded.region,
            group_key = excluded.group_key, first_seen = excluded.first_seen,
            last_seen = excluded.last_seen, updated = excluded.updated, body = excluded.body",
    )?;
    let id = i.id.to_bytes();
    stmt.execute(params![
        &id[..],
        i.status.as_str(),
        rank(i.severity),
        i.region.get(),
        i.group_key,
        i.first_seen.0,
        i.last_seen.0,
        i.updated.0,
        body?,
    ])?;
    let from = if i.alert_ids.starts_with(stored) {
        stored.len()
    } else {
        0
    };
    if from == 0 {
        tx.prepare_cached("DELETE FROM incident_alerts WHERE incident = ?1")?
            .execute([&id[..]])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO incident_alerts (incident, seq, alert) VALUES (?1, ?2, ?3)",
    )?;
    for (seq, a) in i.alert_ids.iter().enumerate().skip(from) {
        insert.execute(params![&id[..], int(seq), &a.to_bytes()[..]])?;
    }
    Ok(())
}

pub(super) fn upsert_incidents(
    conn: &mut Connection,
    cache: &mut IncidentCache,
    incidents: &[Incident],
) -> Result<()> {
    for i in incidents {
        cache.forget(i.id);
    }
    let tx = conn.transaction()?;
    for i in incidents {
        upsert_incident(&tx, &mut i.clone(), &[])?;
    }
    tx.commit()?;
    Ok(())
}

/// Fill the evidence of incidents read from their bodies from `incident_alerts` (a body
/// written before that table holds its ids and is left as it is). Answers, per incident,
/// whether its ids came from the table.
fn fill_alert_ids(conn: &Connection, incidents: &mut [Incident]) -> Result<Vec<bool>> {
    let mut stmt =
        conn.prepare_cached("SELECT alert FROM incident_alerts WHERE incident = ?1 ORDER BY seq")?;
    let mut from_table = Vec::with_capacity(incidents.len());
    for inc in incidents {
        if !inc.alert_ids.is_empty() {
            from_table.push(false);
            continue;
        }
        let mut rows = stmt.query([&inc.id.to_bytes()[..]])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            let id = <[u8; 16]>::try_from(bytes.as_slice())
                .map(AlertId::from_bytes)
                .map_err(|_| {
                    backend(format_args!(
                        "incident {}: a stored alert id is not 16 bytes",
                        inc.id
                    ))
                })?;
            inc.alert_ids.push(id);
        }
        from_table.push(true);
    }
    Ok(from_table)
}

/// Incident `id` and the evidence of it already in `incident_alerts`.
fn read_incident(conn: &Connection, id: IncidentId) -> Result<Option<(Incident, usize)>> {
    let mut found: Vec<Incident> = bodies(
        conn,
        "incident",
        "SELECT body FROM incidents WHERE id = ?1",
        vec![id.to_bytes().to_vec().into()],
    )?;
    let from_table = fill_alert_ids(conn, &mut found)?;
    Ok(found.into_iter().zip(from_table).next().map(|(inc, t)| {
        let n = if t { inc.alert_ids.len() } else { 0 };
        (inc, n)
    }))
}

pub(super) fn get_incident(conn: &mut Connection, id: IncidentId) -> Result<Option<Incident>> {
    Ok(read_incident(conn, id)?.map(|(inc, _)| inc))
}

/// Several updates in one transaction, each in its own savepoint: a change that fails leaves
/// the others applied, and the batch costs one commit.
pub(super) fn update_incidents(
    conn: &mut Connection,
    cache: &mut IncidentCache,
    changes: Vec<(IncidentId, IncidentChange)>,
) -> Vec<Result<Incident>> {
    let ids: Vec<IncidentId> = changes.iter().map(|(id, _)| *id).collect();
    let failed = |cache: &mut IncidentCache, e: StoreError| {
        for id in &ids {
            cache.forget(*id);
        }
        ids.iter().map(|_| Err(e.clone())).collect()
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return failed(cache, e.into()),
    };
    let mut results = Vec::with_capacity(changes.len());
    for (id, change) in changes {
        let done = tx.savepoint().map_err(StoreError::from).and_then(|sp| {
            // Dropped on an error, the savepoint rolls back this change alone.
            let incident = change_incident(&sp, cache, id, change)?;
            sp.commit()?;
            Ok(incident)
        });
        results.push(done);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => failed(cache, e.into()),
    }
}

/// Read an incident (from the cache when it is current), apply `change` and write it, inside
/// the caller's transaction. The cache holds the result; a caller whose commit fails must
/// forget it.
fn change_incident(
    conn: &Connection,
    cache: &mut IncidentCache,
    id: IncidentId,
    change: IncidentChange,
) -> Result<Incident> {
    let not_found = || StoreError::NotFound {
        what: "incident",
        id: id.to_string(),
    };
    let updated: i64 = conn
        .prepare_cached("SELECT updated FROM incidents WHERE id = ?1")?
        .query_row([&id.to_bytes()[..]], |r| r.get(0))
        .optional()?
        .ok_or_else(not_found)?;
    let (mut incident, in_table) = match cache.get(id, updated) {
        // What this writer stored: every id is in the table.
        Some(cached) => {
            let n = cached.alert_ids.len();
            (cached, n)
        }
        None => read_incident(conn, id)?.ok_or_else(not_found)?,
    };
    // Whatever happens next, the cached copy may no longer be what is stored.
    cache.forget(id);
    let stored = incident.alert_ids[..in_table].to_vec();
    change(&mut incident)?;
    if incident.id != id {
        return Err(StoreError::Conflict(format!(
            "an update of incident {id} may not change its id to {}",
            incident.id
        )));
    }
    upsert_incident(conn, &mut incident, &stored)?;
    cache.put(incident.clone());
    Ok(incident)
}

pub(super) fn search_incidents(conn: &mut Connection, q: &IncidentQuery) -> Result<Page<Incident>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Incident, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    cond.after("updated", cursor);
    if let Some(status) = q.status {
        let p = cond.bind(status.as_str().to_owned());
        cond.push(format!("status = {p}"));
    }
    if q.open_only {
        cond.push(format!("status IN ({})", crate::codec::open_statuses()));
    }
    if let Some(s) = q.min_severity {
        let p = cond.bind(rank(s));
        cond.push(format!("severity >= {p}"));
    }
    cond.range("last_seen", q.since.map(|t| t.0), None);
    cond.regions(&q.regions);
    let sql = format!(
        "SELECT body FROM incidents {} ORDER BY updated DESC, id DESC LIMIT {}",
        cond.where_clause(),
        cond.next_placeholder()
    );
    let mut items: Vec<Incident> =
        bodies(conn, "incident", &sql, cond.params_with(int(limit + 1)))?;
    fill_alert_ids(conn, &mut items)?;
    Ok(page(items, limit))
}

// ---- node state ----

pub(super) fn get_state(conn: &mut Connection, key: &str) -> Result<Option<Vec<u8>>> {
    let mut stmt = conn.prepare_cached("SELECT value FROM node_state WHERE key = ?1")?;
    Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
}

pub(super) fn put_state(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO node_state (key, value, updated) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
    )?;
    stmt.execute(params![key, value, Timestamp::now().0])?;
    Ok(())
}

pub(super) fn delete_state(conn: &Connection, key: &str) -> Result<bool> {
    let mut stmt = conn.prepare_cached("DELETE FROM node_state WHERE key = ?1")?;
    Ok(stmt.execute([key])? > 0)
}

// ---- stats ----

pub(super) fn stats(conn: &mut Connection) -> Result<StoreStats> {
    let tx = conn.transaction()?;
    let (events, event_days) = events::count(&tx)?;
    let count = |table: &str| -> Result<u64> {
        let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(StoreStats {
        events,
        alerts: count("alerts")?,
        incidents: count("incidents")?,
        event_days,
    })
}
