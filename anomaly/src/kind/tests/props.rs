//! Whatever the stream — out of order, gaps of months, odd numbers — the numeric kinds do not
//! panic, keep their size and score within 0 to 100.

use proptest::prelude::*;

use crate::calendar::Calendar;
use crate::kind::baseline::support::{DAY, Driver, MONDAY};
use crate::kind::{Kind, outlier, time_of_day, volume};

fn stream() -> impl Strategy<Value = Vec<(i64, f64)>> {
    prop::collection::vec(
        (
            -3 * DAY..200 * DAY,
            prop_oneof![
                Just(1.0),
                0.0..1e12f64,
                Just(-5.0),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(1e300),
            ],
        ),
        1..300,
    )
}

fn check<K: Kind>(yaml: &str, mut events: Vec<(i64, f64)>, sorted: bool) {
    if sorted {
        events.sort_by_key(|e| e.0);
    }
    let mut d = Driver::<K>::new(yaml, Calendar::china());
    let mut size = None;
    for (t, n) in events {
        d.event(MONDAY + t, Some(n));
        let heap = d.state.as_ref().map(Kind::heap_bytes);
        assert_eq!(*size.get_or_insert(heap), heap);
    }
    for f in d.take() {
        assert!((0.0..=100.0).contains(&f.score), "{f:?}");
        assert!(!f.expected.is_empty() && !f.observed.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn volume_survives_any_stream(events in stream(), sorted in any::<bool>()) {
        check::<volume::State>("kind: volume\nbucket: 10m\nweight: n\nmin-count: 0", events, sorted);
    }

    #[test]
    fn outlier_survives_any_stream(events in stream(), sorted in any::<bool>()) {
        check::<outlier::State>("kind: outlier\nfield: n\ndirection: both", events, sorted);
    }

    #[test]
    fn time_of_day_survives_any_stream(events in stream(), sorted in any::<bool>()) {
        check::<time_of_day::State>("kind: time_of_day\nmin-total: 1", events, sorted);
    }
}
