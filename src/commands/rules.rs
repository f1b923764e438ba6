//! Tools for rule authors: `onewall rules check`, `onewall rules test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onewall_model::{Event, RegionCode, Source, Timestamp};
use onewall_rules::pack::{RuleSet, RuleSetConfig};
use onewall_rules::{Engine, Placeholders, RuleSource, read_rule_dir};

use crate::live_rules::placeholders;

/// Compile every rule under `dir`; list each that fails with its reason, then a summary.
/// A directory with a `pack.yml` is read as a pack (its pipelines and enable/disable apply).
/// `config` supplies the `expand` placeholders (`[rules.placeholders]`).
pub fn check(dir: &Path, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let placeholders = match config {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let r = crate::config::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            placeholders(&r.config.rules)
        }
        None => Placeholders::new(),
    };
    let is_pack = dir.join("pack.yml").is_file();
    let cfg = RuleSetConfig {
        builtin: false,
        dirs: if is_pack {
            vec![]
        } else {
            vec![dir.to_owned()]
        },
        packs: if is_pack {
            vec![dir.to_owned()]
        } else {
            vec![]
        },
        overlays: Vec::new(),
        placeholders,
    };
    let (set, full) = RuleSet::load(
        &cfg,
        &onewall_model::RegionTree::builtin(),
        Timestamp::now(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for pack in &full.packs {
        if pack.disabled > 0 {
            println!(
                "pack {}: {} rules disabled by its manifest",
                pack.name, pack.disabled
            );
        }
    }
    for c in set.correlations().iter().map(|c| c.info()) {
        let counts: Vec<String> = c
            .rules
            .iter()
            .map(|r| {
                if r.reference == r.id {
                    format!("{} {}", r.kind, r.id)
                } else {
                    format!("{} {} ({})", r.kind, r.reference, r.id)
                }
            })
            .collect();
        println!(
            "correlation {} ({}): '{}' counts {}; group-by [{}] over {}s, {}{}",
            c.id,
            c.kind,
            c.title,
            counts.join(", "),
            c.group_by.join(", "),
            c.timespan_secs,
            c.field
                .as_deref()
                .map(|f| format!("{f} "))
                .unwrap_or_default(),
            c.condition,
        );
    }
    let detectors_ok = check_detectors(&set);
    let report = full.load;
    for e in &report.errors {
        println!("{e}");
    }
    println!("compiled {} of {} rules", report.compiled, report.total);
    Ok(if report.errors.is_empty() && detectors_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Compile the anomaly detectors of `set` (default `[anomaly]` settings); list each, and each
/// that does not load with its reason. Answers whether all loaded.
fn check_detectors(set: &RuleSet) -> bool {
    let (sources, placeholders) = set.anomaly_sources();
    if sources.is_empty() {
        return true;
    }
    let (detectors, report) = onewall_anomaly::DetectorSet::compile(
        sources,
        placeholders,
        &onewall_anomaly::AnomalyConfig::default(),
    );
    for d in detectors.detectors() {
        println!(
            "detector {} ({}): '{}' group-by [{}] field [{}], learning {}s",
            d.id,
            d.kind.as_str(),
            d.title,
            d.group_by.join(", "),
            d.field.join(", "),
            d.learning_secs
        );
    }
    for e in &report.errors {
        println!("{e}");
    }
    report.errors.is_empty()
}

/// The outcome of testing one rule file against its samples.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) without_samples: usize,
    pub(crate) broken: usize,
}

/// Run each rule's own sample events. For a rule file `DIR/x.yml` the samples are, in order of
/// preference: `DIR/x.match.json` and `DIR/x.nomatch.json` beside it, `DIR/x/match.json` and
/// `DIR/x/nomatch.json`, or `SAMPLES/x/match.json` and `SAMPLES/x/nomatch.json` when
/// `--samples SAMPLES` is given. A sample file holds one JSON object of flat dotted field names,
/// an array of them, or NDJSON. Every event of a match file must fire the rule; no event of a
/// nomatch file may.
///
/// A correlation rule's samples are event streams: `x.match.ndjson`/`x.nomatch.ndjson` beside
/// it or `x/match.ndjson`/`x/nomatch.ndjson` (also under `--samples`), one JSON object per line,
/// `{"offset_s": SECONDS, "fields": {...}}` with the event time as seconds after the stream's
/// start. The stream runs through the folder's rules and correlations as the node runs them;
/// the match stream must raise the correlation, the nomatch stream must not.
///
/// An anomaly detector's samples (a document with a top-level `anomaly:` key) are event
/// streams of the same names, fed in batches through a fresh state of the folder's detectors
/// (default `[anomaly]` settings): the match stream must make the detector raise an alert,
/// the nomatch stream must not. A stream line may give `"time": "RFC3339"` instead of
/// `offset_s`, and `"repeat": N` with `"every_s": S` for N events S seconds apart (learning
/// periods of weeks in a few lines); see [`super::rule_streams::read_stream`].
pub fn test(dir: &Path, samples: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (sources, read_report) = read_rule_dir(dir)?;
    let mut tally = Tally::default();
    for e in &read_report.errors {
        println!("FAIL {e}");
        tally.broken += 1;
    }
    let mut streams = super::rule_streams::Streams::new(&sources);
    let detectors = super::anomaly_streams::DetectorStreams::new(&sources);
    for source in sources {
        if source.may_hold_anomaly() {
            detectors.test(&source, samples, &mut tally)?;
        } else if streams.is_correlation(&source) {
            streams.test(&source, samples, &mut tally)?;
        } else {
            test_one(&source, samples, &mut tally)?;
        }
    }
    println!(
        "tested {} rules: {} passed, {} failed, {} without samples, {} did not compile",
        tally.passed + tally.failed + tally.without_samples + tally.broken,
        tally.passed,
        tally.failed,
        tally.without_samples,
        tally.broken
    );
    Ok(if tally.failed + tally.broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn test_one(source: &RuleSource, samples: Option<&Path>, tally: &mut Tally) -> anyhow::Result<()> {
    let path = PathBuf::from(&source.path);
    let (engine, report) = Engine::compile([source.clone()]);
    if !report.errors.is_empty() {
        for e in &report.errors {
            println!("FAIL {e}");
        }
        tally.broken += 1;
        return Ok(());
    }
    let Some((matching, nonmatching)) = sample_files(&path, samples) else {
        println!("SKIP {}: no sample events", path.display());
        tally.without_samples += 1;
        return Ok(());
    };
    let problems = check_samples(
        (matching, nonmatching),
        "sample file",
        |file, want, problems| {
            let events = read_samples(file)?;
            if events.is_empty() {
                problems.push(format!("{}: holds no events", file.display()));
            }
            for (i, event) in events.iter().enumerate() {
                let fired = !engine.matching_rules(event).is_empty();
                if fired != want {
                    problems.push(format!(
                        "{} event {}: {}",
                        file.display(),
                        i + 1,
                        if want { "did not fire" } else { "fired" }
                    ));
                }
            }
            Ok(())
        },
    )?;
    tally.record(&path, problems);
    Ok(())
}

pub(crate) type SampleFiles = (Option<PathBuf>, Option<PathBuf>);

/// Run `check` on the match file (`want` true) and the nomatch file (`want` false); a missing
/// one is a problem ("no match `what`"). Answers the problems found.
pub(crate) fn check_samples(
    (matching, nonmatching): SampleFiles,
    what: &str,
    mut check: impl FnMut(&Path, bool, &mut Vec<String>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for (file, want) in [(matching, true), (nonmatching, false)] {
        match file {
            Some(file) => check(&file, want, &mut problems)?,
            None => problems.push(format!(
                "no {} {what}",
                if want { "match" } else { "nomatch" }
            )),
        }
    }
    Ok(problems)
}

impl Tally {
    /// Print the rule's result and count it.
    pub(crate) fn record(&mut self, path: &Path, problems: Vec<String>) {
        if problems.is_empty() {
            println!("ok   {}", path.display());
            self.passed += 1;
        } else {
            for p in problems {
                println!("FAIL {}: {p}", path.display());
            }
            self.failed += 1;
        }
    }
}

fn sample_files(rule: &Path, samples: Option<&Path>) -> Option<SampleFiles> {
    sample_files_ext(rule, samples, "json")
}

/// The match and nomatch files of `rule` with extension `ext`, found as [`test`] says.
pub(crate) fn sample_files_ext(
    rule: &Path,
    samples: Option<&Path>,
    ext: &str,
) -> Option<SampleFiles> {
    let stem = rule.file_stem()?.to_str()?;
    let dir = rule.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![
        (
            dir.join(format!("{stem}.match.{ext}")),
            dir.join(format!("{stem}.nomatch.{ext}")),
        ),
        (
            dir.join(stem).join(format!("match.{ext}")),
            dir.join(stem).join(format!("nomatch.{ext}")),
        ),
    ];
    if let Some(s) = samples {
        candidates.push((
            s.join(stem).join(format!("match.{ext}")),
            s.join(stem).join(format!("nomatch.{ext}")),
        ));
    }
    candidates.into_iter().find_map(|(m, n)| {
        let (m, n) = (m.is_file().then_some(m), n.is_file().then_some(n));
        (m.is_some() || n.is_some()).then_some((m, n))
    })
}

/// Events from a sample file: one object, an array of objects, or NDJSON.
pub fn read_samples(file: &Path) -> anyhow::Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l)
                    .with_context(|| format!("{} line {}: not JSON", file.display(), n + 1))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_object() {
                anyhow::bail!("{} event {}: expected a JSON object", file.display(), i + 1);
            }
            let raw = v.to_string();
            let mut e = Event::new(
                Timestamp::now(),
                RegionCode::HENAN,
                Source::new("sample", None),
                raw.as_bytes(),
            );
            e.fields.insert_json("", v);
            Ok(e)
        })
        .collect()
}
