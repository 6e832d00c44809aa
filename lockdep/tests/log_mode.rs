//! `LOCKDEP_ON_REPORT=log` reaches the terminal under libtest's output capture, and is printed
//! once when a `tracing` subscriber takes the report events.
//!
//! Each check runs this test binary again as a child (one test, libtest capturing its output as
//! in a normal `cargo test`) and reads the child's stderr.

#![cfg(not(lockdep_off))]

use std::process::Command;

const CHILD: &str = "LOCKDEP_LOG_MODE_CHILD";

fn abba() {
    let a = lockdep::Mutex::with_name("log-mode-a", ());
    let b = lockdep::Mutex::with_name("log-mode-b", ());
    drop((a.lock(), b.lock()));
    drop((b.lock(), a.lock()));
}

/// The child: a passing test whose output libtest captures (and drops, since it passes).
#[test]
fn child_reports_in_log_mode() {
    match std::env::var(CHILD).as_deref() {
        Ok("plain") => abba(),
        Ok("tracing") => {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .finish();
            tracing::subscriber::with_default(subscriber, abba);
        }
        _ => {}
    }
}

fn run_child(mode: &str) -> String {
    run_child_on_report(mode, "log")
}

fn run_child_on_report(mode: &str, on_report: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reports_in_log_mode", "--test-threads=1"])
        .env(CHILD, mode)
        .env("LOCKDEP_ON_REPORT", on_report)
        .env_remove("LOCKDEP")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_logged_report_is_not_swallowed_by_libtest_capture() {
    let stderr = run_child("plain");
    assert_eq!(
        stderr
            .matches("WARNING: possible circular locking dependency detected")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("log-mode-a"), "{stderr}");
}

#[test]
fn a_tracing_subscriber_gets_the_report_once() {
    let stderr = run_child("tracing");
    assert_eq!(
        stderr
            .matches("WARNING: possible circular locking dependency detected")
            .count(),
        1,
        "{stderr}"
    );
}

/// `collect` set by hand keeps reports where only `global().take_reports()` looks: the run
/// says so once instead of looking clean (a new user's trial).
#[test]
fn collect_mode_from_the_environment_says_where_reports_go() {
    let stderr = run_child_on_report("plain", "collect");
    assert!(
        !stderr.contains("WARNING: possible circular locking dependency detected"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .matches("LOCKDEP_ON_REPORT=collect: reports are kept")
            .count(),
        1,
        "{stderr}"
    );
}
