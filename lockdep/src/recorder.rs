//! Recording lock events to a trace file.
//!
//! Every event takes a global sequence number *inside its thread's own buffer lock* and is
//! appended to that buffer; nothing global is locked on the hot path. A flush (when a buffer
//! fills, when a thread ends, on panic, or on request) snapshots the sequence counter, drains from
//! every buffer the events numbered below the snapshot, and writes them merged in sequence order.
//! An event numbered below the snapshot is always visible to the flush: its number was taken under
//! the buffer lock the flush must acquire. So the file is in global event order, every write is
//! whole lines, and a crash loses at most the unflushed tail.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex as RawMutex;

use crate::trace::json_str;

/// Events a thread buffers before it flushes.
const FLUSH_EVERY: usize = 4096;

/// One thread's pending events: JSON lines and their sequence numbers.
#[derive(Default)]
pub(crate) struct ThreadBuf {
    inner: RawMutex<Pending>,
}

#[derive(Default)]
struct Pending {
    text: String,
    // (sequence number, end offset in `text`), ascending.
    index: Vec<(u64, usize)>,
}

/// A trace file being written.
pub(crate) struct Recorder {
    seq: AtomicU64,
    out: RawMutex<Option<BufWriter<File>>>,
    threads: RawMutex<Vec<Arc<ThreadBuf>>>,
    path: String,
}

impl Recorder {
    pub(crate) fn create(path: &Path) -> io::Result<Recorder> {
        let file = File::create(path)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        writeln!(
            out,
            "{{\"op\":\"trace\",\"format\":{},\"writer\":\"lockdep {}\"}}",
            crate::trace::FORMAT_VERSION,
            env!("CARGO_PKG_VERSION")
        )?;
        Ok(Recorder {
            seq: AtomicU64::new(0),
            out: RawMutex::new(Some(out)),
            threads: RawMutex::new(Vec::new()),
            path: path.display().to_string(),
        })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn register_thread(&self) -> Arc<ThreadBuf> {
        let buf = Arc::new(ThreadBuf::default());
        self.threads.lock().push(buf.clone());
        buf
    }

    /// Appends one event, written by `write` into the line buffer (without the newline).
    #[inline]
    pub(crate) fn record(&self, buf: &ThreadBuf, write: impl FnOnce(&mut String)) {
        let full = {
            let mut p = buf.inner.lock();
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            write(&mut p.text);
            p.text.push('\n');
            let end = p.text.len();
            p.index.push((seq, end));
            p.index.len() >= FLUSH_EVERY
        };
        if full {
            let _ = self.flush();
        }
    }

    /// Writes every event recorded so far, in sequence order.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let mut out = self.out.lock();
        let Some(w) = out.as_mut() else { return Ok(()) };
        let cutoff = self.seq.load(Ordering::SeqCst);
        let threads: Vec<Arc<ThreadBuf>> = self.threads.lock().clone();
        let mut lines: Vec<(u64, String)> = Vec::new();
        for t in &threads {
            let mut p = t.inner.lock();
            let n = p.index.partition_point(|(s, _)| *s < cutoff);
            if n == 0 {
                continue;
            }
            let mut start = 0;
            for &(seq, end) in &p.index[..n] {
                lines.push((seq, p.text[start..end].to_string()));
                start = end;
            }
            p.text.drain(..start);
            p.index.drain(..n);
            for e in &mut p.index {
                e.1 -= start;
            }
        }
        lines.sort_unstable_by_key(|(s, _)| *s);
        let mut chunk = String::new();
        for (_, l) in &lines {
            chunk.push_str(l);
        }
        w.write_all(chunk.as_bytes())?;
        w.flush()?;
        // Forget threads that ended (only the registry still holds them) and have nothing left.
        self.threads
            .lock()
            .retain(|t| Arc::strong_count(t) > 1 || !t.inner.lock().index.is_empty());
        Ok(())
    }

    /// Flushes and closes the file; later events are dropped.
    pub(crate) fn close(&self) -> io::Result<()> {
        self.flush()?;
        if let Some(mut w) = self.out.lock().take() {
            w.flush()?;
        }
        Ok(())
    }
}

/// Writes the fields every lock event shares.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_lock_event(
    out: &mut String,
    thread: u64,
    thread_name: Option<&str>,
    op: &str,
    lock: u64,
    class: &str,
    mode: crate::Mode,
    trylock: bool,
    subclass: u32,
    nest_lock: Option<u64>,
    kind: crate::LockKind,
    at: &crate::Site,
    async_lock: bool,
    wait: Option<crate::trace::Wait>,
) {
    let _ = write!(out, "{{\"thread\":{thread}");
    if let Some(n) = thread_name {
        out.push_str(",\"thread_name\":");
        json_str(out, n);
    }
    let _ = write!(out, ",\"op\":\"{op}\",\"lock\":\"{lock:#x}\",\"class\":");
    json_str(out, class);
    if mode != crate::Mode::Write || op == "mode" {
        let _ = write!(out, ",\"mode\":\"{}\"", mode.as_str());
    }
    if trylock {
        out.push_str(",\"try\":true");
    }
    if subclass != 0 {
        let _ = write!(out, ",\"subclass\":{subclass}");
    }
    if let Some(n) = nest_lock {
        let _ = write!(out, ",\"nest_lock\":\"{n:#x}\"");
    }
    if kind != crate::LockKind::Mutex {
        let _ = write!(out, ",\"kind\":\"{}\"", kind.as_str());
    }
    if !matches!(at, crate::Site::Unknown) {
        out.push_str(",\"at\":");
        json_str(out, &at.to_string());
    }
    if async_lock {
        out.push_str(",\"async\":true");
    }
    if let Some(w) = wait {
        let _ = write!(out, ",\"wait\":\"{}\"", w.as_str());
    }
    out.push('}');
}

/// Writes a thread-only event (`might_sleep`, non-blocking sections).
/// A release with only the lock (a lock the trace holds as skipped: no class needed).
pub(crate) fn write_bare_release(
    out: &mut String,
    thread: u64,
    thread_name: Option<&str>,
    lock: u64,
) {
    let _ = write!(out, "{{\"thread\":{thread}");
    if let Some(n) = thread_name {
        out.push_str(",\"thread_name\":");
        json_str(out, n);
    }
    let _ = write!(out, ",\"op\":\"release\",\"lock\":\"{lock:#x}\"}}");
}

pub(crate) fn write_thread_event(
    out: &mut String,
    thread: u64,
    thread_name: Option<&str>,
    op: &str,
    at: &crate::Site,
) {
    let _ = write!(out, "{{\"thread\":{thread}");
    if let Some(n) = thread_name {
        out.push_str(",\"thread_name\":");
        json_str(out, n);
    }
    let _ = write!(out, ",\"op\":\"{op}\"");
    if !matches!(at, crate::Site::Unknown) {
        out.push_str(",\"at\":");
        json_str(out, &at.to_string());
    }
    out.push('}');
}

/// Writes a class registration record.
pub(crate) fn write_class_event(
    out: &mut String,
    thread: u64,
    thread_name: &str,
    class: &str,
    subclass: u32,
    kind: crate::LockKind,
    at: &crate::Site,
) {
    let _ = write!(out, "{{\"thread\":{thread},\"thread_name\":");
    json_str(out, thread_name);
    out.push_str(",\"op\":\"class\",\"class\":");
    json_str(out, class);
    if subclass != 0 {
        let _ = write!(out, ",\"subclass\":{subclass}");
    }
    let _ = write!(out, ",\"kind\":\"{}\"", kind.as_str());
    if !matches!(at, crate::Site::Unknown) {
        out.push_str(",\"at\":");
        json_str(out, &at.to_string());
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_merges_threads_in_sequence_order() {
        let dir = std::env::temp_dir().join(format!("lockdep-rec-{}", std::process::id()));
        let r = Arc::new(Recorder::create(&dir).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let buf = r.register_thread();
                    for i in 0..1000 {
                        r.record(&buf, |s| {
                            let _ = write!(s, "{{\"t\":{t},\"i\":{i}}}");
                        });
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        r.close().unwrap();
        let text = std::fs::read_to_string(&dir).unwrap();
        std::fs::remove_file(&dir).ok();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("{\"op\":\"trace\",\"format\":1,"),
            "{}",
            lines[0]
        );
        let lines = &lines[1..];
        assert_eq!(lines.len(), 4000);
        // Per thread, events appear in program order.
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("{{\"t\":{t},")))
                .collect();
            let want: Vec<String> = (0..1000)
                .map(|i| format!("{{\"t\":{t},\"i\":{i}}}"))
                .collect();
            assert_eq!(mine, want);
        }
    }
}
