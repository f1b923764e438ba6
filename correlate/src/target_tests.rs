//! Registered targets: importance from 等保 level and CII (the config map overriding),
//! exposure to the outside, the severity raised by an open CVE, and targets kept through
//! extension, merges, the store's JSON and a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use onewall_model::asset::{AlertTarget, Exposure};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Grade, Incident, RegionCode, RegionTree, RuleRef,
    Severity, TimelineKind, Timestamp,
};

use crate::grading::{is_outside, raise_one};
use crate::{
    Correlator, DEFAULT_WINDOW_SECS, GradingPolicy, GroupingConfig, Importance, MAX_TARGETS,
    Update, apply_alerts, extend_incident, merge_incident,
};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A registered target: `web01` at `addr` in system `sys`.
fn target(addr: &str, sys: &str, level: Option<u8>, cii: bool, exposure: Exposure) -> AlertTarget {
    AlertTarget {
        value: addr.into(),
        host: Some(format!("host-{addr}")),
        system_id: format!("id-{sys}"),
        system: sys.into(),
        region: RegionCode::HENAN,
        department: "大数据局".into(),
        ops_unit: "运维公司".into(),
        level,
        cii,
        exposure,
        open_cves: vec![],
    }
}

/// An alert from `src` against `dst`, with `tags` and the registry's target.
fn alert(
    at: i64,
    sev: Severity,
    src: &str,
    dst: &str,
    tags: &[&str],
    target: Option<AlertTarget>,
) -> Alert {
    let n = u128::from(SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    Alert {
        target,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: t(at),
        created: t(at),
        rule: RuleRef {
            id: "log4shell".into(),
            title: "Log4Shell".into(),
            level: sev,
            status: None,
            tags: tags.iter().map(|s| s.to_string()).collect(),
        },
        severity: sev,
        event_ids: vec![EventId::from_u128(n)],
        entities: vec![
            Entity::new(EntityKind::SourceIp, src),
            Entity::new(EntityKind::DestinationIp, dst),
        ],
        region: RegionCode::HENAN,
        matched: vec![],
        drill: None,
    }
}

fn opened(changes: &[Update]) -> Incident {
    match changes.first() {
        Some(Update::Opened(i)) => (**i).clone(),
        other => panic!("expected Opened, got {other:?}"),
    }
}

/// An incident from one alert, through the correlator.
fn incident_of(a: Alert) -> Incident {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    opened(&c.updates(&[a], t(1)))
}

fn vulnerable_entries(inc: &Incident) -> Vec<(String, String, String)> {
    inc.timeline
        .iter()
        .filter_map(|e| match &e.change {
            TimelineKind::TargetVulnerable {
                target,
                system,
                cve,
            } => Some((target.clone(), system.clone(), cve.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn importance_comes_from_level_and_cii_and_the_map_overrides_it() {
    let p = GradingPolicy::default();
    let inc = |t: AlertTarget| {
        incident_of(alert(
            0,
            Severity::Low,
            "10.0.0.1",
            &t.value.clone(),
            &[],
            Some(t),
        ))
    };
    let cii = inc(target(
        "10.1.0.1",
        "社保",
        Some(2),
        true,
        Exposure::Internal,
    ));
    let l3 = inc(target("10.1.0.2", "OA", Some(3), false, Exposure::Internal));
    let l2 = inc(target(
        "10.1.0.3",
        "门户",
        Some(2),
        false,
        Exposure::Internal,
    ));
    let none = inc(target("10.1.0.4", "测试", None, false, Exposure::Internal));
    assert_eq!(p.importance(&cii), Importance::Critical);
    assert_eq!(p.importance(&l3), Importance::Important);
    assert_eq!(p.importance(&l2), Importance::General);
    assert_eq!(p.importance(&none), Importance::General);

    // No target: the default.
    let bare = incident_of(alert(0, Severity::Low, "10.0.0.1", "10.9.9.9", &[], None));
    let important_default = GradingPolicy {
        default_importance: Importance::Important,
        ..GradingPolicy::default()
    };
    assert_eq!(important_default.importance(&bare), Importance::Important);
    // A registered target is not the default: it is what the registry says.
    assert_eq!(important_default.importance(&l2), Importance::General);

    // The map overrides the registry for the value (or host name) it names, both ways.
    let mut map = GradingPolicy::default();
    map.assets.insert("10.1.0.1".into(), Importance::General);
    map.assets
        .insert("host-10.1.0.3".into(), Importance::Critical);
    assert_eq!(map.importance(&cii), Importance::General);
    assert_eq!(map.importance(&l2), Importance::Critical);
    // ... and still names entities no registry knows.
    map.assets.insert("10.9.9.9".into(), Importance::Important);
    assert_eq!(map.importance(&bare), Importance::Important);
}

#[test]
fn grade_follows_the_registry() {
    // High severity (impact 3): general → 3 (Ⅲ), important → 6 (Ⅱ), critical → 9 (Ⅰ).
    let grade = |t: AlertTarget| {
        incident_of(alert(
            0,
            Severity::High,
            "10.0.0.1",
            "10.1.0.1",
            &[],
            Some(t),
        ))
        .classification
        .grade
    };
    let l2 = target("10.1.0.1", "门户", Some(2), false, Exposure::Internal);
    let l3 = target("10.1.0.1", "OA", Some(3), false, Exposure::Internal);
    let cii = target("10.1.0.1", "社保", Some(3), true, Exposure::Internal);
    assert_eq!(grade(l2), Some(Grade::III));
    assert_eq!(grade(l3), Some(Grade::II));
    assert_eq!(grade(cii), Some(Grade::I));
}

#[test]
fn outside_addresses() {
    for a in [
        "45.77.10.20",
        "8.8.8.8",
        "2400:3200::1",
        "::ffff:45.77.10.20",
    ] {
        assert!(is_outside(a), "{a} is outside");
    }
    for a in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "255.255.255.255",
        "203.0.113.9",
        "224.0.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "web01",
        "",
    ] {
        assert!(!is_outside(a), "{a} is not outside");
    }
    // Just past the CGNAT block is outside.
    assert!(is_outside("100.128.0.1"));
}

#[test]
fn an_attack_from_outside_on_an_internet_facing_host_grades_above_the_same_on_an_internal_one() {
    let p = GradingPolicy::default();
    let exposed = target("10.1.0.1", "门户", Some(2), false, Exposure::Internet);
    let internal = target("10.1.0.1", "门户", Some(2), false, Exposure::Internal);
    let outside_on_exposed = incident_of(alert(
        0,
        Severity::High,
        "45.77.10.20",
        "10.1.0.1",
        &[],
        Some(exposed.clone()),
    ));
    let outside_on_internal = incident_of(alert(
        0,
        Severity::High,
        "45.77.10.20",
        "10.1.0.1",
        &[],
        Some(internal),
    ));
    let inside_on_exposed = incident_of(alert(
        0,
        Severity::High,
        "10.20.0.5",
        "10.1.0.1",
        &[],
        Some(exposed),
    ));
    assert_eq!(p.weight(&outside_on_exposed), 2);
    assert_eq!(p.weight(&outside_on_internal), 1);
    assert_eq!(p.weight(&inside_on_exposed), 1);
    // Importance itself is the registry's; exposure weighs on the score.
    assert_eq!(p.importance(&outside_on_exposed), Importance::General);
    let g = |i: &Incident| i.classification.grade.unwrap();
    assert_eq!(g(&outside_on_exposed), Grade::II);
    assert_eq!(g(&outside_on_internal), Grade::III);
    assert_eq!(g(&inside_on_exposed), Grade::III);
    assert!(g(&outside_on_exposed) > g(&outside_on_internal));

    // A critical internet-facing system goes past the importance scale: weight 4.
    let cii = target("10.1.0.9", "社保", Some(3), true, Exposure::Internet);
    let inc = incident_of(alert(
        0,
        Severity::Medium,
        "45.77.10.20",
        "10.1.0.9",
        &[],
        Some(cii),
    ));
    assert_eq!(p.weight(&inc), 4);
    assert_eq!(inc.classification.grade, Some(Grade::II), "4 × 2 = 8");
}

#[test]
fn an_open_cve_on_the_target_raises_the_severity_once_and_says_so() {
    let mut vulnerable = target("10.1.0.1", "门户", Some(2), false, Exposure::Internal);
    vulnerable.open_cves = vec!["CVE-2021-44228".into()];
    let tags = ["attack.initial_access", "cve.2021-44228"];
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let first = alert(
        0,
        Severity::Medium,
        "10.0.0.1",
        "10.1.0.1",
        &tags,
        Some(vulnerable.clone()),
    );
    let inc = opened(&c.updates(&[first], t(1)));
    assert_eq!(inc.severity, Severity::High, "medium → high");
    assert_eq!(
        vulnerable_entries(&inc),
        [(
            "host-10.1.0.1".to_string(),
            "门户".to_string(),
            "CVE-2021-44228".to_string()
        )]
    );
    // The note comes before the severity change, and the grade follows (1 × 3: Ⅲ).
    let pos = |f: &dyn Fn(&TimelineKind) -> bool| inc.timeline.iter().position(|e| f(&e.change));
    let note = pos(&|k| matches!(k, TimelineKind::TargetVulnerable { .. })).unwrap();
    let raised = pos(&|k| {
        matches!(
            k,
            TimelineKind::SeverityChanged {
                from: Severity::Medium,
                to: Severity::High
            }
        )
    })
    .unwrap();
    assert!(note < raised);
    assert_eq!(inc.classification.grade, Some(Grade::III));
    assert_eq!(inc.targets[0].open_cves, ["CVE-2021-44228"]);

    // Again, as a high alert on the stored incident: critical, and still one note.
    let mut stored = inc.clone();
    let again = alert(
        5,
        Severity::High,
        "10.0.0.1",
        "10.1.0.1",
        &tags,
        Some(vulnerable),
    );
    let cfg = GroupingConfig::default();
    extend_incident(&mut stored, &[again], true, &cfg, t(6)).unwrap();
    assert_eq!(stored.severity, Severity::Critical, "high → critical");
    assert_eq!(
        vulnerable_entries(&stored).len(),
        1,
        "once per target and CVE"
    );
    assert_eq!(stored.targets.len(), 1);

    // A critical alert stays critical.
    assert_eq!(raise_one(Severity::Critical), Severity::Critical);
    assert_eq!(raise_one(Severity::Low), Severity::Medium);
}

#[test]
fn the_same_alert_against_a_host_without_the_cve_is_not_raised() {
    let clean = target("10.1.0.2", "OA", Some(2), false, Exposure::Internal);
    let inc = incident_of(alert(
        0,
        Severity::Medium,
        "10.0.0.1",
        "10.1.0.2",
        &["cve.2021-44228"],
        Some(clean),
    ));
    assert_eq!(inc.severity, Severity::Medium);
    assert!(vulnerable_entries(&inc).is_empty());
    assert!(
        !inc.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::SeverityChanged { .. }))
    );
    assert_eq!(inc.targets.len(), 1, "the target is still named");
    assert_eq!(inc.targets[0].department, "大数据局");
}

#[test]
fn an_incident_already_above_still_gets_the_note_without_a_severity_change() {
    let mut inc = incident_of(alert(
        0,
        Severity::Critical,
        "10.0.0.1",
        "10.1.0.3",
        &[],
        None,
    ));
    let mut v = target("10.1.0.3", "门户", Some(2), false, Exposure::Internal);
    v.open_cves = vec!["CVE-2021-44228".into(), "CVE-2021-45046".into()];
    apply_alerts(
        &mut inc,
        &[alert(
            2,
            Severity::Low,
            "10.0.0.1",
            "10.1.0.3",
            &[],
            Some(v),
        )],
        t(3),
    );
    assert_eq!(inc.severity, Severity::Critical);
    assert_eq!(vulnerable_entries(&inc).len(), 2, "one per CVE");
    assert!(
        !inc.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::SeverityChanged { .. }))
    );
}

#[test]
fn targets_are_one_per_system_and_value_merged_and_bounded() {
    let mut a = target("10.1.0.1", "门户", Some(2), false, Exposure::Internal);
    a.open_cves = vec!["CVE-2021-44228".into()];
    let mut inc = incident_of(alert(
        0,
        Severity::Low,
        "10.0.0.1",
        "10.1.0.1",
        &[],
        Some(a.clone()),
    ));
    // The same target, the registry now saying level 3 and another CVE open.
    let mut a2 = a.clone();
    a2.level = Some(3);
    a2.open_cves = vec!["CVE-2021-45046".into()];
    apply_alerts(
        &mut inc,
        &[alert(
            1,
            Severity::Low,
            "10.0.0.1",
            "10.1.0.1",
            &[],
            Some(a2),
        )],
        t(2),
    );
    assert_eq!(inc.targets.len(), 1);
    assert_eq!(inc.targets[0].level, Some(3));
    assert_eq!(
        inc.targets[0].open_cves,
        ["CVE-2021-44228", "CVE-2021-45046"]
    );
    // The same address in another system is another target.
    let other = target("10.1.0.1", "OA", Some(2), false, Exposure::Internal);
    apply_alerts(
        &mut inc,
        &[alert(
            2,
            Severity::Low,
            "10.0.0.1",
            "10.1.0.1",
            &[],
            Some(other),
        )],
        t(3),
    );
    assert_eq!(inc.targets.len(), 2);

    // A wide sweep keeps the first MAX_TARGETS.
    let sweep: Vec<Alert> = (0..100)
        .map(|i| {
            let addr = format!("10.2.0.{i}");
            let tg = target(&addr, &format!("s{i}"), Some(1), false, Exposure::Internal);
            alert(3, Severity::Low, "10.0.0.1", &addr, &[], Some(tg))
        })
        .collect();
    apply_alerts(&mut inc, &sweep, t(4));
    assert_eq!(inc.targets.len(), MAX_TARGETS);
    assert_eq!(inc.alert_ids.len(), 103);
}

#[test]
fn targets_survive_merges_the_stored_json_and_a_restart() {
    let cii = target("10.1.0.9", "社保", Some(3), true, Exposure::Internal);
    let l2 = target("10.1.0.2", "OA", Some(2), false, Exposure::Internal);
    let mut into = incident_of(alert(
        0,
        Severity::Medium,
        "10.0.0.1",
        "10.1.0.2",
        &[],
        Some(l2),
    ));
    let from = incident_of(alert(
        1,
        Severity::Medium,
        "10.0.0.7",
        "10.1.0.9",
        &[],
        Some(cii),
    ));
    merge_incident(&mut into, &from, &RegionTree::builtin(), t(2));
    crate::grade(&mut into, &GroupingConfig::default(), t(2));
    assert_eq!(into.targets.len(), 2);
    assert_eq!(
        GradingPolicy::default().importance(&into),
        Importance::Critical
    );
    assert_eq!(into.classification.grade, Some(Grade::II), "3 × 2 = 6");

    // What the store keeps is the incident's JSON.
    let json = serde_json::to_string(&into).unwrap();
    let back: Incident = serde_json::from_str(&json).unwrap();
    assert_eq!(back.targets, into.targets);

    // After a restart the correlator resumes from the stored incident: a new alert on the
    // same address extends it, and the stored targets stay with the new one added.
    let mut after = Correlator::new(DEFAULT_WINDOW_SECS);
    after.resume([back.clone()], t(10));
    let l1 = target("10.1.0.3", "门户", Some(1), false, Exposure::Internal);
    let mut next = alert(20, Severity::Low, "10.0.0.1", "10.1.0.3", &[], Some(l1));
    next.entities
        .push(Entity::new(EntityKind::DestinationIp, "10.1.0.2"));
    let changes = after.updates(std::slice::from_ref(&next), t(21));
    let Some(Update::Extended {
        id, alerts, fresh, ..
    }) = changes.first()
    else {
        panic!("{changes:?}");
    };
    assert_eq!(*id, back.id);
    let mut stored = back;
    extend_incident(
        &mut stored,
        alerts,
        *fresh,
        &GroupingConfig::default(),
        t(21),
    )
    .unwrap();
    let systems: Vec<&str> = stored.targets.iter().map(|t| t.system.as_str()).collect();
    assert_eq!(systems, ["OA", "社保", "门户"]);
}

proptest::proptest! {
    /// Whatever text an entity holds, judging it never panics, and an address judged outside
    /// is one that parses.
    #[test]
    fn any_text_is_judged_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let text = String::from_utf8_lossy(&bytes);
        if is_outside(&text) {
            proptest::prop_assert!(text.trim().parse::<std::net::IpAddr>().is_ok());
        }
    }

    /// Any IPv4 address: outside exactly when it is none of the special ranges, and the same
    /// as its IPv4-mapped IPv6 form.
    #[test]
    fn mapped_addresses_judge_as_their_ipv4(a in proptest::num::u32::ANY) {
        let v4 = std::net::Ipv4Addr::from(a);
        proptest::prop_assert_eq!(is_outside(&v4.to_string()), is_outside(&v4.to_ipv6_mapped().to_string()));
        if v4.is_private() || v4.is_loopback() || (a >> 22) == (100 << 2 | 1) {
            proptest::prop_assert!(!is_outside(&v4.to_string()));
        }
    }
}
