//! A progress bar on standard error (indicatif) for runs long enough to wonder about.
//!
//! Only when standard error is a terminal and the output is not `--quiet`, and only once a run
//! has lasted [`DELAY`]: short runs never draw anything. It is fed per chunk read (64 KiB: the
//! input reader's buffer) or per file, never per line, so the parse loop does not pay for it.
//! Messages written to standard error while it is drawn go through [`Progress::err`], which
//! clears the bar first so lines never mix with it.

use std::cell::RefCell;
use std::io::{self, IsTerminal, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before its bar appears.
pub const DELAY: Duration = Duration::from_millis(1000);

/// What the bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Bytes,
    Files,
}

struct State {
    start: Instant,
    unit: Unit,
    total: u64,
    pos: u64,
    current: String,
    /// A draw target for tests (hidden), else standard error.
    hidden: bool,
    bar: Option<ProgressBar>,
}

impl State {
    fn update(&mut self) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.pos);
            return;
        }
        if self.start.elapsed() < DELAY {
            return;
        }
        let target = if self.hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr_with_hz(10)
        };
        let total = (self.total > 0).then_some(self.total);
        // Set up out of sight, then shown: the first frame is already right. The clock starts
        // with the run, not with the bar.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden())
            .with_elapsed(self.start.elapsed());
        let template = match (self.unit, total.is_some()) {
            (Unit::Bytes, true) => {
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}"
            }
            (Unit::Bytes, false) => "{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec}) {msg}",
            (Unit::Files, _) => "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files {msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(self.current.clone());
        bar.set_position(self.pos);
        bar.set_draw_target(target);
        self.bar = Some(bar);
    }
}

/// The progress of one run; cheap to clone (clones share the bar). A disabled one does
/// nothing at all.
#[derive(Clone, Default)]
pub struct Progress {
    state: Option<Rc<RefCell<State>>>,
}

impl Progress {
    /// No progress bar.
    pub fn disabled() -> Progress {
        Progress { state: None }
    }

    /// Whether a bar may be drawn: standard error is a terminal and the run is not quiet.
    pub fn wanted(quiet: bool) -> bool {
        !quiet && io::stderr().is_terminal()
    }

    fn new(enabled: bool, unit: Unit, total: u64, hidden: bool) -> Progress {
        if !enabled {
            return Progress::disabled();
        }
        Progress {
            state: Some(Rc::new(RefCell::new(State {
                start: Instant::now(),
                unit,
                total,
                pos: 0,
                current: String::new(),
                hidden,
                bar: None,
            }))),
        }
    }

    /// A bar over the bytes of `inputs` (their sizes on disk; standard input and other
    /// streams count without a total).
    pub fn over_bytes(enabled: bool, inputs: &[String]) -> Progress {
        if !enabled {
            return Progress::disabled();
        }
        let total = inputs
            .iter()
            .filter(|n| *n != "-")
            .filter_map(|n| std::fs::metadata(n).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        Progress::new(true, Unit::Bytes, total, false)
    }

    /// A bar over `files` files.
    pub fn over_files(enabled: bool, files: usize) -> Progress {
        Progress::new(enabled, Unit::Files, files as u64, false)
    }

    /// Says which input is being read; a bar over files counts the previous one as done.
    pub fn start_input(&self, name: &str) {
        let Some(s) = &self.state else { return };
        let mut s = s.borrow_mut();
        s.current = if name == "-" {
            "standard input".to_string()
        } else {
            name.to_string()
        };
        if let Some(bar) = &s.bar {
            bar.set_message(s.current.clone());
        }
        s.update();
    }

    /// One more file done (bars over files).
    pub fn file_done(&self) {
        let Some(s) = &self.state else { return };
        let mut s = s.borrow_mut();
        s.pos += 1;
        s.update();
    }

    /// `n` more bytes read.
    pub fn add_bytes(&self, n: u64) {
        let Some(s) = &self.state else { return };
        let mut s = s.borrow_mut();
        s.pos += n;
        s.update();
    }

    /// `raw` counting what is read from it into this bar (itself when disabled).
    pub fn counted(&self, raw: Box<dyn Read>) -> Box<dyn Read> {
        if self.state.is_none() {
            return raw;
        }
        Box::new(Counted {
            inner: raw,
            progress: self.clone(),
        })
    }

    /// Whether a bar is drawn (or, in tests, would be).
    pub fn is_shown(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.borrow().bar.is_some())
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(s) = &self.state
            && let Some(bar) = s.borrow_mut().bar.take()
        {
            bar.finish_and_clear();
        }
    }

    /// `inner` (standard error), with the bar cleared around each write so messages never mix
    /// with it.
    pub fn err<'a>(&self, inner: &'a mut dyn Write) -> ProgressErr<'a> {
        ProgressErr {
            progress: self.clone(),
            inner,
        }
    }

    /// Runs `f` (which writes to the terminal, a report on standard output) with the bar
    /// cleared, and draws it again after.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self.state.as_ref().and_then(|s| s.borrow().bar.clone());
        match bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

/// A reader that reports what it reads to a [`Progress`].
struct Counted {
    inner: Box<dyn Read>,
    progress: Progress,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add_bytes(n as u64);
        Ok(n)
    }
}

/// Standard error under a progress bar (see [`Progress::err`]).
pub struct ProgressErr<'a> {
    progress: Progress,
    inner: &'a mut dyn Write,
}

impl Write for ProgressErr<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &mut *self.inner;
        self.progress.suspend(|| inner.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let inner = &mut *self.inner;
        self.progress.suspend(|| inner.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// A whole message in one write, so the bar is cleared once per message, not per piece.
    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        let text = args.to_string();
        self.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_progress_passes_readers_through_and_draws_nothing() {
        let p = Progress::disabled();
        let mut r = p.counted(Box::new(&b"abc"[..]));
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        assert!(!p.is_shown());
    }

    #[test]
    fn the_bar_appears_only_after_the_delay() {
        let p = Progress::new(true, Unit::Bytes, 100, true);
        p.add_bytes(10);
        assert!(!p.is_shown(), "a short run draws nothing");
        p.state.as_ref().unwrap().borrow_mut().start -= DELAY;
        p.add_bytes(10);
        assert!(p.is_shown());
        let bar = p.state.as_ref().unwrap().borrow().bar.clone().unwrap();
        assert_eq!(bar.position(), 20);
        p.finish();
        assert!(!p.is_shown());
    }

    #[test]
    fn counted_readers_feed_the_bar() {
        let p = Progress::new(true, Unit::Bytes, 0, true);
        p.state.as_ref().unwrap().borrow_mut().start -= DELAY;
        let mut r = p.counted(Box::new(&[7u8; 5000][..]));
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(p.state.as_ref().unwrap().borrow().pos, 5000);
    }

    #[test]
    fn files_are_counted() {
        let p = Progress::new(true, Unit::Files, 3, true);
        p.state.as_ref().unwrap().borrow_mut().start -= DELAY;
        p.start_input("a");
        p.file_done();
        p.start_input("b");
        p.file_done();
        let bar = p.state.as_ref().unwrap().borrow().bar.clone().unwrap();
        assert_eq!((bar.position(), bar.length()), (2, Some(3)));
    }
}
