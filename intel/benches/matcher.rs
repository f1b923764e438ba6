//! The indicator set at a million indicators: load time (a plain list of mixed kinds read and
//! built into a set), memory per indicator (the set's own count of its heap, and the resident
//! size a second such set adds), and the matcher's events per second on one core over events
//! with six checked fields (about one in a hundred holds an indicator).
//!
//! `cargo bench -p onewall-intel --bench matcher`; `INTEL_BENCH_N` sets the indicator count,
//! `INTEL_BENCH_ROUNDS` the timed rounds of 2,000 events (400), and `INTEL_BENCH_QUICK=1`
//! leaves out the resident size and criterion's run (for a profiler counting instructions).
//! Run without `--bench` (as the tests run benches), it loads 20,000 indicators and times a
//! few rounds.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onewall_intel::IntelSet;
use onewall_intel::feed::list::{ListFormat, read_list};
use onewall_intel::fields::MatchFields;
use onewall_intel::set::EventHit;
use onewall_model::{Event, RegionCode, Source, Timestamp, Value};

/// The allocator the node runs with: it returns freed pages, so resident sizes measure what
/// is live.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// xorshift64*: the same inputs every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn hex(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        s.push_str(&format!("{:016x}", rng.next()));
    }
    s.truncate(len);
    s
}

fn word(rng: &mut Rng) -> String {
    let n = 5 + rng.below(8) as usize;
    (0..n)
        .map(|_| (b'a' + rng.below(26) as u8) as char)
        .collect()
}

/// Indicator `i` of the mixed list: 40% IPv4, 5% IPv4 ranges (/20 to /32), 5% IPv6, 20% domains (half of
/// them trees, written `*.name`), 10% URLs, 15% hashes, 5% email addresses.
fn value(rng: &mut Rng) -> String {
    match rng.below(100) {
        0..40 => {
            let a = rng.next() as u32;
            std::net::Ipv4Addr::from(a).to_string()
        }
        40..45 => {
            let a = rng.next() as u32;
            format!("{}/{}", std::net::Ipv4Addr::from(a), 20 + rng.below(13))
        }
        45..50 => std::net::Ipv6Addr::from(u128::from(rng.next()) << 64 | u128::from(rng.next()))
            .to_string(),
        50..60 => format!("{}.{}.com", word(rng), word(rng)),
        60..70 => format!("*.{}.net", word(rng)),
        70..80 => format!("http://{}.org/{}/{}.php", word(rng), word(rng), word(rng)),
        80..85 => hex(rng, 32),
        85..90 => hex(rng, 40),
        90..95 => hex(rng, 64),
        _ => format!("{}@{}.com", word(rng), word(rng)),
    }
}

fn list(n: usize, seed: u64) -> (String, Vec<String>) {
    let mut rng = Rng(seed);
    let mut doc = String::with_capacity(n * 40);
    let mut sample = Vec::new();
    for i in 0..n {
        let v = value(&mut rng);
        doc.push_str(&v);
        doc.push('\n');
        if i % 1000 == 0 {
            sample.push(v);
        }
    }
    (doc, sample)
}

/// Domain trees: the list writes them `*.name`; read them as trees.
fn load(doc: &str) -> IntelSet {
    let read = read_list(doc.as_bytes(), "bench", &ListFormat::default()).expect("list");
    let inds = read
        .indicators
        .into_iter()
        .map(|mut i| {
            if let onewall_intel::Observable::Domain(d) = &i.value
                && d.ends_with(".net")
            {
                i.value = onewall_intel::Observable::DomainTree(d.clone());
            }
            i
        })
        .collect();
    IntelSet::default().with_feed("bench", inds)
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Nanoseconds this thread has run on a CPU (its wait for one, on a shared machine, left out).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn events(sample: &[String], n: usize) -> Vec<Event> {
    let mut rng = Rng(99);
    (0..n)
        .map(|i| {
            let mut e = Event::new(
                Timestamp::from_secs(1_764_324_000),
                RegionCode::HENAN,
                Source::new("bench", None),
                b"x",
            );
            let ip = |r: &mut Rng| Value::Ip(std::net::Ipv4Addr::from(r.next() as u32).into());
            e.fields.insert("source.ip", ip(&mut rng));
            e.fields.insert("destination.ip", ip(&mut rng));
            e.fields
                .insert("dns.question.name", format!("www.{}.com", word(&mut rng)));
            e.fields.insert(
                "url.original",
                format!("http://{}.org/index.html", word(&mut rng)),
            );
            e.fields.insert("file.hash.sha256", hex(&mut rng, 64));
            e.fields
                .insert("user.email", format!("{}@corp.example", word(&mut rng)));
            e.fields.insert("message", "connection accepted");
            if i % 100 == 0 {
                // One event in a hundred holds an indicator, in the field of its class.
                let v = &sample[(i / 100) % sample.len()];
                let name = if v.contains("://") {
                    "url.original"
                } else if v.contains('@') {
                    "user.email"
                } else if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    "file.hash.sha256"
                } else if v.parse::<std::net::IpAddr>().is_ok() {
                    "destination.ip"
                } else if v.contains('/') {
                    "source.ip"
                } else {
                    "dns.question.name"
                };
                let v = v.trim_start_matches("*.");
                let v = v
                    .split('/')
                    .next()
                    .filter(|_| name == "source.ip")
                    .unwrap_or(v);
                e.fields.insert(name, v.to_string());
            }
            e
        })
        .collect()
}

/// The resident size of a set of `n` indicators, measured in a child process (this bench
/// again) whose allocator returns freed pages at once: the resident size with the set built
/// and its input freed, less that once the set is dropped.
fn resident_in_child(n: usize) -> String {
    let run = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .env("INTEL_BENCH_RESIDENT", n.to_string())
            .env("MIMALLOC_PURGE_DELAY", "0")
            .output()
    });
    match run {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => format!("intel set: resident size not measured ({e})"),
    }
}

fn resident(n: usize) {
    let (doc, _) = list(n, 7);
    let set = load(&doc);
    drop(doc);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let with = rss_bytes();
    let len = set.len();
    drop(set);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let without = rss_bytes();
    println!(
        "intel set: resident size {:.1} bytes/indicator ({len} indicators)",
        with.saturating_sub(without) as f64 / len as f64
    );
}

fn bench(c: &mut Criterion) {
    if let Some(n) = std::env::var("INTEL_BENCH_RESIDENT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        resident(n);
        std::process::exit(0);
    }
    let full = std::env::args().any(|a| a == "--bench");
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let n = env("INTEL_BENCH_N").unwrap_or(if full { 1_000_000 } else { 20_000 });
    let rounds = env("INTEL_BENCH_ROUNDS")
        .unwrap_or(if full { 400 } else { 4 })
        .max(1);
    let quick = !full || env("INTEL_BENCH_QUICK").is_some_and(|q| q != 0);
    let (doc, sample) = list(n, 7);
    let start = Instant::now();
    let set = load(&doc);
    let load_s = start.elapsed().as_secs_f64();
    drop(doc);
    println!(
        "intel set: {} indicators loaded (read as a list and built) in {load_s:.2} s; heap \
         {:.1} bytes/indicator",
        set.len(),
        set.heap_bytes() as f64 / set.len() as f64,
    );
    if !quick {
        println!("{}", resident_in_child(n));
    }

    // Few enough events to stay in cache, as an event being matched is in the pipeline.
    let evs = events(&sample, 2_000);
    let fields = MatchFields::default();
    let now = Timestamp::from_secs(1_764_324_000);
    let mut out: Vec<EventHit> = Vec::new();
    // Rounds of the events, each timed: on a shared machine a round the scheduler left alone
    // shows the core's rate, so the fastest quarter's bound is reported beside the median
    // and the CPU-time average.
    let mut hits = 0;
    let mut round_ns: Vec<u128> = Vec::with_capacity(rounds);
    let cpu = cpu_ns();
    for _ in 0..rounds {
        let t = Instant::now();
        for e in &evs {
            out.clear();
            set.match_event(black_box(e), &fields, now, &mut out);
            hits += out.len();
        }
        round_ns.push(t.elapsed().as_nanos());
    }
    let cpu_secs = cpu_ns().saturating_sub(cpu) as f64 / 1e9;
    round_ns.sort_unstable();
    let rate = |ns: u128| evs.len() as f64 / (ns.max(1) as f64 / 1e9) / 1e6;
    println!(
        "intel matcher: {:.2} M events/s on one core (rounds' 25th percentile; median {:.2}, \
         CPU-time average {:.2}) ({} fields checked, 6 present per event, {} hits in {} events)",
        rate(round_ns[rounds / 4]),
        rate(round_ns[rounds / 2]),
        (rounds * evs.len()) as f64 / cpu_secs / 1e6,
        fields.len(),
        hits / rounds,
        evs.len()
    );
    let empty = IntelSet::default();
    let t = Instant::now();
    for _ in 0..rounds {
        for e in &evs {
            out.clear();
            empty.match_event(black_box(e), &fields, now, &mut out);
        }
    }
    println!(
        "intel matcher, no indicators: {:.2} M events/s",
        (rounds * evs.len()) as f64 / t.elapsed().as_secs_f64() / 1e6
    );
    if quick {
        return;
    }

    let mut g = c.benchmark_group("intel");
    g.sample_size(10);
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("match_event/1M", |b| {
        b.iter(|| {
            for e in &evs {
                out.clear();
                set.match_event(black_box(e), &fields, now, &mut out);
            }
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
