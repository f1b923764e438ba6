//! 重保 periods between a province and two cities: declared and passed down, slot zero
//! reports sent up, a city that stops reporting flagged once at the province within the grace
//! time (across restarts), lessons gathered by the issuer, the 复盘 listing the missing slot.

mod periods_node;

use onewall_model::Timestamp;
use onewall_supervise::SuperviseError;
use onewall_supervise::doc::Block;
use onewall_supervise::period::{MISSING_SLOT_RULE_ID, NewPeriod};
use periods_node::{HENAN, LUOYANG, Node, ZHENGZHOU, code, minute_now, pump};

fn three(root: &std::path::Path) -> (Node, Node, Node) {
    (
        Node::new(root, "province", HENAN, &[ZHENGZHOU, LUOYANG], false),
        Node::new(root, "zhengzhou", ZHENGZHOU, &[], true),
        Node::new(root, "luoyang", LUOYANG, &[], true),
    )
}

fn two_hourly(name: &str, start: Timestamp, hours: i64) -> NewPeriod {
    NewPeriod {
        name: name.into(),
        regions: vec![code(ZHENGZHOU), code(LUOYANG)],
        start,
        end: start.add_secs(hours * 3600),
        sla_factor: Some(4.0),
        report_every_mins: Some(120),
        grace_mins: Some(30),
    }
}

/// The city sends what it owes at `now`; answers the slots sent.
async fn report(city: &Node, now: Timestamp) -> Vec<Timestamp> {
    let mut sent = Vec::new();
    for due in city.sup.slot_reports_due(now).await.expect("due") {
        let r = city.sup.slot_report(&due, now).await.expect("build");
        assert_eq!(r.region, city.region);
        city.sup.send_slot_report(r).await.expect("send");
        sent.push(due.slot);
    }
    sent
}

#[tokio::test]
async fn a_city_that_stops_reporting_is_flagged_once_at_the_province_within_the_grace_time() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut province, mut zz, ly) = three(tmp.path());
    let t0 = minute_now().add_secs(60);
    let h = |x: i64, m: i64| t0.add_secs(x * 3600 + m * 60);
    let admin = province.user("admin");
    let p = province
        .sup
        .declare_period(&admin, two_hourly("两会", t0, 12))
        .await
        .expect("declare");
    assert_eq!(p.issuer, code(HENAN));
    assert_eq!(p.grace_mins, 30);
    assert_eq!(pump(&province, &zz).await, (1, 0));
    assert_eq!(pump(&province, &ly).await, (1, 0));
    // A redelivery (the federation resends what was not acknowledged) changes nothing.
    periods_node::deliver_down(
        province.region,
        &zz,
        onewall_model::supervise::SuperviseDown::Period {
            period: Box::new(p.clone()),
        },
    )
    .await;
    assert_eq!(zz.sup.period(p.id).as_ref(), Some(&p));
    assert_eq!(zz.audited("period.declare").len(), 1);
    assert_eq!(
        zz.audited("period.declare")[0].record.actor,
        "remote:410000/admin"
    );
    assert_eq!(province.audited("period.declare").len(), 1);
    assert_eq!(
        zz.courier.down.lock().unwrap().len(),
        0,
        "a city without children sends nothing down"
    );

    // The SLA factor holds in the cities during the period only, not in the province's own
    // region (not in scope).
    assert_eq!(zz.sup.sla_factor(code(ZHENGZHOU), h(0, 1)), 4.0);
    assert_eq!(province.sup.sla_factor(code(LUOYANG), h(1, 0)), 4.0);
    assert_eq!(zz.sup.sla_factor(code(ZHENGZHOU), h(0, -1)), 1.0);
    assert_eq!(zz.sup.sla_factor(code(ZHENGZHOU), h(12, 0)), 1.0);
    assert_eq!(province.sup.sla_factor(code(HENAN), h(1, 0)), 1.0);

    // Nothing is owed before the first slot; the province owes nothing (no parent).
    assert!(report(&zz, h(1, 59)).await.is_empty());
    assert!(
        province
            .sup
            .slot_reports_due(h(3, 0))
            .await
            .expect("due")
            .is_empty()
    );

    // Slot 1 (t0 + 2 h): both report; sending twice sends once.
    assert_eq!(report(&zz, h(2, 1)).await, vec![h(2, 0)]);
    assert_eq!(report(&ly, h(2, 5)).await, vec![h(2, 0)]);
    assert!(report(&zz, h(2, 10)).await.is_empty(), "slot 1 is sent");
    assert_eq!(pump(&province, &zz).await, (0, 1));
    assert_eq!(pump(&province, &ly).await, (0, 1));
    assert!(
        province
            .sup
            .check_slots(h(2, 31))
            .await
            .expect("check")
            .is_empty()
    );

    // Slot 2 (t0 + 4 h): Zhengzhou reports, Luoyang has stopped.
    assert_eq!(report(&zz, h(4, 0)).await, vec![h(4, 0)]);
    pump(&province, &zz).await;
    assert!(
        province
            .sup
            .check_slots(h(4, 29))
            .await
            .expect("check")
            .is_empty(),
        "within the grace time nothing is flagged"
    );
    let alerts = province.sup.check_slots(h(4, 30)).await.expect("check");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.rule.id, MISSING_SLOT_RULE_ID);
    assert_eq!(a.region, code(LUOYANG));
    assert_eq!(a.severity, onewall_model::Severity::High);
    assert!(
        a.rule.title.contains("重保期间 洛阳市(410300) 未按时报送"),
        "{}",
        a.rule.title
    );
    assert!(a.rule.title.contains("两会") && a.rule.title.contains("时段零报告"));
    assert!(
        province
            .sup
            .check_slots(h(4, 31))
            .await
            .expect("again")
            .is_empty()
    );

    // Restarts keep the flag (province) and what was sent (city).
    province.restart();
    zz.restart();
    assert!(
        province
            .sup
            .check_slots(h(4, 45))
            .await
            .expect("after restart")
            .is_empty()
    );
    assert!(
        report(&zz, h(4, 50)).await.is_empty(),
        "slot 2 was sent before the restart"
    );
    assert_eq!(
        zz.sup.period(p.id).as_ref(),
        Some(&p),
        "the period survives the restart"
    );

    // Luoyang comes back after slot 3 was due: only the latest slot is sent.
    assert_eq!(report(&ly, h(6, 10)).await, vec![h(6, 0)]);
    assert_eq!(report(&zz, h(6, 5)).await, vec![h(6, 0)]);
    pump(&province, &ly).await;
    pump(&province, &zz).await;
    assert!(
        province
            .sup
            .check_slots(h(6, 40))
            .await
            .expect("check")
            .is_empty()
    );

    let st = province
        .sup
        .slot_statuses(p.id, h(6, 40))
        .await
        .expect("statuses");
    assert_eq!(st.len(), 6, "two cities × three slots: {st:?}");
    let missing: Vec<_> = st
        .iter()
        .filter(|s| s.missing)
        .map(|s| (s.region, s.slot))
        .collect();
    assert_eq!(missing, vec![(code(LUOYANG), h(4, 0))]);
    assert!(
        st.iter()
            .filter(|s| !s.missing)
            .all(|s| s.received.is_some() && s.report.is_some())
    );

    // A lesson recorded in Luoyang goes up to the province, once.
    let lesson = ly
        .sup
        .add_lesson(
            &ly.user("wang"),
            p.id,
            "夜班交接时未确认报送任务, 导致漏报".into(),
        )
        .await
        .expect("lesson");
    pump(&province, &ly).await;
    periods_node::deliver_up(
        ly.region,
        &province,
        onewall_model::supervise::SuperviseUp::Lesson {
            lesson: Box::new(lesson.clone()),
        },
    )
    .await;
    assert_eq!(
        province.sup.lessons(p.id).await.expect("lessons"),
        vec![lesson.clone()]
    );
    let audited = province.audited("period.lesson");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].record.actor, "remote:410300/wang");
    assert_eq!(ly.audited("period.lesson").len(), 1);

    // The 复盘 lists the missing slot and the lesson.
    let review = province
        .sup
        .period_review_at(p.id, h(6, 40))
        .await
        .expect("review");
    assert_eq!(review.incidents, 0);
    assert_eq!(review.slots.len(), 1);
    assert!(review.slots[0].missing && review.slots[0].region == code(LUOYANG));
    assert_eq!(review.lessons, vec![lesson]);
    let doc = review.to_doc();
    let table = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.caption == "迟报、漏报时段" => Some(t),
            _ => None,
        })
        .expect("slot table");
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0][0], "洛阳市(410300)");
    assert_eq!(table.rows[0][2], "漏报");
    let lessons = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.caption == "经验教训" => Some(t),
            _ => None,
        })
        .expect("lesson table");
    assert_eq!(lessons.rows[0][1], "wang");
    let html = onewall_supervise::doc::html(&doc);
    assert!(html.contains("两会 重保复盘报告") && html.contains("洛阳市(410300)"));
    let docx = onewall_supervise::doc::docx(&doc).expect("docx");
    assert!(docx.starts_with(b"PK"), "a .docx is a zip file");
}

#[tokio::test]
async fn a_report_arriving_after_the_grace_time_is_late_and_not_flagged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (province, zz, _ly) = three(tmp.path());
    // Started three hours ago: its first slot was due an hour ago.
    let t0 = minute_now().add_secs(-3 * 3600);
    let mut new = two_hourly("国庆", t0, 10);
    new.regions = vec![code(ZHENGZHOU)];
    let p = province
        .sup
        .declare_period(&province.user("admin"), new)
        .await
        .expect("declare");
    pump(&province, &zz).await;
    let now = Timestamp::now();
    assert_eq!(report(&zz, now).await, vec![t0.add_secs(7200)]);
    pump(&province, &zz).await;
    assert!(
        province
            .sup
            .check_slots(now)
            .await
            .expect("check")
            .is_empty()
    );
    let st = province
        .sup
        .slot_statuses(p.id, now)
        .await
        .expect("statuses");
    assert_eq!(st.len(), 1, "only Zhengzhou is in scope: {st:?}");
    assert!(st[0].late && !st[0].missing, "{st:?}");

    // A bulletin issued during the period is part of its 复盘, with its recipient's state.
    let view = province
        .sup
        .issue(
            &province.user("admin"),
            onewall_supervise::bulletins::NewBulletin {
                title: "关于加强国庆期间网络安全防护的通知".into(),
                level: onewall_model::supervise::WarningLevel::Yellow,
                kind: onewall_model::supervise::BulletinKind::Notice,
                body: "请落实值班值守".into(),
                cves: Vec::new(),
                indicators: Vec::new(),
                incidents: Vec::new(),
                to: onewall_supervise::bulletins::To {
                    regions: vec![code(ZHENGZHOU)],
                    ..Default::default()
                },
                deadline: now.add_secs(3600),
                sign_deadline: None,
                rectify_deadline: None,
            },
        )
        .await
        .expect("issue");
    assert_eq!(view.bulletin.period, Some(p.id));
    let review = province.sup.period_review(p.id).await.expect("review");
    assert_eq!(review.slots.len(), 1, "the late slot: {:?}", review.slots);
    assert!(review.slots[0].late);
    assert_eq!(review.bulletins.len(), 1);
    let doc = review.to_doc();
    let table = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.caption == "保障期间发布的通报" => Some(t),
            _ => None,
        })
        .expect("bulletin table");
    assert_eq!(
        table.rows,
        vec![vec![
            "关于加强国庆期间网络安全防护的通知".to_owned(),
            "黄色预警".into(),
            "郑州市(410100)".into(),
            "待签收".into(),
            "0".into(),
            "0".into(),
        ]]
    );
}

#[tokio::test]
async fn a_bad_period_is_refused_with_every_reason_and_only_the_issuer_cancels() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (province, zz, _ly) = three(tmp.path());
    let now = minute_now();
    let bad = NewPeriod {
        name: "  ".into(),
        regions: vec![code(ZHENGZHOU), code(420100)],
        start: now.add_secs(3600),
        end: now,
        sla_factor: Some(0.5),
        report_every_mins: Some(1),
        grace_mins: None,
    };
    let err = province
        .sup
        .declare_period(&province.user("admin"), bad)
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(matches!(err, SuperviseError::Invalid(_)));
    for part in [
        "name: must not be empty",
        "regions: 420100",
        "end: must be after start",
        "sla_factor: 0.5",
        "report_every_mins: 1",
    ] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
    let none = NewPeriod {
        regions: vec![],
        ..two_hourly("x", now, 2)
    };
    let err = province
        .sup
        .declare_period(&province.user("admin"), none)
        .await
        .expect_err("no regions");
    assert!(err.to_string().contains("at least one region"), "{err}");
    // A city declares only within its own region.
    let err = zz
        .sup
        .declare_period(&zz.user("li"), two_hourly("x", now, 2))
        .await
        .expect_err("outside");
    assert!(
        err.to_string()
            .contains("410300 is not within this node's region 410100"),
        "{err}"
    );
    assert!(
        province.audited("period.declare").is_empty(),
        "nothing refused is audited"
    );

    let p = province
        .sup
        .declare_period(&province.user("admin"), two_hourly("春节", now, 24))
        .await
        .expect("declare");
    pump(&province, &zz).await;
    let err = zz
        .sup
        .cancel_period(&zz.user("li"), p.id)
        .await
        .expect_err("not the issuer");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let c = province
        .sup
        .cancel_period(&province.user("admin"), p.id)
        .await
        .expect("cancel");
    let at = c.cancelled.expect("cancelled");
    assert!(matches!(
        province
            .sup
            .cancel_period(&province.user("admin"), p.id)
            .await,
        Err(SuperviseError::Conflict(_))
    ));
    assert_eq!(pump(&province, &zz).await, (1, 0));
    let held = zz.sup.period(p.id).expect("held");
    assert_eq!(held.cancelled, Some(at));
    assert_eq!(zz.audited("period.cancel").len(), 1);
    assert!(zz.sup.periods(Some(at.add_secs(1))).is_empty());
    assert!(
        zz.sup
            .slot_reports_due(now.add_secs(5 * 3600))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(zz.sup.sla_factor(code(ZHENGZHOU), at.add_secs(1)), 1.0);
}

#[tokio::test]
async fn overlapping_periods_take_the_largest_factor_and_list_newest_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (province, _zz, _ly) = three(tmp.path());
    let now = minute_now();
    let admin = province.user("admin");
    let mut a = two_hourly("全年", now, 48);
    a.regions = vec![code(HENAN)];
    a.sla_factor = Some(2.0);
    let a = province.sup.declare_period(&admin, a).await.expect("a");
    let mut b = two_hourly("峰会", now.add_secs(3600), 4);
    b.regions = vec![code(LUOYANG)];
    b.sla_factor = None;
    let b = province.sup.declare_period(&admin, b).await.expect("b");
    assert_eq!(b.sla_factor, 2.0, "the configured default");
    let mut c = two_hourly("会议", now.add_secs(3600), 4);
    c.regions = vec![code(LUOYANG)];
    c.sla_factor = Some(6.0);
    let c = province.sup.declare_period(&admin, c).await.expect("c");
    assert_eq!(
        province.sup.sla_factor(code(LUOYANG), now.add_secs(7200)),
        6.0
    );
    assert_eq!(
        province.sup.sla_factor(code(ZHENGZHOU), now.add_secs(7200)),
        2.0
    );
    assert_eq!(
        province.sup.sla_factor(code(HENAN), now.add_secs(7200)),
        2.0
    );
    let ids: Vec<_> = province
        .sup
        .periods(None)
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, vec![c.id, b.id, a.id]);
    let active: Vec<_> = province
        .sup
        .periods(Some(now.add_secs(60)))
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(active, vec![a.id]);
}
