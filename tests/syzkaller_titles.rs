//! `lockcheck parse` agrees with syzkaller on syzkaller's own report test suite: every
//! lockdep-family log gets the title syzkaller's `TITLE:` header gives its first report,
//! and is corrupted exactly when `CORRUPTED: Y` says so; logs without a report get none.
//!
//! The suite stays outside the repository, in `../shared/syzkaller/` (see its README): the
//! test prints that it skipped when the folder is absent, and fails when `CI` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn suite() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/syzkaller");
    if dir.join("lockdep-family.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: CI must run the syzkaller suite",
            dir.display()
        );
    }
    println!("skipped: {} not found", dir.display());
    None
}

/// The `KEY: value` header (first value of each key) and the console log after it.
fn split(file: &[u8]) -> (BTreeMap<String, String>, &[u8]) {
    let mut headers = BTreeMap::new();
    let mut rest = file;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers
                .entry(k.trim().to_string())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    (headers, rest)
}

#[test]
fn every_lockdep_family_title_and_corrupted_flag_equals_syzkallers() {
    let Some(dir) = suite() else { return };
    let tsv = std::fs::read_to_string(dir.join("lockdep-family.tsv")).unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    for row in tsv.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name = row.split('\t').next().unwrap();
        let file = std::fs::read(dir.join("report").join(name)).unwrap();
        let (headers, log) = split(&file);
        let want_title = headers.get("TITLE").cloned().unwrap_or_default();
        let want_corrupted = headers.get("CORRUPTED").is_some_and(|v| v == "Y");
        let reports = lockcheck::splat::parse_bytes(name, log);
        total += 1;
        match reports.first() {
            None => failures.push(format!("{name}: no report; syzkaller: {want_title:?}")),
            Some(r) => {
                if r.title != want_title || r.corrupted.is_some() != want_corrupted {
                    failures.push(format!(
                        "{name}: {:?} corrupted={:?}; syzkaller: {want_title:?} corrupted={want_corrupted}",
                        r.title, r.corrupted
                    ));
                }
            }
        }
    }
    println!(
        "syzkaller lockdep-family logs: {}/{total} titles and corrupted flags equal",
        total - failures.len()
    );
    assert!(total >= 95, "only {total} lockdep-family logs listed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn logs_without_any_report_get_none() {
    let Some(dir) = suite() else { return };
    let mut checked = 0;
    let mut invented = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("report"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let file = std::fs::read(&path).unwrap();
        let (headers, log) = split(&file);
        if headers.contains_key("TITLE") {
            continue;
        }
        checked += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for r in lockcheck::splat::parse_bytes(&name, log) {
            invented.push(format!("{name}:{}: {}", r.line, r.title));
        }
    }
    println!(
        "syzkaller logs without a report: {checked}, lockdep reports found in them: {}",
        invented.len()
    );
    assert!(checked > 0);
    assert!(invented.is_empty(), "{}", invented.join("\n"));
}
