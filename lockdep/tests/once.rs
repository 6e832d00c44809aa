//! One-time initialisation (`OnceLock`, `LazyLock`, `Once`) is validated as a lock class: an
//! initialiser that takes a lock a waiting caller holds is a cycle, reported before it hangs.
#![cfg(not(lockdep_off))]

use std::sync::mpsc;
use std::thread;

use lockdep::std::{LazyLock, Mutex, Once, OnceLock};
use lockdep::{Config, OnReport, ReportKind, Validator};

#[test]
fn an_init_that_takes_a_lock_its_waiter_holds_is_reported_before_it_hangs() {
    // The waiter holds `registry` and waits for the cell; the initialiser then takes `registry`.
    // Run for real, this deadlocks; the report (a panic here) comes first.
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let registry = Mutex::with_name("registry", 0u32);
    let cell = OnceLock::<u32>::with_name("cell");
    let (started_tx, started_rx) = mpsc::channel();
    let (holding_tx, holding_rx) = mpsc::channel();
    thread::scope(|s| {
        let (v2, registry, cell) = (&v, &registry, &cell);
        let waiter = s.spawn(move || {
            v2.scope(|| {
                started_rx.recv().unwrap();
                let _held = registry.lock().unwrap();
                holding_tx.send(()).unwrap();
                *cell.get_or_init(|| 1) // registry -> cell; waits for the initialiser
            })
        });
        let init = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            v.scope(|| {
                cell.get_or_init(|| {
                    started_tx.send(()).unwrap();
                    holding_rx.recv().unwrap();
                    // Give the waiter time to start waiting for the cell.
                    thread::sleep(std::time::Duration::from_millis(200));
                    *registry.lock().unwrap() // cell -> registry: closes the cycle
                });
            })
        }));
        let message = init.expect_err("the report panics instead of deadlocking");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("circular locking dependency"), "{text}");
        assert!(
            text.contains("(cell)") && text.contains("(registry)"),
            "{text}"
        );
        // The initialiser unwound, so the waiter runs its own and returns.
        assert_eq!(waiter.join().unwrap(), 1);
    });
}

#[test]
fn an_init_that_waits_for_its_own_once_is_recursive_locking() {
    let reports = lockdep::capture(|| {
        let a = OnceLock::<u32>::with_name("a");
        let outer = Once::new();
        let inner = Once::new();
        outer.call_once(|| inner.call_once(|| ())); // two classes: fine
        a.get_or_init(|| 3);
    });
    assert!(reports.is_empty(), "{reports:#?}");
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let once = Once::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        v.scope(|| once.call_once(|| once.call_once(|| ()))) // std would deadlock here
    }));
    let message = result.expect_err("reported before the inner call blocks");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("possible recursive locking"), "{text}");
    assert_eq!(v.take_reports().len(), 0, "panicked, not collected");
}

#[test]
fn a_lazy_init_under_a_lock_its_init_also_takes_elsewhere_is_a_cycle() {
    let reports = lockdep::capture(|| {
        let registry = Mutex::with_name("registry", 1u32);
        let registry = &registry;
        // One site, one class: the first lazy's init takes `registry`, the second's does not.
        let lazies: Vec<LazyLock<u32, Box<dyn FnOnce() -> u32 + '_>>> = (0..2u32)
            .map(|i| {
                let init = move || if i == 0 { *registry.lock().unwrap() } else { i };
                LazyLock::new(Box::new(init) as Box<dyn FnOnce() -> u32>)
            })
            .collect();
        assert_eq!(*lazies[0], 1); // lazy -> registry
        let _held = registry.lock().unwrap();
        assert_eq!(*LazyLock::force(&lazies[1]), 1); // registry -> lazy: closes the cycle
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[test]
fn initialised_cells_are_not_validated_again() {
    let reports = lockdep::capture(|| {
        let registry = Mutex::with_name("registry", 0u32);
        let cell = OnceLock::new();
        cell.get_or_init(|| *registry.lock().unwrap());
        let _held = registry.lock().unwrap();
        assert_eq!(cell.get_or_init(|| 5), &0); // already set: no wait, no dependency
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

/// `Once`s built from `ONCE_INIT` (lazy_static's statics, all first called in one helper) are
/// classes of their own: one initialised inside another's closure is no report, and each is
/// still ordered against the locks its closure takes (held-out std round 3: lazy_static's `s3`
/// test and README doctest were false recursive-locking reports).
#[test]
#[allow(deprecated)]
fn onces_built_from_once_init_are_classes_of_their_own() {
    use lockdep::std::ONCE_INIT;
    static A: Once = ONCE_INIT;
    static B: Once = ONCE_INIT;
    static C: Once = ONCE_INIT;
    fn get(once: &'static Once, f: impl FnOnce()) {
        once.call_once(f); // one site for every static, as lazy_static's `Lazy::get`
    }
    let reports = lockdep::capture(|| {
        get(&C, || {
            get(&A, || ());
            get(&B, || ());
        });
    });
    assert!(reports.is_empty(), "{reports:#?}");
    static D: Once = ONCE_INIT;
    static M: Mutex<()> = Mutex::new(());
    let reports = lockdep::capture(|| {
        drop(M.lock()); // validated
        let _m = M.lock();
        get(&D, || ()); // M -> D
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

/// A once's class built outside the user's code is named for what it is (`once@…`), not for
/// the pseudo-lock modelling it (`map@…`, which told a reader nothing).
#[test]
#[allow(deprecated)]
fn a_once_class_prints_as_a_once() {
    use lockdep::std::ONCE_INIT;
    static E: Once = ONCE_INIT;
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        v.scope(|| E.call_once(|| E.call_once(|| ()))) // std would deadlock here
    }));
    let message = result.expect_err("reported before the inner call blocks");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("once@instance-"), "{text}");
    assert!(!text.contains("map@"), "{text}");
}
