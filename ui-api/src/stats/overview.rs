//! `GET /api/v1/stats/overview`: the 态势 of the caller's (or the requested) region in one
//! answer: open incidents by grade, status and SLA clock, alerts by severity, events per
//! source, the child regions' tiles, the top attackers, targets, rules and tactics, silent
//! sources, the children's federation health and daily reports, and ingest health.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use onewall_model::{Grade, Incident, IncidentStatus, RegionCode, Severity, Timestamp};
use onewall_store::stats::{SourceStat, StatsKind, StatsQuery, TopField};
use onewall_store::{IncidentQuery, MAX_LIMIT};
use serde_json::{Value, json};

use super::{OverviewSettings, by_name, items_json, scoped, top_of};
use crate::access::Caller;
use crate::federation::Hub;
use crate::health::TaskHealth;
use crate::params::Params;
use crate::reports::ReportDesk;
use crate::{ApiError, ApiState};

/// How far back sources are looked for when listing the silent ones.
const SILENT_LOOKBACK_SECS: i64 = 7 * 86_400;
/// A child whose last push is older than this is `late`; older than [`DOWN_SECS`], `down`.
const LATE_SECS: f64 = 300.0;
const DOWN_SECS: f64 = 3600.0;
/// Top lists' length.
const TOP: usize = 10;

/// The router extensions the overview reads, each optional.
#[derive(Debug, Default)]
struct Parts {
    settings: OverviewSettings,
    tasks: Option<TaskHealth>,
    hub: Option<Hub>,
    desk: Option<ReportDesk>,
}

/// The overview of the caller's region (or `region`, inside it) over `from`..`to` (the last
/// 24 hours by default).
#[utoipa::path(get, path = "/api/v1/stats/overview",
    params(("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("from" = Option<String>, Query, description = "RFC 3339 (default: 24 hours before to)"),
           ("to" = Option<String>, Query, description = "RFC 3339 (default: now)")),
    responses((status = 200, description = "{region, incidents, alerts, events, regions, top, sources, federation, reports, ingest}"),
              (status = 400, description = "invalid query")))]
pub async fn overview(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    settings: Option<Extension<OverviewSettings>>,
    tasks: Option<Extension<TaskHealth>>,
    hub: Option<Extension<Hub>>,
    desk: Option<Extension<ReportDesk>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let parts = Parts {
        settings: settings.map(|Extension(x)| x).unwrap_or_default(),
        tasks: tasks.map(|Extension(x)| x),
        hub: hub.map(|Extension(x)| x),
        desk: desk.map(|Extension(x)| x),
    };
    let p = Params::parse(raw.as_deref(), &["region", "from", "to"])?;
    let base = p.region()?.unwrap_or(c.grant.region);
    let alerts = scoped(&s, &c, &p, StatsKind::Alerts)?;
    let events = scoped(&s, &c, &p, StatsKind::Events)?;
    let (from, to) = (alerts.q.from, alerts.q.to);
    let now = Timestamp::now();

    // The store's queries run together (the embedded store reads on a pool of connections).
    let (open, by_severity, sources, attackers, rules, tactics, targets, silent) = tokio::try_join!(
        open_incidents(&s, &c, &alerts.q.regions),
        top_of(&s, &c, &alerts, TopField::Severity, 5),
        async { Ok(s.store.stats_sources(events.q.clone()).await?) },
        top_of(&s, &c, &alerts, TopField::SourceIp, TOP),
        top_of(&s, &c, &alerts, TopField::Rule, TOP),
        top_of(&s, &c, &alerts, TopField::Tactic, TOP),
        targets(&s, &c, &alerts),
        silent_sources(&s, &events.q, parts.settings.silent_hours),
    )?;
    let by_severity = by_name(
        &Severity::ALL.map(|s| s.as_str()),
        by_severity
            .items
            .into_iter()
            .map(|i| (i.value, i.count))
            .collect(),
    );
    let top = json!({
        "attackers": items_json(&s, TopField::SourceIp, &attackers),
        "rules": items_json(&s, TopField::Rule, &rules),
        "tactics": items_json(&s, TopField::Tactic, &tactics),
        "targets": targets,
    });

    Ok(Json(json!({
        "region": base,
        "from": from,
        "to": to,
        "generated": now,
        "incidents": incidents_json(&open, &parts.settings, now),
        "alerts": { "total": by_severity.values().sum::<u64>(), "by_severity": by_severity },
        "events": events_json(&sources),
        "regions": tiles(&s, base, &open),
        "top": top,
        "sources": { "silent": silent },
        "federation": { "children": federation(&s, &c, parts.hub.as_ref()).await },
        "reports": reports(&s, &c, parts.desk.as_ref(), now).await,
        "ingest": ingest(parts.tasks.as_ref()),
    })))
}

/// The open incidents in the caller's regions and department.
async fn open_incidents(
    s: &ApiState,
    c: &Caller,
    regions: &[RegionCode],
) -> Result<Vec<Incident>, ApiError> {
    let mut q = IncidentQuery {
        open_only: true,
        regions: regions.to_vec(),
        limit: MAX_LIMIT,
        ..IncidentQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = s.store.search_incidents(q.clone()).await?;
        for i in page.items {
            if c.incident_in_department(&*s.store, &i).await? {
                out.push(i);
            }
        }
        match page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => return Ok(out),
        }
    }
}

/// Grade, status and SLA counts of the open incidents, and the clocks of those still waiting
/// to be acknowledged (soonest first).
fn incidents_json(open: &[Incident], settings: &OverviewSettings, now: Timestamp) -> Value {
    let mut by_grade: BTreeMap<&str, u64> = Grade::ALL.iter().map(|g| (g.as_str(), 0)).collect();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for st in IncidentStatus::ALL.iter().filter(|s| s.is_open()) {
        by_status.insert(st.as_str(), 0);
    }
    let mut clocks = Vec::new();
    let (mut due_soon, mut breached) = (0u64, 0u64);
    for i in open {
        *by_grade.entry(i.grade().as_str()).or_default() += 1;
        *by_status.entry(i.status.as_str()).or_default() += 1;
        if i.status != IncidentStatus::New {
            continue;
        }
        let minutes = settings.sla.minutes_for(i);
        let due = i.created.add_secs(minutes * 60);
        // Due soon: less than a quarter of the time to acknowledge is left.
        let state = if now > due {
            breached += 1;
            "breached"
        } else if (due.0 - now.0) * 4 < minutes * 60 * Timestamp::NANOS_PER_SEC {
            due_soon += 1;
            "due_soon"
        } else {
            "ok"
        };
        clocks.push((
            due,
            json!({
                "id": i.id, "title": i.title, "grade": i.grade().as_str(),
                "status": i.status.as_str(), "region": i.region, "due": due, "state": state,
            }),
        ));
    }
    clocks.sort_by_key(|(due, _)| *due);
    let clocks: Vec<Value> = clocks.into_iter().map(|(_, v)| v).collect();
    json!({
        "open": open.len(),
        "by_grade": by_grade,
        "by_status": by_status,
        "sla": { "due_soon": due_soon, "breached": breached, "clocks": clocks },
    })
}

fn events_json(sources: &[SourceStat]) -> Value {
    let by_source: Vec<Value> = sources
        .iter()
        .map(|s| {
            json!({
                "source": s.source, "region": s.region, "count": s.count,
                "parse_errors": s.parse_errors, "last_seen": s.last_seen,
            })
        })
        .collect();
    json!({
        "total": sources.iter().map(|s| s.count).sum::<u64>(),
        "parse_errors": sources.iter().map(|s| s.parse_errors).sum::<u64>(),
        "by_source": by_source,
    })
}

/// The alerts' top targets: destination addresses and hosts together.
async fn targets(s: &ApiState, c: &Caller, alerts: &super::Scoped) -> Result<Vec<Value>, ApiError> {
    let mut all = Vec::new();
    for field in [TopField::DestinationIp, TopField::HostName] {
        let t = top_of(s, c, alerts, field, TOP).await?;
        all.extend(t.items.into_iter().map(|i| (i.count, i.value)));
    }
    all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(all
        .into_iter()
        .take(TOP)
        .map(|(count, value)| json!({ "value": value, "count": count }))
        .collect())
}

/// The direct children of `base` with the open incidents of their subtrees (a region
/// without children lists itself).
fn tiles(s: &ApiState, base: RegionCode, open: &[Incident]) -> Vec<Value> {
    let tree = &s.regions;
    let mut codes: Vec<RegionCode> = tree.children(base).map(|r| r.code).collect();
    codes.sort_unstable();
    if codes.is_empty() {
        codes.push(base);
    }
    codes
        .into_iter()
        .map(|code| {
            let mine: Vec<&Incident> = open
                .iter()
                .filter(|i| i.region == code || tree.is_within(i.region, code))
                .collect();
            let max = mine.iter().map(|i| i.grade()).max_by_key(|g| g.rank());
            json!({
                "code": code,
                "name": tree.get(code).map(|r| r.name.clone()).unwrap_or_default(),
                "open_incidents": mine.len(),
                "max_grade": max.map(Grade::as_str),
            })
        })
        .collect()
}

/// Sources seen in the week before `to` whose last event is older than `silent_hours`.
async fn silent_sources(
    s: &ApiState,
    q: &StatsQuery,
    silent_hours: i64,
) -> Result<Vec<Value>, ApiError> {
    let week = StatsQuery {
        from: q.to.add_secs(-SILENT_LOOKBACK_SECS),
        ..q.clone()
    };
    let cutoff = q.to.add_secs(-silent_hours * 3600);
    let sources = s.store.stats_sources(week).await?;
    Ok(sources
        .into_iter()
        .filter(|src| src.last_seen < cutoff)
        .map(|src| {
            json!({
                "source": src.source, "region": src.region, "last_seen": src.last_seen,
                "silent_hours": (q.to.0 - src.last_seen.0) / (3600 * Timestamp::NANOS_PER_SEC),
            })
        })
        .collect())
}

/// The children's federation health in the caller's scope: `ok`, `late`, `down` or `never`.
async fn federation(s: &ApiState, c: &Caller, hub: Option<&Hub>) -> Vec<Value> {
    let Some(Hub(hub)) = hub else {
        return Vec::new();
    };
    let children = match hub.children().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "the overview could not read the children's health");
            return Vec::new();
        }
    };
    children
        .into_iter()
        .filter_map(|ch| {
            let region: RegionCode = ch.get("region")?.as_str()?.parse().ok()?;
            if !c.sees(&s.regions, region) {
                return None;
            }
            let state = match ch.get("lag_seconds").and_then(Value::as_f64) {
                _ if ch.get("state").and_then(Value::as_str) == Some("never_seen") => "never",
                Some(lag) if lag >= DOWN_SECS => "down",
                Some(lag) if lag >= LATE_SECS => "late",
                Some(_) => "ok",
                None => "never",
            };
            Some(json!({
                "region": region,
                "name": s.regions.get(region).map(|r| r.name.clone()).unwrap_or_default(),
                "state": state,
                "last_seen": ch.get("last_contact").cloned().unwrap_or(Value::Null),
            }))
        })
        .collect()
}

/// Today's (the last due day's) daily report of each expected child in the caller's scope.
async fn reports(s: &ApiState, c: &Caller, desk: Option<&ReportDesk>, now: Timestamp) -> Value {
    let Some(desk) = desk else {
        return json!({ "date": null, "children": [] });
    };
    let day = desk.schedule.date_of(desk.schedule.last_due(now));
    let past = desk.deadline(&day).is_some_and(|d| now >= d);
    let book = desk.book.clone();
    let d2 = day.clone();
    let received = match tokio::task::spawn_blocking(move || book.day(&d2)).await {
        Ok(Ok(r)) => r,
        _ => Vec::new(),
    };
    let by_region: HashMap<RegionCode, &onewall_playbooks::ReceivedReport> =
        received.iter().map(|r| (r.region, r)).collect();
    let children: Vec<Value> = desk
        .expected
        .iter()
        .filter(|r| c.sees(&s.regions, **r))
        .map(|r| {
            let got = by_region.get(r);
            let state = match (got, past) {
                (Some(_), _) => "received",
                (None, true) => "missing",
                (None, false) => "pending",
            };
            json!({
                "region": r,
                "name": s.regions.get(*r).map(|x| x.name.clone()).unwrap_or_default(),
                "state": state,
                "zero": got.map(|g| g.text.contains(onewall_playbooks::report::ZERO_LINE)),
            })
        })
        .collect();
    json!({ "date": day, "children": children })
}

/// The node's ingest health: its tasks' verdict and the problems it reports.
fn ingest(tasks: Option<&TaskHealth>) -> Value {
    let (_, mut status, tasks) = tasks.cloned().unwrap_or_default().verdict();
    let mut problems: Vec<Value> = onewall_model::health::Health::node()
        .problems()
        .into_iter()
        .map(Value::String)
        .collect();
    for (name, t) in tasks {
        problems.push(json!({ "task": name, "report": t }));
    }
    if status == "ok" && !problems.is_empty() {
        status = "degraded";
    }
    json!({ "status": status, "problems": problems })
}
