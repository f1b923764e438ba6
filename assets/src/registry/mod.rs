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

pub use lookup::{Hit, Lookup};

/// A network given as an address and prefix (`10.1.2.0/24`); a single address is a /32
/// (/128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    /// `10.1.2.3`, `10.1.2.0/24`, `2001:db8::/32`; the address is masked to its prefix.
    pub fn parse(s: &str) -> Option<Net> {
        let _ = s;
        todo!("issue 21: parse an address or CIDR")
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
    #[serde(default)]
    pub exposure: Exposure,
    /// Addresses and networks.
    #[serde(default)]
    pub networks: Vec<Net>,
    /// Host names (lower case).
    #[serde(default)]
    pub hosts: Vec<String>,
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
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// The registered systems, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    systems: std::collections::BTreeMap<String, System>,
}

impl Registry {
    pub fn new(systems: impl IntoIterator<Item = System>) -> Self {
        Registry {
            systems: systems.into_iter().map(|s| (s.id.clone(), s)).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&System> {
        self.systems.get(id)
    }

    pub fn systems(&self) -> impl Iterator<Item = &System> {
        self.systems.values()
    }

    pub fn len(&self) -> usize {
        self.systems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// Apply imported systems (already merged by name and region).
    pub fn apply(&mut self, systems: Vec<System>, mode: RegistryMode) -> RegistryChange {
        let _ = (systems, mode);
        todo!("issue 21: merge or replace")
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
