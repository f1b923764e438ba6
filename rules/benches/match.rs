//! Matching throughput: the built-in pack (and, when the corpus is present, the SigmaHQ rules
//! that compile) over a few thousand syslog-shaped events.
//!
//! Events come from the loghub Linux and OpenSSH samples in the shared corpus, split the way
//! the syslog parser splits them (`host.name`, `process.name`, `process.pid`, `message`);
//! without the corpus, from a small synthetic set.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onewall_model::{Event, RegionCode, Source, Timestamp, Value};
use onewall_rules::Engine;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// Split `Mon DD HH:MM:SS host tag[pid]: message` into fields.
fn parse_line(line: &str) -> Event {
    let mut ev = Event::new(
        Timestamp::from_secs(1_764_324_000),
        RegionCode::HENAN,
        Source::new("bench", None),
        line.as_bytes(),
    );
    // Skip the 15-character BSD timestamp.
    let rest = line.get(16..).unwrap_or("");
    let (host, rest) = rest.split_once(' ').unwrap_or(("", rest));
    let (tag, message) = rest.split_once(": ").unwrap_or(("", rest));
    let (name, pid) = match tag.split_once('[') {
        Some((n, p)) => (n, p.trim_end_matches(']').parse::<i64>().ok()),
        None => (tag, None),
    };
    ev.fields.insert("host.name", host);
    ev.fields.insert("process.name", name);
    if let Some(pid) = pid {
        ev.fields.insert("process.pid", Value::Int(pid));
    }
    ev.fields.insert("message", message);
    ev.fields.insert("log.syslog.facility.code", Value::Int(4));
    ev.fields.insert("log.syslog.severity.code", Value::Int(6));
    ev
}

fn events() -> Vec<Event> {
    let mut lines = Vec::new();
    for file in ["loghub/Linux_2k.log", "loghub/OpenSSH_2k.log"] {
        if let Ok(text) = std::fs::read_to_string(Path::new(CORPUS).join(file)) {
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    if lines.is_empty() {
        let samples = [
            "Dec 10 06:55:46 web01 sshd[24200]: Invalid user webmaster from 173.234.31.186",
            "Dec 10 06:55:48 web01 sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
            "Dec 10 07:02:47 web01 sshd[24203]: Connection closed by 212.47.254.145 [preauth]",
            "Dec 10 09:32:20 web01 sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
            "Dec 10 09:40:01 web01 CRON[2001]: (root) CMD (run-parts /etc/cron.hourly)",
            "Dec 10 09:41:12 web01 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
        ];
        lines = (0..4000)
            .map(|i| samples[i % samples.len()].to_owned())
            .collect();
    }
    lines.iter().map(|l| parse_line(l)).collect()
}

fn bench(c: &mut Criterion) {
    let events = events();
    let now = Timestamp::from_secs(1_764_400_000);
    let mut group = c.benchmark_group("match_batch");
    group.throughput(Throughput::Elements(events.len() as u64));

    let (builtin, _) = Engine::builtin();
    let mut alerts = Vec::new();
    builtin.match_batch(&events, now, &mut alerts);
    eprintln!(
        "builtin: {} rules, {} events, {} alerts",
        builtin.len(),
        events.len(),
        alerts.len()
    );
    group.bench_function("builtin", |b| {
        b.iter(|| {
            alerts.clear();
            builtin.match_batch(black_box(&events), now, &mut alerts);
            alerts.len()
        })
    });

    let sigmahq = Path::new(CORPUS).join("sigmahq/rules");
    if let Ok((engine, report)) = Engine::load_dir(&sigmahq) {
        eprintln!("sigmahq: {report}");
        group.sample_size(10);
        group.bench_function("sigmahq", |b| {
            b.iter(|| {
                alerts.clear();
                engine.match_batch(black_box(&events), now, &mut alerts);
                alerts.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
