//! The `send_guard` feature through the compat crate: a lock_api 0.4 guard carries its
//! acquisition's owner token, so that one dropped (or upgraded, downgraded, bumped...) on another
//! thread is released on the stack of the thread that took it: no report, and nothing left held
//! there; real inversions are still reported.
//!
//! ```text
//! cargo test -p parking_lot --features send_guard --test send_guard
//! ```
#![cfg(feature = "send_guard")]

use std::thread;

use lockdep::{Report, ReportKind, Validator};
use parking_lot::{
    Condvar, FairMutex, MappedRwLockWriteGuard, Mutex, MutexGuard, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard,
};

fn on_thread<R: Send>(v: &Validator, f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| s.spawn(|| v.scope(f)).join().unwrap())
}

/// After a guard of `a` was released elsewhere: b -> a here, then a -> b on another thread.
/// Exactly the one real inversion is reported; an `a` still recorded as held here (a phantom)
/// would add recursive locking and an order of its own.
fn only_the_real_inversion<A>(v: &Validator, lock_a: impl Fn() -> A + Sync) {
    let b = Mutex::new(0u32);
    {
        let _b = b.lock();
        let _a = lock_a();
    }
    on_thread(v, || {
        let _a = lock_a();
        let _b = b.lock();
    });
}

fn assert_one_inversion(reports: &[Report]) {
    assert_inversions(reports, 1);
}

/// Exactly `n` reports, each a circular dependency.
fn assert_inversions(reports: &[Report], n: usize) {
    assert_eq!(reports.len(), n, "{reports:#?}");
    assert!(
        reports
            .iter()
            .all(|r| r.kind() == ReportKind::CircularDependency),
        "{reports:#?}"
    );
}

#[test]
fn guards_are_send() {
    fn send<T: Send>() {}
    send::<MutexGuard<'static, u32>>();
    send::<parking_lot::FairMutexGuard<'static, u32>>();
    send::<parking_lot::MappedMutexGuard<'static, u32>>();
    send::<RwLockReadGuard<'static, u32>>();
    send::<RwLockWriteGuard<'static, u32>>();
    send::<RwLockUpgradableReadGuard<'static, u32>>();
    send::<MappedRwLockWriteGuard<'static, u32>>();
}

#[test]
fn mutex_guard_dropped_on_another_thread() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new(0u32);
        let g = a.lock();
        on_thread(&v, move || drop(g));
        only_the_real_inversion(&v, || a.lock());
    });
    assert_one_inversion(&reports);
}

#[test]
fn fair_mutex_guard_dropped_and_unlocked_fair_on_other_threads() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = FairMutex::new(0u32);
        let g = a.lock();
        on_thread(&v, move || drop(g));
        let g = a.lock();
        on_thread(&v, move || parking_lot::FairMutexGuard::unlock_fair(g));
        only_the_real_inversion(&v, || a.lock());
    });
    assert_one_inversion(&reports);
}

#[test]
fn rwlock_write_read_and_upgradable_guards_dropped_on_another_thread() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = RwLock::new(0u32);
        let w = a.write();
        on_thread(&v, move || drop(w));
        let (r1, r2) = (a.read(), a.read_recursive());
        on_thread(&v, move || drop((r1, r2)));
        let u = a.upgradable_read();
        on_thread(&v, move || drop(u));
        only_the_real_inversion(&v, || a.write());
    });
    assert_one_inversion(&reports);
}

#[test]
fn mapped_guards_dropped_on_another_thread() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new((0u32, 0u32));
        let r = RwLock::new((0u32, 0u32));
        let m = MutexGuard::map(a.lock(), |x| &mut x.1);
        on_thread(&v, move || drop(m));
        let w = RwLockWriteGuard::map(r.write(), |x| &mut x.0);
        on_thread(&v, move || {
            let w = MappedRwLockWriteGuard::map(w, |x| x);
            drop(w);
        });
        let rd = RwLockReadGuard::map(r.read(), |x| &x.1);
        on_thread(&v, move || drop(rd));
        only_the_real_inversion(&v, || a.lock());
        only_the_real_inversion(&v, || r.write());
    });
    assert_inversions(&reports, 2);
}

#[test]
fn mode_changes_on_another_thread_stay_on_the_owners_stack() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = RwLock::new(0u32);
        let u = a.upgradable_read();
        on_thread(&v, move || {
            let w = RwLockUpgradableReadGuard::upgrade(u);
            let u = RwLockWriteGuard::downgrade_to_upgradable(w);
            let mut u = match RwLockUpgradableReadGuard::try_upgrade(u) {
                Ok(w) => RwLockWriteGuard::downgrade_to_upgradable(w),
                Err(u) => u,
            };
            u.with_upgraded(|x| *x += 1);
            RwLockUpgradableReadGuard::bump(&mut u);
            drop(RwLockUpgradableReadGuard::downgrade(u));
        });
        only_the_real_inversion(&v, || a.write());
    });
    assert_one_inversion(&reports);
}

#[test]
fn a_guard_relocked_on_another_thread() {
    // `unlocked` and `bump` release the acquisition on its owner's stack and take the lock again
    // on the thread that calls them, whose acquisition the guard stands for from then on.
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new(0u32);
        let g = a.lock();
        on_thread(&v, move || {
            let mut g = g;
            MutexGuard::unlocked(&mut g, || {});
            MutexGuard::bump(&mut g);
            drop(g);
        });
        let g = a.lock();
        on_thread(&v, move || {
            let mut g = g;
            MutexGuard::bump(&mut g);
            drop(g);
        });
        only_the_real_inversion(&v, || a.lock());
    });
    assert_one_inversion(&reports);
}

#[test]
fn condvar_wait_with_a_guard_from_another_thread() {
    // The wait releases the acquisition on its owner's stack and takes the mutex again on the
    // waiting thread.
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new(false);
        let cv = Condvar::new();
        let g = a.lock();
        on_thread(&v, || {
            let mut g = g;
            // Times out at once: released and taken again here.
            cv.wait_for(&mut g, std::time::Duration::from_millis(1));
            drop(g);
        });
        only_the_real_inversion(&v, || a.lock());
    });
    assert_one_inversion(&reports);
}

#[test]
fn a_real_inversion_with_guards_sent_between_threads_is_reported() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new(0u32);
        let b = RwLock::new(0u32);
        let ga = a.lock();
        let gb = b.write(); // a -> b, here
        on_thread(&v, move || drop((ga, gb)));
        on_thread(&v, || {
            let gb = b.read();
            let ga = a.lock(); // b -> a: reported
            on_thread(&v, move || drop((ga, gb)));
        });
    });
    assert_one_inversion(&reports);
}

#[cfg(feature = "arc_lock")]
#[test]
fn arc_guards_dropped_on_another_thread() {
    use std::sync::Arc;
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Arc::new(Mutex::new(0u32));
        let r = Arc::new(RwLock::new(0u32));
        let g = a.lock_arc();
        on_thread(&v, move || drop(g));
        let w = r.write_arc();
        on_thread(&v, move || {
            drop(parking_lot::ArcRwLockWriteGuard::downgrade(w))
        });
        let u = r.upgradable_read_arc();
        on_thread(&v, move || {
            drop(parking_lot::ArcRwLockUpgradableReadGuard::upgrade(u))
        });
        only_the_real_inversion(&v, || a.lock());
        only_the_real_inversion(&v, || r.write());
    });
    assert_inversions(&reports, 2);
}

/// Another crate's raw mutex on the same lock_api: its guards publish their token on release
/// like ours, and its raw lock does not take it. A `force_unlock` of one of our locks right after
/// must release on this thread's stack, not on the stack that token names.
#[test]
fn a_foreign_guard_leaves_no_token_for_force_unlock() {
    use parking_lot::lock_api::{self, GuardSend, RawMutex as _};
    use std::sync::atomic::{AtomicBool, Ordering};

    struct Spin(AtomicBool);
    // SAFETY: a test-and-set spin lock: `lock` returns only once this thread set the flag.
    unsafe impl lock_api::RawMutex for Spin {
        #[allow(clippy::declare_interior_mutable_const)]
        const INIT: Spin = Spin(AtomicBool::new(false));
        type GuardMarker = GuardSend;
        fn lock(&self) {
            while !self.try_lock() {
                std::hint::spin_loop();
            }
        }
        fn try_lock(&self) -> bool {
            self.0
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }
        unsafe fn unlock(&self) {
            self.0.store(false, Ordering::Release);
        }
    }

    let v = Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    let raw_user = Mutex::new(0u32);
    let forced = Mutex::new(0u32);
    let foreign = lock_api::Mutex::<Spin, ()>::new(());
    v.scope(|| {
        // This thread holds `forced` without a guard, to force-unlock later.
        std::mem::forget(forced.lock());
        // Another thread takes one of our raw locks directly (its token is published and no
        // guard takes it), then the foreign lock, whose guard picks that token up; the guard
        // comes back here.
        let foreign_guard = on_thread(&v, || {
            // SAFETY: unlocked below, on this thread.
            unsafe { raw_user.raw().lock() };
            let g = foreign.lock();
            // SAFETY: locked above, on this thread.
            unsafe { raw_user.raw().unlock() };
            g
        });
        drop(foreign_guard);
        // SAFETY: `forced` is locked by this thread (its guard forgotten above).
        unsafe { forced.force_unlock() };
        // Released here: locking it again is no recursion.
        let _again = forced.lock();
    });
    let reports = v.take_reports();
    assert!(reports.is_empty(), "{reports:#?}");
}
