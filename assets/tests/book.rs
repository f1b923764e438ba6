//! The node's asset book end to end: scans applied with the findings' lifecycle, users'
//! status changes, deadlines and overdue findings, alert targets, seen hosts and the
//! roll-up, on a small registry.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use onewall_assets::AssetError;
use onewall_assets::book::{AssetBook, HostFilter};
use onewall_assets::config::Deadlines;
use onewall_assets::finding::{FindingStatus, StatusChange};
use onewall_assets::registry::{Net, RegistryMode, System};
use onewall_assets::rollup::rollup;
use onewall_assets::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner, Service};
use onewall_assets::seen::{Seen, SeenBy};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Exposure, RegionCode, RuleRef, Severity, Timestamp,
};

const DAY: i64 = 86_400;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn region(code: u32) -> RegionCode {
    RegionCode::new(code).unwrap()
}

fn system(name: &str, code: u32, department: &str, nets: &[&str], hosts: &[&str]) -> System {
    System {
        id: System::id_of(region(code), name),
        name: name.into(),
        region: region(code),
        department: department.into(),
        ops_unit: "运维中心".into(),
        contacts: vec![],
        level: None,
        filing: None,
        cii: false,
        exposure: Exposure::Internal,
        networks: nets.iter().map(|n| Net::parse(n).unwrap()).collect(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        tags: vec![],
    }
}

/// Two cities, three systems: the portal (三级, CII, internet-facing) holds web01 at
/// 10.1.2.3 and the 10.1.0.0/16 network; the office system (二级) 192.168.5.0/24 and oa01;
/// an archive with no level filed, oa-less, at 10.9.9.9.
fn registry() -> Vec<System> {
    let mut portal = system(
        "政务服务门户",
        410100,
        "市大数据局",
        &["10.1.0.0/16", "10.1.2.3"],
        &["web01"],
    );
    portal.level = Some(3);
    portal.cii = true;
    portal.exposure = Exposure::Internet;
    let mut office = system(
        "协同办公",
        410200,
        "市教育局",
        &["192.168.5.0/24"],
        &["oa01"],
    );
    office.level = Some(2);
    let archive = system("档案系统", 410100, "市档案馆", &["10.9.9.9"], &[]);
    vec![portal, office, archive]
}

fn book() -> AssetBook {
    let mut b = AssetBook::default();
    let change = b.apply_registry(registry(), RegistryMode::Merge, t(0));
    assert_eq!(change.added, 3);
    b
}

fn host(addr: &str, names: &[&str]) -> ScannedHost {
    ScannedHost {
        address: Some(addr.parse().unwrap()),
        names: names.iter().map(|n| n.to_string()).collect(),
        ports: None,
    }
}

fn finding(host: &str, key: &str, severity: Severity, cves: &[&str]) -> ScanFinding {
    ScanFinding {
        host: host.into(),
        kind: FindingKind::Vulnerability,
        key: key.into(),
        port: Some(8080),
        protocol: Some("tcp".into()),
        cves: cves.iter().map(|c| c.to_string()).collect(),
        cvss: None,
        cvss_vector: None,
        severity,
        title: format!("{key} on {host}"),
        detail: String::new(),
        solution: None,
    }
}

fn scan(scanner: Scanner, at: Timestamp, hosts: Vec<ScannedHost>, f: Vec<ScanFinding>) -> Scan {
    Scan {
        scanner,
        at,
        hosts,
        findings: f,
    }
}

fn log4shell() -> ScanFinding {
    finding(
        "10.1.2.3",
        "1.3.6.1.4.1.25623.1.0.117838",
        Severity::Critical,
        &["CVE-2021-44228"],
    )
}

fn weak_tls() -> ScanFinding {
    finding(
        "10.1.2.3",
        "1.3.6.1.4.1.25623.1.0.103440",
        Severity::Medium,
        &[],
    )
}

fn id_of(f: &ScanFinding, scanner: Scanner) -> String {
    onewall_assets::Finding::id_of(&f.host, scanner, &f.key, f.port)
}

#[test]
fn a_finding_lives_open_fixing_fixed_and_reopened() {
    let mut b = book();
    let d = Deadlines::default();
    let web = || vec![host("10.1.2.3", &["web01"])];
    let first = b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            web(),
            vec![log4shell(), weak_tls()],
        ),
        &d,
        t(10),
    );
    assert_eq!((first.new, first.again, first.fixed), (2, 0, 0));
    assert_eq!(first.changed_hosts, ["10.1.2.3"]);
    assert_eq!(first.changed_findings.len(), 2);
    let id = id_of(&log4shell(), Scanner::Greenbone);
    let f = b.finding(&id).unwrap();
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.first_found, t(0));
    assert_eq!(f.deadline, t(7 * DAY), "critical: 7 days");
    assert_eq!(
        b.finding(&id_of(&weak_tls(), Scanner::Greenbone))
            .unwrap()
            .deadline,
        t(30 * DAY),
        "medium: 30 days"
    );

    let f = b
        .set_status(
            &id,
            StatusChange::Fixing {
                note: Some("patching".into()),
            },
            "alice",
            t(DAY),
        )
        .unwrap();
    assert_eq!(f.status, FindingStatus::Fixing);
    let last = f.history.last().unwrap();
    assert_eq!((last.actor.as_str(), last.at), ("alice", t(DAY)));
    assert_eq!(last.note.as_deref(), Some("patching"));

    // The same scan again: nothing new, nothing fixed.
    let again = b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(2 * DAY),
            web(),
            vec![log4shell(), weak_tls()],
        ),
        &d,
        t(2 * DAY),
    );
    assert_eq!((again.new, again.again, again.fixed), (0, 2, 0));
    assert_eq!(b.finding(&id).unwrap().last_found, t(2 * DAY));
    assert_eq!(b.finding(&id).unwrap().status, FindingStatus::Fixing);

    // A re-scan without it: fixed, by the scan, at the scan's time.
    let fixed = b.apply_scan(
        scan(Scanner::Greenbone, t(3 * DAY), web(), vec![weak_tls()]),
        &d,
        t(3 * DAY + 5),
    );
    assert_eq!((fixed.new, fixed.again, fixed.fixed), (0, 1, 1));
    assert_eq!(fixed.changed_findings.len(), 2);
    let f = b.finding(&id).unwrap();
    assert_eq!(f.status, FindingStatus::Fixed);
    assert_eq!(f.fixed_at, Some(t(3 * DAY)));
    assert_eq!(f.history.last().unwrap().actor, "scan");
    assert!(!f.is_open(t(3 * DAY)));

    // A fix is not undone by hand.
    let err = b
        .set_status(&id, StatusChange::Open { note: None }, "alice", t(4 * DAY))
        .unwrap_err();
    assert!(
        matches!(err, AssetError::Invalid(ref m) if m.contains("fixed")),
        "{err}"
    );

    // Found again: open once more, the deadline counted afresh.
    let back = b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(20 * DAY),
            web(),
            vec![log4shell(), weak_tls()],
        ),
        &d,
        t(20 * DAY),
    );
    assert_eq!(
        (back.new, back.reopened, back.again, back.fixed),
        (0, 1, 1, 0)
    );
    let f = b.finding(&id).unwrap();
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.first_found, t(20 * DAY));
    assert_eq!(f.deadline, t(27 * DAY));
    assert_eq!(f.fixed_at, None);
    let statuses: Vec<FindingStatus> = f.history.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [
            FindingStatus::Open,
            FindingStatus::Fixing,
            FindingStatus::Fixed,
            FindingStatus::Open
        ]
    );
}

#[test]
fn a_scan_fixes_only_its_own_findings_on_the_hosts_it_covered() {
    let mut b = book();
    let d = Deadlines::default();
    let oa = finding(
        "192.168.5.7",
        "CVE-2023-1111",
        Severity::High,
        &["CVE-2023-1111"],
    );
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &[]), host("192.168.5.7", &["oa01"])],
            vec![log4shell(), oa.clone()],
        ),
        &d,
        t(0),
    );
    let mut baseline = finding(
        "10.1.2.3",
        "xccdf_rule_sshd_disable_root_login",
        Severity::Medium,
        &[],
    );
    baseline.kind = FindingKind::Baseline;
    baseline.port = None;
    b.apply_scan(
        scan(
            Scanner::Openscap,
            t(DAY),
            vec![host("10.1.2.3", &[])],
            vec![baseline.clone()],
        ),
        &d,
        t(DAY),
    );
    // An OpenSCAP run on web01 with nothing to say fixes its own baseline finding only.
    let out = b.apply_scan(
        scan(
            Scanner::Openscap,
            t(2 * DAY),
            vec![host("10.1.2.3", &[])],
            vec![],
        ),
        &d,
        t(2 * DAY),
    );
    assert_eq!(out.fixed, 1);
    assert_eq!(
        b.finding(&id_of(&baseline, Scanner::Openscap))
            .unwrap()
            .status,
        FindingStatus::Fixed
    );
    assert_eq!(
        b.finding(&id_of(&log4shell(), Scanner::Greenbone))
            .unwrap()
            .status,
        FindingStatus::Open
    );
    // A Greenbone scan of web01 alone leaves oa01's findings alone.
    let out = b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(3 * DAY),
            vec![host("10.1.2.3", &[])],
            vec![],
        ),
        &d,
        t(3 * DAY),
    );
    assert_eq!(out.fixed, 1);
    assert_eq!(
        b.finding(&id_of(&oa, Scanner::Greenbone)).unwrap().status,
        FindingStatus::Open
    );
    // An older file imported late neither fixes nor reopens what a newer scan settled.
    let late = b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(DAY),
            vec![host("10.1.2.3", &[])],
            vec![log4shell()],
        ),
        &d,
        t(4 * DAY),
    );
    assert_eq!((late.reopened, late.fixed, late.again), (0, 0, 0));
    assert!(late.changed_findings.is_empty());
    // Nor does it rewrite what a newer scan said of a finding still open.
    let mut older = oa.clone();
    older.severity = Severity::Low;
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(-DAY),
            vec![host("192.168.5.7", &[])],
            vec![older],
        ),
        &d,
        t(4 * DAY),
    );
    let f = b.finding(&id_of(&oa, Scanner::Greenbone)).unwrap();
    assert_eq!((f.severity, f.last_found), (Severity::High, t(0)));
    assert_eq!(
        b.finding(&id_of(&log4shell(), Scanner::Greenbone))
            .unwrap()
            .status,
        FindingStatus::Fixed
    );
}

#[test]
fn nmap_replaces_ports_and_other_scanners_keep_them() {
    let mut b = book();
    let d = Deadlines::default();
    let svc = |port, name: &str| Service {
        port,
        protocol: "tcp".into(),
        name: Some(name.into()),
        product: Some(format!("{name} server")),
        version: None,
    };
    let mut h = host("10.1.2.3", &["web01"]);
    h.ports = Some(vec![svc(443, "https"), svc(22, "ssh"), svc(22, "ssh")]);
    let out = b.apply_scan(scan(Scanner::Nmap, t(0), vec![h], vec![]), &d, t(0));
    assert_eq!(out.hosts, 1);
    let ports: Vec<u16> = b
        .host("10.1.2.3")
        .unwrap()
        .ports
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [22, 443], "sorted, without repeats");
    b.apply_scan(
        scan(Scanner::Lynis, t(DAY), vec![host("10.1.2.3", &[])], vec![]),
        &d,
        t(DAY),
    );
    assert_eq!(b.host("10.1.2.3").unwrap().ports.len(), 2);
    let mut h = host("10.1.2.3", &[]);
    h.ports = Some(vec![svc(443, "https")]);
    let out = b.apply_scan(
        scan(Scanner::Nmap, t(2 * DAY), vec![h], vec![]),
        &d,
        t(2 * DAY),
    );
    assert_eq!(out.changed_hosts, ["10.1.2.3"]);
    let rec = b.host("10.1.2.3").unwrap();
    assert_eq!(rec.ports.len(), 1);
    assert_eq!(rec.names, ["web01"]);
    assert_eq!(rec.scans.get(&Scanner::Nmap), Some(&t(2 * DAY)));
    assert_eq!(rec.scans.get(&Scanner::Lynis), Some(&t(DAY)));
}

#[test]
fn risk_acceptance_needs_a_reason_and_an_expiry_and_runs_out() {
    let mut b = book();
    let d = Deadlines::default();
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &[])],
            vec![log4shell()],
        ),
        &d,
        t(0),
    );
    let id = id_of(&log4shell(), Scanner::Greenbone);
    let accept = |reason: &str, until| StatusChange::RiskAccepted {
        reason: reason.into(),
        until,
    };
    let refused = |r: Result<_, AssetError>| match r {
        Err(AssetError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(
        refused(
            b.set_status(&id, accept("  ", t(9 * DAY)), "bob", t(DAY))
                .map(|_| ())
        )
        .contains("reason")
    );
    assert!(
        refused(
            b.set_status(&id, accept("isolated", t(DAY)), "bob", t(DAY))
                .map(|_| ())
        )
        .contains("future")
    );
    assert!(matches!(
        b.set_status(
            "fnd-0000000000000000",
            accept("x", t(9 * DAY)),
            "bob",
            t(DAY)
        ),
        Err(AssetError::NotFound { .. })
    ));
    assert!(
        refused(
            b.set_status(&id, StatusChange::Open { note: None }, "bob", t(DAY))
                .map(|_| ())
        )
        .contains("already open")
    );
    assert_eq!(
        b.finding(&id).unwrap().history.len(),
        1,
        "refusals leave no trace"
    );

    let f = b
        .set_status(
            &id,
            accept("behind the WAF until the upgrade", t(10 * DAY)),
            "bob",
            t(DAY),
        )
        .unwrap();
    assert_eq!(f.status, FindingStatus::RiskAccepted);
    assert_eq!(f.accepted_until, Some(t(10 * DAY)));
    assert!(!f.is_open(t(9 * DAY)));
    assert!(f.is_open(t(10 * DAY + 1)), "open again after the expiry");
    // Accepted: not overdue past its deadline while the acceptance holds.
    assert!(b.overdue(t(8 * DAY)).is_empty());
    assert_eq!(b.overdue(t(11 * DAY)).len(), 1);
    // While accepted it cannot be moved to fixing without reopening it first.
    assert!(
        refused(
            b.set_status(&id, StatusChange::Fixing { note: None }, "bob", t(2 * DAY))
                .map(|_| ())
        )
        .contains("reopen")
    );

    assert!(b.expire(t(9 * DAY)).is_empty());
    assert_eq!(b.expire(t(10 * DAY + 1)), std::slice::from_ref(&id));
    let f = b.finding(&id).unwrap();
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.accepted_until, None);
    assert_eq!(f.history.last().unwrap().actor, "expiry");

    // Fixing, then accepted, then reopened by hand.
    b.set_status(
        &id,
        StatusChange::Fixing { note: None },
        "carol",
        t(11 * DAY),
    )
    .unwrap();
    assert!(
        refused(
            b.set_status(
                &id,
                StatusChange::Fixing { note: None },
                "carol",
                t(11 * DAY)
            )
            .map(|_| ())
        )
        .contains("already")
    );
    b.set_status(
        &id,
        accept("vendor patch pending", t(40 * DAY)),
        "carol",
        t(12 * DAY),
    )
    .unwrap();
    let f = b
        .set_status(
            &id,
            StatusChange::Open {
                note: Some("patch out".into()),
            },
            "carol",
            t(13 * DAY),
        )
        .unwrap();
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.accepted_reason, None);
    let actors: Vec<&str> = f.history.iter().map(|h| h.actor.as_str()).collect();
    assert_eq!(actors, ["scan", "bob", "expiry", "carol", "carol", "carol"]);
}

#[test]
fn deadlines_come_from_the_config_and_overdue_findings_alert_once() {
    let mut b = book();
    let d = Deadlines {
        critical: 1,
        high: 2,
        medium: 3,
        low: 4,
        informational: 5,
    };
    let high = finding("192.168.5.7", "CVE-2024-0001", Severity::High, &[]);
    let low = finding("192.168.5.7", "CVE-2024-0002", Severity::Low, &[]);
    b.apply_scan(
        scan(
            Scanner::Csv,
            t(0),
            vec![host("192.168.5.7", &[])],
            vec![high.clone(), low.clone()],
        ),
        &d,
        t(0),
    );
    let hid = id_of(&high, Scanner::Csv);
    assert_eq!(b.finding(&hid).unwrap().deadline, t(2 * DAY));
    assert!(
        b.overdue(t(2 * DAY)).is_empty(),
        "due at the deadline, not past it"
    );
    assert_eq!(b.overdue(t(2 * DAY + 1)).len(), 1);
    assert!(b.take_overdue_alerts(t(DAY)).is_empty());
    let due = b.take_overdue_alerts(t(3 * DAY));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, hid);
    assert_eq!(b.finding(&hid).unwrap().overdue_alerted, Some(t(3 * DAY)));
    assert!(
        b.take_overdue_alerts(t(3 * DAY + 60)).is_empty(),
        "once per deadline"
    );
    let due = b.take_overdue_alerts(t(5 * DAY));
    assert_eq!(due.len(), 1, "the low one at its own deadline");
    // The scanner now says critical: the deadline follows (one day from first found).
    let mut worse = low.clone();
    worse.severity = Severity::Critical;
    b.apply_scan(
        scan(
            Scanner::Csv,
            t(6 * DAY),
            vec![host("192.168.5.7", &[])],
            vec![high, worse],
        ),
        &d,
        t(6 * DAY),
    );
    let l = b.finding(&id_of(&low, Scanner::Csv)).unwrap();
    assert_eq!((l.severity, l.deadline), (Severity::Critical, t(DAY)));
}

fn alert(tags: &[&str], entities: &[(EntityKind, &str)]) -> Alert {
    Alert {
        id: AlertId::from_u128(7),
        time: t(0),
        created: t(0),
        rule: RuleRef {
            id: "log4j-rce".into(),
            title: "Log4j RCE attempt".into(),
            level: Severity::High,
            status: None,
            tags: tags.iter().map(|s| s.to_string()).collect(),
        },
        severity: Severity::High,
        event_ids: vec![EventId::from_u128(7)],
        entities: entities.iter().map(|(k, v)| Entity::new(*k, *v)).collect(),
        region: RegionCode::HENAN,
        matched: vec![],
        intel: None,
        anomaly: None,
        target: None,
        drill: None,
    }
}

#[test]
fn an_alert_target_carries_its_system_and_the_open_cves_its_tags_name() {
    let mut b = book();
    let d = Deadlines::default();
    let log4j = ["attack.initial-access", "cve.2021-44228"];
    // Nothing registered: no target, whatever the alert.
    let empty = AssetBook::default();
    assert!(
        empty
            .targets()
            .target_of(&alert(&log4j, &[(EntityKind::DestinationIp, "10.1.2.3")]))
            .is_none()
    );

    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &["web01"])],
            vec![log4shell()],
        ),
        &d,
        t(0),
    );
    let targets = b.targets();
    let hit = targets
        .target_of(&alert(
            &log4j,
            &[
                (EntityKind::SourceIp, "203.0.113.9"),
                (EntityKind::DestinationIp, "10.1.2.3"),
            ],
        ))
        .unwrap();
    assert_eq!(hit.value, "10.1.2.3");
    assert_eq!(hit.host.as_deref(), Some("web01"));
    assert_eq!(hit.system, "政务服务门户");
    assert_eq!(hit.department, "市大数据局");
    assert_eq!(hit.ops_unit, "运维中心");
    assert_eq!(
        (hit.level, hit.cii, hit.exposure),
        (Some(3), true, Exposure::Internet)
    );
    assert_eq!(hit.region, region(410100));
    assert_eq!(hit.open_cves, ["CVE-2021-44228"]);

    // The same host, an alert naming another CVE: the target, no CVE.
    let other = targets
        .target_of(&alert(
            &["cve.2017-5638"],
            &[(EntityKind::DestinationIp, "10.1.2.3")],
        ))
        .unwrap();
    assert!(other.open_cves.is_empty());
    // Another host of the portal's network, without the finding: the system, no CVE.
    let net = targets
        .target_of(&alert(&log4j, &[(EntityKind::DestinationIp, "10.1.77.8")]))
        .unwrap();
    assert_eq!(
        (net.system.as_str(), net.host.as_deref()),
        ("政务服务门户", None)
    );
    assert!(net.open_cves.is_empty());
    // By host name (the destination is not registered): the name's record's CVEs.
    let by_name = targets
        .target_of(&alert(
            &log4j,
            &[
                (EntityKind::DestinationIp, "198.51.100.1"),
                (EntityKind::Host, "WEB01.example.gov.cn"),
            ],
        ))
        .unwrap();
    assert_eq!(by_name.value, "WEB01.example.gov.cn");
    assert_eq!(by_name.open_cves, ["CVE-2021-44228"]);
    // The destination wins over the host.
    let both = targets
        .target_of(&alert(
            &log4j,
            &[
                (EntityKind::Host, "web01"),
                (EntityKind::DestinationIp, "192.168.5.7"),
            ],
        ))
        .unwrap();
    assert_eq!(both.system, "协同办公");
    // Nothing registered hit.
    assert!(
        targets
            .target_of(&alert(
                &log4j,
                &[
                    (EntityKind::DestinationIp, "8.8.8.8"),
                    (EntityKind::User, "web01")
                ]
            ))
            .is_none()
    );

    // Fixed by a re-scan: the next snapshot no longer has the CVE; the old one still does.
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(DAY),
            vec![host("10.1.2.3", &[])],
            vec![],
        ),
        &d,
        t(DAY),
    );
    let after = b
        .targets()
        .target_of(&alert(&log4j, &[(EntityKind::DestinationIp, "10.1.2.3")]))
        .unwrap();
    assert!(after.open_cves.is_empty());
    assert_eq!(
        targets
            .target_of(&alert(&log4j, &[(EntityKind::DestinationIp, "10.1.2.3")]))
            .unwrap()
            .open_cves,
        ["CVE-2021-44228"]
    );
}

#[test]
fn an_accepted_risk_does_not_weigh_until_it_runs_out() {
    let mut b = book();
    let d = Deadlines::default();
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &[])],
            vec![log4shell()],
        ),
        &d,
        t(0),
    );
    let id = id_of(&log4shell(), Scanner::Greenbone);
    let a = alert(
        &["cve.2021-44228"],
        &[(EntityKind::DestinationIp, "10.1.2.3")],
    );
    b.set_status(
        &id,
        StatusChange::RiskAccepted {
            reason: "not reachable".into(),
            until: t(5 * DAY),
        },
        "bob",
        t(DAY),
    )
    .unwrap();
    assert!(b.targets().target_of(&a).unwrap().open_cves.is_empty());
    b.expire(t(6 * DAY));
    assert_eq!(
        b.targets().target_of(&a).unwrap().open_cves,
        ["CVE-2021-44228"]
    );
}

#[test]
fn host_views_list_records_and_registered_hosts_within_the_filter() {
    let mut b = book();
    let d = Deadlines::default();
    let mut web = host("10.1.2.3", &["web01"]);
    web.ports = Some(vec![Service {
        port: 8080,
        protocol: "tcp".into(),
        name: Some("http".into()),
        product: Some("Apache Tomcat".into()),
        version: Some("9.0.31".into()),
    }]);
    b.apply_scan(
        scan(
            Scanner::Nmap,
            t(0),
            vec![web, host("172.16.0.9", &[])],
            vec![],
        ),
        &d,
        t(0),
    );
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &[])],
            vec![log4shell(), weak_tls()],
        ),
        &d,
        t(0),
    );
    let node = region(410000);
    let all = b.host_views(&HostFilter::default(), node, t(8 * DAY));
    let keys: Vec<&str> = all.iter().map(|h| h.key.as_str()).collect();
    // web01 is the record at 10.1.2.3, not a host of its own; oa01 has no record.
    assert_eq!(keys, ["10.1.2.3", "10.9.9.9", "172.16.0.9", "oa01"]);
    let web = &all[0];
    assert_eq!(web.system.as_ref().unwrap().name, "政务服务门户");
    assert_eq!(web.region, region(410100));
    assert_eq!(web.ports[0].port, 8080);
    let sev: Vec<Severity> = web.open_findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        sev,
        [Severity::Critical, Severity::Medium],
        "most severe first"
    );
    assert_eq!(web.overdue, 1);
    assert_eq!(web.last_scan, Some(t(0)));
    let stray = &all[2];
    assert!(stray.system.is_none());
    assert_eq!(stray.region, node);

    let keys = |f: HostFilter| -> Vec<String> {
        b.host_views(&f, node, t(DAY))
            .into_iter()
            .map(|h| h.key)
            .collect()
    };
    assert_eq!(
        keys(HostFilter {
            regions: Some(vec![region(410200)]),
            ..HostFilter::default()
        }),
        ["oa01"]
    );
    assert_eq!(
        keys(HostFilter {
            departments: Some(vec!["市大数据局".into(), "市档案馆".into()]),
            ..HostFilter::default()
        }),
        ["10.1.2.3", "10.9.9.9"],
        "a department scope hides hosts no system claims"
    );
    assert_eq!(
        keys(HostFilter {
            text: Some("tomcat".into()),
            ..HostFilter::default()
        }),
        ["10.1.2.3"]
    );
    assert_eq!(
        keys(HostFilter {
            text: Some("档案".into()),
            ..HostFilter::default()
        }),
        ["10.9.9.9"]
    );
    assert_eq!(
        keys(HostFilter {
            vulnerable: true,
            ..HostFilter::default()
        }),
        ["10.1.2.3"]
    );
    let registered: Vec<String> = b.registered_hosts().into_iter().map(|(k, _)| k).collect();
    assert_eq!(registered, ["10.1.2.3", "10.9.9.9", "oa01"]);
    assert_eq!(b.system_of("web01").unwrap().name, "政务服务门户");
    assert_eq!(b.system_of("192.168.5.200").unwrap().name, "协同办公");
    assert!(b.system_of("172.16.0.9").is_none());
}

#[test]
fn seen_hosts_give_unknown_and_silent_ones() {
    let b = book();
    let zz = region(410100);
    let kf = region(410200);
    let mut seen = Seen::new(100);
    // A fresh table: nothing silent, nothing unknown.
    let r = seen.report(&b, 24, t(0));
    assert!(r.silent.is_empty() && r.unknown.is_empty());

    seen.note("10.1.2.3", zz, SeenBy::Log, t(0));
    seen.note("172.16.0.9", zz, SeenBy::Flow, t(60));
    seen.note("10.1.44.5", zz, SeenBy::Flow, t(60)); // in the portal's network: registered
    seen.note("db07", kf, SeenBy::Log, t(120));
    seen.note("oa01", kf, SeenBy::Flow, t(3 * 3600)); // only in flows: still silent later
    // Collecting for less than the threshold: the never-seen are not silent yet.
    let r = seen.report(&b, 24, t(3600));
    let unknown: Vec<(&str, RegionCode, Option<&str>)> = r
        .unknown
        .iter()
        .map(|h| (h.address.as_str(), h.region, h.seen_by.as_deref()))
        .collect();
    assert_eq!(
        unknown,
        [("172.16.0.9", zz, Some("flow")), ("db07", kf, Some("log"))]
    );
    assert!(r.silent.is_empty());
    assert_eq!(r.silent_hours, 24);

    // A day and more later: 10.1.2.3 sent logs an hour ago; the archive and oa01 did not.
    seen.note("10.1.2.3", zz, SeenBy::Log, t(25 * 3600));
    let r = seen.report(&b, 24, t(26 * 3600));
    let silent: Vec<(&str, &str, Option<Timestamp>)> = r
        .silent
        .iter()
        .map(|h| {
            (
                h.address.as_str(),
                h.system.as_deref().unwrap(),
                h.last_seen,
            )
        })
        .collect();
    assert_eq!(
        silent,
        [("10.9.9.9", "档案系统", None), ("oa01", "协同办公", None)]
    );
    // Quiet for the threshold after sending logs: silent, with when it last did.
    let r = seen.report(&b, 24, t(50 * 3600));
    assert!(
        r.silent
            .iter()
            .any(|h| h.address == "10.1.2.3" && h.last_seen == Some(t(25 * 3600)))
    );

    // Serialized and back: the same report.
    let json = serde_json::to_string(&seen).unwrap();
    let back: Seen = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.report(&b, 24, t(50 * 3600)),
        seen.report(&b, 24, t(50 * 3600))
    );
    assert_eq!(back.since(), Some(t(0)));
}

#[test]
fn a_scanned_name_of_a_registered_address_is_not_unknown() {
    let mut b = book();
    b.apply_scan(
        scan(
            Scanner::Nmap,
            t(0),
            vec![host("10.9.9.9", &["arch01"])],
            vec![],
        ),
        &Deadlines::default(),
        t(0),
    );
    let mut seen = Seen::new(10);
    seen.note("arch01", region(410100), SeenBy::Log, t(0));
    let r = seen.report(&b, 1, t(1800));
    assert!(r.unknown.is_empty(), "{:?}", r.unknown);
    assert!(
        !r.silent.iter().any(|h| h.address == "10.9.9.9"),
        "its name sent logs"
    );
}

#[test]
fn the_seen_table_is_bounded_and_drops_the_least_recently_seen() {
    let mut seen = Seen::new(32);
    let zz = region(410100);
    for i in 0..32 {
        seen.note(&format!("10.0.0.{i}"), zz, SeenBy::Log, t(i));
    }
    seen.note("10.0.0.0", zz, SeenBy::Log, t(100)); // seen again: the newest now
    assert_eq!(seen.len(), 32);
    assert_eq!(seen.evicted(), 0);
    seen.note("10.0.1.1", zz, SeenBy::Flow, t(101));
    assert_eq!(seen.evicted(), 2, "a sixteenth of 32");
    assert_eq!(seen.len(), 31);
    assert!(seen.get("10.0.0.1").is_none() && seen.get("10.0.0.2").is_none());
    assert!(seen.get("10.0.0.0").is_some() && seen.get("10.0.0.3").is_some());
    // A log after a flow: counted as a log sender from then on.
    seen.note("10.0.1.1", zz, SeenBy::Log, t(102));
    let h = seen.get("10.0.1.1").unwrap();
    assert_eq!((h.by, h.last_log), (SeenBy::Log, Some(t(102))));
}

#[test]
fn the_rollup_counts_per_region_and_department() {
    let mut b = book();
    let d = Deadlines::default();
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![
                host("10.1.2.3", &["web01"]),
                host("192.168.5.7", &[]),
                host("172.16.0.9", &[]),
            ],
            vec![
                log4shell(),
                weak_tls(),
                finding("192.168.5.7", "CVE-2023-1111", Severity::High, &[]),
                finding("172.16.0.9", "CVE-2023-2222", Severity::Low, &[]),
            ],
        ),
        &d,
        t(0),
    );
    let mut seen = Seen::new(100);
    seen.note("10.1.2.3", region(410100), SeenBy::Log, t(0));
    seen.note("192.168.5.7", region(410200), SeenBy::Log, t(0));
    seen.note("172.16.0.9", region(410100), SeenBy::Log, t(0));
    seen.note("10.200.0.1", region(410100), SeenBy::Flow, t(0));
    let now = t(10 * DAY);
    let exposure = seen.report(&b, 24, now);
    let node = region(410000);
    let r = rollup(&b, &exposure, node, now);
    assert_eq!((r.region, r.at), (node, now));
    let keys: Vec<(u32, &str)> = r
        .rows
        .iter()
        .map(|x| (x.region.get(), x.department.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            (410000, ""),
            (410100, ""),
            (410100, "市大数据局"),
            (410100, "市档案馆"),
            (410200, "市教育局")
        ]
    );
    let row = |code: u32, dep: &str| {
        r.rows
            .iter()
            .find(|x| x.region.get() == code && x.department == dep)
            .unwrap()
    };
    // The finding on the unregistered 172.16.0.9: the node's region, no department.
    let stray = row(410000, "");
    assert_eq!(stray.open_findings, [0, 1, 0, 0, 0]);
    assert_eq!(stray.hosts, 0);
    // Unknown hosts where they were seen: 172.16.0.9 and 10.200.0.1.
    assert_eq!(row(410100, "").unknown_hosts, 2);
    let portal = row(410100, "市大数据局");
    assert_eq!(portal.systems_by_level, [0, 0, 0, 1, 0, 0]);
    assert_eq!(
        (portal.cii_systems, portal.internet_systems, portal.hosts),
        (1, 1, 1)
    );
    assert_eq!(portal.open_findings, [0, 0, 1, 0, 1], "medium and critical");
    assert_eq!(portal.overdue, 1, "the critical one, past 7 days");
    assert_eq!(portal.silent_hosts, 1, "quiet since day 0");
    let archive = row(410100, "市档案馆");
    assert_eq!(archive.systems_by_level, [1, 0, 0, 0, 0, 0]);
    assert_eq!((archive.hosts, archive.silent_hosts), (1, 1));
    let office = row(410200, "市教育局");
    assert_eq!(office.systems_by_level, [0, 0, 1, 0, 0, 0]);
    assert_eq!(
        office.hosts, 2,
        "192.168.5.7 scanned in its network, oa01 listed"
    );
    assert_eq!((office.open_findings[3], office.overdue), (1, 0));
    assert_eq!(office.silent_hosts, 2);
    assert_eq!(r.rows.iter().map(|x| x.hosts).sum::<u64>(), 4);
}

#[test]
fn a_book_restored_from_its_parts_answers_the_same() {
    let mut b = book();
    let d = Deadlines::default();
    b.apply_scan(
        scan(
            Scanner::Greenbone,
            t(0),
            vec![host("10.1.2.3", &["web01"])],
            vec![log4shell(), weak_tls()],
        ),
        &d,
        t(0),
    );
    let hosts: Vec<_> = b.hosts().cloned().collect();
    let findings: Vec<_> = b.findings().cloned().collect();
    let json = serde_json::to_string(&findings).unwrap();
    let findings: Vec<onewall_assets::Finding> = serde_json::from_str(&json).unwrap();
    let restored = AssetBook::new(b.registry().clone(), hosts, findings, t(DAY));
    let f = HostFilter::default();
    let node = region(410000);
    assert_eq!(
        restored.host_views(&f, node, t(DAY)),
        b.host_views(&f, node, t(DAY))
    );
    let a = alert(&["cve.2021-44228"], &[(EntityKind::Host, "web01")]);
    assert_eq!(restored.targets().target_of(&a), b.targets().target_of(&a));
    assert_eq!(
        restored.targets().target_of(&a).unwrap().open_cves,
        ["CVE-2021-44228"]
    );
}

#[test]
fn a_system_of_one_address_and_one_name_lists_one_host() {
    let b = book();
    // The portal lists 10.1.2.3 and web01 (and a network): one host, known by both.
    let web: Vec<_> = b
        .registered()
        .into_iter()
        .filter(|h| h.system.name == "政务服务门户")
        .map(|h| (h.key, h.names))
        .collect();
    assert_eq!(web, [("10.1.2.3".to_owned(), vec!["web01".to_owned()])]);
    let hit = b
        .targets()
        .target_of(&alert(&[], &[(EntityKind::DestinationIp, "10.1.2.3")]))
        .unwrap();
    assert_eq!(hit.host.as_deref(), Some("web01"));
    // A log from web01 by name keeps 10.1.2.3 from being silent.
    let mut seen = Seen::new(10);
    seen.note("10.9.9.9", region(410100), SeenBy::Log, t(0));
    seen.note("web01", region(410100), SeenBy::Log, t(20 * 3600));
    let r = seen.report(&b, 24, t(25 * 3600));
    let silent: Vec<&str> = r.silent.iter().map(|h| h.address.as_str()).collect();
    assert_eq!(silent, ["10.9.9.9", "oa01"]);
    assert!(
        r.silent
            .iter()
            .all(|h| h.address != "10.1.2.3" && h.address != "web01")
    );
    assert!(r.unknown.is_empty());
}

#[test]
fn a_host_logging_under_its_full_name_is_not_silent() {
    let b = book();
    let mut seen = Seen::new(10);
    seen.note("10.200.0.1", region(410100), SeenBy::Log, t(0));
    // The registry says oa01 and web01; the events say the fully qualified names.
    seen.note(
        "oa01.jyt.example.gov.cn",
        region(410200),
        SeenBy::Log,
        t(20 * 3600),
    );
    seen.note(
        "web01.example.gov.cn",
        region(410100),
        SeenBy::Log,
        t(20 * 3600),
    );
    let r = seen.report(&b, 24, t(25 * 3600));
    let silent: Vec<&str> = r.silent.iter().map(|h| h.address.as_str()).collect();
    assert_eq!(silent, ["10.9.9.9"]);
    let unknown: Vec<&str> = r.unknown.iter().map(|h| h.address.as_str()).collect();
    assert_eq!(
        unknown,
        ["10.200.0.1"],
        "the names are registered, by their short form"
    );
}

#[test]
fn removing_a_system_takes_its_hosts_out_of_targets_and_listings() {
    let mut b = book();
    let portal = System::id_of(region(410100), "政务服务门户");
    let a = alert(&[], &[(EntityKind::DestinationIp, "10.1.2.3")]);
    let before = b.targets();
    assert!(before.target_of(&a).is_some());
    assert_eq!(
        b.remove_system(&portal, t(DAY)).unwrap().name,
        "政务服务门户"
    );
    assert!(b.remove_system(&portal, t(DAY)).is_none());
    assert!(b.targets().target_of(&a).is_none());
    assert!(
        before.target_of(&a).is_some(),
        "a snapshot handed out stays as it was"
    );
    let registered: Vec<String> = b.registered_hosts().into_iter().map(|(k, _)| k).collect();
    assert_eq!(registered, ["10.9.9.9", "oa01"]);
    // Replacing the registry with the office system alone removes the archive too.
    let office: Vec<System> = registry()
        .into_iter()
        .filter(|s| s.name == "协同办公")
        .collect();
    let change = b.apply_registry(office, RegistryMode::Replace, t(DAY));
    assert_eq!((change.unchanged, change.removed), (1, 1));
    assert!(b.system_of("10.9.9.9").is_none());
}
