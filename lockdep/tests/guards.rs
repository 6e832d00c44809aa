//! Guards are `Sync` wherever parking_lot's are (a `&guard` can be shared with scoped threads),
//! and not `Send`: the held-lock bookkeeping is per thread. (That they are not `Send` is checked
//! by the `compile_fail` examples of the crate documentation; the feature `send_guard` makes
//! them `Send`, `tests/send_guard.rs`.)

use std::thread;

use lockdep::{
    MappedMutexGuard, Mutex, MutexGuard, RecursiveRwLock, RecursiveRwLockReadGuard,
    RecursiveRwLockUpgradableReadGuard, RecursiveRwLockWriteGuard, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard, SeqCountWriteGuard, SeqLock, SeqLockReadGuard,
    SeqLockWriteGuard, SpinLock, SpinLockGuard,
};

fn assert_sync<T: Sync>() {}

#[test]
fn guards_are_sync_like_parking_lots() {
    assert_sync::<MutexGuard<'_, u64>>();
    assert_sync::<MappedMutexGuard<'_, u64>>();
    assert_sync::<SpinLockGuard<'_, u64>>();
    assert_sync::<RwLockReadGuard<'_, u64>>();
    assert_sync::<RwLockWriteGuard<'_, u64>>();
    assert_sync::<RwLockUpgradableReadGuard<'_, u64>>();
    assert_sync::<RecursiveRwLockReadGuard<'_, u64>>();
    assert_sync::<RecursiveRwLockWriteGuard<'_, u64>>();
    assert_sync::<RecursiveRwLockUpgradableReadGuard<'_, u64>>();
    assert_sync::<SeqCountWriteGuard<'_>>();
    assert_sync::<SeqLockReadGuard<'_, u64>>();
    assert_sync::<SeqLockWriteGuard<'_, u64>>();
    // As parking_lot's, both guards are `Sync` exactly when the parking_lot guard is.
    assert_sync::<upstream_parking_lot::MutexGuard<'_, u64>>();
}

#[test]
fn a_guard_is_shared_with_scoped_threads() {
    let m = Mutex::new(vec![1, 2, 3]);
    let r = RwLock::new(10);
    let rr = RecursiveRwLock::new(5);
    let s = SpinLock::new(7);
    let q = SeqLock::new(3u32);
    let (guard, read, recursive, spin, seq) = (m.lock(), r.read(), rr.write(), s.lock(), q.write());
    let total: i32 = thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let (guard, read, recursive, spin, seq) = (&guard, &read, &recursive, &spin, &seq);
                scope.spawn(move || guard[i] + **read + **recursive + **spin + **seq as i32)
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(total, 6 + 3 * (10 + 5 + 7 + 3));
    assert!(lockdep::is_held(&m) || !lockdep::enabled());
}

#[cfg(not(lockdep_off))]
#[test]
fn a_guards_lock_accessor_converts_back_to_the_lockdep_lock() {
    let reports = lockdep::capture(|| {
        let m = Mutex::new(0);
        let g = m.lock();
        // lock_api's accessor gives lock_api's type; `.into()` gives ours, as parking_lot's does.
        let back: &Mutex<i32> = MutexGuard::mutex(&g).into();
        assert!(std::ptr::eq(back, &m));
        assert!(lockdep::is_held(back));
        assert_eq!(lockdep::class_name(back), lockdep::class_name(&m));
        drop(g);
        drop(back.lock());
        let rw = RwLock::new(0);
        let r = rw.read();
        let back: &RwLock<i32> = RwLockReadGuard::rwlock(&r).into();
        assert!(std::ptr::eq(back, &rw));
    });
    assert!(reports.is_empty(), "{reports:#?}");
}
