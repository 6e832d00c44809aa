//! A crate that depends on `parking_lot = "0.12"` (compat/fixtures/abba-user) builds and runs
//! with this crate patched in through `[patch.crates-io]`, and gets lockdep's report of its
//! ABBA, with its own sites. Offline: its lockfile holds the workspace's versions.

use std::path::Path;
use std::process::Command;

#[test]
fn a_parking_lot_user_patched_with_the_compat_crate_gets_a_report() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/abba-user");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abba-user");
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
    assert!(stdout.contains("1 entries, total 99"), "{stdout}");
    assert!(
        stderr.contains("WARNING: possible circular locking dependency detected"),
        "{stderr}"
    );
    // The classes are the fixture's construction sites and data types (handed over by the
    // compat lock_api): its own code, so not the dependency tier.
    assert!(stderr.contains("(mutex<Vec<u64>>@src/main.rs:"), "{stderr}");
    assert!(
        stderr.contains("(rwlock<Vec<String>>@src/main.rs:"),
        "{stderr}"
    );
    assert!(!stderr.contains("in dependencies only"), "{stderr}");
    assert_eq!(stderr.matches("WARNING: ").count(), 1, "{stderr}");
}
