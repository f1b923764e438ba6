//! The target lookup: which registered system (and host) an address or host name belongs to.
//! Single addresses in a hash map; networks in one hash map per prefix length present,
//! searched longest prefix first, so a host's own entry wins over its system's network and a
//! /28 over the /16 around it. Host names in a hash map (lower case, and the short name of a
//! fully qualified one).

use std::net::IpAddr;

use super::Registry;

/// What a lookup found: the system (index into [`Lookup::system`]) and the host entry that
/// matched, when it was a single address or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub system: u32,
    /// The matching network's prefix length (32/128 for a single address, 0 for a name).
    pub prefix: u8,
}

/// The compiled lookup. Immutable; rebuilt when the registry changes.
#[derive(Debug, Default)]
pub struct Lookup {
    systems: Vec<super::System>,
}

impl Lookup {
    pub fn build(registry: &Registry) -> Lookup {
        let _ = registry;
        todo!("issue 21: compile the lookup")
    }

    /// The system an address belongs to, by longest prefix.
    pub fn find_ip(&self, ip: IpAddr) -> Option<Hit> {
        let _ = ip;
        todo!("issue 21")
    }

    /// The system a host name belongs to (case-insensitive; `web01.example.gov.cn` also
    /// finds `web01`).
    pub fn find_host(&self, name: &str) -> Option<Hit> {
        let _ = name;
        todo!("issue 21")
    }

    /// An address (parsed) or else a host name.
    pub fn find(&self, value: &str) -> Option<Hit> {
        match value.parse::<IpAddr>() {
            Ok(ip) => self.find_ip(ip),
            Err(_) => self.find_host(value),
        }
    }

    pub fn system(&self, hit: Hit) -> &super::System {
        &self.systems[hit.system as usize]
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }
}
