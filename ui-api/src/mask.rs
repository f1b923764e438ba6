//! Masking of personal data in API answers for callers without the `pii` permission.
//!
//! Four kinds, each configurable: 18-character resident identity numbers (GB 11643: a
//! possible region and birth date, and the check digit must hold), mobile numbers (11 digits,
//! `1[3-9]…`, optionally `+86`/`86`), bank card numbers (13–19 digits of a card network,
//! passing Luhn) and email addresses. Numbers are found as written in logs: whole
//! (`13812345678`), in their usual groups (`138-1234-5678`, `138 1234 5678`,
//! `4111 1111 1111 1111`, `110105 19491231 002X`), in fullwidth digits, or as a float
//! (`13812345678.0`, `1.3812345678E10`). A digit run glued to letters or digits on either
//! side is part of something else (an id, a hash, a cursor) and is left alone.
//!
//! One policy masks a whole answer ([`MaskPolicy::mask_json`]: every string, and numbers that
//! are such data); [`crate::view`] applies it to every answer. Stored events stay as they came.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiKind {
    ResidentId,
    Mobile,
    BankCard,
    Email,
}

impl PiiKind {
    pub const ALL: [PiiKind; 4] = [
        PiiKind::ResidentId,
        PiiKind::Mobile,
        PiiKind::BankCard,
        PiiKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::ResidentId => "resident_id",
            PiiKind::Mobile => "mobile",
            PiiKind::BankCard => "bank_card",
            PiiKind::Email => "email",
        }
    }
}

impl std::str::FromStr for PiiKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PiiKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown kind {s:?}; expected resident_id, mobile, bank_card or email")
            })
    }
}

/// Which kinds are masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskPolicy {
    pub kinds: Vec<PiiKind>,
}

impl Default for MaskPolicy {
    fn default() -> Self {
        MaskPolicy {
            kinds: PiiKind::ALL.to_vec(),
        }
    }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").unwrap()
});
/// A number written in scientific notation, as a JSON float is (`1.3812345678E10`).
static SCIENTIFIC: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"[0-9]\.[0-9]+[eE]\+?[0-9]{1,2}").unwrap()
});

/// The value of an ASCII or fullwidth digit.
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => u8::try_from(u32::from(c) - u32::from('０')).ok(),
        _ => None,
    }
}

/// The check character `X` of a resident identity number, ASCII or fullwidth.
fn is_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

/// A separator between the digit groups of one written number (`138-1234-5678`).
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '－' | '\u{3000}')
}

/// A character that makes a neighbouring digit run part of something else (a hash, an id,
/// a host name): a letter or digit, ASCII or fullwidth.
fn glued(c: char) -> bool {
    c.is_ascii_alphanumeric() || digit_value(c).is_some() || matches!(c, 'Ａ'..='Ｚ' | 'ａ'..='ｚ')
}

/// One group of digits of a written number: `chars[start..end]` are digits, followed by a
/// check `X` when `x`; `sep` is the separator before it (none for the first).
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    x: bool,
    sep: Option<char>,
}

impl Group {
    /// Digits and `X` (ASCII), one per character.
    fn len(&self) -> usize {
        self.end - self.start + usize::from(self.x)
    }

    fn push_ascii(&self, chars: &[char], out: &mut String) {
        for c in chars.get(self.start..self.end).unwrap_or_default() {
            out.push(char::from(b'0' + digit_value(*c).unwrap_or(0)));
        }
        if self.x {
            out.push('X');
        }
    }
}

impl MaskPolicy {
    fn has(&self, k: PiiKind) -> bool {
        self.kinds.contains(&k)
    }

    /// Does the policy mask any kind written with digits?
    pub fn masks_digits(&self) -> bool {
        self.has(PiiKind::ResidentId) || self.has(PiiKind::Mobile) || self.has(PiiKind::BankCard)
    }

    /// `text` with every personal datum of the configured kinds masked: identity numbers,
    /// mobiles and cards written whole or in their usual groups (`138 1234 5678`,
    /// `4111 1111 1111 1111`, `110105 19491231 002X`), in ASCII or fullwidth digits, or in
    /// scientific notation; email addresses. A masked digit becomes `*`; everything else
    /// stays as written.
    pub fn mask_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.kinds.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        if self.has(PiiKind::Email) && EMAIL.is_match(&out) {
            out = Cow::Owned(
                EMAIL
                    .replace_all(&out, |c: &regex::Captures<'_>| mask_email(&c[0]))
                    .into_owned(),
            );
        }
        if self.masks_digits() && out.chars().any(|c| digit_value(c).is_some()) {
            if let Some(m) = self.mask_scientific(&out) {
                out = Cow::Owned(m);
            }
            if let Some(m) = self.mask_digit_runs(&out) {
                out = Cow::Owned(m);
            }
        }
        out
    }

    /// Numbers in scientific notation whose value is a personal datum, replaced by it masked.
    fn mask_scientific(&self, text: &str) -> Option<String> {
        if !SCIENTIFIC.is_match(text) {
            return None;
        }
        let mut changed = false;
        let out = SCIENTIFIC.replace_all(text, |c: &regex::Captures<'_>| {
            let Some(m) = c.get(0) else {
                return String::new();
            };
            let before = text.get(..m.start()).and_then(|t| t.chars().next_back());
            let after = text.get(m.end()..).and_then(|t| t.chars().next());
            let apart = |c: Option<char>| !c.is_some_and(|c| glued(c) || c == '.');
            let masked = (apart(before) && apart(after))
                .then(|| integer_of_scientific(m.as_str()))
                .flatten()
                .and_then(|digits| self.mask_run(&digits));
            match masked {
                Some(masked) => {
                    changed = true;
                    masked
                }
                None => m.as_str().to_owned(),
            }
        });
        changed.then(|| out.into_owned())
    }

    /// Digit runs (and groups of runs) that are personal data, their hidden digits starred.
    fn mask_digit_runs(&self, text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut star = vec![false; chars.len()];
        let mut i = 0;
        while i < chars.len() {
            if digit_value(chars[i]).is_none() {
                i += 1;
                continue;
            }
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let prev2 = i.checked_sub(2).and_then(|j| chars.get(j)).copied();
            // Glued to letters or digits, or the fraction of a decimal number (`0.138…`).
            let glued_left = prev.is_some_and(glued)
                || (prev == Some('.') && prev2.is_some_and(|c| digit_value(c).is_some()));
            let (groups, next) = read_groups(&chars, i);
            let glued_right = chars.get(next).copied().is_some_and(glued);
            self.mask_groups(&chars, &groups, glued_left, glued_right, &mut star);
            i = next.max(i + 1);
        }
        if !star.contains(&true) {
            return None;
        }
        Some(
            chars
                .iter()
                .zip(&star)
                .map(|(c, s)| if *s { '*' } else { *c })
                .collect(),
        )
    }

    /// Mark the hidden digits of the personal data among `groups` (one written number, or a
    /// few side by side).
    fn mask_groups(
        &self,
        chars: &[char],
        groups: &[Group],
        glued_left: bool,
        glued_right: bool,
        star: &mut [bool],
    ) {
        let n = groups.len();
        // May groups a..=b be read as one number?
        let usable = |a: usize, b: usize| {
            b < n
                && !(a == 0 && glued_left)
                && !(b + 1 == n && glued_right)
                && groups[a..b].iter().all(|g| !g.x)
                && groups
                    .get(a + 1..=b)
                    .unwrap_or_default()
                    .iter()
                    .all(|g| g.sep == groups.get(a + 1).and_then(|g| g.sep))
        };
        let lens = |a: usize, b: usize| -> Vec<usize> {
            groups
                .get(a..=b)
                .unwrap_or_default()
                .iter()
                .map(Group::len)
                .collect()
        };
        let ascii = |a: usize, b: usize| -> String {
            let mut s = String::new();
            for g in groups.get(a..=b).unwrap_or_default() {
                g.push_ascii(chars, &mut s);
            }
            s
        };
        let mut g = 0;
        while g < n {
            let mut found = None;
            // 110105 19491231 002X
            if usable(g, g + 2) && lens(g, g + 2) == [6, 8, 4] {
                found = self.mask_resident(&ascii(g, g + 2)).map(|m| (g + 2, m));
            }
            // 4111 1111 1111 1111 (and 13–19 digits in groups of four, the last shorter)
            for k in [5, 4] {
                if found.is_some() || !usable(g, g + k - 1) {
                    continue;
                }
                let l = lens(g, g + k - 1);
                let total: usize = l.iter().sum();
                let last = l.last().copied().unwrap_or(0);
                if l[..k - 1].iter().all(|x| *x == 4)
                    && (1..=4).contains(&last)
                    && (13..=19).contains(&total)
                    && !groups[g + k - 1].x
                {
                    found = self.mask_card(&ascii(g, g + k - 1)).map(|m| (g + k - 1, m));
                }
            }
            // 138 1234 5678
            if found.is_none() && usable(g, g + 2) && lens(g, g + 2) == [3, 4, 4] {
                found = self.mask_mobile(&ascii(g, g + 2)).map(|m| (g + 2, m));
            }
            // One run by itself.
            if found.is_none() && usable(g, g) {
                found = self.mask_run(&ascii(g, g)).map(|m| (g, m));
            }
            match found {
                Some((last, masked)) => {
                    let positions = groups[g..=last]
                        .iter()
                        .flat_map(|gr| gr.start..gr.end + usize::from(gr.x));
                    for (pos, m) in positions.zip(masked.chars()) {
                        if m == '*'
                            && let Some(s) = star.get_mut(pos)
                        {
                            *s = true;
                        }
                    }
                    g = last + 1;
                }
                None => g += 1,
            }
        }
    }

    /// A run of ASCII digits (perhaps ending in `X`) masked, if it is personal data.
    fn mask_run(&self, run: &str) -> Option<String> {
        if let Some(m) = self.mask_resident(run) {
            return Some(m);
        }
        if let Some(digits) = run.strip_suffix(['X', 'x']) {
            // `…X` that is no identity number: look at the digits alone.
            return self
                .mask_run(digits)
                .map(|m| format!("{m}{}", run.get(digits.len()..).unwrap_or_default()));
        }
        self.mask_mobile(run).or_else(|| self.mask_card(run))
    }

    /// An 18-character resident identity number: region, birth date and sequence hidden.
    fn mask_resident(&self, run: &str) -> Option<String> {
        if !(self.has(PiiKind::ResidentId) && resident_id_valid(run) && resident_id_plausible(run))
        {
            return None;
        }
        Some(format!("{}********{}", run.get(..6)?, run.get(14..)?))
    }

    /// A mobile number (11 digits `1[3-9]…`, or 13 with `86` before): the middle four hidden.
    fn mask_mobile(&self, run: &str) -> Option<String> {
        if !self.has(PiiKind::Mobile) || !run.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (cc, n) = match run.len() {
            13 if run.starts_with("86") => run.split_at(2),
            11 => ("", run),
            _ => return None,
        };
        let b = n.as_bytes();
        if !(b[0] == b'1' && (b'3'..=b'9').contains(&b[1])) {
            return None;
        }
        Some(format!("{cc}{}****{}", n.get(..3)?, n.get(7..)?))
    }

    /// A bank card number (13–19 digits of a card network, passing Luhn): all but the first
    /// six and last four hidden.
    fn mask_card(&self, run: &str) -> Option<String> {
        if !self.has(PiiKind::BankCard) || !(13..=19).contains(&run.len()) {
            return None;
        }
        // Cards begin with 2 (2221–2720), 3, 4, 5, 6 or 9; a time in milliseconds or
        // nanoseconds (1…) is no card.
        let network = match run.as_bytes()[0] {
            b'3'..=b'6' | b'9' => true,
            b'2' => run
                .get(..4)
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|p| (2221..=2720).contains(&p)),
            _ => false,
        };
        if !(network && luhn_valid(run)) {
            return None;
        }
        let stars = "*".repeat(run.len() - 10);
        Some(format!(
            "{}{stars}{}",
            run.get(..6)?,
            run.get(run.len() - 4..)?
        ))
    }

    /// Mask every string inside `value` (object keys are left alone), and every number that
    /// is a mobile, identity or card number (a phone may arrive as a JSON integer or float).
    pub fn mask_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(m) = self.mask_text(s) {
                    *s = m;
                }
            }
            Value::Number(n) => {
                let digits = match (n.as_u64(), n.as_f64()) {
                    (Some(u), _) => Some(u.to_string()),
                    (None, Some(f)) if (1.0..1e19).contains(&f) && f.fract() == 0.0 => {
                        Some(format!("{f:.0}"))
                    }
                    _ => None,
                };
                if let Some(masked) = digits.and_then(|d| self.mask_run(&d)) {
                    *value = Value::String(masked);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(o) => o.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }
}

/// The digit groups of the number starting at `chars[i]` (a digit) and the index after it:
/// runs of digits joined by single separators, the last perhaps ending in a check `X`.
fn read_groups(chars: &[char], i: usize) -> (Vec<Group>, usize) {
    let mut groups = Vec::new();
    let mut j = i;
    let mut sep = None;
    loop {
        let start = j;
        while chars.get(j).is_some_and(|c| digit_value(*c).is_some()) {
            j += 1;
        }
        let x = chars.get(j).copied().is_some_and(is_x)
            && !chars.get(j + 1).copied().is_some_and(glued);
        groups.push(Group {
            start,
            end: j,
            x,
            sep,
        });
        if x {
            return (groups, j + 1);
        }
        match (chars.get(j), chars.get(j + 1)) {
            (Some(s), Some(d)) if is_separator(*s) && digit_value(*d).is_some() => {
                sep = Some(*s);
                j += 1;
            }
            _ => return (groups, j),
        }
    }
}

/// The integer a number in scientific notation stands for, as digits, when it has no
/// fraction (`1.3812345678E10` → `13812345678`).
fn integer_of_scientific(s: &str) -> Option<String> {
    let (mantissa, exp) = s.split_once(['e', 'E'])?;
    let exp: usize = exp.trim_start_matches('+').parse().ok()?;
    let (int, frac) = mantissa.split_once('.')?;
    let frac = frac.trim_end_matches('0');
    if int == "0" || exp < frac.len() || exp > 19 {
        return None;
    }
    let mut digits = format!("{int}{frac}");
    digits.extend(std::iter::repeat_n('0', exp - frac.len()));
    Some(digits)
}

/// A resident identity number's region and birth date are possible ones.
fn resident_id_plausible(id: &str) -> bool {
    let num = |r: std::ops::Range<usize>| id.get(r).and_then(|t| t.parse::<u32>().ok());
    matches!(id.as_bytes().first(), Some(b'1'..=b'8'))
        && num(6..10).is_some_and(|y| (1800..=2099).contains(&y))
        && num(10..12).is_some_and(|m| (1..=12).contains(&m))
        && num(12..14).is_some_and(|d| (1..=31).contains(&d))
}

/// GB 11643: 17 digits and a check character (`0`–`9` or `X`).
pub fn resident_id_valid(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

/// The Luhn check of a digit string.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> MaskPolicy {
        MaskPolicy::default()
    }

    #[test]
    fn resident_ids_are_masked_only_when_the_check_digit_holds() {
        // 11010519491231002X is the standard's worked example.
        assert!(resident_id_valid("11010519491231002X"));
        assert!(!resident_id_valid("110105194912310021"));
        assert_eq!(
            all().mask_text("id 11010519491231002X logged in"),
            "id 110105********002X logged in"
        );
        // A wrong check digit: not an identity number (and 18 digits fail Luhn here).
        assert_eq!(
            all().mask_text("id 110105194912310021 x"),
            "id 110105194912310021 x"
        );
    }

    #[test]
    fn mobiles_cards_and_emails() {
        let p = all();
        assert_eq!(p.mask_text("call 13812345678."), "call 138****5678.");
        assert_eq!(p.mask_text("tel:+8613812345678"), "tel:+86138****5678");
        // 12345678901 starts with 12: no mobile number.
        assert_eq!(p.mask_text("n=12345678901"), "n=12345678901");
        // 4111111111111111 passes Luhn; 4111111111111112 does not.
        assert_eq!(
            p.mask_text("card 4111111111111111"),
            "card 411111******1111"
        );
        assert_eq!(
            p.mask_text("card 4111111111111112"),
            "card 4111111111111112"
        );
        assert_eq!(
            p.mask_text("from zhang.san@example.com.cn ok"),
            "from z***@example.com.cn ok"
        );
        // Digits glued to letters (a hash, a hostname) are left alone.
        assert_eq!(p.mask_text("sha a13812345678"), "sha a13812345678");
    }

    #[test]
    fn only_configured_kinds_are_masked() {
        let p = MaskPolicy {
            kinds: vec![PiiKind::Email],
        };
        assert_eq!(p.mask_text("13812345678 a@b.cn"), "13812345678 a***@b.cn");
        assert!(matches!(
            MaskPolicy { kinds: vec![] }.mask_text("a@b.cn"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn answers_keep_ids_and_times() {
        let mut v = serde_json::json!({
            "id": "01JB7Q5M3R8K138123456789XY",
            "raw": "user 13812345678",
            "parse_error": "expected '=' at 13812345678",
            "fields": {"user.phone": "13812345678", "n": 13812345678u64},
            "group_key": "user.phone=13812345678",
            "time": "2026-12-06T13:04:07.123456789Z",
            "next_cursor": "e1800000000000000013812345678abcdef0123456789abcdef0123456789",
            "bytes": 1048576,
            "seq": 42,
        });
        all().mask_json(&mut v);
        assert_eq!(v["id"], "01JB7Q5M3R8K138123456789XY");
        assert_eq!(v["raw"], "user 138****5678");
        assert_eq!(v["parse_error"], "expected '=' at 138****5678");
        assert_eq!(v["fields"]["user.phone"], "138****5678");
        assert_eq!(v["fields"]["n"], "138****5678");
        assert_eq!(v["group_key"], "user.phone=138****5678");
        assert_eq!(v["time"], "2026-12-06T13:04:07.123456789Z");
        assert_eq!(
            v["next_cursor"],
            "e1800000000000000013812345678abcdef0123456789abcdef0123456789"
        );
        assert_eq!(v["bytes"], 1048576);
        assert_eq!(v["seq"], 42);
    }

    #[test]
    fn grouped_numbers_are_masked() {
        let p = all();
        for (text, want) in [
            ("call 138-1234-5678 now", "call 138-****-5678 now"),
            ("call 138 1234 5678 now", "call 138 **** 5678 now"),
            ("tel +86 138 1234 5678", "tel +86 138 **** 5678"),
            ("tel +86-138-1234-5678", "tel +86-138-****-5678"),
            ("card 4111 1111 1111 1111.", "card 4111 11** **** 1111."),
            ("card 4111-1111-1111-1111", "card 4111-11**-****-1111"),
            ("id 110105 19491231 002X ok", "id 110105 ******** 002X ok"),
            ("id 110105-19491231-002x", "id 110105-********-002x"),
        ] {
            assert_eq!(p.mask_text(text), want, "{text}");
        }
    }

    #[test]
    fn fullwidth_digits_are_masked() {
        let p = all();
        assert_eq!(
            p.mask_text("手机１３８１２３４５６７８"),
            "手机１３８****５６７８"
        );
        assert_eq!(
            p.mask_text("身份证１１０１０５１９４９１２３１００２Ｘ"),
            "身份证１１０１０５********００２Ｘ"
        );
        assert_eq!(
            p.mask_text("１３８－１２３４－５６７８"),
            "１３８－****－５６７８"
        );
    }

    #[test]
    fn numbers_that_arrived_as_floats_are_masked() {
        let p = all();
        assert_eq!(p.mask_text("phone=13812345678.0"), "phone=138****5678.0");
        assert_eq!(
            p.mask_text("{\"phone\":1.3812345678E10}"),
            "{\"phone\":138****5678}"
        );
        assert_eq!(p.mask_text("x 1.3812345678e+10 y"), "x 138****5678 y");
        for raw in ["13812345678.0", "1.3812345678E10", "1.3812345678e10"] {
            let mut v: Value = serde_json::from_str(&format!("{{\"p\": {raw}}}")).unwrap();
            p.mask_json(&mut v);
            assert_eq!(v["p"], "138****5678", "{raw}");
        }
        // A measurement in scientific notation with a fraction is no phone.
        assert_eq!(
            p.mask_text("rtt 1.38123456789E1 ms"),
            "rtt 1.38123456789E1 ms"
        );
    }

    #[test]
    fn structural_values_are_not_masked() {
        let p = all();
        for text in [
            // Ids and cursors: digit runs glued to letters.
            "01JB7Q5M3R8K13812345678ZZZ",
            "13812345678ABCDEFGHJKMNPQR",
            "e1800000000000000013812345678abcdef",
            // Times, RFC 3339 and epoch (seconds, milliseconds, nanoseconds).
            "2026-12-06T13:04:07.123456789Z",
            "at 2026-12-06 13:04:07 +0800",
            "ts=1733500000 ms=1733500000123 ns=1733500000123456789",
            // Addresses and ports.
            "from 10.138.123.45:13812 to 2001:db8::1380:1234 port 443",
            "192.168.100.200",
            // Byte and packet counts.
            "bytes=1048576 packets=123456789012 octets 987654321",
            // A decimal fraction.
            "ratio 0.13812345678",
            // An 18-digit number failing the identity check and Luhn; an impossible date.
            "n 110105194912310021 m 110105194913310025",
            // Region codes and a date side by side.
            "410100 20261206 0001",
        ] {
            assert_eq!(p.mask_text(text), text, "{text}");
        }
        let mut v = serde_json::json!({"ms": 1733500000123u64, "ns": 1733500000123456789u64,
            "port": 443, "bytes": 123456789012u64, "ratio": 0.5, "neg": -13812345678i64});
        let before = v.clone();
        p.mask_json(&mut v);
        assert_eq!(v, before);
    }
}
