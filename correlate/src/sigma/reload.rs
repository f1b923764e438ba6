//! Swapping the correlation rules of a running engine without losing the windows of the rules
//! that did not change.

use std::collections::HashMap;

use onewall_rules::correlation::ResolvedCorrelation;

use super::{RuleState, SigmaCorrelator};

/// What a [`SigmaCorrelator::reload`] did with each rule's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Rules whose definition is unchanged (same id, same definition hash): state kept.
    pub kept: usize,
    /// Rules that are new: they start empty.
    pub added: Vec<String>,
    /// Rules whose definition changed: their state is dropped, they start empty.
    pub changed: Vec<String>,
    /// Rules no longer loaded: their state is dropped.
    pub removed: Vec<String>,
    /// Groups dropped with changed and removed rules.
    pub dropped_groups: usize,
}

impl SigmaCorrelator {
    /// Run `rules` from now on. A rule with the same id and the same
    /// [`ResolvedCorrelation::definition_hash`] as a loaded one keeps its groups, watermark
    /// and touch order; a changed or removed rule's groups are dropped (counted in the
    /// outcome). Counters carry on.
    pub fn reload(&mut self, rules: Vec<ResolvedCorrelation>) -> ReloadOutcome {
        let mut next = SigmaCorrelator::new(rules, self.config.clone());
        let mut old: HashMap<String, RuleState> = self
            .rules
            .drain(..)
            .map(|r| (r.def.rule.id.clone(), r))
            .collect();
        let mut out = ReloadOutcome::default();
        for state in &mut next.rules {
            match old.remove(&state.def.rule.id) {
                Some(prev) if prev.hash == state.hash => {
                    state.groups = prev.groups;
                    state.order = prev.order;
                    state.watermark = prev.watermark;
                    state.seq = prev.seq;
                    out.kept += 1;
                }
                Some(prev) => {
                    out.dropped_groups += prev.groups.len();
                    out.changed.push(state.def.rule.id.clone());
                }
                None => out.added.push(state.def.rule.id.clone()),
            }
        }
        for (id, prev) in old {
            out.dropped_groups += prev.groups.len();
            out.removed.push(id);
        }
        out.removed.sort();
        next.stats = self.stats;
        *self = next;
        out
    }
}
