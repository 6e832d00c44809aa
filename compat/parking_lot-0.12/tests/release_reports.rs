//! A release that lockdep reports (a bad unlock balance here) unwinds only after the raw lock is
//! released. lock_api 0.4's `unlocked`, `unlocked_fair` and `bump` keep their guard through the
//! call, so they must take the lock again while unwinding: otherwise the guard's drop releases it
//! a second time — the lock of whichever thread took it in between.
//!
//! Each case: the lock is held by a thread that ended (its guard forgotten); this thread makes a
//! guard of it unchecked (so lockdep's stack here does not hold it) and calls the API under test
//! under a validator whose report callback lets a helper thread take the lock, then panics. The
//! helper holds it for a while and checks that it is still locked before releasing it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use lockdep::{Config, OnReport, Validator};
use parking_lot::{
    Mutex, MutexGuard, ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockWriteGuard,
};

// Long enough for the unwinding thread to reach its guard's drop (a panic message and backtrace
// printed on a loaded machine included), which without the fix releases the helper's hold.
const HOLD: Duration = Duration::from_millis(1000);

/// Runs `release` (which must be reported) under a validator whose callback has a helper take
/// the lock (`hold`: take it, sleep, return whether it was still locked, release) before the
/// report panics; returns whether the helper's hold stayed intact.
fn helper_hold_survives(
    hold: impl Fn() -> bool + Send + Sync + 'static,
    release: impl FnOnce(),
) -> bool {
    let intact = Arc::new(AtomicBool::new(false));
    let helper = Arc::new(std::sync::Mutex::new(None));
    let hold = Arc::new(hold);
    let callback = {
        let (intact, helper) = (intact.clone(), helper.clone());
        move |report: &lockdep::Report| {
            if thread::panicking() {
                // A second release while unwinding (the bug): the helper's check says so.
                return;
            }
            let (tx, rx) = mpsc::channel();
            let (intact, hold) = (intact.clone(), hold.clone());
            *helper.lock().unwrap() = Some(thread::spawn(move || {
                lockdep::capture(|| {
                    intact.store(hold_and_signal(&*hold, &tx), Ordering::SeqCst);
                });
            }));
            rx.recv().expect("the helper takes the lock");
            panic!("reported: {:?}", report.kind());
        }
    };
    let v = Validator::with_on_report(Config::default(), OnReport::Callback(Arc::new(callback)));
    let unwound = catch_unwind(AssertUnwindSafe(|| v.scope(release)));
    assert!(unwound.is_err(), "the release is reported");
    let helper = helper.lock().unwrap().take().expect("the callback ran");
    helper.join().unwrap();
    intact.load(Ordering::SeqCst)
}

fn hold_and_signal(hold: &dyn Fn() -> bool, tx: &mpsc::Sender<()>) -> bool {
    // `hold` signals through the thread-local below once it has the lock.
    SIGNAL.with(|s| *s.borrow_mut() = Some(tx.clone()));
    hold()
}

thread_local! {
    static SIGNAL: std::cell::RefCell<Option<mpsc::Sender<()>>> = const { std::cell::RefCell::new(None) };
}

/// Tells the callback the lock is taken, waits, and says whether it is still locked.
fn held(is_locked: impl Fn() -> bool) -> bool {
    SIGNAL.with(|s| s.borrow().as_ref().unwrap().send(()).unwrap());
    thread::sleep(HOLD);
    is_locked()
}

fn held_by_an_ended_thread(take: impl FnOnce() + Send) {
    thread::scope(|s| {
        s.spawn(|| drop(lockdep::capture(take))).join().unwrap();
    });
}

fn leaked<T>(t: T) -> &'static T {
    Box::leak(Box::new(t))
}

/// One case: `lock` held by a thread that ended (`take_forever`), the helper's `hold` (take it,
/// then `held(...)`), `release` here (reported), and `take_again` once it is all over.
fn case<L: Sync + 'static>(
    lock: &'static L,
    take_forever: fn(&'static L),
    hold: fn(&'static L) -> bool,
    release: fn(&'static L),
    take_again: fn(&'static L) -> bool,
) {
    held_by_an_ended_thread(|| take_forever(lock));
    let intact = helper_hold_survives(move || hold(lock), || release(lock));
    assert!(intact, "a second release unlocked the helper's hold");
    assert!(take_again(lock), "left locked");
}

const AGAIN: Duration = Duration::from_secs(10);

// SAFETY (every `make_*guard_unchecked` below): the lock is held, by a guard that was forgotten
// by another thread (a reentrant mutex checks its owner only when locking, not on unlock).

fn mutex_case(call: fn(&mut MutexGuard<'static, u32>)) {
    let m = leaked((Mutex::new(0u32), call));
    case(
        m,
        |m| std::mem::forget(m.0.lock()),
        |m| {
            let _g = m.0.lock();
            held(|| m.0.is_locked())
        },
        |m| (m.1)(&mut unsafe { m.0.make_guard_unchecked() }),
        |m| m.0.try_lock_for(AGAIN).is_some(),
    );
}

#[test]
fn a_reported_unlock_in_unlocked_re_takes_the_mutex() {
    mutex_case(|g| MutexGuard::unlocked(g, || ()));
}

#[test]
fn a_reported_unlock_in_unlocked_fair_re_takes_the_mutex() {
    mutex_case(|g| MutexGuard::unlocked_fair(g, || ()));
}

#[test]
fn a_reported_unlock_in_bump_re_takes_the_mutex() {
    mutex_case(MutexGuard::bump);
}

#[test]
fn a_reported_unlock_in_a_write_guards_unlocked_re_takes_the_lock() {
    case(
        leaked(RwLock::new(0u32)),
        |l| std::mem::forget(l.write()),
        |l| {
            let _g = l.write();
            held(|| l.is_locked())
        },
        |l| RwLockWriteGuard::unlocked(&mut unsafe { l.make_write_guard_unchecked() }, || ()),
        |l| l.try_write_for(AGAIN).is_some(),
    );
}

#[test]
fn a_reported_unlock_in_a_reentrant_guards_unlocked_re_takes_the_mutex() {
    case(
        leaked(ReentrantMutex::new(0u32)),
        |m| std::mem::forget(m.lock()),
        |m| {
            let _g = m.lock();
            held(|| m.is_locked())
        },
        |m| ReentrantMutexGuard::unlocked(&mut unsafe { m.make_guard_unchecked() }, || ()),
        |m| m.try_lock_for(AGAIN).is_some(),
    );
}

/// A downgrade whose report unwinds (one drained from the inbox: `a`, between `w` and `b`,
/// released on another thread, so `b`'s re-validation above `w` is an edge over the limit of
/// two) releases the lock once: lockdep releases the shared lock it made, and the write guard,
/// forgotten before the raw downgrade, does not release it again.
#[cfg(feature = "send_guard")]
#[test]
fn a_reported_downgrade_releases_the_lock_once() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let callback = {
        let seen = seen.clone();
        move |report: &lockdep::Report| {
            seen.lock().unwrap().push(report.kind());
            if !thread::panicking() {
                panic!("reported: {:?}", report.kind());
            }
        }
    };
    let config = Config {
        max_edges: 2,
        ..Config::default()
    };
    let v = Validator::with_on_report(config, OnReport::Callback(Arc::new(callback)));
    let w = RwLock::new(());
    let (a, b) = (Mutex::new(()), Mutex::new(()));
    v.scope(|| {
        let (gw, ga, gb) = (w.write(), a.lock(), b.lock());
        thread::scope(|s| {
            s.spawn(move || drop(ga)).join().unwrap();
        });
        let unwound = catch_unwind(AssertUnwindSafe(move || {
            drop(RwLockWriteGuard::downgrade(gw));
        }));
        assert!(unwound.is_err(), "the drained report unwinds");
        drop(gb);
    });
    assert!(w.try_write().is_some(), "the lock stayed locked");
    let seen = seen.lock().unwrap();
    assert!(
        !seen.contains(&lockdep::ReportKind::BadUnlockBalance),
        "{seen:?}"
    );
}
