use super::*;
use crate::explain::Reason;

use crate::kind::baseline::support::{DAY, Driver, HOUR, MONDAY, Noise, WEEK};

use crate::calendar::Calendar;

const MB: f64 = 1_000_000.0;

fn utc8() -> Calendar {
    Calendar::new(8 * 3600)
}

/// A database user's working day: 09:00–18:00, 100 queries an hour sending about 50 MB in
/// all (± 40 %); `times` multiplies the hour starting at `at`.
fn user_day(d: &mut Driver<State>, day: i64, noise: &mut Noise, at: Option<(i64, f64)>) {
    for h in 9..18 {
        let mut per = 0.5 * MB * noise.factor(0.4);
        if let Some((hour, times)) = at
            && hour == h
        {
            per *= times;
        }
        d.spread(day + h * HOUR, HOUR, 100, Some(per));
    }
}

fn learnt(yaml: &str) -> (Driver<State>, Noise) {
    let mut d = Driver::<State>::new(yaml, utc8());
    let mut noise = Noise::new(11);
    for w in 0..3 {
        for day in 0..5 {
            user_day(&mut d, MONDAY + w * WEEK + day * DAY, &mut noise, None);
        }
    }
    let early = d.take();
    assert!(early.is_empty(), "ordinary weeks flagged: {early:?}");
    (d, noise)
}

const YAML: &str = "kind: outlier\nfield: source.bytes\ngroup-by: user.name";

#[test]
fn flags_a_tenfold_hour_early_in_the_bucket() {
    let (mut d, mut noise) = learnt(YAML);
    let wed = MONDAY + 3 * WEEK + 2 * DAY;
    user_day(&mut d, MONDAY + 3 * WEEK, &mut noise, None);
    user_day(&mut d, wed, &mut noise, Some((15, 10.0)));
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(d.counters.findings, 1);
    let f = &found[0];
    let Reason::Outlier {
        ref field,
        value,
        high,
        hour,
        day,
        ..
    } = f.reason
    else {
        panic!("not an outlier: {f:?}");
    };
    assert_eq!(
        (field.as_str(), hour, day),
        ("source.bytes", 15, Some(DayKind::Workday))
    );
    assert!(
        value >= high && high > 50.0 * MB && high < 200.0 * MB,
        "{value} over {high}"
    );
    let into = f.time.secs() - (wed + 15 * HOUR);
    assert!(
        (0..HOUR * 3 / 10).contains(&into),
        "reported {into} s into the hour"
    );
    assert!(f.score >= 50.0, "{}", f.score);
    assert!(f.observed.contains("source.bytes in 1 h"), "{}", f.observed);
}

#[test]
fn a_normal_busy_hour_is_not_an_outlier_and_an_outlier_does_not_become_normal() {
    let (mut d, mut noise) = learnt(YAML);
    let week = MONDAY + 3 * WEEK;
    user_day(&mut d, week, &mut noise, Some((11, 1.8)));
    assert!(d.take().is_empty());
    // Tenfold three days running at the same hour: flagged each time.
    for day in 1..4 {
        user_day(&mut d, week + day * DAY, &mut noise, Some((16, 10.0)));
    }
    assert_eq!(d.take().len(), 3);
}

#[test]
fn min_ratio_asks_for_that_many_times_the_usual_hour() {
    // Tenfold passes the band and a ratio of 8; fivefold passes the band but not the ratio.
    let (mut d, mut noise) = learnt(&format!("{YAML}\nmin-ratio: 8"));
    let week = MONDAY + 3 * WEEK;
    user_day(&mut d, week, &mut noise, Some((10, 5.0)));
    assert!(d.take().is_empty(), "fivefold is under the ratio");
    user_day(&mut d, week + DAY, &mut noise, Some((10, 10.0)));
    assert_eq!(d.take().len(), 1);
    let (mut d, mut noise) = learnt(YAML);
    user_day(&mut d, week, &mut noise, Some((10, 5.0)));
    assert_eq!(d.take().len(), 1, "fivefold is over the band alone");
}

#[test]
fn min_value_and_direction_down() {
    let (mut d, mut noise) = learnt(&format!("{YAML}\nmin-value: 10000000000"));
    user_day(&mut d, MONDAY + 3 * WEEK, &mut noise, Some((10, 10.0)));
    assert!(d.take().is_empty(), "under min-value");
    let (mut d, mut noise) = learnt(&format!("{YAML}\ndirection: down"));
    let mon = MONDAY + 3 * WEEK;
    user_day(&mut d, mon, &mut noise, Some((10, 0.01)));
    user_day(&mut d, mon + DAY, &mut noise, Some((10, 10.0)));
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(found[0].reason, Reason::Outlier { hour: 10, value, low, .. } if value < low));
    assert_eq!(
        found[0].time.secs(),
        mon + 11 * HOUR,
        "at the bucket's close"
    );
}

#[test]
fn without_seasonality_one_profile_judges_and_max_aggregates() {
    let yaml = format!("{YAML}\nseasonal: none\naggregate: max\nbucket: 10m");
    let mut d = Driver::<State>::new(&yaml, utc8());
    assert_eq!(d.params.aggregate, Aggregate::Max);
    let mut noise = Noise::new(5);
    for i in 0..200 {
        d.spread(MONDAY + i * 600, 600, 5, Some(1000.0 * noise.factor(0.3)));
    }
    assert!(d.take().is_empty());
    d.event(MONDAY + 200 * 600 + 5, Some(900.0));
    d.event(MONDAY + 200 * 600 + 9, Some(90_000.0));
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        matches!(found[0].reason, Reason::Outlier { value, day: None, .. } if value == 90_000.0)
    );
}

#[test]
fn state_stays_the_same_size_after_months_of_events() {
    let mut d = Driver::<State>::new(YAML, utc8());
    d.event(MONDAY, Some(1.0));
    let at_start = d.state.as_ref().map(Kind::heap_bytes);
    let mut noise = Noise::new(2);
    for day in 0..120 {
        user_day(&mut d, MONDAY + day * DAY, &mut noise, None);
    }
    let state = d.state.as_ref().expect("a state");
    assert_eq!(Some(state.heap_bytes()), at_start);
    assert_eq!(state.heap_bytes(), 49 * 6);
    let total = state.heap_bytes() + std::mem::size_of::<State>();
    assert!(total < 400, "{total} bytes per group");
    let bytes = serde_json::to_vec(state).expect("serializes");
    let back: State = serde_json::from_slice(&bytes).expect("deserializes");
    assert_eq!(back.profiles.len(), 49);
}

#[test]
fn parameters_have_defaults_and_bad_ones_are_named() {
    let d = Driver::<State>::new(YAML, utc8());
    assert_eq!(
        d.params,
        Params {
            field: "source.bytes".into(),
            bucket_secs: 3600,
            aggregate: Aggregate::Sum,
            direction: Direction::Up,
            sensitivity: 3.5,
            min_value: 0.0,
            min_ratio: 1.0,
            seasonal: Seasonal::DayKindHour,
        }
    );
    for (yaml, key) in [
        ("kind: outlier", "anomaly.field"),
        ("field: b\naggregate: mean", "anomaly.aggregate"),
        ("field: b\nseasonal: weekly", "anomaly.seasonal"),
        ("field: b\nmin-value: lots", "anomaly.min-value"),
        ("field: b\nmin-ratio: 0.5", "anomaly.min-ratio"),
        ("field: b\nsilence: true", "anomaly.silence"),
    ] {
        let map: Mapping = serde_norway::from_str(yaml).expect("yaml");
        let err = State::parse(&map).expect_err(yaml);
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn events_more_than_a_bucket_late_are_not_counted() {
    let (mut d, mut noise) = learnt(YAML);
    let mon = MONDAY + 3 * WEEK;
    user_day(&mut d, mon, &mut noise, None);
    d.spread(mon - 2 * DAY, 600, 100, Some(5.0 * MB));
    assert!(d.take().is_empty());
}
