//! Several case-insensitive string values of one item, matched together against one lowercased
//! text: whole values through a hash set, `contains` literals through one Aho-Corasick
//! automaton, the rest (prefixes, suffixes, wildcard patterns) one by one. A SigmaHQ item
//! often lists dozens of values (`Image|endswith: [...]`); this keeps matching it close to
//! one lookup instead of one comparison per value.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::pattern::Pattern;

/// Items with fewer values are matched value by value.
const MIN_VALUES: usize = 4;

/// The values of an item, any one of which may match.
#[derive(Debug, Clone)]
pub(crate) struct TextSet {
    /// Whole lowercased values.
    exact: HashSet<Box<str>>,
    /// `contains` literals, any one found is a match.
    literals: Vec<Vec<u8>>,
    /// Their automaton, built the first time the item is matched: most items of a large rule
    /// set are never evaluated (the candidate index rules their rules out), so loading does
    /// not pay for them. `None` when it cannot be built: the literals are then searched one
    /// by one.
    contains: OnceLock<Option<AhoCorasick>>,
    /// Everything else, tried in order.
    rest: Vec<Pattern>,
}

impl TextSet {
    /// A set over `patterns` (each compiled with case folding), or `None` when there are too
    /// few to be worth it.
    pub(crate) fn build<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> Option<TextSet> {
        let patterns: Vec<&Pattern> = patterns.into_iter().collect();
        if patterns.len() < MIN_VALUES {
            return None;
        }
        let mut exact = HashSet::new();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut rest = Vec::new();
        for p in patterns {
            match p {
                Pattern::Exact(s) => {
                    exact.insert(s.clone());
                }
                Pattern::Contains(f) => literals.push(f.needle().to_vec()),
                other => rest.push(other.clone()),
            }
        }
        Some(TextSet {
            exact,
            literals,
            contains: OnceLock::new(),
            rest,
        })
    }

    fn contains(&self, lower: &str) -> bool {
        if self.literals.is_empty() {
            return false;
        }
        let ac = self.contains.get_or_init(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&self.literals)
                .ok()
        });
        match ac {
            Some(ac) => ac.is_match(lower),
            None => self
                .literals
                .iter()
                .any(|l| memchr::memmem::find(lower.as_bytes(), l).is_some()),
        }
    }

    /// Does any value match `lower` (lowercased text)?
    pub(crate) fn matches(&self, lower: &str) -> bool {
        (!self.exact.is_empty() && self.exact.contains(lower))
            || self.contains(lower)
            || self.rest.iter().any(|p| p.matches(lower))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Anchor;

    #[test]
    fn agrees_with_the_values_one_by_one() {
        let pats: Vec<Pattern> = [
            ("cmd.exe", Anchor::Whole),
            ("\\powershell.exe", Anchor::End),
            ("c:\\temp\\", Anchor::Start),
            (" -enc ", Anchor::Anywhere),
            ("a*b?c", Anchor::Whole),
            ("", Anchor::Whole),
        ]
        .iter()
        .map(|(v, a)| Pattern::compile(v, *a))
        .collect();
        let set = TextSet::build(&pats).expect("enough values");
        for text in [
            "cmd.exe",
            "xcmd.exe",
            "c:\\windows\\powershell.exe",
            "c:\\temp\\x",
            "powershell -enc abc",
            "axxbyc",
            "axxbc",
            "",
            "other",
        ] {
            let one_by_one = pats.iter().any(|p| p.matches(text));
            assert_eq!(set.matches(text), one_by_one, "{text:?}");
        }
        assert!(TextSet::build(&pats[..3]).is_none());
    }
}
