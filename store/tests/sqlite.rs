//! The embedded store: the conformance suite, restarts, concurrency, and its own layout.

use std::sync::Arc;

use onewall_model::event::names;
use onewall_model::{Event, RegionCode, Severity};
use onewall_store::conformance::{alert, all_events, day0, event, incident, newest_first};
use onewall_store::sqlite::DB_FILE;
use onewall_store::{EventQuery, IncidentQuery, SqliteStore, Store, StoreError};
use tempfile::TempDir;

async fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path()).expect("open the store");
    (dir, store)
}

onewall_store::conformance_tests!(fresh);

fn tables(dir: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open the file");
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'events_%' ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let nested = dir.path().join("data").join("store");
    let events: Vec<Event> = (0..30)
        .map(|k| event(day0().add_secs(3600 * k), &format!("event {k}")))
        .collect();
    let a = alert(day0(), "ssh-brute", Severity::High, RegionCode::HENAN);
    let i = incident(day0(), Severity::High, RegionCode::HENAN);
    {
        let store = SqliteStore::open(&nested).expect("open creates the directories");
        store
            .write_events(events.clone())
            .await
            .expect("write events");
        store
            .write_alerts(vec![a.clone()])
            .await
            .expect("write alerts");
        store
            .upsert_incidents(vec![i.clone()])
            .await
            .expect("upsert");
        store
            .put_state("correlator.window", b"{\"open\":3}".to_vec())
            .await
            .expect("put");
        store.put_state("gone", b"x".to_vec()).await.expect("put");
        assert!(store.delete_state("gone").await.expect("delete"));
        assert!(!store.delete_state("never").await.expect("delete"));
    }
    let store = SqliteStore::open(&nested).expect("reopen");
    for e in &events {
        assert_eq!(store.get_event(e.id).await.expect("get").as_ref(), Some(e));
    }
    let (all, _) = all_events(&store, EventQuery::default()).await;
    let want: Vec<_> = newest_first(events.clone()).iter().map(|e| e.id).collect();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), want);
    assert_eq!(store.get_alert(a.id).await.expect("get"), Some(a));
    assert_eq!(store.get_incident(i.id).await.expect("get"), Some(i));
    assert_eq!(
        store.get_state("correlator.window").await.expect("get"),
        Some(b"{\"open\":3}".to_vec())
    );
    assert_eq!(store.get_state("gone").await.expect("get"), None);
    let stats = store.stats().await.expect("stats");
    assert_eq!((stats.events, stats.alerts, stats.incidents), (30, 1, 1));
    assert_eq!(stats.event_days, vec![20261128, 20261129]);

    // The reopened store knows its day tables: more writes to an old day and a new one.
    let more = vec![
        event(day0().add_secs(10), "late for day0"),
        event(day0().add_secs(3 * 86_400), "a new day"),
    ];
    store.write_events(more).await.expect("write after reopen");
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.events, 32);
    assert_eq!(stats.event_days, vec![20261128, 20261129, 20261201]);
}

#[tokio::test]
async fn events_live_in_one_table_per_day() {
    let (dir, store) = fresh().await;
    let events: Vec<Event> = (0..3)
        .map(|d| event(day0().add_secs(86_400 * d), "daily"))
        .collect();
    store.write_events(events).await.expect("write");
    assert_eq!(
        tables(dir.path()),
        vec![
            "events_20261128",
            "events_20261128_terms",
            "events_20261129",
            "events_20261129_terms",
            "events_20261130",
            "events_20261130_terms"
        ]
    );
    assert_eq!(
        store
            .drop_events_before(day0().add_secs(86_400 * 2))
            .await
            .expect("drop"),
        2
    );
    assert_eq!(
        tables(dir.path()),
        vec!["events_20261130", "events_20261130_terms"]
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let (dir, store) = fresh().await;
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    conn.pragma_update(None, "user_version", 99)
        .expect("set version");
    drop(conn);
    match SqliteStore::open(dir.path()) {
        Err(StoreError::Backend { detail, .. }) => {
            assert!(detail.contains("schema version 99"), "{detail}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A store written by schema version 1 indexed each common field per day. Its days keep
/// that layout (and are searched through those indexes) while new days get posting lists;
/// a search spanning both finds everything in order.
#[tokio::test]
async fn days_from_schema_1_keep_their_indexes_beside_new_days() {
    let (dir, store) = fresh().await;
    let host = |k: i64| if k % 2 == 0 { "web01" } else { "web02" };
    let mk = |t: onewall_model::Timestamp, k: i64| {
        let mut e = event(t, &format!("event {k}"));
        e.fields.insert(names::HOST_NAME, host(k));
        e
    };
    let old: Vec<Event> = (0..20).map(|k| mk(day0().add_secs(60 * k), k)).collect();
    store.write_events(old.clone()).await.expect("write");
    drop(store);
    // Turn the file into what version 1 wrote.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    let mut legacy = String::from(
        "DROP TABLE events_20261128_terms; CREATE INDEX events_20261128_time ON events_20261128 (time);",
    );
    for col in [
        "host_name",
        "source_ip",
        "destination_ip",
        "user_name",
        "process_name",
        "event_action",
    ] {
        legacy.push_str(&format!(
            "CREATE INDEX events_20261128_{col} ON events_20261128 ({col}, time) \
             WHERE {col} IS NOT NULL;"
        ));
    }
    legacy.push_str("ALTER TABLE event_days DROP COLUMN postings; PRAGMA user_version = 1;");
    conn.execute_batch(&legacy).expect("downgrade");
    drop(conn);

    let store = SqliteStore::open(dir.path()).expect("open a version 1 store");
    let late: Vec<Event> = (20..30).map(|k| mk(day0().add_secs(60 * k), k)).collect();
    let new: Vec<Event> = (30..50)
        .map(|k| mk(day0().add_secs(86_400 + 60 * k), k))
        .collect();
    store
        .write_events(late.iter().chain(&new).cloned().collect())
        .await
        .expect("write to the old day and a new one");
    let all: Vec<Event> = old.iter().chain(&late).chain(&new).cloned().collect();
    let q = EventQuery {
        filters: vec![(names::HOST_NAME.to_owned(), "web01".to_owned())],
        limit: 4,
        ..EventQuery::default()
    };
    let (got, _) = all_events(&store, q).await;
    let want: Vec<_> = newest_first(all)
        .into_iter()
        .filter(|e| e.get(names::HOST_NAME) == Some(&"web01".into()))
        .map(|e| e.id)
        .collect();
    assert_eq!(want.len(), 25);
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), want);
    let mut tables = tables(dir.path());
    tables.retain(|t| t.ends_with("_terms"));
    assert_eq!(
        tables,
        vec!["events_20261129_terms"],
        "only the new day has postings"
    );
}

/// A store written by schema version 2 had no statistics rollups: opening it fills them from
/// the stored events and alerts.
#[tokio::test]
async fn a_schema_2_store_gets_its_rollups_from_its_records() {
    use onewall_store::conformance::alert;
    use onewall_store::stats::{StatsKind, StatsQuery, TopField};
    let (dir, store) = fresh().await;
    let events: Vec<Event> = (0..30)
        .map(|k| {
            let mut e = event(day0().add_secs(60 * k), &format!("event {k}"));
            e.fields
                .insert(names::USER_NAME, if k < 20 { "alice" } else { "bob" });
            e
        })
        .collect();
    store.write_events(events).await.expect("write");
    let a = alert(
        day0(),
        "r1",
        onewall_model::Severity::High,
        onewall_model::RegionCode::HENAN,
    );
    store.write_alerts(vec![a]).await.expect("write alerts");
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    conn.execute_batch(
        "DROP TABLE event_minutes; DROP TABLE event_hours; DROP TABLE event_hour_terms; DROP TABLE alert_terms; \
         PRAGMA user_version = 2;",
    )
    .expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(dir.path()).expect("open a version 2 store");
    let day = StatsQuery::new(StatsKind::Events, day0(), day0().add_secs(86_400));
    let h = store
        .stats_histogram(day.clone(), 3600)
        .await
        .expect("histogram");
    assert_eq!(h.buckets[0], 30, "{h:?}");
    let top = store
        .stats_top(day.clone(), TopField::UserName, 5)
        .await
        .expect("top");
    assert_eq!(
        (top.items[0].value.as_str(), top.items[0].count),
        ("alice", 20)
    );
    let alerts = StatsQuery {
        kind: StatsKind::Alerts,
        ..day
    };
    let top = store
        .stats_top(alerts, TopField::SourceIp, 5)
        .await
        .expect("top alerts");
    assert_eq!(top.items.len(), 1, "{top:?}");
}

#[tokio::test]
async fn searches_read_runs_by_key_and_rows_by_rowid() {
    let (dir, store) = fresh().await;
    store
        .write_events(vec![event(day0(), "x")])
        .await
        .expect("write");
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    let plan = |sql: &str| -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.join("; ")
    };
    // A term's runs (a common field's, or field 6's: every event) come newest first from the
    // posting table's key, never sorted.
    for (field, term) in [(0, "web01"), (6, "")] {
        let runs = plan(&format!(
            "SELECT tmax, tmin, entries FROM events_20261128_terms WHERE field = {field} \
             AND term = '{term}' AND tmax >= 0 AND tmin <= 5 ORDER BY tmax DESC"
        ));
        assert!(
            runs.contains("USING PRIMARY KEY (field=? AND term=? AND tmax>?)"),
            "{runs}"
        );
        assert!(!runs.contains("TEMP B-TREE"), "a sort: {runs}");
    }
    // Each candidate is read by rowid, whatever else the search asks.
    let check = plan(
        "SELECT id FROM events_20261128 WHERE host_name = 'web01' AND time >= 0 AND time < 9 \
         AND time <= 5 AND (time < 5 OR id < x'00') AND rowid = 7",
    );
    assert!(check.contains("INTEGER PRIMARY KEY (rowid=?)"), "{check}");
    // Nothing is indexed per event but the id.
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events_20261128'",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(indexes, vec!["sqlite_autoindex_events_20261128_1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_and_searches_interleave() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    const WRITERS: usize = 4;
    const BATCHES: usize = 20;
    const PER_BATCH: usize = 50;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            for b in 0..BATCHES {
                let batch: Vec<Event> = (0..PER_BATCH)
                    .map(|k| {
                        let n = ((b * PER_BATCH + k) * WRITERS + w) as i64;
                        let mut e = event(day0().add_secs(n * 60), &format!("writer {w} n {n}"));
                        e.fields.insert(names::HOST_NAME, format!("host{w}"));
                        e
                    })
                    .collect();
                store.write_events(batch).await.expect("write");
                if b % 5 == 0 {
                    let i = incident(day0().add_secs(b as i64), Severity::Low, RegionCode::HENAN);
                    store.upsert_incidents(vec![i]).await.expect("upsert");
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..3 {
        let store = Arc::clone(&store);
        readers.push(tokio::spawn(async move {
            let mut searches = 0;
            for _ in 0..40 {
                let q = EventQuery {
                    filters: vec![(names::HOST_NAME.to_owned(), format!("host{r}"))],
                    limit: 50,
                    ..EventQuery::default()
                };
                let page = store.search_events(q).await.expect("search");
                assert!(
                    page.items
                        .windows(2)
                        .all(|w| (w[0].time, w[0].id) > (w[1].time, w[1].id)),
                    "newest first"
                );
                assert!(
                    page.items
                        .iter()
                        .all(|e| e.get(names::HOST_NAME)
                            == Some(&format!("host{r}").as_str().into()))
                );
                store
                    .search_incidents(IncidentQuery::default())
                    .await
                    .expect("incidents");
                store.stats().await.expect("stats");
                searches += 1;
                tokio::task::yield_now().await;
            }
            searches
        }));
    }
    for w in writers {
        w.await.expect("writer task");
    }
    for r in readers {
        assert_eq!(r.await.expect("reader task"), 40);
    }
    let total = WRITERS * BATCHES * PER_BATCH;
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.events, total as u64);
    let (all, _) = all_events(
        &*store,
        EventQuery {
            limit: 1000,
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(all.len(), total);
}

/// The checkpointer thread copies the WAL into the database while the store is open: the
/// writer's own automatic checkpoint would not start for hundreds of megabytes, so without the
/// thread the database file would stay at its first few pages.
#[tokio::test]
async fn the_wal_is_checkpointed_beside_the_writer() {
    let (dir, store) = fresh().await;
    let db = dir.path().join(DB_FILE);
    let size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for b in 0..5i64 {
        let batch: Vec<Event> = (0..1_000i64)
            .map(|k| {
                let mut e = event(
                    day0().add_secs(b * 1_000 + k),
                    &format!("batch {b} event {k} {}", "x".repeat(200)),
                );
                e.fields.insert(names::HOST_NAME, format!("host{}", k % 50));
                e
            })
            .collect();
        store.write_events(batch).await.expect("write");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 1_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes (from {before}): nothing was checkpointed",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The store still reads everything afterwards.
    let (all, _) = all_events(&store, EventQuery::default()).await;
    assert_eq!(all.len(), 5_000);
}

/// Alerts at these minutes after 10:00 of day 0, a source address each minute's own, in
/// Zhengzhou (even minutes) or Luoyang (odd ones).
fn alerts_at(minutes: &[i64]) -> Vec<onewall_model::Alert> {
    minutes
        .iter()
        .map(|m| {
            let reg = if m % 2 == 0 { 410100 } else { 410300 };
            let region = RegionCode::new(reg).expect("region");
            let mut a = alert(
                day0().add_secs(36_000 + 60 * m),
                "r1",
                Severity::High,
                region,
            );
            a.entities = vec![onewall_model::Entity::new(
                onewall_model::EntityKind::SourceIp,
                format!("10.0.0.{m}"),
            )];
            a
        })
        .collect()
}

/// The top source addresses of alerts over `[from, to)` minutes after 10:00 of day 0.
async fn alert_sources(store: &SqliteStore, from: i64, to: i64) -> Vec<(String, u64)> {
    use onewall_store::stats::{StatsKind, StatsQuery, TopField};
    let q = StatsQuery::new(
        StatsKind::Alerts,
        day0().add_secs(36_000 + 60 * from),
        day0().add_secs(36_000 + 60 * to),
    );
    let top = store
        .stats_top(q, TopField::SourceIp, 100)
        .await
        .expect("top");
    let mut v: Vec<(String, u64)> = top.items.into_iter().map(|i| (i.value, i.count)).collect();
    v.sort();
    v
}

/// A store written by schema version 3 had no hourly alert rollup nor minute totals: opening
/// it counts them from its alerts and minute rollup, and the answers are those of before.
#[tokio::test]
async fn a_schema_3_store_gets_its_hourly_alert_rollup_and_minute_totals() {
    use onewall_store::stats::{StatsKind, StatsQuery};
    let (dir, store) = fresh().await;
    let events: Vec<Event> = (0..30)
        .map(|k| event(day0().add_secs(3600 + 60 * k), &format!("event {k}")))
        .collect();
    store.write_events(events).await.expect("write");
    store
        .write_alerts(alerts_at(&[-5, 0, 1, 59, 60, 61, 130]))
        .await
        .expect("write alerts");
    let before = alert_sources(&store, -10, 180).await;
    assert_eq!(before.len(), 7, "{before:?}");
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    conn.execute_batch(
        "DROP TABLE alert_hour_terms; DROP TABLE event_minute_totals; PRAGMA user_version = 3;",
    )
    .expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(dir.path()).expect("open a version 3 store");
    assert_eq!(alert_sources(&store, -10, 180).await, before);
    assert_eq!(alert_sources(&store, 0, 120).await.len(), 5);
    let q = StatsQuery::new(StatsKind::Events, day0(), day0().add_secs(7200));
    let h = store.stats_histogram(q, 300).await.expect("histogram");
    assert_eq!(h.total(), 30, "{h:?}");
    assert_eq!(h.buckets[12..18], [5, 5, 5, 5, 5, 5], "{h:?}");
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, 4);
}

/// Retention cutting an hour in two counts the hour again: the alerts kept in it still count,
/// the dropped ones no more; ranges of whole and partial hours agree with the alerts.
#[tokio::test]
async fn alert_tops_over_partial_hours_follow_retention() {
    let (_dir, store) = fresh().await;
    store
        .write_alerts(alerts_at(&[-5, 0, 1, 30, 59, 60, 61, 130]))
        .await
        .expect("write alerts");
    let all = alert_sources(&store, -60, 180).await;
    assert_eq!(all.len(), 8, "{all:?}");
    // 10:01 to 11:01: the hour 10:00 is partial at its start, 11:00 at its end.
    let names: Vec<String> = alert_sources(&store, 1, 61)
        .await
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(names, ["10.0.0.1", "10.0.0.30", "10.0.0.59", "10.0.0.60"]);
    store
        .drop_alerts_before(day0().add_secs(36_000 + 60 * 30))
        .await
        .expect("retention");
    let names: Vec<String> = alert_sources(&store, -60, 180)
        .await
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        names,
        [
            "10.0.0.130",
            "10.0.0.30",
            "10.0.0.59",
            "10.0.0.60",
            "10.0.0.61"
        ]
    );
}

fn page_size(dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open the file");
    conn.pragma_query_value(None, "page_size", |r| r.get(0))
        .expect("page_size")
}

/// A new database gets 16 KiB pages (a wide Windows row fits in one with others); a database
/// made with SQLite's default 4 KiB pages keeps them, and its events are read and written on.
#[tokio::test]
async fn new_stores_get_large_pages_and_old_ones_keep_theirs() {
    let (dir, store) = fresh().await;
    let first: Vec<Event> = (0..10)
        .map(|k| event(day0().add_secs(60 * k), &format!("event {k}")))
        .collect();
    store.write_events(first.clone()).await.expect("write");
    drop(store);
    assert_eq!(page_size(dir.path()), 16_384);

    let old = tempfile::tempdir().expect("temporary directory");
    {
        let conn = rusqlite::Connection::open(old.path().join(DB_FILE)).expect("create");
        conn.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x);",
        )
        .expect("a 4 KiB database");
    }
    let store = SqliteStore::open(old.path()).expect("open a 4 KiB store");
    // Rows wider than a 4 KiB page go into overflow chains there.
    let wide: Vec<Event> = (0..10)
        .map(|k| event(day0().add_secs(60 * k), &"x".repeat(6_000 + k as usize)))
        .collect();
    store.write_events(wide.clone()).await.expect("write");
    drop(store);
    assert_eq!(page_size(old.path()), 4_096);
    let store = SqliteStore::open(old.path()).expect("reopen");
    let (got, _) = all_events(&store, EventQuery::default()).await;
    assert_eq!(got, newest_first(wide));
}
