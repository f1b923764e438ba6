//! Masking of personal data in API answers for callers without the `pii` permission.
//!
//! Four kinds, each configurable: 18-digit resident identity numbers (GB 11643, the check
//! digit must hold), mobile numbers (11 digits, `1[3-9]…`, optionally `+86`/`86`), bank card
//! numbers (13–19 digits passing Luhn) and email addresses. A digit run is taken whole: a
//! number inside a longer run of digits is not masked as something it is not.
//! Only answers are masked; stored events stay as they came.

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

static DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"[0-9]+[Xx]?").unwrap()
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").unwrap()
});

impl MaskPolicy {
    fn has(&self, k: PiiKind) -> bool {
        self.kinds.contains(&k)
    }

    /// `text` with every personal datum of the configured kinds masked.
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
        let digits_wanted = self.has(PiiKind::ResidentId)
            || self.has(PiiKind::Mobile)
            || self.has(PiiKind::BankCard);
        if digits_wanted && out.bytes().any(|b| b.is_ascii_digit()) {
            let masked = DIGITS.replace_all(&out, |c: &regex::Captures<'_>| {
                let m = c.get(0).map(|m| (m.start(), m.as_str()));
                let Some((start, run)) = m else {
                    return String::new();
                };
                // A run glued to letters or more digits on its left is part of something else.
                let before = out[..start].chars().next_back();
                if before.is_some_and(|ch| ch.is_ascii_alphanumeric()) {
                    return run.to_owned();
                }
                self.mask_run(run).unwrap_or_else(|| run.to_owned())
            });
            out = Cow::Owned(masked.into_owned());
        }
        if out == text {
            Cow::Borrowed(text)
        } else {
            out
        }
    }

    fn mask_run(&self, run: &str) -> Option<String> {
        let bytes = run.as_bytes();
        let ends_x = bytes.last().is_some_and(|b| *b == b'X' || *b == b'x');
        if self.has(PiiKind::ResidentId) && run.len() == 18 && resident_id_valid(run) {
            return Some(format!("{}********{}", &run[..6], &run[14..]));
        }
        if ends_x {
            // `…X` that is no identity number: look at the digits alone.
            let digits = &run[..run.len() - 1];
            return self
                .mask_run(digits)
                .map(|m| format!("{m}{}", &run[run.len() - 1..]));
        }
        if self.has(PiiKind::Mobile) {
            let local = if run.len() == 13 && run.starts_with("86") {
                Some((&run[..2], &run[2..]))
            } else if run.len() == 11 {
                Some(("", run))
            } else {
                None
            };
            if let Some((cc, n)) = local
                && n.as_bytes()[0] == b'1'
                && (b'3'..=b'9').contains(&n.as_bytes()[1])
            {
                return Some(format!("{cc}{}****{}", &n[..3], &n[7..]));
            }
        }
        if self.has(PiiKind::BankCard) && (13..=19).contains(&run.len()) && luhn_valid(run) {
            let stars = "*".repeat(run.len() - 10);
            return Some(format!("{}{stars}{}", &run[..6], &run[run.len() - 4..]));
        }
        None
    }

    /// Mask every string inside `value` (object keys are left alone).
    pub fn mask_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(m) = self.mask_text(s) {
                    *s = m;
                }
            }
            Value::Number(n) => {
                // A phone or card number may arrive as a JSON number.
                if let Some(masked) = n.as_u64().and_then(|u| self.mask_run(&u.to_string())) {
                    *value = Value::String(masked);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(o) => o.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }

    /// Mask the members of a top-level object that may carry personal data: an event's
    /// `raw` and `fields`, an alert's `entities` and `matched`, an incident's `title`,
    /// `entities` and `timeline`. Ids, times and regions are left alone.
    pub fn mask_record(&self, record: &mut Value) {
        if let Value::Object(o) = record {
            for key in ["raw", "fields", "entities", "matched", "title", "timeline"] {
                if let Some(v) = o.get_mut(key) {
                    self.mask_json(v);
                }
            }
        }
    }
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
    fn records_keep_ids_and_times() {
        let mut v = serde_json::json!({
            "id": "13812345678",
            "raw": "user 13812345678",
            "fields": {"user.phone": "13812345678", "n": 13812345678u64},
        });
        all().mask_record(&mut v);
        assert_eq!(v["id"], "13812345678");
        assert_eq!(v["raw"], "user 138****5678");
        assert_eq!(v["fields"]["user.phone"], "138****5678");
        assert_eq!(v["fields"]["n"], "138****5678");
    }
}
