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
    // Each event is an object (never JSON inside a JSON string), one trace line each.
    let events: Vec<String> = r["replay"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e.is_object(), "{e}");
            e.to_string()
        })
        .collect();
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

#[test]
fn invalid_utf8_is_named_and_names_that_differ_only_there_stay_apart() {
    // Two locks whose names differ only in a byte that is not UTF-8, taken in opposite orders
    // with B: read as U+FFFD both would be one lock, and a false cycle.
    let mut bytes = Vec::new();
    for (thread, first, second) in [("1", &b"A\xff"[..], &b"B"[..]), ("2", b"B", b"A\xfe")] {
        for (op, lock) in [
            ("acquire", first),
            ("acquire", second),
            ("release", second),
            ("release", first),
        ] {
            bytes.extend_from_slice(
                format!("{{\"thread\":{thread},\"op\":\"{op}\",\"lock\":\"").as_bytes(),
            );
            bytes.extend_from_slice(lock);
            bytes.extend_from_slice(b"\"}\n");
        }
    }
    let dir = std::env::temp_dir().join(format!("lockcheck-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad-utf8.jsonl");
    std::fs::write(&path, &bytes).unwrap();
    let path = path.to_string_lossy().to_string();
    let o = lockcheck(&["replay", "--format", "json", &path]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for line in [1, 4, 6, 7] {
        let needle = format!("{path}:{line}: invalid UTF-8 at byte 37");
        assert!(err.contains(&needle), "missing {needle:?} in\n{err}");
    }
    assert!(
        !err.contains("does not hold"),
        "every line was replayed:\n{err}"
    );
    assert!(json_lines(&o).is_empty(), "no cycle: {}", text(&o.stdout));
}

// ----- limits and cost (issue 16) -----

/// `{"thread":T,"op":OP,"lock":L}` lines.
fn ev(thread: &str, op: &str, lock: &str) -> String {
    format!("{{\"thread\":{thread},\"op\":\"{op}\",\"lock\":\"{lock}\"}}\n")
}

/// Thread 1 nests `depth` locks and releases them; then threads 2 and 3 close an A/B cycle:
/// valid from end to end.
fn deep_then_abba(depth: usize) -> String {
    let mut t = String::new();
    for i in 0..depth {
        t += &ev("1", "acquire", &format!("L{i}"));
    }
    for i in (0..depth).rev() {
        t += &ev("1", "release", &format!("L{i}"));
    }
    t += ABBA
        .replace("\"thread\":1", "\"thread\":3")
        .replace("\"thread\":2", "\"thread\":4")
        .as_str();
    t
}

fn lockcheck_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lockcheck"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn depth_limit_is_one_report_and_replay_goes_on() {
    // 200 nested locks: 152 past the default MAX_LOCK_DEPTH (48), then a real cycle.
    let path = trace("deep.jsonl", &deep_then_abba(200));
    let o = lockcheck(&["replay", "--format", "json", &path]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let reports = json_lines(&o);
    let kinds: Vec<&str> = reports
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["limit_exceeded", "circular_dependency"], "{stderr}");
    assert_eq!(
        reports[0]["line"], 49,
        "the 49th acquisition is the first one skipped"
    );
    let why = reports[0]["verdict"]["explanation"].as_str().unwrap();
    assert!(
        why.contains("MAX_LOCK_DEPTH (48)") && why.contains("LOCKDEP_MAX_DEPTH"),
        "{why}"
    );
    assert_eq!(reports[1]["locks"], serde_json::json!(["A", "B"]));
    // One line on stderr: what was skipped and the knob; no "does not hold" cascade.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("MAX_LOCK_DEPTH (48) reached: 152 acquisition(s)"),
        "{stderr}"
    );
    assert!(lines[0].contains("LOCKDEP_MAX_DEPTH=<larger>"), "{stderr}");

    // Raised, nothing is skipped.
    let o = lockcheck_env(
        &["replay", "--format", "json", &path],
        &[("LOCKDEP_MAX_DEPTH", "256")],
    );
    assert_eq!(text(&o.stderr), "");
    let kinds: Vec<String> = json_lines(&o)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["circular_dependency"]);
}

#[test]
fn depth_limit_on_one_thread_does_not_stop_classes_on_another() {
    // Thread 1 overflows, then thread 2 uses 40 classes never seen before, in a cycle.
    let mut t = String::new();
    for i in 0..60 {
        t += &ev("1", "acquire", &format!("deep{i}"));
    }
    for i in 0..40 {
        t += &ev("2", "acquire", &format!("c{i}"));
        t += &ev("2", "acquire", &format!("c{}", (i + 1) % 40));
        t += &ev("2", "release", &format!("c{}", (i + 1) % 40));
        t += &ev("2", "release", &format!("c{i}"));
    }
    for i in (0..60).rev() {
        t += &ev("1", "release", &format!("deep{i}"));
    }
    let path = trace("deep-then-classes.jsonl", &t);
    let o = lockcheck(&["replay", "--format", "json", &path]);
    let stderr = text(&o.stderr);
    assert!(
        !stderr.contains("class limit") && !stderr.contains("does not hold"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert_eq!(reports[1]["kind"], "circular_dependency");
}

#[test]
fn class_limit_skips_only_the_new_classes() {
    // 10 classes allowed: c0..c9 register, c10.. are skipped; the A/B cycle on known classes
    // is still found.
    let mut t = String::new();
    t += &ev("1", "acquire", "A");
    t += &ev("1", "release", "A");
    t += &ev("1", "acquire", "B");
    t += &ev("1", "release", "B");
    for i in 0..30 {
        t += &ev("2", "acquire", &format!("c{i}"));
        t += &ev("2", "release", &format!("c{i}"));
    }
    t += ABBA;
    let path = trace("classes.jsonl", &t);
    let o = lockcheck_env(
        &["replay", "--format", "json", &path],
        &[("LOCKDEP_MAX_CLASSES", "10")],
    );
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let kinds: Vec<String> = json_lines(&o)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["limit_exceeded", "circular_dependency"], "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("MAX_LOCKDEP_KEYS (10) reached: 22 acquisition(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("LOCKDEP_MAX_CLASSES"), "{stderr}");
}

#[test]
fn chain_and_dependency_limits_do_not_stop_validation() {
    // Many distinct chains and dependencies, then a cycle over dependencies recorded first.
    let mut t = String::new();
    t += ABBA
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .as_str();
    for i in 0..50 {
        t += &ev("5", "acquire", &format!("x{i}"));
        t += &ev("5", "acquire", &format!("y{i}"));
        t += &ev("5", "release", &format!("y{i}"));
        t += &ev("5", "release", &format!("x{i}"));
    }
    t += &ev("2", "acquire", "B");
    t += &ev("2", "acquire", "A");
    let path = trace("chains.jsonl", &t);
    for (var, name) in [
        ("LOCKDEP_MAX_CHAINS", "MAX_LOCKDEP_CHAINS (8)"),
        ("LOCKDEP_MAX_EDGES", "MAX_LOCKDEP_ENTRIES (8)"),
    ] {
        let o = lockcheck_env(&["replay", "--format", "json", &path], &[(var, "8")]);
        let stderr = text(&o.stderr);
        let kinds: Vec<String> = json_lines(&o)
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            ["limit_exceeded", "circular_dependency"],
            "{var}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(var), "{stderr}");
    }
}

#[test]
fn ended_threads_keep_no_state() {
    use lockdep::replay::{ClassRefinement, Replayer};
    let mut r = Replayer::new(lockdep::Config::default(), ClassRefinement::default());
    for t in 0..5000 {
        let mut e =
            lockdep::trace::TraceEvent::new(t.to_string(), lockdep::trace::TraceOp::Acquire, "A");
        e.thread_name = Some(format!("worker {t}"));
        r.apply(&e).unwrap();
        r.apply(&lockdep::trace::TraceEvent::new(
            t.to_string(),
            lockdep::trace::TraceOp::Acquire,
            format!("0x{:x}", 0x1000 + t),
        ))
        .unwrap();
        assert_eq!(r.live_threads(), 1);
        r.apply(&lockdep::trace::TraceEvent::new(
            t.to_string(),
            lockdep::trace::TraceOp::Release,
            format!("0x{:x}", 0x1000 + t),
        ))
        .unwrap();
        r.apply(&lockdep::trace::TraceEvent::new(
            t.to_string(),
            lockdep::trace::TraceOp::Release,
            "A",
        ))
        .unwrap();
        assert_eq!(r.live_threads(), 0);
    }
    // A thread that comes back keeps its name: thread 7 takes A then B, thread 9 B then A; the
    // dependency A -> B was first seen in "worker 7".
    let b = |t: &str, op, l: &str| lockdep::trace::TraceEvent::new(t, op, l);
    use lockdep::trace::TraceOp::{Acquire, Release};
    let mut reports = Vec::new();
    for e in [
        b("7", Acquire, "A"),
        b("7", Acquire, "B"),
        b("7", Release, "B"),
        b("7", Release, "A"),
        b("9", Acquire, "B"),
        b("9", Acquire, "A"),
    ] {
        reports.extend(r.apply(&e).unwrap());
    }
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0]
            .chain
            .iter()
            .any(|c| &*c.first_seen.thread == "worker 7"),
        "{:#?}",
        reports[0]
    );
}

#[test]
fn skipped_acquisitions_may_be_released_in_any_order() {
    // 60 nested locks (12 past the limit), the same lock twice among them, released first to
    // last: no error, nothing left over.
    let mut t = String::new();
    let locks: Vec<String> = (0..60)
        .map(|i| {
            if i == 59 {
                "L55".to_string()
            } else {
                format!("L{i}")
            }
        })
        .collect();
    for l in &locks {
        t += &ev("1", "acquire", l);
    }
    for l in &locks {
        t += &ev("1", "release", l);
    }
    t += &ev("1", "acquire", "after");
    t += &ev("1", "release", "after");
    let path = trace("fifo.jsonl", &t);
    let o = lockcheck(&["replay", &path]);
    let stderr = text(&o.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("12 acquisition(s)"), "{stderr}");
    assert_eq!(o.status.code(), Some(1), "one limit report");
}

/// A process killed while writing leaves a torn last record: what came before replays, and one
/// error line says the trace ends inside a record.
#[test]
fn a_torn_last_record_is_one_error_after_a_full_replay() {
    let torn = format!("{ABBA}{{\"thread\":2,\"op\":\"rel");
    let path = trace("torn.jsonl", &torn);
    let o = lockcheck(&["replay", &path]);
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("torn.jsonl:7: the trace ends inside a record"),
        "{err}"
    );
    assert!(text(&o.stdout).contains("circular_dependency"));
    assert_eq!(o.status.code(), Some(2));
}

/// A trace starts with a header naming its format; a newer format than this reader knows is
/// refused with a version error (and the file skipped), a header-less trace is format 1.
#[test]
fn a_newer_trace_format_is_refused_by_version() {
    let newer = format!("{{\"op\":\"trace\",\"format\":99,\"writer\":\"lockdep 9\"}}\n{ABBA}");
    let o = lockcheck(&["replay", &trace("newer.jsonl", &newer)]);
    let err = text(&o.stderr);
    assert!(
        err.contains("newer.jsonl:1: field `format`: trace format 99 is newer"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!text(&o.stdout).contains("circular_dependency"));
    assert_eq!(o.status.code(), Some(2));
    let current = format!("{{\"op\":\"trace\",\"format\":1,\"writer\":\"lockdep 0.1.0\"}}\n{ABBA}");
    let o = lockcheck(&["replay", &trace("current.jsonl", &current)]);
    assert_eq!(text(&o.stderr), "");
    assert_eq!(o.status.code(), Some(1));
}
