//! Export sequence numbers per exporter: gaps (records or datagrams lost on the way),
//! late arrivals, and exporter restarts (the sequence starting over).

use std::collections::HashMap;
use std::net::SocketAddr;

/// One export stream: the sender, its protocol version and its observation domain (NetFlow v9
/// source id, IPFIX observation domain, sFlow sub-agent; 0 for v5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The exporter's address (for sFlow, the agent address with the sender's port).
    pub exporter: SocketAddr,
    /// 5, 9, 10 (IPFIX) or 0x5f (sFlow v5, so it never meets NetFlow v5's key).
    pub version: u16,
    /// Source id, observation domain id or sub-agent id.
    pub domain: u32,
}

/// What one export stream has shown so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Datagrams seen.
    pub datagrams: u64,
    /// Flow records (or samples) taken from them.
    pub records: u64,
    /// Times the sequence jumped ahead.
    pub gaps: u64,
    /// Sequence units skipped by those jumps (records for v5 and IPFIX, datagrams for v9 and
    /// sFlow).
    pub lost: u64,
    /// Datagrams that arrived after a later one.
    pub late: u64,
    /// Times the exporter started over.
    pub restarts: u64,
}

/// What a datagram's sequence number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceOutcome {
    /// The first datagram of the stream.
    First,
    /// The expected number.
    InOrder,
    /// The sequence jumped ahead by this many units.
    Gap(u64),
    /// Behind what was expected, without a restart: reordered or duplicated on the way.
    Late,
    /// The exporter started over (its sequence went back to the start or its uptime went
    /// back).
    Restart,
}

#[derive(Debug, Clone, Copy)]
struct StreamState {
    last_seq: u32,
    last_increment: u32,
    last_uptime: Option<u32>,
    stats: StreamStats,
}

/// Sequence state of every stream one socket hears, bounded: past `max_streams` new streams
/// are not tracked (their records still flow; only the gap accounting is skipped).
#[derive(Debug)]
pub struct SequenceTracker {
    streams: HashMap<StreamKey, StreamState>,
    max_streams: usize,
}

/// How far back a sequence number may go and still be a late datagram rather than a restart.
const LATE_WINDOW: i64 = 1 << 20;

/// How far back (ms) an exporter's uptime may go and still be a late datagram.
const LATE_UPTIME_MS: u32 = 60_000;

impl SequenceTracker {
    /// A tracker of at most `max_streams` streams.
    pub fn new(max_streams: usize) -> Self {
        SequenceTracker {
            streams: HashMap::new(),
            max_streams,
        }
    }

    /// Whether a datagram with `seq` and `uptime` starts the stream over. Asked before the
    /// datagram is parsed, so the stream's templates can be dropped first. `increment` is what
    /// this datagram adds to the sequence when that is known from its header (v5's count,
    /// 1 for v9 and sFlow); `None` for IPFIX.
    pub fn is_restart(
        &self,
        key: &StreamKey,
        seq: u32,
        uptime: Option<u32>,
        increment: Option<u32>,
    ) -> bool {
        let Some(s) = self.streams.get(key) else {
            return false;
        };
        let behind = i64::from(seq.wrapping_sub(s.last_seq) as i32) < 0;
        if !behind {
            return false;
        }
        // With an unknown increment (IPFIX, before parsing) only a sequence at 0 is a start.
        let near_start = match increment {
            Some(n) => seq <= n.max(1),
            None => seq == 0,
        };
        match (uptime, s.last_uptime) {
            // An exporter with a running uptime restarted when its uptime went back by more
            // than a datagram can be delayed, or went back with the sequence at its start;
            // otherwise an older sequence number is a late datagram.
            (Some(now), Some(before)) if now > 0 && before > 0 => {
                now < before && (before - now > LATE_UPTIME_MS || near_start)
            }
            // Without an uptime (IPFIX, or exporters that send 0): a sequence back at its
            // start, or far back.
            _ => {
                let far_back = i64::from(seq.wrapping_sub(s.last_seq) as i32) < -LATE_WINDOW;
                near_start || far_back
            }
        }
    }

    /// Account for a datagram: `seq` from its header, `increment` the units it adds (v5 and
    /// IPFIX: its records; v9 and sFlow: 1), `records` the events it gave.
    pub fn observe(
        &mut self,
        key: StreamKey,
        seq: u32,
        uptime: Option<u32>,
        increment: u32,
        records: u64,
    ) -> SequenceOutcome {
        let restart = self.is_restart(&key, seq, uptime, Some(increment));
        let full = self.streams.len() >= self.max_streams;
        let s = match self.streams.get_mut(&key) {
            Some(s) => s,
            None if full => return SequenceOutcome::First,
            None => {
                self.streams.insert(
                    key,
                    StreamState {
                        last_seq: seq,
                        last_increment: increment,
                        last_uptime: uptime,
                        stats: StreamStats {
                            datagrams: 1,
                            records,
                            ..StreamStats::default()
                        },
                    },
                );
                return SequenceOutcome::First;
            }
        };
        s.stats.datagrams += 1;
        s.stats.records += records;
        let expected = s.last_seq.wrapping_add(s.last_increment);
        // Some exporters (softflowd's IPFIX) count this message's records into its own
        // sequence number; accept that reading too.
        let expected_inclusive = s.last_seq.wrapping_add(increment);
        let outcome = if restart {
            s.stats.restarts += 1;
            SequenceOutcome::Restart
        } else if seq == expected || (key.version == 10 && seq == expected_inclusive) {
            SequenceOutcome::InOrder
        } else {
            let ahead = seq.wrapping_sub(expected) as i32;
            if ahead > 0 {
                s.stats.gaps += 1;
                s.stats.lost += ahead as u64;
                SequenceOutcome::Gap(ahead as u64)
            } else {
                s.stats.late += 1;
                return SequenceOutcome::Late;
            }
        };
        s.last_seq = seq;
        s.last_increment = increment;
        s.last_uptime = uptime;
        outcome
    }

    /// Every tracked stream and its figures.
    pub fn streams(&self) -> Vec<(StreamKey, StreamStats)> {
        self.streams.iter().map(|(k, s)| (*k, s.stats)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: u16) -> StreamKey {
        StreamKey {
            exporter: "192.0.2.1:2055".parse().expect("addr"),
            version,
            domain: 0,
        }
    }

    #[test]
    fn v5_counts_records_and_finds_a_gap() {
        let mut t = SequenceTracker::new(8);
        let k = key(5);
        assert_eq!(t.observe(k, 0, Some(10), 29, 29), SequenceOutcome::First);
        assert_eq!(t.observe(k, 29, Some(11), 29, 29), SequenceOutcome::InOrder);
        // One datagram of 29 records lost.
        assert_eq!(t.observe(k, 87, Some(12), 14, 14), SequenceOutcome::Gap(29));
        let (_, s) = t.streams()[0];
        assert_eq!((s.gaps, s.lost, s.datagrams, s.records), (1, 29, 3, 72));
    }

    #[test]
    fn a_late_datagram_is_not_a_gap_nor_a_restart() {
        let mut t = SequenceTracker::new(8);
        let k = key(9);
        t.observe(k, 100, Some(5000), 1, 10);
        assert_eq!(
            t.observe(k, 102, Some(5002), 1, 10),
            SequenceOutcome::Gap(1)
        );
        assert_eq!(t.observe(k, 101, Some(5001), 1, 10), SequenceOutcome::Late);
        assert_eq!(
            t.observe(k, 103, Some(5003), 1, 10),
            SequenceOutcome::InOrder
        );
    }

    #[test]
    fn a_restart_is_seen_by_uptime_or_by_the_sequence_starting_over() {
        let mut t = SequenceTracker::new(8);
        let k = key(9);
        t.observe(k, 5000, Some(90_000_000), 1, 1);
        assert!(t.is_restart(&k, 10, Some(100), Some(1)));
        assert_eq!(t.observe(k, 10, Some(100), 1, 1), SequenceOutcome::Restart);
        assert_eq!(t.observe(k, 11, Some(200), 1, 1), SequenceOutcome::InOrder);
        // IPFIX has no uptime: a sequence back at zero is a restart.
        let k = key(10);
        t.observe(k, 5000, None, 10, 10);
        assert_eq!(t.observe(k, 0, None, 10, 10), SequenceOutcome::Restart);
    }

    #[test]
    fn ipfix_accepts_the_inclusive_reading_of_softflowd() {
        let mut t = SequenceTracker::new(8);
        let k = key(10);
        // softflowd: 24 records then seq 24, 32 then 56, 32 then 88, 13 then 101.
        assert_eq!(t.observe(k, 24, None, 24, 24), SequenceOutcome::First);
        assert_eq!(t.observe(k, 56, None, 32, 32), SequenceOutcome::InOrder);
        assert_eq!(t.observe(k, 88, None, 32, 32), SequenceOutcome::InOrder);
        assert_eq!(t.observe(k, 101, None, 13, 13), SequenceOutcome::InOrder);
    }

    #[test]
    fn wraps_at_u32() {
        let mut t = SequenceTracker::new(8);
        let k = key(9);
        t.observe(k, u32::MAX, Some(1), 1, 1);
        assert_eq!(t.observe(k, 0, Some(2), 1, 1), SequenceOutcome::InOrder);
    }

    #[test]
    fn streams_past_the_bound_are_not_tracked() {
        let mut t = SequenceTracker::new(1);
        t.observe(key(9), 1, None, 1, 1);
        t.observe(key(5), 1, None, 1, 1);
        assert_eq!(t.streams().len(), 1);
    }
}
