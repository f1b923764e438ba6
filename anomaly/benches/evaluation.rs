//! The evaluation you can show (issue 20): a generated month of traffic for 1,000 users and
//! 200 hosts with injected anomalies of every kind, run through onewall's detectors
//! (`anomaly/eval/*.yml`) and, on the same features, through two standard streaming
//! baselines from the Python ecosystem (`anomaly/eval/baselines.py`: river's HalfSpaceTrees
//! and a robust z-score per entity). Prints precision and recall per kind, each baseline at
//! the threshold that gives it onewall's recall, and false alarms per day per 1,000 entities
//! on the same month without injections.
//!
//! `cargo bench -p onewall-anomaly --bench evaluation` (`ONEWALL_EVAL_SEED` to change the
//! seed). The generator, the features, the labels and the scoring: `anomaly/eval/README.md`.

#[path = "eval/features.rs"]
mod features;
#[path = "eval/month.rs"]
mod month;
#[path = "eval/report.rs"]
mod report;
#[path = "eval/score.rs"]
mod score;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onewall_anomaly::{Anomalies, AnomalyConfig, DetectorSet};
use onewall_model::{Alert, Event, Timestamp};
use onewall_rules::{Placeholders, RuleSource};

use features::{Features, Row};
use month::{DAYS, Month};
use score::Alarm;

/// What one month's run through onewall gave.
struct Run {
    alarms: Vec<Alarm>,
    rows: Vec<Row>,
    events: usize,
    busy: Duration,
}

fn main() {
    // A month of events twice and the Python baselines take minutes: only `cargo bench` runs
    // them. Under `cargo test` the generator is checked by `tests/generator.rs`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("evaluation: run with `cargo bench -p onewall-anomaly --bench evaluation`");
        return;
    }
    let seed = std::env::var("ONEWALL_EVAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(month::DEFAULT_SEED);
    let eval_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let set = Arc::new(load_detectors(&eval_dir));
    println!(
        "evaluation: seed {seed}, {} detectors, 2026-09-14 … 2026-10-13 (UTC+8), learning 14 days",
        set.len()
    );
    let injected = Month::new(seed, true);
    let clean = Month::new(seed, false);
    let with = run(&set, &injected);
    let without = run(&set, &clean);
    for (name, r) in [("injected", &with), ("clean", &without)] {
        println!(
            "onewall, {name} month: {} events, {} alerts, {:.2} M events/s in the detectors",
            r.events,
            r.alarms.len(),
            r.events as f64 / r.busy.as_secs_f64().max(1e-9) / 1e6
        );
    }
    let baselines = if std::env::var("ONEWALL_EVAL_BASELINES").is_ok_and(|v| v == "0") {
        Err("ONEWALL_EVAL_BASELINES=0".to_owned())
    } else {
        run_baselines(&eval_dir, &with.rows, &without.rows)
    };
    let input = report::Input {
        injections: &injected.injections,
        onewall: (&with.alarms, &without.alarms),
        rows: (&with.rows, &without.rows),
        baselines: baselines.as_ref(),
    };
    print!("{}", report::render(&input));
    if std::env::var_os("ONEWALL_EVAL_DEBUG").is_some() {
        print!("{}", report::misses(&input));
    }
}

/// Every `*.yml` of `dir`, compiled; a detector that does not load stops the evaluation.
fn load_detectors(dir: &Path) -> DetectorSet {
    let mut sources = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let name = format!(
            "eval/{}",
            p.file_name().unwrap_or_default().to_string_lossy()
        );
        sources.push(RuleSource::new(name, text));
    }
    let (set, report) =
        DetectorSet::compile(&sources, &Placeholders::new(), &AnomalyConfig::default());
    for e in &report.errors {
        eprintln!("detector {} ({:?}): {}", e.path, e.rule_id, e.reason);
    }
    assert!(
        report.errors.is_empty(),
        "the evaluation's detectors must all load"
    );
    set
}

fn run(set: &Arc<DetectorSet>, month: &Month) -> Run {
    let mut anomalies = Anomalies::new(Arc::clone(set), AnomalyConfig::default());
    let mut features = Features::default();
    let mut alerts: Vec<Alert> = Vec::new();
    let (mut events, mut busy) = (0, Duration::ZERO);
    for day in 0..DAYS {
        let recs = month.day(day);
        features.add_day(month, day, &recs);
        for chunk in recs.chunks(1024) {
            let batch: Vec<Event> = chunk.iter().map(|r| month::event(month, r)).collect();
            let now = batch.last().map_or(Timestamp(0), |e| e.time);
            let start = Instant::now();
            anomalies.observe_batch(&batch, now, &mut alerts);
            busy += start.elapsed();
            events += batch.len();
        }
    }
    let alarms = alerts
        .iter()
        .filter_map(|a| {
            let an = a.anomaly.as_ref()?;
            let entity: Vec<&str> = an.group.iter().map(|g| g.value.as_str()).collect();
            Some(Alarm {
                kind: an.kind,
                entity: entity.join("/"),
                time: a.time.secs(),
                why: an.explanation.clone(),
            })
        })
        .collect();
    let mut rows = features.rows;
    features::sort(&mut rows);
    Run {
        alarms,
        rows,
        events,
        busy,
    }
}

/// The baselines' scores (HalfSpaceTrees, robust z) for the rows of both months, or why there
/// are none.
pub type Scores = Result<report::MonthScores, String>;

fn run_baselines(eval_dir: &Path, with: &[Row], without: &[Row]) -> Scores {
    ensure_river()?;
    let tmp = std::env::temp_dir().join(format!("onewall-eval-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let (feat, scores) = (tmp.join("features.csv"), tmp.join("scores.csv"));
    let csv = features::csv(&[("injected", with), ("clean", without)]);
    std::fs::write(&feat, csv).map_err(|e| format!("writing {}: {e}", feat.display()))?;
    let start = Instant::now();
    let status = Command::new("python3")
        .arg(eval_dir.join("baselines.py"))
        .args([&feat, &scores])
        .status()
        .map_err(|e| format!("running python3: {e}"))?;
    if !status.success() {
        return Err(format!("baselines.py failed: {status}"));
    }
    println!(
        "baselines (python): {} rows in {:.1} s",
        with.len() + without.len(),
        start.elapsed().as_secs_f64()
    );
    let text = std::fs::read_to_string(&scores).map_err(|e| format!("reading scores: {e}"))?;
    if std::env::var_os("ONEWALL_EVAL_KEEP").is_some() {
        println!("features and scores kept in {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let all: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (h, z) = l.split_once(',').unwrap_or(("nan", "nan"));
            (h.parse().unwrap_or(f64::NAN), z.parse().unwrap_or(f64::NAN))
        })
        .collect();
    if all.len() != with.len() + without.len() {
        return Err(format!(
            "baselines.py wrote {} scores for {} rows",
            all.len(),
            with.len() + without.len()
        ));
    }
    let (a, b) = all.split_at(with.len());
    Ok((a.to_vec(), b.to_vec()))
}

const RIVER_CHECK: &str =
    "import numpy, river; from river import anomaly; assert river.__version__ == '0.26.1'";

/// river 0.26.1 (0.26.0 does not import on Python 3.11), installed with pip as `scripts/test` installs its Python packages.
fn ensure_river() -> Result<(), String> {
    let has = || {
        Command::new("python3")
            .args(["-c", RIVER_CHECK])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has() {
        return Ok(());
    }
    for extra in [&[][..], &["--break-system-packages"][..]] {
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "river==0.26.1"])
            .args(extra)
            .status();
        if has() {
            return Ok(());
        }
    }
    Err("python3 cannot import river 0.26.1 (pip install river==0.26.1 failed)".into())
}
