//! Matching an event in passes, so that the memory its probes touch is fetched at once.
//!
//! At a million indicators a probe's filter word is mostly not in the core's own cache, and a
//! probe that waits for it before the next is computed leaves the core idle. So an event's
//! checked values are first turned into keys (each value parsed and normalised once); then
//! every key's filter word is read in one tight loop, whose loads the core overlaps; then the
//! few values with a key some filter lets through are matched as [`IntelSet::match_value`]
//! matches them, which gives the same hits in the same order (by field, value, feed and probe)
//! and reads filter words now in cache.
//!
//! The passes hold their keys in fixed arrays on the stack; an event needing more (a huge
//! list) is matched value by value instead, with the same results.

use std::net::IpAddr;

use onewall_model::{FieldId, Timestamp, Value};

use super::key::{self, Code, UrlParts, key, normalise_name, parse_ip, tree_suffixes, unhex};
use super::{EventHit, IndicatorHandle, IntelSet, Portion};
use crate::fields::FieldClass;
use crate::indicator::canonical_ip;

const MAX_PROBES: usize = 64;
const MAX_GROUPS: usize = 32;
/// Feeds past which the passing keys' feed bits would not fit a word.
const MAX_PARTS: usize = 64;

/// The keys of one value (or of a URL itself, or its host), and where the value is.
#[derive(Debug, Clone, Copy)]
struct Group<'e> {
    field: FieldId,
    class: FieldClass,
    value: &'e Value,
    portion: Portion,
    first: u8,
    end: u8,
}

/// An event's keys while they are gathered; `None` from a method means a bound was reached.
#[derive(Debug)]
pub(crate) struct Batch<'e> {
    keys: [u32; MAX_PROBES],
    codes: [u8; MAX_PROBES],
    n_probes: usize,
    groups: [Option<Group<'e>>; MAX_GROUPS],
    n_groups: usize,
}

impl<'e> Batch<'e> {
    pub fn new() -> Batch<'e> {
        Batch {
            keys: [0; MAX_PROBES],
            codes: [0; MAX_PROBES],
            n_probes: 0,
            groups: [None; MAX_GROUPS],
            n_groups: 0,
        }
    }

    #[inline]
    fn probe(&mut self, k: u32, code: Code) -> Option<()> {
        *self.keys.get_mut(self.n_probes)? = k;
        *self.codes.get_mut(self.n_probes)? = code as u8;
        self.n_probes += 1;
        Some(())
    }

    /// Close the group of the keys since `first` (none: no group).
    fn group(
        &mut self,
        first: usize,
        field: FieldId,
        class: FieldClass,
        value: &'e Value,
        portion: Portion,
    ) -> Option<()> {
        if self.n_probes == first {
            return Some(());
        }
        *self.groups.get_mut(self.n_groups)? = Some(Group {
            field,
            class,
            value,
            portion,
            first: first as u8,
            end: self.n_probes as u8,
        });
        self.n_groups += 1;
        Some(())
    }

    /// Gather the probes of `v`, a value of `field` of class `class`, as
    /// [`IntelSet::match_value`] would probe it.
    pub fn add(
        &mut self,
        set: &IntelSet,
        v: &'e Value,
        class: FieldClass,
        field: FieldId,
    ) -> Option<()> {
        match v {
            Value::Str(s) => self.add_text(set, class, s, field, v),
            Value::Ip(a) if matches!(class, FieldClass::Address) => {
                let first = self.n_probes;
                self.add_ip(set, *a)?;
                self.group(first, field, class, v, Portion::All)
            }
            Value::List(items) => {
                for item in items {
                    self.add(set, item, class, field)?;
                }
                Some(())
            }
            _ => Some(()),
        }
    }

    fn add_text(
        &mut self,
        set: &IntelSet,
        class: FieldClass,
        text: &str,
        field: FieldId,
        v: &'e Value,
    ) -> Option<()> {
        let t = text.trim_ascii();
        let first = self.n_probes;
        match class {
            FieldClass::Address => {
                if let Some(a) = parse_ip(t) {
                    self.add_ip(set, a)?;
                }
            }
            FieldClass::Domain => self.add_name(set, t)?,
            FieldClass::Url => {
                if t.is_empty() {
                    return Some(());
                }
                let parts = UrlParts::parse(t);
                if set.codes & Code::Url.bit() != 0 {
                    let url = parts.normalised();
                    self.probe(key(Code::Url, 0, url.as_bytes()), Code::Url)?;
                    // The URL's hits come before its host's, as feed by feed they are found.
                    self.group(first, field, class, v, Portion::Url)?;
                }
                let first = self.n_probes;
                let host = parts.bare_host();
                if !host.is_empty() {
                    match parse_ip(host) {
                        Some(a) => self.add_ip(set, a)?,
                        None => self.add_name(set, host)?,
                    }
                }
                return self.group(first, field, class, v, Portion::Host);
            }
            FieldClass::Hash => {
                if set.codes & key::HASH_CODES == 0 || !matches!(t.len(), 32 | 40 | 64) {
                    return Some(());
                }
                let mut buf = [0u8; 32];
                let Some(n) = unhex(t, &mut buf) else {
                    return Some(());
                };
                let bytes = buf.get(..n).unwrap_or(&[]);
                let codes: &[Code] = match n {
                    16 => &[Code::Md5],
                    20 => &[Code::Sha1],
                    _ => &[Code::Sha256, Code::Sm3],
                };
                for &code in codes {
                    if set.codes & code.bit() != 0 {
                        self.probe(key(code, 0, bytes), code)?;
                    }
                }
            }
            FieldClass::Email => {
                if set.codes & Code::Email.bit() != 0 {
                    let e = normalise_name(t);
                    self.probe(key(Code::Email, 0, e.as_bytes()), Code::Email)?;
                }
            }
        }
        self.group(first, field, class, v, Portion::All)
    }

    /// An address's probes: itself, then each range length held near it (by any feed; a feed
    /// without that length answers from its filter or table that it holds no such range).
    fn add_ip(&mut self, set: &IntelSet, a: IpAddr) -> Option<()> {
        if set.codes & key::ADDRESS_CODES == 0 {
            return Some(());
        }
        match canonical_ip(a) {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                if set.codes & Code::Ip4.bit() != 0 {
                    self.probe(key(Code::Ip4, 0, &o), Code::Ip4)?;
                }
                if set.codes & Code::Cidr4.bit() == 0 {
                    return Some(());
                }
                let x = u32::from(v4);
                let lengths = set
                    .parts
                    .iter()
                    .filter(|p| p.codes & Code::Cidr4.bit() != 0)
                    .fold(0, |b, p| b | p.v4_lengths_near(x));
                for (p, nb) in super::matching::v4_networks(x, lengths) {
                    self.probe(key(Code::Cidr4, p as u8, &nb), Code::Cidr4)?;
                }
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                if set.codes & Code::Ip6.bit() != 0 {
                    self.probe(key(Code::Ip6, 0, &o), Code::Ip6)?;
                }
                if set.codes & Code::Cidr6.bit() == 0 {
                    return Some(());
                }
                for (p, nb) in super::matching::v6_networks(u128::from(v6), &set.v6_prefixes) {
                    self.probe(key(Code::Cidr6, p as u8, &nb), Code::Cidr6)?;
                }
            }
        }
        Some(())
    }

    /// A name's probes: itself as a domain, then as each tree it can be under (itself first,
    /// then the names it is under, longest first), at the label counts of the trees held.
    fn add_name(&mut self, set: &IntelSet, name: &str) -> Option<()> {
        if set.codes & key::DOMAIN_CODES == 0 {
            return Some(());
        }
        let text = normalise_name(name);
        if text.is_empty() || text.len() > 255 {
            return Some(());
        }
        let b = text.as_bytes();
        if set.codes & Code::Domain.bit() != 0 {
            self.probe(key(Code::Domain, 0, b), Code::Domain)?;
        }
        if set.codes & Code::Tree.bit() == 0 {
            return Some(());
        }
        tree_suffixes(b, set.tree_labels, |s| {
            self.probe(key(Code::Tree, 0, s), Code::Tree)
        })
    }

    /// Match the gathered keys; `false` (and nothing matched) when the set has more feeds
    /// than the passes handle.
    pub fn run(
        &self,
        set: &IntelSet,
        now: Timestamp,
        start: usize,
        out: &mut Vec<EventHit>,
    ) -> bool {
        if set.parts.len() > MAX_PARTS {
            return false;
        }
        let n = self.n_probes;
        let (keys, codes) = (&self.keys[..n], &self.codes[..n]);
        // Every key's filter word in one loop: the loads overlap. Bit `i` of `pass`: some
        // feed may hold key `i`.
        let mut pass = 0u64;
        for p in &set.parts {
            for (i, (k, c)) in keys.iter().zip(codes).enumerate() {
                let held = p.codes & (1 << c) != 0 && p.may_hold(*k);
                pass |= u64::from(held) << i;
            }
        }
        if pass == 0 {
            return true;
        }
        for g in self.groups.iter().take(self.n_groups).flatten() {
            let (first, end) = (u32::from(g.first), u32::from(g.end));
            let mask = (u64::MAX >> (64 - (end - first))) << first;
            if pass & mask == 0 {
                continue;
            }
            let mut hit = |h: IndicatorHandle, confidence: u8| {
                if !out[start..].iter().any(|x| x.handle == h) {
                    out.push(EventHit {
                        handle: h,
                        confidence,
                        field: g.field,
                        observed: observed(g.value),
                    });
                }
            };
            match (g.value, g.portion) {
                (Value::Str(s), Portion::All) => set.visit_text(g.class, s, now, &mut hit),
                (Value::Str(s), portion) => {
                    set.visit_url_text(s.trim_ascii(), portion, now, &mut hit);
                }
                (Value::Ip(a), _) => set.visit_ip(*a, now, &mut hit),
                _ => {}
            }
        }
        true
    }
}

/// The value a hit names: text trimmed, an address in its usual form.
fn observed(v: &Value) -> String {
    match v {
        Value::Str(s) => s.trim().to_string(),
        Value::Ip(a) => a.to_string(),
        _ => String::new(),
    }
}
