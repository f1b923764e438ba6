//! Geo-IP lookups per second: an ip2region xdb of about 70,000 IPv4 ranges (written here to
//! the format), a MaxMind DB of 28,544 City-shaped networks (written by PyPI `mmdb-writer`),
//! both together as the node asks them, and a private address (answered without a database).
//! Addresses are spread over the whole IPv4 space, so most miss every cache. Then the node's
//! enrichment step per event (`geo_enrich`: two addresses an event, both databases), with
//! 256 distinct addresses in a batch of 1,024 events and with every address distinct: the
//! per-batch cache makes a batch's repeated addresses cost one lookup each.
//!
//! `cargo bench -p onewall-intel --bench geo`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use onewall_intel::geo::enrich::GeoEnrich;
use onewall_intel::geo::{GeoDb, Mmdb, Xdb};
use onewall_model::{Event, RegionCode, Source, Timestamp, Value};

#[path = "../tests/geo_support/mod.rs"]
mod geo_support;

use geo_support::Segment;

const REGIONS: [&str; 12] = [
    "中国|0|河南省|郑州市|电信",
    "中国|0|河南省|洛阳市|联通",
    "中国|0|北京|北京市|联通",
    "中国|0|广东省|深圳市|电信",
    "中国|0|上海|上海市|移动",
    "中国|0|浙江省|杭州市|阿里云",
    "美国|0|0|0|0",
    "日本|0|东京都|东京|0",
    "德国|0|0|0|0",
    "中国|0|香港|0|0",
    "新加坡|0|0|0|0",
    "0|0|0|0|0",
];

/// A small deterministic generator (xorshift), so every run reads the same database.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn xdb_segments(rng: &mut Rng) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at: u64 = u64::from(u32::from(Ipv4Addr::new(1, 0, 0, 0)));
    let end = u64::from(u32::from(Ipv4Addr::new(223, 255, 255, 255)));
    while at <= end {
        let len = [4096u64, 16_384, 65_536, 131_072][(rng.next() % 4) as usize];
        let last = (at + len - 1).min(end);
        out.push(Segment {
            start: IpAddr::V4(Ipv4Addr::from(at as u32)),
            end: IpAddr::V4(Ipv4Addr::from(last as u32)),
            region: REGIONS[(rng.next() % REGIONS.len() as u64) as usize],
        });
        at = last + 1;
    }
    out
}

/// Every /15 of 1.0.0.0–223.255.255.255 (private ones too: they are never asked), each with
/// one of 2,000 City-shaped records, as a country-wide database covers the address space.
const MMDB_BIG: &str = r#"
import sys, random
from netaddr import IPSet, IPNetwork
from mmdb_writer import MMDBWriter, MmdbU32
random.seed(7)
w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
               languages=["en", "zh-CN"], description="onewall bench")
places = [("CN", "中国", "河南省", "郑州"), ("CN", "中国", "北京市", "北京"),
          ("US", "美国", "加利福尼亚州", "洛杉矶"), ("DE", "德国", "黑森", "法兰克福"),
          ("JP", "日本", "东京都", "东京")]
recs = []
for i in range(2000):
    code, country, province, city = random.choice(places)
    recs.append({"country": {"iso_code": code, "names": {"zh-CN": country, "en": code}},
                 "subdivisions": [{"names": {"zh-CN": province}}],
                 "city": {"names": {"zh-CN": city}},
                 "autonomous_system_number": MmdbU32(random.randrange(1, 65000)),
                 "autonomous_system_organization": "AS" + code})
for net in range(1 << 7, 224 << 7):
    w.insert_network(IPSet([IPNetwork((net << 17, 15))]), random.choice(recs))
w.to_db_file(sys.argv[1])
"#;

fn addresses(rng: &mut Rng, n: usize) -> Vec<IpAddr> {
    (0..n)
        .map(|_| {
            let a = (rng.next() as u32 % (223 << 24)).max(1 << 24);
            IpAddr::V4(Ipv4Addr::from(a))
        })
        .filter(|ip| onewall_intel::geo::scope_of(*ip) == onewall_intel::geo::Scope::Public)
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let segments = xdb_segments(&mut rng);
    let xdb = Xdb::from_bytes(geo_support::xdb(&segments, false)).expect("xdb");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.mmdb");
    geo_support::python(MMDB_BIG, &[path.to_str().expect("utf-8")]);
    let mmdb = Mmdb::from_bytes(std::fs::read(&path).expect("read")).expect("mmdb");
    let ips = addresses(&mut rng, 10_000);
    let found = ips
        .iter()
        .filter(|ip| mmdb.lookup(**ip).ok().flatten().is_some())
        .count();
    println!(
        "geo bench: xdb {} ranges, mmdb {} networks ({found} of {} addresses in it)",
        segments.len(),
        (224 - 1) << 7,
        ips.len()
    );

    let mut g = c.benchmark_group("geo_lookup");
    g.throughput(Throughput::Elements(ips.len() as u64));
    let only_xdb = GeoDb::new(None, Some(xdb.clone()));
    g.bench_function("xdb", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|ip| only_xdb.lookup(**ip).is_some())
                .count()
        })
    });
    let only_mmdb = GeoDb::new(Some(mmdb.clone()), None);
    g.bench_function("mmdb", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|ip| only_mmdb.lookup(**ip).is_some())
                .count()
        })
    });
    let both = GeoDb::new(Some(mmdb), Some(xdb));
    g.bench_function("xdb_then_mmdb", |b| {
        b.iter(|| ips.iter().filter(|ip| both.lookup(**ip).is_some()).count())
    });
    let private = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));
    g.bench_function("private_scope_only", |b| {
        b.iter(|| {
            (0..ips.len())
                .filter(|_| both.lookup(black_box(private)).is_some())
                .count()
        })
    });
    g.finish();

    // The node's step: batches of 1,024 events with a source and a destination address,
    // both databases, the per-batch cache; per event.
    let enrich = GeoEnrich::new(both).expect("fields");
    let batch = |pool: usize| -> Vec<Event> {
        (0..1024)
            .map(|i| {
                let mut e = Event::new(
                    Timestamp::now(),
                    RegionCode::HENAN,
                    Source::new("bench", None),
                    b"line",
                );
                e.fields.insert("source.ip", Value::Ip(ips[(i * 7) % pool]));
                e.fields
                    .insert("destination.ip", Value::Ip(ips[(i * 13 + 1) % pool]));
                e
            })
            .collect()
    };
    let mut g = c.benchmark_group("geo_enrich");
    g.throughput(Throughput::Elements(1024));
    for (name, pool) in [("events_256_addresses", 256), ("events_all_distinct", 2048)] {
        let events = batch(pool.min(ips.len()));
        g.bench_function(name, |b| {
            // The batch is made and dropped outside the timing.
            b.iter_batched_ref(
                || events.clone(),
                |events| enrich.enrich(events),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
