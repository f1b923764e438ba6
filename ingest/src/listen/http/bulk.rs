//! An Elasticsearch `_bulk`-compatible endpoint, so Filebeat, Winlogbeat, Vector and Fluent
//! Bit ship with their Elasticsearch outputs.
//!
//! `POST /_bulk` and `POST /{index}/_bulk` take NDJSON action/source pairs. `create` and
//! `index` become events (the source object flattened like any JSON record, the target index
//! kept in `elasticsearch.index`); `update` and `delete` are refused per item, as is a source
//! that is not a JSON object. The answer is Elasticsearch's: `{"took", "errors", "items"}` with
//! a status per item, so a shipper retries or drops exactly what it should. A body whose
//! action lines are malformed is refused whole with Elasticsearch's error shape.
//!
//! Shippers probe a few endpoints before sending; they are answered like a single-node
//! cluster that accepts templates and policies: `GET /` (version 8.19.0), `GET /_license`,
//! `GET /_xpack`, `GET /_cluster/health`, `GET /_ilm/status`, and `GET`/`HEAD`/`PUT` on `/_index_template/*`,
//! `/_component_template/*`, `/_template/*`, `/_ilm/policy/*`, `/_ingest/pipeline/*` and
//! `/_data_stream/*`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use onewall_model::Event;
use serde_json::{Map, Value as Json, json};

use super::{Auth, HttpIngest, Meters, check_token, count_rejected, off_runtime, read_body};
use crate::listen::count_parse_error;
use crate::parse::{ParseContext, parse_json_text};

/// The collector name of `_bulk` events, and the `source` label of their metrics.
const COLLECTOR: &str = "http_bulk";

/// The Elasticsearch version announced; Beats refuse a cluster older than themselves.
const ES_VERSION: &str = "8.19.0";

/// The field that keeps the index a record was sent to.
const INDEX_FIELD: &str = "elasticsearch.index";

pub(super) fn routes(router: Router<HttpIngest>) -> Router<HttpIngest> {
    let management = || get(management_get).put(management_put);
    router
        .route("/_bulk", post(bulk).put(bulk))
        .route("/{index}/_bulk", post(bulk_into).put(bulk_into))
        .route("/", get(root))
        .route("/_license", get(license))
        .route("/_xpack", get(xpack))
        .route("/_cluster/health", get(cluster_health))
        .route("/_ilm/status", get(ilm_status))
        .route("/_index_template/{name}", management())
        .route("/_component_template/{name}", management())
        .route("/_template/{name}", management())
        .route("/_ilm/policy/{name}", management())
        .route("/_ingest/pipeline/{name}", management())
        .route("/_data_stream/{name}", management())
}

/// An Elasticsearch-shaped answer, with the product header its clients check.
fn es(status: StatusCode, body: Json) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    resp
}

/// Elasticsearch's error shape.
fn es_error(status: StatusCode, kind: &str, reason: &str) -> Response {
    let cause = json!({ "type": kind, "reason": reason });
    es(
        status,
        json!({
            "error": { "root_cause": [cause], "type": kind, "reason": reason },
            "status": status.as_u16(),
        }),
    )
}

/// `None` when the request may go on, else the 401 to send.
fn refuse(state: &HttpIngest, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let reason = match check_token(headers, &state.tokens.bulk, &["Bearer", "ApiKey"], true) {
        Auth::Granted => return None,
        Auth::Missing => "missing authentication credentials for REST request",
        Auth::Denied => "unable to authenticate with provided credentials for REST request",
    };
    count_rejected("unauthorized");
    let mut resp = es_error(
        StatusCode::UNAUTHORIZED,
        "security_exception",
        &format!("{reason} [{}]", uri.path()),
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"security\", charset=\"UTF-8\""),
    );
    resp.headers_mut()
        .append(header::WWW_AUTHENTICATE, HeaderValue::from_static("ApiKey"));
    Some(resp)
}

async fn root(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(
        StatusCode::OK,
        json!({
            "name": "onewall",
            "cluster_name": "onewall",
            "cluster_uuid": "onewall",
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "onewall",
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }),
    )
}

async fn license(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(
        StatusCode::OK,
        json!({ "license": {
            "status": "active", "uid": "onewall", "type": "basic", "mode": "basic",
            "issue_date_in_millis": 0, "max_nodes": 1000, "issued_to": "onewall",
            "issuer": "onewall", "start_date_in_millis": -1,
        }}),
    )
}

async fn xpack(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(
        StatusCode::OK,
        json!({
            "build": { "hash": "onewall", "date": "1970-01-01T00:00:00Z" },
            "license": { "uid": "onewall", "type": "basic", "mode": "basic", "status": "active" },
            "features": {
                "ilm": { "available": true, "enabled": true },
                "security": { "available": true, "enabled": false },
            },
        }),
    )
}

async fn cluster_health(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(
        StatusCode::OK,
        json!({
            "cluster_name": "onewall", "status": "green", "timed_out": false,
            "number_of_nodes": 1, "number_of_data_nodes": 1,
        }),
    )
}

async fn ilm_status(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(StatusCode::OK, json!({ "operation_mode": "RUNNING" }))
}

/// Templates, policies and pipelines "exist": shippers then send without installing theirs.
async fn management_get(
    State(state): State<HttpIngest>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    let path = uri.path();
    let body = if path.starts_with("/_index_template/") {
        json!({ "index_templates": [{ "name": name, "index_template": {
            "index_patterns": [format!("{name}*")], "data_stream": {}, "template": {},
        }}]})
    } else if path.starts_with("/_component_template/") {
        json!({ "component_templates": [{ "name": name, "component_template": { "template": {} } }] })
    } else if path.starts_with("/_data_stream/") {
        json!({ "data_streams": [{ "name": name, "status": "GREEN" }] })
    } else if path.starts_with("/_ilm/policy/") {
        json!({ name: { "version": 1, "policy": { "phases": {} } } })
    } else {
        json!({ name: {} })
    };
    es(StatusCode::OK, body)
}

async fn management_put(State(state): State<HttpIngest>, headers: HeaderMap, uri: Uri) -> Response {
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    es(StatusCode::OK, json!({ "acknowledged": true }))
}

async fn bulk(
    State(state): State<HttpIngest>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run_bulk(state, None, peer, headers, uri, body).await
}

async fn bulk_into(
    State(state): State<HttpIngest>,
    Path(index): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run_bulk(state, Some(index), peer, headers, uri, body).await
}

async fn run_bulk(
    state: HttpIngest,
    index: Option<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    if let Some(resp) = refuse(&state, &headers, &uri) {
        return resp;
    }
    let body = match read_body(&state, &headers, body) {
        Ok(body) => body,
        Err(trouble) => {
            let (status, reason, _) = trouble.status();
            count_rejected(reason);
            let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "content_too_long_exception"
            } else {
                "parse_exception"
            };
            return es_error(status, kind, &trouble.to_string());
        }
    };
    Meters::new(COLLECTOR).bytes.increment(body.len() as u64);
    let ctx = state.context(COLLECTOR, peer.map(|Extension(ConnectInfo(a))| a));
    let parsed = off_runtime(body.len(), move || {
        parse_bulk(&body, index.as_deref(), &ctx)
    })
    .await;
    let items = match parsed {
        Some(Ok(items)) => items,
        Some(Err(reason)) => {
            count_rejected("invalid_body");
            return es_error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                &reason,
            );
        }
        None => {
            return es_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exception",
                "internal error",
            );
        }
    };
    let mut events = Vec::with_capacity(items.len());
    let mut answers = Vec::with_capacity(items.len());
    let mut errors = false;
    for (seq, item) in items.into_iter().enumerate() {
        let mut meta = Map::new();
        if let Some(index) = &item.index {
            meta.insert("_index".into(), index.clone().into());
        }
        match item.outcome {
            Ok(event) => {
                let id = item.id.unwrap_or_else(|| event.id.to_string());
                meta.insert("_id".into(), id.into());
                meta.insert("_version".into(), 1.into());
                meta.insert("result".into(), "created".into());
                meta.insert(
                    "_shards".into(),
                    json!({ "total": 1, "successful": 1, "failed": 0 }),
                );
                meta.insert("_seq_no".into(), seq.into());
                meta.insert("_primary_term".into(), 1.into());
                meta.insert("status".into(), 201.into());
                events.push(event);
            }
            Err(refused) => {
                errors = true;
                if let Some(id) = item.id {
                    meta.insert("_id".into(), id.into());
                }
                meta.insert("status".into(), refused.status.into());
                meta.insert(
                    "error".into(),
                    json!({ "type": refused.kind, "reason": refused.reason }),
                );
            }
        }
        answers.push(json!({ item.action: meta }));
    }
    if errors {
        count_rejected("bulk_item");
    }
    if let Err(refused) = state.send(COLLECTOR, events).await {
        return es_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable_shards_exception",
            refused.disk_full().unwrap_or("ingest is not running"),
        );
    }
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    es(
        StatusCode::OK,
        json!({ "took": took, "errors": errors, "items": answers }),
    )
}

/// One action of a bulk body.
#[derive(Debug)]
struct BulkItem {
    action: &'static str,
    index: Option<String>,
    id: Option<String>,
    outcome: Result<Event, Refused>,
}

/// Why one item was not taken.
#[derive(Debug)]
struct Refused {
    status: u16,
    kind: &'static str,
    reason: String,
}

impl Refused {
    fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Refused {
            status: 400,
            kind,
            reason: reason.into(),
        }
    }
}

/// Split a bulk body into items; `Err` (the whole body refused) when an action line is not
/// one. Blank lines are skipped and the last line needs no LF.
fn parse_bulk(
    body: &[u8],
    default_index: Option<&str>,
    ctx: &ParseContext,
) -> Result<Vec<BulkItem>, String> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    // Room for an item per two lines (an action and its source) at once: growing a vector of
    // events by doubling had the kernel zero the fresh pages of each larger copy.
    let mut items = Vec::with_capacity(memchr::memchr_iter(b'\n', body).count() / 2 + 1);
    while let Some((n, line)) = lines.next() {
        let (action, meta) = action_line(n, line)?;
        let meta_str = |k: &str| meta.get(k).and_then(Json::as_str).map(str::to_owned);
        let index = meta_str("_index").or_else(|| default_index.map(str::to_owned));
        let id = meta_str("_id");
        let outcome = match action {
            "index" | "create" => {
                let Some((_, source)) = lines.next() else {
                    return Err(format!(
                        "Validation Failed: 1: the {action} action on line [{n}] has no source line;"
                    ));
                };
                match &index {
                    None => Err(Refused::new(
                        "action_request_validation_exception",
                        "Validation Failed: 1: index is missing;",
                    )),
                    Some(index) => source_event(source, index, ctx),
                }
            }
            "update" => {
                // Its document line is read and refused with it.
                let _ = lines.next();
                Err(Refused::new(
                    "action_request_validation_exception",
                    "update is not supported: onewall only appends records",
                ))
            }
            _ => Err(Refused::new(
                "action_request_validation_exception",
                "delete is not supported: onewall only appends records",
            )),
        };
        items.push(BulkItem {
            action,
            index,
            id,
            outcome,
        });
    }
    if items.is_empty() {
        return Err("Validation Failed: 1: no requests added;".into());
    }
    Ok(items)
}

/// `{"ACTION": {metadata}}`.
fn action_line(n: usize, line: &[u8]) -> Result<(&'static str, Map<String, Json>), String> {
    let obj: Map<String, Json> = serde_json::from_slice(line)
        .map_err(|e| format!("Malformed action/metadata line [{n}]: {e}"))?;
    let mut entries = obj.into_iter();
    let (Some((key, meta)), None) = (entries.next(), entries.next()) else {
        return Err(format!(
            "Malformed action/metadata line [{n}], expected one action object"
        ));
    };
    let action = match key.as_str() {
        "index" => "index",
        "create" => "create",
        "update" => "update",
        "delete" => "delete",
        other => {
            return Err(format!(
                "Malformed action/metadata line [{n}], expected field [create], [delete], \
                 [index] or [update] but found [{other}]"
            ));
        }
    };
    match meta {
        Json::Object(meta) => Ok((action, meta)),
        _ => Err(format!(
            "Malformed action/metadata line [{n}], expected START_OBJECT after [{action}]"
        )),
    }
}

fn source_event(source: &[u8], index: &str, ctx: &ParseContext) -> Result<Event, Refused> {
    // Flattened as it is read; text that is not UTF-8 is refused with the JSON parser's word.
    let parsed = match std::str::from_utf8(source) {
        Ok(text) => parse_json_text(text, ctx),
        Err(_) => serde_json::from_slice::<Json>(source).map(|v| Err(json_kind(&v))),
    };
    match parsed {
        Ok(Ok(mut event)) => {
            if event.fields.get(INDEX_FIELD).is_none() {
                event.fields.insert(INDEX_FIELD, index);
            }
            count_parse_error(&event);
            Ok(event)
        }
        Ok(Err(kind)) => Err(Refused::new(
            "document_parsing_exception",
            format!("failed to parse: the source is {kind}, expected an object"),
        )),
        Err(e) => Err(Refused::new(
            "document_parsing_exception",
            format!("failed to parse: {e}"),
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{RegionCode, Source, Timestamp};

    fn ctx() -> ParseContext {
        ParseContext::new(
            Timestamp::now(),
            RegionCode::HENAN,
            Source::new(COLLECTOR, None),
        )
    }

    #[test]
    fn pairs_become_items() {
        let body = b"{\"create\":{\"_index\":\"filebeat-8\"}}\n{\"message\":\"a\"}\n\
            {\"index\":{\"_id\":\"x1\"}}\n[1]\n{\"delete\":{\"_index\":\"i\",\"_id\":\"y\"}}\n\
            {\"update\":{\"_index\":\"i\",\"_id\":\"y\"}}\n{\"doc\":{}}\n";
        let items = parse_bulk(body, Some("logs"), &ctx()).unwrap_or_default();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].index.as_deref(), Some("filebeat-8"));
        let e = items[0].outcome.as_ref().map_err(|r| r.reason.clone());
        assert_eq!(
            e.map(|e| e.fields.get(INDEX_FIELD).cloned()),
            Ok(Some("filebeat-8".into()))
        );
        assert_eq!(items[1].index.as_deref(), Some("logs"));
        assert_eq!(items[1].id.as_deref(), Some("x1"));
        assert!(items[1].outcome.is_err());
        assert_eq!(items[2].action, "delete");
        assert!(items[2].outcome.is_err());
        assert_eq!(items[3].action, "update");
    }

    #[test]
    fn bad_action_lines_refuse_the_body() {
        for body in [
            &b"{\"upsert\":{}}\n{}\n"[..],
            b"not json\n",
            b"{\"index\":{}}",
            b"\n\n",
        ] {
            assert!(parse_bulk(body, Some("i"), &ctx()).is_err(), "{body:?}");
        }
    }
}
