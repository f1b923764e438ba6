//! Alerts, incidents (newest version per id), the stats, and `WHERE` building.

use std::collections::{HashMap, HashSet};

use clickhouse::query::Query;
use clickhouse::{Client, Row};
use onewall_model::{Alert, AlertId, Incident, IncidentId, RegionCode, Severity};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::evidence::{self, Evidence};
use super::{Culprit, events};
use crate::cursor::{Cursor, CursorKind, decode_opt, page};
use crate::{
    AlertQuery, IncidentChange, IncidentQuery, Page, Result, StoreError, StoreStats,
    effective_limit,
};

/// Conditions joined by `AND`, and the strings their `?` placeholders stand for (bound, in
/// order, by the client). Numbers onewall made itself are written into the text.
#[derive(Debug, Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    args: Vec<String>,
}

impl Conditions {
    /// Add a string and return its placeholder.
    pub fn bind(&mut self, v: &str) -> &'static str {
        self.args.push(v.to_owned());
        "?"
    }

    pub fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Take the strings of `other` after these (its clauses are written elsewhere, in a
    /// subquery after this one's).
    pub fn absorb(&mut self, other: Conditions) {
        self.args.extend(other.args);
    }

    /// `column >= from` and `column < to`, for the bounds given.
    pub fn range(&mut self, column: &str, from: Option<i64>, to: Option<i64>) {
        if let Some(from) = from {
            self.push(format!("{column} >= {from}"));
        }
        if let Some(to) = to {
            self.push(format!("{column} < {to}"));
        }
    }

    /// Rows strictly after `cursor` in `(key DESC, id DESC)` order.
    pub fn after(&mut self, key: &str, cursor: Option<Cursor>) {
        if let Some(c) = cursor {
            let k = c.key;
            let id = format!("{:032X}", u128::from_be_bytes(c.id));
            self.push(format!(
                "{key} <= {k} AND ({key} < {k} OR id < unhex('{id}'))"
            ));
        }
    }

    /// `region` is one of `regions`; nothing when the list is empty.
    pub fn regions(&mut self, regions: &[RegionCode]) {
        if regions.is_empty() {
            return;
        }
        let list: Vec<String> = regions.iter().map(|r| r.get().to_string()).collect();
        self.push(format!("region IN ({})", list.join(", ")));
    }

    fn joined(&self, keyword: &str) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("{keyword} {}", self.clauses.join(" AND "))
        }
    }

    /// The `WHERE ...` text (empty when there are no conditions).
    pub fn where_clause(&self) -> String {
        self.joined("WHERE")
    }

    /// Bind the strings to a query made from this text.
    pub fn apply(&self, mut q: Query) -> Query {
        for a in &self.args {
            q = q.bind(a.as_str());
        }
        q
    }
}

/// A severity's rank as stored: 0 informational .. 4 critical.
fn rank(s: Severity) -> u8 {
    s as u8
}

fn hex(id: [u8; 16]) -> String {
    format!("{:032X}", u128::from_be_bytes(id))
}

/// A JSON body, the only column of its query. Rows are read by position (validation is off
/// for 18.16), and aliases never repeat a column's name: a server with the new analyzer may
/// resolve such an alias inside its own aggregate.
#[derive(Debug, Row, Deserialize)]
struct Body {
    body: String,
}

fn decode<T: DeserializeOwned>(culprit: &Culprit, what: &str, rows: Vec<Body>) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| {
            serde_json::from_str(&r.body).map_err(|e| {
                culprit.error(
                    &format!("reading {what}"),
                    format_args!("stored {what} does not decode: {e}"),
                )
            })
        })
        .collect()
}

fn encode<T: Serialize>(culprit: &Culprit, what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| culprit.error(&format!("encoding {what}"), e))
}

async fn bodies<T: DeserializeOwned>(culprit: &Culprit, what: &str, q: Query) -> Result<Vec<T>> {
    let rows: Vec<Body> = q
        .fetch_all()
        .await
        .map_err(|e| culprit.error(&format!("reading {what}"), e))?;
    decode(culprit, what, rows)
}

// ---- alerts ----

#[derive(Debug, Row, Serialize)]
struct AlertRow {
    month: u32,
    time: i64,
    id: [u8; 16],
    created: i64,
    rule_id: String,
    severity: u8,
    region: u32,
    body: String,
}

#[derive(Debug, Row, Deserialize)]
struct IdRead {
    id: [u8; 16],
}

/// Write alerts whose ids are not stored yet. The caller holds the alert write lock.
pub(super) async fn write_alerts(
    client: &Client,
    culprit: &Culprit,
    alerts: &[Alert],
) -> Result<()> {
    let mut seen = HashSet::new();
    let batch: Vec<&Alert> = alerts
        .iter()
        .filter(|a| seen.insert(a.id.to_bytes()))
        .collect();
    let mut stored = HashSet::new();
    for chunk in batch.chunks(2000) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|a| format!("'{}'", hex(a.id.to_bytes())))
            .collect();
        let lo = chunk.iter().map(|a| a.time.0).min().unwrap_or(0);
        let hi = chunk.iter().map(|a| a.time.0).max().unwrap_or(0);
        let sql = format!(
            "SELECT id FROM alerts WHERE time >= {lo} AND time <= {hi} AND hex(id) IN ({})",
            ids.join(", ")
        );
        let rows: Vec<IdRead> = client
            .query(&sql)
            .fetch_all()
            .await
            .map_err(|e| culprit.error("checking stored alert ids", e))?;
        stored.extend(rows.into_iter().map(|r| r.id));
    }
    let err = |e| culprit.error("inserting alerts", e);
    let mut insert = client.insert::<AlertRow>("alerts").await.map_err(err)?;
    let mut written = 0usize;
    for a in batch.iter().filter(|a| !stored.contains(&a.id.to_bytes())) {
        let row = AlertRow {
            month: a.time.yyyymmdd() / 100,
            time: a.time.0,
            id: a.id.to_bytes(),
            created: a.created.0,
            rule_id: a.rule.id.clone(),
            severity: rank(a.severity),
            region: a.region.get(),
            body: encode(culprit, "alert", a)?,
        };
        insert.write(&row).await.map_err(err)?;
        written += 1;
    }
    if written == 0 {
        // Nothing new: send no empty INSERT.
        return Ok(());
    }
    insert.end().await.map_err(err)
}

pub(super) async fn get_alert(
    client: &Client,
    culprit: &Culprit,
    id: AlertId,
) -> Result<Option<Alert>> {
    let q = client
        .query("SELECT body FROM alerts WHERE id = unhex(?) LIMIT 1")
        .bind(hex(id.to_bytes()));
    Ok(bodies(culprit, "alert", q).await?.into_iter().next())
}

pub(super) async fn search_alerts(
    client: &Client,
    culprit: &Culprit,
    q: &AlertQuery,
) -> Result<Page<Alert>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Alert, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    cond.range("time", q.from.map(|t| t.0), q.to.map(|t| t.0));
    cond.after("time", cursor);
    if let Some(rule) = &q.rule_id {
        let p = cond.bind(rule);
        cond.push(format!("rule_id = {p}"));
    }
    if let Some(s) = q.min_severity {
        cond.push(format!("severity >= {}", rank(s)));
    }
    cond.regions(&q.regions);
    let sql = format!(
        "SELECT body FROM alerts {} ORDER BY time DESC, id DESC LIMIT {}",
        cond.where_clause(),
        limit + 1
    );
    let items = bodies(culprit, "alert", cond.apply(client.query(&sql))).await?;
    Ok(page(items, limit))
}

// ---- incidents ----

#[derive(Debug, Row, Serialize)]
struct IncidentRow {
    id: [u8; 16],
    version: u64,
    status: String,
    severity: u8,
    region: u32,
    group_key: String,
    first_seen: i64,
    last_seen: i64,
    updated: i64,
    body: String,
}

#[derive(Debug, Row, Deserialize)]
struct VersionRead {
    version: u64,
}

/// The highest incident version stored, so that versions written next are higher.
pub(super) async fn last_incident_version(client: &Client, culprit: &Culprit) -> Result<u64> {
    let row: VersionRead = client
        .query("SELECT max(version) AS last FROM incidents")
        .fetch_one()
        .await
        .map_err(|e| culprit.error("reading incident versions", e))?;
    Ok(row.version)
}

/// The next version: above the last one written, and near the wall clock so that a restarted
/// process (which also reads the stored maximum) keeps rising.
fn next_version(last: &mut u64) -> u64 {
    let now = u64::try_from(onewall_model::Timestamp::now().0).unwrap_or(0);
    *last = now.max(*last + 1);
    *last
}

/// Insert incidents as new versions, later ones in the batch winning. The caller holds the
/// incident write lock, whose value is `last`.
async fn insert_incidents(
    client: &Client,
    culprit: &Culprit,
    last: &mut u64,
    incidents: &[&Incident],
) -> Result<()> {
    let err = |e| culprit.error("inserting incidents", e);
    let mut insert = client
        .insert::<IncidentRow>("incidents")
        .await
        .map_err(err)?;
    for i in incidents {
        let row = IncidentRow {
            id: i.id.to_bytes(),
            version: next_version(last),
            status: i.status.as_str().to_owned(),
            severity: rank(i.severity),
            region: i.region.get(),
            group_key: i.group_key.clone(),
            first_seen: i.first_seen.0,
            last_seen: i.last_seen.0,
            updated: i.updated.0,
            body: encode(
                culprit,
                "incident",
                // The evidence is in `incident_alerts` (see `evidence`).
                &Incident {
                    alert_ids: Vec::new(),
                    ..(*i).clone()
                },
            )?,
        };
        insert.write(&row).await.map_err(err)?;
    }
    insert.end().await.map_err(err)
}

pub(super) async fn upsert_incidents(
    client: &Client,
    culprit: &Culprit,
    last: &mut u64,
    incidents: &[Incident],
) -> Result<()> {
    let ids: Vec<IncidentId> = incidents.iter().map(|i| i.id).collect();
    let stored = evidence::read(client, culprit, &ids).await?;
    let changes: Vec<(&Incident, Option<&Evidence>)> =
        incidents.iter().map(|i| (i, stored.get(&i.id))).collect();
    evidence::write(client, culprit, &changes).await?;
    let all: Vec<&Incident> = incidents.iter().collect();
    insert_incidents(client, culprit, last, &all).await
}

pub(super) async fn get_incident(
    client: &Client,
    culprit: &Culprit,
    id: IncidentId,
) -> Result<Option<Incident>> {
    let q = client
        .query(
            "SELECT argMax(body, version) AS newest FROM incidents \
             WHERE id = unhex(?) GROUP BY id",
        )
        .bind(hex(id.to_bytes()));
    let mut found: Vec<Incident> = bodies(culprit, "incident", q).await?;
    evidence::fill(client, culprit, &mut found).await?;
    Ok(found.into_iter().next())
}

/// Read, change and write back one incident: a batch of one. The caller holds the incident
/// write lock, so no other write of this process comes between the read and the write.
pub(super) async fn update_incident(
    client: &Client,
    culprit: &Culprit,
    last: &mut u64,
    id: IncidentId,
    change: IncidentChange,
) -> Result<Incident> {
    update_incidents(client, culprit, last, vec![(id, change)])
        .await
        .pop()
        .unwrap_or_else(|| {
            Err(StoreError::NotFound {
                what: "incident",
                id: id.to_string(),
            })
        })
}

/// Change a batch of incidents in four round trips whatever its size: read the newest
/// bodies, read their evidence, then (after every change ran, in order) write the evidence and
/// the new versions. A failed read or write fails every change; a change that fails, or names
/// an incident that is not there, fails alone.
pub(super) async fn update_incidents(
    client: &Client,
    culprit: &Culprit,
    last: &mut u64,
    changes: Vec<(IncidentId, IncidentChange)>,
) -> Vec<Result<Incident>> {
    let n = changes.len();
    let all_fail = |e: StoreError| (0..n).map(|_| Err(e.clone())).collect::<Vec<_>>();
    let mut ids: Vec<IncidentId> = changes.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Vec::new();
    }
    let list: Vec<String> = ids
        .iter()
        .map(|i| format!("unhex('{}')", hex(i.to_bytes())))
        .collect();
    let q = client.query(&format!(
        "SELECT argMax(body, version) AS newest FROM incidents \
         WHERE id IN ({}) GROUP BY id",
        list.join(", ")
    ));
    let found: Vec<Incident> = match bodies(culprit, "incident", q).await {
        Ok(f) => f,
        Err(e) => return all_fail(e),
    };
    let mut stored = match evidence::read(client, culprit, &ids).await {
        Ok(s) => s,
        Err(e) => return all_fail(e),
    };
    // Each incident as read, with its stored evidence (a body that holds its ids inline
    // has no rows yet), then as changed so far, and whether a change took.
    let mut current: HashMap<IncidentId, (Incident, Option<evidence::Evidence>, bool)> = found
        .into_iter()
        .map(|mut inc| {
            let ev = if inc.alert_ids.is_empty() {
                let ev = stored.remove(&inc.id).unwrap_or_default();
                inc.alert_ids = ev.alive.iter().map(|(_, a)| *a).collect();
                Some(ev)
            } else {
                None
            };
            (inc.id, (inc, ev, false))
        })
        .collect();
    let mut results: Vec<Result<Incident>> = Vec::with_capacity(n);
    for (id, change) in changes {
        let Some((inc, _, changed)) = current.get_mut(&id) else {
            results.push(Err(StoreError::NotFound {
                what: "incident",
                id: id.to_string(),
            }));
            continue;
        };
        // A failed change leaves the incident as it was.
        let mut next = inc.clone();
        let outcome = change(&mut next).and_then(|()| {
            if next.id == id {
                Ok(())
            } else {
                Err(StoreError::Conflict(format!(
                    "an update of incident {id} may not change its id to {}",
                    next.id
                )))
            }
        });
        match outcome {
            Ok(()) => {
                *inc = next;
                *changed = true;
                results.push(Ok(inc.clone()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    let writes: Vec<(&Incident, Option<&evidence::Evidence>)> = current
        .values()
        .filter(|(_, _, changed)| *changed)
        .map(|(inc, ev, _)| (inc, ev.as_ref()))
        .collect();
    if writes.is_empty() {
        return results;
    }
    let written = async {
        evidence::write(client, culprit, &writes).await?;
        let incidents: Vec<&Incident> = writes.iter().map(|(inc, _)| *inc).collect();
        insert_incidents(client, culprit, last, &incidents).await
    }
    .await;
    match written {
        Ok(()) => results,
        Err(e) => results.into_iter().map(|r| r.and(Err(e.clone()))).collect(),
    }
}

/// One page of incidents. Conditions apply to each id's newest version (`HAVING` on
/// `argMax`), never to an older one a merge has not replaced yet.
pub(super) async fn search_incidents(
    client: &Client,
    culprit: &Culprit,
    q: &IncidentQuery,
) -> Result<Page<Incident>> {
    let limit = effective_limit(q.limit);
    let cursor = decode_opt(CursorKind::Incident, q.cursor.as_deref())?;
    let mut cond = Conditions::default();
    let updated = "argMax(updated, version)";
    cond.after(updated, cursor);
    let status = "argMax(status, version)";
    if let Some(s) = q.status {
        let p = cond.bind(s.as_str());
        cond.push(format!("{status} = {p}"));
    }
    if q.open_only {
        cond.push(format!("{status} IN ({})", crate::codec::open_statuses()));
    }
    if let Some(s) = q.min_severity {
        cond.push(format!("argMax(severity, version) >= {}", rank(s)));
    }
    cond.range("argMax(last_seen, version)", q.since.map(|t| t.0), None);
    if !q.regions.is_empty() {
        let list: Vec<String> = q.regions.iter().map(|r| r.get().to_string()).collect();
        cond.push(format!("argMax(region, version) IN ({})", list.join(", ")));
    }
    let sql = format!(
        "SELECT argMax(body, version) AS newest FROM incidents GROUP BY id {} \
         ORDER BY {updated} DESC, id DESC LIMIT {}",
        cond.joined("HAVING"),
        limit + 1
    );
    let mut items: Vec<Incident> =
        bodies(culprit, "incident", cond.apply(client.query(&sql))).await?;
    evidence::fill(client, culprit, &mut items).await?;
    Ok(page(items, limit))
}

// ---- stats ----

#[derive(Debug, Row, Deserialize)]
struct CountRead {
    n: u64,
}

async fn count(client: &Client, culprit: &Culprit, sql: &str) -> Result<u64> {
    let row: CountRead = client
        .query(sql)
        .fetch_one()
        .await
        .map_err(|e| culprit.error("counting", e))?;
    Ok(row.n)
}

pub(super) async fn stats(client: &Client, culprit: &Culprit) -> Result<StoreStats> {
    Ok(StoreStats {
        events: count(client, culprit, "SELECT count() AS n FROM events").await?,
        alerts: count(client, culprit, "SELECT count() AS n FROM alerts").await?,
        incidents: count(client, culprit, "SELECT uniqExact(id) AS n FROM incidents").await?,
        event_days: events::days(client, culprit).await?,
    })
}

/// Drop the alert partitions (months, `YYYYMM`) wholly before `before`'s month.
pub(super) async fn drop_alert_months_before(
    client: &Client,
    culprit: &Culprit,
    before: onewall_model::Timestamp,
) -> Result<()> {
    let cutoff = before.yyyymmdd() / 100;
    let months: Vec<u32> = client
        .query("SELECT DISTINCT month FROM alerts WHERE month < ?")
        .bind(cutoff)
        .fetch_all()
        .await
        .map_err(|e| culprit.error("listing alert months", e))?;
    for month in months {
        client
            .query(&format!(
                "ALTER TABLE {}{} DROP PARTITION {month}",
                culprit.layout.local("alerts"),
                culprit.layout.on_cluster()
            ))
            .execute()
            .await
            .map_err(|e| culprit.error(&format!("dropping alert month {month}"), e))?;
        if culprit.layout.cluster.is_none() {
            // The statistics' terms of those alerts go with them.
            client
                .query(&format!("ALTER TABLE alert_terms DROP PARTITION {month}"))
                .execute()
                .await
                .map_err(|e| culprit.error(&format!("dropping alert terms of {month}"), e))?;
        }
    }
    Ok(())
}
