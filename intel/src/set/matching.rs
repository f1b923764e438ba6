//! One feed's probes for each class of field value. Values come in normalised (see
//! [`super::key`]); each calls `hit` with the index of every active indicator it matches and
//! that indicator's confidence at `now`.

use std::net::IpAddr;

use onewall_model::Timestamp;

use super::key::{Code, key, normalise_url};
use super::part::FeedPart;

/// One pass of the matcher over an event's probes. An event is matched in two: the first
/// (collecting) computes every probe's key and reads its filter word, noting which may hold
/// an indicator, without a branch on what it read, so the reads, mostly cache misses at a
/// million indicators, overlap; the second, only when some probe may hold one, resolves
/// those probes in the table. Probes are numbered in the order the visits make them, the
/// same in both passes; past the 64th every probe is resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    pub now: Timestamp,
    collect: bool,
    /// Bit `n`: probe `n` may hold an indicator.
    bits: u64,
    /// Probes made in this pass.
    n: u32,
}

impl Pass {
    pub fn collect(now: Timestamp) -> Pass {
        Pass {
            now,
            collect: true,
            bits: 0,
            n: 0,
        }
    }

    /// A pass that resolves every probe.
    pub fn resolve_all(now: Timestamp) -> Pass {
        Pass {
            now,
            collect: false,
            bits: u64::MAX,
            n: 0,
        }
    }

    /// The pass resolving what this collecting pass found, if anything may hold.
    pub fn resolving(&self) -> Option<Pass> {
        (self.bits != 0 || self.n > 64).then_some(Pass {
            now: self.now,
            collect: false,
            bits: self.bits,
            n: 0,
        })
    }

    /// Number the next probe: whether to resolve it in the table; in a collecting pass,
    /// note `may_hold` for it and say no.
    #[inline]
    pub fn next(&mut self, may_hold: impl FnOnce() -> bool) -> bool {
        let n = self.n;
        self.n = n.saturating_add(1);
        if self.collect {
            if n < 64 {
                self.bits |= u64::from(may_hold()) << n;
            }
            return false;
        }
        n >= 64 || self.bits & (1 << n) != 0
    }
}

impl FeedPart {
    /// `ip` indicators equal to `a`, and every `cidr` range holding it.
    pub(crate) fn visit_ip(&self, a: IpAddr, pass: &mut Pass, hit: &mut impl FnMut(u32, u8)) {
        match a {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                if self.codes & Code::Ip4.bit() != 0 {
                    self.probe(key(Code::Ip4, 0, &o), Code::Ip4, |b| b == o, pass, hit);
                }
                if self.codes & Code::Cidr4.bit() == 0 {
                    return;
                }
                let x = u32::from(v4);
                let mut bits = match &self.v4_slots {
                    Some(slots) => slots.lengths_near(x),
                    None => self.v4_prefixes,
                };
                while bits != 0 {
                    let p = bits.trailing_zeros();
                    bits &= bits - 1;
                    let net = if p == 0 {
                        0
                    } else {
                        x & (u32::MAX << (32 - p))
                    };
                    let nb = net.to_be_bytes();
                    let eq = |b: &[u8]| b.len() == 5 && b[..4] == nb && u32::from(b[4]) == p;
                    self.probe(key(Code::Cidr4, p as u8, &nb), Code::Cidr4, eq, pass, hit);
                }
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                if self.codes & Code::Ip6.bit() != 0 {
                    self.probe(key(Code::Ip6, 0, &o), Code::Ip6, |b| b == o, pass, hit);
                }
                if self.codes & Code::Cidr6.bit() == 0 {
                    return;
                }
                let x = u128::from(v6);
                for (w, word) in self.v6_prefixes.iter().enumerate() {
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
                        let eq = |b: &[u8]| b.len() == 17 && b[..16] == nb && u32::from(b[16]) == p;
                        self.probe(key(Code::Cidr6, p as u8, &nb), Code::Cidr6, eq, pass, hit);
                    }
                }
            }
        }
    }

    /// `domain` indicators equal to `name`, and `domain-tree` ones equal to it or to any name
    /// it is under (at a label boundary: `badexample.com` is not under `example.com`).
    pub(crate) fn visit_name(&self, name: &str, pass: &mut Pass, hit: &mut impl FnMut(u32, u8)) {
        if self.codes & Code::Domain.bit() != 0 {
            let eq = |b: &[u8]| b == name.as_bytes();
            self.probe(
                key(Code::Domain, 0, name.as_bytes()),
                Code::Domain,
                eq,
                pass,
                hit,
            );
        }
        if self.codes & Code::Tree.bit() == 0 {
            return;
        }
        let mut s = name;
        let mut n = name.bytes().filter(|b| *b == b'.').count() + 1;
        loop {
            if !s.is_empty() && self.tree_labels & (1 << n.min(63)) != 0 {
                let eq = |b: &[u8]| b == s.as_bytes();
                self.probe(key(Code::Tree, 0, s.as_bytes()), Code::Tree, eq, pass, hit);
            }
            match s.find('.') {
                Some(i) => {
                    s = s.get(i + 1..).unwrap_or("");
                    n = n.saturating_sub(1);
                }
                None => break,
            }
        }
    }

    /// `url` indicators equal to `url` (in the compared form).
    pub(crate) fn visit_url(&self, url: &str, pass: &mut Pass, hit: &mut impl FnMut(u32, u8)) {
        if self.codes & Code::Url.bit() == 0 {
            return;
        }
        let eq = |b: &[u8]| normalise_url(&String::from_utf8_lossy(b)) == url;
        self.probe(key(Code::Url, 0, url.as_bytes()), Code::Url, eq, pass, hit);
    }

    /// Hash indicators of the kind of `bytes`' length: 16 MD5, 20 SHA-1, 32 SHA-256 or SM3.
    pub(crate) fn visit_hash(&self, bytes: &[u8], pass: &mut Pass, hit: &mut impl FnMut(u32, u8)) {
        let codes: &[Code] = match bytes.len() {
            16 => &[Code::Md5],
            20 => &[Code::Sha1],
            32 => &[Code::Sha256, Code::Sm3],
            _ => &[],
        };
        for code in codes {
            if self.codes & code.bit() != 0 {
                self.probe(key(*code, 0, bytes), *code, |b| b == bytes, pass, hit);
            }
        }
    }

    /// `email` indicators equal to `email`.
    pub(crate) fn visit_email(&self, email: &str, pass: &mut Pass, hit: &mut impl FnMut(u32, u8)) {
        if self.codes & Code::Email.bit() != 0 {
            let eq = |b: &[u8]| b == email.as_bytes();
            self.probe(
                key(Code::Email, 0, email.as_bytes()),
                Code::Email,
                eq,
                pass,
                hit,
            );
        }
    }
}
