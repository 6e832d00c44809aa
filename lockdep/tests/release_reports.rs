//! A report raised by a release (panic mode, the process-wide validator's default) still
//! releases the lock: the panic must not leave it locked for every thread waiting on it.
//!
//! The report here is a "bad unlock balance": a thread that never took the lock releases it
//! (`force_unlock` with a proof it made itself), after another thread took it and forgot its
//! guard.
#![cfg(not(lockdep_off))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use lockdep::{Config, FairMutex, Held, Mutex, OnReport, RawMutexGuard, RwLock, Validator};

/// Runs `take` on a thread of its own, which ends with the lock still held.
fn held_elsewhere(take: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        s.spawn(|| drop(lockdep::capture(take))).join().unwrap();
    });
}

/// Runs `release` under a validator in panic mode; returns the panic's message.
fn release_reported(release: impl FnOnce()) -> String {
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let unwound = catch_unwind(AssertUnwindSafe(|| v.scope(release)))
        .expect_err("the release is reported, in panic mode");
    let text = unwound
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("bad unlock balance"), "{text}");
    text
}

const WAIT: Duration = Duration::from_secs(10);

/// `take`s the lock on a thread that ends with it held, `release`s it here (reported), and checks
/// that it can be taken again.
fn reported_release_leaves_it_free<L: Sync>(
    lock: &L,
    take: fn(&L),
    release: fn(&L),
    take_again: fn(&L) -> bool,
) {
    held_elsewhere(|| take(lock));
    release_reported(|| release(lock));
    assert!(take_again(lock), "the report left the lock locked");
}

#[test]
fn a_reported_mutex_release_unlocks() {
    reported_release_leaves_it_free(
        &Mutex::with_name("m", ()),
        // SAFETY (here and below): the raw lock is taken and its state let go (it needs no
        // drop); the release passes a proof made for a lock that is taken and has no guard.
        |m| {
            let _state = lock_api::RawMutex::lock(unsafe { m.raw() });
        },
        |m| unsafe { m.force_unlock(RawMutexGuard::assume_held()) },
        |m| m.try_lock_for(WAIT).is_some(),
    );
}

#[test]
fn a_reported_fair_unlock_unlocks() {
    reported_release_leaves_it_free(
        &FairMutex::with_name("fair", ()),
        |m| {
            let _state = lock_api::RawMutex::lock(unsafe { m.raw() });
        },
        |m| unsafe { m.force_unlock_fair(RawMutexGuard::assume_held()) },
        |m| m.try_lock_for(WAIT).is_some(),
    );
}

#[test]
fn a_reported_write_release_unlocks() {
    reported_release_leaves_it_free(
        &RwLock::with_name("rw", ()),
        |l| {
            let _state = lock_api::RawRwLock::lock_exclusive(unsafe { l.raw() });
        },
        |l| unsafe { l.force_unlock_write(Held::assume_held()) },
        |l| l.try_write_for(WAIT).is_some(),
    );
}

#[test]
fn a_reported_read_release_unlocks() {
    reported_release_leaves_it_free(
        &RwLock::with_name("rw", ()),
        |l| {
            let _state = lock_api::RawRwLock::lock_shared(unsafe { l.raw() });
        },
        |l| unsafe { l.force_unlock_read(Held::assume_held()) },
        |l| l.try_write_for(WAIT).is_some(),
    );
}

/// lock_api's `unlocked` and `bump` keep their guard: they set up the re-lock before the raw
/// unlock ("a panicking raw unlock releases the acquisition too"), which is right only if the
/// report comes after the unlock (before, the re-lock waited for the lock this thread held).
#[test]
fn a_reported_unlock_in_unlocked_or_bump_re_takes_the_mutex() {
    type RawBuilt = lock_api::Mutex<lockdep::RawMutex, ()>;
    let cases: [fn(&mut lock_api::MutexGuard<'static, lockdep::RawMutex, ()>); 3] = [
        |g| lock_api::MutexGuard::unlocked(g, || ()),
        |g| lock_api::MutexGuard::unlocked_fair(g, || ()),
        lock_api::MutexGuard::bump,
    ];
    for call in cases {
        let m: &'static RawBuilt = Box::leak(Box::new(RawBuilt::new(())));
        // SAFETY: as above.
        held_elsewhere(|| {
            let _state = lock_api::RawMutex::lock(unsafe { m.raw() });
        });
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            release_reported(|| {
                // SAFETY: the mutex is locked and no guard of it exists.
                let mut g = unsafe { m.make_guard_unchecked(RawMutexGuard::assume_held()) };
                call(&mut g);
            });
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(WAIT)
            .expect("the re-lock after the report did not come back (it waited for this thread)");
        assert!(m.try_lock_for(WAIT).is_some(), "the report left m locked");
    }
}
