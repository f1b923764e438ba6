//! The node's assets: the registry, the hosts scans found (with their open ports), and the
//! findings with their lifecycle. The node keeps one book, persists what each change returns,
//! and hands the pipeline an immutable [`Targets`] snapshot after every change.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::{Exposure, RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::Deadlines;
use crate::error::AssetError;
use crate::finding::{Finding, StatusChange};
use crate::registry::{Registry, RegistryChange, RegistryMode, System};
use crate::scan::{Scan, Scanner, Service};
use crate::weigh::Targets;

/// A host the node knows: registered (a single address or a name of a system) or found by a
/// scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Its address as text, else its name.
    pub key: String,
    #[serde(default)]
    pub address: Option<IpAddr>,
    #[serde(default)]
    pub names: Vec<String>,
    /// Open ports from the latest Nmap scan of it.
    #[serde(default)]
    pub ports: Vec<Service>,
    /// The latest scan of it, per scanner.
    #[serde(default)]
    pub scans: BTreeMap<Scanner, Timestamp>,
}

/// The system a host belongs to, as listed with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemRef {
    pub id: String,
    pub name: String,
    pub region: RegionCode,
    pub department: String,
    pub ops_unit: String,
    pub level: Option<u8>,
    pub cii: bool,
    pub exposure: Exposure,
}

impl From<&System> for SystemRef {
    fn from(s: &System) -> Self {
        SystemRef {
            id: s.id.clone(),
            name: s.name.clone(),
            region: s.region,
            department: s.department.clone(),
            ops_unit: s.ops_unit.clone(),
            level: s.level,
            cii: s.cii,
            exposure: s.exposure,
        }
    }
}

/// One host as `GET /api/v1/assets/hosts` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostView {
    pub key: String,
    pub address: Option<IpAddr>,
    pub names: Vec<String>,
    /// Its system (none: scanned but in no registered network).
    pub system: Option<SystemRef>,
    /// The system's region, else the node's.
    pub region: RegionCode,
    pub ports: Vec<Service>,
    /// Open findings at the time asked, most severe first.
    pub open_findings: Vec<Finding>,
    /// How many of them are overdue.
    pub overdue: usize,
    /// The latest scan of it, any scanner.
    pub last_scan: Option<Timestamp>,
}

/// What applying a scan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanOutcome {
    pub hosts: usize,
    /// Ports recorded (Nmap).
    pub ports: usize,
    /// Findings seen for the first time.
    pub new: usize,
    /// Findings already known and still there.
    pub again: usize,
    /// Findings fixed before and found again (open once more).
    pub reopened: usize,
    /// Findings this scanner reported before on a covered host and no longer does.
    pub fixed: usize,
    /// Host keys whose record changed (to persist).
    #[serde(skip)]
    pub changed_hosts: Vec<String>,
    /// Finding ids that changed (to persist).
    #[serde(skip)]
    pub changed_findings: Vec<String>,
}

/// The node's assets.
#[derive(Debug, Default)]
pub struct AssetBook {
    registry: Registry,
    hosts: BTreeMap<String, HostRecord>,
    findings: BTreeMap<String, Finding>,
    /// Rebuilt after every change.
    targets: Arc<Targets>,
}

/// What the API's host listing may filter on.
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    /// Only hosts whose system's region is one of these (none: all).
    pub regions: Option<Vec<RegionCode>>,
    /// Only hosts of systems of these departments (none: all).
    pub departments: Option<Vec<String>>,
    /// Text in the key, names, system name or a port's product.
    pub text: Option<String>,
    /// Only hosts with at least one open finding.
    pub vulnerable: bool,
}

impl AssetBook {
    /// A book from what the node persisted.
    pub fn new(
        registry: Registry,
        hosts: impl IntoIterator<Item = HostRecord>,
        findings: impl IntoIterator<Item = Finding>,
        now: Timestamp,
    ) -> AssetBook {
        let _ = (registry, hosts, findings, now);
        todo!("issue 21")
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn host(&self, key: &str) -> Option<&HostRecord> {
        self.hosts.get(key)
    }

    pub fn hosts(&self) -> impl Iterator<Item = &HostRecord> {
        self.hosts.values()
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.get(id)
    }

    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.values()
    }

    /// The snapshot the pipeline looks targets up in.
    pub fn targets(&self) -> Arc<Targets> {
        self.targets.clone()
    }

    /// The system a host key (address or name) belongs to.
    pub fn system_of(&self, key: &str) -> Option<&System> {
        let _ = key;
        todo!("issue 21")
    }

    /// Apply registry rows; the snapshot is rebuilt.
    pub fn apply_registry(
        &mut self,
        systems: Vec<System>,
        mode: RegistryMode,
        now: Timestamp,
    ) -> RegistryChange {
        let _ = (systems, mode, now);
        todo!("issue 21")
    }

    /// Apply a scan: hosts and ports recorded, findings opened, seen again, reopened, or
    /// fixed (a finding of the same scanner on a covered host that the scan no longer
    /// reports). Deadlines from `deadlines`.
    pub fn apply_scan(&mut self, scan: Scan, deadlines: &Deadlines, now: Timestamp) -> ScanOutcome {
        let _ = (scan, deadlines, now);
        todo!("issue 21")
    }

    /// A user changes a finding's status.
    pub fn set_status(
        &mut self,
        id: &str,
        change: StatusChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<&Finding, AssetError> {
        let _ = (id, change, actor, now);
        todo!("issue 21")
    }

    /// Hosts as the API lists them, ordered by key.
    pub fn host_views(
        &self,
        filter: &HostFilter,
        node_region: RegionCode,
        now: Timestamp,
    ) -> Vec<HostView> {
        let _ = (filter, node_region, now);
        todo!("issue 21")
    }

    /// Open findings past their deadline at `now`.
    pub fn overdue(&self, now: Timestamp) -> Vec<&Finding> {
        self.findings
            .values()
            .filter(|f| f.is_overdue(now))
            .collect()
    }

    /// Registered hosts (single addresses and names of systems, and scanned hosts inside a
    /// system's networks), for the silent-host check: key, system.
    pub fn registered_hosts(&self) -> Vec<(String, &System)> {
        todo!("issue 21")
    }
}
