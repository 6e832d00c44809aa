//! The kernel-log parser on arbitrary bytes: `lockcheck::splat::parse_bytes` must never panic,
//! and every report it returns points at a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let reports = lockcheck::splat::parse_bytes("fuzz.log", data);
    let lines = data.split(|&b| b == b'\n').count();
    for r in &reports {
        assert!(r.line >= 1 && r.line <= lines, "line {} of {lines}", r.line);
    }
});
