//! Validation of the parking_lot types and APIs beyond `Mutex`/`RwLock`/`Condvar`: `FairMutex`,
//! `ReentrantMutex`, `Once`, the `arc_lock` API, timed upgradable reads and `force_unlock`.
#![cfg(not(lockdep_off))]

use std::sync::Arc;
use std::time::Duration;

use lockdep::{
    FairMutex, Mutex, Once, ReentrantMutex, ReportKind, RwLock, RwLockUpgradableReadGuard,
};

#[test]
fn fair_mutexes_are_validated_like_mutexes() {
    let reports = lockdep::capture(|| {
        let (a, b) = (FairMutex::with_name("a", ()), FairMutex::with_name("b", ()));
        drop((a.lock(), b.lock()));
        let _b = b.lock();
        let _a = a.try_lock_for(Duration::from_millis(1)); // timed: validated like lock
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    assert_eq!(reports[0].cycle(), vec!["a", "b"]);
}

#[test]
fn reentry_is_legal_and_adds_no_dependency() {
    let reports = lockdep::capture(|| {
        let (log, other) = (
            ReentrantMutex::with_name("log", ()),
            Mutex::with_name("other", ()),
        );
        let _outer = log.lock();
        let _o = other.lock(); // log -> other
        let _inner = log.lock(); // re-entry: no other -> log
        let _again = log.try_lock().expect("the owner re-enters");
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn other_threads_are_ordered_as_usual_through_a_reentrant_mutex() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let log = Arc::new(ReentrantMutex::with_name("log", ()));
        let other = Arc::new(Mutex::with_name("other", ()));
        let (log2, other2, v2) = (log.clone(), other.clone(), v.clone());
        std::thread::spawn(move || v2.scope(|| drop((log2.lock(), other2.lock()))))
            .join()
            .unwrap();
        let _o = other.lock();
        let _l = log.lock(); // other -> log: the cycle with the other thread's log -> other
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    let text = reports[0].to_string();
    assert!(
        text.contains("parking_lot_extras.rs:"),
        "sites are the user's: {text}"
    );
}

#[test]
fn arc_guards_are_validated() {
    let reports = lockdep::capture(|| {
        let a = Arc::new(Mutex::with_name("a", 0));
        let b = Arc::new(RwLock::with_name("b", 0));
        drop((a.lock_arc(), b.write_arc()));
        let _b = b.read_arc();
        let _a = a.lock_arc(); // b -> a
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    let acquiring = reports[0].acquiring.as_ref().unwrap();
    assert!(acquiring.site.to_string().contains("parking_lot_extras.rs"));
}

#[test]
fn timed_upgradable_reads_are_validated_as_exclusive() {
    let reports = lockdep::capture(|| {
        let (a, b) = (RwLock::with_name("a", 0), Mutex::with_name("b", ()));
        {
            let up = a.try_upgradable_read_for(Duration::from_millis(1)).unwrap();
            let _b = b.lock(); // a -> b
            drop(RwLockUpgradableReadGuard::upgrade(up));
        }
        let _b = b.lock();
        let _a = a.try_upgradable_read_until(std::time::Instant::now()); // b -> a
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[test]
fn force_unlock_is_validated_as_a_release() {
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", ());
        // SAFETY: the raw lock is taken here and released below with its state.
        let state = lock_api::RawMutex::lock(unsafe { m.raw() });
        assert!(lockdep::is_held(&m));
        // SAFETY: `state` is the state of this acquisition, and no guard exists.
        unsafe { m.force_unlock(state) };
        assert!(!lockdep::is_held(&m));
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn a_once_closure_that_waits_for_itself_is_reported_before_it_hangs() {
    let v =
        lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Panic);
    let once = Once::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        v.scope(|| once.call_once(|| once.call_once(|| ())))
    }));
    let message = result.expect_err("reported before the inner call blocks");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("possible recursive locking"), "{text}");
    // The panic's location is lockdep's; its first line names the acquisition's site.
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains(&format!("(at {}:", file!())), "{first}");
}

#[test]
fn lock_api_over_the_raw_lock_records_the_users_sites() {
    let reports = lockdep::capture(|| {
        let a: lock_api::Mutex<lockdep::RawMutex, ()> = lock_api::Mutex::new(());
        let b: lock_api::Mutex<lockdep::RawMutex, ()> = lock_api::Mutex::new(());
        drop((a.lock(), b.lock()));
        let _b = b.lock();
        let _a = a.lock();
    });
    assert_eq!(reports.len(), 1);
    let text = reports[0].to_string();
    assert!(
        text.contains("at: lockdep/tests/parking_lot_extras.rs:"),
        "{text}"
    );
}
