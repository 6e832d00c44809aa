//! A report whose dispatch unwinds (panic mode, or, as here, a report callback that panics, as a
//! test's may) leaves every lock as it would be without lockdep, and the thread's held-lock
//! stack matching them:
//! - a trylock through the raw-lock traits (what `lock_api`-built locks and the parking_lot compat
//!   crates call) reports after taking the lock and before its caller has a guard that would
//!   release it: the lock is released again;
//! - a blocking acquisition reports before taking the lock, which is then never taken: its entry
//!   goes too (else the next acquisition is "recursive locking" and the thread ends holding it).
//!
//! The trylocks' report is the class limit's (the validator holds one class, taken by another
//! lock).
#![cfg(not(lockdep_off))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use lockdep::{Config, OnReport, RawMutex, RawRwLock, RawSpinLock, Report, Validator};

/// A validator with `config` whose report callback panics.
fn panicking(config: Config) -> Validator {
    panicking_recorded(config).0
}

/// The kinds of the reports a callback got, in order.
type Seen = Arc<std::sync::Mutex<Vec<lockdep::ReportKind>>>;

/// A validator with `config` whose report callback records each report's kind and panics
/// (unless the thread already unwinds: a panic then would abort).
fn panicking_recorded(config: Config) -> (Validator, Seen) {
    let seen = Seen::default();
    let callback = {
        let seen = seen.clone();
        move |r: &Report| {
            seen.lock().unwrap().push(r.kind());
            if !std::thread::panicking() {
                panic!("reported: {}", r.title());
            }
        }
    };
    let v = Validator::with_on_report(config, OnReport::Callback(Arc::new(callback)));
    (v, seen)
}

/// Runs `attempt` (a trylock expected to succeed) under a validator whose one class is taken
/// first and whose report callback panics; checks that it was reported and that the lock is free
/// afterwards.
fn reported_trylock_leaves_it_free<L>(lock: &L, attempt: fn(&L), free: fn(&L) -> bool) {
    let v = panicking(Config {
        max_classes: 1,
        ..Config::default()
    });
    let first = lockdep::Mutex::with_name("the one class", ());
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        v.scope(|| {
            drop(first.lock());
            attempt(lock);
        })
    }))
    .expect_err("the trylock is reported, and the callback panics");
    let text = unwound
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("too low"), "{text}");
    assert!(free(lock), "the report left the lock locked");
}

#[test]
fn a_reported_raw_mutex_trylock_leaves_it_free() {
    reported_trylock_leaves_it_free(
        &lock_api::Mutex::<RawMutex, ()>::new(()),
        |m| drop(m.try_lock()),
        |m| !m.is_locked(),
    );
}

#[test]
fn a_reported_raw_spin_lock_trylock_leaves_it_free() {
    reported_trylock_leaves_it_free(
        &lock_api::Mutex::<RawSpinLock, ()>::new(()),
        |m| drop(m.try_lock()),
        |m| !m.is_locked(),
    );
}

#[test]
fn a_reported_raw_rwlock_trylock_leaves_it_free() {
    type L = lock_api::RwLock<RawRwLock, ()>;
    for attempt in [
        (|l: &L| drop(l.try_read())) as fn(&L),
        |l| drop(l.try_write()),
        |l| drop(l.try_upgradable_read()),
    ] {
        reported_trylock_leaves_it_free(&L::new(()), attempt, |l| !l.is_locked());
    }
}

#[test]
fn a_reported_nonrecursive_read_trylock_leaves_it_free() {
    use lock_api::RawRwLock as _;
    let raw: RawRwLock<true> = RawRwLock::INIT;
    reported_trylock_leaves_it_free(
        &raw,
        // SAFETY: the shared acquisition just made is released once.
        |l| {
            if let Some(g) = l.try_lock_shared_nonrecursive() {
                unsafe { l.unlock_shared(g) }
            }
        },
        |l| !l.is_locked(),
    );
}

#[test]
fn a_reported_wrapper_trylock_leaves_it_free() {
    reported_trylock_leaves_it_free(
        &lockdep::Mutex::new(()),
        |m| drop(m.try_lock()),
        |m| !m.is_locked(),
    );
    reported_trylock_leaves_it_free(
        &lockdep::ReentrantMutex::new(()),
        |m| drop(m.try_lock()),
        |m| !m.is_locked(),
    );
}

/// Nests `a` then `b`, then (the callback panicking on the report) `b` then `a`; checks that both
/// are free and that the first order is taken again silently, and the scope ends holding nothing,
/// as a thread whose stack is empty would.
fn reported_lock_is_not_taken<L>(a: &L, b: &L, nest: fn(&L, &L), free: fn(&L) -> bool) {
    panicking(Config::default()).scope(|| {
        nest(a, b);
        let unwound = catch_unwind(AssertUnwindSafe(|| nest(b, a)))
            .expect_err("the reversed order is reported, and the callback panics");
        let text = unwound
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("circular"), "{text}");
        assert!(free(a) && free(b), "the report left a lock locked");
        nest(a, b);
    });
}

#[test]
fn a_reported_blocking_lock_is_not_taken() {
    type RawBuilt = lock_api::Mutex<RawMutex, ()>;
    reported_lock_is_not_taken(
        &lockdep::Mutex::new(()),
        &lockdep::Mutex::new(()),
        |x, y| drop((x.lock(), y.lock())),
        |m| !m.is_locked(),
    );
    reported_lock_is_not_taken(
        &RawBuilt::new(()),
        &RawBuilt::new(()),
        |x, y| drop((x.lock(), y.lock())),
        |m| !m.is_locked(),
    );
    reported_lock_is_not_taken(
        &lockdep::RwLock::new(()),
        &lockdep::RwLock::new(()),
        |x, y| drop((x.write(), y.read())),
        |l| !l.is_locked(),
    );
}

/// The blocking cases where the acquisition is not an entry of its own: what it recorded goes,
/// and only that.
mod what_was_recorded {
    use super::*;
    use lockdep::ClassKey;

    /// Over the class limit, the acquisition is recorded as untracked ("skipped"): the lock never
    /// taken, the thread must not count as holding it.
    #[test]
    fn over_the_class_limit() {
        let first = lockdep::Mutex::with_name("the one class", ());
        let m = lockdep::Mutex::with_name("over", ());
        panicking(Config {
            max_classes: 1,
            ..Config::default()
        })
        .scope(|| {
            drop(first.lock());
            catch_unwind(AssertUnwindSafe(|| drop(m.lock()))).expect_err("the limit, reported");
            assert!(!m.is_locked());
            assert!(!lockdep::is_held(&m), "the thread holds a lock never taken");
        });
    }

    /// A recursive read beyond the depth limit is recorded as untracked: undoing it must not
    /// take the outer read's entry, whose guard lives on.
    #[test]
    fn a_recursive_read_beyond_the_depth_limit() {
        let r = lockdep::RecursiveRwLock::new(());
        panicking(Config {
            max_lock_depth: 1,
            ..Config::default()
        })
        .scope(|| {
            let outer = r.read();
            catch_unwind(AssertUnwindSafe(|| drop(r.read()))).expect_err("the limit, reported");
            assert!(lockdep::is_held(&r), "the outer read's entry went");
            drop(outer);
            assert!(!lockdep::is_held(&r));
        });
    }

    static MERGED: ClassKey = ClassKey::new("merged");

    /// Under a nest lock, a second lock of the class merges into the first's entry (a count):
    /// undoing it takes the count back, so the entry goes with the first lock's release.
    #[test]
    fn a_merge_under_a_nest_lock() {
        let n = lockdep::Mutex::with_name("nest", ());
        let (m1, m2) = (
            lockdep::Mutex::with_class(&MERGED, ()),
            lockdep::Mutex::with_class(&MERGED, ()),
        );
        panicking(Config::default()).scope(|| {
            let gn = n.lock();
            let g1 = m1.lock_nest_lock(&n);
            let unwound = catch_unwind(AssertUnwindSafe(|| {
                lockdep::non_blocking(|| drop(m2.lock_nest_lock(&n)))
            }));
            unwound.expect_err("a sleeping lock in a non-blocking section, reported");
            drop(g1);
            drop(gn);
            assert!(
                !lockdep::is_held(&m1),
                "the merged count outlived both locks"
            );
        });
    }
}

/// Reports drained from the thread's inbox (a guard of this thread's released on another one,
/// `send_guard`) come out of the next hook, whatever it is: there too an unwinding report must
/// leave no lock locked without a guard and no entry without a lock. The drained report here:
/// `x`, `a`, `b` held and `a` released elsewhere, so `b` is re-validated above `x` — an edge
/// over the limit of two.
#[cfg(feature = "send_guard")]
mod drained {
    use super::*;

    fn edge_limit_of_two() -> Validator {
        panicking(Config {
            max_edges: 2,
            ..Config::default()
        })
    }

    /// Holds `x` (or `first`, when given) then `a` and `b`, releases `a` on another thread, and
    /// runs `hook` (whose drained report unwinds); then releases the rest.
    fn after_a_release_elsewhere(first: Option<&dyn Fn()>, hook: impl FnOnce()) {
        let (x, a, b) = (
            lockdep::Mutex::with_name("x", ()),
            lockdep::Mutex::with_name("a", ()),
            lockdep::Mutex::with_name("b", ()),
        );
        let gx = first.is_none().then(|| x.lock());
        if let Some(first) = first {
            first();
        }
        let (ga, gb) = (a.lock(), b.lock());
        std::thread::scope(|s| {
            s.spawn(move || drop(ga)).join().unwrap();
        });
        catch_unwind(AssertUnwindSafe(hook)).expect_err("the drained report unwinds");
        drop((gb, gx));
    }

    #[test]
    fn a_downgrade_leaves_no_lock_locked() {
        let w = lockdep::RwLock::with_name("w", ());
        edge_limit_of_two().scope(|| {
            let gw = std::cell::Cell::new(None);
            after_a_release_elsewhere(Some(&|| gw.set(Some(w.write()))), || {
                drop(lockdep::RwLockWriteGuard::downgrade(gw.take().unwrap()))
            });
            assert!(!w.is_locked(), "the downgraded lock stays locked");
            assert!(!lockdep::is_held(&w));
        });
    }

    /// A lock whose chain is known (no report of its own) is recorded on the steady path; a
    /// drained report that unwinds must take that entry back too.
    #[test]
    fn a_known_chain_is_undone_too() {
        let (x, b, c) = (
            lockdep::Mutex::with_name("x", ()),
            lockdep::Mutex::with_name("b", ()),
            lockdep::Mutex::with_name("c", ()),
        );
        panicking(Config {
            max_edges: 4,
            ..Config::default()
        })
        .scope(|| {
            // The chain x, b, c, validated once (b by trylock: no edge into it).
            let gx = x.lock();
            let gb = b.try_lock().unwrap();
            drop(c.lock());
            drop((gb, gx));
            // Then a, between x and b, released elsewhere: b's re-validation above x is an edge
            // over the limit, drained by c's acquisition, whose chain is known.
            let gx = x.lock();
            let a = lockdep::Mutex::with_name("a", ());
            let (ga, gb) = (a.lock(), b.lock());
            std::thread::scope(|s| {
                s.spawn(move || drop(ga)).join().unwrap();
            });
            catch_unwind(AssertUnwindSafe(|| drop(c.lock()))).expect_err("the drained report");
            assert!(!c.is_locked());
            assert!(!lockdep::is_held(&c), "an entry for a lock never taken");
            drop((gb, gx));
        });
    }

    /// A hook with reports of its own (here `might_sleep` in a spin lock) and a drained one that
    /// unwinds: the callback gets both (each report is made once).
    #[test]
    fn a_hooks_own_report_is_not_lost() {
        // x -> a -> b -> spin fit; x -> b does not.
        let (v, seen) = panicking_recorded(Config {
            max_edges: 3,
            ..Config::default()
        });
        let (x, a, b) = (
            lockdep::Mutex::with_name("x", ()),
            lockdep::Mutex::with_name("a", ()),
            lockdep::Mutex::with_name("b", ()),
        );
        let spin = lockdep::SpinLock::with_name("spin", ());
        v.scope(|| {
            let (gx, ga, gb, gs) = (x.lock(), a.lock(), b.lock(), spin.lock());
            std::thread::scope(|s| {
                s.spawn(move || drop(ga)).join().unwrap();
            });
            catch_unwind(AssertUnwindSafe(lockdep::might_sleep)).expect_err("the drained report");
            drop((gs, gb, gx));
        });
        let seen = seen.lock().unwrap();
        assert!(
            seen.contains(&lockdep::ReportKind::InvalidWaitContext),
            "{seen:?}"
        );
    }

    #[test]
    fn entering_a_non_blocking_section_leaves_it_closed() {
        edge_limit_of_two().scope(|| {
            after_a_release_elsewhere(None, || lockdep::non_blocking(|| ()));
            // Outside any section, a sleeping lock is allowed: no report (which would panic).
            drop(lockdep::Mutex::with_name("sleeping", ()).lock());
        });
    }

    /// A tracked task whose guard was released elsewhere while it waited: its next poll drains
    /// the release, and the report must not leave the task's stack on the thread.
    #[cfg(feature = "tokio")]
    #[test]
    fn a_tracked_task_poll_leaves_its_stack() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (x, a, b) = (
            Arc::new(lockdep::tokio::Mutex::with_name("x", ())),
            Arc::new(lockdep::tokio::Mutex::with_name("a", ())),
            Arc::new(lockdep::tokio::Mutex::with_name("b", ())),
        );
        edge_limit_of_two().scope(|| {
            let (x2, a2, b2) = (x.clone(), a.clone(), b.clone());
            let task = lockdep::tokio::track(async move {
                let gx = x2.lock().await;
                let ga = a2.lock_owned().await;
                let gb = b2.lock().await;
                std::thread::spawn(move || drop(ga)).join().unwrap();
                tokio::task::yield_now().await;
                drop((gb, gx));
            });
            catch_unwind(AssertUnwindSafe(|| rt.block_on(task)))
                .expect_err("the drained report unwinds");
            assert!(
                !lockdep::is_held(&*x) && !lockdep::is_held(&*b),
                "the task's stack stayed"
            );
        });
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn an_async_trylock_leaves_no_entry() {
        let t = lockdep::tokio::Mutex::with_name("t", ());
        edge_limit_of_two().scope(|| {
            after_a_release_elsewhere(None, || drop(t.try_lock()));
            assert!(t.try_lock().is_ok());
            assert!(!lockdep::is_held(&t), "an entry for a lock nobody holds");
        });
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn an_async_downgrade_leaves_no_entry() {
        let t = lockdep::tokio::RwLock::with_name("t", ());
        edge_limit_of_two().scope(|| {
            let gt = std::cell::Cell::new(None);
            after_a_release_elsewhere(Some(&|| gt.set(Some(t.blocking_write()))), || {
                drop(lockdep::tokio::RwLockWriteGuard::downgrade(
                    gt.take().unwrap(),
                ))
            });
            assert!(t.try_write().is_ok());
            assert!(!lockdep::is_held(&t), "an entry for a lock nobody holds");
        });
    }
}

/// A condvar wait records its mutex's release before it sleeps: if that release's report
/// unwinds, the mutex is still taken and the caller's guard releases it, so it must be recorded
/// as held again (else the guard's release is a bad unlock balance). The report: `x`, `a`, `b`
/// held and `a` waited on, so `b` is re-validated above `x` — an edge over the limit of two.
#[test]
fn a_reported_condvar_release_keeps_the_mutex_held() {
    let (v, seen) = panicking_recorded(Config {
        max_edges: 2,
        ..Config::default()
    });
    let (x, a, b) = (
        lockdep::Mutex::with_name("x", ()),
        lockdep::Mutex::with_name("a", ()),
        lockdep::Mutex::with_name("b", ()),
    );
    let cv = lockdep::Condvar::new();
    v.scope(|| {
        let (gx, mut ga, gb) = (x.lock(), a.lock(), b.lock());
        catch_unwind(AssertUnwindSafe(|| {
            cv.wait_for(&mut ga, std::time::Duration::from_millis(1));
        }))
        .expect_err("the wait's release, reported");
        assert!(
            lockdep::is_held(&a),
            "the mutex is taken, but not recorded as held"
        );
        drop((gb, ga, gx));
    });
    let seen = seen.lock().unwrap();
    assert!(
        !seen.contains(&lockdep::ReportKind::BadUnlockBalance),
        "{seen:?}"
    );
}

/// A callback that panics still gets every report of a batch (each is reported once only, so
/// one left out is lost for good); the panic goes on after the last.
#[test]
fn a_panicking_callback_gets_the_whole_batch() {
    let abba = |a: &lockdep::Mutex<()>, b: &lockdep::Mutex<()>| {
        drop((a.lock(), b.lock()));
        drop((b.lock(), a.lock()));
    };
    let reports = lockdep::capture(|| {
        let (a, b, c, d) = (
            lockdep::Mutex::new(()),
            lockdep::Mutex::new(()),
            lockdep::Mutex::new(()),
            lockdep::Mutex::new(()),
        );
        abba(&a, &b);
        abba(&c, &d);
    });
    assert_eq!(reports.len(), 2);
    let called = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let v = {
        let called = called.clone();
        Validator::with_on_report(
            Config::default(),
            OnReport::Callback(Arc::new(move |r: &Report| {
                called.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                panic!("reported: {}", r.title());
            })),
        )
    };
    catch_unwind(AssertUnwindSafe(|| v.dispatch(reports))).expect_err("the callback's panic");
    assert_eq!(called.load(std::sync::atomic::Ordering::SeqCst), 2);
}
