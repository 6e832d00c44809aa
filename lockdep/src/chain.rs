//! The known-chain set: chains of held classes that were validated once and never need it again.
//!
//! This is lockdep's chain-key cache. Lookups are lock-free loads from a fixed open-addressed
//! table, so the steady-state acquire path reads shared memory but never writes it. Inserts happen
//! only on the slow path (a new chain) and use compare-and-swap. Its atomics are loom's under
//! `--cfg loom` (`tests/loom.rs` model-checks it).

use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// A fixed-capacity, insert-only set of 64-bit chain keys. 0 marks an empty slot, so the key 0
/// is never stored: it is never found, and its chain is validated every time (a chance of
/// 2^-64 per chain).
///
/// At most `max_chains` keys are ever stored, however many threads insert at once (an insert
/// reserves its place in the count before it claims a slot), so at least half the table stays
/// empty and every probe ends.
pub struct ChainCache {
    slots: Box<[AtomicU64]>,
    mask: usize,
    len: AtomicUsize,
    max_len: usize,
}

/// Result of an insert.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    New,
    /// Stored before.
    Present,
    /// Not stored: `max_chains` keys are.
    Full,
}

impl ChainCache {
    /// A set that holds at most `max_chains` keys (the table is twice that, rounded up, and at
    /// least 16 slots).
    pub fn new(max_chains: usize) -> Self {
        let cap = (max_chains.max(8) * 2).next_power_of_two();
        let slots = (0..cap)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        ChainCache {
            slots,
            mask: cap - 1,
            len: AtomicUsize::new(0),
            max_len: max_chains,
        }
    }

    #[inline]
    fn start(&self, key: u64) -> usize {
        // Keys are already mixed; fold the high half in for tables over 2^32.
        ((key ^ (key >> 32)) as usize) & self.mask
    }

    /// Whether `key` was inserted before.
    #[inline(always)]
    pub fn contains(&self, key: u64) -> bool {
        if key == 0 {
            return false;
        }
        let mut i = self.start(key);
        // `i` stays below the length (it is masked); `get` just keeps a panic path out of the
        // steady state, which inlines this.
        while let Some(slot) = self.slots.get(i) {
            let v = slot.load(Ordering::Acquire);
            if v == key {
                return true;
            }
            if v == 0 {
                return false;
            }
            i = (i + 1) & self.mask;
        }
        false
    }

    /// Adds `key`; `Full` once `max_chains` keys are stored.
    pub fn insert(&self, key: u64) -> Inserted {
        if key == 0 {
            // Not storable (see the type); reported as present so no limit report follows.
            return Inserted::Present;
        }
        if self.contains(key) {
            return Inserted::Present;
        }
        // A place in the count first: the table never holds more than `max_len` keys.
        let reserved = self
            .len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max_len).then_some(n + 1)
            })
            .is_ok();
        if !reserved {
            // Another thread may have stored it meanwhile.
            return if self.contains(key) {
                Inserted::Present
            } else {
                Inserted::Full
            };
        }
        let mut i = self.start(key);
        loop {
            match self.slots[i].compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Inserted::New,
                Err(v) if v == key => {
                    // Stored by another thread since the lookup: the place goes back.
                    self.len.fetch_sub(1, Ordering::Relaxed);
                    return Inserted::Present;
                }
                Err(_) => i = (i + 1) & self.mask,
            }
        }
    }

    /// How many keys are stored (or being stored).
    // (Public for the loom model only; nothing asks whether it is empty.)
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// How many slots hold `key` (1 or 0: an insert never stores a key twice).
    #[cfg(any(test, loom))]
    pub fn occurrences(&self, key: u64) -> usize {
        self.slots
            .iter()
            .filter(|s| s.load(Ordering::Acquire) == key)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_lookup() {
        let c = ChainCache::new(16);
        assert!(!c.contains(42));
        assert_eq!(c.insert(42), Inserted::New);
        assert_eq!(c.insert(42), Inserted::Present);
        assert!(c.contains(42));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn the_key_zero_is_never_found() {
        let c = ChainCache::new(16);
        assert_eq!(c.insert(0), Inserted::Present);
        assert!(!c.contains(0));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn reports_full_and_keeps_working() {
        let c = ChainCache::new(8);
        for k in 1..=8 {
            assert_eq!(c.insert(k * 7919), Inserted::New);
        }
        assert_eq!(c.insert(12345), Inserted::Full);
        assert!(c.contains(7919));
        assert!(!c.contains(12345));
    }

    #[test]
    fn concurrent_inserts_never_go_past_the_limit() {
        // Room for 2 keys in 16 slots; 32 threads insert at once: had each inserter that saw
        // room stored its key, the table could fill and probes never end.
        let c = std::sync::Arc::new(ChainCache::new(2));
        let start = std::sync::Arc::new(std::sync::Barrier::new(32));
        let handles: Vec<_> = (1..=32u64)
            .map(|k| {
                let (c, start) = (c.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    c.insert(k * 0x9E37_79B9)
                })
            })
            .collect();
        let results: Vec<Inserted> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| **r == Inserted::New).count(), 2);
        assert_eq!(c.len(), 2);
        assert!(!c.contains(12345));
    }

    #[test]
    fn concurrent_inserts_are_all_found() {
        let c = std::sync::Arc::new(ChainCache::new(4096));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 1..500u64 {
                        c.insert(i * 4 + t + 1_000_000);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        for t in 0..4u64 {
            for i in 1..500u64 {
                assert!(c.contains(i * 4 + t + 1_000_000));
                assert_eq!(c.occurrences(i * 4 + t + 1_000_000), 1);
            }
        }
        assert_eq!(c.len(), 4 * 499);
    }
}
