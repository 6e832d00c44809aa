//! Golden tests: every `fixtures/logs/*.log` has `NAME.expected.json` next to it.
//! `LOCKCHECK_BLESS=1 cargo test -p lockcheck --test golden` rewrites them.
//!
//! Goldens named `syz-NNN-*.expected.json` have no log in the repository: their log is
//! syzkaller's test file `NNN` (after its header), read from `../shared/syzkaller/report/`.
//! Without that folder they are skipped (and CI fails).

use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/logs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/logs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "log")
                || syzkaller_number(p).is_some() && p.to_string_lossy().ends_with(".expected.json")
        })
        .map(|p| {
            // `x.expected.json` stands for the log `x.log`.
            let s = p.to_string_lossy().to_string();
            PathBuf::from(
                s.strip_suffix(".expected.json")
                    .map_or(s.clone(), |b| format!("{b}.log")),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `NNN` of a fixture named `syz-NNN-...`.
fn syzkaller_number(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    let rest = name.strip_prefix("syz-")?;
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    (!n.is_empty()).then_some(n.trim_start_matches('0').to_string())
}

/// The log of a fixture: its file, or syzkaller's test file (None when the suite is absent).
fn log_bytes(path: &Path) -> Option<Vec<u8>> {
    if let Ok(b) = std::fs::read(path) {
        return Some(b);
    }
    let n = syzkaller_number(path)?;
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/syzkaller/report")
        .join(&n);
    match std::fs::read(&file) {
        Ok(b) => {
            let at = b.windows(2).position(|w| w == b"\n\n").map_or(0, |i| i + 2);
            Some(b[at..].to_vec())
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{} is missing: CI must have ../shared", file.display())
        }
        Err(_) => {
            println!("skipped {}: {} not found", path.display(), file.display());
            None
        }
    }
}

fn render(path: &Path) -> Option<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes = log_bytes(path)?;
    let reports = lockcheck::splat::parse_bytes(&name, &bytes);
    let mut s = serde_json::to_string_pretty(&reports).unwrap();
    s.push('\n');
    Some(s)
}

#[test]
fn every_fixture_matches_its_golden_file() {
    let bless = std::env::var_os("LOCKCHECK_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(!all.is_empty(), "no fixtures found");
    for log in all {
        let golden = log.with_extension("expected.json");
        let Some(got) = render(&log) else { continue };
        if bless {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let (n, (w, g)) = want
                    .lines()
                    .zip(got.lines())
                    .enumerate()
                    .find(|(_, (w, g))| w != g)
                    .unwrap_or((
                        want.lines().count().min(got.lines().count()),
                        ("<end>", "<end>"),
                    ));
                failures.push(format!(
                    "{}: differs at line {}\n  expected: {w}\n  got:      {g}",
                    golden.display(),
                    n + 1
                ));
            }
            Err(_) => failures.push(format!(
                "{}: missing (run with LOCKCHECK_BLESS=1)",
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The canonical false positive, checked field by field (independent of the golden file).
#[test]
fn seed_pidmap_seqcount_is_a_class_conflation_false_positive() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/logs/seed-003-pidmap-seqcount.log");
    let reports = lockcheck::splat::parse_bytes("seed", &std::fs::read(path).unwrap());
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.kind.as_str(), "circular_dependency");
    assert_eq!(r.title, "possible deadlock in alloc_pid");
    assert_eq!(r.locks, ["pidmap_lock", "&s->seqcount#2"]);
    assert_eq!(r.verdict.label.as_str(), "likely_false_positive");
    assert_eq!(r.verdict.rule, "class-conflation");
    for needle in [
        "__exit_signal",
        "sig->stats_lock",
        "read_mems_allowed_begin",
        "current->mems_allowed_seq",
    ] {
        assert!(
            r.verdict.explanation.contains(needle),
            "explanation lacks {needle}: {}",
            r.verdict.explanation
        );
    }
    assert!(!r.truncated);
    assert_eq!(r.task.as_ref().unwrap().comm, "runc:[1:CHILD]");
    assert_eq!(r.cpu, Some(46));
    assert_eq!(r.chain.len(), 2);
    let e1 = r.chain_entry(1).unwrap();
    // The addr2line lines expanded the inlined callers in place.
    let names: Vec<_> = e1.frames.iter().filter_map(|f| f.base_function()).collect();
    assert!(
        names
            .windows(3)
            .any(|w| w == ["__unhash_process", "__exit_signal", "release_task"]),
        "{names:?}"
    );
    assert!(
        r.cycle
            .iter()
            .any(|e| e.closing && e.from == "pidmap_lock" && e.to == "&s->seqcount#2")
    );
    let ev: Vec<usize> = r.verdict.evidence.iter().map(|e| e.line).collect();
    assert!(
        ev.contains(&89) && ev.contains(&104),
        "evidence lines {ev:?}"
    );
}
