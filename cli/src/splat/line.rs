//! Line normalisation: turn raw console/mail/journal bytes into the text the kernel printed.
//!
//! Stripped, in order: CR, ANSI escape sequences and other control characters,
//! quoted-printable encoding (once a `=3D` has been seen in the input), e-mail quoting
//! (`> `, `>> `, `> > `) and a commit message's `| `, syslog/journal prefixes (`Nov 21 12:00:01 host kernel: `),
//! `<N>` log levels, `** N printk messages dropped **`, timestamps (`[  528.077900]`,
//! `dmesg -T` `[Mon Nov 21 12:00:01 2022]`, `dmesg -H` `[Nov21 12:00]` and `[  +0.000224]`),
//! vendor caller tags (`[name:lockdep&]`) and caller ids (`[T7867]`, `[ C0]`), which
//! become the line's *context*. Then [`Joiner`] re-joins lines split by the transport:
//! format=flowed soft breaks, quoted-printable soft breaks, and printk continuation
//! fragments of old kernels.

use std::io::BufRead;
use std::sync::LazyLock;

use regex::Regex;

use super::window::{Physical, Window};

/// Longest line kept; longer lines are cut (and the cut is reported on the line).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One normalised input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based number of the (first) physical input line.
    pub no: usize,
    /// Text with all decoration removed (indentation after the prefix is kept).
    pub text: String,
    /// Caller id (`T7867`, `C0`) when the console printed one.
    pub ctx: Option<String>,
    /// A console prefix (timestamp, caller id, syslog header) was stripped.
    pub had_prefix: bool,
    /// A prefix a console log has was stripped: not only a bare `kernel: ` (what a line
    /// copied out of a journal keeps), which syzkaller would not see as one either.
    pub console_prefix: bool,
    /// The physical line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub cut: bool,
    /// The physical line had no terminating newline (end of a cut-off input).
    pub unterminated: bool,
    /// The line came with a z/VM console prefix (`00: `, the virtual CPU), as s390 guests'
    /// consoles print.
    pub vm_console: bool,
    /// The physical line filled the z/VM console's 80 columns: the console may have
    /// wrapped the rest onto the next line.
    pub fills_width: bool,
    /// How deep a mail quoted the line (`> > ` is 2).
    pub quote_depth: u8,
    /// The line is in a mail sent `format=flowed` (its `Content-Type:` said so).
    pub flowed: bool,
    /// A quoted-printable line's decoded text before a quote mark or prefix was stripped, if
    /// one was: after a soft break the whole line is the previous one's content
    /// (`lock(&event-=` then `>list_lock#2);`).
    unstripped: Option<String>,
}

static CARET_ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\^\[\[[0-9;?]*[ -/]*[@-~]").unwrap());
static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]").unwrap());
static QUOTE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[ \t]?>)+ ?").unwrap());
/// A commit message's quote (`| WARNING: possible recursive locking detected`): a bar and one
/// space, or a bar alone on its line.
static BAR_QUOTE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[ \t]?\|(?: |$)").unwrap());
/// A syslog or journal line's time, host and `kernel:`: `journalctl`'s `short` and
/// `short-precise` (`Dec 14 06:35:48.545954`), `short-full` (`Tue 2021-12-14 06:35:48 UTC`),
/// `short-iso`/`short-iso-precise` and rsyslog's ISO times, and `short-unix`
/// (`1639463748.545954`); these two only before `kernel:`. The host may be missing
/// (`journalctl -k` copied without it); a line of another program loses its time and host only.
static SYSLOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:(?:[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?",
        r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)",
        r" (?:(?:\S+ )?kernel(?:\[\d+\])?: ?|\S+ )",
        r"|(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+",
        r"|\d{9,10}\.\d{6}) (?:\S+ )?kernel(?:\[\d+\])?: ?)"
    ))
    .unwrap()
});
/// The host's name and `kernel: ` after a timestamp (`[    7.886893] fmac.local kernel: `).
/// A poster's elision (`...`, `…`) may stand for the time and host.
static HOST_KERNEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9][\w.-]*|\.{3}|\x{2026}) kernel(?:\[\d+\])?: ?").unwrap()
});
/// `dmesg -x`'s facility and level (`kern  :warn  : `).
static DMESG_X: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:",
        r"(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: "
    ))
    .unwrap()
});
/// A `/dev/kmsg` record's header (`4,1073,209927862,-;`: level and facility, sequence number,
/// microseconds since boot, flags), as `cat /dev/kmsg` and some journal exports print it.
static KMSG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,4},\d+,\d+,[-+c][^;\s]*;").unwrap());
/// A line number a pager or `cat -n` put before a journal line.
static PAGER_LINE_NO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+\s+").unwrap());
/// `syzkaller login: ` typed on the console before the kernel's next line.
static LOGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\S+ login: ").unwrap());
static LEVEL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^<\d{1,2}> ?").unwrap());
static DROPPED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\*\* \d+ printk messages dropped \*\* ?").unwrap());
/// `[  528.077900]`, `dmesg -T`'s `[Mon Nov 21 12:00:01 2022]`, and `dmesg -H`'s
/// `[Nov21 12:00]` and `[  +0.000224]` (the time since the line before; `[  +0,000224]`
/// under a locale whose decimal mark is a comma).
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\[\s*(?:\+\s*\d+[.,]\d+|\d+\.\d+",
        r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}",
        r"|[A-Z][a-z]{2} ?\d{1,2} \d{2}:\d{2})\]"
    ))
    .unwrap()
});
/// A GitHub Actions log's time before each line (`2024-05-01T12:00:00.1234567Z `: seven digits
/// of fraction, UTC): a CI job that boots a kernel prints its console under it.
static GITHUB_ACTIONS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z ").unwrap());
/// What follows a syslog line's time (a host and `kernel:`): a time in GitHub's shape before it
/// is the syslog's own.
static SYSLOG_AFTER_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\S+ )?kernel(?:\[\d+\])?:").unwrap());
/// OpenWrt's `logread`: `Sun Mar 10 22:54:50 2024 kern.warn kernel: `.
static LOGREAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4} [a-z]+\.[a-z]+ kernel: ",
    )
    .unwrap()
});
/// Vendor caller tags after the time: Rockchip's `[5:    kworker/5:3:   78]` (CPU, task,
/// pid) and MediaTek's `(0)[123:comm]` (CPU, pid, task; the text follows without a space).
static VENDOR_CALLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\[\d+:\s*[^\]]*?:\s*(?P<rk>\d+)\]|\(\d+\)\[(?P<mtk>\d+):[^\]]*\])").unwrap()
});
/// ktest's elapsed seconds before each console line (`00515 BUG: sleeping function …`).
static KTEST_ELAPSED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{5} ").unwrap());
/// The caller tag some Android vendor kernels (MediaTek's) print before a line:
/// `[name:lockdep&]`.
static VENDOR_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\[name:[\w.-]+&\]").unwrap());
/// z/VM console prefix: the virtual CPU address.
static VM_CONSOLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{2}: ").unwrap());
/// Width at which the z/VM console wraps lines.
const VM_CONSOLE_WIDTH: usize = 80;
static CALLER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\[\s*([TC]\d+)\]").unwrap());
static QP_ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"=([0-9A-F]{2})").unwrap());

/// Per-input normalisation state.
#[derive(Debug, Default, Clone, Copy)]
pub struct Normalizer {
    quoted_printable: bool,
    flowed: bool,
    /// Inside a mail's `text/html` part: its lines are the plain part's again, escaped
    /// (`&amp;`, `&gt;`), so they are read as blank until the part ends.
    html_part: bool,
    /// Between a MIME boundary and the blank line after its part's headers: a
    /// `Content-Type:` here is a part's (elsewhere, a web page's or a paste's: not skipped).
    part_headers: bool,
    /// Inside a mail's `text/plain` part.
    plain_part: bool,
    /// This mail's plain part held a report's banner: an HTML part after it is its copy. (An
    /// HTML part after none is read: it may hold the only copy of a report.)
    plain_reported: bool,
    /// The start of a UTF-8 character a quoted-printable soft break split (`=C2=` / `=A0`):
    /// its bytes, and how many.
    qp_carry: ([u8; 3], u8),
}

/// Result of stripping one physical line.
#[derive(Debug)]
pub(crate) struct Stripped {
    pub(crate) text: String,
    pub(crate) ctx: Option<String>,
    pub(crate) had_prefix: bool,
    pub(crate) console_prefix: bool,
    pub(crate) qp_soft_break: bool,
    pub(crate) vm_console: bool,
    pub(crate) fills_width: bool,
    pub(crate) quote_depth: u8,
    pub(crate) flowed: bool,
    unstripped: Option<String>,
}

/// Pushes `line` into `joiner`, as the lines it holds: a syslog line whose message held a
/// newline has it escaped as `#012` mid-line (`Chain exists of:#012  &ids->rwsem -->`), and
/// each part is a line of its own, with the line's number and prefix.
pub(crate) fn push_physical(
    joiner: &mut Joiner,
    line: Line,
    qp_soft: bool,
    out: &mut std::collections::VecDeque<Line>,
) {
    let parts = syslog_parts(line.had_prefix, &line.text);
    if parts.is_empty() {
        joiner.push(line, qp_soft, out);
        return;
    }
    let last = parts.len() - 1;
    for (i, text) in parts.into_iter().enumerate() {
        let part = Line {
            text,
            ..line.clone()
        };
        joiner.push(part, qp_soft && i == last, out);
    }
}

/// A console timestamp inside a line (`…detected[101309.501425] 4.15.2 …`): a paste that lost
/// its newlines keeps each line's time.
static EMBEDDED_STAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\s*\d{1,8}\.\d{6}\] ?").unwrap());

/// The lines of a syslog line (`had_prefix`) whose message held newlines (`#012`), tabs
/// (`#011`) decoded, or of a console paste whose newlines were lost, split where each line's
/// timestamp stands (a stamped line with another stamp inside, or any line with two); empty if
/// it held none.
pub(crate) fn syslog_parts(had_prefix: bool, text: &str) -> Vec<String> {
    if had_prefix && text.contains("#012") {
        return text
            .split("#012")
            .map(|p| p.replace("#011", "\t"))
            .collect();
    }
    if !text.contains('[') {
        return Vec::new();
    }
    // A lost newline leaves the time glued to the line before (`…detected[101309.501425]`),
    // and the times go on in order, microseconds apart; a time quoted in a message (`found
    // '[ 12.000000] WARNING…'`, `at [ 1.0] and [ 2.0]`) is neither.
    let mut stamps = 0;
    let mut last: Option<f64> = None;
    for m in EMBEDDED_STAMP.find_iter(text) {
        let glued = text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_whitespace() && !"'\"`(<".contains(c));
        let secs: f64 = m
            .as_str()
            .trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
            .parse()
            .unwrap_or(f64::NAN);
        let in_order = last.is_none_or(|l| secs >= l && secs - l <= 1.0);
        if !glued || !in_order {
            return Vec::new();
        }
        last = Some(secs);
        stamps += 1;
    }
    if stamps == 0 || stamps == 1 && !had_prefix {
        return Vec::new();
    }
    EMBEDDED_STAMP
        .split(text)
        .enumerate()
        .filter(|(i, p)| *i > 0 || !p.is_empty())
        .map(|(_, p)| p.to_string())
        .collect()
}

impl Stripped {
    /// The [`Line`] of physical line `no`, and whether it ends in a quoted-printable soft
    /// break.
    pub(crate) fn into_line(self, no: usize, p: Physical) -> (Line, bool) {
        let line = Line {
            no,
            text: self.text,
            ctx: self.ctx,
            had_prefix: self.had_prefix,
            console_prefix: self.console_prefix,
            cut: p.cut,
            unterminated: p.unterminated,
            vm_console: self.vm_console,
            fills_width: self.fills_width,
            quote_depth: self.quote_depth,
            flowed: self.flowed,
            unstripped: self.unstripped,
        };
        (line, self.qp_soft_break)
    }
}

impl Normalizer {
    /// A fresh normaliser for one input.
    pub fn new() -> Normalizer {
        Normalizer::default()
    }

    /// Whether the input turned out to be quoted-printable (decoded from then on).
    pub(crate) fn quoted_printable(&self) -> bool {
        self.quoted_printable
    }

    /// Inside a mail's `text/html` part (read as blank lines until its boundary, which the
    /// pre-filter must not skip).
    pub(crate) fn html_part(&self) -> bool {
        self.html_part
    }

    /// Strip one physical line (as `Window::read_physical` delivers it: at most
    /// [`MAX_LINE_BYTES`], newline included when it fits).
    pub(crate) fn strip(&mut self, raw: &[u8]) -> Stripped {
        let mut bytes: &[u8] = raw;
        while let Some((&last, rest)) = bytes.split_last() {
            if last == b'\n' || last == b'\r' {
                bytes = rest;
            } else if let Some(rest) = bytes.strip_suffix(b"^M") {
                // A carriage return as `cat -v` and serial-console captures print it.
                bytes = rest;
            } else if let Some(rest) = trailing_sgr(bytes) {
                // A colour reset after it (`…^M\e[0m`): no text, and it hides the `^M`.
                bytes = rest;
            } else {
                break;
            }
        }
        if !self.quoted_printable && memchr::memmem::find(bytes, b"=3D").is_some() {
            self.quoted_printable = true;
        }
        let in_html = self.html_part;
        // The next mail of an mbox, or a part, says its own encoding.
        if bytes.starts_with(b"From ") {
            self.quoted_printable = false;
            self.flowed = false;
            self.html_part = false;
            self.plain_part = false;
            self.plain_reported = false;
        } else if let Some(v) = header_value(bytes, b"content-transfer-encoding:") {
            self.quoted_printable = v.eq_ignore_ascii_case(b"quoted-printable");
        } else if let Some(v) = header_value(bytes, b"content-type:") {
            let v = v.to_ascii_lowercase();
            self.flowed = memchr::memmem::find(&v, b"format=flowed").is_some();
            self.html_part =
                self.part_headers && self.plain_reported && v.starts_with(b"text/html");
            self.plain_part = self.part_headers && v.starts_with(b"text/plain");
        } else if is_mime_boundary(bytes) {
            self.html_part = false;
            self.part_headers = true;
        } else if bytes.trim_ascii().is_empty() {
            self.part_headers = false;
        } else if self.html_part && ends_with_ignore_case(bytes.trim_ascii_end(), b"</html>") {
            // A part that never reaches its boundary ends with its document.
            self.html_part = false;
        }
        if in_html && self.html_part {
            // The header that opened the part is read (a report open before it ends there).
            bytes = &[];
        }
        let mut qp_soft_break = false;
        let mut qp = false;
        let decoded: Vec<u8>;
        // A line that is no quoted-printable (an `=` that escapes nothing: a plain `=====`
        // rule) is read as it is.
        if self.quoted_printable && is_qp(bytes) {
            let mut b = bytes;
            if b.last() == Some(&b'=') {
                qp_soft_break = true;
                b = &b[..b.len() - 1];
            }
            let (carry, n) = std::mem::take(&mut self.qp_carry);
            let mut d = decode_qp(&carry[..n as usize], b);
            if qp_soft_break && d.ends_with(b"\n") {
                // Outlook encodes each line's end (`=0A=`): the line ends here after all.
                qp_soft_break = false;
                d.pop();
                if d.last() == Some(&b'\r') {
                    d.pop();
                }
            }
            if qp_soft_break
                && let Err(e) = std::str::from_utf8(&d)
                && e.error_len().is_none()
                && d.len() - e.valid_up_to() <= 3
            {
                // The character goes on after the soft break: decode it there, whole.
                let tail = d.split_off(e.valid_up_to());
                let mut c = [0; 3];
                c[..tail.len()].copy_from_slice(&tail);
                self.qp_carry = (c, tail.len() as u8);
            }
            decoded = d;
            bytes = &decoded;
            qp = true;
        } else {
            self.qp_carry = Default::default();
        }
        let lossy = String::from_utf8_lossy(bytes);
        // A LAVA (KernelCI) job log: each console line a YAML item of JSON.
        let lossy = match lava_message(&lossy) {
            Some(msg) => std::borrow::Cow::Owned(msg),
            None => lossy,
        };
        let mut text: String = if lossy.contains('\x1b') {
            ANSI.replace_all(&lossy, "").into_owned()
        } else {
            lossy.into_owned()
        };
        if text.contains("^[[") {
            // Colour codes as `cat -v` prints them (`^[[33m`).
            text = CARET_ANSI.replace_all(&text, "").into_owned();
        }
        if text
            .chars()
            .any(|c| (c.is_control() && c != '\t') || c == '\u{a0}')
        {
            text = text
                .chars()
                .filter_map(|c| match c {
                    '\u{a0}' => Some(' '),
                    '\t' => Some('\t'),
                    c if c.is_control() => None,
                    c => Some(c),
                })
                .collect();
        }
        let mut s: &str = &text;
        let mut quote_depth = 0u8;
        loop {
            let m = QUOTE.find(s).or_else(|| BAR_QUOTE.find(s));
            let Some(m) = m else { break };
            let depth = m
                .as_str()
                .bytes()
                .filter(|&b| b == b'>' || b == b'|')
                .count();
            quote_depth = quote_depth.saturating_add(depth.min(u8::MAX.into()) as u8);
            s = &s[m.end()..];
        }
        let mut vm_console = false;
        let mut fills_width = false;
        if let Some(m) = VM_CONSOLE.find(s) {
            vm_console = true;
            fills_width = s.chars().count() >= VM_CONSOLE_WIDTH;
            s = &s[m.end()..];
        }
        let mut had_prefix = false;
        let mut bare_kernel = false;
        let mut glued = false;
        let mut ctx = None;
        let mut stamped = false;
        if let Some(m) = GITHUB_ACTIONS
            .find(s)
            .filter(|m| !SYSLOG_AFTER_TIME.is_match(&s[m.end()..]))
        {
            // Before anything else (the syslog time would take the next word for a host); the
            // line after it is the console's as printed, indent included.
            s = &s[m.end()..];
            had_prefix = true;
        }
        loop {
            let lead = s.trim_start();
            if let Some(m) = SYSLOG.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(m) = LOGREAD.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(c) = VENDOR_CALLER.captures(lead).filter(|_| stamped) {
                let pid = c.name("rk").or(c.name("mtk")).map_or("", |m| m.as_str());
                ctx = Some(format!("T{pid}"));
                s = &lead[c.get(0).unwrap().end()..];
                had_prefix = true;
                // MediaTek's text follows the tag directly: a space after it is the text's.
                glued = c.name("mtk").is_some();
            } else if let Some(r) = lead.strip_prefix("kernel: ") {
                s = r;
                bare_kernel = !had_prefix;
                had_prefix = true;
            } else if let Some(m) = HOST_KERNEL.find(lead).filter(|_| stamped) {
                // `journalctl -o short-monotonic`: the host's name after the time.
                s = &lead[m.end()..];
            } else if let Some(m) = HOST_KERNEL
                .find(lead)
                .filter(|m| !had_prefix && !TIMESTAMP.is_match(lead[m.end()..].trim_start()))
            {
                // A syslog copied without its times (`dom0 kernel: `, Qubes' dom0 log). Not
                // before a console time: there the words are prose (`My kernel: [ 12.3] …`),
                // as they were read before.
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(m) = PAGER_LINE_NO
                .find(lead)
                .filter(|m| SYSLOG.is_match(&lead[m.end()..]))
            {
                // A pager's line numbers before journal lines (`less -N`, `cat -n`).
                s = &lead[m.end()..];
            } else if let Some(m) = LOGIN
                .find(lead)
                .filter(|m| lead[m.end()..].starts_with(['[', '<']))
            {
                s = &lead[m.end()..];
            } else if let Some(m) = DMESG_X.find(lead) {
                // `dmesg -x`: the facility and level before the time.
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(m) = KMSG.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(m) = LEVEL.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(r) = lead
                .strip_prefix("# ")
                .filter(|r| TIMESTAMP.is_match(r.trim_start()) || r.starts_with("        "))
            {
                // kselftest's and KUnit's `# ` before a console line they pass on (a stamped
                // line, or a continuation indented past where the stamp would be).
                s = r;
                had_prefix = true;
            } else if let Some(m) = DROPPED.find(lead) {
                s = &lead[m.end()..];
            } else if let Some(m) = TIMESTAMP.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
                stamped = true;
            } else if let Some(m) = KTEST_ELAPSED.find(lead).filter(|_| !had_prefix) {
                // The space after it goes as a timestamp's does (below), the indent stays.
                s = &lead[m.end() - 1..];
                had_prefix = true;
                stamped = true;
            } else if let Some(m) = VENDOR_TAG.find(lead) {
                s = &lead[m.end()..];
                had_prefix = true;
            } else if let Some(c) = CALLER.captures(if stamped { lead } else { s }) {
                let base = if stamped { lead } else { s };
                ctx = Some(c[1].to_string());
                s = &base[c.get(0).unwrap().end()..];
                had_prefix = true;
                stamped = true;
            } else {
                break;
            }
        }
        if stamped && !glued {
            s = s.strip_prefix(' ').unwrap_or(s);
        }
        // rsyslog escapes the newline that printk put before a continuation as `#012` (a
        // reader who removed the syslog prefixes may have left it).
        let stripped = match s.trim_start().strip_prefix("#012") {
            Some(rest) if had_prefix || !rest.trim().is_empty() => rest.replace("#011", "\t"),
            _ => s.to_string(),
        };
        if self.plain_part
            && !self.plain_reported
            && super::scan::detect_banner(stripped.trim()).is_some()
        {
            self.plain_reported = true;
        }
        let unstripped = (qp && stripped.len() != text.len()).then_some(text);
        Stripped {
            text: stripped,
            ctx,
            had_prefix,
            console_prefix: had_prefix && (stamped || !bare_kernel),
            qp_soft_break,
            vm_console,
            fills_width,
            quote_depth,
            flowed: self.flowed,
            unstripped,
        }
    }
}

/// Whether every `=` in `b` is a quoted-printable escape (`=3D`) or the soft break at its end.
fn is_qp(b: &[u8]) -> bool {
    memchr::memchr_iter(b'=', b).all(|i| {
        i + 1 == b.len()
            || b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// The value of a mail header `name` (lower case, with its colon) on `line`, trimmed.
/// Whether `t` is a lockdep banner as it ends (`… detected`, `[ … ]`, `… too low!`): a line
/// that no soft break continues.
fn whole_banner(t: &str) -> bool {
    (t.ends_with("detected") || t.ends_with(" ]") || t.ends_with("too low!"))
        && super::scan::detect_banner(t).is_some()
}

/// The console line a LAVA job log's item holds: `- {"dt": "…", "lvl": "target", "msg": "…"}`
/// (`target` lines are the board's console; `feedback` another of its consoles).
fn lava_message(line: &str) -> Option<String> {
    let rest = line.strip_prefix("- {\"dt\": \"")?;
    let (_, rest) = rest.split_once("\", \"lvl\": \"")?;
    let (lvl, rest) = rest.split_once("\", \"msg\": ")?;
    if lvl != "target" && lvl != "feedback" {
        return None;
    }
    let json = rest.trim_end().strip_suffix('}')?;
    serde_json::from_str::<String>(json).ok()
}

/// `line` without the ANSI colour sequence (`ESC [ digits;… m`) it ends with, if it ends with one.
fn trailing_sgr(line: &[u8]) -> Option<&[u8]> {
    let body = line.strip_suffix(b"m")?;
    let params = body
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit() || **b == b';')
        .count();
    let head = &body[..body.len() - params];
    // `cat -v` prints the escape as `^[`.
    head.strip_suffix(b"\x1b[")
        .or_else(|| head.strip_suffix(b"^[["))
}

/// Whether a raw line is a mail's header that starts another mail (`From: Name <a@b>`,
/// `Message-ID: <x@y>`): a mail thread or an mbox holds several posters' logs, which may be
/// several boots. The header's case and an address in its value tell it from prose and from a
/// console line (`From: the same boot`, `From: udev-worker`).
pub(crate) fn starts_a_mail(line: &[u8]) -> bool {
    let address = |v: &[u8]| memchr::memchr(b'@', v).is_some();
    let message_id = |v: &[u8]| v.starts_with(b"<") && v.ends_with(b">") && address(v);
    line.strip_prefix(b"From: ")
        .is_some_and(|v| address(v.trim_ascii()))
        || [&b"Message-ID:"[..], b"Message-Id:"].iter().any(|h| {
            line.strip_prefix(*h)
                .is_some_and(|v| message_id(v.trim_ascii()))
        })
}

/// A mail part's `Content-Type: text/html` header (the pre-filter's needle finds it).
pub(crate) fn opens_html_part(line: &[u8]) -> bool {
    let line = line.trim_ascii_start();
    header_value(line, b"content-type:").is_some_and(|v| {
        v.get(..9)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"text/html"))
    })
}

fn ends_with_ignore_case(b: &[u8], end: &[u8]) -> bool {
    b.len() >= end.len() && b[b.len() - end.len()..].eq_ignore_ascii_case(end)
}

/// A MIME boundary line (`--0000000000001a2b3c--`): `--` and a token of RFC 2046's
/// characters, no space.
fn is_mime_boundary(line: &[u8]) -> bool {
    line.len() > 2
        && line.starts_with(b"--")
        && line[2..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b))
        && line[2..].iter().any(|b| b.is_ascii_alphanumeric())
}

fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..name.len())?;
    head.eq_ignore_ascii_case(name)
        .then(|| line[name.len()..].trim_ascii())
}

/// `b` decoded, after `carry` (bytes of a character a soft break split).
fn decode_qp(carry: &[u8], b: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(b);
    let mut out = Vec::with_capacity(carry.len() + b.len());
    out.extend_from_slice(carry);
    let mut last = 0;
    for c in QP_ESCAPE.captures_iter(&s) {
        let m = c.get(0).unwrap();
        out.extend_from_slice(&s.as_bytes()[last..m.start()]);
        let v = u8::from_str_radix(&c[1], 16).unwrap_or(b'?');
        // A no-break space, lone (Latin-1) or in UTF-8 (`=C2=A0`), would not survive UTF-8
        // decoding (as the unencoded one does not, `strip`): a space.
        if v == 0xa0 {
            if out.last() == Some(&0xc2) && m.start() == last {
                out.pop();
            }
            out.push(b' ');
        } else {
            out.push(v);
        }
        last = m.end();
    }
    out.extend_from_slice(&s.as_bytes()[last..]);
    out
}

/// Streaming reader of normalised lines over raw bytes.
///
/// Memory stays bounded: each physical line is cut at [`MAX_LINE_BYTES`].
pub struct LineReader<R: BufRead> {
    window: Window<R>,
    norm: Normalizer,
    no: usize,
    buf: Vec<u8>,
    joiner: Joiner,
    done: bool,
    queue: std::collections::VecDeque<Line>,
}

impl<R: BufRead> LineReader<R> {
    /// Wrap a buffered reader.
    pub fn new(reader: R) -> LineReader<R> {
        LineReader {
            window: Window::new(reader, 0),
            norm: Normalizer::new(),
            no: 0,
            buf: Vec::new(),
            joiner: Joiner::default(),
            done: false,
            queue: Default::default(),
        }
    }

    /// The next normalised line, or `None` at end of input.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            if let Some(l) = self.queue.pop_front() {
                return Ok(Some(l));
            }
            if self.done {
                return Ok(None);
            }
            match self.window.read_physical(&mut self.buf)? {
                None => {
                    self.done = true;
                    if let Some(l) = self.joiner.finish() {
                        self.queue.push_back(l);
                    }
                }
                Some(p) => {
                    self.no += 1;
                    let (line, qp_soft) = self.norm.strip(&self.buf).into_line(self.no, p);
                    push_physical(&mut self.joiner, line, qp_soft, &mut self.queue);
                }
            }
        }
    }
}

static FRESH_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^\s*(?:Hardware name:|Call [Tt]race:|CPU: |RIP: |Code: |stack backtrace:|Workqueue:",
        r"|=+$|-+$|#\d+:|\d+ locks? held by|other info|\*\*\*|Modules linked in",
        // A banner (`[ BUG: Invalid wait context ]` after a rule line a paste left a space on).
        r"|\[ (?:INFO|BUG): |(?:WARNING|BUG|INFO): )"
    ))
    .unwrap()
});
/// A line systemd prints on the console while it boots (`[  OK  ] Started …`, its spinner
/// `[  *** ] A start job is running…`, `Mounting … File System...`): never a kernel line's
/// continuation, nor a report's line.
pub(crate) static SYSTEMD_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\[ *(?:OK|FAILED|DEPEND|TIME|SKIP|DONE|WARN) *\] [A-Z]|\[[ *]*\*[ *]*\] [A-Z]",
        r"|(?:Starting|Stopping|Mounting|Unmounting|Activating|Deactivating|Reloading) \S.*\.\.\.$)"
    ))
    .unwrap()
});

/// Whether `text` starts a line of its own: a report's fixed line, or systemd's.
fn fresh_start(text: &str) -> bool {
    FRESH_START.is_match(text) || SYSTEMD_STATUS.is_match(text.trim_start())
}
static OPEN_FRAGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^\s*#\d+:\s*|\(\s*|[)}], at:\s*)$").unwrap());
/// A held-lock line cut after its address or inside its class name (`#0: ffff8880b943e698`,
/// then `(&rq->__lock`, then `){?.-.}-{2:2}`: a console that flushed each printk fragment).
static HELD_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#\d+:\s*[0-9a-f]{8,16}(?:\s+\([^)]*)?$").unwrap());
static LOCK_AT_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[)}], at:(?: \[<[0-9a-f]+>\])?$").unwrap());
static CLOSE_FRAGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\)\{|\{[.+?-]{4,6}\}|, at:|-\{\d)").unwrap());
/// A lock line's address alone (`ffff88800a1b2c3d`, hashed `(____ptrval____)`), its name cut
/// onto the next line by a mail client's wrap.
static LOCK_ADDRESS_ALONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:#\d+:\s*)?(?:[0-9a-f]{8,16}|\(____ptrval____\))$").unwrap());
/// A lock line without its `at:` site (`… (name){+.+.}-{3:3},`, or `… (name)` when the poster
/// dropped the usage bits), the site wrapped onto the next line.
static LOCK_WITHOUT_SITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)\([^()]+\)(?:\{[.+?-]{4,6}\})?(?:-\{\d:\d\})?,?$").unwrap()
});
const SLEEPING_BANNER: &str = "BUG: sleeping function called from invalid context";
/// Its site, which the banner's line ends with (`at drivers/scsi/scsi.c:591`).
static SLEEPING_SITE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^at \S+:\d+$").unwrap());
/// The end of a lock line's usage, alone on a line a quoted-printable soft break put it on
/// (`… (&lock){-.-.=` / `},` / `at: f`): the joined line is the lock without its site.
static LOCK_USAGE_TAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[.+?-]{0,6}\}(?:-\{\d:\d\})?,?$").unwrap());
/// The start of a `CPU: … PID: … Comm: …` dump line cut before the kernel's version.
static DUMP_WITHOUT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm:|Pid: \d+, comm:)(?: \S.*(?:Not tainted|Tainted: [A-Z ]*))?$")
        .unwrap()
});
/// An old kernel's frame cut after its address (`<IRQ>  [<ffffffff810e09ae>]`), or powerpc's
/// after its stack pointer and address (`[c0000000790c2c20] [c000000000828c88]`): a mail
/// client wrapped the symbol onto the next line.
static ADDRESS_FRAME_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|\s)(?:\? )?(?:\[<[0-9a-f]{8,16}>\]|^\[[0-9a-f]{8,16}\] \[[0-9a-f]{8,16}\])(?: \?)?$",
    )
    .unwrap()
});
/// A kernel's version line cut before its taint, and the taint alone.
static KERNEL_IDENT_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+\.\d+[\w.+~-]* #\d+$").unwrap());
/// A dump's `CPU:` line cut before its version (`… Not tainted 5.4.0-rc3-next-20191015` / `#0`).
static CPU_LINE_WITHOUT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: .+ (?:Not tainted|Tainted: [A-Z ]*[A-Z]) \d+\.\d+[\w.+~-]*$")
        .unwrap()
});
static VERSION_ALONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#\d+(?: |$)").unwrap());
/// A frame with its offset and size, and the module bracket a mailer wrapped off it
/// (`alua_check+0x132/0x260` / `[scsi_dh_alua]`).
static FRAME_BEFORE_MODULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)[\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+$").unwrap());
static MODULE_ALONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\[(\w+)\]$").unwrap());

/// Whether `t` is a module's bracket alone on its line, not a poster's mark (`[snip]`) or a
/// subsystem's tag (`[drm]`).
fn module_alone(t: &str) -> bool {
    MODULE_ALONE.captures(t).is_some_and(|c| {
        !matches!(
            &c[1],
            "snip"
                | "cut"
                | "trimmed"
                | "deleted"
                | "removed"
                | "elided"
                | "truncated"
                | "more"
                | "drm"
                | "SNIP"
                | "CUT"
        )
    })
}
/// A `CPU:` line cut after `Tainted:` (its taint, maybe its release, on the next line).
static CPU_LINE_BEFORE_TAINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: .+ Tainted:$").unwrap());
/// The taint letters a wrap moved off a `CPU:` line, maybe with its release (cut or whole).
static TAINT_LETTERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Z](?: +[A-Z])*(?: +\d+\.\d+[\w.+~-]*(?: #\d+.*)?)?$").unwrap()
});
/// Taint letters and a release a mailer broke after a hyphen (`G  K  6.2.0-`), and the rest
/// of that release with the version (`20230123.rc5.fc37.s390x+debug #1`).
static TAINT_RELEASE_CUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z](?: +[A-Z])* +\d+\.\d+[\w.+~]*-$").unwrap());
static RELEASE_REST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.+~-]+ #\d+(?: |$)").unwrap());
static TAINT_ALONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:Not tainted|Tainted: [A-Z][A-Z ]*)$").unwrap());
/// An ARM frame cut after its caller's address (`… from [<c04c02fc>]`) or before it (`… from`).
static ARM_FROM_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[<[0-9a-f]+>\] \([^)]*\) from(?: \[<[0-9a-f]+>\])?$").unwrap());
/// The rest of such a frame: the caller (`(g+0x58/0x27c)`), after its address if the cut came
/// before it.
static ARM_CALLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\[<[0-9a-f]+>\] )?\([\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\S+\])?\)$").unwrap()
});
/// A stack frame (`func+0x1f/0x30`, maybe with a module), wrapped alone onto an unprefixed line
/// after the prefix it belongs to.
static WRAPPED_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\S*[A-Za-z_.$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\S+\])?(?: \(unreliable\))?$")
        .unwrap()
});

/// An RCU report's site and message wrapped after its first word (`…/sock.h:1332 suspicious`
/// / `rcu_dereference_check() usage!`).
static RCU_SITE_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S+:\d+ suspicious$").unwrap());
/// An RCU report's `file:line message` (on a line of its own after an empty prefixed one).
static RCU_SITE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S+\.[ch]:\d+ (?:suspicious|Illegal|RCU-list)").unwrap());

/// Fixed sentences of lockdep reports that a mail client's hard wrap splits (`WARNING: possible
/// circular locking` / `dependency detected`): a line ending in a start of one (two words or
/// more) continued by an unprefixed line holding the rest is one line.
const SENTENCES: &[&str] = &[
    "possible circular locking dependency detected",
    "possible recursive locking detected",
    "possible irq lock inversion dependency detected",
    "bad unlock balance detected!",
    "lock held when returning to user space!",
    "sleeping function called from invalid context",
    "still has locks held!",
    "the existing dependency chain (in reverse order) is:",
    "which lock already depends on the new lock.",
    "but task is already holding lock:",
    "is trying to acquire lock:",
    "is trying to release lock",
    "other info that might help us debug this:",
    "Possible unsafe locking scenario:",
    "Possible interrupt unsafe locking scenario:",
    "May be due to missing lock nesting notation",
    "which would create a new lock dependency:",
    "and this task is already holding:",
    "with a lock still held there!",
    "but there are no more locks to release!",
];

/// The rest of the [`SENTENCES`] entry whose start (two words or more, on a word boundary) ends
/// `prev`, if one does.
fn sentence_rest(prev: &str) -> Option<&'static str> {
    // Most lines end in no sentence's word: told by one set lookup of the last word.
    static INNER_WORDS: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
        SENTENCES
            .iter()
            .flat_map(|s| s.split(' ').skip(1))
            .collect()
    });
    let last = prev.rsplit([' ', ':']).next().unwrap_or(prev);
    if !INNER_WORDS.contains(last) {
        return None;
    }
    SENTENCES.iter().find_map(|s| {
        let mut cut = None;
        for (i, _) in s.match_indices(' ').skip(1) {
            let head = &s[..i];
            let Some(at) = prev.len().checked_sub(head.len()) else {
                break;
            };
            if prev.ends_with(head) && (at == 0 || prev[..at].ends_with([' ', ':'])) {
                cut = Some(i);
            }
        }
        cut.map(|i| s[i..].trim_start())
    })
}

/// Whether `next` continues the sentence `prev` ends with (see [`SENTENCES`]).
fn continues_sentence(prev: &str, next: &str) -> bool {
    sentence_rest(prev).is_some_and(|rest| {
        let first = rest.split(' ').next().unwrap_or(rest);
        next.starts_with(first) && rest.starts_with(next.split(' ').next().unwrap_or(next))
    })
}

/// Re-joins lines the transport split: format=flowed soft breaks (a line ending in a
/// space continued by an unprefixed line), quoted-printable soft breaks (`=` at the end),
/// and printk continuation fragments (` #0: ` / `(` / `name` / `){+.+.}` / `, at: `).
#[derive(Debug, Default)]
pub struct Joiner {
    pending: Option<(Line, bool)>,
    // The last physical line of `pending` (trimmed text, prefix), which the hard-wrap rules
    // read: [`LineEnd`] sees only that line, and must tell the same.
    last: Option<(String, bool, bool)>,
}

/// Whether `next` continues, as a mail client's hard wrap, a joined line whose last physical
/// line is `last` (trimmed) with or without a prefix: lockdep's fixed sentences and lock-line
/// shapes by content, a prefix's text moved onto the next line only after a prefix.
fn wrap_continues(last: &str, last_prefix: bool, last_spaces: bool, next: &Line) -> bool {
    let next_trim = next.text.trim();
    let indented = next.text.starts_with([' ', '\t']);
    !next.had_prefix
        && !next_trim.is_empty()
        && (continues_sentence(last, next_trim)
            // format=flowed broke a long frame after its indent: a line of spaces alone,
            // then the frame at column 0 (a mangled Rust symbol runs past any width).
            || last_spaces && !indented && WRAPPED_FRAME.is_match(next_trim)
            || last.ends_with(" is freeing memory")
                && next_trim.ends_with("with a lock still held there!")
            // The banner wrapped before its site (`… invalid context` / `at kernel/x.c:591`).
            || last.ends_with(SLEEPING_BANNER) && SLEEPING_SITE.is_match(next_trim)
            || LOCK_ADDRESS_ALONE.is_match(last) && next_trim.starts_with('(')
            || (LOCK_WITHOUT_SITE.is_match(last) || LOCK_USAGE_TAIL.is_match(last))
                && (next_trim.starts_with("at: ") || next_trim == "at:")
            || DUMP_WITHOUT_VERSION.is_match(last) && !fresh_start(next_trim)
            // `Chain exists of:`'s one line of classes, wrapped after an arrow.
            || last.ends_with(" -->") && !fresh_start(next_trim)
            || RCU_SITE_OPEN.is_match(last) && next_trim.starts_with("rcu_dereference")
            // The kernel's version line wrapped before its taint (`… #1` / `Tainted: G  W`).
            || KERNEL_IDENT_END.is_match(last) && TAINT_ALONE.is_match(next_trim)
            || CPU_LINE_WITHOUT_VERSION.is_match(last) && VERSION_ALONE.is_match(next_trim)
            || FRAME_BEFORE_MODULE.is_match(last) && module_alone(next_trim)
            // A `CPU:` line wrapped after `Tainted:`, and again inside its release.
            || CPU_LINE_BEFORE_TAINT.is_match(last) && TAINT_LETTERS.is_match(next_trim)
            || TAINT_RELEASE_CUT.is_match(last) && RELEASE_REST.is_match(next_trim)
            // An ARM frame wrapped after its caller's address (`(f) from [<c04c02fc>]` /
            // `(g+0x58/0x27c)`) or before it (`(f) from` / `[<c04c02fc>] (g+0x58/0x27c)`).
            || ARM_FROM_END.is_match(last) && ARM_CALLER.is_match(next_trim)
            || last_prefix
                && ((last.is_empty() || last == "?" || ADDRESS_FRAME_END.is_match(last))
                    && !indented
                    && WRAPPED_FRAME.is_match(next_trim)
                    || last.starts_with("Hardware name:")
                        && !indented
                        && !fresh_start(next_trim)
                    || last.is_empty() && RCU_SITE.is_match(next_trim)))
}

/// Whether some line could continue `last` by [`wrap_continues`] (for [`LineEnd`]).
fn wrap_open_after(last: &str, last_prefix: bool, last_spaces: bool) -> bool {
    last_spaces
        || sentence_rest(last).is_some()
        || last.ends_with(" is freeing memory")
        || last.ends_with(SLEEPING_BANNER)
        || LOCK_ADDRESS_ALONE.is_match(last)
        || LOCK_WITHOUT_SITE.is_match(last)
        || LOCK_USAGE_TAIL.is_match(last)
        || DUMP_WITHOUT_VERSION.is_match(last)
        || last.ends_with(" -->")
        || RCU_SITE_OPEN.is_match(last)
        || ARM_FROM_END.is_match(last)
        || KERNEL_IDENT_END.is_match(last)
        || CPU_LINE_WITHOUT_VERSION.is_match(last)
        || CPU_LINE_BEFORE_TAINT.is_match(last)
        || FRAME_BEFORE_MODULE.is_match(last)
        || TAINT_RELEASE_CUT.is_match(last)
        || last_prefix
            && (last.is_empty()
                || last == "?"
                || last.starts_with("Hardware name:")
                || ADDRESS_FRAME_END.is_match(last))
}

impl Joiner {
    pub(crate) fn push(
        &mut self,
        line: Line,
        qp_soft: bool,
        out: &mut std::collections::VecDeque<Line>,
    ) {
        // Whatever happens below, this line ends what is pending.
        // Only in a mail sent format=flowed: elsewhere a line of spaces is a blank line.
        let spaces = line.flowed && !line.text.is_empty() && line.text.trim().is_empty();
        let (last_text, last_prefix, last_spaces) = self
            .last
            .replace((line.text.trim().to_string(), line.had_prefix, spaces))
            .unwrap_or_default();
        let Some((mut prev, prev_qp)) = self.pending.take() else {
            self.pending = Some((line, qp_soft));
            return;
        };
        if prev_qp {
            // A `>` that starts the rest of an unquoted line is its text (`->`); the rest of a
            // quoted one (a reply quoting the encoded mail) is quoted again.
            let rest = match &line.unstripped {
                Some(u) if prev.quote_depth == 0 => u,
                _ => &line.text,
            };
            prev.text.push_str(rest);
            prev.cut |= line.cut;
            prev.unterminated = line.unterminated;
            self.pending = Some((prev, qp_soft));
            return;
        }
        if prev.fills_width && line.vm_console && !line.had_prefix {
            // The z/VM console cut a long line at its width, maybe mid-word.
            prev.text.push_str(&line.text);
            prev.fills_width = line.fills_width;
            prev.cut |= line.cut;
            prev.unterminated = line.unterminated;
            self.pending = Some((prev, qp_soft));
            return;
        }
        let same_ctx = line.ctx.is_none() || line.ctx == prev.ctx;
        let prev_trim = prev.text.trim();
        let next_trim = line.text.trim();
        let flowed = !prev_trim.is_empty()
            && prev_trim != "--"
            // A rule line (`=====`, `-----`) with a space left after it is not a soft break.
            && !prev_trim.bytes().all(|b| b == b'=' || b == b'-')
            && prev.text.ends_with(' ')
            // Lines padded with spaces (a terminal's copy, a paste into a web form) all end in
            // several; a soft break ends one line, not the next as well (unless the mail says
            // it is flowed).
            && (line.flowed || !(prev.text.ends_with("  ") && line.text.ends_with("  ")))
            && !line.had_prefix
            && !next_trim.is_empty()
            // Nor does a rule line (`-----` under the version line) continue anything, nor
            // anything continue a whole banner (a paste padded with spaces).
            && !next_trim.bytes().all(|b| b == b'=' || b == b'-')
            && !whole_banner(prev_trim)
            && !line.text.starts_with([' ', '\t'])
            && !fresh_start(&line.text)
            && !prev_trim.ends_with(':')
            || (LOCK_AT_END.is_match(prev_trim) && !next_trim.is_empty() && !line.had_prefix);
        let fragment = same_ctx
            && !prev_trim.is_empty()
            && !next_trim.is_empty()
            && (OPEN_FRAGMENT.is_match(&prev.text)
                || HELD_OPEN.is_match(prev_trim)
                || CLOSE_FRAGMENT.is_match(next_trim));
        // A mail client's hard wrap: the rest of a line on an unprefixed line of its own.
        let wrapped = same_ctx && wrap_continues(&last_text, last_prefix, last_spaces, &line);
        if wrapped && !fragment {
            if next_trim.starts_with("at:") && !prev_trim.ends_with(',') {
                prev.text.truncate(prev.text.trim_end().len());
                prev.text.push(',');
            }
            prev.text.truncate(prev.text.trim_end().len());
            // A release broken after its hyphen goes on without a space.
            let hyphen_break = TAINT_RELEASE_CUT.is_match(&last_text);
            if !prev.text.is_empty() && !hyphen_break {
                prev.text.push(' ');
            }
            prev.text.push_str(next_trim);
            prev.cut |= line.cut;
            prev.unterminated = line.unterminated;
            self.pending = Some((prev, qp_soft));
        } else if flowed {
            let keep = prev.text.trim_end().len();
            prev.text.truncate(keep);
            prev.text.push(' ');
            prev.text.push_str(line.text.trim_start());
            prev.cut |= line.cut;
            prev.unterminated = line.unterminated;
            self.pending = Some((prev, qp_soft));
        } else if fragment {
            // A console splits a class name only where printk's fragments meet (after `(`,
            // before `#N`, `/N` or `)`): a name cut elsewhere was wrapped by a mailer, at a space
            // it ate (`dev->qdisc_tx_busylock ?:` / `&qdisc_tx_busylock){+...}`).
            // (A cut inside a word, `(&rq->__lo` / `ck)`, is a terminal's fixed width: no space.)
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let name_wrapped = HELD_OPEN.is_match(prev_trim)
                && prev_trim.contains('(')
                && !prev_trim.ends_with('(')
                && !next_trim.starts_with([')', '#', '/', '{', ',', '-'])
                && !(ident(prev_trim.chars().last()) && ident(next_trim.chars().next()));
            if (prev.text.ends_with("at:")
                || name_wrapped
                || next_trim.starts_with('(')
                    && prev.text.ends_with(|c: char| c.is_ascii_hexdigit()))
                && !prev.text.ends_with(' ')
            {
                prev.text.push(' ');
            }
            let t = if prev.text.ends_with([' ', '(']) {
                line.text.trim_start()
            } else {
                line.text.trim()
            };
            prev.text.push_str(t);
            prev.cut |= line.cut;
            prev.unterminated = line.unterminated;
            self.pending = Some((prev, qp_soft));
        } else {
            out.push_back(prev);
            self.pending = Some((line, qp_soft));
        }
    }

    pub(crate) fn finish(&mut self) -> Option<Line> {
        self.last = None;
        self.pending.take().map(|(l, _)| l)
    }
}

/// What the [`Joiner`] could make of the end of one physical line, taken alone: enough to
/// tell for sure that the next line starts a line of its own (see [`may_join`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineEnd {
    blank: bool,
    flowed_open: bool,
    fragment_open: bool,
    wrap_open: bool,
    qp_soft: bool,
    fills_width: bool,
}

impl LineEnd {
    /// The line ends in a quoted-printable soft break (`=`): the next physical line continues it.
    pub(crate) fn qp_soft(&self) -> bool {
        self.qp_soft
    }

    /// This end, for a physical line that continued a quoted-printable soft break: the joined
    /// line it ends is not blank, whatever this part holds (` ` after `…detected=`).
    pub(crate) fn continuing(mut self) -> LineEnd {
        self.blank = false;
        self
    }

    /// The end of a stripped physical line.
    pub(crate) fn of(st: &Stripped) -> LineEnd {
        // The joiner sees the last of a syslog line's `#012` parts (`push_physical`).
        let parts = syslog_parts(st.had_prefix, &st.text);
        let text = parts.last().unwrap_or(&st.text);
        let t = text.trim();
        LineEnd {
            blank: t.is_empty(),
            // A mail's signature separator (`-- `) ends with a space but is never flowed
            // (RFC 3676).
            flowed_open: text.ends_with(' ') && t != "--" || t.ends_with(':') || t.ends_with(">]"),
            fragment_open: t.ends_with('(') || t.ends_with(':') || HELD_OPEN.is_match(t),
            wrap_open: wrap_open_after(
                t,
                st.had_prefix,
                st.flowed && !st.had_prefix && !text.is_empty() && t.is_empty(),
            ),
            qp_soft: st.qp_soft_break,
            fills_width: st.fills_width,
        }
    }
}

/// Whether the joiner could append `next` to a joined line whose last physical line
/// ends as `prev` does. Conservative: `false` means `next` certainly starts a line of its
/// own, whatever came before `prev` (a joined line ends as its last part does, trimmed or
/// not; joined parts carry no other caller id).
pub(crate) fn may_join(prev: LineEnd, next: &Stripped) -> bool {
    if prev.qp_soft || prev.fills_width && next.vm_console {
        return true;
    }
    // The joiner sees the first of a syslog line's `#012` parts (`push_physical`).
    let parts = syslog_parts(next.had_prefix, &next.text);
    let next_text = parts.first().unwrap_or(&next.text);
    let next_trim = next_text.trim();
    // A blank line joins nothing, but for a prefix whose text the wrap moved to this line.
    let wrapped_away = prev.wrap_open && !next.had_prefix;
    if next_trim.is_empty() || prev.blank && !wrapped_away {
        return false;
    }
    (!next.had_prefix && (prev.flowed_open || prev.wrap_open))
        || prev.fragment_open
        || CLOSE_FRAGMENT.is_match(next_trim)
}

/// Normalise a whole string (tests and small inputs).
pub fn lines_of(text: &str) -> Vec<Line> {
    let mut r = LineReader::new(text.as_bytes());
    let mut v = Vec::new();
    while let Ok(Some(l)) = r.next_line() {
        v.push(l);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_starts_at_a_header_with_an_address() {
        for l in [
            "From: Thomas Gleixner <tglx@linutronix.de>",
            "From: tglx@linutronix.de",
            "Message-ID: <87wmg69gex.ffs@tglx>",
            "Message-Id: <1417438510-18977-3-git-send-email-james.hogan@imgtec.com>",
        ] {
            assert!(starts_a_mail(l.as_bytes()), "{l}");
        }
        for l in [
            "from: the same boot, right after it:",
            "From: udev-worker (pid 412)",
            "> From: Thomas Gleixner <tglx@linutronix.de>",
            "Message-ID: 12",
            "From:",
        ] {
            assert!(!starts_a_mail(l.as_bytes()), "{l}");
        }
    }

    fn texts(s: &str) -> Vec<(String, Option<String>)> {
        lines_of(s).into_iter().map(|l| (l.text, l.ctx)).collect()
    }

    #[test]
    fn a_paste_that_lost_its_newlines_is_split_at_each_timestamp() {
        // An Evolution text part that lost the newlines (held out, parse round 19).
        let log = concat!(
            "[  1.000001] =====[  1.000002] WARNING: possible recursive locking detected",
            "[  1.000003] 6.1.0 #1 Not tainted\n",
            "[  1.000004] -----[  1.000005] t/1 is trying to acquire lock:\n",
        );
        let t: Vec<String> = texts(log).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            t,
            [
                "=====",
                "WARNING: possible recursive locking detected",
                "6.1.0 #1 Not tainted",
                "-----",
                "t/1 is trying to acquire lock:",
            ]
        );
    }

    #[test]
    fn an_arm_frame_wrapped_after_its_callers_address() {
        // A 5.2 arm32 report quoted in a mail that wrapped long frames.
        let log = concat!(
            "> [<c086f294>] (mutex_lock_nested) from [<c04c02fc>]\n",
            "> (__tty_hangup.part.0+0x58/0x27c)\n",
            "> [<c04c02fc>] (__tty_hangup.part.0) from [<c04ce718>]\n",
            "> (gsm_cleanup_mux+0xe8/0x15c)\n",
        );
        let t: Vec<String> = texts(log).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            t,
            [
                "[<c086f294>] (mutex_lock_nested) from [<c04c02fc>] (__tty_hangup.part.0+0x58/0x27c)",
                "[<c04c02fc>] (__tty_hangup.part.0) from [<c04ce718>] (gsm_cleanup_mux+0xe8/0x15c)",
            ]
        );
    }

    #[test]
    fn a_version_line_wrapped_before_its_taint() {
        let log = concat!(
            "Jul 22 14:36:40 fc23 kernel: 4.2.0-0.rc3.git0.1.fc24.x86_64+debug #1\n",
            "Tainted: G        W\n",
            "Jul 22 14:36:40 fc23 kernel: CPU: 1 PID: 2 Comm: x\n",
            "Tainted: [W]=WARN\n",
        );
        let t: Vec<String> = texts(log).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            t[0],
            "4.2.0-0.rc3.git0.1.fc24.x86_64+debug #1 Tainted: G        W"
        );
        assert_eq!(t[2], "Tainted: [W]=WARN", "{t:#?}");
    }

    #[test]
    fn syslog_escaped_newlines() {
        // rsyslog's `#012` mid-line splits the message's lines; at a line's start it goes,
        // also where a reader removed the syslog prefixes (a 4.2 report, linux-mm).
        let log = concat!(
            "Jul 22 14:36:40 fc23 kernel: #012other info that might help us debug this:\n",
            "Jul 22 14:36:40 fc23 kernel: Chain exists of:#012  &ids->rwsem -->\n",
            "&xfs_dir_ilock_class --> &mm->mmap_sem\n",
            "Jul 22 14:36:40 fc23 kernel: Possible unsafe locking scenario:\n",
            " #012but task is already holding lock:\n",
        );
        let t: Vec<String> = texts(log).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            t,
            [
                "other info that might help us debug this:",
                "Chain exists of:",
                "  &ids->rwsem --> &xfs_dir_ilock_class --> &mm->mmap_sem",
                "Possible unsafe locking scenario:",
                "but task is already holding lock:",
            ],
            "{t:#?}"
        );
    }

    #[test]
    fn z_vm_console_prefix_and_hard_wraps() {
        // s390 guests on z/VM: every line starts with the virtual CPU address, and lines
        // are cut at 80 columns; the rest follows on a line of its own without timestamp.
        let log = concat!(
            "00: [   12.345678] ffff88800a1b2c3d (&sb->s_type->i_mutex_key#10){+.+.}-{3:3}, at: ino\n",
            "00: de_lock+0x2a/0x30\n",
            "00: [   12.345680] WARNING: possible circular locking dependency detected\n",
        );
        let v = lines_of(log);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(
            v[0].text.ends_with("at: inode_lock+0x2a/0x30"),
            "{}",
            v[0].text
        );
        assert_eq!(
            v[1].text,
            "WARNING: possible circular locking dependency detected"
        );
        assert!(v[1].had_prefix && v[1].vm_console);
    }

    #[test]
    fn mail_client_hard_wraps() {
        // A journal excerpt wrapped by a mail client at about 72 columns: the rest of a line
        // on an unprefixed line of its own.
        let log = concat!(
            "[    7.886893] fmac.local kernel: WARNING: possible circular locking\n",
            "dependency detected\n",
            "[    7.886899] fmac.local kernel: (____ptrval____)\n",
            "(&fs_info->reloc_mutex){+.+.}, at:\n",
            "btrfs_record_root_in_trans+0x44/0x70 [btrfs]\n",
            "[    7.886944] fmac.local kernel:\n",
            "                                  the existing dependency chain (in\n",
            "reverse order) is:\n",
            "[   41.585711] ffff988b29530a58 (sk_lock-AF_BLUETOOTH)\n",
            "               at: bt_accept_dequeue+0xe3/0x280 [bluetooth]\n",
            "[   26.658354] kernel: CPU: 2 PID: 1391 Comm: krfcommd Tainted: G\n",
            "  W        --------- ---  5.17.0-0.rc4.96.fc36.x86_64+debug #1\n",
            "[   26.658363] kernel: Hardware name: LENOVO 20QDS3E200/20QDS3E200,\n",
        );
        let t: Vec<_> = lines_of(log).into_iter().map(|l| l.text).collect();
        assert_eq!(
            t,
            [
                "WARNING: possible circular locking dependency detected",
                "(____ptrval____) (&fs_info->reloc_mutex){+.+.}, at: btrfs_record_root_in_trans+0x44/0x70 [btrfs]",
                "",
                "                                  the existing dependency chain (in reverse order) is:",
                "ffff988b29530a58 (sk_lock-AF_BLUETOOTH), at: bt_accept_dequeue+0xe3/0x280 [bluetooth]",
                "CPU: 2 PID: 1391 Comm: krfcommd Tainted: G W        --------- ---  5.17.0-0.rc4.96.fc36.x86_64+debug #1",
                "Hardware name: LENOVO 20QDS3E200/20QDS3E200,",
            ]
        );
    }

    #[test]
    fn dmesg_x_facility_and_level() {
        let v = texts("kern  :warn  : [   92.812882] [    T125] WARNING: x\n");
        assert_eq!(v[0], ("WARNING: x".into(), Some("T125".into())));
    }

    #[test]
    fn an_old_frame_whose_symbol_a_mailer_wrapped() {
        // Quoted four deep, the wrapped rest quoted once: the quote goes, the frame joins.
        let t: Vec<_> = lines_of(concat!(
            "> > > > [  133.912969]  <IRQ>  [<ffffffff810e09ae>]\n",
            "> debug_check_no_locks_freed+0x109/0x14b\n",
            "> > > > [  133.912969]  [<ffffffff811774e0>] kmem_cache_free+0x2e/0xa7\n",
            "> > > > [  133.912969]  [<ffffffff82aca618>]\n",
            "> > > > [  133.912969]  [<ffffffff82aca619>] x+0x1/0x2\n",
            "> > > > [  133.912969]  [<ffffffff82d1d80c>] ?\n",
            "> csum_partial_copy_generic+0x16c/0x16c\n",
        ))
        .into_iter()
        .map(|l| l.text)
        .collect();
        assert_eq!(
            t,
            [
                " <IRQ>  [<ffffffff810e09ae>] debug_check_no_locks_freed+0x109/0x14b",
                " [<ffffffff811774e0>] kmem_cache_free+0x2e/0xa7",
                " [<ffffffff82aca618>]",
                " [<ffffffff82aca619>] x+0x1/0x2",
                " [<ffffffff82d1d80c>] ? csum_partial_copy_generic+0x16c/0x16c",
            ]
        );
    }

    #[test]
    fn a_class_name_wrapped_by_a_mailer_keeps_its_space() {
        let t: Vec<_> = lines_of(concat!(
            " #2: ffff888021cd5258 (dev->qdisc_tx_busylock ?:\n",
            "&qdisc_tx_busylock){+...}-{2:2}, at: spin_trylock\n",
        ))
        .into_iter()
        .map(|l| l.text)
        .collect();
        assert_eq!(
            t,
            [
                " #2: ffff888021cd5258 (dev->qdisc_tx_busylock ?: &qdisc_tx_busylock){+...}-{2:2}, at: spin_trylock"
            ]
        );
        // A name cut inside a word (a terminal's width) joins without one.
        let t: Vec<_> = lines_of(concat!(
            " #1: ffff8880b943e698 (&sb->s_type->i_mu\n",
            "tex_key#10){++++}-{3:3}, at: lookup_slow+0x1/0x2\n",
        ))
        .into_iter()
        .map(|l| l.text)
        .collect();
        assert_eq!(
            t,
            [
                " #1: ffff8880b943e698 (&sb->s_type->i_mutex_key#10){++++}-{3:3}, at: lookup_slow+0x1/0x2"
            ]
        );
        // A console's printk fragments meet without a space.
        let t: Vec<_> = lines_of(concat!(
            " #0: ffff8880b943e698 (&rq->__lock\n",
            "){-.-.}-{2:2}, at: raw_spin_rq_lock_nested+0x2a/0x140\n",
        ))
        .into_iter()
        .map(|l| l.text)
        .collect();
        assert_eq!(
            t,
            [
                " #0: ffff8880b943e698 (&rq->__lock){-.-.}-{2:2}, at: raw_spin_rq_lock_nested+0x2a/0x140"
            ]
        );
    }

    #[test]
    fn every_journalctl_short_format() {
        // One line in each of journalctl's short output modes, with and without the host
        // (`short-precise` without it is how a held-out Fedora CoreOS report came).
        for prefix in [
            "Dec 14 06:35:48 host kernel: ",
            "Dec 14 06:35:48.545954 host kernel: ",
            "Dec 14 06:35:48.545954 kernel: ",
            "Dec  4 06:35:48 kernel: ",
            "Tue 2021-12-14 06:35:48 UTC host kernel: ",
            "Tue 2021-12-14 06:35:48.545954 CET kernel: ",
            "2021-12-14T06:35:48+0000 host kernel: ",
            "2021-12-14T06:35:48.545954+00:00 host kernel: ",
            "1639463748.545954 host kernel: ",
            "1639463748.545954 kernel: ",
            "Dec 14 06:35:48.545954 host kernel[0]: ",
        ] {
            let v = texts(&format!("{prefix}systemd/1 is trying to acquire lock:\n"));
            assert_eq!(v[0].0, "systemd/1 is trying to acquire lock:", "{prefix:?}");
            // An empty kernel line, its trailing space lost on the way.
            let v = texts(&format!("{}\n", prefix.trim_end()));
            assert_eq!(v[0].0, "", "{prefix:?}");
        }
        // Another program's line keeps its name; a number at the start of a kernel line stays.
        let v = texts("Dec 14 06:35:48.545954 host systemd[1]: Started x.\n");
        assert_eq!(v[0].0, "systemd[1]: Started x.");
        let v = texts("1639463748.545954 is a number\n");
        assert_eq!(v[0].0, "1639463748.545954 is a number");
        let v = texts("[   12.0] Mon 2021-12-14 06:35:48 UTC is a date\n");
        assert_eq!(v[0].0, "Mon 2021-12-14 06:35:48 UTC is a date");
        let v = texts("Dec 14 06:35:48 host kernel:no space\n");
        assert_eq!(v[0].0, "no space");
    }

    #[test]
    fn rsyslog_escaped_newlines() {
        let v = texts("Mar 26 20:52:22 mira108 kernel: #012but task is already holding lock:\n");
        assert_eq!(v[0].0, "but task is already holding lock:");
    }

    #[test]
    fn strips_timestamp_and_caller() {
        let v = texts("[  528.077900][ T7867] WARNING: x\n[ 1740.381206][    C0]        foo\n");
        assert_eq!(v[0], ("WARNING: x".into(), Some("T7867".into())));
        assert_eq!(v[1], ("       foo".into(), Some("C0".into())));
    }

    #[test]
    fn strips_syslog_level_ansi_crlf_quote() {
        let v = texts(
            "Nov 21 12:00:01 host kernel: [    1.0] a\r\n<4>[ 8.1] b\n\x1b[31mc\x1b[0m\n> > d\n",
        );
        let t: Vec<_> = v.into_iter().map(|x| x.0).collect();
        assert_eq!(t, ["a", "b", "c", "d"]);
    }

    #[test]
    fn dmesg_human_time() {
        assert_eq!(texts("[Mon Nov 21 12:00:01 2022] hello\n")[0].0, "hello");
        // `dmesg -H`: the minute once, then the time since the line before.
        let v = texts("[Aug15 13:53] WARNING: x\n[  +0.000224] ping/156 y\n[  +12.5] z\n");
        let t: Vec<_> = v.into_iter().map(|x| x.0).collect();
        assert_eq!(t, ["WARNING: x", "ping/156 y", "z"]);
        // Not a timestamp: a lock name in brackets is text.
        assert_eq!(texts("[+] x\n")[0].0, "[+] x");
    }

    #[test]
    fn held_lock_line_in_fragments() {
        let v = texts(concat!(
            "2 locks held by syz-executor164/5064:\n",
            " #0: ffff8880b943e698\n",
            " (&rq->__lock\n",
            "){?.-.}-{2:2}\n",
            ", at: raw_spin_rq_lock_nested+0x29/0x130 kernel/sched/core.c:559\n",
            " #1: ffffffff8d7b08e0\n",
            " (rcu_read_lock\n",
            "){....}-{1:2}\n",
            ", at: rcu_lock_acquire include/linux/rcupdate.h:298 [inline]\n",
        ));
        let t: Vec<_> = v.into_iter().map(|x| x.0).collect();
        assert_eq!(
            t,
            [
                "2 locks held by syz-executor164/5064:",
                " #0: ffff8880b943e698 (&rq->__lock){?.-.}-{2:2}, at: raw_spin_rq_lock_nested+0x29/0x130 kernel/sched/core.c:559",
                " #1: ffffffff8d7b08e0 (rcu_read_lock){....}-{1:2}, at: rcu_lock_acquire include/linux/rcupdate.h:298 [inline]",
            ]
        );
    }

    #[test]
    fn vendor_caller_tag() {
        let v = texts(
            "> [name:lockdep&]WARNING: inconsistent lock state\n<6>[ 1.0] [name:lockdep&]x\n",
        );
        let t: Vec<_> = v.into_iter().map(|x| x.0).collect();
        assert_eq!(t, ["WARNING: inconsistent lock state", "x"]);
    }

    #[test]
    fn joins_flowed_soft_break() {
        let v =
            texts("x (a){+.-.}, at: spin_lock_bh  \n/./include/linux/spinlock.h:343 [inline]\n");
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].0,
            "x (a){+.-.}, at: spin_lock_bh /./include/linux/spinlock.h:343 [inline]"
        );
    }

    #[test]
    fn a_rule_line_with_a_trailing_space_is_no_soft_break() {
        // A paste left a space after the rule; the old banner after it is a line of its own.
        let v = texts("============================= \n[ BUG: Invalid wait context ]\n");
        assert_eq!(v.len(), 2, "{v:?}");
        let v = texts("some prose that flows \nWARNING: possible recursive locking detected\n");
        assert_eq!(v.len(), 2, "{v:?}");
    }

    #[test]
    fn does_not_join_prefixed_or_fresh_lines() {
        let v = texts(
            "CPU: 1 PID: 2 Comm: a Not tainted syzkaller #0 PREEMPT(full) \nHardware name: x\n",
        );
        assert_eq!(v.len(), 2);
        let v = texts("[ 1.0] a \n[ 1.1] b\n");
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn joins_continuation_fragments() {
        let v = texts(
            "[ 1.0]  #0: \n[ 1.0]  (\n[ 1.0] &vcpu->mutex\n[ 1.0] ){+.+.+.}\n[ 1.0] , at: \n[ 1.0] [<ffffffff8100>] vcpu_load+0x1c/0x60\n",
        );
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].0,
            " #0: (&vcpu->mutex){+.+.+.}, at: [<ffffffff8100>] vcpu_load+0x1c/0x60"
        );
    }

    #[test]
    fn quoted_printable() {
        let v =
            texts("> > =3D=3D=3D=\n=3D=3D\n> >  =A0#0:=A0 (reboot_mutex){+.+.}, at: x+0x1/0x2\n");
        assert_eq!(v[0].0, "=====");
        assert_eq!(v[1].0, "  #0:  (reboot_mutex){+.+.}, at: x+0x1/0x2");
    }

    #[test]
    fn quoted_printable_ends_where_its_mail_or_encoding_does() {
        // A plain rule line after quoted-printable text is no soft break.
        let v = texts("> =3D=3D=\n=3D\n=====\nWARNING: bad unlock balance detected!\n");
        assert_eq!(v[1].0, "=====", "{v:?}");
        assert_eq!(v[2].0, "WARNING: bad unlock balance detected!", "{v:?}");
        // The next mail says its own encoding.
        let v = texts("a =3D b\nContent-Transfer-Encoding: 8bit\nx=\ny\n");
        assert_eq!(v[2].0, "x=", "{v:?}");
        let v = texts("a =3D b\nFrom syzbot Mon Apr  1 00:00:00 2024\nx=\ny\n");
        assert_eq!(v[2].0, "x=", "{v:?}");
        let v = texts("Content-Transfer-Encoding: quoted-printable\nx=\ny\n");
        assert_eq!(v[1].0, "xy", "{v:?}");
    }

    #[test]
    fn commit_message_bar_quotes_are_stripped() {
        let v =
            texts("| WARNING: possible recursive locking detected\n|\n|  #0: x\nplain | text\n");
        assert_eq!(v[0].0, "WARNING: possible recursive locking detected");
        assert_eq!(lines_of("| x\n> | y\n")[1].quote_depth, 2);
        assert_eq!(v[1].0, "");
        assert_eq!(v[2].0, " #0: x");
        assert_eq!(v[3].0, "plain | text");
    }

    #[test]
    fn an_rcu_site_wrapped_by_a_serial_console() {
        let v = texts(concat!(
            "[  245.690923]\n",
            "/home/c/linux/include/net/sock.h:1332 suspicious\n",
            "rcu_dereference_check() usage!\n",
            "[  245.821999] \n",
        ));
        assert_eq!(
            v[0].0,
            "/home/c/linux/include/net/sock.h:1332 suspicious rcu_dereference_check() usage!",
            "{v:?}"
        );
    }

    #[test]
    fn a_cpu_line_wrapped_before_its_version() {
        let v = texts(
            "> > CPU: 0 PID: 8897 Comm: syz-executor276 Not tainted 5.4.0-rc3-next-20191015\n> > #0\n> > Hardware name: x\n",
        );
        assert_eq!(
            v[0].0, "CPU: 0 PID: 8897 Comm: syz-executor276 Not tainted 5.4.0-rc3-next-20191015 #0",
            "{v:?}"
        );
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn caret_m_at_a_line_end_is_a_carriage_return() {
        let v = texts("[ 57.6] WARNING: possible circular locking dependency detected^M\n");
        assert_eq!(
            v[0].0,
            "WARNING: possible circular locking dependency detected"
        );
    }

    #[test]
    fn dev_kmsg_record_headers_are_prefixes() {
        let v = texts(
            "4,1073,209927862,-;[ BUG: Invalid wait context ]\n4,1077,209927871,c;ffff (x){....}\n",
        );
        assert_eq!(v[0].0, "[ BUG: Invalid wait context ]");
        assert_eq!(v[1].0, "ffff (x){....}");
    }

    #[test]
    fn long_lines_are_cut_and_invalid_utf8_tolerated() {
        let mut s = vec![b'a'; MAX_LINE_BYTES + 10];
        s.push(b'\n');
        s.extend_from_slice(b"\xff\xfe ok\n");
        let mut r = LineReader::new(&s[..]);
        let l = r.next_line().unwrap().unwrap();
        assert!(l.cut);
        assert_eq!(l.text.len(), MAX_LINE_BYTES);
        let l = r.next_line().unwrap().unwrap();
        assert!(l.text.ends_with(" ok"));
        assert_eq!(l.no, 2);
        assert!(r.next_line().unwrap().is_none());
    }
}
