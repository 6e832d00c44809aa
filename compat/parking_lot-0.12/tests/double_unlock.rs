//! A second unlock of a raw lock nobody holds (sanakirja's `commit` then `Drop`, through the raw
//! API) leaves the lock usable, as parking_lot 0.12's compare-exchange does, and is reported as
//! a bad unlock where validation runs (debug builds): the core's unlock subtracted from the lock
//! word, which on an unlocked lock left a state no one could lock again (held-out library round
//! 16). A second `unlock_shared` underflows 0.12's reader count too; validation leaves the word
//! alone for it.

use std::sync::{Arc, Mutex as StdMutex};

use lockdep::{Config, OnReport, Validator};
use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use parking_lot::{RawMutex, RawRwLock};

/// Runs `f` under a validator that collects its reports' text; returns them.
fn reports_of(f: impl FnOnce()) -> Vec<String> {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let sink = seen.clone();
    let v = Validator::with_on_report(
        Config::default(),
        OnReport::Callback(Arc::new(move |r: &lockdep::Report| {
            sink.lock().unwrap().push(r.to_string());
        })),
    );
    v.scope(f);
    seen.lock().unwrap().clone()
}

#[test]
fn a_mutex_unlocked_twice_stays_usable() {
    let m = RawMutex::INIT;
    let kinds = reports_of(|| {
        m.lock();
        // SAFETY: the first unlock releases this thread's lock; the second is the misuse
        // under test, which parking_lot 0.12 tolerates.
        unsafe {
            m.unlock();
            m.unlock();
        }
        assert!(!m.is_locked());
        assert!(m.try_lock(), "the mutex can be taken again");
        // SAFETY: taken just above.
        unsafe { m.unlock() };
    });
    if !cfg!(debug_assertions) {
        return; // validation is compiled out: nothing is reported
    }
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    // A release has no site: the report's stack names the second unlock's caller.
    let text = &kinds[0];
    assert!(
        text.contains("WARNING: bad unlock balance detected!"),
        "{text}"
    );
    assert!(
        text.contains("<not recorded: the stack backtrace below>"),
        "{text}"
    );
    assert!(
        text.contains("a_mutex_unlocked_twice_stays_usable"),
        "{text}"
    );
}

#[test]
fn an_rwlock_unlocked_twice_stays_usable() {
    let l = RawRwLock::INIT;
    let kinds = reports_of(|| {
        l.lock_exclusive();
        // SAFETY: as above, the second unlock is the misuse under test.
        unsafe {
            l.unlock_exclusive();
            l.unlock_exclusive();
        }
        assert!(!l.is_locked());
        if cfg!(debug_assertions) {
            l.lock_shared();
            // SAFETY: as above.
            unsafe {
                l.unlock_shared();
                l.unlock_shared();
            }
            assert!(!l.is_locked());
        }
        assert!(l.try_lock_exclusive(), "the lock can be taken again");
        // SAFETY: taken just above.
        unsafe { l.unlock_exclusive() };
    });
    if cfg!(debug_assertions) {
        assert_eq!(kinds.len(), 2, "{kinds:?}");
    }
}

#[test]
fn a_mutex_another_thread_unlocked_stays_usable() {
    // Thread B unlocks the mutex A holds (reported where validation runs; the lock is released,
    // as in 0.12), then A unlocks it too: the word is unlocked already, so A's unlock leaves it
    // alone and only records the release (held-out library round 16's sanakirja driver hung).
    let m = RawMutex::INIT;
    let kinds = reports_of(|| {
        m.lock();
        let v = lockdep::current_validator();
        std::thread::scope(|s| {
            s.spawn(|| {
                v.scope(|| {
                    // SAFETY: the misuse under test: a release of another thread's hold.
                    unsafe { m.unlock() };
                });
            });
        });
        // SAFETY: this thread's own (already undone) acquisition.
        unsafe { m.unlock() };
        assert!(!m.is_locked());
        assert!(m.try_lock(), "the mutex can be taken again");
        // SAFETY: taken just above.
        unsafe { m.unlock() };
    });
    if cfg!(debug_assertions) {
        assert_eq!(kinds.len(), 1, "{kinds:?}");
    }
}
