//! JSON Lines: one object per report (documented in docs/json-format.md).

use std::io::{self, Write};

use super::Printer;
use crate::report::Report;

/// Prints each report as one line of JSON.
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn report(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        serde_json::to_writer(&mut *out, report).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }
}
