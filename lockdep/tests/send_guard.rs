//! The `send_guard` feature: guards are `Send`, and a guard dropped on another thread releases
//! the acquisition on the stack of the thread that took it, so neither thread's held locks go
//! wrong and lockdep still sees real inversions.
//!
//! ```text
//! cargo test -p lockdep --features send_guard --test send_guard
//! ```
#![cfg(feature = "send_guard")]

#[cfg(not(lockdep_off))]
use std::sync::mpsc;
#[cfg(not(lockdep_off))]
use std::thread;

#[cfg(not(lockdep_off))]
use lockdep::{Mutex, ReportKind, RwLock, SpinLock, Validator};

#[cfg(not(lockdep_off))]
fn on_thread<R: Send>(v: &Validator, f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| s.spawn(|| v.scope(f)).join().unwrap())
}

/// Also compiled out (`lockdep_off`): the guards are then parking_lot's, `Send` with its feature.
#[test]
fn guards_are_send() {
    fn send<T: Send>() {}
    send::<lockdep::MutexGuard<'static, u32>>();
    send::<lockdep::FairMutexGuard<'static, u32>>();
    send::<lockdep::SpinLockGuard<'static, u32>>();
    send::<lockdep::RwLockReadGuard<'static, u32>>();
    send::<lockdep::RwLockWriteGuard<'static, u32>>();
    send::<lockdep::RwLockUpgradableReadGuard<'static, u32>>();
}

#[cfg(not(lockdep_off))]
#[test]
fn a_guard_dropped_on_another_thread_is_released_on_the_taking_threads_stack() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let (a, b) = (Mutex::new(0u32), Mutex::new(0u32));
        let (a, b) = (&a, &b);
        let guard = a.lock();
        assert!(lockdep::is_held(a));
        on_thread(&v, move || {
            // Nothing of `a` is on this thread's stack: its locks go on without it.
            assert!(!lockdep::is_held(a));
            let _b = b.lock();
            drop(guard);
            assert!(!lockdep::is_held(a));
            drop(a.lock()); // b -> a here, and no recursive locking
        });
        // Released here too: taking it again is no recursive locking, and its order is free.
        assert!(!lockdep::is_held(a));
        let _b = b.lock();
        let _a = a.lock(); // b -> a again
        assert!(lockdep::is_held(a) && lockdep::is_held(b));
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[cfg(not(lockdep_off))]
#[test]
fn a_guard_sent_back_and_forth_leaves_both_stacks_balanced() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let (outer, lock, spin) = (Mutex::new(()), Mutex::new(1u32), SpinLock::new(()));
        let (v, lock, spin) = (&v, &lock, &spin);
        let (to_worker, from_main) = mpsc::channel::<Option<lockdep::MutexGuard<'_, u32>>>();
        let (to_main, from_worker) = mpsc::channel();
        thread::scope(|s| {
            s.spawn(move || {
                v.scope(|| {
                    for _ in 0..3 {
                        let guard = from_main.recv().unwrap().unwrap();
                        let _s = spin.lock();
                        to_main.send(Some(guard)).unwrap(); // sent back, still held by main
                    }
                    for _ in 0..3 {
                        let guard: Option<lockdep::MutexGuard<'_, u32>> = from_main.recv().unwrap();
                        drop(guard); // released here, recorded on main's stack
                        to_main.send(Some(lock.lock())).unwrap();
                    }
                    // Main dropped the last one: this scope ends holding nothing.
                    assert!(from_main.recv().unwrap().is_none());
                })
            });
            for _ in 0..3 {
                let _o = outer.lock();
                to_worker.send(Some(lock.lock())).unwrap();
                drop(from_worker.recv().unwrap());
            }
            for _ in 0..3 {
                to_worker.send(Some(lock.lock())).unwrap();
                drop(from_worker.recv().unwrap()); // the worker's acquisition, dropped here
            }
            to_worker.send(None).unwrap();
        });
        assert!(!lockdep::is_held(lock));
        let _o = outer.lock();
        let _l = lock.lock();
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[cfg(not(lockdep_off))]
#[test]
fn a_downgrade_on_another_thread_changes_the_taking_threads_entry() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let rw = RwLock::new(0u32);
        let rw = &rw;
        let write = rw.write();
        on_thread(&v, move || {
            let read = lockdep::RwLockWriteGuard::downgrade(write);
            assert_eq!(*read, 0);
            drop(read);
        });
        assert!(!lockdep::is_held(rw));
        drop(rw.write());
        drop(rw.read());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[cfg(not(lockdep_off))]
#[test]
fn a_downgrade_on_another_thread_is_named_in_the_taking_threads_reports() {
    let downgrade_line = line!() + 6;
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let rw = RwLock::with_name("rw", 0u32);
        let rw = &rw;
        let write = rw.write();
        let read = on_thread(&v, move || lockdep::RwLockWriteGuard::downgrade(write));
        let _again = rw.read();
        drop(read);
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let held = reports[0].held_lock.as_ref().unwrap();
    assert!(
        matches!(&held.downgraded_at, Some(lockdep::Site::Code(l))
            if l.file() == file!() && l.line() == downgrade_line),
        "{held:?}"
    );
    assert!(
        reports[0]
            .to_string()
            .contains("and downgraded to a read at")
    );
}

#[cfg(not(lockdep_off))]
#[test]
fn a_real_abba_is_still_reported_after_guards_moved() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let (a, b) = (Mutex::new(()), Mutex::new(()));
        let (a, b) = (&a, &b);
        let guard = a.lock();
        on_thread(&v, move || drop(guard));
        {
            let _a = a.lock();
            let _b = b.lock(); // a -> b
        }
        on_thread(&v, move || {
            let _b = b.lock();
            let _a = a.lock(); // b -> a: the inversion
        });
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[cfg(not(lockdep_off))]
#[test]
fn a_thread_ending_while_its_guard_lives_on_is_reported_once_and_the_drop_is_quiet() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Mutex::new(());
        let a = &a;
        // Until the guard is dropped the lock is the taking thread's, so that thread ends
        // holding it, as in the kernel.
        let guard = thread::scope(|s| s.spawn(|| v.scope(|| a.lock())).join().unwrap());
        drop(guard);
        drop(a.lock());
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].kind(), ReportKind::LocksHeldAtExit);
}

#[cfg(not(lockdep_off))]
#[test]
fn many_threads_handing_guards_around_a_ring_stay_balanced() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 200;
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let locks: Vec<Mutex<usize>> = (0..THREADS).map(|_| Mutex::new(0)).collect();
        let (outer, inner) = (Mutex::new(()), Mutex::new(()));
        let all_dropped = std::sync::Barrier::new(THREADS);
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS)
            .map(|_| mpsc::channel::<lockdep::MutexGuard<'_, usize>>())
            .unzip();
        thread::scope(|s| {
            for (i, rx) in receivers.into_iter().enumerate() {
                let (v, locks, outer, inner) = (&v, &locks, &outer, &inner);
                let all_dropped = &all_dropped;
                let next = senders[(i + 1) % THREADS].clone();
                s.spawn(move || {
                    v.scope(|| {
                        for _ in 0..ROUNDS {
                            // Taken again while the next thread may still hold last round's
                            // guard: handed off, so that is no recursive locking.
                            let mut g = locks[i].lock();
                            *g += 1;
                            lockdep::hand_off(&locks[i]);
                            next.send(g).unwrap(); // the next thread drops it
                            drop(rx.recv().unwrap()); // the previous thread's
                            let _o = outer.lock();
                            let _i = inner.lock(); // outer -> inner everywhere
                        }
                        drop(next);
                        // Every guard was dropped in some thread's last round: once all are
                        // past theirs, this thread holds none of the ring's locks.
                        all_dropped.wait();
                        for lock in locks {
                            assert!(!lockdep::is_held(lock));
                        }
                    })
                });
            }
            drop(senders);
        });
        for lock in &locks {
            assert_eq!(*lock.lock(), ROUNDS);
        }
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[cfg(not(lockdep_off))]
#[test]
fn taking_a_lock_again_while_its_sent_guard_lives_is_recursive_locking_unless_handed_off() {
    for handed_off in [false, true] {
        let reports = lockdep::capture(|| {
            let v = lockdep::current_validator();
            let a = Mutex::new(());
            let a = &a;
            let (tx, rx) = mpsc::channel();
            let guard = a.lock();
            if handed_off {
                lockdep::hand_off(a);
                assert!(!lockdep::is_held(a));
            }
            thread::scope(|s| {
                s.spawn(move || {
                    v.scope(|| {
                        let guard = rx.recv().unwrap();
                        thread::sleep(std::time::Duration::from_millis(20));
                        drop(guard);
                    })
                });
                tx.send(guard).unwrap();
                drop(a.lock()); // waits for the receiver
            });
        });
        if handed_off {
            assert!(reports.is_empty(), "{reports:#?}");
        } else {
            // Until it is dropped, the lock is the taking thread's (as in the kernel).
            assert_eq!(reports.len(), 1, "{reports:#?}");
            assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
        }
    }
}
