//! Children's daily reports at the parent node.
//!
//! - `POST /api/v1/reports` (collector or admin): a child delivers its daily report
//!   (`{"node", "report": {"region", "date", ...}, "text"}`), for a region within the
//!   caller's subtree. One report per child region and day; sending it again replaces it.
//! - `GET /api/v1/reports?day=YYYY-MM-DD` (reading roles): each expected child of the caller's
//!   subtree (and any other child that reported) as `received`, `pending` (its deadline has not
//!   passed) or `missing`.
//! - [`run`]: after each day's deadline (the report time plus a grace period) every expected
//!   child without a report raises one alert at the parent, in the child's region, that
//!   playbooks can act on.
//!
//! The binary installs a [`ReportDesk`] as a router extension; without one the endpoints
//! answer 404 (this node keeps no child reports).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use onewall_model::{Alert, AlertId, RegionCode, RegionTree, Timestamp};
use onewall_playbooks::{ReceivedReport, ReportBook, Schedule};
use onewall_store::Store;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::ErrorCode;
use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The rule id of the alert a missing child report raises.
pub const MISSING_RULE_ID: &str = "onewall-report-missing";

/// Longest report text accepted, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// What the parent keeps and expects.
#[derive(Debug, Clone)]
pub struct ReportDesk {
    /// The reports received.
    pub book: ReportBook,
    /// Child regions whose report is expected every day.
    pub expected: Vec<RegionCode>,
    /// The report time (the parent's own daily report time).
    pub schedule: Schedule,
    /// How long after the report time a missing report is flagged.
    pub grace: Duration,
}

impl ReportDesk {
    fn grace_secs(&self) -> i64 {
        i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX / 4)
    }

    /// The deadline of `day`'s reports.
    fn deadline(&self, day: &str) -> Option<Timestamp> {
        self.schedule
            .due_on(day)
            .map(|due| due.add_secs(self.grace_secs()))
    }
}

type Desk = Option<Extension<ReportDesk>>;

/// Run a report-book call on the blocking pool.
async fn blocking_pb<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, onewall_playbooks::PlaybookError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("blocking task failed: {e}")))?
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))
}

fn desk(d: Desk) -> Result<ReportDesk, ApiError> {
    d.map(|Extension(d)| d)
        .ok_or_else(|| ApiError::not_found("this node keeps no child reports"))
}

/// A child's daily report, as delivered.
#[utoipa::path(post, path = "/api/v1/reports",
    request_body(content = String, description = "{\"node\": \"...\", \"report\": {\"region\": \"410100\", \"date\": \"YYYY-MM-DD\", ...}, \"text\": \"...\"}", content_type = "application/json"),
    responses((status = 200, description = "stored (replacing the day's earlier one, if any)"),
              (status = 400, description = "malformed report"),
              (status = 403, description = "the region is outside the caller's subtree"),
              (status = 404, description = "this node keeps no child reports")))]
pub async fn submit(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    d: Desk,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let desk = desk(d)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
    let report = v
        .get("report")
        .filter(|r| r.is_object())
        .ok_or_else(|| ApiError::invalid("report: missing (the daily report as an object)"))?;
    let region: RegionCode = report
        .get("region")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("report.region: missing (a GB/T 2260 code)"))?
        .parse()
        .map_err(|e| ApiError::invalid(format!("report.region: {e}")))?;
    let day = report
        .get("date")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("report.date: missing (YYYY-MM-DD)"))?;
    if desk.schedule.due_on(day).is_none() {
        return Err(ApiError::invalid(format!(
            "report.date: {day:?} is not a date like 2026-11-28"
        )));
    }
    let text = v
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("text: missing (the report as text)"))?;
    if text.len() > MAX_TEXT {
        return Err(ApiError::invalid(format!("text: at most {MAX_TEXT} bytes")));
    }
    if !s.regions.contains(region) {
        return Err(ApiError::invalid(format!(
            "report.region: {region} is not a known region"
        )));
    }
    if !c.sees(&s.regions, region) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("report.region: {region} is outside the caller's regions"),
        ));
    }
    let received = ReceivedReport {
        region,
        day: day.to_owned(),
        received_at: Timestamp::now(),
        sender: c.name().to_owned(),
        text: text.to_owned(),
        report: report.clone(),
    };
    let book = desk.book.clone();
    let replaced = blocking_pb(move || book.put(&received)).await?;
    tracing::info!(region = %region, day, replaced, "child daily report received");
    Ok(Json(
        json!({ "region": region, "day": day, "stored": true, "replaced": replaced }),
    ))
}

/// The expected children's reports of a day.
#[utoipa::path(get, path = "/api/v1/reports",
    params(("day" = Option<String>, Query, description = "YYYY-MM-DD (default: the latest report day)"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree")),
    responses((status = 200, description = "each child: received, pending or missing"),
              (status = 400, description = "invalid query"),
              (status = 404, description = "this node keeps no child reports")))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    d: Desk,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let desk = desk(d)?;
    let p = Params::parse(raw.as_deref(), &["day", "region"])?;
    let now = Timestamp::now();
    let day = match p.one("day")? {
        Some(day) => day.to_owned(),
        None => desk.schedule.date_of(desk.schedule.last_due(now)),
    };
    let deadline = desk
        .deadline(&day)
        .ok_or_else(|| ApiError::invalid(format!("day: {day:?} is not a date like 2026-11-28")))?;
    let scope = c.regions(&s.regions, p.region()?)?;
    let in_scope =
        |r: RegionCode| c.sees(&s.regions, r) && (scope.is_empty() || scope.contains(&r));
    let book = desk.book.clone();
    let d2 = day.clone();
    let received = blocking_pb(move || book.day(&d2)).await?;
    let mut items = Vec::new();
    for child in desk.expected.iter().copied().filter(|r| in_scope(*r)) {
        let got = received.iter().find(|r| r.region == child);
        items.push(item(&s.regions, child, true, got, now >= deadline));
    }
    for r in received
        .iter()
        .filter(|r| in_scope(r.region) && !desk.expected.contains(&r.region))
    {
        items.push(item(&s.regions, r.region, false, Some(r), now >= deadline));
    }
    Ok(Json(
        json!({ "day": day, "deadline": deadline, "items": items }),
    ))
}

fn item(
    tree: &RegionTree,
    region: RegionCode,
    expected: bool,
    got: Option<&ReceivedReport>,
    past_deadline: bool,
) -> Value {
    let state = match (got, past_deadline) {
        (Some(_), _) => "received",
        (None, true) => "missing",
        (None, false) => "pending",
    };
    json!({
        "region": region,
        "region_name": tree.get(region).map(|r| r.name.clone()).unwrap_or_default(),
        "expected": expected,
        "state": state,
        "received": got.is_some(),
        "received_at": got.map(|r| r.received_at),
        "sender": got.map(|r| r.sender.clone()),
        "text": got.map(|r| r.text.clone()),
        "report": got.map(|r| r.report.clone()),
    })
}

/// Flag every expected child whose report of the latest day past its deadline did not
/// arrive: one alert per child and day, stored; returned for the playbooks. Days whose
/// deadline passed before this node began expecting reports are not flagged.
pub async fn check_missing(
    desk: &ReportDesk,
    store: &dyn Store,
    tree: &RegionTree,
    now: Timestamp,
) -> Result<Vec<Alert>, ApiError> {
    let book = desk.book.clone();
    let since = blocking_pb(move || book.watching_since(now)).await?;
    let due = desk.schedule.last_due(now.add_secs(-desk.grace_secs()));
    let deadline = due.add_secs(desk.grace_secs());
    if deadline < since || desk.expected.is_empty() {
        return Ok(Vec::new());
    }
    let day = desk.schedule.date_of(due);
    let book = desk.book.clone();
    let d2 = day.clone();
    let received = blocking_pb(move || book.day(&d2)).await?;
    let mut raised = Vec::new();
    for child in &desk.expected {
        if received.iter().any(|r| r.region == *child) {
            continue;
        }
        let book = desk.book.clone();
        let (c2, d2) = (*child, day.clone());
        if blocking_pb(move || book.is_flagged(c2, &d2)).await? {
            continue;
        }
        let alert = missing_alert(tree, *child, &day, deadline, now)?;
        store.write_alerts(vec![alert.clone()]).await?;
        let book = desk.book.clone();
        let d2 = day.clone();
        blocking_pb(move || book.flag(c2, &d2, now)).await?;
        tracing::warn!(region = %child, day, "child daily report missing: alert raised");
        raised.push(alert);
    }
    Ok(raised)
}

/// The alert a missing report raises (through serde, as the SLA alert, so fields other
/// crates add to `Alert` with defaults need no change here).
fn missing_alert(
    tree: &RegionTree,
    child: RegionCode,
    day: &str,
    deadline: Timestamp,
    now: Timestamp,
) -> Result<Alert, ApiError> {
    let name = tree.get(child).map(|r| r.name.clone()).unwrap_or_default();
    let code = child.to_string();
    let v = json!({
        "id": AlertId::derive(deadline, b"alert/report/v1", &[code.as_bytes(), day.as_bytes()]),
        "time": now,
        "created": now,
        "rule": {
            "id": MISSING_RULE_ID,
            "title": format!("下级 {name}({code}) 未报送 {day} 日报 — child {code} did not send its daily report"),
            "level": "high",
            "tags": ["onewall.report"],
        },
        "severity": "high",
        "event_ids": [],
        "entities": [],
        "region": child,
        "matched": [
            {"field": "report.region", "value": code},
            {"field": "report.day", "value": day},
            {"field": "report.deadline", "value": deadline.to_rfc3339()},
        ],
    });
    serde_json::from_value(v).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("building the missing-report alert: {e}"),
        )
    })
}

/// Check for missing reports every `every` until shutdown, handing raised alerts to `tell`.
pub async fn run(
    desk: ReportDesk,
    store: Arc<dyn Store>,
    tree: Arc<RegionTree>,
    every: Duration,
    tell: Arc<dyn Fn(Vec<Alert>) + Send + Sync>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match check_missing(&desk, &*store, &tree, Timestamp::now()).await {
            Ok(raised) if !raised.is_empty() => tell(raised),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "missing-report check failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
