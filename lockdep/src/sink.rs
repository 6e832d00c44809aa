//! Where reports go: panic, log, a buffer, or a user callback.

use std::sync::Arc;

use crate::report::Report;

/// What the validator does with each report.
#[derive(Clone)]
#[non_exhaustive]
pub enum OnReport {
    /// Panic with the report text (the default: a test that deadlocks in theory fails now).
    /// While the thread is already panicking or exiting (its thread-locals being destroyed),
    /// and for limit reports, the report is logged instead: a panic there would abort the
    /// process or stop a program that can go on.
    Panic,
    /// Print the report to the process's stderr and go on. It is written to the stderr file
    /// directly, not through `eprintln!`, so libtest's output capture does not hide it; when a
    /// `tracing` subscriber takes lockdep's report events (target `lockdep`, level WARN), the
    /// report goes there instead, once.
    Log,
    /// Keep reports in the validator's buffer ([`Validator::take_reports`](crate::Validator::take_reports)).
    Collect,
    /// Call a function (outside every internal lock; it may take lockdep locks itself). It may
    /// panic: the rest of the reports made at the same moment still reach it, then the first
    /// panic goes on, and the locks are left as in panic mode (an acquisition that was reported
    /// before its lock was taken is not taken; a trylock that was reported after it is released).
    /// It is also called while the thread unwinds (a report made by a guard dropped then), where
    /// a panic aborts the process, as any: check [`std::thread::panicking`] before panicking.
    Callback(Arc<dyn Fn(&Report) + Send + Sync>),
}

impl std::fmt::Debug for OnReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnReport::Panic => "Panic",
            OnReport::Log => "Log",
            OnReport::Collect => "Collect",
            OnReport::Callback(_) => "Callback",
        })
    }
}

impl OnReport {
    /// `LOCKDEP_ON_REPORT=panic|log|collect`; panic when unset or unknown (the latter with a warning).
    pub fn from_env() -> Self {
        match std::env::var("LOCKDEP_ON_REPORT").as_deref() {
            Ok("log") => OnReport::Log,
            Ok("collect") => {
                // Set by hand, it keeps every report where only a program that takes them
                // looks: say so once, or a run with reports looks clean.
                to_terminal(
                    "lockdep: LOCKDEP_ON_REPORT=collect: reports are kept for \
                     lockdep::global().take_reports() and printed nowhere (log prints them)",
                );
                OnReport::Collect
            }
            Ok("panic") | Err(_) => OnReport::Panic,
            Ok(other) => {
                to_terminal(&format!(
                    "lockdep: ignoring LOCKDEP_ON_REPORT={other:?}: expected panic, log or collect"
                ));
                OnReport::Panic
            }
        }
    }
}

/// Whether this thread is running thread-local destructors (its work function has
/// returned). A panic there aborts the process, so a report is logged instead.
///
/// std does not say so directly: the report path (rare) looks at its own stack for the
/// destructor machinery of std and of the C library.
pub(crate) fn in_thread_local_destructor() -> bool {
    let bt = std::backtrace::Backtrace::force_capture().to_string();
    bt.contains("__call_tls_dtors")
        || bt.contains("run_dtors")
        || bt.contains("thread_local") && (bt.contains("destroy") || bt.contains("::dtor"))
}

/// Emits the structured `tracing` event every report produces.
pub(crate) fn trace_event(report: &Report) {
    tracing::warn!(
        target: "lockdep",
        kind = report.kind().as_str(),
        classes = ?report.classes(),
        thread = %report.thread.name,
        report = %report,
        "{}",
        report.title()
    );
}

/// Prints a report that is logged rather than raised ([`OnReport::Log`], and the reports the
/// panic mode only logs). Written to the stderr file directly: libtest captures `eprintln!`
/// (and shows it only for failing tests), while a report must reach the terminal. When a
/// `tracing` subscriber takes the report event ([`trace_event`]), that is where it goes, so it
/// is never printed twice.
/// A line to stderr itself, not through `eprintln!`, which libtest captures per test: a
/// setting's note must reach the terminal of a passing test too.
fn to_terminal(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub(crate) fn log_report(report: &Report) {
    if tracing::enabled!(target: "lockdep", tracing::Level::WARN) {
        return;
    }
    use std::io::Write;
    let text = format!("{report}\n");
    // A closed stderr loses the report; nothing else can be done with it.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
