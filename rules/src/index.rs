//! The candidate index: which rules can possibly match an event, found without evaluating them.
//!
//! Each rule is summarised at load time by one *clause*: a set of [`Atom`]s (a field equals a
//! text, or contains a literal) of which at least one holds on every event the rule matches.
//! The clause is derived from the rule's condition (see [`crate::condition::Expr::necessary`]):
//! each `and` side gives clauses, an `or` keeps one clause per side, `not` gives nothing, and of
//! the clauses a rule ends up with the most selective one is kept (long literals and whole-value
//! equality over short, common ones). A rule with no clause (only regular expressions, `null`,
//! keywords, negations, ...) is evaluated on every event.
//!
//! Per event, every field some rule reads is resolved once into a slot; each field with atoms
//! is lowercased once, looked up in one hash map of whole values and searched with one
//! Aho-Corasick automaton over all the literals rules need in that field. Each hit marks the
//! rules whose clause holds the atom; only those (plus the always-evaluated ones) are evaluated,
//! in load order. The index is an over-approximation: it never skips a rule that matches.

use aho_corasick::{AhoCorasick, MatchKind};
use onewall_model::hash::FnvMap;
use onewall_model::{FieldId, Value};

use crate::clause::{Atom, On, Test, choose};
use crate::context::{EventContext, Slots};
use crate::rule::CompiledRule;

/// The atoms on one field (or on the keyword text).
#[derive(Debug, Default)]
struct FieldIndex {
    /// Rules whose clause holds the field's presence.
    present: Box<[u32]>,
    /// Whole lowercased value → rules whose clause holds that equality.
    equals: FnvMap<Box<str>, Box<[u32]>>,
    /// All the field's literals, searched at once (overlapping: every literal found counts).
    literals: Option<AhoCorasick>,
    /// Per literal (the automaton's pattern id): the rules whose clause holds it.
    literal_rules: Vec<Box<[u32]>>,
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.present.is_empty() && self.equals.is_empty() && self.literals.is_none()
    }

    /// Mark the rules with an atom holding on a present value (not null).
    fn probe_value(
        &self,
        cx: &mut EventContext<'_>,
        slot: Option<usize>,
        value: &Value,
        marks: &mut [u64],
    ) {
        match value {
            Value::Null => return,
            Value::List(items) => probe_list(self, cx, items, marks),
            scalar => {
                if self.has_text() {
                    let lower = match slot {
                        Some(slot) => cx.lower_slot(slot, scalar),
                        None => cx.lower_tmp(scalar),
                    };
                    self.probe(lower, marks);
                }
            }
        }
        mark(&self.present, marks);
    }

    fn has_text(&self) -> bool {
        !self.equals.is_empty() || self.literals.is_some()
    }

    /// Mark the rules with an atom holding on `lower` (lowercased text).
    fn probe(&self, lower: &str, marks: &mut [u64]) {
        if let Some(rules) = self.equals.get(lower) {
            mark(rules, marks);
        }
        if let Some(ac) = &self.literals {
            for m in ac.find_overlapping_iter(lower) {
                if let Some(rules) = self.literal_rules.get(m.pattern().as_usize()) {
                    mark(rules, marks);
                }
            }
        }
    }
}

fn mark(rules: &[u32], marks: &mut [u64]) {
    for &r in rules {
        if let Some(w) = marks.get_mut(r as usize / 64) {
            *w |= 1 << (r % 64);
        }
    }
}

/// Rules per atom, while building.
#[derive(Debug, Default)]
struct FieldBuild {
    present: Vec<u32>,
    equals: FnvMap<Box<str>, Vec<u32>>,
    literals: FnvMap<Box<str>, Vec<u32>>,
}

impl FieldBuild {
    fn add(&mut self, test: Test, rule: u32) {
        let list = match test {
            Test::Present => &mut self.present,
            Test::Equals(t) => self.equals.entry(t).or_default(),
            Test::Contains(t) => self.literals.entry(t).or_default(),
        };
        if list.last() != Some(&rule) {
            list.push(rule);
        }
    }

    /// The searchable form. When the literals' automaton cannot be built, their rules are
    /// added to `always` instead.
    fn finish(self, always: &mut [u64]) -> FieldIndex {
        let mut fi = FieldIndex {
            present: self.present.into_boxed_slice(),
            equals: self
                .equals
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
            ..FieldIndex::default()
        };
        if self.literals.is_empty() {
            return fi;
        }
        let (pats, rules_of): (Vec<Box<str>>, Vec<Vec<u32>>) = self.literals.into_iter().unzip();
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(pats.iter().map(|p| p.as_bytes()))
        {
            Ok(ac) => {
                fi.literals = Some(ac);
                fi.literal_rules = rules_of.into_iter().map(Vec::into_boxed_slice).collect();
            }
            Err(_) => mark(&rules_of.concat(), always),
        }
        fi
    }
}

/// The candidate index over a compiled rule set, and the field slots matching uses.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The fields rules read, each in a slot.
    slots: Slots,
    /// Per slot: the atoms on that field.
    fields: Vec<FieldIndex>,
    /// The atoms on the keyword text.
    keywords: FieldIndex,
    /// The field keyword searches read when the event has it.
    message: Option<FieldId>,
    /// The bits every event starts with, in two halves of `words` words: rule `r` is bit `r`
    /// of the first half (its best clause) and of the second (its second-best clause). A hit
    /// on a clause's atom sets its bit; a rule is a candidate when both bits are set, so a
    /// bit starts set when the rule has no such clause.
    init: Box<[u64]>,
    /// Words in one half.
    words: usize,
    /// Rules with no clause at all, evaluated on every event.
    always: usize,
    /// Number of rules.
    rules: usize,
}

/// Figures about an index, for benches and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Rules in the engine.
    pub rules: usize,
    /// Rules with no clause, evaluated on every event.
    pub always: usize,
    /// Fields rules read.
    pub fields: usize,
    /// Distinct atoms over all fields.
    pub atoms: usize,
}

impl Index {
    /// Build the index for `rules` (in engine order); `message` is the field keyword
    /// searches read.
    pub(crate) fn build(rules: &[CompiledRule], message: Option<FieldId>) -> Index {
        let extra: Vec<FieldId> = message.into_iter().collect();
        let mut fields = extra.clone();
        for r in rules {
            r.fields(&mut fields);
        }
        let slots = Slots::new(fields);
        let words = rules.len().div_ceil(64);
        let mut init = vec![0u64; 2 * words].into_boxed_slice();
        let mut always = 0;
        let mut builds: Vec<FieldBuild> = (0..slots.len()).map(|_| FieldBuild::default()).collect();
        let mut keywords = FieldBuild::default();
        let chosen = choose(rules.iter().map(CompiledRule::necessary).collect());
        let slot = |a: &Atom| match a.on {
            On::Field(id) => slots.get(id).map(Some),
            On::Keywords => Some(None),
        };
        for (r, clauses) in chosen.into_iter().enumerate() {
            let mut clauses = clauses
                .into_iter()
                .filter(|c| c.iter().all(|a| slot(a).is_some()));
            for half in 0..2 {
                // The rule's bit in this half of the bit set.
                let bit = (half * words * 64 + r) as u32;
                let Some(clause) = clauses.next() else {
                    mark(&[bit], &mut init);
                    always += usize::from(half == 0);
                    continue;
                };
                for a in clause {
                    match slot(&a) {
                        Some(Some(s)) => builds[s].add(a.test, bit),
                        Some(None) => keywords.add(a.test, bit),
                        None => {}
                    }
                }
            }
        }
        let fields = builds.into_iter().map(|b| b.finish(&mut init)).collect();
        let keywords = keywords.finish(&mut init);
        Index {
            slots,
            fields,
            keywords,
            message: extra.first().copied(),
            init,
            words,
            always,
            rules: rules.len(),
        }
    }

    /// The field slots matching uses.
    pub(crate) fn slots(&self) -> &Slots {
        &self.slots
    }

    /// The slot of field `id`, if some rule reads it.
    #[inline]
    pub(crate) fn slot(&self, id: FieldId) -> Option<usize> {
        self.slots.get(id)
    }

    /// Words in the bit set [`Index::candidates`] fills.
    pub(crate) fn words(&self) -> usize {
        self.init.len()
    }

    pub(crate) fn stats(&self) -> IndexStats {
        IndexStats {
            rules: self.rules,
            always: self.always,
            fields: self.fields.len(),
            atoms: self
                .fields
                .iter()
                .chain([&self.keywords])
                .map(|f| {
                    usize::from(!f.present.is_empty()) + f.equals.len() + f.literal_rules.len()
                })
                .sum(),
        }
    }

    /// Set `marks` (a bit set of [`Index::words`] words) to the rules that may match the
    /// context's event.
    pub(crate) fn candidates(&self, cx: &mut EventContext<'_>, marks: &mut [u64]) {
        marks.copy_from_slice(&self.init);
        self.probe_event(cx, marks);
        // A candidate has both of its clauses hit.
        let (first, second) = marks.split_at_mut(self.words);
        for (a, b) in first.iter_mut().zip(second.iter_mut()) {
            *a &= *b;
            *b = 0;
        }
    }

    /// Set the bits of the clauses with an atom holding on the event.
    fn probe_event(&self, cx: &mut EventContext<'_>, marks: &mut [u64]) {
        let event = cx.event;
        for (id, value) in event.fields.entries() {
            let Some(slot) = self.slot(*id) else { continue };
            if let Some(fi) = self.fields.get(slot).filter(|f| !f.is_empty()) {
                fi.probe_value(cx, Some(slot), value, marks);
            }
        }
        if self.keywords.is_empty() {
            return;
        }
        // The keyword text, as [`EventContext::keyword_matches`] chooses it.
        if let Some(id) = self.message
            && let Some(v) = cx.field(id)
            && !v.is_null()
        {
            self.keywords.probe_value(cx, self.slot(id), v, marks);
        } else {
            self.keywords.probe(cx.lower_raw(), marks);
        }
    }
}

fn probe_list(fi: &FieldIndex, cx: &mut EventContext<'_>, items: &[Value], marks: &mut [u64]) {
    for v in items {
        match v {
            Value::Null => {}
            Value::List(inner) => probe_list(fi, cx, inner, marks),
            scalar => {
                if fi.has_text() {
                    fi.probe(cx.lower_tmp(scalar), marks);
                }
            }
        }
    }
}

/// The set bits of `marks`, in increasing order.
pub(crate) fn ones(marks: &[u64]) -> impl Iterator<Item = usize> + '_ {
    marks.iter().enumerate().flat_map(|(w, &bits)| {
        let mut bits = bits;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(w * 64 + b)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ones_lists_set_bits_in_order() {
        let marks = [0b1010u64, 1 << 63, 0, 1];
        assert_eq!(ones(&marks).collect::<Vec<_>>(), vec![1, 3, 127, 192]);
    }
}
