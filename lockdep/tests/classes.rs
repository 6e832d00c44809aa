//! Lock classes for Rust: locks built where the construction site is not the user's code
//! (a `#[derive(Default)]`, `Default`, std adaptors, `lock_api` over the raw lock) do not collapse
//! into one class, while the kernel's rule stays for sites of the user's own code.
#![cfg(not(lockdep_off))]

use std::sync::Arc;

use lockdep::{ClassOrigin, Mutex, NotUserCode, RawMutex, ReportKind, RwLock};

#[derive(Default)]
struct Bank {
    accounts: Mutex<u64>,
    audit: Mutex<u64>,
}

#[test]
fn derive_default_fields_nested_in_one_order_are_silent() {
    let reports = lockdep::capture(|| {
        let bank = Bank::default();
        for _ in 0..3 {
            let mut accounts = bank.accounts.lock();
            *accounts += 1;
            *bank.audit.lock() += 1; // accounts -> audit, every time
        }
        let other = Bank::default();
        let _a = other.accounts.lock();
        let _b = other.audit.lock();
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn derive_default_fields_in_both_orders_are_a_cycle_naming_both_user_sites() {
    let (mut first, mut second) = (0, 0);
    let reports = lockdep::capture(|| {
        let bank = Bank::default();
        {
            let (_a, line_a) = (bank.accounts.lock(), line!());
            let (_b, line_b) = (bank.audit.lock(), line!());
            (first, second) = (line_a, line_b);
        }
        let _b = bank.audit.lock();
        let _a = bank.accounts.lock(); // audit -> accounts closes the cycle
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert_eq!(r.kind(), ReportKind::CircularDependency);
    let text = r.to_string();
    let file = file!();
    for line in [first, second] {
        assert!(
            r.cycle()
                .iter()
                .any(|c| c.contains(&format!("{file}:{line}:"))),
            "{text}"
        );
    }
    assert!(text.contains("note: class (mutex<u64>@"), "{text}");
    assert!(text.contains("through Default"), "{text}");
    assert_eq!(r.notes.len(), 2);
    for note in &r.notes {
        assert!(matches!(
            note.origin,
            ClassOrigin::FirstLock {
                why: NotUserCode::Default,
                type_name: Some("u64"),
                ..
            }
        ));
    }
}

#[test]
fn instances_of_one_derive_field_share_a_class_when_first_locked_at_one_site() {
    fn transfer(from: &Bank) {
        let _a = from.accounts.lock();
        let _b = from.audit.lock();
    }
    fn audit_then_accounts(b: &Bank) {
        let _b = b.audit.lock();
        let _a = b.accounts.lock();
    }
    let reports = lockdep::capture(|| {
        let (one, two) = (Bank::default(), Bank::default());
        transfer(&one);
        transfer(&two);
        audit_then_accounts(&two); // an ABBA across the two banks' classes
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
}

#[test]
fn default_built_locks_are_distinct() {
    fn fresh<T: Default>() -> T {
        T::default()
    }
    let reports = lockdep::capture(|| {
        let a: Mutex<u64> = Mutex::default();
        let b: Mutex<u64> = Default::default();
        let c: RwLock<Vec<u8>> = fresh();
        let d: RwLock<Vec<u8>> = fresh();
        let (_a, _b, _c, _d) = (a.lock(), b.lock(), c.write(), d.read());
        let mut taken = Mutex::new(5);
        let e = std::mem::take(&mut taken);
        let (_e, _t) = (e.lock(), taken.lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn arc_default_locks_are_distinct() {
    let reports = lockdep::capture(|| {
        let a: Arc<Mutex<Vec<u32>>> = Arc::default();
        let b: Arc<Mutex<Vec<u32>>> = Arc::default();
        let mut by_id: std::collections::HashMap<u8, Mutex<u8>> = Default::default();
        by_id.entry(1).or_default();
        by_id.entry(2).or_default();
        let (_a, _b) = (a.lock(), b.lock());
        let (_one, _two) = (by_id[&1].lock(), by_id[&2].lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn locks_built_by_map_are_distinct_until_nested_at_one_site() {
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<usize>> = (0..3).map(Mutex::new).collect();
        let _first = locks[0].lock();
        let _second = locks[1].lock();
        let _third = locks[2].lock();
    });
    assert!(reports.is_empty(), "{reports:#?}");
    // Every lock first taken at one site is one class: holding two of them is reported, and
    // the report says the class is not a construction site of the user's code.
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<usize>> = (0..2).map(Mutex::new).collect();
        let _all: Vec<_> = locks.iter().map(|l| l.lock()).collect();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
    let text = reports[0].to_string();
    assert!(text.contains("inside the standard library"), "{text}");
    assert_eq!(reports[0].notes[0].instances.len(), 2, "{text}");
    // And what to do about it (a new user found no way out in it).
    assert!(text.contains("2 distinct locks of it"), "{text}");
    assert!(
        text.contains("lock_nested") && text.contains("with_class"),
        "{text}"
    );
}

#[test]
fn generic_helpers_build_a_class_per_type() {
    fn new_lock<T>(val: T) -> Mutex<T> {
        Mutex::new(val)
    }
    let reports = lockdep::capture(|| {
        let accounts = new_lock(vec![1u64]);
        let audit = new_lock(String::new());
        let (_a, _b) = (accounts.lock(), audit.lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn a_helper_of_the_users_code_is_one_class_and_the_report_names_both_locks() {
    // The kernel's rule: one init site, one class (make the helper `#[track_caller]`, or use
    // `with_name`/`with_class`, to split it).
    fn new_counter() -> Mutex<u64> {
        Mutex::new(0)
    }
    let reports = lockdep::capture(|| {
        let (hits, misses) = (new_counter(), new_counter());
        let (_h, _m) = (hits.lock(), misses.lock());
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
    let note = &reports[0].notes[0];
    assert_eq!(note.origin, ClassOrigin::Site);
    assert_eq!(note.instances.len(), 2);
    let text = reports[0].to_string();
    assert!(text.contains("2 distinct locks of it"), "{text}");
    assert!(text.contains("#[track_caller]"), "{text}");
    // A tree of one class (tokio-util's cancellation tokens): the way out is a suppression.
    assert!(
        text.contains(&format!(
            "LOCKDEP_SUPPRESS rule (`class {} REASON`)",
            note.class
        )),
        "{text}"
    );

    #[track_caller]
    fn new_tracked_counter() -> Mutex<u64> {
        Mutex::new(0)
    }
    let reports = lockdep::capture(|| {
        let (hits, misses) = (new_tracked_counter(), new_tracked_counter());
        let (_h, _m) = (hits.lock(), misses.lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn two_instances_of_one_user_site_still_share_a_class() {
    // A1 -> B1 on one pair, B2 -> A2 on another: the kernel's rule finds it.
    let reports = lockdep::capture(|| {
        let make = || (Mutex::new(0u8), Mutex::new(0u16));
        let (a1, b1) = make();
        let (a2, b2) = make();
        drop((a1.lock(), b1.lock()));
        let (_b, _a) = (b2.lock(), a2.lock());
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    assert!(reports[0].notes.is_empty());
}

#[test]
fn lock_api_mutexes_over_the_raw_lock_are_distinct() {
    type Raw<T> = lock_api::Mutex<RawMutex, T>;
    let reports = lockdep::capture(|| {
        let a: Raw<u64> = Raw::new(1);
        let b: Raw<u64> = Raw::new(2);
        let (_a, _b) = (a.lock(), b.lock());
    });
    assert!(reports.is_empty(), "{reports:#?}");
    let reports = lockdep::capture(|| {
        let a: Raw<u64> = Raw::new(1);
        let b: Raw<u64> = Raw::new(2);
        drop((a.lock(), b.lock()));
        let (_b, _a) = (b.lock(), a.lock());
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    let text = reports[0].to_string();
    assert!(
        text.contains("from the raw lock's INIT (directly, or by lock_api over it)"),
        "{text}"
    );
    // lock_api passes its caller on, so the first acquisition is the user's site.
    assert!(matches!(
        reports[0].notes[0].origin,
        ClassOrigin::FirstLock {
            why: NotUserCode::RawLock,
            type_name: None,
            ..
        }
    ));
}

#[test]
fn named_and_keyed_locks_built_by_default_code_keep_their_names() {
    static KEY: lockdep::ClassKey = lockdep::ClassKey::new("bucket");
    let reports = lockdep::capture(|| {
        let buckets: Vec<Mutex<usize>> = (0..2).map(|i| Mutex::with_class(&KEY, i)).collect();
        assert_eq!(lockdep::class_name(&buckets[0]), "bucket");
        let _all: Vec<_> = buckets.iter().map(|b| b.lock()).collect();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::RecursiveLocking);
}

#[test]
fn a_class_is_fixed_by_the_first_lock_in_any_validator() {
    let bank = Bank::default();
    let name = lockdep::class_name(&bank.accounts);
    assert!(name.contains("class set by its first lock"), "{name}");
    let reports = lockdep::capture(|| drop(bank.accounts.lock()));
    assert!(reports.is_empty());
    let first = lockdep::capture(|| {
        let _g = bank.accounts.lock(); // another site: the class stays the first one's
        assert!(lockdep::class_name(&bank.accounts).contains("mutex<u64>@"));
    });
    assert!(first.is_empty());
}

#[test]
fn a_lock_built_and_first_taken_inside_std_is_a_class_of_its_own() {
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<u8>> = (0..3).map(Mutex::new).collect();
        // `Mutex::lock` as a function: its caller is inside core, which says nothing.
        let _all: Vec<_> = locks.iter().map(Mutex::lock).collect();
        let other = Mutex::new(());
        let _o = other.lock(); // every one of them -> other
    });
    assert!(reports.is_empty(), "{reports:#?}");
    let reports = lockdep::capture(|| {
        let locks: Vec<Mutex<u8>> = (0..2).map(Mutex::new).collect();
        let first: Vec<_> = locks.iter().map(Mutex::lock).collect();
        drop(first);
        let _second = locks[1].lock();
        let _first = locks[0].lock(); // 1 -> 0: no cycle yet, each lock its own class
        drop((_first, _second));
        let _zero = locks[0].lock();
        let _one = locks[1].lock(); // 0 -> 1 closes the cycle with 1 -> 0
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(matches!(
        reports[0].notes[0].origin,
        ClassOrigin::Instance {
            why: NotUserCode::Std,
            ..
        }
    ));
    assert!(reports[0].to_string().contains("is one lock"));
}

#[test]
fn a_named_lock_is_one_class_whatever_its_data_type_an_unnamed_one_a_class_per_type() {
    fn named<T>(val: T) -> Mutex<T> {
        Mutex::with_name("named_cache", val)
    }
    fn unnamed<T>(val: T) -> Mutex<T> {
        Mutex::new(val)
    }
    lockdep::capture(|| {
        let (a, b) = (named(1u8), named(String::new()));
        drop((a.lock(), b.lock()));
        assert_eq!(lockdep::class_name(&a), "named_cache");
        assert_eq!(lockdep::class_name(&b), "named_cache");
        let (c, d) = (unnamed(1u8), unnamed(String::new()));
        assert_ne!(lockdep::class_name(&c), lockdep::class_name(&d));
    });
}

/// A seqcount built outside the user's code (`Default`) takes its class from its first use, a
/// top-level read included — also on a thread whose top-level readers skip validation once their
/// lock has a class.
#[test]
fn a_default_seqlock_takes_its_class_from_its_first_read_at_top_level() {
    let reports = lockdep::capture(|| {
        let warm = Mutex::with_name("warm", ());
        for _ in 0..3 {
            drop(warm.lock()); // this thread's steady state is open
        }
        let s: lockdep::SeqLock<u64> = lockdep::SeqLock::default();
        let line = line!() + 1;
        assert_eq!(s.read(), 0);
        let name = lockdep::class_name(&s);
        assert!(name.contains(&format!("classes.rs:{line}")), "{name}");
        s.read();
        assert_eq!(lockdep::class_name(&s), name);
        // The same for a bare counter, through `read_begin`.
        let c = lockdep::SeqCount::default();
        let line = line!() + 1;
        let start = c.read_begin();
        assert!(!c.read_retry(start));
        let name = lockdep::class_name(&c);
        assert!(name.contains(&format!("classes.rs:{line}")), "{name}");
        assert_eq!(c.sequence(), 0, "the counter shows no class bit");
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

/// Locks for its callers, not `#[track_caller]`: every acquisition names this line.
fn lock_for_caller(m: &Mutex<u64>) -> lockdep::MutexGuard<'_, u64> {
    m.lock()
}

/// The same helper, `#[track_caller]`: each acquisition names its caller's line.
#[track_caller]
fn lock_for_caller_tracked(m: &Mutex<u64>) -> lockdep::MutexGuard<'_, u64> {
    m.lock()
}

#[test]
fn a_report_whose_acquisitions_share_a_helpers_line_says_so() {
    let (a, b) = (Mutex::new(0), Mutex::new(0));
    let reports = lockdep::capture(|| {
        drop((lock_for_caller(&a), lock_for_caller(&b)));
        let _b = lock_for_caller(&b);
        let _a = lock_for_caller(&a);
    });
    assert_eq!(reports.len(), 1);
    let text = reports[0].to_string();
    assert!(text.contains("were acquired at one line"), "{text}");
    assert!(text.contains("#[track_caller]"), "{text}");
    assert!(text.contains("LOCKDEP_BACKTRACE=1"), "{text}");
    // Tracked, the helper's callers' lines are the sites: no note.
    let (a, b) = (Mutex::new(0), Mutex::new(0));
    let reports = lockdep::capture(|| {
        drop((lock_for_caller_tracked(&a), lock_for_caller_tracked(&b)));
        let _b = lock_for_caller_tracked(&b);
        let _a = lock_for_caller_tracked(&a);
    });
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].to_string().contains("were acquired at one line"));
}

/// `a` then `b`, and later `b` then `a` — each time under `gate` (`take` holds it) if `under`
/// says so, once per half: the cycle of ractor's supervision tree, whose two paths both hold a
/// tree-mutation lock.
fn ab_then_ba<G>(take: impl Fn() -> G, under: [bool; 2]) -> Vec<lockdep::Report> {
    let (a, b) = (Mutex::with_name("a", ()), Mutex::with_name("b", ()));
    lockdep::capture(|| {
        {
            let _g = under[0].then(&take);
            drop((a.lock(), b.lock()));
        }
        let _g = under[1].then(&take);
        let _b = b.lock();
        let _a = a.lock();
    })
}

const GATE_NOTE: &str = "was held when each dependency of this cycle was first recorded";

#[test]
fn a_cycle_recorded_under_one_held_lock_names_it() {
    // The cycle is real by lockdep's rule; the note names the lock that may keep it from closing.
    let tree = Mutex::with_name("tree", ());
    let reports = ab_then_ba(|| tree.lock(), [true, true]);
    assert_eq!(reports.len(), 1);
    let text = reports[0].to_string();
    assert!(
        text.contains(&format!("note: a lock of (tree) {GATE_NOTE}")),
        "{text}"
    );
    // Taken once without it: no note.
    let reports = ab_then_ba(|| tree.lock(), [false, true]);
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].to_string().contains(GATE_NOTE));
}

#[test]
fn a_gate_held_for_reading_is_no_gate() {
    // Readers of one lock run together: a cycle recorded under a read of it may close.
    let gate = lockdep::RwLock::with_name("gate", ());
    let reports = ab_then_ba(|| gate.read(), [true, true]);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].gate_locks().is_empty());
    assert!(!reports[0].to_string().contains(GATE_NOTE));
}
