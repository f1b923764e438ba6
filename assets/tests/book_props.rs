//! Invariants of the book under random scans and status changes: a scan never loses a
//! finding (each one is reported, fixed, or on a host or scanner the scan did not cover),
//! the outcome's figures add up, and the targets snapshot agrees with the open findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::{BTreeMap, BTreeSet};

use onewall_assets::book::AssetBook;
use onewall_assets::config::Deadlines;
use onewall_assets::finding::{Finding, FindingStatus, StatusChange};
use onewall_assets::registry::{Net, RegistryMode, System};
use onewall_assets::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Exposure, RegionCode, RuleRef, Severity, Timestamp,
};
use proptest::prelude::*;

const HOSTS: [&str; 4] = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
const SCANNERS: [Scanner; 2] = [Scanner::Greenbone, Scanner::Csv];

/// One step: a scan (scanner, covered hosts, findings as (host, key)) or a user's change
/// (finding index, change kind).
#[derive(Debug, Clone)]
enum Step {
    Scan(usize, Vec<usize>, Vec<(usize, u8)>),
    Change(usize, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (
            0..SCANNERS.len(),
            proptest::collection::vec(0..HOSTS.len(), 0..4),
            proptest::collection::vec((0..HOSTS.len(), 0u8..6), 0..8),
        )
            .prop_map(|(s, h, f)| Step::Scan(s, h, f)),
        1 => (0usize..64, 0u8..3).prop_map(|(i, c)| Step::Change(i, c)),
    ]
}

fn book() -> AssetBook {
    let mut b = AssetBook::default();
    let region = RegionCode::new(410100).unwrap();
    b.apply_registry(
        vec![System {
            id: System::id_of(region, "s"),
            name: "s".into(),
            region,
            department: "d".into(),
            ops_unit: String::new(),
            contacts: vec![],
            level: Some(2),
            filing: None,
            cii: false,
            exposure: Exposure::Internal,
            networks: vec![Net::parse("10.0.0.0/24").unwrap()],
            hosts: vec![],
            tags: vec![],
        }],
        RegistryMode::Merge,
        Timestamp::from_secs(0),
    );
    b
}

fn scan_finding(host: &str, key: u8) -> ScanFinding {
    ScanFinding {
        host: host.into(),
        kind: FindingKind::Vulnerability,
        key: format!("k{key}"),
        port: None,
        protocol: None,
        cves: vec![format!("CVE-2024-{:04}", 1000 + u32::from(key))],
        cvss: None,
        cvss_vector: None,
        severity: Severity::ALL[usize::from(key) % 5],
        title: format!("k{key}"),
        detail: String::new(),
        solution: None,
    }
}

fn alert_on(host: &str, cve: &str) -> Alert {
    Alert {
        id: AlertId::from_u128(1),
        time: Timestamp::from_secs(0),
        created: Timestamp::from_secs(0),
        rule: RuleRef {
            id: "r".into(),
            title: "r".into(),
            level: Severity::High,
            status: None,
            tags: vec![format!("cve.{}", cve.trim_start_matches("CVE-"))],
        },
        severity: Severity::High,
        event_ids: vec![EventId::from_u128(1)],
        entities: vec![Entity::new(EntityKind::DestinationIp, host)],
        region: RegionCode::HENAN,
        matched: vec![],
        intel: None,
        anomaly: None,
        target: None,
        drill: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn a_scan_never_loses_a_finding(steps in proptest::collection::vec(step(), 1..24)) {
        let mut b = book();
        let d = Deadlines::default();
        for (i, st) in steps.into_iter().enumerate() {
            let at = Timestamp::from_secs(1_000 + i as i64 * 3_600);
            match st {
                Step::Scan(s, hosts, findings) => {
                    let scanner = SCANNERS[s];
                    let before: BTreeMap<String, Finding> =
                        b.findings().map(|f| (f.id.clone(), f.clone())).collect();
                    let mut covered: BTreeSet<&str> = hosts.iter().map(|h| HOSTS[*h]).collect();
                    covered.extend(findings.iter().map(|(h, _)| HOSTS[*h]));
                    let sfs: Vec<ScanFinding> =
                        findings.iter().map(|(h, k)| scan_finding(HOSTS[*h], *k)).collect();
                    let reported: BTreeSet<String> = sfs
                        .iter()
                        .map(|f| Finding::id_of(&f.host, scanner, &f.key, f.port))
                        .collect();
                    let scan = Scan {
                        scanner,
                        at,
                        hosts: hosts
                            .iter()
                            .map(|h| ScannedHost {
                                address: HOSTS[*h].parse().ok(),
                                names: vec![],
                                ports: None,
                            })
                            .collect(),
                        findings: sfs,
                    };
                    let out = b.apply_scan(scan, &d, at);
                    prop_assert_eq!(out.new + out.again + out.reopened, reported.len());
                    let mut fixed = 0;
                    for (id, old) in &before {
                        let now = b.finding(id);
                        prop_assert!(now.is_some(), "finding {} lost", id);
                        let now = now.unwrap();
                        if reported.contains(id) {
                            prop_assert!(now.status != FindingStatus::Fixed);
                            prop_assert_eq!(now.last_found, at);
                        } else if old.scanner == scanner && covered.contains(old.host.as_str()) {
                            prop_assert_eq!(now.status, FindingStatus::Fixed);
                            fixed += usize::from(old.status != FindingStatus::Fixed);
                        } else {
                            prop_assert_eq!(now, old, "a finding the scan did not cover changed");
                        }
                    }
                    prop_assert_eq!(out.fixed, fixed);
                    for id in &reported {
                        prop_assert!(b.finding(id).is_some());
                    }
                    let changed: BTreeSet<&String> = out.changed_findings.iter().collect();
                    for f in b.findings() {
                        let same = before.get(&f.id) == Some(f);
                        prop_assert!(same || changed.contains(&f.id), "{} changed unreported", f.id);
                    }
                }
                Step::Change(i, c) => {
                    let ids: Vec<String> = b.findings().map(|f| f.id.clone()).collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let id = &ids[i % ids.len()];
                    let before = b.finding(id).unwrap().clone();
                    let change = match c {
                        0 => StatusChange::Fixing { note: None },
                        1 => StatusChange::RiskAccepted {
                            reason: "r".into(),
                            until: at.add_secs(7_200),
                        },
                        _ => StatusChange::Open { note: None },
                    };
                    match b.set_status(id, change, "u", at) {
                        Ok(f) => prop_assert_eq!(f.history.len(), before.history.len() + 1),
                        Err(_) => prop_assert_eq!(b.finding(id).unwrap(), &before),
                    }
                }
            }
            // The snapshot agrees with the findings (acceptances run out on the node's
            // periodic check): a CVE weighs exactly while open.
            b.expire(at);
            let targets = b.targets();
            for f in b.findings() {
                let hit = targets.target_of(&alert_on(&f.host, &f.cves[0])).unwrap();
                let open_same = b.findings().any(|g| {
                    g.host == f.host && g.cves == f.cves && g.is_open(at)
                });
                prop_assert_eq!(!hit.open_cves.is_empty(), open_same);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// The seen table never holds more than its bound, keeps the host just noted, and
    /// its report never names a host twice.
    #[test]
    fn the_seen_table_stays_bounded(
        max in 1usize..40,
        notes in proptest::collection::vec((0u32..80, 0i64..10_000, proptest::bool::ANY), 1..300),
    ) {
        use onewall_assets::seen::{Seen, SeenBy};
        let b = book();
        let region = RegionCode::new(410100).unwrap();
        let mut seen = Seen::new(max);
        for (host, at, log) in notes {
            let key = format!("10.0.{}.{}", host / 8, host % 8);
            let by = if log { SeenBy::Log } else { SeenBy::Flow };
            seen.note(&key, region, by, Timestamp::from_secs(at));
            prop_assert!(seen.len() <= max);
            prop_assert!(seen.get(&key).is_some());
        }
        let r = seen.report(&b, 1, Timestamp::from_secs(20_000));
        let mut names: Vec<&str> = r.unknown.iter().chain(&r.silent).map(|h| h.address.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        prop_assert_eq!(names.len(), n);
    }
}
