//! End-to-end tests of what a first-hour user met: messages, hints and the docs they rely on.

mod common;

use std::path::{Path, PathBuf};

use common::{lockcheck, stderr, stdout};

const ABBA: &str = "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n{\"thread\":1,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"B\"}\n{\"thread\":1,\"op\":\"release\",\"lock\":\"A\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"B\"}\n{\"thread\":2,\"op\":\"acquire\",\"lock\":\"A\"}\n";

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// A fresh directory of this test's own.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockcheck-newuser-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn graph_md_states_the_default_title_the_tool_draws() {
    let doc = std::fs::read_to_string(root("docs/graph.md")).unwrap();
    let start = doc
        .find("// default: \"")
        .expect("graph.md gives the default title")
        + 13;
    let quoted = &doc[start..start + doc[start..].find('"').unwrap()];
    let dir = scratch("title");
    let t = write(&dir, "abba.jsonl", ABBA);
    let o = lockcheck(&["graph", "--format", "dot", &t], None);
    let expected = quoted.replace("<source>", &t);
    assert!(
        stdout(&o).contains(&expected),
        "{expected:?} not in {}",
        stdout(&o)
    );
    let _ = stderr(&o);
}

/// Runs `lockcheck ARGS` with a terminal as standard input (through `script`), or `None` where
/// there is no `script` to make one.
fn on_a_terminal(args: &str) -> Option<String> {
    let cmd = format!("{} {args} 2>&1", env!("CARGO_BIN_EXE_lockcheck"));
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn replay_with_no_input_asks_for_traces_too() {
    let Some(text) = on_a_terminal("replay") else {
        eprintln!("no `script` here: skipped");
        return;
    };
    assert!(text.contains("no input: name lock traces"), "{text}");
    let Some(text) = on_a_terminal("parse") else {
        return;
    };
    assert!(text.contains("no input: name log files"), "{text}");
}

#[test]
fn output_into_a_missing_directory_names_the_directory() {
    let dir = scratch("nodir");
    let t = write(&dir, "abba.jsonl", ABBA);
    let target = dir.join("missing").join("x.txt");
    let o = lockcheck(&["replay", &t, "-o", &target.to_string_lossy()], None);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "no such directory: {}",
            dir.join("missing").display()
        )),
        "{e}"
    );
}

/// A graph file of one process that took `from` then `to` in test `test`.
fn graph_file(pid: u32, test: &str, from: &str, to: &str) -> String {
    format!(
        "{{\"format\":\"lockdep-graph\",\"version\":1,\"writer\":\"lockdep 0.1.0\",\"pid\":{pid},\"exe\":\"t-{pid}\",\"classes\":2,\"dependencies\":1}}\n\
         {{\"class\":0,\"name\":\"{from}\",\"kind\":\"mutex\",\"at\":\"src/lib.rs:1:1\"}}\n\
         {{\"class\":1,\"name\":\"{to}\",\"kind\":\"mutex\",\"at\":\"src/lib.rs:2:1\"}}\n\
         {{\"dep\":[0,1],\"types\":\"EN\",\"from_at\":\"tests/t.rs:2:1\",\"to_at\":\"tests/t.rs:3:1\",\"thread\":\"{test}\",\"test\":\"{test}\"}}\n\
         {{\"end\":\"lockdep-graph\",\"classes\":2,\"dependencies\":1}}\n"
    )
}

/// Runs `lockcheck args` in `dir`.
fn lockcheck_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn check_of_a_relative_dir_that_cargo_scattered_over_the_crates_says_where_the_files_went() {
    // What `LOCKDEP_GRAPH=target/lockdep/ cargo test --workspace` leaves in a workspace.
    let ws = scratch("scattered");
    for (krate, pid, test, from, to) in [
        ("suite_a", 11, "a_then_b", "suite.A", "suite.B"),
        ("suite_b", 12, "b_then_a", "suite.B", "suite.A"),
    ] {
        let dir = ws.join(krate).join("target/lockdep");
        std::fs::create_dir_all(&dir).unwrap();
        write(
            &dir,
            &format!("t-{pid}.lockdep-graph.jsonl"),
            &graph_file(pid, test, from, to),
        );
    }
    let o = lockcheck_in(&ws, &["check", "target/lockdep/"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("target/lockdep/: no such file"), "{e}");
    assert!(
        e.contains("suite_a/target/lockdep, suite_b/target/lockdep (not read)"),
        "{e}"
    );
    let absolute = format!("LOCKDEP_GRAPH={}/", ws.join("target/lockdep").display());
    assert!(e.contains("probably ran without LOCKDEP_GRAPH"), "{e}");
    assert!(e.contains(&absolute), "{e}");

    // An empty directory: the same hint, no note.
    std::fs::create_dir_all(ws.join("empty")).unwrap();
    let o = lockcheck_in(&ws, &["check", "empty"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("probably ran without LOCKDEP_GRAPH"), "{e}");
    assert!(
        e.contains(&format!("LOCKDEP_GRAPH={}/", ws.join("empty").display())),
        "{e}"
    );
    assert!(!e.contains("not read"), "{e}");

    // The directories named: the cross-crate cycle.
    let o = lockcheck_in(
        &ws,
        &["check", "suite_a/target/lockdep", "suite_b/target/lockdep"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hint"));
}

#[test]
fn reports_and_errors_name_threads_and_locks_as_the_trace_does() {
    let dir = scratch("names");
    let abba = write(&dir, "abba.jsonl", ABBA);
    let bad = write(
        &dir,
        "bad.jsonl",
        "{\"thread\":1,\"op\":\"release\",\"lock\":\"Z\"}\n",
    );
    // One input: the same names in `check` as in `replay`.
    for sub in ["replay", "check"] {
        let o = lockcheck(&[sub, &abba], None);
        let text = stdout(&o);
        assert!(
            text.contains("thread-2/2 is trying to acquire lock"),
            "{sub}: {text}"
        );
        assert!(
            text.contains("acquired in thread 'thread-1'"),
            "{sub}: {text}"
        );
        assert!(
            !text.contains("1:1") && !text.contains("1:2"),
            "{sub}: {text}"
        );
        let o = lockcheck(&[sub, "--format", "json", &abba], None);
        assert!(
            stdout(&o).contains("\"thread\":{\"id\":2,\"name\":\"thread-2\"}"),
            "{sub}: {}",
            stdout(&o)
        );
    }
    // Several inputs: the file tells the threads apart; errors name the trace's own ids.
    for sub in ["replay", "check"] {
        let o = lockcheck(&[sub, &bad, &abba], None);
        let (text, e) = (stdout(&o), stderr(&o));
        assert!(
            e.contains(
                "bad.jsonl:1: field `lock`: thread 1 releases \"Z\", which it does not hold"
            ),
            "{sub}: {e}"
        );
        assert!(text.contains("abba.jsonl:thread-2/"), "{sub}: {text}");
        assert!(
            text.contains("acquired in thread 'abba.jsonl:thread-1'"),
            "{sub}: {text}"
        );
    }
}

#[test]
fn check_summary_counts_add_up() {
    let dir = scratch("summary");
    write(
        &dir,
        "a.jsonl",
        &graph_file(11, "a_then_b", "suite.A", "suite.B"),
    );
    write(
        &dir,
        "b.jsonl",
        &graph_file(12, "b_then_a", "suite.B", "suite.A"),
    );
    write(
        &dir,
        "again.jsonl",
        &graph_file(13, "a_then_b_again", "suite.A", "suite.B"),
    );
    let o = lockcheck(&["check", &dir.to_string_lossy()], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("dependencies: 3 read from graph files (1 already known), 0 from traces, 1 in the merged graph (one per pair of classes, whatever its types; one that closes a cycle is reported, not added); 1 report(s)"),
        "{e}"
    );
    // A trace's dependencies are counted too: A -> B added, B -> A reported.
    let t = write(&scratch("summary-trace"), "abba.jsonl", ABBA);
    let e = stderr(&lockcheck(&["check", &t], None));
    assert!(
        e.contains("dependencies: 0 read from graph files (0 already known), 2 from traces, 1 in the merged graph"),
        "{e}"
    );
}

#[test]
fn an_empty_trace_is_no_events_for_replay_check_and_graph_alike() {
    let dir = scratch("empty");
    let empty = write(&dir, "empty.jsonl", "");
    let blank = write(&dir, "blank.jsonl", "\n\n");
    for sub in ["replay", "check", "graph"] {
        for f in [&empty, &blank] {
            let o = lockcheck(&[sub, f], None);
            assert_eq!(o.status.code(), Some(0), "{sub} {f}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(&format!("{f}: no events")),
                "{sub} {f}: {}",
                stderr(&o)
            );
        }
    }
    // Beside a trace with a cycle: the cycle decides.
    let abba = write(&dir, "abba.jsonl", ABBA);
    let o = lockcheck(&["check", &empty, &abba], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn graph_files_and_lockcheck_json_are_named_for_what_they_are() {
    let dir = scratch("kinds");
    let a = write(
        &dir,
        "a.lockdep-graph.jsonl",
        &graph_file(11, "a_then_b", "suite.A", "suite.B"),
    );
    let b = write(
        &dir,
        "b.lockdep-graph.jsonl",
        &graph_file(12, "b_then_a", "suite.B", "suite.A"),
    );
    // replay: one message, not one per line.
    let o = lockcheck(&["replay", &a], None);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("a lockdep graph file") && e.contains("`lockcheck check`"),
        "{e}"
    );
    assert!(!e.contains("missing"), "{e}");
    // graph draws graph files, merged as check merges them.
    let o = lockcheck(&["graph", "--format", "dot", &a, &b], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let dot = stdout(&o);
    assert!(
        dot.contains("suite.A") && dot.contains("suite.B") && dot.contains("(cycle)"),
        "{dot}"
    );
    // lockcheck's own JSON output.
    let splat = root("fixtures/logs/seed-003-pidmap-seqcount.log");
    let json = stdout(&lockcheck(
        &["parse", "--format", "json", &splat.to_string_lossy()],
        None,
    ));
    let out = write(&dir, "splat.json", &json);
    for sub in ["replay", "graph", "check"] {
        let o = lockcheck(&[sub, &out], None);
        assert_eq!(o.status.code(), Some(2), "{sub}");
        let e = stderr(&o);
        assert!(
            e.contains("lockcheck's own JSON output (schema lockcheck.parse.report)"),
            "{sub}: {e}"
        );
        assert!(!e.contains("missing"), "{sub}: {e}");
    }
    // check DIR skips other JSON beside the graph files, with a note.
    write(
        &dir,
        "package.json",
        "{\"name\":\"x\",\"version\":\"1.0.0\"}\n",
    );
    write(&dir, "tsconfig.json", "{\n  \"strict\": true\n}\n");
    let o = lockcheck(&["check", &dir.to_string_lossy()], None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("package.json: skipped: neither a lock trace"),
        "{e}"
    );
    assert!(e.contains("tsconfig.json: skipped"), "{e}");
    assert!(
        e.contains("splat.json: skipped: lockcheck's own JSON output"),
        "{e}"
    );
    assert!(e.contains("(3 other file(s) skipped)"), "{e}");
    // Only other files: nothing was checked, as for an empty directory.
    let other = scratch("kinds-other");
    write(&other, "package.json", "{\"name\":\"x\"}\n");
    let o = lockcheck(&["check", &other.to_string_lossy()], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("probably ran without LOCKDEP_GRAPH"),
        "{}",
        stderr(&o)
    );
    // ... and a damaged graph file still fails the run.
    let mut cut = graph_file(13, "c", "suite.C", "suite.D");
    cut.truncate(cut.rfind("{\"end\"").unwrap());
    write(&dir, "c.lockdep-graph.jsonl", &cut);
    let o = lockcheck(&["check", &dir.to_string_lossy()], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_refinement_that_matches_nothing_is_named_in_a_warning() {
    let dir = scratch("refine");
    let abba = write(&dir, "abba.jsonl", ABBA);
    let o = lockcheck(
        &[
            "replay",
            "--split-class",
            "NOPE",
            "--merge-class",
            "C=D",
            "--class-of",
            "Q=X",
            &abba,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("warning: --split-class NOPE: no lock of the traces is of class \"NOPE\""),
        "{e}"
    );
    assert!(
        e.contains("warning: --merge-class C=D: no lock of the traces is of class \"C\""),
        "{e}"
    );
    assert!(
        e.contains("warning: --class-of Q=X: the traces take no lock \"Q\""),
        "{e}"
    );
    // Names that match: no warning, and with several traces the split classes are named after
    // the file, not an internal index.
    let again = write(&dir, "again.jsonl", ABBA);
    let o = lockcheck(
        &[
            "replay",
            "--split-class",
            "A",
            "--class-of",
            "B=A",
            &abba,
            &again,
        ],
        None,
    );
    let (text, e) = (stdout(&o), stderr(&o));
    assert!(!e.contains("warning"), "{e}");
    assert!(text.contains("A@abba.jsonl:A -> A@abba.jsonl:B"), "{text}");
    assert!(!text.contains("@1:"), "{text}");
}

#[test]
fn replayed_reports_do_not_advise_a_setting_that_cannot_apply() {
    let dir = scratch("backtrace");
    let abba = write(&dir, "abba.jsonl", ABBA);
    for sub in ["replay", "check"] {
        for format in ["text", "json"] {
            let o = lockcheck(&[sub, "--format", format, &abba], None);
            let text = stdout(&o);
            assert!(
                !text.contains("LOCKDEP_BACKTRACE=1"),
                "{sub} {format}: {text}"
            );
            assert!(
                text.contains("(no backtrace: a recorded trace or graph file holds none"),
                "{sub} {format}: {text}"
            );
        }
    }
}

#[test]
fn every_value_lockdep_on_report_accepts_is_documented() {
    // The values the library reads, from its source: a new one fails here until documented.
    let sink = std::fs::read_to_string(root("lockdep/src/sink.rs")).unwrap();
    let body = &sink[sink
        .find("LOCKDEP_ON_REPORT\").as_deref()")
        .expect("from_env reads it")..];
    let body = &body[..body.find("Ok(other)").expect("and refuses the rest")];
    let values: Vec<&str> = body
        .split("Ok(\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(values.contains(&"collect"), "{values:?}");
    let doc = std::fs::read_to_string(root("docs/semantics.md")).unwrap();
    let para = &doc[doc
        .find("**`LOCKDEP_ON_REPORT`")
        .expect("semantics.md documents it")..];
    let para = &para[..para.find("\n\n").unwrap()];
    for v in values {
        assert!(para.contains(&format!("`{v}`")), "{v} undocumented: {para}");
    }
    assert!(para.contains("take_reports"), "{para}");
}

#[test]
fn json_format_md_says_which_kinds_the_rebuilt_splat_events_have() {
    let log = root("fixtures/logs/seed-003-pidmap-seqcount.log");
    let o = lockcheck(
        &["replay", "--format", "json", &log.to_string_lossy()],
        None,
    );
    let mut kinds = std::collections::BTreeSet::new();
    for line in stdout(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for e in v["replay"]["events"].as_array().unwrap() {
            kinds.insert(e.get("kind").map(|k| k.as_str().unwrap().to_string()));
        }
    }
    assert!(!kinds.is_empty());
    // What the doc promises: the default kind (left out) and seqcount reads, nothing else.
    assert!(
        kinds
            .iter()
            .all(|k| k.as_deref().is_none_or(|k| k == "seqcount")),
        "{kinds:?}"
    );
    let doc = std::fs::read_to_string(root("docs/json-format.md")).unwrap();
    assert!(
        doc.contains("an acquisition without `kind` is a `mutex`"),
        "json-format.md"
    );
    assert!(
        doc.contains("the kernel's lock types (`{2:2}` a"),
        "json-format.md"
    );
}

/// A review of the fixes above: the scattered-directories note names only directories that
/// hold graph files, a named file that is no graph file gets no LOCKDEP_GRAPH hint, `graph DIR`
/// skips other JSON as `check DIR` does, and lockcheck's own JSON with a long first line (its
/// schema out of the first block's sight) is not read as a trace.
#[test]
fn hints_notes_and_sniffing_hold_on_what_a_review_tried() {
    let ws = scratch("review");
    let crate_data = ws.join("crate/data");
    std::fs::create_dir_all(&crate_data).unwrap();
    write(&crate_data, "package.json", "{\"name\":\"x\"}\n");
    std::fs::create_dir_all(ws.join("data")).unwrap();
    let o = lockcheck_in(&ws, &["check", "data"]);
    assert!(!stderr(&o).contains("not read"), "{}", stderr(&o));

    let named = write(&ws, "package.json", "{\"name\":\"x\"}\n");
    let o = lockcheck_in(&ws, &["check", &named]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("LOCKDEP_GRAPH="), "{}", stderr(&o));

    let dir = ws.join("graphs");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "t-1.lockdep-graph.jsonl",
        &graph_file(1, "t", "G.A", "G.B"),
    );
    write(&dir, "package.json", "{\"name\":\"x\"}\n");
    let o = lockcheck_in(&ws, &["graph", "graphs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("package.json: skipped"),
        "{}",
        stderr(&o)
    );

    let long = format!(
        "{{\"acquiring\":{{\"class\":\"{}\"}},\"schema\":\"lockcheck.replay.report\"}}\n",
        "x".repeat(20_000)
    );
    let mut reader = std::io::BufReader::new(long.as_bytes());
    let kind = lockcheck::check::sniff_reader(&mut reader).unwrap();
    assert_ne!(kind, lockcheck::check::JsonKind::Trace);
}

/// A graph file like [`graph_file`]'s whose two classes carry their data types.
fn typed_graph_file(pid: u32, test: &str, from: (&str, &str), to: (&str, &str)) -> String {
    graph_file(pid, test, from.0, to.0)
        .replacen(
            "\"at\":\"src/lib.rs:1:1\"}",
            &format!("\"at\":\"src/lib.rs:1:1\",\"type\":\"{}\"}}", from.1),
            1,
        )
        .replacen(
            "\"at\":\"src/lib.rs:2:1\"}",
            &format!("\"at\":\"src/lib.rs:2:1\",\"type\":\"{}\"}}", to.1),
            1,
        )
}

/// The first test binary of the generic-site tests: `Cell<u8>`'s mutex (a generic site) before
/// REGISTRY's.
fn cell_u8_then_registry() -> String {
    typed_graph_file(
        1,
        "a",
        ("src/lib.rs:10:19", "u8"),
        ("src/lib.rs:13:35", "u32"),
    )
}

#[test]
fn check_keeps_one_generic_sites_classes_of_different_types_apart() {
    // Held out (library round 12): `Cell::<T>::new` builds its mutex at one line, a class per
    // type in each process; two test binaries ordered Cell<u8> before REGISTRY and REGISTRY
    // before Cell<u16>. No cycle — `check` had merged the two by their site.
    let dir = scratch("generic-site");
    write(&dir, "a-1.lockdep-graph.jsonl", &cell_u8_then_registry());
    // The second binary: REGISTRY, then the generic site's lock of `inner` (named `name`).
    let second = |name: &str, inner: &str| {
        write(
            &dir,
            "b-2.lockdep-graph.jsonl",
            &typed_graph_file(2, "b", ("src/lib.rs:13:35", "u32"), (name, inner)),
        )
    };
    second("src/lib.rs:10:19", "u16");
    let o = lockcheck_in(&dir, &["check", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).contains("3 classes"), "{}", stderr(&o));
    // The same type in both (`#2` numbered in one process only): the cycle is found.
    second("src/lib.rs:10:19#2", "u8");
    let o = lockcheck_in(&dir, &["check", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("src/lib.rs:10:19<u8> -> src/lib.rs:13:35<u32>"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_tells_types_with_one_short_name_apart() {
    // Review: `app::net::State` and `app::disk::State` at one generic site are two classes;
    // merged by their short name, a real cycle between them and a registry was lost.
    let dir = scratch("short-type-names");
    write(
        &dir,
        "a-1.lockdep-graph.jsonl",
        &typed_graph_file(
            1,
            "a",
            ("src/lib.rs:10:19", "app::net::State"),
            ("src/lib.rs:13:35", "u32"),
        ),
    );
    write(
        &dir,
        "b-2.lockdep-graph.jsonl",
        &typed_graph_file(
            2,
            "b",
            ("src/lib.rs:13:35", "u32"),
            ("src/lib.rs:10:19#2", "app::disk::State"),
        ),
    );
    let o = lockcheck_in(&dir, &["check", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).contains("3 classes"), "{}", stderr(&o));
}

#[test]
fn check_says_when_an_older_lockdeps_files_leave_a_sites_classes_unmerged() {
    // An older lockdep wrote no `type`: its classes at a generic site cannot be merged with a
    // newer file's `site<Type>`, and the cycle between them is not seen. Say so.
    let dir = scratch("old-and-new-writers");
    write(&dir, "a-1.lockdep-graph.jsonl", &cell_u8_then_registry());
    let old = graph_file(2, "b", "src/lib.rs:13:35", "src/lib.rs:10:19")
        .replace("lockdep 0.1.0", "lockdep 0.0.9");
    write(&dir, "b-2.lockdep-graph.jsonl", &old);
    let o = lockcheck_in(&dir, &["check", "."]);
    let note = "lockcheck: note: ./b-2.lockdep-graph.jsonl (lockdep 0.0.9) names the classes built \
                at src/lib.rs:10:19 and 1 other site(s) without their data type, \
                ./a-1.lockdep-graph.jsonl with it";
    assert!(stderr(&o).contains(note), "{}", stderr(&o));
    // Files of one writer, typed or not, merge as they are: no note.
    let registry_then_cell_u16 = typed_graph_file(
        2,
        "b",
        ("src/lib.rs:13:35", "u32"),
        ("src/lib.rs:10:19", "u16"),
    );
    let untyped = graph_file(1, "a", "src/lib.rs:10:19", "src/lib.rs:13:35");
    for (a, b) in [
        (cell_u8_then_registry(), registry_then_cell_u16),
        (untyped, old),
    ] {
        write(&dir, "a-1.lockdep-graph.jsonl", &a);
        write(&dir, "b-2.lockdep-graph.jsonl", &b);
        let o = lockcheck_in(&dir, &["check", "."]);
        assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
    }
}
