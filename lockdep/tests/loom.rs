//! A loom model of the lock-free parts: the known-chain set and the seqcount protocol. Built only
//! under `--cfg loom`, where their atomics are loom's:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p lockdep --release --test loom
//! ```
//!
//! Each model explores every interleaving (and every value a load may see under the C++ memory
//! model) of two or three threads with at most three preemptions (`LOOM_MAX_PREEMPTIONS` sets
//! another bound): each takes seconds in release (the largest about 8 s with three, 30 s with
//! four).
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::thread;

use lockdep::loom_model::{ChainCache, Inserted, SeqCounter};

/// Runs `f` under loom's model checker, with at most three preemptions per execution unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Two keys that start probing at the same slot of a 16-slot table (the set folds the high half
/// of a key onto the low one), so each insert may have to step over the other.
const K1: u64 = 0x0000_0001_0000_0003;
const K2: u64 = 0x0000_0002_0000_0000;

#[test]
fn the_colliding_keys_collide() {
    // Both fold to 2 (mod 16): 1 ^ 3 and 2 ^ 0.
    assert_eq!((K1 ^ (K1 >> 32)) & 15, (K2 ^ (K2 >> 32)) & 15);
}

/// Two threads insert colliding keys while a third looks both up: both are stored once, each
/// insert says `New`, and a lookup finds a key only if it was inserted, never another value.
#[test]
fn concurrent_inserts_are_neither_lost_nor_duplicated() {
    model(|| {
        let set = Arc::new(ChainCache::new(8));
        let inserters: Vec<_> = [K1, K2]
            .into_iter()
            .map(|k| {
                let set = set.clone();
                thread::spawn(move || assert_eq!(set.insert(k), Inserted::New))
            })
            .collect();
        let reader = {
            let set = set.clone();
            thread::spawn(move || {
                // Whatever it sees, it sees no key that was never inserted.
                let _ = set.contains(K1);
                let _ = set.contains(K2);
                assert!(!set.contains(K1 ^ K2));
            })
        };
        for t in inserters {
            t.join().unwrap();
        }
        reader.join().unwrap();
        assert!(set.contains(K1) && set.contains(K2));
        assert_eq!((set.occurrences(K1), set.occurrences(K2)), (1, 1));
        assert_eq!(set.len(), 2);
    });
}

/// A key seen by a lookup stays found: once `contains` is true on one thread, a later lookup on
/// that thread is true too, and an insert that returned is visible to every thread it
/// happens-before.
#[test]
fn a_found_key_stays_found() {
    model(|| {
        let set = Arc::new(ChainCache::new(8));
        let published = Arc::new(AtomicBool::new(false));
        let writer = {
            let (set, published) = (set.clone(), published.clone());
            thread::spawn(move || {
                set.insert(K2);
                set.insert(K1);
                published.store(true, Ordering::Release);
            })
        };
        if set.contains(K1) {
            assert!(set.contains(K1));
        }
        if published.load(Ordering::Acquire) {
            assert!(set.contains(K1) && set.contains(K2));
        }
        writer.join().unwrap();
    });
}

/// Two threads insert the same key: one stores it (`New`), the other finds it (`Present`), and
/// it is stored once.
#[test]
fn the_same_key_is_stored_once() {
    model(|| {
        let set = Arc::new(ChainCache::new(8));
        let t = {
            let set = set.clone();
            thread::spawn(move || set.insert(K1))
        };
        let here = set.insert(K1);
        let there = t.join().unwrap();
        let mut results = [here, there];
        results.sort_by_key(|r| *r == Inserted::Present);
        assert_eq!(results, [Inserted::New, Inserted::Present]);
        assert_eq!(set.occurrences(K1), 1);
        assert_eq!(set.len(), 1);
    });
}

/// A set with room for one key, two threads inserting different keys: exactly one is stored,
/// the other is `Full`, and the count never goes past the limit (so the table never fills).
#[test]
fn the_limit_holds_under_concurrent_inserts() {
    model(|| {
        let set = Arc::new(ChainCache::new(1));
        let t = {
            let set = set.clone();
            thread::spawn(move || set.insert(K2))
        };
        let here = set.insert(K1);
        assert!(set.len() <= 1);
        let there = t.join().unwrap();
        let mut results = [here, there];
        results.sort_by_key(|r| *r == Inserted::Full);
        assert_eq!(results, [Inserted::New, Inserted::Full]);
        assert_eq!(set.len(), 1);
        assert_eq!(set.occurrences(K1) + set.occurrences(K2), 1);
    });
}

/// Data protected by a seqcount: two words a writer always sets equal, stored `Relaxed` as the
/// `SeqCount` docs ask.
struct Protected {
    seq: SeqCounter,
    lo: AtomicU64,
    hi: AtomicU64,
}

impl Protected {
    fn new() -> Self {
        Protected {
            seq: SeqCounter::new(),
            lo: AtomicU64::new(0),
            hi: AtomicU64::new(0),
        }
    }

    /// One write section (the caller serialises writers).
    fn write(&self, v: u64) {
        self.seq.write_begin();
        self.lo.store(v, Ordering::Relaxed);
        self.hi.store(v, Ordering::Relaxed);
        self.seq.write_end();
    }

    /// Up to `tries` optimistic reads; the first one that `read_retry` accepts.
    fn read(&self, tries: usize) -> Option<(u64, u64)> {
        for _ in 0..tries {
            let start = self.seq.read_begin(|| {});
            assert_eq!(start & 1, 0, "a read starts at an even count");
            let pair = (
                self.lo.load(Ordering::Relaxed),
                self.hi.load(Ordering::Relaxed),
            );
            if !self.seq.read_retry(start) {
                return Some(pair);
            }
        }
        None
    }
}

/// A writer stores 1 then 2 while a reader reads: every accepted read is a value some write
/// completed (never torn, never 1 in one word and 2 in the other), and a read that starts
/// after the writer finished sees the last value.
#[test]
fn seqcount_readers_never_see_a_torn_value() {
    model(|| {
        let p = Arc::new(Protected::new());
        let writer = {
            let p = p.clone();
            thread::spawn(move || {
                p.write(1);
                p.write(2);
            })
        };
        if let Some((lo, hi)) = p.read(2) {
            assert_eq!(lo, hi, "torn read accepted");
        }
        writer.join().unwrap();
        assert_eq!(p.read(1), Some((2, 2)));
        assert_eq!(p.seq.sequence(), 4);
    });
}

/// Two writers, serialised by a lock (the `SeqLock`'s spin lock, the `SeqCount`'s associated
/// lock), and a reader: no two write sections overlap, each leaves the count even and two
/// higher, and accepted reads are whole.
#[test]
fn seqcount_writers_serialise() {
    model(|| {
        let p = Arc::new(Protected::new());
        let lock = Arc::new(loom::sync::Mutex::new(()));
        let inside = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|v| {
                let (p, lock, inside) = (p.clone(), lock.clone(), inside.clone());
                thread::spawn(move || {
                    let _g = lock.lock().unwrap();
                    let before = p.seq.sequence();
                    assert_eq!(before & 1, 0, "no section is open");
                    assert!(!inside.swap(true, Ordering::Relaxed), "sections overlap");
                    p.seq.write_begin();
                    assert_eq!(p.seq.sequence(), before + 1);
                    p.lo.store(v, Ordering::Relaxed);
                    p.hi.store(v, Ordering::Relaxed);
                    inside.store(false, Ordering::Relaxed);
                    p.seq.write_end();
                    assert_eq!(p.seq.sequence(), before + 2);
                })
            })
            .collect();
        if let Some((lo, hi)) = p.read(1) {
            assert_eq!(lo, hi, "torn read accepted");
        }
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(p.seq.sequence(), 4);
        let (lo, hi) = p.read(1).unwrap();
        assert!(lo == hi && (lo == 1 || lo == 2));
    });
}
