//! One feed's indicators, compact: per indicator a kind code, a confidence, its interned
//! metadata, its times and the offsets of its value and id in two arenas; one index from value
//! key to the indicators of that key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use onewall_model::hash::FxMap;
use onewall_model::{Severity, Timestamp, Tlp};

use super::index::{END, Filter, KeyTable, V4_SLOTS_FROM, V4Slots};
use super::key::{Code, ip_bytes, key, normalise_url, to_hex, unhex};
use crate::lifetime::{FeedPolicy, LifetimeCounts, Span, Standing, standing};
use crate::{Indicator, Observable};

/// What indicators share: interned per distinct combination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Meta {
    severity: Severity,
    tlp: Tlp,
    labels: Vec<String>,
    attack: Vec<String>,
    description: Option<String>,
}

/// One feed's indicators, built once and never changed.
#[derive(Debug)]
pub(crate) struct FeedPart {
    pub name: String,
    pub policy: FeedPolicy,
    pub loaded: Timestamp,
    /// Bit [`Code::bit`] set for each kind held.
    pub codes: u32,
    /// Bit `p` set when an IPv4 range of prefix length `p` is held.
    pub v4_prefixes: u64,
    /// Bit `n` (of 1..=63, 63 for more) set when a domain tree of `n` labels is held: a name
    /// is probed only at the suffixes of those label counts.
    pub tree_labels: u64,
    /// Bit `p` (of 0..=128) set when an IPv6 range of prefix length `p` is held.
    pub v6_prefixes: [u64; 3],
    code: Vec<u8>,
    confidence: Vec<u8>,
    meta: Vec<u32>,
    from: Vec<i64>,
    until: Vec<i64>,
    /// End offset of each value in `values` (the start is the previous one's end).
    value_end: Vec<u32>,
    values: Vec<u8>,
    id_end: Vec<u32>,
    ids: String,
    /// The next indicator of the same key.
    next: Vec<u32>,
    table: KeyTable,
    filter: Filter,
    /// The prefix lengths of IPv4 ranges per /16, for a feed of many ranges.
    pub v4_slots: Option<V4Slots>,
    /// IPv4 ranges (network, prefix length) while building.
    v4_ranges: Vec<(u32, u8)>,
    metas: Vec<Meta>,
}

impl FeedPart {
    pub fn build(
        name: &str,
        indicators: Vec<Indicator>,
        policy: FeedPolicy,
        loaded: Timestamp,
    ) -> FeedPart {
        let n = indicators.len();
        let mut p = FeedPart {
            name: name.to_string(),
            policy,
            loaded,
            codes: 0,
            v4_prefixes: 0,
            tree_labels: 0,
            v6_prefixes: [0; 3],
            code: Vec::with_capacity(n),
            confidence: Vec::with_capacity(n),
            meta: Vec::with_capacity(n),
            from: Vec::with_capacity(n),
            until: Vec::with_capacity(n),
            value_end: Vec::with_capacity(n),
            values: Vec::new(),
            id_end: Vec::with_capacity(n),
            ids: String::new(),
            next: Vec::with_capacity(n),
            table: KeyTable::with_keys(n),
            filter: Filter::with_keys(n),
            v4_slots: None,
            v4_ranges: Vec::new(),
            metas: Vec::new(),
        };
        let mut metas: FxMap<Meta, u32> = FxMap::default();
        for ind in indicators {
            p.push(ind, &mut metas);
        }
        p.values.shrink_to_fit();
        p.ids.shrink_to_fit();
        p.metas.shrink_to_fit();
        if p.v4_ranges.len() >= V4_SLOTS_FROM {
            let mut slots = V4Slots::new();
            for (net, prefix) in &p.v4_ranges {
                slots.insert(*net, *prefix);
            }
            p.v4_slots = Some(slots);
        }
        p.v4_ranges = Vec::new();
        p
    }

    fn push(&mut self, ind: Indicator, metas: &mut FxMap<Meta, u32>) {
        let i = self.code.len() as u32;
        let (code, k) = self.push_value(&ind.value);
        self.code.push(code as u8);
        self.codes |= code.bit();
        self.confidence.push(ind.confidence.min(100));
        let span = Span::new(ind.valid_from, ind.valid_until);
        self.from.push(span.from);
        self.until.push(span.until);
        if let Some(id) = &ind.id {
            self.ids.push_str(id);
        }
        self.id_end.push(self.ids.len() as u32);
        let meta = Meta {
            severity: ind.severity,
            tlp: ind.tlp,
            labels: ind.labels,
            attack: ind.attack,
            description: ind.description,
        };
        let m = match metas.get(&meta) {
            Some(m) => *m,
            None => {
                let m = self.metas.len() as u32;
                self.metas.push(meta.clone());
                metas.insert(meta, m);
                m
            }
        };
        self.meta.push(m);
        self.next.push(self.table.replace(k, i));
        self.filter.insert(k);
    }

    /// Append the value's bytes (a range's address, then its prefix length); its code and key.
    fn push_value(&mut self, v: &Observable) -> (Code, u32) {
        let mut hash = [0u8; 32];
        let start = self.values.len();
        let (code, k) = match v {
            Observable::Ip(a) => {
                let (b, n) = ip_bytes(*a);
                let code = if n == 4 { Code::Ip4 } else { Code::Ip6 };
                self.values.extend_from_slice(&b[..n]);
                (code, key(code, 0, &b[..n]))
            }
            Observable::Cidr(a, prefix) => {
                let (b, n) = ip_bytes(*a);
                let p = *prefix;
                let code = if n == 4 {
                    self.v4_prefixes |= 1 << p.min(63);
                    self.v4_ranges
                        .push((u32::from_be_bytes([b[0], b[1], b[2], b[3]]), p));
                    Code::Cidr4
                } else {
                    let q = usize::from(p.min(128));
                    self.v6_prefixes[q / 64] |= 1 << (q % 64);
                    Code::Cidr6
                };
                self.values.extend_from_slice(&b[..n]);
                self.values.push(p);
                (code, key(code, p, &b[..n]))
            }
            Observable::Domain(s) => self.text(Code::Domain, s),
            Observable::DomainTree(s) => {
                self.tree_labels |= 1 << labels(s);
                self.text(Code::Tree, s)
            }
            Observable::Email(s) => self.text(Code::Email, s),
            Observable::Url(s) => {
                // Stored as written; keyed by the form URLs are compared in.
                self.values.extend_from_slice(s.as_bytes());
                (Code::Url, key(Code::Url, 0, normalise_url(s).as_bytes()))
            }
            Observable::Md5(h)
            | Observable::Sha1(h)
            | Observable::Sha256(h)
            | Observable::Sm3(h) => {
                let n = unhex(h, &mut hash).unwrap_or(0);
                let code = match v {
                    Observable::Md5(_) => Code::Md5,
                    Observable::Sha1(_) => Code::Sha1,
                    Observable::Sha256(_) => Code::Sha256,
                    _ => Code::Sm3,
                };
                self.values.extend_from_slice(&hash[..n]);
                (code, key(code, 0, &hash[..n]))
            }
        };
        debug_assert!(self.values.len() >= start);
        self.value_end.push(self.values.len() as u32);
        (code, k)
    }

    fn text(&mut self, code: Code, s: &str) -> (Code, u32) {
        self.values.extend_from_slice(s.as_bytes());
        (code, key(code, 0, s.as_bytes()))
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn code(&self, i: u32) -> Code {
        Code::from_u8(self.code.get(i as usize).copied().unwrap_or(0))
    }

    pub fn value(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 {
            0
        } else {
            self.value_end.get(i - 1).copied().unwrap_or(0) as usize
        };
        let end = self.value_end.get(i).copied().unwrap_or(0) as usize;
        self.values.get(start..end).unwrap_or(&[])
    }

    fn id(&self, i: u32) -> Option<&str> {
        let i = i as usize;
        let start = if i == 0 {
            0
        } else {
            self.id_end.get(i - 1).copied().unwrap_or(0) as usize
        };
        let end = self.id_end.get(i).copied().unwrap_or(0) as usize;
        self.ids.get(start..end).filter(|s| !s.is_empty())
    }

    /// Where indicator `i` stands at `now`.
    pub fn standing(&self, i: u32, now: Timestamp) -> Standing {
        let i = i as usize;
        let (Some(c0), Some(from), Some(until)) =
            (self.confidence.get(i), self.from.get(i), self.until.get(i))
        else {
            return Standing::Expired;
        };
        standing(
            *c0,
            Span {
                from: *from,
                until: *until,
            },
            self.loaded,
            &self.policy,
            now,
        )
    }

    /// Call `hit` with each indicator of key `k` and code `code` whose stored value `eq`
    /// accepts, and its confidence at `now` (indicators not active at `now` are left out).
    #[inline]
    pub fn probe(
        &self,
        k: u32,
        code: Code,
        eq: impl Fn(&[u8]) -> bool,
        now: Timestamp,
        hit: &mut impl FnMut(u32, u8),
    ) {
        if self.filter.may_hold(k) {
            self.walk(k, code, eq, now, hit);
        }
    }

    /// Whether the filter lets key `k` through (it never stops a key held).
    #[inline]
    pub fn may_hold(&self, k: u32) -> bool {
        self.filter.may_hold(k)
    }

    /// [`FeedPart::probe`] without asking the filter first.
    #[inline]
    pub fn walk(
        &self,
        k: u32,
        code: Code,
        eq: impl Fn(&[u8]) -> bool,
        now: Timestamp,
        hit: &mut impl FnMut(u32, u8),
    ) {
        let mut i = self.table.get(k);
        while i != END {
            if self.code.get(i as usize) == Some(&(code as u8))
                && eq(self.value(i))
                && let Standing::Active(c) = self.standing(i, now)
            {
                hit(i, c);
            }
            i = self.next.get(i as usize).copied().unwrap_or(END);
        }
    }

    /// Bit `p` set for each length `p` of an IPv4 range held that may hold `x`.
    #[inline]
    pub fn v4_lengths_near(&self, x: u32) -> u64 {
        match &self.v4_slots {
            Some(slots) => slots.lengths_near(x),
            None => self.v4_prefixes,
        }
    }

    /// Indicator `i`, whole.
    pub fn get(&self, i: u32) -> Option<Indicator> {
        let idx = i as usize;
        let meta = self.metas.get(*self.meta.get(idx)? as usize)?;
        let value = self.observable(i)?;
        let span = Span {
            from: *self.from.get(idx)?,
            until: *self.until.get(idx)?,
        };
        Some(Indicator {
            value,
            feed: self.name.clone(),
            id: self.id(i).map(str::to_string),
            confidence: *self.confidence.get(idx)?,
            severity: meta.severity,
            tlp: meta.tlp,
            valid_from: span.valid_from(),
            valid_until: span.valid_until(),
            labels: meta.labels.clone(),
            attack: meta.attack.clone(),
            description: meta.description.clone(),
        })
    }

    /// Indicator `i`'s value.
    pub fn observable(&self, i: u32) -> Option<Observable> {
        let b = self.value(i);
        let text = || String::from_utf8_lossy(b).into_owned();
        Some(match self.code(i) {
            Code::Ip4 => Observable::Ip(IpAddr::V4(v4(b)?)),
            Code::Ip6 => Observable::Ip(IpAddr::V6(v6(b)?)),
            Code::Cidr4 => {
                let (p, a) = b.split_last()?;
                Observable::Cidr(IpAddr::V4(v4(a)?), *p)
            }
            Code::Cidr6 => {
                let (p, a) = b.split_last()?;
                Observable::Cidr(IpAddr::V6(v6(a)?), *p)
            }
            Code::Domain => Observable::Domain(text()),
            Code::Tree => Observable::DomainTree(text()),
            Code::Url => Observable::Url(text()),
            Code::Email => Observable::Email(text()),
            Code::Md5 => Observable::Md5(to_hex(b)),
            Code::Sha1 => Observable::Sha1(to_hex(b)),
            Code::Sha256 => Observable::Sha256(to_hex(b)),
            Code::Sm3 => Observable::Sm3(to_hex(b)),
        })
    }

    pub fn lifetime_counts(&self, now: Timestamp, counts: &mut LifetimeCounts) {
        for i in 0..self.len() as u32 {
            let c0 = self.confidence.get(i as usize).copied().unwrap_or(0);
            counts.add(c0, self.standing(i, now));
        }
    }

    /// The bytes this part holds on the heap, from its vectors' capacities (the index's from
    /// its slots and its filter's words).
    pub fn heap_bytes(&self) -> usize {
        let metas: usize = self
            .metas
            .iter()
            .map(|m| {
                std::mem::size_of::<Meta>()
                    + m.labels
                        .iter()
                        .chain(&m.attack)
                        .map(|s| s.capacity() + 24)
                        .sum::<usize>()
                    + m.description.as_ref().map_or(0, String::capacity)
            })
            .sum();
        self.code.capacity()
            + self.confidence.capacity()
            + self.meta.capacity() * 4
            + self.from.capacity() * 8
            + self.until.capacity() * 8
            + self.value_end.capacity() * 4
            + self.values.capacity()
            + self.id_end.capacity() * 4
            + self.ids.capacity()
            + self.next.capacity() * 4
            + self.table.heap_bytes()
            + self.filter.heap_bytes()
            + self.v4_slots.as_ref().map_or(0, V4Slots::heap_bytes)
            + metas
            + self.name.capacity()
    }
}

impl Span {
    fn valid_from(self) -> Option<Timestamp> {
        (self.from != crate::lifetime::NO_FROM).then_some(Timestamp(self.from))
    }
    fn valid_until(self) -> Option<Timestamp> {
        (self.until != crate::lifetime::NO_UNTIL).then_some(Timestamp(self.until))
    }
}

fn v4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn v6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// How many labels `name` has, 63 for 63 or more.
pub(crate) fn labels(name: &str) -> u32 {
    (name.bytes().filter(|b| *b == b'.').count() + 1).min(63) as u32
}
