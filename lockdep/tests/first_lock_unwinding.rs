//! The process's first lock taken in a destructor while a panic unwinds: lockdep's process-wide
//! setup then installs its panic hooks (`LOCKDEP_GRAPH`, `LOCKDEP_TRACE`), which std forbids on
//! a panicking thread; a second panic there aborted the process. In a child process, so that
//! the first lock is really the first (the harness runs this file's tests in one process).
#![cfg(not(lockdep_off))]

use std::process::Command;

const CHILD: &str = "FIRST_LOCK_UNWINDING_CHILD";
const HOOK_CHILD: &str = "FIRST_LOCK_IN_A_PANIC_HOOK_CHILD";

#[test]
fn graph_and_trace_set_up_by_a_lock_in_a_destructor_while_unwinding() {
    if std::env::var_os(CHILD).is_some() || std::env::var_os(HOOK_CHILD).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "lockdep-first-lock-unwinding-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (graph, trace) = (dir.join("graph.json"), dir.join("trace.jsonl"));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("LOCKDEP_GRAPH", &graph)
        .env("LOCKDEP_TRACE", &trace)
        .env("LOCKDEP_ON_REPORT", "log")
        .env_remove("LOCKDEP")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    let graph_text = std::fs::read_to_string(&graph).unwrap();
    assert!(graph_text.contains("after-unwinding"), "{graph_text}");
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.contains("after-unwinding"), "{trace_text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    struct LocksOnDrop;
    impl Drop for LocksOnDrop {
        fn drop(&mut self) {
            let m = lockdep::Mutex::with_name("in-drop", 0);
            *m.lock() += 1;
        }
    }
    let caught = std::panic::catch_unwind(|| {
        let _d = LocksOnDrop;
        panic!("the test's own panic");
    });
    assert!(caught.is_err());
    // The hooks are in place once the unwinding thread is done: a later panic flushes the trace.
    let (a, b) = (
        lockdep::Mutex::with_name("after-unwinding", 0),
        lockdep::Mutex::with_name("after-unwinding-inner", 0),
    );
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = a.lock();
        let _h = b.lock();
        panic!("a second panic, with the hooks installed");
    }));
}

/// The process's first lock taken inside a panic hook (std holds the hook's lock meanwhile):
/// installing lockdep's own hook then must not wait for that lock.
#[test]
fn set_up_by_a_lock_inside_a_panic_hook() {
    if std::env::var_os(CHILD).is_some() || std::env::var_os(HOOK_CHILD).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lockdep-first-lock-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hook_child", "--nocapture", "--test-threads=1"])
        .env(HOOK_CHILD, "1")
        .env("LOCKDEP_GRAPH", dir.join("graph.json"))
        .env("LOCKDEP_ON_REPORT", "log")
        .env_remove("LOCKDEP")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.is_some_and(|s| s.success()),
        "the child hung or failed: {status:?}"
    );
}

#[test]
fn hook_child() {
    if std::env::var_os(HOOK_CHILD).is_none() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let m = lockdep::Mutex::with_name("in-hook", 0);
        *m.lock() += 1;
        previous(info);
    }));
    let caught = std::panic::catch_unwind(|| panic!("the test's own panic"));
    assert!(caught.is_err());
}
