//! Children's daily reports at the parent node.
//!
//! - `POST /api/v1/reports` (collector or admin): a child delivers its daily report
//!   (`{"node", "report": {"region", "date", ...}, "text"}`), for a region within the
//!   caller's subtree. One report per child region and day; sending it again replaces it.
//! - `GET /api/v1/reports?day=YYYY-MM-DD` (reading roles): each expected child of the caller's
//!   subtree (and any other child that reported) as `received`, `pending` (its deadline has not
//!   passed) or `missing`.
//!
//! After each day's deadline (the report time plus a grace period) every expected child
//! without a report raises one alert at the parent: the node's missing-report check, a job of
//! the binary that reads the same [`ReportDesk`].
//!
//! The binary installs a [`ReportDesk`] as a router extension; without one the endpoints
//! answer 404 (this node keeps no child reports).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use onewall_model::{RegionCode, RegionTree, Timestamp};
use onewall_playbooks::{ReceivedReport, ReportBook, Schedule};
use serde_json::{Value, json};

use crate::ErrorCode;
use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState};

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
    /// The grace period in seconds.
    pub fn grace_secs(&self) -> i64 {
        i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX / 4)
    }

    /// The deadline of `day`'s reports.
    pub fn deadline(&self, day: &str) -> Option<Timestamp> {
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
