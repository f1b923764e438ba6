//! Search latency over many stored events: `host.name = X` within a six-hour window, newest
//! 100, through the `Store` trait, on the embedded store and (when `ONEWALL_CLICKHOUSE_URL` is
//! set) on ClickHouse. Prints the median and p90 of the runs.
//!
//! The rows are generated inside each database (a recursive CTE in SQLite, `numbers()` in
//! ClickHouse) over ten days, `ONEWALL_SEARCH_EVENTS` of them (default 10 M under
//! `cargo bench`, 20 k under `cargo test`); each day's table is made by writing one real
//! event through the store first, so the layout is the store's own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::time::{Duration, Instant};

use onewall_model::{Event, RegionCode, Source, Timestamp};
use onewall_store::{ClickHouseStore, EventQuery, SqliteStore, Store};

const DAYS: i64 = 10;
const HOSTS: u64 = 1000;
const RUNS: usize = 30;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 2026-11-01T00:00:00Z.
fn base() -> Timestamp {
    Timestamp(1_793_491_200 * Timestamp::NANOS_PER_SEC)
}

fn seed(day: i64) -> Event {
    let t = Timestamp(base().0 + day * Timestamp::NANOS_PER_DAY);
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("seed", None), b"seed");
    e.fields.insert("host.name", "seed");
    e
}

fn query() -> EventQuery {
    let from = Timestamp(base().0 + 3 * Timestamp::NANOS_PER_DAY);
    EventQuery {
        filters: vec![("host.name".into(), "web0042".into())],
        from: Some(from),
        to: Some(Timestamp(from.0 + 6 * 3600 * Timestamp::NANOS_PER_SEC)),
        limit: 100,
        ..EventQuery::default()
    }
}

/// Median and p90 of `RUNS` searches, and the rows the last one returned.
async fn measure(store: &dyn Store) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let page = store.search_events(query()).await.unwrap();
        times.push(t.elapsed());
        rows = page.items.len();
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 9 / 10], rows)
}

async fn sqlite(total: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .write_events((0..DAYS).map(seed).collect())
        .await
        .unwrap();
    let started = Instant::now();
    let conn = rusqlite::Connection::open(dir.path().join("onewall.sqlite3")).unwrap();
    conn.busy_timeout(Duration::from_secs(60)).unwrap();
    let per_day = total / DAYS as u64;
    let step = Timestamp::NANOS_PER_DAY / per_day as i64;
    for day in 0..DAYS {
        let start = base().0 + day * Timestamp::NANOS_PER_DAY;
        let t = Timestamp(start).yyyymmdd();
        let sql = format!(
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {per_day})
             INSERT INTO events_{t} (id, time, received, region, collector, peer, format, raw,
                 parse_error, fields, host_name, source_ip, destination_ip, user_name,
                 process_name, event_action)
             SELECT randomblob(16), {start} + n * {step}, {start} + n * {step}, 410000,
                 'syslog_udp', NULL, 'rfc3164',
                 CAST('<38>Nov 28 04:06:26 web' || printf('%04d', n % {HOSTS}) ||
                      ' sshd[1]: Failed password for root from 10.0.0.' || (n % 250) AS BLOB),
                 NULL,
                 '{{\"host.name\":\"web' || printf('%04d', n % {HOSTS}) || '\"}}',
                 'web' || printf('%04d', n % {HOSTS}), '10.0.0.' || (n % 250), NULL, 'root',
                 'sshd', 'failed'
             FROM c"
        );
        conn.execute_batch(&sql).unwrap();
        conn.execute(
            "UPDATE event_days SET rows = rows + ?1 WHERE day = ?2",
            rusqlite::params![per_day as i64, t],
        )
        .unwrap();
    }
    drop(conn);
    let loaded = started.elapsed();
    let (median, p90, rows) = measure(&store).await;
    println!(
        "search: embedded store, {} events over {DAYS} days (generated in {:.0?}): host.name + \
         6 h range, newest 100: median {median:.2?}, p90 {p90:.2?} ({rows} rows)",
        per_day * DAYS as u64,
        loaded
    );
}

async fn clickhouse(url: &str, total: u64) {
    let database = format!("onewall_search_bench_{}", std::process::id());
    let store = ClickHouseStore::connect(url, &database, "default", "")
        .await
        .unwrap();
    store
        .write_events((0..DAYS).map(seed).collect())
        .await
        .unwrap();
    let client = clickhouse::Client::default()
        .with_url(url)
        .with_database(&database)
        .with_validation(false);
    let started = Instant::now();
    let span = DAYS * Timestamp::NANOS_PER_DAY;
    let step = span / total as i64;
    let b = base().0;
    let sql = format!(
        "INSERT INTO events SELECT
            toUInt32(toYYYYMMDD(toDate(intDiv(t, 1000000000)))) AS day, 410000 AS region, t AS time,
            toFixedString(substring(concat(reinterpretAsString(cityHash64(number)),
                reinterpretAsString(cityHash64(number, 1)), '0123456789abcdef'), 1, 16), 16) AS id,
            t AS received, 'syslog_udp' AS collector, NULL AS peer, 'rfc3164' AS format,
            concat('<38>Nov 28 04:06:26 ', h, ' sshd[1]: Failed password for root from 10.0.0.',
                toString(number % 250)) AS raw,
            NULL AS parse_error, concat('{{\"host.name\":\"', h, '\"}}') AS fields,
            h AS host_name, concat('10.0.0.', toString(number % 250)) AS source_ip,
            NULL AS destination_ip, 'root' AS user_name, 'sshd' AS process_name,
            'failed' AS event_action, emptyArrayString() AS field_names, emptyArrayString() AS field_values
         FROM (SELECT number, {b} + toInt64(number) * {step} AS t,
                      concat('web', substring(toString(10000 + number % {HOSTS}), 2, 4)) AS h
               FROM system.numbers LIMIT {total})"
    );
    client.query(&sql).execute().await.unwrap();
    let loaded = started.elapsed();
    let (median, p90, rows) = measure(&store).await;
    println!(
        "search: clickhouse, {total} events over {DAYS} days (generated in {:.0?}): host.name + \
         6 h range, newest 100: median {median:.2?}, p90 {p90:.2?} ({rows} rows)",
        loaded
    );
    client
        .query(&format!("DROP DATABASE IF EXISTS {database}"))
        .execute()
        .await
        .unwrap();
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let total = env_u64(
        "ONEWALL_SEARCH_EVENTS",
        if full { 10_000_000 } else { 20_000 },
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let backends =
        std::env::var("ONEWALL_SEARCH_BACKENDS").unwrap_or_else(|_| "embedded,clickhouse".into());
    for b in backends.split(',').map(str::trim) {
        match b {
            "embedded" => rt.block_on(sqlite(total)),
            "clickhouse" => match std::env::var("ONEWALL_CLICKHOUSE_URL") {
                Ok(url) if !url.trim().is_empty() => rt.block_on(clickhouse(url.trim(), total)),
                _ => println!("search: clickhouse not run (ONEWALL_CLICKHOUSE_URL is not set)"),
            },
            other => panic!("ONEWALL_SEARCH_BACKENDS: unknown backend {other:?}"),
        }
    }
}
