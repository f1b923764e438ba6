//! The node's assets: the registry, the hosts scans found (with their open ports), and the
//! findings with their lifecycle. The node keeps one book, persists what each change returns,
//! and hands the pipeline an immutable [`Targets`] snapshot after every change.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::hash::{FxMap, FxSet};
use onewall_model::{Exposure, RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::Deadlines;
use crate::error::AssetError;
use crate::finding::{Finding, FindingStatus, StatusChange};
use crate::registry::{Lookup, Registry, RegistryChange, RegistryMode, System};
use crate::scan::{Scan, ScannedHost, Scanner, Service};
use crate::weigh::{HostCves, Targets};

/// A host the node knows: registered (a single address or a name of a system) or found by a
/// scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Its address as text, else its name.
    pub key: String,
    /// Its address, when known.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Its names (lower case), as scans gave them.
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
    /// [`System::id`].
    pub id: String,
    /// 系统名称.
    pub name: String,
    /// 属地.
    pub region: RegionCode,
    /// 使用单位 (主体责任).
    pub department: String,
    /// 运维单位 (直接责任).
    pub ops_unit: String,
    /// 等保级别, 1–5.
    pub level: Option<u8>,
    /// 关键信息基础设施.
    pub cii: bool,
    /// Internet-facing or internal.
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
    /// Its address as text, else its name.
    pub key: String,
    /// Its address, when known.
    pub address: Option<IpAddr>,
    /// Its names (lower case).
    pub names: Vec<String>,
    /// Its system (none: scanned but in no registered network).
    pub system: Option<SystemRef>,
    /// The system's region, else the node's.
    pub region: RegionCode,
    /// Open ports from the latest Nmap scan.
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
    /// Hosts the scan listed.
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
    /// By id, keyed by the id's number ([`slot`]): ordered as the ids are, and a 100
    /// k-finding import does not pay a cache miss per key comparison as string keys would.
    findings: BTreeMap<u64, Finding>,
    /// Finding ids by host key (a scan fixes what its covered hosts no longer show).
    by_host: FxMap<String, BTreeSet<String>>,
    /// Compiled when the registry changes.
    lookup: Arc<Lookup>,
    /// Rebuilt after every change.
    targets: Arc<Targets>,
}

/// A registered host: its key (address as text, else name), address, names and system.
#[derive(Debug, Clone)]
pub struct RegisteredHost<'a> {
    /// Its address as text, else its name.
    pub key: String,
    /// Its address, when known.
    pub address: Option<IpAddr>,
    /// The names it goes by (lower case).
    pub names: Vec<String>,
    /// The system it belongs to.
    pub system: &'a System,
}

/// One host of the book: a record (scanned), or a single address or a name a system lists
/// that no record stands for.
struct HostEntry<'a> {
    key: String,
    address: Option<IpAddr>,
    names: Vec<String>,
    record: Option<&'a HostRecord>,
    system: Option<&'a System>,
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
    /// A book from what the node persisted (findings on hosts with no record get one, so
    /// every finding's host is listed).
    pub fn new(
        registry: Registry,
        hosts: impl IntoIterator<Item = HostRecord>,
        findings: impl IntoIterator<Item = Finding>,
        now: Timestamp,
    ) -> AssetBook {
        let mut book = AssetBook {
            lookup: Arc::new(registry.compile()),
            registry,
            hosts: hosts.into_iter().map(|h| (h.key.clone(), h)).collect(),
            ..AssetBook::default()
        };
        for f in findings {
            book.by_host
                .entry(f.host.clone())
                .or_default()
                .insert(f.id.clone());
            if !book.hosts.contains_key(&f.host) {
                let record = HostRecord::bare(&f.host);
                book.hosts.insert(f.host.clone(), record);
            }
            book.findings.insert(slot(&f.id), f);
        }
        book.rebuild_targets(now);
        book
    }

    /// The registered systems.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The record of host `key` (its address as text, else its name).
    pub fn host(&self, key: &str) -> Option<&HostRecord> {
        self.hosts.get(key)
    }

    /// Every host record, by key.
    pub fn hosts(&self) -> impl Iterator<Item = &HostRecord> {
        self.hosts.values()
    }

    /// The finding `id`.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.get(&slot(id)).filter(|f| f.id == id)
    }

    /// Every finding, by id.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.values()
    }

    /// The findings on host `key`, by id.
    pub fn findings_of(&self, key: &str) -> impl Iterator<Item = &Finding> {
        self.by_host
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.findings.get(&slot(id)))
    }

    /// The snapshot the pipeline looks targets up in.
    pub fn targets(&self) -> Arc<Targets> {
        self.targets.clone()
    }

    /// The system a host key (address or name) belongs to: the key looked up, else the
    /// address and names of the host recorded under it.
    pub fn system_of(&self, key: &str) -> Option<&System> {
        if self.lookup.is_empty() {
            return None;
        }
        let l = &*self.lookup;
        l.find(key)
            .or_else(|| {
                let r = self.hosts.get(key)?;
                r.address
                    .and_then(|a| l.find_ip(a))
                    .or_else(|| r.names.iter().find_map(|n| l.find_host(n)))
            })
            .map(|hit| l.system(hit))
    }

    /// Apply registry rows; the lookup is recompiled and the snapshot rebuilt.
    pub fn apply_registry(
        &mut self,
        systems: Vec<System>,
        mode: RegistryMode,
        now: Timestamp,
    ) -> RegistryChange {
        let change = self.registry.apply(systems, mode);
        self.lookup = Arc::new(self.registry.compile());
        self.rebuild_targets(now);
        change
    }

    /// Remove one system; the lookup is recompiled and the snapshot rebuilt.
    pub fn remove_system(&mut self, id: &str, now: Timestamp) -> Option<System> {
        let removed = self.registry.remove(id)?;
        self.lookup = Arc::new(self.registry.compile());
        self.rebuild_targets(now);
        Some(removed)
    }

    /// Apply a scan: hosts and ports recorded, findings opened, seen again, reopened, or
    /// fixed (a finding of the same scanner on a covered host that the scan no longer
    /// reports). Deadlines from `deadlines`.
    ///
    /// A host counts as covered when the scan lists it or one of its findings names it. A
    /// scan older than the latest one of the same scanner on a host (files imported out of
    /// order) neither replaces that host's ports nor fixes its findings, and a finding the
    /// book saw in a newer scan is neither refreshed nor reopened by it: the newer scan
    /// speaks for them.
    pub fn apply_scan(&mut self, scan: Scan, deadlines: &Deadlines, now: Timestamp) -> ScanOutcome {
        let Scan {
            scanner,
            at,
            hosts,
            findings,
        } = scan;
        let mut out = ScanOutcome {
            hosts: hosts.len(),
            ..ScanOutcome::default()
        };
        let mut changed_hosts = BTreeSet::new();
        // Sorted once at the end: a 100 k-finding import would pay a tree insert each.
        let mut changed_findings = Vec::new();
        let mut covered = BTreeSet::new();
        // Hosts recorded from this scan (covered or, when the scan is older, not).
        let mut listed = BTreeSet::new();
        for h in hosts {
            let Some(key) = h.key() else { continue };
            listed.insert(key.clone());
            out.ports += h.ports.as_ref().map_or(0, Vec::len);
            let (changed, current) = self.record_host(&key, h, scanner, at);
            if changed {
                changed_hosts.insert(key.clone());
            }
            if current {
                covered.insert(key);
            }
        }
        let mut reported: FxSet<String> = FxSet::default();
        reported.reserve(findings.len());
        for f in findings {
            if !listed.contains(&f.host) {
                // A finding names a host the scan's host list left out: it was covered too.
                let host = ScannedHost {
                    address: f.host.parse().ok(),
                    names: Vec::new(),
                    ports: None,
                };
                let (changed, current) = self.record_host(&f.host, host, scanner, at);
                if changed {
                    changed_hosts.insert(f.host.clone());
                }
                if current {
                    covered.insert(f.host.clone());
                }
                listed.insert(f.host.clone());
            }
            let id = Finding::id_of(&f.host, scanner, &f.key, f.port);
            let first_report = reported.insert(id.clone());
            match self.findings.get_mut(&slot(&id)) {
                Some(known) => {
                    let settled = known.last_found > at
                        || (known.status == FindingStatus::Fixed
                            && known.fixed_at.is_some_and(|t| t >= at));
                    if settled {
                        // An older scan than one the book has: what it says is stale.
                        continue;
                    }
                    let reopened = known.found_again(f, at, deadlines);
                    if first_report {
                        if reopened {
                            out.reopened += 1;
                        } else {
                            out.again += 1;
                        }
                    }
                }
                None => {
                    let found = Finding::found(f, scanner, at, deadlines);
                    self.by_host
                        .entry(found.host.clone())
                        .or_default()
                        .insert(id.clone());
                    self.findings.insert(slot(&id), found);
                    out.new += 1;
                }
            }
            changed_findings.push(id);
        }
        for key in &covered {
            for id in self.by_host.get(key).into_iter().flatten() {
                let Some(f) = self.findings.get_mut(&slot(id)) else {
                    continue;
                };
                if f.scanner == scanner
                    && f.status != FindingStatus::Fixed
                    && !reported.contains(id)
                {
                    f.fixed_by_scan(at);
                    out.fixed += 1;
                    changed_findings.push(id.clone());
                }
            }
        }
        if !changed_hosts.is_empty() || !changed_findings.is_empty() {
            self.rebuild_targets(now);
        }
        out.changed_hosts = changed_hosts.into_iter().collect();
        changed_findings.sort_unstable();
        changed_findings.dedup();
        out.changed_findings = changed_findings;
        out
    }

    /// Record what a scan saw of host `key`: whether the record changed, and whether the
    /// scan is current for it (not older than the latest scan of the same scanner).
    fn record_host(
        &mut self,
        key: &str,
        h: ScannedHost,
        scanner: Scanner,
        at: Timestamp,
    ) -> (bool, bool) {
        let fresh = !self.hosts.contains_key(key);
        let rec = self
            .hosts
            .entry(key.to_owned())
            .or_insert_with(|| HostRecord::bare(key));
        let before = (!fresh).then(|| rec.clone());
        let current = rec.scans.get(&scanner).is_none_or(|t| *t <= at);
        if rec.address.is_none() {
            rec.address = h.address;
        }
        for n in h.names {
            let n = n.trim().to_lowercase();
            if !n.is_empty() && !rec.names.contains(&n) {
                rec.names.push(n);
            }
        }
        if current {
            if let Some(mut ports) = h.ports {
                ports.sort();
                ports.dedup();
                rec.ports = ports;
            }
            rec.scans.insert(scanner, at);
        }
        (before.is_none_or(|b| b != *rec), current)
    }

    /// A user changes a finding's status (see [`Finding::change`] for what is allowed).
    pub fn set_status(
        &mut self,
        id: &str,
        change: StatusChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<&Finding, AssetError> {
        let not_found = || AssetError::NotFound {
            what: "finding",
            id: id.to_owned(),
        };
        let f = self
            .findings
            .get_mut(&slot(id))
            .filter(|f| f.id == id)
            .ok_or_else(not_found)?;
        f.change(change, actor, now)?;
        // Accepting a risk closes its CVEs for the targets; reopening opens them.
        self.rebuild_targets(now);
        self.finding(id).ok_or_else(not_found)
    }

    /// Acceptances past their expiry at `now` become open again; the ids changed (to
    /// persist). The node calls this on its periodic check, before raising overdue alerts.
    pub fn expire(&mut self, now: Timestamp) -> Vec<String> {
        let changed: Vec<String> = self
            .findings
            .values_mut()
            .filter_map(|f| f.expire(now).then(|| f.id.clone()))
            .collect();
        if !changed.is_empty() {
            self.rebuild_targets(now);
        }
        changed
    }

    /// Overdue findings not yet alerted since their deadline passed: each is marked
    /// alerted at `now` and returned (the node raises one alert each, in the region of the
    /// host's system, and persists them).
    pub fn take_overdue_alerts(&mut self, now: Timestamp) -> Vec<Finding> {
        self.findings
            .values_mut()
            .filter(|f| f.needs_overdue_alert(now))
            .map(|f| {
                f.overdue_alerted = Some(now);
                f.clone()
            })
            .collect()
    }

    /// Hosts as the API lists them, ordered by key: every host record and every single
    /// address or name a system lists.
    pub fn host_views(
        &self,
        filter: &HostFilter,
        node_region: RegionCode,
        now: Timestamp,
    ) -> Vec<HostView> {
        let text = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let mut out = Vec::new();
        for e in self.host_entries().into_values() {
            let region = e.system.map_or(node_region, |s| s.region);
            if filter
                .regions
                .as_ref()
                .is_some_and(|r| !r.contains(&region))
            {
                continue;
            }
            if let Some(deps) = &filter.departments
                && !e.system.is_some_and(|s| deps.contains(&s.department))
            {
                continue;
            }
            if let Some(t) = &text
                && !e.mentions(t)
            {
                continue;
            }
            let mut open: Vec<Finding> = self
                .findings_of(&e.key)
                .filter(|f| f.is_open(now))
                .cloned()
                .collect();
            if filter.vulnerable && open.is_empty() {
                continue;
            }
            open.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then(a.deadline.cmp(&b.deadline))
                    .then_with(|| a.id.cmp(&b.id))
            });
            out.push(HostView {
                overdue: open.iter().filter(|f| f.is_overdue(now)).count(),
                open_findings: open,
                system: e.system.map(SystemRef::from),
                region,
                ports: e.record.map(|r| r.ports.clone()).unwrap_or_default(),
                last_scan: e.record.and_then(|r| r.scans.values().max().copied()),
                key: e.key,
                address: e.address,
                names: e.names,
            });
        }
        out
    }

    /// Open findings past their deadline at `now`.
    pub fn overdue(&self, now: Timestamp) -> Vec<&Finding> {
        self.findings
            .values()
            .filter(|f| f.is_overdue(now))
            .collect()
    }

    /// Registered hosts (single addresses and names of systems, and scanned hosts inside a
    /// system's networks), for the silent-host check: key, system. A name a system lists
    /// that a host record already carries is that record, not a host of its own.
    pub fn registered_hosts(&self) -> Vec<(String, &System)> {
        self.registered()
            .into_iter()
            .map(|h| (h.key, h.system))
            .collect()
    }

    /// Registered hosts with the address and names each goes by, by key.
    pub fn registered(&self) -> Vec<RegisteredHost<'_>> {
        self.host_entries()
            .into_values()
            .filter_map(|e| {
                Some(RegisteredHost {
                    system: e.system?,
                    key: e.key,
                    address: e.address,
                    names: e.names,
                })
            })
            .collect()
    }

    /// Every host: the records, then each single address and name a system lists that no
    /// record stands for (by key). A system listing one single address and one name is
    /// taken to list one host ([`one_host`]).
    fn host_entries(&self) -> BTreeMap<String, HostEntry<'_>> {
        let mut out = BTreeMap::new();
        let mut named: HashSet<&str> = HashSet::new();
        for r in self.hosts.values() {
            named.extend(r.names.iter().map(String::as_str));
            out.insert(
                r.key.clone(),
                HostEntry {
                    key: r.key.clone(),
                    address: r.address,
                    names: r.names.clone(),
                    record: Some(r),
                    system: self.system_of(&r.key),
                },
            );
        }
        for s in self.registry.systems() {
            for n in s.networks.iter().filter(|n| n.is_host()) {
                let key = n.addr.to_string();
                out.entry(key.clone()).or_insert(HostEntry {
                    key,
                    address: Some(n.addr),
                    names: Vec::new(),
                    record: None,
                    system: Some(s),
                });
            }
            let paired = one_host(s).filter(|(_, name)| !named.contains(name));
            if let Some((addr, name)) = paired
                && let Some(e) = out.get_mut(&addr.to_string())
                && !e.names.iter().any(|n| n == name)
            {
                e.names.push(name.to_owned());
            }
            for name in &s.hosts {
                if !named.contains(name.as_str()) && paired.is_none_or(|(_, p)| p != name) {
                    out.entry(name.clone()).or_insert(HostEntry {
                        key: name.clone(),
                        address: None,
                        names: vec![name.clone()],
                        record: None,
                        system: Some(s),
                    });
                }
            }
        }
        out
    }

    /// Rebuild the pipeline's snapshot: each host's name and the CVEs of its open findings
    /// at `now`, under its key and each of its names.
    fn rebuild_targets(&mut self, now: Timestamp) {
        let mut hosts: FxMap<String, HostCves> = FxMap::default();
        for r in self.hosts.values() {
            let mut open_cves: Vec<String> = self
                .findings_of(&r.key)
                .filter(|f| f.is_open(now))
                .flat_map(|f| f.cves.iter().map(|c| c.trim().to_ascii_uppercase()))
                .collect();
            if open_cves.is_empty() && r.names.is_empty() {
                continue;
            }
            open_cves.sort();
            open_cves.dedup();
            let entry = HostCves {
                name: r.names.first().cloned(),
                open_cves,
            };
            for n in &r.names {
                hosts.entry(n.clone()).or_insert_with(|| entry.clone());
            }
            hosts.insert(r.key.clone(), entry);
        }
        for (addr, name) in self.registry.systems().filter_map(one_host) {
            let entry = hosts.entry(addr.to_string()).or_default();
            entry.name.get_or_insert_with(|| name.to_owned());
            let entry = entry.clone();
            hosts.entry(name.to_owned()).or_insert(entry);
        }
        self.targets = Arc::new(Targets::shared(self.lookup.clone(), hosts));
    }
}

/// The key a finding is kept under: the number in its id (`fnd-` and 16 hex digits, as
/// [`Finding::id_of`] makes them, so the map's order is the ids' order), or for an id of
/// another shape its hash.
fn slot(id: &str) -> u64 {
    id.strip_prefix("fnd-")
        .filter(|h| h.len() == 16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| onewall_model::hash::fnv1a(id.as_bytes()))
}

/// The one host a system lists when it lists exactly one single address and one name:
/// the registry keeps a system's addresses and names apart (rows of a system merge), and
/// a system of one host is the case where they surely go together. Other pairs are learnt
/// from scans (a host's address and names as the scanner saw them).
fn one_host(s: &System) -> Option<(IpAddr, &str)> {
    let mut singles = s.networks.iter().filter(|n| n.is_host());
    match (singles.next(), singles.next(), s.hosts.as_slice()) {
        (Some(n), None, [name]) => Some((n.addr, name.as_str())),
        _ => None,
    }
}

impl HostRecord {
    /// A record of `key` and nothing else yet (its address when the key is one).
    fn bare(key: &str) -> HostRecord {
        let address = key.parse().ok();
        HostRecord {
            key: key.to_owned(),
            address,
            names: if address.is_none() {
                vec![key.to_owned()]
            } else {
                Vec::new()
            },
            ports: Vec::new(),
            scans: BTreeMap::new(),
        }
    }
}

impl HostEntry<'_> {
    /// Whether `text` (lower case) is in its key, names, system name, or a port's service
    /// or product.
    fn mentions(&self, text: &str) -> bool {
        let has = |s: &str| s.to_lowercase().contains(text);
        has(&self.key)
            || self.names.iter().any(|n| has(n))
            || self.system.is_some_and(|s| has(&s.name))
            || self.record.is_some_and(|r| {
                r.ports.iter().any(|p| {
                    p.name.as_deref().is_some_and(has) || p.product.as_deref().is_some_and(has)
                })
            })
    }
}
