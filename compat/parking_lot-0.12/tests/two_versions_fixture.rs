//! A crate that depends on both `parking_lot = "0.12"` and parking_lot 0.13 (renamed; see
//! compat/fixtures/two-versions) builds and runs with both compat crates, and both lock_api
//! forks, patched in through `[patch.crates-io]` at once: no dependency cycle (lockdep's own
//! lock words are lockdep-parking-lot, which no patch touches), and an ABBA between a 0.12 lock
//! and a 0.13 lock is reported with the fixture's own sites. Offline: its lockfile holds the
//! workspace's versions.

use std::path::Path;
use std::process::Command;

#[test]
fn a_user_of_parking_lot_012_and_013_patched_with_both_compat_crates_gets_a_report() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/two-versions");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("two-versions");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--offline", "--locked", "--manifest-path"])
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("LOCKDEP_ON_REPORT", "log")
        .env_remove("LOCKDEP_SUPPRESS")
        .env_remove("LOCKDEP_DEPENDENCY_REPORTS")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 entries, total 101, 0 hits"), "{stdout}");
    assert!(
        stderr.contains("WARNING: possible circular locking dependency detected"),
        "{stderr}"
    );
    // The 0.12 mutex and the 0.13 reader-writer lock are classes of the fixture's construction
    // sites and data types (each handed over by its compat lock_api): its own code.
    assert!(stderr.contains("(mutex<Vec<u64>>@src/main.rs:"), "{stderr}");
    assert!(
        stderr.contains("(rwlock<Vec<String>>@src/main.rs:"),
        "{stderr}"
    );
    assert!(!stderr.contains("in dependencies only"), "{stderr}");
    // One report: the 0.13 RecursiveRwLock's nested readers are silent.
    assert_eq!(stderr.matches("WARNING: ").count(), 1, "{stderr}");
}
