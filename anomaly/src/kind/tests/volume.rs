use super::*;
use crate::explain::Reason;

use crate::kind::baseline::support::{DAY, Driver, HOUR, MONDAY, Noise, WEEK, date};

use crate::calendar::Calendar;

fn utc8() -> Calendar {
    Calendar::new(8 * 3600)
}

/// A host's day: 300 events an hour from 09:00 to 18:00 on working days, 20 otherwise.
fn host_day(d: &mut Driver<State>, day_start: i64, working: bool, noise: &mut Noise) {
    for h in 0..24 {
        let base = if working && (9..18).contains(&h) {
            300.0
        } else {
            20.0
        };
        let n = (base * noise.factor(0.1)).round() as u32;
        d.spread(day_start + h * HOUR, HOUR, n, None);
    }
}

fn normal_weeks(d: &mut Driver<State>, from_week: i64, weeks: i64, noise: &mut Noise) {
    for w in from_week..from_week + weeks {
        for day in 0..7 {
            host_day(d, MONDAY + w * WEEK + day * DAY, day < 5, noise);
        }
    }
}

fn learnt(calendar: Calendar, yaml: &str) -> (Driver<State>, Noise) {
    let mut d = Driver::<State>::new(yaml, calendar);
    let mut noise = Noise::new(7);
    normal_weeks(&mut d, 0, 4, &mut noise);
    let early = d.take();
    assert!(early.is_empty(), "ordinary weeks flagged: {early:?}");
    (d, noise)
}

#[test]
fn learns_a_weekly_rhythm_then_flags_a_spike_as_it_happens() {
    let (mut d, mut noise) = learnt(utc8(), "kind: volume");
    let week = MONDAY + 4 * WEEK;
    host_day(&mut d, week, true, &mut noise);
    host_day(&mut d, week + DAY, true, &mut noise);
    let wed = week + 2 * DAY;
    for h in 0..24 {
        let n = if h == 14 {
            3000
        } else if (9..18).contains(&h) {
            300
        } else {
            20
        };
        d.spread(wed + h * HOUR, HOUR, n, None);
    }
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(d.counters.findings, 1);
    let f = &found[0];
    let Reason::Spike {
        count,
        low,
        high,
        hour,
        ..
    } = f.reason
    else {
        panic!("not a spike: {f:?}");
    };
    assert_eq!(hour, 14);
    assert!(
        (200.0..300.0).contains(&low) && (300.0..420.0).contains(&high),
        "{low}–{high}"
    );
    assert!(
        count > high && count < 500.0,
        "reported as it passed the band: {count}"
    );
    let at = f.time.secs() - (wed + 14 * HOUR);
    assert!((0..15 * 60).contains(&at), "reported {at} s into the hour");
    assert!(f.score >= 50.0 && f.score <= 100.0, "{}", f.score);
    assert!(f.observed.ends_with("events in 1 h"), "{}", f.observed);
    assert!(f.expected.ends_with("events per hour"), "{}", f.expected);
    assert!(f.baseline_secs > 4 * WEEK - DAY, "{}", f.baseline_secs);
}

#[test]
fn a_spike_does_not_poison_the_baseline() {
    let (mut d, mut noise) = learnt(utc8(), "kind: volume");
    // Three weeks in a row a spike at Wednesday 14:00: each is still a spike.
    for w in 4..7 {
        let wed = MONDAY + w * WEEK + 2 * DAY;
        for day in 0..7 {
            let start = MONDAY + w * WEEK + day * DAY;
            if start == wed {
                for h in 0..24 {
                    let n = if h == 14 {
                        3000
                    } else if (9..18).contains(&h) {
                        300
                    } else {
                        20
                    };
                    d.spread(start + h * HOUR, HOUR, n, None);
                }
            } else {
                host_day(&mut d, start, day < 5, &mut noise);
            }
        }
    }
    let spikes = d
        .take()
        .iter()
        .filter(|f| matches!(f.reason, Reason::Spike { .. }))
        .count();
    assert_eq!(spikes, 3);
}

#[test]
fn flags_a_drop_when_its_bucket_closes() {
    let (mut d, mut noise) = learnt(utc8(), "kind: volume");
    let mon = MONDAY + 4 * WEEK;
    for h in 0..24 {
        let n = match h {
            10 => 60,
            9..18 => 300,
            _ => 20,
        };
        d.spread(mon + h * HOUR, HOUR, n, None);
    }
    host_day(&mut d, mon + DAY, true, &mut noise);
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(found[0].reason, Reason::Drop { count, hour: 10, .. } if count == 60.0));
    assert_eq!(found[0].time.secs(), mon + 11 * HOUR);
    // Direction `up` does not report it.
    let (mut up, _) = learnt(utc8(), "kind: volume\ndirection: up");
    for h in 0..24 {
        let n = if h == 10 { 60 } else { 300 };
        up.spread(
            mon + h * HOUR,
            HOUR,
            n.min(if (9..18).contains(&h) { 300 } else { 20 }),
            None,
        );
    }
    up.advance_to(mon + DAY);
    assert!(up.take().is_empty());
}

#[test]
fn silence_is_reported_once_until_the_group_comes_back() {
    let (mut d, _) = learnt(utc8(), "kind: volume");
    let mon = MONDAY + 4 * WEEK;
    for h in 0..9 {
        d.spread(mon + h * HOUR, HOUR, 20, None);
    }
    // The watermark moves on (other groups), this host sends nothing until Tuesday 09:00.
    for h in 9..33 {
        d.advance_to(mon + h * HOUR + 1);
    }
    for h in 33..36 {
        d.spread(mon + h * HOUR, HOUR, 300, None);
    }
    for h in 36..40 {
        d.advance_to(mon + h * HOUR + 1);
    }
    let found = d.take();
    let silent: Vec<_> = found
        .iter()
        .filter_map(|f| match f.reason {
            Reason::Silent {
                silent_secs,
                expected_low,
                ..
            } => Some((f.time.secs(), silent_secs, expected_low)),
            _ => None,
        })
        .collect();
    assert_eq!(silent.len(), 2, "{found:?}");
    assert_eq!(silent[0].0, mon + 10 * HOUR);
    assert!(silent[0].1 >= HOUR && silent[0].2 > 150.0, "{silent:?}");
    assert_eq!(silent[1].0, mon + 37 * HOUR);
    assert_eq!(found.len(), 2, "only silence: {found:?}");
    // With `silence: false` nothing is said.
    let (mut quiet, _) = learnt(utc8(), "kind: volume\nsilence: false");
    for h in 0..12 {
        quiet.advance_to(mon + h * HOUR + 1);
    }
    assert!(quiet.take().is_empty());
}

/// A week of holidays (Monday to Friday, 9 days off with the weekends) and a make-up working
/// Saturday after it.
fn holiday_calendar() -> Calendar {
    let mut c = utc8();
    for day in 28..33 {
        c.add_holiday(date(day));
    }
    c.add_workday(date(40));
    c
}

fn holiday_traffic(d: &mut Driver<State>, noise: &mut Noise) {
    // Week 5: the holiday, traffic as on a Sunday.
    for day in 0..7 {
        host_day(d, MONDAY + 4 * WEEK + day * DAY, false, noise);
    }
    // Week 6: working days and the make-up Saturday; then the Monday after.
    for day in 0..7 {
        host_day(d, MONDAY + 5 * WEEK + day * DAY, day < 6, noise);
    }
    host_day(d, MONDAY + 6 * WEEK, true, noise);
    d.advance_to(MONDAY + 6 * WEEK + DAY + 1);
}

#[test]
fn a_holiday_week_and_its_make_up_saturday_are_not_anomalies() {
    let (mut d, mut noise) = learnt(holiday_calendar(), "kind: volume");
    holiday_traffic(&mut d, &mut noise);
    let found = d.take();
    assert!(found.is_empty(), "{found:?}");
    // The same traffic without the calendar's holidays is flagged (silence, drops, spikes).
    let (mut plain, mut noise) = learnt(utc8(), "kind: volume");
    holiday_traffic(&mut plain, &mut noise);
    assert!(!plain.take().is_empty());
}

#[test]
fn ten_minute_buckets_judge_each_bucket_against_its_hour() {
    let (mut d, mut noise) = learnt(utc8(), "kind: volume\nbucket: 10m\nmin-count: 5");
    let mon = MONDAY + 4 * WEEK;
    host_day(&mut d, mon, true, &mut noise);
    // Tuesday 15:20–15:30: 400 events where about 50 are usual.
    let tue = mon + DAY;
    for h in 0..24 {
        let n = if (9..18).contains(&h) { 300 } else { 20 };
        if h == 15 {
            d.spread(tue + h * HOUR, 20 * 60, 100, None);
            d.spread(tue + h * HOUR + 20 * 60, 600, 400, None);
            d.spread(tue + h * HOUR + 30 * 60, 30 * 60, 150, None);
        } else {
            d.spread(tue + h * HOUR, HOUR, n, None);
        }
    }
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(
        found[0].reason,
        Reason::Spike {
            hour: 15,
            minute: 20,
            bucket_secs: 600,
            ..
        }
    ));
    assert!(
        found[0].expected.ends_with("per 10 min"),
        "{}",
        found[0].expected
    );
}

#[test]
fn a_weight_field_counts_instead_of_events() {
    let mut d = Driver::<State>::new("kind: volume\nweight: network.packets", utc8());
    assert_eq!(d.params.weight.as_deref(), Some("network.packets"));
    for w in 0..3 {
        for h in 0..(7 * 24) {
            d.spread(MONDAY + w * WEEK + h * HOUR, HOUR, 10, Some(100.0));
        }
    }
    assert!(d.take().is_empty());
    // Same number of flows, ten times the packets.
    d.spread(MONDAY + 3 * WEEK, HOUR, 10, Some(1000.0));
    let found = d.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(found[0].reason, Reason::Spike { .. }));
}

#[test]
fn state_stays_the_same_size_after_months_of_events() {
    let mut d = Driver::<State>::new("kind: volume", utc8());
    d.event(MONDAY, None);
    let at_start = d.state.as_ref().map(Kind::heap_bytes);
    let mut noise = Noise::new(3);
    normal_weeks(&mut d, 0, 13, &mut noise);
    let state = d.state.as_ref().expect("a state");
    assert_eq!(Some(state.heap_bytes()), at_start);
    assert_eq!(state.heap_bytes(), 168 * 4 * 2);
    let total = state.heap_bytes() + std::mem::size_of::<State>();
    assert!(total < 1536, "{total} bytes per group");
    // A snapshot round trip keeps the baseline.
    let bytes = serde_json::to_vec(state).expect("serializes");
    let back: State = serde_json::from_slice(&bytes).expect("deserializes");
    assert_eq!(back.ring, state.ring);
}

#[test]
fn parameters_have_defaults_and_bad_ones_are_named() {
    let d = Driver::<State>::new("kind: volume\ngroup-by: [source.ip]", utc8());
    assert_eq!(
        d.params,
        Params {
            bucket_secs: 3600,
            direction: Direction::Both,
            sensitivity: 4.0,
            min_count: 10.0,
            silence: true,
            weight: None,
        }
    );
    for (yaml, key) in [
        ("bucket: 7h", "anomaly.bucket"),
        ("direction: sideways", "anomaly.direction"),
        ("min-count: -3", "anomaly.min-count"),
        ("silence: maybe", "anomaly.silence"),
        ("treshold: 3", "anomaly.treshold"),
    ] {
        let map: Mapping = serde_norway::from_str(yaml).expect("yaml");
        let err = State::parse(&map).expect_err(yaml);
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn events_more_than_a_bucket_late_are_not_counted() {
    let (mut d, _) = learnt(utc8(), "kind: volume");
    let mon = MONDAY + 4 * WEEK;
    d.spread(mon, HOUR, 20, None);
    d.spread(mon + HOUR, 60, 5, None);
    // A backlog of 3,000 events from a day ago is not a spike now.
    d.spread(mon - DAY, 600, 3000, None);
    assert!(d.take().is_empty());
    assert_eq!(d.state.as_ref().map(|s| s.count), Some(5.0));
}
