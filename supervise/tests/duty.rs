//! Duty between a province and its cities: shifts checked and sent up as rosters, who is on
//! duty on each level, the alert of a region in a 重保 period with nobody on duty (once per
//! region and hour, across restarts), handovers that list the open incidents and pending
//! bulletins and are signed by someone else.

mod periods_node;

use onewall_model::supervise::{DutyRole, OnDuty, StepKind};
use onewall_model::{IncidentStatus, Severity, Timestamp};
use onewall_store::Store;
use onewall_supervise::SuperviseError;
use onewall_supervise::bulletins::{NewBulletin, To};
use onewall_supervise::duty::{DUTY_MISSING_RULE_ID, NewHandover, NewShift};
use onewall_supervise::period::NewPeriod;
use periods_node::{HENAN, LUOYANG, Node, ZHENGZHOU, code, minute_now, pump};

fn person(name: &str, phone: &str, email: &str, role: DutyRole) -> OnDuty {
    OnDuty {
        name: name.into(),
        user: None,
        phone: phone.into(),
        email: email.into(),
        role,
    }
}

fn shift(region: u32, start: Timestamp, hours: i64) -> NewShift {
    NewShift {
        region: code(region),
        start,
        end: start.add_secs(hours * 3600),
        people: vec![
            person("李四", "", "lisi@ly.example.cn", DutyRole::Member),
            person("张三", "13800000001", "", DutyRole::Leader),
        ],
        note: "白班".into(),
    }
}

fn pair(root: &std::path::Path) -> (Node, Node) {
    (
        Node::new(root, "province", HENAN, &[ZHENGZHOU, LUOYANG], false),
        Node::new(root, "luoyang", LUOYANG, &[], true),
    )
}

#[tokio::test]
async fn shifts_go_up_as_rosters_and_both_levels_see_who_is_on_duty() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut province, ly) = pair(tmp.path());
    let now = minute_now();
    let wang = ly.user("wang");
    let day = ly
        .sup
        .add_shift(&wang, shift(LUOYANG, now.add_secs(-3600), 8))
        .await
        .expect("day shift");
    let night = ly
        .sup
        .add_shift(&wang, shift(LUOYANG, now.add_secs(7 * 3600), 12))
        .await
        .expect("night shift");
    assert_eq!(pump(&province, &ly).await, (0, 2), "one roster per change");

    let here = ly.sup.on_duty(code(LUOYANG), now);
    let names: Vec<_> = here.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["张三", "李四"], "leader first");
    assert_eq!(province.sup.on_duty(code(LUOYANG), now), here);
    assert!(province.sup.on_duty(code(HENAN), now).is_empty());
    assert!(
        province
            .sup
            .on_duty(code(LUOYANG), now.add_secs(-3601))
            .is_empty()
    );
    let held = province.sup.shifts(
        &[code(LUOYANG)],
        now.add_secs(-86_400),
        now.add_secs(86_400),
    );
    assert_eq!(
        held.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![day.id, night.id]
    );
    assert!(
        province
            .sup
            .shifts(&[code(ZHENGZHOU)], now, now.add_secs(86_400))
            .is_empty()
    );
    assert_eq!(
        province
            .sup
            .shifts(&[], now.add_secs(8 * 3600), now.add_secs(9 * 3600))
            .len(),
        1,
        "only the night shift overlaps"
    );

    // Removing the day shift in Luoyang removes it at the province too.
    ly.sup.remove_shift(&wang, day.id).await.expect("remove");
    pump(&province, &ly).await;
    assert!(province.sup.on_duty(code(LUOYANG), now).is_empty());
    assert_eq!(
        province
            .sup
            .on_duty(code(LUOYANG), now.add_secs(8 * 3600))
            .len(),
        2
    );
    province.restart();
    assert_eq!(
        province
            .sup
            .shifts(&[code(LUOYANG)], now, now.add_secs(86_400))
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![night.id],
        "the roster survives a restart"
    );
    assert_eq!(ly.audited("duty.shift").len(), 2);
    assert_eq!(ly.audited("duty.shift.remove").len(), 1);
    assert!(matches!(
        ly.sup.remove_shift(&wang, day.id).await,
        Err(SuperviseError::NotFound(_))
    ));
    // A roster from a child may speak only for its own region.
    let err = province
        .sup
        .receive_roster(code(LUOYANG), code(ZHENGZHOU), Vec::new())
        .await
        .expect_err("another city's roster");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
}

#[tokio::test]
async fn a_bad_shift_is_refused_with_every_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_province, ly) = pair(tmp.path());
    let now = minute_now();
    let mut bad = shift(ZHENGZHOU, now, 24 * 40);
    bad.people.push(person("王五", " ", "", DutyRole::Member));
    bad.people.push(person("", "110", "", DutyRole::Member));
    let msg = ly
        .sup
        .add_shift(&ly.user("wang"), bad)
        .await
        .expect_err("refused")
        .to_string();
    for part in [
        "region: 410100 is not within this node's region 410300",
        "end: a shift lasts at most 31 days",
        "people[2]: a phone or an email is needed",
        "people[3].name: must not be empty",
    ] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
    let mut empty = shift(LUOYANG, now, 8);
    empty.people.clear();
    empty.end = now;
    let msg = ly
        .sup
        .add_shift(&ly.user("wang"), empty)
        .await
        .expect_err("refused")
        .to_string();
    assert!(msg.contains("end: must be after start") && msg.contains("at least one person"));
    assert!(ly.audited("duty.shift").is_empty());
    assert_eq!(ly.courier.ups(), 0, "nothing refused goes up");
}

#[tokio::test]
async fn nobody_on_duty_in_a_period_raises_one_alert_per_region_and_hour() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut province, ly) = pair(tmp.path());
    let now = minute_now();
    let p = province
        .sup
        .declare_period(
            &province.user("admin"),
            NewPeriod {
                name: "牡丹文化节".into(),
                regions: vec![code(LUOYANG)],
                start: now.add_secs(-600),
                end: now.add_secs(86_400),
                sla_factor: None,
                report_every_mins: None,
                grace_mins: None,
            },
        )
        .await
        .expect("declare");
    pump(&province, &ly).await;
    // Nobody is on duty anywhere: the province answers for its own region (it holds the
    // period's region) and for Luoyang; Zhengzhou is not in scope.
    let alerts = province.sup.check_duty(now).await.expect("check");
    let mut regions: Vec<_> = alerts.iter().map(|a| a.region).collect();
    regions.sort();
    assert_eq!(regions, vec![code(HENAN), code(LUOYANG)]);
    for a in &alerts {
        assert_eq!(a.rule.id, DUTY_MISSING_RULE_ID);
        assert_eq!(a.severity, Severity::High);
        assert!(a.rule.title.contains("无人值班") && a.rule.title.contains("牡丹文化节"));
    }
    assert!(
        province
            .sup
            .check_duty(now.add_secs(59))
            .await
            .expect("again")
            .is_empty()
    );
    let own = ly.sup.check_duty(now).await.expect("city");
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].region, code(LUOYANG));
    assert_eq!(
        own[0].id,
        alerts
            .iter()
            .find(|a| a.region == code(LUOYANG))
            .expect("ly")
            .id,
        "both levels raise the same alert id"
    );

    // Shifts on both levels: nobody is missing the next hour.
    ly.sup
        .add_shift(&ly.user("wang"), shift(LUOYANG, now.add_secs(-3600), 8))
        .await
        .expect("ly shift");
    province
        .sup
        .add_shift(&province.user("admin"), shift(HENAN, now, 8))
        .await
        .expect("province shift");
    pump(&province, &ly).await;
    assert!(
        province
            .sup
            .check_duty(now.add_secs(3600))
            .await
            .expect("covered")
            .is_empty()
    );
    assert!(
        ly.sup
            .check_duty(now.add_secs(3600))
            .await
            .expect("covered")
            .is_empty()
    );

    // Once the shifts are over, both are missing again; a restart does not raise them twice.
    let later = now.add_secs(9 * 3600);
    assert_eq!(province.sup.check_duty(later).await.expect("gap").len(), 2);
    province.restart();
    assert!(
        province
            .sup
            .check_duty(later)
            .await
            .expect("restart")
            .is_empty()
    );
    // After the period nothing is required.
    assert!(
        province
            .sup
            .check_duty(p.end.add_secs(3600))
            .await
            .expect("after")
            .is_empty()
    );
}

#[tokio::test]
async fn a_handover_lists_open_incidents_and_pending_bulletins_and_is_taken_over_by_another() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (province, mut ly) = pair(tmp.path());
    let now = Timestamp::now();
    // Incidents: two open in Luoyang, one resolved there, one open in Zhengzhou.
    let mut incidents = Vec::new();
    for (region, status) in [
        (LUOYANG, IncidentStatus::New),
        (LUOYANG, IncidentStatus::Investigating),
        (LUOYANG, IncidentStatus::Resolved),
        (ZHENGZHOU, IncidentStatus::New),
    ] {
        let mut i = onewall_store::conformance::incident(now, Severity::High, code(region));
        i.status = status;
        incidents.push(i);
    }
    ly.store
        .upsert_incidents(incidents.clone())
        .await
        .expect("incidents");
    let mut open = vec![incidents[0].id, incidents[1].id];
    open.sort();

    // A notice from the province, not yet signed in Luoyang.
    let view = province
        .sup
        .issue(
            &province.user("admin"),
            NewBulletin {
                title: "关于 Apache ActiveMQ 远程代码执行漏洞的预警通报".into(),
                level: onewall_model::supervise::WarningLevel::Orange,
                kind: onewall_model::supervise::BulletinKind::Notice,
                body: "请各单位立即排查".into(),
                cves: vec!["CVE-2023-46604".into()],
                indicators: Vec::new(),
                incidents: Vec::new(),
                to: To {
                    regions: vec![code(LUOYANG)],
                    ..To::default()
                },
                deadline: now.add_secs(86_400),
                sign_deadline: None,
                rectify_deadline: None,
            },
        )
        .await
        .expect("issue");
    let bid = view.bulletin.id;
    pump(&province, &ly).await;

    let s1 = ly
        .sup
        .add_shift(&ly.user("wang"), shift(LUOYANG, now.add_secs(-3600), 8))
        .await
        .expect("shift");
    let s2 = ly
        .sup
        .add_shift(&ly.user("wang"), shift(LUOYANG, now.add_secs(7 * 3600), 8))
        .await
        .expect("shift");
    let wang = ly.user("wang");
    let h = ly
        .sup
        .hand_over(
            &wang,
            NewHandover {
                region: code(LUOYANG),
                from_shift: Some(s1.id),
                to_shift: Some(s2.id),
                notes: "ActiveMQ 排查进行中".into(),
            },
        )
        .await
        .expect("hand over");
    assert_eq!(h.open_incidents, open);
    assert_eq!(h.pending_bulletins, vec![bid]);
    assert_eq!(h.handed_by, "wang");
    assert!(h.taken_by.is_none());

    let err = ly
        .sup
        .take_over(&wang, h.id)
        .await
        .expect_err("same person");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let zhao = ly.user("zhao");
    let taken = ly.sup.take_over(&zhao, h.id).await.expect("take over");
    assert_eq!(taken.taken_by.as_deref(), Some("zhao"));
    assert!(matches!(
        ly.sup.take_over(&ly.user("qian"), h.id).await,
        Err(SuperviseError::Conflict(_))
    ));

    // Once signed and answered, the bulletin is no longer pending.
    ly.sup
        .take_step(&zhao, bid, None, StepKind::Sign, Vec::new())
        .await
        .expect("sign");
    ly.sup
        .take_step(
            &zhao,
            bid,
            None,
            StepKind::Answer {
                affected: false,
                text: "未使用 ActiveMQ".into(),
            },
            Vec::new(),
        )
        .await
        .expect("answer");
    let h2 = ly
        .sup
        .hand_over(
            &zhao,
            NewHandover {
                region: code(LUOYANG),
                from_shift: Some(s2.id),
                to_shift: None,
                notes: String::new(),
            },
        )
        .await
        .expect("second handover");
    assert!(h2.pending_bulletins.is_empty(), "{h2:?}");

    let err = ly
        .sup
        .hand_over(
            &zhao,
            NewHandover {
                region: code(LUOYANG),
                from_shift: Some(onewall_model::id::ShiftId::new(now)),
                to_shift: None,
                notes: String::new(),
            },
        )
        .await
        .expect_err("unknown shift");
    assert!(err.to_string().starts_with("from_shift: no shift"), "{err}");

    ly.restart();
    let list = ly.sup.handovers(&[code(LUOYANG)], 10).await.expect("list");
    assert_eq!(
        list.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![h2.id, h.id]
    );
    assert_eq!(list[1].taken_by.as_deref(), Some("zhao"));
    assert!(
        ly.sup
            .handovers(&[code(ZHENGZHOU)], 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(ly.audited("duty.handover").len(), 2);
    assert_eq!(ly.audited("duty.takeover").len(), 1);
    assert_eq!(ly.audited("duty.takeover")[0].record.actor, "zhao");
}
