//! Records whose own time the store would lose or misplace: one stamped before the retention
//! window would be dropped by the next retention pass, hours after it was accepted; one stamped
//! far ahead would sort before everything real for months. Both come from a sender with a wrong
//! clock. Such an event keeps its claimed time in [`CLAIMED_TIME`], the skew in
//! [`CLOCK_SKEW_SECONDS`], and is stored at its receive time, so retention counts from receipt.
//! Each is counted in `onewall_ingest_clock_skew_total{direction}` and the source is named in a
//! WARN at most once a minute.
//!
//! The decision depends on the event alone (its time and receive time), so an event replayed
//! from the spool after a crash is treated the same way again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use metrics::counter;
use onewall_model::{Event, Value};
use tracing::warn;

/// The record's own time, when the event is stored at its receive time instead.
pub const CLAIMED_TIME: &str = "onewall.claimed_time";
/// Receive time minus the record's own time, in seconds: positive when the sender's clock is
/// behind, negative when ahead. Set only on events stored at their receive time.
pub const CLOCK_SKEW_SECONDS: &str = "event.clock_skew_seconds";

/// How often one source is named in a WARN, at most.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Sources remembered for the WARN throttle; past this the memory starts afresh.
const WARN_SOURCES: usize = 4096;

/// The bounds an event's own time must keep relative to its receive time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockCheck {
    /// Seconds before its receive time past which an event would not outlive the next
    /// retention pass by a day; `None` when events are kept forever.
    pub max_past_secs: Option<i64>,
    /// Seconds after its receive time an event may claim.
    pub max_future_secs: i64,
}

impl ClockCheck {
    /// For events kept `retention_days` (0: forever) and senders up to `max_future_skew_secs`
    /// ahead. A day of margin below the retention keeps an event from being dropped within a
    /// day of its arrival (retention drops whole days).
    pub fn new(retention_days: u32, max_future_skew_secs: u64) -> Self {
        ClockCheck {
            max_past_secs: (retention_days > 0)
                .then(|| i64::from(retention_days.saturating_sub(1).max(1)) * 86_400),
            max_future_secs: i64::try_from(max_future_skew_secs).unwrap_or(i64::MAX),
        }
    }

    /// Move each event whose time is out of bounds to its receive time, flagging it.
    pub fn apply(&self, events: &mut [Event], warnings: &mut SkewWarnings) {
        for e in events {
            let skew = e.received.secs().saturating_sub(e.time.secs());
            let direction = if self.max_past_secs.is_some_and(|max| skew > max) {
                "past"
            } else if skew
                .checked_neg()
                .is_some_and(|ahead| ahead > self.max_future_secs)
            {
                "future"
            } else {
                continue;
            };
            e.fields.insert(CLAIMED_TIME, Value::Time(e.time));
            e.fields.insert(CLOCK_SKEW_SECONDS, Value::Int(skew));
            e.time = e.received;
            counter!("onewall_ingest_clock_skew_total", "direction" => direction).increment(1);
            warnings.warn(e, direction, skew);
        }
    }
}

/// The WARN throttle: when each source was last named.
#[derive(Debug, Default)]
pub struct SkewWarnings {
    last: HashMap<String, Instant>,
}

impl SkewWarnings {
    fn warn(&mut self, e: &Event, direction: &'static str, skew: i64) {
        let source = match e.source.peer {
            Some(peer) => format!("{} {}", e.source.collector.as_str(), peer.ip()),
            None => e.source.collector.as_str().to_owned(),
        };
        let now = Instant::now();
        if self
            .last
            .get(&source)
            .is_some_and(|t| now.duration_since(*t) < WARN_EVERY)
        {
            return;
        }
        if self.last.len() >= WARN_SOURCES {
            self.last.clear();
        }
        warn!(
            source = %source,
            direction,
            skew_seconds = skew,
            "a sender's clock is off: its events are stored at their receive time, their own \
             time kept in {CLAIMED_TIME}"
        );
        self.last.insert(source, now);
    }
}

#[cfg(test)]
mod tests {
    use onewall_model::{RegionCode, Source, Timestamp};

    use super::*;

    fn event(received: i64, time: i64) -> Event {
        let mut e = Event::new(
            Timestamp::from_secs(received),
            RegionCode::new(410000).expect("region"),
            Source::new("syslog_tcp", None),
            b"line",
        );
        e.time = Timestamp::from_secs(time);
        e
    }

    #[test]
    fn out_of_bounds_times_move_to_receipt_and_are_flagged() {
        let day = 86_400;
        let now = 1_800_000_000;
        let check = ClockCheck::new(186, 3600);
        let mut events = vec![
            event(now, now - 365 * day),
            event(now, now - 10 * day),
            event(now, now + 7200),
            event(now, now + 60),
        ];
        check.apply(&mut events, &mut SkewWarnings::default());
        let [old, recent, ahead, close] = &events[..] else {
            panic!("four events")
        };
        assert_eq!(old.time, old.received);
        assert_eq!(
            old.get(CLAIMED_TIME),
            Some(&Value::Time(Timestamp::from_secs(now - 365 * day)))
        );
        assert_eq!(old.get(CLOCK_SKEW_SECONDS), Some(&Value::Int(365 * day)));
        assert_eq!(ahead.time, ahead.received);
        assert_eq!(ahead.get(CLOCK_SKEW_SECONDS), Some(&Value::Int(-7200)));
        for e in [recent, close] {
            assert_ne!(e.time, e.received);
            assert_eq!(e.get(CLAIMED_TIME), None);
        }
        // Kept forever: nothing is too old.
        let mut kept = vec![event(now, now - 3650 * day)];
        ClockCheck::new(0, 3600).apply(&mut kept, &mut SkewWarnings::default());
        assert_eq!(kept[0].get(CLAIMED_TIME), None);
    }
}
