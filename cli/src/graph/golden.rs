//! Golden DOT and SVG for small fixtures (`fixtures/graph/`).
//! `LOCKCHECK_BLESS=1 cargo test -p lockcheck graph::golden` rewrites them.

use std::path::PathBuf;

use super::{GraphFormat, GraphModel, GraphOptions, render};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn check(name: &str, actual: &str) {
    let path = fixtures().join("graph").join(name);
    if std::env::var_os("LOCKCHECK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with LOCKCHECK_BLESS=1)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs at line {}:\nexpected: {:?}\nactual:   {:?}\n(run with LOCKCHECK_BLESS=1 to accept)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

pub(crate) fn trace_model(name: &str) -> GraphModel {
    use lockdep::replay::{ClassRefinement, Replayer};
    let text = std::fs::read_to_string(fixtures().join("traces").join(name)).unwrap();
    let mut replayer = Replayer::new(lockdep::Config::default(), ClassRefinement::default());
    let mut reports = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(ev) = lockdep::trace::parse_line(line)
            .unwrap_or_else(|e| panic!("{name}:{}: {} {}", i + 1, e.field, e.message))
        else {
            continue;
        };
        reports.extend(replayer.apply(&ev).unwrap());
    }
    GraphModel::from_replay(replayer.validator(), &reports).with_source(name)
}

fn log_model(name: &str) -> GraphModel {
    let text = std::fs::read_to_string(fixtures().join("logs").join(name)).unwrap();
    GraphModel::from_kernel_reports(&crate::splat::parse_str(name, &text))
}

#[test]
fn small_trace_graph() {
    let m = trace_model("graph-small.jsonl");
    let names: Vec<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "&ledger->lock",
            "accounts",
            "config <\"main\">",
            "journal",
            "metrics",
            "stats.seq"
        ]
    );
    assert_eq!(m.cycles.len(), 1);
    assert_eq!(m.edges.iter().filter(|e| e.in_cycle).count(), 2);
    let closing = m
        .edges
        .iter()
        .find(|e| m.nodes[e.from].name == "&ledger->lock" && m.nodes[e.to].name == "accounts")
        .unwrap();
    assert_eq!(closing.types, "EN");
    assert_eq!(closing.first_seen, "src/audit.rs:25:13 (auditor)");
    let seq = m
        .edges
        .iter()
        .find(|e| m.nodes[e.to].name == "stats.seq")
        .unwrap();
    assert_eq!(seq.types, "ER");

    let opts = GraphOptions::default();
    let dot = render(&m, GraphFormat::Dot, &opts);
    assert!(
        !dot.contains("metrics"),
        "two edges from the cycle: hidden by default"
    );
    check("graph-small.dot", &dot);
    check("graph-small.svg", &render(&m, GraphFormat::Svg, &opts));
    let all = GraphOptions {
        all: true,
        ..GraphOptions::default()
    };
    let dot_all = render(&m, GraphFormat::Dot, &all);
    assert!(dot_all.contains("metrics"));
    check("graph-small-all.dot", &dot_all);
}

#[test]
fn seed_splat_graph() {
    let m = log_model("seed-003-pidmap-seqcount.log");
    assert_eq!(m.cycles.len(), 1);
    let opts = GraphOptions::default();
    check(
        "seed-003-pidmap-seqcount.dot",
        &render(&m, GraphFormat::Dot, &opts),
    );
    check(
        "seed-003-pidmap-seqcount.svg",
        &render(&m, GraphFormat::Svg, &opts),
    );
}

#[test]
fn format_variants_of_the_seed_draw_the_same_graph() {
    let seed = log_model("seed-003-pidmap-seqcount.log");
    for v in ["xform-crlf-seed-003.log", "xform-journalctl-seed-003.log"] {
        let m = log_model(v);
        let pairs = |m: &GraphModel| {
            m.edges
                .iter()
                .map(|e| {
                    (
                        m.nodes[e.from].name.clone(),
                        m.nodes[e.to].name.clone(),
                        e.types.clone(),
                        e.first_seen.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&m), pairs(&seed), "{v}");
    }
}

#[test]
fn every_fixture_log_draws_without_panicking() {
    let mut dir: Vec<_> = std::fs::read_dir(fixtures().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    dir.sort();
    let mut merged = GraphModel::default();
    for p in dir {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let m = GraphModel::from_kernel_reports(&crate::splat::parse_str(&name, &text));
        let svg = render(&m, GraphFormat::Svg, &GraphOptions::default());
        assert!(svg.ends_with("</svg>\n"), "{name}");
        merged = merged.merge(&m);
    }
    assert!(merged.cycles.len() >= 3, "{}", merged.cycles.len());
    let all = GraphOptions {
        all: true,
        ..GraphOptions::default()
    };
    let svg = render(&merged, GraphFormat::Svg, &all);
    let drawn =
        svg.matches("<g class=\"class\"").count() + svg.matches("<g class=\"class cycle\"").count();
    assert_eq!(drawn, merged.nodes.len());
}
