//! Replaying JSON Lines lock traces (`docs/trace-format.md`), streamed line by line.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;

use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::trace::{TraceOp, parse_line_ref};

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
    /// Which names of the class refinement this input used.
    pub refinement_use: RefinementUse,
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
/// with `prefix` so several runs merge by class name only (their names stay the trace's own).
/// Reports go to `emit`; malformed lines are described on `err` as `source:line: field ...` and
/// skipped.
pub fn replay_trace(
    source: &str,
    reader: impl BufRead,
    prefix: &str,
    replayer: &mut Replayer,
    err: &mut dyn io::Write,
    emit: &mut dyn FnMut(ReplayedReport) -> io::Result<()>,
) -> io::Result<TraceStats> {
    replay_trace_labelled(source, reader, prefix, None, None, replayer, err, emit)
}

/// What tells the inputs apart in thread names, one per input: its file name, or the whole
/// name given when two inputs share a file name.
pub fn labels(inputs: &[String]) -> Vec<String> {
    let base = |s: &str| {
        std::path::Path::new(s)
            .file_name()
            .map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
    };
    inputs
        .iter()
        .map(|i| {
            let b = base(i);
            if inputs.iter().filter(|j| base(j) == b).count() > 1 {
                i.clone()
            } else {
                b
            }
        })
        .collect()
}

/// [`replay_trace`], each thread named `LABEL:NAME` when `label` is given (several inputs,
/// whose threads would otherwise share names such as `thread-1`), noting in its stats which
/// names of `refinement` (the replayer's own) the trace used.
#[allow(clippy::too_many_arguments)]
pub fn replay_trace_labelled(
    source: &str,
    mut reader: impl BufRead,
    prefix: &str,
    label: Option<&str>,
    refinement: Option<&ClassRefinement>,
    replayer: &mut Replayer,
    err: &mut dyn io::Write,
    emit: &mut dyn FnMut(ReplayedReport) -> io::Result<()>,
) -> io::Result<TraceStats> {
    let mut stats = TraceStats::default();
    let before: Vec<lockdep::replay::LimitHit> = replayer.limit_hits().to_vec();
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0usize;
    let mut lines = Lines {
        source,
        prefix,
        label,
        refinement: refinement.filter(|r| !r.is_empty()),
        named: HashSet::new(),
        replayer,
        err,
        emit,
        stats: &mut stats,
    };
    loop {
        // The lines the reader's buffer holds whole are read where they are, without a copy,
        // their UTF-8 checked once for all of them.
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        if let Some(last) = memchr::memrchr(b'\n', chunk) {
            let whole = &chunk[..=last];
            let mut flow = ControlFlow::Continue(());
            let mut start = 0;
            match std::str::from_utf8(whole) {
                Ok(text) => {
                    for end in memchr::memchr_iter(b'\n', whole) {
                        line_no += 1;
                        // Newlines are ASCII: each line is on character boundaries.
                        flow = lines.text(line_no, &text[start..=end], end + 1 - start)?;
                        start = end + 1;
                        if flow.is_break() {
                            break;
                        }
                    }
                }
                Err(_) => {
                    for end in memchr::memchr_iter(b'\n', whole) {
                        line_no += 1;
                        flow = lines.line(line_no, &whole[start..=end])?;
                        start = end + 1;
                        if flow.is_break() {
                            break;
                        }
                    }
                }
            }
            reader.consume(start);
            if flow.is_break() {
                break;
            }
            continue;
        }
        // Otherwise (a line across the buffer's end, or the last one without a newline) it is
        // copied, up to the limit.
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
            lines.stats.errors += 1;
            writeln!(
                lines.err,
                "lockcheck: {source}:{line_no}: line longer than {MAX_LINE} bytes, skipped"
            )?;
            skip_line(&mut reader)?;
            continue;
        }
        if lines.line(line_no, &buf)?.is_break() {
            break;
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

/// `bytes` as text, each byte that is not part of valid UTF-8 mapped to U+10FF00 + its value
/// (the last private-use code points), so byte strings that differ in bad bytes stay distinct
/// (unless a name uses those code points itself, which no trace writer's names do).
fn decode_bytewise(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for &b in chunk.invalid() {
            text.push(char::from_u32(0x10_FF00 + u32::from(b)).expect("a private-use scalar"));
        }
    }
    text
}

/// What [`replay_trace`] reads each line with.
struct Lines<'a, 'e> {
    source: &'a str,
    prefix: &'a str,
    label: Option<&'a str>,
    /// The replayer's class refinement, when it has one.
    refinement: Option<&'a ClassRefinement>,
    /// Threads (by the trace's id) given a name already, with a prefix only.
    named: HashSet<String>,
    replayer: &'a mut Replayer,
    err: &'a mut dyn io::Write,
    emit: &'a mut dyn FnMut(ReplayedReport) -> io::Result<()>,
    stats: &'e mut TraceStats,
}

impl Lines<'_, '_> {
    /// Replays line `line_no` (`buf`, with its newline unless it is the last line).
    fn line(&mut self, line_no: usize, buf: &[u8]) -> io::Result<ControlFlow<()>> {
        // `from_utf8` is the fast check; only a line that fails it pays for the copy.
        let bad = match std::str::from_utf8(buf) {
            Ok(text) => return self.text(line_no, text, buf.len()),
            Err(e) => e.valid_up_to(),
        };
        // Not UTF-8, so not what any trace writer writes: an input error. The event is still
        // replayed, each bad byte read as a character of its own, so two names that differ
        // only in bad bytes stay two locks (U+FFFD for all would make them one, and a false
        // cycle between them). A line that is wrong in another way too gets that error alone.
        let text = decode_bytewise(buf);
        let errors = self.stats.errors;
        let flow = self.text(line_no, &text, buf.len())?;
        if self.stats.errors == errors {
            self.stats.errors += 1;
            writeln!(
                self.err,
                "lockcheck: {}:{line_no}: invalid UTF-8 at byte {}: replayed with each bad byte \
                 read as U+10FFxx (xx its value)",
                self.source,
                bad + 1
            )?;
        }
        Ok(flow)
    }

    /// [`line`](Self::line) once it is text (`bytes` long as read).
    fn text(&mut self, line_no: usize, text: &str, bytes: usize) -> io::Result<ControlFlow<()>> {
        let source = self.source;
        let mut ev = match parse_line_ref(text) {
            Ok(Some(ev)) => ev,
            Ok(None) => {
                if !text.trim().is_empty() {
                    self.stats.skipped += 1;
                }
                return Ok(ControlFlow::Continue(()));
            }
            Err(e) if e.field == "format" => {
                // A newer format: nothing after this line can be read safely.
                self.stats.errors += 1;
                writeln!(
                    self.err,
                    "lockcheck: {source}:{line_no}: {e}; this file is skipped"
                )?;
                return Ok(ControlFlow::Break(()));
            }
            Err(e) => {
                self.stats.errors += 1;
                if !text.ends_with('\n') {
                    // The last record, cut off: the writer stopped mid-line (killed, aborted).
                    writeln!(
                        self.err,
                        "lockcheck: {source}:{line_no}: the trace ends inside a record ({} bytes \
                         without a newline, {e}): the process stopped while writing; everything \
                         before it was replayed",
                        bytes
                    )?;
                } else {
                    writeln!(self.err, "lockcheck: {source}:{line_no}: {e}")?;
                }
                return Ok(ControlFlow::Continue(()));
            }
        };
        let prefix = self.prefix;
        if let Some(r) = self.refinement
            && matches!(
                ev.op,
                TraceOp::Acquire | TraceOp::SeqRead | TraceOp::UnbalancedRelease
            )
            && !ev.lock.is_empty()
        {
            let instance = match self.label {
                Some(label) => Cow::Owned(format!("{label}:{}", ev.lock)),
                None => Cow::Borrowed(&*ev.lock),
            };
            let class = self
                .stats
                .refinement_use
                .refine(r, &ev.lock, ev.class_name(), &instance);
            if !prefix.is_empty() {
                // Refined here, with the trace's own lock id: the replayer would look the
                // prefixed one up (and name a split class after it). Its own refinement of the
                // result changes nothing more.
                ev.class = Some(Cow::Owned(class));
            }
        }
        if !prefix.is_empty() {
            // Classes merge across runs by name; threads and instances never do.
            if ev.class.is_none() && !ev.lock.is_empty() {
                ev.class = Some(ev.lock.clone());
            }
            // The thread keeps the name it has in its trace: the replayer would name it after
            // the prefixed id. It takes a thread's name from the event that makes the thread
            // (the replayer keeps it while the thread is idle), so a default name is given once
            // per thread, and again after the thread exits. A class record names a thread only
            // when it says so.
            let op = ev.op;
            if let Some(n) = &ev.thread_name {
                if let Some(label) = self.label {
                    ev.thread_name = Some(Cow::Owned(format!("{label}:{n}")));
                }
                self.named.insert(ev.thread.to_string());
            } else if op != TraceOp::Class && !self.named.contains(&*ev.thread) {
                let name = default_name(&ev.thread);
                ev.thread_name = Some(Cow::Owned(match self.label {
                    Some(label) => format!("{label}:{name}"),
                    None => name,
                }));
                self.named.insert(ev.thread.to_string());
            }
            if op == TraceOp::ThreadExit {
                self.named.remove(&*ev.thread);
            }
            ev.thread = Cow::Owned(format!("{prefix}{}", ev.thread));
            if !ev.lock.is_empty() {
                ev.lock = Cow::Owned(format!("{prefix}{}", ev.lock));
            }
            if let Some(n) = &mut ev.nest_lock {
                *n = Cow::Owned(format!("{prefix}{n}"));
            }
        }
        match self.replayer.apply_ref(&ev) {
            Ok(reports) => {
                self.stats.events += 1;
                for r in reports {
                    (self.emit)(ReplayedReport::from_trace(source, line_no, r))?;
                }
            }
            Err(mut e) => {
                self.stats.errors += 1;
                // The trace's own ids, not the prefixed ones the replayer saw.
                if !prefix.is_empty() {
                    let thread = ev.thread.strip_prefix(prefix).unwrap_or(&ev.thread);
                    let lock = ev.lock.strip_prefix(prefix).unwrap_or(&ev.lock);
                    e.message = unprefixed(&e.message, (&ev.thread, thread), (&ev.lock, lock));
                }
                writeln!(self.err, "lockcheck: {source}:{line_no}: {e}")?;
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Which names of a class refinement the traces used: one that matched nothing is most likely
/// mistyped, and its option changed nothing.
#[derive(Debug, Default)]
pub struct RefinementUse {
    split: HashSet<String>,
    merge: HashSet<String>,
    class_of: HashSet<String>,
}

impl RefinementUse {
    /// The class of lock `lock`, recorded as `recorded`, under `r` (as
    /// [`ClassRefinement::class_for`] draws it, a split class named `NAME@instance`), noting the
    /// names used.
    fn refine(
        &mut self,
        r: &ClassRefinement,
        lock: &str,
        recorded: &str,
        instance: &str,
    ) -> String {
        fn note(set: &mut HashSet<String>, name: &str) {
            if !set.contains(name) {
                set.insert(name.to_string());
            }
        }
        let mut name = match r.class_of.get(lock) {
            Some(n) => {
                note(&mut self.class_of, lock);
                n.as_str()
            }
            None => recorded,
        };
        // Bounded as the library bounds it, so a cycle of merges cannot loop.
        for _ in 0..16 {
            match r.merge.get(name) {
                Some(to) => {
                    note(&mut self.merge, name);
                    if to == name {
                        break;
                    }
                    name = to;
                }
                None => break,
            }
        }
        if r.split.contains(name) {
            note(&mut self.split, name);
            return format!("{name}@{instance}");
        }
        name.to_string()
    }

    /// Adds what another input used.
    pub fn absorb(&mut self, other: RefinementUse) {
        self.split.extend(other.split);
        self.merge.extend(other.merge);
        self.class_of.extend(other.class_of);
    }

    /// A warning for each name of `r` that no lock of the traces matched, in name order.
    pub fn unused(&self, r: &ClassRefinement) -> Vec<String> {
        let mut out = Vec::new();
        let mut split: Vec<&String> = r
            .split
            .iter()
            .filter(|n| !self.split.contains(*n))
            .collect();
        split.sort();
        for n in split {
            out.push(format!(
                "--split-class {n}: no lock of the traces is of class {n:?}: nothing was split"
            ));
        }
        let mut merge: Vec<(&String, &String)> = r
            .merge
            .iter()
            .filter(|(a, _)| !self.merge.contains(*a))
            .collect();
        merge.sort();
        for (a, b) in merge {
            out.push(format!(
                "--merge-class {a}={b}: no lock of the traces is of class {a:?}: nothing was merged"
            ));
        }
        let mut class_of: Vec<(&String, &String)> = r
            .class_of
            .iter()
            .filter(|(i, _)| !self.class_of.contains(*i))
            .collect();
        class_of.sort();
        for (i, n) in class_of {
            out.push(format!(
                "--class-of {i}={n}: the traces take no lock {i:?}: no class was changed"
            ));
        }
        out
    }
}

/// The name the replayer gives a thread that names none: `thread-N` for a numbered thread, else
/// its id (as `lockdep::replay` does).
fn default_name(thread: &str) -> String {
    if thread.parse::<u64>().is_ok() {
        format!("thread-{thread}")
    } else {
        thread.to_string()
    }
}

/// A replay error's `message` with the prefixed thread and lock ids put back as the trace has
/// them (the replayer quotes the lock with `{:?}` and writes the thread bare, or quoted when it
/// holds control characters).
fn unprefixed(message: &str, thread: (&str, &str), lock: (&str, &str)) -> String {
    let shown = |t: &str| {
        if t.chars().any(char::is_control) {
            format!("{t:?}")
        } else {
            t.to_string()
        }
    };
    message
        .replacen(
            &format!("thread {} ", shown(thread.0)),
            &format!("thread {} ", shown(thread.1)),
            1,
        )
        .replacen(&format!("{:?}", lock.0), &format!("{:?}", lock.1), 1)
}
