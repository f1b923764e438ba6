//! `POST /api/v1/hunt`: run the node's live rules over an uploaded file (an `.evtx` from a
//! seized machine, JSON in any layout, gzip, syslog lines) and answer what they find, without
//! storing anything as events or alerts.
//!
//! The guard authenticates the caller before the body is read (analyst, responder, admin).
//! The handler takes one of `[api] hunt_concurrent` permits (429 with `Retry-After` when all
//! are taken), streams the body to a file under the node's data directory (413 past
//! `[api] hunt_max_mib`, 400 when empty), and hands the file to the binary's [`Hunter`] in a
//! blocking task; the file is deleted when the hunt ends, whatever happened. The answer is
//! masked for a caller without `pii` by the router's outermost layer, like every JSON answer,
//! and one audit record (`hunt`: file name, bytes, events, hits) is written beside the guard's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onewall_model::config::ConfigError;
use onewall_model::{Alert, Event, RegionCode, Severity, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::access::{Caller, record};
use crate::params::Params;
use crate::{ApiError, ApiState, ErrorCode};

/// Hits an answer holds at most; past it `truncated` is set (the counts still count them).
pub const MAX_HITS: usize = 5_000;

/// `[api]`: the hunting endpoint's bounds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The largest file `POST /api/v1/hunt` takes, in MiB (413 past it).
    pub hunt_max_mib: u64,
    /// Hunts that may run at once; one more is refused with 429 and `Retry-After`.
    pub hunt_concurrent: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            hunt_max_mib: 256,
            hunt_concurrent: 2,
        }
    }
}

impl ApiConfig {
    /// Every mistake in `[api]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.hunt_max_mib == 0 || self.hunt_max_mib > 64 * 1024 {
            errors.push(ConfigError::new(
                "api.hunt_max_mib",
                format!("{} is not between 1 and 65536 MiB", self.hunt_max_mib),
            ));
        }
        if self.hunt_concurrent == 0 || self.hunt_concurrent > 64 {
            errors.push(ConfigError::new(
                "api.hunt_concurrent",
                format!("{} is not between 1 and 64", self.hunt_concurrent),
            ));
        }
        errors
    }
}

/// Where a file could not be read (a damaged chunk, a line that is not text ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadError {
    /// Where in the file: `chunk 6`, `record 123`, `line 40`.
    pub at: String,
    pub error: String,
}

/// One alert a hunt raised, with the event it was raised on.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Where the event was read: `record 123` (EVTX), `line 40`.
    pub position: String,
    pub alert: Alert,
    /// The event (a correlation alert: its latest event, when known).
    pub event: Option<Event>,
}

/// Hits of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    pub rule_id: String,
    pub title: String,
    pub level: Severity,
    pub count: u64,
}

/// What a hunt found: the answer of `POST /api/v1/hunt`. The [`Hunter`] fills it while it
/// reads; [`HuntReport::hit`] keeps the counts and at most [`MAX_HITS`] hits.
#[derive(Debug, Clone, Serialize)]
pub struct HuntReport {
    pub file: String,
    /// `evtx`, `json`, `ndjson`, `syslog`, `gzip+…`: what the content was read as.
    pub format: String,
    pub bytes: u64,
    pub events: u64,
    /// Records read but not parsed (kept as events with a parse error, as ingest keeps them).
    pub parse_errors: u64,
    pub read_errors: Vec<ReadError>,
    pub elapsed_ms: u64,
    pub by_rule: Vec<RuleCount>,
    pub by_level: std::collections::BTreeMap<&'static str, u64>,
    pub hits: Vec<Hit>,
    pub truncated: bool,
    #[serde(skip)]
    min_level: Severity,
}

/// Read errors an answer lists at most (a badly damaged file could name thousands).
const MAX_READ_ERRORS: usize = 1_000;

impl HuntReport {
    /// An empty report of `file` (its name as uploaded), keeping hits of `min_level` or above.
    pub fn new(file: impl Into<String>, min_level: Severity) -> HuntReport {
        HuntReport {
            file: file.into(),
            format: String::new(),
            bytes: 0,
            events: 0,
            parse_errors: 0,
            read_errors: Vec::new(),
            elapsed_ms: 0,
            by_rule: Vec::new(),
            by_level: Severity::ALL.iter().map(|s| (s.as_str(), 0)).collect(),
            hits: Vec::new(),
            truncated: false,
            min_level,
        }
    }

    /// The least severity a hit is kept with.
    pub fn min_level(&self) -> Severity {
        self.min_level
    }

    /// Note a place of the file that could not be read.
    pub fn read_error(&mut self, at: impl Into<String>, error: impl Into<String>) {
        if self.read_errors.len() < MAX_READ_ERRORS {
            self.read_errors.push(ReadError {
                at: at.into(),
                error: error.into(),
            });
        } else {
            self.truncated = true;
        }
    }

    /// Count `alert`, raised on `event` read at `position`; kept when it is at least
    /// [`HuntReport::min_level`] and the answer holds fewer than [`MAX_HITS`] hits.
    pub fn hit(&mut self, position: impl Into<String>, alert: Alert, event: Option<&Event>) {
        if alert.severity < self.min_level {
            return;
        }
        *self.by_level.entry(alert.severity.as_str()).or_default() += 1;
        match self.by_rule.iter_mut().find(|r| r.rule_id == alert.rule.id) {
            Some(r) => r.count += 1,
            None => self.by_rule.push(RuleCount {
                rule_id: alert.rule.id.clone(),
                title: alert.rule.title.clone(),
                level: alert.severity,
                count: 1,
            }),
        }
        if self.hits.len() >= MAX_HITS {
            self.truncated = true;
            return;
        }
        self.hits.push(Hit {
            position: position.into(),
            alert,
            event: event.cloned(),
        });
    }

    /// Hits in all.
    pub fn hit_count(&self) -> u64 {
        self.by_rule.iter().map(|r| r.count).sum()
    }

    /// The rules most hit first (then by severity, then id), as answered.
    fn finish(&mut self, elapsed: Duration) {
        self.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.by_rule.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.level.cmp(&a.level))
                .then(a.rule_id.cmp(&b.rule_id))
        });
    }
}

/// Runs the node's live rules over a file (the binary implements it with its replay core, so
/// the API does not depend on ingest or the binary).
pub trait Hunter: Send + Sync + std::fmt::Debug {
    /// Read `path` (format found by content), stamp its events with `region`, match them with
    /// the rules in use and fill `report` (`format`, `events`, `parse_errors`, `read_errors`,
    /// and each alert through [`HuntReport::hit`]). An error is a fault of the node (the file
    /// could not be opened); a damaged file is not an error but `read_errors`.
    fn hunt(&self, path: &Path, region: RegionCode, report: &mut HuntReport) -> Result<(), String>;
}

/// The hunting endpoint's service: added to the router as an extension by the binary.
#[derive(Debug, Clone)]
pub struct HuntService {
    hunter: Arc<dyn Hunter>,
    permits: Arc<Semaphore>,
    max_bytes: u64,
    /// Where uploads are written while they are hunted through.
    dir: PathBuf,
}

impl HuntService {
    /// Hunts with `hunter`, within `config`'s bounds; uploads go to `dir` (made when needed).
    pub fn new(hunter: Arc<dyn Hunter>, config: &ApiConfig, dir: PathBuf) -> HuntService {
        HuntService {
            hunter,
            permits: Arc::new(Semaphore::new(config.hunt_concurrent.max(1))),
            max_bytes: config.hunt_max_mib.saturating_mul(1 << 20),
            dir,
        }
    }
}

/// The uploaded file, deleted when dropped.
struct Upload(PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "a hunt's upload could not be deleted");
        }
    }
}

/// How long a refused hunt is told to wait.
const RETRY_AFTER_SECS: u32 = 5;

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "the file is larger than {} MiB ([api] hunt_max_mib)",
            max >> 20
        ),
    )
}

/// Stream `body` into a new file under `dir`: its size, or 413 past `max` bytes.
async fn receive(body: Body, dir: &Path, max: u64) -> Result<(Upload, u64), ApiError> {
    use http_body_util::BodyExt;
    let internal = |what: &str, e: std::io::Error| {
        ApiError::new(ErrorCode::Internal, format!("hunt upload: {what}: {e}"))
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| internal("creating its folder", e))?;
    let upload = Upload(dir.join(format!(
        "upload-{}",
        onewall_model::EventId::new(Timestamp::now())
    )));
    let mut file = tokio::fs::File::create(&upload.0)
        .await
        .map_err(|e| internal("creating its file", e))?;
    let mut body = body;
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::invalid(format!("the file did not arrive whole: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        bytes += data.len() as u64;
        if bytes > max {
            return Err(too_large(max));
        }
        file.write_all(&data)
            .await
            .map_err(|e| internal("writing", e))?;
    }
    file.flush().await.map_err(|e| internal("writing", e))?;
    Ok((upload, bytes))
}

/// `name` and `min_level` of the query.
fn parse_query(raw: Option<&str>) -> Result<(String, Severity), ApiError> {
    let p = Params::parse(raw, &["name", "min_level"])?;
    let name = p.one("name")?.unwrap_or("upload").trim();
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::invalid("name: the file's name, 1 to 255 bytes"));
    }
    let min_level = p
        .parsed::<Severity>("min_level")?
        .unwrap_or(Severity::Informational);
    Ok((name.to_owned(), min_level))
}

/// Hunt through the uploaded file with the node's live rules (see the module).
#[utoipa::path(post, path = "/api/v1/hunt",
    params(("name" = Option<String>, Query, description = "the file's name, shown in the answer and the audit log"),
           ("min_level" = Option<String>, Query, description = "informational (default), low, medium, high or critical: hits below it are left out")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the file's bytes: EVTX, JSON (object, array, NDJSON, pretty), gzip of those, or syslog lines"),
    responses((status = 200, description = "what the rules found: format, events, parse and read errors, hits by rule and level, at most 5000 hits with their alert and event"),
              (status = 400, description = "an empty body or a malformed query"),
              (status = 403, description = "a role that may not hunt (viewer)"),
              (status = 404, description = "this node does not hunt"),
              (status = 413, description = "larger than [api] hunt_max_mib"),
              (status = 429, description = "as many hunts as [api] hunt_concurrent are running; try again after Retry-After")))]
pub async fn hunt(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    service: Option<Extension<HuntService>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(Extension(service)) = service else {
        return Err(ApiError::not_found("this node does not hunt through files"));
    };
    let (name, min_level) = parse_query(raw.as_deref())?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > service.max_bytes) {
        return Err(too_large(service.max_bytes));
    }
    let Ok(permit) = service.permits.clone().try_acquire_owned() else {
        let mut resp = ApiError::new(
            ErrorCode::RateLimited,
            "as many hunts as the node runs at once are running; try again shortly",
        )
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return Ok(resp);
    };
    let started = Instant::now();
    let (upload, bytes) = receive(body, &service.dir, service.max_bytes).await?;
    if bytes == 0 {
        return Err(ApiError::invalid(
            "the body is empty: send the file's bytes (application/octet-stream)",
        ));
    }
    let mut report = HuntReport::new(name, min_level);
    report.bytes = bytes;
    let hunter = service.hunter.clone();
    let region = c.grant.region;
    let report = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let result = hunter.hunt(&upload.0, region, &mut report);
        drop(upload);
        result.map(|()| report)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the hunt task failed: {e}")))?;
    let mut report =
        report.map_err(|e| ApiError::new(ErrorCode::Internal, format!("hunt: {e}")))?;
    report.finish(started.elapsed());
    audit(&s, &c, &report).await;
    Ok(Json(report).into_response())
}

async fn audit(s: &ApiState, c: &Caller, report: &HuntReport) {
    record(
        &s.access.audit,
        c.audit_record(
            "hunt",
            format!(
                "file={:?} format={} bytes={} events={} hits={}",
                report.file,
                report.format,
                report.bytes,
                report.events,
                report.hit_count()
            ),
            200,
        ),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{AlertId, EventId, RuleRef, Source};

    fn alert(rule: &str, severity: Severity) -> Alert {
        Alert {
            target: None,
            intel: None,
            anomaly: None,
            id: AlertId::new(Timestamp::now()),
            time: Timestamp::now(),
            created: Timestamp::now(),
            rule: RuleRef {
                id: rule.into(),
                title: format!("rule {rule}"),
                level: severity,
                status: None,
                tags: Vec::new(),
            },
            severity,
            event_ids: vec![EventId::new(Timestamp::now())],
            entities: Vec::new(),
            region: RegionCode::new(410100).expect("a code"),
            matched: Vec::new(),
            drill: None,
        }
    }

    #[test]
    fn hits_are_counted_by_rule_and_level_and_kept_up_to_the_bound() {
        let region = RegionCode::new(410100).expect("a code");
        let event = Event::new(Timestamp::now(), region, Source::new("test", None), b"x");
        let mut r = HuntReport::new("x.evtx", Severity::Low);
        r.hit(
            "record 1",
            alert("a", Severity::Informational),
            Some(&event),
        );
        for n in 0..MAX_HITS + 3 {
            r.hit(
                format!("record {n}"),
                alert("b", Severity::High),
                Some(&event),
            );
        }
        r.hit("record 9", alert("c", Severity::Critical), None);
        r.finish(Duration::from_millis(5));
        assert_eq!(r.hits.len(), MAX_HITS);
        assert!(r.truncated);
        assert_eq!(r.by_level["informational"], 0, "below min_level");
        assert_eq!(r.by_level["high"], (MAX_HITS + 3) as u64);
        assert_eq!(r.by_level["critical"], 1);
        assert_eq!(r.by_rule[0].rule_id, "b");
        assert_eq!(r.by_rule[1].rule_id, "c");
        assert_eq!(r.hit_count(), (MAX_HITS + 4) as u64);
        assert_eq!(r.elapsed_ms, 5);
    }

    #[test]
    fn the_query_names_the_file_and_the_least_level() {
        let (name, level) = parse_query(Some("name=a%20b.evtx&min_level=high")).expect("ok");
        assert_eq!((name.as_str(), level), ("a b.evtx", Severity::High));
        let (name, level) = parse_query(None).expect("ok");
        assert_eq!((name.as_str(), level), ("upload", Severity::Informational));
        assert!(parse_query(Some("min_level=severe")).is_err());
        assert!(parse_query(Some("name=")).is_err());
        assert!(parse_query(Some("other=1")).is_err());
    }
}
