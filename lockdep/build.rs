//! Decides whether validation is compiled in, as `cfg(lockdep_off)` for every target of the
//! package (library, tests, examples, benches):
//!
//! - off with `--cfg lockdep_disabled` (RUSTFLAGS, or `[build] rustflags` in a cargo config):
//!   a flag of one build, so it never reaches a test run that did not ask for it;
//! - off in builds without debug assertions (the release profile), unless the feature
//!   `release-validation` asks for validation there too — a positive feature, so unifying it
//!   across a workspace can only turn validation on;
//! - on otherwise (dev and test profiles).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(lockdep_off)");
    println!("cargo::rerun-if-changed=build.rs");
    let forced_off = std::env::var_os("CARGO_CFG_LOCKDEP_DISABLED").is_some();
    let debug = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    let in_release = std::env::var_os("CARGO_FEATURE_RELEASE_VALIDATION").is_some();
    if forced_off || !(debug || in_release) {
        println!("cargo::rustc-cfg=lockdep_off");
    }
}
