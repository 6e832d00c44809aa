//! The steady state allocates nothing: once a chain of held classes was validated, taking and
//! releasing the same locks again (mutexes, reader-writer locks, trylocks, seqlock readers) does
//! not touch the heap. Only the test's own thread is counted (the test harness's threads allocate
//! when they like, more so on a loaded machine), and this binary has one test.

#![cfg(not(lockdep_off))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    // Constant-initialised and without a destructor: reading it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards to the system allocator unchanged; only counts while asked to.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's layout contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn known_chains_take_and_release_locks_without_allocating() {
    let a = lockdep::Mutex::with_name("a", 0u32);
    let b = lockdep::Mutex::with_name("b", 0u32);
    let r = lockdep::RwLock::with_name("r", 0u32);
    let rr = lockdep::RecursiveRwLock::with_name("rr", 0u32);
    let s = lockdep::SeqLock::with_name("s", (1u64, 2u64));
    let round = || {
        let ga = a.lock();
        let gb = b.lock();
        let gr = r.read();
        let grr = rr.read();
        assert_eq!(s.read(), (1, 2));
        drop(grr);
        drop(gr);
        drop(gb);
        let gt = b.try_lock().expect("free");
        drop(ga); // out of order: the entry above is re-validated against known chains
        drop(gt);
    };
    // Validate every chain once (this allocates: classes, dependencies, witnesses).
    round();
    round();
    assert!(lockdep::enabled());
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for _ in 0..1000 {
        round();
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 0);
}
