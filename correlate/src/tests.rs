use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Grade, Incident, IncidentId, IncidentStatus,
    RegionCode, RegionTree, RuleRef, Severity, TimelineEntry, TimelineKind, Timestamp,
};

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn alert(rule: &str, at: i64, sev: Severity, entities: &[(EntityKind, &str)]) -> Alert {
    let n = u128::from(SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: t(at),
        created: t(at),
        rule: RuleRef {
            id: rule.into(),
            title: format!("rule {rule}"),
            level: sev,
            status: None,
            tags: vec![],
        },
        severity: sev,
        event_ids: vec![EventId::from_u128(n)],
        entities: entities.iter().map(|(k, v)| Entity::new(*k, *v)).collect(),
        region: RegionCode::HENAN,
        matched: vec![],
        drill: None,
    }
}

fn host(h: &str) -> [(EntityKind, &str); 1] {
    [(EntityKind::Host, h)]
}

fn opened(c: &Update) -> &Incident {
    match c {
        Update::Opened(i) => i,
        other => panic!("expected Opened, got {other:?}"),
    }
}

fn extended(c: &Update) -> (IncidentId, usize, bool) {
    match c {
        Update::Extended {
            id, alerts, fresh, ..
        } => (*id, alerts.len(), *fresh),
        other => panic!("expected Extended, got {other:?}"),
    }
}

#[test]
fn alerts_sharing_an_entity_within_its_window_are_one_incident() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let batch = [
        alert("r1", 0, Severity::Medium, &host("web01")),
        alert("r2", 60, Severity::High, &host("web01")),
    ];
    let changes = c.updates(&batch, t(61));
    assert_eq!(changes.len(), 1);
    let inc = opened(&changes[0]);
    assert_eq!(inc.alert_ids.len(), 2, "two rules, one host: one incident");
    assert_eq!(
        inc.severity,
        Severity::High,
        "severity rises with its alerts"
    );
    assert_eq!(inc.title, "rule r1 on web01");
    assert_eq!((inc.first_seen, inc.last_seen), (t(0), t(60)));

    // Within 30 minutes of the last sighting: joins.
    let changes = c.updates(
        &[alert("r1", 60 + 1800, Severity::Low, &host("web01"))],
        t(1900),
    );
    assert_eq!(extended(&changes[0]), (inc.id, 1, true));
    // One second past the window: the stored incident is offered the alert as stale; an open
    // incident refuses it (see extend_incident tests).
    let changes = c.updates(
        &[alert("r1", 60 + 3601, Severity::Low, &host("web01"))],
        t(4000),
    );
    assert_eq!(extended(&changes[0]), (inc.id, 1, false));
    // Another host: its own incident.
    let other = c.updates(&[alert("r1", 3700, Severity::Low, &host("db01"))], t(4000));
    assert_ne!(opened(&other[0]).id, inc.id);
}

#[test]
fn windows_are_per_entity_kind() {
    let mut config = GroupingConfig::uniform(60);
    config.windows.insert(EntityKind::Hash, 24 * 3600);
    config.windows.insert(EntityKind::Process, 0);
    let mut c = Correlator::with_config(config);
    let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let first = opened(
        &c.updates(
            &[alert("av", 0, Severity::Low, &[(EntityKind::Hash, hash)])],
            t(0),
        )[0],
    )
    .id;
    // Ten hours later on another host, the same file: the hash window (a day) still links.
    let later = c.updates(
        &[alert(
            "av",
            36_000,
            Severity::Low,
            &[(EntityKind::Hash, hash), (EntityKind::Host, "pc9")],
        )],
        t(36_000),
    );
    assert_eq!(extended(&later[0]).0, first);
    // A process on its own (window 0) links nothing.
    let p1 = c.updates(
        &[alert(
            "p",
            0,
            Severity::Low,
            &[(EntityKind::Process, "sshd")],
        )],
        t(1),
    );
    let p2 = c.updates(
        &[alert(
            "p",
            1,
            Severity::Low,
            &[(EntityKind::Process, "sshd")],
        )],
        t(2),
    );
    assert_ne!(opened(&p1[0]).id, opened(&p2[0]).id);
}

#[test]
fn a_process_is_the_same_only_on_the_same_host() {
    let mut c = Correlator::with_config(GroupingConfig {
        windows: [(EntityKind::Process, 600)].into_iter().collect(),
        ..GroupingConfig::default()
    });
    let a = c.updates(
        &[alert(
            "p",
            0,
            Severity::Low,
            &[(EntityKind::Process, "nc"), (EntityKind::Host, "a")],
        )],
        t(0),
    );
    let b = c.updates(
        &[alert(
            "p",
            1,
            Severity::Low,
            &[(EntityKind::Process, "nc"), (EntityKind::Host, "b")],
        )],
        t(1),
    );
    assert!(matches!(&b[0], Update::Opened(_)), "{b:?}");
    let again = c.updates(
        &[alert(
            "p",
            2,
            Severity::Low,
            &[(EntityKind::Process, "nc"), (EntityKind::Host, "a")],
        )],
        t(2),
    );
    assert_eq!(extended(&again[0]).0, opened(&a[0]).id);
}

#[test]
fn linked_incidents_merge() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let attacker = (EntityKind::SourceIp, "203.0.113.9");
    // Within one batch: two incidents (by host) and an alert naming both hosts' entities.
    let changes = c.updates(
        &[
            alert("scan", 0, Severity::Low, &host("web01")),
            alert("scan", 1, Severity::Low, &[attacker]),
            alert(
                "login",
                2,
                Severity::High,
                &[attacker, (EntityKind::Host, "web01")],
            ),
        ],
        t(3),
    );
    assert_eq!(changes.len(), 1, "{changes:?}");
    let inc = opened(&changes[0]);
    assert_eq!(inc.alert_ids.len(), 3);
    assert!(
        inc.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::Merged { from: Some(_), .. }))
    );

    // Across batches: two stored incidents linked by a later alert.
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let a = opened(&c.updates(&[alert("scan", 0, Severity::Low, &host("web01"))], t(0))[0]).id;
    let b = opened(&c.updates(&[alert("scan", 1, Severity::Low, &[attacker])], t(1))[0]).id;
    let changes = c.updates(
        &[alert(
            "login",
            2,
            Severity::High,
            &[attacker, (EntityKind::Host, "web01")],
        )],
        t(2),
    );
    assert_eq!(extended(&changes[0]), (a, 1, true));
    assert_eq!(changes[1], Update::Merged { into: a, from: b });
    // From now on the attacker's alerts go to the survivor.
    let next = c.updates(&[alert("x", 3, Severity::Low, &[attacker])], t(3));
    assert_eq!(extended(&next[0]).0, a);
}

#[test]
fn merge_helpers_keep_every_evidence_alert() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let mut a = opened(&c.updates(&[alert("a", 0, Severity::Low, &host("h1"))], t(0))[0]).clone();
    let mut b = opened(&c.updates(&[alert("b", 5, Severity::High, &host("h2"))], t(5))[0]).clone();
    merge_incident(&mut a, &b, &RegionTree::builtin(), t(10));
    mark_merged(&mut b, a.id, t(10));
    assert_eq!(a.alert_ids.len(), 2);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.rule_ids, ["a", "b"]);
    assert_eq!(b.status, IncidentStatus::Closed);
    assert!(b.timeline.iter().any(|e| e.change
        == TimelineKind::Merged {
            from: None,
            into: Some(a.id)
        }));
}

#[test]
fn resolved_incidents_reopen_when_entities_recur_within_the_reopen_time() {
    let config = GroupingConfig {
        reopen_secs: 3600,
        ..GroupingConfig::default()
    };
    let mut c = Correlator::with_config(config.clone());
    let mut inc =
        opened(&c.updates(&[alert("r", 0, Severity::Low, &host("web01"))], t(0))[0]).clone();
    inc.set_status(IncidentStatus::Resolved, "alice", t(100))
        .unwrap();

    // Two hours of event time later (past the 30-minute window), 30 minutes after resolution.
    let changes = c.updates(&[alert("r", 7200, Severity::Low, &host("web01"))], t(1900));
    let Update::Extended { alerts, fresh, .. } = &changes[0] else {
        panic!("{changes:?}");
    };
    let mut reopened = inc.clone();
    extend_incident(&mut reopened, alerts, *fresh, &config, t(1900)).unwrap();
    assert_eq!(reopened.status, IncidentStatus::Investigating);
    assert_eq!(reopened.alert_ids.len(), 2);

    // Past the reopen time: refused, and the caller opens a new incident.
    let mut late = inc.clone();
    let err = extend_incident(&mut late, alerts, true, &config, t(100 + 3601)).unwrap_err();
    assert_eq!(err.status, IncidentStatus::Resolved);
    // Closed ones never reopen; open ones refuse stale alerts.
    let mut closed = inc.clone();
    closed
        .set_status(IncidentStatus::Closed, "alice", t(200))
        .unwrap();
    assert!(extend_incident(&mut closed, alerts, true, &config, t(300)).is_err());
    let mut open =
        opened(&c.updates(&[alert("q", 0, Severity::Low, &host("q1"))], t(0))[0]).clone();
    assert!(extend_incident(&mut open, alerts, false, &config, t(300)).is_err());
    assert!(extend_incident(&mut open, alerts, true, &config, t(300)).is_ok());

    // After forgetting, the alerts open a new incident.
    c.forget(&inc.group_key);
    let changes = c.updates(&[alert("r", 7300, Severity::Low, &host("web01"))], t(2000));
    assert_ne!(opened(&changes[0]).id, inc.id);
}

#[test]
fn tactics_raise_severity_as_an_attack_progresses() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let tagged = |rule: &str, at, tags: &[&str]| {
        let mut a = alert(rule, at, Severity::Low, &host("web01"));
        a.rule.tags = tags.iter().map(|s| s.to_string()).collect();
        a
    };
    let inc = opened(
        &c.updates(
            &[tagged(
                "brute",
                0,
                &["attack.credential_access", "gbt20986.NA.3"],
            )],
            t(0),
        )[0],
    )
    .clone();
    assert_eq!(inc.severity, Severity::Low);
    assert_eq!(inc.classification.category.as_deref(), Some("NA"));
    assert_eq!(inc.classification.subcategory.as_deref(), Some("NA.3"));
    assert_eq!(inc.classification.grade, Some(Grade::IV));
    let mut inc = inc;
    apply_alerts(
        &mut inc,
        &[tagged("sudo", 10, &["attack.privilege_escalation"])],
        t(10),
    );
    assert_eq!(inc.severity, Severity::Medium, "two tactics");
    apply_alerts(
        &mut inc,
        &[tagged("ssh-out", 20, &["attack.lateral_movement"])],
        t(20),
    );
    assert_eq!(inc.severity, Severity::High, "three tactics");
    assert_eq!(inc.classification.tactics.len(), 3);
    assert_eq!(
        inc.classification.grade,
        Some(Grade::III),
        "general asset, high impact"
    );
    assert!(
        inc.timeline
            .iter()
            .any(|e| matches!(e.change, TimelineKind::GradeChanged { to: Grade::III, .. }))
    );
}

#[test]
fn grading_policy() {
    let mut policy = GradingPolicy::default();
    policy.assets.insert("db01".into(), Importance::Critical);
    policy.assets.insert("web01".into(), Importance::Important);
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let mut inc =
        opened(&c.updates(&[alert("r", 0, Severity::High, &host("db01"))], t(0))[0]).clone();
    assert_eq!(
        policy.grade(&inc),
        Grade::I,
        "critical asset x high impact = 9"
    );
    inc.entities = vec![Entity::new(EntityKind::Host, "web01")];
    assert_eq!(policy.grade(&inc), Grade::II, "important x high = 6");
    inc.severity = Severity::Medium;
    assert_eq!(policy.grade(&inc), Grade::III, "important x medium = 4");
    inc.entities.clear();
    assert_eq!(policy.grade(&inc), Grade::IV, "general x medium = 2");
    inc.regions = vec![RegionCode::HENAN, RegionCode::HENAN];
    assert_eq!(policy.grade(&inc), Grade::III, "two regions raise one step");
    inc.regions = vec![RegionCode::HENAN; 4];
    assert_eq!(
        policy.grade(&inc),
        Grade::II,
        "four regions raise two steps"
    );
}

#[test]
fn resume_and_forget() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let inc = opened(&c.updates(&[alert("r1", 0, Severity::Low, &host("web01"))], t(0))[0]).clone();

    let mut after_restart = Correlator::new(DEFAULT_WINDOW_SECS);
    after_restart.resume([inc.clone()], t(5));
    let changes = after_restart.updates(&[alert("r1", 10, Severity::Low, &host("web01"))], t(10));
    assert_eq!(extended(&changes[0]).0, inc.id);

    after_restart.forget(&inc.group_key);
    let changes = after_restart.updates(&[alert("r1", 20, Severity::Low, &host("web01"))], t(20));
    assert_ne!(opened(&changes[0]).id, inc.id);

    let mut closed = inc.clone();
    closed.status = IncidentStatus::Closed;
    let mut c3 = Correlator::new(DEFAULT_WINDOW_SECS);
    c3.resume([closed], t(5));
    assert!(c3.is_empty(), "closed incidents are not resumed");
}

#[test]
fn apply_alerts_is_idempotent() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let a = alert("r1", 0, Severity::Low, &host("web01"));
    let mut inc = opened(&c.updates(std::slice::from_ref(&a), t(0))[0]).clone();
    let n = inc.timeline.len();
    apply_alerts(&mut inc, &[a], t(5));
    assert_eq!(inc.alert_ids.len(), 1);
    assert_eq!(inc.timeline.len(), n);
}

#[test]
fn a_long_attack_keeps_a_short_timeline_and_every_alert() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let first = alert("r1", 0, Severity::Low, &host("web01"));
    let mut inc = opened(&c.updates(std::slice::from_ref(&first), t(0))[0]).clone();
    // 200 batches of 50 alerts each, one of them replayed from the batch before.
    let mut all = vec![first.id];
    let mut previous: Option<Alert> = None;
    for batch in 0..200i64 {
        let mut alerts: Vec<Alert> = (0..50)
            .map(|_| alert("r1", batch, Severity::Low, &host("web01")))
            .collect();
        all.extend(alerts.iter().map(|a| a.id));
        if let Some(p) = previous.take() {
            alerts.push(p);
        }
        previous = alerts.first().cloned();
        extend_incident(
            &mut inc,
            &alerts,
            true,
            &GroupingConfig::default(),
            t(batch + 1),
        )
        .unwrap();
    }
    assert_eq!(inc.alert_ids, all, "every alert once, in order");
    let added: Vec<_> = inc
        .timeline
        .iter()
        .filter_map(|e| match &e.change {
            TimelineKind::AlertsAdded {
                count,
                until,
                sample,
            } => Some((e.at, *count, *until, sample.clone())),
            _ => None,
        })
        .collect();
    // One entry from the opening (the grade set then follows it), one for all the rest.
    assert_eq!(added.len(), 2, "{:?}", inc.timeline);
    assert_eq!(inc.timeline.len(), 4, "{:?}", inc.timeline);
    let (at, count, until, sample) = &added[1];
    assert_eq!(*count, 10_000);
    assert_eq!((*at, *until), (t(1), t(200)));
    assert_eq!(sample[..], all[1..=TIMELINE_SAMPLE]);

    // An analyst's change splits the run: later alerts get an entry after it.
    inc.timeline.push(TimelineEntry {
        at: t(300),
        actor: "alice".into(),
        change: TimelineKind::Comment {
            text: "looking".into(),
        },
    });
    let late = alert("r1", 301, Severity::Low, &host("web01"));
    extend_incident(
        &mut inc,
        std::slice::from_ref(&late),
        true,
        &GroupingConfig::default(),
        t(301),
    )
    .unwrap();
    match &inc.timeline.last().unwrap().change {
        TimelineKind::AlertsAdded { count, sample, .. } => {
            assert_eq!((*count, sample.as_slice()), (1, &[late.id][..]));
        }
        other => panic!("expected AlertsAdded last, got {other:?}"),
    }
}

#[test]
fn an_incident_over_several_regions_belongs_to_their_common_region() {
    let code = |c| RegionCode::new(c).unwrap();
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let ip = [(EntityKind::SourceIp, "203.0.113.9")];
    let mut county = alert("r1", 0, Severity::Low, &ip);
    county.region = code(410102);
    let mut inc = opened(&c.updates(std::slice::from_ref(&county), t(0))[0]).clone();
    assert_eq!(inc.region, code(410102));
    // Its own city: the city.
    let mut city = alert("r1", 1, Severity::Low, &ip);
    city.region = code(410100);
    apply_alerts(&mut inc, &[city], t(1));
    assert_eq!(inc.region, code(410100));
    // Another city: the province, so neither city's users see the other's evidence.
    let mut other = alert("r1", 2, Severity::Low, &ip);
    other.region = code(410200);
    apply_alerts(&mut inc, &[other], t(2));
    assert_eq!(inc.region, code(410000));
    assert_eq!(inc.regions, [code(410102), code(410100), code(410200)]);

    // A merge does the same.
    let mut a = opened(&c.updates(&[alert("r2", 0, Severity::Low, &host("a"))], t(0))[0]).clone();
    let mut b = opened(&c.updates(&[alert("r2", 0, Severity::Low, &host("b"))], t(0))[0]).clone();
    a.region = code(410100);
    b.region = code(419001);
    merge_incident(&mut a, &b, &RegionTree::builtin(), t(3));
    assert_eq!(a.region, code(410000));
}

#[test]
fn idle_links_are_dropped_by_the_callers_clock() {
    let mut c = Correlator::with_config(GroupingConfig {
        reopen_secs: 0,
        ..GroupingConfig::uniform(60)
    });
    c.updates(&[alert("r1", 0, Severity::Low, &host("web01"))], t(0));
    assert_eq!(c.len(), 1);
    c.updates(&[], t(100));
    assert_eq!(c.len(), 1, "touched within twice the window");
    c.updates(&[], t(1000));
    assert!(c.is_empty());
}

#[test]
fn a_sender_with_a_skewed_clock_still_groups() {
    // Events eight hours in the past (a device in another zone), arriving now.
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let now = t(8 * 3600);
    let first = opened(&c.updates(&[alert("r1", 0, Severity::Low, &host("fw"))], now)[0]).id;
    c.updates(&[alert("r2", 8 * 3600, Severity::Low, &host("web"))], now);
    let later = c.updates(
        &[alert("r1", 60, Severity::Low, &host("fw"))],
        now.add_secs(60),
    );
    assert_eq!(extended(&later[0]), (first, 1, true));
}

#[test]
fn a_stale_link_never_joins_an_incident_opened_in_the_same_batch() {
    // A device eight hours behind and one on time, same host, one batch: two incidents.
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let changes = c.updates(
        &[
            alert("ssh", 0, Severity::Medium, &host("vm")),
            alert("sudo", 8 * 3600, Severity::Medium, &host("vm")),
        ],
        t(8 * 3600),
    );
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().all(|c| matches!(c, Update::Opened(_))));
}

#[test]
fn alerts_after_a_stale_offer_in_the_same_batch_stay_stale() {
    let mut c = Correlator::new(DEFAULT_WINDOW_SECS);
    let first = opened(&c.updates(&[alert("ssh", 0, Severity::Low, &host("vm"))], t(0))[0]).id;
    // Two alerts eight hours later on the same host: both offered stale (for a reopen only).
    let changes = c.updates(
        &[
            alert("sudo", 8 * 3600, Severity::Low, &host("vm")),
            alert("sudo", 8 * 3600 + 1, Severity::Low, &host("vm")),
        ],
        t(8 * 3600),
    );
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(extended(&changes[0]), (first, 2, false));
}

#[test]
fn a_resolved_incident_resumed_after_a_restart_can_reopen() {
    let config = GroupingConfig::default();
    let mut c = Correlator::with_config(config.clone());
    let mut inc =
        opened(&c.updates(&[alert("r", 0, Severity::Low, &host("web01"))], t(0))[0]).clone();
    inc.set_status(IncidentStatus::Resolved, "alice", t(100))
        .unwrap();

    let mut after = Correlator::with_config(config.clone());
    after.resume([inc.clone()], t(200));
    let changes = after.updates(&[alert("r", 7200, Severity::Low, &host("web01"))], t(300));
    let Update::Extended {
        id, alerts, fresh, ..
    } = &changes[0]
    else {
        panic!("{changes:?}");
    };
    assert_eq!(*id, inc.id);
    extend_incident(&mut inc, alerts, *fresh, &config, t(300)).unwrap();
    assert_eq!(inc.status, IncidentStatus::Investigating);
}

#[test]
fn alerts_an_incident_holds_change_nothing_when_delivered_again() {
    let config = GroupingConfig::default();
    let mut c = Correlator::with_config(config.clone());
    let first = alert("ssh", 0, Severity::Low, &host("web01"));
    let second = alert("sudo", 10, Severity::High, &host("web01"));
    let mut inc = opened(&c.updates(std::slice::from_ref(&first), t(0))[0]).clone();
    extend_incident(
        &mut inc,
        std::slice::from_ref(&second),
        true,
        &config,
        t(20),
    )
    .unwrap();
    let held = inc.clone();
    // A replay delivers both again: fresh, stale, even after an analyst resolved it.
    extend_incident(
        &mut inc,
        &[first.clone(), second.clone()],
        true,
        &config,
        t(30),
    )
    .unwrap();
    assert_eq!(inc, held, "an open incident is unchanged");
    extend_incident(
        &mut inc,
        std::slice::from_ref(&second),
        false,
        &config,
        t(9000),
    )
    .unwrap();
    assert_eq!(inc, held, "a stale offer of held alerts is not refused");
    inc.set_status(IncidentStatus::Resolved, "alice", t(40))
        .unwrap();
    let resolved = inc.clone();
    extend_incident(&mut inc, std::slice::from_ref(&first), true, &config, t(50)).unwrap();
    assert_eq!(
        inc, resolved,
        "a resolved incident does not reopen for a held alert"
    );
    assert_eq!(inc.alert_ids, [first.id, second.id], "each counted once");
    // A new alert among them still reopens it, and only the new one is added.
    let third = alert("sudo", 60, Severity::High, &host("web01"));
    extend_incident(
        &mut inc,
        &[first.clone(), third.clone()],
        true,
        &config,
        t(60),
    )
    .unwrap();
    assert_eq!(inc.status, IncidentStatus::Investigating);
    assert_eq!(inc.alert_ids, [first.id, second.id, third.id]);
}
