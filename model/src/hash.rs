//! Hashes that are not SipHash, in one place.
//!
//! - [`FxHasher`]: a fast hasher for keys the process makes itself (ids, interned names, small
//!   enums): the Firefox/rustc multiply-rotate, a few cycles per word, where SipHash's
//!   resistance to chosen keys buys nothing. Not for keys a sender picks.
//! - [`Fnv1a`] and [`fnv1a`]: 64-bit FNV-1a, stable across builds and restarts, for ids derived
//!   from text and hashes kept in snapshots, and for maps of short keys that rules choose.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash: each word is rotated in and multiplied; bytes go in one word each.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    /// One word (ids are 128-bit): the halves folded together, then one multiply.
    fn write_u128(&mut self, n: u128) {
        self.add((n as u64) ^ ((n >> 64) as u64).rotate_left(29));
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map hashed with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A set hashed with [`FxHasher`].
pub type FxSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// FNV-1a's offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's 64-bit prime.
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// 64-bit FNV-1a: the same bytes give the same hash in every build and on every machine.
/// Bytes fed in several `write`s hash as if fed at once.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(FNV_OFFSET)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The 64-bit FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(bytes);
    h.finish()
}

/// A map hashed with [`Fnv1a`].
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv1a>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference: "" and "a" and "foobar".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv1a::default();
        h.write(b"foo");
        h.write(b"bar");
        assert_eq!(h.finish(), fnv1a(b"foobar"));
    }

    fn hash(v: impl Hash) -> u64 {
        let mut h = FxHasher::default();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn ids_that_differ_in_either_half_hash_apart() {
        let base = 0x0123_4567_89ab_cdef_0011_2233_4455_6677u128;
        assert_ne!(hash(base), hash(base + 1));
        assert_ne!(hash(base), hash(base ^ (1u128 << 100)));
        let set: FxSet<u128> = (0..1000u128).map(|n| base + n).collect();
        assert_eq!(set.len(), 1000);
    }
}
