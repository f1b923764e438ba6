//! Bad syslog input end to end: the real binary on free ports, fed over TCP with text that is
//! neither UTF-8 nor GBK, a frame above the maximum and an octet count the stream never
//! delivers. Each is stored with its error (or, for the oversize frame, refused), counted by
//! format and error kind, and the connection or process carries on.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);
const MAX_FRAME: usize = 512;

fn events_with(node: &Node, needle: &str) -> Vec<Value> {
    let v = node.get(&format!("/api/v1/events?q={needle}&limit=100"));
    v["items"].as_array().expect("items array").clone()
}

fn one_event_with(node: &Node, needle: &str) -> Value {
    let found = eventually(WAIT, || {
        let e = events_with(node, needle);
        (!e.is_empty()).then_some(e)
    })
    .unwrap_or_else(|| panic!("no event with {needle}; stderr:\n{}", node.stderr()));
    assert_eq!(found.len(), 1, "{needle} stored once: {found:?}");
    found[0].clone()
}

fn counter(node: &Node, series: &str) -> f64 {
    node.metric(series)
        .unwrap_or_else(|| panic!("no series {series}:\n{}", node.metrics()))
}

#[test]
fn bad_syslog_is_kept_with_its_error_counted_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    let text = common::config(&dir.path().join("data"), "").replace(
        "tcp = \"127.0.0.1:0\"\n",
        &format!("tcp = \"127.0.0.1:0\"\nmax_frame_bytes = {MAX_FRAME}\n"),
    );
    assert!(text.contains("max_frame_bytes"), "{text}");
    std::fs::write(&cfg, text).unwrap();
    let node = Node::start(&cfg);
    let tcp = node.tcp.clone().expect("tcp listener");

    let invalid = "onewall_ingest_parse_errors_total{format=\"rfc3164\",kind=\"invalid_encoding\"}";
    let truncated =
        "onewall_ingest_parse_errors_total{format=\"rfc3164\",kind=\"truncated_frame\"}";
    let too_long = "onewall_ingest_dropped_total{reason=\"frame_too_long\"}";
    // Every series is there from the start, at zero.
    assert_eq!(counter(&node, invalid), 0.0);
    assert_eq!(counter(&node, truncated), 0.0);
    assert_eq!(counter(&node, too_long), 0.0);

    // One connection: a GBK line (fine), bytes that are neither UTF-8 nor GB18030, a frame
    // above the maximum, then a good line that must still arrive.
    let mut s = TcpStream::connect(&tcp).unwrap();
    let mut gbk = b"<134>Mar 15 11:58:00 fw01 app: markergbk ".to_vec();
    gbk.extend_from_slice(b"\xc8\xd5\xd6\xbe\xc0\xe0\xd0\xcd\n"); // 日志类型 in GBK
    s.write_all(&gbk).unwrap();
    s.write_all(b"<134>Mar 15 11:58:01 fw01 app: markerbadtext \xff\xff end\n")
        .unwrap();
    let mut oversize = b"<134>Mar 15 11:58:02 fw01 app: markeroversize ".to_vec();
    oversize.resize(MAX_FRAME * 4, b'x');
    oversize.push(b'\n');
    s.write_all(&oversize).unwrap();
    s.write_all(b"<134>Mar 15 11:58:03 fw01 app: markerafter still here\n")
        .unwrap();
    drop(s);

    let e = one_event_with(&node, "markergbk");
    assert!(e["parse_error"].is_null(), "GBK is text: {e}");
    assert!(
        e["fields"]["message"]
            .as_str()
            .unwrap()
            .ends_with("日志类型"),
        "{e}"
    );

    let e = one_event_with(&node, "markerbadtext");
    assert_eq!(e["format"], "rfc3164");
    let error = e["parse_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("invalid text: message byte 15 (0xFF)"),
        "{e}"
    );
    assert_eq!(e["fields"]["process.name"], "app", "header still read: {e}");
    assert!(
        e["fields"]["message"]
            .as_str()
            .unwrap()
            .contains('\u{fffd}'),
        "{e}"
    );

    let e = one_event_with(&node, "markerafter");
    assert!(e["parse_error"].is_null(), "{e}");
    assert!(events_with(&node, "markeroversize").is_empty());

    // An octet count the stream never delivers: what arrived is kept, with the framer's error.
    let mut s = TcpStream::connect(&tcp).unwrap();
    s.write_all(b"300 <134>Mar 15 11:58:04 fw01 app: markercut only part")
        .unwrap();
    drop(s);
    let e = one_event_with(&node, "markercut");
    let error = e["parse_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("octet count 300 but the stream ended after"),
        "{e}"
    );
    assert_eq!(e["fields"]["process.name"], "app", "{e}");

    // Counted by format and kind; the process is still serving.
    let counted = eventually(WAIT, || {
        let ok = counter(&node, invalid) == 1.0
            && counter(&node, truncated) == 1.0
            && counter(&node, too_long) == 1.0;
        ok.then_some(())
    });
    assert!(counted.is_some(), "{}", node.metrics());
    node.stop();
}
