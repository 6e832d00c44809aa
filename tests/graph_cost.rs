//! What graph files cost: the size and write time of a process's file with about 1,000
//! dependencies, and (with `LOCKDEP_COST_DIR`) a directory of 1,000 such files for timing
//! `lockcheck check`. Run by hand (docs/performance.md has the numbers):
//!
//! `LOCKDEP_COST_DIR=/tmp/graphs cargo test --release -p lockcheck-e2e --test graph_cost -- --ignored --nocapture`

use std::time::Instant;

use lockdep::graph_file::{GraphFile, ProcessInfo};
use lockdep::{
    Acquire, Config, InstanceId, LockKind, Mode, OnReport, Site, ThreadState, Validator,
};

/// A validator whose graph has `classes` classes (named with `prefix`) and five dependencies
/// from each to the next ones, first seen at realistic sites on a thread named like a test.
fn graph(prefix: &str, classes: u32) -> Validator {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let ids: Vec<_> = (0..classes)
        .map(|i| {
            v.class_named(
                &format!("{prefix}crate::module::Type{i}.field"),
                LockKind::Mutex,
            )
            .unwrap()
        })
        .collect();
    let acq = |i: usize, line: u32| Acquire {
        class: ids[i],
        instance: InstanceId(i as u64 + 1),
        mode: Mode::Write,
        trylock: false,
        nest_lock: None,
        kind: LockKind::Mutex,
        site: Site::Text(format!("src/module/file{i}.rs:{line}:17").into()),
    };
    let mut t = ThreadState::new("tests::module::a_reasonably_named_test", 1, 8);
    for i in 0..ids.len() {
        for d in 1..=5 {
            let j = i + d;
            if j >= ids.len() {
                break;
            }
            assert!(v.acquire(&mut t, acq(i, 10)).is_empty());
            assert!(v.acquire(&mut t, acq(j, 20)).is_empty());
            v.release(&mut t, acq(j, 0).instance, Some(ids[j]), Site::Unknown);
            v.release(&mut t, acq(i, 0).instance, Some(ids[i]), Site::Unknown);
        }
    }
    v
}

fn process(pid: u32) -> ProcessInfo {
    ProcessInfo {
        writer: "lockdep 0.1.0".into(),
        pid,
        exe: "suite-0123456789abcdef".into(),
        test: Some("module::a_reasonably_named_test".into()),
        binary_id: None,
    }
}

#[test]
#[ignore = "a measurement, run by hand"]
fn graph_file_cost() {
    let v = graph("", 201);
    assert_eq!(v.dependency_count(), 990);
    let dir = std::env::var("LOCKDEP_COST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("lockdep-graph-cost"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("one.lockdep-graph.jsonl");
    let start = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        GraphFile::of_process(&v, process(1), true)
            .write_atomic(&path)
            .unwrap();
    }
    let per_write = start.elapsed() / runs;
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "graph file: {} dependencies, {size} bytes, written in {per_write:?}",
        v.dependency_count()
    );
    std::fs::remove_file(&path).unwrap();

    // 1,000 processes: each its own 1,000-dependency file, two of its classes its own.
    let start = Instant::now();
    let shared = GraphFile::of_process(&v, process(0), true);
    for p in 0..1000u32 {
        let mut g = shared.clone();
        g.process = process(p + 2);
        for c in g.classes.iter_mut().skip(199) {
            c.name = format!("p{p}::{}", c.name);
        }
        g.write_atomic(&dir.join(format!("p{p}.lockdep-graph.jsonl")))
            .unwrap();
    }
    println!(
        "1,000 files written to {} in {:?}",
        dir.display(),
        start.elapsed()
    );
}
