//! The drop-in wrappers end to end: real locks, real threads, reports as values.

// These need validation compiled in (one deliberately self-deadlocks, counting on a report).
#![cfg(not(lockdep_off))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use lockdep::{
    ClassKey, Condvar, Config, Mutex, OnReport, RecursiveRwLock, ReportKind, RwLock, Validator,
};

fn names(r: &lockdep::Report) -> Vec<String> {
    let mut v: Vec<String> = r.classes().iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn abba_on_mutexes_reports_the_cycle_with_sites() {
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("a", 0);
        let b = Mutex::with_name("b", 0);
        {
            let _ga = a.lock();
            let _gb = b.lock();
        }
        let _gb = b.lock();
        let _ga = a.lock();
    });
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.kind(), ReportKind::CircularDependency);
    assert_eq!(r.cycle(), vec!["a", "b"]);
    assert_eq!(r.acquiring.as_ref().unwrap().name.as_ref(), "a");
    assert_eq!(r.held_lock.as_ref().unwrap().name.as_ref(), "b");
    assert_eq!(r.held.len(), 1);
    let link = &r.chain[0];
    assert_eq!((&*link.from, &*link.to), ("a", "b"));
    // Where the edge a -> b was first seen: this file.
    assert!(
        link.first_seen
            .to_site
            .to_string()
            .contains("tests/wrappers.rs")
    );
    let text = r.to_string();
    for needle in [
        "WARNING: possible circular locking dependency detected",
        "is trying to acquire lock:",
        "but task is already holding lock:",
        "the existing dependency chain (in reverse order) is:",
        "-> #1 (b){+.+.}-{4:4}:",
        "-> #0 (a){+.+.}-{4:4}:",
        " Possible unsafe locking scenario:",
        "  lock(b);",
        "                               lock(a);",
        " *** DEADLOCK ***",
        "1 lock held by ",
        "stack backtrace:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn one_site_is_one_class_so_instance_pairs_conflict() {
    // A1 -> B1 on one path, B2 -> A2 on another: the classes form a cycle.
    let reports = lockdep::capture(|| {
        let make = |_: u32| (Mutex::new(0), Mutex::new(0));
        let (a1, b1) = make(1);
        let (a2, b2) = make(2);
        drop((a1.lock(), b1.lock()));
        let _g = b2.lock();
        let _h = a2.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[test]
fn three_lock_chain_prints_chain_exists_of() {
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("A", ());
        let b = Mutex::with_name("B", ());
        let c = Mutex::with_name("C", ());
        drop((a.lock(), b.lock()));
        drop((b.lock(), c.lock()));
        let _c = c.lock();
        let _a = a.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].cycle(), vec!["A", "B", "C"]);
    let text = reports[0].to_string();
    assert!(
        text.contains("Chain exists of:\n  A --> B --> C\n"),
        "{text}"
    );
    assert!(text.contains("-> #2 (C)"));
}

#[test]
fn recursive_locking_of_one_class() {
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<u32>> = (0..2).map(|i| Mutex::new(i)).collect();
        let _a = locks[0].lock();
        let _b = locks[1].lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
    assert!(
        reports[0]
            .to_string()
            .contains("May be due to missing lock nesting notation")
    );
}

#[test]
fn subclass_and_nest_lock_annotations_silence_same_class_nesting() {
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<u32>> = (0..3).map(|i| Mutex::new(i)).collect();
        {
            let _a = locks[0].lock();
            let _b = locks[1].lock_nested(1);
        }
        let outer = Mutex::with_name("outer", ());
        let _o = outer.lock();
        let _g: Vec<_> = locks.iter().map(|l| l.lock_nest_lock(&outer)).collect();
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn the_check_runs_before_blocking_so_self_deadlock_panics_instead_of_hanging() {
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let m = Mutex::new(());
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _g = m.lock();
            let _h = m.lock(); // would hang forever
        }))
    });
    let err = result.expect_err("must panic, not deadlock");
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("possible recursive locking detected"), "{msg}");
    // The lock was released by unwinding and is usable again.
    assert!(m.try_lock().is_some());
}

const CONDVAR_CHILD: &str = "LOCKDEP_WRAPPERS_CONDVAR_CHILD";

/// The child of the test below: a report at a condvar wake-up, in panic mode; what is logged
/// while unwinding goes to stderr, which the parent reads.
#[test]
fn condvar_wake_up_report_child() {
    if std::env::var_os(CONDVAR_CHILD).is_none() {
        return;
    }
    let v = Validator::with_on_report(Config::default(), OnReport::Panic);
    let m = Mutex::with_name("cv-m", ());
    let y = Mutex::with_name("cv-y", ());
    let cv = Condvar::new();
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let mut g = m.lock();
            let _y = y.lock(); // cv-m -> cv-y
            // Woken up, cv-m is re-taken under cv-y: cv-y -> cv-m closes a cycle.
            cv.wait_for(&mut g, Duration::from_millis(1));
        }))
    });
    let err = result.expect_err("the wake-up's report panics");
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("circular"), "{msg}");
    assert!(m.try_lock().is_some() && y.try_lock().is_some());
}

/// A condvar wait re-takes its mutex before lockdep sees it: a report there that unwinds must
/// leave the mutex recorded as held, since the caller's guard holds it and releases it while
/// unwinding (else that release is a second, false report: a bad unlock balance, logged).
#[test]
fn a_report_at_a_condvar_wake_up_leaves_the_mutex_held_for_its_guard() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "condvar_wake_up_report_child",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CONDVAR_CHILD, "1")
        .env_remove("LOCKDEP")
        .env_remove("LOCKDEP_ON_REPORT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stderr.contains("possible circular locking dependency"),
        "{stderr}"
    );
    assert!(!stderr.contains("unlock balance"), "{stderr}");
}

#[test]
fn two_threads_in_turn_produce_one_report_and_no_deadlock() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = Arc::new(Mutex::with_name("A", 0));
        let b = Arc::new(Mutex::with_name("B", 0));
        let turn = Arc::new(Barrier::new(2));
        let t1 = {
            let (a, b, v, turn) = (a.clone(), b.clone(), v.clone(), turn.clone());
            std::thread::spawn(move || {
                v.scope(|| {
                    for _ in 0..50 {
                        let _a = a.lock();
                        *b.lock() += 1;
                    }
                });
                turn.wait();
            })
        };
        let t2 = {
            let (a, b, v, turn) = (a.clone(), b.clone(), v.clone(), turn.clone());
            std::thread::spawn(move || {
                turn.wait(); // strictly after t1: the program never deadlocks
                v.scope(|| {
                    for _ in 0..50 {
                        let _b = b.lock();
                        *a.lock() += 1;
                    }
                });
            })
        };
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(*a.lock() + *b.lock(), 100);
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(names(&reports[0]), vec!["A", "B"]);
}

#[test]
fn class_keys_share_a_class_across_sites() {
    static KEY: ClassKey = ClassKey::new("bucket");
    let reports = lockdep::capture(|| {
        let a = Mutex::with_class(&KEY, ());
        let b = Mutex::with_class(&KEY, ());
        assert_eq!(lockdep::class_name(&a), "bucket");
        let _a = a.lock();
        let _b = b.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
}

#[test]
fn default_class_name_is_the_kind_type_and_construction_site() {
    let m = Mutex::new(());
    let name = lockdep::class_name(&m);
    assert!(
        name.starts_with("mutex<()>@lockdep/tests/wrappers.rs:")
            || name.starts_with("mutex<()>@tests/wrappers.rs:"),
        "{name}"
    );
}

#[test]
fn statics_are_their_own_classes() {
    static S1: Mutex<u32> = Mutex::new(0);
    static S2: Mutex<u32> = Mutex::new(0);
    let reports = lockdep::capture(|| {
        drop((S1.lock(), S2.lock()));
        let _b = S2.lock();
        let _a = S1.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[test]
fn trylock_rules_through_the_wrappers() {
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("a", ());
        let b = Mutex::with_name("b", ());
        let c = Mutex::with_name("c", ());
        {
            let _a = a.lock();
            let _b = b.try_lock().unwrap(); // no a -> b
        }
        {
            let _b = b.lock();
            let _a = a.lock(); // fine: b -> a only
        }
        {
            let _hold = c.lock();
            std::thread::scope(|s| {
                s.spawn(|| assert!(c.try_lock().is_none())); // failed: records nothing
            });
        }
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn assertions_follow_the_current_thread() {
    let m = Arc::new(Mutex::new(()));
    lockdep::assert_not_held(&*m);
    let g = m.lock();
    lockdep::assert_held(&*m);
    let m2 = m.clone();
    std::thread::spawn(move || lockdep::assert_not_held(&*m2))
        .join()
        .unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| lockdep::assert_not_held(&*m)));
    assert!(r.is_err());
    drop(g);
    let r = catch_unwind(AssertUnwindSafe(|| lockdep::assert_held(&*m)));
    assert!(r.is_err());
}

#[test]
fn guards_dropped_out_of_order_keep_the_stack_right() {
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("a", ());
        let b = Mutex::with_name("b", ());
        let c = Mutex::with_name("c", ());
        let ga = a.lock();
        let gb = b.lock();
        drop(ga);
        let gc = c.lock(); // b -> c, not a -> c
        drop(gb);
        drop(gc);
        lockdep::assert_not_held(&a);
        let v = lockdep::current_validator();
        let mut deps: Vec<(String, String)> = v
            .dependencies()
            .iter()
            .map(|(f, t, _, _)| {
                let name = |c| v.class_info(c).unwrap().display_name.to_string();
                (name(*f), name(*t))
            })
            .collect();
        deps.sort();
        let want = [("a", "b"), ("b", "c")].map(|(x, y)| (x.to_string(), y.to_string()));
        assert_eq!(deps, want);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn condvar_wait_releases_and_retakes_the_mutex() {
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", 0);
        let other = Mutex::with_name("other", ());
        let cv = Condvar::new();
        let mut g = m.lock();
        let timed_out = cv.wait_for(&mut g, Duration::from_millis(1));
        assert!(timed_out.timed_out());
        lockdep::assert_held(&m);
        drop(g);
        lockdep::assert_not_held(&m);
        // Ordering after the wait is validated as usual.
        drop((m.lock(), other.lock()));
        let _o = other.lock();
        let _m = m.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(names(&reports[0]), vec!["m", "other"]);
}

#[test]
fn rwlock_readers_follow_their_kind() {
    let reports = lockdep::capture(|| {
        let r = RecursiveRwLock::with_name("rec", ());
        let _a = r.read();
        let _b = r.read(); // recursive read: fine
    });
    assert!(reports.is_empty());
    let reports = lockdep::capture(|| {
        let l = RwLock::with_name("rw", ());
        let _a = l.read();
        let _b = l.try_read(); // trylock: fine
        drop(_b);
        let _c = l.read(); // non-recursive read after read: reported
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
    assert!(reports[0].to_string().contains("  rlock(rw);"));
}

#[test]
fn downgrade_changes_the_held_mode() {
    let reports = lockdep::capture(|| {
        let x = RecursiveRwLock::with_name("x", 0);
        let w = x.write();
        let r = lockdep::RecursiveRwLockWriteGuard::downgrade(w);
        let r2 = x.read(); // recursive read after (downgraded) read: fine
        assert_eq!(*r + *r2, 0);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn lock_in_thread_local_destructor_does_not_panic() {
    struct TakesLock(Arc<Mutex<u32>>);
    impl Drop for TakesLock {
        fn drop(&mut self) {
            *self.0.lock() += 1;
        }
    }
    thread_local! {
        static SLOT: std::cell::RefCell<Option<TakesLock>> = const { std::cell::RefCell::new(None) };
    }
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    std::thread::spawn(move || {
        let _g = m2.lock(); // make sure lockdep's own thread-local exists first
        drop(_g);
        SLOT.with(|s| *s.borrow_mut() = Some(TakesLock(m2)));
    })
    .join()
    .unwrap();
    assert_eq!(*m.lock(), 1);
}

#[test]
fn thread_exit_with_a_forgotten_guard_is_reported() {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let m: &'static Mutex<()> = Box::leak(Box::new(Mutex::with_name("leaked", ())));
    let v2 = v.clone();
    std::thread::Builder::new()
        .name("forgetful".into())
        .spawn(move || {
            v2.enter();
            std::mem::forget(m.lock());
        })
        .unwrap()
        .join()
        .unwrap();
    let reports = v.take_reports();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].kind(), ReportKind::LocksHeldAtExit);
    assert_eq!(names(&reports[0]), vec!["leaked"]);
    let text = reports[0].to_string();
    assert!(text.contains("WARNING: forgetful/"), "{text}");
    assert!(text.contains("still has locks held!"), "{text}");
}

#[test]
fn a_scope_that_ends_holding_locks_is_reported() {
    let m = Mutex::with_name("kept", ());
    let reports = lockdep::capture(|| std::mem::forget(m.lock()));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::LocksHeldAtExit);
}

#[test]
fn parallel_captures_do_not_see_each_other() {
    // Many threads, each with opposite orders of its own locks, in separate captures.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let reports = lockdep::capture(|| {
                    let a = Mutex::with_name("pa", ());
                    let b = Mutex::with_name("pb", ());
                    if i % 2 == 0 {
                        drop((a.lock(), b.lock()));
                    } else {
                        drop((b.lock(), a.lock()));
                    }
                });
                assert!(reports.is_empty(), "capture {i} saw {reports:#?}");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn stress_consistent_order_from_many_threads_is_silent() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let locks: Arc<Vec<Mutex<u64>>> =
            Arc::new((0..6).map(|i| Mutex::with_class(&STRESS[i], 0)).collect());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (locks, v) = (locks.clone(), v.clone());
                std::thread::spawn(move || {
                    v.scope(|| {
                        for n in 0..2_000usize {
                            // Always ascending index order: never a cycle.
                            let i = (n + t) % 6;
                            let j = (i + 1 + n % 5) % 6;
                            let (lo, hi) = (i.min(j), i.max(j));
                            let _a = locks[lo].lock();
                            if lo != hi {
                                *locks[hi].lock() += 1;
                            }
                        }
                    })
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(v.dependency_count() > 0);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

static STRESS: [ClassKey; 6] = [
    ClassKey::new("s0"),
    ClassKey::new("s1"),
    ClassKey::new("s2"),
    ClassKey::new("s3"),
    ClassKey::new("s4"),
    ClassKey::new("s5"),
];

#[test]
fn assertions_see_locks_taken_in_an_outer_scope() {
    let m = Mutex::with_name("outer", ());
    let g = m.lock();
    let reports = lockdep::capture(|| {
        lockdep::assert_held(&m);
        let r = catch_unwind(AssertUnwindSafe(|| lockdep::assert_not_held(&m)));
        assert!(r.is_err());
    });
    drop(g);
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn backtraces_can_be_switched_on_through_the_api() {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.set_backtraces(true);
    v.scope(|| {
        let a = Mutex::with_name("bt_a", ());
        let b = Mutex::with_name("bt_b", ());
        drop((a.lock(), b.lock()));
        let _b = b.lock();
        let _a = a.lock();
    });
    let reports = v.take_reports();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert!(
        r.backtrace
            .as_deref()
            .is_some_and(|b| b.contains("wrappers")),
        "{:?}",
        r.backtrace
    );
    assert!(r.chain[0].first_seen.backtrace.is_some());
    assert!(!r.to_string().contains("backtraces off"));
}

/// A top-level seqcount reader skips without reading the switch word (its thread's reader gate
/// says nothing is held and nothing is recorded); starting to record must reach that gate, so
/// the reads after it are in the trace. Another thread's reads, skipped while nothing records,
/// are recorded too.
#[test]
fn top_level_seqcount_reads_are_recorded_once_recording_starts() {
    let path = std::env::temp_dir().join(format!(
        "lockdep-top-level-reads-{}.jsonl",
        std::process::id()
    ));
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let s = Arc::new(lockdep::SeqLock::with_name("recorded-seq", 0u64));
    let (warm, go) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let other = {
        let (v, s, warm, go) = (v.clone(), s.clone(), warm.clone(), go.clone());
        std::thread::spawn(move || {
            v.scope(|| {
                for _ in 0..3 {
                    s.read();
                }
                warm.wait();
                go.wait();
                s.read();
            })
        })
    };
    v.scope(|| {
        for _ in 0..3 {
            s.read(); // the reader gate is open: skipped
        }
        warm.wait();
        v.record_to(&path).unwrap();
        go.wait();
        s.read();
    });
    other.join().unwrap();
    v.stop_recording().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let reads = text
        .lines()
        .filter(|l| l.contains("\"op\":\"seq_read\"") && l.contains("recorded-seq"))
        .count();
    assert_eq!(reads, 2, "{text}");
    assert!(v.take_reports().is_empty());
}

/// A lock consumed while this thread still holds it (a guard forgotten, then `into_inner`) no
/// longer exists: it leaves the thread's held locks. Left there, the next lock of its class
/// nested under nothing would be reported as recursive locking, and the thread as holding it.
#[test]
fn a_lock_consumed_while_held_leaves_the_held_locks() {
    let reports = lockdep::capture(|| {
        let make = |v: u32| Mutex::with_name("consumed", v); // one class
        let a = make(1);
        std::mem::forget(a.lock());
        assert!(lockdep::is_held(&a));
        assert_eq!(a.into_inner(), 1);
        let b = make(2);
        let _g = b.lock(); // a new lock of the class: nothing of it is held
        let r = RwLock::with_name("consumed-rw", 0u8);
        std::mem::forget(r.write());
        let _ = r.into_inner();
        let r2 = RwLock::with_name("consumed-rw", 0u8);
        drop(r2.read());
        let re = lockdep::ReentrantMutex::with_name("consumed-re", 0u8);
        std::mem::forget(re.lock());
        std::mem::forget(re.lock());
        let _ = re.into_inner();
        let re2 = lockdep::ReentrantMutex::with_name("consumed-re", 0u8);
        drop(re2.lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

/// A consumed lock whose entry cannot be told apart releases nothing: here its acquisition is
/// in an outer scope and another lock of its class is held in this one, which must keep its
/// entry (its release was a false bad-unlock report in review).
#[test]
fn a_consumed_lock_never_takes_another_locks_entry() {
    fn make() -> Mutex<u32> {
        Mutex::new(0) // one class
    }
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let (a, b) = (make(), make());
    let reports = v.scope(|| {
        std::mem::forget(b.lock());
        lockdep::capture(move || {
            let g = a.lock();
            let _v = b.into_inner();
            drop(g); // a's real release
        })
    });
    assert!(reports.is_empty(), "{reports:#?}");
    let _ = v.take_reports();
}
