//! Insert rate into ClickHouse through `ClickHouseStore::write_events`, against the server's
//! own insert rate for the same rows from `clickhouse-client` (`INSERT ... FORMAT TSV`) and
//! as TSV over HTTP (no client process to start), measured in the same run.
//!
//! Needs a server: `ONEWALL_CLICKHOUSE_URL` (HTTP) and, for the peer, the native port in
//! `ONEWALL_CLICKHOUSE_TCP_PORT` (default 9000); `eval "$(scripts/clickhouse)"` sets both.
//! Without `ONEWALL_CLICKHOUSE_URL` the bench says so and does nothing.
//!
//! Each store write is a fresh batch (new ids, later times), so the store's id check and
//! conversion are part of the figure. The peer inserts the very rows the store wrote (read
//! back as TSV) into a table of the same columns; its figure includes starting the client.
//! After both, the medians per batch and their ratio are printed.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onewall_model::event::names;
use onewall_model::{Event, EventId, Format, RegionCode, Source, Timestamp, Value};
use onewall_store::{ClickHouseStore, Store};

const BATCH: usize = 10_000;

/// One RFC 3164 sshd line and the fields a parser takes from it.
fn syslog_event(n: usize, base: Timestamp) -> Event {
    let host = format!("web{:02}", n % 40);
    let src: IpAddr = format!("10.{}.{}.{}", n % 7, (n / 7) % 250, n % 250 + 1)
        .parse()
        .unwrap_or(IpAddr::from([10, 0, 0, 1]));
    let pid = 1000 + (n % 5000) as i64;
    let user = ["root", "admin", "oracle", "alice", "bob"][n % 5];
    let action = if n.is_multiple_of(3) {
        "accepted"
    } else {
        "failed"
    };
    let raw = format!(
        "<38>Nov 28 04:06:26 {host} sshd[{pid}]: {} password for {user} from {src} port {} ssh2",
        if action == "failed" {
            "Failed"
        } else {
            "Accepted"
        },
        40_000 + n % 20_000
    );
    let received = Timestamp(base.0 + n as i64 * 1_000);
    let mut e = Event::new(
        received,
        RegionCode::HENAN,
        Source::new("syslog_udp", "192.0.2.10:514".parse().ok()),
        raw.as_bytes(),
    );
    e.format = Format::Rfc3164;
    let f = &mut e.fields;
    f.insert(names::SYSLOG_PRIORITY, 38i64);
    f.insert(names::SYSLOG_FACILITY, 4i64);
    f.insert(names::SYSLOG_SEVERITY, 6i64);
    f.insert(names::HOST_NAME, host.as_str());
    f.insert(names::PROCESS_NAME, "sshd");
    f.insert(names::PROCESS_PID, pid);
    f.insert(names::MESSAGE, &raw[raw.find("]: ").map_or(0, |i| i + 3)..]);
    f.insert(names::EVENT_ACTION, action);
    f.insert(names::USER_NAME, user);
    f.insert(names::SOURCE_IP, Value::Ip(src));
    f.insert(names::SOURCE_PORT, (40_000 + n % 20_000) as i64);
    e
}

/// Batch `k`: the same shapes with new ids, `k` batch-spans later than batch 0.
fn batch(template: &[Event], k: i64) -> Vec<Event> {
    let span = (BATCH as i64) * 1_000;
    template
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.time = Timestamp(e.time.0 + k * span);
            e.received = e.time;
            e.id = EventId::new(e.time);
            e
        })
        .collect()
}

fn median(samples: &Mutex<Vec<Duration>>) -> Option<Duration> {
    let mut s = samples.lock().ok()?.clone();
    s.sort_unstable();
    s.get(s.len() / 2).copied()
}

fn rate(d: Duration) -> f64 {
    BATCH as f64 / d.as_secs_f64()
}

fn bench_clickhouse(c: &mut Criterion) {
    let Ok(url) = std::env::var("ONEWALL_CLICKHOUSE_URL") else {
        println!("clickhouse_write: skipped, ONEWALL_CLICKHOUSE_URL is not set");
        return;
    };
    let tcp_port = std::env::var("ONEWALL_CLICKHOUSE_TCP_PORT").unwrap_or_else(|_| "9000".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = format!(
        "onewall_bench_{}",
        Timestamp::now().0.unsigned_abs() % 1_000_000_000
    );
    let store = rt
        .block_on(ClickHouseStore::connect(&url, &database, "default", ""))
        .unwrap_or_else(|e| panic!("{e}"));
    let client = clickhouse::Client::default()
        .with_url(&url)
        .with_database(&database);
    rt.block_on(async {
        client
            .query(
                "CREATE TABLE events_peer AS events \
                 ENGINE = MergeTree() PARTITION BY day ORDER BY (region, time, id)",
            )
            .execute()
            .await
    })
    .expect("peer table");

    let base = Timestamp::now();
    let template: Vec<Event> = (0..BATCH).map(|n| syslog_event(n, base)).collect();
    // The rows of batch 0 as the server holds them, for the peer.
    let first = batch(&template, 0);
    rt.block_on(store.write_events(first)).expect("first write");
    let tsv = rt
        .block_on(async {
            let mut cursor = client
                .query("SELECT * FROM events FORMAT TabSeparated")
                .fetch_bytes("TabSeparated")?;
            let mut out = Vec::new();
            while let Some(chunk) = cursor.next().await? {
                out.extend_from_slice(&chunk);
            }
            Ok::<_, clickhouse::error::Error>(out)
        })
        .expect("rows as TSV");

    let store_samples = Mutex::new(Vec::new());
    let peer_samples = Mutex::new(Vec::new());
    let http_samples = Mutex::new(Vec::new());
    let mut next_batch = 1i64;
    let mut group = c.benchmark_group("clickhouse_write");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("store_write_events_10000_syslog_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events = batch(&template, next_batch);
                next_batch += 1;
                let t = Instant::now();
                rt.block_on(store.write_events(events)).expect("write");
                let d = t.elapsed();
                total += d;
                if let Ok(mut s) = store_samples.lock() {
                    s.push(d);
                }
            }
            total
        })
    });
    group.bench_function("peer_clickhouse_client_tsv_10000_rows", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                peer_insert(&tcp_port, &database, &tsv);
                let d = t.elapsed();
                total += d;
                if let Ok(mut s) = peer_samples.lock() {
                    s.push(d);
                }
            }
            total
        })
    });
    let tsv_bytes = bytes::Bytes::from(tsv.clone());
    group.bench_function("peer_http_tsv_10000_rows", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                rt.block_on(async {
                    let mut insert =
                        client.insert_formatted_with("INSERT INTO events_peer FORMAT TabSeparated");
                    insert.send(tsv_bytes.clone()).await?;
                    insert.end().await
                })
                .expect("insert over HTTP");
                let d = t.elapsed();
                total += d;
                if let Ok(mut s) = http_samples.lock() {
                    s.push(d);
                }
            }
            total
        })
    });
    group.finish();

    let store = median(&store_samples);
    for (peer, samples) in [
        ("clickhouse-client", &peer_samples),
        ("HTTP TSV", &http_samples),
    ] {
        if let (Some(s), Some(p)) = (store, median(samples)) {
            println!(
                "clickhouse_write: median per {BATCH}-event batch: store {:.1} ms ({:.0} events/s), \
                 {peer} {:.1} ms ({:.0} rows/s); store / {peer} = {:.0}%",
                s.as_secs_f64() * 1e3,
                rate(s),
                p.as_secs_f64() * 1e3,
                rate(p),
                100.0 * rate(s) / rate(p)
            );
        }
    }
    let dropped = rt.block_on(async {
        clickhouse::Client::default()
            .with_url(&url)
            .query("DROP DATABASE IF EXISTS ?")
            .bind(clickhouse::sql::Identifier(&database))
            .execute()
            .await
    });
    if let Err(e) = dropped {
        println!("clickhouse_write: dropping {database}: {e}");
    }
}

/// `clickhouse-client --query "INSERT INTO events_peer FORMAT TSV"` with the rows on stdin.
fn peer_insert(tcp_port: &str, database: &str, tsv: &[u8]) {
    let mut child = Command::new("clickhouse-client")
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            tcp_port,
            "--database",
            database,
        ])
        .args(["--query", "INSERT INTO events_peer FORMAT TSV"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("clickhouse-client (install Debian's clickhouse-client)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(tsv).expect("rows to clickhouse-client");
    }
    let status = child.wait().expect("clickhouse-client");
    assert!(status.success(), "clickhouse-client: {status}");
}

criterion_group!(benches, bench_clickhouse);
criterion_main!(benches);
