//! Typed comparisons: `cidr` (v4 and v6), `lt`/`lte`/`gt`/`gte` and the date parts
//! `minute hour day week month year`: how each reads its rule value and tests an event value.

use std::net::IpAddr;
use std::sync::OnceLock;

use onewall_model::Value;

use crate::literal;

/// A `cidr` network, v4 or v6.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("cidr value '{text}' is not an address/prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("cidr value '{text}' has a bad prefix length"))?
        };
        Ok(Cidr { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (_, ip) => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Does a scalar event value (an address, or text that parses as one) fall in the network?
    pub(crate) fn matches(&self, value: &Value) -> bool {
        match value {
            Value::Ip(ip) => self.contains(*ip),
            Value::Str(s) => s.trim().parse().is_ok_and(|ip| self.contains(ip)),
            _ => false,
        }
    }
}

/// A numeric comparison: `lt`, `lte`, `gt`, `gte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub(crate) fn parse(m: &str) -> Option<CmpOp> {
        Some(match m {
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            _ => return None,
        })
    }

    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Lt => left < right,
            CmpOp::Lte => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Gte => left >= right,
        }
    }
}

/// The number in a scalar event value: ints, floats and text that parses as a number.
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A date part for `minute hour day week month year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl DatePart {
    pub(crate) fn parse(m: &str) -> Option<DatePart> {
        Some(match m {
            "minute" => DatePart::Minute,
            "hour" => DatePart::Hour,
            "day" => DatePart::Day,
            "week" => DatePart::Week,
            "month" => DatePart::Month,
            "year" => DatePart::Year,
            _ => return None,
        })
    }

    /// The part of an RFC 3339 (or `YYYY-MM-DD HH:MM`) timestamp in UTC as written.
    pub(crate) fn of(self, value: &Value) -> Option<i64> {
        let text = match value {
            Value::Time(t) => t.to_rfc3339(),
            Value::Str(s) => s.to_string(),
            _ => return None,
        };
        let b = text.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            std::str::from_utf8(b.get(r)?).ok()?.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Some(match self {
            DatePart::Year => y,
            DatePart::Month => mo,
            DatePart::Day => d,
            DatePart::Hour => num(11..13)?,
            DatePart::Minute => num(14..16)?,
            DatePart::Week => iso_week(y, mo, d)?,
        })
    }
}

/// ISO 8601 week number of a date.
pub(super) fn iso_week(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days_before = |y: i64, m: i64| {
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        CUM[(m - 1) as usize] + i64::from(leap && m > 2)
    };
    let ordinal = days_before(y, m) + d;
    // Day of week, Monday = 1 (Zeller-like via days since 1970-01-01, a Thursday).
    let days = days_from_civil(y, m, d);
    let weekday = (days + 3).rem_euclid(7) + 1;
    let week = (ordinal - weekday + 10) / 7;
    let weeks_in = |y: i64| {
        let jan1 = (days_from_civil(y, 1, 1) + 3).rem_euclid(7) + 1;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if jan1 == 4 || (leap && jan1 == 3) {
            53
        } else {
            52
        }
    };
    Some(if week < 1 {
        weeks_in(y - 1)
    } else if week > weeks_in(y) {
        1
    } else {
        week
    })
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A `re` expression, checked when its rule compiles and built the first time it runs: a large
/// rule set holds hundreds, most of which the candidate index never lets run, and building
/// one costs far more than checking it.
#[derive(Debug, Clone)]
pub(crate) struct LazyRegex {
    text: Box<str>,
    /// `i`, `m`, `s`.
    flags: (bool, bool, bool),
    /// The expression, once built; `None` when it could not be (it then matches nothing).
    built: OnceLock<Option<regex::Regex>>,
}

impl LazyRegex {
    /// Whether the expression matches anywhere in `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.built
            .get_or_init(|| regex_builder(&self.text, self.flags).build().ok())
            .as_ref()
            .is_some_and(|re| re.is_match(s))
    }
}

fn regex_builder(text: &str, (i, m, s): (bool, bool, bool)) -> regex::RegexBuilder {
    let mut b = regex::RegexBuilder::new(text);
    b.case_insensitive(i)
        .multi_line(m)
        .dot_matches_new_line(s)
        .size_limit(1 << 22);
    b
}

/// `re` with its `i`, `m`, `s` flags: the expression (its syntax checked now, as the regex
/// engine parses it; built when first run), searched anywhere in the value's text, and a
/// lowercased literal every match contains (see [`literal::required`]) for the candidate
/// index.
pub(crate) fn regex(
    text: &str,
    (i, m, s): (bool, bool, bool),
) -> Result<(LazyRegex, Option<Box<str>>), String> {
    let refused = |e: String| {
        let last = e.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        format!(
            "bad regular expression '{text}': {}",
            last.trim().to_lowercase()
        )
    };
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(i)
        .multi_line(m)
        .dot_matches_new_line(s)
        .build()
        .parse(text)
        .map_err(|e| refused(e.to_string()))?;
    // A counted repetition is what can make an expression too large to build: one whose
    // compiled size may come near the engine's limit is built now, so a rule it does not fit
    // is refused at load with the engine's message, instead of matching nothing later.
    // (Building costs about a millisecond; most counted expressions, `[0-9a-f]{32}`, are
    // far below the limit by a bound computed from the syntax alone.)
    let built = if counted(&hir) && states_bound(&hir) >= MAY_NOT_FIT {
        let re = regex_builder(text, (i, m, s))
            .build()
            .map_err(|e| refused(e.to_string()))?;
        OnceLock::from(Some(re))
    } else {
        OnceLock::new()
    };
    let re = LazyRegex {
        text: text.into(),
        flags: (i, m, s),
        built,
    };
    Ok((re, literal::required(text, i).map(String::into_boxed_str)))
}

/// An expression whose [`states_bound`] is below this is far inside the engine's size limit
/// (`1 << 22` bytes, and a compiled state takes tens of bytes at most).
const MAY_NOT_FIT: u64 = 16 * 1024;

/// An upper bound on the states the engine compiles `hir` into (before it shares any): each
/// literal byte one, a Unicode class one per byte of each of its UTF-8 sequences, a byte
/// class one per range, a repetition its body as many times as it may repeat (its minimum
/// and one more when unbounded). Saturating, so nested repetitions cannot overflow.
fn states_bound(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    use regex_syntax::utf8::Utf8Sequences;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64 + 1,
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().fold(1u64, |n, r| {
            Utf8Sequences::new(r.start(), r.end())
                .fold(n, |n, seq| n.saturating_add(seq.len() as u64))
        }),
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64 + 1,
        HirKind::Repetition(r) => {
            let copies = u64::from(r.max.unwrap_or(r.min.saturating_add(1)).max(1));
            states_bound(&r.sub)
                .saturating_mul(copies)
                .saturating_add(1)
        }
        HirKind::Capture(c) => states_bound(&c.sub).saturating_add(2),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .fold(1u64, |n, s| n.saturating_add(states_bound(s))),
    }
}

/// Whether `hir` holds a counted repetition (`{n}`, `{n,m}`, `{n,}` with more than one).
fn counted(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Repetition(r) => r.min > 1 || r.max.is_some_and(|m| m > 1) || counted(&r.sub),
        HirKind::Capture(c) => counted(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(counted),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(text: &str, case_insensitive: bool) -> u64 {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(case_insensitive)
            .build()
            .parse(text)
            .unwrap();
        states_bound(&hir)
    }

    #[test]
    fn the_bound_tells_small_counted_expressions_from_large_ones() {
        // Common in rules: far below, not built at load.
        assert!(bound(r"[0-9a-f]{32}", false) < MAY_NOT_FIT);
        assert!(bound(r"\\[a-z0-9]{1,12}\.exe", true) < MAY_NOT_FIT);
        // Near or past the engine's limit: built at load, and refused if it does not fit.
        assert!(bound(r"\w{1000}{100}", false) >= MAY_NOT_FIT);
        assert!(bound(r"\w{5000}", false) >= MAY_NOT_FIT);
        assert!(bound(r"((a{1000}){1000}){1000}", false) >= MAY_NOT_FIT);
    }

    /// The largest repetition of each class the bound lets through unbuilt still builds
    /// within the engine's limit, with every flag: the bound is safe where it matters.
    #[test]
    fn what_the_bound_lets_through_builds() {
        for class in [r"\w", r"\d", r"[\x00-\x{10FFFF}]", r".", r"[a-z]", r"\pL"] {
            for i in [false, true] {
                let mut n = 1;
                while bound(&format!("{class}{{{}}}", n * 2), i) < MAY_NOT_FIT {
                    n *= 2;
                }
                let text = format!("{class}{{{n}}}");
                assert!(bound(&text, i) < MAY_NOT_FIT);
                assert!(
                    regex_builder(&text, (i, true, true)).build().is_ok(),
                    "{text} (case-insensitive: {i}) passed the bound but does not build"
                );
            }
        }
    }

    #[test]
    fn an_expression_too_large_to_build_is_refused_at_load() {
        let Err(err) = regex(r"\w{1000}{100}", (false, false, false)) else {
            panic!("a 100,000-fold repetition of \\w was built");
        };
        assert!(
            err.starts_with(r"bad regular expression '\w{1000}{100}': ")
                && err.contains("size limit"),
            "{err}"
        );
        // Counted but small: left to be built when first run, and it matches.
        let (re, _) = regex("ab{2,3}c", (true, false, false)).expect("small");
        assert!(re.is_match("xABBc"));
        assert!(!re.is_match("abc"));
    }

    #[test]
    fn a_bad_expression_is_refused_with_the_regex_engines_own_message() {
        for (text, flags) in [
            ("(x", (false, false, false)),
            ("a{2,1}", (true, false, false)),
            (r"\p{NoSuchClass}", (false, false, false)),
            ("[z-a]", (false, true, true)),
        ] {
            let err = regex(text, flags).expect_err(text);
            let engine = regex_builder(text, flags)
                .build()
                .expect_err(text)
                .to_string();
            let last = engine
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            assert_eq!(
                err,
                format!(
                    "bad regular expression '{text}': {}",
                    last.trim().to_lowercase()
                )
            );
        }
    }

    #[test]
    fn an_expression_is_built_when_first_run_with_its_flags() {
        let (re, need) = regex("^Foo.bar$", (true, true, true)).expect("valid");
        assert!(re.built.get().is_none(), "not built before it runs");
        assert!(re.is_match("x\nfoo\nBAR"));
        assert!(re.built.get().is_some_and(Option::is_some));
        let copy = re.clone();
        assert!(copy.is_match("FOO\tBAR") && !copy.is_match("foo"));
        assert!(need.is_some());
        let (cased, _) = regex("Foo", (false, false, false)).expect("valid");
        assert!(cased.is_match("xFooy") && !cased.is_match("foo"));
    }
}
