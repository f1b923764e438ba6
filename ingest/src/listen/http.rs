//! Records over HTTP: onewall's own `POST /api/v1/ingest` (one JSON object, an array, or
//! NDJSON), an Elasticsearch `_bulk`-compatible API ([`bulk`]) and a Splunk HEC-compatible one
//! ([`hec`]), so shippers can send with the outputs they already have.
//!
//! Every endpoint takes `Content-Encoding: gzip`, refuses a body over the limit (before or
//! after gzip) with 413, and checks its own tokens when some are configured; with none it is
//! open. Each answers errors the way its protocol does.

mod bulk;
mod hec;

use std::io::Read;
use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
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
use crate::parse::{DEFAULT_TIMEZONE, ParseContext, parse_http_body};

/// The default largest body, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Bodies larger than this are split and parsed off the async runtime's threads.
const INLINE_PARSE_BYTES: usize = 256 * 1024;

/// The collector name of HTTP events, and the `source` label of their metrics.
const COLLECTOR: &str = "http";

/// Tokens per HTTP collector. An empty list leaves that collector open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTokens {
    /// `POST /api/v1/ingest`: `Authorization: Bearer TOKEN`.
    pub ingest: Vec<String>,
    /// The Elasticsearch-compatible endpoints: `Bearer TOKEN`, `ApiKey TOKEN`, or `Basic`
    /// with the token as the password (any user name).
    pub bulk: Vec<String>,
    /// The Splunk HEC endpoints: `Authorization: Splunk TOKEN`.
    pub hec: Vec<String>,
}

/// What the HTTP collectors need.
#[derive(Debug, Clone)]
pub struct HttpIngest {
    /// Where parsed events go.
    pub tx: mpsc::Sender<EventBatch>,
    /// The region the events belong to.
    pub region: RegionCode,
    /// The zone of record times that carry none.
    pub timezone: UtcOffset,
    /// The largest body accepted, before and after gzip; larger ones get 413. Default 16 MiB.
    pub max_body_bytes: usize,
    /// Events per batch sent down the channel. Default 512.
    pub batch_size: usize,
    /// Department, charset and format hint of the records.
    pub tags: SourceTags,
    /// Tokens per collector; none configured means open.
    pub tokens: HttpTokens,
    /// When set, events are appended to this spool (which hands them on) instead of sent on
    /// `tx`, and a request is answered 2xx only once its events are appended; a full spool
    /// gets 503 with `Retry-After`.
    pub spool: Option<std::sync::Arc<crate::spool::Spool>>,
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
            tokens: HttpTokens::default(),
            spool: None,
        }
    }

    /// The parse context of a record received now from `peer` by `collector`.
    fn context(&self, collector: &str, peer: Option<SocketAddr>) -> ParseContext {
        let mut ctx =
            ParseContext::new(Timestamp::now(), self.region, Source::new(collector, peer));
        ctx.timezone = self.timezone;
        self.tags.apply(&mut ctx);
        ctx
    }

    /// Send events down the channel in batches; `Err` when the pipeline is gone or the spool
    /// refuses them.
    async fn send(&self, collector: &'static str, events: Vec<Event>) -> Result<(), Refused> {
        if let Some(spool) = &self.spool {
            // One record for the whole request: all of it is accepted, or none.
            let n = events.len() as u64;
            return match spool.append_async(events).await {
                Ok(_) => {
                    metrics::counter!("onewall_ingest_events_total", "source" => collector)
                        .increment(n);
                    Ok(())
                }
                Err((e, _)) => {
                    let refused = Refused::spool(&e);
                    count_rejected(refused.reason);
                    if let Some(held_back) = super::REFUSALS.ready() {
                        warn!(collector, error = %e, held_back, "refusing http ingest: the spool takes no more now");
                    }
                    Err(refused)
                }
            };
        }
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let batch: EventBatch = events.by_ref().take(self.batch_size.max(1)).collect();
            let n = batch.len() as u64;
            if self.tx.send(batch).await.is_err() {
                warn!(collector, "event channel closed, refusing http ingest");
                return Err(Refused::closed());
            }
            metrics::counter!("onewall_ingest_events_total", "source" => collector).increment(n);
        }
        Ok(())
    }
}

/// Why the pipeline is not taking events: the `onewall_ingest_http_rejected_total` reason and
/// what the client is told.
#[derive(Debug)]
struct Refused {
    reason: &'static str,
    message: String,
}

impl Refused {
    fn closed() -> Refused {
        Refused {
            reason: "closed",
            message: "ingest takes no more events now; retry later".into(),
        }
    }

    fn spool(e: &crate::spool::SpoolError) -> Refused {
        use crate::spool::SpoolError;
        match e {
            SpoolError::DiskFull { free, reserve, .. } => Refused {
                reason: "disk_full",
                message: format!(
                    "{}; retry later",
                    crate::spool::disk_full_message(*free, *reserve)
                ),
            },
            SpoolError::Full { .. } => Refused {
                reason: "spool_full",
                message: "the spool is full: the store is behind; retry later".into(),
            },
            SpoolError::Closed => Refused::closed(),
            _ => Refused {
                reason: "spool_error",
                message: "ingest cannot spool events now; retry later".into(),
            },
        }
    }

    /// The message when the disk is full (which clients should be told as such).
    fn disk_full(&self) -> Option<&str> {
        (self.reason == "disk_full").then_some(&*self.message)
    }
}

/// The HTTP collectors' router: `POST /api/v1/ingest`; `POST /_bulk`, `POST /{index}/_bulk`
/// and the few read endpoints Elasticsearch shippers probe at startup; `POST
/// /services/collector/event`, `/services/collector/raw` and `GET /services/collector/health`.
/// The peer address is taken from axum's `ConnectInfo<SocketAddr>` when the server provides
/// it (`into_make_service_with_connect_info`).
pub fn http_router(state: HttpIngest) -> Router {
    let limit = state.max_body_bytes;
    let router = Router::new().route("/api/v1/ingest", post(ingest));
    bulk::routes(hec::routes(router))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            token_before_body,
        ))
        .layer(axum::middleware::map_response(retry_after))
        .with_state(state)
}

/// Check a collector's token before its body is read: a request without a valid one has its
/// body dropped unread (the connection is closed after the answer), so a sender without the
/// token cannot make the node buffer up to `max_body_bytes`. The handler answers the refusal
/// the way its protocol does.
async fn token_before_body(
    State(state): State<HttpIngest>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let (tokens, schemes, basic): (&[String], &[&str], bool) = if path == "/api/v1/ingest" {
        (&state.tokens.ingest, &["Bearer"], false)
    } else if path.starts_with("/services/collector") {
        (&state.tokens.hec, &["Splunk"], false)
    } else {
        (&state.tokens.bulk, &["Bearer", "ApiKey"], true)
    };
    if !matches!(
        check_token(req.headers(), tokens, schemes, basic),
        Auth::Granted
    ) {
        *req.body_mut() = axum::body::Body::empty();
    }
    next.run(req).await
}

/// Every 503 (the pipeline or spool takes no more now) tells the client when to try again.
async fn retry_after(mut resp: Response) -> Response {
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

/// `POST /api/v1/ingest`. The body is one JSON object, a JSON array of objects, or NDJSON
/// (gzip allowed); no Content-Type is required. Replies `200 {"accepted": N}`; a malformed body
/// gets `400 {"error": {"code": "invalid_argument", "message": ...}}` and nothing of it is
/// ingested; a body over the limit gets 413; a missing or wrong token 401; a stopped pipeline
/// 503.
async fn ingest(
    State(state): State<HttpIngest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match check_token(&headers, &state.tokens.ingest, &["Bearer"], false) {
        Auth::Granted => {}
        Auth::Missing | Auth::Denied => {
            let mut resp = rejected(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid token; send Authorization: Bearer TOKEN",
                "unauthenticated",
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return resp;
        }
    }
    let body = match read_body(&state, &headers, body) {
        Ok(body) => body,
        Err(trouble) => {
            let (status, reason, code) = trouble.status();
            return rejected(status, reason, &trouble.to_string(), code);
        }
    };
    let meters = Meters::new(COLLECTOR);
    meters.bytes.increment(body.len() as u64);
    let ctx = state.context(COLLECTOR, peer.map(|Extension(ConnectInfo(addr))| addr));
    let parsed = off_runtime(body.len(), move || events(&body, &ctx)).await;
    let events = match parsed {
        Some(Ok(events)) => events,
        Some(Err(e)) => {
            return rejected(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                &e.to_string(),
                e.code(),
            );
        }
        None => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            );
        }
    };
    let accepted = events.len();
    if let Err(refused) = state.send(COLLECTOR, events).await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &refused.message,
        );
    }
    (StatusCode::OK, Json(json!({ "accepted": accepted }))).into_response()
}

fn events(body: &[u8], ctx: &ParseContext) -> Result<Vec<Event>, BodyError> {
    let events = parse_http_body(body, ctx)?;
    events.iter().for_each(count_parse_error);
    Ok(events)
}

/// Run `f` inline for a small body, else on the blocking pool; `None` if that task failed.
async fn off_runtime<T: Send + 'static>(
    len: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if len <= INLINE_PARSE_BYTES {
        return Some(f());
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Some(v),
        Err(e) => {
            warn!(error = %e, "http ingest parse task failed");
            None
        }
    }
}

fn rejected(status: StatusCode, reason: &'static str, message: &str, code: &str) -> Response {
    count_rejected(reason);
    error(status, code, message)
}

fn count_rejected(reason: &'static str) {
    metrics::counter!("onewall_ingest_http_rejected_total", "reason" => reason).increment(1);
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyTrouble {
    /// Over the limit, as sent or once gunzipped.
    TooLarge { limit: usize },
    /// `Content-Encoding` other than gzip or identity.
    Encoding(String),
    /// Not valid gzip.
    Gzip(String),
    /// The connection failed while the body was read, and the like.
    Unreadable { status: StatusCode, text: String },
}

impl std::fmt::Display for BodyTrouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyTrouble::TooLarge { limit } => {
                write!(f, "{}", BodyError::TooLarge { limit: *limit })
            }
            BodyTrouble::Encoding(e) => write!(
                f,
                "content-encoding {e:?} is not supported; send gzip or nothing"
            ),
            BodyTrouble::Gzip(e) => write!(f, "body is not valid gzip: {e}"),
            BodyTrouble::Unreadable { text, .. } => f.write_str(text),
        }
    }
}

impl BodyTrouble {
    /// The status, the metric reason and the error code.
    fn status(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            BodyTrouble::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "payload_too_large",
            ),
            BodyTrouble::Encoding(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_encoding",
                "invalid_argument",
            ),
            BodyTrouble::Gzip(_) => (StatusCode::BAD_REQUEST, "bad_encoding", "invalid_argument"),
            BodyTrouble::Unreadable { status, .. } => (*status, "unreadable", "invalid_argument"),
        }
    }
}

/// The body as sent, with gzip undone; within the limit both ways.
fn read_body(
    state: &HttpIngest,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, BodyTrouble> {
    let limit = state.max_body_bytes;
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(BodyTrouble::TooLarge { limit });
        }
        Err(rejection) => {
            return Err(BodyTrouble::Unreadable {
                status: rejection.status(),
                text: rejection.body_text(),
            });
        }
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => gunzip(&body, limit),
        other => Err(BodyTrouble::Encoding(other.to_owned())),
    }
}

/// Undo gzip (several members allowed), refusing output past `limit`.
fn gunzip(body: &[u8], limit: usize) -> Result<Bytes, BodyTrouble> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(body);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyTrouble::Gzip(e.to_string().to_lowercase()))?;
    if out.len() > limit {
        return Err(BodyTrouble::TooLarge { limit });
    }
    Ok(Bytes::from(out))
}

/// The outcome of checking a request's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No tokens configured, or one of them was shown.
    Granted,
    /// Tokens are configured and the request shows none.
    Missing,
    /// The request shows a token that is not one of them.
    Denied,
}

/// Check `Authorization: SCHEME TOKEN` against `tokens` for any of `schemes` (compared without
/// case), and `Basic` with the token as password when `basic`.
fn check_token(headers: &HeaderMap, tokens: &[String], schemes: &[&str], basic: bool) -> Auth {
    if tokens.is_empty() {
        return Auth::Granted;
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Auth::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Auth::Denied;
    };
    let Some((scheme, credential)) = value.trim().split_once(' ') else {
        return Auth::Denied;
    };
    let credential = credential.trim();
    let shown = if schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        Some(credential.as_bytes().to_vec())
    } else if basic && scheme.eq_ignore_ascii_case("basic") {
        base64_decode(credential).and_then(|pair| {
            let colon = pair.iter().position(|&b| b == b':')?;
            Some(pair[colon + 1..].to_vec())
        })
    } else {
        None
    };
    match shown {
        Some(shown) if tokens.iter().any(|t| same(t.as_bytes(), &shown)) => Auth::Granted,
        _ => Auth::Denied,
    }
}

/// Equality that takes the same time wherever the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Standard or URL-safe base64, with or without padding; `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(
            base64_decode("ZWxhc3RpYzpzZWNyZXQ=").as_deref(),
            Some(&b"elastic:secret"[..])
        );
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn tokens_by_scheme() {
        let tokens = vec!["secret".to_owned()];
        let mut h = HeaderMap::new();
        assert_eq!(check_token(&h, &[], &["Bearer"], false), Auth::Granted);
        assert_eq!(check_token(&h, &tokens, &["Bearer"], false), Auth::Missing);
        h.insert(
            header::AUTHORIZATION,
            "bearer secret".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(check_token(&h, &tokens, &["Bearer"], false), Auth::Granted);
        assert_eq!(check_token(&h, &tokens, &["Splunk"], false), Auth::Denied);
        h.insert(
            header::AUTHORIZATION,
            "Basic ZWxhc3RpYzpzZWNyZXQ="
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(check_token(&h, &tokens, &["Bearer"], true), Auth::Granted);
        assert_eq!(check_token(&h, &tokens, &["Bearer"], false), Auth::Denied);
    }

    #[test]
    fn gunzip_is_limited() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[b'a'; 1000])
            .unwrap_or_else(|_| unreachable!());
        let gz = enc.finish().unwrap_or_else(|_| unreachable!());
        assert_eq!(gunzip(&gz, 1000).map(|b| b.len()), Ok(1000));
        assert_eq!(gunzip(&gz, 999), Err(BodyTrouble::TooLarge { limit: 999 }));
        assert!(matches!(gunzip(b"plain", 1000), Err(BodyTrouble::Gzip(_))));
    }
}
