//! A retro-hunt's store side: 1,000 new indicators (400 addresses, 100 ranges, 150 domains,
//! 150 domain trees, 200 hashes) searched over 30 days of stored events, on the embedded store
//! and, when `ONEWALL_CLICKHOUSE_URL` is set, on ClickHouse.
//!
//! The query is the one the node's retro-hunt sends for them over the default checked fields
//! (`src/intel/retro.rs`, `value_query`): addresses and ranges on the five address fields,
//! domains and trees on the three domain fields, every value's host on `url.original`, hashes
//! on the eight hash fields. A hunt reads every page (1,000 events each) from the newest day to
//! the oldest; the matcher then confirms each event found, which costs little beside it.
//!
//! `ONEWALL_RETRO_EVENTS` sets how many events are stored (10,000,000 under `cargo bench`;
//! 20,000 under `cargo test`, a smoke test); one in 10,000 holds an indicator's value.
//! `ONEWALL_BENCH_DIR` keeps the filled stores between runs; `ONEWALL_RETRO_STORES=clickhouse`
//! or `sqlite` measures one store. Each store's hunt runs `ONEWALL_RETRO_RUNS` times (3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use onewall_model::event::names;
use onewall_model::{Event, EventId, Format, RegionCode, Source, Timestamp, Value};
use onewall_store::{ClickHouseStore, SqliteStore, Store, ValueQuery};

const DAYS: i64 = 30;
const BATCH: usize = 10_000;
/// One event in this many holds an indicator's value.
const PLANTED_EVERY: usize = 10_000;

/// The end of the history: 2026-11-29T00:00:00Z.
fn end() -> Timestamp {
    Timestamp(20_786 * Timestamp::NANOS_PER_DAY)
}

fn indicator_ip(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(185, (k / 250) as u8, (k % 250) as u8, 7)
}
fn indicator_net(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(45, 9, k as u8, 0)
}
fn indicator_domain(k: usize) -> String {
    format!("c2-{k}.bad-domain.example")
}
fn indicator_tree(k: usize) -> String {
    format!("phish{k}.example")
}
fn indicator_hash(k: usize) -> String {
    format!(
        "{:064x}",
        (k as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

/// Event `n` of `total`, spread evenly over the 30 days; every [`PLANTED_EVERY`]th holds one
/// indicator's value on one of the checked fields.
fn event(n: usize, total: usize) -> Event {
    let span = DAYS * Timestamp::NANOS_PER_DAY / total.max(1) as i64;
    let time = Timestamp(end().0 - DAYS * Timestamp::NANOS_PER_DAY + n as i64 * span);
    let peer = SocketAddr::new(IpAddr::from([10, 1, 0, (n % 200) as u8 + 1]), 514);
    let raw = format!(
        "<38>Nov 28 10:00:01 web{} proxy: {} -> {} GET",
        n % 500,
        n % 1000,
        n % 250
    );
    let mut e = Event::new(
        time,
        RegionCode::HENAN,
        Source::new("syslog_udp", Some(peer)),
        raw.as_bytes(),
    );
    e.id = EventId::new(time);
    e.format = Format::Rfc3164;
    let f = &mut e.fields;
    f.insert(names::HOST_NAME, format!("web{}", n % 500));
    f.insert(names::USER_NAME, format!("u{}", n % 1000));
    let ip = |a: [u8; 4]| Value::Ip(IpAddr::from(a));
    f.insert(
        names::SOURCE_IP,
        ip([10, 2, ((n / 250) % 250) as u8, (n % 250) as u8]),
    );
    f.insert(
        names::DESTINATION_IP,
        ip([93, 184, ((n / 7) % 250) as u8, (n % 13) as u8]),
    );
    if n.is_multiple_of(4) {
        f.insert(
            "dns.question.name",
            format!("www{}.benign.example", n % 5000),
        );
    }
    if n % 10 == 1 {
        f.insert(
            "url.original",
            format!("https://cdn{}.benign.example/a/{}?q=1", n % 300, n % 9000),
        );
    }
    if n % 20 == 2 {
        f.insert("file.hash.sha256", format!("{:064x}", n as u128 * 7919));
    }
    if n.is_multiple_of(PLANTED_EVERY) {
        let k = n / PLANTED_EVERY;
        match k % 5 {
            0 => f.insert("server.ip", Value::Ip(indicator_ip(k % 400).into())),
            1 => f.insert(
                "client.ip",
                Value::Ip(IpAddr::from([45, 9, (k % 100) as u8, 33])),
            ),
            2 => f.insert("destination.domain", indicator_domain(k % 150)),
            3 => f.insert(
                "url.original",
                format!("http://x.{}/login", indicator_tree(k % 150)),
            ),
            _ => f.insert("file.hash.sha256", indicator_hash(k % 200).to_uppercase()),
        }
    }
    e
}

/// The retro-hunt's query for the 1,000 indicators over the default checked fields.
fn query() -> ValueQuery {
    let addresses: Vec<String> = (0..400).map(|k| indicator_ip(k).to_string()).collect();
    let ranges: Vec<(IpAddr, IpAddr)> = (0..100)
        .map(|k| {
            let lo = indicator_net(k);
            let hi = Ipv4Addr::from(u32::from(lo) | 0xff);
            (lo.into(), hi.into())
        })
        .collect();
    let domains: Vec<String> = (0..150).map(indicator_domain).collect();
    let trees: Vec<String> = (0..150).map(indicator_tree).collect();
    let hashes: Vec<String> = (0..200).map(indicator_hash).collect();
    let mut q = ValueQuery::default();
    for f in [
        "source.ip",
        "destination.ip",
        "client.ip",
        "server.ip",
        "host.ip",
    ] {
        q.exact.push((f.into(), addresses.clone()));
        q.ip_ranges
            .extend(ranges.iter().map(|&(lo, hi)| (f.to_owned(), lo, hi)));
    }
    for f in ["dns.question.name", "url.domain", "destination.domain"] {
        q.exact.push((f.into(), domains.clone()));
        q.suffixes.push((f.into(), trees.clone()));
    }
    let parts: Vec<String> = addresses
        .iter()
        .chain(&domains)
        .chain(&trees)
        .cloned()
        .collect();
    q.contains.push(("url.original".into(), parts));
    for prefix in ["file.hash", "process.hash"] {
        for h in ["md5", "sha1", "sha256", "sm3"] {
            q.exact.push((format!("{prefix}.{h}"), hashes.clone()));
        }
    }
    q.from = Some(Timestamp(end().0 - DAYS * Timestamp::NANOS_PER_DAY));
    q.to = Some(end());
    q.limit = onewall_store::MAX_LIMIT;
    q
}

async fn fill(store: &dyn Store, events: usize) {
    let started = Instant::now();
    let mut n = 0;
    while n < events {
        let batch: Vec<Event> = (n..(n + BATCH).min(events))
            .map(|k| event(k, events))
            .collect();
        n += batch.len();
        store.write_events(batch).await.expect("write events");
        if n % 1_000_000 == 0 {
            println!(
                "  {n} events stored, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "filled {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Fill `store` unless it already holds `events` events (a store kept from an earlier run).
async fn fill_unless_full(store: &dyn Store, events: usize) {
    let held = store.stats().await.expect("store stats").events;
    if held == events as u64 {
        println!("reusing the {held} events already stored");
    } else {
        assert_eq!(held, 0, "the kept store holds {held} events, not {events}");
        fill(store, events).await;
    }
}

/// One hunt: every page of the query; the events found and the pages read.
async fn hunt(store: &dyn Store) -> (usize, usize) {
    let mut q = query();
    let (mut found, mut pages) = (0, 0);
    loop {
        let page = store.find_events(q.clone()).await.expect("find_events");
        pages += 1;
        found += page.items.len();
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return (found, pages),
        }
    }
}

async fn measure(backend: &str, store: &dyn Store, events: usize, runs: usize) {
    let planted = events.div_ceil(PLANTED_EVERY);
    for run in 1..=runs {
        let t = Instant::now();
        let (found, pages) = hunt(store).await;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{backend} retro-hunt run {run}: 1000 indicators over {events} events ({DAYS} days): \
             {secs:.2} s, {found} events found in {pages} pages ({:.2} µs per stored event)",
            secs * 1e6 / events as f64
        );
        assert_eq!(
            found, planted,
            "{backend}: every planted event and no other"
        );
    }
}

fn main() {
    // `cargo bench` runs the full size; under `cargo test` it runs once, small, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let env_num = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let events = env_num(
        "ONEWALL_RETRO_EVENTS",
        if full { 10_000_000 } else { 20_000 },
    );
    let runs = env_num("ONEWALL_RETRO_RUNS", if full { 3 } else { 1 });
    let which = std::env::var("ONEWALL_RETRO_STORES").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let keep = std::env::var_os("ONEWALL_BENCH_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("temporary directory");
    if which != "clickhouse" {
        let path = match &keep {
            Some(d) => d.join(format!("retro-sqlite-{events}")),
            None => temp.path().to_path_buf(),
        };
        let sqlite = SqliteStore::open(&path).expect("open the store");
        rt.block_on(async {
            fill_unless_full(&sqlite, events).await;
            measure("sqlite", &sqlite, events, runs).await;
        });
    }
    if which == "sqlite" {
        return;
    }
    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) => {
            let database = match &keep {
                Some(_) => format!("onewall_retro_bench_{events}"),
                None => format!("onewall_retro_bench_{}", std::process::id()),
            };
            rt.block_on(async {
                let ch = ClickHouseStore::connect(&url, &database, "default", "")
                    .await
                    .expect("connect to ClickHouse");
                fill_unless_full(&ch, events).await;
                measure("clickhouse", &ch, events, runs).await;
            });
            if keep.is_none() {
                drop_database(&url, &database);
            }
        }
        Err(_) => println!("clickhouse: skipped, ONEWALL_CLICKHOUSE_URL is not set"),
    }
}

/// Drop the bench's database through the HTTP interface (a plain POST over a TCP socket).
fn drop_database(url: &str, database: &str) {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let body = format!("DROP DATABASE IF EXISTS {database}");
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        println!("could not drop {database}");
        return;
    };
    let req = format!(
        "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    if s.write_all(req.as_bytes()).is_err() || s.read_to_string(&mut answer).is_err() {
        println!("could not drop {database}");
    }
}
