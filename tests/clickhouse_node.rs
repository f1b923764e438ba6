//! The real node on ClickHouse: syslog over TCP and NDJSON over HTTP go through the pipeline
//! into a ClickHouse database, are read back through the API and straight from the server,
//! and are still there after a restart. Needs `ONEWALL_CLICKHOUSE_URL` (`scripts/clickhouse`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;
mod storage;

use std::io::Write;
use std::time::Duration;

use common::{Node, eventually};
use storage::{Scratch, clickhouse_store, clickhouse_url, scratch_name, sql};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn node_stores_into_clickhouse_and_reads_back() {
    let Some(url) = clickhouse_url() else { return };
    let scratch = Scratch {
        url: url.clone(),
        database: scratch_name("onewall_node"),
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        storage::node_config(
            &dir.path().join("data"),
            &clickhouse_store(&url, &scratch.database, ""),
            "",
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);

    // 200 lines over TCP, five of them sshd failures from one address (a built-in rule).
    let mut s = std::net::TcpStream::connect(node.tcp.as_deref().unwrap()).unwrap();
    for i in 0..200 {
        let line = if i % 40 == 0 {
            format!(
                "<38>Nov 28 10:00:01 web01 sshd[99]: Failed password for root from 198.51.100.9 port {} ssh2\n",
                40000 + i
            )
        } else {
            format!("<30>1 2026-11-28T10:00:01Z web01 app - - - ch-node line {i}\n")
        };
        s.write_all(line.as_bytes()).unwrap();
    }
    drop(s);
    let ndjson: String = (0..50)
        .map(|i| format!("{{\"host\":{{\"name\":\"app{i}\"}},\"message\":\"ch-http {i}\"}}\n"))
        .collect();
    let (status, body) = node.post("/api/v1/ingest", ndjson.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 50);

    let count = |table: &str| -> u64 {
        sql(
            &url,
            &format!("SELECT count() FROM {}.{table} FINAL", scratch.database),
        )
        .trim()
        .parse()
        .unwrap()
    };
    eventually(WAIT, || (count("events") == 250).then_some(())).unwrap_or_else(|| {
        panic!(
            "events in clickhouse: {}; stderr:\n{}",
            count("events"),
            node.stderr()
        )
    });

    // Read back through the API: a field filter and the text filter.
    let v = node.get("/api/v1/events?q=ch-http&limit=100");
    assert_eq!(v["items"].as_array().unwrap().len(), 50, "{v}");
    let v = node.get("/api/v1/events?filter=host.name:app7&limit=100");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["fields"]["message"], "ch-http 7");
    // The sshd failures fired an alert, stored in ClickHouse too.
    eventually(WAIT, || (count("alerts") > 0).then_some(()))
        .unwrap_or_else(|| panic!("no alert in clickhouse; stderr:\n{}", node.stderr()));
    let alerts = node.get("/api/v1/alerts?limit=100");
    assert!(!alerts["items"].as_array().unwrap().is_empty(), "{alerts}");
    node.stop();

    // After a restart everything is still there, and nothing is written twice.
    let node = Node::start(&cfg);
    let v = node.get("/api/v1/events?q=ch-node&limit=1000");
    assert_eq!(v["items"].as_array().unwrap().len(), 195, "{v}");
    assert_eq!(count("events"), 250);
    node.stop();
}

#[test]
fn unreachable_clickhouse_fails_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &cfg,
        storage::node_config(
            &dir.path().join("data"),
            &clickhouse_store(&format!("http://127.0.0.1:{port}"), "onewall", ""),
            "",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store.clickhouse"), "{err}");
}

#[test]
fn short_retention_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        storage::node_config(&dir.path().join("data"), "retention_days = 90", ""),
    )
    .unwrap();
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.retention_days: 90 is too short"),
        "{err}"
    );
    assert!(err.contains("six months"), "{err}");
}
