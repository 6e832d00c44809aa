//! Threads that start inside a capture join it, where that cannot be wrong.
//!
//! Stable Rust has no hook on thread creation, so a thread spawned with `std::thread::spawn` or
//! `std::thread::scope` cannot inherit its spawner's validator the way `lockdep::thread`'s
//! threads do. What can be known is when a thread first touches a lock: if that happens while
//! exactly one [`capture`](crate::capture) is running, in a process that runs one test at a time
//! (nextest's process per test, `--test-threads=1`), and the thread has no name (libtest and
//! nextest name the threads that run tests; `std::thread` leaves spawned threads unnamed unless
//! asked), the thread is taken to be the capture's (the one test running started it, or it is a
//! pool's thread that the test's work reached first). It is *adopted*: it reports to the capture until
//! the thread ends or the capture does, whichever comes first; then it goes back to the
//! process-wide validator (what it still held of the capture's locks is forgotten, not reported).
//!
//! With several tests per process and several captures at once nothing can tell which test a
//! new thread belongs to, so none is adopted. `LOCKDEP_ADOPT_THREADS=1` adopts whenever one
//! capture runs (a program that is not a test harness, or a harness this cannot see is serial);
//! `LOCKDEP_ADOPT_THREADS=0` never adopts. A report of the process-wide validator from an
//! unnamed thread while a capture runs says once, on stderr, why it may belong to that capture.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::validator::Validator;

/// A running capture threads may join.
struct Running {
    id: u64,
    validator: Validator,
    // Set when the capture ends; adopted threads check it when they next take the full path.
    ended: Arc<AtomicBool>,
    adopted: bool,
}

static RUNNING: parking_lot::Mutex<Vec<Running>> = parking_lot::Mutex::new(Vec::new());
// How many are in `RUNNING`: a new thread checks it without the lock.
static RUNNING_COUNT: AtomicUsize = AtomicUsize::new(0);
static IDS: AtomicU64 = AtomicU64::new(1);

/// A capture's registration as running; ending it (drop) releases its adopted threads.
pub(crate) struct CaptureRun(u64);

impl CaptureRun {
    /// Registers a capture running in `validator`.
    pub(crate) fn begin(validator: &Validator) -> CaptureRun {
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let mut running = RUNNING.lock();
        running.push(Running {
            id,
            validator: validator.clone(),
            ended: Arc::new(AtomicBool::new(false)),
            adopted: false,
        });
        RUNNING_COUNT.store(running.len(), Ordering::Relaxed);
        CaptureRun(id)
    }
}

impl Drop for CaptureRun {
    fn drop(&mut self) {
        let ended = {
            let mut running = RUNNING.lock();
            let Some(at) = running.iter().position(|r| r.id == self.0) else {
                return;
            };
            let r = running.swap_remove(at);
            RUNNING_COUNT.store(running.len(), Ordering::Relaxed);
            r.adopted.then_some(r.ended)
        };
        if let Some(ended) = ended {
            ended.store(true, Ordering::Relaxed);
            // Every thread takes its full path once, where an adopted one sees `ended`.
            crate::runtime::refresh_steady_states();
        }
    }
}

/// The capture a thread making its first lock operation joins, with the flag that says when it
/// has ended; `None` unless exactly one capture runs, the thread is unnamed and adoption is on.
pub(crate) fn adopt() -> Option<(Validator, Arc<AtomicBool>)> {
    if RUNNING_COUNT.load(Ordering::Relaxed) != 1
        || std::thread::current().name().is_some()
        || !allowed()
    {
        return None;
    }
    let mut running = RUNNING.lock();
    let [only] = running.as_mut_slice() else {
        return None;
    };
    only.adopted = true;
    Some((only.validator.clone(), only.ended.clone()))
}

/// Says once, on stderr, why a report of the process-wide validator may belong to a capture:
/// it comes from an unnamed thread while captures run, and this process could not adopt it.
pub(crate) fn explain_unadopted_report() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if RUNNING_COUNT.load(Ordering::Relaxed) == 0
        || std::thread::current().name().is_some()
        || SAID.swap(true, Ordering::Relaxed)
    {
        return;
    }
    let why = match std::env::var("LOCKDEP_ADOPT_THREADS").as_deref() {
        Ok("0") => "LOCKDEP_ADOPT_THREADS=0 turns adoption off".to_string(),
        _ if !allowed() => {
            "this process runs tests in parallel, so nothing tells which capture it belongs to"
                .to_string()
        }
        _ => format!(
            "{} capture(s) were running, or the thread first locked before the capture began \
             or after it ended",
            RUNNING_COUNT.load(Ordering::Relaxed)
        ),
    };
    // To the stderr file directly, as logged reports: libtest's capture would hide it.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "lockdep: a report from a thread spawned with std::thread while a capture ran went to \
         the process-wide validator: {why}. Spawn it with lockdep::thread (or run its work in \
         Validator::scope), or run the tests under cargo nextest or --test-threads=1, where \
         such threads join the capture (docs/semantics.md, \"Captures, scopes and the threads \
         they spawn\")."
    );
}

/// Whether this process adopts threads: `LOCKDEP_ADOPT_THREADS`, else whether it runs one test
/// at a time.
fn allowed() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| match std::env::var("LOCKDEP_ADOPT_THREADS").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        Ok(other) => {
            eprintln!("lockdep: ignoring LOCKDEP_ADOPT_THREADS={other:?}: expected 1 or 0");
            one_test_at_a_time()
        }
        Err(_) => one_test_at_a_time(),
    })
}

/// nextest runs each test in a process of its own (and says which in `NEXTEST_TEST_NAME`);
/// libtest runs one at a time with `--test-threads=1` or `RUST_TEST_THREADS=1`.
fn one_test_at_a_time() -> bool {
    if std::env::var_os("NEXTEST_TEST_NAME").is_some() {
        return true;
    }
    if std::env::var("RUST_TEST_THREADS").as_deref() == Ok("1") {
        return true;
    }
    serial_args(std::env::args_os())
}

/// Whether libtest's arguments ask for one test thread (any argument may be non-UTF-8).
fn serial_args(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        if a == "--test-threads=1"
            || (a == "--test-threads" && args.next().is_some_and(|n| n == "1"))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::serial_args;

    fn args(a: &[&str]) -> impl Iterator<Item = std::ffi::OsString> {
        a.iter()
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn libtest_serial_arguments_are_recognised() {
        assert!(serial_args(args(&["bin", "--test-threads=1"])));
        assert!(serial_args(args(&["bin", "x", "--test-threads", "1"])));
        assert!(!serial_args(args(&["bin", "--test-threads=2"])));
        assert!(!serial_args(args(&["bin", "--test-threads"])));
        assert!(!serial_args(args(&["--test-threads=1"])));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let odd = std::ffi::OsString::from_vec(vec![0xff]);
            let list = vec!["bin".into(), odd, "--test-threads=1".into()];
            assert!(serial_args(list.into_iter()));
        }
    }
}
