//! Sigma string values compiled for case-insensitive matching: escapes resolved, wildcards
//! turned into tokens, the text lowercased once, and the common shapes (equal, prefix, suffix,
//! substring) given their own fast paths.
//!
//! Every [`Pattern`] is matched against text that the caller has already lowercased (see
//! [`lowercase_into`]), so no per-event case folding happens here.

use memchr::memmem;

/// Where the value is anchored, from the `contains` / `startswith` / `endswith` modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// No modifier: the whole text must match.
    Whole,
    /// `startswith`: the value may be followed by anything.
    Start,
    /// `endswith`: the value may be preceded by anything.
    End,
    /// `contains`: the value may appear anywhere.
    Anywhere,
}

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Literal, lowercased text.
    Lit(String),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, possibly empty.
    Many,
}

/// A compiled, lowercased Sigma string value.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// The text equals this.
    Exact(Box<str>),
    /// The text starts with this.
    Prefix(Box<str>),
    /// The text ends with this.
    Suffix(Box<str>),
    /// The text contains this.
    Contains(Box<memmem::Finder<'static>>),
    /// Any text at all (a lone `*`).
    Any,
    /// Anything else: a general wildcard pattern.
    Glob(Glob),
}

impl Pattern {
    /// Compile a Sigma string value: resolve escapes, find wildcards, lowercase, apply the anchor.
    #[cfg(test)]
    pub(crate) fn compile(value: &str, anchor: Anchor) -> Pattern {
        Self::compile_case(value, anchor, true)
    }

    /// As [`Pattern::compile`]; `fold` false keeps the case (for `cased`, matched against the
    /// original text).
    pub(crate) fn compile_case(value: &str, anchor: Anchor, fold: bool) -> Pattern {
        // Most values of a rule are plain text: no wildcard, no escape to read.
        if !value.contains(['*', '?', '\\']) {
            let mut lit = String::with_capacity(value.len());
            if fold {
                lowercase_into(value, &mut lit);
            } else {
                lit.push_str(value);
            }
            // The tokens the tokenizer and its normalizing would give, without them.
            use Token::{Lit, Many};
            return Self::from_tokens(match (anchor, lit.is_empty()) {
                (Anchor::Whole, _) => vec![Lit(lit)],
                (_, true) => vec![Many],
                (Anchor::Start, false) => vec![Lit(lit), Many],
                (Anchor::End, false) => vec![Many, Lit(lit)],
                (Anchor::Anywhere, false) => vec![Many, Lit(lit), Many],
            });
        }
        Self::compile_tokens(value, anchor, fold)
    }

    /// [`Pattern::compile_case`] through the tokens, for values with wildcards or escapes.
    fn compile_tokens(value: &str, anchor: Anchor, fold: bool) -> Pattern {
        let mut tokens = Vec::new();
        if matches!(anchor, Anchor::End | Anchor::Anywhere) {
            tokens.push(Token::Many);
        }
        tokens.extend(tokenize(value));
        if matches!(anchor, Anchor::Start | Anchor::Anywhere) {
            tokens.push(Token::Many);
        }
        Self::from_tokens(normalize(tokens, fold))
    }

    fn from_tokens(tokens: Vec<Token>) -> Pattern {
        use Token::{Lit, Many};
        match tokens.as_slice() {
            [] => Pattern::Exact("".into()),
            [Lit(s)] => Pattern::Exact(s.as_str().into()),
            [Many] => Pattern::Any,
            [Lit(s), Many] => Pattern::Prefix(s.as_str().into()),
            [Many, Lit(s)] => Pattern::Suffix(s.as_str().into()),
            [Many, Lit(s), Many] => {
                Pattern::Contains(Box::new(memmem::Finder::new(s.as_bytes()).into_owned()))
            }
            _ => Pattern::Glob(Glob::new(tokens)),
        }
    }

    /// Does `lower` (already lowercased text) match?
    pub(crate) fn matches(&self, lower: &str) -> bool {
        match self {
            Pattern::Exact(s) => lower == &**s,
            Pattern::Prefix(s) => lower.starts_with(&**s),
            Pattern::Suffix(s) => lower.ends_with(&**s),
            Pattern::Contains(f) => f.find(lower.as_bytes()).is_some(),
            Pattern::Any => true,
            Pattern::Glob(g) => g.matches(lower),
        }
    }
}

/// A literal a lowercased text must hold for a [`Pattern`] to match it (see
/// [`Pattern::necessary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need<'a> {
    /// The whole text equals this.
    Equals(&'a str),
    /// The text contains this (never empty).
    Contains(&'a str),
}

impl Pattern {
    /// The most selective literal the text must hold for this pattern to match: the whole
    /// text for [`Pattern::Exact`], else the longest literal piece. `None` when the pattern
    /// has no literal (`*`, `?*`): it gives the candidate index nothing to look for.
    pub(crate) fn necessary(&self) -> Option<Need<'_>> {
        fn contains(s: &str) -> Option<Need<'_>> {
            (!s.is_empty()).then_some(Need::Contains(s))
        }
        match self {
            Pattern::Exact(s) => Some(Need::Equals(s)),
            Pattern::Prefix(s) | Pattern::Suffix(s) => contains(s),
            Pattern::Contains(f) => std::str::from_utf8(f.needle()).ok().and_then(contains),
            Pattern::Any => None,
            Pattern::Glob(g) => g
                .segments
                .iter()
                .flat_map(|seg| &seg.parts)
                .filter_map(|p| match p {
                    Part::Lit(s) => Some(&**s),
                    Part::One => None,
                })
                .max_by_key(|s| s.len())
                .and_then(contains),
        }
    }
}

/// Split a Sigma value into literal text and wildcards, resolving escapes as the Sigma
/// specification says: `\*`, `\?` and `\\` are a literal `*`, `?` and `\`; a backslash before
/// any other character (or at the end) is itself literal.
fn tokenize(value: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    lit.push(next);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    tokens.push(Token::Lit(std::mem::take(&mut lit)));
                }
                tokens.push(if c == '*' { Token::Many } else { Token::One });
            }
            other => lit.push(other),
        }
    }
    if !lit.is_empty() {
        tokens.push(Token::Lit(lit));
    }
    tokens
}

/// Lowercase literals (when `fold`), merge adjacent ones and collapse runs of `*`.
fn normalize(tokens: Vec<Token>, fold: bool) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let lower = |s: String| -> String {
        if fold {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s
        }
    };
    for t in tokens {
        match (out.last_mut(), t) {
            (Some(Token::Many), Token::Many) => {}
            (Some(Token::Lit(prev)), Token::Lit(s)) => prev.push_str(&lower(s)),
            (_, Token::Lit(s)) => out.push(Token::Lit(lower(s))),
            (_, t) => out.push(t),
        }
    }
    out
}

/// A piece of a glob between two `*`: literals and `?`, so it always spans a fixed number of
/// characters.
#[derive(Debug, Clone)]
struct Segment {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Lit(Box<str>),
    One,
}

impl Segment {
    /// If the segment matches `hay` starting at byte `at`, the byte offset just past it.
    fn match_at(&self, hay: &str, at: usize) -> Option<usize> {
        let mut pos = at;
        for part in &self.parts {
            let rest = hay.get(pos..)?;
            match part {
                Part::Lit(s) => {
                    if !rest.starts_with(&**s) {
                        return None;
                    }
                    pos += s.len();
                }
                Part::One => pos += rest.chars().next()?.len_utf8(),
            }
        }
        Some(pos)
    }

    /// The leftmost match at or after byte `from`, as the end offset.
    fn find_from(&self, hay: &str, from: usize) -> Option<usize> {
        if let Some(Part::Lit(lit)) = self.parts.first() {
            // Jump between occurrences of the leading literal instead of trying every start.
            let mut start = from;
            loop {
                let at = start + hay.get(start..)?.find(&**lit)?;
                if let Some(end) = self.match_at(hay, at) {
                    return Some(end);
                }
                start = at + hay.get(at..)?.chars().next()?.len_utf8();
            }
        }
        let rest = hay.get(from..)?;
        rest.char_indices()
            .map(|(i, _)| from + i)
            .chain(std::iter::once(hay.len()))
            .find_map(|start| self.match_at(hay, start))
    }

    /// Number of characters the segment spans.
    fn char_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.chars().count(),
                Part::One => 1,
            })
            .sum()
    }
}

/// A general wildcard pattern: segments separated by `*`. The first segment is anchored at the
/// start and the last at the end (either may be empty).
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    segments: Vec<Segment>,
    /// Characters the last segment spans (to find where it must start).
    last_chars: usize,
}

impl Glob {
    fn new(tokens: Vec<Token>) -> Glob {
        let mut segments = vec![Segment { parts: Vec::new() }];
        for t in tokens {
            match t {
                Token::Many => segments.push(Segment { parts: Vec::new() }),
                Token::One => push_part(&mut segments, Part::One),
                Token::Lit(s) => push_part(&mut segments, Part::Lit(s.into_boxed_str())),
            }
        }
        let last_chars = segments.last().map_or(0, Segment::char_len);
        Glob {
            segments,
            last_chars,
        }
    }

    fn matches(&self, hay: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(x) => x,
            None => return hay.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            // No `*`: the one segment must cover the whole text.
            return first.match_at(hay, 0) == Some(hay.len());
        };
        let Some(mut pos) = first.match_at(hay, 0) else {
            return false;
        };
        // Each middle segment spans a fixed number of characters, so its leftmost match leaves
        // the most room for the rest: greedy leftmost is exact.
        for seg in middle {
            match seg.find_from(hay, pos) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        // The last segment must end at the end of the text and start at or after `pos`.
        let start = if self.last_chars == 0 {
            hay.len()
        } else {
            match hay.char_indices().rev().nth(self.last_chars - 1) {
                Some((i, _)) => i,
                None => return false,
            }
        };
        start >= pos && last.match_at(hay, start) == Some(hay.len())
    }
}

fn push_part(segments: &mut [Segment], part: Part) {
    if let Some(seg) = segments.last_mut() {
        seg.parts.push(part);
    }
}

/// Append the lowercase form of `text` to `buf` (ASCII fast path).
pub(crate) fn lowercase_into(text: &str, buf: &mut String) {
    if text.is_ascii() {
        let start = buf.len();
        buf.push_str(text);
        buf[start..].make_ascii_lowercase();
    } else {
        buf.extend(text.chars().flat_map(char::to_lowercase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, anchor: Anchor, text: &str) -> bool {
        let mut lower = String::new();
        lowercase_into(text, &mut lower);
        Pattern::compile(pat, anchor).matches(&lower)
    }

    #[test]
    fn plain_text_compiles_as_through_the_tokens() {
        for value in [
            "",
            "cmd.exe",
            "MiXeD Case",
            "ÄÖÜ straße",
            "İstanbul",
            "ǅ",
            " -enc ",
        ] {
            for anchor in [Anchor::Whole, Anchor::Start, Anchor::End, Anchor::Anywhere] {
                for fold in [false, true] {
                    assert_eq!(
                        format!("{:?}", Pattern::compile_case(value, anchor, fold)),
                        format!("{:?}", Pattern::compile_tokens(value, anchor, fold)),
                        "{value:?} {anchor:?} fold {fold}"
                    );
                }
            }
        }
    }

    #[test]
    fn shapes_get_fast_paths() {
        assert!(matches!(
            Pattern::compile("abc", Anchor::Whole),
            Pattern::Exact(_)
        ));
        assert!(matches!(
            Pattern::compile("abc*", Anchor::Whole),
            Pattern::Prefix(_)
        ));
        assert!(matches!(
            Pattern::compile("abc", Anchor::End),
            Pattern::Suffix(_)
        ));
        assert!(matches!(
            Pattern::compile("*abc*", Anchor::Anywhere),
            Pattern::Contains(_)
        ));
        assert!(matches!(
            Pattern::compile("**", Anchor::Whole),
            Pattern::Any
        ));
        assert!(matches!(
            Pattern::compile("a?c", Anchor::Whole),
            Pattern::Glob(_)
        ));
    }

    #[test]
    fn escapes_follow_the_spec() {
        assert!(m(r"a\*b", Anchor::Whole, "a*b"));
        assert!(!m(r"a\*b", Anchor::Whole, "axxb"));
        assert!(m(r"a\?b", Anchor::Whole, "a?b"));
        assert!(!m(r"a\?b", Anchor::Whole, "axb"));
        assert!(m(r"c:\\windows", Anchor::Whole, r"c:\windows"));
        assert!(m(r"c:\windows", Anchor::Whole, r"c:\windows"));
        assert!(m(r"dir\\*", Anchor::Whole, r"dir\anything"));
        assert!(m(r"dir\\\*", Anchor::Whole, r"dir\*"));
        assert!(!m(r"dir\\\*", Anchor::Whole, r"dir\x"));
        assert!(m(r"a\\\\b", Anchor::Whole, r"a\\b"));
        assert!(m(r"end\", Anchor::Whole, r"end\"));
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(m("a*b*c", Anchor::Whole, "aXXbYYc"));
        assert!(m("a*b*c", Anchor::Whole, "abc"));
        assert!(!m("a*b*c", Anchor::Whole, "acb"));
        assert!(m("*ab?d*", Anchor::Whole, "xxabcdyy"));
        assert!(m("?", Anchor::Whole, "é"));
        assert!(!m("?", Anchor::Whole, ""));
        assert!(!m("??", Anchor::Whole, "a"));
        assert!(m("a*a", Anchor::Whole, "aa"));
        assert!(!m("a*a", Anchor::Whole, "a"));
        assert!(m("*a?", Anchor::Whole, "bananas"));
        assert!(!m("*a?", Anchor::Whole, "banana"));
        assert!(m("Ü*X", Anchor::Whole, "üyyx"));
        assert!(m("*", Anchor::Whole, ""));
        assert!(m("", Anchor::Whole, ""));
        assert!(!m("", Anchor::Whole, "x"));
    }

    /// Independent reference: escapes per the spec, then plain recursive matching on chars.
    fn reference(pat: &str, anchor: Anchor, text: &str) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum R {
            C(char),
            One,
            Many,
        }
        let mut toks = Vec::new();
        if matches!(anchor, Anchor::End | Anchor::Anywhere) {
            toks.push(R::Many);
        }
        let cs: Vec<char> = pat.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            match (cs[i], cs.get(i + 1)) {
                ('\\', Some(&n)) if matches!(n, '*' | '?' | '\\') => {
                    toks.extend(n.to_lowercase().map(R::C));
                    i += 2;
                    continue;
                }
                ('*', _) => toks.push(R::Many),
                ('?', _) => toks.push(R::One),
                (c, _) => toks.extend(c.to_lowercase().map(R::C)),
            }
            i += 1;
        }
        if matches!(anchor, Anchor::Start | Anchor::Anywhere) {
            toks.push(R::Many);
        }
        let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        fn go(p: &[R], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some((R::Many, rest)) => (0..=t.len()).any(|k| go(rest, &t[k..])),
                Some((R::One, rest)) => !t.is_empty() && go(rest, &t[1..]),
                Some((R::C(c), rest)) => t.first() == Some(c) && go(rest, &t[1..]),
            }
        }
        go(&toks, &t)
    }

    /// Text near `pat`: each pattern character kept, dropped, replaced or doubled, so that
    /// matches and near misses are both common.
    fn near(pat: &str, choices: &[u8], tail: &str) -> String {
        let mut out = String::new();
        for (i, c) in pat.chars().enumerate() {
            match choices.get(i).copied().unwrap_or(0) {
                0 => out.push(c),
                1 => {}
                2 => out.push('a'),
                _ => {
                    out.push(c);
                    out.push(c);
                }
            }
        }
        out.push_str(tail);
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(8192))]
        #[test]
        fn compiled_patterns_agree_with_the_reference(
            pat in "[aAbé*?\\\\]{0,6}",
            random in "[aAbBé*?\\\\]{0,10}",
            choices in proptest::collection::vec(0u8..4, 8),
            tail in "[ab]{0,2}",
            use_near in proptest::bool::ANY,
            anchor in 0u8..4,
        ) {
            let anchor = [Anchor::Whole, Anchor::Start, Anchor::End, Anchor::Anywhere][anchor as usize];
            let text = if use_near { near(&pat, &choices, &tail) } else { random };
            proptest::prop_assert_eq!(m(&pat, anchor, &text), reference(&pat, anchor, &text));
        }
    }
}
