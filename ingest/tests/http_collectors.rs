//! The Elasticsearch `_bulk`-compatible and Splunk HEC-compatible collectors, tokens and gzip,
//! on a real server on 127.0.0.1, called with ureq the way Filebeat, Vector, Fluent Bit and
//! HEC clients call them.

use std::io::Write;
use std::net::SocketAddr;

use onewall_ingest::listen::HttpTokens;
use onewall_ingest::{HttpIngest, http_router};
use onewall_model::{Event, EventBatch, Format, RegionCode, Timestamp, Value};
use serde_json::{Value as Json, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

struct Server {
    base: String,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(state: HttpIngest) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = http_router(state);
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("server runs");
    });
    Server {
        base: format!("http://{addr}"),
        task,
    }
}

fn state() -> (HttpIngest, mpsc::Receiver<EventBatch>) {
    let (tx, rx) = mpsc::channel(64);
    (HttpIngest::new(tx, RegionCode::HENAN), rx)
}

fn drain(rx: &mut mpsc::Receiver<EventBatch>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        out.extend(batch);
    }
    out
}

/// One HTTP call: method, URL, headers, body; the status, JSON reply (or text) and headers.
async fn call(
    method: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
) -> (u16, Json, Vec<(String, String)>) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let resp = match method {
            "GET" => {
                let mut r = agent.get(&url);
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.call()
            }
            "HEAD" => {
                let mut r = agent.head(&url);
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.call()
            }
            "PUT" => {
                let mut r = agent.put(&url);
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.send(body.unwrap_or_default())
            }
            _ => {
                let mut r = agent.post(&url);
                for (k, v) in &headers {
                    r = r.header(*k, v);
                }
                r.send(body.unwrap_or_default())
            }
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let hdrs = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        (status, json, hdrs)
    })
    .await
    .expect("client task")
}

async fn post(url: String, headers: Vec<(&'static str, String)>, body: &[u8]) -> (u16, Json) {
    let (s, j, _) = call("POST", url, headers, Some(body.to_vec())).await;
    (s, j)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn str_of(e: &Event, name: &str) -> String {
    e.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A Filebeat 8 `_bulk` body: `create` actions into its data stream, ECS documents.
fn filebeat_body(n: usize) -> String {
    let mut body = String::new();
    for k in 0..n {
        body.push_str("{\"create\":{\"_index\":\"filebeat-8.11.0\"}}\n");
        body.push_str(&format!(
            "{{\"@timestamp\":\"2026-03-01T02:00:{k:02}.000Z\",\"message\":\"Failed password for root from 203.0.113.9 port 4242 ssh2 #{k}\",\
             \"log\":{{\"offset\":{off},\"file\":{{\"path\":\"/var/log/auth.log\"}}}},\"input\":{{\"type\":\"filestream\"}},\
             \"host\":{{\"name\":\"web01\"}},\"agent\":{{\"type\":\"filebeat\",\"version\":\"8.11.0\"}},\"ecs\":{{\"version\":\"8.0.0\"}}}}\n",
            off = k * 100
        ));
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filebeat_bulk_with_create_and_index_actions() {
    let (mut state, mut rx) = state();
    state.tags.department = Some("city-soc".into());
    let server = serve(state).await;
    let mut body = filebeat_body(3);
    // Vector's and Fluent Bit's `index` actions, one with an id of its own.
    body.push_str("{\"index\":{\"_index\":\"vector-2026.03.01\",\"_id\":\"abc-1\"}}\n");
    body.push_str(
        "{\"@timestamp\":\"2026-03-01T02:01:00Z\",\"message\":\"from vector\",\"host\":\"db01\"}\n",
    );
    body.push_str("{\"index\":{\"_index\":\"fluent-bit\"}}\n{\"log\":\"from fluent bit\"}\n");
    let (status, reply) = post(
        format!("{}/_bulk", server.base),
        vec![("Content-Type", "application/x-ndjson".into())],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["errors"], json!(false), "{reply}");
    assert!(reply["took"].is_u64(), "{reply}");
    let items = reply["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for (i, item) in items.iter().enumerate() {
        let action = if i < 3 { "create" } else { "index" };
        assert_eq!(item[action]["status"], 201, "{item}");
        assert_eq!(item[action]["result"], "created", "{item}");
        assert!(item[action]["_id"].is_string(), "{item}");
    }
    assert_eq!(items[0]["create"]["_index"], "filebeat-8.11.0");
    assert_eq!(items[3]["index"]["_id"], "abc-1");

    let events = drain(&mut rx);
    assert_eq!(events.len(), 5);
    for (k, e) in events.iter().take(3).enumerate() {
        assert_eq!(e.format, Format::Json);
        assert_eq!(e.parse_error, None);
        assert_eq!(e.source.collector.as_ref(), "http_bulk");
        assert_eq!(
            str_of(e, "message"),
            format!("Failed password for root from 203.0.113.9 port 4242 ssh2 #{k}")
        );
        assert_eq!(str_of(e, "host.name"), "web01");
        assert_eq!(str_of(e, "log.file.path"), "/var/log/auth.log");
        assert_eq!(str_of(e, "elasticsearch.index"), "filebeat-8.11.0");
        assert_eq!(str_of(e, "organization.name"), "city-soc");
        let t = Timestamp::parse_rfc3339(&format!("2026-03-01T02:00:{k:02}Z")).expect("time");
        assert_eq!(e.time, t);
    }
    assert_eq!(str_of(&events[3], "message"), "from vector");
    assert_eq!(str_of(&events[4], "log"), "from fluent bit");
    assert_eq!(str_of(&events[4], "elasticsearch.index"), "fluent-bit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_errors_are_reported_per_item() {
    let (state, mut rx) = state();
    let server = serve(state).await;
    let body = "{\"create\":{}}\n{\"message\":\"kept\"}\n\
        {\"create\":{}}\n\"just a string\"\n\
        {\"index\":{\"_id\":\"bad\"}}\n{\"message\": oops}\n\
        {\"delete\":{\"_id\":\"x\"}}\n\
        {\"update\":{\"_id\":\"y\"}}\n{\"doc\":{\"a\":1}}\n\
        {\"create\":{\"_index\":\"other\"}}\n{\"message\":\"also kept\"}";
    let (status, reply) = post(
        format!("{}/winlogbeat-8.11.0/_bulk", server.base),
        vec![],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["errors"], json!(true));
    let items = reply["items"].as_array().expect("items");
    let statuses: Vec<(String, u64)> = items
        .iter()
        .map(|i| {
            let (action, meta) = i
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one key");
            (action.clone(), meta["status"].as_u64().unwrap_or_default())
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("create", 201),
        ("create", 400),
        ("index", 400),
        ("delete", 400),
        ("update", 400),
        ("create", 201),
    ]
    .iter()
    .map(|(a, s)| (a.to_string(), *s))
    .collect();
    assert_eq!(statuses, want, "{reply}");
    assert_eq!(items[0]["create"]["_index"], "winlogbeat-8.11.0");
    assert_eq!(
        items[1]["create"]["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(items[2]["index"]["_id"], "bad");
    assert_eq!(items[5]["create"]["_index"], "other");
    let events = drain(&mut rx);
    let kept: Vec<String> = events.iter().map(|e| str_of(e, "message")).collect();
    assert_eq!(kept, ["kept", "also kept"]);

    // Without an index anywhere, the item is refused.
    let (status, reply) = post(
        format!("{}/_bulk", server.base),
        vec![],
        b"{\"create\":{}}\n{\"a\":1}\n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        reply["items"][0]["create"]["error"]["type"],
        "action_request_validation_exception"
    );

    // A malformed action line refuses the whole body, the way Elasticsearch does.
    let (status, reply) = post(
        format!("{}/_bulk", server.base),
        vec![],
        b"{\"create\":{\"_index\":\"i\"}}\n{\"a\":1}\n{\"upsert\":{}}\n{\"a\":2}\n",
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["status"], 400);
    assert_eq!(reply["error"]["type"], "illegal_argument_exception");
    assert!(
        reply["error"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("line [3]"),
        "{reply}"
    );
    assert!(drain(&mut rx).is_empty());
}

/// What Filebeat, Vector and Fluent Bit ask before they send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipper_startup_probes() {
    let (state, _rx) = state();
    let server = serve(state).await;
    let (status, root, headers) = call("GET", format!("{}/", server.base), vec![], None).await;
    assert_eq!(status, 200);
    assert_eq!(root["version"]["number"], "8.19.0");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-elastic-product" && v == "Elasticsearch"),
        "{headers:?}"
    );
    let (status, license, _) = call("GET", format!("{}/_license", server.base), vec![], None).await;
    assert_eq!(status, 200);
    assert_eq!(license["license"]["status"], "active");
    let (status, health, _) = call(
        "GET",
        format!("{}/_cluster/health", server.base),
        vec![],
        None,
    )
    .await;
    assert_eq!((status, &health["status"]), (200, &json!("green")));
    let (status, ilm, _) = call("GET", format!("{}/_ilm/status", server.base), vec![], None).await;
    assert_eq!((status, &ilm["operation_mode"]), (200, &json!("RUNNING")));
    for path in [
        "/_index_template/filebeat-8.11.0",
        "/_ilm/policy/filebeat",
        "/_ingest/pipeline/filebeat-8.11.0-system-auth-pipeline",
    ] {
        let (status, _, _) = call("HEAD", format!("{}{path}", server.base), vec![], None).await;
        assert_eq!(status, 200, "HEAD {path}");
        let (status, _, _) = call("GET", format!("{}{path}", server.base), vec![], None).await;
        assert_eq!(status, 200, "GET {path}");
        let (status, reply, _) = call(
            "PUT",
            format!("{}{path}", server.base),
            vec![],
            Some(b"{}".to_vec()),
        )
        .await;
        assert_eq!(status, 200, "PUT {path}");
        assert_eq!(reply["acknowledged"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_per_collector() {
    let (mut state, mut rx) = state();
    state.tokens = HttpTokens {
        ingest: vec!["ingest-token".into()],
        bulk: vec!["bulk-token".into()],
        hec: vec!["hec-token".into()],
    };
    let server = serve(state).await;
    let ingest = format!("{}/api/v1/ingest", server.base);
    let bulk = format!("{}/_bulk", server.base);
    let hec = format!("{}/services/collector/event", server.base);
    let doc = b"{\"a\":1}";
    let bulk_body = b"{\"create\":{\"_index\":\"i\"}}\n{\"a\":1}\n";
    let hec_body = b"{\"event\":\"x\"}";
    let auth = |v: &str| vec![("Authorization", v.to_owned())];

    // onewall's own endpoint: Bearer.
    let (status, reply) = post(ingest.clone(), vec![], doc).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["code"], "unauthenticated");
    let (status, _) = post(ingest.clone(), auth("Bearer bulk-token"), doc).await;
    assert_eq!(status, 401, "another collector's token");
    let (status, _) = post(ingest.clone(), auth("Bearer ingest-token"), doc).await;
    assert_eq!(status, 200);

    // Elasticsearch: Basic with the token as password, ApiKey, Bearer.
    let (status, reply) = post(bulk.clone(), vec![], bulk_body).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["type"], "security_exception");
    let (status, _, _) = call("GET", format!("{}/", server.base), vec![], None).await;
    assert_eq!(status, 401, "probes need the token too");
    // elastic:bulk-token
    let basic = "Basic ZWxhc3RpYzpidWxrLXRva2Vu";
    for header in [basic, "ApiKey bulk-token", "Bearer bulk-token"] {
        let (status, reply) = post(bulk.clone(), auth(header), bulk_body).await;
        assert_eq!(status, 200, "{header}: {reply}");
        assert_eq!(reply["errors"], false);
    }
    let (status, _) = post(bulk.clone(), auth("ApiKey wrong"), bulk_body).await;
    assert_eq!(status, 401);

    // Splunk HEC: 401 code 2 without a token, 403 code 4 with a wrong one.
    let (status, reply) = post(hec.clone(), vec![], hec_body).await;
    assert_eq!(
        (status, reply),
        (401, json!({"text": "Token is required", "code": 2}))
    );
    let (status, reply) = post(hec.clone(), auth("Splunk nope"), hec_body).await;
    assert_eq!(
        (status, reply),
        (403, json!({"text": "Invalid token", "code": 4}))
    );
    let (status, reply) = post(hec.clone(), auth("Splunk hec-token"), hec_body).await;
    assert_eq!(
        (status, reply),
        (200, json!({"text": "Success", "code": 0}))
    );

    assert_eq!(drain(&mut rx).len(), 1 + 3 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bodies_and_limits() {
    let (mut state, mut rx) = state();
    state.max_body_bytes = 4096;
    let server = serve(state).await;
    let gz = vec![("Content-Encoding", "gzip".to_owned())];

    let (status, reply) = post(
        format!("{}/api/v1/ingest", server.base),
        gz.clone(),
        &gzip(b"{\"n\":1}\n{\"n\":2}\n"),
    )
    .await;
    assert_eq!((status, reply), (200, json!({"accepted": 2})));
    let (status, reply) = post(
        format!("{}/_bulk", server.base),
        gz.clone(),
        &gzip(filebeat_body(2).as_bytes()),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["errors"], false);
    let (status, reply) = post(
        format!("{}/services/collector/event", server.base),
        gz.clone(),
        &gzip(b"{\"event\":\"a\"}{\"event\":\"b\"}"),
    )
    .await;
    assert_eq!(
        (status, reply),
        (200, json!({"text": "Success", "code": 0}))
    );
    assert_eq!(drain(&mut rx).len(), 6);

    // Small on the wire, too large once gunzipped: 413, on every endpoint.
    let bomb = gzip(&vec![b' '; 100_000]);
    assert!(bomb.len() < 4096);
    for path in ["/api/v1/ingest", "/_bulk", "/services/collector/event"] {
        let (status, reply) = post(format!("{}{path}", server.base), gz.clone(), &bomb).await;
        assert_eq!(status, 413, "{path}: {reply}");
    }
    // Too large as sent.
    let big = vec![b'{'; 10_000];
    for path in ["/api/v1/ingest", "/_bulk", "/services/collector/event"] {
        let (status, reply) = post(format!("{}{path}", server.base), vec![], &big).await;
        assert_eq!(status, 413, "{path}: {reply}");
    }
    let (status, reply) = post(format!("{}/api/v1/ingest", server.base), gz, b"not gzip").await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = post(
        format!("{}/api/v1/ingest", server.base),
        vec![("Content-Encoding", "br".to_owned())],
        b"{}",
    )
    .await;
    assert_eq!(status, 415, "{reply}");
    assert!(drain(&mut rx).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hec_events_and_raw() {
    let (state, mut rx) = state();
    let server = serve(state).await;
    let body = concat!(
        r#"{"time":1772330400,"host":"fw01","source":"udp:514","sourcetype":"syslog","index":"main","event":"<134>1 2026-03-01T10:00:00+08:00 fw01 kernel - - - hec syslog line"}"#,
        "\n",
        r#"{"time":"1772330401.250","host":"app01","sourcetype":"_json","fields":{"env":"prod"},"event":{"user":{"name":"alice"},"event":{"action":"login"}}}"#,
        r#"{"event":"plain text, not syslog","host":"app02"}"#,
    );
    let (status, reply) = post(
        format!("{}/services/collector/event", server.base),
        vec![("Authorization", "Splunk anything".into())],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (status, reply),
        (200, json!({"text": "Success", "code": 0}))
    );
    let events = drain(&mut rx);
    assert_eq!(events.len(), 3);
    let e = &events[0];
    assert_eq!(e.format, Format::Rfc5424);
    assert_eq!(e.source.collector.as_ref(), "http_hec");
    assert_eq!(str_of(e, "message"), "hec syslog line");
    assert_eq!(str_of(e, "splunk.sourcetype"), "syslog");
    assert_eq!(str_of(e, "splunk.source"), "udp:514");
    assert_eq!(str_of(e, "splunk.index"), "main");
    assert_eq!(e.time.secs(), 1_772_330_400);
    let e = &events[1];
    assert_eq!(e.format, Format::Json);
    assert_eq!(str_of(e, "user.name"), "alice");
    assert_eq!(str_of(e, "event.action"), "login");
    assert_eq!(str_of(e, "host.name"), "app01");
    assert_eq!(str_of(e, "env"), "prod");
    assert_eq!(e.time.millis(), 1_772_330_401_250);
    // Text that is not syslog is kept raw, with its error, and the envelope's host.
    let e = &events[2];
    assert_eq!(e.format, Format::Unknown);
    assert!(e.parse_error.is_some());
    assert_eq!(&*e.raw, b"plain text, not syslog");
    assert_eq!(str_of(e, "host.name"), "app02");

    // As HEC does: envelopes before the bad one are taken; the bad one is numbered from 0.
    let (status, reply) = post(
        format!("{}/services/collector/event", server.base),
        vec![],
        br#"{"event":"first"} {"host":"h"} {"event":"third"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        reply,
        json!({"text": "Event field is required", "code": 12, "invalid-event-number": 1})
    );
    assert_eq!(drain(&mut rx).len(), 1);
    let (status, reply) = post(
        format!("{}/services/collector/event", server.base),
        vec![],
        b"   ",
    )
    .await;
    assert_eq!(
        (status, reply),
        (400, json!({"text": "No data", "code": 5}))
    );

    // Raw: one record per line, metadata from the query string.
    let (status, reply) = post(
        format!(
            "{}/services/collector/raw?host=raw01&sourcetype=linux_secure",
            server.base
        ),
        vec![],
        b"<38>Mar  1 10:00:00 raw01 sshd[7]: raw one\n<38>Mar  1 10:00:01 raw01 sshd[7]: raw two\n",
    )
    .await;
    assert_eq!(
        (status, reply),
        (200, json!({"text": "Success", "code": 0}))
    );
    let events = drain(&mut rx);
    assert_eq!(events.len(), 2);
    assert_eq!(str_of(&events[0], "message"), "raw one");
    assert_eq!(str_of(&events[1], "process.name"), "sshd");
    assert_eq!(str_of(&events[1], "splunk.sourcetype"), "linux_secure");
    let (status, health, _) = call(
        "GET",
        format!("{}/services/collector/health", server.base),
        vec![],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(health["code"], 17);
}
