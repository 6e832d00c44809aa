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
