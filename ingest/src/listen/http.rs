//! JSON over HTTP: `POST /api/v1/ingest` with one object, an array of objects, or NDJSON.

use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use onewall_model::{Event, EventBatch, RegionCode, Source, Timestamp};
use serde_json::json;
use time::UtcOffset;
use tokio::sync::mpsc;
use tracing::warn;

use super::{DEFAULT_BATCH_SIZE, Meters, SourceTags, count_parse_error};
use crate::error::BodyError;
use crate::parse::{DEFAULT_TIMEZONE, ParseContext, parse_json_object, split_http_body};

/// The default largest body, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Bodies larger than this are split and parsed off the async runtime's threads.
const INLINE_PARSE_BYTES: usize = 256 * 1024;

/// The collector name of HTTP events, and the `source` label of their metrics.
const COLLECTOR: &str = "http";

/// What the HTTP ingest endpoint needs.
#[derive(Debug, Clone)]
pub struct HttpIngest {
    /// Where parsed events go.
    pub tx: mpsc::Sender<EventBatch>,
    /// The region the events belong to.
    pub region: RegionCode,
    /// The node's time zone (kept for record formats whose times carry none).
    pub timezone: UtcOffset,
    /// The largest body accepted; larger ones get 413. Default 16 MiB.
    pub max_body_bytes: usize,
    /// Events per batch sent down the channel. Default 512.
    pub batch_size: usize,
    /// Department, charset and format hint of the records.
    pub tags: SourceTags,
}

impl HttpIngest {
    /// Defaults for `region`, sending to `tx`.
    pub fn new(tx: mpsc::Sender<EventBatch>, region: RegionCode) -> Self {
        HttpIngest {
            tx,
            region,
            timezone: DEFAULT_TIMEZONE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            batch_size: DEFAULT_BATCH_SIZE,
            tags: SourceTags::default(),
        }
    }
}

/// `POST /api/v1/ingest`. The body is one JSON object, a JSON array of objects, or NDJSON; no
/// Content-Type is required. Replies `200 {"accepted": N}`; a malformed body gets
/// `400 {"error": {"code": "invalid_argument", "message": ...}}` and nothing of it is ingested;
/// a body over the limit gets 413; a stopped pipeline 503. The peer address is taken from
/// axum's `ConnectInfo<SocketAddr>` when the server provides it
/// (`into_make_service_with_connect_info`).
pub fn http_router(state: HttpIngest) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route("/api/v1/ingest", post(ingest))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn ingest(
    State(state): State<HttpIngest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let e = BodyError::TooLarge {
                limit: state.max_body_bytes,
            };
            return rejected(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &e.to_string(),
                e.code(),
            );
        }
        Err(rejection) => {
            let text = rejection.body_text();
            return rejected(rejection.status(), "unreadable", &text, "invalid_argument");
        }
    };
    let meters = Meters::new(COLLECTOR);
    meters.bytes.increment(body.len() as u64);
    let ctx = ParseContext {
        received: Timestamp::now(),
        region: state.region,
        source: Source::new(COLLECTOR, peer.map(|Extension(ConnectInfo(addr))| addr)),
        timezone: state.timezone,
    };
    let parsed = if body.len() > INLINE_PARSE_BYTES {
        match tokio::task::spawn_blocking(move || events(&body, &ctx)).await {
            Ok(parsed) => parsed,
            Err(e) => {
                warn!(error = %e, "http ingest parse task failed");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                );
            }
        }
    } else {
        events(&body, &ctx)
    };
    let events = match parsed {
        Ok(events) => events,
        Err(e) => {
            return rejected(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                &e.to_string(),
                e.code(),
            );
        }
    };
    let accepted = events.len();
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let batch: EventBatch = events.by_ref().take(state.batch_size.max(1)).collect();
        let n = batch.len() as u64;
        if state.tx.send(batch).await.is_err() {
            warn!("event channel closed, refusing http ingest");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "ingest is not running",
            );
        }
        metrics::counter!("onewall_ingest_events_total", "source" => COLLECTOR).increment(n);
    }
    (StatusCode::OK, Json(json!({ "accepted": accepted }))).into_response()
}

fn events(body: &[u8], ctx: &ParseContext) -> Result<Vec<Event>, BodyError> {
    let records = split_http_body(body)?;
    Ok(records
        .iter()
        .map(|(raw, obj)| {
            let e = parse_json_object(obj, raw, ctx);
            count_parse_error(&e);
            e
        })
        .collect())
}

fn rejected(status: StatusCode, reason: &'static str, message: &str, code: &str) -> Response {
    metrics::counter!("onewall_ingest_http_rejected_total", "reason" => reason).increment(1);
    error(status, code, message)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}
