//! One feed's probes for each class of field value. Values come in normalised (see
//! [`super::key`]); each calls `hit` with the index of every active indicator it matches and
//! that indicator's confidence at `now`.

use std::net::IpAddr;

use onewall_model::Timestamp;

use super::key::{Code, key, normalise_url, tree_suffixes};
use super::part::FeedPart;

impl FeedPart {
    /// `ip` indicators equal to `a`, and every `cidr` range holding it.
    pub(crate) fn visit_ip(&self, a: IpAddr, now: Timestamp, hit: &mut impl FnMut(u32, u8)) {
        match a {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                if self.codes & Code::Ip4.bit() != 0 {
                    self.probe(key(Code::Ip4, 0, &o), Code::Ip4, |b| b == o, now, hit);
                }
                if self.codes & Code::Cidr4.bit() == 0 {
                    return;
                }
                let x = u32::from(v4);
                for (p, nb) in v4_networks(x, self.v4_lengths_near(x)) {
                    let eq = |b: &[u8]| b.len() == 5 && b[..4] == nb && u32::from(b[4]) == p;
                    self.probe(key(Code::Cidr4, p as u8, &nb), Code::Cidr4, eq, now, hit);
                }
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                if self.codes & Code::Ip6.bit() != 0 {
                    self.probe(key(Code::Ip6, 0, &o), Code::Ip6, |b| b == o, now, hit);
                }
                if self.codes & Code::Cidr6.bit() == 0 {
                    return;
                }
                for (p, nb) in v6_networks(u128::from(v6), &self.v6_prefixes) {
                    let eq = |b: &[u8]| b.len() == 17 && b[..16] == nb && u32::from(b[16]) == p;
                    self.probe(key(Code::Cidr6, p as u8, &nb), Code::Cidr6, eq, now, hit);
                }
            }
        }
    }

    /// `domain` indicators equal to `name`, and `domain-tree` ones equal to it or to any name
    /// it is under (at a label boundary: `badexample.com` is not under `example.com`), probed
    /// only at the label counts of the trees held.
    pub(crate) fn visit_name(&self, name: &str, now: Timestamp, hit: &mut impl FnMut(u32, u8)) {
        let b = name.as_bytes();
        if self.codes & Code::Domain.bit() != 0 {
            let eq = |v: &[u8]| v == b;
            self.probe(key(Code::Domain, 0, b), Code::Domain, eq, now, hit);
        }
        if self.codes & Code::Tree.bit() == 0 {
            return;
        }
        tree_suffixes(b, self.tree_labels, |s| {
            let eq = |v: &[u8]| v == s;
            self.probe(key(Code::Tree, 0, s), Code::Tree, eq, now, hit);
            Some(())
        });
    }

    /// `url` indicators equal to `url` (in the compared form).
    pub(crate) fn visit_url(&self, url: &str, now: Timestamp, hit: &mut impl FnMut(u32, u8)) {
        if self.codes & Code::Url.bit() == 0 {
            return;
        }
        let eq = |b: &[u8]| normalise_url(&String::from_utf8_lossy(b)) == url;
        self.probe(key(Code::Url, 0, url.as_bytes()), Code::Url, eq, now, hit);
    }

    /// Hash indicators of the kind of `bytes`' length: 16 MD5, 20 SHA-1, 32 SHA-256 or SM3.
    pub(crate) fn visit_hash(&self, bytes: &[u8], now: Timestamp, hit: &mut impl FnMut(u32, u8)) {
        let codes: &[Code] = match bytes.len() {
            16 => &[Code::Md5],
            20 => &[Code::Sha1],
            32 => &[Code::Sha256, Code::Sm3],
            _ => &[],
        };
        for code in codes {
            if self.codes & code.bit() != 0 {
                self.probe(key(*code, 0, bytes), *code, |b| b == bytes, now, hit);
            }
        }
    }

    /// `email` indicators equal to `email`.
    pub(crate) fn visit_email(&self, email: &str, now: Timestamp, hit: &mut impl FnMut(u32, u8)) {
        if self.codes & Code::Email.bit() != 0 {
            let eq = |b: &[u8]| b == email.as_bytes();
            self.probe(
                key(Code::Email, 0, email.as_bytes()),
                Code::Email,
                eq,
                now,
                hit,
            );
        }
    }
}

/// The networks holding address `x` at each prefix length set in `lengths` (bit `p`: `/p`),
/// as (length, network's bytes), shortest first.
#[inline]
pub(super) fn v4_networks(x: u32, lengths: u64) -> impl Iterator<Item = (u32, [u8; 4])> {
    let mut bits = lengths;
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let p = bits.trailing_zeros();
        bits &= bits - 1;
        let net = if p == 0 {
            0
        } else {
            x & (u32::MAX << (32 - p))
        };
        Some((p, net.to_be_bytes()))
    })
}

/// The networks holding address `x` at each prefix length set in `prefixes` (bit `p` of the
/// words, in order: `/p`), as (length, network's bytes), shortest first.
pub(super) fn v6_networks(x: u128, prefixes: &[u64]) -> impl Iterator<Item = (u32, [u8; 16])> + '_ {
    prefixes.iter().enumerate().flat_map(move |(w, word)| {
        let mut bits = *word;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let p = w as u32 * 64 + bits.trailing_zeros();
            bits &= bits - 1;
            let net = if p == 0 {
                0
            } else {
                x & (u128::MAX << (128 - p))
            };
            Some((p, net.to_be_bytes()))
        })
    })
}
