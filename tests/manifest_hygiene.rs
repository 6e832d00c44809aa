//! Every dependency a workspace crate declares is used by its code: a dependency nobody uses
//! still costs every user its build time (and `cargo publish` ships it). The check is
//! cargo-machete's: the crate's name (with `-` as `_`) must appear as a path (`name::`), in a
//! `use`, or as a macro in the sources that can see it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The dependency names declared in `section` of a manifest (`name = ...`, `name.workspace`).
fn declared(manifest: &str, section: &str) -> Vec<String> {
    let mut in_section = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == section;
            continue;
        }
        if !in_section || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.split(['=', '.']).next() {
            names.push(name.trim().to_string());
        }
    }
    names
}

fn used(name: &str, sources: &str) -> bool {
    let ident = name.replace('-', "_");
    [
        format!("{ident}::"),
        format!("use {ident}"),
        format!("{ident}!"),
        format!("extern crate {ident}"),
    ]
    .iter()
    .any(|p| sources.contains(p.as_str()))
}

#[test]
fn every_declared_dependency_is_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut unused = Vec::new();
    for member in ["lockdep", "cli", "tests"] {
        let dir = root.join(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        let sources: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        for section in ["[dependencies]", "[dev-dependencies]"] {
            for name in declared(&manifest, section) {
                if !used(&name, &sources) {
                    unused.push(format!("{member}/Cargo.toml {section} {name}"));
                }
            }
        }
    }
    assert!(unused.is_empty(), "declared but never used: {unused:#?}");
}

#[test]
fn the_check_sees_an_unused_dependency() {
    let manifest =
        "[package]\nname = \"x\"\n[dependencies]\nfoo-bar = \"1\"\nbaz.workspace = true\n";
    let names = declared(manifest, "[dependencies]");
    assert_eq!(names, ["foo-bar", "baz"]);
    assert!(!used("foo-bar", "use std::io;"));
    assert!(used("foo-bar", "foo_bar::run()"));
}
