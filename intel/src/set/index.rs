//! The index of a feed's values: a filter that answers most misses from a small bit array
//! (two bytes per indicator, so a million indicators' filter stays in cache), then an
//! open-addressing table from value key to the first indicator of that key.
//!
//! Events mostly hold values no feed lists: a miss costs the key's hash and one filter word,
//! without touching the table (whose lines are mostly not in cache at a million indicators).

/// No indicator.
pub(crate) const END: u32 = u32::MAX;

/// Three bits per key in one 64-bit word, of 16 bits per key (under 1% false positives, so a
/// value no feed lists seldom reaches the table, whose lines are mostly not in cache).
#[derive(Debug, Default)]
pub(crate) struct Filter {
    words: Vec<u64>,
}

#[inline]
fn spread(k: u32) -> u64 {
    u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Filter {
    pub fn with_keys(n: usize) -> Filter {
        let words = n.div_ceil(4).max(1).next_power_of_two();
        Filter {
            words: vec![0; words],
        }
    }

    #[inline]
    fn place(&self, k: u32) -> (usize, u64) {
        let h = spread(k);
        let w = (h >> 40) as usize & (self.words.len().wrapping_sub(1));
        let bits = (1u64 << (h & 63)) | (1u64 << ((h >> 6) & 63)) | (1u64 << ((h >> 12) & 63));
        (w, bits)
    }

    pub fn insert(&mut self, k: u32) {
        let (w, bits) = self.place(k);
        if let Some(word) = self.words.get_mut(w) {
            *word |= bits;
        }
    }

    #[inline]
    pub fn may_hold(&self, k: u32) -> bool {
        let (w, bits) = self.place(k);
        self.words.get(w).is_some_and(|word| word & bits == bits)
    }

    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Key to first indicator, open addressing with linear probing, at most 5/8 full.
#[derive(Debug, Default)]
pub(crate) struct KeyTable {
    /// (key, first indicator); `END` as the indicator marks an empty slot.
    slots: Vec<(u32, u32)>,
}

impl KeyTable {
    pub fn with_keys(n: usize) -> KeyTable {
        let cap = (n * 8 / 5 + 1).next_power_of_two();
        KeyTable {
            slots: vec![(0, END); cap],
        }
    }

    #[inline]
    fn start(&self, k: u32) -> usize {
        k as usize & (self.slots.len().wrapping_sub(1))
    }

    /// Set the first indicator of `k` to `i`; the one it was (or `END`).
    pub fn replace(&mut self, k: u32, i: u32) -> u32 {
        let mask = self.slots.len().wrapping_sub(1);
        let mut s = self.start(k);
        while let Some(slot) = self.slots.get_mut(s) {
            if slot.1 == END {
                *slot = (k, i);
                return END;
            }
            if slot.0 == k {
                return std::mem::replace(&mut slot.1, i);
            }
            s = (s + 1) & mask;
        }
        END
    }

    #[inline]
    pub fn get(&self, k: u32) -> u32 {
        let mask = self.slots.len().wrapping_sub(1);
        let mut s = self.start(k);
        while let Some(&(key, i)) = self.slots.get(s) {
            if i == END {
                return END;
            }
            if key == k {
                return i;
            }
            s = (s + 1) & mask;
        }
        END
    }

    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

/// Per /16 of the IPv4 space, the prefix lengths of the ranges holding addresses in it: an
/// address is probed only for the lengths of the ranges near it. A bit per /16 says whether
/// any range is near (8 KiB, so most addresses of a sparse feed stop there); then a word per
/// /16 holds the lengths 16–32 in its bits 0–16 and 1–15 in its bits 17–31 (the length 0 is
/// one flag). Kept when a feed has many IPv4 ranges (its 264 KiB would be waste for a few).
#[derive(Debug)]
pub(crate) struct V4Slots {
    occupied: Vec<u64>,
    masks: Vec<u32>,
    /// A range of length 0 (every address) is held.
    everything: bool,
}

/// IPv4 ranges from which a feed keeps [`V4Slots`].
pub(crate) const V4_SLOTS_FROM: usize = 256;

impl V4Slots {
    pub fn new() -> V4Slots {
        V4Slots {
            occupied: vec![0; (1 << 16) / 64],
            masks: vec![0; 1 << 16],
            everything: false,
        }
    }

    /// Note the range `net/p`.
    pub fn insert(&mut self, net: u32, p: u8) {
        if p == 0 {
            self.everything = true;
            return;
        }
        let bit = if p >= 16 {
            1u32 << (p.min(32) - 16)
        } else {
            1u32 << (16 + p)
        };
        let first = (net >> 16) as usize;
        let count = if p >= 16 { 1 } else { 1usize << (16 - p) };
        for slot in first..first + count {
            if let Some(m) = self.masks.get_mut(slot) {
                *m |= bit;
            }
            if let Some(w) = self.occupied.get_mut(slot / 64) {
                *w |= 1 << (slot % 64);
            }
        }
    }

    /// Bit `p` set for each length `p` of a range near `addr`.
    #[inline]
    pub fn lengths_near(&self, addr: u32) -> u64 {
        let slot = (addr >> 16) as usize;
        let all = u64::from(self.everything);
        let near = self
            .occupied
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0);
        if !near {
            return all;
        }
        let m = u64::from(self.masks.get(slot).copied().unwrap_or(0));
        ((m & 0x1_ffff) << 16) | ((m >> 17) << 1) | all
    }

    pub fn heap_bytes(&self) -> usize {
        self.occupied.capacity() * 8 + self.masks.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_chains_by_key_and_the_filter_has_no_false_negatives() {
        let n = 10_000u32;
        let mut t = KeyTable::with_keys(n as usize);
        let mut f = Filter::with_keys(n as usize);
        for k in 0..n {
            let key = k.wrapping_mul(2_654_435_761);
            assert_eq!(t.replace(key, k), END);
            f.insert(key);
        }
        assert_eq!(t.replace(0, 7), 0, "key 0 held indicator 0");
        for k in 1..n {
            let key = k.wrapping_mul(2_654_435_761);
            assert_eq!(t.get(key), k);
            assert!(f.may_hold(key));
        }
        let false_positives = (n..n * 11)
            .filter(|k| f.may_hold(k.wrapping_mul(2_654_435_761)))
            .count();
        assert!(
            false_positives < (n as usize * 10) / 50,
            "{false_positives} of {} absent keys pass the filter",
            n * 10
        );
        assert_eq!(t.get(12345), END);
    }

    #[test]
    fn v4_slots_mark_every_slot_a_range_covers() {
        let mut s = V4Slots::new();
        s.insert(0x0a00_0000, 8);
        s.insert(0xc000_0200, 24);
        s.insert(0xc000_0200, 32);
        s.insert(0xc000_0000, 15);
        assert_eq!(s.lengths_near(0x0aff_0001), 1 << 8);
        assert_eq!(
            s.lengths_near(0xc001_0000),
            1 << 15,
            "a /15 covers two /16s"
        );
        assert_eq!(s.lengths_near(0x0b00_0000), 0);
        assert_eq!(
            s.lengths_near(0xc000_02ff),
            (1 << 24) | (1 << 32) | (1 << 15)
        );
        let mut all = V4Slots::new();
        all.insert(0, 0);
        assert_eq!(all.lengths_near(u32::MAX), 1);
    }
}
