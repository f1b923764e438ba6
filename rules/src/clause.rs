//! Clauses: what must hold on an event for a rule to match, as ORs of [`Atom`]s (a field
//! equals a text, contains a literal, or is present). Detection and conditions derive them;
//! the candidate index (`crate::index`) keeps each rule's most selective ones.

use onewall_model::FieldId;
use onewall_model::hash::FxMap;

use crate::pattern::Need;

/// What an [`Atom`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum On {
    /// A field's value (each element of a list).
    Field(FieldId),
    /// The keyword search text: `message`, or the raw text when there is none.
    Keywords,
}

/// What an [`Atom`] tests, on lowercased text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Test {
    /// The whole text equals this.
    Equals(Box<str>),
    /// The text contains this.
    Contains(Box<str>),
    /// The field is present and not null.
    Present,
}

/// One test the index runs for all rules at once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Atom {
    pub(crate) on: On,
    pub(crate) test: Test,
}

impl Atom {
    /// The text test `need` on `on`.
    pub(crate) fn new(on: On, need: Need<'_>) -> Atom {
        let test = match need {
            Need::Equals(s) => Test::Equals(s.into()),
            Need::Contains(s) => Test::Contains(s.into()),
        };
        Atom { on, test }
    }

    /// Field `id` is present and not null.
    pub(crate) fn present(id: FieldId) -> Atom {
        Atom {
            on: On::Field(id),
            test: Test::Present,
        }
    }

    /// How often the atom is expected to hold on an event, roughly: short literals are found
    /// everywhere, long ones rarely; a whole-value equality is rarer than a substring, and a
    /// field's mere presence is common.
    fn cost(&self) -> f64 {
        let chars = |t: &str| t.chars().count().min(12) as i32;
        match &self.test {
            Test::Equals(t) => 0.5f64.powi(chars(t) + 3),
            Test::Contains(t) => 0.5f64.powi(chars(t)),
            Test::Present => 0.3,
        }
    }
}

/// Atoms of which at least one holds (an OR).
pub(crate) type Clause = Vec<Atom>;

fn cost(clause: &Clause) -> f64 {
    clause.iter().map(Atom::cost).sum()
}

/// The most selective clause of a conjunction of clauses.
#[cfg(test)]
fn best(cnf: Vec<Clause>) -> Option<Clause> {
    cnf.into_iter()
        .filter(|c| !c.is_empty())
        .min_by(|a, b| cost(a).total_cmp(&cost(b)))
}

/// An atom needed by `n` rules is taken to hold on at least `n / SHARED_SCALE` of events
/// (at most half): a value many rules look for is a common one, whatever its length. This
/// keeps routing conditions (a log's channel or event id, as processing pipelines add them to
/// every rule of a logsource) from being chosen over the rule's own literals.
const SHARED_SCALE: f64 = 2000.0;

/// How many clauses of each rule the index keeps: a rule is evaluated only when all of them
/// hold. Routing conditions (a channel, an event id) take two of them on most Windows rules,
/// so a rule's own literals need the rest.
pub(crate) const CLAUSES: usize = 4;

/// Each rule's [`CLAUSES`] most selective clauses (fewer when it has fewer), best first,
/// judging atoms many rules share as common.
pub(crate) fn choose(cnfs: Vec<Vec<Clause>>) -> Vec<Vec<Clause>> {
    // Counted by reference (the atoms stay in `cnfs`), with a fast hash: thousands of rules
    // hold tens of thousands of atoms.
    let mut shared: FxMap<&Atom, usize> = FxMap::default();
    for cnf in &cnfs {
        let mut atoms: Vec<&Atom> = cnf.iter().flatten().collect();
        atoms.sort();
        atoms.dedup();
        for a in atoms {
            *shared.entry(a).or_default() += 1;
        }
    }
    let cost = |c: &Clause| -> f64 {
        c.iter()
            .map(|a| {
                let n = shared.get(a).copied().unwrap_or(0) as f64;
                a.cost().max((n / SHARED_SCALE).min(0.5))
            })
            .sum()
    };
    // Each rule's clauses to keep, by position, ranked while the counts borrow them.
    let kept: Vec<Vec<usize>> = cnfs
        .iter()
        .map(|cnf| {
            let mut ranked: Vec<(f64, usize)> = cnf
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| (cost(c), i))
                .collect();
            ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
            ranked.dedup_by(|a, b| cnf[a.1] == cnf[b.1]);
            ranked.into_iter().take(CLAUSES).map(|(_, i)| i).collect()
        })
        .collect();
    drop(shared);
    cnfs.into_iter()
        .zip(kept)
        .map(|(cnf, kept)| {
            let mut cnf: Vec<Option<Clause>> = cnf.into_iter().map(Some).collect();
            kept.into_iter()
                .filter_map(|i| cnf.get_mut(i).and_then(Option::take))
                .collect()
        })
        .collect()
}

/// What holds when any one of several expressions holds, each summarised by a conjunction of
/// clauses: ORs of one clause of each. Each one's few most selective clauses (by their own
/// cost) are combined every way, so [`choose`] can later prefer a combination of the rule's
/// own literals over one of routing conditions many rules share (a rule's Sysmon and Security
/// versions each name their channel: `channel is Sysmon or Security` holds on most events).
/// Nothing is known (empty) when any one of them is unconstrained. One expression alone keeps
/// all its clauses (they all hold).
pub(crate) fn any_of(children: Vec<Vec<Clause>>) -> Vec<Clause> {
    let keep = match children.len() {
        0 | 1 => usize::MAX,
        2 => 6,
        3 => 3,
        4 => 2,
        _ => 1,
    };
    let mut out: Vec<Clause> = vec![Vec::new()];
    for child in children {
        let mut ranked: Vec<(f64, Clause)> = child
            .into_iter()
            .filter(|c| !c.is_empty())
            .map(|c| (cost(&c), c))
            .collect();
        if ranked.is_empty() {
            return Vec::new();
        }
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        ranked.dedup_by(|a, b| a.1 == b.1);
        ranked.truncate(keep);
        let mut next = Vec::with_capacity(out.len() * ranked.len());
        for o in &out {
            for (_, c) in &ranked {
                let mut both = o.clone();
                both.extend(c.iter().cloned());
                next.push(both);
            }
        }
        out = next;
    }
    for c in &mut out {
        c.sort();
        c.dedup();
    }
    out.retain(|c| !c.is_empty());
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(text: &str, equals: bool) -> Atom {
        let on = On::Field(FieldId::intern("index.test").expect("intern"));
        Atom::new(
            on,
            if equals {
                Need::Equals(text)
            } else {
                Need::Contains(text)
            },
        )
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
    fn an_or_of_versions_can_be_narrowed_by_their_own_literals() {
        let channel = |c: &str| atom(c, true);
        let v1 = vec![
            vec![channel("microsoft-windows-sysmon/operational")],
            vec![atom("\\changepk.exe", false)],
        ];
        let v2 = vec![
            vec![channel("security")],
            vec![atom("\\changepk.exe", false)],
        ];
        let ors = any_of(vec![v1, v2]);
        // The channels' OR is one candidate; the literal both versions need is another.
        assert!(
            ors.contains(&vec![atom("\\changepk.exe", false)]),
            "{ors:?}"
        );
        assert!(ors.iter().any(|c| c.len() == 2));
    }

    #[test]
    fn atoms_many_rules_need_are_routing_not_selective() {
        let channel = atom("microsoft-windows-sysmon/operational", true);
        let common = 200;
        let mut cnfs: Vec<Vec<Clause>> = (0..common)
            .map(|i| {
                vec![
                    vec![channel.clone()],
                    vec![atom(&format!("\\tool{i}.exe"), false)],
                ]
            })
            .collect();
        // One rule alone with such a long value: it is as selective as it looks.
        cnfs.push(vec![
            vec![atom("a-rare-but-long-value-of-its-own", true)],
            vec![atom("\\tool.exe", false)],
        ]);
        let chosen = choose(cnfs);
        for (i, c) in chosen.iter().take(common).enumerate() {
            assert_eq!(c[0], vec![atom(&format!("\\tool{i}.exe"), false)]);
            // The routing clause still narrows the rule, second.
            assert_eq!(c[1], vec![channel.clone()]);
        }
        assert_eq!(
            chosen[common][0],
            vec![atom("a-rare-but-long-value-of-its-own", true)]
        );
    }
}
