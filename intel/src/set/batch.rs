//! Matching an event in passes, so that the memory its probes touch is fetched at once.
//!
//! At a million indicators a probe's filter word is mostly not in the core's own cache, and a
//! probe that waits for it before the next is computed leaves the core idle. So an event's
//! checked values are first turned into probes (parsed and normalised once, each probe a key
//! and the bytes a stored value must hold); then every probe's filter word is read in one
//! tight loop, whose loads the core overlaps; then the few probes that pass walk the tables.
//! Hits come out in the order [`IntelSet::match_value`] gives them: by field, value, feed and
//! probe.
//!
//! The passes hold their probes in fixed arrays on the stack; an event needing more (a huge
//! list or URL) is matched value by value instead, with the same results.

use std::net::IpAddr;

use onewall_model::{FieldId, Timestamp, Value};

use super::key::{
    self, Code, UrlParts, key, normalise_name, normalise_url, parse_ip, tree_suffixes, unhex,
};
use super::{EventHit, IndicatorHandle, IntelSet, handle};
use crate::fields::FieldClass;
use crate::indicator::canonical_ip;

const MAX_PROBES: usize = 64;
const MAX_GROUPS: usize = 32;
const SCRATCH: usize = 1536;
/// Feeds past which the passing probes' feed bits would not fit a word.
const MAX_PARTS: usize = 64;

/// A key, the kind it is of, and where in the scratch bytes the value a stored one must equal
/// is (for a URL: the compared form).
#[derive(Debug, Clone, Copy, Default)]
struct Probe {
    key: u32,
    code: u8,
    start: u16,
    end: u16,
}

/// The probes of one value (or of a URL's host) and the field and value they came from.
#[derive(Debug, Clone, Copy)]
struct Group<'e> {
    field: FieldId,
    value: &'e Value,
    first: u8,
    end: u8,
}

/// An event's probes while they are gathered; `None` from a method means a bound was reached.
#[derive(Debug)]
pub(crate) struct Batch<'e> {
    probes: [Probe; MAX_PROBES],
    n_probes: usize,
    groups: [Option<Group<'e>>; MAX_GROUPS],
    n_groups: usize,
    scratch: [u8; SCRATCH],
    used: usize,
}

impl<'e> Batch<'e> {
    pub fn new() -> Batch<'e> {
        Batch {
            probes: [Probe::default(); MAX_PROBES],
            n_probes: 0,
            groups: [None; MAX_GROUPS],
            n_groups: 0,
            scratch: [0; SCRATCH],
            used: 0,
        }
    }

    fn probe(&mut self, k: u32, code: Code, bytes: &[u8]) -> Option<()> {
        let start = self.used;
        let end = start + bytes.len();
        self.scratch.get_mut(start..end)?.copy_from_slice(bytes);
        let slot = self.probes.get_mut(self.n_probes)?;
        *slot = Probe {
            key: k,
            code: code as u8,
            start: start as u16,
            end: end as u16,
        };
        self.used = end;
        self.n_probes += 1;
        Some(())
    }

    /// Close the group of the probes since `first` (none: no group).
    fn group(&mut self, first: usize, field: FieldId, value: &'e Value) -> Option<()> {
        if self.n_probes == first {
            return Some(());
        }
        let slot = self.groups.get_mut(self.n_groups)?;
        *slot = Some(Group {
            field,
            value,
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
                self.group(first, field, v)
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
                    self.probe(key(Code::Url, 0, url.as_bytes()), Code::Url, url.as_bytes())?;
                    // The URL's hits come before its host's, as feed by feed they are found.
                    self.group(first, field, v)?;
                }
                let first = self.n_probes;
                let host = parts.bare_host();
                if !host.is_empty() {
                    match parse_ip(host) {
                        Some(a) => self.add_ip(set, a)?,
                        None => self.add_name(set, host)?,
                    }
                }
                return self.group(first, field, v);
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
                        self.probe(key(code, 0, bytes), code, bytes)?;
                    }
                }
            }
            FieldClass::Email => {
                if set.codes & Code::Email.bit() != 0 {
                    let e = normalise_name(t);
                    self.probe(key(Code::Email, 0, e.as_bytes()), Code::Email, e.as_bytes())?;
                }
            }
        }
        self.group(first, field, v)
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
                    self.probe(key(Code::Ip4, 0, &o), Code::Ip4, &o)?;
                }
                if set.codes & Code::Cidr4.bit() == 0 {
                    return Some(());
                }
                let x = u32::from(v4);
                let mut bits = set
                    .parts
                    .iter()
                    .filter(|p| p.codes & Code::Cidr4.bit() != 0)
                    .fold(0, |b, p| b | p.v4_lengths_near(x));
                while bits != 0 {
                    let p = bits.trailing_zeros();
                    bits &= bits - 1;
                    let net = if p == 0 {
                        0
                    } else {
                        x & (u32::MAX << (32 - p))
                    };
                    let nb = net.to_be_bytes();
                    let stored = [nb[0], nb[1], nb[2], nb[3], p as u8];
                    self.probe(key(Code::Cidr4, p as u8, &nb), Code::Cidr4, &stored)?;
                }
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                if set.codes & Code::Ip6.bit() != 0 {
                    self.probe(key(Code::Ip6, 0, &o), Code::Ip6, &o)?;
                }
                if set.codes & Code::Cidr6.bit() == 0 {
                    return Some(());
                }
                let x = u128::from(v6);
                for (w, word) in set.v6_prefixes.iter().enumerate() {
                    let mut bits = *word;
                    while bits != 0 {
                        let p = w as u32 * 64 + bits.trailing_zeros();
                        bits &= bits - 1;
                        let net = if p == 0 {
                            0
                        } else {
                            x & (u128::MAX << (128 - p))
                        };
                        let nb = net.to_be_bytes();
                        let mut stored = [0u8; 17];
                        stored[..16].copy_from_slice(&nb);
                        stored[16] = p as u8;
                        self.probe(key(Code::Cidr6, p as u8, &nb), Code::Cidr6, &stored)?;
                    }
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
            self.probe(key(Code::Domain, 0, b), Code::Domain, b)?;
        }
        if set.codes & Code::Tree.bit() == 0 {
            return Some(());
        }
        tree_suffixes(b, set.tree_labels, |s| {
            self.probe(key(Code::Tree, 0, s), Code::Tree, s)
        })
    }

    /// Match the gathered probes; `false` (and nothing matched) when the set has more feeds
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
        let probes = self.probes.get(..self.n_probes).unwrap_or(&[]);
        // Every probe's filter word in one loop: the loads overlap. Bit `pi` of `pass[i]`:
        // feed `pi` may hold probe `i`'s key.
        let mut pass = [0u64; MAX_PROBES];
        let mut any = 0u64;
        for (pi, p) in set.parts.iter().enumerate() {
            for (q, pr) in pass.iter_mut().zip(probes) {
                let held = p.codes & (1 << pr.code) != 0 && p.may_hold(pr.key);
                *q |= u64::from(held) << pi;
                any |= u64::from(held);
            }
        }
        if any == 0 {
            return true;
        }
        for g in self.groups.iter().take(self.n_groups).flatten() {
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
            let range = usize::from(g.first)..usize::from(g.end);
            let group_pass = pass.get(range.clone()).unwrap_or(&[]);
            if group_pass.iter().all(|q| *q == 0) {
                continue;
            }
            for (pi, p) in set.parts.iter().enumerate() {
                for (pr, q) in probes
                    .get(range.clone())
                    .unwrap_or(&[])
                    .iter()
                    .zip(group_pass)
                {
                    if q & (1 << pi) == 0 {
                        continue;
                    }
                    let want = self
                        .scratch
                        .get(usize::from(pr.start)..usize::from(pr.end))
                        .unwrap_or(&[]);
                    let code = Code::from_u8(pr.code);
                    let eq = |b: &[u8]| {
                        if code == Code::Url {
                            normalise_url(&String::from_utf8_lossy(b)).as_bytes() == want
                        } else {
                            b == want
                        }
                    };
                    p.walk(pr.key, code, eq, now, &mut |i, c| hit(handle(pi, i), c));
                }
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
