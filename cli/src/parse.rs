//! `lockcheck parse`: read inputs, print reports, compute the exit status.
//!
//! Exit status: 0 no report found (or none at the `--fail-on` level), 1 at least one report
//! at that level (by default any report), 2 an input could not be read (the other inputs are
//! still processed). A closed output pipe stops quietly; the exit status then counts the
//! reports found until then, the one being written included, so `lockcheck parse log | head`
//! exits as the whole run would have on a log whose first report fails it, in every format.
//!
//! An input with no lockdep report at all gets one line on standard error (`lockcheck: no
//! lockdep report in FILE`); standard output is the same as for any run.

use std::io::{self, Write};

use crate::input::describe;
use crate::output::{self, Format};
use crate::progress::Progress;
use crate::splat;
use crate::ui::Ui;

/// Options of `lockcheck parse`, independent of clap.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Files to read; `-` is standard input.
    pub inputs: Vec<String>,
    /// How the inputs were named: each name given and how many of `inputs` (in order) it
    /// stands for (a directory stands for the files below it). Empty: each input stands for
    /// itself. Used to say which named input had no report.
    pub named: Vec<(String, usize)>,
    /// Output format.
    pub format: Format,
    /// Group reports by title.
    pub summary: bool,
    /// Print every extracted section.
    pub verbose: bool,
    /// Which verdicts make the exit status 1.
    pub fail_on: FailOn,
}

pub use crate::input::{FailOn, Outcome};

/// Run `lockcheck parse` with no colour and no progress bar.
pub fn run(opts: &ParseOptions, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    run_with(opts, &Ui::default(), out, err)
}

/// The note for a named input without any report: `standard input` for `-`, a directory with
/// how many files it held.
fn no_report_note(name: &str, files: usize) -> String {
    if name == "-" {
        "lockcheck: no lockdep report in standard input".to_string()
    } else if files != 1 || std::path::Path::new(name).is_dir() {
        format!(
            "lockcheck: no lockdep report in {name} ({files} file{})",
            if files == 1 { "" } else { "s" }
        )
    } else {
        format!("lockcheck: no lockdep report in {name}")
    }
}

/// Run `lockcheck parse` with the colours and progress bar of `ui`.
pub fn run_with(opts: &ParseOptions, ui: &Ui, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    let progress = Progress::over_bytes(ui.progress, &opts.inputs);
    let mut err = progress.err(err);
    let err = &mut err;
    let mut printer = output::printer(opts.format, opts.summary, opts.verbose, ui.palette);
    let mut outcome = Outcome::default();
    // Reports found per input (None: the input could not be read).
    let mut found_per_input: Vec<Option<usize>> = Vec::with_capacity(opts.inputs.len());
    for input in &opts.inputs {
        let reader = match crate::input::open_with(input, &progress) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                outcome.input_errors += 1;
                found_per_input.push(None);
                continue;
            }
        };
        let mut tolerated = 0;
        let mut found = 0;
        let result = splat::parse_reader(input, reader, |r| {
            // Counted before it is written: a report the closed pipe cut off still counts.
            found += 1;
            if !opts.fail_on.counts(r.verdict.label) {
                tolerated += 1;
            }
            // Each report is whole on the output as soon as it is found (`dmesg -w | ...`).
            // With the bar cleared: standard output may be the same terminal.
            progress.suspend(|| printer.report(out, &r).and_then(|()| out.flush()))
        });
        outcome.tolerated += tolerated;
        let failed = result.is_err() && !is_broken_pipe(&result);
        found_per_input.push((!failed).then_some(found));
        if outcome.record(err, input, result.map(|_| found)) {
            if outcome.broken_pipe {
                outcome.reports += found;
            }
            progress.finish();
            return outcome;
        }
    }
    progress.finish();
    match printer.finish(out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            outcome.broken_pipe = true;
            return outcome;
        }
        Err(e) => {
            let _ = writeln!(err, "lockcheck: writing output: {e}");
            outcome.input_errors += 1;
        }
        Ok(()) => {}
    }
    // Which named inputs had no report at all (unreadable ones said why already).
    let named: Vec<(String, usize)> = if opts.named.is_empty() {
        opts.inputs.iter().map(|i| (i.clone(), 1)).collect()
    } else {
        opts.named.clone()
    };
    let mut at = 0;
    for (name, n) in named {
        let counts = found_per_input.get(at..at + n).unwrap_or(&[]);
        at += n;
        if counts.iter().all(|c| *c == Some(0)) {
            let _ = writeln!(err, "{}", no_report_note(&name, n));
        }
    }
    outcome
}

fn is_broken_pipe<T>(r: &io::Result<T>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_name_the_input() {
        assert_eq!(
            no_report_note("-", 1),
            "lockcheck: no lockdep report in standard input"
        );
        assert_eq!(
            no_report_note("a.log", 1),
            "lockcheck: no lockdep report in a.log"
        );
        assert_eq!(
            no_report_note("logs", 3),
            "lockcheck: no lockdep report in logs (3 files)"
        );
    }

    #[test]
    fn an_input_without_reports_gets_one_line_on_stderr() {
        let dir = std::env::temp_dir().join(format!("lockcheck-parse-note-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.log");
        std::fs::write(&empty, "").unwrap();
        let opts = ParseOptions {
            inputs: vec![empty.display().to_string()],
            ..ParseOptions::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run(&opts, &mut out, &mut err);
        assert_eq!(outcome.exit_code(), 0);
        assert!(out.is_empty());
        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!("lockcheck: no lockdep report in {}\n", empty.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
