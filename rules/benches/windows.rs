//! All SigmaHQ Windows rules over a realistic Windows event set (the corpus Winlogbeat and
//! NXLog samples plus generated Sysmon-shaped events over the common EventIDs), one thread:
//! onewall's engine and `rsigma-eval` measured in the same run, and their ratio. Also the
//! compiled memory and load time of the whole SigmaHQ corpus (three folders), and the rules
//! routed by the Windows pipelines through one JSON shape against all three listed in one
//! pack (same run, same events, their ratio).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onewall_model::{Alert, Event, Timestamp};
use onewall_rules::pipeline::PipelineSet;
use onewall_rules::{Engine, Placeholders, RuleSource};

/// Resident memory of this process in bytes (Linux `/proc`), for the compiled set's size.
fn rss() -> Option<i64> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/sigmahq");
const GENERATED: usize = 8000;

fn rule_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for f in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(&Path::new(CORPUS).join(f), &mut files);
    }
    files.sort();
    files
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Load time and memory of the whole corpus.
fn load(texts: &[(String, String)]) {
    let mut loads = Vec::new();
    let mut bytes = None;
    for _ in 0..3 {
        let before = rss();
        let start = Instant::now();
        let (engine, report) = Engine::compile(
            texts
                .iter()
                .map(|(p, t)| RuleSource::new(p.as_str(), t.as_str())),
        );
        loads.push(start.elapsed().as_secs_f64());
        // The first load's growth in resident memory (later loads reuse freed pages).
        if bytes.is_none() {
            bytes = Some(rss().zip(before).map_or(0, |(a, b)| a - b));
        }
        eprintln!("sigmahq corpus: {report}");
        drop(engine);
    }
    eprintln!(
        "load: {:.0} ms median for {} files; resident memory grew {:.1} MiB on the first load",
        median(loads) * 1000.0,
        texts.len(),
        bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
    );
}

/// The fields the ingest parser gives a Windows event whatever its JSON shape: the event data
/// at the top level under its own names (as the bare events have it), `log.format`,
/// `event.code` and `winlog.channel`.
fn as_parsed(bare: &serde_json::Value) -> Event {
    let mut v = bare.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("log.format".into(), "windows".into());
        if let Some(id) = bare.get("EventID") {
            let code = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
            m.insert("event.code".into(), code.into());
        }
        if let Some(c) = bare.get("Channel") {
            m.insert("winlog.channel".into(), c.clone());
        }
    }
    common::event(&v, Some(&bare.to_string()))
}

/// The SigmaHQ Windows rules routed through one shape pipeline and through all three (plus
/// Security auditing), over the same events: events/s of each and the ratio, same matches.
fn shapes(windows: &[&(String, String)], json: &[serde_json::Value]) {
    let events: Vec<Event> = json.iter().map(as_parsed).collect();
    let [one, three, audit] = shape_engines(windows);
    run_shapes(&one, &three, &audit, &events);
}

/// The SigmaHQ Windows rules through the one-shape, three-shape and three-shape-and-audit
/// pipeline sets.
fn shape_engines(windows: &[&(String, String)]) -> [Engine; 3] {
    ["one", "three", "audit"].map(|shape| shape_engine(windows, shape))
}

/// The SigmaHQ Windows rules through the pipelines of `shape`: `one` (Sysmon and NXLog
/// names), `three` (Winlogbeat, NXLog and evtx_dump names) or `audit` (the three and Security
/// auditing).
fn shape_engine(windows: &[&(String, String)], shape: &str) -> Engine {
    let shapes: &[&str] = match shape {
        "one" => &["windows-nxlog"],
        "three" => &["windows-winlogbeat", "windows-nxlog", "windows-evtx"],
        _ => &[
            "windows-audit",
            "windows-winlogbeat",
            "windows-nxlog",
            "windows-evtx",
        ],
    };
    let names = [&["windows-sysmon", "windows-logsource"][..], shapes].concat();
    let set = PipelineSet::shipped(&names)
        .expect("shipped pipelines")
        .require_routing(true);
    let sources = windows
        .iter()
        .map(|(p, t)| RuleSource::new(p.as_str(), t.as_str()));
    Engine::compile_with_pipelines(sources, &Placeholders::new(), &set).0
}

/// Run `engine` `rounds` times over `events` and print its speed (for a profiler).
fn profile_run(engine: &Engine, events: &[Event], rounds: usize) {
    let now = Timestamp::from_secs(1_764_324_000);
    let mut alerts = Vec::new();
    let t = Instant::now();
    for _ in 0..rounds {
        alerts.clear();
        engine.match_batch(black_box(events), now, &mut alerts);
    }
    eprintln!(
        "profile: onewall {:.0} events/s ({} matches per round, {rounds} rounds)",
        (rounds * events.len()) as f64 / t.elapsed().as_secs_f64(),
        alerts.len()
    );
    if std::env::var_os("ONEWALL_PROFILE_RULES").is_some() {
        // Where the time goes: the candidate index alone, and matching without alerts.
        let t = Instant::now();
        let n: usize = events.iter().map(|e| engine.candidate_count(e)).sum();
        let index = t.elapsed().as_secs_f64() / events.len() as f64;
        let t = Instant::now();
        let mut hits = 0;
        engine.for_each_match(events, |_, _| hits += 1);
        let eval = t.elapsed().as_secs_f64() / events.len() as f64;
        eprintln!(
            "profile: index {:.2} µs/event ({n} candidates), index and evaluation {:.2} µs/event ({hits} matches)",
            index * 1e6,
            eval * 1e6
        );
    }
}

fn run_shapes(one: &Engine, three: &Engine, audit: &Engine, events: &[Event]) {
    let now = Timestamp::from_secs(1_764_324_000);
    let run = |engine: &Engine| {
        let mut alerts = Vec::new();
        let t = Instant::now();
        engine.match_batch(black_box(events), now, &mut alerts);
        (
            events.len() as f64 / t.elapsed().as_secs_f64(),
            alerts.len(),
        )
    };
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let (mut hits_one, mut hits_three, mut hits_audit) = (0, 0, 0);
    for _ in 0..7 {
        let (eps, n) = run(one);
        a.push(eps);
        hits_one = n;
        let (eps, n) = run(three);
        b.push(eps);
        hits_three = n;
        let (eps, n) = run(audit);
        c.push(eps);
        hits_audit = n;
    }
    let (one_eps, three_eps) = (median(a), median(b));
    index_figures("windows, one shape", one, events);
    index_figures("windows, three shapes", three, events);
    index_figures("windows, three shapes and Security auditing", audit, events);
    eprintln!(
        "windows shapes: one shape {one_eps:.0} events/s ({hits_one} matches), three shapes {three_eps:.0} events/s ({hits_three} matches), ratio {:.2}x; three shapes and Security auditing {:.0} events/s ({hits_audit} matches) (medians of 7, one thread, {} rules, {} events)",
        one_eps / three_eps,
        median(c),
        one.len(),
        events.len()
    );
    assert_eq!(hits_one, hits_three, "one shape and three shapes differ");
}

/// Print the rules most often evaluated in vain (candidates that do not match).
fn rule_figures(engine: &Engine, events: &[Event]) {
    let mut tried = vec![0usize; engine.len()];
    let mut hit = vec![0usize; engine.len()];
    for e in events {
        for r in engine.candidates(e) {
            tried[r] += 1;
        }
    }
    engine.for_each_match(events, |_, r| hit[r] += 1);
    let mut order: Vec<usize> = (0..engine.len()).collect();
    order.sort_by_key(|&r| std::cmp::Reverse(tried[r] - hit[r]));
    for &r in order.iter().take(40) {
        let info = &engine.rules()[r];
        eprintln!(
            "{:>6} tried {:>6} matched  {}",
            tried[r],
            hit[r],
            info.path.rsplit('/').next().unwrap_or(&info.path)
        );
    }
}

/// Print the candidate index's figures for `engine` over `events`.
fn index_figures(what: &str, engine: &Engine, events: &[Event]) {
    let stats = engine.index_stats();
    let candidates: usize = events.iter().map(|e| engine.candidate_count(e)).sum();
    eprintln!(
        "{what}: {} rules, {} evaluated on every event, {} fields, {} atoms; \
         {:.1} rules evaluated per event on average ({:.2}%)",
        stats.rules,
        stats.always,
        stats.fields,
        stats.atoms,
        candidates as f64 / events.len() as f64,
        100.0 * candidates as f64 / (events.len() * stats.rules.max(1)) as f64
    );
}

fn bench(c: &mut Criterion) {
    let files = rule_files();
    if files.is_empty() {
        eprintln!("skipping: {CORPUS} is not present");
        return;
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| Some((p.display().to_string(), fs::read_to_string(p).ok()?)))
        .collect();

    // `ONEWALL_PROFILE=N`: only run onewall's matcher N times (for a profiler), then stop;
    // with `ONEWALL_PROFILE_SHAPES=one|three|audit`, the pipeline-routed engine of that line
    // of the shapes figures over the parsed events instead.
    let profile = std::env::var("ONEWALL_PROFILE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if profile.is_none() {
        load(&texts);
    }
    // The Windows rules in both engines.
    let windows: Vec<&(String, String)> = texts
        .iter()
        .filter(|(_, t)| t.contains("product: windows"))
        .collect();
    let shape = std::env::var("ONEWALL_PROFILE_SHAPES").ok();
    if let (Some(rounds), Some(shape)) = (profile, shape) {
        let mut json = common::windows::corpus_events();
        json.extend(common::windows::generated_events(GENERATED));
        let events: Vec<Event> = json.iter().map(as_parsed).collect();
        let engine = shape_engine(&windows, &shape);
        index_figures(&format!("windows, {shape}"), &engine, &events);
        if std::env::var_os("ONEWALL_PROFILE_RULES").is_some() {
            rule_figures(&engine, &events);
        }
        profile_run(&engine, &events, rounds);
        return;
    }
    let (ours, _) = Engine::compile(
        windows
            .iter()
            .map(|(p, t)| RuleSource::new(p.as_str(), t.as_str())),
    );
    let mut theirs = rsigma_eval::Engine::new();
    // (Not needed when profiling onewall alone.)
    for (_, t) in windows.iter().filter(|_| profile.is_none()) {
        if let Ok(coll) = rsigma_parser::parse_sigma_yaml(t) {
            for rule in &coll.rules {
                let _ = theirs.add_rule(rule);
            }
        }
    }
    let mut json = common::windows::corpus_events();
    json.extend(common::windows::generated_events(GENERATED));
    let events: Vec<_> = json
        .iter()
        .map(|v| common::event(v, Some(&v.to_string())))
        .collect();
    eprintln!(
        "windows: {} rules (onewall), {} rules (rsigma-eval), {} events",
        ours.len(),
        theirs.rule_count(),
        events.len()
    );

    index_figures("windows index", &ours, &events);

    // The same rules routed by logsource: the Sysmon and Windows pipelines add each rule's
    // EventID and Channel, which the candidate index then uses.
    let pipelines =
        PipelineSet::shipped(&["windows-sysmon", "windows-logsource"]).expect("shipped pipelines");
    let (routed, _) = Engine::compile_with_pipelines(
        windows
            .iter()
            .map(|(p, t)| RuleSource::new(p.as_str(), t.as_str())),
        &Placeholders::new(),
        &pipelines,
    );
    index_figures("windows index, routed by logsource", &routed, &events);

    let now = Timestamp::from_secs(1_764_324_000);
    let mut alerts: Vec<Alert> = Vec::new();
    let mut run_ours = || {
        alerts.clear();
        ours.match_batch(black_box(&events), now, &mut alerts);
        alerts.len()
    };
    let mut routed_alerts: Vec<Alert> = Vec::new();
    let mut run_routed = || {
        routed_alerts.clear();
        routed.match_batch(black_box(&events), now, &mut routed_alerts);
        routed_alerts.len()
    };
    let run_theirs = || {
        json.iter()
            .map(|v| {
                theirs
                    .evaluate(&rsigma_eval::JsonEvent::borrow(black_box(v)))
                    .len()
            })
            .sum::<usize>()
    };

    if profile.is_none() {
        shapes(&windows, &json);
    }

    if let Some(n) = profile {
        let t = Instant::now();
        let hits: usize = (0..n).map(|_| run_ours()).sum();
        eprintln!(
            "profile: onewall {:.0} events/s ({hits} matches over {n} rounds)",
            (n * events.len()) as f64 / t.elapsed().as_secs_f64()
        );
        return;
    }

    // Same-run medians for the ratio.
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    let (mut hits_ours, mut hits_theirs, mut hits_routed) = (0, 0, 0);
    for _ in 0..7 {
        let t = Instant::now();
        hits_ours = run_ours();
        a.push(events.len() as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        hits_routed = run_routed();
        r.push(events.len() as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        hits_theirs = run_theirs();
        b.push(events.len() as f64 / t.elapsed().as_secs_f64());
    }
    let (ours_eps, theirs_eps) = (median(a), median(b));
    eprintln!(
        "windows: onewall {ours_eps:.0} events/s ({hits_ours} matches), rsigma-eval \
         {theirs_eps:.0} events/s ({hits_theirs} matches), ratio {:.2}x (medians of 7, one thread)",
        ours_eps / theirs_eps
    );
    eprintln!(
        "windows, routed by logsource: onewall {:.0} events/s ({hits_routed} matches)",
        median(r)
    );

    let mut g = c.benchmark_group("windows");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function("onewall", |bch| bch.iter(&mut run_ours));
    g.bench_function("rsigma-eval", |bch| bch.iter(run_theirs));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
