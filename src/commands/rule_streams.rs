//! `onewall rules test` for correlation rules: their samples are event streams, run through the
//! folder's detection rules and correlations as the node runs them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use onewall_correlate::sigma::{SigmaConfig, SigmaCorrelator};
use onewall_model::{Event, EventId, RegionCode, Source, Timestamp};
use onewall_rules::correlation::{ResolvedCorrelation, load_correlations};
use onewall_rules::{Engine, RuleSource};

use super::rules::{Tally, check_samples, sample_files_ext};

/// Events per batch, as the node's detect stage hands them on.
const BATCH: usize = 10;

/// The folder's rules and correlations, compiled once.
pub struct Streams {
    engine: Engine,
    /// Resolved correlations by source path; unresolved ones with their reason.
    resolved: Vec<ResolvedCorrelation>,
    problems: HashMap<String, Vec<String>>,
}

impl Streams {
    pub fn new(sources: &[RuleSource]) -> Self {
        let (engine, _) = Engine::compile(sources.to_vec());
        let (set, report) = load_correlations(sources);
        let mut problems: HashMap<String, Vec<String>> = HashMap::new();
        for e in &report.errors {
            problems
                .entry(e.path.clone())
                .or_default()
                .push(e.to_string());
        }
        let (resolved, errors) = set.resolve(engine.rules());
        for e in errors {
            problems
                .entry(e.path.clone())
                .or_default()
                .push(e.to_string());
        }
        Streams {
            engine,
            resolved,
            problems,
        }
    }

    /// Whether `source` is a correlation document (it may be broken).
    pub fn is_correlation(&self, source: &RuleSource) -> bool {
        self.problems.contains_key(&source.path)
            || self.resolved.iter().any(|r| r.rule.path == source.path)
    }

    /// Test one correlation against its streams.
    pub fn test(
        &mut self,
        source: &RuleSource,
        samples: Option<&Path>,
        tally: &mut Tally,
    ) -> anyhow::Result<()> {
        let path = PathBuf::from(&source.path);
        if let Some(problems) = self.problems.get(&source.path) {
            for p in problems {
                println!("FAIL {p}");
            }
            tally.broken += 1;
            return Ok(());
        }
        let Some((matching, nonmatching)) = sample_files_ext(&path, samples, "ndjson") else {
            println!("SKIP {}: no sample event streams", path.display());
            tally.without_samples += 1;
            return Ok(());
        };
        let ids: Vec<String> = self
            .resolved
            .iter()
            .filter(|r| r.rule.path == source.path)
            .map(|r| r.rule.id.clone())
            .collect();
        let problems = check_samples(
            (matching, nonmatching),
            "sample stream",
            |file, want, problems| {
                let events = read_stream(file)?;
                if events.is_empty() {
                    problems.push(format!("{}: holds no events", file.display()));
                    return Ok(());
                }
                let fired = self.run(&events).iter().any(|id| ids.contains(id));
                if fired != want {
                    problems.push(format!(
                        "{}: {}",
                        file.display(),
                        if want {
                            "the correlation was not raised"
                        } else {
                            "the correlation was raised"
                        }
                    ));
                }
                Ok(())
            },
        )?;
        tally.record(&path, problems);
        Ok(())
    }

    /// The ids of the correlation rules a stream raises, on a fresh correlator.
    fn run(&self, events: &[Event]) -> Vec<String> {
        let mut corr = SigmaCorrelator::new(self.resolved.clone(), SigmaConfig::default());
        let lookup: HashMap<EventId, &Event> = events.iter().map(|e| (e.id, e)).collect();
        let now = Timestamp::now();
        let mut raised = Vec::new();
        for batch in events.chunks(BATCH) {
            let mut alerts = Vec::new();
            self.engine.match_batch(batch, now, &mut alerts);
            raised.extend(
                corr.process(&alerts, &lookup, now)
                    .into_iter()
                    .map(|a| a.rule.id),
            );
        }
        raised
    }
}

/// A sample stream: NDJSON of `{"offset_s": SECONDS, "fields": {...}}`, event times counted
/// from a fixed start.
pub fn read_stream(file: &Path) -> anyhow::Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let start = Timestamp::from_secs(1_795_000_000);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", file.display(), n + 1))?;
        let Some(offset) = v["offset_s"].as_f64() else {
            anyhow::bail!("{} line {}: no number offset_s", file.display(), n + 1);
        };
        if !v["fields"].is_object() {
            anyhow::bail!("{} line {}: fields is not an object", file.display(), n + 1);
        }
        let t = Timestamp(start.0.saturating_add((offset * 1e9) as i64));
        let mut e = Event::new(
            t,
            RegionCode::HENAN,
            Source::new("sample", None),
            v["fields"].to_string().as_bytes(),
        );
        e.time = t;
        e.fields.insert_json("", &v["fields"]);
        out.push(e);
    }
    Ok(out)
}
