//! A program recording with `LOCKDEP_TRACE` leaves a complete, valid trace whether it ends
//! normally or by panicking. The test re-runs this binary as a child (its `#[ignore]`d workload)
//! so the process-wide validator and the exit paths are the real ones.

use std::process::Command;

use lockdep::Mutex;

/// The child: an ABBA across two threads on the process-wide validator, then an exit chosen by
/// `LOCKDEP_TEST_EXIT` (`normal` or `panic`).
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_workload() {
    let a = std::sync::Arc::new(Mutex::with_name("exit_a", ()));
    let b = std::sync::Arc::new(Mutex::with_name("exit_b", ()));
    let (a2, b2) = (a.clone(), b.clone());
    std::thread::spawn(move || drop((a2.lock(), b2.lock())))
        .join()
        .unwrap();
    let _b = b.lock();
    let _a = a.lock();
    if std::env::var("LOCKDEP_TEST_EXIT").as_deref() == Ok("panic") {
        panic!("the child ends by panicking");
    }
}

fn run_child(exit: &str) -> (std::process::Output, String) {
    let path =
        std::env::temp_dir().join(format!("lockdep-exit-{exit}-{}.jsonl", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_workload",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LOCKDEP_TRACE", &path)
        .env("LOCKDEP_ON_REPORT", "log")
        .env("LOCKDEP_TEST_EXIT", exit)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::remove_file(&path).ok();
    (out, text)
}

fn check_complete(text: &str) {
    assert!(text.ends_with('\n'), "every line whole");
    let events: Vec<lockdep::trace::TraceEvent> = text
        .lines()
        .map(|l| {
            lockdep::trace::parse_line(l)
                .unwrap_or_else(|e| panic!("{e}: {l}"))
                .unwrap()
        })
        .collect();
    let acquires = events
        .iter()
        .filter(|e| e.op == lockdep::trace::TraceOp::Acquire)
        .count();
    // Two in the spawned thread, two in the test thread.
    assert_eq!(acquires, 4, "{text}");
    // The trace replays to the cycle the child reported.
    let mut r = lockdep::replay::Replayer::new(lockdep::Config::default(), Default::default());
    let reports: Vec<_> = events.iter().flat_map(|e| r.apply(e).unwrap()).collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), lockdep::ReportKind::CircularDependency);
}

#[test]
fn a_normal_exit_leaves_a_complete_trace() {
    let (out, text) = run_child("normal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible circular locking dependency"));
    check_complete(&text);
}

#[test]
fn a_panic_leaves_a_complete_trace() {
    let (out, text) = run_child("panic");
    assert!(!out.status.success());
    check_complete(&text);
}
