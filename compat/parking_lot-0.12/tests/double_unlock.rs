//! A second unlock of a raw lock nobody holds (sanakirja's `commit` then `Drop`, through the raw
//! API) is reported as a bad unlock, and leaves the lock usable, as parking_lot 0.12 does: the
//! core's unlock subtracts from the lock word, which on an unlocked lock left a state no one
//! could lock again (held-out library round 16).

use std::sync::{Arc, Mutex as StdMutex};

use lockdep::{Config, OnReport, Validator};
use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use parking_lot::{RawMutex, RawRwLock};

/// Runs `f` under a validator that collects its reports' kinds; returns them.
fn reports_of(f: impl FnOnce()) -> Vec<String> {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let sink = seen.clone();
    let v = Validator::with_on_report(
        Config::default(),
        OnReport::Callback(Arc::new(move |r: &lockdep::Report| {
            sink.lock().unwrap().push(format!("{:?}", r.kind()));
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
    assert_eq!(kinds.len(), 1, "{kinds:?}");
}

#[test]
fn an_rwlock_unlocked_twice_stays_usable() {
    let l = RawRwLock::INIT;
    let kinds = reports_of(|| {
        l.lock_shared();
        // SAFETY: as above, the second unlock is the misuse under test.
        unsafe {
            l.unlock_shared();
            l.unlock_shared();
        }
        assert!(!l.is_locked());
        l.lock_exclusive();
        // SAFETY: as above.
        unsafe {
            l.unlock_exclusive();
            l.unlock_exclusive();
        }
        assert!(l.try_lock_exclusive(), "the lock can be taken again");
        // SAFETY: taken just above.
        unsafe { l.unlock_exclusive() };
    });
    assert_eq!(kinds.len(), 2, "{kinds:?}");
}
