//! The known-chain set: chains of held classes that were validated once and never need it again.
//!
//! This is lockdep's chain-key cache. Lookups are lock-free loads from an open-addressed table,
//! so the steady-state acquire path reads shared memory but never writes it. Inserts happen only
//! on the slow path (a new chain), one at a time under a lock. The table starts small and doubles
//! as chains arrive (a lookup probes memory proportional to the chains stored, not to
//! `max_chains`: a thread cycling through 10,000 chains finds them in a 128 KiB table that stays
//! in its core's cache, where a table sized for the default limit was 1 MiB, `docs/performance.md`).
//! Its atomics and lock are loom's under `--cfg loom` (`tests/loom.rs` model-checks it).

use crate::sync::{AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering};

/// A capacity-limited, insert-only set of 64-bit chain keys. 0 marks an empty slot, so the key 0
/// is never stored: it is never found, and its chain is validated every time (a chance of
/// 2^-64 per chain).
///
/// At most `max_chains` keys are ever stored. The current table is at most three quarters full
/// while it may still grow, and at most half full at its final size (twice `max_chains`, rounded
/// up), so every probe ends.
pub struct ChainCache {
    /// The current table; replaced (never freed while the set lives) when it grows.
    current: AtomicPtr<Table>,
    len: AtomicUsize,
    max_len: usize,
    /// Slots of the largest table.
    max_cap: usize,
    /// Serialises inserts; owns every table, retired ones included (a lookup may still be
    /// probing one), so their memory is freed with the set. Boxed: `current` points at one, so
    /// it must not move when the vector grows.
    #[allow(clippy::vec_box)]
    tables: Mutex<Vec<Box<Table>>>,
}

struct Table {
    slots: Box<[AtomicU64]>,
    mask: usize,
}

impl Table {
    fn new(cap: usize) -> Box<Table> {
        let slots = (0..cap)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Box::new(Table {
            slots,
            mask: cap - 1,
        })
    }

    /// The table for lookups ([`TableView::contains`], the one probe loop).
    #[inline(always)]
    fn view(&self) -> TableView<'_> {
        TableView {
            slots: self.slots.as_ptr(),
            mask: self.mask,
            _table: std::marker::PhantomData,
        }
    }

    /// Stores `key`, known absent, in its first empty slot. Only under the set's lock.
    fn put(&self, key: u64) {
        let mut i = start(key, self.mask);
        while self.slots[i].load(Ordering::Relaxed) != 0 {
            i = (i + 1) & self.mask;
        }
        self.slots[i].store(key, Ordering::Release);
    }

    fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&k| k != 0)
    }
}

/// One table of the set, for lookups: the set's own, and a thread's copy of the table it last
/// saw, which skips the loads that reach the table through the set (the validator, the set, the
/// table, its slots). A table the set grew into later is not seen: a key stored only there is a
/// miss, whose full path finds it and refreshes the view.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TableView<'table> {
    slots: *const AtomicU64,
    mask: usize,
    _table: std::marker::PhantomData<&'table Table>,
}

impl TableView<'_> {
    /// The view without its borrow of the set.
    ///
    /// # Safety
    ///
    /// The view is used only while the set lives (its tables, retired ones included, live as
    /// long as it does).
    pub(crate) unsafe fn detach(self) -> TableView<'static> {
        TableView {
            slots: self.slots,
            mask: self.mask,
            _table: std::marker::PhantomData,
        }
    }

    /// Whether `key` is in the table.
    #[inline(always)]
    pub(crate) fn contains(self, key: u64) -> bool {
        if key == 0 {
            return false;
        }
        let mut i = start(key, self.mask);
        loop {
            // SAFETY: `i <= mask`, the table has `mask + 1` slots, and it lives as long as its set
            // (the view borrows the table, or `detach`'s caller keeps the set alive).
            let v = unsafe { &*self.slots.add(i) }.load(Ordering::Acquire);
            if v == key {
                return true;
            }
            if v == 0 {
                return false;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// Where `key`'s probe starts in a table of `mask + 1` slots.
#[inline(always)]
fn start(key: u64, mask: usize) -> usize {
    // Keys are already mixed; fold the high half in for tables over 2^32.
    ((key ^ (key >> 32)) as usize) & mask
}

/// The last table of `tables`, as the pointer `current` keeps.
fn newest(tables: &mut [Box<Table>]) -> *mut Table {
    let last = tables.last_mut().expect("a set always has a table");
    &mut **last
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

/// Slots of a new set's first table (2 KiB), unless its final table is smaller.
const FIRST_CAP: usize = 256;

impl ChainCache {
    /// A set that holds at most `max_chains` keys (its largest table is twice that, rounded up,
    /// and at least 16 slots).
    pub fn new(max_chains: usize) -> Self {
        let max_cap = (max_chains.max(8) * 2).next_power_of_two();
        let mut tables = vec![Table::new(FIRST_CAP.min(max_cap))];
        // Taken from the box where it stays: moving a `Box` after taking a pointer into it would
        // invalidate the pointer (the box asserts it is the only one).
        let current = AtomicPtr::new(newest(&mut tables));
        ChainCache {
            current,
            len: AtomicUsize::new(0),
            max_len: max_chains,
            max_cap,
            tables: Mutex::new(tables),
        }
    }

    #[inline(always)]
    fn table(&self) -> &Table {
        // SAFETY: `current` always points at a table owned by `tables`, boxed (so its address
        // does not change when the vector grows) and never dropped before the set is.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// Whether `key` was inserted before. (A lookup that runs while the table grows may miss a
    /// key inserted into the new table: its chain is then validated again, finding it there.)
    #[inline(always)]
    pub fn contains(&self, key: u64) -> bool {
        self.view().contains(key)
    }

    /// The current table, for lookups without the set ([`TableView`]).
    #[inline]
    pub(crate) fn view(&self) -> TableView<'_> {
        self.table().view()
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
        // A poisoned lock is taken anyway: the tables are only ever appended to, whole.
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let table = self.table();
        if table.view().contains(key) {
            return Inserted::Present;
        }
        let len = self.len.load(Ordering::Relaxed);
        if len >= self.max_len {
            return Inserted::Full;
        }
        let cap = table.mask + 1;
        let table = if cap < self.max_cap && (len + 1) * 4 > cap * 3 {
            let grown = Table::new(cap * 2);
            for k in table.keys() {
                grown.put(k);
            }
            tables.push(grown);
            self.current.store(newest(&mut tables), Ordering::Release);
            self.table()
        } else {
            table
        };
        table.put(key);
        self.len.store(len + 1, Ordering::Relaxed);
        Inserted::New
    }

    /// How many keys are stored.
    // (Public for the loom model only; nothing asks whether it is empty.)
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// How many slots of the current table hold `key` (1 or 0: an insert never stores a key
    /// twice).
    #[cfg(any(test, loom))]
    pub fn occurrences(&self, key: u64) -> usize {
        self.table()
            .slots
            .iter()
            .filter(|s| s.load(Ordering::Acquire) == key)
            .count()
    }

    /// Slots of the current table.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.table().mask + 1
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

    /// Keys per thread: fewer under Miri, which interprets every atomic load (each
    /// `occurrences` reads the whole table) and must finish within CI's budget.
    const PER_THREAD: u64 = if cfg!(miri) { 60 } else { 500 };

    #[test]
    fn concurrent_inserts_are_all_found() {
        let c = std::sync::Arc::new(ChainCache::new(4096));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 1..PER_THREAD {
                        c.insert(i * 4 + t + 1_000_000);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        for t in 0..4u64 {
            for i in 1..PER_THREAD {
                assert!(c.contains(i * 4 + t + 1_000_000));
                assert_eq!(c.occurrences(i * 4 + t + 1_000_000), 1);
            }
        }
        assert_eq!(c.len() as u64, 4 * (PER_THREAD - 1));
    }

    #[test]
    fn grows_with_its_keys_and_keeps_them() {
        let c = ChainCache::new(65536);
        assert_eq!(c.capacity(), FIRST_CAP);
        let key = |i: u64| (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // Under Miri (every insert takes the set's mutex, every load is interpreted), fewer
        // keys, still through four growths.
        let (n, cap) = if cfg!(miri) {
            (1_000, 2048)
        } else {
            (10_000, 16384)
        };
        for i in 0..n {
            assert_eq!(c.insert(key(i)), Inserted::New);
        }
        // 10,000 keys: 16,384 slots (at most three quarters full), not the 131,072 of the limit.
        assert_eq!(c.capacity(), cap);
        // Each `occurrences` reads the whole table: under Miri, a sample of the keys.
        let every = if cfg!(miri) { 37 } else { 1 };
        for i in 0..n {
            assert!(c.contains(key(i)));
            if i % every == 0 {
                assert_eq!(c.occurrences(key(i)), 1);
            }
        }
        assert!(!c.contains(key(n)));
        assert_eq!(c.len() as u64, n);
    }

    #[test]
    fn a_view_sees_the_table_it_was_taken_from() {
        let c = ChainCache::new(65536);
        let key = |i: u64| (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        c.insert(key(0));
        let old = c.view();
        for i in 1..1000 {
            c.insert(key(i));
        }
        assert!(c.capacity() > FIRST_CAP, "the set grew");
        // Keys stored before it grew are in the old table; later ones only in the new.
        assert!(old.contains(key(0)));
        assert!(!old.contains(key(999)));
        let new = c.view();
        assert!(new.contains(key(0)) && new.contains(key(999)));
        assert!(!new.contains(key(1000)) && !new.contains(0));
    }

    #[test]
    fn the_largest_table_stays_half_empty() {
        let c = ChainCache::new(1000);
        for k in 1..=1000u64 {
            assert_eq!(c.insert(k * 7919), Inserted::New);
        }
        assert_eq!(c.insert(12345), Inserted::Full);
        assert_eq!(c.capacity(), 2048);
    }
}
