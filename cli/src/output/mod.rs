//! Output back-ends behind one trait: [`text::TextPrinter`], [`json::JsonPrinter`],
//! [`dot::DotPrinter`], [`summary::SummaryPrinter`].

pub mod dot;
pub mod json;
pub mod summary;
pub mod text;

use std::io::{self, Write};

use crate::report::Report;
use crate::style::Palette;

/// A back-end: called once per report, then once at the end.
pub trait Printer {
    /// Print (or record) one report.
    fn report(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()>;
    /// Print whatever was accumulated.
    fn finish(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// Output format chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON Lines: one object per report.
    Json,
    /// Graphviz `digraph` per report.
    Dot,
}

/// Build the printer for a format; `palette` colours the text formats.
pub fn printer(format: Format, summary: bool, verbose: bool, palette: Palette) -> Box<dyn Printer> {
    if summary {
        return Box::new(summary::SummaryPrinter::new(format).with_palette(palette));
    }
    match format {
        Format::Text => Box::new(text::TextPrinter { verbose, palette }),
        Format::Json => Box::new(json::JsonPrinter),
        Format::Dot => Box::new(dot::DotPrinter::default()),
    }
}
