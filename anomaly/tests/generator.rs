//! The evaluation's generator (`benches/eval/month.rs`, run by `cargo bench --bench
//! evaluation`): deterministic for a seed, every kind of injection present and labelled, the
//! clean month the same traffic without them.

#[allow(dead_code)]
#[path = "../benches/eval/month.rs"]
mod month;

use month::{DAYS, Day, InjKind, LEARNING_DAYS, Month, Record, START};

#[test]
fn the_month_is_the_same_for_a_seed_and_differs_for_another() {
    let a = Month::new(7, true);
    let b = Month::new(7, true);
    let c = Month::new(8, true);
    assert_eq!(a.injections, b.injections);
    for day in [0, 17, 26] {
        assert_eq!(a.day(day), b.day(day), "day {day}");
    }
    assert_ne!(a.day(3), c.day(3));
    assert_ne!(a.injections, c.injections);
}

#[test]
fn every_kind_of_injection_is_present_after_learning_on_its_own_entity() {
    let m = Month::new(month::DEFAULT_SEED, true);
    for kind in InjKind::ALL {
        let n = m.injections.iter().filter(|i| i.kind == kind).count();
        assert!(n >= 15, "{kind:?}: {n} injections");
    }
    let learned = START + LEARNING_DAYS * 86_400;
    for inj in &m.injections {
        assert!(
            inj.start >= learned && inj.end <= START + DAYS * 86_400,
            "{inj:?}"
        );
        assert!(inj.end > inj.start, "{inj:?}");
    }
    let mut entities: Vec<_> = m.injections.iter().map(|i| &i.entity).collect();
    entities.sort();
    let n = entities.len();
    entities.dedup();
    assert_eq!(entities.len(), n, "an entity carries two injections");
}

#[test]
fn injections_change_the_traffic_in_their_window_and_the_clean_month_lacks_them() {
    let m = Month::new(month::DEFAULT_SEED, true);
    let clean = Month::new(month::DEFAULT_SEED, false);
    assert!(clean.injections.is_empty());
    let first = m
        .injections
        .iter()
        .find(|i| i.kind == InjKind::FirstSeen)
        .unwrap();
    let day = (first.start - START) / 86_400;
    let net = first.value.trim_end_matches(".0/24");
    let from_net = |recs: &[Record]| {
        recs.iter()
            .filter(|r| matches!(r, Record::Logon { ip, .. } if month::dotted(ip).starts_with(net)))
            .count()
    };
    assert_eq!(from_net(&m.day(day)), 2);
    assert_eq!(from_net(&clean.day(day)), 0);
    let silence = m
        .injections
        .iter()
        .find(|i| i.kind == InjKind::Silence)
        .unwrap();
    let day = (silence.start - START) / 86_400;
    let host = m
        .hosts
        .iter()
        .position(|h| h.name == silence.entity)
        .unwrap();
    let flows_in = |recs: &[Record]| {
        recs.iter()
            .filter(|r| matches!(r, Record::Flow { t, host: h, .. } if *h == host && (silence.start..silence.end).contains(t)))
            .count()
    };
    assert_eq!(flows_in(&m.day(day)), 0);
    assert!(flows_in(&clean.day(day)) > 0);
}

#[test]
fn the_month_holds_the_mid_autumn_and_national_day_holidays_and_the_make_up_days() {
    assert_eq!(DAYS, 30);
    let holidays = (0..DAYS).filter(|d| Day::of(*d) == Day::Holiday).count();
    // Mid-Autumn (09-25 … 09-27) and National Day (10-01 … 10-07).
    assert_eq!(holidays, 10);
    assert_eq!(Day::of(11), Day::Holiday);
    assert_eq!(Day::of(6), Day::MakeUp);
    assert_eq!(Day::of(26), Day::MakeUp);
    let m = Month::new(1, false);
    let flows = |d| {
        m.day(d)
            .iter()
            .filter(|r| matches!(r, Record::Flow { .. }))
            .count()
    };
    // A make-up Sunday is busy like a Wednesday; a holiday Wednesday is quiet.
    assert!(flows(6) as f64 > 1.5 * flows(20) as f64);
    assert!((flows(6) as f64 / flows(2) as f64 - 1.0).abs() < 0.2);
}
