//! A thread with a small stack can take its first lock, in a debug build too: the first lock of
//! a process builds the global validator and the thread's lockdep state, and neither may need
//! much of the caller's stack (string_cache's tests lock on a thread of 50,000 bytes; lockdep's
//! state of 8 KiB, built and moved by value, overflowed it at opt-level 0).
//!
//! One test in this binary, so its thread takes the process's first lockdep lock.

use std::sync::Arc;

#[test]
fn first_locks_fit_a_small_stack() {
    const STACK: usize = 32 * 1024;
    let shared = Arc::new(lockdep::Mutex::new(0u32));
    let outer = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(STACK)
        .spawn(move || {
            let rw = lockdep::RwLock::new(1u8);
            let seq = lockdep::SeqLock::new(2u64);
            let mut g = outer.lock();
            *g += 1;
            let r = rw.read();
            assert_eq!(seq.read(), 2);
            drop(r);
            drop(g);
            // A second thread of the same size, once the validator exists.
            std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || *outer.lock() += 1)
                .unwrap()
                .join()
                .unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(*shared.lock(), 2);
}
