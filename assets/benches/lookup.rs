//! The target lookup's cost: what looking up an alert's target (or a batch's distinct
//! address, for the seen-host check) adds, and how long compiling the lookup takes.
//!
//! The registry is synthetic and seeded: 20 000 systems holding 100 000 single addresses and
//! 100 000 host names (five each, `h<n>` and `h<n>.<city>.gov.cn` alternately), and networks
//! of seven prefix lengths (/16, /20, /22, /24, /26, /28 and IPv6 /48 and /64) holding over
//! 1 M addresses in all. Lookups are of 64 Ki values drawn in advance: registered addresses
//! (hit on the /32), addresses inside networks (hit on a shorter prefix), addresses outside
//! everything (a miss probes every prefix length: the worst case), names and FQDNs, IPv6.
//! Each figure is the median of 15 rounds of the 64 Ki lookups on one thread; nothing is
//! asserted. Under `cargo test` (no `--bench`) it runs once with a registry a hundredth the
//! size, as a smoke test.
//!
//! The bench allocates with mimalloc, the allocator the `onewall` binary runs with.

#![allow(clippy::unwrap_used)] // a bench fails loudly

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use onewall_assets::registry::{Net, Registry, System};
use onewall_model::{Exposure, RegionCode};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LOOKUPS: usize = 65_536;

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

const CITIES: &[&str] = &["zz", "kf", "ly", "pds", "ay", "hb", "xx", "jz", "py", "xc"];

/// Host `n`'s address: 10.0.0.0/8 counted up.
fn host_addr(n: u64) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0000 | n as u32)
}

/// Host `n`'s name.
fn host_name(n: u64) -> String {
    if n.is_multiple_of(2) {
        format!("h{n}")
    } else {
        format!("h{n}.{}.gov.cn", CITIES[(n % 10) as usize])
    }
}

/// The networks: (address, prefix) in 172.16.0.0/12, 100.64.0.0/10 and 2001:db8::/32.
fn networks(scale: u64) -> Vec<Net> {
    let mut nets = Vec::new();
    let v4 = |a: u32, p: u8| Net::parse(&format!("{}/{p}", Ipv4Addr::from(a))).unwrap();
    // 8 /16s in 100.64.0.0/10: 524 288 addresses.
    for i in 0..(8 * scale / 100).max(1) {
        nets.push(v4(0x6440_0000 + ((i as u32) << 16), 16));
    }
    // 64 /20s in 172.16.0.0/12: 262 144.
    for i in 0..(64 * scale / 100).max(1) {
        nets.push(v4(0xAC10_0000 + ((i as u32) << 12), 20));
    }
    // 128 /22s in 172.20.0.0/14 (inside the /12, beside the /20s): 131 072.
    for i in 0..(128 * scale / 100).max(1) {
        nets.push(v4(0xAC14_0000 + ((i as u32) << 10), 22));
    }
    // 1 024 /24s in 172.24.0.0/14: 262 144.
    for i in 0..(1024 * scale / 100).max(1) {
        nets.push(v4(0xAC18_0000 + ((i as u32) << 8), 24));
    }
    // 2 048 /26s and 2 048 /28s in 172.28.0.0/14: 131 072 + 32 768.
    for i in 0..(2048 * scale / 100).max(1) {
        nets.push(v4(0xAC1C_0000 + ((i as u32) << 6), 26));
        nets.push(v4(0xAC1E_0000 + ((i as u32) << 4), 28));
    }
    // IPv6: 512 /48s and 512 /64s.
    for i in 0..(512 * scale / 100).max(1) {
        let a = 0x2001_0db8_0000_0000_0000_0000_0000_0000u128;
        let n48 = Ipv6Addr::from(a | ((i as u128) << 80));
        let n64 = Ipv6Addr::from(a | (0xffffu128 << 80) | ((i as u128) << 64));
        nets.push(Net::parse(&format!("{n48}/48")).unwrap());
        nets.push(Net::parse(&format!("{n64}/64")).unwrap());
    }
    nets
}

fn registry(scale: u64) -> (Registry, u64, u128) {
    let systems_n = 200 * scale;
    let hosts_n = 1_000 * scale;
    let nets = networks(scale);
    let v4_addresses: u128 = nets
        .iter()
        .filter(|n| n.addr.is_ipv4())
        .map(|n| n.size())
        .sum();
    let region = RegionCode::new(410100).unwrap();
    let mut systems: Vec<System> = (0..systems_n)
        .map(|i| {
            let name = format!("system {i}");
            System {
                id: System::id_of(region, &name),
                name,
                region,
                department: format!("department {}", i % 97),
                ops_unit: String::new(),
                contacts: vec![],
                level: Some((i % 3 + 1) as u8),
                filing: None,
                cii: i.is_multiple_of(50),
                exposure: if i.is_multiple_of(4) {
                    Exposure::Internet
                } else {
                    Exposure::Internal
                },
                networks: vec![],
                hosts: vec![],
                tags: vec![],
            }
        })
        .collect();
    for h in 0..hosts_n {
        let s = &mut systems[(h % systems_n) as usize];
        s.networks
            .push(Net::parse(&host_addr(h).to_string()).unwrap());
        s.hosts.push(host_name(h));
    }
    for (i, n) in nets.into_iter().enumerate() {
        systems[i % systems_n as usize].networks.push(n);
    }
    (Registry::new(systems), hosts_n, v4_addresses)
}

/// The values looked up, by kind.
struct Draws {
    host_hits: Vec<IpAddr>,
    net_hits: Vec<IpAddr>,
    misses: Vec<IpAddr>,
    v6: Vec<IpAddr>,
    names: Vec<String>,
    name_misses: Vec<String>,
    texts: Vec<String>,
}

fn draws(rng: &mut Rng, hosts: u64, scale: u64) -> Draws {
    let nets = networks(scale);
    let v4: Vec<&Net> = nets.iter().filter(|n| n.addr.is_ipv4()).collect();
    let v6: Vec<&Net> = nets.iter().filter(|n| !n.addr.is_ipv4()).collect();
    let inside = |rng: &mut Rng, n: &Net| -> IpAddr {
        match n.addr {
            IpAddr::V4(a) => {
                let span = n.size() as u64;
                IpAddr::V4(Ipv4Addr::from(u32::from(a) + rng.below(span) as u32))
            }
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(
                u128::from(a) + u128::from(rng.next() & 0xffff_ffff),
            )),
        }
    };
    let draw = |rng: &mut Rng, f: &mut dyn FnMut(&mut Rng) -> IpAddr| -> Vec<IpAddr> {
        (0..LOOKUPS).map(|_| f(rng)).collect()
    };
    Draws {
        host_hits: draw(rng, &mut |r| IpAddr::V4(host_addr(r.below(hosts)))),
        net_hits: draw(rng, &mut |r| {
            let n = v4[r.below(v4.len() as u64) as usize];
            inside(r, n)
        }),
        // 11.0.0.0/8 and up: public space no network holds.
        misses: draw(rng, &mut |r| {
            IpAddr::V4(Ipv4Addr::from(0x0B00_0000 + r.below(0x5000_0000) as u32))
        }),
        v6: draw(rng, &mut |r| {
            let n = v6[r.below(v6.len() as u64) as usize];
            inside(r, n)
        }),
        names: (0..LOOKUPS)
            .map(|_| {
                let n = rng.below(hosts);
                // Half as registered, half upper case or as the other form (FQDN ↔ short).
                match rng.below(4) {
                    0 => host_name(n),
                    1 => host_name(n).to_uppercase(),
                    2 => format!("h{n}.zz.gov.cn"),
                    _ => format!("h{n}"),
                }
            })
            .collect(),
        name_misses: (0..LOOKUPS)
            .map(|_| format!("pc-{}.example.com", rng.below(1 << 30)))
            .collect(),
        // As an alert carries them: text, half addresses (half of those registered), half names.
        texts: (0..LOOKUPS)
            .map(|_| match rng.below(4) {
                0 => host_addr(rng.below(hosts)).to_string(),
                1 => Ipv4Addr::from(0x0B00_0000 + rng.below(0x5000_0000) as u32).to_string(),
                2 => host_name(rng.below(hosts)),
                _ => format!("pc-{}", rng.below(1 << 30)),
            })
            .collect(),
    }
}

/// Nanoseconds per call of `f` over `items`: the median of `rounds` passes, and the hits.
fn time<T>(items: &[T], rounds: usize, mut f: impl FnMut(&T) -> bool) -> (f64, usize) {
    let mut samples = Vec::new();
    let mut hits = 0;
    for _ in 0..rounds {
        hits = 0;
        let start = Instant::now();
        for item in items {
            hits += usize::from(black_box(f(black_box(item))));
        }
        samples.push(start.elapsed().as_nanos() as f64 / items.len() as f64);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], hits)
}

fn main() {
    // `cargo bench` runs the full size; under `cargo test` it runs once, small.
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 100 } else { 1 };
    let rounds = if full { 15 } else { 1 };
    let start = Instant::now();
    let (reg, hosts, v4_addresses) = registry(scale);
    println!(
        "registry: {} systems, {hosts} single addresses, {hosts} names, {} IPv4 addresses in \
         networks (made in {:.2} s)",
        reg.len(),
        v4_addresses,
        start.elapsed().as_secs_f64()
    );
    let mut builds = Vec::new();
    let mut lookup = reg.compile();
    for _ in 0..rounds.min(5) {
        let start = Instant::now();
        lookup = black_box(reg.compile());
        builds.push(start.elapsed().as_secs_f64());
    }
    builds.sort_by(f64::total_cmp);
    println!(
        "build: {:.1} ms (median of {}; {} conflicts)",
        builds[builds.len() / 2] * 1e3,
        builds.len(),
        lookup.conflicts()
    );
    let d = draws(&mut Rng(21), hosts, scale);
    let report = |what: &str, (ns, hits): (f64, usize)| {
        println!("{what:<44} {ns:>7.1} ns per lookup ({hits} of {LOOKUPS} found)");
    };
    report(
        "find_ip, registered address (/32)",
        time(&d.host_hits, rounds, |ip| lookup.find_ip(*ip).is_some()),
    );
    report(
        "find_ip, address in a network",
        time(&d.net_hits, rounds, |ip| lookup.find_ip(*ip).is_some()),
    );
    report(
        "find_ip, miss (every prefix probed)",
        time(&d.misses, rounds, |ip| lookup.find_ip(*ip).is_some()),
    );
    report(
        "find_ip, IPv6 in a network",
        time(&d.v6, rounds, |ip| lookup.find_ip(*ip).is_some()),
    );
    report(
        "find_host, names and FQDNs",
        time(&d.names, rounds, |n| lookup.find_host(n).is_some()),
    );
    report(
        "find_host, miss",
        time(&d.name_misses, rounds, |n| lookup.find_host(n).is_some()),
    );
    report(
        "find, alert values as text (parse + lookup)",
        time(&d.texts, rounds, |t| lookup.find(t).is_some()),
    );

    // The same through criterion, for its report.
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if full { 500 } else { 10 }))
        .measurement_time(Duration::from_millis(if full { 2_000 } else { 20 }));
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function("find_ip, mixed hits and misses", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (a, m) in d.net_hits.iter().zip(&d.misses) {
                n += usize::from(lookup.find_ip(*a).is_some());
                n += usize::from(lookup.find_ip(*m).is_some());
            }
            black_box(n)
        })
    });
    g.bench_function("find, alert values as text", |b| {
        b.iter(|| d.texts.iter().filter(|t| lookup.find(t).is_some()).count())
    });
    g.finish();
    c.final_summary();
}
