//! `onewall rules test` for anomaly detectors: their samples are event streams (as
//! correlations' are, [`super::rule_streams::read_stream`]), fed in batches through a fresh
//! state of the folder's detectors with the default settings (`AnomalyConfig::default()`:
//! China's calendar on UTC+8). The match stream must make the detector raise at least one
//! alert, the nomatch stream none.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use onewall_anomaly::{Anomalies, AnomalyConfig, DetectorSet};
use onewall_model::{Event, Timestamp};
use onewall_rules::{Placeholders, RuleSource};

use super::rule_streams::read_stream;
use super::rules::{Tally, check_samples, sample_files_ext};

/// Events per batch, as the node's detect stage may hand them on.
const BATCH: usize = 100;

/// The folder's detectors, compiled once.
pub struct DetectorStreams {
    set: Arc<DetectorSet>,
    /// Why a file's detector did not load, by path.
    problems: HashMap<String, Vec<String>>,
}

impl DetectorStreams {
    pub fn new(sources: &[RuleSource]) -> Self {
        let mine: Vec<RuleSource> = sources
            .iter()
            .filter(|s| s.may_hold_anomaly())
            .cloned()
            .collect();
        let (set, report) =
            DetectorSet::compile(&mine, &Placeholders::new(), &AnomalyConfig::default());
        let mut problems: HashMap<String, Vec<String>> = HashMap::new();
        for e in &report.errors {
            problems
                .entry(e.path.clone())
                .or_default()
                .push(e.to_string());
        }
        DetectorStreams {
            set: Arc::new(set),
            problems,
        }
    }

    /// Test the detectors of one file against its streams.
    pub fn test(
        &self,
        source: &RuleSource,
        samples: Option<&Path>,
        tally: &mut Tally,
    ) -> anyhow::Result<()> {
        let path = PathBuf::from(&source.path);
        let ids: Vec<String> = self
            .set
            .detectors()
            .iter()
            .filter(|d| d.path == source.path)
            .map(|d| d.id.clone())
            .collect();
        if let Some(problems) = self.problems.get(&source.path) {
            for p in problems {
                println!("FAIL {p}");
            }
            tally.broken += 1;
            return Ok(());
        }
        if ids.is_empty() {
            println!(
                "FAIL {}: no anomaly detector loaded from it",
                path.display()
            );
            tally.broken += 1;
            return Ok(());
        }
        let Some(files) = sample_files_ext(&path, samples, "ndjson") else {
            println!("SKIP {}: no sample event streams", path.display());
            tally.without_samples += 1;
            return Ok(());
        };
        let problems = check_samples(files, "sample stream", |file, want, problems| {
            let events = read_stream(file)?;
            if events.is_empty() {
                problems.push(format!("{}: holds no events", file.display()));
                return Ok(());
            }
            let raised = self.run(&events, &ids);
            if (raised > 0) != want {
                problems.push(format!(
                    "{}: {}",
                    file.display(),
                    if want {
                        "the detector raised no alert".to_owned()
                    } else {
                        format!("the detector raised {raised} alert(s)")
                    }
                ));
            }
            Ok(())
        })?;
        tally.record(&path, problems);
        Ok(())
    }

    /// How many alerts the detectors `ids` raise over `events`, on a fresh state.
    fn run(&self, events: &[Event], ids: &[String]) -> usize {
        let mut state = Anomalies::new(self.set.clone(), AnomalyConfig::default());
        let now = Timestamp::now();
        let mut alerts = Vec::new();
        for batch in events.chunks(BATCH) {
            state.observe_batch(batch, now, &mut alerts);
        }
        alerts.iter().filter(|a| ids.contains(&a.rule.id)).count()
    }
}
