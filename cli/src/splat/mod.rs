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
pub mod scan;
pub mod stack;

use std::io::BufRead;

use crate::classify::{self, Context};
use crate::report::Report;

/// Parse one input, calling `on_report` with every report (classified, titled) in
/// input order as soon as it is complete. Memory stays bounded by the largest report.
///
/// Errors: reading errors of `reader`, and whatever `on_report` returns.
pub fn parse_reader<R: BufRead>(
    source: &str,
    reader: R,
    mut on_report: impl FnMut(Report) -> std::io::Result<()>,
) -> std::io::Result<usize> {
    let mut lines = line::LineReader::new(reader);
    let mut scanner = scan::Scanner::new(source);
    let mut ctx = Context::default();
    let mut count = 0;
    let mut emit = |scanner: &mut scan::Scanner, ctx: &mut Context| -> std::io::Result<()> {
        while let Some(mut r) = scanner.pop() {
            classify::classify(&mut r, ctx);
            ctx.earlier.push((r.line, r.kind));
            count += 1;
            on_report(r)?;
        }
        Ok(())
    };
    loop {
        match lines.next_line() {
            Ok(Some(l)) => {
                scanner.push(l);
                emit(&mut scanner, &mut ctx)?;
            }
            Ok(None) => break,
            Err(e) => {
                // Report what was read so far, then the error.
                scanner.finish();
                emit(&mut scanner, &mut ctx)?;
                return Err(e);
            }
        }
    }
    scanner.finish();
    emit(&mut scanner, &mut ctx)?;
    Ok(count)
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
