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

/// A sample stream: NDJSON, one object per line, `{"offset_s": SECONDS, "fields": {...}}` with
/// the event time as seconds after a fixed start, or `"time": "RFC3339"` for an absolute time
/// instead of `offset_s`. `"repeat": N` makes N events of the line, `"every_s": S` seconds
/// apart (default 60) from its time, so a stream of weeks stays a few lines. The events are
/// sorted by time (lines of the same time keep their order).
pub fn read_stream(file: &Path) -> anyhow::Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{} line {}", file.display(), n + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
        let (t, repeat, every) =
            stream_line_times(&v).map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
        if !v["fields"].is_object() {
            anyhow::bail!("{}: fields is not an object", at());
        }
        let raw = v["fields"].to_string();
        for i in 0..repeat {
            let t = Timestamp(t.0.saturating_add(every.saturating_mul(i as i64)));
            let mut e = Event::new(
                t,
                RegionCode::HENAN,
                Source::new("sample", None),
                raw.as_bytes(),
            );
            e.time = t;
            e.fields.insert_json("", &v["fields"]);
            out.push(e);
        }
    }
    out.sort_by_key(|e| e.time);
    Ok(out)
}

/// Copies of one stream line at most.
const MAX_REPEAT: u64 = 1_000_000;

/// A stream line's time, how many events it makes and how far apart (nanoseconds).
fn stream_line_times(v: &serde_json::Value) -> Result<(Timestamp, u64, i64), String> {
    let start = Timestamp::from_secs(1_795_000_000);
    let t = match (&v["time"], &v["offset_s"]) {
        (serde_json::Value::String(s), serde_json::Value::Null) => Timestamp::parse_rfc3339(s)
            .map_err(|e| format!("time: {s:?} is not an RFC 3339 time: {e}"))?,
        (serde_json::Value::Null, o) => match o.as_f64() {
            Some(offset) => Timestamp(start.0.saturating_add((offset * 1e9) as i64)),
            None => return Err("no number offset_s (or time)".into()),
        },
        _ => return Err("give one of offset_s (a number) and time (RFC 3339)".into()),
    };
    let repeat = match &v["repeat"] {
        serde_json::Value::Null => 1,
        r => match r.as_u64() {
            Some(n @ 1..=MAX_REPEAT) => n,
            _ => return Err(format!("repeat: {r} is not a count from 1 to {MAX_REPEAT}")),
        },
    };
    let every = match &v["every_s"] {
        serde_json::Value::Null => 60.0,
        e => match e.as_f64() {
            Some(s) if s > 0.0 => s,
            _ => return Err(format!("every_s: {e} is not a positive number of seconds")),
        },
    };
    Ok((t, repeat, (every * 1e9) as i64))
}
