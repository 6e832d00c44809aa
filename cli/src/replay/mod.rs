//! `lockcheck replay`: re-run lock traces, and chains reconstructed from kernel splats, through
//! the `lockdep` validator — the same code that checks a live program.
//!
//! Inputs are told apart by name and content: a `.jsonl`/`.json`/`.ndjson` file, or one whose
//! first non-blank byte is `{`, is a JSON Lines trace (`docs/trace-format.md`); anything else is a
//! kernel log. Traces given together are
//! merged by class name (threads and instances stay apart), which finds cycles across runs.
//!
//! Exit status: 2 if any input error (unreadable file, malformed trace line), else 1 if any
//! report, else 0.

pub mod output;
pub mod splat;
pub mod trace;

use std::io::{self, BufRead, Write};

use lockdep::replay::{ClassRefinement, Replayer};
use serde_json::json;

use crate::input::describe;
use crate::progress::Progress;
use crate::report::Kind;
use crate::style::Palette;
use crate::ui::Ui;
pub use output::ReplayedReport;

/// Options of `lockcheck replay`, independent of clap.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Files to read; `-` is standard input.
    pub inputs: Vec<String>,
    /// JSON Lines instead of text.
    pub json: bool,
    /// Class refinements for traces (`--split-class`, `--merge-class`, `--class-of`).
    pub refinement: ClassRefinement,
    /// Also print the reconstructed events of kernel splats.
    pub verbose: bool,
}

pub use crate::input::Outcome;

/// Parses `A=B` for `--merge-class` and `--class-of`.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("expected NAME=NAME, got {s:?}")),
    }
}

/// Runs `lockcheck replay` with no colour and no progress bar.
pub fn run(opts: &ReplayOptions, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    run_with(opts, &Ui::default(), out, err)
}

/// Runs `lockcheck replay` with the colours and progress bar of `ui`.
pub fn run_with(
    opts: &ReplayOptions,
    ui: &Ui,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Outcome {
    let progress = Progress::over_bytes(ui.progress, &opts.inputs);
    let mut err = progress.err(err);
    let err: &mut dyn Write = &mut err;
    let mut outcome = Outcome::default();
    let mut replayer = Replayer::new(lockdep::Config::from_env(), opts.refinement.clone());
    let multiple = opts.inputs.len() > 1;
    let labels = trace::labels(&opts.inputs);
    // What the refinement options matched, once a trace was read.
    let mut refinement_use: Option<trace::RefinementUse> = None;
    for (index, input) in opts.inputs.iter().enumerate() {
        let reader = match crate::input::open_with(input, &progress) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                outcome.input_errors += 1;
                continue;
            }
        };
        let result = replay_input(
            opts,
            ui.palette,
            &progress,
            input,
            index,
            multiple.then_some(labels[index].as_str()),
            reader,
            &mut replayer,
            &mut refinement_use,
            out,
            err,
            &mut outcome,
        );
        // Reports were counted as they were printed.
        if outcome.record(err, input, result.map(|()| 0)) {
            progress.finish();
            return outcome;
        }
    }
    progress.finish();
    if let Some(used) = &refinement_use {
        for line in used.unused(&opts.refinement) {
            let _ = writeln!(err, "lockcheck: warning: {line}");
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => outcome.broken_pipe = true,
        Err(e) => {
            let _ = writeln!(err, "lockcheck: writing output: {e}");
            outcome.input_errors += 1;
        }
        Ok(()) => {}
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
fn replay_input(
    opts: &ReplayOptions,
    palette: Palette,
    progress: &Progress,
    input: &str,
    index: usize,
    label: Option<&str>,
    mut reader: Box<dyn BufRead>,
    replayer: &mut Replayer,
    refinement_use: &mut Option<trace::RefinementUse>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    if is_trace(input, &mut reader)? {
        // A graph file or lockcheck's own output would fail on every line: say what it is.
        if let Some(why) = crate::check::not_a_trace(&crate::check::sniff_reader(&mut reader)?) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, why));
        }
        let prefix = if label.is_some() {
            format!("{}:", index + 1)
        } else {
            String::new()
        };
        let mut emit = |r: ReplayedReport| {
            outcome.reports += 1;
            progress.suspend(|| output::write_report(out, &r, opts.json, palette))
        };
        let mut stats = trace::replay_trace_labelled(
            input,
            reader,
            &prefix,
            label,
            Some(&opts.refinement),
            replayer,
            err,
            &mut emit,
        )?;
        outcome.input_errors += stats.errors as usize;
        refinement_use
            .get_or_insert_with(Default::default)
            .absorb(std::mem::take(&mut stats.refinement_use));
        for line in stats.limit_lines(input) {
            writeln!(err, "{line}")?;
        }
        if stats.skipped > 0 {
            writeln!(
                err,
                "lockcheck: {input}: skipped {} record(s) with an op this version does not know",
                stats.skipped
            )?;
        }
        if stats.events == 0 && stats.errors == 0 {
            writeln!(err, "lockcheck: {input}: no events")?;
        }
        return Ok(());
    }
    // A kernel log: replay each circular dependency it reports. Class refinements name trace
    // classes; a splat is split by its own rules, so they cannot apply to it.
    if !opts.refinement.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a kernel log: --split-class, --merge-class and --class-of apply to traces only \
             (a splat's generic classes are split by code path without them)",
        ));
    }
    let mut found = 0usize;
    let mut failure: Option<io::Error> = None;
    crate::splat::parse_reader(input, reader, |r| {
        if r.kind != Kind::CircularDependency {
            return Ok(());
        }
        found += 1;
        let Some(replay) = splat::replay_report(&r) else {
            writeln!(
                err,
                "lockcheck: {input}:{}: the dependency chain is too damaged to replay",
                r.line
            )?;
            return Ok(());
        };
        outcome.reports += 1;
        let result = progress.suspend(|| write_splat(out, &r, &replay, opts, palette));
        if let Err(e) = &result {
            failure = Some(io::Error::new(e.kind(), e.to_string()));
        }
        result
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if found == 0 {
        writeln!(
            err,
            "lockcheck: {input}: no circular-dependency report to replay"
        )?;
    }
    Ok(())
}

fn write_splat(
    out: &mut dyn Write,
    r: &crate::report::Report,
    replay: &splat::SplatReplay,
    opts: &ReplayOptions,
    palette: Palette,
) -> io::Result<()> {
    // One verdict: the classifier's, which already weighed this replay (`lockcheck parse`
    // prints the same).
    let label = r.verdict.label.as_str();
    let rule = r.verdict.rule.as_str();
    let explanation = &r.verdict.explanation;
    if opts.json {
        let run_json = |run: &splat::Run| {
            json!({
                "split": run.split,
                "cycle": run.has_cycle(),
                "reports": run.reports.iter().map(|x| json!({
                    "kind": x.kind().as_str(),
                    "title": x.title(),
                    "locks": x.classes(),
                    "cycle": x.cycle(),
                })).collect::<Vec<_>>(),
            })
        };
        // Each event as the object a trace line holds (never JSON inside a JSON string).
        let events: Vec<serde_json::Value> = replay
            .events
            .iter()
            .map(|e| {
                let mut s = String::new();
                e.write_json(&mut s);
                // The trace writer's JSON always parses; null would mark a writer bug.
                serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
            })
            .collect();
        let obj = json!({
            "source": r.source,
            "line": r.line,
            "kind": r.kind.as_str(),
            "title": r.title,
            "locks": r.locks,
            "verdict": {
                "label": label,
                "rule": rule,
                "explanation": explanation,
                "basis": r.verdict.basis,
                "replay": replay.summary(),
            },
            "truncated": r.truncated,
            "replay": {
                "as_seen": run_json(&replay.as_seen),
                "split": replay.split.as_ref().map(run_json),
                "tried": replay.tried.iter().map(run_json).collect::<Vec<_>>(),
                "appearances": replay.appearances.iter().map(|a| json!({
                    "class": a.class,
                    "path": a.path,
                    "role": a.role,
                    "chain_entry": a.chain_entry,
                })).collect::<Vec<_>>(),
                "events": events,
            },
        });
        let obj = crate::output::json::with_header(crate::output::json::SCHEMA_REPLAY_SPLAT, obj);
        return writeln!(out, "{obj}");
    }
    let p = palette;
    writeln!(
        out,
        "{}: {}: {}",
        p.paint(p.location(), format_args!("{}:{}", r.source, r.line)),
        p.paint(p.kind(), r.kind.as_str()),
        p.paint(p.title(), &r.title)
    )?;
    let cycle_of = |run: &splat::Run| {
        run.reports
            .iter()
            .find(|x| x.kind() == lockdep::ReportKind::CircularDependency)
            .map(output::cycle_text)
    };
    match cycle_of(&replay.as_seen) {
        Some(c) => writeln!(out, "  as the kernel saw it: cycle {c} reappears")?,
        None => writeln!(
            out,
            "  as the kernel saw it: no cycle (the chain could not be rebuilt faithfully)"
        )?,
    }
    for t in &replay.tried {
        writeln!(out, "  split {}: cycle remains", t.split.join(", "))?;
    }
    if let Some(s) = &replay.split {
        writeln!(out, "  split {}: cycle gone", s.split.join(", "))?;
    }
    writeln!(out, "  replay: {}", replay.summary())?;
    writeln!(
        out,
        "  {} {} [{rule}] (as `lockcheck parse` gives it): {explanation}",
        p.paint(p.heading(), "verdict:"),
        p.paint(p.verdict(r.verdict.label), label)
    )?;
    if opts.verbose {
        writeln!(out, "  reconstructed events:")?;
        for e in &replay.events {
            let mut s = String::new();
            e.write_json(&mut s);
            write!(out, "    {s}")?;
        }
    }
    writeln!(out)
}

/// Whether `input` is a trace: by its extension, else by peeking (without consuming, so line
/// numbers stay right) at the first non-blank byte of its first block: `{` starts JSON Lines.
pub fn is_trace(input: &str, reader: &mut Box<dyn BufRead>) -> io::Result<bool> {
    if [".jsonl", ".json", ".ndjson"]
        .iter()
        .any(|ext| input.ends_with(ext))
    {
        return Ok(true);
    }
    let buf = reader.fill_buf()?;
    Ok(buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}
