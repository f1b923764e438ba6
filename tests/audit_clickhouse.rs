//! The audit log's copy in ClickHouse, end to end: a node on the ClickHouse backend copies
//! every audited call there (with its hash chain); `onewall audit verify --clickhouse` passes
//! on the copy as written and names the first bad entry after one is edited in ClickHouse.
//!
//! Needs `ONEWALL_CLICKHOUSE_URL` (`eval "$(scripts/clickhouse)"`); under `CI=true` a missing
//! server fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;
mod storage;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Node, eventually};
use storage::{Scratch, clickhouse_store, scratch_name, sql, try_sql};

fn verify(cfg: &Path, clickhouse: bool) -> (bool, String) {
    let mut cmd = Command::new(common::binary());
    cmd.args(["audit", "verify", "--config"]).arg(cfg);
    if clickhouse {
        cmd.arg("--clickhouse");
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_audit_copy_in_clickhouse_verifies_and_an_edit_there_is_named() {
    let Some(url) = storage::clickhouse_url() else {
        return;
    };
    let scratch = Scratch {
        url: url.clone(),
        database: scratch_name("onewall_audit_e2e"),
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
    for path in ["/api/v1/events", "/api/v1/alerts", "/api/v1/incidents"] {
        node.get_status(path);
    }
    let (status, _) = node.call_as(None, "GET", "/api/v1/events", None);
    assert_eq!(status, 401);
    let local = node.get("/api/v1/audit?limit=1000")["items"]
        .as_array()
        .unwrap()
        .len();
    // The copy catches up within a few rounds.
    let table = format!("{}.audit", scratch.database);
    let copied = eventually(Duration::from_secs(30), || {
        let n: usize = try_sql(&url, &format!("SELECT count() FROM {table}"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        (n >= local).then_some(n)
    });
    assert!(
        copied.is_some(),
        "the audit copy did not reach {local} entries; stderr:\n{}",
        node.stderr()
    );
    node.stop();
    // Stopped: every call the node answered is in the copy, anonymous ones included.
    let rows = sql(
        &url,
        &format!("SELECT seq, actor, result, prev, hash FROM {table} ORDER BY seq FORMAT TSV"),
    );
    let lines: Vec<&str> = rows.lines().collect();
    assert!(lines.len() > local, "{rows}");
    assert!(
        lines.iter().any(|l| l.contains("\tanonymous\t401\t")),
        "{rows}"
    );
    assert!(lines[0].starts_with("1\t"), "{rows}");

    let (ok, text) = verify(&cfg, true);
    assert!(ok, "{text}");
    assert!(text.contains("audit log intact"), "{text}");
    assert!(text.contains("audit copy in clickhouse intact"), "{text}");

    // Someone with write access to ClickHouse edits entry 2 there.
    sql(
        &url,
        &format!("ALTER TABLE {table} UPDATE actor = 'mallory' WHERE seq = 2"),
    );
    let edited = eventually(Duration::from_secs(30), || {
        let n = sql(
            &url,
            &format!("SELECT count() FROM {table} WHERE actor = 'mallory'"),
        );
        (n.trim() == "1").then_some(())
    });
    assert!(edited.is_some(), "the mutation was not applied");
    let (ok, text) = verify(&cfg, true);
    assert!(!ok, "{text}");
    assert!(
        text.contains("audit log intact"),
        "the node's own log is untouched: {text}"
    );
    assert!(
        text.contains("audit copy in clickhouse broken at entry 2") && text.contains("edited"),
        "{text}"
    );
    // Without --clickhouse only the node's log is checked.
    let (ok, text) = verify(&cfg, false);
    assert!(ok && !text.contains("clickhouse"), "{text}");
}

#[test]
fn verify_clickhouse_without_the_clickhouse_backend_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(&cfg, storage::node_config(&data, "", "")).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    onewall_store_audit_seed(&data);
    let (ok, text) = verify(&cfg, true);
    assert!(!ok);
    assert!(
        text.contains("--clickhouse") && text.contains("store.backend"),
        "{text}"
    );
}

/// An audit log with one entry, written by a node that starts and stops.
fn onewall_store_audit_seed(data: &Path) {
    let cfg = data.parent().unwrap().join("seed.toml");
    std::fs::write(&cfg, storage::node_config(data, "", "")).unwrap();
    let node = Node::start(&cfg);
    node.get_status("/api/v1/events");
    node.stop();
}
