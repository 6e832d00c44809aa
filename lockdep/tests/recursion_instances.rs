//! A lock of a class taken again is reported once per kind of recursion: two instances of the
//! class nested (the kernel's rule: maybe a missing annotation) and the very same instance taken
//! again (a self-deadlock) are two problems, and the first does not hide the second. The chain
//! of such an acquisition is not remembered, so every one is validated.
#![cfg(not(lockdep_off))]

use lockdep::{ReportKind, RwLock};

#[test]
fn the_same_lock_read_again_after_two_of_its_class_nested() {
    let reports = lockdep::capture(|| {
        let locks: Vec<RwLock<()>> = (0..2).map(|_| RwLock::new(())).collect();
        {
            let _a = locks[0].read();
            let _b = locks[1].read();
        }
        // A non-recursive reader taken again: a writer queued between the two reads would
        // deadlock (parking_lot's readers do not pass a waiting writer).
        let _a = locks[0].read();
        let _again = locks[0].read();
    });
    let kinds: Vec<_> = reports.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [ReportKind::RecursiveLocking, ReportKind::RecursiveLocking],
        "{reports:#?}"
    );
    // The second is the very same lock: the acquiring and the held line print one address.
    let text = reports[1].to_string();
    let address_after = |header: &str| {
        let mut lines = text.lines().skip_while(|l| !l.ends_with(header));
        lines.nth(1).and_then(|l| l.split_whitespace().next())
    };
    let acquiring = address_after("is trying to acquire lock:");
    assert!(acquiring.is_some(), "{text}");
    assert_eq!(
        acquiring,
        address_after("but task is already holding lock:"),
        "{text}"
    );
}

#[test]
fn the_same_lock_again_when_it_is_not_the_first_of_its_class_held() {
    let reports = lockdep::capture(|| {
        let locks: Vec<RwLock<()>> = (0..2).map(|_| RwLock::new(())).collect();
        let _a = locks[0].read();
        let _b = locks[1].read(); // two of the class: reported
        let _again = locks[1].read(); // the second one again: a report of its own
    });
    assert_eq!(reports.len(), 2, "{reports:#?}");
}

#[test]
fn two_of_a_class_nested_again_is_not_reported_twice() {
    let reports = lockdep::capture(|| {
        let locks: Vec<RwLock<()>> = (0..2).map(|_| RwLock::new(())).collect();
        for _ in 0..3 {
            let _a = locks[0].write();
            let _b = locks[1].write();
        }
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
}

#[test]
fn one_lock_taken_again_says_it_is_one_lock_and_two_of_a_class_do_not() {
    // once_cell's reentrant init: the very mutex its thread holds, taken again.
    let reports = lockdep::capture(|| {
        let m = lockdep::Mutex::new(());
        let _g = m.lock();
        let _again = m.try_lock_for(std::time::Duration::from_millis(1)); // timed: validated
    });
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let text = reports[0].to_string();
    assert!(text.contains("This is one lock (one address)"), "{text}");
    let reports = lockdep::capture(|| {
        let locks: Vec<lockdep::Mutex<()>> = (0..2).map(|_| lockdep::Mutex::new(())).collect();
        let _a = locks[0].lock();
        let _b = locks[1].lock();
    });
    let text = reports[0].to_string();
    assert!(!text.contains("This is one lock"), "{text}");
}

#[test]
fn two_of_a_class_nested_at_other_lines_is_reported_again() {
    // One class of pooled objects (one construction site): nested at one pair of lines it may
    // be harmless, at another a deadlock (held out, generational-box); the first report must
    // not silence the second. The same lines again are not reported again.
    let reports = lockdep::capture(|| {
        let locks: Vec<RwLock<()>> = (0..2).map(|_| RwLock::new(())).collect();
        for _ in 0..2 {
            let _a = locks[0].write();
            let _b = locks[1].write();
        }
        let _b = locks[1].read();
        let _a = locks[0].write();
    });
    assert_eq!(reports.len(), 2, "{reports:#?}");
}

#[test]
fn a_cycle_closed_at_other_lines_is_reported_again() {
    // A chain that closed a reported cycle is remembered (a program that repeats the order does
    // not pay for its validation again), so the same lines in the same chain stay silent; the
    // same cycle closed in another chain at other lines is reported again.
    use lockdep::Mutex;
    let reports = lockdep::capture(|| {
        let a = Mutex::new(());
        let b = Mutex::new(());
        let c = Mutex::new(());
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        for _ in 0..2 {
            let _b = b.lock();
            let _a = a.lock(); // closes the cycle: reported once
        }
        let _c = c.lock();
        let _b = b.lock();
        let _a = a.lock(); // the same cycle, another chain and other lines: reported again
    });
    assert_eq!(reports.len(), 2, "{reports:#?}");
}
