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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, MatchKind};
use onewall_model::{FieldId, Value};

use crate::context::EventContext;
use crate::pattern::Need;
use crate::rule::CompiledRule;

/// One test the index runs for all rules at once: field `field`'s lowercased text equals
/// `text` (`equals`), or contains it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Atom {
    field: FieldId,
    equals: bool,
    text: Box<str>,
}

impl Atom {
    pub(crate) fn new(field: FieldId, need: Need<'_>) -> Atom {
        let (equals, text) = match need {
            Need::Equals(s) => (true, s),
            Need::Contains(s) => (false, s),
        };
        Atom {
            field,
            equals,
            text: text.into(),
        }
    }

    /// How often the atom is expected to hold on an event, roughly: short literals are found
    /// everywhere, long ones rarely; a whole-value equality is rarer than a substring.
    fn cost(&self) -> f64 {
        let len = self.text.chars().count().min(12) as i32;
        let len = if self.equals { len + 3 } else { len };
        0.5f64.powi(len)
    }
}

/// Atoms of which at least one holds (an OR).
pub(crate) type Clause = Vec<Atom>;

fn cost(clause: &Clause) -> f64 {
    clause.iter().map(Atom::cost).sum()
}

/// The most selective clause of a conjunction of clauses.
fn best(cnf: Vec<Clause>) -> Option<Clause> {
    cnf.into_iter()
        .filter(|c| !c.is_empty())
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
}

/// What holds when any one of several expressions holds, each summarised by a conjunction of
/// clauses: the OR of each one's best clause. Nothing is known (empty) when any one of them
/// is unconstrained.
pub(crate) fn any_of(children: Vec<Vec<Clause>>) -> Vec<Clause> {
    let mut out: Clause = Vec::new();
    for child in children {
        match best(child) {
            Some(c) => out.extend(c),
            None => return Vec::new(),
        }
    }
    out.sort_by(|a, b| (a.field, a.equals, &a.text).cmp(&(b.field, b.equals, &b.text)));
    out.dedup();
    if out.is_empty() {
        Vec::new()
    } else {
        vec![out]
    }
}

/// FNV-1a, for the short keys of the whole-value maps (faster than SipHash here; the keys
/// come from rules, and an event can only choose which one it hits).
#[derive(Debug, Default, Clone, Copy)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The atoms on one field.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Whole lowercased value → rules whose clause holds that equality.
    equals: FnvMap<Box<str>, Box<[u32]>>,
    /// All the field's literals, searched at once (overlapping: every literal found counts).
    literals: Option<AhoCorasick>,
    /// Per literal (the automaton's pattern id): the rules whose clause holds it.
    literal_rules: Vec<Box<[u32]>>,
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.equals.is_empty() && self.literals.is_none()
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

const NO_SLOT: u32 = u32::MAX;

/// The candidate index over a compiled rule set, and the field slots matching uses.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// `FieldId::index()` → slot, [`NO_SLOT`] for fields no rule reads.
    slot_of: Vec<u32>,
    /// Per slot: the atoms on that field.
    fields: Vec<FieldIndex>,
    /// Bit set of the rules evaluated on every event (no clause).
    always: Box<[u64]>,
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
    /// Build the index for `rules` (in engine order); `extra` are fields read besides the
    /// rules' own (the keyword target `message`).
    pub(crate) fn build(rules: &[CompiledRule], extra: &[FieldId]) -> Index {
        let mut fields = extra.to_vec();
        for r in rules {
            r.fields(&mut fields);
        }
        let mut slot_of = Vec::new();
        let mut slots = 0u32;
        for id in fields {
            let i = id.index() as usize;
            if slot_of.len() <= i {
                slot_of.resize(i + 1, NO_SLOT);
            }
            if slot_of[i] == NO_SLOT {
                slot_of[i] = slots;
                slots += 1;
            }
        }
        let words = rules.len().div_ceil(64);
        let mut always = vec![0u64; words].into_boxed_slice();
        // Per slot: whole values and literals → rules.
        let mut equals: Vec<FnvMap<Box<str>, Vec<u32>>> =
            (0..slots).map(|_| FnvMap::default()).collect();
        let mut literals: Vec<FnvMap<Box<str>, Vec<u32>>> =
            (0..slots).map(|_| FnvMap::default()).collect();
        for (r, rule) in rules.iter().enumerate() {
            let slot = |a: &Atom| slot_of.get(a.field.index() as usize).copied();
            let clause = best(rule.necessary())
                .filter(|c| c.iter().all(|a| slot(a).is_some_and(|s| s != NO_SLOT)));
            let Some(clause) = clause else {
                always[r / 64] |= 1 << (r % 64);
                continue;
            };
            for a in clause {
                let Some(s) = slot(&a) else { continue };
                let map = if a.equals {
                    &mut equals[s as usize]
                } else {
                    &mut literals[s as usize]
                };
                let list = map.entry(a.text).or_default();
                if list.last() != Some(&(r as u32)) {
                    list.push(r as u32);
                }
            }
        }
        let mut built = Vec::with_capacity(slots as usize);
        for (eq, lits) in equals.into_iter().zip(literals) {
            let mut fi = FieldIndex {
                equals: eq
                    .into_iter()
                    .map(|(k, v)| (k, v.into_boxed_slice()))
                    .collect(),
                ..FieldIndex::default()
            };
            if !lits.is_empty() {
                let (pats, rules_of): (Vec<Box<str>>, Vec<Vec<u32>>) = lits.into_iter().unzip();
                match AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(pats.iter().map(|p| p.as_bytes()))
                {
                    Ok(ac) => {
                        fi.literals = Some(ac);
                        fi.literal_rules =
                            rules_of.into_iter().map(Vec::into_boxed_slice).collect();
                    }
                    // Too large to build: those rules are evaluated on every event instead.
                    Err(_) => {
                        for r in rules_of.into_iter().flatten() {
                            always[r as usize / 64] |= 1 << (r % 64);
                        }
                    }
                }
            }
            built.push(fi);
        }
        Index {
            slot_of,
            fields: built,
            always,
            rules: rules.len(),
        }
    }

    /// Number of field slots.
    pub(crate) fn slots(&self) -> usize {
        self.fields.len()
    }

    /// The slot of field `id`, if some rule reads it.
    pub(crate) fn slot(&self, id: FieldId) -> Option<usize> {
        match self.slot_of.get(id.index() as usize) {
            Some(&s) if s != NO_SLOT => Some(s as usize),
            _ => None,
        }
    }

    /// Words in a rule bit set.
    pub(crate) fn words(&self) -> usize {
        self.always.len()
    }

    pub(crate) fn stats(&self) -> IndexStats {
        IndexStats {
            rules: self.rules,
            always: self.always.iter().map(|w| w.count_ones() as usize).sum(),
            fields: self.fields.len(),
            atoms: self
                .fields
                .iter()
                .map(|f| f.equals.len() + f.literal_rules.len())
                .sum(),
        }
    }

    /// Set `marks` (a bit set of [`Index::words`] words) to the rules that may match the
    /// context's event.
    pub(crate) fn candidates(&self, cx: &mut EventContext<'_>, marks: &mut [u64]) {
        marks.copy_from_slice(&self.always);
        let event = cx.event;
        for (id, value) in event.fields.entries() {
            let Some(slot) = self.slot(*id) else { continue };
            let Some(fi) = self.fields.get(slot).filter(|f| !f.is_empty()) else {
                continue;
            };
            match value {
                Value::Null => {}
                Value::List(items) => probe_list(fi, cx, items, marks),
                scalar => fi.probe(cx.lower_slot(slot, scalar), marks),
            }
        }
    }
}

fn probe_list(fi: &FieldIndex, cx: &mut EventContext<'_>, items: &[Value], marks: &mut [u64]) {
    for v in items {
        match v {
            Value::Null => {}
            Value::List(inner) => probe_list(fi, cx, inner, marks),
            scalar => fi.probe(cx.lower_tmp(scalar), marks),
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

    fn atom(text: &str, equals: bool) -> Atom {
        Atom {
            field: FieldId::intern("index.test").expect("intern"),
            equals,
            text: text.into(),
        }
    }

    #[test]
    fn long_literals_and_equalities_are_preferred() {
        let short = vec![atom("-e", false)];
        let long = vec![atom("\\mimikatz.exe", false)];
        assert_eq!(best(vec![short.clone(), long.clone()]), Some(long.clone()));
        assert!(cost(&vec![atom("4688", true)]) < cost(&vec![atom("4688", false)]));
        // An OR with an unconstrained side constrains nothing.
        assert!(any_of(vec![vec![long.clone()], vec![]]).is_empty());
        assert_eq!(
            any_of(vec![vec![short.clone()], vec![long.clone()]])[0].len(),
            2
        );
    }

    #[test]
    fn ones_lists_set_bits_in_order() {
        let marks = [0b1010u64, 1 << 63, 0, 1];
        assert_eq!(ones(&marks).collect::<Vec<_>>(), vec![1, 3, 127, 192]);
    }
}
