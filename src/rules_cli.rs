//! Tools for rule authors: `onewall rules check`, `onewall rules test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onewall_model::{Event, RegionCode, Source, Timestamp};
use onewall_rules::{Engine, RuleSource, read_rule_dir};

/// Compile every rule under `dir`; list each that fails with its reason, then a summary.
pub fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let (_engine, report) = Engine::load_dir(dir)?;
    for e in &report.errors {
        println!("{e}");
    }
    println!("compiled {} of {} rules", report.compiled, report.total);
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The outcome of testing one rule file against its samples.
#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    failed: usize,
    without_samples: usize,
    broken: usize,
}

/// Run each rule's own sample events. For a rule file `DIR/x.yml` the samples are, in order of
/// preference: `DIR/x.match.json` and `DIR/x.nomatch.json` beside it, `DIR/x/match.json` and
/// `DIR/x/nomatch.json`, or `SAMPLES/x/match.json` and `SAMPLES/x/nomatch.json` when
/// `--samples SAMPLES` is given. A sample file holds one JSON object of flat dotted field names,
/// an array of them, or NDJSON. Every event of a match file must fire the rule; no event of a
/// nomatch file may.
pub fn test(dir: &Path, samples: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (sources, read_report) = read_rule_dir(dir)?;
    let mut tally = Tally::default();
    for e in &read_report.errors {
        println!("FAIL {e}");
        tally.broken += 1;
    }
    for source in sources {
        test_one(&source, samples, &mut tally)?;
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
    let mut problems = Vec::new();
    for (file, want) in [(matching, true), (nonmatching, false)] {
        let Some(file) = file else {
            problems.push(format!(
                "no {} sample file",
                if want { "match" } else { "nomatch" }
            ));
            continue;
        };
        let events = read_samples(&file)?;
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
    }
    if problems.is_empty() {
        println!("ok   {}", path.display());
        tally.passed += 1;
    } else {
        for p in problems {
            println!("FAIL {}: {p}", path.display());
        }
        tally.failed += 1;
    }
    Ok(())
}

type SampleFiles = (Option<PathBuf>, Option<PathBuf>);

fn sample_files(rule: &Path, samples: Option<&Path>) -> Option<SampleFiles> {
    let stem = rule.file_stem()?.to_str()?;
    let dir = rule.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![
        (
            dir.join(format!("{stem}.match.json")),
            dir.join(format!("{stem}.nomatch.json")),
        ),
        (
            dir.join(stem).join("match.json"),
            dir.join(stem).join("nomatch.json"),
        ),
    ];
    if let Some(s) = samples {
        candidates.push((
            s.join(stem).join("match.json"),
            s.join(stem).join("nomatch.json"),
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
