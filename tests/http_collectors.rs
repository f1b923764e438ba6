//! End to end: the binary's Elasticsearch `_bulk` and Splunk HEC endpoints with tokens from
//! the config file, gzip bodies, and the events stored and counted.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Write;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

fn send(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success());
    out.extend(done.stdout);
    out
}

fn messages_of(node: &Node, host: &str) -> Vec<String> {
    let v = node.get(&format!("/api/v1/events?filter=host.name:{host}&limit=100"));
    let mut m: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    m.sort();
    m
}

#[test]
fn bulk_and_hec_with_tokens_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(&dir.path().join("data"), "").replace(
        "[http]\n",
        "[http]\nbulk_tokens = [\"bulk-secret\"]\nhec_tokens = [\"hec-secret\"]\n",
    );
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    let node = Node::start(&file);

    let bulk = node.url("/_bulk");
    let body = b"{\"create\":{\"_index\":\"filebeat-8.11.0\"}}\n\
        {\"@timestamp\":\"2026-03-01T02:00:00Z\",\"message\":\"bulk one\",\"host\":{\"name\":\"e2e-bulk\"}}\n\
        {\"create\":{\"_index\":\"filebeat-8.11.0\"}}\n\
        {\"@timestamp\":\"2026-03-01T02:00:01Z\",\"message\":\"bulk two\",\"host\":{\"name\":\"e2e-bulk\"}}\n";
    let (status, reply) = send(&bulk, &[], body);
    assert_eq!(status, 401, "{reply}");
    // elastic:bulk-secret, as Filebeat sends username and password.
    let (status, reply) = send(
        &bulk,
        &[
            ("Authorization", "Basic ZWxhc3RpYzpidWxrLXNlY3JldA=="),
            ("Content-Encoding", "gzip"),
            ("Content-Type", "application/x-ndjson"),
        ],
        &gzip(body),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["errors"], false);
    assert_eq!(reply["items"][1]["create"]["status"], 201);

    let hec = node.url("/services/collector/event");
    let envelopes = br#"{"event":{"message":"hec one"},"host":"e2e-hec","time":1772330400}{"event":{"message":"hec two"},"host":"e2e-hec"}"#;
    let (status, reply) = send(&hec, &[("Authorization", "Splunk wrong")], envelopes);
    assert_eq!(
        (status, reply),
        (403, json!({"text": "Invalid token", "code": 4}))
    );
    let (status, reply) = send(&hec, &[("Authorization", "Splunk hec-secret")], envelopes);
    assert_eq!(
        (status, reply),
        (200, json!({"text": "Success", "code": 0}))
    );
    // The node's own endpoint has no tokens configured: open.
    let (status, _) = send(
        &node.url("/api/v1/ingest"),
        &[],
        br#"{"message":"ingest one","host":{"name":"e2e-ingest"}}"#,
    );
    assert_eq!(status, 200);

    for (host, want) in [
        ("e2e-bulk", vec!["bulk one", "bulk two"]),
        ("e2e-hec", vec!["hec one", "hec two"]),
        ("e2e-ingest", vec!["ingest one"]),
    ] {
        let got = eventually(WAIT, || {
            let m = messages_of(&node, host);
            (m.len() >= want.len()).then_some(m)
        });
        assert_eq!(
            got,
            Some(want.iter().map(|s| s.to_string()).collect()),
            "{host}"
        );
    }
    let counted = |source: &str| {
        node.metric(&format!(
            "onewall_ingest_events_total{{source=\"{source}\"}}"
        ))
        .unwrap_or_default()
    };
    assert_eq!(counted("http_bulk"), 2.0);
    assert_eq!(counted("http_hec"), 2.0);
    assert!(
        node.metric(r#"onewall_ingest_http_rejected_total{reason="unauthorized"}"#)
            .unwrap_or_default()
            >= 2.0
    );
    node.stop();
}
