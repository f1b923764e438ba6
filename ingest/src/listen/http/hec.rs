//! A Splunk HTTP Event Collector-compatible endpoint.
//!
//! `POST /services/collector/event` (also `/services/collector` and `.../event/1.0`) takes
//! JSON envelopes one after another (`{"event": ..., "time": ..., "host": ...}{"event": ...}`).
//! An `event` that is an object is flattened like any JSON record; a string is read as a
//! syslog line (or as JSON when it holds an object). `time` (epoch seconds) becomes the event
//! time, `host` fills `host.name` when the record has none, `source`, `sourcetype` and `index`
//! are kept as `splunk.source`, `splunk.sourcetype`, `splunk.index`, and indexed `fields` under
//! their own names. `POST /services/collector/raw` takes one record per line, with `host`,
//! `source`, `sourcetype` and `index` from the query string.
//!
//! Answers are HEC's: `{"text": "Success", "code": 0}`; 401 code 2 without a token, 403 code 4
//! with a wrong one, 400 code 5 for no data, 400 code 6 (with `invalid-event-number`) for an
//! envelope that is not JSON, code 12 and 13 for a missing or blank `event`: as HEC does, the
//! envelopes before the bad one are taken. 413 for a body over the limit, 503 code 9 when the
//! pipeline is not running.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use onewall_model::{Event, Timestamp};
use serde_json::{Map, Value as Json, json};

use super::{Auth, HttpIngest, Meters, check_token, count_rejected, off_runtime, read_body};
use crate::listen::count_parse_error;
use crate::parse::{ParseContext, parse_json_object, parse_syslog};

/// The collector name of HEC events, and the `source` label of their metrics.
const COLLECTOR: &str = "http_hec";

pub(super) fn routes(router: Router<HttpIngest>) -> Router<HttpIngest> {
    router
        .route("/services/collector", post(event))
        .route("/services/collector/event", post(event))
        .route("/services/collector/event/1.0", post(event))
        .route("/services/collector/raw", post(raw))
        .route("/services/collector/raw/1.0", post(raw))
        .route("/services/collector/health", get(health))
        .route("/services/collector/health/1.0", get(health))
}

fn reply(status: StatusCode, text: &str, code: u32) -> Response {
    (status, axum::Json(json!({ "text": text, "code": code }))).into_response()
}

fn success() -> Response {
    reply(StatusCode::OK, "Success", 0)
}

/// What went wrong with one envelope, as HEC numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invalid {
    text: &'static str,
    code: u32,
    /// Counted from 0, as HEC does.
    number: usize,
}

async fn health() -> Response {
    reply(StatusCode::OK, "HEC is healthy", 17)
}

/// Check the token and read the body; the HEC answer when either fails.
fn admit(
    state: &HttpIngest,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Box<Response>> {
    match check_token(headers, &state.tokens.hec, &["Splunk"], false) {
        Auth::Granted => {}
        Auth::Missing => {
            count_rejected("unauthorized");
            return Err(Box::new(reply(
                StatusCode::UNAUTHORIZED,
                "Token is required",
                2,
            )));
        }
        Auth::Denied => {
            count_rejected("unauthorized");
            return Err(Box::new(reply(StatusCode::FORBIDDEN, "Invalid token", 4)));
        }
    }
    let body = read_body(state, headers, body).map_err(|trouble| -> Box<Response> {
        let (status, reason, _) = trouble.status();
        count_rejected(reason);
        Box::new(if status == StatusCode::PAYLOAD_TOO_LARGE {
            (status, axum::Json(json!({ "text": "Content too large" }))).into_response()
        } else {
            reply(StatusCode::BAD_REQUEST, "Invalid data format", 6)
        })
    })?;
    Meters::new(COLLECTOR).bytes.increment(body.len() as u64);
    if body.iter().all(u8::is_ascii_whitespace) {
        count_rejected("invalid_body");
        return Err(Box::new(reply(StatusCode::BAD_REQUEST, "No data", 5)));
    }
    Ok(body)
}

/// Send what was read, then answer for the first invalid envelope, if any.
async fn finish(state: &HttpIngest, events: Vec<Event>, invalid: Option<Invalid>) -> Response {
    if let Err(refused) = state.send(COLLECTOR, events).await {
        let text = refused.disk_full().unwrap_or("Server is busy");
        return reply(StatusCode::SERVICE_UNAVAILABLE, text, 9);
    }
    match invalid {
        None => success(),
        Some(bad) => {
            count_rejected("invalid_body");
            let body = json!({
                "text": bad.text, "code": bad.code, "invalid-event-number": bad.number,
            });
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    }
}

async fn event(
    State(state): State<HttpIngest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match admit(&state, &headers, body) {
        Ok(body) => body,
        Err(resp) => return *resp,
    };
    let ctx = state.context(COLLECTOR, peer.map(|Extension(ConnectInfo(a))| a));
    match off_runtime(body.len(), move || parse_envelopes(&body, &ctx)).await {
        Some((events, invalid)) => finish(&state, events, invalid).await,
        None => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            8,
        ),
    }
}

async fn raw(
    State(state): State<HttpIngest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match admit(&state, &headers, body) {
        Ok(body) => body,
        Err(resp) => return *resp,
    };
    let ctx = state.context(COLLECTOR, peer.map(|Extension(ConnectInfo(a))| a));
    let meta: Map<String, Json> = ["host", "source", "sourcetype", "index"]
        .into_iter()
        .filter_map(|k| query.get(k).map(|v| (k.to_owned(), Json::from(v.as_str()))))
        .collect();
    let parsed = off_runtime(body.len(), move || {
        body.split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .map(|line| {
                let mut e = text_event(line, &ctx);
                apply_metadata(&mut e, &meta);
                count_parse_error(&e);
                e
            })
            .collect::<Vec<_>>()
    })
    .await;
    match parsed {
        Some(events) => finish(&state, events, None).await,
        None => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            8,
        ),
    }
}

/// The envelopes up to the first invalid one, and that one's error.
fn parse_envelopes(body: &[u8], ctx: &ParseContext) -> (Vec<Event>, Option<Invalid>) {
    let mut events = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Json>();
    let mut start = 0;
    loop {
        let number = events.len();
        let invalid = |text, code| Invalid { text, code, number };
        let value = match stream.next() {
            None => return (events, None),
            Some(Err(_)) => return (events, Some(invalid("Invalid data format", 6))),
            Some(Ok(v)) => v,
        };
        let end = stream.byte_offset();
        let raw = body[start..end].trim_ascii();
        start = end;
        let Json::Object(mut envelope) = value else {
            return (events, Some(invalid("Invalid data format", 6)));
        };
        let mut event = match envelope.remove("event") {
            None => return (events, Some(invalid("Event field is required", 12))),
            Some(Json::Null) => return (events, Some(invalid("Event field cannot be blank", 13))),
            Some(Json::String(s)) if s.trim().is_empty() => {
                return (events, Some(invalid("Event field cannot be blank", 13)));
            }
            Some(Json::Object(obj)) => parse_json_object(&obj, raw, ctx),
            Some(Json::String(s)) => text_event(s.as_bytes(), ctx),
            Some(other) => text_event(other.to_string().as_bytes(), ctx),
        };
        if let Some(t) = envelope.get("time").and_then(epoch_secs) {
            event.time = t;
        }
        apply_metadata(&mut event, &envelope);
        // Indexed `fields` may name a department too: the listener's still wins.
        crate::parse::stamp_department(&mut event.fields, ctx.department.as_deref());
        count_parse_error(&event);
        events.push(event);
    }
}

/// A line of text: a JSON object when it is one, else syslog (kept raw with a parse error when
/// it is not that either).
fn text_event(line: &[u8], ctx: &ParseContext) -> Event {
    if line.trim_ascii_start().first() == Some(&b'{')
        && let Ok(Json::Object(obj)) = serde_json::from_slice::<Json>(line)
    {
        return parse_json_object(&obj, line, ctx);
    }
    parse_syslog(line, ctx)
}

/// `host`, `source`, `sourcetype`, `index` and indexed `fields` of an envelope.
fn apply_metadata(event: &mut Event, meta: &Map<String, Json>) {
    if let Some(host) = meta.get("host").and_then(Json::as_str)
        && event.fields.get("host.name").is_none()
    {
        event.fields.insert("host.name", host);
    }
    for key in ["source", "sourcetype", "index"] {
        if let Some(v) = meta.get(key).and_then(Json::as_str) {
            event.fields.insert(&format!("splunk.{key}"), v);
        }
    }
    if let Some(Json::Object(fields)) = meta.get("fields") {
        for (k, v) in fields {
            if event.fields.get(k).is_none() {
                event.fields.insert_json(k, v);
            }
        }
    }
}

/// HEC's `time`: epoch seconds, with a fraction, as a number or a string.
fn epoch_secs(v: &Json) -> Option<Timestamp> {
    let secs = match v {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !secs.is_finite() || !(0.0..1e11).contains(&secs) {
        return None;
    }
    Some(Timestamp::from_millis((secs * 1000.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{RegionCode, Source, Value};

    fn ctx() -> ParseContext {
        ParseContext::new(
            Timestamp::now(),
            RegionCode::HENAN,
            Source::new(COLLECTOR, None),
        )
    }

    #[test]
    fn envelopes_one_after_another() {
        let body = br#"{"event":"<13>1 2026-03-01T10:00:00Z web app - - - hello","sourcetype":"syslog"}
            {"event":{"user":{"name":"alice"}},"time":1767225600.5,"host":"db01","fields":{"env":"prod"}}"#;
        let (events, invalid) = parse_envelopes(body, &ctx());
        assert_eq!(invalid, None);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].get("message"), Some(&Value::str("hello")));
        assert_eq!(
            events[0].get("splunk.sourcetype"),
            Some(&Value::str("syslog"))
        );
        assert_eq!(events[1].get("user.name"), Some(&Value::str("alice")));
        assert_eq!(events[1].get("host.name"), Some(&Value::str("db01")));
        assert_eq!(events[1].get("env"), Some(&Value::str("prod")));
        assert_eq!(events[1].time.millis(), 1_767_225_600_500);
    }

    #[test]
    fn the_first_bad_envelope_is_numbered() {
        let (events, invalid) = parse_envelopes(br#"{"event":"a"}{"time":1}{"event":"c"}"#, &ctx());
        assert_eq!(events.len(), 1);
        assert_eq!(
            invalid,
            Some(Invalid {
                text: "Event field is required",
                code: 12,
                number: 1
            })
        );
        let (events, invalid) = parse_envelopes(br#"{"event":"a"} {"event":"#, &ctx());
        assert_eq!(events.len(), 1);
        assert_eq!(invalid.map(|i| (i.code, i.number)), Some((6, 1)));
        let (_, invalid) = parse_envelopes(br#"{"event":""}"#, &ctx());
        assert_eq!(invalid.map(|i| i.code), Some(13));
    }
}
