//! A bulletin copy's lifecycle, pure: every transition of the diagram, every refusal, what is
//! due and missed, the statistics; and a proptest that no sequence of steps panics or leaves a
//! copy in a state the diagram cannot reach.

use onewall_model::id::{BulletinId, StepId};
use onewall_model::supervise::{
    Bulletin, BulletinKind, DeadlineKind, Deadlines, Recipient, RecipientState, Step, StepKind,
    WarningLevel,
};
use onewall_model::{RegionCode, Timestamp};
use onewall_supervise::SuperviseError;
use onewall_supervise::bulletin::{Applied, BulletinView, Copy, Missed, apply, missed, stats};
use proptest::prelude::*;

const PROVINCE: u32 = 410000;
const CITY: u32 = 410100;

fn code(c: u32) -> RegionCode {
    RegionCode::new(c).expect("code")
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn bulletin(kind: BulletinKind) -> Bulletin {
    Bulletin {
        id: BulletinId::new(t(0)),
        issuer: code(PROVINCE),
        issuer_node: "province".into(),
        title: "关于 CVE-2024-3400 的整改通报".into(),
        level: WarningLevel::Orange,
        kind,
        body: "请立即排查".into(),
        cves: vec!["CVE-2024-3400".into()],
        indicators: vec![],
        incidents: vec![],
        deadlines: Deadlines {
            sign: t(100),
            answer: t(200),
            rectify: (kind == BulletinKind::Rectification).then_some(t(300)),
        },
        recipients: vec![city()],
        period: None,
        by: "admin".into(),
        issued: t(0),
    }
}

fn city() -> Recipient {
    Recipient {
        region: code(CITY),
        department: None,
    }
}

fn step(b: &Bulletin, kind: StepKind, from: u32, at: i64) -> Step {
    Step {
        id: StepId::new(t(at)),
        bulletin: b.id,
        recipient: city(),
        kind,
        by: "user".into(),
        node_region: code(from),
        at: t(at),
    }
}

fn answer(affected: bool) -> StepKind {
    StepKind::Answer {
        affected,
        text: "已排查".into(),
    }
}

fn rectify() -> StepKind {
    StepKind::Rectify {
        text: "已升级".into(),
        attachments: vec![],
    }
}

fn review(accepted: bool, reason: &str) -> StepKind {
    StepKind::Review {
        accepted,
        reason: reason.into(),
    }
}

/// Apply the steps in order, each expected to move the copy.
fn run(b: &Bulletin, steps: &[(StepKind, u32, i64)]) -> Copy {
    let mut c = Copy::new(city());
    for (k, from, at) in steps {
        let s = step(b, k.clone(), *from, *at);
        assert_eq!(apply(b, &mut c, &s).expect("applies"), Applied::Applied);
    }
    c
}

#[test]
fn a_notice_is_done_once_answered() {
    let b = bulletin(BulletinKind::Notice);
    let mut c = Copy::new(city());
    assert_eq!(c.due(&b), Some((DeadlineKind::Sign, t(100))));
    apply(&b, &mut c, &step(&b, StepKind::Sign, CITY, 10)).expect("sign");
    assert_eq!((c.state, c.signed), (RecipientState::Signed, Some(t(10))));
    assert_eq!(c.due(&b), Some((DeadlineKind::Answer, t(200))));
    apply(&b, &mut c, &step(&b, answer(true), CITY, 20)).expect("answer");
    assert_eq!(c.state, RecipientState::Answered);
    assert_eq!(c.affected, Some(true));
    assert!(c.is_done(b.kind));
    assert_eq!(c.due(&b), None);
    // A notice asks for no rectification.
    let err = apply(&b, &mut c, &step(&b, rectify(), CITY, 30)).expect_err("refused");
    assert!(matches!(err, SuperviseError::Conflict(_)), "{err}");
    assert_eq!(c.steps.len(), 2);
}

#[test]
fn a_rectification_is_submitted_returned_resubmitted_and_accepted() {
    let b = bulletin(BulletinKind::Rectification);
    let mut c = run(&b, &[(StepKind::Sign, CITY, 10), (answer(true), CITY, 20)]);
    assert!(!c.is_done(b.kind));
    assert_eq!(c.due(&b), Some((DeadlineKind::Rectify, t(300))));
    apply(&b, &mut c, &step(&b, rectify(), CITY, 30)).expect("rectify");
    assert_eq!(c.state, RecipientState::Submitted);
    assert_eq!(c.due(&b), None, "waiting for the review, nothing is due");
    // A return needs its reason.
    let err =
        apply(&b, &mut c, &step(&b, review(false, "  "), PROVINCE, 40)).expect_err("no reason");
    assert!(matches!(err, SuperviseError::Invalid(_)), "{err}");
    apply(
        &b,
        &mut c,
        &step(&b, review(false, "证据不足"), PROVINCE, 41),
    )
    .expect("return");
    assert_eq!((c.state, c.returned), (RecipientState::Returned, 1));
    assert_eq!(c.due(&b), Some((DeadlineKind::Rectify, t(300))));
    apply(&b, &mut c, &step(&b, rectify(), CITY, 50)).expect("again");
    assert_eq!(
        (c.state, c.submitted),
        (RecipientState::Submitted, Some(t(50)))
    );
    apply(&b, &mut c, &step(&b, review(true, ""), PROVINCE, 60)).expect("accept");
    assert_eq!(
        (c.state, c.accepted),
        (RecipientState::Accepted, Some(t(60)))
    );
    assert!(c.is_done(b.kind));
    assert_eq!(c.steps.len(), 6);
    // Nothing moves an accepted copy.
    for k in [StepKind::Sign, answer(false), rectify(), review(true, "")] {
        let from = if matches!(k, StepKind::Review { .. }) {
            PROVINCE
        } else {
            CITY
        };
        let err = apply(&b, &mut c, &step(&b, k, from, 70)).expect_err("final");
        assert!(matches!(err, SuperviseError::Conflict(_)), "{err}");
    }
}

#[test]
fn not_affected_ends_a_rectification_bulletin() {
    let b = bulletin(BulletinKind::Rectification);
    let mut c = run(&b, &[(StepKind::Sign, CITY, 10), (answer(false), CITY, 20)]);
    assert!(c.is_done(b.kind));
    assert_eq!(c.due(&b), None);
    let err = apply(&b, &mut c, &step(&b, rectify(), CITY, 30)).expect_err("not affected");
    assert!(matches!(err, SuperviseError::Conflict(_)), "{err}");
    let view = BulletinView {
        bulletin: b,
        copies: vec![c],
        issued_here: true,
    };
    assert!(
        missed(&view, t(10_000)).is_empty(),
        "met sign and answer, no rectify due"
    );
}

#[test]
fn steps_out_of_order_or_on_the_wrong_side_are_refused() {
    let b = bulletin(BulletinKind::Rectification);
    let mut c = Copy::new(city());
    let cases = [
        (answer(true), CITY, "answer before sign"),
        (rectify(), CITY, "rectify before answer"),
        (review(true, ""), PROVINCE, "review before submit"),
    ];
    for (k, from, why) in cases {
        let err = apply(&b, &mut c, &step(&b, k, from, 5)).expect_err(why);
        assert!(matches!(err, SuperviseError::Conflict(_)), "{why}: {err}");
    }
    // The issuer's node does not sign for the city; the city does not review.
    let err = apply(&b, &mut c, &step(&b, StepKind::Sign, PROVINCE, 5)).expect_err("side");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    let mut done = run(
        &b,
        &[
            (StepKind::Sign, CITY, 1),
            (answer(true), CITY, 2),
            (rectify(), CITY, 3),
        ],
    );
    let err = apply(&b, &mut done, &step(&b, review(true, ""), CITY, 4)).expect_err("side");
    assert!(matches!(err, SuperviseError::Forbidden(_)), "{err}");
    // Signing twice.
    let mut s = run(&b, &[(StepKind::Sign, CITY, 1)]);
    let err = apply(&b, &mut s, &step(&b, StepKind::Sign, CITY, 2)).expect_err("twice");
    assert!(matches!(err, SuperviseError::Conflict(_)), "{err}");
    // Another bulletin's or recipient's step.
    let mut other = step(&b, StepKind::Sign, CITY, 1);
    other.bulletin = BulletinId::new(t(9));
    assert!(matches!(
        apply(&b, &mut c, &other),
        Err(SuperviseError::Invalid(_))
    ));
    let mut other = step(&b, StepKind::Sign, CITY, 1);
    other.recipient.department = Some("教育局".into());
    assert!(matches!(
        apply(&b, &mut c, &other),
        Err(SuperviseError::Invalid(_))
    ));
    assert_eq!(c, Copy::new(city()), "refusals change nothing");
}

#[test]
fn a_step_applied_twice_is_a_duplicate_and_changes_nothing() {
    let b = bulletin(BulletinKind::Rectification);
    let mut c = Copy::new(city());
    let s = step(&b, StepKind::Sign, CITY, 10);
    assert_eq!(apply(&b, &mut c, &s).expect("first"), Applied::Applied);
    let before = c.clone();
    assert_eq!(apply(&b, &mut c, &s).expect("again"), Applied::Duplicate);
    assert_eq!(c, before);
    // Even once the state moved on, the old step is still a duplicate, not a conflict.
    apply(&b, &mut c, &step(&b, answer(true), CITY, 20)).expect("answer");
    assert_eq!(apply(&b, &mut c, &s).expect("old"), Applied::Duplicate);
}

#[test]
fn missed_deadlines_are_each_reported_once_and_a_return_is_due_again() {
    let b = bulletin(BulletinKind::Rectification);
    let view = |c: Copy| BulletinView {
        bulletin: b.clone(),
        copies: vec![c],
        issued_here: true,
    };
    let kinds = |m: Vec<Missed>| m.into_iter().map(|m| m.kind).collect::<Vec<_>>();
    let fresh = Copy::new(city());
    assert!(
        missed(&view(fresh.clone()), t(100)).is_empty(),
        "at the deadline is in time"
    );
    assert_eq!(
        kinds(missed(&view(fresh.clone()), t(101))),
        [DeadlineKind::Sign]
    );
    assert_eq!(
        kinds(missed(&view(fresh.clone()), t(201))),
        [DeadlineKind::Sign, DeadlineKind::Answer],
        "no rectification is due before the answer says affected"
    );
    let mut alerted = fresh;
    alerted.overdue = vec![DeadlineKind::Sign];
    assert_eq!(
        kinds(missed(&view(alerted), t(201))),
        [DeadlineKind::Answer]
    );
    // Affected, submitted in time, returned after the deadline: due again, and missed.
    let mut c = run(
        &b,
        &[
            (StepKind::Sign, CITY, 10),
            (answer(true), CITY, 20),
            (rectify(), CITY, 250),
        ],
    );
    assert!(
        missed(&view(c.clone()), t(400)).is_empty(),
        "submitted counts as met"
    );
    apply(
        &b,
        &mut c,
        &step(&b, review(false, "补充材料"), PROVINCE, 350),
    )
    .expect("return");
    let m = missed(&view(c.clone()), t(400));
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].kind, m[0].deadline), (DeadlineKind::Rectify, t(300)));
    assert_eq!(m[0].recipient, city());
}

#[test]
fn statistics_count_on_time_by_each_deadline() {
    let b = bulletin(BulletinKind::Rectification);
    // In time: signed 10, answered 20, submitted 30, returned, resubmitted 290, accepted.
    let good = run(
        &b,
        &[
            (StepKind::Sign, CITY, 10),
            (answer(true), CITY, 20),
            (rectify(), CITY, 30),
            (review(false, "补充"), PROVINCE, 40),
            (rectify(), CITY, 290),
            (review(true, ""), PROVINCE, 400),
        ],
    );
    let mut b2 = b.clone();
    b2.id = BulletinId::new(t(1));
    // Late: signed 150 (> 100), answered 250 (> 200), submitted 350 (> 300).
    let mut late = run(
        &b2,
        &[
            (StepKind::Sign, CITY, 150),
            (answer(true), CITY, 250),
            (rectify(), CITY, 350),
        ],
    );
    late.overdue = vec![
        DeadlineKind::Sign,
        DeadlineKind::Answer,
        DeadlineKind::Rectify,
    ];
    let views = vec![
        BulletinView {
            bulletin: b,
            copies: vec![good],
            issued_here: true,
        },
        BulletinView {
            bulletin: b2,
            copies: vec![late],
            issued_here: true,
        },
    ];
    let s = stats(&views, &|r| format!("name of {r}"));
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!(s.recipient, Some(city()));
    assert_eq!(s.name, "name of 410100");
    assert_eq!((s.bulletins, s.signed, s.signed_on_time), (2, 2, 1));
    assert_eq!((s.answered, s.answered_on_time), (2, 1));
    assert_eq!((s.rectifications, s.rectified_on_time), (2, 1));
    assert_eq!((s.accepted, s.returned, s.overdue), (1, 1, 3));
}

/// A copy's state is one the diagram reaches, with the fields that state implies.
fn consistent(b: &Bulletin, c: &Copy) -> Result<(), String> {
    use RecipientState::*;
    let ok = match c.state {
        Issued => c.signed.is_none() && c.answered.is_none() && c.steps.is_empty(),
        Signed => c.signed.is_some() && c.answered.is_none(),
        Answered => c.signed.is_some() && c.answered.is_some() && c.submitted.is_none(),
        Submitted | Returned => {
            b.kind == BulletinKind::Rectification
                && c.affected == Some(true)
                && c.submitted.is_some()
                && (c.state == Submitted || c.returned > 0)
        }
        Accepted => c.submitted.is_some() && c.accepted.is_some() && c.affected == Some(true),
    };
    let ids: std::collections::HashSet<_> = c.steps.iter().map(|s| s.id).collect();
    if ok && ids.len() == c.steps.len() {
        Ok(())
    } else {
        Err(format!("unreachable copy {c:?}"))
    }
}

fn any_step() -> impl Strategy<Value = (u8, bool, bool, u8)> {
    (0u8..4, any::<bool>(), any::<bool>(), 0u8..4)
}

proptest! {
    #[test]
    fn no_sequence_of_steps_panics_or_reaches_an_unreachable_state(
        rectification in any::<bool>(),
        steps in proptest::collection::vec(any_step(), 0..24),
    ) {
        let kind = if rectification { BulletinKind::Rectification } else { BulletinKind::Notice };
        let b = bulletin(kind);
        let mut c = Copy::new(city());
        let mut taken: Vec<Step> = Vec::new();
        for (i, (what, flag, issuer_side, replay)) in steps.into_iter().enumerate() {
            // Now and then redeliver a step already taken: it must change nothing.
            if replay == 0 && !taken.is_empty() {
                let s = taken[i % taken.len()].clone();
                let before = c.clone();
                let r = apply(&b, &mut c, &s);
                prop_assert!(matches!(r, Ok(Applied::Duplicate)) || r.is_err());
                prop_assert_eq!(&c, &before);
                continue;
            }
            let k = match what {
                0 => StepKind::Sign,
                1 => answer(flag),
                2 => rectify(),
                _ => review(flag, if i % 3 == 0 { "" } else { "原因" }),
            };
            let from = if issuer_side { PROVINCE } else { CITY };
            let s = step(&b, k, from, i as i64);
            let before = c.clone();
            match apply(&b, &mut c, &s) {
                Ok(Applied::Applied) => taken.push(s),
                Ok(Applied::Duplicate) => prop_assert!(false, "a new step id is no duplicate"),
                Err(_) => prop_assert_eq!(&c, &before),
            }
            prop_assert!(consistent(&b, &c).is_ok(), "{:?}", consistent(&b, &c));
            let view = BulletinView { bulletin: b.clone(), copies: vec![c.clone()], issued_here: true };
            let _ = missed(&view, t(i as i64 * 50));
            prop_assert_eq!(c.due(&b).is_none(), c.is_done(kind) || c.state == RecipientState::Submitted);
        }
    }
}
