//! The candidate index: which rules can possibly match an event, found without evaluating them.
//!
//! Each rule is summarised at load time by up to [`CLAUSES`] *clauses*, each a set of
//! [`Atom`]s (a field equals a text, or contains a literal) of which at least one holds on every
//! event the rule matches. Clauses are derived from the rule's condition (see
//! [`crate::condition::Expr::necessary`]): each `and` side (and each item of a selection) gives
//! clauses, an `or` combines a few of each side's, `not` gives nothing, and of the clauses a rule
//! ends up with the most selective are kept (long literals and whole-value equality over short,
//! common ones and over routing conditions many rules share). A rule with no clause (only
//! regular expressions without a required literal, `null`, negations, ...) is evaluated on
//! every event.
//!
//! Per event, every field some rule reads is resolved once into a slot; each field with atoms
//! is lowercased once, looked up in one hash map of whole values and searched with one
//! Aho-Corasick automaton over all the literals rules need in that field. Each hit sets the
//! bits of the clauses holding the atom (one bit set ORed in for an atom many rules share);
//! only rules with every kept clause hit are evaluated, in load order. The index is an
//! over-approximation: it never skips a rule that matches.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use onewall_model::hash::FnvMap;
use onewall_model::{FieldId, Value};

use crate::clause::{Atom, CLAUSES, On, Test, choose};
use crate::context::{EventContext, Slots};
use crate::rule::CompiledRule;

/// The clause bits an atom sets when it holds: a list of bits, or, for an atom many rules
/// share (a channel, an event id), the whole bit set to OR in at once.
#[derive(Debug)]
enum Bits {
    Sparse(Box<[u32]>),
    Dense(Box<[u64]>),
}

impl Default for Bits {
    fn default() -> Self {
        Bits::Sparse(Box::default())
    }
}

/// An atom with at least this many bits sets them from a dense bit set.
const DENSE: usize = 48;

impl Bits {
    fn new(bits: Vec<u32>, words: usize) -> Bits {
        if bits.len() < DENSE {
            return Bits::Sparse(bits.into_boxed_slice());
        }
        let mut dense = vec![0u64; words];
        mark_sparse(&bits, &mut dense);
        Bits::Dense(dense.into_boxed_slice())
    }

    fn is_empty(&self) -> bool {
        match self {
            Bits::Sparse(b) => b.is_empty(),
            Bits::Dense(_) => false,
        }
    }
}

/// The atoms on one field (or on the keyword text).
#[derive(Debug, Default)]
struct FieldIndex {
    /// Rules whose clause holds the field's presence.
    present: Bits,
    /// Whole lowercased value → rules whose clause holds that equality.
    equals: FnvMap<Box<str>, Bits>,
    /// The field's literals (lowercased), the automaton's patterns in order.
    literal_texts: Vec<Box<str>>,
    /// All the field's literals, searched at once (overlapping: every literal found counts).
    /// Built the first time an event has the field: a large rule set indexes many fields a
    /// given input never holds. `None` when it cannot be built: every literal then counts as
    /// found (a candidate is only a rule worth evaluating, so more of them is safe).
    literals: OnceLock<Option<AhoCorasick>>,
    /// Per literal (the automaton's pattern id): the rules whose clause holds it.
    literal_rules: Vec<Bits>,
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.present.is_empty() && self.equals.is_empty() && self.literal_texts.is_empty()
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
        !self.equals.is_empty() || !self.literal_texts.is_empty()
    }

    /// Mark the rules with an atom holding on `lower` (lowercased text).
    fn probe(&self, lower: &str, marks: &mut [u64]) {
        if let Some(rules) = self.equals.get(lower) {
            mark(rules, marks);
        }
        if self.literal_texts.is_empty() {
            return;
        }
        match self
            .literals
            .get_or_init(|| literal_automaton(&self.literal_texts))
        {
            Some(ac) => {
                for m in ac.find_overlapping_iter(lower) {
                    if let Some(rules) = self.literal_rules.get(m.pattern().as_usize()) {
                        mark(rules, marks);
                    }
                }
            }
            None => self
                .literal_rules
                .iter()
                .for_each(|rules| mark(rules, marks)),
        }
    }
}

/// Literal bytes up to which a field's automaton is built as a DFA.
const DFA_BYTES: usize = 4 * 1024;

/// The automaton over a field's literals, every occurrence reported (overlapping).
fn literal_automaton(texts: &[Box<str>]) -> Option<AhoCorasick> {
    // A small set (the keywords', searched in every event's whole text) scans fastest as a
    // DFA, which is quick to build when small; a large one (a field with thousands of
    // literals) stays an NFA, whose build is what a short hunt pays for.
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let kind = (bytes <= DFA_BYTES).then_some(aho_corasick::AhoCorasickKind::DFA);
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(kind)
        .build(texts.iter().map(|p| p.as_bytes()))
        .ok()
}

fn mark(bits: &Bits, marks: &mut [u64]) {
    match bits {
        Bits::Sparse(b) => mark_sparse(b, marks),
        Bits::Dense(d) => {
            for (m, d) in marks.iter_mut().zip(d.iter()) {
                *m |= d;
            }
        }
    }
}

fn mark_sparse(rules: &[u32], marks: &mut [u64]) {
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

    /// The searchable form over bit sets of `words` words (the literals' automaton is built
    /// when first needed).
    fn finish(self, words: usize) -> FieldIndex {
        let (literal_texts, rules_of): (Vec<Box<str>>, Vec<Vec<u32>>) =
            self.literals.into_iter().unzip();
        FieldIndex {
            present: Bits::new(self.present, words),
            equals: self
                .equals
                .into_iter()
                .map(|(k, v)| (k, Bits::new(v, words)))
                .collect(),
            literal_texts,
            literals: OnceLock::new(),
            literal_rules: rules_of.into_iter().map(|b| Bits::new(b, words)).collect(),
        }
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
    /// The bits every event starts with, in [`CLAUSES`] parts of `words` words: rule `r` is
    /// bit `r` of the first part (its best clause), of the second (its second-best clause),
    /// and so on. A hit on a clause's atom sets its bit; a rule is a candidate when all its
    /// bits are set, so a bit starts set when the rule has no such clause.
    init: Box<[u64]>,
    /// Words in one part.
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
        let mut init = vec![0u64; CLAUSES * words].into_boxed_slice();
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
            for part in 0..CLAUSES {
                // The rule's bit in this part of the bit set.
                let bit = (part * words * 64 + r) as u32;
                let Some(clause) = clauses.next() else {
                    mark_sparse(&[bit], &mut init);
                    always += usize::from(part == 0);
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
        let fields = builds.into_iter().map(|b| b.finish(init.len())).collect();
        let keywords = keywords.finish(init.len());
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
        if self.words == 0 {
            return;
        }
        // A candidate has all of its clauses hit.
        let (first, rest) = marks.split_at_mut(self.words);
        for part in rest.chunks_exact_mut(self.words) {
            for (a, b) in first.iter_mut().zip(part.iter_mut()) {
                *a &= *b;
                *b = 0;
            }
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

    use crate::{Engine, RuleSource};
    use onewall_model::{Event, RegionCode, Source, Timestamp};

    fn event(fields: &[(&str, &str)]) -> Event {
        let src = Source::new("t", None);
        let mut e = Event::new(Timestamp::from_secs(0), RegionCode::HENAN, src, b"raw text");
        for (k, v) in fields {
            e.fields.insert(k, *v);
        }
        e
    }

    #[test]
    fn no_rules_no_candidates() {
        let (engine, _) = Engine::compile(Vec::<RuleSource>::new());
        let e = event(&[("a", "b")]);
        assert_eq!(engine.candidate_count(&e), 0);
        assert!(engine.matching_rules(&e).is_empty());
    }

    /// A rule with more clauses than the index keeps: each must hold for it to be a candidate,
    /// and it still matches when all of them do.
    #[test]
    fn every_kept_clause_must_hold() {
        let rule = "title: t\nid: t\ndetection:\n  s:\n    a: one\n    b|contains: two\n    \
                    c|endswith: three\n    d|startswith: four\n    e: five\n  condition: s\n";
        let (engine, report) = Engine::compile([RuleSource::new("t.yml", rule)]);
        assert!(report.is_clean(), "{:?}", report.errors);
        let all = [
            ("a", "ONE"),
            ("b", "xtwox"),
            ("c", "xthree"),
            ("d", "fourx"),
            ("e", "five"),
        ];
        assert_eq!(engine.matching_rules(&event(&all)), vec!["t"]);
        for skip in 0..all.len() {
            let some: Vec<_> = (0..all.len())
                .filter(|&i| i != skip)
                .map(|i| all[i])
                .collect();
            assert!(engine.matching_rules(&event(&some)).is_empty(), "{skip}");
        }
        // Missing one of the kept clauses: not even a candidate.
        assert_eq!(engine.candidate_count(&event(&all[1..])), 0);
    }

    /// A field's literals are put in an automaton the first time an event has the field; one
    /// that cannot be built makes every literal count as found (more candidates, none lost).
    #[test]
    fn literals_are_searched_from_the_first_event_with_their_field() {
        let rules = "title: a\nid: a\ndetection: {s: {x|contains: one}, condition: s}\n---\n\
                     title: b\nid: b\ndetection: {s: {y|contains: two}, condition: s}\n";
        let (engine, report) = Engine::compile([RuleSource::new("r.yml", rules)]);
        assert!(report.is_clean(), "{:?}", report.errors);
        let built = |field: &str| {
            let slot = engine
                .index
                .slot(FieldId::intern(field).expect("id"))
                .expect("slot");
            engine.index.fields[slot].literals.get().is_some()
        };
        assert!(!built("x") && !built("y"));
        assert_eq!(engine.matching_rules(&event(&[("x", "a ONE b")])), ["a"]);
        assert!(built("x") && !built("y"));
        assert!(engine.matching_rules(&event(&[("y", "one")])).is_empty());
        assert!(built("y"));

        let mut fi = FieldBuild::default();
        fi.add(Test::Contains("one".into()), 3);
        let fi = fi.finish(1);
        assert!(fi.literals.set(None).is_ok(), "not built yet");
        let mut marks = [0u64];
        fi.probe("nothing alike", &mut marks);
        assert_eq!(marks, [1 << 3]);
    }

    /// Many rules sharing an atom (as routing conditions do) set their bits from one dense
    /// bit set; each rule is still told apart by its own literal.
    #[test]
    fn atoms_shared_by_many_rules() {
        let mut text = String::new();
        for i in 0..150 {
            text.push_str(&format!(
                "title: r{i}\nid: r{i}\ndetection:\n  s:\n    Channel: Security\n    \
                 EventID: 4688\n    CommandLine|contains: tool{i:03}.exe\n  condition: s\n---\n"
            ));
        }
        let (engine, report) = Engine::compile([RuleSource::new("many.yml", text.as_str())]);
        assert!(report.is_clean(), "{:?}", report.errors);
        for i in [0, 63, 64, 127, 149] {
            let e = event(&[
                ("Channel", "security"),
                ("EventID", "4688"),
                ("CommandLine", &format!("c:\\x\\TOOL{i:03}.EXE /y")),
            ]);
            let id = format!("r{i}");
            assert_eq!(engine.matching_rules(&e), vec![id.as_str()]);
            assert_eq!(engine.candidate_count(&e), 1);
        }
        let e = event(&[("Channel", "Security"), ("EventID", "4688")]);
        assert_eq!(engine.candidate_count(&e), 0);
    }

    /// Modifiers whose values become several atoms, or none, under the kept clauses: `|all`
    /// (one clause per value, more than the index keeps), `windash` variants, `cidr` (the
    /// field's presence), keywords, and a regular expression without a required literal.
    #[test]
    fn clauses_from_modifiers_never_hide_a_match() {
        let rules = "title: all\nid: all\ndetection:\n  s:\n    c|contains|all: [aa, bb, cc, dd, ee, ff]\n  \
                     condition: s\n---\n\
                     title: dash\nid: dash\ndetection:\n  s:\n    c|windash|contains: ' -enc '\n    \
                     ip|cidr: 10.0.0.0/8\n  condition: s\n---\n\
                     title: kw\nid: kw\ndetection:\n  k: [Mimikatz, Rubeus]\n  s:\n    c: x\n  \
                     condition: k and s\n---\n\
                     title: re\nid: re\ndetection:\n  s:\n    c|re: '^.?$'\n  condition: s\n";
        let (engine, report) = Engine::compile([RuleSource::new("m.yml", rules)]);
        assert!(report.is_clean(), "{:?}", report.errors);
        let ids = |fields: &[(&str, &str)]| engine.matching_rules(&event(fields));
        assert_eq!(ids(&[("c", "ffeeddccbbaa")]), vec!["all"]);
        assert!(ids(&[("c", "ffeeddccbba")]).is_empty());
        for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
            let c = format!("p {dash}ENC x");
            assert_eq!(
                ids(&[("c", &c), ("ip", "10.1.2.3")]),
                vec!["dash"],
                "{dash}"
            );
            assert!(ids(&[("c", &c), ("ip", "11.1.2.3")]).is_empty());
        }
        // Keywords: the raw text when there is no message.
        let mut e = event(&[("c", "x")]);
        assert_eq!(engine.matching_rules(&e), vec!["re"]);
        e.raw = b"run mimikatz".to_vec().into_boxed_slice();
        assert_eq!(engine.matching_rules(&e), vec!["kw", "re"]);
        assert_eq!(ids(&[("c", "")]), vec!["re"]);
        assert_eq!(ids(&[("c", "é")]), vec!["re"]);
    }

    #[test]
    fn ones_lists_set_bits_in_order() {
        let marks = [0b1010u64, 1 << 63, 0, 1];
        assert_eq!(ones(&marks).collect::<Vec<_>>(), vec![1, 3, 127, 192]);
    }
}
