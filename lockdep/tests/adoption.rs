//! Threads spawned with `std::thread` inside a `capture` join it when nothing else can claim
//! them (`LOCKDEP_ADOPT_THREADS`, on by itself under nextest and `--test-threads=1`). One test
//! in this binary: adoption depends on how many captures run at once in the process.
#![cfg(not(lockdep_off))]

use std::sync::mpsc;

use lockdep::{Mutex, ReportKind, Validator};

/// Whether the process-wide graph has a dependency between classes named `from` and `to`.
fn global_has(from: &str, to: &str) -> bool {
    let g = lockdep::global();
    let name = |c| g.class_info(c).map(|i| i.base_name.to_string());
    g.dependencies()
        .iter()
        .any(|(a, b, _, _)| name(*a).as_deref() == Some(from) && name(*b).as_deref() == Some(to))
}

#[test]
fn threads_started_inside_the_only_capture_join_it() {
    // SAFETY: set before any other thread of this binary exists (one test) and before lockdep
    // reads it (its first capture).
    unsafe { std::env::set_var("LOCKDEP_ADOPT_THREADS", "1") };

    // std::thread::scope threads: the capture sees the cycle, the global graph nothing.
    let (a, b) = (
        Mutex::with_name("adopt-a", ()),
        Mutex::with_name("adopt-b", ()),
    );
    let reports = lockdep::capture(|| {
        std::thread::scope(|s| {
            s.spawn(|| drop((a.lock(), b.lock()))).join().unwrap();
            s.spawn(|| {
                assert!(!lockdep::current_validator().is_process_wide());
                drop((b.lock(), a.lock()))
            })
            .join()
            .unwrap();
        });
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    assert!(!global_has("adopt-a", "adopt-b") && !global_has("adopt-b", "adopt-a"));

    // std::thread::spawn, joined inside: adopted too.
    let (c, d) = (
        std::sync::Arc::new(Mutex::with_name("adopt-c", ())),
        std::sync::Arc::new(Mutex::with_name("adopt-d", ())),
    );
    let reports = lockdep::capture(|| {
        let (c2, d2) = (c.clone(), d.clone());
        std::thread::spawn(move || drop((c2.lock(), d2.lock())))
            .join()
            .unwrap();
        drop((d.lock(), c.lock()));
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(!global_has("adopt-c", "adopt-d"));

    // A named thread is a test harness's (or the user's own): never adopted.
    let (e, f) = (
        Mutex::with_name("adopt-e", ()),
        Mutex::with_name("adopt-f", ()),
    );
    let reports = lockdep::capture(|| {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("named".into())
                .spawn_scoped(s, || {
                    assert!(lockdep::current_validator().is_process_wide());
                    drop((e.lock(), f.lock()))
                })
                .unwrap()
                .join()
                .unwrap();
        });
    });
    assert!(reports.is_empty(), "{reports:?}");
    assert!(global_has("adopt-e", "adopt-f"));

    // A thread that outlives the capture goes back to the process-wide validator: what it does
    // after is in the global graph, not lost in the ended capture.
    let (g, h) = (
        std::sync::Arc::new(Mutex::with_name("adopt-g", ())),
        std::sync::Arc::new(Mutex::with_name("adopt-h", ())),
    );
    let (go, wait) = mpsc::channel::<()>();
    let (started, is_started) = mpsc::channel::<()>();
    let mut worker = None;
    let reports = lockdep::capture(|| {
        let (g2, h2) = (g.clone(), h.clone());
        worker = Some(std::thread::spawn(move || {
            let held = g2.lock(); // adopted here, and still held when the capture ends
            started.send(()).unwrap();
            wait.recv().unwrap();
            drop(held); // released after the capture: not an imbalance
            let in_capture = !lockdep::current_validator().is_process_wide();
            drop((g2.lock(), h2.lock()));
            in_capture
        }));
        is_started.recv().unwrap();
    });
    assert!(reports.is_empty(), "{reports:?}");
    go.send(()).unwrap();
    assert!(
        !worker.unwrap().join().unwrap(),
        "still in the ended capture"
    );
    assert!(global_has("adopt-g", "adopt-h"));

    // Two captures at once: a new thread could be either's, so it joins neither.
    let (i, j) = (
        Mutex::with_name("adopt-i", ()),
        Mutex::with_name("adopt-j", ()),
    );
    let (inside, other_inside) = mpsc::channel::<()>();
    let (done, other_done) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        // The other capture runs on a named thread, as a test's would.
        std::thread::Builder::new()
            .name("other-test".into())
            .spawn_scoped(s, move || {
                lockdep::capture(|| {
                    inside.send(()).unwrap();
                    other_done.recv().unwrap();
                })
            })
            .unwrap();
        other_inside.recv().unwrap();
        let reports = lockdep::capture(|| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    let v: Validator = lockdep::current_validator();
                    assert!(v.is_process_wide());
                    drop((i.lock(), j.lock()))
                })
                .join()
                .unwrap();
            });
        });
        done.send(()).unwrap();
        assert!(reports.is_empty(), "{reports:?}");
    });
    assert!(global_has("adopt-i", "adopt-j"));

    ended_while_in_a_nested_scope();
    two_captures_in_turn_on_one_unnamed_thread();
    #[cfg(feature = "tokio")]
    ended_while_a_task_is_polled();
}

/// The capture ends while its adopted thread is inside another validator's scope: after the
/// scope the thread is back in the process-wide validator.
fn ended_while_in_a_nested_scope() {
    let (g, h) = (
        std::sync::Arc::new(Mutex::with_name("adopt-k", ())),
        std::sync::Arc::new(Mutex::with_name("adopt-l", ())),
    );
    let (go, wait) = mpsc::channel::<()>();
    let (started, is_started) = mpsc::channel::<()>();
    let mut worker = None;
    let reports = lockdep::capture(|| {
        let (g2, h2) = (g.clone(), h.clone());
        worker = Some(std::thread::spawn(move || {
            drop(g2.lock()); // adopted
            let other = Validator::new(lockdep::Config::default());
            other.scope(|| {
                started.send(()).unwrap();
                wait.recv().unwrap();
                drop(h2.lock()); // the capture has ended: noticed inside the scope
            });
            let process_wide = lockdep::current_validator().is_process_wide();
            drop((g2.lock(), h2.lock()));
            process_wide
        }));
        is_started.recv().unwrap();
    });
    assert!(reports.is_empty(), "{reports:?}");
    go.send(()).unwrap();
    assert!(
        worker.unwrap().join().unwrap(),
        "stuck in the ended capture"
    );
    assert!(global_has("adopt-k", "adopt-l"));
}

/// An unnamed thread that runs two captures itself (a custom harness's worker) adopts neither:
/// each is its own scope, and after them its locks are the process-wide validator's.
fn two_captures_in_turn_on_one_unnamed_thread() {
    let worker = std::thread::spawn(|| {
        let (a, b) = (
            Mutex::with_name("adopt-m", ()),
            Mutex::with_name("adopt-n", ()),
        );
        let first = lockdep::capture(|| drop(a.lock()));
        let second = lockdep::capture(|| drop(b.lock()));
        let process_wide = lockdep::current_validator().is_process_wide();
        drop((a.lock(), b.lock()));
        (first.len(), second.len(), process_wide)
    });
    assert_eq!(worker.join().unwrap(), (0, 0, true));
    assert!(global_has("adopt-m", "adopt-n"));
}

/// The capture ends while its adopted thread polls a tracked task: the task keeps its stack,
/// and the thread is back in the process-wide validator once the poll is over.
#[cfg(feature = "tokio")]
fn ended_while_a_task_is_polled() {
    let b = std::sync::Arc::new(Mutex::with_name("adopt-o", ()));
    let (go, wait) = mpsc::channel::<()>();
    let (started, is_started) = mpsc::channel::<()>();
    let mut worker = None;
    let reports = lockdep::capture(|| {
        let b2 = b.clone();
        worker = Some(std::thread::spawn(move || {
            drop(b2.lock()); // adopted
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let a = lockdep::tokio::Mutex::with_name("adopt-async", ());
            let task_kept = rt.block_on(lockdep::tokio::track(async {
                let _a = a.lock().await; // held by the task
                started.send(()).unwrap();
                wait.recv().unwrap();
                drop(b2.lock()); // the capture has ended: noticed while the task is entered
                lockdep::is_held(&a)
            }));
            (task_kept, lockdep::current_validator().is_process_wide())
        }));
        is_started.recv().unwrap();
    });
    assert!(reports.is_empty(), "{reports:?}");
    go.send(()).unwrap();
    assert_eq!(worker.unwrap().join().unwrap(), (true, true));
}
