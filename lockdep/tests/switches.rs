//! The two ways to turn validation off: the run-time switch (`lockdep::set_enabled`,
//! `LOCKDEP=off`) and `--cfg lockdep_disabled`, which compiles it out:
//! `RUSTFLAGS="--cfg lockdep_disabled" cargo test -p lockdep --test switches`.
//!
//! The switch is process-wide, so this file is its own test binary and each binary has one test.

use std::time::Duration;

use lockdep::{ClassKey, Condvar, Mutex, RecursiveRwLock, RwLock, SeqLock, SpinLock};

static KEY: ClassKey = ClassKey::new("keyed");

/// Every constructor and acquisition of the public API, in an order that would be an ABBA.
fn use_every_api() {
    let a = Mutex::with_name("a", 0u32);
    let b = Mutex::with_class(&KEY, 0u32);
    let r = RwLock::new(0u32);
    let rr = RecursiveRwLock::with_name("rr", 0u32);
    let s = SpinLock::new(0u32);
    let sl = SeqLock::new((1u64, 2u64));
    let cv = Condvar::new();
    {
        let _a = a.lock();
        let _b = b.lock(); // a -> b
        let b2 = Mutex::with_class(&KEY, 0u32);
        let _b2 = b2.lock_nested(1); // same class, subclass 1
        let _r = r.read();
        let _rr = rr.read();
        let _s = s.lock();
        lockdep::assert_held(&a);
    }
    {
        let _b = b.lock();
        let _a = a.try_lock().unwrap(); // b -> a
        let _w = r.try_write_for(Duration::from_millis(1)).unwrap();
    }
    {
        let _b = b.lock();
        let _a = a.lock(); // b -> a after a -> b: an ABBA when validated
    }
    {
        let outer = Mutex::new(());
        let _o = outer.lock();
        let _x = a.lock_nest_lock(&outer);
    }
    let mut g = a.lock();
    let _ = cv.wait_for(&mut g, Duration::from_millis(1));
    drop(g);
    assert_eq!(sl.read(), (1, 2));
    *sl.write() = (3, 4);
    assert_eq!(sl.read(), (3, 4));
}

#[cfg(not(lockdep_off))]
#[test]
fn the_run_time_switch_turns_validation_off_and_back_on() {
    assert!(lockdep::enabled());
    let on = lockdep::capture(use_every_api);
    assert!(!on.is_empty(), "validated: the ABBA is reported");

    lockdep::set_enabled(false);
    assert!(!lockdep::enabled());
    assert!(lockdep::capture(use_every_api).is_empty());
    // Held while off, released after it is back on: forgotten, not an unbalanced unlock.
    let m = Mutex::with_name("held across the switch", ());
    let g = m.lock();
    lockdep::assert_held(&m); // a no-op while off
    lockdep::set_enabled(true);
    let reports = lockdep::capture(|| drop(g));
    assert!(reports.is_empty(), "{reports:?}");

    // Held while on, released while off, then on again: the stale entry is forgotten.
    let v =
        lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    v.scope(|| {
        let g = m.lock();
        lockdep::set_enabled(false);
        drop(g);
        lockdep::set_enabled(true);
        let _again = m.lock();
        let other = Mutex::with_name("other", ());
        let _other = other.lock();
    });
    assert!(v.take_reports().is_empty());

    // The same, with the lock taken again and its guard released on another thread: the posted
    // release is the new acquisition's, not the stale one's (which left a phantom entry, and
    // the next acquisition was "recursive locking").
    #[cfg(feature = "send_guard")]
    v.scope(|| {
        let g = m.lock();
        lockdep::set_enabled(false);
        drop(g);
        lockdep::set_enabled(true);
        let again = m.lock();
        std::thread::scope(|s| s.spawn(move || drop(again)).join().unwrap());
        let _third = m.lock();
    });
    let reports = v.take_reports();
    assert!(reports.is_empty(), "{reports:#?}");

    // Back on: reports again.
    assert!(!lockdep::capture(use_every_api).is_empty());

    // Seqcount readers skip at top level by a per-thread gate that each switch reaches (off: skip
    // even under a lock; on: ask again). Readers at top level and under a lock while another
    // thread flips the switch, then, on, a reader under a lock still gives its dependency.
    let seq = std::sync::Arc::new(SeqLock::with_name("seq under the switch", 0u64));
    let lock = std::sync::Arc::new(Mutex::with_name("lock over the reader", ()));
    let flipping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Reports are collected, not panics: a report on a release would leave the lock locked.
    let collect =
        lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (seq, lock, flipping, v) =
                (seq.clone(), lock.clone(), flipping.clone(), collect.clone());
            std::thread::spawn(move || {
                v.scope(|| {
                    let mut reads = 0u64;
                    while flipping.load(std::sync::atomic::Ordering::Relaxed) || reads < 1000 {
                        seq.read();
                        let _l = lock.lock();
                        seq.read();
                        reads += 1;
                    }
                })
            })
        })
        .collect();
    for i in 0..400 {
        lockdep::set_enabled(i % 2 == 1);
    }
    flipping.store(false, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    // Locks taken and released across the flips: no false report (stale stacks are forgotten).
    let reports = collect.take_reports();
    assert!(reports.is_empty(), "{reports:#?}");
    assert!(lockdep::enabled());
    let reports = lockdep::capture(|| {
        seq.read();
        {
            let _l = lock.lock();
            seq.read(); // lock -> seq
        }
        let _w = seq.write();
        let _l = lock.lock(); // seq -> lock
    });
    assert!(
        reports
            .iter()
            .any(|r| r.kind == lockdep::ReportKind::CircularDependency),
        "{reports:?}"
    );
}

#[cfg(all(
    not(lockdep_off),
    not(feature = "portable-layout"),
    target_pointer_width = "64",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[test]
fn validating_locks_carry_two_words_of_lock_state() {
    use std::mem::size_of;
    assert_eq!(size_of::<lockdep::LockMap>(), 16);
    assert_eq!(size_of::<Mutex<()>>(), 24);
    assert_eq!(size_of::<Mutex<u64>>(), 32);
    assert_eq!(size_of::<RwLock<()>>(), 24);
}

#[cfg(all(
    not(lockdep_off),
    target_pointer_width = "64",
    any(
        feature = "portable-layout",
        not(any(target_arch = "x86_64", target_arch = "aarch64"))
    )
))]
#[test]
fn validating_locks_carry_four_words_of_lock_state_in_the_portable_layout() {
    use std::mem::size_of;
    assert_eq!(size_of::<lockdep::LockMap>(), 32);
    assert_eq!(size_of::<Mutex<()>>(), 40);
    assert_eq!(size_of::<RwLock<()>>(), 40);
}

#[cfg(lockdep_off)]
#[test]
fn compiled_out_locks_are_parking_lot_in_size_and_report_nothing() {
    use std::mem::size_of;
    assert_eq!(
        size_of::<Mutex<u64>>(),
        size_of::<upstream_parking_lot::Mutex<u64>>()
    );
    assert_eq!(
        size_of::<Mutex<()>>(),
        size_of::<upstream_parking_lot::Mutex<()>>()
    );
    assert_eq!(
        size_of::<RwLock<u64>>(),
        size_of::<upstream_parking_lot::RwLock<u64>>()
    );
    assert_eq!(
        size_of::<RecursiveRwLock<u64>>(),
        size_of::<upstream_parking_lot::RecursiveRwLock<u64>>()
    );
    assert_eq!(
        size_of::<Condvar>(),
        size_of::<upstream_parking_lot::Condvar>()
    );
    assert_eq!(size_of::<lockdep::LockMap>(), 0);
    assert_eq!(
        size_of::<lockdep::MutexGuard<'static, u64>>(),
        size_of::<upstream_parking_lot::MutexGuard<'static, u64>>()
    );
    assert_eq!(
        size_of::<lockdep::RwLockReadGuard<'static, u64>>(),
        size_of::<upstream_parking_lot::RwLockReadGuard<'static, u64>>()
    );
    // The spin lock is one flag beside its data, the seqcount one counter.
    assert_eq!(
        size_of::<SpinLock<u64>>(),
        size_of::<(std::sync::atomic::AtomicBool, u64)>()
    );
    assert_eq!(
        size_of::<lockdep::SeqCount>(),
        size_of::<std::sync::atomic::AtomicUsize>()
    );

    assert!(!lockdep::enabled());
    lockdep::set_enabled(true); // cannot turn compiled-out validation on
    assert!(!lockdep::enabled());
    assert!(lockdep::capture(use_every_api).is_empty());
    let m = Mutex::new(());
    let g = m.lock();
    assert!(!lockdep::is_held(&m));
    lockdep::assert_not_held(&m);
    assert_eq!(lockdep::class_name(&m), "");
    drop(g);
}
