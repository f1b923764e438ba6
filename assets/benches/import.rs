//! Imports: a 10 k-host Nmap XML (10 open ports each, with services and versions, as `nmap
//! -sV -oX` writes them) and a 100 k-finding CSV (over 10 k hosts), generated in memory.
//! For each: detection and parsing (MB/s and seconds), then applying the scan to an empty
//! `AssetBook` and once more to the same book (every finding found again). Each figure is
//! the median of 5 runs; nothing is asserted.
//!
//! The peer is Python's `xml.etree.ElementTree.iterparse` reading the same Nmap file into
//! hosts and open ports (what Nmap parsing scripts use), run in the same process tree,
//! printed as a ratio.
//!
//! Under `cargo test` (no `--bench`) it runs once with 200 hosts and 2 000 findings.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use onewall_assets::AssetBook;
use onewall_assets::config::Deadlines;
use onewall_assets::import::{self, Context, Format, Parsed};
use onewall_assets::scan::Scan;
use onewall_model::{RegionCode, RegionTree, Timestamp};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PORTS: [(u16, &str, &str, &str); 10] = [
    (22, "ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3"),
    (25, "smtp", "Postfix smtpd", ""),
    (53, "domain", "ISC BIND", "9.18.24"),
    (80, "http", "nginx", "1.22.1"),
    (443, "http", "nginx", "1.22.1"),
    (3306, "mysql", "MySQL", "8.0.36"),
    (5432, "postgresql", "PostgreSQL DB", "15.6"),
    (6379, "redis", "Redis key-value store", "7.0.15"),
    (8080, "http", "Apache Tomcat", "9.0.85"),
    (9200, "http", "Elasticsearch REST API", "7.17.18"),
];

fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

fn nmap_xml(hosts: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(hosts * 2_400);
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n\
<nmaprun scanner=\"nmap\" args=\"nmap -sV -oX scan.xml 10.0.0.0/16\" start=\"1796090400\" version=\"7.93\" xmloutputversion=\"1.05\">\n\
<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"1000\" services=\"1-1000\"/>\n",
    );
    for i in 0..hosts {
        let _ = write!(
            out,
            "<host starttime=\"1796090401\" endtime=\"1796090431\"><status state=\"up\" reason=\"echo-reply\" reason_ttl=\"63\"/>\n\
<address addr=\"{}\" addrtype=\"ipv4\"/>\n<hostnames>\n<hostname name=\"host{i}.gov.example\" type=\"PTR\"/>\n</hostnames>\n\
<ports><extraports state=\"closed\" count=\"990\">\n<extrareasons reason=\"reset\" count=\"990\" proto=\"tcp\" ports=\"1-21\"/>\n</extraports>\n",
            address(i)
        );
        for (port, name, product, version) in PORTS {
            let _ = write!(
                out,
                "<port protocol=\"tcp\" portid=\"{port}\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"63\"/>\
<service name=\"{name}\" product=\"{product}\" version=\"{version}\" method=\"probed\" conf=\"10\"><cpe>cpe:/a:x:{name}</cpe></service></port>\n"
            );
        }
        out.extend_from_slice(
            b"</ports>\n<times srtt=\"412\" rttvar=\"190\" to=\"100000\"/>\n</host>\n",
        );
    }
    out.extend_from_slice(
        b"<runstats><finished time=\"1796090433\" exit=\"success\"/></runstats>\n</nmaprun>\n",
    );
    out
}

fn findings_csv(findings: usize, hosts: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(findings * 120);
    out.extend_from_slice(b"host,port,protocol,cve,cvss,title,solution\n");
    for i in 0..findings {
        let cve = 10_000 + i / hosts;
        let _ = writeln!(
            out,
            "{},{},tcp,CVE-2024-{cve},{}.{},Vulnerability {cve} in a service,Upgrade the package",
            address(i % hosts),
            PORTS[i % PORTS.len()].0,
            i % 10,
            i % 10
        );
    }
    out
}

fn ctx(tree: &RegionTree) -> Context<'_> {
    Context {
        tree,
        now: Timestamp::from_secs(1_796_100_000),
        default_region: RegionCode::new(410_000).unwrap(),
    }
}

fn parse(bytes: &[u8], want: Format, tree: &RegionTree) -> Scan {
    let (format, parsed) = import::read(None, bytes, &ctx(tree)).expect("the generated file reads");
    assert_eq!(format, want);
    match parsed {
        Parsed::Scan(s) => s,
        Parsed::Registry(_) => unreachable!(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Parse and apply `bytes` `rounds` times; prints the figures and returns the median parse
/// time in seconds.
fn measure(label: &str, bytes: &[u8], want: Format, tree: &RegionTree, rounds: usize) -> f64 {
    let (mut parse_s, mut apply_s, mut again_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut summary = String::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let scan = parse(bytes, want, tree);
        parse_s.push(start.elapsed().as_secs_f64());
        summary = format!(
            "{} hosts, {} ports, {} findings",
            scan.hosts.len(),
            scan.hosts
                .iter()
                .map(|h| h.ports.as_ref().map_or(0, Vec::len))
                .sum::<usize>(),
            scan.findings.len()
        );
        let mut book = AssetBook::default();
        let now = Timestamp::from_secs(1_796_100_000);
        let again = scan.clone();
        let start = Instant::now();
        black_box(book.apply_scan(scan, &Deadlines::default(), now));
        apply_s.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        black_box(book.apply_scan(again, &Deadlines::default(), now));
        again_s.push(start.elapsed().as_secs_f64());
    }
    let p = median(parse_s);
    println!(
        "{label}: {:.1} MB ({summary}): parse {:.3} s ({:.0} MB/s), apply to an empty book {:.3} s, \
         again {:.3} s (median of {rounds})",
        bytes.len() as f64 / 1e6,
        p,
        bytes.len() as f64 / 1e6 / p,
        median(apply_s),
        median(again_s),
    );
    p
}

/// Python's iterparse over the same Nmap file, seconds (median of 3), when python3 runs.
fn python_peer(bytes: &[u8]) -> Option<f64> {
    let mut file = tempfile::NamedTempFile::new().ok()?;
    file.write_all(bytes).ok()?;
    let script = r#"
import sys, time, xml.etree.ElementTree as ET
t = time.perf_counter()
hosts = []
for _, e in ET.iterparse(sys.argv[1]):
    if e.tag == "host":
        if e.find("status").get("state") == "up":
            ports = [(p.get("portid"), s.get("product"), s.get("version"))
                     for p in e.iter("port") if p.find("state").get("state") == "open"
                     for s in [p.find("service")] if s is not None]
            hosts.append((e.find("address").get("addr"), ports))
        e.clear()
print(time.perf_counter() - t, len(hosts))
"#;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(file.path())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        runs.push(text.split_whitespace().next()?.parse::<f64>().ok()?);
    }
    Some(median(runs))
}

fn main() {
    // `cargo bench` runs the full size; under `cargo test` it runs once, small.
    let full = std::env::args().any(|a| a == "--bench");
    let (hosts, findings, rounds) = if full {
        (10_000, 100_000, 5)
    } else {
        (200, 2_000, 1)
    };
    let tree = RegionTree::builtin();
    let nmap = nmap_xml(hosts);
    let csv = findings_csv(findings, hosts.min(10_000));
    let nmap_s = measure("nmap XML", &nmap, Format::Nmap, &tree, rounds);
    measure("findings CSV", &csv, Format::FindingsCsv, &tree, rounds);
    if full {
        match python_peer(&nmap) {
            Some(py) => println!(
                "peer: python3 ElementTree.iterparse over the same Nmap file {py:.3} s; onewall {:.1}× as fast",
                py / nmap_s
            ),
            None => println!("peer: python3 did not run"),
        }
        let tree_ref = &tree;
        let mut c = Criterion::default()
            .configure_from_args()
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        let mut g = c.benchmark_group("import");
        g.throughput(Throughput::Bytes(nmap.len() as u64));
        g.bench_function("nmap XML, 10k hosts", |b| {
            b.iter(|| parse(&nmap, Format::Nmap, tree_ref))
        });
        g.throughput(Throughput::Bytes(csv.len() as u64));
        g.bench_function("findings CSV, 100k findings", |b| {
            b.iter(|| parse(&csv, Format::FindingsCsv, tree_ref))
        });
        g.finish();
    }
}
