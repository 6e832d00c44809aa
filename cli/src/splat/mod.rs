//! Finding and extracting lockdep reports in kernel logs.
//!
//! ```
//! use lockcheck::splat;
//! let log = "[  1.0] ======================================================\n\
//!            [  1.0] WARNING: possible circular locking dependency detected\n\
//!            [  1.0] 6.1.0 #1 Not tainted\n\
//!            [  1.0] ------------------------------------------------------\n\
//!            [  1.0] t/1 is trying to acquire lock:\n\
//!            [  1.0] ffff000000000001 (b_lock){+.+.}-{3:3}, at: f+0x1/0x2\n";
//! let reports = splat::parse_str("dmesg", log);
//! assert_eq!(reports.len(), 1);
//! assert_eq!(reports[0].kind.as_str(), "circular_dependency");
//! assert!(reports[0].truncated);
//! ```

pub mod extract;
pub mod line;
mod prefilter;
pub mod scan;
pub mod stack;
mod stream;
mod window;

use std::io::BufRead;

use crate::report::Report;

/// Parse one input, calling `on_report` with every report (classified, titled) in
/// input order as soon as it is complete. Memory stays bounded by the largest report.
///
/// The input is read in large blocks; stretches that cannot hold a report are skipped
/// with a byte search for the few strings a report header must contain and only the rest is read line by line, with
/// the same result as reading every line.
///
/// Errors: reading errors of `reader`, and whatever `on_report` returns.
pub fn parse_reader<R: BufRead>(
    source: &str,
    reader: R,
    mut on_report: impl FnMut(Report) -> std::io::Result<()>,
) -> std::io::Result<usize> {
    stream::parse(source, reader, stream::Options::default(), &mut on_report)
}

/// Parse a whole string (tests, small inputs).
pub fn parse_str(source: &str, text: &str) -> Vec<Report> {
    parse_bytes(source, text.as_bytes())
}

/// Parse raw bytes (need not be UTF-8).
pub fn parse_bytes(source: &str, bytes: &[u8]) -> Vec<Report> {
    let mut v = Vec::new();
    let _ = parse_reader(source, bytes, |r| {
        v.push(r);
        Ok(())
    });
    v
}
