//! The parse loop. While no report is open, the [pre-filter](super::prefilter) skips raw
//! bytes that cannot matter, a block at a time; the line machinery (normaliser, joiner,
//! scanner) runs from a few lines before each hit until no report is open again. While a
//! report is open, lines of other callers (with a caller id in the usual console shape)
//! are skipped the same way, so a report whose task goes quiet does not slow the rest.
//!
//! The output is exactly that of running the line machinery over every line:
//!
//! - skipping resumes only at a line the joiner certainly does not join to the one before
//!   it ([`may_join`]), so joined lines are never split;
//! - skipped lines are counted, so line numbers stay exact;
//! - the last caller id among skipped lines is recovered (lines without one inherit it);
//! - a skipped line is never within three lines before a hit, so a rule line's memory
//!   (a report starts at a `=====` at most three lines before its banner) is the same;
//! - with a report open, only lines whose caller id is certain and not an open report's
//!   are skipped, and never the input's unterminated last line (the scanner notes it);
//! - quoted-printable input (`=3D` is a needle) is read line by line from then on.

use std::collections::VecDeque;
use std::io::Read;

use super::line::{Joiner, Line, LineEnd, MAX_LINE_BYTES, Normalizer, may_join};
use super::prefilter::{
    Hits, console_caller, count_newlines, find_suspicious, last_caller_candidate,
};
use super::scan::{Scanner, detect_banner};
use super::window::Window;
use crate::classify::{self, Context};
use crate::report::Report;

/// How to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Window size in bytes.
    pub(crate) window: usize,
    /// Skip what cannot matter (off: every line goes through the line machinery).
    pub(crate) prefilter: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            window: super::window::DEFAULT_WINDOW,
            prefilter: true,
        }
    }
}

/// Where skimming stopped.
enum Skimmed {
    /// End of input.
    Eof,
    /// Read lines from here; skimming may resume at a line starting at or after this
    /// absolute offset.
    Lines { resume_after: u64 },
}

struct Parser<'a, R, F> {
    window: Window<R>,
    norm: Normalizer,
    joiner: Joiner,
    queue: VecDeque<Line>,
    /// Physical lines before the window's position.
    no: usize,
    buf: Vec<u8>,
    hits: Hits,
    scanner: Scanner,
    ctx: Context,
    count: usize,
    on_report: &'a mut F,
}

/// Parse one input; see [`super::parse_reader`].
pub(crate) fn parse<R: Read, F: FnMut(Report) -> std::io::Result<()>>(
    source: &str,
    reader: R,
    opts: Options,
    on_report: &mut F,
) -> std::io::Result<usize> {
    let mut p = Parser {
        window: Window::new(reader, opts.window),
        norm: Normalizer::new(),
        joiner: Joiner::default(),
        queue: VecDeque::new(),
        no: 0,
        buf: Vec::new(),
        hits: Hits::new(),
        scanner: Scanner::new(source),
        ctx: Context::default(),
        count: 0,
        on_report,
    };
    match p.run(opts.prefilter) {
        Ok(()) => {}
        Err(Failure::Report(e)) => return Err(e),
        Err(Failure::Read(e)) => {
            // Report what was read so far (open reports marked cut off), then the error.
            if let Some(l) = p.joiner.finish() {
                p.scanner.push(l);
            }
            p.scanner
                .finish_interrupted(&format!("the input could not be read to its end ({e})"));
            p.emit().map_err(Failure::into_inner)?;
            return Err(e);
        }
    }
    p.scanner.finish();
    p.emit().map_err(Failure::into_inner)?;
    Ok(p.count)
}

enum Failure {
    Read(std::io::Error),
    Report(std::io::Error),
}

impl Failure {
    fn into_inner(self) -> std::io::Error {
        match self {
            Failure::Read(e) | Failure::Report(e) => e,
        }
    }
}

/// A physical line's bytes as the line reader delivers them.
fn capped(line: &[u8]) -> &[u8] {
    &line[..line.len().min(MAX_LINE_BYTES)]
}

/// Start of the line `k` lines before the one starting at `at` (0 if there are fewer).
fn lines_back(region: &[u8], mut at: usize, k: usize) -> usize {
    for _ in 0..k {
        if at == 0 {
            return 0;
        }
        at = line_start(region, at - 1);
    }
    at
}

/// Start of the line holding byte `at`.
fn line_start(region: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &region[..at]).map_or(0, |i| i + 1)
}

/// End of the line starting at `at` (after its newline).
fn line_end(region: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &region[at..]).map_or(region.len(), |i| at + i + 1)
}

/// The last line start at or before `target` (in `region`, whose lines hold no hit) that
/// the joiner certainly does not join to the line before it; 0 if none is found nearby.
fn boundary_at_or_before(region: &[u8], target: usize) -> usize {
    const MAX_TRIES: usize = 64;
    let mut s = target;
    let mut norm = Normalizer::new();
    let mut next = None;
    for _ in 0..MAX_TRIES {
        if s == 0 {
            return 0;
        }
        let y = match next.take() {
            Some(y) => y,
            None => norm.strip(capped(&region[s..line_end(region, s)])),
        };
        let x_start = lines_back(region, s, 1);
        let x = norm.strip(capped(&region[x_start..s]));
        if !may_join(LineEnd::of(&x), &y) {
            return s;
        }
        next = Some(x);
        s = x_start;
    }
    0
}

/// The first hit in `region` (at absolute offset `start`) that may matter: a keyword on
/// a line that is no banner and stands alone is passed over like any other line.
fn next_hit(hits: &mut Hits, region: &[u8], start: u64, eof: bool) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = (hits.first(&region[from..], start + from as u64)? - start) as usize;
        let (ls, le) = (line_start(region, at), line_end(region, at));
        if !idle_line(region, ls, le, eof) {
            return Some(at);
        }
        from = le;
    }
}

/// Whether the line `region[start..end]` (holding a keyword) certainly changes nothing
/// while no report is open: its bytes are read as they are (no suspicious byte, no
/// quoted-printable escape), it is no banner, and the next line does not join it (so no
/// joined line starts with it). The lines of `region` before it hold no hit.
fn idle_line(region: &[u8], start: usize, end: usize, eof: bool) -> bool {
    let line = &region[start..end];
    if find_suspicious(line).is_some() || memchr::memmem::find(line, b"=3D").is_some() {
        return false;
    }
    let mut norm = Normalizer::new();
    if super::line::opens_html_part(line) {
        return false;
    }
    let st = norm.strip(capped(line));
    if detect_banner(&st.text).is_some()
        || super::line::syslog_parts(st.had_prefix, &st.text)
            .iter()
            .any(|p| detect_banner(p).is_some())
    {
        return false;
    }
    if end == region.len() {
        // The last line of the input stands alone; otherwise the next is not here yet.
        return eof;
    }
    let next = norm.strip(capped(&region[end..line_end(region, end)]));
    !may_join(LineEnd::of(&st), &next)
}

/// With a report open: the start of the first line before `upto` that an open report
/// may be fed — one whose caller id is an open report's, or is not certain (no id in the
/// usual shape: it could inherit one); the input's last line without a newline is one
/// too (the scanner notes it). The lines hold no hit.
fn first_fed_line(region: &[u8], upto: usize, scanner: &Scanner) -> Option<usize> {
    let mut at = 0;
    while at < upto {
        let end = line_end(region, at);
        let line = &region[at..end];
        let unterminated = line.last() != Some(&b'\n');
        match console_caller(line) {
            Some(c) if !unterminated && !scanner.is_open_for(c) => at = end,
            _ => return Some(at),
        }
    }
    None
}

/// Where the lines of `skipped` (whole lines) that start a mail begin (see
/// [`starts_a_mail`](super::line::starts_a_mail)).
fn mail_starts(skipped: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', skipped).map(|i| i + 1))
        .filter(move |&i| {
            matches!(skipped.get(i), Some(b'F' | b'f' | b'M' | b'm'))
                && super::line::starts_a_mail(&skipped[i..line_end(skipped, i)])
        })
}

/// The caller id of the last line in `skipped` that has one.
fn last_caller(skipped: &[u8]) -> Option<String> {
    let mut end = skipped.len();
    let mut norm = Normalizer::new();
    while let Some(i) = last_caller_candidate(&skipped[..end]) {
        let start = line_start(skipped, i);
        let st = norm.strip(capped(&skipped[start..line_end(skipped, i)]));
        if let Some(c) = st.ctx {
            return Some(c);
        }
        end = start;
    }
    None
}

impl<R: Read, F: FnMut(Report) -> std::io::Result<()>> Parser<'_, R, F> {
    fn emit(&mut self) -> Result<(), Failure> {
        while let Some(mut r) = self.scanner.pop() {
            classify::classify(&mut r, &self.ctx);
            self.ctx.earlier.push(classify::Earlier::of(&r));
            self.count += 1;
            (self.on_report)(r).map_err(Failure::Report)?;
        }
        Ok(())
    }

    fn push(&mut self, line: Line) -> Result<(), Failure> {
        self.scanner.push(line);
        self.emit()
    }

    fn run(&mut self, prefilter: bool) -> Result<(), Failure> {
        let mut skimming = prefilter;
        let mut resume_after = 0u64;
        let mut prev_end: Option<LineEnd> = None;
        loop {
            if skimming {
                match self.skim().map_err(Failure::Read)? {
                    Skimmed::Eof => return Ok(()),
                    Skimmed::Lines { resume_after: r } => {
                        skimming = false;
                        resume_after = r;
                        prev_end = None;
                    }
                }
                continue;
            }
            let start = self.window.offset();
            let Some(phys) = self
                .window
                .read_physical(&mut self.buf)
                .map_err(Failure::Read)?
            else {
                if let Some(l) = self.joiner.finish() {
                    self.push(l)?;
                }
                return Ok(());
            };
            let after = self.window.offset();
            self.no += 1;
            if super::line::starts_a_mail(&self.buf) {
                self.ctx.mail_starts.push(self.no);
            }
            let st = self.norm.strip(&self.buf);
            if prefilter
                && start >= resume_after
                && !self.norm.quoted_printable()
                && !self.norm.html_part()
                && prev_end.is_some_and(|e| !may_join(e, &st))
            {
                // This line starts a line of its own: what is pending is complete.
                if let Some(l) = self.joiner.finish() {
                    self.push(l)?;
                }
                // With a report open, skimming may go on past lines of other callers.
                let unrelated = match &st.ctx {
                    Some(c) => !self.scanner.is_open_for(c.as_bytes()),
                    None => self.scanner.is_idle(),
                };
                if unrelated && self.window.rewind_to(start) {
                    match self.hit_near() {
                        // Hits close together: cheaper to go on reading lines.
                        Some(hit_end) => {
                            resume_after = hit_end;
                            self.window.consume((after - start) as usize);
                        }
                        None => {
                            self.no -= 1;
                            skimming = true;
                            continue;
                        }
                    }
                }
            }
            prev_end = Some(match prev_end {
                Some(e) if e.qp_soft() => LineEnd::of(&st).continuing(),
                _ => LineEnd::of(&st),
            });
            let (line, qp_soft) = st.into_line(self.no, phys);
            super::line::push_physical(&mut self.joiner, line, qp_soft, &mut self.queue);
            while let Some(l) = self.queue.pop_front() {
                self.push(l)?;
            }
        }
    }

    /// The end (absolute offset) of the line holding the next hit, if that hit is close
    /// to the window's position (a line start).
    fn hit_near(&mut self) -> Option<u64> {
        const NEAR: usize = 2048;
        let data = self.window.data();
        let near = &data[..data.len().min(NEAR)];
        let region = &near[..memchr::memrchr(b'\n', near).map_or(0, |i| i + 1)];
        let start = self.window.offset();
        let at = next_hit(&mut self.hits, region, start, false)?;
        Some(start + line_end(region, at) as u64)
    }

    /// Skip lines that cannot matter, from a line start where the joiner holds nothing
    /// and the scanner is idle, up to a few lines before the next hit.
    fn skim(&mut self) -> std::io::Result<Skimmed> {
        loop {
            let data = self.window.data();
            let eof = self.window.at_eof();
            let region_len = if eof {
                data.len()
            } else {
                memchr::memrchr(b'\n', data).map_or(0, |i| i + 1)
            };
            if region_len == 0 {
                if eof {
                    return Ok(Skimmed::Eof);
                }
                if self.window.is_full() {
                    // One line fills the window: let the line reader cut it.
                    return Ok(Skimmed::Lines {
                        resume_after: self.window.offset() + 1,
                    });
                }
                self.window.fill_more()?;
                continue;
            }
            let region = &data[..region_len];
            let start = self.window.offset();
            let mut hit = next_hit(&mut self.hits, region, start, eof);
            if self.scanner.has_open() {
                let upto = hit.map_or(region_len, |at| line_start(region, at));
                if let Some(at) = first_fed_line(region, upto, &self.scanner) {
                    hit = Some(at);
                }
            }
            match hit {
                Some(at) => {
                    let hit_line = line_start(region, at);
                    let resume_after = start + line_end(region, at) as u64;
                    let s = boundary_at_or_before(
                        region,
                        lines_back(region, hit_line, super::scan::HEAD_LINES),
                    );
                    self.skip(s);
                    return Ok(Skimmed::Lines { resume_after });
                }
                None if eof => {
                    self.skip(region_len);
                    return Ok(Skimmed::Eof);
                }
                None => {
                    let target = lines_back(region, region_len, super::scan::HEAD_LINES);
                    let s = boundary_at_or_before(region, target);
                    if s == 0 {
                        if self.window.is_full() {
                            // No place to resume nearby: read this window's lines one by one.
                            return Ok(Skimmed::Lines {
                                resume_after: start + target.max(line_end(region, 0)) as u64,
                            });
                        }
                    } else {
                        self.skip(s);
                    }
                    self.window.fill_more()?;
                }
            }
        }
    }

    /// Skip the first `n` bytes of the window (whole lines without hits).
    fn skip(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let data = self.window.data();
        let skipped = &data[..n];
        if let Some(c) = last_caller(skipped) {
            self.scanner.set_last_ctx(c);
        }
        for at in mail_starts(skipped) {
            self.ctx
                .mail_starts
                .push(self.no + 1 + count_newlines(&skipped[..at]));
        }
        self.no += count_newlines(skipped);
        if n == data.len() && self.window.at_eof() && skipped[n - 1] != b'\n' {
            // The input's last line, without a newline.
            self.no += 1;
        }
        self.window.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splat::window::Trickle;
    use proptest::prelude::*;

    fn render(data: &[u8], step: usize, prefilter: bool) -> String {
        let opts = Options {
            prefilter,
            ..Options::default()
        };
        let mut out = String::new();
        let mut on = |r: Report| {
            out.push_str(&serde_json::to_string(&r).unwrap());
            out.push('\n');
            Ok(())
        };
        parse("t", Trickle { data, step }, opts, &mut on).unwrap();
        out
    }

    /// The pre-filter changes nothing, whatever the read sizes.
    fn check_same(data: &[u8], steps: &[usize]) {
        let want = render(data, usize::MAX, false);
        for &step in steps {
            let got = render(data, step, true);
            if got != want {
                let text = String::from_utf8_lossy(data);
                panic!("step {step} differs\n--- input\n{text}\n--- want\n{want}\n--- got\n{got}");
            }
        }
    }

    #[test]
    fn a_mail_header_in_skipped_lines_counts_as_in_read_ones() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cases/W8-mail-boundary-after-skipped-lines.log"
        ))
        .unwrap();
        check_same(&data, &[usize::MAX, 4096, 333]);
    }

    #[test]
    fn a_blank_part_after_a_qp_soft_break_joins_what_follows_with_or_without_the_pre_filter() {
        // Found by `bytes_soup_is_parsed_the_same`: the pre-filter took the ` ` that continues
        // `…detected=` for a blank line, which joins nothing; the joined line is not blank.
        let data = b"=3D=3D=3D\n| WARNING: possible recursive locking detected=\n \nContent-Transfer-Encoding: 8bit\xef\xbf\xbd\xef\xbf\xbd\r\xef\xbf\xbd\xef\xbf\xbd&bW\xef\xbf\xbd\xef\xbf\xbdI\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdO\t\xef\xbf\xbd=\r";
        check_same(data, &[usize::MAX, 1, 7, 64]);
    }

    #[test]
    fn a_mail_signature_ends_a_report_with_or_without_the_pre_filter() {
        // Found in review: only the pre-filter knew `-- ` is not a flowed line.
        let mail = |rule: &str, sig: &str| {
            format!(
                "x {rule} y\n{rule}\n[ BUG: held lock freed! ]\n-------------------------\n\
                 init/1 is freeing memory dbab7750-dbab77e3, with a lock still held there!\n\
                 1 lock held by init/1:\n\
                 \x20#0:  (&type->s_umount_key#13){{--..}}, at: [<c0167961>] sget+0x1b1/0x350\n\
                 \n{sig}\nRalf\n\nACPI: IRQ0 used by override.\nTCP reno registered\n"
            )
        };
        for text in [
            mail("=========================", "-- "),
            // Quoted-printable (the pre-filter reads such a mail line by line).
            mail("=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D", "--=20"),
        ] {
            check_same(text.as_bytes(), &[usize::MAX, 97, 7]);
            let v = crate::splat::parse_str("t", &text);
            assert_eq!(v[0].end_line, 8, "{text}");
        }
    }

    #[test]
    fn a_syslog_line_of_several_lines_is_joined_the_same_with_the_pre_filter() {
        // Found in review: the pre-filter read a `#012` line's end from the whole line.
        let p = "Jul 22 14:36:40 fc23 kernel: ";
        let mut t = String::new();
        for i in 0..200 {
            t.push_str(&format!("{p}ordinary message {i}\n"));
        }
        t.push_str(&format!(
            "{p}======================================================\n"
        ));
        t.push_str(&format!(
            "{p}WARNING: possible circular locking dependency detected#0124.2.0-0.rc3.fc24+debug #1\n"
        ));
        t.push_str("Tainted: G        W\n");
        t.push_str(&format!(
            "{p}------------------------------------------------------\n"
        ));
        t.push_str(&format!("{p}t/1 is trying to acquire lock:\n"));
        t.push_str(&format!(
            "{p}ffff000000000001 (b_lock){{+.+.}}-{{3:3}}, at: f+0x1/0x2\n"
        ));
        for i in 0..200 {
            t.push_str(&format!("{p}ordinary message {i}\n"));
        }
        assert!(render(t.as_bytes(), usize::MAX, false).contains("\"tainted\":true"));
        check_same(t.as_bytes(), &[usize::MAX, 4093, 97]);
    }

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/logs");
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    }

    fn noise(lines: usize, seed: usize, caller: bool) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..lines {
            let k = seed * 7919 + i;
            let ts = format!("[{:5}.{:06}]", k % 100_000, k % 1_000_000);
            let id = if caller {
                format!("[ T{}]", k % 7)
            } else {
                String::new()
            };
            let text = match k % 5 {
                0 => "usb 1-1: new high-speed USB device number 3 using xhci_hcd",
                1 => "sd 0:0:0:0: [sda] 976773168 512-byte logical blocks",
                2 => "CPU: 1 PID: 2 Comm: kworker/0:1 Not tainted 6.8.0 #1",
                3 => "audit: type=1400 apparmor=\"STATUS\" operation=\"profile_load\"",
                _ => "random: crng init done",
            };
            v.extend_from_slice(format!("{ts}{id} {text}\n").as_bytes());
        }
        v
    }

    /// Hard wraps joined onto hard wraps (the second continues a line whose prefix only its
    /// first physical line had): the pre-filter must not split what the joiner joins.
    #[test]
    fn hard_wraps_of_hard_wraps() {
        let log = concat!(
            "[   41.585688] WARNING: possible recursive locking detected\n",
            "[   41.585694] 6.12.0-rc6+ #22 Not tainted\n",
            "[   41.585701] --------------------------------------------\n",
            "[   41.585705] iso-tester/3139 is trying to acquire lock:\n",
            "[   41.585711] ffff988b29530a58\n",
            "(sk_lock-AF_BLUETOOTH-BTPROTO_ISO-long-name){+.+.}-{0:0},\n",
            "at: bt_accept_dequeue+0xe3/0x280 [bluetooth]\n",
            "[   41.585905]\n",
            "               but task is already holding lock:\n",
            "[   41.585909] ffff988b29533a58 (sk_lock-AF_BLUETOOTH-BTPROTO_ISO-long-name){+.+.}-{0:0}, at: iso_sock_accept+0x61/0x2d0 [bluetooth]\n",
            "[   41.585910] Hardware name: Apple Inc.\n",
            "MacBookPro8,2/Mac-94245A3940C91C80, BIOS\n",
            "MBP81.88Z.0050.B00.1804101331 04/10/18\n",
        );
        check_same(log.as_bytes(), &[usize::MAX, 1, 7, 61]);
        let mut v = noise(50, 3, false);
        v.extend_from_slice(log.as_bytes());
        check_same(&v, &[997]);
        let r = super::super::parse_str("log", log);
        assert!(
            r[0].acquiring.as_ref().is_some_and(|a| a.at.is_some()),
            "{r:#?}"
        );
    }

    #[test]
    fn fixtures_alone_and_in_noise() {
        for (i, (_name, log)) in fixtures().iter().enumerate() {
            check_same(log, &[usize::MAX, 1 + i % 61]);
            for caller in [false, true] {
                let mut v = noise(40 + i, i, caller);
                v.extend_from_slice(log);
                v.extend_from_slice(&noise(3 + i % 5, i + 1, caller));
                v.extend_from_slice(log);
                v.extend(noise(i % 3, i + 2, caller));
                check_same(&v, &[997]);
            }
        }
    }

    #[test]
    fn reports_across_window_boundaries() {
        // Several windows of noise, a report straddling each boundary somewhere.
        let logs = fixtures();
        let mut v = Vec::new();
        let mut i = 0;
        while v.len() < 3 * DEFAULT_TEST_WINDOW {
            v.extend(noise(200 + 37 * i, i, i % 2 == 0));
            v.extend_from_slice(&logs[(i * 11) % logs.len()].1);
            i += 1;
        }
        check_same(&v, &[usize::MAX, 65_536, 100_003]);
    }

    #[test]
    fn a_joined_line_is_never_split_where_skimming_resumes() {
        // The line with caller id T1 ends in `(`, so each line after it joins it
        // (continuation fragments of the same caller): the banner too, which therefore
        // starts no report (it follows `(`, not a console prefix). Resuming in the middle
        // of the run would lose the caller id of the joined line and see the banner.
        let mut text = String::new();
        text.push_str(&String::from_utf8(noise(30, 1, false)).unwrap());
        text.push_str("[   5.0][ T1] a lock (\n");
        for _ in 0..8 {
            text.push_str("x (\n");
        }
        text.push_str("[   5.1][ T1] WARNING: possible recursive locking detected\n");
        text.push_str(&String::from_utf8(noise(5, 2, false)).unwrap());
        assert_eq!(render(text.as_bytes(), usize::MAX, false), "");
        check_same(text.as_bytes(), &[usize::MAX, 5]);
    }

    #[test]
    fn noise_skipped_inside_a_cut_report_does_not_change_its_title() {
        // Found by `soup_is_parsed_the_same` (about one run in 400): the other callers' lines
        // skipped after an unprefixed banner changed the region syzkaller's title is read from.
        let log = concat!(
            "WARNING: possible circular locking dependency detected\n",
            "[   3.0][ T9] xhci: BUG: no room, retrying\n",
            "[   0.000000][ T7] noise\n",
            "[   0.000001][ T8] noise\n",
            "[   0.000002][ T9] noise\n",
            "x/1 is trying to acquire lock:\n",
            "[   1.000000] usb 1-1: new high-speed USB device\n",
        );
        check_same(log.as_bytes(), &[usize::MAX, 1]);
    }

    #[test]
    fn a_keyword_line_completed_by_the_next_line_is_a_banner() {
        // Alone the first line is no banner; joined with the next one (a soft line break)
        // it is lockdep's own warning.
        for caller in [false, true] {
            let mut v = noise(20, 3, caller);
            v.extend_from_slice(b"WARNING: CPU: 0 PID: 1 at \n");
            v.extend_from_slice(b"kernel/locking/lockdep.c:4000 __lock_acquire+0x1/0x2\n");
            v.extend(noise(20, 4, caller));
            let want = render(&v, usize::MAX, false);
            assert!(want.contains("lockdep_internal_warning"), "{want}");
            check_same(&v, &[usize::MAX, 50]);
        }
    }

    /// Hands out `data`, then fails.
    struct FailAtEnd<'a>(Trickle<'a>);

    impl Read for FailAtEnd<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(out)? {
                0 => Err(std::io::Error::other("device gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_reports_what_was_read_then_fails() {
        let (_, log) = &fixtures()[0];
        let mut v = noise(50, 5, false);
        v.extend_from_slice(log);
        v.extend(noise(50, 6, false));
        v.extend_from_slice(log);
        let run = |prefilter: bool, step: usize| {
            let opts = Options {
                prefilter,
                ..Options::default()
            };
            let mut got = Vec::new();
            let mut on = |r: Report| {
                got.push(serde_json::to_string(&r).unwrap());
                Ok(())
            };
            let err = parse("t", FailAtEnd(Trickle { data: &v, step }), opts, &mut on);
            assert_eq!(err.unwrap_err().to_string(), "device gone");
            got
        };
        let want = run(false, usize::MAX);
        assert_eq!(want.len(), 2);
        for step in [usize::MAX, 333] {
            assert_eq!(run(true, step), want);
        }
    }

    #[test]
    fn lines_that_may_all_join_are_read_one_by_one() {
        // No line here is certainly a line of its own, so skimming never resumes inside:
        // windows of them are read line by line, with the same result.
        let mut v = Vec::new();
        for i in 0..25_000 {
            v.extend_from_slice(format!("step {i}:\n").as_bytes());
        }
        v.extend_from_slice(&fixtures()[1].1);
        v.extend(noise(10, 7, false));
        check_same(&v, &[usize::MAX]);
    }

    #[test]
    fn a_report_stays_open_while_other_callers_print() {
        // The seed splat, printed by T4242, which prints again only much later (or never):
        // the lines of other callers in between are skipped, the report's own are not.
        let seed = &fixtures()
            .into_iter()
            .find(|(n, _)| n.ends_with("005-circular-console-sem-rq-lock-truncated.log"))
            .unwrap()
            .1;
        let seed = String::from_utf8_lossy(seed);
        let mut splat = String::new();
        for l in seed.lines() {
            let body = l.find("] ").map_or(l, |i| &l[i + 2..]);
            let body = body
                .find("] ")
                .filter(|_| body.starts_with('['))
                .map_or(body, |i| &body[i + 2..]);
            splat.push_str(&format!("[   10.000000][ T4242] {body}\n"));
        }
        let other = |n: usize, seed: usize| String::from_utf8(noise(n, seed, true)).unwrap();
        let endings = [
            "[   11.000000][ T4242] next message of the reporter\n".to_string(),
            "[   11.000000][ T4242]  extra_frame+0x10/0x20\n".to_string(),
            "[   11.000000][ T4242] unterminated".to_string(),
            "a line without a caller id\n".to_string(),
            String::new(),
        ];
        for (k, end) in endings.iter().enumerate() {
            let mut text = other(30, k);
            text.push_str(&splat);
            text.push_str(&other(3000, k + 1));
            text.push_str(end);
            text.push_str(&other(2000 * (k % 2), k + 2));
            text.push_str(&splat);
            text.push_str(&other(50, k + 3));
            let want = render(text.as_bytes(), usize::MAX, false);
            assert!(want.contains("circular_dependency"), "ending {k}: {want}");
            check_same(text.as_bytes(), &[usize::MAX, 4093]);
        }
        // Still open at the end of an input whose last line (another caller's) is cut.
        let mut text = other(30, 9);
        text.push_str(&splat);
        text.push_str(&other(3000, 10));
        text.push_str("[   12.000000][ T7] cut off");
        check_same(text.as_bytes(), &[usize::MAX, 4093]);
    }

    const DEFAULT_TEST_WINDOW: usize = super::super::window::DEFAULT_WINDOW;

    fn soup_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("[   1.000000] usb 1-1: new high-speed USB device".to_string()),
            Just("[   1.000001][ T9] ntfs3: loop4: Mark volume as dirty".to_string()),
            Just("[   1.000002][   C1] other cpu".to_string()),
            Just("no prefix at all".to_string()),
            Just("trailing space ".to_string()),
            Just("ends in colon:".to_string()),
            Just("lock (".to_string()),
            Just("){+.+.}-{3:3}, at: f+0x1/0x2".to_string()),
            Just(String::new()),
            Just("[   2.0] ======================================================".to_string()),
            Just(
                "[   2.0][ T9] ======================================================".to_string()
            ),
            Just("------------[ cut here ]------------".to_string()),
            Just("[   2.1] WARNING: possible circular locking dependency detected".to_string()),
            Just("[   2.1][ T9] WARNING: possible recursive locking detected".to_string()),
            Just("WARNING: possible circular locking dependency detected".to_string()),
            Just("[ INFO: possible circular locking dependency detected ]".to_string()),
            Just("BUG: sleeping function called from invalid context at x.c:1".to_string()),
            Just("DEBUG_LOCKS_WARN_ON(1)".to_string()),
            Just("[   3.0] ACPI: INFO: firmware table loaded".to_string()),
            Just("[   3.0][ T9] xhci: BUG: no room, retrying".to_string()),
            Just("thermal: WARNING: trip point crossed ".to_string()),
            Just("WARNING: CPU: 0 PID: 1 at ".to_string()),
            Just("[   3.1] WARNING: CPU: 0 PID: 1 at kernel/fork.c:9 f+0x1/0x2".to_string()),
            Just("kernel/locking/lockdep.c:4000 __lock_acquire+0x1/0x2".to_string()),
            Just("BUG: sleeping function called from invalid context at ".to_string()),
            Just("x/1 is trying to acquire lock:".to_string()),
            Just("[   2.2][ T9] x/1 is trying to acquire lock:".to_string()),
            Just("but task is already holding lock:".to_string()),
            Just("ffff (b){+.+.}-{3:3}, at: g+0x1/0x2".to_string()),
            Just("the existing dependency chain (in reverse order) is:".to_string()),
            Just("[   2.3][ T9] the existing dependency chain (in reverse order) is:".to_string()),
            Just("-> #0 (a){+.+.}-{3:3}:".to_string()),
            Just(" #0: ffff (a){+.+.}, at: f+0x1/0x2".to_string()),
            Just("1 lock held by x/1:".to_string()),
            Just("stack backtrace:".to_string()),
            Just(" dump_stack+0x1/0x2".to_string()),
            Just("\u{1b}[31mWARN\u{1b}[0mING: possible recursive locking detected".to_string()),
            Just("WARN\rING: possible recursive locking detected\r".to_string()),
            Just("> > ======".to_string()),
            Just("=3D=3D=3D".to_string()),
            Just("| WARNING: possible recursive locking detected".to_string()),
            Just("|".to_string()),
            Just("4,1073,209927862,-;[ BUG: Invalid wait context ]".to_string()),
            Just("============================= ".to_string()),
            Just("[ BUG: Invalid wait context ]".to_string()),
            Just("Content-Transfer-Encoding: 8bit".to_string()),
            Just("From x Mon Apr  1 00:00:00 2024".to_string()),
            Just("From: x <x@example.org>".to_string()),
            Just("2024-05-01T12:00:00.1234567Z [   2.1] WARNING: possible recursive locking detected".to_string()),
            Just("    # [   2.1] WARNING: possible recursive locking detected".to_string()),
            Just("- {\"dt\": \"2024-05-01T12:00:00.123456\", \"lvl\": \"target\", \"msg\": \"[   2.1] WARNING: possible recursive locking detected\"}".to_string()),
            Just("- {\"dt\": \"2024-05-01T12:00:00.123456\", \"lvl\": \"target\", \"msg\": \"\\u001b[31m x/1 is trying to acquire lock:\"}".to_string()),
            Just("^[[33m[   2.1] WARNING: possible recursive locking detected^M^[[0m".to_string()),
            Just("[   3.2] downgrading a read lock".to_string()),
            Just("WARNING: possible circular locking dependency detected^M".to_string()),
            Just("CPU: 0 PID: 1 Comm: x Not tainted 5.4.0-rc3".to_string()),
            Just("#0".to_string()),
            Just("/x/sock.h:1332 suspicious".to_string()),
            Just("rcu_dereference_check() usage!".to_string()),
            Just(" ? 0xffffffffc0bd4000".to_string()),
            "[ -~]{0,30}".prop_map(|s| s),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, .. ProptestConfig::default() })]

        #[test]
        fn bytes_soup_is_parsed_the_same(
            parts in proptest::collection::vec(prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                soup_line().prop_map(|s| s.into_bytes()),
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"=\n".to_vec()),
                Just(b" \n".to_vec()),
            ], 0..120),
            step in 1usize..5000,
        ) {
            let data: Vec<u8> = parts.concat();
            check_same(&data, &[usize::MAX, step]);
        }

        #[test]
        fn soup_is_parsed_the_same(
            lines in proptest::collection::vec((soup_line(), 0usize..4), 0..80),
            step in 1usize..300,
        ) {
            let mut text = String::new();
            for (l, pad) in &lines {
                // Runs of plain noise between the interesting lines.
                for k in 0..*pad * 3 {
                    if pad % 2 == 1 {
                        // Other callers (and sometimes the reporter) go on printing.
                        text.push_str(&format!("[   0.{k:06}][ T{}] noise\n", 7 + k % 3));
                    } else {
                        text.push_str(&format!("[   0.{k:06}] plain noise line\n"));
                    }
                }
                text.push_str(l);
                text.push('\n');
            }
            check_same(text.as_bytes(), &[usize::MAX, step]);
        }
    }
}
