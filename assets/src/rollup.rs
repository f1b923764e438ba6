//! The figures a node reports to its parent, per region and department: systems by 等保
//! level, CII and internet-facing systems, hosts, open findings by severity and overdue,
//! unknown and silent hosts.
//!
//! Each figure lands on the row of the system it belongs to (its region and department).
//! What no system claims lands on the row of its own region with department "": findings on
//! unregistered hosts (in the reporting node's region) and unknown hosts (in the region they
//! were seen in).

use std::collections::BTreeMap;

use onewall_model::asset::{AssetRollup, ExposureReport, RollupRow};
use onewall_model::{Exposure, RegionCode, Severity, Timestamp};

use crate::book::AssetBook;
use crate::registry::System;

/// The roll-up of `book` and `exposure` at `now`, reported from `region`. Rows are ordered
/// by region, then department.
pub fn rollup(
    book: &AssetBook,
    exposure: &ExposureReport,
    region: RegionCode,
    now: Timestamp,
) -> AssetRollup {
    let mut rows = Rows::new();
    for s in book.registry().systems() {
        let r = row(&mut rows, s.region, &s.department);
        r.systems_by_level[usize::from(s.level.filter(|l| (1..=5).contains(l)).unwrap_or(0))] += 1;
        r.cii_systems += u64::from(s.cii);
        r.internet_systems += u64::from(s.exposure == Exposure::Internet);
    }
    for (_, s) in book.registered_hosts() {
        let (reg, dep) = of_system(s);
        row(&mut rows, reg, dep).hosts += 1;
    }
    for f in book.findings().filter(|f| f.is_open(now)) {
        let (reg, dep) = book.system_of(&f.host).map_or((region, ""), of_system);
        let r = row(&mut rows, reg, dep);
        r.open_findings[severity_index(f.severity)] += 1;
        r.overdue += u64::from(f.is_overdue(now));
    }
    for h in &exposure.unknown {
        row(&mut rows, h.region, "").unknown_hosts += 1;
    }
    for h in &exposure.silent {
        // The exposure report names a silent host's system; its department is the
        // system's (the system of that name in that region, else the host's).
        let system = h
            .system
            .as_deref()
            .and_then(|name| book.registry().get(&System::id_of(h.region, name)))
            .or_else(|| book.system_of(&h.address));
        let (reg, dep) = system.map_or((h.region, ""), of_system);
        row(&mut rows, reg, dep).silent_hosts += 1;
    }
    AssetRollup {
        region,
        at: now,
        rows: rows.into_values().collect(),
    }
}

/// Where a system's figures go: its region and department.
fn of_system(s: &System) -> (RegionCode, &str) {
    (s.region, s.department.as_str())
}

/// Rows by region and department.
type Rows = BTreeMap<(RegionCode, String), RollupRow>;

/// The row of `region` and `department`, made on first use.
fn row<'a>(rows: &'a mut Rows, region: RegionCode, department: &str) -> &'a mut RollupRow {
    rows.entry((region, department.to_owned()))
        .or_insert_with(|| RollupRow {
            region,
            department: department.to_owned(),
            systems_by_level: [0; 6],
            cii_systems: 0,
            internet_systems: 0,
            hosts: 0,
            open_findings: [0; 5],
            overdue: 0,
            unknown_hosts: 0,
            silent_hosts: 0,
        })
}

/// The index of `s` in [`Severity::ALL`] (informational … critical).
fn severity_index(s: Severity) -> usize {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0)
}
