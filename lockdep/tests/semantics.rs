//! lockdep's semantics through the public wrappers: spin locks and wait context, seqcount
//! readers and writers (the pidmap_lock / `&s->seqcount#2` splat), nest locks and subclasses with
//! readers, held-at-exit, bad unlock balance and the limits. Each test runs against its own
//! validator ([`lockdep::capture`] or a private [`Validator`]), with real threads where the
//! scenario has several. Validation is compiled out under `cfg(lockdep_off)` (build.rs), so there is
//! nothing to test there.
#![cfg(not(lockdep_off))]

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use lockdep::{
    Acquire, ClassKey, Condvar, Config, InstanceId, LockKind, Mode, Mutex, OnReport,
    RecursiveRwLock, Report, ReportKind, RwLock, SeqCount, SeqLock, Site, SpinLock, ThreadState,
    Validator,
};

// ----- helpers -----

fn names(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = r.classes().iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn kinds(reports: &[Report]) -> Vec<ReportKind> {
    reports.iter().map(Report::kind).collect()
}

fn collecting(config: Config) -> Validator {
    Validator::with_on_report(config, OnReport::Collect)
}

fn panic_text(e: Box<dyn Any + Send>) -> String {
    match e.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// Runs `f` on a new thread named `name` that reports to `v`, and waits for it.
fn on_thread<R: Send>(v: &Validator, name: &str, f: impl FnOnce() -> R + Send) -> R {
    thread::scope(|s| {
        thread::Builder::new()
            .name(name.into())
            .spawn_scoped(s, || v.scope(f))
            .unwrap()
            .join()
            .unwrap()
    })
}

/// Asserts that `needles` occur in `text` in this order, each on a later line than the last.
fn assert_lines_in_order(text: &str, needles: &[&str]) {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    for needle in needles {
        match lines[at..].iter().position(|l| l.contains(needle)) {
            Some(i) => at += i + 1,
            None => panic!("missing {needle:?} (in order) in\n{text}"),
        }
    }
}

// ===== Dependencies through a recursive reader =====

/// A recursive reader held between two locks does not stand for the order between them: the
/// path through it is not a strong one. Held `index` (read), `stats` (recursive read), then
/// `entries`, against `entries` then `index` (write) on another thread: the two threads deadlock
/// on `index` and `entries` whatever `stats` is, and the kernel's walk (which stops at the
/// nearest held lock) misses it.
#[test]
fn a_recursive_reader_in_between_does_not_hide_an_abba() {
    for with_stats in [false, true] {
        let v = collecting(Config::default());
        let entries = Mutex::with_name("entries", ());
        let index = RwLock::with_name("index", ());
        let stats = RecursiveRwLock::with_name("stats", ());
        on_thread(&v, "writer", || {
            let _e = entries.lock();
            let _i = index.write();
        });
        on_thread(&v, "reader", || {
            let _i = index.read();
            let _s = with_stats.then(|| stats.read());
            let _e = entries.lock();
        });
        let reports = v.take_reports();
        assert_eq!(
            kinds(&reports),
            [ReportKind::CircularDependency],
            "with_stats: {with_stats}"
        );
        assert_eq!(
            names(&reports[0]),
            ["entries", "index"],
            "with_stats: {with_stats}"
        );
    }
}

/// Nothing is added for a recursive reader over a plain reader: the order through a
/// non-recursive reader is a strong path, and no report comes from consistent orders.
#[test]
fn consistent_orders_through_a_recursive_reader_are_silent() {
    let v = collecting(Config::default());
    let a = RwLock::with_name("a", ());
    let r = RecursiveRwLock::with_name("r", ());
    let b = Mutex::with_name("b", ());
    on_thread(&v, "one", || {
        let _a = a.read();
        let _r = r.read();
        let _b = b.lock();
    });
    on_thread(&v, "two", || {
        let _a = a.write();
        let _b = b.lock();
    });
    on_thread(&v, "three", || {
        let _r = r.write();
        let _b = b.lock();
    });
    assert!(v.take_reports().is_empty());
}

// ===== SpinLock =====

#[test]
fn spinlock_recursion_is_reported_before_spinning() {
    let v = Validator::new(Config::default());
    let lock = SpinLock::with_name("self", ());
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _g = lock.lock();
            let _h = lock.lock(); // would spin forever
        }))
    });
    let msg = panic_text(result.expect_err("must panic, not spin"));
    assert!(msg.contains("possible recursive locking detected"), "{msg}");
    assert!(msg.contains("(self){+.+.}-{2:2}"), "{msg}");
    // The first guard was dropped by unwinding: the lock is free again.
    assert!(lock.try_lock().is_some());
}

#[test]
fn spinlock_classes_follow_the_mutex_rules() {
    static BUCKET: ClassKey = ClassKey::new("bucket");
    let reports = lockdep::capture(|| {
        // One construction site (inside the closure): one class.
        let make = || SpinLock::new(0u8);
        let (a, b) = (make(), make());
        assert_eq!(lockdep::class_name(&a), lockdep::class_name(&b));
        // Two sites: two classes, named after the sites.
        let (c, d) = (SpinLock::new(0u8), SpinLock::new(0u8));
        assert_ne!(lockdep::class_name(&c), lockdep::class_name(&d));
        assert!(lockdep::class_name(&c).contains("tests/semantics.rs:"));
        {
            let _c = c.lock();
            let _d = d.lock();
        }
        // A subclass makes same-class nesting legal.
        {
            let _a = a.lock();
            let _b = b.lock_nested(1);
        }
        // A class key joins sites.
        let (k1, k2) = (
            SpinLock::with_class(&BUCKET, ()),
            SpinLock::with_class(&BUCKET, ()),
        );
        assert_eq!(lockdep::class_name(&k1), "bucket");
        let _k1 = k1.lock();
        let _k2 = k2.try_lock().expect("free"); // a trylock is never recursive locking
    });
    assert!(reports.is_empty(), "{reports:#?}");

    let reports = lockdep::capture(|| {
        let make = || SpinLock::with_name("bucket", ());
        let (a, b) = (make(), make());
        let _a = a.lock();
        let _b = b.lock();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert_eq!(names(&reports[0]), vec!["bucket"]);
}

#[test]
fn spinlock_abba_is_a_circular_dependency() {
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let a = SpinLock::with_name("A", 0u32);
        let b = SpinLock::with_name("B", 0u32);
        on_thread(&v, "t1", || {
            let _a = a.lock();
            *b.lock() += 1;
        });
        on_thread(&v, "t2", || {
            let _b = b.lock();
            *a.lock() += 1;
        });
    });
    assert_eq!(kinds(&reports), vec![ReportKind::CircularDependency]);
    assert_eq!(reports[0].cycle(), vec!["A", "B"]);
    let text = reports[0].to_string();
    assert!(text.contains("-> #1 (B){+.+.}-{2:2}:"), "{text}");
    assert!(text.contains("(acquired in thread 't1')"), "{text}");
}

// ===== wait context =====

#[test]
fn spin_inside_sleeping_locks_and_spin_inside_spin_are_fine() {
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", ());
        let rw = RwLock::with_name("rw", ());
        let s1 = SpinLock::with_name("s1", ());
        let s2 = SpinLock::with_name("s2", ());
        let seq = SeqCount::with_name("seq");
        {
            let _m = m.lock();
            let _r = rw.read();
            let _s1 = s1.lock();
            let _s2 = s2.lock(); // spin inside spin
            let _w = seq.write_begin(&s2); // seqcounts carry no wait type {0:0}
            lockdep::non_blocking(|| drop(s1.try_lock()));
        }
        {
            let _s1 = s1.lock();
            let _ = seq.read_begin();
            // A trylock never waits, so it is fine in any context.
            assert!(m.try_lock().is_some());
        }
        lockdep::might_sleep(); // nothing held
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn mutex_inside_a_spinlock_is_an_invalid_wait_context() {
    let reports = lockdep::capture(|| {
        let stats = SpinLock::with_name("stats", 0u64);
        let config = Mutex::with_name("config", ());
        for _ in 0..3 {
            let _s = stats.lock();
            let _c = config.lock();
        }
    });
    assert_eq!(
        kinds(&reports),
        vec![ReportKind::InvalidWaitContext],
        "reported once"
    );
    let r = &reports[0];
    assert_eq!(r.acquiring.as_ref().unwrap().name.as_ref(), "config");
    assert_eq!(r.context_wait, Some(2));
    assert_eq!(r.held.len(), 1);
    let text = r.to_string();
    // The kernel's print_lock_invalid_wait_context layout (no blank lines inside).
    assert_lines_in_order(
        &text,
        &[
            "=============================",
            "[ BUG: Invalid wait context ]",
            "-----------------------------",
            "is trying to lock:",
            "(config){+.+.}-{4:4}, at: ",
            "other info that might help us debug this:",
            "context-{2:2}",
            "1 lock held by ",
            " #0: ",
            "stack backtrace:",
        ],
    );
    assert!(text.contains(" #0: "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(" #0: ") && l.contains("(stats){+.+.}-{2:2}")),
        "{text}"
    );
    assert!(text.contains("tests/semantics.rs:"), "sites: {text}");
}

#[test]
fn rwlocks_inside_a_spinlock_are_reported() {
    let reports = lockdep::capture(|| {
        let s = SpinLock::with_name("s", ());
        let r = RwLock::with_name("r", ());
        let rr = RecursiveRwLock::with_name("rr", ());
        let _s = s.lock();
        drop(r.read());
        drop(rr.write());
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext; 2]);
    assert_eq!(names(&reports[0]), vec!["r"]);
    assert_eq!(names(&reports[1]), vec!["rr"]);
    assert!(reports[0].to_string().contains("(r){.+.+}-{4:4}"));
}

#[test]
fn might_sleep_inside_a_spinlock_is_reported() {
    let reports = lockdep::capture(|| {
        let s = SpinLock::with_name("s", ());
        lockdep::might_sleep(); // fine
        let _s = s.lock();
        lockdep::might_sleep();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext]);
    let r = &reports[0];
    assert!(r.acquiring.is_none());
    let text = r.to_string();
    assert_lines_in_order(
        &text,
        &[
            "[ BUG: Invalid wait context ]",
            "is calling a function that may sleep:",
            "context-{2:2}",
            "1 lock held by ",
            "(s){+.+.}-{2:2}",
        ],
    );
}

#[test]
fn a_read_of_a_lock_already_read_says_what_deadlocks_it() {
    let reports = lockdep::capture(|| {
        let l = RwLock::with_name("l", 0u8);
        let _a = l.read();
        let _b = l.read();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    let text = reports[0].to_string();
    assert_lines_in_order(
        &text,
        &[
            "*** DEADLOCK ***",
            "May be due to missing lock nesting notation",
            "waits behind a writer that queued in",
            "Keep one read guard and pass it on; or, if the nesting is meant, read",
            "RecursiveRwLock; std's RwLock has no recursive read",
            "1 lock held by ",
        ],
    );
    // Two locks of one class read in turn: not the same lock, so not this explanation.
    let reports = lockdep::capture(|| {
        let locks: Vec<RwLock<u8>> = (0..2).map(|_| RwLock::with_name("m", 0)).collect();
        let _a = locks[0].read();
        let _b = locks[1].read();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert!(!reports[0].to_string().contains("queued in"));
}

#[test]
fn a_downgraded_lock_in_a_report_says_where_it_became_a_read() {
    use lockdep::{RwLockUpgradableReadGuard, RwLockWriteGuard};
    let (write_line, downgrade_line) = (line!() + 4, line!() + 5);
    let reports = lockdep::capture(|| {
        let l = RwLock::with_name("l", 0u8);
        let u = RwLock::with_name("u", 0u8);
        let w = l.write();
        let r = RwLockWriteGuard::downgrade(w);
        let ur = RwLockUpgradableReadGuard::downgrade(u.upgradable_read());
        let _again = l.read();
        drop((r, ur));
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    let r = &reports[0];
    let held = r.held_lock.as_ref().unwrap();
    assert_eq!(held.mode, Mode::Read);
    let (Some(Site::Code(at)), Site::Code(taken)) = (&held.downgraded_at, &held.site) else {
        panic!("{held:?}");
    };
    assert_eq!((taken.line(), at.line()), (write_line, downgrade_line));
    assert!(r.held[1].downgraded_at.is_some(), "{:?}", r.held[1]);
    let text = r.to_string();
    let note = format!(
        "(l) was locked at {}:{write_line}:19 and downgraded to a read at {}:{downgrade_line}:17",
        file!(),
        file!()
    );
    assert_lines_in_order(
        &text,
        &[note.as_str(), "(u) was locked at", "2 locks held by "],
    );
    assert_eq!(text.matches("downgraded to a read").count(), 2, "{text}");

    // std's flavour downgrades through the same lock, and names the caller's line.
    let std_line = line!() + 3;
    let reports = lockdep::capture(|| {
        let l = lockdep::std::RwLock::with_name("s", 0u8);
        let r = lockdep::std::RwLockWriteGuard::downgrade(l.write().unwrap());
        let _again = l.read();
        drop(r);
    });
    let note = format!("downgraded to a read at {}:{std_line}:", file!());
    assert!(reports[0].to_string().contains(&note), "{reports:#?}");

    // A read at the site of an earlier, released downgraded write is no downgrade: a
    // #[track_caller] helper gives a read and a write one site.
    #[track_caller]
    fn take(l: &RwLock<u8>, write: bool) -> lockdep::RwLockReadGuard<'_, u8> {
        if write {
            RwLockWriteGuard::downgrade(l.write())
        } else {
            l.read()
        }
    }
    let reports = lockdep::capture(|| {
        let l = RwLock::with_name("h", 0u8);
        for write in [true, false] {
            let g = take(&l, write); // one site for the write and the read
            if !write {
                let _b = l.read();
            }
            drop(g);
        }
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert!(
        reports[0].held[0].downgraded_at.is_none(),
        "{:?}",
        reports[0].held[0]
    );

    // A held downgraded lock keeps its note while more downgrades than the table's slots come
    // and go.
    let reports = lockdep::capture(|| {
        let a = RwLock::with_name("a", 0u8);
        let _a = RwLockWriteGuard::downgrade(a.write());
        for _ in 0..2 {
            let others: Vec<RwLock<u8>> = (0..6).map(|_| RwLock::with_name("o", 0)).collect();
            for o in &others {
                drop(RwLockWriteGuard::downgrade(o.write()));
            }
        }
        let _again = a.read();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert!(
        reports[0].held[0].downgraded_at.is_some(),
        "{:?}",
        reports[0].held[0]
    );

    // A read that was never a write has no such note.
    let reports = lockdep::capture(|| {
        let l = RwLock::with_name("l", 0u8);
        let _a = l.read();
        let _b = l.read();
    });
    assert!(reports[0].held[0].downgraded_at.is_none());
    assert!(!reports[0].to_string().contains("downgraded to a read"));
}

#[test]
fn a_sharded_lock_annotated_with_subclasses_is_silent_in_the_std_flavour() {
    // crossbeam-utils' ShardedLock, held out: shards built in one closure are one class and a
    // writer takes them all in index order; the std flavour needs the annotations to say so.
    use lockdep::std::RwLock as StdRwLock;
    let shards: Vec<StdRwLock<()>> = (0..8).map(|_| StdRwLock::new(())).collect();
    let plain = lockdep::capture(|| {
        let all: Vec<_> = shards.iter().map(|s| s.write().unwrap()).collect();
        drop(all);
    });
    assert_eq!(kinds(&plain), vec![ReportKind::RecursiveLocking]);
    let annotated = lockdep::capture(|| {
        let all: Vec<_> = (0..8)
            .map(|i| shards[i].write_nested(i as u32).unwrap())
            .collect();
        drop(all);
        let readers: Vec<_> = (0..2)
            .map(|i| shards[i].read_nested(i as u32).unwrap())
            .collect();
        drop(readers);
    });
    assert!(annotated.is_empty(), "{annotated:#?}");
}

#[test]
fn might_sleep_sees_a_spinlock_taken_in_the_steady_state() {
    // The second acquisition of each lock takes the steady state (its chain is known), and so
    // does `might_sleep` under a mutex: it must still see the spin lock's context.
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", ());
        let s = SpinLock::with_name("s", ());
        for _ in 0..2 {
            drop(s.lock());
            let _m = m.lock();
            lockdep::might_sleep(); // fine: a mutex may be held while sleeping
        }
        let _s = s.lock();
        lockdep::might_sleep();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext]);
    assert!(reports[0].to_string().contains("(s){+.+.}-{2:2}"));
}

#[test]
fn non_blocking_sections_forbid_sleeping_locks_and_might_sleep() {
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", ());
        let s = SpinLock::with_name("s", ());
        lockdep::non_blocking(|| {
            drop(s.lock()); // spinning is allowed
            drop(m.lock());
        });
        lockdep::non_blocking(lockdep::might_sleep);
        // Outside the section everything is allowed again.
        drop(m.lock());
        lockdep::might_sleep();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext; 2]);
    assert_eq!(names(&reports[0]), vec!["m"]);
    let text = reports[0].to_string();
    assert!(text.contains("context-{2:2}"), "{text}");
    assert!(text.contains("no locks held by "), "{text}");
    assert!(reports[1].acquiring.is_none());
}

#[test]
fn a_chain_seen_outside_a_non_blocking_section_is_checked_inside_one() {
    // The steady state takes a known chain as proof of the wait-context rule; the non-blocking
    // section is the part of the rule a chain does not carry.
    let reports = lockdep::capture(|| {
        let outer = Mutex::with_name("outer", ());
        let m = Mutex::with_name("m", ());
        for _ in 0..3 {
            let _o = outer.lock();
            drop(m.lock());
        }
        lockdep::non_blocking(|| {
            let _o = outer.lock();
            drop(m.lock());
        });
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext; 2]);
    assert_eq!(names(&reports[0]), vec!["outer"]);
    assert_eq!(names(&reports[1]), vec!["m"]);
}

#[test]
fn every_lock_above_a_spinlock_is_checked_every_time() {
    // An acquisition that breaks the rule never makes its chain known, so the ones above it are
    // checked (and their contexts kept) on each pass, not just the first.
    let reports = lockdep::capture(|| {
        let s = SpinLock::with_name("s", ());
        let m = Mutex::with_name("m", ());
        let n = Mutex::with_name("n", ());
        for _ in 0..3 {
            let _s = s.lock();
            let _m = m.lock();
            drop(n.lock());
        }
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext; 2]);
    assert_eq!(names(&reports[0]), vec!["m"]);
    assert_eq!(names(&reports[1]), vec!["n"]);
}

#[test]
fn one_class_key_as_a_mutex_and_as_a_spinlock_are_different_chains() {
    // Chain keys hash the kind: the sleeping lock's chain being known says nothing about the
    // spinning one's.
    static SHARED: ClassKey = ClassKey::new("shared");
    let reports = lockdep::capture(|| {
        let as_mutex = Mutex::with_class(&SHARED, ());
        let as_spin = SpinLock::with_class(&SHARED, ());
        let inner = Mutex::with_name("inner", ());
        for _ in 0..2 {
            let _g = as_mutex.lock();
            drop(inner.lock());
        }
        let _g = as_spin.lock();
        drop(inner.lock());
    });
    assert_eq!(kinds(&reports), vec![ReportKind::InvalidWaitContext]);
    assert_eq!(names(&reports[0]), vec!["inner"]);
}

#[test]
fn condvar_wait_under_a_spinlock_is_reported() {
    let reports = lockdep::capture(|| {
        let m = Mutex::with_name("m", false);
        let cv = Condvar::new();
        let s = SpinLock::with_name("s", ());
        let mut g = m.lock();
        let _s = s.lock(); // spin inside the mutex: fine
        // Waiting sleeps while the spin lock is held. Nobody notifies: the wait times out.
        let _ = cv.wait_for(&mut g, Duration::from_millis(1));
    });
    // 1. the wait sleeps inside `s`; 2. waking up re-takes the sleeping `m` inside `s`;
    // 3. that re-acquisition is the order s -> m, against m -> s before the wait: a real ABBA.
    assert_eq!(
        kinds(&reports),
        vec![
            ReportKind::InvalidWaitContext,
            ReportKind::InvalidWaitContext,
            ReportKind::CircularDependency
        ],
        "{reports:#?}"
    );
    assert_eq!(names(&reports[1]), vec!["m"]);
    assert_eq!(reports[2].cycle(), vec!["m", "s"]);
    // The first report is the wait itself (inside `s`, with `m` still on the stack).
    assert!(reports[0].acquiring.is_none());
    assert_eq!(
        reports[0]
            .held
            .iter()
            .map(|l| l.name.as_ref())
            .collect::<Vec<_>>(),
        vec!["m", "s"]
    );
}

// ===== nest locks and subclasses =====

#[test]
fn spin_nest_lock_serialises_one_class() {
    // ww_test_spin_nest_lock: L(X1); L_nest(Y1, X1); L(A); L_nest(Y2, X1).
    let reports = lockdep::capture(|| {
        let x1 = SpinLock::with_name("X", ());
        let a = SpinLock::with_name("A", ());
        let make_y = || SpinLock::with_name("Y", ());
        let (y1, y2) = (make_y(), make_y());
        let _x = x1.lock();
        let _y1 = y1.lock_nest_lock(&x1);
        let _a = a.lock();
        let _y2 = y2.lock_nest_lock(&x1);
    });
    assert!(reports.is_empty(), "{reports:#?}");

    // Many of one class under the nest lock: merged, so more than the depth limit fits.
    let reports = lockdep::capture(|| {
        let outer = SpinLock::with_name("outer", ());
        let items: Vec<SpinLock<u32>> = (0..100).map(|i| SpinLock::new(i)).collect();
        let _o = outer.lock();
        let guards: Vec<_> = items.iter().map(|l| l.lock_nest_lock(&outer)).collect();
        assert_eq!(guards.iter().map(|g| **g).sum::<u32>(), 4950);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn spin_nest_lock_not_held_is_reported() {
    // ww_test_spin_nest_unlocked.
    let reports = lockdep::capture(|| {
        let outer = SpinLock::with_name("outer", ());
        let a = SpinLock::with_name("A", ());
        let _a = a.lock_nest_lock(&outer);
    });
    assert_eq!(kinds(&reports), vec![ReportKind::NestedLockNotTaken]);
    let text = reports[0].to_string();
    assert_lines_in_order(
        &text,
        &[
            "WARNING: Nested lock was not taken",
            "is trying to lock:",
            "(A){+.+.}-{2:2}",
            "but this task is not holding:",
        ],
    );
}

#[test]
fn subclass_nesting_keeps_working_with_readers() {
    // Non-recursive readers (r): X held for reading, X/1 written inside is a different class.
    let reports = lockdep::capture(|| {
        let make = || RwLock::with_name("X", 0);
        let (x1, x2) = (make(), make());
        let _r = x1.read();
        let _w = x2.write_nested(1);
    });
    assert!(reports.is_empty(), "{reports:#?}");

    // Without the annotation, W after r on one class is recursive locking.
    let reports = lockdep::capture(|| {
        let make = || RwLock::with_name("X", 0);
        let (x1, x2) = (make(), make());
        let _r = x1.read();
        let _w = x2.write();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert!(reports[0].to_string().contains("  rlock(X);\n  lock(X);"));

    // X -(SN)-> X/1 -(EN)-> X is strong (rwsem_ABBA2 with a subclass): reported, naming X/1.
    let reports = lockdep::capture(|| {
        let make = || RwLock::with_name("X", 0);
        let (x1, x2) = (make(), make());
        drop((x1.read(), x2.write_nested(1)));
        let _w = x2.write_nested(1);
        let _r = x1.read();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::CircularDependency]);
    assert_eq!(names(&reports[0]), vec!["X", "X/1"]);

    // With recursive readers (R) the same shape is X -(SN)-> X/1 -(ER)-> X: not strong, silent.
    let reports = lockdep::capture(|| {
        let make = || RecursiveRwLock::with_name("X", 0);
        let (x1, x2) = (make(), make());
        drop((x1.read(), x2.write_nested(1)));
        let _w = x2.write_nested(1);
        let _r = x1.read();
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn chain_cache_keeps_read_and_write_apart_through_the_wrappers() {
    // rlock_chaincache_ABBA1 with real locks: (Y, read X) is validated and cached as fine;
    // (Y, write X) is another chain and closes X -(SN)-> Y -(EN)-> X.
    let reports = lockdep::capture(|| {
        let x = RecursiveRwLock::with_name("X", ());
        let y = Mutex::with_name("Y", ());
        drop((x.read(), y.lock()));
        drop((y.lock(), x.read()));
        assert!(lockdep::current_validator().take_reports().is_empty());
        drop((y.lock(), x.write()));
    });
    assert_eq!(kinds(&reports), vec![ReportKind::CircularDependency]);
    assert_eq!(names(&reports[0]), vec!["X", "Y"]);
}

// ===== seqcount and seqlock =====

/// `seqcount_spinlock_init()` as a function, like the folded inline of commit e4e9ab3f9f91: every
/// counter it builds has its one construction site, so all of them are one class.
fn seqcount_init_folded() -> SeqCount {
    SeqCount::with_name("&s->seqcount")
}

/// The fix, "seqlock: Unbreak lockdep" (267580db047e): a macro, here `#[track_caller]`, so each
/// caller's site is a class again.
#[track_caller]
fn seqcount_init() -> SeqCount {
    SeqCount::with_name("&s->seqcount")
}

/// The two paths of the 2020 splat, on two threads.
/// - exit (`__exit_signal`): write section of the signal-stats seqcount (under its lock), then
///   `free_pid()` takes `pidmap_lock`;
/// - fork (`alloc_pid`): holding `pidmap_lock`, the slab allocator reads `mems_allowed_seq`.
fn pidmap_scenario(
    stats_lock: &SpinLock<()>,
    stats_seq: &SeqCount,
    mems_allowed_seq: &SeqCount,
    mems: &AtomicU64,
    reader_first: bool,
) {
    let v = lockdep::current_validator();
    let pidmap_lock = SpinLock::with_name("pidmap_lock", 0u32);
    let exit = || {
        let _sl = stats_lock.lock();
        let _w = stats_seq.write_begin(stats_lock);
        *pidmap_lock.lock() += 1; // free_pid
    };
    let fork = || {
        let _p = pidmap_lock.lock(); // alloc_pid
        let nodes = mems_allowed_seq.read(|| mems.load(Relaxed)); // read_mems_allowed_begin
        assert_eq!(nodes, 1);
    };
    if reader_first {
        on_thread(&v, "runc:[1:CHILD]", fork);
        on_thread(&v, "kthread", exit);
    } else {
        on_thread(&v, "kthread", exit);
        on_thread(&v, "runc:[1:CHILD]", fork);
    }
}

fn assert_pidmap_splat(reports: &[Report], seq_name: &str, reader_closes: bool) {
    assert_eq!(
        kinds(reports),
        vec![ReportKind::CircularDependency],
        "{reports:#?}"
    );
    let r = &reports[0];
    assert_eq!(names(r), vec![seq_name, "pidmap_lock"]);
    let text = r.to_string();
    let seq_line = format!("({seq_name}){{....}}-{{0:0}}");
    assert!(text.contains(&seq_line), "{text}");
    assert!(text.contains("(pidmap_lock){+.+.}-{2:2}"), "{text}");
    if reader_closes {
        // As in the splat: the fork path, holding pidmap_lock, reads the seqcount.
        let acquiring = r.acquiring.as_ref().unwrap();
        assert_eq!(acquiring.name.as_ref(), seq_name);
        assert_eq!(acquiring.mode, Mode::ReadRecursive);
        assert_eq!(r.held_lock.as_ref().unwrap().name.as_ref(), "pidmap_lock");
        assert!(text.contains("-> #1 (pidmap_lock)"), "{text}");
        assert!(
            text.contains(&format!(
                "  lock(pidmap_lock);\n                               lock({seq_name});\n                               lock(pidmap_lock);\n  rlock({seq_name});\n"
            )),
            "{text}"
        );
    } else {
        // The exit path closes it: the existing chain has the reader's edge.
        assert_eq!(r.acquiring.as_ref().unwrap().name.as_ref(), "pidmap_lock");
        assert!(
            text.contains(&format!(
                "                               rlock({seq_name});\n"
            )),
            "{text}"
        );
    }
}

#[test]
fn pidmap_splat_when_two_seqcounts_share_a_class_key() {
    static SEQCOUNT: ClassKey = ClassKey::new("&s->seqcount");
    for reader_first in [false, true] {
        let reports = lockdep::capture(|| {
            let stats_lock = SpinLock::with_name("&sig->stats_lock.lock", ());
            let stats_seq = SeqCount::with_class(&SEQCOUNT);
            let mems_seq = SeqCount::with_class(&SEQCOUNT);
            let mems = AtomicU64::new(1);
            pidmap_scenario(&stats_lock, &stats_seq, &mems_seq, &mems, reader_first);
        });
        assert_pidmap_splat(&reports, "&s->seqcount", !reader_first);
    }
}

#[test]
fn pidmap_splat_when_one_helper_site_builds_both_seqcounts() {
    let reports = lockdep::capture(|| {
        let stats_lock = SpinLock::with_name("&sig->stats_lock.lock", ());
        let stats_seq = seqcount_init_folded();
        let mems_seq = seqcount_init_folded();
        let mems = AtomicU64::new(1);
        pidmap_scenario(&stats_lock, &stats_seq, &mems_seq, &mems, false);
    });
    assert_pidmap_splat(&reports, "&s->seqcount", true);
}

#[test]
fn pidmap_splat_with_a_seqlock_writer() {
    // write_seqlock(&sig->stats_lock): the SeqLock's seqcount shares the reader's class.
    static SEQCOUNT: ClassKey = ClassKey::new("&s->seqcount");
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let stats = SeqLock::with_class(&SEQCOUNT, 0u64);
        let mems_allowed_seq = SeqCount::with_class(&SEQCOUNT);
        let pidmap_lock = SpinLock::with_name("pidmap_lock", ());
        on_thread(&v, "kthread", || {
            let mut w = stats.write();
            *w += 1;
            drop(pidmap_lock.lock());
        });
        on_thread(&v, "runc:[1:CHILD]", || {
            let _p = pidmap_lock.lock();
            mems_allowed_seq.read(|| ());
        });
    });
    assert_pidmap_splat(&reports, "&s->seqcount", true);
}

#[test]
fn no_splat_when_the_seqcounts_come_from_different_init_sites() {
    // After "seqlock: Unbreak lockdep": one class per init site, so no cycle.
    for reader_first in [false, true] {
        let reports = lockdep::capture(|| {
            let stats_lock = SpinLock::with_name("&sig->stats_lock.lock", ());
            let stats_seq = seqcount_init();
            let mems_seq = seqcount_init();
            assert_eq!(lockdep::class_name(&stats_seq), "&s->seqcount");
            assert_eq!(lockdep::class_name(&mems_seq), "&s->seqcount#2");
            let mems = AtomicU64::new(1);
            pidmap_scenario(&stats_lock, &stats_seq, &mems_seq, &mems, reader_first);
        });
        assert!(reports.is_empty(), "{reports:#?}");
    }
    // Same with a SeqLock writer and a SeqCount reader built at their own sites.
    let reports = lockdep::capture(|| {
        let stats = SeqLock::with_name("&s->seqcount", 0u64);
        let mems_allowed_seq = SeqCount::with_name("&s->seqcount");
        let pidmap_lock = SpinLock::with_name("pidmap_lock", ());
        {
            let _w = stats.write();
            drop(pidmap_lock.lock());
        }
        let _p = pidmap_lock.lock();
        let _ = mems_allowed_seq.read_begin();
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn readers_on_different_threads_never_depend_on_each_other() {
    let v = collecting(Config::default());
    let a = Mutex::with_name("A", ());
    let b = SpinLock::with_name("B", ());
    let seq = SeqCount::with_name("S");
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let (v, a, b, seq, barrier) = (&v, &a, &b, &seq, &barrier);
        // Opposite orders on two threads: a real reader-writer lock would make this a cycle
        // (see below); seqcount readers hold nothing, so there is no S -> A or S -> B.
        s.spawn(move || {
            v.scope(|| {
                barrier.wait();
                for _ in 0..100 {
                    let _a = a.lock();
                    let _ = seq.read_begin();
                    let s0 = seq.read_begin();
                    drop(b.lock());
                    assert!(!seq.read_retry(s0));
                }
            })
        });
        s.spawn(move || {
            v.scope(|| {
                barrier.wait();
                for _ in 0..100 {
                    let s0 = seq.read_begin();
                    let _b = b.lock();
                    drop(a.try_lock());
                    seq.read(|| ());
                    assert!(!seq.read_retry(s0));
                }
            })
        });
    });
    assert!(v.take_reports().is_empty());
    let s_class = v
        .dependencies()
        .iter()
        .flat_map(|(from, to, _, _)| [*from, *to])
        .find(|c| v.class_info(*c).unwrap().display_name.as_ref() == "S")
        .expect("edges into S");
    let deps = v.dependencies();
    assert!(
        deps.iter().all(|(from, _, _, _)| *from != s_class),
        "a reader made a dependency start at its seqcount"
    );
    let into_s: Vec<String> = deps
        .iter()
        .filter(|(_, to, _, _)| *to == s_class)
        .map(|(from, _, t, _)| {
            format!(
                "{}-({})",
                v.class_info(*from).unwrap().display_name,
                t.label()
            )
        })
        .collect();
    assert_eq!(into_s.len(), 2, "{into_s:?}");
    assert!(into_s.contains(&"A-(ER)".to_string()), "{into_s:?}");
    assert!(into_s.contains(&"B-(ER)".to_string()), "{into_s:?}");

    // The same shape with a non-recursive reader that *holds* the lock is a cycle.
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("A", ());
        let x = RwLock::with_name("X", ());
        drop((a.lock(), x.read()));
        let _x = x.read();
        let _a = a.lock();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::CircularDependency]);
}

#[test]
fn locks_taken_in_a_write_section_depend_on_the_seqcount() {
    let v = collecting(Config::default());
    v.scope(|| {
        let m = Mutex::with_name("M", ());
        let seq = SeqCount::with_name("S");
        let inner = Mutex::with_name("N", ());
        let sl = SeqLock::with_name("SL", 0u32);
        let p = SpinLock::with_name("P", ());
        {
            let _m = m.lock();
            let _w = seq.write_begin(&m);
            drop(inner.lock());
        }
        {
            let mut w = sl.write();
            *w += 1;
            drop(p.lock());
        }
    });
    assert!(v.take_reports().is_empty());
    let mut edges: Vec<String> = v
        .dependencies()
        .iter()
        .map(|(a, b, t, _)| {
            let n = |c| v.class_info(c).unwrap().display_name.to_string();
            format!("{} -({})-> {}", n(*a), t.label(), n(*b))
        })
        .collect();
    edges.sort();
    assert_eq!(
        edges,
        vec![
            "M -(EN)-> S",
            "S -(EN)-> N",
            "SL -(EN)-> P",
            "SL.lock -(EN)-> SL",
        ]
    );

    // Taking the writer's lock inside a write section, the other way round, is a cycle.
    let reports = lockdep::capture(|| {
        let sl = SeqLock::with_name("SL", 0u32);
        let p = SpinLock::with_name("P", ());
        {
            let _w = sl.write();
            let _p = p.lock(); // released first: the stack unwinds in order
        }
        let _p = p.lock();
        let _w = sl.write();
    });
    assert_eq!(kinds(&reports), vec![ReportKind::CircularDependency]);
    assert_eq!(names(&reports[0]), vec!["P", "SL", "SL.lock"]);
}

#[test]
fn a_reader_in_its_own_write_section_is_recursive_locking_then_panics_instead_of_spinning() {
    let v = collecting(Config::default());
    let lock = SpinLock::with_name("L", ());
    let seq = SeqCount::with_name("S");
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _l = lock.lock();
            let _w = seq.write_begin(&lock);
            let _ = seq.read_begin(); // would spin forever on the odd count
        }))
    });
    let msg = panic_text(result.expect_err("must panic, not spin"));
    assert!(
        msg.contains("own write section would spin forever"),
        "{msg}"
    );
    let reports = v.take_reports();
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    let text = reports[0].to_string();
    assert!(text.contains("  lock(S);\n  rlock(S);\n"), "{text}");
    assert!(text.contains("(S){....}-{0:0}"), "{text}");
    // Unwinding ended the section: readers work again and nothing is left held.
    assert_eq!(seq.sequence() % 2, 0);
    v.scope(|| {
        let s = seq.read_begin();
        assert!(!seq.read_retry(s));
        assert!(!lockdep::is_held(&seq));
        assert!(!lockdep::is_held(&lock));
    });
    assert!(v.take_reports().is_empty());

    // The same through a SeqLock.
    let sl = SeqLock::with_name("SL", 1u8);
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _w = sl.write();
            sl.read()
        }))
    });
    assert!(result.is_err());
    assert_eq!(kinds(&v.take_reports()), vec![ReportKind::RecursiveLocking]);
    v.scope(|| assert_eq!(sl.read(), 1));
}

#[test]
fn a_reader_in_its_own_write_section_panics_with_the_report_in_panic_mode() {
    let v = Validator::new(Config::default());
    let lock = SpinLock::with_name("L", ());
    let seq = SeqCount::with_name("S");
    let result = v.scope(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _l = lock.lock();
            let _w = seq.write_begin(&lock);
            let _ = seq.read_begin();
        }))
    });
    let msg = panic_text(result.expect_err("must panic, not spin"));
    assert!(msg.contains("possible recursive locking detected"), "{msg}");
    assert_eq!(seq.sequence() % 2, 0);
}

#[test]
fn a_panicking_reader_report_leaves_nothing_held() {
    let v = Validator::new(Config::default());
    let lock = SpinLock::with_name("L", ());
    let seq = SeqCount::with_name("S");
    v.scope(|| {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let _l = lock.lock();
            let _w = seq.write_begin(&lock);
            let _ = seq.read_begin();
        }));
        assert!(result.is_err());
        assert!(!lockdep::is_held(&seq), "the write section is still held");
        assert!(!lockdep::is_held(&lock));
    });
}

#[test]
fn seqcount_writers_must_hold_the_associated_lock_exclusively() {
    let v = collecting(Config::default());
    let m = Mutex::with_name("assoc", ());
    let rw = RwLock::with_name("assoc_rw", ());
    let seq = SeqCount::with_name("S");
    v.scope(|| {
        // Not held.
        let e = catch_unwind(AssertUnwindSafe(|| drop(seq.write_begin(&m)))).unwrap_err();
        let msg = panic_text(e);
        assert!(msg.contains("write_begin of seqcount S at "), "{msg}");
        assert!(msg.contains("tests/semantics.rs:"), "{msg}");
        assert!(
            msg.contains("must hold its associated lock assoc exclusively"),
            "{msg}"
        );
        assert!(msg.contains("this thread does not hold it"), "{msg}");
        // Held for reading only: two writers could still run at once.
        let e = catch_unwind(AssertUnwindSafe(|| {
            let _r = rw.read();
            drop(seq.write_begin(&rw));
        }))
        .unwrap_err();
        assert!(panic_text(e).contains("holds it only for reading"));
        // Held: fine.
        let _m = m.lock();
        drop(seq.write_begin(&m));
        let _w = rw.write();
        drop(seq.write_begin(&rw));
    });
    // Held by another thread does not count.
    let (held, done) = (Barrier::new(2), Barrier::new(2));
    thread::scope(|s| {
        let (m, v2, held2, done2) = (&m, &v, &held, &done);
        s.spawn(move || {
            v2.scope(|| {
                let _g = m.lock();
                held2.wait();
                done2.wait();
            })
        });
        held.wait();
        let e = v.scope(|| catch_unwind(AssertUnwindSafe(|| drop(seq.write_begin(m)))));
        done.wait();
        assert!(panic_text(e.unwrap_err()).contains("does not hold it"));
    });
    assert_eq!(seq.sequence() % 2, 0, "no section was opened");
    assert!(v.take_reports().is_empty());
}

#[test]
fn nested_write_sections_of_one_seqcount_class() {
    let reports = lockdep::capture(|| {
        let make = || (SpinLock::new(()), SeqCount::with_name("d_seq"));
        let ((l1, s1), (l2, s2)) = (make(), make());
        let _g1 = l1.lock();
        let _w1 = s1.write_begin(&l1);
        let _g2 = l2.lock_nested(1);
        let _w2 = s2.write_begin_nested(&l2, 1); // write_seqcount_begin_nested
    });
    assert!(reports.is_empty(), "{reports:#?}");

    let reports = lockdep::capture(|| {
        let make = || (SpinLock::new(()), SeqCount::with_name("d_seq"));
        let ((l1, s1), (l2, s2)) = (make(), make());
        let _g1 = l1.lock();
        let _w1 = s1.write_begin(&l1);
        let _g2 = l2.lock_nested(1);
        let _w2 = s2.write_begin(&l2);
    });
    assert_eq!(kinds(&reports), vec![ReportKind::RecursiveLocking]);
    assert_eq!(names(&reports[0]), vec!["d_seq"]);
}

#[test]
fn seqlock_readers_take_no_lock() {
    let v = collecting(Config::default());
    let sl = SeqLock::with_name("SL", (7u32, 7u32));
    let (holding, done) = (Barrier::new(2), Barrier::new(2));
    thread::scope(|s| {
        let (sl, v2, holding2, done2) = (&sl, &v, &holding, &done);
        s.spawn(move || {
            v2.scope(|| {
                let g = sl.read_exclusive(); // holds the internal spin lock
                assert_eq!(*g, (7, 7));
                holding2.wait();
                done2.wait();
            })
        });
        holding.wait();
        // The writers' lock is held by another thread, yet lock-free readers go ahead.
        v.scope(|| {
            assert_eq!(sl.read(), (7, 7));
            assert!(sl.try_write().is_none());
            assert!(!lockdep::is_held(sl));
        });
        done.wait();
    });
    assert!(v.take_reports().is_empty());
}

#[test]
fn seqlock_stress_readers_never_see_torn_values() {
    const WRITERS: u64 = 2;
    const WRITES: u64 = 2_000;
    const READERS: usize = 2;
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let sl = SeqLock::with_name("stress", [0u64; 8]);
        let start = Barrier::new(WRITERS as usize + READERS);
        let writers_left = AtomicU64::new(WRITERS);
        thread::scope(|s| {
            for _ in 0..WRITERS {
                s.spawn(|| {
                    v.scope(|| {
                        start.wait();
                        for _ in 0..WRITES {
                            let mut w = sl.write();
                            let next = w[0] + 1;
                            // One element at a time, slowly: a reader copying now would tear.
                            for x in w.iter_mut() {
                                *x = next;
                                (0..20).for_each(|_| std::hint::spin_loop());
                            }
                        }
                        writers_left.fetch_sub(1, Relaxed);
                    })
                });
            }
            for _ in 0..READERS {
                s.spawn(|| {
                    v.scope(|| {
                        start.wait();
                        let mut last = 0;
                        // Bounded: runs only as long as the writers do.
                        while writers_left.load(Relaxed) > 0 {
                            let snap = sl.read();
                            assert!(snap.iter().all(|&x| x == snap[0]), "torn: {snap:?}");
                            assert!(snap[0] >= last, "went back from {last} to {}", snap[0]);
                            last = snap[0];
                        }
                    })
                });
            }
        });
        assert_eq!(sl.read(), [WRITERS * WRITES; 8]);
        assert_eq!(sl.seqcount().sequence() as u64, 2 * WRITERS * WRITES);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn seqcount_stress_with_a_mutex_serialising_writers() {
    const WRITES: u64 = 2_000;
    let reports = lockdep::capture(|| {
        let v = lockdep::current_validator();
        let lock = Mutex::with_name("writers", ());
        let seq = SeqCount::with_name("pair_seq");
        let pair = (AtomicU64::new(0), AtomicU64::new(0));
        let start = Barrier::new(3);
        let writers_left = AtomicU64::new(2);
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    v.scope(|| {
                        start.wait();
                        for _ in 0..WRITES {
                            let _g = lock.lock();
                            let _w = seq.write_begin(&lock);
                            let n = pair.0.load(Relaxed) + 1;
                            pair.0.store(n, Relaxed);
                            (0..100).for_each(|_| std::hint::spin_loop());
                            pair.1.store(n, Relaxed);
                        }
                        writers_left.fetch_sub(1, Relaxed);
                    })
                });
            }
            s.spawn(|| {
                v.scope(|| {
                    start.wait();
                    while writers_left.load(Relaxed) > 0 {
                        let (a, b) = seq.read(|| (pair.0.load(Relaxed), pair.1.load(Relaxed)));
                        assert_eq!(a, b, "torn pair");
                    }
                })
            });
        });
        assert_eq!(pair.0.load(Relaxed), 2 * WRITES);
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

// ===== lifetime =====

#[test]
fn thread_exit_holding_a_spinlock_and_a_write_section_names_both() {
    let v = collecting(Config::default());
    let lock: &'static SpinLock<()> = Box::leak(Box::new(SpinLock::with_name("leaked_spin", ())));
    let seq: &'static SeqCount = Box::leak(Box::new(SeqCount::with_name("leaked_seq")));
    let v2 = v.clone();
    thread::Builder::new()
        .name("forgetful".into())
        .spawn(move || {
            v2.enter();
            std::mem::forget(lock.lock());
            std::mem::forget(seq.write_begin(lock));
        })
        .unwrap()
        .join()
        .unwrap();
    let reports = v.take_reports();
    assert_eq!(kinds(&reports), vec![ReportKind::LocksHeldAtExit]);
    assert_eq!(names(&reports[0]), vec!["leaked_seq", "leaked_spin"]);
    let text = reports[0].to_string();
    assert_lines_in_order(
        &text,
        &[
            "WARNING: forgetful/",
            "2 locks held by forgetful/",
            "(leaked_spin){+.+.}-{2:2}, at: ",
            "(leaked_seq){....}-{0:0}, at: ",
            "stack backtrace:",
        ],
    );
    assert!(
        text.lines().any(|l| l.starts_with(" #1: ")
            && l.contains("(leaked_seq)")
            && l.contains("tests/semantics.rs:")),
        "{text}"
    );
    assert!(text.contains("still has locks held!"), "{text}");
}

#[test]
fn bad_unlock_balance_report_layout() {
    // Guards carry their acquisition and are not `Send`, so safe code cannot release a lock the
    // thread does not hold; the rule is exercised where such events come from (traces, the
    // validator API).
    let v = collecting(Config::default());
    let class = v
        .class_named("&sig->stats_lock", LockKind::SpinLock)
        .unwrap();
    let mut t = ThreadState::new("kworker", 7, 8);
    let acquire = Acquire {
        class,
        instance: InstanceId(0x1000),
        mode: Mode::Write,
        trylock: false,
        nest_lock: None,
        kind: LockKind::SpinLock,
        site: Site::Text("exit.rs:10".into()),
    };
    assert!(v.acquire(&mut t, acquire).is_empty());
    let at = || Site::Text("exit.rs:20".into());
    assert!(
        v.release(&mut t, InstanceId(0x1000), Some(class), at())
            .is_empty()
    );
    let reports = v.release(&mut t, InstanceId(0x1000), Some(class), at());
    assert_eq!(kinds(&reports), vec![ReportKind::BadUnlockBalance]);
    assert_lines_in_order(
        &reports[0].to_string(),
        &[
            "WARNING: bad unlock balance detected!",
            "kworker/7 is trying to release lock (&sig->stats_lock) at:",
            "exit.rs:20",
            "but there are no more locks to release!",
            "other info that might help us debug this:",
            "no locks held by kworker/7.",
            "stack backtrace:",
        ],
    );
}

#[test]
fn a_lock_taken_while_validation_was_off_is_not_a_bad_unlock() {
    let v = collecting(Config::default());
    let spin = SpinLock::with_name("s", ());
    v.scope(|| {
        v.set_enabled(false);
        let g = spin.lock();
        v.set_enabled(true);
        drop(g);
    });
    let reports = v.take_reports();
    assert!(reports.is_empty(), "{reports:#?}");
}

// ===== limits =====

/// After a limit report: locks still exclude each other across threads, validation goes on, and
/// an AB-BA of two new classes is reported unless the limit is one of new classes (`classes`:
/// their locks go untracked) or of new dependencies (`edges`: not recorded, so no cycle closes).
fn keeps_running_correctly(v: &Validator, new_abba_found: bool) {
    assert!(v.is_enabled(), "validation goes on");
    let spin = SpinLock::with_name("after_spin", 0u64);
    let m = Mutex::with_name("after_mutex", 0u64);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                v.scope(|| {
                    for _ in 0..1_000 {
                        *spin.lock() += 1;
                        *m.lock() += 1;
                        let g = spin.lock();
                        assert!(spin.try_lock().is_none());
                        drop(g);
                    }
                })
            });
        }
    });
    assert_eq!(*spin.lock(), 2_000);
    assert_eq!(*m.lock(), 2_000);
    v.scope(|| {
        let a = SpinLock::with_name("late_a", ());
        let b = SpinLock::with_name("late_b", ());
        drop((a.lock(), b.lock()));
        drop((b.lock(), a.lock()));
    });
    let expected = if new_abba_found {
        vec![ReportKind::CircularDependency]
    } else {
        Vec::new()
    };
    assert_eq!(kinds(&v.take_reports()), expected);
}

fn assert_limit_report(reports: &[Report], name: &str, value: usize, env_var: &str) {
    assert_eq!(
        kinds(reports),
        vec![ReportKind::LimitExceeded],
        "{reports:#?}"
    );
    let limit = reports[0].limit.as_ref().unwrap();
    assert_eq!(
        (limit.name, limit.value, limit.env_var),
        (name, value, env_var)
    );
    let text = reports[0].to_string();
    assert_lines_in_order(
        &text,
        &[
            &format!("BUG: {name} too low!"),
            "; everything else is still validated.",
            &format!("The limit is {value}; raise it with Config::"),
        ],
    );
    // A validator built from a `Config`: the variable would not change it.
    assert!(
        text.contains(&format!("; {env_var} does not apply to it)")),
        "{text}"
    );
}

#[test]
fn depth_limit_reports_once_and_goes_on() {
    let v = collecting(Config {
        max_lock_depth: 2,
        ..Config::default()
    });
    v.scope(|| {
        let locks: Vec<SpinLock<()>> = vec![
            SpinLock::with_name("d0", ()),
            SpinLock::with_name("d1", ()),
            SpinLock::with_name("d2", ()),
            SpinLock::with_name("d3", ()),
        ];
        let _held: Vec<_> = locks.iter().map(|l| l.lock()).collect();
    });
    let reports = v.take_reports();
    assert_limit_report(&reports, "MAX_LOCK_DEPTH", 2, "LOCKDEP_MAX_DEPTH");
    assert_eq!(reports[0].held.len(), 2, "the held locks are listed");
    keeps_running_correctly(&v, true);
}

#[test]
fn class_limit_reports_once_and_goes_on() {
    let v = collecting(Config {
        max_classes: 2,
        ..Config::default()
    });
    v.scope(|| {
        let a = Mutex::with_name("c0", ());
        let b = SpinLock::with_name("c1", ());
        let c = RwLock::with_name("c2", ());
        let d = SeqCount::with_name("c3");
        let _a = a.lock();
        let _b = b.lock();
        let _c = c.write();
        let _ = d.read_begin();
    });
    assert_limit_report(
        &v.take_reports(),
        "MAX_LOCKDEP_KEYS",
        2,
        "LOCKDEP_MAX_CLASSES",
    );
    assert_eq!(v.class_count(), 2);
    keeps_running_correctly(&v, false);
}

#[test]
fn edge_limit_reports_once_and_goes_on() {
    let v = collecting(Config {
        max_edges: 1,
        ..Config::default()
    });
    v.scope(|| {
        let (a, b) = (Mutex::with_name("A", ()), SpinLock::with_name("B", ()));
        let (c, d) = (Mutex::with_name("C", ()), SeqCount::with_name("D"));
        drop((a.lock(), b.lock()));
        let _c = c.lock();
        let _ = d.read_begin(); // a reader's edge counts too
    });
    assert_limit_report(
        &v.take_reports(),
        "MAX_LOCKDEP_ENTRIES",
        1,
        "LOCKDEP_MAX_EDGES",
    );
    assert_eq!(v.dependency_count(), 1);
    keeps_running_correctly(&v, false);
}

#[test]
fn chain_limit_reports_once_and_goes_on() {
    let v = collecting(Config {
        max_chains: 8,
        ..Config::default()
    });
    v.scope(|| {
        let locks: Vec<SpinLock<()>> = (0..10).map(|_| SpinLock::new(())).collect();
        let outer = Mutex::with_name("outer", ());
        // Chains (outer), (outer, L), (outer, L, L/1), ... each new.
        let _o = outer.lock();
        let _held: Vec<_> = locks
            .iter()
            .enumerate()
            .map(|(i, l)| l.lock_nested(i as u32))
            .collect();
    });
    assert_limit_report(
        &v.take_reports(),
        "MAX_LOCKDEP_CHAINS",
        8,
        "LOCKDEP_MAX_CHAINS",
    );
    assert_eq!(v.chain_count(), 8);
    keeps_running_correctly(&v, true);
}

#[test]
fn a_chain_limit_below_eight_is_honoured() {
    let v = collecting(Config {
        max_chains: 2,
        ..Config::default()
    });
    v.scope(|| {
        let a = Mutex::with_name("A", ());
        let b = Mutex::with_name("B", ());
        let c = Mutex::with_name("C", ());
        let _a = a.lock(); // chain 1
        let _b = b.lock(); // chain 2
        let _c = c.lock(); // chain 3: over the limit
    });
    assert_limit_report(
        &v.take_reports(),
        "MAX_LOCKDEP_CHAINS",
        2,
        "LOCKDEP_MAX_CHAINS",
    );
}
