//! The audit log's copy in ClickHouse, against a real server: the copy is the node's chain
//! entry for entry, a second sync copies nothing twice, and an entry edited, slipped in or
//! removed in ClickHouse is named by the check.
//!
//! The server's HTTP URL comes from `ONEWALL_CLICKHOUSE_URL` (`eval "$(scripts/clickhouse)"`
//! starts one). Without it these tests say so and pass, except under `CI=true`, where they
//! fail. Each test gets a database of its own, dropped when the test ends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clickhouse::Client;
use onewall_model::Timestamp;
use onewall_store::audit::{AuditLog, AuditRecord, Verdict};
use onewall_store::clickhouse::ClickHouseOptions;
use onewall_store::clickhouse::audit::AuditMirror;

/// The server's URL, or `None` (with a message) when none is configured outside CI.
fn server_url() -> Option<String> {
    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but ONEWALL_CLICKHOUSE_URL is not set: the ClickHouse tests must run in CI \
             (start a server with `eval \"$(scripts/clickhouse)\"`)"
        ),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "ClickHouse audit test not run: ONEWALL_CLICKHOUSE_URL is not set \
                 (start a server with `eval \"$(scripts/clickhouse)\"`)"
            );
            None
        }
    }
}

/// A scratch database, dropped when the test ends (pass or fail).
struct Scratch {
    url: String,
    database: String,
}

impl Scratch {
    fn new(url: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Scratch {
            url: url.to_owned(),
            database: format!("onewall_audit_{nanos:x}_{}", std::process::id()),
        }
    }

    fn client(&self) -> Client {
        // 18.16 lacks RowBinaryWithNamesAndTypes, which validation asks for.
        Client::default()
            .with_url(&self.url)
            .with_database(&self.database)
            .with_validation(false)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, database) = (self.url.clone(), self.database.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(
                Client::default()
                    .with_url(&url)
                    .query(&format!("DROP DATABASE IF EXISTS {database}"))
                    .execute(),
            )
        })
        .join();
    }
}

fn record(i: u64) -> AuditRecord {
    AuditRecord {
        at: Timestamp::from_secs(1_795_000_000 + i as i64 * 86_400 * 7),
        actor: format!("用户{i}"),
        role: "analyst".into(),
        scope: "410100".into(),
        action: "POST /api/v1/incidents/{id}/status".into(),
        target: format!("/api/v1/incidents/01J{i}/status"),
        result: 200,
        client: String::new(),
        detail: String::new(),
    }
}

/// A node's log of `n` entries, its copy's database, and the mirror (table created).
async fn setup(url: &str, n: u64) -> (tempfile::TempDir, Arc<AuditLog>, Scratch, AuditMirror) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(dir.path()).unwrap());
    for i in 1..=n {
        log.append(record(i)).unwrap();
    }
    let scratch = Scratch::new(url);
    let opts = ClickHouseOptions {
        url: url.to_owned(),
        database: scratch.database.clone(),
        user: "default".into(),
        ..ClickHouseOptions::default()
    };
    let mirror = AuditMirror::connect(&opts, "zhengzhou").await.unwrap();
    mirror.create_table().await.unwrap();
    mirror
        .create_table()
        .await
        .expect("creating twice is harmless");
    (dir, log, scratch, mirror)
}

/// The node log's newest entry, as the check takes it.
fn head_of(log: &AuditLog) -> Option<(u64, String, String)> {
    let all = log.entries(0, usize::MAX >> 1).unwrap();
    all.last()
        .map(|e| (e.seq, e.hash.clone(), "the node's audit log".to_owned()))
}

/// Run a mutation and wait until `check` counts 0 rows (18.16 has no synchronous mutations).
async fn mutate(client: &Client, sql: &str, check: &str) {
    client.query(sql).execute().await.unwrap();
    for _ in 0..200 {
        let left: u64 = client.query(check).fetch_one().await.unwrap();
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mutation {sql} not applied");
}

#[tokio::test]
async fn the_copy_is_the_same_chain_and_a_second_sync_copies_nothing() {
    let Some(url) = server_url() else { return };
    let (_dir, log, scratch, mirror) = setup(&url, 12).await;
    assert_eq!(mirror.mirrored_seq().await.unwrap(), 0);
    assert_eq!(mirror.sync(&log).await.unwrap(), 12);
    assert_eq!(mirror.sync(&log).await.unwrap(), 0, "nothing twice");
    for i in 13..=15 {
        log.append(record(i)).unwrap();
    }
    assert_eq!(mirror.sync(&log).await.unwrap(), 3, "only the new ones");
    assert_eq!(mirror.mirrored_seq().await.unwrap(), 15);
    let copy = mirror.entries(0, 100).await.unwrap();
    assert_eq!(
        copy,
        log.entries(0, 100).unwrap(),
        "entry for entry, hashes included"
    );
    assert_eq!(
        mirror.verify(head_of(&log)).await.unwrap(),
        Verdict::Intact { entries: 15 }
    );
    let rows: u64 = scratch
        .client()
        .query("SELECT count() FROM audit")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(rows, 15);
    // Entries span months: each lands in its month's partition.
    let months: u64 = scratch
        .client()
        .query("SELECT uniqExact(month) FROM audit")
        .fetch_one()
        .await
        .unwrap();
    assert!(months >= 3, "{months} months");
}

#[tokio::test]
async fn an_entry_edited_in_clickhouse_is_named() {
    let Some(url) = server_url() else { return };
    let (_dir, log, scratch, mirror) = setup(&url, 10).await;
    mirror.sync(&log).await.unwrap();
    mutate(
        &scratch.client(),
        "ALTER TABLE audit UPDATE actor = 'mallory' WHERE seq = 4",
        "SELECT count() FROM audit WHERE seq = 4 AND actor != 'mallory'",
    )
    .await;
    let Verdict::Broken { seq, reason } = mirror.verify(head_of(&log)).await.unwrap() else {
        panic!("an edit went unnoticed");
    };
    assert_eq!(seq, 4);
    assert!(reason.contains("edited"), "{reason}");
}

#[tokio::test]
async fn an_entry_slipped_in_or_removed_in_clickhouse_is_named() {
    let Some(url) = server_url() else { return };
    let (_dir, log, scratch, mirror) = setup(&url, 10).await;
    mirror.sync(&log).await.unwrap();
    let client = scratch.client();
    // A forged row numbered 6: whichever of the two is read first, entry 6 is named.
    client
        .query(
            "INSERT INTO audit (node, month, seq, at, actor, role, scope, action, target, \
             result, prev, hash) SELECT node, month, seq, at, 'mallory', role, scope, action, \
             target, result, prev, hash FROM audit WHERE seq = 6",
        )
        .execute()
        .await
        .unwrap();
    let Verdict::Broken { seq, reason } = mirror.verify(head_of(&log)).await.unwrap() else {
        panic!("an inserted row went unnoticed");
    };
    assert_eq!(seq, 6, "{reason}");
    mutate(
        &client,
        "ALTER TABLE audit DELETE WHERE actor = 'mallory'",
        "SELECT count() FROM audit WHERE actor = 'mallory'",
    )
    .await;
    assert_eq!(
        mirror.verify(head_of(&log)).await.unwrap(),
        Verdict::Intact { entries: 10 },
        "the forged row gone, the copy holds again"
    );
    // Entry 3 removed: named as missing.
    mutate(
        &client,
        "ALTER TABLE audit DELETE WHERE seq = 3",
        "SELECT count() FROM audit WHERE seq = 3",
    )
    .await;
    let Verdict::Broken { seq, reason } = mirror.verify(head_of(&log)).await.unwrap() else {
        panic!("a removed entry went unnoticed");
    };
    assert_eq!(seq, 4, "{reason}");
    assert!(reason.contains("3..3 are missing"), "{reason}");
}

#[tokio::test]
async fn the_last_entries_removed_in_clickhouse_are_caught_by_the_node_log() {
    let Some(url) = server_url() else { return };
    let (_dir, log, scratch, mirror) = setup(&url, 10).await;
    mirror.sync(&log).await.unwrap();
    mutate(
        &scratch.client(),
        "ALTER TABLE audit DELETE WHERE seq > 8",
        "SELECT count() FROM audit WHERE seq > 8",
    )
    .await;
    // The copy alone is a shorter chain that holds; the node's log says it is cut short.
    assert_eq!(
        mirror.verify(None).await.unwrap(),
        Verdict::Intact { entries: 8 }
    );
    let Verdict::Broken { seq, reason } = mirror.verify(head_of(&log)).await.unwrap() else {
        panic!("a cut-off copy went unnoticed");
    };
    assert_eq!(seq, 9);
    assert!(
        reason.contains("the node's audit log records 10"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_naming_it() {
    let Some(_) = server_url() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = ClickHouseOptions {
        url: format!("http://127.0.0.1:{port}"),
        database: "onewall_audit_gone".into(),
        user: "default".into(),
        ..ClickHouseOptions::default()
    };
    let mirror = AuditMirror::connect(&opts, "n").await.unwrap();
    let e = mirror.mirrored_seq().await.unwrap_err().to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.contains("onewall_audit_gone"), "{e}");
}
