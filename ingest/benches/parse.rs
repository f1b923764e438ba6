//! Parse throughput in lines per second, one thread.
//!
//! - `syslog_header`: RFC 5424 and RFC 3164 header parsing (`parse_syslog_header`: header
//!   fields and the message as text, no body recognition) against the `syslog_loose` crate on the
//!   same lines, in the same run. After criterion's figures it prints both medians and the ratio.
//! - `parse_syslog`: the whole parser (headers and vendor bodies) per corpus format file and on
//!   the loghub OpenSSH sample.
//!
//! `ONEWALL_PROFILE=rfc5424|rfc5424-loose|rfc3164|rfc3164-loose` runs only that side's header
//! loop (200 passes, no criterion), for an instruction profile under
//! `valgrind --tool=callgrind`.
//!
//! The corpus lives beside the repository (`../shared/corpus`); formats whose file is missing are
//! skipped, and built-in lines stand in for the syslog samples.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use onewall_ingest::parse::parse_syslog_header;
use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{RegionCode, Source, Timestamp};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

fn corpus_lines(rel: &str) -> Option<Vec<Vec<u8>>> {
    let data = std::fs::read(format!("{CORPUS}/{rel}")).ok()?;
    Some(
        data.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"# "))
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

fn rfc3164_lines() -> Vec<Vec<u8>> {
    corpus_lines("loghub/OpenSSH_2k.log").unwrap_or_else(|| {
        (0..2000)
            .map(|k| {
                format!("<38>Mar 15 11:58:{:02} web01 sshd[{k}]: Failed password for root from 203.0.113.7 port 52311 ssh2", k % 60)
                    .into_bytes()
            })
            .collect()
    })
}

fn rfc5424_lines() -> Vec<Vec<u8>> {
    (0..2000)
        .map(|k| {
            format!(
                "<165>1 2026-03-15T11:59:{:02}.003+08:00 web01 sshd {k} AUTH [origin@32473 ip=\"203.0.113.7\" port=\"{k}\"] Failed password for invalid user admin from 203.0.113.7 port 52311 ssh2",
                k % 60
            )
            .into_bytes()
        })
        .collect()
}

fn ctx() -> ParseContext {
    ParseContext::new(
        Timestamp::now(),
        RegionCode::HENAN,
        Source::new("syslog_udp", None),
    )
}

fn ours(lines: &[Vec<u8>], ctx: &ParseContext) {
    for line in lines {
        black_box(parse_syslog_header(black_box(line), ctx));
    }
}

fn loose(lines: &[String]) {
    for line in lines {
        black_box(syslog_loose::parse_message(
            black_box(line),
            syslog_loose::Variant::Either,
        ));
    }
}

/// Median lines per second of `a` and of `b` over `lines` lines, and the median of their
/// ratio, from 31 passes of each taken in turn (a, b, a, b ...), so both sides see the same
/// machine load when others share the cores.
fn paired_rates(lines: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    a();
    b();
    let rate = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        lines as f64 / t.elapsed().as_secs_f64()
    };
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..31 {
        let x = rate(&mut a);
        let y = rate(&mut b);
        ra.push(x);
        rb.push(y);
        ratios.push(x / y);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(ra), median(rb), median(ratios))
}

/// What each side of the header comparison does per line.
const LIKE_FOR_LIKE: &str = "onewall: an owned Event per line (raw bytes copied, PRI split into \
priority/facility/severity, time resolved to UTC nanoseconds in the listener's zone, host/app/\
procid/msgid/each SD param/message as typed fields, text checked UTF-8 else GB18030); \
syslog_loose: a Message borrowing &str slices of the line, timestamp as a chrono DateTime, SD \
params in Vecs of borrowed pairs";

fn bench_headers(c: &mut Criterion) {
    let ctx = ctx();
    let mut group = c.benchmark_group("syslog_header");
    let mut summary = Vec::new();
    for (name, lines) in [("rfc5424", rfc5424_lines()), ("rfc3164", rfc3164_lines())] {
        let text: Vec<String> = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(format!("{name}/onewall"), |b| b.iter(|| ours(&lines, &ctx)));
        group.bench_function(format!("{name}/syslog_loose"), |b| b.iter(|| loose(&text)));
        let (a, b, ratio) = paired_rates(lines.len(), || ours(&lines, &ctx), || loose(&text));
        summary.push(format!(
            "{name} header: onewall {:.2} M lines/s, syslog_loose {:.2} M lines/s, ratio {ratio:.2}x (median of paired passes)",
            a / 1e6,
            b / 1e6,
        ));
    }
    group.finish();
    println!("{LIKE_FOR_LIKE}");
    for line in summary {
        println!("{line}");
    }
}

fn bench_formats(c: &mut Criterion) {
    let ctx = ctx();
    let mut group = c.benchmark_group("parse_syslog");
    let files = [
        ("openssh", "loghub/OpenSSH_2k.log"),
        ("cef", "formats/cef.log"),
        ("leef", "formats/leef.log"),
        ("fortigate", "formats/fortigate-kv.log"),
        ("cisco_asa", "formats/cisco-asa.log"),
        ("huawei_usg", "formats/huawei-usg.log"),
        ("h3c", "formats/h3c.log"),
        ("hillstone", "formats/hillstone.log"),
        ("sangfor", "formats/sangfor.log"),
        ("sangfor_gbk", "formats/sangfor-gbk-reencoded-synthetic.log"),
        ("venustech", "formats/venustech-leadsec-topsec.log"),
        ("paloalto", "formats/paloalto-csv.log"),
        ("http", "formats/nginx-apache-access.log"),
        ("pgaudit", "formats/pgaudit.log"),
        ("mysql_audit", "formats/mysql-enterprise-audit.ndjson"),
        ("windows_nxlog", "formats/windows-nxlog.ndjson"),
        ("windows_winlogbeat", "formats/windows-winlogbeat.ndjson"),
    ];
    for (name, rel) in files {
        let Some(lines) = corpus_lines(rel) else {
            continue;
        };
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(parse_syslog(black_box(line), &ctx));
                }
            })
        });
    }
    group.finish();
}

/// One side's header loop alone, for a profiler.
fn profile(which: &str) {
    let ctx = ctx();
    let lines = if which.starts_with("rfc5424") {
        rfc5424_lines()
    } else {
        rfc3164_lines()
    };
    let text: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    for _ in 0..200 {
        if which.ends_with("-loose") {
            loose(&text);
        } else {
            ours(&lines, &ctx);
        }
    }
}

criterion_group!(benches, bench_headers, bench_formats);

fn main() {
    if let Ok(which) = std::env::var("ONEWALL_PROFILE") {
        profile(&which);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
