//! The registry (安全责任清单): information systems, who answers for them, and the addresses,
//! networks and host names they hold.
//!
//! A registry file has one row per system or per host of a system: rows naming the same
//! system (same name and region) merge, their addresses and host names added together. A
//! system's id is derived from its region and name (stable across imports), so a re-import
//! updates it in place.

use std::net::IpAddr;

use onewall_model::{Exposure, RegionCode};
use serde::{Deserialize, Serialize};

mod lookup;

pub(crate) use lookup::normalise as normalise_host;
pub use lookup::{Hit, Lookup};

/// A network given as an address and prefix (`10.1.2.0/24`); a single address is a /32
/// (/128). In JSON it is the text (`"10.1.2.0/24"`, `"10.1.2.3"`); `{addr, prefix}` is read
/// too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net {
    /// The network's address, masked to its prefix.
    pub addr: IpAddr,
    /// The prefix length: 0–32 for IPv4, 0–128 for IPv6.
    pub prefix: u8,
}

impl Net {
    /// `10.1.2.3`, `10.1.2.0/24`, `2001:db8::/32`; the address is masked to its prefix.
    pub fn parse(s: &str) -> Option<Net> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.trim(), Some(p.trim())),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            // Digits only: `u8::from_str` would also take a leading `+`.
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&n| n <= max)?
            }
            Some(_) => return None,
        };
        Some(Net {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` lies in it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }

    /// Whether it is a single address.
    pub fn is_host(&self) -> bool {
        match self.addr {
            IpAddr::V4(_) => self.prefix == 32,
            IpAddr::V6(_) => self.prefix == 128,
        }
    }

    /// How many addresses it holds (saturating).
    pub fn size(&self) -> u128 {
        let bits = match self.addr {
            IpAddr::V4(_) => 32 - u32::from(self.prefix.min(32)),
            IpAddr::V6(_) => 128 - u32::from(self.prefix.min(128)),
        };
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }
}

/// `addr` with the bits past `prefix` cleared.
pub(crate) fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4(mask_v4(u32::from(a), prefix).into()),
        IpAddr::V6(a) => IpAddr::V6(mask_v6(u128::from(a), prefix).into()),
    }
}

#[inline]
fn mask_v4(a: u32, prefix: u8) -> u32 {
    a & u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

#[inline]
fn mask_v6(a: u128, prefix: u8) -> u128 {
    a & u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

impl Serialize for Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Parts { addr: IpAddr, prefix: u8 },
        }
        match Written::deserialize(d)? {
            Written::Text(t) => Net::parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!("{t:?} is not an address or CIDR"))
            }),
            Written::Parts { addr, prefix } => Net::parse(&format!("{addr}/{prefix}"))
                .ok_or_else(|| serde::de::Error::custom(format!("bad prefix /{prefix}"))),
        }
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// One information system and who answers for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// Derived from region and name ([`System::id_of`]).
    pub id: String,
    /// 系统名称.
    pub name: String,
    /// 属地: the GB/T 2260 region it belongs to.
    pub region: RegionCode,
    /// 使用单位 / 主管部门 (主体责任).
    pub department: String,
    /// 运维单位 (直接责任).
    #[serde(default)]
    pub ops_unit: String,
    /// 联系人 and 联系电话, as written.
    #[serde(default)]
    pub contacts: Vec<String>,
    /// 等保级别, 1–5.
    #[serde(default)]
    pub level: Option<u8>,
    /// 备案号.
    #[serde(default)]
    pub filing: Option<String>,
    /// 关键信息基础设施.
    #[serde(default)]
    pub cii: bool,
    /// 暴露面: internet-facing or internal.
    #[serde(default)]
    pub exposure: Exposure,
    /// Addresses and networks.
    #[serde(default)]
    pub networks: Vec<Net>,
    /// Host names (lower case).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// 标签: free labels (政务服务, 门户 ...).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl System {
    /// The id of the system `name` in `region`: stable across imports.
    pub fn id_of(region: RegionCode, name: &str) -> String {
        format!(
            "sys-{:016x}",
            onewall_model::hash::fnv1a(format!("{region}\u{1f}{}", name.trim()).as_bytes())
        )
    }
}

/// How an import changes the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryMode {
    /// Systems in the file are added or replaced; the others stay.
    #[default]
    Merge,
    /// The file is the whole registry: systems not in it are removed.
    Replace,
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryChange {
    /// Systems new to the registry.
    pub added: usize,
    /// Systems that were registered and changed.
    pub updated: usize,
    /// Systems that were registered as the import has them.
    pub unchanged: usize,
    /// Systems removed (replace mode: registered but not in the import).
    pub removed: usize,
}

/// The registered systems, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    systems: std::collections::BTreeMap<String, System>,
}

impl Registry {
    /// A registry of `systems` (a later one with the same id replaces an earlier).
    pub fn new(systems: impl IntoIterator<Item = System>) -> Self {
        Registry {
            systems: systems.into_iter().map(|s| (s.id.clone(), s)).collect(),
        }
    }

    /// The system of id `id`.
    pub fn get(&self, id: &str) -> Option<&System> {
        self.systems.get(id)
    }

    /// Every system, in id order.
    pub fn systems(&self) -> impl Iterator<Item = &System> {
        self.systems.values()
    }

    /// How many systems are registered.
    pub fn len(&self) -> usize {
        self.systems.len()
    }

    /// Whether no system is registered.
    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// Apply imported systems (already merged by name and region).
    /// A system already registered and equal to the imported one counts as unchanged; one
    /// that differs is replaced whole (the file is the truth for the systems it names).
    pub fn apply(&mut self, systems: Vec<System>, mode: RegistryMode) -> RegistryChange {
        let mut change = RegistryChange::default();
        let mut named = std::collections::BTreeSet::new();
        for system in systems {
            // A system given twice in one import counts once, the later row set winning.
            let first = named.insert(system.id.clone());
            match self.systems.get(&system.id) {
                Some(old) if *old == system => {
                    if first {
                        change.unchanged += 1;
                    }
                }
                Some(_) => {
                    if first {
                        change.updated += 1;
                    }
                    self.systems.insert(system.id.clone(), system);
                }
                None => {
                    change.added += 1;
                    self.systems.insert(system.id.clone(), system);
                }
            }
        }
        if mode == RegistryMode::Replace {
            let before = self.systems.len();
            self.systems.retain(|id, _| named.contains(id));
            change.removed = before - self.systems.len();
        }
        change
    }

    /// Remove one system.
    pub fn remove(&mut self, id: &str) -> Option<System> {
        self.systems.remove(id)
    }

    /// The compiled lookup of every address, network and host name.
    pub fn compile(&self) -> Lookup {
        Lookup::build(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_are_text_in_json() {
        let n = Net::parse("10.1.2.0/24").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"10.1.2.0/24\"");
        let one: Net = serde_json::from_str("\"10.1.2.3\"").unwrap();
        assert!(one.is_host());
        let parts: Net = serde_json::from_str(r#"{"addr":"10.1.2.9","prefix":24}"#).unwrap();
        assert_eq!(parts, n);
        assert!(serde_json::from_str::<Net>("\"10.1.2.0/33\"").is_err());
    }

    #[test]
    fn nets_parse_and_mask() {
        let n = Net::parse(" 10.1.2.3/24 ").unwrap();
        assert_eq!(n.to_string(), "10.1.2.0/24");
        assert_eq!(n.size(), 256);
        assert!(n.contains("10.1.2.200".parse().unwrap()));
        assert!(!n.contains("10.1.3.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        let h = Net::parse("10.1.2.3").unwrap();
        assert!(h.is_host());
        assert_eq!(h.to_string(), "10.1.2.3");
        assert_eq!(Net::parse("10.1.2.3/32"), Some(h));
        let v6 = Net::parse("2001:DB8::1/32").unwrap();
        assert_eq!(v6.to_string(), "2001:db8::/32");
        assert_eq!(Net::parse("0.0.0.0/0").unwrap().size(), 1 << 32);
        for bad in [
            "",
            "10.1.2",
            "10.1.2.3/33",
            "10.1.2.3/",
            "10.1.2.3/+8",
            "::1/129",
            "web01",
            "10.1.2.3/24/1",
            "10.1.2.256",
        ] {
            assert_eq!(Net::parse(bad), None, "{bad}");
        }
    }

    fn sys(name: &str, dept: &str) -> System {
        let region = RegionCode::HENAN;
        System {
            id: System::id_of(region, name),
            name: name.into(),
            region,
            department: dept.into(),
            ops_unit: String::new(),
            contacts: vec![],
            level: None,
            filing: None,
            cii: false,
            exposure: Exposure::Internal,
            networks: vec![],
            hosts: vec![],
            tags: vec![],
        }
    }

    #[test]
    fn merge_and_replace_count_what_changed() {
        let mut reg = Registry::default();
        let c = reg.apply(vec![sys("a", "x"), sys("b", "x")], RegistryMode::Merge);
        assert_eq!((c.added, c.updated, c.unchanged, c.removed), (2, 0, 0, 0));
        let c = reg.apply(
            vec![sys("a", "x"), sys("b", "y"), sys("c", "x")],
            RegistryMode::Merge,
        );
        assert_eq!((c.added, c.updated, c.unchanged, c.removed), (1, 1, 1, 0));
        assert_eq!(reg.get(&sys("b", "").id).unwrap().department, "y");
        assert_eq!(reg.len(), 3);
        let c = reg.apply(vec![sys("a", "x")], RegistryMode::Replace);
        assert_eq!((c.added, c.updated, c.unchanged, c.removed), (0, 0, 1, 2));
        assert_eq!(reg.len(), 1);
        // A system given twice counts once; the later wins.
        let c = reg.apply(vec![sys("d", "x"), sys("d", "z")], RegistryMode::Merge);
        assert_eq!((c.added, c.updated, c.unchanged), (1, 0, 0));
        assert_eq!(reg.get(&sys("d", "").id).unwrap().department, "z");
    }
}
