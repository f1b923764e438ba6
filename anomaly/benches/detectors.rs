//! Events per second through a set of 10 detectors holding 100 k groups each, on one thread,
//! and the bytes of state per group of each kind.
//!
//! The stream is synthetic and seeded: logins (40 %), process starts (30 %) and flows (30 %)
//! from 100 k users, 100 k hosts and 100 k source addresses, a thousand events per second of
//! event time, so each detector holds about 100 k groups and the volume detectors close a
//! bucket (advancing every group) every ten minutes of the stream. The detectors learn for ten
//! minutes of event time, then judge: findings and alerts are part of the cost. A warm-up fills
//! every group first; each measured pass then replays 64 Ki events (batches of 1,024) moved on
//! in time. Each figure is the median of 15 samples; nothing is asserted.
//!
//! "Per core" is per second of the thread's own CPU time (`/proc/thread-self/schedstat`), so
//! other work on a shared machine does not dilute it; wall-clock figures are printed beside.
//!
//! `ANOMALY_BENCH_POPULATION=10000` runs the same with 10 k groups a detector (100 k in all):
//! the state then fits the caches far better, and the figure shows the cost of the code rather
//! than of memory latency.
//!
//! Bytes per group come from `Anomalies::status` (past 4,096 groups, the mean of a 4,096-group
//! sample of the map, in hash order, times the count).
//!
//! A detector whose kind does not load is reported and left out (the bench names the kinds it
//! ran). The bench allocates with mimalloc, the allocator the `onewall` binary runs with.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use onewall_anomaly::{Anomalies, AnomalyConfig, DetectorSet};
use onewall_model::{Alert, Event, RegionCode, Source, Timestamp};
use onewall_rules::{Placeholders, RuleSource};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Users, hosts and addresses (`ANOMALY_BENCH_POPULATION`, default 100 000; 1 000 under
/// `cargo test`, where the bench runs once, small, as a smoke test): about the groups each
/// detector holds.
fn population(full: bool) -> u64 {
    std::env::var("ANOMALY_BENCH_POPULATION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 1_000 })
}
const PASS: usize = 65_536;
const BATCH: usize = 1_024;
/// Events per second of event time.
const RATE: i64 = 1_000;
/// 2026-03-02T00:00:00Z.
const T0: i64 = 1_772_409_600;

fn detector(id: &str, action: &str, anomaly: &str) -> String {
    format!(
        "title: {id}\nid: {id}\ndetection:\n  selection: {{event.action: {action}}}\n  \
         condition: selection\nanomaly:\n  learning: 10m\n  max-groups: 150000\n{anomaly}"
    )
}

fn detectors() -> String {
    [
        detector(
            "new-network",
            "ssh_login",
            "  kind: first_seen\n  group-by: user.name\n  field: source.ip\n  transform: net24\n",
        ),
        detector(
            "new-host-for-user",
            "ssh_login",
            "  kind: first_seen\n  group-by: user.name\n  field: host.name\n",
        ),
        detector(
            "new-process",
            "process_start",
            "  kind: first_seen\n  group-by: host.name\n  field: process.name\n",
        ),
        detector(
            "new-port",
            "flow",
            "  kind: first_seen\n  group-by: source.ip\n  field: destination.port\n",
        ),
        detector(
            "rare-process",
            "process_start",
            "  kind: rare\n  group-by: host.name\n  field: process.name\n  min-total: 20\n",
        ),
        detector(
            "rare-port",
            "flow",
            "  kind: rare\n  group-by: source.ip\n  field: destination.port\n  min-total: 20\n",
        ),
        detector(
            "flow-volume",
            "flow",
            "  kind: volume\n  group-by: source.ip\n  bucket: 10m\n",
        ),
        detector(
            "login-volume",
            "ssh_login",
            "  kind: volume\n  group-by: user.name\n  bucket: 1h\n",
        ),
        detector(
            "bytes-out",
            "flow",
            "  kind: outlier\n  group-by: source.ip\n  field: network.bytes\n",
        ),
        detector(
            "login-hours",
            "ssh_login",
            "  kind: time_of_day\n  group-by: user.name\n",
        ),
    ]
    .join("---\n")
}

/// A small, seeded generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PROCESSES: &[&str] = &[
    "sshd", "bash", "cron", "systemd", "nginx", "postgres", "python3", "java", "rsyslogd", "sudo",
    "curl", "tar", "gzip", "vim", "top", "nc",
];
const PORTS: &[i64] = &[443, 80, 53, 22, 3306, 5432, 8080, 123, 25, 6379, 9200, 4444];

/// One event of the stream (its time set by the caller).
fn event(rng: &mut Rng, population: u64) -> Event {
    let mut e = Event::new(
        Timestamp::from_secs(T0),
        RegionCode::HENAN,
        Source::new("bench", None),
        b"",
    );
    let who = rng.below(population);
    let ip = IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | who as u32));
    // Skewed picks: mostly the first few values, now and then a rare one.
    let skew =
        |rng: &mut Rng, n: usize| (rng.below(n as u64) * rng.below(n as u64) / n as u64) as usize;
    match rng.below(10) {
        0..=3 => {
            e.fields.insert("event.action", "ssh_login");
            e.fields.insert("user.name", format!("u{who}"));
            e.fields.insert(
                "host.name",
                format!("h{}", (who + skew(rng, 4) as u64) % population),
            );
            let net = 0xC0A8_0000 | (who as u32 & 0xff) << 8 | (skew(rng, 3) as u32) << 16;
            e.fields
                .insert("source.ip", IpAddr::V4(Ipv4Addr::from(net | 7)));
        }
        4..=6 => {
            e.fields.insert("event.action", "process_start");
            e.fields.insert("host.name", format!("h{who}"));
            e.fields
                .insert("process.name", PROCESSES[skew(rng, PROCESSES.len())]);
        }
        _ => {
            e.fields.insert("event.action", "flow");
            e.fields.insert("source.ip", ip);
            e.fields
                .insert("destination.port", PORTS[skew(rng, PORTS.len())]);
            e.fields
                .insert("network.bytes", 500 + rng.below(5_000) as i64);
        }
    }
    e
}

/// Set the times of `events` to `RATE` a second from `start` (seconds).
fn retime(events: &mut [Event], start: i64) {
    for (i, e) in events.iter_mut().enumerate() {
        e.time = Timestamp::from_secs(start + i as i64 / RATE);
    }
}

/// Nanoseconds this thread has run on a CPU (`None` where the kernel does not say).
fn cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn feed(a: &mut Anomalies, events: &[Event], out: &mut Vec<Alert>) -> usize {
    for batch in events.chunks(BATCH) {
        a.observe_batch(batch, Timestamp::from_secs(T0), out);
        black_box(out.len());
        out.clear();
    }
    events.len()
}

fn main() {
    // `cargo bench` runs the full size; under `cargo test` it runs once, small.
    let full = std::env::args().any(|a| a == "--bench");
    let config = AnomalyConfig {
        max_groups: 150_000,
        ..AnomalyConfig::default()
    };
    let (set, report) = DetectorSet::compile(
        &[RuleSource::new("bench.yml", detectors())],
        &Placeholders::new(),
        &config,
    );
    for e in &report.errors {
        println!("left out: {e}");
    }
    let kinds: Vec<&str> = set.detectors().iter().map(|d| d.kind.as_str()).collect();
    println!("{} detectors: {}", set.len(), kinds.join(", "));
    let mut a = Anomalies::new(Arc::new(set), config);
    let population = population(full);
    println!("population: {population} users, hosts and addresses");
    let mut rng = Rng(20);
    let mut pass: Vec<Event> = (0..PASS).map(|_| event(&mut rng, population)).collect();
    let mut out = Vec::new();
    // Warm up: enough passes for every group to exist.
    let mut clock = T0;
    let warm_start = Instant::now();
    let warm_passes = if full { 24 } else { 1 };
    for _ in 0..warm_passes {
        // Fresh draws each warm-up pass so every user, host and address shows up.
        pass = (0..PASS).map(|_| event(&mut rng, population)).collect();
        retime(&mut pass, clock);
        clock += PASS as i64 / RATE + 1;
        feed(&mut a, &pass, &mut out);
    }
    let warm = warm_passes * PASS;
    println!(
        "warm-up: {} events in {:.1} s",
        warm,
        warm_start.elapsed().as_secs_f64()
    );
    let mut samples = Vec::new();
    let mut wall = Vec::new();
    let mut alerts = 0usize;
    let rounds = if full { 15 } else { 1 };
    for _ in 0..rounds {
        let mut events = 0;
        let mut spent = Duration::ZERO;
        let mut cpu = 0u64;
        while spent < Duration::from_millis(300) {
            retime(&mut pass, clock);
            clock += PASS as i64 / RATE + 1;
            let (start, cpu_start) = (Instant::now(), cpu_nanos());
            for batch in pass.chunks(BATCH) {
                a.observe_batch(batch, Timestamp::from_secs(T0), &mut out);
                alerts += out.len();
                out.clear();
            }
            events += pass.len();
            spent += start.elapsed();
            cpu += cpu_nanos().zip(cpu_start).map_or(0, |(e, s)| e - s);
        }
        wall.push(events as f64 / spent.as_secs_f64());
        if cpu > 0 {
            samples.push(events as f64 / (cpu as f64 / 1e9));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    if !samples.is_empty() {
        let (m, lo, hi) = median(&mut samples);
        println!(
            "detectors: {:.2} M events per CPU-second, one thread (median of {rounds}; low {:.2}, high {:.2})",
            m / 1e6,
            lo / 1e6,
            hi / 1e6
        );
    }
    let (m, lo, hi) = median(&mut wall);
    println!(
        "detectors: {:.2} M events/s wall clock (median of {rounds}; low {:.2}, high {:.2}); {alerts} alerts",
        m / 1e6,
        lo / 1e6,
        hi / 1e6
    );
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in a.status() {
        let e = per_kind.entry(s.kind.as_str()).or_default();
        e.0 += s.state_bytes;
        e.1 += s.groups;
        println!(
            "  {:<18} {:<11} {:>7} groups {:>6} B/group  {} alerts, {} groups evicted, {} entries evicted",
            s.id,
            s.kind.as_str(),
            s.groups,
            s.state_bytes / s.groups.max(1),
            s.alerts,
            s.counters.groups_evicted,
            s.counters.entries_evicted
        );
    }
    for (kind, (bytes, groups)) in &per_kind {
        println!(
            "bytes of state per group, {kind}: {}",
            bytes / groups.max(&1)
        );
    }
    let snapshot_start = Instant::now();
    let snap = a.snapshot();
    println!(
        "snapshot: {:.1} MB in {:.2} s",
        snap.len() as f64 / 1e6,
        snapshot_start.elapsed().as_secs_f64()
    );

    // The same pass through criterion, for its report.
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let mut g = c.benchmark_group("anomaly");
    g.throughput(Throughput::Elements(PASS as u64));
    g.bench_function("10 detectors, 100k groups each", |b| {
        b.iter(|| {
            retime(&mut pass, clock);
            clock += PASS as i64 / RATE + 1;
            feed(&mut a, &pass, &mut out)
        })
    });
    g.finish();
}
