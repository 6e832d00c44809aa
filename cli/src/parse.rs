//! `lockcheck parse`: read inputs, print reports, compute the exit status.
//!
//! Exit status: 0 no report found, 1 at least one report, 2 an input could not be read
//! (the other inputs are still processed). A closed output pipe stops quietly.

use std::fs::File;
use std::io::{self, BufReader, Write};

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
}

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Reports printed.
    pub reports: usize,
    /// Inputs that could not be read.
    pub input_errors: usize,
    /// The output pipe was closed.
    pub broken_pipe: bool,
}

impl Outcome {
    /// The documented exit status.
    pub fn exit_code(&self) -> u8 {
        if self.input_errors > 0 {
            2
        } else if self.reports > 0 {
            1
        } else {
            0
        }
    }
}

/// Run `lockcheck parse`.
pub fn run(opts: &ParseOptions, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    let mut printer = output::printer(opts.format, opts.summary, opts.verbose);
    let mut outcome = Outcome::default();
    for input in &opts.inputs {
        let result = if input == "-" {
            let stdin = io::stdin();
            let lock = stdin.lock();
            splat::parse_reader("-", lock, |r| printer.report(out, &r))
        } else {
            match File::open(input) {
                Ok(f) => splat::parse_reader(input, BufReader::with_capacity(1 << 16, f), |r| {
                    printer.report(out, &r)
                }),
                Err(e) => {
                    let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                    outcome.input_errors += 1;
                    continue;
                }
            }
        };
        match result {
            Ok(n) => outcome.reports += n,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                outcome.broken_pipe = true;
                return outcome;
            }
            Err(e) => {
                // Either the input failed mid-way or writing failed.
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                outcome.input_errors += 1;
            }
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

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}
