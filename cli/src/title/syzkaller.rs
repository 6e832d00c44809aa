//! The text syzkaller titles a report from, and the title it gives.
//!
//! A [`Region`] opens at the report's first line that carries an oops header and collects
//! what syzkaller's `findReport` would: lines of the same console context (caller id),
//! without questionable frames (`? func`, `(unreliable)`) and lock-debugging notices, up to
//! where a second report starts. [`Region::describe`] then applies the header's title
//! formats (earliest match wins), finds the named frame, normalises the title and decides
//! whether the report is corrupted.

use std::sync::LazyLock;

use regex::Regex;

use super::formats::{Format, INFO_MESSAGES_WITH_STACK, Oops, REPORT_START_IGNORES, match_oops};
use super::frames::{CompiledStack, corruption, extract_frames};

/// Most input lines a region reads.
const MAX_REGION_LINES: usize = 5000;
/// Most text kept for a region.
const MAX_REGION_BYTES: usize = 1 << 20;
/// Lines of the report's own context read past the end of the report itself before the
/// region is closed anyway.
pub const MAX_TAIL_LINES: usize = 200;
/// A report this long may drop the rest from a later panic or circular-locking banner on.
const MIN_LINES_BEFORE_CUT: usize = 22;

/// The title syzkaller would give a report, and whether it would call it corrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzTitle {
    /// The title, normalised as syzbot shows it.
    pub title: String,
    /// Why syzkaller would mark the report corrupted.
    pub corrupted: Option<String>,
}

/// The console context of a line, as syzkaller compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// No console prefix at all.
    None,
    /// A timestamp without caller id.
    Console,
    /// A task caller id (`[T123]`).
    Task(String),
    /// A CPU caller id (`[C1]`).
    Cpu(String),
}

impl Context {
    /// The context of a line with caller id `ctx` that had a console prefix or not.
    pub fn of(ctx: Option<&str>, had_prefix: bool) -> Context {
        match ctx {
            Some(c) if c.starts_with('T') => Context::Task(c.to_string()),
            Some(c) => Context::Cpu(c.to_string()),
            None if had_prefix => Context::Console,
            None => Context::None,
        }
    }

    fn has_prefix(&self) -> bool {
        *self != Context::None
    }
}

static QUESTIONABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\[<[0-9a-f]+>\])? \? ").unwrap());

/// Where a second report starts: a header line (not one of the ignored kinds) or an
/// informational message with a stack of its own.
fn starts_second_report(text: &str) -> bool {
    match match_oops(text) {
        Some(_) => !REPORT_START_IGNORES.iter().any(|r| r.is_match(text)),
        None => INFO_MESSAGES_WITH_STACK.iter().any(|m| text.contains(m)),
    }
}

/// A line that repeats the report's own `WARNING: ... at file:line` header, as symbolised
/// reports print it once per inlined frame.
pub fn repeats_warning(first: &str, text: &str) -> bool {
    static SRC: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[a-zA-Z0-9_\-/.]+\.[a-z]+:[0-9]+").unwrap());
    fn location(s: &str) -> Option<&str> {
        let w = &s[s.find("WARNING:")?..];
        SRC.find(w).map(|m| m.as_str())
    }
    match (location(first), location(text)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The text of one report as syzkaller sees it, collected line by line.
#[derive(Debug)]
pub struct Region {
    oops: &'static Oops,
    context: Context,
    first: String,
    text: String,
    /// Length of `text` before the second report started.
    report_end: Option<usize>,
    text_lines: usize,
    lines: usize,
    skip_text: bool,
    cpu_traceback: bool,
    hangup: bool,
    /// Lines seen since the report itself ended.
    tail: Option<usize>,
    closed: bool,
}

impl Region {
    /// Open a region at a line that carries an oops header (`text` without console prefix).
    pub fn open(text: &str, context: Context) -> Option<Region> {
        let oops = match_oops(text)?;
        let mut r = Region {
            oops,
            context,
            first: text.to_string(),
            text: String::new(),
            report_end: None,
            text_lines: 1,
            lines: 1,
            skip_text: false,
            cpu_traceback: false,
            hangup: text.contains(GCE_HANGUP),
            tail: None,
            closed: false,
        };
        r.text.push_str(text);
        r.text.push('\n');
        Some(r)
    }

    /// Whether the region still takes lines.
    pub fn is_open(&self) -> bool {
        !self.closed
    }

    /// Whether a line of any caller can still change the title: the region is open and its
    /// report was printed without caller ids, so another caller's report ends its text.
    pub fn reads_every_caller(&self) -> bool {
        !self.closed && matches!(self.context, Context::None | Context::Console)
    }

    /// The report itself has ended: only a bounded tail is read from now on.
    pub fn report_ended(&mut self) {
        self.tail.get_or_insert(0);
    }

    /// Feed the next input line (any context).
    pub fn push(&mut self, text: &str, context: &Context) {
        if self.closed {
            return;
        }
        self.lines += 1;
        if self.lines > MAX_REGION_LINES {
            self.closed = true;
            return;
        }
        if text.contains(GCE_HANGUP) {
            self.hangup = true;
        }
        // A second report ends the text a title comes from only on consoles without
        // caller ids; with them, the task's own lines go on counting.
        let console = matches!(self.context, Context::None | Context::Console);
        if console
            && self.report_end.is_none()
            && starts_second_report(text)
            && !repeats_warning(&self.first, text)
            && !self.crash_of_own_task(text)
        {
            self.report_end = Some(self.text.len());
            self.report_ended();
        }
        let questionable = self.context.has_prefix()
            && !text.contains("<EOI>")
            && (QUESTIONABLE.is_match(text) || text.ends_with(" (unreliable)"));
        let same = *context == self.context
            || self.cpu_traceback && matches!(context, Context::Cpu(_))
            || self.context == Context::Console
                && *context == Context::None
                && is_record_continuation(text);
        if questionable || !same {
            return;
        }
        if let Some(t) = &mut self.tail {
            *t += 1;
            if *t > MAX_TAIL_LINES {
                self.closed = true;
                return;
            }
        }
        self.text_lines += 1;
        let mut skip = self.skip_text;
        if text.contains("Disabling lock debugging due to kernel taint") {
            skip = true;
        } else if text.contains("Sending NMI from CPU") {
            self.cpu_traceback = true;
        } else if (text.contains("Kernel panic - not syncing")
            || text.contains("WARNING: possible circular locking dependency detected"))
            && self.text_lines > MIN_LINES_BEFORE_CUT
        {
            self.skip_text = true;
            skip = true;
        }
        if skip || self.text.len() > MAX_REGION_BYTES {
            return;
        }
        self.text.push_str(&symbolized(text));
        self.text.push('\n');
    }

    /// Text without any console prefix is what syzbot mails: one task's lines, already
    /// cut from the console log. A crash inside the report before its stack (lockdep's
    /// printer faulting) is then that task's, and syzkaller read on past it in the
    /// original log, so it does not end the text here either.
    fn crash_of_own_task(&self, text: &str) -> bool {
        self.context == Context::None
            && crate::splat::scan::is_crash_line(text)
            && !self.text.contains("Call Trace:")
            && !self.text.contains("Call trace:")
            && !self.text.contains("stack backtrace:")
    }

    /// The title and corruption syzkaller would give this report.
    pub fn describe(&self) -> SyzTitle {
        let end = self.report_end.unwrap_or(self.text.len());
        let (title, mut corrupted, format) = extract_description(&self.text[..end], self.oops);
        if corrupted.is_none() {
            corrupted = corruption(&title, &self.text, format);
        }
        if self.hangup {
            corrupted.get_or_insert_with(|| "console connection lost (VM disconnected)".into());
        }
        SyzTitle {
            title: super::normalize::normalize(&title),
            corrupted,
        }
    }
}

/// A frame as `decode_stacktrace.sh` prints it (`shmem_fault (mm/shmem.c:1289)`, inlined
/// calls' lines inside the parentheses too, the address it replaced gone) in the form the
/// kernel printed before the decoding (`[<0>] shmem_fault+0x0/0x0 mm/shmem.c:1289`), which the
/// title's frame patterns read. Other lines are returned as they are.
fn symbolized(text: &str) -> std::borrow::Cow<'_, str> {
    static DECODED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(.*?)(\?\s+)?\b([A-Za-z_][\w.]*) ",
            r"\(((?:\./)?[\w./-]+\.[chS]:\d+)(?:\s.*)?\)(?: \[?[\w-]+\]?)?\s*$"
        ))
        .unwrap()
    });
    if !text.contains(" (") {
        return text.into();
    }
    match DECODED.captures(text) {
        Some(c) => format!(
            "{}[<0>] {}{}+0x0/0x0 {}",
            &c[1],
            c.get(2).map_or("", |m| m.as_str()),
            &c[3],
            &c[4]
        )
        .into(),
        None => text.into(),
    }
}

/// A line of a multi-line printk record as `dmesg` prints it: no prefix, indented by the
/// prefix's width (`[ 4127.398951] ` is 15 columns) — lockdep's `\n... which became
/// HARDIRQ-irq-safe at:`. syzkaller's consoles prefix every line, so it never sees this shape
/// and would skip the line; it belongs to the record before it.
fn is_record_continuation(text: &str) -> bool {
    let rest = text.trim_start_matches(' ');
    let indent = text.len() - rest.len();
    (13..=40).contains(&indent) && !rest.is_empty() && !rest.starts_with('\t')
}

/// GCE's serial console prints this when the connection drops mid-report.
const GCE_HANGUP: &str = "serialport: VM disconnected.";

struct Compiled {
    title: Regex,
    report: Option<Regex>,
    stack: Option<CompiledStack>,
}

static COMPILED: LazyLock<Vec<Vec<Compiled>>> = LazyLock::new(|| {
    super::formats::OOPSES
        .iter()
        .map(|o| {
            o.formats
                .iter()
                .map(|f| Compiled {
                    title: super::formats::compile(f.title),
                    report: f.report.map(super::formats::compile),
                    stack: f.stack.as_ref().map(CompiledStack::new),
                })
                .collect()
        })
        .collect()
});

/// `fmt` with `%[N]v` / `%[N]s` replaced by the N-th argument.
fn format_title(fmt: &str, args: &[String]) -> String {
    static ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"%\[(\d+)\][vs]").unwrap());
    ARG.replace_all(fmt, |c: &regex::Captures| {
        let i: usize = c[1].parse().unwrap_or(0);
        args.get(i.wrapping_sub(1))
            .cloned()
            .unwrap_or_else(|| "%!v(BADINDEX)".into())
    })
    .into_owned()
}

/// Title, corruption and the format that produced it, over `text` (the report up to a
/// second report).
fn extract_description(
    text: &str,
    oops: &'static Oops,
) -> (String, Option<String>, Option<&'static Format>) {
    let oi = super::formats::OOPSES
        .iter()
        .position(|o| std::ptr::eq(o, oops))
        .unwrap_or(0);
    let mut start = text.len();
    let mut desc = String::new();
    let mut corrupted = None;
    let mut format = None;
    let mut matched_title = false;
    for (f, c) in oops.formats.iter().zip(&COMPILED[oi]) {
        let Some(m) = c.title.find(text) else {
            continue;
        };
        if m.start() > start || m.start() == start && !desc.is_empty() {
            continue;
        }
        if m.start() < start {
            desc.clear();
            format = None;
            start = m.start();
        }
        matched_title = true;
        let caps = match &c.report {
            Some(r) => match r.captures(text) {
                Some(caps) => caps,
                None => continue,
            },
            None => c.title.captures(text).expect("title matched"),
        };
        let at = caps.get(0).map_or(0, |m| m.start());
        let mut args: Vec<String> = caps
            .iter()
            .skip(1)
            .map(|g| g.map_or(String::new(), |g| g.as_str().to_string()))
            .collect();
        corrupted = None;
        if let Some(stack) = &c.stack {
            let (frames, ok) = extract_frames(&text[at..], stack);
            if !ok {
                corrupted = Some("no frames could be extracted".to_string());
            }
            args.extend(frames);
        }
        desc = format_title(f.fmt, &args);
        format = Some(f);
    }
    if desc.is_empty() {
        if matched_title {
            corrupted = Some("matched title but not report regexp".into());
        }
        if let Some(pos) = text.find(oops.header) {
            let line = &text[pos..];
            desc = line[..line.find('\n').unwrap_or(line.len())].to_string();
        }
    }
    if corrupted.is_none() && format.is_some_and(|f| f.corrupted) {
        corrupted = Some("report format is marked as corrupted".into());
    }
    (desc, corrupted, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title_of(lines: &[&str]) -> SyzTitle {
        let mut r = Region::open(lines[0], Context::Console).unwrap();
        for l in &lines[1..] {
            r.push(l, &Context::Console);
        }
        r.describe()
    }

    #[test]
    fn circular_skips_lock_primitives_and_takes_held_site() {
        let t = title_of(&[
            "WARNING: possible circular locking dependency detected",
            "5.9.0 #1 Not tainted",
            "swapper/0/1 is trying to acquire lock:",
            "ffff (console_sem){-...}-{2:2}, at: down_trylock+0xe/0x60",
            "but task is already holding lock:",
            "ffff (&p->pi_lock){-.-.}-{2:2}, at: tick_handler+0x1/0x2",
            "Call Trace:",
            " dump_stack+0x1/0x2",
            " lock_acquire+0x1/0x2",
            " tick_handler+0x1/0x2",
        ]);
        assert_eq!(t.title, "possible deadlock in tick_handler");
        assert_eq!(t.corrupted, None);
    }

    #[test]
    fn a_dmesg_record_continuation_belongs_to_its_record() {
        // `dmesg` prints the lines after the first of a multi-line printk record unprefixed,
        // indented by the prefix's width (an amdgpu report in a commit message, 6.19).
        let lines = [
            "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
            "kworker/11:1/3530 [HC0[0]:SC0[0]:HE0:SE1] is trying to acquire:",
            "ffffffffc1a6ea78 (amdgpu_pasid_xa.xa_lock){+.+.}-{3:3}, at: xa_erase+0x17/0x40",
            "",
            "               and this task is already holding:",
            "ffff8e639340cfb8 (&f->lock){....}-{3:3}, at: dma_fence_signal+0x2a/0x80",
            "which would create a new lock dependency:",
            " (&f->lock){....}-{3:3} -> (amdgpu_pasid_xa.xa_lock){+.+.}-{3:3}",
            "",
            "               but this new dependency connects a HARDIRQ-irq-safe lock:",
            " (&chain->lock){-...}-{3:3}",
            "",
            "               ... which became HARDIRQ-irq-safe at:",
            "  lock_acquire+0xc6/0x2c0",
            "  _raw_spin_lock_irqsave+0x54/0xa0",
            "  dma_fence_signal+0x2a/0x80",
            "  dma_fence_chain_irq_work+0x50/0x70",
        ];
        let mut r = Region::open(lines[0], Context::Console).unwrap();
        for l in &lines[1..] {
            let ctx = if l.starts_with("   ") {
                Context::None
            } else {
                Context::Console
            };
            r.push(l, &ctx);
        }
        let t = r.describe();
        assert_eq!(t.title, "possible deadlock in dma_fence_signal");
        // Unprefixed text that is not indented as a continuation stays out, as in syzkaller.
        assert!(!is_record_continuation("executing program"));
        assert!(!is_record_continuation("  dma_fence_signal+0x2a/0x80"));
    }

    #[test]
    fn decoded_frames_title_as_symbolised_ones() {
        // A 3.16 report whose frames went through decode_stacktrace.sh (linux-mm, 2014).
        let t = title_of(&[
            "[ INFO: possible recursive locking detected ]",
            "3.16.0-rc3-next-20140630 #758 Tainted: G        W",
            "trinity-c84/27757 is trying to acquire lock:",
            "(&sb->s_type->i_mutex_key#17){+.+.+.}, at: shmem_fault (mm/shmem.c:1289)",
            "",
            "but task is already holding lock:",
            "(&sb->s_type->i_mutex_key#17){+.+.+.}, at: generic_file_write_iter (mm/filemap.c:2633)",
            "Call Trace:",
            "dump_stack (lib/dump_stack.c:52)",
            "__lock_acquire (kernel/locking/lockdep.c:3034 kernel/locking/lockdep.c:3180)",
            "shmem_fault (mm/shmem.c:1289)",
        ]);
        assert_eq!(t.title, "possible deadlock in shmem_fault");
        assert_eq!(
            symbolized(
                "? _raw_spin_unlock (./arch/x86/include/asm/preempt.h:98 kernel/locking/spinlock.c:183)"
            ),
            "[<0>] ? _raw_spin_unlock+0x0/0x0 ./arch/x86/include/asm/preempt.h:98"
        );
        assert_eq!(
            symbolized("dev_get_by_index_rcu (net/core/dev.c:876 (discriminator 7))"),
            "[<0>] dev_get_by_index_rcu+0x0/0x0 net/core/dev.c:876"
        );
        assert_eq!(
            symbolized("sctp_v6_available (net/sctp/ipv6.c:701) sctp"),
            "[<0>] sctp_v6_available+0x0/0x0 net/sctp/ipv6.c:701"
        );
        assert_eq!(
            symbolized("lock(&(&x->lock)->rlock);"),
            "lock(&(&x->lock)->rlock);"
        );
        assert_eq!(
            symbolized("CPU: 1 PID: 2 (kworker)"),
            "CPU: 1 PID: 2 (kworker)"
        );
    }

    #[test]
    fn header_only_banners_title_themselves() {
        let t = title_of(&[
            "BUG: MAX_STACK_TRACE_ENTRIES too low!",
            "turning off the locking correctness validator.",
            "Call Trace:",
            " dump_stack+0x1/0x2",
            " save_trace+0x1/0x2",
            " mark_lock+0x1/0x2",
        ]);
        assert_eq!(t.title, "BUG: MAX_STACK_TRACE_ENTRIES too low!");
        assert_eq!(t.corrupted, None);
    }

    #[test]
    fn a_second_report_ends_the_text() {
        let t = title_of(&[
            "WARNING: possible circular locking dependency detected",
            "BUG: KASAN: use-after-free in foo+0x1/0x2",
            "is trying to acquire lock:",
        ]);
        assert_eq!(
            t.title,
            "WARNING: possible circular locking dependency detected"
        );
        assert!(t.corrupted.is_some());
    }

    #[test]
    fn repeated_warning_lines_are_one_report() {
        let first = "WARNING: CPU: 0 PID: 5 at kernel/locking/lockdep.c:232 hlock_class kernel/locking/lockdep.c:232 [inline]";
        assert!(repeats_warning(
            first,
            "WARNING: CPU: 0 PID: 5 at kernel/locking/lockdep.c:232 check_wait_context kernel/locking/lockdep.c:4729 [inline]"
        ));
        assert!(!repeats_warning(
            first,
            "WARNING: CPU: 0 PID: 5 at fs/inode.c:1 iput+0x1/0x2"
        ));
    }

    #[test]
    fn format_arguments() {
        assert_eq!(
            format_title("a %[2]v b %[1]v", &["x".into(), "y".into()]),
            "a y b x"
        );
    }
}
