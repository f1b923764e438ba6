//! The pipelines a rule set is compiled with, in stages by priority, and how they apply to one
//! rule document.

use std::fmt;

use serde_norway::Mapping;

use super::definition::{Pipeline, PipelineError};
use super::shipped::shipped;
use super::{merge, transform};

/// The pipelines a rule set is compiled with, in the order they apply.
#[derive(Debug, Clone, Default)]
pub struct PipelineSet {
    /// Stages in priority order; a stage of several pipelines holds alternatives.
    stages: Vec<Vec<Pipeline>>,
    require_routing: bool,
}

impl PipelineSet {
    /// Order `pipelines` by priority (stable); equal priorities become alternatives.
    pub fn new(mut pipelines: Vec<Pipeline>) -> PipelineSet {
        pipelines.sort_by_key(|p| p.priority);
        let mut stages: Vec<Vec<Pipeline>> = Vec::new();
        for p in pipelines {
            match stages.last_mut() {
                Some(stage) if stage[0].priority == p.priority => stage.push(p),
                _ => stages.push(vec![p]),
            }
        }
        PipelineSet {
            stages,
            require_routing: false,
        }
    }

    /// The shipped pipelines named (see [`shipped_names`]).
    pub fn shipped(names: &[&str]) -> Result<PipelineSet, PipelineError> {
        let list = names
            .iter()
            .map(|n| shipped(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PipelineSet::new(list))
    }

    /// Refuse (report and skip) rules that no `add_condition` routed: they would otherwise be
    /// evaluated on every event whatever its logsource.
    pub fn require_routing(mut self, yes: bool) -> PipelineSet {
        self.require_routing = yes;
        self
    }

    /// True when the set holds no pipeline.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The pipelines' names, in the order they apply.
    pub fn names(&self) -> Vec<&str> {
        self.stages
            .iter()
            .flatten()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Transform one rule (or filter) document. `Ok(false)` when nothing applied.
    ///
    /// Each alternative of a stage that applies makes its own version of the rule, which goes
    /// on through the later stages by itself (so `windows-sysmon` and `windows-audit` each
    /// route theirs through `windows-logsource`); identical versions count once, an
    /// alternative that refuses the rule (`detection_item_failure`) is dropped while another
    /// takes it, and the versions left are ORed at the end (see [`merge`]).
    pub fn apply(&self, doc: &mut Mapping) -> Result<bool, String> {
        let mut branches = vec![(doc.clone(), transform::State::default())];
        let mut any = false;
        for stage in &self.stages {
            let mut next: Vec<(Mapping, transform::State)> = Vec::new();
            let mut refused = None;
            for (version, state) in branches {
                // Most pipelines of a stage are for other logsources: ask which take this
                // version before copying it, and give the last taker the version itself.
                let facts = transform::Facts::of(&version);
                let takers: Vec<&Pipeline> = stage
                    .iter()
                    .filter(|p| transform::takes(p, &facts, &state))
                    .collect();
                let Some((last, others)) = takers.split_last() else {
                    push_unique(&mut next, version, state);
                    continue;
                };
                let mut taken = 0;
                let mut error = None;
                let mut run = |p: &Pipeline, mut copy: Mapping, mut st: transform::State| {
                    match transform::apply(p, &mut copy, &mut st) {
                        Ok(true) => {
                            push_unique(&mut next, copy, st);
                            taken += 1;
                        }
                        // Not expected after `takes`; the version goes on unchanged, as when
                        // no pipeline takes it.
                        Ok(false) => push_unique(&mut next, copy, st),
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    }
                };
                for p in others {
                    run(p, version.clone(), state.clone());
                }
                run(last, version, state);
                match (taken, error) {
                    (0, Some(e)) => {
                        refused.get_or_insert(e);
                    }
                    (0, None) => {}
                    _ => any = true,
                }
            }
            if next.is_empty() {
                return Err(refused.unwrap_or_else(|| "no pipeline takes this rule".into()));
            }
            branches = next;
        }
        if self.require_routing {
            branches.retain(|(_, st)| st.routed);
            if branches.is_empty() {
                return Err(format!(
                    "no pipeline ({}) routes logsource {}",
                    self.names().join(", "),
                    transform::describe_logsource(doc)
                ));
            }
        }
        let docs: Vec<Mapping> = branches.into_iter().map(|(d, _)| d).collect();
        *doc = merge::merge(docs)?;
        Ok(any)
    }
}

/// Add a version unless an identical one is there (their states then count together).
fn push_unique(list: &mut Vec<(Mapping, transform::State)>, doc: Mapping, state: transform::State) {
    match list.iter_mut().find(|(d, _)| *d == doc) {
        Some((_, st)) => st.absorb(state),
        None => list.push((doc, state)),
    }
}

impl fmt::Display for PipelineSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}
