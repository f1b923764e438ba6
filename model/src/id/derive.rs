//! Ids derived from their cause, so that doing the same work twice (a spool replay after a
//! crash or a store outage) makes the same id, and the stores' "ignore an id already held"
//! turns the repeat into nothing.
//!
//! Layout as for every [`Id`]: 48 bits of milliseconds (the cause's time, so derived ids still
//! sort by time), then 80 bits of a keyed SipHash-2-4 (128-bit output) of the cause's parts,
//! each length-prefixed, under a key naming the kind of id. SipHash is fixed by its
//! specification, so the same cause gives the same id across builds, releases and machines.

use super::{AlertId, EventId, Id, IncidentId, LOW_MASK};
use crate::Timestamp;

/// A 128-bit SipHash-2-4 (the reference implementation's `siphash` with a 16-byte output).
fn siphash128(key: [u8; 16], data: &[u8]) -> u128 {
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    let (k0, k1) = (word(&key[..8]), word(&key[8..]));
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        round(v);
        round(v);
        v[0] ^= m;
    };
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        compress(&mut v, word(c));
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    compress(&mut v, u64::from_le_bytes(last));
    let finish = |v: &mut [u64; 4]| {
        for _ in 0..4 {
            round(v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    };
    v[2] ^= 0xee;
    let lo = finish(&mut v);
    v[1] ^= 0xdd;
    let hi = finish(&mut v);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// Builds the digest input: each part length-prefixed, so `("ab", "c")` and `("a", "bc")`
/// differ.
#[derive(Debug, Default)]
struct Cause(Vec<u8>);

impl Cause {
    fn part(mut self, bytes: &[u8]) -> Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }
}

impl<T> Id<T> {
    /// The id for a cause: `at`'s millisecond, then 80 bits of a digest of `parts` keyed by
    /// `kind` (up to 16 bytes of it are used; name the kind of id and its version, e.g.
    /// `b"alert/rule/v1"`). The same `(at, kind, parts)` always gives the same id.
    pub fn derive(at: Timestamp, kind: &[u8], parts: &[&[u8]]) -> Self {
        let mut key = [0u8; 16];
        let n = kind.len().min(16);
        key[..n].copy_from_slice(&kind[..n]);
        let cause = parts.iter().fold(Cause::default(), |c, p| c.part(p));
        let low = siphash128(key, &cause.0) & LOW_MASK;
        Id::from_u128(Id::<T>::min_at(at).as_u128() | low)
    }
}

impl AlertId {
    /// A detection rule's alert for one event: the event id's millisecond (when the node took
    /// the event in), digest of the event id and the rule id. Re-matching the event (a spool
    /// replay) makes the same id.
    pub fn for_rule_match(event: EventId, rule_id: &str) -> AlertId {
        AlertId::derive(
            event.timestamp(),
            b"alert/rule/v1",
            &[&event.to_bytes(), rule_id.as_bytes()],
        )
    }

    /// A correlation rule's alert: `at` (the triggering alert's millisecond), digest of the
    /// correlation rule id, the group's values and the contributing alert ids in the order
    /// given. The same window over the same alerts makes the same id.
    pub fn for_correlation(
        at: Timestamp,
        rule_id: &str,
        group: &[String],
        alerts: impl IntoIterator<Item = AlertId>,
    ) -> AlertId {
        let mut parts: Vec<Vec<u8>> = vec![rule_id.as_bytes().to_vec()];
        parts.push((group.len() as u64).to_le_bytes().to_vec());
        parts.extend(group.iter().map(|g| g.as_bytes().to_vec()));
        parts.extend(alerts.into_iter().map(|a| a.to_bytes().to_vec()));
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        AlertId::derive(at, b"alert/corr/v1", &refs)
    }

    /// The alert an incident's missed deadline raises: the deadline's millisecond, digest of
    /// the incident id and the deadline. One deadline of one incident breaches once.
    pub fn for_sla_breach(incident: IncidentId, deadline: Timestamp) -> AlertId {
        AlertId::derive(
            deadline,
            b"alert/sla/v1",
            &[&incident.to_bytes(), &deadline.nanos().to_le_bytes()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash128_matches_the_reference_vectors() {
        // Reference implementation's vectors_sip128: key 00..0f, messages 00, 00 01, ...
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let msg: Vec<u8> = (0..64).collect();
        let hex = |len: usize| {
            siphash128(key, &msg[..len])
                .to_le_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(hex(0), "a3817f04ba25a8e66df67214c7550293");
        assert_eq!(hex(1), "da87c1d86b99af44347659119b22fc45");
        assert_eq!(hex(2), "8177228da4a45dc7fca38bdef60affe4");
        assert_eq!(hex(15), "5493e99933b0a8117e08ec0f97cfc3d9");
    }

    #[test]
    fn rule_match_ids_are_the_same_for_the_same_cause_only() {
        let t = Timestamp::from_secs(1_795_000_000);
        let e1 = EventId::new(t);
        let e2 = EventId::new(t);
        let a = AlertId::for_rule_match(e1, "ssh-auth-failure");
        assert_eq!(a, AlertId::for_rule_match(e1, "ssh-auth-failure"));
        assert_ne!(a, AlertId::for_rule_match(e2, "ssh-auth-failure"));
        assert_ne!(a, AlertId::for_rule_match(e1, "sudo-to-root"));
        assert_eq!(
            a.timestamp(),
            e1.timestamp(),
            "ordered by the event's intake"
        );
    }

    #[test]
    fn parts_are_not_ambiguous() {
        let t = Timestamp::from_secs(1);
        let ab_c = AlertId::derive(t, b"k", &[b"ab", b"c"]);
        let a_bc = AlertId::derive(t, b"k", &[b"a", b"bc"]);
        assert_ne!(ab_c, a_bc);
        assert_ne!(ab_c, AlertId::derive(t, b"other", &[b"ab", b"c"]));
    }

    #[test]
    fn correlation_and_sla_ids_follow_their_causes() {
        let t = Timestamp::from_secs(1_795_000_000);
        let x = AlertId::for_rule_match(EventId::new(t), "r");
        let y = AlertId::for_rule_match(EventId::new(t), "r");
        let g = vec!["10.0.0.1".to_owned()];
        let c = AlertId::for_correlation(t, "burst", &g, [x, y]);
        assert_eq!(c, AlertId::for_correlation(t, "burst", &g, [x, y]));
        assert_ne!(c, AlertId::for_correlation(t, "burst", &g, [x]));
        assert_ne!(
            c,
            AlertId::for_correlation(t, "burst", &["10.0.0.2".to_owned()], [x, y])
        );
        let inc = IncidentId::new(t);
        let due = t.add_secs(900);
        let s = AlertId::for_sla_breach(inc, due);
        assert_eq!(s, AlertId::for_sla_breach(inc, due));
        assert_ne!(s, AlertId::for_sla_breach(inc, due.add_secs(1)));
        assert_eq!(s.timestamp().millis(), due.millis());
    }
}
