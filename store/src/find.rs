//! Finding stored events that hold given values ([`crate::Store::find_events`]): the query a
//! retro-hunt sends when new indicators arrive, and the check of one event's fields against
//! it that the embedded backend runs on the stored typed JSON.
//!
//! What matches, on every backend (the conformance suite checks it):
//! - an **exact** value matches a string or address field whose text equals it, ignoring
//!   ASCII case (`ABC` finds `abc`: hashes and names are written both ways); a value that is
//!   an address matches the same address however the query spells it, and an IPv4-mapped
//!   IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it carries;
//! - an **address range** `[lo, hi]` (both inclusive) matches an address field (or a string
//!   spelling an address canonically) inside it, IPv4-mapped addresses as their IPv4 address;
//! - a **suffix** `example.com` matches `example.com` itself and any name under it at a label
//!   boundary (`a.example.com`, not `badexample.com`), ignoring ASCII case;
//! - a **part** matches a string holding it anywhere, ignoring ASCII case (a wide net, for
//!   the caller to confirm: a URL holding a domain or an address).
//!
//! Null, number, boolean, time and list values match nothing.

use std::net::IpAddr;

use onewall_model::Timestamp;
use onewall_model::hash::{FxMap, FxSet};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::StoreError;

/// Most values (exact values, ranges and suffixes together) one [`ValueQuery`] may hold.
pub const MAX_VALUES: usize = 200_000;

/// A search for stored events holding any of some values, newest first (event time, then
/// id, descending), paged like [`crate::EventQuery`] (its cursors are event cursors). An
/// event is found when **any** condition holds; a query without conditions finds nothing.
#[derive(Debug, Clone, Default)]
pub struct ValueQuery {
    /// Event time at or after this.
    pub from: Option<Timestamp>,
    /// Event time before this.
    pub to: Option<Timestamp>,
    /// `(field, values)`: the field's value is one of `values` (see the module's rules).
    pub exact: Vec<(String, Vec<String>)>,
    /// `(field, lo, hi)`: the field holds an address from `lo` to `hi`, both inclusive and of
    /// the same family (an IPv4-mapped bound counts as IPv4).
    pub ip_ranges: Vec<(String, IpAddr, IpAddr)>,
    /// `(field, suffixes)`: the field holds a name equal to, or under, one of `suffixes`.
    pub suffixes: Vec<(String, Vec<String>)>,
    /// `(field, parts)`: the field holds a string containing one of `parts`.
    pub contains: Vec<(String, Vec<String>)>,
    /// At most this many (clamped to [`crate::MAX_LIMIT`]; 0 means [`crate::DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Where the previous page ended, from [`crate::Page::next_cursor`].
    pub cursor: Option<String>,
}

impl ValueQuery {
    /// True when the query holds no condition (and so finds nothing).
    pub fn is_empty(&self) -> bool {
        self.exact.iter().all(|(_, v)| v.is_empty())
            && self.ip_ranges.is_empty()
            && self.suffixes.iter().all(|(_, v)| v.is_empty())
            && self.contains.iter().all(|(_, v)| v.is_empty())
    }

    /// Every field the query names, once each, in order of first mention.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let names = self
            .exact
            .iter()
            .map(|(f, _)| f.as_str())
            .chain(self.ip_ranges.iter().map(|(f, ..)| f.as_str()))
            .chain(self.suffixes.iter().map(|(f, _)| f.as_str()))
            .chain(self.contains.iter().map(|(f, _)| f.as_str()));
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Refuse what no backend can run: a field name no backend can look up, a range whose
    /// bounds are of two families or reversed, an empty suffix, more than [`MAX_VALUES`]
    /// values. Each refusal says which condition and why.
    pub fn check(&self) -> Result<(), StoreError> {
        for f in self.fields() {
            crate::codec::check_filter_field(f)?;
        }
        let bad = |m: String| Err(StoreError::InvalidQuery(m));
        let mut total = 0usize;
        for (field, lo, hi) in &self.ip_ranges {
            let (lo, hi) = (canonical(*lo), canonical(*hi));
            if lo.is_ipv4() != hi.is_ipv4() {
                return bad(format!(
                    "address range {lo}-{hi} on {field}: both bounds must be of one family"
                ));
            }
            if lo > hi {
                return bad(format!(
                    "address range {lo}-{hi} on {field}: the low bound is above the high one"
                ));
            }
            total += 1;
        }
        for (field, suffixes) in &self.suffixes {
            if let Some(s) = suffixes.iter().find(|s| suffix_text(s).is_empty()) {
                return bad(format!(
                    "suffix {s:?} on {field}: a suffix is a non-empty name"
                ));
            }
            total += suffixes.len();
        }
        for (field, parts) in &self.contains {
            if parts.iter().any(String::is_empty) {
                return bad(format!("an empty part on {field}: a part is some text"));
            }
            total += parts.len();
        }
        total += self.exact.iter().map(|(_, v)| v.len()).sum::<usize>();
        if total > MAX_VALUES {
            return bad(format!(
                "{total} values in one search: at most {MAX_VALUES}"
            ));
        }
        Ok(())
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; others as they are.
pub(crate) fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// An address as one number: IPv4 in the IPv4-mapped space, so both families order alike.
fn as_number(a: IpAddr) -> u128 {
    match canonical(a) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A suffix as compared: lower case, without a leading `*.` or `.` and a trailing `.`.
pub(crate) fn suffix_text(s: &str) -> String {
    let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let s = s.strip_prefix("*.").unwrap_or(&s);
    s.trim_start_matches('.').to_owned()
}

/// The spellings an exact value is stored under by the backends that compare text: the
/// value in lower case and, for an address, its canonical text and (IPv4) its IPv4-mapped
/// IPv6 text.
pub(crate) fn exact_texts(value: &str) -> Vec<String> {
    let mut out = vec![value.to_ascii_lowercase()];
    if let Ok(ip) = value.trim().parse::<IpAddr>() {
        let ip = canonical(ip);
        out.push(ip.to_string());
        if let IpAddr::V4(v4) = ip {
            out.push(v4.to_ipv6_mapped().to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What one field is checked for.
#[derive(Debug, Default)]
struct FieldCheck {
    /// Exact values, lower case.
    texts: FxSet<String>,
    /// Exact addresses, as numbers ([`as_number`]).
    addrs: FxSet<u128>,
    /// IPv4 address ranges as numbers ([`as_number`]), sorted and disjoint.
    ranges4: Vec<(u128, u128)>,
    /// IPv6 address ranges, the same way.
    ranges6: Vec<(u128, u128)>,
    /// Suffixes, as [`suffix_text`] makes them.
    suffixes: FxSet<String>,
    /// Parts, lower case, and their searcher once built.
    parts: Vec<String>,
    searcher: Option<aho_corasick::AhoCorasick>,
}

impl FieldCheck {
    fn wants_address(&self) -> bool {
        !self.addrs.is_empty() || !self.ranges4.is_empty() || !self.ranges6.is_empty()
    }

    fn address(&self, a: IpAddr) -> bool {
        let n = as_number(a);
        if self.addrs.contains(&n) {
            return true;
        }
        let ranges = if canonical(a).is_ipv4() {
            &self.ranges4
        } else {
            &self.ranges6
        };
        // The last range starting at or below n.
        let i = ranges.partition_point(|(lo, _)| *lo <= n);
        i > 0 && ranges[i - 1].1 >= n
    }

    fn text(&self, s: &str) -> bool {
        if self.wants_address()
            && let Ok(a) = s.parse::<IpAddr>()
            && self.address(a)
        {
            return true;
        }
        if let Some(ac) = &self.searcher
            && ac.is_match(s)
        {
            return true;
        }
        if self.texts.is_empty() && self.suffixes.is_empty() {
            return false;
        }
        let lower = s.to_ascii_lowercase();
        if self.texts.contains(&lower) {
            return true;
        }
        if self.suffixes.is_empty() {
            return false;
        }
        let name = lower.trim_end_matches('.');
        let mut rest = name;
        loop {
            if self.suffixes.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, tail)) => rest = tail,
                None => return false,
            }
        }
    }
}

/// A [`ValueQuery`]'s conditions, ready to check events against.
#[derive(Debug, Default)]
pub(crate) struct ValueCheck {
    fields: FxMap<String, FieldCheck>,
}

impl ValueCheck {
    /// The check for `q` (which [`ValueQuery::check`] accepted).
    pub fn new(q: &ValueQuery) -> ValueCheck {
        let mut fields: FxMap<String, FieldCheck> = FxMap::default();
        for (field, values) in &q.exact {
            let c = fields.entry(field.clone()).or_default();
            for v in values {
                match v.trim().parse::<IpAddr>() {
                    Ok(a) => {
                        c.addrs.insert(as_number(a));
                    }
                    Err(_) => {
                        c.texts.insert(v.to_ascii_lowercase());
                    }
                }
            }
        }
        for (field, lo, hi) in &q.ip_ranges {
            let c = fields.entry(field.clone()).or_default();
            let range = (as_number(*lo), as_number(*hi));
            if canonical(*lo).is_ipv4() {
                c.ranges4.push(range);
            } else {
                c.ranges6.push(range);
            }
        }
        for (field, suffixes) in &q.suffixes {
            let c = fields.entry(field.clone()).or_default();
            c.suffixes.extend(suffixes.iter().map(|s| suffix_text(s)));
        }
        for (field, parts) in &q.contains {
            let c = fields.entry(field.clone()).or_default();
            c.parts.extend(parts.iter().map(|p| p.to_ascii_lowercase()));
        }
        for c in fields.values_mut() {
            if !c.parts.is_empty() {
                // Parts are plain text: building cannot fail short of memory limits, and a
                // searcher that failed would only lose these candidates.
                c.searcher = aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&c.parts)
                    .ok();
            }
            c.ranges4 = merged(std::mem::take(&mut c.ranges4));
            c.ranges6 = merged(std::mem::take(&mut c.ranges6));
        }
        ValueCheck { fields }
    }

    /// The check of `field`, when the query names it.
    fn field(&self, field: &str) -> Option<&FieldCheck> {
        self.fields.get(field)
    }

    /// Whether the text a common column holds for `field` (a value's text form) matches.
    pub fn column_text(&self, field: &str, text: &str) -> bool {
        self.field(field).is_some_and(|c| c.text(text))
    }

    /// Whether an event whose fields are `json` (the typed JSON the stores keep) holds a
    /// value the query looks for. Only the named fields' values are decoded.
    pub fn fields_json(&self, json: &str) -> Result<bool, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        de.deserialize_map(FieldsVisitor(self))
    }
}

/// Sorted, disjoint ranges covering the same addresses.
fn merged(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

struct FieldsVisitor<'a>(&'a ValueCheck);

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.field(&key) {
                Some(check) if !found => found = map.next_value_seed(ValueSeed(check))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// One field's typed JSON value, checked: a string, or an address (`{"$ip": text}`).
struct ValueSeed<'a>(&'a FieldCheck);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a typed JSON value")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(self.0.text(s))
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "$ip" {
                let text = map.next_value::<std::borrow::Cow<'de, str>>()?;
                found = text.parse::<IpAddr>().is_ok_and(|a| self.0.address(a));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{Fields, Value};

    fn json(pairs: &[(&str, Value)]) -> String {
        let mut f = Fields::new();
        for (k, v) in pairs {
            f.insert(k, v.clone());
        }
        crate::codec::fields_to_json(&f).expect("json")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn query() -> ValueQuery {
        ValueQuery {
            exact: vec![
                ("a".into(), vec!["10.0.0.1".into(), "DEADBEEF".into()]),
                ("b".into(), vec!["2001:DB8::1".into()]),
            ],
            ip_ranges: vec![("a".into(), ip("192.168.0.0"), ip("192.168.255.255"))],
            suffixes: vec![("d".into(), vec!["*.Example.com.".into()])],
            ..ValueQuery::default()
        }
    }

    #[test]
    fn values_match_as_the_module_says() {
        let q = query();
        q.check().expect("valid");
        let c = ValueCheck::new(&q);
        let hit = |pairs: &[(&str, Value)]| c.fields_json(&json(pairs)).expect("decodes");
        let addr = |s: &str| Value::Ip(ip(s));
        assert!(hit(&[("a", addr("10.0.0.1"))]));
        assert!(hit(&[("a", addr("::ffff:10.0.0.1"))]));
        assert!(hit(&[("a", "10.0.0.1".into())]));
        assert!(hit(&[("a", "deadbeef".into())]));
        assert!(hit(&[("a", addr("192.168.7.7"))]));
        assert!(hit(&[("x", 1.into()), ("a", addr("::ffff:192.168.0.1"))]));
        assert!(!hit(&[("a", addr("192.169.0.0"))]));
        assert!(!hit(&[("a", addr("10.0.0.2"))]));
        let every6 = ValueQuery {
            ip_ranges: vec![(
                "a".into(),
                ip("::"),
                ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            )],
            ..ValueQuery::default()
        };
        let c6 = ValueCheck::new(&every6);
        let hit6 = |v: Value| c6.fields_json(&json(&[("a", v)])).expect("decodes");
        assert!(hit6(addr("fe80::1")));
        assert!(!hit6(addr("10.0.0.1")), "IPv4 is not in an IPv6 range");
        assert!(!hit6(addr("::ffff:10.0.0.1")), "nor a mapped address");
        assert!(!hit(&[("c", addr("10.0.0.1"))]), "another field");
        assert!(hit(&[("b", addr("2001:db8::1"))]));
        assert!(hit(&[("d", "www.EXAMPLE.com".into())]));
        assert!(hit(&[("d", "example.com.".into())]));
        assert!(!hit(&[("d", "badexample.com".into())]));
        assert!(!hit(&[("d", "example.com.evil".into())]));
        assert!(!hit(&[("a", Value::List(vec!["10.0.0.1".into()]))]));
        assert!(!hit(&[("a", Value::Null), ("a2", "10.0.0.1".into())]));
        assert!(c.column_text("a", "10.0.0.1"));
        let parts = ValueQuery {
            contains: vec![("u".into(), vec!["Evil.Example".into()])],
            ..ValueQuery::default()
        };
        let cp = ValueCheck::new(&parts);
        assert!(cp.column_text("u", "http://cdn.EVIL.example/x"));
        assert!(!cp.column_text("u", "http://evil.exampl/x"));
        assert!(!c.column_text("z", "10.0.0.1"));
    }

    #[test]
    fn bad_queries_are_refused_with_the_reason() {
        let mut q = query();
        q.ip_ranges
            .push(("a".into(), ip("10.0.0.9"), ip("10.0.0.1")));
        let e = q.check().expect_err("reversed");
        assert!(e.to_string().contains("low bound"), "{e}");
        let mut q = query();
        q.ip_ranges.push(("a".into(), ip("10.0.0.1"), ip("::1")));
        assert!(q.check().is_err());
        let mut q = query();
        q.suffixes.push(("d".into(), vec![".".into()]));
        assert!(q.check().is_err());
        let mut q = query();
        q.exact.push(("a\"b".into(), vec!["x".into()]));
        assert!(q.check().is_err());
    }

    #[test]
    fn ranges_merge_and_exact_texts_cover_spellings() {
        assert_eq!(
            merged(vec![(5, 9), (1, 3), (4, 4), (20, 30)]),
            vec![(1, 9), (20, 30)]
        );
        assert_eq!(
            exact_texts("10.0.0.1"),
            vec!["10.0.0.1".to_owned(), "::ffff:10.0.0.1".to_owned()]
        );
        assert_eq!(exact_texts("2001:DB8::1"), vec!["2001:db8::1".to_owned()]);
    }
}
