//! Flow records per second, datagram to normalised `Event`, one thread; and `netflow_parser`
//! alone (datagram to its own records, no events) on the same datagrams in the same run, as the
//! reference.
//!
//! Inputs are the datagrams real exporters sent for the shared capture
//! (`../shared/corpus/flows/dgrams/`): the template datagram is decoded once first, then the
//! data datagrams are decoded over and over. Each figure is the median of 15 samples of about
//! 200 ms; the bench prints records/s for both sides and their ratio. Not a test: nothing is
//! asserted.
//!
//! The bench allocates with mimalloc, the allocator the `onewall` binary runs with.
//!
//! `FLOW_BENCH_OURS_ONLY=1` runs only our side, for an instruction profile
//! (`valgrind --tool=callgrind`): instructions per record do not move with the machine's load,
//! which wall-clock figures on a shared machine do.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netflow_parser::{AutoScopedParser, NetflowPacket};
use onewall_ingest::flow::{FlowContext, NetflowDecoder, NetflowSettings, SflowDecoder};
use onewall_model::{RegionCode, Timestamp};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn dgrams(exporter: &str) -> Option<Vec<Vec<u8>>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/flows/dgrams")
        .join(exporter);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).ok()).collect()
}

/// Median records per second of `run` (which returns the records it handled).
fn measure(mut run: impl FnMut() -> usize) -> f64 {
    for _ in 0..20 {
        black_box(run());
    }
    let mut rates = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let mut records = 0;
        while start.elapsed() < Duration::from_millis(200) {
            records += run();
        }
        rates.push(records as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn ctx(collector: &str) -> FlowContext {
    FlowContext {
        collector: collector.into(),
        region: RegionCode::HENAN,
        department: None,
    }
}

fn netflow_case(name: &str, exporter: &str, templates: usize) {
    let Some(all) = dgrams(exporter) else {
        println!("{name}: corpus missing, skipped");
        return;
    };
    let peer: SocketAddr = "127.0.0.1:2055".parse().expect("addr");
    let (primer, data) = all.split_at(templates);
    let ctx = ctx("netflow");

    let mut decoder = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
    let mut events = Vec::with_capacity(64);
    for d in primer {
        decoder.decode(d, peer, Timestamp::now(), &ctx, &mut events);
    }
    let ours = measure(|| {
        let mut n = 0;
        for d in data {
            events.clear();
            decoder.decode(d, peer, Timestamp::now(), &ctx, &mut events);
            n += events.len();
        }
        black_box(&events);
        n
    });

    if ours_only() {
        report(name, ours, None);
        return;
    }
    let mut parser = AutoScopedParser::new();
    for d in primer {
        let _ = parser.parse_from_source(peer, d);
    }
    let reference = measure(|| {
        let mut n = 0;
        for d in data {
            let r = parser.parse_from_source(peer, d);
            n += r.packets.iter().map(records).sum::<usize>();
            let _ = black_box(r);
        }
        n
    });
    report(name, ours, Some(reference));
}

fn records(p: &NetflowPacket) -> usize {
    use netflow_parser::variable_versions::ipfix::FlowSetBody as I;
    use netflow_parser::variable_versions::v9::FlowSetBody as V;
    match p {
        NetflowPacket::V5(v) => v.flowsets.len(),
        NetflowPacket::V9(v) => v
            .flowsets
            .iter()
            .map(|f| match &f.body {
                V::Data(d) => d.fields.len(),
                _ => 0,
            })
            .sum(),
        NetflowPacket::IPFix(v) => v
            .flowsets
            .iter()
            .map(|f| match &f.body {
                I::Data(d) => d.fields.len(),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

fn sflow_case() {
    let Some(data) = dgrams("pmacct_sflow") else {
        println!("sflow: corpus missing, skipped");
        return;
    };
    let peer: SocketAddr = "127.0.0.1:6343".parse().expect("addr");
    let ctx = ctx("sflow");
    let mut decoder = SflowDecoder::new(16);
    let mut events = Vec::with_capacity(64);
    let ours = measure(|| {
        let mut n = 0;
        for d in &data {
            events.clear();
            decoder.decode(d, peer, Timestamp::now(), &ctx, &mut events);
            n += events.len();
        }
        n
    });
    if ours_only() {
        report("sflow (pmacct, 513 samples)", ours, None);
        return;
    }
    let parser = flowparser_sflow::SflowParser::default();
    let reference = measure(|| {
        let mut n = 0;
        for d in &data {
            let r = parser.parse_bytes(d);
            n += r.datagrams.iter().map(|d| d.samples.len()).sum::<usize>();
            let _ = black_box(r);
        }
        n
    });
    report("sflow (pmacct, 513 samples)", ours, Some(reference));
}

/// `FLOW_BENCH_OURS_ONLY=1` skips the parsers alone, for profiling our side only.
fn ours_only() -> bool {
    std::env::var_os("FLOW_BENCH_OURS_ONLY").is_some_and(|v| v == "1")
}

fn report(name: &str, ours: f64, reference: Option<f64>) {
    match reference {
        Some(r) => println!(
            "{name:<34} onewall {:>6.2} M records/s   parser alone {:>6.2} M records/s   ratio {:.2}",
            ours / 1e6,
            r / 1e6,
            ours / r
        ),
        None => println!("{name:<34} onewall {:>6.2} M records/s", ours / 1e6),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks cases by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |n: &str| filter.as_deref().is_none_or(|f| n.contains(f));
    println!("flow decode, one thread, median of 15 samples (records/s)");
    if want("v9") {
        netflow_case("netflow v9 (softflowd, 77 records)", "softflowd_v9", 1);
    }
    if want("ipfix") {
        netflow_case("ipfix (pmacct, 98 records)", "pmacct_ipfix", 1);
    }
    if want("v5") {
        netflow_case("netflow v5 (softflowd, 101 records)", "softflowd_v5", 0);
    }
    if want("sflow") {
        sflow_case();
    }
}
