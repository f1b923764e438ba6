//! Dashboard statistics over a full store: the overview's queries and a 24-hour histogram,
//! on the embedded store and, when `ONEWALL_CLICKHOUSE_URL` is set, on ClickHouse.
//!
//! Histograms: 24 hours by 5 minutes (288 buckets, read from the minute rollup on the
//! embedded store) and by the hour (24, from the hourly one).
//!
//! `ONEWALL_BENCH_DIR` keeps the filled stores between runs; `ONEWALL_STATS_STORES=clickhouse`
//! skips the embedded store.
//!
//! The store is filled with `ONEWALL_STATS_EVENTS` synthetic events (10,000,000 under `cargo
//! bench`; 2,000 under `cargo test`, a smoke test)
//! spread over the 24 hours measured, from 200 sources in 18 cities and 5 departments, plus
//! one alert per 100 events (at most 100,000) and 2,000 incidents (200 open). Each scenario
//! runs 50 times after a warm-up; the bench prints the median and the 99th percentile in
//! milliseconds, and criterion's own figures follow.
//!
//! The overview's queries are those `GET /api/v1/stats/overview` makes of the store, run
//! together as it runs them: alerts by severity, events per source, the top attackers,
//! targets, rules and tactics, the sources of the last week (silent ones) and the open
//! incidents. Each one's time alone is printed once too.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::Criterion;
use onewall_model::event::names;
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Event, EventId, Format, Incident, IncidentId,
    IncidentStatus, RegionCode, RuleRef, Severity, Source, Timestamp,
};
use onewall_store::stats::{StatsKind, StatsQuery, TopField};
use onewall_store::{ClickHouseStore, IncidentQuery, SqliteStore, Store};

const CITIES: [u32; 18] = [
    410100, 410200, 410300, 410400, 410500, 410600, 410700, 410800, 410900, 411000, 411100, 411200,
    411300, 411400, 411500, 411600, 411700, 419001,
];
const DEPARTMENTS: [&str; 5] = ["网信办", "教育局", "卫健委", "公安局", "财政局"];
const BATCH: usize = 10_000;
const RUNS: usize = 50;

/// The end of the measured day: 2026-11-29T00:00:00Z.
fn end() -> Timestamp {
    Timestamp(20_786 * Timestamp::NANOS_PER_DAY)
}

fn event(n: usize, total: usize) -> Event {
    let span = Timestamp::NANOS_PER_DAY / total.max(1) as i64;
    let time = Timestamp(end().0 - Timestamp::NANOS_PER_DAY + n as i64 * span);
    let src = n % 200;
    let peer = SocketAddr::new(
        IpAddr::from([10, 1, (src / 250) as u8, (src % 250) as u8 + 1]),
        514,
    );
    let region = RegionCode::new(CITIES[src % CITIES.len()]).unwrap_or(RegionCode::HENAN);
    let raw = format!(
        "<38>Nov 28 10:00:01 web{} sshd[1]: Failed password for u{} from 203.0.{}.{}",
        n % 500,
        n % 1000,
        (n / 250) % 20,
        n % 250
    );
    let mut e = Event::new(
        time,
        region,
        Source::new("syslog_udp", Some(peer)),
        raw.as_bytes(),
    );
    e.id = EventId::new(time);
    e.format = Format::Rfc3164;
    let f = &mut e.fields;
    f.insert(names::HOST_NAME, format!("web{}", n % 500));
    f.insert(names::USER_NAME, format!("u{}", n % 1000));
    f.insert(
        names::SOURCE_IP,
        onewall_model::Value::Ip(IpAddr::from([
            203,
            0,
            ((n / 250) % 20) as u8,
            (n % 250) as u8,
        ])),
    );
    f.insert("organization.name", DEPARTMENTS[src % DEPARTMENTS.len()]);
    if n.is_multiple_of(1000) {
        e.parse_error = Some("bad header".into());
    }
    e
}

fn alert(n: usize, total: usize) -> Alert {
    let span = Timestamp::NANOS_PER_DAY / total.max(1) as i64;
    let time = Timestamp(end().0 - Timestamp::NANOS_PER_DAY + n as i64 * span);
    let severity = Severity::ALL[n % 5];
    let tactic = [
        "credential_access",
        "discovery",
        "lateral_movement",
        "execution",
    ][n % 4];
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::new(time),
        time,
        created: time,
        rule: RuleRef {
            id: format!("rule-{}", n % 50),
            title: format!("rule {}", n % 50),
            level: severity,
            status: None,
            tags: vec![format!("attack.{tactic}")],
        },
        severity,
        event_ids: vec![EventId::new(time)],
        entities: vec![
            Entity::new(
                EntityKind::SourceIp,
                format!("203.0.{}.{}", n % 20, n % 250),
            ),
            Entity::new(EntityKind::DestinationIp, format!("10.2.0.{}", n % 100)),
            Entity::new(EntityKind::Host, format!("web{}", n % 500)),
        ],
        region: RegionCode::new(CITIES[n % CITIES.len()]).unwrap_or(RegionCode::HENAN),
        matched: Vec::new(),
        drill: None,
    }
}

fn incident(n: usize) -> Incident {
    let time =
        Timestamp(end().0 - Timestamp::NANOS_PER_DAY + n as i64 * 40 * Timestamp::NANOS_PER_SEC);
    let region = RegionCode::new(CITIES[n % CITIES.len()]).unwrap_or(RegionCode::HENAN);
    Incident {
        targets: Vec::new(),
        id: IncidentId::new(time),
        title: format!("incident {n}"),
        status: if n.is_multiple_of(10) {
            IncidentStatus::New
        } else {
            IncidentStatus::Closed
        },
        severity: Severity::ALL[n % 5],
        group_key: format!("g{n}"),
        region,
        regions: vec![region],
        assignee: None,
        team: None,
        entities: vec![Entity::new(EntityKind::Host, format!("web{}", n % 500))],
        alert_ids: vec![AlertId::new(time)],
        rule_ids: vec![format!("rule-{}", n % 50)],
        first_seen: time,
        last_seen: time,
        created: time,
        updated: time,
        parent: None,
        children: Vec::new(),
        classification: Default::default(),
        timeline: Vec::new(),
        drill: None,
    }
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
    }
    let alerts = (events / 100).min(100_000);
    for chunk in (0..alerts).collect::<Vec<_>>().chunks(BATCH) {
        let batch = chunk.iter().map(|&k| alert(k, alerts)).collect();
        store.write_alerts(batch).await.expect("write alerts");
    }
    store
        .upsert_incidents((0..2000).map(incident).collect())
        .await
        .expect("write incidents");
    println!(
        "filled {events} events, {alerts} alerts, 2000 incidents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The store queries of the overview of the whole province over the measured day.
/// The overview's queries run together, as the API runs them.
async fn overview(store: &dyn Store) {
    let day = StatsQuery::new(
        StatsKind::Alerts,
        Timestamp(end().0 - Timestamp::NANOS_PER_DAY),
        end(),
    );
    let events = StatsQuery {
        kind: StatsKind::Events,
        ..day.clone()
    };
    let week = StatsQuery {
        from: end().add_secs(-7 * 86_400),
        ..events.clone()
    };
    let top = |f| store.stats_top(day.clone(), f, 10);
    let (a, b, c, d, e, f, g, h, i) = tokio::join!(
        top(TopField::Severity),
        top(TopField::SourceIp),
        top(TopField::DestinationIp),
        top(TopField::HostName),
        top(TopField::Rule),
        top(TopField::Tactic),
        store.stats_sources(events),
        store.stats_sources(week),
        store.search_incidents(IncidentQuery {
            open_only: true,
            limit: 1000,
            ..IncidentQuery::default()
        }),
    );
    for t in [a, b, c, d, e, f] {
        t.expect("top");
    }
    g.expect("sources");
    h.expect("silent sources");
    i.expect("open incidents");
}

/// The overview's queries; with `trace`, each one's time is printed.
async fn overview_parts(store: &dyn Store, trace: bool) {
    let day = StatsQuery::new(
        StatsKind::Alerts,
        Timestamp(end().0 - Timestamp::NANOS_PER_DAY),
        end(),
    );
    let mut t = Instant::now();
    let mut lap = |what: &str| {
        if trace {
            println!("  {what}: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0);
        }
        t = Instant::now();
    };
    for field in [
        TopField::Severity,
        TopField::SourceIp,
        TopField::DestinationIp,
        TopField::HostName,
        TopField::Rule,
        TopField::Tactic,
    ] {
        store.stats_top(day.clone(), field, 10).await.expect("top");
        lap(&format!("alerts top {}", field.as_str()));
    }
    let events = StatsQuery {
        kind: StatsKind::Events,
        ..day.clone()
    };
    store.stats_sources(events.clone()).await.expect("sources");
    lap("events per source, 24 h");
    let week = StatsQuery {
        from: end().add_secs(-7 * 86_400),
        ..events
    };
    store.stats_sources(week).await.expect("silent sources");
    lap("events per source, 7 days");
    store
        .search_incidents(IncidentQuery {
            open_only: true,
            limit: 1000,
            ..IncidentQuery::default()
        })
        .await
        .expect("open incidents");
    lap("open incidents");
}

async fn histogram(store: &dyn Store, interval_secs: i64) {
    let q = StatsQuery::new(
        StatsKind::Events,
        Timestamp(end().0 - Timestamp::NANOS_PER_DAY),
        end(),
    );
    let h = store
        .stats_histogram(q, interval_secs)
        .await
        .expect("histogram");
    assert_eq!(h.buckets.len() as i64, 86_400 / interval_secs);
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p99 = times[(times.len() * 99).div_ceil(100).saturating_sub(1)];
    println!(
        "{name}: median {:.2} ms, p99 {:.2} ms ({} runs)",
        ms(times[times.len() / 2]),
        ms(p99),
        times.len()
    );
}

fn measure(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &str, store: &dyn Store) {
    for (name, which) in [
        ("overview", 0),
        ("histogram_24h_5m", 300),
        ("histogram_24h_1h", 3600),
    ] {
        let run = || async {
            match which {
                0 => overview(store).await,
                secs => histogram(store, secs).await,
            }
        };
        rt.block_on(run());
        if which == 0 {
            println!("{backend} overview, each query once:");
            rt.block_on(overview_parts(store, true));
        }
        let times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                rt.block_on(run());
                t.elapsed()
            })
            .collect();
        report(&format!("{backend} {name}"), times);
        c.bench_function(&format!("{backend}_{name}"), |b| {
            b.iter(|| rt.block_on(run()))
        });
    }
}

fn main() {
    // `cargo bench` runs the full size; under `cargo test` it runs once, small, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let events: usize = std::env::var("ONEWALL_STATS_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_000_000 } else { 2_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    // With `ONEWALL_BENCH_DIR`, the stores are kept there (and the ClickHouse database kept)
    // between runs, named by their size; a store already holding the events is not refilled.
    let keep = std::env::var_os("ONEWALL_BENCH_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("temporary directory");
    let path = match &keep {
        Some(d) => d.join(format!("sqlite-{events}")),
        None => temp.path().to_path_buf(),
    };
    // `ONEWALL_STATS_STORES=clickhouse` measures ClickHouse alone.
    if std::env::var("ONEWALL_STATS_STORES").as_deref() != Ok("clickhouse") {
        let sqlite = SqliteStore::open(&path).expect("open the store");
        fill_unless_full(&rt, &sqlite, events);
        measure(&mut c, &rt, "sqlite", &sqlite);
    }

    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) => {
            let database = match &keep {
                Some(_) => format!("onewall_stats_bench_{events}"),
                None => format!("onewall_stats_bench_{}", std::process::id()),
            };
            let ch = rt
                .block_on(ClickHouseStore::connect(&url, &database, "default", ""))
                .expect("connect to ClickHouse");
            fill_unless_full(&rt, &ch, events);
            measure(&mut c, &rt, "clickhouse", &ch);
            if keep.is_none() {
                println!("{}", drop_database(&url, &database));
            }
        }
        Err(_) => println!("clickhouse: skipped, ONEWALL_CLICKHOUSE_URL is not set"),
    }
    c.final_summary();
}

/// Fill `store` unless it already holds `events` events (a store kept from an earlier run).
fn fill_unless_full(rt: &tokio::runtime::Runtime, store: &dyn Store, events: usize) {
    let held = rt.block_on(store.stats()).expect("store stats").events;
    if held == events as u64 {
        println!("reusing the {held} events already stored");
    } else {
        assert_eq!(held, 0, "the kept store holds {held} events, not {events}");
        rt.block_on(fill(store, events));
    }
}

/// Drop the bench's database through the HTTP interface (a plain POST over a TCP socket).
fn drop_database(url: &str, database: &str) -> String {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let body = format!("DROP DATABASE IF EXISTS {database}");
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return format!("could not drop {database}");
    };
    let req = format!(
        "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(req.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    format!("dropped the bench database {database}")
}
