//! `POST /api/v1/ingest` on a real server on 127.0.0.1, called with ureq.

use std::net::SocketAddr;

use onewall_ingest::{HttpIngest, http_router};
use onewall_model::{Event, EventBatch, Format, RegionCode, Timestamp, Value};
use serde_json::Value as Json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

struct Server {
    url: String,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve the router; with `connect_info`, the way the binary does, so the peer is known.
async fn serve(state: HttpIngest, connect_info: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = http_router(state);
    let task = tokio::spawn(async move {
        let served = if connect_info {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        } else {
            axum::serve(listener, router).await
        };
        served.expect("server runs");
    });
    Server {
        url: format!("http://{addr}/api/v1/ingest"),
        task,
    }
}

/// POST `body`; the status and the JSON reply.
async fn post(url: &str, body: impl Into<Vec<u8>>) -> (u16, Json) {
    let url = url.to_owned();
    let body = body.into();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut resp = agent
            .post(&url)
            .send(&body[..])
            .expect("request is answered");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().expect("reply body");
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, json)
    })
    .await
    .expect("client task")
}

fn state() -> (HttpIngest, mpsc::Receiver<EventBatch>) {
    let (tx, rx) = mpsc::channel(16);
    (HttpIngest::new(tx, RegionCode::HENAN), rx)
}

fn drain(rx: &mut mpsc::Receiver<EventBatch>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        out.extend(batch);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_object_is_one_event_with_flat_fields() {
    let (state, mut rx) = state();
    let server = serve(state, true).await;
    let body = r#"{"@timestamp":"2026-03-15T12:00:00+08:00","source":{"ip":"203.0.113.7","port":4242},"user":{"name":"alice"},"tags":["a","b"]}"#;
    let (status, reply) = post(&server.url, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply, serde_json::json!({"accepted": 1}));
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.format, Format::Json);
    assert_eq!(e.parse_error, None);
    assert_eq!(&*e.raw, body.as_bytes());
    assert_eq!(e.source.collector.as_ref(), "http");
    assert_eq!(
        e.source.peer.map(|p| p.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );
    let t = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("time");
    assert_eq!(e.time, t);
    assert_eq!(e.get("@timestamp"), Some(&Value::Time(t)));
    assert_eq!(e.get("source.ip"), Some(&Value::str("203.0.113.7")));
    assert_eq!(e.get("source.port"), Some(&Value::Int(4242)));
    assert_eq!(e.get("user.name"), Some(&Value::str("alice")));
    assert_eq!(
        e.get("tags"),
        Some(&Value::List(vec![Value::str("a"), Value::str("b")]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_and_ndjson_bodies() {
    let (mut state, mut rx) = state();
    state.batch_size = 2;
    let server = serve(state, true).await;
    let (status, reply) = post(&server.url, r#"[{"n":1},{"n":2},{"n":3}]"#).await;
    assert_eq!((status, reply), (200, serde_json::json!({"accepted": 3})));
    let ndjson = "{\"n\":4,\"time\":\"not a time\"}\r\n\r\n{\"n\":5}\n{\"n\":6}\n";
    let (status, reply) = post(&server.url, ndjson).await;
    assert_eq!((status, reply), (200, serde_json::json!({"accepted": 3})));
    let events = drain(&mut rx);
    let ns: Vec<i64> = events
        .iter()
        .filter_map(|e| e.get("n").and_then(Value::as_i64))
        .collect();
    assert_eq!(ns, [1, 2, 3, 4, 5, 6]);
    assert_eq!(&*events[1].raw, br#"{"n":2}"#);
    assert_eq!(&*events[4].raw, br#"{"n":5}"#);
    // A time that is not RFC 3339 stays as sent; the event takes the receive time.
    assert_eq!(events[3].get("time"), Some(&Value::str("not a time")));
    assert_eq!(events[3].time, events[3].received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_refused_whole() {
    let (state, mut rx) = state();
    let server = serve(state, true).await;
    let cases = [
        (
            "{\"a\":1}\n{\"a\":2}\n{\"a\": }\n",
            "line 3: expected value at column 7",
        ),
        (
            "[{\"a\":1}, 42]",
            "element 2 of the array is a number, expected an object",
        ),
        ("  \n", "body is empty"),
        (
            "{\"a\":1}\n[1]\n",
            "line 2: value is an array, expected an object",
        ),
    ];
    for (body, message) in cases {
        let (status, reply) = post(&server.url, body).await;
        assert_eq!(status, 400, "{body:?}: {reply}");
        assert_eq!(
            reply,
            serde_json::json!({"error": {"code": "invalid_argument", "message": message}}),
            "{body:?}"
        );
    }
    assert!(
        drain(&mut rx).is_empty(),
        "nothing of a refused body is ingested"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_closed_and_no_peer() {
    let (mut state, rx) = state();
    state.max_body_bytes = 64;
    let server = serve(state, false).await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100));
    let (status, reply) = post(&server.url, big).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["error"]["code"], "payload_too_large");
    assert_eq!(
        reply["error"]["message"],
        "body is larger than the limit of 64 bytes"
    );
    // Without ConnectInfo the request still works; the peer is unknown.
    let mut rx = rx;
    let (status, _) = post(&server.url, r#"{"a":1}"#).await;
    assert_eq!(status, 200);
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].source.peer, None);
    // With the pipeline gone: 503.
    drop(rx);
    let (status, reply) = post(&server.url, r#"{"a":1}"#).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["error"]["code"], "unavailable");
}
