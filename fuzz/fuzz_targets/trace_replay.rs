//! The trace reader and replay on arbitrary bytes: every line through
//! `lockdep::trace::parse_line`, then the whole input replayed as a trace
//! (`lockcheck::replay::trace::replay_trace`) under small limits, so hostile inputs reach every
//! limit. Never a panic; every error line names the input and a line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockdep::replay::{ClassRefinement, Replayer};

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let _ = lockdep::trace::parse_line(&String::from_utf8_lossy(line));
    }
    let config = lockdep::Config {
        max_lock_depth: 4,
        max_classes: 8,
        max_edges: 16,
        max_chains: 16,
        ..lockdep::Config::default()
    };
    let mut refinement = ClassRefinement::default();
    refinement.split.insert("A".to_string());
    refinement.merge.insert("B".to_string(), "C".to_string());
    let mut replayer = Replayer::new(config, refinement);
    let mut err = Vec::new();
    let mut emit = |r: lockcheck::replay::ReplayedReport| {
        let _ = r.to_json();
        Ok(())
    };
    let stats = lockcheck::replay::trace::replay_trace(
        "fuzz.jsonl",
        data,
        "",
        &mut replayer,
        &mut err,
        &mut emit,
    )
    .expect("reading from memory does not fail");
    let err = String::from_utf8_lossy(&err);
    assert_eq!(err.lines().count() as u64, stats.errors);
    for line in err.lines() {
        assert!(line.starts_with("lockcheck: fuzz.jsonl:"), "{line}");
    }
});
