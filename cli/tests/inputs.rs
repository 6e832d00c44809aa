//! End-to-end tests of what `lockcheck parse` reads: compressed logs (recognised by content),
//! directories, bare standard input, binary files, console prefixes, and a report whose
//! `WARNING:` line repeats once per inlined frame.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{lockcheck, stderr, stdout};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn path(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

/// The JSON reports of a run, with `source` removed (it names the input).
fn reports(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("source");
            v
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_compression_format_reads_like_the_plain_log() {
    let plain = lockcheck(
        &[
            "parse",
            "--format",
            "json",
            &path("logs/seed-003-pidmap-seqcount.log"),
        ],
        None,
    );
    let want = reports(&plain);
    assert_eq!(want.len(), 1);
    for f in [
        "seed-003.log.gz",
        "seed-003.log.xz",
        "seed-003.log.zst",
        "seed-003.log.bz2",
        "seed-003-named-wrong.txt",
    ] {
        let o = lockcheck(
            &[
                "parse",
                "--format",
                "json",
                &path(&format!("compressed/{f}")),
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(1), "{f}: {}", stderr(&o));
        assert_eq!(reports(&o), want, "{f}");
        assert!(
            stdout(&o).contains(&format!("compressed/{f}")),
            "the report names {f}"
        );
    }
}

#[test]
fn compressed_standard_input_is_recognised_too() {
    let gz = std::fs::read(path("compressed/seed-003.log.xz")).unwrap();
    let o = lockcheck(&["parse", "-"], Some(&gz));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("possible deadlock in alloc_pid"));
}

#[test]
fn a_cut_compressed_log_keeps_its_reports_and_names_the_damage() {
    let dir = temp_dir("cut");
    let gz = std::fs::read(path("compressed/seed-003.log.gz")).unwrap();
    let cut = dir.join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() - 40]).unwrap();
    let o = lockcheck(&["parse", &cut.display().to_string()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("cut.log.gz") && err.contains("gzip"), "{err}");
    assert!(
        stdout(&o).contains("possible deadlock in alloc_pid"),
        "what was read is kept"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_binary_file_is_refused_with_a_clear_error() {
    let o = lockcheck(&["parse", env!("CARGO_BIN_EXE_lockcheck")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a text log (an ELF binary)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn directories_are_read_recursively_and_each_report_names_its_file() {
    let dir = temp_dir("dir");
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    std::fs::copy(
        path("logs/seed-003-pidmap-seqcount.log"),
        dir.join("a/b/one.log"),
    )
    .unwrap();
    std::fs::copy(path("compressed/seed-003.log.zst"), dir.join("two.zst")).unwrap();
    std::fs::write(dir.join("a/empty.log"), "no report here\n").unwrap();
    let o = lockcheck(&["parse", "--summary", &dir.display().to_string()], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("2 report(s)"), "{out}");
    assert!(
        out.contains(&format!("{}:", Path::new("a/b/one.log").display())),
        "{out}"
    );
    assert!(out.contains("two.zst:"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_path_reads_standard_input() {
    let log = std::fs::read(path("logs/seed-003-pidmap-seqcount.log")).unwrap();
    let o = lockcheck(&["parse"], Some(&log));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("possible deadlock in alloc_pid"));
}

#[test]
fn a_banner_after_other_text_on_its_line_is_found() {
    // The console prompt typed before the kernel's line, as syzkaller's consoles show it.
    let log = "syzkaller login: [   16.305150] INFO: trying to register non-static key.\n\
               [   16.305671] the code is fine but needs lockdep annotation.\n\
               [   16.306408] turning off the locking correctness validator.\n\
               [   16.306956] CPU: 0 PID: 2990 Comm: syzkaller460037 Not tainted 4.14.0-rc7 #10\n\
               [   16.308571] Call Trace:\n\
               [   16.308831]  dump_stack+0x194/0x257\n\
               [   16.310347]  register_lock_class+0x55e/0x2c70\n\
               [   16.315964]  __lock_acquire+0x203/0x4770\n\
               [   16.328665]  lock_acquire+0x1d5/0x580\n\
               [   16.331306]  _raw_spin_lock_bh+0x31/0x40\n\
               [   16.332206]  tcp_fastopen_reset_cipher+0x194/0x580\n\
               [   16.342778]  entry_SYSCALL_64_fastpath+0x1f/0xbe\n";
    let o = lockcheck(&["parse", "--format", "json"], Some(log.as_bytes()));
    let r = reports(&o);
    assert_eq!(r.len(), 1, "{}", stdout(&o));
    assert_eq!(
        r[0]["title"],
        "INFO: trying to register non-static key in tcp_fastopen_reset_cipher"
    );
    assert!(r[0].get("corrupted").is_none(), "{}", r[0]);
}

#[test]
fn a_z_vm_console_log_with_hard_wraps_is_read() {
    // An s390 guest's z/VM console: `00: ` before every line, lines cut at 80 columns.
    let plain = std::fs::read_to_string(path("logs/seed-003-pidmap-seqcount.log")).unwrap();
    let mut vm = String::new();
    for line in plain.lines() {
        let mut rest = format!("00: {line}");
        while rest.chars().count() > 80 {
            let cut: String = rest.chars().take(80).collect();
            vm.push_str(&cut);
            vm.push('\n');
            rest = format!("00: {}", rest.chars().skip(80).collect::<String>());
        }
        vm.push_str(&rest);
        vm.push('\n');
    }
    let want = reports(&lockcheck(
        &["parse", "--format", "json", "-"],
        Some(plain.as_bytes()),
    ));
    let got = reports(&lockcheck(
        &["parse", "--format", "json", "-"],
        Some(vm.as_bytes()),
    ));
    assert_eq!(got.len(), 1);
    // Line numbers differ (wrapped lines are more physical lines); nothing else does.
    for field in ["title", "kind", "locks"] {
        assert_eq!(got[0][field], want[0][field], "{field}");
    }
    for field in ["label", "rule", "explanation"] {
        assert_eq!(
            got[0]["verdict"][field], want[0]["verdict"][field],
            "{field}"
        );
    }
    let edges = |r: &serde_json::Value| -> Vec<(String, String)> {
        r["cycle"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["from"].to_string(), e["to"].to_string()))
            .collect()
    };
    assert_eq!(edges(&got[0]), edges(&want[0]));
}

#[test]
fn a_warning_line_repeated_per_inlined_frame_is_one_report() {
    let o = lockcheck(
        &[
            "parse",
            "--format",
            "json",
            &path("logs/lkml-lockdep-internal-repeated-warning-arm64.log"),
        ],
        None,
    );
    let r = reports(&o);
    assert_eq!(r.len(), 1, "{}", stdout(&o));
    assert_eq!(
        r[0]["title"],
        "WARNING: locking bug in l2cap_unregister_user"
    );
    assert_eq!(r[0]["truncated"], false, "{}", r[0]);
    assert!(r[0].get("damage").is_none(), "{}", r[0]);
    assert!(r[0].get("corrupted").is_none(), "{}", r[0]);
}
