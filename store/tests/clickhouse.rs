//! The ClickHouse store against a real server: the conformance suite, and what is particular
//! to ClickHouse (versions, merges, errors).
//!
//! The server's HTTP URL comes from `ONEWALL_CLICKHOUSE_URL` (`eval "$(scripts/clickhouse)"`
//! starts one). Without it these tests say so and pass, except under `CI=true`, where they
//! fail: CI must never skip them silently. Each test gets a database of its own,
//! `onewall_test_<random>`, dropped when the test ends.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use clickhouse::Client;
use clickhouse::sql::Identifier;
use onewall_model::{IncidentStatus, RegionCode, Severity};
use onewall_store::conformance::{day0, event, incident};
use onewall_store::{ClickHouseStore, IncidentQuery, Store, StoreError};

/// The server's URL, or `None` (with a message) when none is configured outside CI.
fn server_url() -> Option<String> {
    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but ONEWALL_CLICKHOUSE_URL is not set: the ClickHouse tests must run in CI \
             (start a server with `eval \"$(scripts/clickhouse)\"`)"
        ),
        _ => {
            // Straight to stderr, past the test harness's capture, once per run.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "ClickHouse tests not run: ONEWALL_CLICKHOUSE_URL is not set \
                     (start a server with `eval \"$(scripts/clickhouse)\"`)"
                );
            });
            None
        }
    }
}

/// A database name no other test (or run) uses.
fn scratch_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "onewall_test_{:x}_{:x}_{}",
        nanos,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops its database when the test ends, pass or fail.
struct Scratch {
    url: String,
    database: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, database) = (self.url.clone(), self.database.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread
        // with a runtime of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(
                Client::default()
                    .with_url(&url)
                    .query("DROP DATABASE IF EXISTS ?")
                    .bind(Identifier(&database))
                    .execute(),
            )
            .map_err(|e| e.to_string())
        })
        .join();
        if let Ok(Err(e)) | Err(e) = done.map_err(|_| "panicked".to_owned()) {
            eprintln!("dropping scratch database {}: {e}", self.database);
        }
    }
}

async fn fresh() -> Option<(Scratch, ClickHouseStore)> {
    let url = server_url()?;
    let database = scratch_name();
    let scratch = Scratch {
        url: url.clone(),
        database: database.clone(),
    };
    let store = ClickHouseStore::connect(&url, &database, "default", "")
        .await
        .unwrap_or_else(|e| panic!("ClickHouse at {url} (ONEWALL_CLICKHOUSE_URL): {e}"));
    Some((scratch, store))
}

onewall_store::conformance_tests!(optional fresh);

#[tokio::test]
async fn connect_is_idempotent_and_detects_the_version() {
    let Some((scratch, store)) = fresh().await else {
        return;
    };
    assert_eq!(store.database(), scratch.database);
    let e = event(day0(), "kept across connections");
    store.write_events(vec![e.clone()]).await.expect("write");
    let again = ClickHouseStore::connect(&scratch.url, &scratch.database, "default", "")
        .await
        .expect("connect to an existing database");
    assert_eq!(store.features(), again.features());
    assert_eq!(again.get_event(e.id).await.expect("get"), Some(e));
}

#[tokio::test]
async fn errors_name_the_server() {
    let Some(url) = server_url() else {
        return;
    };
    let bad = ClickHouseStore::connect(&url, "no-dashes", "default", "").await;
    assert!(
        matches!(&bad, Err(StoreError::InvalidQuery(m)) if m.contains("no-dashes")),
        "{bad:?}"
    );
    // Nothing listens on port 1.
    let down = ClickHouseStore::connect("http://127.0.0.1:1", "onewall", "default", "").await;
    match down {
        Err(StoreError::Backend { detail, .. }) => {
            assert!(
                detail.contains("clickhouse at http://127.0.0.1:1"),
                "{detail}"
            )
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// Incidents written many times are read as their newest version, before and after the
/// server merges the versions away, and counted once.
#[tokio::test]
async fn incident_versions_survive_merges() {
    let Some((scratch, store)) = fresh().await else {
        return;
    };
    let mut i = incident(day0(), Severity::Medium, RegionCode::HENAN);
    for k in 0..5 {
        i.title = format!("version {k}");
        i.updated = day0().add_secs(k);
        store
            .upsert_incidents(vec![i.clone()])
            .await
            .expect("upsert");
    }
    let updated = store
        .update_incident(
            i.id,
            Box::new(|inc| {
                inc.set_status(IncidentStatus::Acknowledged, "analyst", day0().add_secs(60))?;
                Ok(())
            }),
        )
        .await
        .expect("update");
    let check = || async {
        assert_eq!(
            store.get_incident(i.id).await.expect("get"),
            Some(updated.clone())
        );
        let all = store
            .search_incidents(IncidentQuery::default())
            .await
            .expect("search");
        assert_eq!(all.items, vec![updated.clone()]);
        let stale = store
            .search_incidents(IncidentQuery {
                status: Some(IncidentStatus::New),
                ..IncidentQuery::default()
            })
            .await
            .expect("search");
        assert!(stale.items.is_empty(), "an old version never matches");
        assert_eq!(store.stats().await.expect("stats").incidents, 1);
    };
    check().await;
    Client::default()
        .with_url(&scratch.url)
        .with_database(&scratch.database)
        .query("OPTIMIZE TABLE incidents FINAL")
        .execute()
        .await
        .expect("merge");
    check().await;
}

/// An incident body written before `incident_alerts` (its ids inline) reads whole; its next
/// update moves the ids into rows, and merges of both tables change nothing.
#[tokio::test]
async fn an_older_incident_body_with_its_ids_reads_and_moves_to_rows() {
    let Some((scratch, store)) = fresh().await else {
        return;
    };
    let client = Client::default()
        .with_url(&scratch.url)
        .with_database(&scratch.database)
        .with_validation(false);
    let mut old = incident(day0(), Severity::Medium, RegionCode::HENAN);
    old.alert_ids = (1..=5u128).map(onewall_model::AlertId::from_u128).collect();
    client
        .query(
            "INSERT INTO incidents (id, version, status, severity, region, group_key, \
             first_seen, last_seen, updated, body) \
             VALUES (unhex(?), 1, 'new', 2, 410000, 'g', 0, 0, ?, ?)",
        )
        .bind(format!("{:032X}", u128::from_be_bytes(old.id.to_bytes())))
        .bind(old.updated.0)
        .bind(serde_json::to_string(&old).expect("json"))
        .execute()
        .await
        .expect("insert an older incident row");
    assert_eq!(
        store.get_incident(old.id).await.expect("get"),
        Some(old.clone())
    );
    let extra = onewall_model::AlertId::from_u128(99);
    let updated = store
        .update_incident(
            old.id,
            Box::new(move |inc| {
                inc.alert_ids.push(extra);
                Ok(())
            }),
        )
        .await
        .expect("update");
    let mut want = old.alert_ids.clone();
    want.push(extra);
    assert_eq!(updated.alert_ids, want);
    let rows: u64 = client
        .query("SELECT count() FROM incident_alerts")
        .fetch_one()
        .await
        .expect("count");
    assert_eq!(rows, 6);
    for table in ["incidents", "incident_alerts"] {
        client
            .query(&format!("OPTIMIZE TABLE {table} FINAL"))
            .execute()
            .await
            .expect("merge");
    }
    assert_eq!(
        store.get_incident(old.id).await.expect("get"),
        Some(updated)
    );
}

/// A replayed batch (a retry, a spool replay) is stored once, even when a few late events
/// spread it over days and the id look-up splits it into several time ranges.
#[tokio::test]
async fn replayed_batches_are_stored_once() {
    let Some((_scratch, store)) = fresh().await else {
        return;
    };
    let mut events: Vec<_> = (0..3000)
        .map(|k| event(day0().add_secs(3600 + k / 10), &format!("burst {k}")))
        .collect();
    for k in 0..40 {
        events.push(event(
            day0().add_secs(-86_400 + 997 * k),
            &format!("late {k}"),
        ));
    }
    store
        .write_events(events[..1500].to_vec())
        .await
        .expect("first half");
    store
        .write_events(events.clone())
        .await
        .expect("whole batch");
    store.write_events(events.clone()).await.expect("replay");
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.events, events.len() as u64, "each event once");
    assert_eq!(stats.event_days, vec![20261127, 20261128]);
    let (all, _) = onewall_store::conformance::all_events(
        &store,
        onewall_store::EventQuery {
            limit: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), events.len(), "searches show each event once");
}

/// Quotes, backslashes and question marks in searched text and filter values are data, never
/// SQL or placeholders.
#[tokio::test]
async fn text_and_filters_are_bound_not_spliced() {
    let Some((_scratch, store)) = fresh().await else {
        return;
    };
    let nasty = r"it's a \ test? ') OR 1=1 --";
    let mut e = event(day0(), nasty);
    e.fields.insert("odd?name'", nasty);
    e.fields
        .insert(onewall_model::event::names::USER_NAME, nasty);
    let plain = event(day0().add_secs(1), "plain");
    store
        .write_events(vec![e.clone(), plain])
        .await
        .expect("write");
    let q = |text: Option<&str>, filters: &[(&str, &str)]| onewall_store::EventQuery {
        text: text.map(str::to_owned),
        filters: filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    };
    for query in [
        q(Some(nasty), &[]),
        q(Some("test?"), &[("odd?name'", nasty)]),
        q(None, &[(onewall_model::event::names::USER_NAME, nasty)]),
    ] {
        let page = store.search_events(query.clone()).await.expect("search");
        assert_eq!(page.items, vec![e.clone()], "{query:?}");
    }
    let none = store
        .search_events(q(Some("') OR 1=1 --x"), &[]))
        .await
        .expect("search");
    assert!(none.items.is_empty());
}

/// A database written before the statistics' rollup and alert terms gets them on open, filled
/// from its events and alerts, and the views keep them up to date from then on.
#[tokio::test]
async fn the_events_rollup_is_filled_on_open_and_kept_by_its_view() {
    use onewall_store::stats::{StatsKind, StatsQuery};
    let Some((scratch, store)) = fresh().await else {
        return;
    };
    let events: Vec<_> = (0..30)
        .map(|k| event(day0().add_secs(60 * k), &format!("rollup {k}")))
        .collect();
    store.write_events(events).await.expect("write");
    let a = onewall_store::conformance::alert(day0(), "r1", Severity::High, RegionCode::HENAN);
    store.write_alerts(vec![a]).await.expect("write an alert");
    let client = Client::default()
        .with_url(&scratch.url)
        .with_database(&scratch.database);
    for ddl in [
        "DROP TABLE event_minutes_mv",
        "DROP TABLE event_minutes",
        "DROP TABLE alert_terms_mv",
        "DROP TABLE alert_terms",
        "DROP TABLE event_hours_mv",
        "DROP TABLE event_hours",
        "DROP TABLE rule_titles_mv",
        "DROP TABLE rule_titles",
    ] {
        client.query(ddl).execute().await.expect(ddl);
    }
    let store = ClickHouseStore::connect(&scratch.url, &scratch.database, "default", "")
        .await
        .expect("reopen");
    let more: Vec<_> = (30..40)
        .map(|k| event(day0().add_secs(60 * k), &format!("rollup {k}")))
        .collect();
    store.write_events(more).await.expect("write more");
    let day = StatsQuery::new(StatsKind::Events, day0(), day0().add_secs(86_400));
    let h = store
        .stats_histogram(day.clone(), 3600)
        .await
        .expect("histogram");
    assert_eq!(h.buckets[0], 40, "{h:?}");
    let sources = store.stats_sources(day.clone()).await.expect("sources");
    assert_eq!(sources[0].count, 40, "{sources:?}");
    // A range of a whole hour and the minutes after it: the hourly rollup and the minute one.
    let hour_and_more = StatsQuery::new(StatsKind::Events, day0(), day0().add_secs(3600 + 120));
    let sources = store.stats_sources(hour_and_more).await.expect("sources");
    assert_eq!(sources[0].count, 40, "{sources:?}");
    let alerts = StatsQuery {
        kind: StatsKind::Alerts,
        ..day
    };
    let top = store
        .stats_top(alerts.clone(), onewall_store::stats::TopField::SourceIp, 5)
        .await
        .expect("top");
    assert_eq!(top.items.len(), 1, "{top:?}");
    let rules = store
        .stats_top(alerts, onewall_store::stats::TopField::Rule, 5)
        .await
        .expect("top rules");
    assert_eq!(rules.items.len(), 1, "{rules:?}");
    assert!(
        rules.items[0].title.is_some(),
        "the rule's title: {rules:?}"
    );
}
