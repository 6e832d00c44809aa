//! The library prints reports in the kernel's layout, so `lockcheck parse` reads them like
//! kernel splats: one tool for both.

use lockdep::{Mutex, ReportKind, SpinLock};

fn parsed(report: &lockdep::Report) -> lockcheck::report::Report {
    // As it would appear in a test log: the report text between other output.
    let log = format!("running 3 tests\n{report}\ntest foo ... FAILED\n");
    let mut reports = lockcheck::splat::parse_str("lib.log", &log);
    assert_eq!(reports.len(), 1, "{log}");
    reports.remove(0)
}

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

#[test]
fn circular_dependency_reports_parse_with_their_chain() {
    let reports = lockdep::capture(|| {
        let a = Mutex::with_name("alpha", ());
        let b = Mutex::with_name("beta", ());
        let c = Mutex::with_name("gamma", ());
        drop((a.lock(), b.lock()));
        drop((b.lock(), c.lock()));
        let _c = c.lock();
        let _a = a.lock();
    });
    assert_eq!(reports.len(), 1);
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "circular_dependency");
    assert_eq!(
        sorted(p.locks.clone()),
        sorted(["alpha", "beta", "gamma"].map(String::from))
    );
    assert_eq!(p.acquiring.as_ref().unwrap().name, "alpha");
    assert_eq!(p.held.as_ref().unwrap().name, "gamma");
    assert_eq!(p.chain.len(), 3, "-> #2, #1, #0");
    assert!(!p.truncated);
    // The chain's stacks point at this file.
    assert!(p.chain.iter().all(|e| e.frames.iter().any(|f| {
        f.file
            .as_deref()
            .is_some_and(|x| x.contains("library_reports_parse.rs"))
    })));
}

#[test]
fn recursive_locking_reports_parse() {
    let reports = lockdep::capture(|| {
        let pair: Vec<Mutex<()>> = (0..2).map(|_| Mutex::with_name("slot", ())).collect();
        let _x = pair[0].lock();
        let _y = pair[1].lock();
    });
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "recursive_locking");
    assert_eq!(p.locks, vec!["slot".to_string()]);
    // Two instances of one class: the parser's rule calls it a missing nesting annotation.
    assert_eq!(p.verdict.label.as_str(), "likely_false_positive");
}

#[test]
fn wait_context_and_held_at_exit_reports_parse() {
    let reports = lockdep::capture(|| {
        let spin = SpinLock::with_name("stats_spin", ());
        let m = Mutex::with_name("sleeping", ());
        let _s = spin.lock();
        let _m = m.lock();
    });
    assert_eq!(reports[0].kind(), ReportKind::InvalidWaitContext);
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "invalid_wait_context");

    let m = Mutex::with_name("kept", ());
    let reports = lockdep::capture(|| std::mem::forget(m.lock()));
    assert_eq!(reports[0].kind(), ReportKind::LocksHeldAtExit);
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "locks_held_at_exit");
    assert_eq!(p.locks, vec!["kept".to_string()]);
}

#[test]
fn reports_with_class_notes_parse() {
    #[derive(Default)]
    struct Bank {
        accounts: Mutex<std::collections::HashMap<u32, u64>>,
        audit: Mutex<Vec<(u8, String)>>,
    }
    let reports = lockdep::capture(|| {
        let bank = Bank::default();
        drop((bank.accounts.lock(), bank.audit.lock()));
        let _b = bank.audit.lock();
        let _a = bank.accounts.lock();
    });
    assert_eq!(reports.len(), 1);
    assert!(reports[0].to_string().contains("note: class ("));
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "circular_dependency");
    assert_eq!(
        sorted(p.locks.clone()),
        sorted(reports[0].classes().iter().map(|c| c.to_string()))
    );
    assert_eq!(
        p.held.as_ref().unwrap().name,
        reports[0].held_lock.as_ref().unwrap().name.to_string()
    );
}

/// With backtraces on, the report's stacks start at the caller's code after a line that says how
/// many frames of the lock were left out; the parser reads that line and std's frames as part of
/// the stack, not as damage.
#[test]
fn reports_with_backtraces_parse_without_damage() {
    let v =
        lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    v.set_backtraces(true);
    v.scope(|| {
        let a = Mutex::with_name("bt_alpha", ());
        let b = Mutex::with_name("bt_beta", ());
        drop((a.lock(), b.lock()));
        let _b = b.lock();
        let _a = a.lock();
    });
    let reports = v.take_reports();
    assert_eq!(reports.len(), 1);
    let text = reports[0].to_string();
    assert!(text.contains("of lockdep and the lock left out)"), "{text}");
    let p = parsed(&reports[0]);
    assert_eq!(p.kind.as_str(), "circular_dependency");
    assert_eq!(p.damage, None, "{text}");
    assert!(!p.truncated, "{text}");
}
