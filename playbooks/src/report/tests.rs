use onewall_model::{
    AlertId, Entity, EntityKind, Grade, IncidentId, IncidentStatus, RuleRef, Severity,
    TimelineEntry,
};

use super::*;

fn code(s: &str) -> RegionCode {
    s.parse().unwrap()
}

fn beijing() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

/// 2026-11-28 08:00 +08:00.
fn report_time() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap()
}

fn incident(n: u128, region: &str, severity: Severity, created: Timestamp) -> Incident {
    Incident {
        targets: Vec::new(),
        id: IncidentId::from_u128(n),
        title: format!("incident {n}"),
        status: IncidentStatus::New,
        severity,
        group_key: format!("g{n}"),
        region: code(region),
        regions: vec![code(region)],
        assignee: None,
        team: None,
        entities: vec![Entity::new(EntityKind::Host, "web01")],
        alert_ids: vec![AlertId::from_u128(n)],
        rule_ids: vec!["r1".into()],
        first_seen: created,
        last_seen: created,
        created,
        updated: created,
        parent: None,
        children: Vec::new(),
        classification: Default::default(),
        timeline: vec![TimelineEntry {
            at: created,
            actor: "correlator".into(),
            change: TimelineKind::Created,
        }],
        drill: None,
    }
}

fn alert(n: u128, region: &str, rule: &str, created: Timestamp) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: created,
        created,
        rule: RuleRef {
            id: rule.into(),
            title: format!("rule {rule}"),
            level: Severity::High,
            status: None,
            tags: vec![],
        },
        severity: Severity::High,
        event_ids: vec![],
        entities: vec![],
        region: code(region),
        matched: vec![],
        drill: None,
    }
}

fn input<'a>(
    tree: &'a RegionTree,
    region: &str,
    incidents: &'a [Incident],
    alerts: &'a [Alert],
    sources: &'a [SourceSeen],
) -> ReportInput<'a> {
    ReportInput {
        region: code(region),
        tree,
        from: report_time().add_secs(-86_400),
        to: report_time(),
        offset: beijing(),
        incidents,
        alerts,
        sources,
        silent_hours: 24,
        top_rules: 3,
    }
}

#[test]
fn quiet_day_says_zero_report() {
    let tree = RegionTree::builtin();
    // An old incident, still open, and an active source: still a zero report.
    let old = [incident(
        1,
        "410100",
        Severity::High,
        report_time().add_secs(-3 * 86_400),
    )];
    let sources = [SourceSeen {
        key: "syslog_udp 10.0.0.1".into(),
        region: code("410100"),
        last_seen: report_time().add_secs(-600),
    }];
    let r = build(&input(&tree, "410100", &old, &[], &sources));
    assert!(r.is_zero());
    assert_eq!(r.date, "2026-11-28");
    assert_eq!(r.from_local, "2026-11-27 08:00");
    assert_eq!(r.to_local, "2026-11-28 08:00");
    assert_eq!(r.still_open, 1);
    let text = r.text();
    assert!(text.contains(ZERO_LINE), "{text}");
    assert!(text.contains("郑州市(410100)"), "{text}");
    assert!(
        text.contains("静默数据源 (超过 24 小时无数据): 无"),
        "{text}"
    );
    assert!(r.title().ends_with("2026-11-28 零报告"), "{}", r.title());
}

#[test]
fn busy_day_counts_by_grade_region_and_rule() {
    let tree = RegionTree::builtin();
    let t = |h: i64| report_time().add_secs(-h * 3600);
    let mut closed = incident(4, "410100", Severity::Medium, t(30));
    closed
        .set_status(IncidentStatus::Resolved, "analyst", t(2))
        .unwrap();
    let mut closed_earlier = incident(5, "410100", Severity::Medium, t(60));
    closed_earlier
        .set_status(IncidentStatus::Closed, "analyst", t(40))
        .unwrap();
    let incidents = vec![
        incident(1, "410100", Severity::Critical, t(1)),
        incident(2, "410100", Severity::High, t(5)),
        incident(3, "410100", Severity::High, t(23)),
        closed,
        closed_earlier,
        // Out of the region, and outside the period: not counted.
        incident(6, "410200", Severity::Critical, t(3)),
        incident(7, "410100", Severity::Critical, t(25)),
        // Exactly at the report time belongs to the next day.
        incident(8, "410100", Severity::Low, report_time()),
        // The same incident twice is counted once.
        incident(1, "410100", Severity::Critical, t(1)),
    ];
    let alerts = vec![
        alert(1, "410100", "ssh-brute", t(1)),
        alert(2, "410100", "ssh-brute", t(2)),
        alert(3, "410100", "ssh-brute", t(3)),
        alert(4, "410100", "web-scan", t(4)),
        alert(5, "410100", "web-scan", t(5)),
        alert(6, "410100", "dns-tunnel", t(6)),
        alert(7, "410100", "a-rare", t(7)),
        alert(8, "410200", "ssh-brute", t(1)),
        alert(9, "410100", "ssh-brute", t(30)),
    ];
    let sources = vec![
        SourceSeen {
            key: "syslog_udp 10.0.0.1".into(),
            region: code("410100"),
            last_seen: t(1),
        },
        SourceSeen {
            key: "syslog_tcp 10.0.0.2".into(),
            region: code("410100"),
            last_seen: t(30),
        },
        SourceSeen {
            key: "http 10.0.0.3".into(),
            region: code("410200"),
            last_seen: t(50),
        },
    ];
    let r = build(&input(&tree, "410100", &incidents, &alerts, &sources));
    assert!(!r.is_zero());
    assert_eq!(r.opened[&Grade::I], 1);
    assert_eq!(r.opened[&Grade::II], 2);
    assert_eq!(r.opened[&Grade::III], 0);
    assert_eq!(r.opened[&Grade::IV], 0);
    assert_eq!(r.opened_total(), 3);
    assert_eq!(r.closed[&Grade::III], 1);
    assert_eq!(r.closed_total(), 1);
    // 1, 2, 3 and 7 are open; 8 was created at the report time, after the period.
    assert_eq!(r.still_open, 4);
    assert_eq!(r.alerts, 7);
    let top: Vec<_> = r
        .top_rules
        .iter()
        .map(|x| (x.id.as_str(), x.alerts))
        .collect();
    assert_eq!(top, [("ssh-brute", 3), ("web-scan", 2), ("a-rare", 1)]);
    assert_eq!(r.silent_sources.len(), 1);
    assert_eq!(r.silent_sources[0].key, "syslog_tcp 10.0.0.2");
    assert_eq!(r.silent_sources[0].silent_hours, 30);
    let text = r.text();
    assert!(!text.contains("零报告"), "{text}");
    assert!(
        text.contains("新增事件: 3 (Ⅰ级 1, Ⅱ级 2, Ⅲ级 0, Ⅳ级 0)"),
        "{text}"
    );
    assert!(
        text.contains("完结事件: 1 (Ⅰ级 0, Ⅱ级 0, Ⅲ级 1, Ⅳ级 0)"),
        "{text}"
    );
    assert!(text.contains("1. rule ssh-brute (ssh-brute): 3"), "{text}");
    assert!(text.contains("syslog_tcp 10.0.0.2 [410100]"), "{text}");

    // The province report sees both cities.
    let p = build(&input(&tree, "410000", &incidents, &alerts, &sources));
    assert_eq!(p.opened[&Grade::I], 2);
    assert_eq!(p.alerts, 8);
    assert_eq!(p.silent_sources.len(), 2);
}

#[test]
fn schedule_finds_the_last_and_next_run_in_beijing_time() {
    let s = Schedule::parse("08:00", beijing()).unwrap();
    // 2026-11-28 07:59 +08:00 → the last run was 2026-11-27 08:00 +08:00.
    let before = Timestamp::parse_rfc3339("2026-11-27T23:59:00Z").unwrap();
    assert_eq!(
        s.last_due(before),
        Timestamp::parse_rfc3339("2026-11-27T00:00:00Z").unwrap()
    );
    assert_eq!(s.next_after(before), report_time());
    // Exactly at the time: due now.
    assert_eq!(s.last_due(report_time()), report_time());
    assert_eq!(s.next_after(report_time()), report_time().add_secs(86_400));
    assert!(Schedule::parse("8:00", beijing()).is_err());
    assert!(Schedule::parse("24:00", beijing()).is_err());
    assert_eq!(
        Schedule::parse("23:59:30", UtcOffset::UTC).unwrap().at_secs,
        86_370
    );
}

#[test]
fn exposure_is_counted_and_listed_per_region() {
    let tree = RegionTree::builtin();
    let host = |addr: &str, region: &str, system: Option<&str>| ExposedHost {
        address: addr.into(),
        host: None,
        system: system.map(str::to_owned),
        region: code(region),
        last_seen: Some(report_time().add_secs(-3600)),
        seen_by: Some("log".into()),
    };
    let mut unknown: Vec<ExposedHost> = (0..25)
        .map(|i| host(&format!("10.0.0.{i}"), "410100", None))
        .collect();
    unknown.push(host("10.9.9.9", "410200", None));
    let e = ExposureReport {
        at: Some(report_time()),
        unknown,
        silent: vec![host("10.1.1.1", "410100", Some("门户网站"))],
        silent_hours: 24,
    };
    let mut r = build(&input(&tree, "410100", &[], &[], &[]));
    assert!(r.exposure.is_none(), "none without assets");
    assert!(!r.text().contains("未登记资产"));
    r.exposure = Some(ReportExposure::of(&e, code("410100"), &tree));
    let x = r.exposure.as_ref().unwrap();
    assert_eq!((x.unknown, x.silent), (25, 1), "only Zhengzhou's");
    assert_eq!(x.unknown_hosts.len(), EXPOSURE_LISTED);
    let text = r.text();
    assert!(
        text.contains("未登记资产: 25\n  - 10.0.0.0 [410100]"),
        "{text}"
    );
    assert!(
        text.contains("静默资产 (超过 24 小时无数据): 1\n  - 10.1.1.1 系统 门户网站"),
        "{text}"
    );
    assert!(!text.contains("10.9.9.9"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["exposure"]["unknown"], 25);
}

#[test]
fn a_day_of_drill_alerts_and_incidents_is_still_a_zero_report() {
    let tree = RegionTree::builtin();
    let drill = onewall_model::id::DrillId::from_u128(42);
    let mut inc = incident(7, "410100", Severity::High, report_time().add_secs(-3_600));
    inc.drill = Some(drill);
    let mut a = alert(8, "410100", "ssh-brute", report_time().add_secs(-3_600));
    a.drill = Some(onewall_model::supervise::DrillMark {
        drill,
        action: Some("brute".into()),
    });
    let real = alert(9, "410100", "web-scan", report_time().add_secs(-600));
    let r = build(&input(&tree, "410100", &[inc], &[a.clone()], &[]));
    assert!(r.is_zero(), "drills are not incidents: {}", r.text());
    assert_eq!(r.opened_total(), 0);
    // A real alert beside the drill's is counted, the drill's is not.
    let r = build(&input(&tree, "410100", &[], &[a, real], &[]));
    assert_eq!(r.alerts, 1);
    assert_eq!(r.top_rules.len(), 1);
    assert_eq!(r.top_rules[0].id, "web-scan");
}
