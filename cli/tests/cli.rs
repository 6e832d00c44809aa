//! End-to-end tests of the `lockcheck` binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};

mod common;
use common::{lockcheck, stdout};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/logs")
        .join(name)
        .to_string_lossy()
        .to_string()
}

const SEED: &str = "seed-003-pidmap-seqcount.log";

#[test]
fn seed_text_summary_and_exit_1() {
    let o = lockcheck(&["parse", &fixture(SEED)], None);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert!(
        s.contains("circular_dependency: possible deadlock in alloc_pid"),
        "{s}"
    );
    assert!(
        s.contains("cycle: pidmap_lock -> &s->seqcount#2 -> pidmap_lock"),
        "{s}"
    );
    assert!(
        s.contains("likely_false_positive [class-conflation]"),
        "{s}"
    );
}

#[test]
fn no_report_exits_0() {
    let o = lockcheck(
        &["parse", "-"],
        Some(b"[    0.000000] Linux version 6.1\nhello\n"),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).is_empty());
}

#[test]
fn stdin_is_read() {
    let data = std::fs::read(fixture(SEED)).unwrap();
    let o = lockcheck(&["parse", "--format", "json", "-"], Some(&data));
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(v["source"], "-");
}

#[test]
fn missing_file_exits_2_and_other_inputs_are_processed() {
    let o = lockcheck(&["parse", "/nonexistent/dmesg.log", &fixture(SEED)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/dmesg.log"), "{err}");
    assert!(stdout(&o).contains("possible deadlock in alloc_pid"));
}

#[test]
fn directory_input_reads_every_file_below_it() {
    let dir = fixture("");
    let o = lockcheck(&["parse", "--summary", "--format", "json", &dir], None);
    let out = stdout(&o);
    // Every fixture log is read, each report names its file.
    assert!(out.contains("seed-003-pidmap-seqcount.log:"), "{out}");
    assert!(
        out.contains("010-recursive-rxrpc-email-flowed-wrap.log:"),
        "{out}"
    );
}

#[test]
fn json_lines_have_the_stable_fields() {
    let o = lockcheck(
        &[
            "parse",
            "--format",
            "json",
            &fixture(SEED),
            &fixture("009-rcu-illegal-context-switch-then-sleeping.log"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), 3);
    for v in &lines {
        for field in [
            "source",
            "line",
            "kind",
            "title",
            "locks",
            "verdict",
            "truncated",
        ] {
            assert!(v.get(field).is_some(), "missing {field} in {v}");
        }
        for field in ["label", "rule", "explanation"] {
            assert!(v["verdict"].get(field).is_some());
        }
    }
    assert_eq!(lines[0]["kind"], "circular_dependency");
    assert_eq!(
        lines[0]["locks"],
        serde_json::json!(["pidmap_lock", "&s->seqcount#2"])
    );
    assert_eq!(lines[1]["kind"], "suspicious_rcu_usage");
    assert_eq!(lines[2]["kind"], "sleeping_in_atomic");
    assert_eq!(lines[2]["line"], 64);
}

#[test]
fn dot_draws_the_cycle() {
    let o = lockcheck(&["parse", "--format", "dot", &fixture(SEED)], None);
    let s = stdout(&o);
    assert!(s.starts_with("digraph lockdep {"), "{s}");
    assert!(
        s.contains("\"r1:pidmap_lock\" -> \"r1:&s->seqcount#2\""),
        "{s}"
    );
    assert!(
        s.contains("\"r1:&s->seqcount#2\" -> \"r1:pidmap_lock\""),
        "{s}"
    );
    assert!(s.contains("color=red"));
    // The closing edge is labelled with the code that took the lock, not lockdep's own.
    assert!(!s.contains("check_prev_add"), "{s}");
    assert!(s.trim_end().ends_with('}'));
}

/// A log with several reports is one DOT graph (a cluster per report), so `| dot -Tsvg` works.
#[test]
fn dot_of_several_reports_is_one_graph() {
    let logs = fixture("");
    let o = lockcheck(&["parse", "--format", "dot", &logs], None);
    let s = stdout(&o);
    assert_eq!(s.matches("digraph").count(), 1, "{s}");
    assert!(s.matches("subgraph cluster_").count() > 10);
    assert_eq!(
        s.matches('{').count(),
        s.matches('}').count(),
        "unbalanced braces"
    );
    assert!(!s.contains("check_prev_add"));
    let empty = lockcheck(&["parse", "--format", "dot"], Some(b"no report here\n"));
    assert_eq!(stdout(&empty).matches("digraph").count(), 1);
}

#[test]
fn summary_groups_by_title() {
    let seed = fixture(SEED);
    let o = lockcheck(
        &[
            "parse",
            "--summary",
            &seed,
            &seed,
            &fixture("xform-crlf-seed-003.log"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert!(s.starts_with("3 report(s), 1 distinct title(s)"), "{s}");
    assert!(s.contains("    3  possible deadlock in alloc_pid"), "{s}");
    let o = lockcheck(&["parse", "--summary", "--format", "json", &seed], None);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["count"], 1);
}

#[test]
fn verbose_prints_everything() {
    let o = lockcheck(&["parse", "--verbose", &fixture(SEED)], None);
    let s = stdout(&o);
    for needle in [
        "dependency chain (in reverse order):",
        "__exit_signal (kernel/exit.c:147) [inline]",
        "2 locks held by runc:[1:CHILD]/7867:",
        "stack backtrace:",
        "scenario:",
        "evidence:",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
}

#[test]
fn non_utf8_and_crlf_input_is_tolerated() {
    let mut data = b"\xff\xfe garbage\r\n".to_vec();
    data.extend(std::fs::read(fixture(SEED)).unwrap().iter().flat_map(|&b| {
        if b == b'\n' {
            vec![b'\r', b'\n']
        } else {
            vec![b]
        }
    }));
    let o = lockcheck(&["parse", "-"], Some(&data));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("possible deadlock in alloc_pid"));
}

#[test]
fn broken_pipe_is_quiet() {
    let seed = fixture(SEED);
    let args: Vec<&str> = std::iter::once("parse")
        .chain(std::iter::repeat_n(seed.as_str(), 200))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&o.stderr).is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The layout printed by this workspace's `lockdep` crate (user-space differences:
/// Rust source locations, `lockdep X (rust)` ident, `worker-1/3` tasks).
const USERSPACE: &str = "
======================================================
WARNING: possible circular locking dependency detected
lockdep 0.1.0 (rust) Not tainted
------------------------------------------------------
worker-1/3 is trying to acquire lock:
00005581e2a4c0a8 (src/main.rs:12:19){+.+.}-{4:4}, at: src/main.rs:30:9

but task is already holding lock:
00005581e2a4c0f0 (config_lock){+.+.}-{4:4}, at: src/main.rs:29:9

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (config_lock){+.+.}-{4:4}:
       src/main.rs:21:9 (acquired in thread 'main')
       src/main.rs:20:9 (holding src/main.rs:12:19)

-> #0 (src/main.rs:12:19){+.+.}-{4:4}:
       src/main.rs:30:9 (acquired in thread 'worker-1')

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(config_lock);
                               lock(src/main.rs:12:19);
                               lock(config_lock);
  lock(src/main.rs:12:19);

 *** DEADLOCK ***

1 lock held by worker-1/3:
 #0: 00005581e2a4c0f0 (config_lock){+.+.}-{4:4}, at: src/main.rs:29:9

stack backtrace:
thread: worker-1/3 (lockdep 0.1.0)
   0: demo::worker
             at ./src/main.rs:30:9
   1: std::sys::backtrace::__rust_begin_short_backtrace
";

#[test]
fn userspace_lockdep_report_is_accepted() {
    let o = lockcheck(
        &["parse", "--format", "json", "-"],
        Some(USERSPACE.as_bytes()),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(v["kind"], "circular_dependency");
    assert_eq!(v["truncated"], false, "{v}");
    assert_eq!(v["task"]["comm"], "worker-1");
    assert_eq!(v["kernel"]["release"], "lockdep");
    assert_eq!(v["acquiring"]["class"], "src/main.rs:12:19");
    assert_eq!(v["acquiring"]["at"]["file"], "src/main.rs");
    assert_eq!(v["acquiring"]["at"]["line"], 30);
    assert_eq!(v["chain"][0]["frames"][0]["thread"], "main");
    assert_eq!(
        v["locks"],
        serde_json::json!(["config_lock", "src/main.rs:12:19"])
    );
    assert_eq!(v["backtrace"][0]["function"], "demo::worker");
    assert_eq!(v["backtrace"][0]["file"], "src/main.rs");
    assert!(
        !v["title"].as_str().unwrap().ends_with("corrupted"),
        "{}",
        v["title"]
    );
}

/// A bad-unlock report names the lock being released, not an acquisition.
#[test]
fn bad_unlock_says_releasing() {
    let o = lockcheck(
        &[
            "parse",
            &fixture("025-bad-unlock-rwsem-new-warning-format.log"),
        ],
        None,
    );
    let s = stdout(&o);
    assert!(s.contains("    releasing (&vma_lock->rw_sema)"), "{s}");
    assert!(!s.contains("acquiring"), "{s}");
}
