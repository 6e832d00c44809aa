//! Kernel reports on arbitrary bytes, taken further: each circular report rebuilt and replayed
//! (`lockcheck::replay::splat::replay_report`), and all of them drawn as a graph (DOT and SVG).
//! Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockcheck::graph::{GraphFormat, GraphModel, GraphOptions, render};

fuzz_target!(|data: &[u8]| {
    let reports = lockcheck::splat::parse_bytes("fuzz.log", data);
    for r in &reports {
        if let Some(replay) = lockcheck::replay::splat::replay_report(r) {
            let _ = replay.summary();
        }
    }
    let model = GraphModel::from_kernel_reports(&reports);
    let opts = GraphOptions::default();
    let _ = render(&model, GraphFormat::Dot, &opts);
    let _ = render(&model, GraphFormat::Svg, &opts);
});
