//! Cycles of readers through a class that never had a writer: reported as the kernel does (a
//! writer may come), with the classes that cannot block named (`Report::never_written`).

#![cfg(not(lockdep_off))]

use lockdep::{Mutex, ReportKind, RwLock};

/// The cycle reports of `a -> b` then `b -> a`, both only read, after `setup` has used the locks.
fn reader_cycle(setup: impl FnOnce(&RwLock<()>, &RwLock<()>)) -> Vec<lockdep::Report> {
    let (a, b) = (RwLock::with_name("a", ()), RwLock::with_name("b", ()));
    let reports = lockdep::capture(|| {
        setup(&a, &b);
        drop((a.read(), b.read()));
        let _b = b.read();
        let _a = a.read();
    });
    let cycles: Vec<_> = reports
        .into_iter()
        .filter(|r| r.kind == ReportKind::CircularDependency)
        .collect();
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    cycles
}

fn cycle_of_readers(write_a: bool, write_b: bool) -> Vec<lockdep::Report> {
    reader_cycle(|a, b| {
        if write_a {
            drop(a.write());
        }
        if write_b {
            drop(b.write());
        }
    })
}

#[test]
fn a_cycle_of_readers_names_the_classes_without_writers() {
    let reports = cycle_of_readers(false, false);
    assert_eq!(reports[0].kind, ReportKind::CircularDependency);
    let mut never = reports[0].never_written.clone();
    never.sort();
    assert_eq!(never, vec!["a".into(), "b".into()]);
    let text = reports[0].to_string();
    assert!(
        text.contains("note: classes (a), (b) were never held for writing")
            || text.contains("note: classes (b), (a) were never held for writing"),
        "{text}"
    );

    let reports = cycle_of_readers(true, false);
    assert_eq!(reports[0].never_written, vec!["b".into()]);
    assert!(
        reports[0]
            .to_string()
            .contains("until it is write-locked too")
    );

    // Both have writers: a deadlock once two writers queue; no note.
    let reports = cycle_of_readers(true, true);
    assert!(reports[0].never_written.is_empty());
    assert!(!reports[0].to_string().contains("never held for writing"));
}

#[test]
fn a_writer_under_another_lock_and_an_upgradable_reader_count() {
    let m = Mutex::with_name("m", ());
    let reports = reader_cycle(|a, b| {
        // b written under m (a dependency m -> b); a taken upgradable, which lockdep models as
        // exclusive from the start (it cannot know whether the reader will upgrade).
        drop((m.lock(), b.write()));
        drop(a.upgradable_read());
    });
    assert!(
        reports[0].never_written.is_empty(),
        "{:?}",
        reports[0].never_written
    );
}

#[test]
fn a_writer_under_another_subclass_counts() {
    let reports = reader_cycle(|a, b| {
        // The same locks written under subclass 1: their plain readers wait for it too.
        drop(a.write_nested(1));
        drop(b.write_nested(1));
    });
    assert!(
        reports[0].never_written.is_empty(),
        "{:?}",
        reports[0].never_written
    );
}

#[test]
fn a_mutex_cycle_has_no_such_note() {
    let (a, b) = (Mutex::with_name("ma", ()), Mutex::with_name("mb", ()));
    let reports = lockdep::capture(|| {
        drop((a.lock(), b.lock()));
        let _b = b.lock();
        let _a = a.lock();
    });
    assert_eq!(reports.len(), 1);
    assert!(reports[0].never_written.is_empty());
}
