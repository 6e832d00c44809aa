//! End-to-end tests of `lockcheck graph`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .output()
        .unwrap()
}

fn root(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .to_string_lossy()
        .to_string()
}

fn temp_trace(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("lockcheck-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().to_string()
}

const ABBA: &str = "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"A\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"A\"}\n";

#[test]
fn svg_of_a_trace_is_a_standalone_picture_with_the_cycle_highlighted() {
    let t = temp_trace("abba.jsonl", ABBA);
    let o = lockcheck(&["graph", &t]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a drawn cycle exits 1: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let svg = String::from_utf8(o.stdout).unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(">A<") && svg.contains(">B<"));
    assert!(svg.contains("cycle dependency"));
}

#[test]
fn dot_of_the_seed_splat_shows_both_edges_with_their_sites() {
    let o = lockcheck(&[
        "graph",
        "--format",
        "dot",
        &root("fixtures/logs/seed-003-pidmap-seqcount.log"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let dot = String::from_utf8(o.stdout).unwrap();
    assert!(dot.contains("digraph lockcheck"));
    assert!(dot.contains("free_pid"), "{dot}");
    assert!(dot.contains("read_mems_allowed_begin"), "{dot}");
    assert_eq!(dot.matches(" -> n").count(), 2, "{dot}");
}

#[test]
fn traces_and_logs_merge_into_one_picture_and_errors_exit_2() {
    let t = temp_trace("abba2.jsonl", ABBA);
    let seed = root("fixtures/logs/seed-003-pidmap-seqcount.log");
    let o = lockcheck(&[
        "graph",
        "--format",
        "dot",
        "--all",
        &t,
        &seed,
        "/nonexistent.log",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent.log: no such file"));
    let dot = String::from_utf8(o.stdout).unwrap();
    assert!(
        dot.contains("pidmap_lock") && dot.contains("label=\"A"),
        "{dot}"
    );
}

/// `graph` on a file that cannot be read draws nothing (an empty picture would look clean) and
/// exits 2; a picture without a cycle exits 0.
#[test]
fn a_missing_input_draws_nothing_and_no_cycle_exits_0() {
    let o = lockcheck(&["graph", "/nonexistent/trace.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let t = temp_trace(
        "ab.jsonl",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n",
    );
    assert_eq!(lockcheck(&["graph", &t]).status.code(), Some(0));
}
