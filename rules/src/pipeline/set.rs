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
    pub fn apply(&self, doc: &mut Mapping) -> Result<bool, String> {
        let mut state = transform::State::default();
        let mut any = false;
        for stage in &self.stages {
            if let [only] = stage.as_slice() {
                any |= transform::apply(only, doc, &mut state)?;
                continue;
            }
            let mut variants = Vec::new();
            for p in stage {
                let mut copy = doc.clone();
                let mut st = state.clone();
                if transform::apply(p, &mut copy, &mut st)? {
                    variants.push((copy, st));
                }
            }
            if variants.is_empty() {
                continue;
            }
            any = true;
            let (docs, states): (Vec<Mapping>, Vec<transform::State>) =
                variants.into_iter().unzip();
            *doc = merge::merge(docs)?;
            for st in states {
                state.absorb(st);
            }
        }
        if self.require_routing && !state.routed {
            return Err(format!(
                "no pipeline ({}) routes logsource {}",
                self.names().join(", "),
                transform::describe_logsource(doc)
            ));
        }
        Ok(any)
    }
}

impl fmt::Display for PipelineSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}
