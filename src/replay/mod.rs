//! `onewall replay`: hunt over log files offline with the rules a node would run (packs with
//! their pipelines, rule directories, overlays, correlations), printing the hits and a summary.
//!
//! - [`input`]: what a file holds, found from its bytes (EVTX, JSON, gzip, text lines), split
//!   into units of work as it streams;
//! - [`hunt`]: the core (inputs, a [`RuleSet`], a sink of hits), on every core;
//! - [`output`]: table, JSON lines or CSV, progress and the summary.

pub mod hunt;
pub mod input;
pub mod output;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use onewall_model::{RegionCode, RegionTree, Timestamp};
use onewall_rules::pack::{RuleSet, RuleSetConfig};

pub use output::Output;

/// What `onewall replay` was asked.
#[derive(Debug)]
pub struct Replay {
    pub files: Vec<PathBuf>,
    /// `--rules`: directories of rules; one holding a `pack.yml` is read as a pack.
    pub rule_dirs: Vec<PathBuf>,
    /// `--pack`: rule packs.
    pub packs: Vec<PathBuf>,
    /// `--overlay`: overlay files; those of `region` and the regions above it apply.
    pub overlays: Vec<PathBuf>,
    pub builtin: bool,
    pub output: Output,
    pub timezone: time::UtcOffset,
    pub region: RegionCode,
    /// Worker threads; 0: one per core.
    pub threads: usize,
}

/// The rule set configuration for these flags: a `--rules` folder with a `pack.yml` is a
/// pack; without `--rules` or `--pack`, the built-in pack.
pub fn rule_set_config(r: &Replay) -> RuleSetConfig {
    let (packs, dirs): (Vec<PathBuf>, Vec<PathBuf>) = r
        .rule_dirs
        .iter()
        .cloned()
        .partition(|d| d.join("pack.yml").is_file());
    RuleSetConfig {
        builtin: r.builtin || (r.rule_dirs.is_empty() && r.packs.is_empty()),
        dirs,
        packs: r.packs.iter().cloned().chain(packs).collect(),
        overlays: r.overlays.clone(),
        placeholders: Default::default(),
    }
}

pub fn run(r: Replay) -> anyhow::Result<ExitCode> {
    for f in &r.files {
        if let Err(e) = std::fs::metadata(f) {
            anyhow::bail!("cannot read {}: {e}", f.display());
        }
    }
    let (rules, report) = RuleSet::load(
        &rule_set_config(&r),
        &RegionTree::builtin(),
        Timestamp::now(),
    )
    .map_err(|e| anyhow::anyhow!("rules: {e}"))?;
    for e in &report.load.errors {
        eprintln!("rule skipped: {e}");
    }
    for n in &report.notes {
        eprintln!("rules: {n}");
    }
    let packs: Vec<String> = report.packs.iter().map(|p| p.name.clone()).collect();
    eprintln!(
        "rules: compiled {} of {}, {} correlation(s){}",
        report.load.compiled,
        report.load.total,
        report.correlations,
        if packs.is_empty() {
            String::new()
        } else {
            format!(", packs: {}", packs.join(", "))
        }
    );
    let threads = if r.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        r.threads
    };
    let opts = hunt::Options {
        region: r.region,
        timezone: r.timezone,
        threads,
    };
    let inputs: Vec<input::Input> = r.files.iter().cloned().map(input::Input::Path).collect();
    let stdout = std::io::stdout();
    let mut printer = output::Printer::new(
        std::io::BufWriter::new(stdout.lock()),
        r.output,
        std::io::stderr().is_terminal(),
    );
    let summary = hunt::hunt(&inputs, &rules, &opts, &mut printer)?;
    printer.finish()?;
    // The process ends here: freeing the compiled rules one allocation at a time (thousands
    // of rules, hundreds of thousands of pieces) is work the system does at once at exit.
    std::mem::forget(rules);
    eprint!("{}", output::summary_text(&summary));
    if summary.unreadable.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
