//! Lock traces: the events a run saw, as JSON Lines (`docs/trace-format.md` is the contract).
//!
//! [`TraceEvent`] is the typed form shared by the recorder (which writes it) and the replayer
//! (which feeds it back through a [`Validator`](crate::Validator)).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::Mode;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceOp {
    /// A lock was acquired (blocking locks: recorded before blocking).
    Acquire,
    /// A lock was released. Releasing a lock the thread does not hold is an input error (a trace
    /// started while it was held).
    Release,
    /// A thread released a lock it did not hold, which the live run reported as a bad unlock
    /// balance (`force_unlock` with a proof made up): replay reports it the same way.
    UnbalancedRelease,
    /// A seqcount reader access: a zero-length recursive-read acquisition.
    SeqRead,
    /// A held lock changed mode (`mode` says to what): rwlock downgrade.
    Mode,
    /// A call that may block (`might_sleep()`).
    MightSleep,
    /// A non-blocking section began.
    NonBlockingBegin,
    /// A non-blocking section ended.
    NonBlockingEnd,
    /// A class was registered (informational: `class`, `kind`, `at` = init site).
    Class,
    /// The trace's first record: `{"op":"trace","format":N,"writer":"..."}` (no thread). A
    /// reader refuses a format newer than [`FORMAT_VERSION`]; a trace without it is format 1.
    Header,
    /// The thread ended (or left a validator scope): locks it still holds are reported, and
    /// it is forgotten (a later event with its id starts a new thread).
    ThreadExit,
    /// An async task's poll returned `Pending` (it awaits) holding a blocking lock: the await
    /// hazard's check (`lockdep::tokio`).
    Await,
}

impl TraceOp {
    /// The `op` string.
    pub fn as_str(&self) -> &'static str {
        match self {
            TraceOp::Acquire => "acquire",
            TraceOp::Release => "release",
            TraceOp::UnbalancedRelease => "unbalanced_release",
            TraceOp::SeqRead => "seq_read",
            TraceOp::Mode => "mode",
            TraceOp::MightSleep => "might_sleep",
            TraceOp::NonBlockingBegin => "nonblocking_begin",
            TraceOp::NonBlockingEnd => "nonblocking_end",
            TraceOp::Class => "class",
            TraceOp::ThreadExit => "thread_exit",
            TraceOp::Header => "trace",
            TraceOp::Await => "await",
        }
    }

    /// Whether a record of this op names a lock (`lock` is required).
    pub fn needs_lock(self) -> bool {
        matches!(
            self,
            TraceOp::Acquire
                | TraceOp::Release
                | TraceOp::UnbalancedRelease
                | TraceOp::SeqRead
                | TraceOp::Mode
        )
    }

    /// Parses an `op` string; `None` for ops this version does not know.
    pub fn parse(s: &str) -> Option<TraceOp> {
        Some(match s {
            "acquire" => TraceOp::Acquire,
            "release" => TraceOp::Release,
            "unbalanced_release" => TraceOp::UnbalancedRelease,
            "seq_read" => TraceOp::SeqRead,
            "mode" => TraceOp::Mode,
            "might_sleep" => TraceOp::MightSleep,
            "nonblocking_begin" => TraceOp::NonBlockingBegin,
            "nonblocking_end" => TraceOp::NonBlockingEnd,
            "class" => TraceOp::Class,
            "thread_exit" => TraceOp::ThreadExit,
            "trace" => TraceOp::Header,
            "await" => TraceOp::Await,
            _ => return None,
        })
    }
}

/// The trace format this version writes and reads (docs/trace-format.md). Additions that older
/// readers can skip (new ops, new fields) keep the number; it changes only when a reader that
/// ignores the change would replay a trace wrongly.
pub const FORMAT_VERSION: u64 = 1;

/// How an async lock's acquisition waited, when an async hazard rule checked it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// Awaited (`lock().await`): the await hazard checks the blocking locks held.
    Await,
    /// `blocking_lock` / `blocking_read` / `blocking_write` inside a tracked task's poll: the
    /// blocking hazard checks the async locks held.
    Blocking,
}

impl Wait {
    /// The `wait` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Await => "await",
            Wait::Blocking => "blocking",
        }
    }

    /// Parses a `wait` string.
    pub fn parse(s: &str) -> Option<Wait> {
        match s {
            "await" => Some(Wait::Await),
            "blocking" => Some(Wait::Blocking),
            _ => None,
        }
    }
}

/// One trace record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// The thread (a number or a name).
    pub thread: String,
    /// The thread's human name, if known.
    pub thread_name: Option<String>,
    /// What happened.
    pub op: TraceOp,
    /// The lock instance id (empty for thread-only ops).
    pub lock: String,
    /// The class name; `None` means "the `lock` value".
    pub class: Option<String>,
    /// Acquisition mode.
    pub mode: Mode,
    /// A successful trylock.
    pub trylock: bool,
    /// Nesting subclass.
    pub subclass: u32,
    /// The serialising outer lock.
    pub nest_lock: Option<String>,
    /// The primitive kind.
    pub kind: crate::LockKind,
    /// Source position.
    pub at: Option<String>,
    /// The lock is an async one (`lockdep::tokio`): never the blocking lock of a hazard.
    pub async_lock: bool,
    /// How the acquisition waited, when a hazard rule checked it.
    pub wait: Option<Wait>,
}

impl TraceEvent {
    /// A bare event of `op` on `lock` by `thread`, every optional field at its default.
    pub fn new(thread: impl Into<String>, op: TraceOp, lock: impl Into<String>) -> Self {
        TraceEvent {
            thread: thread.into(),
            thread_name: None,
            op,
            lock: lock.into(),
            class: None,
            mode: Mode::Write,
            trylock: false,
            subclass: 0,
            nest_lock: None,
            kind: crate::LockKind::Mutex,
            at: None,
            async_lock: false,
            wait: None,
        }
    }

    /// The class name this event's lock belongs to.
    pub fn class_name(&self) -> &str {
        self.class.as_deref().unwrap_or(&self.lock)
    }

    /// Appends the JSON line (with its newline) to `out`. Only non-default optional fields are
    /// written; `thread` is written as a number when it is one.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"thread\":");
        if !self.thread.is_empty()
            && self.thread.bytes().all(|b| b.is_ascii_digit())
            && self.thread.len() < 19
        {
            out.push_str(&self.thread);
        } else {
            json_str(out, &self.thread);
        }
        if let Some(n) = &self.thread_name {
            out.push_str(",\"thread_name\":");
            json_str(out, n);
        }
        out.push_str(",\"op\":\"");
        out.push_str(self.op.as_str());
        out.push('"');
        if !self.lock.is_empty() || self.op.needs_lock() {
            out.push_str(",\"lock\":");
            json_str(out, &self.lock);
        }
        if let Some(c) = &self.class {
            out.push_str(",\"class\":");
            json_str(out, c);
        }
        if self.mode != Mode::Write || self.op == TraceOp::Mode {
            let _ = write!(out, ",\"mode\":\"{}\"", self.mode.as_str());
        }
        if self.trylock {
            out.push_str(",\"try\":true");
        }
        if self.subclass != 0 {
            let _ = write!(out, ",\"subclass\":{}", self.subclass);
        }
        if let Some(n) = &self.nest_lock {
            out.push_str(",\"nest_lock\":");
            json_str(out, n);
        }
        if self.kind != crate::LockKind::Mutex {
            let _ = write!(out, ",\"kind\":\"{}\"", self.kind.as_str());
        }
        if let Some(a) = &self.at {
            out.push_str(",\"at\":");
            json_str(out, a);
        }
        if self.async_lock {
            out.push_str(",\"async\":true");
        }
        if let Some(w) = self.wait {
            let _ = write!(out, ",\"wait\":\"{}\"", w.as_str());
        }
        out.push_str("}\n");
    }
}

/// One trace record whose text borrows from the line it was read from: what
/// `parse_line_ref` returns (feature `trace-reader`) and
/// [`Replayer::apply_ref`](crate::replay::Replayer::apply_ref)
/// takes, so the common record (the library's shape, strings without escapes) is read and
/// replayed without allocating. Fields are [`TraceEvent`]'s; a string that had to be unescaped
/// (or an integer `thread`/`lock` read by serde) is owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEventRef<'a> {
    /// The thread (a number or a name).
    pub thread: Cow<'a, str>,
    /// The thread's human name, if known.
    pub thread_name: Option<Cow<'a, str>>,
    /// What happened.
    pub op: TraceOp,
    /// The lock instance id (empty for thread-only ops).
    pub lock: Cow<'a, str>,
    /// The class name; `None` means "the `lock` value".
    pub class: Option<Cow<'a, str>>,
    /// Acquisition mode.
    pub mode: Mode,
    /// A successful trylock.
    pub trylock: bool,
    /// Nesting subclass.
    pub subclass: u32,
    /// The serialising outer lock.
    pub nest_lock: Option<Cow<'a, str>>,
    /// The primitive kind.
    pub kind: crate::LockKind,
    /// Source position.
    pub at: Option<Cow<'a, str>>,
    /// The lock is an async one (`lockdep::tokio`): never the blocking lock of a hazard.
    pub async_lock: bool,
    /// How the acquisition waited, when a hazard rule checked it.
    pub wait: Option<Wait>,
}

impl TraceEventRef<'_> {
    /// The class name this event's lock belongs to.
    pub fn class_name(&self) -> &str {
        self.class.as_deref().unwrap_or(&self.lock)
    }

    /// The owned event.
    pub fn into_owned(self) -> TraceEvent {
        TraceEvent {
            thread: self.thread.into_owned(),
            thread_name: self.thread_name.map(Cow::into_owned),
            op: self.op,
            lock: self.lock.into_owned(),
            class: self.class.map(Cow::into_owned),
            mode: self.mode,
            trylock: self.trylock,
            subclass: self.subclass,
            nest_lock: self.nest_lock.map(Cow::into_owned),
            kind: self.kind,
            at: self.at.map(Cow::into_owned),
            async_lock: self.async_lock,
            wait: self.wait,
        }
    }
}

impl TraceEvent {
    /// The event as a [`TraceEventRef`] borrowing its strings.
    pub fn borrowed(&self) -> TraceEventRef<'_> {
        TraceEventRef {
            thread: Cow::Borrowed(&self.thread),
            thread_name: self.thread_name.as_deref().map(Cow::Borrowed),
            op: self.op,
            lock: Cow::Borrowed(&self.lock),
            class: self.class.as_deref().map(Cow::Borrowed),
            mode: self.mode,
            trylock: self.trylock,
            subclass: self.subclass,
            nest_lock: self.nest_lock.as_deref().map(Cow::Borrowed),
            kind: self.kind,
            at: self.at.as_deref().map(Cow::Borrowed),
            async_lock: self.async_lock,
            wait: self.wait,
        }
    }
}

/// A trace line that is not a valid event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLineError {
    /// The offending field (`""` when the line as a whole is wrong).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TraceLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for TraceLineError {}

/// Parses one trace line. `Ok(None)` for blank lines and for records whose `op` this version
/// does not know (the format allows other tools to add record types).
///
/// ```
/// use lockdep::trace::{parse_line, TraceOp};
///
/// let ev = parse_line(r#"{"thread":1,"op":"acquire","lock":"A","mode":"read"}"#).unwrap().unwrap();
/// assert_eq!(ev.op, TraceOp::Acquire);
/// assert_eq!(ev.mode, lockdep::Mode::Read);
/// let err = parse_line(r#"{"thread":1,"op":"acquire","lock":"A","mode":"shared"}"#).unwrap_err();
/// assert_eq!(err.field, "mode");
/// ```
#[cfg(feature = "trace-reader")]
pub fn parse_line(line: &str) -> Result<Option<TraceEvent>, TraceLineError> {
    parse_line_ref(line).map(|ev| ev.map(TraceEventRef::into_owned))
}

/// [`parse_line`] without copying: the event's strings borrow from `line` (only a string with
/// escapes, or an integer `thread`/`lock` in a shape the scan does not read, is owned). This is
/// what `lockcheck replay` reads each line with.
///
/// ```
/// use lockdep::trace::{parse_line_ref, TraceOp};
///
/// let line = r#"{"thread":1,"op":"acquire","lock":"0x10","class":"bucket"}"#;
/// let ev = parse_line_ref(line).unwrap().unwrap();
/// assert_eq!((ev.op, &*ev.thread, ev.class_name()), (TraceOp::Acquire, "1", "bucket"));
/// ```
#[cfg(feature = "trace-reader")]
pub fn parse_line_ref(line: &str) -> Result<Option<TraceEventRef<'_>>, TraceLineError> {
    // The common record: first a scan of the shape the library writes (flat, strings without
    // escapes, small unsigned integers; JSON whitespace around it, a line's `\n` included), then
    // the same record through serde for any other valid JSON. Anything unusual (an error to
    // describe, an unknown op, the header) takes the checked path, which decides every case.
    if let Some(event) = fast::scan(line) {
        return Ok(Some(event));
    }
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if let Ok(record) = serde_json::from_str::<fast::Record<'_>>(line)
        && let Some(event) = record.into_event()
    {
        return Ok(Some(event));
    }
    Ok(parse_line_checked(line)?.map(|ev| TraceEventRef {
        thread: Cow::Owned(ev.thread),
        thread_name: ev.thread_name.map(Cow::Owned),
        op: ev.op,
        lock: Cow::Owned(ev.lock),
        class: ev.class.map(Cow::Owned),
        mode: ev.mode,
        trylock: ev.trylock,
        subclass: ev.subclass,
        nest_lock: ev.nest_lock.map(Cow::Owned),
        kind: ev.kind,
        at: ev.at.map(Cow::Owned),
        async_lock: ev.async_lock,
        wait: ev.wait,
    }))
}

/// The record as typed fields, for the common case of [`parse_line`].
#[cfg(feature = "trace-reader")]
mod fast {
    use super::{TraceEventRef, TraceOp, Wait, parse_kind, parse_mode};
    use serde::Deserialize;
    use std::borrow::Cow;

    /// A string, or an integer read as its decimal text (`thread`, `lock`).
    pub(super) enum Text<'a> {
        Str(Cow<'a, str>),
        Int(Cow<'a, str>),
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Text<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a string or an integer")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Text::Str(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(Text::Str(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                    Ok(Text::Str(Cow::Owned(v)))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                    Ok(Text::Int(Cow::Owned(v.to_string())))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                    Ok(Text::Int(Cow::Owned(v.to_string())))
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Record<'a> {
        thread: Option<Text<'a>>,
        #[serde(borrow)]
        op: Option<Cow<'a, str>>,
        lock: Option<Text<'a>>,
        #[serde(borrow)]
        class: Option<Cow<'a, str>>,
        #[serde(borrow)]
        mode: Option<Cow<'a, str>>,
        #[serde(rename = "try")]
        trylock: Option<bool>,
        subclass: Option<u64>,
        nest_lock: Option<Text<'a>>,
        #[serde(borrow)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow)]
        at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        thread_name: Option<Cow<'a, str>>,
        #[serde(rename = "async")]
        async_lock: Option<bool>,
        #[serde(borrow)]
        wait: Option<Cow<'a, str>>,
    }

    /// The event in `line` when it is a flat JSON object whose values are strings without
    /// escapes or control characters, unsigned integers in JSON's syntax below 2^64, or
    /// booleans (what the library writes), and an ordinary record ([`Record::into_event`]'s
    /// rules); `None` for anything else, which serde then reads (the result is the same: this
    /// only skips serde's machinery). A field given twice is `None`, as serde refuses it. The
    /// event's strings are slices of `line`: nothing is allocated.
    #[inline]
    pub(super) fn scan(line: &str) -> Option<TraceEventRef<'_>> {
        /// One scanned value.
        enum Value<'a> {
            Str(&'a str),
            /// An integer: its text (canonical: no sign, no leading zero) and value.
            Int(&'a str, u64),
            Bool(bool),
        }
        let b = line.as_bytes();
        let mut i = 0;
        // JSON whitespace (all of it at or below the space: one compare for the usual none).
        let ws = |i: &mut usize| {
            while let Some(&c) = b.get(*i)
                && c <= b' '
                && matches!(c, b' ' | b'\t' | b'\n' | b'\r')
            {
                *i += 1;
            }
        };
        // A string's contents, from just after its opening quote to its closing one.
        let string = |i: &mut usize| -> Option<&str> {
            let start = *i;
            let end = string_end(b, start)?;
            *i = end + 1;
            // Both ends are ASCII quotes, so this is on character boundaries.
            Some(&line[start..end])
        };
        let mut thread: Option<&str> = None;
        let mut op: Option<TraceOp> = None;
        let mut lock: Option<&str> = None;
        let mut class: Option<&str> = None;
        let mut mode: Option<crate::Mode> = None;
        let mut trylock: Option<bool> = None;
        let mut subclass: Option<u64> = None;
        let mut nest_lock: Option<&str> = None;
        let mut kind: Option<crate::LockKind> = None;
        let mut at: Option<&str> = None;
        let mut thread_name: Option<&str> = None;
        let mut async_lock: Option<bool> = None;
        let mut wait: Option<Wait> = None;
        ws(&mut i);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i += 1;
        ws(&mut i);
        if b.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                i += 1;
                let key = string(&mut i)?;
                ws(&mut i);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i += 1;
                ws(&mut i);
                let value = match *b.get(i)? {
                    b'"' => {
                        i += 1;
                        Value::Str(string(&mut i)?)
                    }
                    b'0' => {
                        i += 1;
                        Value::Int(&line[i - 1..i], 0)
                    }
                    b'1'..=b'9' => {
                        let start = i;
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                        let digits = &line[start..i];
                        Value::Int(digits, digits.parse().ok()?)
                    }
                    b't' if b[i..].starts_with(b"true") => {
                        i += 4;
                        Value::Bool(true)
                    }
                    b'f' if b[i..].starts_with(b"false") => {
                        i += 5;
                        Value::Bool(false)
                    }
                    _ => return None,
                };
                // A number must end here (`1.5`, `1e3` are serde's).
                if let Value::Int(..) = value
                    && b.get(i).is_some_and(|c| matches!(c, b'.' | b'e' | b'E'))
                {
                    return None;
                }
                // A string, or an integer as its text: the canonical decimal text is what
                // serde's `to_string` gives.
                let text = |v| match v {
                    Value::Str(s) => Some(s),
                    Value::Int(digits, _) => Some(digits),
                    Value::Bool(_) => None,
                };
                let string_only = |v| match v {
                    Value::Str(s) => Some(s),
                    _ => None,
                };
                let boolean = |v| match v {
                    Value::Bool(v) => Some(v),
                    _ => None,
                };
                // Each known field once, with a value of its type and, for the enumerations,
                // one this version knows (anything else is serde's, then the checked path's).
                macro_rules! set {
                    ($field:ident, $v:expr) => {{
                        if $field.is_some() {
                            return None;
                        }
                        $field = Some($v?);
                    }};
                }
                match key {
                    "thread" => set!(thread, text(value)),
                    "op" => set!(op, TraceOp::parse(string_only(value)?)),
                    "lock" => set!(lock, text(value)),
                    "class" => set!(class, string_only(value)),
                    "mode" => set!(mode, parse_mode(string_only(value)?)),
                    "try" => set!(trylock, boolean(value)),
                    "subclass" => set!(
                        subclass,
                        match value {
                            Value::Int(_, n) => Some(n),
                            _ => None,
                        }
                    ),
                    "nest_lock" => set!(nest_lock, text(value)),
                    "kind" => set!(kind, parse_kind(string_only(value)?)),
                    "at" => set!(at, string_only(value)),
                    "thread_name" => set!(thread_name, string_only(value)),
                    "async" => set!(async_lock, boolean(value)),
                    "wait" => set!(wait, Wait::parse(string_only(value)?)),
                    // Other fields are ignored, as serde does (a duplicate among them too).
                    _ => {}
                }
                ws(&mut i);
                match b.get(i)? {
                    b',' => {
                        i += 1;
                        ws(&mut i);
                    }
                    b'}' => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        ws(&mut i);
        if i != b.len() {
            return None;
        }
        // As `Record::into_event`.
        let thread = thread.filter(|t| !t.is_empty())?;
        let op = op.filter(|op| *op != TraceOp::Header)?;
        let lock = lock.unwrap_or_default();
        let needs_lock = op.needs_lock();
        if needs_lock && lock.is_empty() {
            return None;
        }
        Some(TraceEventRef {
            thread: Cow::Borrowed(thread),
            thread_name: thread_name.map(Cow::Borrowed),
            op,
            lock: Cow::Borrowed(lock),
            class: class.map(Cow::Borrowed),
            mode: mode.unwrap_or(crate::Mode::Write),
            trylock: trylock.unwrap_or(false),
            subclass: u32::try_from(subclass.unwrap_or(0)).ok()?,
            nest_lock: nest_lock.map(Cow::Borrowed),
            kind: kind.unwrap_or(if op == TraceOp::SeqRead {
                crate::LockKind::SeqCount
            } else {
                crate::LockKind::Mutex
            }),
            at: at.map(Cow::Borrowed),
            async_lock: async_lock.unwrap_or(false),
            wait,
        })
    }

    /// Where the string that starts at `b[i]` (just after its opening quote) ends: the index of
    /// its closing quote; `None` when a backslash or a control character comes first (an escape,
    /// or invalid JSON: serde's to decide) or there is no quote. Eight bytes at a time, then byte
    /// by byte from the first that may stop it.
    #[inline]
    fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        // The high bit of each byte of `x` below `n` (exact up to the lowest such byte, which
        // is all the search needs).
        let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
        while let Some(chunk) = b.get(i..i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let stops = below(w ^ (ONES * u64::from(b'"')), 1)
                | below(w ^ (ONES * u64::from(b'\\')), 1)
                | below(w, 0x20);
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        loop {
            match *b.get(i)? {
                b'"' => return Some(i),
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => i += 1,
            }
        }
    }

    impl<'a> Record<'a> {
        /// The event, when the record is an ordinary one the checked path would accept as is.
        pub(super) fn into_event(self) -> Option<TraceEventRef<'a>> {
            let thread = match self.thread? {
                Text::Str(s) if s.is_empty() => return None,
                Text::Str(s) | Text::Int(s) => s,
            };
            let op = TraceOp::parse(&self.op?)?;
            if op == TraceOp::Header {
                return None;
            }
            let text = |t: Text<'a>| match t {
                Text::Str(s) | Text::Int(s) => s,
            };
            let lock = self.lock.map_or(Cow::Borrowed(""), text);
            let needs_lock = op.needs_lock();
            if needs_lock && lock.is_empty() {
                return None;
            }
            let mode = match self.mode {
                None => crate::Mode::Write,
                Some(m) => parse_mode(&m)?,
            };
            let kind = match self.kind {
                None if op == TraceOp::SeqRead => crate::LockKind::SeqCount,
                None => crate::LockKind::Mutex,
                Some(k) => parse_kind(&k)?,
            };
            Some(TraceEventRef {
                thread,
                thread_name: self.thread_name,
                op,
                lock,
                class: self.class,
                mode,
                trylock: self.trylock.unwrap_or(false),
                subclass: u32::try_from(self.subclass.unwrap_or(0)).ok()?,
                nest_lock: self.nest_lock.map(text),
                kind,
                at: self.at,
                async_lock: self.async_lock.unwrap_or(false),
                wait: match self.wait {
                    None => None,
                    Some(w) => Some(Wait::parse(&w)?),
                },
            })
        }
    }
}

/// [`parse_line`] through a JSON value, every field checked with an error naming it.
#[cfg(feature = "trace-reader")]
fn parse_line_checked(line: &str) -> Result<Option<TraceEvent>, TraceLineError> {
    use serde_json::Value;
    let err = |field: &'static str, message: String| TraceLineError { field, message };
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_str(line).map_err(|e| err("", format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(err("", "not a JSON object".into()));
    };
    if obj.get("op").and_then(Value::as_str) == Some("trace") {
        let format = match obj.get("format") {
            None => 1,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| err("format", format!("expected a positive integer, got {v}")))?,
        };
        if format > FORMAT_VERSION {
            return Err(err(
                "format",
                format!(
                    "trace format {format} is newer than this reader understands (up to \
                     {FORMAT_VERSION}): use a newer lockcheck"
                ),
            ));
        }
        return Ok(Some(TraceEvent::new("", TraceOp::Header, "")));
    }
    let thread = match obj.get("thread") {
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => {
            return Err(err(
                "thread",
                format!("expected an integer or a non-empty string, got {other}"),
            ));
        }
        None => return Err(err("thread", "missing".into())),
    };
    let op_name = match obj.get("op") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(err("op", format!("expected a string, got {other}"))),
        None => return Err(err("op", "missing".into())),
    };
    let Some(op) = TraceOp::parse(op_name) else {
        return Ok(None);
    };
    let string = |field: &'static str| -> Result<Option<String>, TraceLineError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if field == "lock" || field == "nest_lock" => {
                Ok(Some(n.to_string()))
            }
            Some(other) => Err(err(field, format!("expected a string, got {other}"))),
        }
    };
    let lock = string("lock")?.unwrap_or_default();
    let needs_lock = op.needs_lock();
    if needs_lock && lock.is_empty() {
        return Err(err("lock", "missing (required for this op)".into()));
    }
    let mode = match string("mode")? {
        None => Mode::Write,
        Some(m) => parse_mode(&m).ok_or_else(|| {
            err(
                "mode",
                format!("unknown mode {m:?} (expected write, read or read_recursive)"),
            )
        })?,
    };
    let kind = match string("kind")? {
        None if op == TraceOp::SeqRead => crate::LockKind::SeqCount,
        None => crate::LockKind::Mutex,
        Some(k) => parse_kind(&k).ok_or_else(|| {
            err(
                "kind",
                format!("unknown kind {k:?} (expected mutex, rwlock, spinlock or seqcount)"),
            )
        })?,
    };
    let trylock = match obj.get("try") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(err("try", format!("expected true or false, got {other}"))),
    };
    let subclass = match obj.get("subclass") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => {
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    err(
                        "subclass",
                        format!("expected a small non-negative integer, got {n}"),
                    )
                })?
        }
        Some(other) => return Err(err("subclass", format!("expected an integer, got {other}"))),
    };
    let async_lock = match obj.get("async") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(err("async", format!("expected true or false, got {other}"))),
    };
    let wait = match string("wait")? {
        None => None,
        Some(w) => Some(Wait::parse(&w).ok_or_else(|| {
            err(
                "wait",
                format!("unknown wait {w:?} (expected await or blocking)"),
            )
        })?),
    };
    Ok(Some(TraceEvent {
        thread,
        thread_name: string("thread_name")?,
        op,
        lock,
        class: string("class")?,
        mode,
        trylock,
        subclass,
        nest_lock: string("nest_lock")?,
        kind,
        at: string("at")?,
        async_lock,
        wait,
    }))
}

/// Parses a `mode` value.
pub fn parse_mode(s: &str) -> Option<Mode> {
    Some(match s {
        "write" => Mode::Write,
        "read" => Mode::Read,
        "read_recursive" => Mode::ReadRecursive,
        _ => return None,
    })
}

/// Parses a `kind` value.
pub fn parse_kind(s: &str) -> Option<crate::LockKind> {
    Some(match s {
        "mutex" => crate::LockKind::Mutex,
        "rwlock" => crate::LockKind::RwLock,
        "spinlock" => crate::LockKind::SpinLock,
        "seqcount" => crate::LockKind::SeqCount,
        "map" => crate::LockKind::Map,
        _ => return None,
    })
}

/// Appends `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed fast path of `parse_line` decides every line as the checked path does.
    #[cfg(feature = "trace-reader")]
    #[test]
    fn the_fast_path_agrees_with_the_checked_one() {
        let lines = [
            r#"{"thread":1,"op":"acquire","lock":"A"}"#,
            r#"{"thread":"w-1","thread_name":"w","op":"acquire","lock":"0x10","class":"b","mode":"read_recursive","kind":"rwlock","try":true,"subclass":2,"nest_lock":"0x20","at":"a.rs:1:2"}"#,
            r#"{"thread":-3,"op":"release","lock":17,"nest_lock":5}"#,
            r#"{"thread":1,"op":"acquire","lock":"A\"q\u00e9","class":"c\n"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","class":null,"try":null,"subclass":null}"#,
            r#"{"thread":1,"op":"seq_read","lock":"S"}"#,
            r#"{"thread":1,"op":"might_sleep","at":"x"}"#,
            r#"{"thread":1,"op":"thread_exit"}"#,
            r#"{"thread":1,"op":"unbalanced_release","lock":"0x2","class":"m","kind":"spinlock"}"#,
            r#"{"thread":1,"op":"unbalanced_release"}"#,
            r#"{"thread":1,"op":"acquire","lock":"0x11","async":true,"wait":"await"}"#,
            r#"{"thread":1,"op":"acquire","lock":"0x11","async":false,"wait":"blocking"}"#,
            r#"{"thread":1,"op":"await"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","wait":"sleep"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","async":1}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","extra":[1,{"x":2}]}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","lock":"B"}"#,
            r#"{"thread":1.5,"op":"acquire","lock":"A"}"#,
            r#"{"thread":"","op":"acquire","lock":"A"}"#,
            r#"{"thread":1,"op":"acquire","lock":""}"#,
            r#"{"thread":1,"op":"acquire"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","mode":"shared"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","kind":"futex"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","subclass":4294967296}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","subclass":-1}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","try":"yes"}"#,
            r#"{"thread":1,"op":"acquire","lock":1.5}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","class":7}"#,
            r#"{"thread":1,"op":"frobnicate","lock":"A"}"#,
            r#"{"thread":1,"op":7}"#,
            r#"{"op":"acquire","lock":"A"}"#,
            r#"{"op":"trace","format":1}"#,
            r#"{"op":"trace","format":2}"#,
            r#"[1,2]"#,
            r#"{"thread":1,"op":"acq"#,
            r#"{"thread":7,"op":"acquire","lock":"0x55d0c0a8e280","class":"app::Store<10>","at":"src/store.rs:110:21","thread_name":"worker-6"}"#,
            r#" { "thread" : 0 , "op" : "release" , "lock" : "0x1" } "#,
            r#"{}"#,
            r#"{"thread":01,"op":"acquire","lock":"A"}"#,
            r#"{"thread":1e3,"op":"acquire","lock":"A"}"#,
            r#"{"thread":18446744073709551616,"op":"acquire","lock":"A"}"#,
            r#"{"thread":18446744073709551615,"op":"acquire","lock":"A","subclass":0}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","try":false,"extra":"x","extra":true}"#,
            r#"{"thread":1,"op":"acquire","lock":"A"} x"#,
            r#"{"thread":1,"op":"acquire","lock":"A",}"#,
            r#"{"thread":1,"op":"acquire","lock":"A" "class":"B"}"#,
            r#"{"thread":1,"op":"acquire","lock":"A","try":tru}"#,
            "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\tB\"}",
            r#"{"thread":1,"op":"acquire","lock":"0123456789abcdef\u0041","class":"a long class name é"}"#,
            "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"0123456789abcdef\x01xyz\"}",
            r#"{"thread":1,"op":"acquire","lock":"0123456789abcdefghij","class":"ééééééééé\"ééé"}"#,
        ];
        // The library's shape is the scan's.
        let library = |start: &str| lines.iter().find(|l| l.starts_with(start)).unwrap();
        assert!(fast::scan(library(r#"{"thread":7,"#)).is_some());
        assert!(fast::scan(library(r#" { "thread" : 0"#)).is_some());
        assert!(
            fast::scan(library(
                r#"{"thread":1,"op":"acquire","lock":"0x11","async":true"#
            ))
            .is_some()
        );
        for line in lines {
            // The scan, where it reads a line, reads what serde reads.
            if let Some(ev) = fast::scan(line) {
                let serde = serde_json::from_str::<fast::Record<'_>>(line)
                    .ok()
                    .and_then(fast::Record::into_event);
                assert_eq!(Some(ev), serde, "{line}");
            }
        }
        for line in lines {
            assert_eq!(
                format!("{:?}", parse_line(line)),
                format!("{:?}", parse_line_checked(line)),
                "{line}"
            );
        }
    }

    #[cfg(feature = "trace-reader")]
    #[test]
    fn async_fields_round_trip() {
        let mut e = TraceEvent::new("1", TraceOp::Acquire, "0x11");
        e.async_lock = true;
        e.wait = Some(Wait::Await);
        let mut s = String::new();
        e.write_json(&mut s);
        assert_eq!(
            s,
            "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"0x11\",\"async\":true,\"wait\":\"await\"}\n"
        );
        assert_eq!(parse_line(&s).unwrap(), Some(e));
        let err = parse_line(r#"{"thread":1,"op":"acquire","lock":"A","wait":"sleep"}"#);
        assert_eq!(err.unwrap_err().field, "wait");
    }

    #[test]
    fn minimal_event_is_minimal_json() {
        let mut s = String::new();
        TraceEvent::new("1", TraceOp::Acquire, "A").write_json(&mut s);
        assert_eq!(s, "{\"thread\":1,\"op\":\"acquire\",\"lock\":\"A\"}\n");
    }

    #[test]
    fn optional_fields_and_escapes() {
        let mut e = TraceEvent::new("worker \"1\"", TraceOp::Acquire, "0x10");
        e.class = Some("&s->seqcount#2".into());
        e.mode = Mode::ReadRecursive;
        e.trylock = true;
        e.subclass = 1;
        e.kind = crate::LockKind::SeqCount;
        e.at = Some("src/a.rs:1:2".into());
        let mut s = String::new();
        e.write_json(&mut s);
        assert_eq!(
            s,
            "{\"thread\":\"worker \\\"1\\\"\",\"op\":\"acquire\",\"lock\":\"0x10\",\"class\":\"&s->seqcount#2\",\"mode\":\"read_recursive\",\"try\":true,\"subclass\":1,\"kind\":\"seqcount\",\"at\":\"src/a.rs:1:2\"}\n"
        );
    }
}
