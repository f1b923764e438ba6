//! Sigma rules for onewall: load YAML rule packs, compile them once, match batches of events.
//!
//! ```no_run
//! use onewall_rules::Engine;
//! # let events: Vec<onewall_model::Event> = Vec::new();
//! let (engine, report) = Engine::builtin();
//! assert!(report.is_clean());
//! let mut alerts = Vec::new();
//! engine.match_batch(&events, onewall_model::Timestamp::now(), &mut alerts);
//! ```
//!
//! # What is supported
//!
//! The Sigma 2.1 detection language; a rule using anything else fails to compile with a
//! reason naming what it used, is skipped and reported in the [`LoadReport`]; the other
//! rules load.
//!
//! - Search identifiers: maps (AND of fields), lists of maps (OR), keyword lists (any keyword
//!   contained in the event's `message`, or in its raw text when it has no `message`), and
//!   `'|all': [...]` keyword maps (every keyword).
//! - Values: case-insensitive strings, numbers compared as text (`4625` matches `"4625"` and
//!   `4625`; a YAML `1.0` is `1`), `null` (absent or null), `''` (empty string), lists (OR).
//!   An event value that is a list matches when any element does.
//! - Wildcards `*` and `?`; `\*`, `\?` and `\\` are literal `*`, `?` and `\`; a backslash
//!   before any other character is itself literal.
//! - Modifiers: `contains`, `startswith`, `endswith`, `all`, `cased`, `neq`, `exists`,
//!   `re` (with `i`, `m`, `s`; searched anywhere, case-sensitive), `cidr` (v4 and v6),
//!   `lt lte gt gte`, `minute hour day week month year`, `fieldref`, `windash` (`-` `/` `–`
//!   `—` `―` at each option dash), `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`,
//!   `utf16`, and `expand` (values from [`Engine::compile_with`]; a placeholder without one is
//!   a compile error naming it).
//! - Conditions: identifiers, `and`, `or`, `not`, parentheses, `1 of` / `any of` / `N of` /
//!   `all of` a pattern or `them` (`them` skips identifiers starting with `_`); a list of
//!   conditions is their OR. Precedence: `not` over `and` over `or`.
//! - Several documents per file (`---`): each is a rule. Sigma filter documents AND their
//!   condition (usually `not selection`) to the rules they name by id or title, when the
//!   logsources agree; a filter is not counted as a rule unless it fails to compile or names
//!   no loaded rule. `action: global` documents are reported as not supported yet;
//!   correlation documents are left to [`correlation::load_correlations`] (the engine
//!   neither compiles nor counts them).
//!
//! Metadata: `title` and `detection` (with `condition`) are required. A rule without an `id` is
//! given a stable one derived from its file name, title and position in the file (see
//! [`RuleInfo::id`]); a missing `level` is `medium`. Two documents with the same `id`: the
//! second is reported and skipped.
//!
//! The `logsource` is recorded on each rule ([`RuleInfo::logsource`]); processing pipelines
//! turn it into conditions (e.g. `Channel`, `EventID`), which the candidate index uses to skip
//! rules an event cannot match. Field names are used as written unless a pipeline maps them.
//!
//! [Sigma specification]: https://github.com/SigmaHQ/sigma-specification

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

mod clause;
mod condition;
mod context;
pub mod correlation;
mod detection;
mod documents;
mod error;
mod filter;
mod index;
mod literal;
mod modifier;
pub mod pack;
mod pattern;
pub mod pipeline;
mod rule;
mod source;
mod textset;
mod yaml;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use onewall_model::{Alert, AlertId, Entity, Event, FieldId, RuleRef, Timestamp};

pub use error::{LoadReport, RuleError, RulesError};
pub use index::IndexStats;
pub use modifier::Placeholders;
pub use rule::{Logsource, RuleInfo};
pub use source::{RuleSource, builtin_sources, read_rule_dir};

use context::{EventContext, Scratch};
use index::Index;
use rule::CompiledRule;

/// A compiled set of rules. Immutable once built; share it across threads (`Send + Sync`) and
/// build a new one to change the rules.
pub struct Engine {
    infos: Vec<RuleInfo>,
    refs: Vec<RuleRef>,
    compiled: Vec<CompiledRule>,
    /// Per rule, the fields it cannot match without ([`CompiledRule::required`]); kept
    /// contiguous so most rules are rejected without touching their compiled form.
    required: Vec<u64>,
    /// The `message` field, target of keyword searches.
    message: Option<FieldId>,
    /// Field slots and the candidate index: which rules an event can match.
    index: Index,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.infos.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Compile rule sources. Never fails as a whole: a document that does not compile is
    /// skipped and reported.
    pub fn compile(sources: impl IntoIterator<Item = RuleSource>) -> (Engine, LoadReport) {
        Self::compile_with(sources, &Placeholders::new())
    }

    /// As [`Engine::compile`], with values for the `expand` modifier's `%name%` placeholders:
    /// each placeholder stands for any one of its values. A rule using a placeholder missing
    /// from `placeholders` is reported with the placeholder's name and skipped.
    pub fn compile_with(
        sources: impl IntoIterator<Item = RuleSource>,
        placeholders: &Placeholders,
    ) -> (Engine, LoadReport) {
        let mut report = LoadReport::default();
        let mut rules = Vec::new();
        let mut filters = Vec::new();
        for src in sources {
            documents::compile_source(&src, &mut rules, &mut filters, &mut report, placeholders);
        }
        for f in filters {
            let mut applied = false;
            for (_, compiled) in rules.iter_mut().filter(|(info, _)| f.applies_to(info)) {
                compiled.add_filter(f.detection.clone());
                applied = true;
            }
            if !applied {
                report.total += 1;
                report.errors.push(RuleError::new(
                    &f.path,
                    f.id.as_deref(),
                    format!(
                        "filter '{}' applies to no loaded rule (filter.rules: {})",
                        f.title,
                        f.targets.join(", ")
                    ),
                ));
            }
        }
        let mut first_seen: HashMap<String, String> = HashMap::new();
        let mut engine = Engine {
            infos: Vec::with_capacity(rules.len()),
            refs: Vec::with_capacity(rules.len()),
            compiled: Vec::with_capacity(rules.len()),
            required: Vec::with_capacity(rules.len()),
            message: FieldId::intern(onewall_model::event::names::MESSAGE),
            index: Index::default(),
        };
        for (info, compiled) in rules {
            if let Some(first) = first_seen.get(&info.id) {
                report.errors.push(RuleError::new(
                    &info.path,
                    Some(&info.id),
                    format!("duplicate rule id, first defined in {first}"),
                ));
                continue;
            }
            first_seen.insert(info.id.clone(), info.path.clone());
            engine.refs.push(info.to_rule_ref());
            engine.required.push(compiled.required());
            engine.infos.push(info);
            engine.compiled.push(compiled);
        }
        report.compiled = engine.infos.len();
        engine.index = Index::build(&engine.compiled, engine.message);
        (engine, report)
    }

    /// Load every `*.yml` / `*.yaml` under `dir`, recursively (see [`read_rule_dir`]). Fails
    /// only when `dir` itself cannot be read; every other problem is in the report.
    pub fn load_dir(dir: &Path) -> Result<(Engine, LoadReport), RulesError> {
        Self::load(false, &[dir])
    }

    /// The built-in rule pack (Linux syslog: SSH, sudo, accounts, cron).
    pub fn builtin() -> (Engine, LoadReport) {
        Self::compile(builtin_sources())
    }

    /// The built-in pack as sources, e.g. to combine with others in [`Engine::compile`].
    pub fn builtin_sources() -> Vec<RuleSource> {
        builtin_sources()
    }

    /// The built-in pack (when `builtin` is true) plus every rule under each of `dirs`.
    /// Fails only when one of `dirs` cannot be read.
    pub fn load<P: AsRef<Path>>(
        builtin: bool,
        dirs: &[P],
    ) -> Result<(Engine, LoadReport), RulesError> {
        let mut sources = if builtin {
            builtin_sources()
        } else {
            Vec::new()
        };
        let mut read_report = LoadReport::default();
        for dir in dirs {
            let (more, report) = read_rule_dir(dir.as_ref())?;
            sources.extend(more);
            read_report.merge(report);
        }
        let (engine, mut report) = Self::compile(sources);
        report.merge(read_report);
        Ok((engine, report))
    }

    /// The compiled rules, in load order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.infos.iter().find(|r| r.id == id)
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// Match a batch; push one [`Alert`] per (rule, event) match onto `out`, in event order
    /// and, per event, in rule order. `now` is the alerts' creation time.
    pub fn match_batch(&self, events: &[Event], now: Timestamp, out: &mut Vec<Alert>) {
        let mut scratch = Scratch::default();
        let mut marks = vec![0u64; self.index.words()];
        for event in events {
            let mut cx = EventContext::new(event, self.index.slots(), &mut scratch, self.message);
            self.index.candidates(&mut cx, &mut marks);
            let mut entities: Option<Vec<Entity>> = None;
            for i in index::ones(&marks) {
                let rule = &self.compiled[i];
                if !cx.may_have(self.required[i]) || !rule.matches(&mut cx) {
                    continue;
                }
                let mut matched = Vec::new();
                rule.collect(&mut cx, &mut matched);
                let rule_ref = self.refs[i].clone();
                out.push(Alert {
                    target: None,
                    intel: None,
                    anomaly: None,
                    // Derived from the event and the rule: matching the event again (a spool
                    // replay) makes the same alert, which the stores ignore the second time.
                    id: AlertId::for_rule_match(event.id, &rule_ref.id),
                    time: event.time,
                    created: now,
                    severity: rule_ref.level,
                    rule: rule_ref,
                    event_ids: vec![event.id],
                    entities: entities
                        .get_or_insert_with(|| Entity::from_event(event))
                        .clone(),
                    region: event.region,
                    matched,
                    drill: None,
                });
            }
        }
    }

    /// Call `f(event index, rule index)` for each (event, rule) match of a batch, in event order
    /// and, per event, in rule order, without building alerts (the anomaly detectors' selections
    /// run this way: one pass over each event for all of them). Rule indexes are positions in
    /// [`Engine::rules`].
    pub fn for_each_match(&self, events: &[Event], mut f: impl FnMut(usize, usize)) {
        let mut scratch = Scratch::default();
        let mut marks = vec![0u64; self.index.words()];
        for (e, event) in events.iter().enumerate() {
            let mut cx = EventContext::new(event, self.index.slots(), &mut scratch, self.message);
            self.index.candidates(&mut cx, &mut marks);
            for i in index::ones(&marks) {
                if cx.may_have(self.required[i]) && self.compiled[i].matches(&mut cx) {
                    f(e, i);
                }
            }
        }
    }

    /// Figures about the candidate index (how many rules are evaluated on every event, how
    /// many literals it searches for), for benches and logs.
    pub fn index_stats(&self) -> IndexStats {
        self.index.stats()
    }

    /// How many rules the candidate index leaves to evaluate on `event` (the rest cannot
    /// match it), for benches and tuning.
    pub fn candidate_count(&self, event: &Event) -> usize {
        self.candidates(event).len()
    }

    /// The rules (positions in [`Engine::rules`]) the candidate index leaves to evaluate on
    /// `event`, in order, for benches and tuning.
    pub fn candidates(&self, event: &Event) -> Vec<usize> {
        let mut scratch = Scratch::default();
        let mut cx = EventContext::new(event, self.index.slots(), &mut scratch, self.message);
        let mut marks = vec![0u64; self.index.words()];
        self.index.candidates(&mut cx, &mut marks);
        index::ones(&marks).collect()
    }

    /// The ids of the rules that match `event` (for tests and `rules test`).
    pub fn matching_rules(&self, event: &Event) -> Vec<&str> {
        let mut scratch = Scratch::default();
        let mut cx = EventContext::new(event, self.index.slots(), &mut scratch, self.message);
        let mut marks = vec![0u64; self.index.words()];
        self.index.candidates(&mut cx, &mut marks);
        index::ones(&marks)
            .filter(|&i| cx.may_have(self.required[i]) && self.compiled[i].matches(&mut cx))
            .map(|i| self.infos[i].id.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync + fmt::Debug>() {}
        check::<Engine>();
    }

    #[test]
    fn every_builtin_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/packs/builtin");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("builtin pack dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> =
            source::BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn for_each_match_reports_what_match_batch_alerts_on() {
        let rules = "title: a\nid: a\ndetection: {s: {k: x}, condition: s}\n---\n\
                     title: b\nid: b\ndetection: {s: {k: [x, y]}, condition: s}\n";
        let (engine, report) = Engine::compile([RuleSource::new("r.yml", rules)]);
        assert!(report.is_clean(), "{:?}", report.errors);
        let events: Vec<Event> = ["x", "z", "y"]
            .iter()
            .map(|v| {
                let t = Timestamp::from_secs(0);
                let src = onewall_model::Source::new("t", None);
                let mut e = Event::new(t, onewall_model::RegionCode::HENAN, src, b"");
                e.fields.insert("k", *v);
                e
            })
            .collect();
        let mut seen = Vec::new();
        engine.for_each_match(&events, |e, r| seen.push((e, engine.rules()[r].id.clone())));
        assert_eq!(
            seen,
            vec![(0, "a".into()), (0, "b".into()), (2, "b".into())]
        );
        let mut alerts = Vec::new();
        engine.match_batch(&events, Timestamp::from_secs(0), &mut alerts);
        assert_eq!(alerts.len(), seen.len());
    }
}
