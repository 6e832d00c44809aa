//! A large read window over the input: big blocks for the pre-filter to search, and the
//! bounded physical-line reader the line machinery uses.
//!
//! Offsets handed out are *absolute* (bytes from the start of the input), so positions
//! stay meaningful when the window slides.

use std::io::{ErrorKind, Read};

use super::line::MAX_LINE_BYTES;

/// Bytes read per block when nothing else is asked for: big enough that searching is
/// mostly streaming, small enough to stay in a core's L2 cache.
pub const DEFAULT_WINDOW: usize = 256 * 1024;

/// A sliding window of input bytes `[base + pos, base + end)` not yet consumed.
pub(crate) struct Window<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: u64,
    eof: bool,
    /// Whether lines end in `\r` alone (an old Mac editor's, a terminal capture's), read as
    /// `\n`; told by the first line end read.
    cr_lines: Option<bool>,
}

/// How a physical line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Physical {
    /// The line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub(crate) cut: bool,
    /// The input ended before the line's newline.
    pub(crate) unterminated: bool,
}

impl<R: Read> Window<R> {
    /// A window of `capacity` bytes (at least one maximal line and its newline).
    pub(crate) fn new(inner: R, capacity: usize) -> Window<R> {
        Window {
            inner,
            buf: vec![0; capacity.max(MAX_LINE_BYTES + 1)],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            cr_lines: None,
        }
    }

    /// The unconsumed bytes in the window.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Absolute offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The input has no more bytes than those in the window.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// The window holds as many unconsumed bytes as it can.
    pub(crate) fn is_full(&self) -> bool {
        self.end - self.pos == self.buf.len()
    }

    /// Consume `n` bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.pos);
        self.pos += n;
    }

    /// Go back to absolute offset `at`, if it is still in the window.
    pub(crate) fn rewind_to(&mut self, at: u64) -> bool {
        if at < self.base || at > self.offset() {
            return false;
        }
        self.pos = (at - self.base) as usize;
        true
    }

    /// Read more input after the unconsumed bytes (moving them to the front first).
    /// Returns how many bytes arrived: 0 at the end of input or when the window is full.
    pub(crate) fn fill_more(&mut self) -> std::io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            return Ok(0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    self.decide_line_ends();
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    if self.cr_lines == Some(true) {
                        let new = self.end - n..self.end;
                        cr_to_lf(&mut self.buf[new]);
                    }
                    self.decide_line_ends();
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Tells how lines end while it is not known: `\n` as soon as one is read; `\r` alone
    /// when the input ends, or the window fills, with `\r`s and no `\n` (a CRLF or `\r\r\n`
    /// line has its `\n`, and a progress bar's `\r`s in a line are followed by one), converting
    /// what the window holds.
    fn decide_line_ends(&mut self) {
        if self.cr_lines.is_some() {
            return;
        }
        let data = &self.buf[self.pos..self.end];
        if memchr::memchr(b'\n', data).is_some() {
            self.cr_lines = Some(false);
        } else if (self.eof || self.end == self.buf.len()) && memchr::memchr(b'\r', data).is_some()
        {
            self.cr_lines = Some(true);
            let unread = self.pos..self.end;
            cr_to_lf(&mut self.buf[unread]);
        }
    }

    /// Read one physical line into `line` (cleared first): at most [`MAX_LINE_BYTES`]
    /// bytes, its newline included when that fits; the rest of a longer line is skipped.
    /// `None` at the end of input.
    pub(crate) fn read_physical(
        &mut self,
        line: &mut Vec<u8>,
    ) -> std::io::Result<Option<Physical>> {
        line.clear();
        // Bring the whole line into the window when it fits, so it stays there (a caller
        // may want to go back to its start).
        let mut scanned = 0;
        loop {
            let data = self.data();
            if let Some(i) = memchr::memchr(b'\n', &data[scanned..]).map(|i| scanned + i) {
                let used = i + 1;
                line.extend_from_slice(&data[..used.min(MAX_LINE_BYTES)]);
                self.pos += used;
                return Ok(Some(Physical {
                    cut: used > MAX_LINE_BYTES,
                    unterminated: false,
                }));
            }
            if self.eof {
                if data.is_empty() {
                    return Ok(None);
                }
                let len = data.len();
                line.extend_from_slice(&data[..len.min(MAX_LINE_BYTES)]);
                self.pos = self.end;
                return Ok(Some(Physical {
                    cut: len > MAX_LINE_BYTES,
                    unterminated: true,
                }));
            }
            if self.is_full() {
                break;
            }
            // (All of it again while line ends are unknown: `\r`s may become `\n`s.)
            scanned = if self.cr_lines.is_some() {
                data.len()
            } else {
                0
            };
            self.fill_more()?;
        }
        // Longer than the window (so longer than a line may be): keep the head, skip the rest.
        let data = self.data();
        line.extend_from_slice(&data[..MAX_LINE_BYTES]);
        self.pos = self.end;
        loop {
            self.fill_more()?;
            let data = self.data();
            if let Some(i) = memchr::memchr(b'\n', data) {
                self.pos += i + 1;
                return Ok(Some(Physical {
                    cut: true,
                    unterminated: false,
                }));
            }
            if self.eof {
                return Ok(Some(Physical {
                    cut: true,
                    unterminated: true,
                }));
            }
            self.pos = self.end;
        }
    }
}

/// Each `\r` of `bytes` as `\n` (lines that end in `\r` alone).
fn cr_to_lf(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b == b'\r') {
        *b = b'\n';
    }
}

/// A reader that hands out at most `step` bytes per call, like a slow pipe.
#[cfg(test)]
pub(crate) struct Trickle<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) step: usize,
}

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], step: usize, cap: usize) -> Vec<(Vec<u8>, Physical)> {
        let mut w = Window::new(Trickle { data, step }, cap);
        let mut v = Vec::new();
        let mut line = Vec::new();
        while let Some(p) = w.read_physical(&mut line).unwrap() {
            v.push((line.clone(), p));
        }
        v
    }

    #[test]
    fn lines_are_bounded_and_flagged() {
        let mut data = b"a\n\nbc".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES));
        data.extend_from_slice(b"\nlast");
        for step in [3, 4096, 1 << 20] {
            for cap in [0, 100_000, 1 << 20] {
                let v = lines(&data, step, cap);
                assert_eq!(v.len(), 4, "step {step} cap {cap}");
                assert_eq!(v[0].0, b"a\n");
                assert_eq!(v[1].0, b"\n");
                assert_eq!(v[2].0.len(), MAX_LINE_BYTES);
                assert!(v[2].0.starts_with(b"bcx"));
                assert!(v[2].1.cut && !v[2].1.unterminated);
                assert_eq!(v[3].0, b"last");
                assert!(!v[3].1.cut && v[3].1.unterminated);
            }
        }
    }

    #[test]
    fn lines_ended_by_a_carriage_return_alone_are_lines() {
        for step in [1, 3, 4096] {
            let v = lines(b"no end yet, one\rtwo\r\rthree", step, 0);
            let texts: Vec<&[u8]> = v.iter().map(|(l, _)| l.as_slice()).collect();
            assert_eq!(
                texts,
                [&b"no end yet, one\n"[..], b"two\n", b"\n", b"three"]
            );
            // CRLF, `\r\r\n` and a progress bar's `\r`s are left to the line normaliser.
            let v = lines(b"one\r\ntwo\r\n", step, 0);
            assert_eq!(v[0].0, b"one\r\n");
            let v = lines(b"one\r\r\ntwo\r\r\n", step, 0);
            assert_eq!(v.len(), 2);
            let v = lines(b"10%\r100%\rdone\nnext\r\n", step, 0);
            assert_eq!(v.len(), 2);
        }
    }

    #[test]
    fn a_line_longer_than_the_window_is_cut() {
        let mut data = vec![b'y'; 300_000];
        data.extend_from_slice(b"\nz\n");
        let v = lines(&data, 5000, 0);
        assert_eq!(v.len(), 2);
        assert!(v[0].1.cut);
        assert_eq!(v[0].0.len(), MAX_LINE_BYTES);
        assert_eq!(v[1].0, b"z\n");
        let v = lines(&data[..300_000], 5000, 0);
        assert_eq!(v.len(), 1);
        assert!(v[0].1.cut && v[0].1.unterminated);
    }
}
