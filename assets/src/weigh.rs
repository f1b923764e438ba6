//! What an alert hit: its destination address, else its host, looked up in the registry; the
//! system and who answers for it, and the CVEs the alert's tags name that are open on that
//! host ([`onewall_model::AlertTarget`]).
//!
//! The pipeline asks for every alert, so a miss costs no allocation: the entities are parsed
//! in place and looked up; only a hit builds the answer.

use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::hash::FxMap;
use onewall_model::{Alert, AlertTarget, EntityKind};

use crate::registry::{Hit, Lookup};

/// The pipeline's immutable snapshot: the lookup and each host's open CVEs.
#[derive(Debug, Default)]
pub struct Targets {
    lookup: Arc<Lookup>,
    /// Host key (address text or lower-case name) → its open CVEs and its name. A host
    /// with names is listed under its key and under each name.
    hosts: FxMap<String, HostCves>,
}

/// What the snapshot knows of one host beyond the registry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HostCves {
    /// Its name, when the registry or a scan gave one.
    pub name: Option<String>,
    /// CVE ids of its open findings (sorted, without repeats).
    pub open_cves: Vec<String>,
}

impl Targets {
    /// A snapshot of `lookup` and `hosts`.
    pub fn new(lookup: Lookup, hosts: FxMap<String, HostCves>) -> Targets {
        Targets::shared(Arc::new(lookup), hosts)
    }

    /// A snapshot sharing a compiled lookup (the book recompiles it only when the registry
    /// changes, not after every scan).
    pub fn shared(lookup: Arc<Lookup>, hosts: FxMap<String, HostCves>) -> Targets {
        Targets { lookup, hosts }
    }

    /// The compiled registry lookup.
    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }

    /// What the snapshot holds for host `key` (an address as text or a lower-case name).
    pub fn host(&self, key: &str) -> Option<&HostCves> {
        self.hosts.get(key)
    }

    /// The alert's target: its destination address entity first, then its host entities
    /// (names or addresses); the first that the registry holds wins.
    pub fn target_of(&self, alert: &Alert) -> Option<AlertTarget> {
        if self.lookup.is_empty() {
            return None;
        }
        let of = |kind| alert.entities.iter().filter(move |e| e.kind == kind);
        of(EntityKind::DestinationIp)
            .chain(of(EntityKind::Host))
            .find_map(|e| {
                let value = e.value.trim();
                match value.parse::<IpAddr>() {
                    Ok(ip) => self.lookup.find_ip(ip).map(|hit| (value, hit, Some(ip))),
                    Err(_) => self.lookup.find_host(value).map(|hit| (value, hit, None)),
                }
            })
            .map(|(value, hit, ip)| self.target(alert, value, hit, ip))
    }

    /// The answer for a hit on `value`.
    fn target(&self, alert: &Alert, value: &str, hit: Hit, ip: Option<IpAddr>) -> AlertTarget {
        let system = self.lookup.system(hit);
        let (host, registered_name) = match ip {
            Some(ip) => (self.hosts.get(&ip.to_canonical().to_string()), None),
            None => {
                let name = value.to_lowercase();
                let short = name.split('.').next().unwrap_or_default().to_owned();
                let found = self.hosts.get(&name).or_else(|| self.hosts.get(&short));
                (
                    found,
                    Some(if system.hosts.contains(&name) {
                        name
                    } else {
                        short
                    }),
                )
            }
        };
        let open_cves = match host {
            Some(h) if !h.open_cves.is_empty() => {
                let mut named = onewall_model::asset::cves_of_tags(&alert.rule.tags);
                named.retain(|c| h.open_cves.binary_search(c).is_ok());
                named
            }
            _ => Vec::new(),
        };
        AlertTarget {
            value: value.to_owned(),
            host: host.and_then(|h| h.name.clone()).or(registered_name),
            system_id: system.id.clone(),
            system: system.name.clone(),
            region: system.region,
            department: system.department.clone(),
            ops_unit: system.ops_unit.clone(),
            level: system.level,
            cii: system.cii,
            exposure: system.exposure,
            open_cves,
        }
    }
}
