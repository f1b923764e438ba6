//! `onewall replay` over EVTX files with the SigmaHQ Windows rules, side by side with
//! Chainsaw on the same files: events/s per core (each tool pinned to one core with
//! `taskset -c 0`) and with all cores, EVTX parsing included, and the detection counts of
//! both, total and per rule, with the largest per-rule differences.
//!
//! The workload is the corpus' `.evtx` files (`../shared/corpus/evtx/`, the damaged ones too)
//! copied `ONEWALL_REPLAY_COPIES` times into a temporary folder; the pack is a `pack.yml` in a
//! temporary folder naming `../shared/corpus/sigmahq/rules/windows` and the Windows pipelines.
//!
//! `cargo bench --bench replay_evtx` runs the full size; under `cargo test` it runs once, small,
//! without Chainsaw. Chainsaw runs when `ONEWALL_CHAINSAW` names its binary and
//! `ONEWALL_CHAINSAW_MAPPING` its `sigma-event-logs-all.yml` (from Chainsaw's repository; it is
//! not part of this one). `ONEWALL_REPLAY_RUNS` sets the number of runs (the median is kept).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The shared corpus beside the work tree, when it is there.
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    (dir.join("evtx").is_dir() && dir.join("sigmahq/rules/windows").is_dir())
        .then(|| dir.canonicalize().unwrap())
}

/// The corpus file Chainsaw (its `evtx` 0.8 reader) never returns on, its memory growing
/// without bound; left out of the workload when Chainsaw runs.
const CHAINSAW_HANGS_ON: &str = "sample-with-zero-data-size-event.evtx";

/// Copies every `.evtx` file of `src` (but `leave_out`) `copies` times into `dst`; returns the
/// copies and their total size in bytes.
fn build_workload(
    src: &Path,
    dst: &Path,
    copies: usize,
    leave_out: Option<&str>,
) -> (Vec<PathBuf>, u64) {
    let mut originals: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .filter(|p| leave_out.is_none_or(|l| p.file_name().is_some_and(|n| n != l)))
        .collect();
    originals.sort();
    assert!(!originals.is_empty(), "no .evtx file in {}", src.display());
    let (mut files, mut bytes) = (Vec::new(), 0);
    for copy in 0..copies {
        for original in &originals {
            let name = original.file_name().unwrap().to_string_lossy();
            let to = dst.join(format!("{copy:03}-{name}"));
            bytes += std::fs::copy(original, &to).unwrap();
            files.push(to);
        }
    }
    (files, bytes)
}

/// A pack of SigmaHQ's Windows rules with the pipelines that read evtx-shaped events.
fn write_pack(dir: &Path, windows_rules: &Path) -> PathBuf {
    let pack = dir.join("sigmahq-windows");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(
        pack.join("pack.yml"),
        format!(
            "name: sigmahq-windows\nrules: [{}]\n\
             pipelines: [windows-sysmon, windows-logsource, windows-evtx]\n\
             disable: {{statuses: [deprecated, unsupported]}}\n",
            serde_json::to_string(&windows_rules.display().to_string()).unwrap()
        ),
    )
    .unwrap();
    pack
}

/// What one run of one tool gave.
#[derive(Default)]
struct Run {
    secs: f64,
    /// Events read, as the tool reports them (Chainsaw reports none).
    events: Option<u64>,
    /// Detections by rule id: (title, count).
    by_rule: BTreeMap<String, (String, u64)>,
}

impl Run {
    fn total(&self) -> u64 {
        self.by_rule.values().map(|(_, n)| n).sum()
    }

    fn count(&mut self, id: &str, title: &str) {
        let e = self
            .by_rule
            .entry(id.to_owned())
            .or_insert_with(|| (title.to_owned(), 0));
        e.1 += 1;
    }
}

/// `cmd` pinned to core 0 when `pinned`.
fn command(bin: &Path, pinned: bool) -> Command {
    if pinned {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("0").arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// The events count of the replay summary on stderr (`replay: … file(s) (…), N events, …`).
fn events_in_summary(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.starts_with("replay: "))?;
    let before = &line[..line.find(" events")?];
    before.rsplit(' ').next()?.replace(',', "").parse().ok()
}

fn run_onewall(bin: &Path, pack: &Path, files: &[PathBuf], pinned: bool, out: &Path) -> Run {
    let stdout = std::fs::File::create(out).unwrap();
    let start = Instant::now();
    let o = command(bin, pinned)
        .arg("replay")
        .arg("--pack")
        .arg(pack)
        .args(["--output", "json"])
        .args(files)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "onewall replay failed: {stderr}");
    let mut run = Run {
        secs,
        events: events_in_summary(&stderr),
        ..Run::default()
    };
    for line in std::fs::read_to_string(out).unwrap().lines() {
        let Ok(hit) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let rule = &hit["alert"]["rule"];
        if let (Some(id), Some(title)) = (rule["id"].as_str(), rule["title"].as_str()) {
            run.count(id, title);
        }
    }
    run
}

struct Chainsaw {
    bin: PathBuf,
    mapping: PathBuf,
}

fn run_chainsaw(c: &Chainsaw, rules: &Path, dir: &Path, pinned: bool, out: &Path) -> Run {
    let start = Instant::now();
    let o = command(&c.bin, pinned)
        .args(["--no-banner", "hunt"])
        .arg(dir)
        .arg("-s")
        .arg(rules)
        .arg("--mapping")
        .arg(&c.mapping)
        // Without it Chainsaw stops at the first damaged record of the corpus.
        .args(["--skip-errors", "--json", "-q", "-o"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "chainsaw failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out).unwrap();
    let detections: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut run = Run {
        secs,
        ..Run::default()
    };
    for d in &detections {
        let title = d["name"].as_str().unwrap_or("?");
        run.count(d["id"].as_str().unwrap_or(title), title);
    }
    run
}

/// The run with the median time.
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// Totals, the rules only one side fired, and the largest per-rule differences.
fn compare(ours: &Run, theirs: &Run, copies: usize) {
    println!(
        "replay_evtx: detections per copy of the corpus: onewall {} on {} rules, chainsaw {} on {} rules",
        ours.total() / copies as u64,
        ours.by_rule.len(),
        theirs.total() / copies as u64,
        theirs.by_rule.len()
    );
    let ids: BTreeSet<&String> = ours.by_rule.keys().chain(theirs.by_rule.keys()).collect();
    let mut diffs: Vec<(i64, &str, u64, u64)> = ids
        .into_iter()
        .map(|id| {
            let (t1, a) = ours
                .by_rule
                .get(id)
                .map_or(("", 0), |(t, n)| (t.as_str(), *n));
            let (t2, b) = theirs
                .by_rule
                .get(id)
                .map_or(("", 0), |(t, n)| (t.as_str(), *n));
            let title = if t1.is_empty() { t2 } else { t1 };
            let (a, b) = (a / copies as u64, b / copies as u64);
            (a as i64 - b as i64, title, a, b)
        })
        .filter(|d| d.0 != 0)
        .collect();
    diffs.sort_by_key(|d| std::cmp::Reverse(d.0.unsigned_abs()));
    println!(
        "replay_evtx: {} rules differ; the largest (per copy: onewall / chainsaw):",
        diffs.len()
    );
    for (_, title, a, b) in diffs.iter().take(25) {
        println!("  {a:>6} / {b:<6} {title}");
    }
}

fn per_sec(events: u64, secs: f64) -> f64 {
    events as f64 / secs.max(1e-9)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let Some(corpus) = corpus() else {
        println!("replay_evtx: not run (no shared corpus beside the work tree)");
        return;
    };
    let copies = env_usize("ONEWALL_REPLAY_COPIES", if full { 3 } else { 1 }).max(1);
    let runs = env_usize("ONEWALL_REPLAY_RUNS", if full { 3 } else { 1 }).max(1);
    let chainsaw = match (
        env_path("ONEWALL_CHAINSAW"),
        env_path("ONEWALL_CHAINSAW_MAPPING"),
    ) {
        (Some(bin), Some(mapping)) if full => Some(Chainsaw { bin, mapping }),
        (Some(_), None) if full => panic!("ONEWALL_CHAINSAW needs ONEWALL_CHAINSAW_MAPPING"),
        _ => None,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("evtx");
    std::fs::create_dir_all(&data).unwrap();
    let leave_out = chainsaw.as_ref().map(|_| CHAINSAW_HANGS_ON);
    if let Some(l) = leave_out {
        println!("replay_evtx: {l} left out (Chainsaw does not return on it)");
    }
    let (files, bytes) = build_workload(&corpus.join("evtx"), &data, copies, leave_out);
    let windows = corpus.join("sigmahq/rules/windows");
    let pack = write_pack(tmp.path(), &windows);
    let this = Path::new(env!("CARGO_BIN_EXE_onewall"));
    let out = tmp.path().join("out.json");

    let (mut ours, mut ours_all, mut theirs, mut theirs_all) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        ours.push(run_onewall(this, &pack, &files, true, &out));
        if let Some(c) = &chainsaw {
            theirs.push(run_chainsaw(c, &windows, &data, true, &out));
        }
        if full {
            ours_all.push(run_onewall(this, &pack, &files, false, &out));
            if let Some(c) = &chainsaw {
                theirs_all.push(run_chainsaw(c, &windows, &data, false, &out));
            }
        }
    }
    let ours = median(ours);
    let events = ours
        .events
        .expect("onewall replay reports the events it read");
    assert!(events > 0, "onewall replay read no event");
    assert!(
        ours.total() > 0,
        "the SigmaHQ Windows rules fired on nothing"
    );
    println!(
        "replay_evtx: {} files ({:.1} MiB), {events} events, SigmaHQ Windows rules, {runs} run(s)",
        files.len(),
        bytes as f64 / 1048576.0
    );
    let ours_core = per_sec(events, ours.secs);
    println!(
        "replay_evtx: onewall   1 core: {ours_core:>9.0} events/s ({:.2} s)",
        ours.secs
    );
    if !ours_all.is_empty() {
        let all = median(ours_all);
        println!(
            "replay_evtx: onewall   {cores} cores: {:>8.0} events/s ({:.2} s)",
            per_sec(events, all.secs),
            all.secs
        );
    }
    if theirs.is_empty() {
        println!(
            "replay_evtx: chainsaw not run (set ONEWALL_CHAINSAW and ONEWALL_CHAINSAW_MAPPING)"
        );
        return;
    }
    let theirs = median(theirs);
    let theirs_core = per_sec(events, theirs.secs);
    println!(
        "replay_evtx: chainsaw 1 core: {theirs_core:>9.0} events/s ({:.2} s)",
        theirs.secs
    );
    if !theirs_all.is_empty() {
        let all = median(theirs_all);
        println!(
            "replay_evtx: chainsaw {cores} cores: {:>8.0} events/s ({:.2} s)",
            per_sec(events, all.secs),
            all.secs
        );
    }
    println!(
        "replay_evtx: onewall / chainsaw per core = {:.1}x (goal 30x)",
        ours_core / theirs_core
    );
    compare(&ours, &theirs, copies);
}
