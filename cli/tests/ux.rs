//! End-to-end tests of what a user of the command sees around the reports (#15): colours,
//! `--quiet`, `--output`, usage errors, help, completions and man pages, JSON documents against
//! their schema, closed pipes, the note for inputs without reports, and capped pictures.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .display()
        .to_string()
}

const SEED: &str = "fixtures/logs/seed-003-pidmap-seqcount.log";
const TRACE: &str = "fixtures/traces/graph-small.jsonl";

/// The binary, in an environment that does not force or forbid colours.
fn cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lockcheck"));
    c.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    cmd().args(args).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lockcheck-ux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---- colours ----

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let seed = root(SEED);
    let plain = run(&["parse", &seed]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(!out(&plain).contains('\x1b'), "a pipe gets no escape code");

    let always = run(&["parse", "--color", "always", &seed]);
    let s = out(&always);
    assert!(s.contains("\x1b["), "{s}");
    // Kind, verdict and cycle classes are coloured; stripped, the text is the plain text.
    assert!(
        s.contains("\x1b[1m\x1b[35mcircular_dependency") || s.contains("circular_dependency\x1b"),
        "{s:?}"
    );
    assert!(s.contains("likely_false_positive\x1b[0m"), "{s:?}");
    assert!(s.contains("\x1b[36mpidmap_lock\x1b[0m"), "{s:?}");
    assert_eq!(strip(&s), out(&plain));

    let never = run(&["--color", "never", "parse", &seed]);
    assert_eq!(out(&never), out(&plain));

    // NO_COLOR turns auto off; --color always still wins (the flag is explicit).
    let no_color = cmd()
        .args(["parse", &seed])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!out(&no_color).contains('\x1b'));
    let forced = cmd()
        .args(["parse", "--color", "always", &seed])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out(&forced).contains('\x1b'));

    // Every text output: summary, replay, check.
    for args in [
        vec!["parse", "--summary", "--color", "always", &seed],
        vec!["replay", "--color", "always", &seed],
        vec!["check", "--color", "always", &root(TRACE)],
    ] {
        let o = run(&args);
        assert!(out(&o).contains('\x1b'), "{args:?}: {}", out(&o));
        let plain = run(&args
            .iter()
            .filter(|a| !["--color", "always"].contains(a))
            .copied()
            .collect::<Vec<_>>());
        assert_eq!(strip(&out(&o)), out(&plain), "{args:?}");
    }
    // JSON never carries colour.
    let json = run(&["parse", "--format", "json", "--color", "always", &seed]);
    assert!(!out(&json).contains('\x1b'));
}

/// Text without its SGR escape sequences.
fn strip(s: &str) -> String {
    let mut r = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            r.push(c);
        }
    }
    r
}

#[test]
fn never_means_no_escape_code_even_from_the_log() {
    let d = temp_dir("esc");
    let seed = std::fs::read_to_string(root(SEED)).unwrap();
    // A console that coloured the title line.
    let coloured = seed.replacen(
        "WARNING: possible circular locking dependency detected",
        "\x1b[31mWARNING: possible circular locking dependency detected\x1b[0m",
        1,
    );
    let path = d.join("c.log");
    std::fs::write(&path, coloured).unwrap();
    let o = run(&["parse", "-v", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!out(&o).contains('\x1b'), "{:?}", out(&o));
    std::fs::remove_dir_all(&d).unwrap();
}

// ---- --quiet, --output ----

#[test]
fn quiet_prints_nothing_and_keeps_the_exit_status() {
    let o = run(&["parse", "-q", &root(SEED)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let o = run(&["-q", "replay", &root(TRACE)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let o = run(&["graph", "--quiet", &root(TRACE)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    // Errors still say what went wrong.
    let o = run(&["parse", "-q", "/nonexistent/x.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("/nonexistent/x.log: no such file"),
        "{}",
        err(&o)
    );
}

#[test]
fn output_goes_to_a_file_atomically() {
    let d = temp_dir("output");
    let file = d.join("reports.json");
    let o = run(&[
        "parse",
        "--format",
        "json",
        "-o",
        file.to_str().unwrap(),
        &root(SEED),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    let direct = run(&["parse", "--format", "json", &root(SEED)]);
    assert_eq!(written, out(&direct));
    // Nothing else left in the directory (no temporary file).
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    // An SVG too.
    let svg = d.join("g.svg");
    let o = run(&["graph", &root(TRACE), "--output", svg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("</svg>"));
    // Nothing readable: FILE is neither created nor replaced.
    std::fs::write(&svg, "old picture").unwrap();
    let o = run(&["graph", "/nonexistent/t.jsonl", "-o", svg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), "old picture");
    let fresh = d.join("fresh.svg");
    let o = run(&[
        "graph",
        "/nonexistent/t.jsonl",
        "-o",
        fresh.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!fresh.exists());
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        2,
        "no temporary left"
    );
    // A file that cannot be written: exit 2, named.
    let o = run(&["parse", "-o", "/nonexistent-dir/x.txt", &root(SEED)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("/nonexistent-dir/x.txt"), "{}", err(&o));
    std::fs::remove_dir_all(&d).unwrap();
}

// ---- usage errors ----

#[test]
fn combinations_that_cannot_work_are_usage_errors() {
    let seed = root(SEED);
    let trace = root(TRACE);
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["parse", "--summary", "--format", "dot", &seed],
            &["--summary", "dot"],
        ),
        (
            vec!["parse", "--summary", "--verbose", &seed],
            &["--summary", "--verbose"],
        ),
        (
            vec!["parse", "--verbose", "--format", "json", &seed],
            &["--verbose", "json"],
        ),
        (
            vec!["parse", "--verbose", "--format", "dot", &seed],
            &["--verbose", "dot"],
        ),
        (
            vec!["replay", "--verbose", "--format", "json", &seed],
            &["--verbose", "json"],
        ),
        (
            vec!["graph", "--all", "--max-nodes", "10", &trace],
            &["--all", "--max-nodes"],
        ),
        (
            vec!["graph", "--all", "--max-edges", "10", &trace],
            &["--all", "--max-edges"],
        ),
        (vec!["graph", "--max-edges", "0", &trace], &["--max-edges"]),
        (
            vec!["parse", "-q", "-o", "x.txt", &seed],
            &["--quiet", "--output"],
        ),
        (vec!["-q", "completions", "bash"], &["--quiet"]),
        (vec!["parse", "--color", "sometimes", &seed], &["--color"]),
        (vec!["completions", "tcsh"], &["tcsh"]),
    ];
    for (args, names) in cases {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
        let e = err(&o);
        assert!(e.starts_with("error:"), "{args:?}: {e}");
        for n in names {
            assert!(e.contains(n), "{args:?} should name {n}: {e}");
        }
    }
    // Refinements name trace classes: with a kernel log they are an error naming the input.
    let o = run(&["replay", "--split-class", "x", &seed]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("traces only"), "{}", err(&o));
}

// ---- help, completions, man ----

#[test]
fn every_help_has_exit_status_and_examples() {
    for sub in ["parse", "replay", "check", "graph"] {
        let o = run(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        let h = out(&o);
        assert!(h.contains("Exit status"), "{sub}: {h}");
        let examples = h
            .split_once("Examples:")
            .unwrap_or_else(|| panic!("{sub}: {h}"))
            .1;
        assert!(
            examples
                .lines()
                .filter(|l| l.contains("lockcheck "))
                .count()
                >= 2,
            "{sub}: {examples}"
        );
    }
    // parse has a long help (--help) beyond the short one (-h).
    let long = out(&run(&["parse", "--help"]));
    let short = out(&run(&["parse", "-h"]));
    assert!(long.len() > short.len() + 500, "{long}");
    assert!(long.contains("syzbot") && long.contains("likely_false_positive"));
    assert!(out(&run(&["--help"])).contains("Exit status"));
}

#[test]
fn completions_for_every_shell_are_valid() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", err(&o));
        let s = out(&o);
        assert!(s.len() > 1000, "{shell}: {s}");
        assert!(s.contains("parse") && s.contains("fail-on"), "{shell}");
    }
    // Syntax-check with the shells that are installed.
    let d = temp_dir("completions");
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        let present = Command::new("sh")
            .args(["-c", &format!("command -v {}", check[0])])
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            eprintln!(
                "{} not installed: its completion script is not syntax-checked",
                check[0]
            );
            continue;
        }
        let file = d.join(shell);
        std::fs::write(&file, run(&["completions", shell]).stdout).unwrap();
        let o = Command::new(check[0])
            .args(&check[1..])
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}: {}", err(&o));
    }
    // Bash really completes subcommands and values.
    if Path::new("/bin/bash").exists() || Path::new("/usr/bin/bash").exists() {
        let script = d.join("bash");
        let probe = format!(
            "source {}\nCOMP_WORDS=(lockcheck parse --format ''); COMP_CWORD=3; _lockcheck lockcheck '' --format; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let o = Command::new("bash").arg("-c").arg(probe).output().unwrap();
        let words = out(&o);
        assert!(
            words.contains("json") && words.contains("dot"),
            "{words} {}",
            err(&o)
        );
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn man_pages_are_roff() {
    for sub in [
        None,
        Some("parse"),
        Some("replay"),
        Some("check"),
        Some("graph"),
    ] {
        let mut args = vec!["man"];
        args.extend(sub);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{sub:?}: {}", err(&o));
        let s = out(&o);
        let name = sub.map_or("lockcheck".to_string(), |s| format!("lockcheck-{s}"));
        assert!(s.contains(&format!(".TH {name} 1")), "{sub:?}: {s}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS"] {
            assert!(s.contains(section), "{sub:?} lacks {section}");
        }
        assert!(s.contains("Exit status"), "{sub:?}");
    }
    let o = run(&["man", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    // groff, when installed, reads it without warnings.
    let present = Command::new("sh")
        .args(["-c", "command -v groff"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        let mut child = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&run(&["man", "parse"]).stdout)
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success() && o.stderr.is_empty(), "{}", err(&o));
    }
}

// ---- JSON documents and their schema ----

fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root("docs/lockcheck-output.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::meta::validate(&schema).expect("the schema is a valid JSON Schema");
    jsonschema::validator_for(&schema).unwrap()
}

fn validate_lines(v: &jsonschema::Validator, what: &str, text: &str) -> Vec<serde_json::Value> {
    let mut docs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let doc: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}:{}: {e}", i + 1));
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}:{}: {errors:#?}\n{line}", i + 1);
        assert_eq!(doc["version"], 1);
        docs.push(doc);
    }
    docs
}

/// No string value anywhere holds a JSON object or array.
fn no_json_in_strings(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::String(s) => {
            let t = s.trim();
            let nested = (t.starts_with('{') && t.ends_with('}'))
                || (t.starts_with('[') && t.ends_with(']'));
            assert!(
                !(nested && serde_json::from_str::<serde_json::Value>(t).is_ok()),
                "{path} holds JSON in a string: {s}"
            );
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                no_json_in_strings(x, &format!("{path}[{i}]"));
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                no_json_in_strings(x, &format!("{path}.{k}"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_json_document_matches_the_schema() {
    let v = schema_validator();
    let logs = root("fixtures/logs");
    let mut seen = std::collections::BTreeSet::new();
    let runs: Vec<Vec<String>> = vec![
        vec![
            "parse".into(),
            "--format".into(),
            "json".into(),
            logs.clone(),
        ],
        vec![
            "parse".into(),
            "--summary".into(),
            "--format".into(),
            "json".into(),
            logs.clone(),
        ],
        vec![
            "replay".into(),
            "--format".into(),
            "json".into(),
            root(SEED),
        ],
        vec![
            "replay".into(),
            "--format".into(),
            "json".into(),
            root(TRACE),
        ],
        vec![
            "check".into(),
            "--format".into(),
            "json".into(),
            root(TRACE),
        ],
    ];
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            err(&o)
        );
        let docs = validate_lines(&v, &args.join(" "), &out(&o));
        assert!(!docs.is_empty(), "{args:?}");
        for d in &docs {
            seen.insert(d["schema"].as_str().unwrap().to_string());
            no_json_in_strings(d, "$");
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "lockcheck.check.report",
            "lockcheck.parse.report",
            "lockcheck.parse.summary",
            "lockcheck.replay.report",
            "lockcheck.replay.splat"
        ]
    );
    // The schema is strict: an unknown field or a wrong type is refused.
    let mut doc = validate_lines(
        &v,
        "seed",
        &out(&run(&["parse", "--format", "json", &root(SEED)])),
    )
    .remove(0);
    doc["surprise"] = serde_json::json!(1);
    assert!(!v.is_valid(&doc));
    doc.as_object_mut().unwrap().remove("surprise");
    doc["line"] = serde_json::json!("75");
    assert!(!v.is_valid(&doc));
}

#[test]
fn the_json_format_doc_links_the_schema() {
    let doc = std::fs::read_to_string(root("docs/json-format.md")).unwrap();
    assert!(doc.contains("lockcheck-output.schema.json"));
    for name in [
        "lockcheck.parse.report",
        "lockcheck.parse.summary",
        "lockcheck.replay.report",
        "lockcheck.replay.splat",
        "lockcheck.check.report",
    ] {
        assert!(
            doc.contains(name),
            "docs/json-format.md does not name {name}"
        );
    }
}

// ---- closed pipes ----

/// Runs `args`, reads `keep` bytes of standard output, closes it, and returns the exit status
/// and standard error.
fn with_closed_pipe(args: &[&str], keep: usize) -> (Option<i32>, String) {
    let mut child = cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; keep];
    let _ = stdout.read_exact(&mut buf);
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    (o.status.code(), err(&o))
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_same_status_in_every_format() {
    let seed = root(SEED);
    let many: Vec<&str> = std::iter::repeat_n(seed.as_str(), 300).collect();
    let formats: [&[&str]; 5] = [
        &["--format", "text"],
        &["--format", "json"],
        &["--format", "dot"],
        &["--summary"],
        &["--summary", "--format", "json"],
    ];
    for f in formats {
        for keep in [0, 10] {
            let mut args = vec!["parse"];
            args.extend_from_slice(f);
            args.extend_from_slice(&many);
            let (code, e) = with_closed_pipe(&args, keep);
            assert_eq!(code, Some(1), "{f:?} keep {keep}: {e}");
            assert!(e.is_empty(), "{f:?} keep {keep}: {e}");
        }
    }
    // Completions and man pages too.
    for args in [["completions", "bash"], ["man", "parse"]] {
        let (code, e) = with_closed_pipe(&args, 0);
        assert_eq!(code, Some(0), "{args:?}: {e}");
        assert!(e.is_empty(), "{args:?}: {e}");
    }
    // A trace of 2000 distinct cycles: replay and check write far more than a pipe holds.
    let d = temp_dir("pipe-trace");
    let cycles = d.join("cycles.jsonl");
    let mut t = String::new();
    for i in 0..2000 {
        for (th, a, b) in [(1, "a", "b"), (2, "b", "a")] {
            t.push_str(&format!(
                "{{\"thread\":{th},\"op\":\"acquire\",\"lock\":\"{a}{i}\"}}\n{{\"thread\":{th},\"op\":\"acquire\",\"lock\":\"{b}{i}\"}}\n{{\"thread\":{th},\"op\":\"release\",\"lock\":\"{b}{i}\"}}\n{{\"thread\":{th},\"op\":\"release\",\"lock\":\"{a}{i}\"}}\n"
            ));
        }
    }
    std::fs::write(&cycles, t).unwrap();
    let c = cycles.to_str().unwrap();
    for args in [
        ["replay", "--format=text", c],
        ["replay", "--format=json", c],
        ["check", "--format=text", c],
        ["check", "--format=json", c],
    ] {
        let (code, e) = with_closed_pipe(&args, 100);
        assert_eq!(code, Some(1), "{args:?}: {e}");
        assert!(e.is_empty(), "{args:?}: {e}");
    }
    std::fs::remove_dir_all(&d).unwrap();
    // Replay and check too.
    let trace = root(TRACE);
    let traces: Vec<&str> = std::iter::repeat_n(trace.as_str(), 200).collect();
    for sub in [["replay", "--format=text"], ["replay", "--format=json"]] {
        for inputs in [&many, &traces] {
            let mut args = sub.to_vec();
            args.extend_from_slice(inputs);
            let (code, e) = with_closed_pipe(&args, 0);
            assert_eq!(code, Some(1), "{args:?}: {e}");
            assert!(e.is_empty(), "{sub:?}: {e}");
        }
    }
}

// ---- inputs without reports ----

#[test]
fn an_input_without_a_report_says_so_on_stderr() {
    let d = temp_dir("noreport");
    let empty = d.join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let random = d.join("random.log");
    // Printable noise (binary input is refused with an error of its own).
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let noise: String = (0..20000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 80 == 79 {
                '\n'
            } else {
                (b' ' + (x % 94) as u8) as char
            }
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    for file in [&empty, &random] {
        let f = file.to_str().unwrap();
        let o = run(&["parse", f]);
        assert_eq!(o.status.code(), Some(0));
        assert!(o.stdout.is_empty());
        assert_eq!(err(&o), format!("lockcheck: no lockdep report in {f}\n"));
        // Standard output as before in every format (a DOT graph stays one valid graph).
        let json = run(&["parse", "--format", "json", f]);
        assert!(json.stdout.is_empty());
        let dot = run(&["parse", "--format", "dot", f]);
        assert!(out(&dot).starts_with("digraph"));
    }
    // Standard input.
    let o = cmd()
        .args(["parse"])
        .stdin(std::fs::File::open(&empty).unwrap())
        .output()
        .unwrap();
    assert_eq!(err(&o), "lockcheck: no lockdep report in standard input\n");
    // A file with a report is not named; a directory without any is named once.
    let o = run(&["parse", &root(SEED), empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!("lockcheck: no lockdep report in {}\n", empty.display())
    );
    let o = run(&["parse", d.to_str().unwrap()]);
    assert_eq!(
        err(&o),
        format!(
            "lockcheck: no lockdep report in {} (2 files)\n",
            d.display()
        )
    );
    std::fs::remove_dir_all(&d).unwrap();
}

// ---- pictures of dense graphs ----

/// A trace of `classes` classes and `deps` distinct dependencies, a few of them closing
/// cycles.
fn dense_trace(path: &Path, classes: usize, deps: usize) {
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let mut pairs = std::collections::BTreeSet::new();
    while pairs.len() < deps {
        let (mut a, mut b) = (next() % classes, next() % classes);
        if a == b {
            continue;
        }
        if a > b && next() % 500 != 0 {
            std::mem::swap(&mut a, &mut b);
        }
        pairs.insert((a, b));
    }
    let mut s = String::new();
    for (i, (a, b)) in pairs.iter().enumerate() {
        let t = i % 8 + 1;
        for (op, l) in [
            ("acquire", a),
            ("acquire", b),
            ("release", b),
            ("release", a),
        ] {
            s.push_str(&format!(
                "{{\"thread\":{t},\"op\":\"{op}\",\"lock\":\"class_{l:03}\"}}\n"
            ));
        }
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn a_dense_graph_is_capped_says_what_it_left_out_and_the_cap_can_be_lifted() {
    let d = temp_dir("dense");
    let trace = d.join("dense.jsonl");
    dense_trace(&trace, 300, 10_000);
    let t = trace.to_str().unwrap();

    let start = Instant::now();
    let o = run(&["graph", t]);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(1), "cycles were drawn: {}", err(&o));
    // Generous for a debug build on a shared machine; a release build takes well under 2 s.
    assert!(took < Duration::from_secs(60), "{took:?}");
    let svg = out(&o);
    assert!(svg.len() < 3_000_000, "{} bytes", svg.len());
    let drawn =
        svg.matches("<g class=\"edge\">").count() + svg.matches("<g class=\"edge cycle\">").count();
    assert!(drawn <= 300, "{drawn} edges drawn");
    let e = err(&o);
    assert!(
        e.contains("of 10000 dependencies drawn; --all draws everything"),
        "{e}"
    );
    assert!(e.contains("of 300 classes"), "{e}");
    // The picture says it too, and ties labels to their arrows.
    assert!(svg.contains("of 10000 dependencies drawn; --all draws everything"));
    assert_eq!(svg.matches("class=\"attach\"").count(), drawn);

    // Caps are flags; --all lifts them.
    let o = run(&[
        "graph",
        "--format",
        "dot",
        "--max-edges",
        "50",
        "--max-nodes",
        "40",
        t,
    ]);
    let dot = out(&o);
    assert!(
        dot.matches(" -> n").count() <= 50 + 20,
        "{}",
        dot.matches(" -> n").count()
    );
    assert!(dot.contains("decorate=true"));
    let o = run(&["graph", "--format", "dot", "--all", t]);
    assert_eq!(out(&o).matches(" -> n").count(), 10_000);
    assert!(!err(&o).contains("drawn"), "{}", err(&o));
    std::fs::remove_dir_all(&d).unwrap();
}

// ---- progress ----

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_long_run_shows_a_progress_bar_on_a_terminal_only() {
    if !has("script") {
        eprintln!("script(1) not installed: the terminal case is not tested");
        return;
    }
    let seed = root(SEED);
    let bin = env!("CARGO_BIN_EXE_lockcheck");
    // A run that lasts over a second: the input pauses for two.
    let run_in = |tail: &str| {
        let shell = format!("(cat '{seed}'; sleep 2; cat '{seed}') | '{bin}' parse {tail}");
        Command::new("script")
            .args(["-qfc", &shell, "/dev/null"])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // On a terminal: a bar (bytes read, no total for a pipe), cleared at the end.
    let o = run_in("--color never");
    let s = String::from_utf8_lossy(&o.stdout);
    if !s.contains("possible deadlock") {
        eprintln!("script(1) could not run the command on a terminal here: {s}");
        return;
    }
    assert!(s.contains("/s) standard input"), "{s}");
    assert!(s.contains("possible deadlock in alloc_pid"));
    // With --quiet, or standard error not a terminal: none.
    let o = run_in("-q");
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(!s.contains("/s)"), "{s}");
    let o = run_in("--color never 2>/dev/null");
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(!s.contains("/s)"), "{s}");
    assert!(s.contains("possible deadlock in alloc_pid"));
}
