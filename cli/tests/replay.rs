//! End-to-end tests of `lockcheck replay`: traces, merged runs, class refinements, bad input and
//! kernel splats.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Writes `content` to a fresh temp file named after the test and returns its path.
fn trace(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("lockcheck-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().to_string()
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

const ABBA: &str = r#"{"thread":1,"op":"acquire","lock":"A"}
{"thread":1,"op":"acquire","lock":"B"}
{"thread":1,"op":"release","lock":"B"}
{"thread":1,"op":"release","lock":"A"}
{"thread":2,"op":"acquire","lock":"B"}
{"thread":2,"op":"acquire","lock":"A"}
"#;

#[test]
fn the_issue_example_gives_one_circular_dependency() {
    let path = trace("abba.jsonl", ABBA);
    let o = lockcheck(&["replay", "--format", "json", &path]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["kind"], "circular_dependency");
    assert_eq!(r["line"], 6);
    assert_eq!(r["source"], path.as_str());
    assert_eq!(r["locks"], serde_json::json!(["A", "B"]));
    assert_eq!(r["verdict"]["label"], "likely_genuine");
    assert_eq!(r["truncated"], false);
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("possible circular locking dependency detected")
    );

    let o = lockcheck(&["replay", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains(":6: circular_dependency"));
}

#[test]
fn merged_runs_find_cross_run_cycles() {
    let a = trace(
        "run-a.jsonl",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"A\"}\n",
    );
    let b = trace(
        "run-b.jsonl",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"B\"}\n",
    );
    assert_eq!(lockcheck(&["replay", &a]).status.code(), Some(0));
    assert_eq!(lockcheck(&["replay", &b]).status.code(), Some(0));
    let o = lockcheck(&["replay", "--format", "json", &a, &b]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["source"], b.as_str());
    assert_eq!(reports[0]["line"], 2);
}

#[test]
fn class_refinements_test_hypotheses() {
    // Two buckets of one class nested: recursive locking, unless the class is split.
    let t = trace(
        "buckets.jsonl",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"b1\",\"class\":\"bucket\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"b2\",\"class\":\"bucket\"}\n",
    );
    let o = lockcheck(&["replay", "--format", "json", &t]);
    assert_eq!(json_lines(&o)[0]["kind"], "recursive_locking");
    let o = lockcheck(&["replay", "--split-class", "bucket", &t]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = lockcheck(&["replay", "--class-of", "b2=other", &t]);
    assert_eq!(o.status.code(), Some(0));
    // A and C are unrelated classes; merged, A -> B and B -> C close a cycle.
    let m = trace(
        "merge.jsonl",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"A\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"C\"}\n",
    );
    assert_eq!(lockcheck(&["replay", &m]).status.code(), Some(0));
    let o = lockcheck(&["replay", "--format", "json", "--merge-class", "C=A", &m]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_lines(&o)[0]["kind"], "circular_dependency");
    // A malformed pair is a usage error.
    let o = lockcheck(&["replay", "--merge-class", "nonsense", &m]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn malformed_lines_are_named_and_skipped() {
    let bad = format!(
        "{}{}{}{}{}{}{}",
        "not json\n",
        "{\"op\":\"acquire\",\"lock\":\"A\"}\n",
        "{\"thread\":1,\"op\":\"acquire\"}\n",
        "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\",\"mode\":\"shared\"}\n",
        "{\"thread\":1,\"op\":\"release\",\"lock\":\"Z\"}\n",
        "{\"thread\":1,\"op\":\"teleport\",\"lock\":\"A\"}\n",
        ABBA,
    );
    let path = trace("bad.jsonl", &bad);
    let o = lockcheck(&["replay", "--format", "json", &path]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    for needle in [
        format!("{path}:1: not valid JSON"),
        format!("{path}:2: field `thread`: missing"),
        format!("{path}:3: field `lock`: missing"),
        format!("{path}:4: field `mode`: unknown mode \"shared\""),
        format!("{path}:5: field `lock`: thread 1 releases \"Z\", which it does not hold"),
        "skipped 1 record(s)".to_string(),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in\n{err}");
    }
    // Replay went on with the rest.
    assert_eq!(json_lines(&o).len(), 1);
}

#[test]
fn missing_files_are_named_and_the_rest_still_replays() {
    let path = trace("ok.jsonl", ABBA);
    let o = lockcheck(&["replay", "/nonexistent/trace.jsonl", &path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent/trace.jsonl: no such file"));
    assert!(text(&o.stdout).contains("circular_dependency"));
}

#[test]
fn stdin_is_a_trace_too() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["replay", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ABBA.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("-:6: circular_dependency"));
}

#[test]
fn seed_splat_reappears_as_seen_and_goes_away_when_split() {
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/logs/seed-003-pidmap-seqcount.log");
    let o = lockcheck(&["replay", "--format", "json", seed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["title"], "possible deadlock in alloc_pid");
    assert_eq!(r["replay"]["as_seen"]["cycle"], true);
    let seen = &r["replay"]["as_seen"]["reports"][0];
    assert_eq!(seen["kind"], "circular_dependency");
    let mut locks: Vec<String> = serde_json::from_value(seen["locks"].clone()).unwrap();
    locks.sort();
    assert_eq!(locks, vec!["&s->seqcount#2", "pidmap_lock"]);
    assert_eq!(r["replay"]["split"]["cycle"], false);
    assert_eq!(
        r["replay"]["split"]["split"],
        serde_json::json!(["&s->seqcount#2"])
    );
    assert_eq!(r["verdict"]["label"], "likely_false_positive");
    let why = r["verdict"]["explanation"].as_str().unwrap();
    assert!(
        why.contains("`__exit_signal` (held)")
            && why.contains("`read_mems_allowed_begin` (acquired)"),
        "{why}"
    );
    // The reconstructed events are a valid trace that replays to the same cycle.
    let events: Vec<String> = serde_json::from_value(r["replay"]["events"].clone()).unwrap();
    let path = trace("seed-events.jsonl", &(events.join("\n") + "\n"));
    let o = lockcheck(&["replay", "--format", "json", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_lines(&o)[0]["kind"], "circular_dependency");
}

#[test]
fn a_log_without_cycles_says_so() {
    let log = trace(
        "quiet.log",
        "[    0.000000] Linux version 6.1.0\n[    1.000000] nothing to see\n",
    );
    let o = lockcheck(&["replay", &log]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("no circular-dependency report to replay"));
}

#[test]
fn an_overlong_line_is_an_error_and_the_rest_replays() {
    let long = format!(
        "{{\"thread\":1,\"op\":\"acquire\",\"lock\":\"{}\"}}\n",
        "x".repeat(2 << 20)
    );
    let path = trace("long.jsonl", &(long + ABBA));
    let o = lockcheck(&["replay", "--format", "json", &path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(":1: line longer than"),
        "{}",
        text(&o.stderr)
    );
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["line"], 7);
}
