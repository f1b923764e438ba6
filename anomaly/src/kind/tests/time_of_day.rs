use super::*;
use crate::calendar::Calendar;
use crate::kind::baseline::support::{DAY, Driver, HOUR, MONDAY, WEEK, date};

fn utc8() -> Calendar {
    Calendar::new(8 * 3600)
}

/// A 9-to-6 user: events every 10 minutes from 09:00 to 18:00 on working days.
fn office_weeks(d: &mut Driver<State>, weeks: i64) {
    for w in 0..weeks {
        for day in 0..5 {
            d.spread(MONDAY + w * WEEK + day * DAY + 9 * HOUR, 9 * HOUR, 54, None);
        }
    }
}

fn learnt(yaml: &str, calendar: Calendar) -> Driver<State> {
    let mut d = Driver::<State>::new(yaml, calendar);
    office_weeks(&mut d, 3);
    let early = d.take();
    assert!(early.is_empty(), "usual hours flagged: {early:?}");
    d
}

#[test]
fn flags_three_in_the_morning_for_a_nine_to_six_user_once_per_hour() {
    let mut d = learnt("kind: time_of_day", utc8());
    let wed = MONDAY + 3 * WEEK + 2 * DAY;
    d.spread(wed + 3 * HOUR, HOUR, 40, None);
    d.spread(wed + 10 * HOUR, HOUR, 6, None);
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(d.counters.findings, 1);
    let f = &found[0];
    assert_eq!(
        f.reason,
        Reason::OffHours {
            hour: 3,
            day: DayKind::Workday,
            usual: "09:00–18:00".into(),
        }
    );
    assert_eq!(f.time.secs(), wed + 3 * HOUR);
    assert_eq!(f.score, 100.0);
    assert_eq!(f.observed, "03:00 on a working day");
    assert_eq!(f.expected, "09:00–18:00 on working days");
    assert_eq!((f.expected_low, f.expected_high), (Some(9.0), Some(18.0)));
    // The next night at 03:00 is flagged again (one burst does not make it usual).
    d.spread(wed + DAY + 3 * HOUR, 600, 5, None);
    assert_eq!(d.take().len(), 1);
}

#[test]
fn rest_days_fall_back_to_both_profiles_until_they_have_their_own() {
    let mut d = learnt("kind: time_of_day", utc8());
    let sat = MONDAY + 3 * WEEK + 5 * DAY;
    d.spread(sat + 11 * HOUR, HOUR, 3, None);
    assert!(d.take().is_empty(), "a usual hour on a Saturday");
    d.spread(sat + 23 * HOUR, HOUR, 3, None);
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(
        found[0].reason,
        Reason::OffHours {
            hour: 23,
            day: DayKind::Weekend,
            ..
        }
    ));
    assert_eq!(found[0].expected, "09:00–18:00", "judged by both profiles");
    // A holiday Thursday is a rest day too.
    let mut cal = utc8();
    cal.add_holiday(date(3 * 7 + 3));
    let mut h = learnt("kind: time_of_day", cal);
    h.spread(MONDAY + 3 * WEEK + 3 * DAY + 2 * HOUR, HOUR, 2, None);
    let found = h.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(
        found[0].reason,
        Reason::OffHours {
            day: DayKind::Holiday,
            hour: 2,
            ..
        }
    ));
}

#[test]
fn nothing_is_judged_before_min_total_observations() {
    let mut d = Driver::<State>::new("kind: time_of_day\nmin-total: 500", utc8());
    office_weeks(&mut d, 3);
    d.event(MONDAY + 3 * WEEK + 3 * HOUR, None);
    assert!(d.take().is_empty(), "135 active hours < 500");
}

#[test]
fn a_night_shift_has_usual_hours_past_midnight() {
    let mut d = Driver::<State>::new("kind: time_of_day\nday-classes: none", utc8());
    for day in 0..21 {
        d.spread(MONDAY + day * DAY + 22 * HOUR, 8 * HOUR, 48, None);
    }
    assert!(d.take().is_empty());
    d.event(MONDAY + 21 * DAY + 12 * HOUR, None);
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0].reason, Reason::OffHours { usual, .. } if usual == "22:00–06:00"));
    assert_eq!(found[0].expected, "22:00–06:00");
}

#[test]
fn usual_span_is_the_complement_of_the_longest_gap() {
    let mut u = [false; 24];
    assert_eq!(usual_span(&u), None);
    u[8..19].fill(true);
    assert_eq!(usual_span(&u), Some((8, 19)));
    u[0] = true;
    assert_eq!(usual_span(&u), Some((8, 1)));
    assert_eq!(usual_span(&[true; 24]), Some((0, 24)));
}

#[test]
fn state_stays_the_same_size_after_months_of_events() {
    let mut d = Driver::<State>::new("kind: time_of_day", utc8());
    // A service busy every hour for half a year: counters are halved, never overflow.
    for hour in 0..(26 * 7 * 24) {
        d.spread(MONDAY + hour * HOUR, HOUR, 3, None);
    }
    let state = d.state.as_ref().expect("a state");
    assert_eq!(state.heap_bytes(), 0);
    assert!(
        std::mem::size_of::<State>() <= 160,
        "{}",
        std::mem::size_of::<State>()
    );
    assert!(state.totals[0] < 2 * 28 * 24, "halved: {:?}", state.totals);
    assert!(d.take().is_empty());
}

#[test]
fn parameters_have_defaults_and_bad_ones_are_named() {
    let d = Driver::<State>::new("kind: time_of_day", utc8());
    assert_eq!(
        d.params,
        Params {
            threshold: 0.01,
            min_total: 50,
            day_classes: true,
        }
    );
    for (yaml, key) in [
        ("threshold: 2", "anomaly.threshold"),
        ("min-total: 0", "anomaly.min-total"),
        ("day-classes: weekly", "anomaly.day-classes"),
        ("bucket: 1h", "anomaly.bucket"),
    ] {
        let map: Mapping = serde_norway::from_str(yaml).expect("yaml");
        let err = State::parse(&map).expect_err(yaml);
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn an_event_late_from_an_earlier_hour_is_neither_counted_nor_judged() {
    let mut d = learnt("kind: time_of_day", utc8());
    let wed = MONDAY + 3 * WEEK + 2 * DAY;
    d.event(wed + 10 * HOUR, None);
    d.event(wed + 3 * HOUR, None);
    d.event(wed + 10 * HOUR + 60, None);
    assert!(d.take().is_empty());
}
