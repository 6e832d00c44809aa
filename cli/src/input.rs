//! What every subcommand shares about inputs: opening them (`-` is standard input), naming their
//! errors, and the exit status.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Reports printed.
    pub reports: usize,
    /// Inputs that could not be read (or lines of them that were malformed).
    pub input_errors: usize,
    /// The output pipe was closed.
    pub broken_pipe: bool,
}

impl Outcome {
    /// The documented exit status: 2 on any input error, else 1 if any report, else 0.
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

impl Outcome {
    /// Records how reading `input` ended: `reports` found, or an error named on `err` (a closed
    /// output pipe is not an error, it stops the run). Returns true when the run should stop.
    pub fn record(&mut self, err: &mut dyn Write, input: &str, result: io::Result<usize>) -> bool {
        match result {
            Ok(n) => self.reports += n,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.broken_pipe = true;
                return true;
            }
            Err(e) => {
                // Either the input failed mid-way or writing failed.
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                self.input_errors += 1;
            }
        }
        false
    }
}

/// Opens `name` for buffered reading; `-` is standard input.
pub fn open(name: &str) -> io::Result<Box<dyn BufRead>> {
    if name == "-" {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    Ok(Box::new(BufReader::with_capacity(
        1 << 16,
        File::open(name)?,
    )))
}

/// A short description of an I/O error, for messages that name the input.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}
