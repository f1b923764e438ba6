//! A live stream connection's allowance of alert messages.

/// A connection's allowance of alert messages (a token bucket of `[stream] alerts_per_sec`
/// filled a second's worth at most), and the alerts skipped since it last said so. A wall
/// screen cannot show an alert storm one by one; sending every alert to every client made
/// the stream cost a fifth of the node's throughput in the end-to-end bench.
#[derive(Debug)]
pub(super) struct Allowance {
    per_sec: f64,
    tokens: f64,
    at: std::time::Instant,
    skipped: u64,
    first: u64,
    last: u64,
}

impl Allowance {
    pub(super) fn new(per_sec: u32) -> Self {
        Allowance {
            per_sec: f64::from(per_sec),
            tokens: f64::from(per_sec),
            at: std::time::Instant::now(),
            skipped: 0,
            first: 0,
            last: 0,
        }
    }

    /// Add what the time since the last refill earned (once per read of the ring, not per
    /// alert: the clock is read once for a batch).
    pub(super) fn refill(&mut self) {
        if self.per_sec <= 0.0 {
            return;
        }
        let now = std::time::Instant::now();
        let gained = now.duration_since(self.at).as_secs_f64() * self.per_sec;
        self.tokens = (self.tokens + gained).min(self.per_sec);
        self.at = now;
    }

    /// May one more alert go now? If not, it is counted as skipped.
    pub(super) fn take(&mut self, id: u64) -> bool {
        if self.per_sec <= 0.0 {
            return true;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        if self.skipped == 0 {
            self.first = id;
        }
        self.skipped += 1;
        self.last = id;
        false
    }

    /// `event: skipped` for the alerts skipped since the last one (its id the last skipped,
    /// so a reconnect resumes after them), or nothing.
    pub(super) fn said(&mut self) -> Option<Vec<u8>> {
        if self.skipped == 0 {
            return None;
        }
        let frame = format!(
            "id: {}\nevent: skipped\ndata: {{\"count\":{},\"from\":{},\"to\":{}}}\n\n",
            self.last, self.skipped, self.first, self.last
        );
        self.skipped = 0;
        Some(frame.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn alerts_past_the_allowance_are_counted_as_skipped() {
        let mut a = Allowance::new(3);
        assert!((1..=3).all(|id| a.take(id)));
        assert!(!a.take(4));
        assert!(!a.take(5));
        let said = String::from_utf8(a.said().unwrap()).unwrap();
        assert_eq!(
            said,
            "id: 5\nevent: skipped\ndata: {\"count\":2,\"from\":4,\"to\":5}\n\n"
        );
        assert!(a.said().is_none(), "said once");
        // A third of a second later, one more may go.
        a.at -= Duration::from_millis(340);
        a.refill();
        assert!(a.take(6));
        assert!(!a.take(7));
        // No limit.
        let mut free = Allowance::new(0);
        assert!((1..=10_000).all(|id| free.take(id)));
        assert!(free.said().is_none());
    }
}
