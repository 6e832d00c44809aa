//! A whole test suite as one graph: the fixture workspace `fixtures/suite` has two test binaries
//! whose tests take two locks in opposite orders (`forward::a_then_b`, `backward::b_then_a`), so
//! no process sees the cycle. Run under `cargo test` (one process per binary) and, when
//! installed, `cargo nextest` (one process per test) with `LOCKDEP_GRAPH=<dir>/`, every process
//! leaves a graph file, and `lockcheck check <dir>` finds the cycle and names both tests.
//!
//! The fixture builds offline in its own target directory under `CARGO_TARGET_TMPDIR` (the outer
//! cargo holds the main one's lock), reused across runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/suite")
}

fn target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("suite-target")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs cargo with `args` in the fixture, recording graph files into `graphs` (and traces into
/// `traces`, if given).
fn run_fixture(args: &[&str], graphs: &Path, traces: Option<&Path>) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .current_dir(fixture())
        .env("CARGO_TARGET_DIR", target())
        .env("LOCKDEP_GRAPH", format!("{}/", graphs.display()));
    // What the outer run set must not leak in: its own lockdep settings, and nextest's
    // description of the outer test.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("LOCKDEP") || k.starts_with("NEXTEST") {
            cmd.env_remove(&k);
        }
    }
    if let Some(t) = traces {
        cmd.env("LOCKDEP_TRACE", format!("{}/", t.display()));
    }
    cmd.env("LOCKDEP_GRAPH", format!("{}/", graphs.display()));
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} in the fixture failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `lockcheck check DIR --format json`: the exit status and the reports.
fn check(dir: &Path) -> (u8, Vec<serde_json::Value>, String) {
    let opts = lockcheck::check::CheckOptions {
        inputs: vec![dir.display().to_string()],
        json: true,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = lockcheck::check::run(&opts, &mut out, &mut err).exit_code();
    let reports = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, reports, String::from_utf8(err).unwrap())
}

fn files_in(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.retain(|n| n.ends_with(suffix));
    names.sort();
    names
}

/// The one report is the cross-process cycle, naming both tests and both files.
fn assert_cross_process_cycle(code: u8, reports: &[serde_json::Value], err: &str) {
    assert_eq!(code, 1, "{err}");
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert_eq!(r["kind"], "circular_dependency");
    let mut cycle: Vec<&str> = r["cycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    cycle.sort();
    assert_eq!(cycle, ["suite.A", "suite.B"]);
    assert_eq!(r["processes"], 2);
    let mut tests: Vec<&str> = r["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tests.sort();
    assert_eq!(tests, ["a_then_b", "b_then_a"]);
    let edges = r["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    for e in edges {
        let test = e["test"].as_str().unwrap();
        let file = e["file"].as_str().unwrap();
        let binary = if test == "a_then_b" {
            "forward-"
        } else {
            "backward-"
        };
        assert!(file.contains(binary), "{test} comes from {file}");
        assert!(e["line"].as_u64().unwrap() > 1);
        assert!(e["pid"].as_u64().unwrap() > 0);
    }
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("possible circular locking dependency")
    );
}

#[test]
fn cargo_test_suite_merges_to_the_cross_process_cycle() {
    let graphs = fresh_dir("suite-graphs-cargo-test");
    let traces = fresh_dir("suite-traces-cargo-test");
    run_fixture(&["test", "--offline", "--tests"], &graphs, Some(&traces));
    // One graph file and one trace per test binary: each process its own file.
    let names = files_in(&graphs, lockdep::graph_file::GRAPH_SUFFIX);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("forward-")));
    assert!(names.iter().any(|n| n.starts_with("backward-")));
    assert_eq!(
        files_in(&traces, lockdep::graph_file::TRACE_SUFFIX).len(),
        2
    );

    let (code, reports, err) = check(&graphs);
    assert_cross_process_cycle(code, &reports, &err);

    // The traces merge to the same cycle.
    let (code, reports, err) = check(&traces);
    assert_eq!(code, 1, "{err}");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["kind"], "circular_dependency");

    // A damaged file is named, and the others are still checked.
    let bad = graphs.join("zz-torn.lockdep-graph.jsonl");
    let first = std::fs::read_to_string(graphs.join(&names[0])).unwrap();
    std::fs::write(&bad, &first[..first.len() / 2]).unwrap();
    let (code, reports, err) = check(&graphs);
    assert_eq!(code, 2, "{err}");
    assert_eq!(reports.len(), 1);
    assert!(
        err.contains("zz-torn.lockdep-graph.jsonl") && err.contains("incomplete"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&graphs);
    let _ = std::fs::remove_dir_all(&traces);
}

#[test]
fn nextest_suite_merges_to_the_cross_process_cycle() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let installed = Command::new(cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("cargo nextest is not installed: skipped");
        return;
    }
    let graphs = fresh_dir("suite-graphs-nextest");
    run_fixture(&["nextest", "run", "--offline"], &graphs, None);
    // One process per test: each names its test in its file name.
    let names = files_in(&graphs, lockdep::graph_file::GRAPH_SUFFIX);
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("-a_then_b.lockdep-graph.jsonl"))
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("-b_then_a.lockdep-graph.jsonl"))
    );
    let (code, reports, err) = check(&graphs);
    assert_cross_process_cycle(code, &reports, &err);
    let _ = std::fs::remove_dir_all(&graphs);
}
