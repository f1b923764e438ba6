//! The target lookup: which registered system (and host) an address or host name belongs to.
//! Single addresses in a hash map; networks in one hash map per prefix length present,
//! searched longest prefix first, so a host's own entry wins over its system's network and a
//! /28 over the /16 around it. Host names in a hash map (lower case, and the short name of a
//! fully qualified one).
//!
//! A miss costs one hash probe per prefix length present (a registry typically has a handful:
//! /32, /24, /16 ...), which is what the pipeline pays per alert and per distinct address.

use std::borrow::Cow;
use std::net::IpAddr;

use onewall_model::hash::{FxMap, FxSet};

use super::{Registry, System};

/// What a lookup found: the system (index into [`Lookup::system`]) and the host entry that
/// matched, when it was a single address or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index of the system in the lookup ([`Lookup::system`]).
    pub system: u32,
    /// The matching network's prefix length (32/128 for a single address, 0 for a name).
    pub prefix: u8,
}

/// The key of the network of `prefix` bits holding `a`: its network number (the address
/// shifted right past the host bits), not the masked address. A masked address ends in zero
/// bits, and FxHash's multiply leaves a key's low zero bits zero in the hash, whose low bits
/// pick the bucket: every /24 would start its probe in one of a few buckets.
#[inline]
fn key_v4(a: u32, prefix: u8) -> u32 {
    a.checked_shr(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

#[inline]
fn key_v6(a: u128, prefix: u8) -> u128 {
    a.checked_shr(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

/// One prefix length's networks: network number ([`key_v4`], [`key_v6`]) → system index.
#[derive(Debug)]
struct Level<K> {
    prefix: u8,
    nets: FxMap<K, u32>,
}

/// The compiled lookup. Immutable; rebuilt when the registry changes.
#[derive(Debug, Default)]
pub struct Lookup {
    systems: Vec<System>,
    /// IPv4 levels, longest prefix first.
    v4: Vec<Level<u32>>,
    /// IPv6 levels, longest prefix first.
    v6: Vec<Level<u128>>,
    /// Registered host names (lower case, no trailing dot) → system.
    names: FxMap<Box<str>, u32>,
    /// The first label of registered fully qualified names, when only one system has it:
    /// `web01` finds `web01.example.gov.cn`.
    short: FxMap<Box<str>, u32>,
    /// Entries two systems both claimed (the first claim, in id order, kept).
    conflicts: usize,
}

impl Lookup {
    /// Compile every system's networks and host names. When two systems claim the same network
    /// or name, the first in id order keeps it (counted in [`Lookup::conflicts`]).
    pub fn build(registry: &Registry) -> Lookup {
        let systems: Vec<System> = registry.systems().cloned().collect();
        let mut v4: FxMap<u8, FxMap<u32, u32>> = FxMap::default();
        let mut v6: FxMap<u8, FxMap<u128, u32>> = FxMap::default();
        let mut names: FxMap<Box<str>, u32> = FxMap::default();
        let mut short: FxMap<Box<str>, u32> = FxMap::default();
        let mut ambiguous: FxSet<Box<str>> = FxSet::default();
        let mut conflicts = 0;
        for (i, s) in systems.iter().enumerate() {
            let i = i as u32;
            for net in &s.networks {
                let claimed = match net.addr {
                    IpAddr::V4(a) => claim(
                        v4.entry(net.prefix).or_default(),
                        key_v4(a.into(), net.prefix),
                        i,
                    ),
                    IpAddr::V6(a) => claim(
                        v6.entry(net.prefix).or_default(),
                        key_v6(a.into(), net.prefix),
                        i,
                    ),
                };
                conflicts += usize::from(!claimed);
            }
            for host in &s.hosts {
                let name = normalise(host);
                if name.is_empty() {
                    continue;
                }
                if let Some((first, _)) = name.split_once('.')
                    && !first.is_empty()
                    && !ambiguous.contains(first)
                {
                    match short.get(first) {
                        Some(&other) if other != i => {
                            short.remove(first);
                            ambiguous.insert(first.into());
                        }
                        Some(_) => {}
                        None => {
                            short.insert(first.into(), i);
                        }
                    }
                }
                conflicts += usize::from(!claim(&mut names, name.into_owned().into(), i));
            }
        }
        let mut v4: Vec<Level<u32>> = v4
            .into_iter()
            .map(|(prefix, nets)| Level { prefix, nets })
            .collect();
        v4.sort_by_key(|l| std::cmp::Reverse(l.prefix));
        let mut v6: Vec<Level<u128>> = v6
            .into_iter()
            .map(|(prefix, nets)| Level { prefix, nets })
            .collect();
        v6.sort_by_key(|l| std::cmp::Reverse(l.prefix));
        Lookup {
            systems,
            v4,
            v6,
            names,
            short,
            conflicts,
        }
    }

    /// The system an address belongs to, by longest prefix. An IPv4-mapped IPv6 address
    /// (`::ffff:10.1.2.3`) is looked up as the IPv4 address.
    #[inline]
    pub fn find_ip(&self, ip: IpAddr) -> Option<Hit> {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().find_map(|l| {
                    l.nets.get(&key_v4(a, l.prefix)).map(|&system| Hit {
                        system,
                        prefix: l.prefix,
                    })
                })
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().find_map(|l| {
                    l.nets.get(&key_v6(a, l.prefix)).map(|&system| Hit {
                        system,
                        prefix: l.prefix,
                    })
                })
            }
        }
    }

    /// The system a host name belongs to (case-insensitive; `web01.example.gov.cn` also
    /// finds `web01`, and `web01` finds `web01.example.gov.cn` when no other system has a
    /// `web01.*`).
    pub fn find_host(&self, name: &str) -> Option<Hit> {
        if self.names.is_empty() {
            return None;
        }
        let name = normalise(name);
        let hit = |system: u32| Hit { system, prefix: 0 };
        if let Some(&s) = self.names.get(name.as_ref()) {
            return Some(hit(s));
        }
        match name.split_once('.') {
            Some((first, _)) if !first.is_empty() => self.names.get(first).map(|&s| hit(s)),
            Some(_) => None,
            None => self.short.get(name.as_ref()).map(|&s| hit(s)),
        }
    }

    /// An address (parsed) or else a host name.
    pub fn find(&self, value: &str) -> Option<Hit> {
        match value.parse::<IpAddr>() {
            Ok(ip) => self.find_ip(ip),
            Err(_) => self.find_host(value),
        }
    }

    /// The system of a hit.
    pub fn system(&self, hit: Hit) -> &System {
        &self.systems[hit.system as usize]
    }

    /// Every system, in id order (a hit's `system` indexes it).
    pub fn systems(&self) -> &[System] {
        &self.systems
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// How many networks and names two systems both claimed.
    pub fn conflicts(&self) -> usize {
        self.conflicts
    }
}

/// Insert unless present; whether it was inserted (or already this system's).
fn claim<K: std::hash::Hash + Eq>(map: &mut FxMap<K, u32>, key: K, system: u32) -> bool {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(e) => *e.get() == system,
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(system);
            true
        }
    }
}

/// A host name as the maps hold it: trimmed, lower case, no trailing dot. Borrowed when it is
/// already so (the common case: no allocation per lookup).
pub(crate) fn normalise(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.bytes().any(|b| b.is_ascii_uppercase()) || !name.is_ascii() {
        Cow::Owned(name.to_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Net;
    use onewall_model::RegionCode;

    fn system(name: &str, nets: &[&str], hosts: &[&str]) -> System {
        let region = RegionCode::new(410100).unwrap();
        System {
            id: System::id_of(region, name),
            name: name.into(),
            region,
            department: "dept".into(),
            ops_unit: String::new(),
            contacts: vec![],
            level: Some(3),
            filing: None,
            cii: false,
            exposure: Default::default(),
            networks: nets.iter().map(|n| Net::parse(n).unwrap()).collect(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            tags: vec![],
        }
    }

    fn name_of(l: &Lookup, v: &str) -> Option<String> {
        l.find(v).map(|h| l.system(h).name.clone())
    }

    #[test]
    fn longest_prefix_wins() {
        let reg = Registry::new([
            system("wide", &["10.0.0.0/8"], &[]),
            system("office", &["10.1.0.0/16", "2001:db8::/32"], &[]),
            system("web", &["10.1.2.0/24"], &[]),
            system("db", &["10.1.2.7", "2001:db8:1::7"], &[]),
        ]);
        let l = reg.compile();
        assert_eq!(name_of(&l, "10.1.2.7").as_deref(), Some("db"));
        assert_eq!(l.find("10.1.2.7").unwrap().prefix, 32);
        assert_eq!(name_of(&l, "10.1.2.8").as_deref(), Some("web"));
        assert_eq!(name_of(&l, "10.1.3.8").as_deref(), Some("office"));
        assert_eq!(name_of(&l, "10.200.3.8").as_deref(), Some("wide"));
        assert_eq!(name_of(&l, "11.0.0.1"), None);
        assert_eq!(name_of(&l, "::ffff:10.1.2.7").as_deref(), Some("db"));
        assert_eq!(name_of(&l, "2001:db8:1::7").as_deref(), Some("db"));
        assert_eq!(name_of(&l, "2001:db8:1::8").as_deref(), Some("office"));
        assert_eq!(name_of(&l, "2001:db9::1"), None);
    }

    #[test]
    fn names_and_fqdns() {
        let reg = Registry::new([
            system("portal", &[], &["WEB01", "www.zz.gov.cn", "mail.zz.gov.cn"]),
            system("other", &[], &["www.ly.gov.cn"]),
        ]);
        let l = reg.compile();
        assert_eq!(name_of(&l, "web01").as_deref(), Some("portal"));
        assert_eq!(name_of(&l, "Web01.zz.gov.cn.").as_deref(), Some("portal"));
        assert_eq!(name_of(&l, "WWW.ZZ.GOV.CN").as_deref(), Some("portal"));
        assert_eq!(name_of(&l, "www.ly.gov.cn").as_deref(), Some("other"));
        // `www` is the short name of two systems' names: it finds neither.
        assert_eq!(name_of(&l, "www"), None);
        assert_eq!(name_of(&l, "mail").as_deref(), Some("portal"));
        // A registered FQDN's short name does not make another domain's host its own.
        assert_eq!(name_of(&l, "mail.example.com"), None);
        assert_eq!(name_of(&l, ""), None);
        assert_eq!(name_of(&l, ".x"), None);
    }

    #[test]
    fn first_claim_kept_and_counted() {
        let reg = Registry::new([
            system("a", &["10.0.0.1"], &["h"]),
            system("b", &["10.0.0.1"], &["h"]),
        ]);
        let l = reg.compile();
        assert_eq!(l.conflicts(), 2);
        let s = name_of(&l, "10.0.0.1").unwrap();
        assert_eq!(name_of(&l, "h").unwrap(), s);
    }

    #[test]
    fn empty_lookup_finds_nothing() {
        let l = Lookup::default();
        assert!(l.is_empty());
        assert_eq!(l.find("10.0.0.1"), None);
        assert_eq!(l.find("web01"), None);
    }
}

#[cfg(test)]
mod oracle {
    //! The lookup against a brute-force longest-prefix match over random registries.

    use super::*;
    use crate::registry::Net;
    use onewall_model::RegionCode;
    use proptest::prelude::*;

    fn registry(nets: &[Vec<(u32, u8)>]) -> Registry {
        let region = RegionCode::HENAN;
        Registry::new(nets.iter().enumerate().map(|(i, nets)| {
            let name = format!("s{i}");
            System {
                id: System::id_of(region, &name),
                name,
                region,
                department: "d".into(),
                ops_unit: String::new(),
                contacts: vec![],
                level: None,
                filing: None,
                cii: false,
                exposure: Default::default(),
                networks: nets
                    .iter()
                    .filter_map(|(a, p)| {
                        Net::parse(&format!("{}/{p}", std::net::Ipv4Addr::from(*a)))
                    })
                    .collect(),
                hosts: vec![],
                tags: vec![],
            }
        }))
    }

    proptest! {
        #[test]
        fn longest_prefix_as_brute_force(
            // Addresses in a small space so that networks nest and probes hit.
            nets in proptest::collection::vec(
                proptest::collection::vec((0x0A00_0000u32..0x0A00_0400, 20u8..=32), 0..6),
                1..8,
            ),
            probes in proptest::collection::vec(0x09FF_FF00u32..0x0A00_0500, 1..64),
        ) {
            let reg = registry(&nets);
            let lookup = reg.compile();
            for p in probes {
                let ip = IpAddr::V4(p.into());
                // The longest network holding the address; among equals, the first system in
                // id order (the lookup's rule for a network two systems claim).
                let expected = reg
                    .systems()
                    .flat_map(|s| s.networks.iter().map(move |n| (n, s)))
                    .filter(|(n, _)| n.contains(ip))
                    .fold(None::<(u8, &System)>, |best, (n, s)| match best {
                        Some((p, _)) if p >= n.prefix => best,
                        _ => Some((n.prefix, s)),
                    });
                let got = lookup.find_ip(ip).map(|h| (h.prefix, lookup.system(h)));
                prop_assert_eq!(
                    got.map(|(p, s)| (p, s.id.clone())),
                    expected.map(|(p, s)| (p, s.id.clone()))
                );
            }
        }
    }
}
