//! Graph files (`docs/graph-format.md`): the writer and the reader agree, damaged and newer files
//! are refused with a clear error (never a panic), and for one process `lockcheck check` on its
//! graph file finds the cycles the run itself reported.

use lockdep::graph_file::{GraphFile, ProcessInfo};
use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::trace::{TraceEvent, TraceOp};
use lockdep::{
    Config, Mode, Mutex, OnReport, RecursiveRwLock, Report, ReportKind, RwLock, Validator,
};
use proptest::prelude::*;

fn process() -> ProcessInfo {
    ProcessInfo {
        writer: "lockdep test".into(),
        pid: 42,
        exe: "graph_file-0123456789abcdef".into(),
        test: None,
        binary_id: None,
    }
}

fn collecting() -> Validator {
    Validator::with_on_report(Config::default(), OnReport::Collect)
}

/// A program over mutexes, rwlocks (read and recursive read), subclasses and an ABBA.
fn sample() -> (Validator, Vec<Report>) {
    let v = collecting();
    v.scope(|| {
        let a = Mutex::with_name("a", ());
        let b = Mutex::with_name("b", ());
        let rw = RwLock::with_name("rw", ());
        let rr = RecursiveRwLock::with_name("rr", ());
        {
            let _a = a.lock();
            let _b = b.lock();
            let _r = rw.read();
            let _rr = rr.read();
        }
        {
            let _a = a.lock();
            let _a2 = b.lock_nested(1);
        }
        let _b = b.lock();
        let _a = a.lock(); // closes a -> b -> a
    });
    let reports = v.take_reports();
    (v, reports)
}

#[test]
fn round_trip() {
    let (v, reports) = sample();
    assert_eq!(reports.len(), 1);
    let file = GraphFile::of_process(&v, process(), false);
    assert!(file.deps.iter().any(|d| d.closes_cycle));
    assert!(file.deps.iter().any(|d| d.to_mode == Mode::ReadRecursive));
    assert!(file.classes.iter().any(|c| c.subclass == 1));
    let text = file.to_text();
    let mut back = GraphFile::parse(&text).unwrap();
    for d in &mut back.deps {
        assert!(d.line > 1);
        d.line = 0;
    }
    assert_eq!(back, file);
    // Written again, it is the same text.
    assert_eq!(back.to_text(), text);
}

#[test]
fn written_atomically_and_read_back() {
    let (v, _) = sample();
    let dir = std::env::temp_dir().join(format!("lockdep-graph-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("one.lockdep-graph.jsonl");
    GraphFile::of(&v).write_atomic(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    let g = GraphFile::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(g.process.pid, std::process::id());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_torn_file_is_refused_at_every_cut() {
    let (v, _) = sample();
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let full = text.trim_end().len();
    for cut in 0..full {
        if !text.is_char_boundary(cut) {
            continue;
        }
        let e = GraphFile::parse(&text[..cut]).expect_err("a torn file must be refused");
        if cut > 0 {
            assert!(
                e.to_string().contains("incomplete file"),
                "cut at {cut}: {e}"
            );
        }
    }
    // Cut anywhere: the error says the file is incomplete.
    let last_line = text.trim_end().rfind('\n').unwrap();
    let e = GraphFile::parse(&text[..last_line + 1]).unwrap_err();
    assert!(e.to_string().contains("incomplete file"), "{e}");
}

#[test]
fn a_newer_version_is_refused_with_a_version_error() {
    let (v, _) = sample();
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let newer = text.replacen("\"version\":1", "\"version\":2", 1);
    let e = GraphFile::parse(&newer).unwrap_err();
    assert_eq!((e.line, e.field), (1, "version"));
    assert!(
        e.to_string()
            .contains("graph format version 2 is not supported"),
        "{e}"
    );
    let trace = "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n";
    let e = GraphFile::parse(trace).unwrap_err();
    assert_eq!(e.field, "format");
}

#[test]
fn bad_records_name_their_line_and_field() {
    let head = "{\"format\":\"lockdep-graph\",\"version\":1,\"classes\":2,\"dependencies\":1}\n\
                {\"class\":0,\"name\":\"A\"}\n{\"class\":1,\"name\":\"B\"}\n";
    let end = "{\"end\":\"lockdep-graph\",\"classes\":2,\"dependencies\":1}\n";
    for (dep, field) in [
        ("{\"dep\":[0,2],\"types\":\"EN\"}", "dep"),
        ("{\"dep\":[0,1],\"types\":\"XX\"}", "types"),
        (
            "{\"dep\":[0,1],\"types\":\"EN\",\"to_mode\":\"shared\"}",
            "to_mode",
        ),
        ("{\"dep\":\"0,1\",\"types\":\"EN\"}", "dep"),
        (
            "{\"dep\":[0,1],\"types\":\"EN\",\"closes_cycle\":1}",
            "closes_cycle",
        ),
    ] {
        let e = GraphFile::parse(&format!("{head}{dep}\n{end}")).unwrap_err();
        assert_eq!((e.line, e.field), (4, field), "{e}");
    }
    let ok = GraphFile::parse(&format!("{head}{{\"dep\":[0,1],\"types\":\"EN\"}}\n{end}")).unwrap();
    assert_eq!(ok.deps.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any damage to a file is an error or a file, never a panic.
    #[test]
    fn damaged_files_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let (v, _) = sample();
        let mut bytes = GraphFile::of_process(&v, process(), false).to_text().into_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        let text = String::from_utf8_lossy(&bytes);
        let _ = GraphFile::parse(&text);
    }
}

// ----- differential: one process, its run against `lockcheck check` on its graph file -----

/// The cycles among `reports`, as sorted class lists, sorted.
fn cycles(reports: impl IntoIterator<Item = (String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = reports
        .into_iter()
        .map(|(k, mut c)| {
            c.sort();
            (k, c)
        })
        .collect();
    out.sort();
    out
}

/// `lockcheck check` on `text` written to a file: exit status and cycles.
fn check_text(text: &str, name: &str) -> (u8, Vec<(String, Vec<String>)>) {
    let dir = std::env::temp_dir().join(format!("lockdep-graph-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.lockdep-graph.jsonl"));
    std::fs::write(&path, text).unwrap();
    let opts = lockcheck::check::CheckOptions {
        inputs: vec![path.display().to_string()],
        json: true,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = lockcheck::check::run(&opts, &mut out, &mut err).exit_code();
    std::fs::remove_file(&path).ok();
    let found: Vec<(String, Vec<String>)> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let kind = v["kind"].as_str().unwrap().to_string();
            let locks: Vec<String> = v["cycle"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            (kind, locks)
        })
        .collect();
    (code, cycles(found))
}

fn live_cycles(reports: &[Report]) -> Vec<(String, Vec<String>)> {
    cycles(
        reports
            .iter()
            .filter(|r| r.kind() == ReportKind::CircularDependency)
            .map(|r| {
                let cycle = r.cycle().into_iter().map(str::to_string).collect();
                (r.kind().as_str().to_string(), cycle)
            }),
    )
}

#[test]
fn check_on_a_live_run_finds_its_cycles() {
    let (v, reports) = sample();
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let (code, found) = check_text(&text, "sample");
    assert_eq!(found, live_cycles(&reports));
    assert_eq!(code, 1);

    // Recursive reads: a -(ER)-> rr and rr -(SN)-> a is no deadlock, live or merged.
    let v = collecting();
    v.scope(|| {
        let a = Mutex::with_name("a", ());
        let rr = RecursiveRwLock::with_name("rr", ());
        {
            let _a = a.lock();
            let _r = rr.read();
        }
        let _r = rr.read();
        let _a = a.lock();
    });
    let reports = v.take_reports();
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let (code, found) = check_text(&text, "recursive");
    assert_eq!(found, live_cycles(&reports));
    assert!(found.is_empty());
    assert_eq!(code, 0);

    // A non-recursive read in the same place is one.
    let v = collecting();
    v.scope(|| {
        let a = Mutex::with_name("a", ());
        let rw = RwLock::with_name("rw", ());
        {
            let _a = a.lock();
            let _r = rw.read();
        }
        let _r = rw.read();
        let _a = a.lock();
    });
    let reports = v.take_reports();
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let (_, found) = check_text(&text, "read");
    assert_eq!(found, live_cycles(&reports));
    assert_eq!(found.len(), 1);
}

/// A random program: three threads take (blocking or trylock; rwlocks also as readers or
/// recursive readers) and release (in any order) locks of five classes, as a trace replayed as the process would
/// run it.
#[derive(Debug, Clone)]
enum Step {
    Take { thread: u8, lock: u8, mode: u8 },
    Release { thread: u8, nth: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3u8, 0..5u8, 0..4u8).prop_map(|(thread, lock, mode)| Step::Take { thread, lock, mode }),
        2 => (0..3u8, any::<u8>()).prop_map(|(thread, nth)| Step::Release { thread, nth }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    /// The graph file of a run (here a replayed one: the same validator) re-checked alone gives
    /// the cycles the run reported.
    #[test]
    fn check_agrees_with_the_run(steps in proptest::collection::vec(step(), 1..60)) {
        let mut r = Replayer::new(Config::default(), ClassRefinement::default());
        let mut held: Vec<Vec<u8>> = vec![Vec::new(); 3];
        let mut reports = Vec::new();
        for s in steps {
            let ev = match s {
                Step::Take { thread, lock, mode } => {
                    if held[thread as usize].contains(&lock) {
                        continue;
                    }
                    held[thread as usize].push(lock);
                    let mut e = TraceEvent::new(thread.to_string(), TraceOp::Acquire, format!("L{lock}"));
                    // L0 and L1 are mutexes, the others rwlocks (a class has one kind).
                    let rw = lock >= 2;
                    e.mode = match mode {
                        1 if rw => Mode::Read,
                        2 if rw => Mode::ReadRecursive,
                        _ => Mode::Write,
                    };
                    e.trylock = mode == 3;
                    e.kind = if rw { lockdep::LockKind::RwLock } else { lockdep::LockKind::Mutex };
                    e
                }
                Step::Release { thread, nth } => {
                    let h = &mut held[thread as usize];
                    if h.is_empty() {
                        continue;
                    }
                    let lock = h.remove(nth as usize % h.len());
                    TraceEvent::new(thread.to_string(), TraceOp::Release, format!("L{lock}"))
                }
            };
            reports.extend(r.apply(&ev).unwrap());
        }
        let text = GraphFile::of_process(r.validator(), process(), false).to_text();
        let (_, found) = check_text(&text, "prop");
        prop_assert_eq!(found, live_cycles(&reports), "graph file:\n{}", text);
    }
}

/// Two processes' files form a cycle; a newer-version file and a file that is no graph are
/// named with their line and field, and do not stop the merge.
#[test]
fn check_names_bad_files_and_goes_on() {
    let dir = std::env::temp_dir().join(format!("lockdep-graph-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let one = |first: &str, second: &str, test: &str| {
        format!(
            "{{\"format\":\"lockdep-graph\",\"version\":1,\"pid\":7,\"exe\":\"x\",\"classes\":2,\"dependencies\":1}}\n\
             {{\"class\":0,\"name\":\"{first}\"}}\n{{\"class\":1,\"name\":\"{second}\"}}\n\
             {{\"dep\":[0,1],\"types\":\"EN\",\"thread\":\"{test}\",\"test\":\"{test}\"}}\n\
             {{\"end\":\"lockdep-graph\",\"classes\":2,\"dependencies\":1}}\n"
        )
    };
    std::fs::write(dir.join("a.jsonl"), one("A", "B", "t1")).unwrap();
    std::fs::write(dir.join("sub/b.jsonl"), one("B", "A", "t2")).unwrap();
    std::fs::write(
        dir.join("c.jsonl"),
        one("C", "D", "t3").replacen("\"version\":1", "\"version\":9", 1),
    )
    .unwrap();
    std::fs::write(dir.join("d.json"), "not json at all\n").unwrap();
    std::fs::write(dir.join(".e.jsonl.1.tmp"), "half a fi").unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored: not a .jsonl file").unwrap();
    let opts = lockcheck::check::CheckOptions {
        inputs: vec![dir.display().to_string()],
        json: true,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = lockcheck::check::run(&opts, &mut out, &mut err).exit_code();
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(code, 2, "{err}");
    let reports: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 1, "{out}");
    assert_eq!(reports[0]["tests"], serde_json::json!(["t1", "t2"]));
    assert!(
        err.contains("c.jsonl:1: field `version`: graph format version 9 is not supported"),
        "{err}"
    );
    assert!(
        // A file of something else in a directory is skipped with a note (a damaged graph
        // file, c.jsonl above, still fails the run).
        err.contains("d.json: skipped: neither a lock trace"),
        "{err}"
    );
    assert!(
        !err.contains(".e.jsonl") && !err.contains("notes.txt"),
        "{err}"
    );
    // Nothing to check is an error too (the tests ran without LOCKDEP_GRAPH).
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let opts = lockcheck::check::CheckOptions {
        inputs: vec![empty.display().to_string()],
        json: false,
    };
    let code = lockcheck::check::run(&opts, &mut Vec::new(), &mut Vec::new()).exit_code();
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).ok();
}

// ----- the process-wide validator's file, at exit and on panic -----

/// The child: an ABBA on the process-wide validator, then an exit chosen by
/// `LOCKDEP_TEST_EXIT` (`normal` or `panic`).
#[test]
#[ignore = "run as a child process by the tests below"]
fn graph_child_workload() {
    let a = std::sync::Arc::new(Mutex::with_name("exit_a", ()));
    let b = std::sync::Arc::new(Mutex::with_name("exit_b", ()));
    let (a2, b2) = (a.clone(), b.clone());
    std::thread::Builder::new()
        .name("helper".into())
        .spawn(move || drop((a2.lock(), b2.lock())))
        .unwrap()
        .join()
        .unwrap();
    let _b = b.lock();
    let _a = a.lock();
    if std::env::var("LOCKDEP_TEST_EXIT").as_deref() == Ok("panic") {
        panic!("the child ends by panicking");
    }
}

fn graph_of_child(exit: &str) -> GraphFile {
    let dir =
        std::env::temp_dir().join(format!("lockdep-graph-exit-{exit}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("NEXTEST") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args([
            "--exact",
            "graph_child_workload",
            "--ignored",
            "--test-threads=1",
        ])
        .env("LOCKDEP_GRAPH", format!("{}/", dir.display()))
        .env("LOCKDEP_ON_REPORT", "log")
        .env("LOCKDEP_TEST_EXIT", exit)
        .output()
        .unwrap();
    assert_eq!(out.status.success(), exit == "normal");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one whole file, no temporary left: {files:?}"
    );
    let g = GraphFile::parse(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    g
}

fn check_child_graph(g: &GraphFile) {
    let name = |i: usize| g.classes[i].name.as_str();
    let plain: Vec<_> = g.deps.iter().filter(|d| !d.closes_cycle).collect();
    assert_eq!(plain.len(), 1);
    assert_eq!(
        (name(plain[0].from), name(plain[0].to)),
        ("exit_a", "exit_b")
    );
    assert_eq!(plain[0].thread, "helper");
    let closing: Vec<_> = g.deps.iter().filter(|d| d.closes_cycle).collect();
    assert_eq!(closing.len(), 1);
    assert_eq!(
        (name(closing[0].from), name(closing[0].to)),
        ("exit_b", "exit_a")
    );
    // libtest named the thread after the test.
    assert_eq!(closing[0].test.as_deref(), Some("graph_child_workload"));
}

#[test]
fn a_normal_exit_leaves_a_graph_file() {
    check_child_graph(&graph_of_child("normal"));
}

#[test]
fn a_panic_leaves_a_graph_file() {
    check_child_graph(&graph_of_child("panic"));
}

/// `check` counts the classes its graph files hold, those in no dependency too: a suite whose
/// locks were never nested was validated, and "0 classes" read as if nothing had been
/// (held-out round 10: 29 classes in stateright's files, 0 in dependencies).
#[test]
fn check_counts_classes_that_take_part_in_no_dependency() {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.scope(|| {
        let a = lockdep::Mutex::with_name("alone-a", ());
        let b = lockdep::Mutex::with_name("alone-b", ());
        drop(a.lock());
        drop(b.lock());
    });
    let text = GraphFile::of_process(&v, process(), false).to_text();
    let dir = std::env::temp_dir().join(format!("lockdep-graph-count-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alone.lockdep-graph.jsonl");
    std::fs::write(&path, &text).unwrap();
    let opts = lockcheck::check::CheckOptions {
        inputs: vec![path.display().to_string(), path.display().to_string()],
        json: false,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    lockcheck::check::run(&opts, &mut out, &mut err);
    std::fs::remove_dir_all(&dir).ok();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains(
            ": 2 classes (0 of them ordered with another); dependencies: 0 read from graph files"
        ),
        "{err}"
    );
}
