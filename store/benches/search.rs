//! Search latency over many stored events: `host.name = X` within a six-hour window, newest
//! 100, through the `Store` trait, on the embedded store and (when `ONEWALL_CLICKHOUSE_URL` is
//! set) on ClickHouse. Prints the median and p90 of the runs.
//!
//! `ONEWALL_SEARCH_EVENTS` events (default 10 M under `cargo bench`, 20 k under `cargo test`)
//! over ten days: written through the embedded store in batches, and generated inside
//! ClickHouse (`numbers()`) after one real event per day made its tables.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::time::{Duration, Instant};

use onewall_model::event::names;
use onewall_model::{Event, Format, RegionCode, Source, Timestamp, Value};
use onewall_store::{ClickHouseStore, EventQuery, SqliteStore, Store};

const DAYS: i64 = 10;
const HOSTS: u64 = 1000;
const RUNS: usize = 30;
/// Events per write on the embedded store: what a busy node's store stage writes at once.
const WRITE_BATCH: i64 = 8_000;

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

/// `host.name = web0042` within the six hours, or (`by_host` false) the six hours alone.
fn query(by_host: bool) -> EventQuery {
    let from = Timestamp(base().0 + 3 * Timestamp::NANOS_PER_DAY);
    EventQuery {
        filters: if by_host {
            vec![("host.name".into(), "web0042".into())]
        } else {
            Vec::new()
        },
        from: Some(from),
        to: Some(Timestamp(from.0 + 6 * 3600 * Timestamp::NANOS_PER_SEC)),
        limit: 100,
        ..EventQuery::default()
    }
}

/// Median and p90 of `RUNS` searches, and the rows the last one returned.
async fn measure(store: &dyn Store, by_host: bool) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let page = store.search_events(query(by_host)).await.unwrap();
        times.push(t.elapsed());
        rows = page.items.len();
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 9 / 10], rows)
}

/// Event `n` of a day starting at `start`, `step` nanoseconds apart.
fn generated(start: i64, step: i64, n: i64) -> Event {
    let t = Timestamp(start + n * step);
    let host = format!("web{:04}", n as u64 % HOSTS);
    let src = format!("10.0.0.{}", n % 250);
    let raw = format!("<38>Nov 28 04:06:26 {host} sshd[1]: Failed password for root from {src}");
    let mut e = Event::new(
        t,
        RegionCode::HENAN,
        Source::new("syslog_udp", None),
        raw.as_bytes(),
    );
    e.format = Format::Rfc3164;
    e.fields.insert(names::HOST_NAME, host);
    e.fields
        .insert(names::SOURCE_IP, Value::Ip(src.parse().unwrap()));
    e.fields.insert(names::USER_NAME, "root");
    e.fields.insert(names::PROCESS_NAME, "sshd");
    e.fields.insert(names::EVENT_ACTION, "failed");
    e
}

async fn sqlite(total: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    // Written through the store in batches of a busy node's size, so the tables, indexes and
    // posting lists are the store's own.
    let started = Instant::now();
    let per_day = (total / DAYS as u64) as i64;
    let step = Timestamp::NANOS_PER_DAY / per_day;
    for day in 0..DAYS {
        let start = base().0 + day * Timestamp::NANOS_PER_DAY;
        let mut n = 0;
        while n < per_day {
            let end = (n + WRITE_BATCH).min(per_day);
            let batch = (n..end).map(|k| generated(start, step, k)).collect();
            store.write_events(batch).await.unwrap();
            n = end;
        }
    }
    let loaded = started.elapsed();
    let (median, p90, rows) = measure(&store, true).await;
    // Host 42's events in the first six hours of the day searched.
    let window = (6 * 3600 * Timestamp::NANOS_PER_SEC + step - 1) / step;
    let matching = (0..window.min(per_day))
        .filter(|n| *n as u64 % HOSTS == 42)
        .count();
    assert_eq!(rows, matching.min(100), "the search found what was written");
    println!(
        "search: embedded store, {} events over {DAYS} days (written in {:.0?}): host.name + \
         6 h range, newest 100: median {median:.2?}, p90 {p90:.2?} ({rows} rows)",
        per_day * DAYS,
        loaded
    );
    let (median, p90, rows) = measure(&store, false).await;
    assert_eq!(rows as i64, window.min(per_day).min(100));
    println!(
        "search: embedded store, the same events: 6 h range alone, newest 100: median \
         {median:.2?}, p90 {p90:.2?} ({rows} rows)"
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
    let (median, p90, rows) = measure(&store, true).await;
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
