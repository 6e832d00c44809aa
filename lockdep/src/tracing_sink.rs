//! `tracing` as a second sink: reports and, at a chosen level, lock events as `tracing` events,
//! so users see them in the logs they already have.
//!
//! Reports are always emitted (target `lockdep`, WARN, with structured fields and the full
//! kernel-layout text). Lock events are emitted only when asked for, with
//! [`Validator::set_tracing_level`](crate::Validator::set_tracing_level) or
//! `LOCKDEP_TRACING=trace|debug|info` for the process-wide validator (target `lockdep::event`,
//! fields as in the trace format). With the `tracing-layer` feature, [`TraceFileLayer`] turns those
//! events back into a JSON Lines trace that `lockcheck replay` reads.

use crate::class::{LockKind, Site};
use crate::held::Mode;

/// Target of lock events.
pub const EVENT_TARGET: &str = "lockdep::event";
/// Target of reports.
pub const REPORT_TARGET: &str = "lockdep";

/// Level code kept in an atomic: 0 = off, 1 = TRACE .. 5 = ERROR.
pub(crate) fn level_code(level: Option<tracing::Level>) -> u8 {
    match level {
        None => 0,
        Some(l) if l == tracing::Level::TRACE => 1,
        Some(l) if l == tracing::Level::DEBUG => 2,
        Some(l) if l == tracing::Level::INFO => 3,
        Some(l) if l == tracing::Level::WARN => 4,
        Some(_) => 5,
    }
}

/// Parses `LOCKDEP_TRACING`.
pub(crate) fn level_from_env() -> Option<tracing::Level> {
    let v = std::env::var("LOCKDEP_TRACING").ok()?;
    match v.to_ascii_lowercase().as_str() {
        "" | "off" | "0" => None,
        "trace" => Some(tracing::Level::TRACE),
        "debug" => Some(tracing::Level::DEBUG),
        "info" => Some(tracing::Level::INFO),
        "warn" => Some(tracing::Level::WARN),
        "error" => Some(tracing::Level::ERROR),
        other => {
            eprintln!(
                "lockdep: ignoring LOCKDEP_TRACING={other:?}: expected trace, debug, info, warn, error or off"
            );
            None
        }
    }
}

/// One lock event's fields.
pub(crate) struct LockEvent<'a> {
    pub thread: u64,
    pub thread_name: &'a str,
    pub op: &'a str,
    pub lock: u64,
    pub class: &'a str,
    pub mode: Mode,
    pub trylock: bool,
    pub subclass: u32,
    pub kind: LockKind,
    pub site: &'a Site,
    /// An async lock's (`lockdep::tokio`).
    pub async_lock: bool,
    /// The hazard check made at this acquisition, if any.
    pub wait: Option<crate::trace::Wait>,
}

macro_rules! emit_at {
    ($level:expr, $e:expr) => {
        tracing::event!(
            target: "lockdep::event",
            $level,
            thread = $e.thread,
            thread_name = $e.thread_name,
            op = $e.op,
            lock = format_args!("{:#x}", $e.lock),
            class = $e.class,
            mode = $e.mode.as_str(),
            r#try = $e.trylock,
            subclass = $e.subclass,
            kind = $e.kind.as_str(),
            at = %$e.site,
            r#async = $e.async_lock,
            wait = $e.wait.map_or("", crate::trace::Wait::as_str),
            "{} {}",
            $e.op,
            $e.class
        )
    };
}

/// Emits a lock event at level `code` (see [`level_code`]).
pub(crate) fn emit(code: u8, e: &LockEvent<'_>) {
    match code {
        1 => emit_at!(tracing::Level::TRACE, e),
        2 => emit_at!(tracing::Level::DEBUG, e),
        3 => emit_at!(tracing::Level::INFO, e),
        4 => emit_at!(tracing::Level::WARN, e),
        5 => emit_at!(tracing::Level::ERROR, e),
        _ => {}
    }
}

macro_rules! emit_thread_at {
    ($level:expr, $thread:expr, $name:expr, $op:expr, $at:expr) => {
        tracing::event!(
            target: "lockdep::event",
            $level,
            thread = $thread,
            thread_name = $name,
            op = $op,
            at = %$at,
            "{}",
            $op
        )
    };
}

/// Emits a thread-only event (`might_sleep`, non-blocking sections) at level `code`.
pub(crate) fn emit_thread(code: u8, thread: u64, name: &str, op: &str, at: &Site) {
    match code {
        1 => emit_thread_at!(tracing::Level::TRACE, thread, name, op, at),
        2 => emit_thread_at!(tracing::Level::DEBUG, thread, name, op, at),
        3 => emit_thread_at!(tracing::Level::INFO, thread, name, op, at),
        4 => emit_thread_at!(tracing::Level::WARN, thread, name, op, at),
        5 => emit_thread_at!(tracing::Level::ERROR, thread, name, op, at),
        _ => {}
    }
}

#[cfg(feature = "tracing-layer")]
pub use layer::TraceFileLayer;

#[cfg(feature = "tracing-layer")]
mod layer {
    use std::fmt;
    use std::io::{self, Write};

    use parking_lot::Mutex;
    use tracing::field::{Field, Visit};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer};

    use crate::trace::{TraceEvent, TraceOp, parse_kind, parse_mode};

    /// A `tracing-subscriber` layer that writes lockdep's lock events (target `lockdep::event`) as
    /// a JSON Lines trace (`docs/trace-format.md`), in the order they reach the subscriber.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let trace = std::sync::Arc::new(parking_lot::Mutex::new(Vec::<u8>::new()));
    /// let layer = lockdep::TraceFileLayer::new(SharedBuf(trace.clone()));
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || {
    ///     let v = lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    ///     v.set_tracing_level(Some(tracing::Level::TRACE));
    ///     v.scope(|| drop(lockdep::Mutex::with_name("m", ()).lock()));
    /// });
    /// let text = String::from_utf8(trace.lock().clone()).unwrap();
    /// assert!(text.lines().next().unwrap().contains("\"op\":\"acquire\""));
    ///
    /// #[derive(Clone)]
    /// struct SharedBuf(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);
    /// impl std::io::Write for SharedBuf {
    ///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().write(b) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// ```
    pub struct TraceFileLayer {
        out: Mutex<Box<dyn Write + Send>>,
    }

    impl TraceFileLayer {
        /// Writes the trace to `out` (a file, a buffer, ...).
        pub fn new(out: impl Write + Send + 'static) -> Self {
            TraceFileLayer {
                out: Mutex::new(Box::new(out)),
            }
        }

        /// Writes the trace to a new file at `path`.
        pub fn create(path: impl AsRef<std::path::Path>) -> io::Result<Self> {
            let f = std::fs::File::create(path)?;
            Ok(Self::new(io::LineWriter::new(f)))
        }
    }

    #[derive(Default)]
    struct Fields {
        thread: Option<String>,
        thread_name: Option<String>,
        op: Option<String>,
        lock: Option<String>,
        class: Option<String>,
        mode: Option<String>,
        trylock: bool,
        subclass: u32,
        kind: Option<String>,
        at: Option<String>,
        async_lock: bool,
        wait: Option<String>,
    }

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let text = format!("{value:?}");
            self.record_str(field, text.trim_matches('"'));
        }

        fn record_str(&mut self, field: &Field, value: &str) {
            let v = Some(value.to_string());
            match field.name() {
                "thread" => self.thread = v,
                "thread_name" => self.thread_name = v,
                "op" => self.op = v,
                "lock" => self.lock = v,
                "class" => self.class = v,
                "mode" => self.mode = v,
                "kind" => self.kind = v,
                "at" => self.at = v,
                "wait" => self.wait = v.filter(|w| !w.is_empty()),
                _ => {}
            }
        }

        fn record_u64(&mut self, field: &Field, value: u64) {
            match field.name() {
                "thread" => self.thread = Some(value.to_string()),
                "subclass" => self.subclass = value as u32,
                _ => {}
            }
        }

        fn record_bool(&mut self, field: &Field, value: bool) {
            match field.name() {
                "try" => self.trylock = value,
                "async" => self.async_lock = value,
                _ => {}
            }
        }
    }

    impl<S: Subscriber> Layer<S> for TraceFileLayer {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            if event.metadata().target() != super::EVENT_TARGET {
                return;
            }
            let mut f = Fields::default();
            event.record(&mut f);
            let (Some(thread), Some(op)) = (f.thread, f.op.as_deref().and_then(TraceOp::parse))
            else {
                return;
            };
            let mut ev = TraceEvent::new(thread, op, f.lock.unwrap_or_default());
            ev.thread_name = f.thread_name;
            ev.class = f.class.filter(|c| !c.is_empty());
            ev.mode = f
                .mode
                .as_deref()
                .and_then(parse_mode)
                .unwrap_or(crate::Mode::Write);
            ev.trylock = f.trylock;
            ev.subclass = f.subclass;
            ev.kind = f
                .kind
                .as_deref()
                .and_then(parse_kind)
                .unwrap_or(crate::LockKind::Mutex);
            ev.at = f.at.filter(|a| a != "<unknown>");
            ev.async_lock = f.async_lock;
            ev.wait = f.wait.as_deref().and_then(crate::trace::Wait::parse);
            let mut line = String::new();
            ev.write_json(&mut line);
            let _ = self.out.lock().write_all(line.as_bytes());
        }
    }
}
