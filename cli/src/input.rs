//! What every subcommand shares about inputs: opening them (`-` is standard input), naming their
//! errors, and the exit status.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

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
