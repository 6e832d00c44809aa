//! `lockcheck parse`: read inputs, print reports, compute the exit status.
//!
//! Exit status: 0 no report found (or none at the `--fail-on` level), 1 at least one report
//! at that level (by default any report), 2 an input could not be read (the other inputs are
//! still processed). A closed output pipe stops quietly.

use std::io::{self, Write};

use crate::input::describe;
use crate::output::{self, Format};
use crate::splat;

/// Options of `lockcheck parse`, independent of clap.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Files to read; `-` is standard input.
    pub inputs: Vec<String>,
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

/// Run `lockcheck parse`.
pub fn run(opts: &ParseOptions, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    let mut printer = output::printer(opts.format, opts.summary, opts.verbose);
    let mut outcome = Outcome::default();
    for input in &opts.inputs {
        let reader = match crate::input::open(input) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                outcome.input_errors += 1;
                continue;
            }
        };
        let mut tolerated = 0;
        let result = splat::parse_reader(input, reader, |r| {
            if !opts.fail_on.counts(r.verdict.label) {
                tolerated += 1;
            }
            // Each report is whole on the output as soon as it is found (`dmesg -w | ...`).
            printer.report(out, &r).and_then(|()| out.flush())
        });
        outcome.tolerated += tolerated;
        if outcome.record(err, input, result) {
            return outcome;
        }
    }
    match printer.finish(out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => outcome.broken_pipe = true,
        Err(e) => {
            let _ = writeln!(err, "lockcheck: writing output: {e}");
            outcome.input_errors += 1;
        }
        Ok(()) => {}
    }
    outcome
}
