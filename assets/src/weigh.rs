//! What an alert hit: its destination address, else its host, looked up in the registry; the
//! system and who answers for it, and the CVEs the alert's tags name that are open on that
//! host ([`onewall_model::AlertTarget`]).

use onewall_model::{Alert, AlertTarget};

use crate::registry::Lookup;

/// The pipeline's immutable snapshot: the lookup and each host's open CVEs.
#[derive(Debug, Default)]
pub struct Targets {
    lookup: Lookup,
    /// Host key (address text or lower-case name) → its open CVEs and its name.
    hosts: onewall_model::hash::FxMap<String, HostCves>,
}

#[derive(Debug, Default, Clone)]
pub struct HostCves {
    pub name: Option<String>,
    pub open_cves: Vec<String>,
}

impl Targets {
    pub fn new(lookup: Lookup, hosts: onewall_model::hash::FxMap<String, HostCves>) -> Targets {
        Targets { lookup, hosts }
    }

    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }

    /// The alert's target: its destination address entity first, then its host entities.
    pub fn target_of(&self, alert: &Alert) -> Option<AlertTarget> {
        let _ = (alert, &self.hosts);
        todo!("issue 21")
    }
}
