//! Parse throughput: RFC 3164 lines from the loghub OpenSSH sample (or built-in lines when the
//! corpus is absent) and RFC 5424 lines, in lines per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{RegionCode, Source, Timestamp};

fn rfc3164_lines() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/loghub/OpenSSH_2k.log"
    );
    match std::fs::read(path) {
        Ok(data) => data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        Err(_) => (0..2000)
            .map(|k| {
                format!("<38>Mar 15 11:58:{:02} web01 sshd[{k}]: Failed password for root from 203.0.113.7 port 52311 ssh2", k % 60)
                    .into_bytes()
            })
            .collect(),
    }
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

fn bench(c: &mut Criterion) {
    let ctx = ParseContext::new(
        Timestamp::now(),
        RegionCode::HENAN,
        Source::new("syslog_udp", None),
    );
    let mut group = c.benchmark_group("parse_syslog");
    for (name, lines) in [("rfc3164", rfc3164_lines()), ("rfc5424", rfc5424_lines())] {
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

criterion_group!(benches, bench);
criterion_main!(benches);
