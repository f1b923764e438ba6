//! The ClickHouse store on a current server (26.x): the paths only a modern server takes
//! (`LowCardinality` columns, the events TTL) run for real, with the whole conformance suite
//! on top.
//!
//! The server is chdb (PyPI `chdb-core`, ClickHouse 26.9 in-process) behind
//! `scripts/chdb_server.py`, a small ClickHouse HTTP interface, so the real `ClickHouseStore`
//! sends its real DDL, RowBinary inserts and queries. `scripts/test` installs chdb; without it
//! these tests say so and pass, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use clickhouse::Client;
use onewall_store::ClickHouseStore;
use onewall_store::audit::{AuditLog, AuditRecord, Verdict};
use onewall_store::clickhouse::ClickHouseOptions;
use onewall_store::clickhouse::audit::AuditMirror;

/// A chdb server process of this test's own; killed (by pid) when dropped.
struct ChdbServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for ChdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chdb_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import chdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Start `scripts/chdb_server.py`, or `None` (with a message) when chdb is not installed
/// outside CI.
fn chdb_server() -> Option<ChdbServer> {
    if !chdb_installed() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 cannot import chdb: scripts/test installs chdb-core"
        );
        eprintln!(
            "modern ClickHouse tests not run: python3 cannot import chdb (pip install chdb-core)"
        );
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/chdb_server.py");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scripts/chdb_server.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("port ")
        .unwrap_or_else(|| panic!("chdb_server.py said {line:?}"));
    Some(ChdbServer {
        url: format!("http://127.0.0.1:{port}"),
        child,
        _dir: dir,
    })
}

fn options(url: &str) -> ClickHouseOptions {
    ClickHouseOptions {
        url: url.to_owned(),
        database: "onewall_modern".into(),
        user: "default".into(),
        retention_days: 186,
        ..ClickHouseOptions::default()
    }
}

/// A fresh store on a chdb server of its own.
async fn fresh() -> Option<(ChdbServer, ClickHouseStore)> {
    let server = chdb_server()?;
    let store = ClickHouseStore::open(options(&server.url))
        .await
        .unwrap_or_else(|e| panic!("opening the store on chdb: {e}"));
    Some((server, store))
}

onewall_store::conformance_tests!(optional fresh);

#[tokio::test]
async fn a_current_server_gets_low_cardinality_columns_and_the_events_ttl() {
    let Some((server, store)) = fresh().await else {
        return;
    };
    let f = store.features();
    assert!(f.low_cardinality && f.ttl, "{f:?}");
    let client = Client::default()
        .with_url(&server.url)
        .with_validation(false);
    let show = |table: &'static str| {
        let client = client.clone();
        async move {
            client
                .query(&format!("SHOW CREATE TABLE onewall_modern.{table}"))
                .fetch_one::<String>()
                .await
                .unwrap()
        }
    };
    let events = show("events").await;
    assert!(
        events.contains("`collector` LowCardinality(String)"),
        "{events}"
    );
    assert!(
        events.contains("TTL toDate(intDiv(time, 1000000000)) + toIntervalDay(186)"),
        "{events}"
    );
    let alerts = show("alerts").await;
    assert!(
        alerts.contains("`rule_id` LowCardinality(String)"),
        "{alerts}"
    );
    let incidents = show("incidents").await;
    assert!(
        incidents.contains("`status` LowCardinality(String)"),
        "{incidents}"
    );
    // Opening again (a restart) leaves the tables and changes the TTL in place.
    let again = ClickHouseStore::open(ClickHouseOptions {
        retention_days: 200,
        ..options(&server.url)
    })
    .await
    .unwrap();
    drop(again);
    let events = show("events").await;
    assert!(events.contains("toIntervalDay(200)"), "{events}");
}

#[tokio::test]
async fn the_audit_copy_works_on_a_current_server() {
    let Some(server) = chdb_server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(dir.path()).unwrap());
    for i in 0..20 {
        log.append(AuditRecord {
            at: onewall_model::Timestamp::from_secs(1_795_000_000 + i * 3_600),
            actor: format!("user{i}"),
            role: "admin".into(),
            scope: "410000".into(),
            action: "GET /api/v1/alerts".into(),
            target: "/api/v1/alerts?severity=high".into(),
            result: 200,
            client: String::new(),
            detail: String::new(),
        })
        .unwrap();
    }
    let mirror = AuditMirror::connect(&options(&server.url), "zhengzhou")
        .await
        .unwrap();
    mirror.create_table().await.unwrap();
    assert_eq!(mirror.sync(&log).await.unwrap(), 20);
    assert_eq!(mirror.sync(&log).await.unwrap(), 0);
    assert_eq!(
        mirror.entries(0, 100).await.unwrap(),
        log.entries(0, 100).unwrap()
    );
    assert_eq!(
        mirror.verify(None).await.unwrap(),
        Verdict::Intact { entries: 20 }
    );
}
