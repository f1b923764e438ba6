//! STIX 2.1 patterns: the whole lexical and expression grammar is parsed (so a pattern is
//! never misread), then only the shape onewall matches is accepted.
//!
//! Supported: observation expressions `[ ... ]` joined by `OR` (parentheses allowed), each
//! holding comparisons joined by `OR`, each comparison `path = 'value'` or
//! `path IN ('a', 'b')` on
//!
//! | path | indicator |
//! | --- | --- |
//! | `ipv4-addr:value`, `ipv6-addr:value` | an address, or a range when the value is CIDR |
//! | `network-traffic:src_ref.value`, `network-traffic:dst_ref.value` | the same |
//! | `domain-name:value` | exactly this domain (STIX equality is exact: no subdomains) |
//! | `url:value` | the URL |
//! | `file:hashes.MD5`, `file:hashes.'SHA-1'`, `file:hashes.'SHA-256'`, `file:hashes.SM3` | the hash |
//! | `email-addr:value` | the address |
//!
//! A CIDR value compared with `=` is read as a range: the indicator matches every address
//! inside it (what STIX writes `ISSUBSET`), since events carry addresses, not ranges. Domain
//! names, email addresses and hashes compare without regard to case.
//!
//! Everything else is refused with a reason naming it: `unsupported: AND`,
//! `unsupported: FOLLOWEDBY`, `unsupported: WITHIN qualifier`, `unsupported: NOT`,
//! `unsupported: comparison LIKE`, `unsupported object path x509-certificate:...`.

use std::fmt;

use onewall_model::IndicatorKind;

use crate::Observable;

/// A pattern's syntax tree: observation expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `[ comparisons ]`
    Observation(Comparison),
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    FollowedBy(Box<Expr>, Box<Expr>),
    Qualified(Box<Expr>, Qualifier),
}

/// `WITHIN n SECONDS`, `REPEATS n TIMES`, `START t'..' STOP t'..'`.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    Within(String),
    Repeats(String),
    StartStop(String, String),
}

/// The comparisons inside one observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Or(Box<Comparison>, Box<Comparison>),
    And(Box<Comparison>, Box<Comparison>),
    Test(Test),
}

/// One property test: `path [NOT] op value`, or `EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub path: ObjectPath,
    pub negated: bool,
    pub op: Op,
    /// One literal, or the members of an `IN` set; empty for `EXISTS`.
    pub values: Vec<Literal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    Exists,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Neq => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::In => "IN",
            Op::Like => "LIKE",
            Op::Matches => "MATCHES",
            Op::IsSubset => "ISSUBSET",
            Op::IsSuperset => "ISSUPERSET",
            Op::Exists => "EXISTS",
        }
    }
}

/// A literal as written: strings unescaped, the others as their text.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Number(String),
    Bool(bool),
    Timestamp(String),
    Hex(String),
    Binary(String),
}

/// `object-type:step.step[0]...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(String),
    AnyIndex,
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                Step::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_plain_identifier(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "'{}'", k.replace('\\', "\\\\").replace('\'', "\\'"))?;
                    }
                }
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Cmp(Op),
    Ident(String),
    Lit(Literal),
}

/// Split `src` into tokens, each with its byte offset.
fn lex(src: &str) -> Result<Vec<(usize, Tok)>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let single = match c {
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'.' => Some(Tok::Dot),
            b'*' => Some(Tok::Star),
            b'=' => Some(Tok::Cmp(Op::Eq)),
            _ => None,
        };
        if let Some(t) = single {
            out.push((start, t));
            i += 1;
            continue;
        }
        let two = b.get(i..i + 2).unwrap_or(&[]);
        let op = match (two, c) {
            (b"!=", _) | (b"<>", _) => Some((Op::Neq, 2)),
            (b"<=", _) => Some((Op::Le, 2)),
            (b">=", _) => Some((Op::Ge, 2)),
            (_, b'<') => Some((Op::Lt, 1)),
            (_, b'>') => Some((Op::Gt, 1)),
            _ => None,
        };
        if let Some((op, n)) = op {
            out.push((start, Tok::Cmp(op)));
            i += n;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || (matches!(c, b't' | b'h' | b'b') && b.get(i + 1) == Some(&b'\'')) {
            let quote = if c == b'\'' { i } else { i + 1 };
            let (text, end) = string_at(src, quote)?;
            let lit = match c {
                b't' => Literal::Timestamp(text),
                b'h' => Literal::Hex(text),
                b'b' => Literal::Binary(text),
                _ => Literal::Str(text),
            };
            out.push((start, Tok::Lit(lit)));
            i = end;
        } else if c.is_ascii_digit()
            || (matches!(c, b'-' | b'+') && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push((start, Tok::Lit(Literal::Number(src[start..i].to_string()))));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            let word = &src[start..i];
            out.push((
                start,
                match word {
                    "true" => Tok::Lit(Literal::Bool(true)),
                    "false" => Tok::Lit(Literal::Bool(false)),
                    _ => Tok::Ident(word.to_string()),
                },
            ));
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(format!("syntax error at {i}: unexpected {ch:?}"));
        }
    }
    Ok(out)
}

/// The string whose opening quote is at `quote`: its text with `\'` and `\\` unescaped, and
/// the offset after its closing quote. Any other escape is an error, as in the grammar.
fn string_at(src: &str, quote: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    let mut chars = src[quote + 1..].char_indices();
    while let Some((j, ch)) = chars.next() {
        match ch {
            '\'' => return Ok((text, quote + 1 + j + 1)),
            '\\' => match chars.next() {
                Some((_, e @ ('\'' | '\\'))) => text.push(e),
                Some((k, e)) => {
                    return Err(format!(
                        "syntax error at {}: invalid escape \\{e} in a string",
                        quote + 1 + k - 1
                    ));
                }
                None => break,
            },
            _ => text.push(ch),
        }
    }
    Err(format!("syntax error at {quote}: string not closed"))
}

/// Parse a whole pattern into its syntax tree; a syntax error names its byte offset.
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: src.len(),
    };
    let e = p.followed_by()?;
    if p.pos < p.toks.len() {
        return Err(p.error("expected the end of the pattern"));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|(_, t)| t)
    }

    fn error(&self, what: &str) -> String {
        match self.toks.get(self.pos) {
            Some((at, t)) => format!("syntax error at {at}: {what}, found {}", describe(t)),
            None => format!("syntax error at {}: {what}, found the end", self.end),
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), String> {
        if self.peek() == Some(tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    fn followed_by(&mut self) -> Result<Expr, String> {
        let mut e = self.obs_or()?;
        while self.keyword("FOLLOWEDBY") {
            e = Expr::FollowedBy(Box::new(e), Box::new(self.obs_or()?));
        }
        Ok(e)
    }

    fn obs_or(&mut self) -> Result<Expr, String> {
        let mut e = self.obs_and()?;
        while self.keyword("OR") {
            e = Expr::Or(Box::new(e), Box::new(self.obs_and()?));
        }
        Ok(e)
    }

    fn obs_and(&mut self) -> Result<Expr, String> {
        let mut e = self.observation()?;
        while self.keyword("AND") {
            e = Expr::And(Box::new(e), Box::new(self.observation()?));
        }
        Ok(e)
    }

    fn observation(&mut self) -> Result<Expr, String> {
        let mut e = match self.peek() {
            Some(Tok::LBracket) => {
                self.pos += 1;
                let c = self.cmp_or()?;
                self.expect(&Tok::RBracket, "']'")?;
                Expr::Observation(c)
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.followed_by()?;
                self.expect(&Tok::RParen, "')'")?;
                e
            }
            _ => return Err(self.error("expected '[' or '('")),
        };
        while let Some(q) = self.qualifier()? {
            e = Expr::Qualified(Box::new(e), q);
        }
        Ok(e)
    }

    fn qualifier(&mut self) -> Result<Option<Qualifier>, String> {
        if self.keyword("WITHIN") {
            let n = self.number("a number of seconds")?;
            if !self.keyword("SECONDS") {
                return Err(self.error("expected SECONDS"));
            }
            Ok(Some(Qualifier::Within(n)))
        } else if self.keyword("REPEATS") {
            let n = self.number("a count")?;
            if !self.keyword("TIMES") {
                return Err(self.error("expected TIMES"));
            }
            Ok(Some(Qualifier::Repeats(n)))
        } else if self.keyword("START") {
            let a = self.timestamp()?;
            if !self.keyword("STOP") {
                return Err(self.error("expected STOP"));
            }
            Ok(Some(Qualifier::StartStop(a, self.timestamp()?)))
        } else {
            Ok(None)
        }
    }

    fn number(&mut self, what: &str) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Lit(Literal::Number(n))) => {
                let n = n.clone();
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.error(&format!("expected {what}"))),
        }
    }

    fn timestamp(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Lit(Literal::Timestamp(t))) => {
                let t = t.clone();
                self.pos += 1;
                Ok(t)
            }
            _ => Err(self.error("expected a timestamp t'...'")),
        }
    }

    fn cmp_or(&mut self) -> Result<Comparison, String> {
        let mut c = self.cmp_and()?;
        while self.keyword("OR") {
            c = Comparison::Or(Box::new(c), Box::new(self.cmp_and()?));
        }
        Ok(c)
    }

    fn cmp_and(&mut self) -> Result<Comparison, String> {
        let mut c = self.prop_test()?;
        while self.keyword("AND") {
            c = Comparison::And(Box::new(c), Box::new(self.prop_test()?));
        }
        Ok(c)
    }

    fn prop_test(&mut self) -> Result<Comparison, String> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.cmp_or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(c);
        }
        if self.keyword("EXISTS") {
            let path = self.path()?;
            return Ok(Comparison::Test(Test {
                path,
                negated: false,
                op: Op::Exists,
                values: Vec::new(),
            }));
        }
        let path = self.path()?;
        let negated = self.keyword("NOT");
        let op = match self.peek() {
            Some(Tok::Cmp(op)) => *op,
            Some(Tok::Ident(w)) => match w.as_str() {
                "IN" => Op::In,
                "LIKE" => Op::Like,
                "MATCHES" => Op::Matches,
                "ISSUBSET" => Op::IsSubset,
                "ISSUPERSET" => Op::IsSuperset,
                _ => return Err(self.error("expected a comparison operator")),
            },
            _ => return Err(self.error("expected a comparison operator")),
        };
        self.pos += 1;
        let values = if op == Op::In {
            self.set()?
        } else {
            vec![self.literal()?]
        };
        Ok(Comparison::Test(Test {
            path,
            negated,
            op,
            values,
        }))
    }

    fn set(&mut self) -> Result<Vec<Literal>, String> {
        self.expect(&Tok::LParen, "'(' opening a set")?;
        let mut v = vec![self.literal()?];
        while self.peek() == Some(&Tok::Comma) {
            self.pos += 1;
            v.push(self.literal()?);
        }
        self.expect(&Tok::RParen, "')' closing the set")?;
        Ok(v)
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.peek() {
            Some(Tok::Lit(l)) => {
                let l = l.clone();
                self.pos += 1;
                Ok(l)
            }
            _ => Err(self.error("expected a value")),
        }
    }

    fn path(&mut self) -> Result<ObjectPath, String> {
        let object_type = match self.peek() {
            Some(Tok::Ident(w)) if !is_keyword(w) => w.clone(),
            _ => return Err(self.error("expected an object type")),
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "':' after the object type")?;
        let mut steps = vec![self.path_key()?];
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(Tok::Dot), _) => {
                    self.pos += 1;
                    steps.push(self.path_key()?);
                }
                (Some(Tok::LBracket), Some(Tok::Star)) => {
                    self.pos += 2;
                    self.expect(&Tok::RBracket, "']' closing the list index")?;
                    steps.push(Step::AnyIndex);
                }
                (Some(Tok::LBracket), Some(Tok::Lit(Literal::Number(n)))) => {
                    let n = n.clone();
                    self.pos += 2;
                    self.expect(&Tok::RBracket, "']' closing the list index")?;
                    steps.push(Step::Index(n));
                }
                _ => return Ok(ObjectPath { object_type, steps }),
            }
        }
    }

    fn path_key(&mut self) -> Result<Step, String> {
        match self.peek() {
            Some(Tok::Ident(w)) if !w.contains('-') => {
                let w = w.clone();
                self.pos += 1;
                Ok(Step::Key(w))
            }
            Some(Tok::Ident(_)) => Err(self.error("a property name with '-' must be quoted")),
            Some(Tok::Lit(Literal::Str(s))) => {
                let s = s.clone();
                self.pos += 1;
                Ok(Step::Key(s))
            }
            _ => Err(self.error("expected a property name")),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "AND"
            | "OR"
            | "NOT"
            | "FOLLOWEDBY"
            | "LIKE"
            | "MATCHES"
            | "ISSUBSET"
            | "ISSUPERSET"
            | "EXISTS"
            | "IN"
            | "WITHIN"
            | "REPEATS"
            | "TIMES"
            | "SECONDS"
            | "START"
            | "STOP"
    )
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Colon => "':'".into(),
        Tok::Dot => "'.'".into(),
        Tok::Star => "'*'".into(),
        Tok::Cmp(op) => format!("'{}'", op.as_str()),
        Tok::Ident(w) => format!("{w:?}"),
        Tok::Lit(l) => format!("the value {l:?}"),
    }
}

/// The indicators a pattern of the supported shape names, in the order written, without
/// repeats; otherwise why it is not supported (or not valid).
pub fn observables(pattern: &str) -> Result<Vec<Observable>, String> {
    let e = parse(pattern)?;
    let mut out = Vec::new();
    expr_observables(&e, &mut out)?;
    let mut seen = std::collections::HashSet::new();
    out.retain(|o| seen.insert(o.clone()));
    Ok(out)
}

fn expr_observables(e: &Expr, out: &mut Vec<Observable>) -> Result<(), String> {
    match e {
        Expr::Observation(c) => cmp_observables(c, out),
        Expr::Or(a, b) => {
            expr_observables(a, out)?;
            expr_observables(b, out)
        }
        Expr::And(..) => Err("unsupported: AND".into()),
        Expr::FollowedBy(..) => Err("unsupported: FOLLOWEDBY".into()),
        Expr::Qualified(_, q) => Err(match q {
            Qualifier::Within(_) => "unsupported: WITHIN qualifier".into(),
            Qualifier::Repeats(_) => "unsupported: REPEATS qualifier".into(),
            Qualifier::StartStop(..) => "unsupported: START/STOP qualifier".into(),
        }),
    }
}

fn cmp_observables(c: &Comparison, out: &mut Vec<Observable>) -> Result<(), String> {
    match c {
        Comparison::Or(a, b) => {
            cmp_observables(a, out)?;
            cmp_observables(b, out)
        }
        Comparison::And(..) => Err("unsupported: AND".into()),
        Comparison::Test(t) => test_observables(t, out),
    }
}

/// What a supported path holds: an address (or range), or a value of one kind.
#[derive(Clone, Copy)]
enum Target {
    Address(Option<bool>),
    Kind(IndicatorKind),
}

fn target(path: &ObjectPath) -> Option<Target> {
    let keys: Vec<&str> = path
        .steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(match (path.object_type.as_str(), keys.as_slice()) {
        ("ipv4-addr", ["value"]) => Target::Address(Some(true)),
        ("ipv6-addr", ["value"]) => Target::Address(Some(false)),
        ("network-traffic", ["src_ref" | "dst_ref", "value"]) => Target::Address(None),
        ("domain-name", ["value"]) => Target::Kind(IndicatorKind::Domain),
        ("url", ["value"]) => Target::Kind(IndicatorKind::Url),
        ("email-addr", ["value"]) => Target::Kind(IndicatorKind::Email),
        ("file", ["hashes", "MD5"]) => Target::Kind(IndicatorKind::Md5),
        ("file", ["hashes", "SHA-1"]) => Target::Kind(IndicatorKind::Sha1),
        ("file", ["hashes", "SHA-256"]) => Target::Kind(IndicatorKind::Sha256),
        ("file", ["hashes", "SM3"]) => Target::Kind(IndicatorKind::Sm3),
        _ => return None,
    })
}

fn test_observables(t: &Test, out: &mut Vec<Observable>) -> Result<(), String> {
    let target = target(&t.path).ok_or_else(|| format!("unsupported object path {}", t.path))?;
    if t.negated {
        return Err("unsupported: NOT".into());
    }
    if !matches!(t.op, Op::Eq | Op::In) {
        return Err(format!("unsupported: comparison {}", t.op.as_str()));
    }
    for v in &t.values {
        let Literal::Str(s) = v else {
            return Err(format!(
                "unsupported: a value that is not a string for {}",
                t.path
            ));
        };
        out.push(value(target, s).map_err(|e| format!("{}: {e}", t.path))?);
    }
    Ok(())
}

fn value(target: Target, s: &str) -> Result<Observable, crate::IntelError> {
    match target {
        Target::Kind(k) => Observable::parse(k, s),
        Target::Address(v4) => {
            let kind = if s.contains('/') {
                IndicatorKind::Cidr
            } else {
                IndicatorKind::Ip
            };
            let o = Observable::parse(kind, s)?;
            let is_v4 = match &o {
                Observable::Ip(a) | Observable::Cidr(a, _) => a.is_ipv4(),
                _ => true,
            };
            match v4 {
                Some(want) if want != is_v4 => Err(crate::IntelError::InvalidValue {
                    kind: kind.as_str(),
                    value: s.to_string(),
                    reason: format!("not an IPv{} address", if want { 4 } else { 6 }),
                }),
                _ => Ok(o),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> Vec<String> {
        observables(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .iter()
            .map(Observable::text)
            .collect()
    }

    fn refused(p: &str) -> String {
        observables(p).expect_err(p)
    }

    #[test]
    fn the_supported_shape_gives_its_values() {
        assert_eq!(ok("[ipv4-addr:value = '198.51.100.7']"), ["198.51.100.7"]);
        assert_eq!(
            ok("[ipv4-addr:value = '10.1.0.0/16' OR domain-name:value = 'Evil.Example']"),
            ["10.1.0.0/16", "evil.example"]
        );
        assert_eq!(
            ok(
                "([url:value IN ('http://a.example/x', 'http://b.example/')]) OR [email-addr:value = 'x@y.example']"
            ),
            ["http://a.example/x", "http://b.example/", "x@y.example"]
        );
        assert_eq!(
            ok(
                "[file:hashes.'SHA-256' = '5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8' OR file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"
            ),
            [
                "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
                "d41d8cd98f00b204e9800998ecf8427e"
            ]
        );
        assert_eq!(
            ok(
                "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e' OR network-traffic:dst_ref.value = '2001:db8::1']"
            ),
            ["d41d8cd98f00b204e9800998ecf8427e", "2001:db8::1"]
        );
        assert_eq!(
            ok("[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '1.2.3.4']"),
            ["1.2.3.4"]
        );
    }

    #[test]
    fn escapes_are_read_and_never_split_a_string() {
        assert_eq!(
            ok(r"[url:value = 'http://x.example/a\'b]OR\\c']"),
            [r"http://x.example/a'b]OR\c"]
        );
        assert!(refused(r"[url:value = 'a\nb']").contains("invalid escape"));
        assert!(refused("[url:value = 'open").contains("string not closed"));
    }

    #[test]
    fn everything_else_is_refused_by_name() {
        for (p, want) in [
            (
                "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']",
                "unsupported: AND",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'a.example']",
                "unsupported: AND",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'a.example']",
                "unsupported: FOLLOWEDBY",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS",
                "unsupported: WITHIN qualifier",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES",
                "unsupported: REPEATS qualifier",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
                "unsupported: START/STOP qualifier",
            ),
            (
                "[ipv4-addr:value != '1.2.3.4']",
                "unsupported: comparison !=",
            ),
            (
                "[domain-name:value LIKE '%.example']",
                "unsupported: comparison LIKE",
            ),
            (
                "[domain-name:value MATCHES '^a']",
                "unsupported: comparison MATCHES",
            ),
            (
                "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
                "unsupported: comparison ISSUBSET",
            ),
            ("[ipv4-addr:value NOT = '1.2.3.4']", "unsupported: NOT"),
            (
                "[x509-certificate:hashes.'SHA-256' = 'aa']",
                "unsupported object path x509-certificate:hashes.'SHA-256'",
            ),
            ("[file:name = 'a.exe']", "unsupported object path file:name"),
            (
                "[file:hashes.'SHA-512' = 'aa']",
                "unsupported object path file:hashes.'SHA-512'",
            ),
            (
                "[ipv4-addr:value = 5]",
                "unsupported: a value that is not a string",
            ),
            ("[ipv4-addr:value = '2001:db8::1']", "not an IPv4 address"),
            (
                "[ipv4-addr:value = '10.0.0.300']",
                "ipv4-addr:value: ip value",
            ),
        ] {
            let e = refused(p);
            assert!(e.contains(want), "{p}: {e}");
        }
    }

    #[test]
    fn syntax_errors_name_the_place() {
        for (p, want) in [
            (
                "[ipv4-addr:value = '1.2.3.4'",
                "syntax error at 28: expected ']'",
            ),
            (
                "ipv4-addr:value = '1.2.3.4'",
                "syntax error at 0: expected '[' or '('",
            ),
            ("[file:hashes.SHA-256 = 'aa']", "must be quoted"),
            ("[ipv4-addr:value = '1.2.3.4'] OR", "found the end"),
            (
                "[ipv4-addr:value IN '1.2.3.4']",
                "expected '(' opening a set",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] ]",
                "expected the end of the pattern",
            ),
            ("[ipv4-addr:value ~ '1']", "unexpected '~'"),
        ] {
            let e = refused(p);
            assert!(e.contains(want), "{p}: {e}");
        }
    }

    #[test]
    fn the_full_grammar_parses() {
        let e = parse("([a:b[*].c = 1 AND EXISTS a:d] OR [a:e = h'ff']) FOLLOWEDBY [a:f = true] WITHIN 5 SECONDS")
            .expect("parses");
        assert!(matches!(e, Expr::FollowedBy(..)));
        let Expr::FollowedBy(_, q) = e else {
            unreachable!()
        };
        assert!(matches!(*q, Expr::Qualified(_, Qualifier::Within(ref n)) if n == "5"));
    }
}
