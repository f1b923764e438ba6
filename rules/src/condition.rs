//! The `condition` expression: parsed once into an [`Expr`] over selection indices.
//!
//! Grammar (operators are case-insensitive; precedence `not` > `and` > `or`):
//!
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | primary
//! primary := "(" or ")" | quant | IDENT
//! quant   := ("1" | N | "any" | "all") "of" (PATTERN | "them")
//! ```
//!
//! `them` is every search identifier not starting with `_`; a `PATTERN` may use `*` wildcards.

use std::fmt;

use crate::clause::{self, Clause};

/// A compiled condition. Leaves are indices into the rule's selections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Sel(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// At least `n` of these selections match.
    AtLeast(usize, Vec<usize>),
}

impl Expr {
    /// Evaluate with `sel(i)` telling whether selection `i` matches.
    pub(crate) fn eval(&self, sel: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Not(e) => !e.eval(sel),
            Expr::And(es) => es.iter().all(|e| e.eval(sel)),
            Expr::Or(es) => es.iter().any(|e| e.eval(sel)),
            Expr::AtLeast(n, ids) => {
                let mut count = 0;
                for &i in ids {
                    if sel(i) {
                        count += 1;
                        if count >= *n {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }

    /// Fields the expression cannot be true without, given each selection's own mask
    /// (`sel(i)`): union over `and`, intersection over `or`, nothing under `not`.
    pub(crate) fn required(&self, sel: &impl Fn(usize) -> u64) -> u64 {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Not(_) => 0,
            Expr::And(es) => es.iter().fold(0, |acc, e| acc | e.required(sel)),
            Expr::Or(es) => es.iter().fold(u64::MAX, |acc, e| acc & e.required(sel)),
            Expr::AtLeast(n, ids) if *n >= ids.len() => ids.iter().fold(0, |acc, &i| acc | sel(i)),
            Expr::AtLeast(..) => 0,
        }
    }

    /// Clauses (ORs of atoms) that all hold whenever the expression is true, given each
    /// selection's own (`sel(i)`): every side's under `and`, one best clause per side joined
    /// under `or`, nothing under `not`.
    pub(crate) fn necessary(&self, sel: &impl Fn(usize) -> Vec<Clause>) -> Vec<Clause> {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::Not(_) => Vec::new(),
            Expr::And(es) => es.iter().flat_map(|e| e.necessary(sel)).collect(),
            Expr::Or(es) => clause::any_of(es.iter().map(|e| e.necessary(sel)).collect()),
            Expr::AtLeast(n, ids) if *n >= ids.len() => ids.iter().flat_map(|&i| sel(i)).collect(),
            Expr::AtLeast(_, ids) => clause::any_of(ids.iter().map(|&i| sel(i)).collect()),
        }
    }

    /// Selections referenced without negation (those whose matches explain a hit).
    pub(crate) fn positive(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Sel(i) => out.push(*i),
            Expr::Not(_) => {}
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.positive(out)),
            Expr::AtLeast(_, ids) => out.extend(ids),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Word(String),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Open => f.write_str("("),
            Tok::Close => f.write_str(")"),
            Tok::Word(w) => f.write_str(w),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, toks: &mut Vec<Tok>| {
        if !word.is_empty() {
            toks.push(Tok::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut toks);
                toks.push(if c == '(' { Tok::Open } else { Tok::Close });
            }
            '|' => {
                return Err("aggregation expressions ('|') are not supported yet".into());
            }
            c if c.is_whitespace() => flush(&mut word, &mut toks),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut toks);
    Ok(toks)
}

fn is_kw(tok: Option<&Tok>, kw: &str) -> bool {
    matches!(tok, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.and()?];
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(flatten(terms, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.not()?];
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            terms.push(self.not()?);
        }
        Ok(flatten(terms, Expr::And))
    }

    fn not(&mut self) -> Result<Expr, String> {
        if is_kw(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            None => Err("unexpected end of condition".into()),
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    Some(t) => Err(format!("expected ')' but found '{t}'")),
                    None => Err("missing ')'".into()),
                }
            }
            Some(Tok::Close) => Err("unexpected ')'".into()),
            Some(Tok::Word(w)) => {
                if is_kw(self.peek(), "of") {
                    self.pos += 1;
                    return self.quantified(&w);
                }
                for kw in ["and", "or", "not", "of", "them"] {
                    if w.eq_ignore_ascii_case(kw) {
                        return Err(format!("unexpected '{w}'"));
                    }
                }
                match self.names.iter().position(|n| *n == w) {
                    Some(i) => Ok(Expr::Sel(i)),
                    None => Err(format!(
                        "condition references undefined search identifier '{w}'"
                    )),
                }
            }
        }
    }

    /// After `<quantifier> of`.
    fn quantified(&mut self, quant: &str) -> Result<Expr, String> {
        let target = match self.next() {
            Some(Tok::Word(t)) => t,
            Some(t) => {
                return Err(format!(
                    "expected a pattern after '{quant} of', found '{t}'"
                ));
            }
            None => return Err(format!("expected a pattern after '{quant} of'")),
        };
        let ids: Vec<usize> = if target.eq_ignore_ascii_case("them") {
            (0..self.names.len())
                .filter(|&i| !self.names[i].starts_with('_'))
                .collect()
        } else {
            (0..self.names.len())
                .filter(|&i| name_matches(&target, &self.names[i]))
                .collect()
        };
        if ids.is_empty() {
            return Err(format!(
                "'{quant} of {target}' matches no search identifier"
            ));
        }
        let n = if quant.eq_ignore_ascii_case("all") {
            ids.len()
        } else if quant.eq_ignore_ascii_case("any") {
            1
        } else {
            match quant.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(format!("bad quantifier '{quant}' before 'of'")),
            }
        };
        Ok(match (n, ids.as_slice()) {
            (_, [one]) if n == 1 => Expr::Sel(*one),
            (1, _) => Expr::Or(ids.into_iter().map(Expr::Sel).collect()),
            (n, _) if n == ids.len() => Expr::And(ids.into_iter().map(Expr::Sel).collect()),
            (n, _) => Expr::AtLeast(n, ids),
        })
    }
}

fn flatten(mut terms: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        make(terms)
    }
}

/// Does identifier `name` match `pattern` (`*` is any run of characters, case-sensitive)?
fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Parse one condition string against the rule's search identifier `names` (in order).
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected '{t}' in condition")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_is_not_and_or() {
        let n = names(&["a", "b", "c"]);
        assert_eq!(
            parse("a or b and not c", &n).expect("ok"),
            Expr::Or(vec![
                Expr::Sel(0),
                Expr::And(vec![Expr::Sel(1), Expr::Not(Box::new(Expr::Sel(2)))])
            ])
        );
        assert_eq!(
            parse("(a or b) and c", &n).expect("ok"),
            Expr::And(vec![
                Expr::Or(vec![Expr::Sel(0), Expr::Sel(1)]),
                Expr::Sel(2)
            ])
        );
    }

    #[test]
    fn quantifiers_resolve_patterns() {
        let n = names(&["sel1", "sel2", "filter", "_hidden"]);
        assert_eq!(
            parse("all of sel*", &n).expect("ok"),
            Expr::And(vec![Expr::Sel(0), Expr::Sel(1)])
        );
        assert_eq!(
            parse("1 of them", &n).expect("ok"),
            Expr::Or(vec![Expr::Sel(0), Expr::Sel(1), Expr::Sel(2)])
        );
        assert_eq!(parse("any of f*", &n).expect("ok"), Expr::Sel(2));
        assert_eq!(
            parse("2 of them", &n).expect("ok"),
            Expr::AtLeast(2, vec![0, 1, 2])
        );
        assert!(name_matches("*l*", "sel1"));
        assert!(!name_matches("sel*x", "sel1"));
    }

    #[test]
    fn errors_name_the_culprit() {
        let n = names(&["a"]);
        assert!(parse("a and b", &n).expect_err("fails").contains("'b'"));
        assert!(parse("1 of x*", &n).expect_err("fails").contains("x*"));
        assert!(parse("(a", &n).expect_err("fails").contains("')'"));
        assert!(
            parse("a a", &n)
                .expect_err("fails")
                .contains("unexpected 'a'")
        );
        assert!(
            parse("a | count() > 5", &n)
                .expect_err("fails")
                .contains("aggregation")
        );
        assert!(parse("", &n).expect_err("fails").contains("empty"));
    }
}
