//! Replaying JSON Lines lock traces (`docs/trace-format.md`), streamed line by line.

use std::io::{self, BufRead, Read};

use lockdep::replay::Replayer;
use lockdep::trace::parse_line;

use super::output::ReplayedReport;

/// Longest trace line accepted; longer ones are skipped without being held in memory.
pub const MAX_LINE: usize = 1 << 20;

/// Consumes the rest of the current line.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// What one trace contributed.
#[derive(Debug, Default)]
pub struct TraceStats {
    /// Events applied.
    pub events: u64,
    /// Records skipped because their `op` is unknown.
    pub skipped: u64,
    /// Malformed lines.
    pub errors: u64,
    /// Limits hit while replaying this input, with how often (the first hit of each limit in a
    /// run is also a `LimitExceeded` report).
    pub limits: Vec<lockdep::replay::LimitHit>,
}

impl TraceStats {
    /// One line per limit hit: what was skipped and the knob that raises it.
    pub fn limit_lines(&self, source: &str) -> Vec<String> {
        self.limits
            .iter()
            .map(|h| {
                format!(
                    "lockcheck: {source}: {} ({}) reached: {} {}; set {}=<larger> to raise it",
                    h.name,
                    h.value,
                    h.count,
                    h.what_was_skipped(),
                    h.env_var
                )
            })
            .collect()
    }
}

/// Replays `reader` (named `source`) into `replayer`. Threads and lock instances are namespaced
/// with `prefix` so several runs merge by class name only. Reports go to `emit`; malformed lines
/// are described on `err` as `source:line: field ...` and skipped.
pub fn replay_trace(
    source: &str,
    mut reader: impl BufRead,
    prefix: &str,
    replayer: &mut Replayer,
    err: &mut dyn io::Write,
    emit: &mut dyn FnMut(ReplayedReport) -> io::Result<()>,
) -> io::Result<TraceStats> {
    let mut stats = TraceStats::default();
    let before: Vec<lockdep::replay::LimitHit> = replayer.limit_hits().to_vec();
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?
            == 0
        {
            break;
        }
        line_no += 1;
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            stats.errors += 1;
            writeln!(
                err,
                "lockcheck: {source}:{line_no}: line longer than {MAX_LINE} bytes, skipped"
            )?;
            skip_line(&mut reader)?;
            continue;
        }
        // `from_utf8` is the fast check; only a line that fails it pays for the lossy copy.
        let text = match std::str::from_utf8(&buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&buf),
        };
        let mut ev = match parse_line(&text) {
            Ok(Some(ev)) => ev,
            Ok(None) => {
                if !text.trim().is_empty() {
                    stats.skipped += 1;
                }
                continue;
            }
            Err(e) if e.field == "format" => {
                // A newer format: nothing after this line can be read safely.
                stats.errors += 1;
                writeln!(
                    err,
                    "lockcheck: {source}:{line_no}: {e}; this file is skipped"
                )?;
                break;
            }
            Err(e) => {
                stats.errors += 1;
                if buf.last() != Some(&b'\n') {
                    // The last record, cut off: the writer stopped mid-line (killed, aborted).
                    writeln!(
                        err,
                        "lockcheck: {source}:{line_no}: the trace ends inside a record ({} bytes \
                         without a newline, {e}): the process stopped while writing; everything \
                         before it was replayed",
                        buf.len()
                    )?;
                } else {
                    writeln!(err, "lockcheck: {source}:{line_no}: {e}")?;
                }
                continue;
            }
        };
        if !prefix.is_empty() {
            // Classes merge across runs by name; threads and instances never do.
            if ev.class.is_none() && !ev.lock.is_empty() {
                ev.class = Some(ev.lock.clone());
            }
            ev.thread = format!("{prefix}{}", ev.thread);
            if !ev.lock.is_empty() {
                ev.lock = format!("{prefix}{}", ev.lock);
            }
            if let Some(n) = &mut ev.nest_lock {
                *n = format!("{prefix}{n}");
            }
        }
        match replayer.apply(&ev) {
            Ok(reports) => {
                stats.events += 1;
                for r in reports {
                    emit(ReplayedReport::from_trace(source, line_no, r))?;
                }
            }
            Err(e) => {
                stats.errors += 1;
                writeln!(err, "lockcheck: {source}:{line_no}: {e}")?;
            }
        }
    }
    // What this input cost in limits (the replayer counts over all inputs).
    for hit in replayer.limit_hits() {
        let earlier = before
            .iter()
            .find(|b| b.name == hit.name)
            .map_or(0, |b| b.count);
        if hit.count > earlier {
            stats.limits.push(lockdep::replay::LimitHit {
                count: hit.count - earlier,
                ..hit.clone()
            });
        }
    }
    Ok(stats)
}
