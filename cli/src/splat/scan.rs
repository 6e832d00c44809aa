//! Streaming scanner: finds report banners, collects each report's lines (bounded),
//! decides where a report ends, and hands the collected lines to the extractor.
//!
//! Every line first goes through a cheap `memmem` pre-filter; only lines containing
//! one of the banner keywords are matched against the banner table. Lines of other
//! callers (`[T…]` / `[C…]` ids) than the one that printed a report are set aside.

use std::collections::VecDeque;
use std::sync::LazyLock;

use memchr::memmem;
use regex::{Regex, RegexSet};

use super::extract;
use super::line::{Line, SYSTEMD_STATUS};
use super::stack::{FrameContext, parse_frame, parse_source_note};
use crate::report::{Kind, Report};
use crate::title::{Context, Region};

/// Most lines kept for one report; a longer report is cut and marked truncated.
pub const MAX_REPORT_LINES: usize = 5000;

/// One row of the banner table: which header starts which kind of report.
#[derive(Debug, Clone, Copy)]
pub struct BannerSpec {
    /// The report kind.
    pub kind: Kind,
    /// Regex matched against the trimmed line.
    pub pattern: &'static str,
    /// The report prints `stack backtrace:` before its final stack (so an earlier
    /// `CPU: … PID: …` dump is someone else's and is set aside).
    pub stack_header: bool,
    /// The report has a final stack at all.
    pub has_backtrace: bool,
    /// Not a banner but a line only this kind of report prints: a report whose head was lost
    /// (a log that starts mid-report, a quote that left the banner out) is found by it, and
    /// only when no report is open for the line's caller.
    pub headless: bool,
}

/// The banner table, in priority order.
pub const BANNERS: &[BannerSpec] = &[
    BannerSpec {
        kind: Kind::CircularDependency,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )possible circular locking dependency detected",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::RecursiveLocking,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )possible recursive locking detected",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::InconsistentLockState,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )inconsistent lock state",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::IrqSafeUnsafeOrder,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )(?:HARDIRQ|SOFTIRQ)(?:-READ)?-safe -> (?:HARDIRQ|SOFTIRQ)(?:-READ)?-unsafe lock order detected",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::IrqLockInversion,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )possible irq lock inversion dependency detected",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::BadUnlockBalance,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )bad unlock balance detected!",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::InvalidWaitContext,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )Invalid wait context",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::HeldLockFreed,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )held lock freed!",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::LockHeldReturningToUser,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )lock held when returning to user space!",
        stack_header: false,
        has_backtrace: false,
        headless: false,
    },
    BannerSpec {
        kind: Kind::LocksHeldAtExit,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: ).*\S/\d+ still has locks held!",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::NestedLockNotTaken,
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )Nested lock was not taken",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::SuspiciousRcuUsage,
        // 2.6.34 to 3.0 named the check: `[ INFO: suspicious rcu_dereference_check() usage. ]`.
        pattern: r"^(?:WARNING: |BUG: |INFO: |\[ INFO: |\[ BUG: )suspicious (?:RCU|rcu_dereference_check\(\)) usage",
        stack_header: true,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::SleepingInAtomic,
        pattern: r"^BUG: sleeping function called from invalid context",
        stack_header: false,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::LockdepInternalWarning,
        // (`kernel/lockdep.c` before 3.16; 2.6.17 to 2.6.19's WARN_ON printed `BUG: warning at`.)
        pattern: r"^(?:DEBUG_LOCKS_WARN_ON\(|(?:WARNING: .*|BUG: warning at )kernel/(?:locking/)?lockdep\.c:\d+|BUG: MAX_\w+ too low!|INFO: trying to register non-static key|BUG: looking up invalid subclass|BUG: key \S+ has not been registered|WARNING: chain_key collision)",
        stack_header: false,
        has_backtrace: true,
        headless: false,
    },
    BannerSpec {
        kind: Kind::CircularDependency,
        pattern: r"^the existing dependency chain \(in reverse order\) is:$",
        stack_header: true,
        has_backtrace: true,
        headless: true,
    },
];

static BANNER_SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(BANNERS.iter().map(|b| b.pattern)).unwrap());

static PREFILTER: LazyLock<[memmem::Finder<'static>; 5]> = LazyLock::new(|| {
    [
        memmem::Finder::new("WARNING"),
        memmem::Finder::new("BUG"),
        memmem::Finder::new("INFO"),
        memmem::Finder::new("DEBUG_LOCKS_WARN_ON"),
        memmem::Finder::new(HEADLESS_NEEDLE),
    ]
});

/// What a headless report's line ([`BannerSpec::headless`]) always holds.
pub(crate) const HEADLESS_NEEDLE: &str = "existing dependency chain";

/// The banner spec of a line that starts a report, if it does.
pub fn detect_banner(text: &str) -> Option<&'static BannerSpec> {
    locate_banner(text).map(|(spec, _)| spec)
}

/// Where banners may begin when other text precedes them on the line
/// (`syzkaller login: [  123.4] WARNING: ...` after a console prefix the normaliser did
/// not know, or a message printed without its newline).
static BANNER_STARTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\[ (?:INFO|BUG): |(?:WARNING|BUG|INFO): |DEBUG_LOCKS_WARN_ON\()").unwrap()
});

/// The banner spec of a line that holds a banner, and the byte offset where the banner
/// starts (0 when the line is the banner).
pub fn locate_banner(text: &str) -> Option<(&'static BannerSpec, usize)> {
    let bytes = text.as_bytes();
    if !PREFILTER.iter().any(|f| f.find(bytes).is_some()) {
        return None;
    }
    let t = text.trim();
    if let Some(i) = BANNER_SET.matches(t).iter().next() {
        if is_syzkaller_title(&BANNERS[i], t) {
            return None;
        }
        return Some((&BANNERS[i], text.len() - text.trim_start().len()));
    }
    BANNER_STARTS.find_iter(text).find_map(|m| {
        let before = &text[..m.start()];
        let rest = text[m.start()..].trim_end();
        // Only after something that ends like a console prefix (`] `, `login: `, `<4>`),
        // and only a line that is the banner and nothing more: prose that quotes a banner
        // ("I no longer see the \"WARNING: possible circular ...\" splat") is not a report.
        let prefix_like = before.ends_with("] ")
            || before.ends_with(']')
            || before.ends_with("login: ")
            || before.ends_with('>')
            || before.ends_with("kernel: ");
        if !prefix_like || rest.contains(['"', '`', '|', '\'']) || is_mail_subject(before) {
            return None;
        }
        BANNER_SET
            .matches(rest)
            .iter()
            .next()
            .filter(|&i| banner_is_whole(&BANNERS[i], rest))
            .map(|i| (&BANNERS[i], m.start()))
    })
}

/// Whether a line that starts like a banner is a syzkaller title quoted on its own (`BUG:
/// sleeping function called from invalid context in instance_create`, `WARNING: suspicious RCU
/// usage in f`): the kernel's banners never end in ` in FUNCTION` (it prints `at FILE:LINE`).
fn is_syzkaller_title(spec: &BannerSpec, t: &str) -> bool {
    static TITLE_TAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r" in [A-Za-z_][\w.]*$").unwrap());
    !matches!(
        spec.kind,
        Kind::LockdepInternalWarning | Kind::LocksHeldAtExit
    ) && TITLE_TAIL.is_match(t)
}

/// Whether the text before a banner is a mail's subject or tag, not a console prefix
/// (`Subject: [2.6.18] INFO: possible …`, `Re: [BUG] WARNING: …`, `[PATCH v2] …`). Only
/// headers and the tags mails use: a console's brackets hold anything (time stamps, caller
/// ids, vendors' `[name:lockdep&]`, `[kern.warn]`, an address), and a lost report costs more.
fn is_mail_subject(before: &str) -> bool {
    static HEADER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^\s*(?:[>|] ?)*(?:subject|re|fwd?|aw|sv):").unwrap());
    static TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)^\s*(?:[>|] ?)*(?:\[(?:patch|rfc|bug|syzbot|regression|git pull)\b[^\]]*\]\s*",
            r"|\[v?\d+\.\d+(?:\.\d+)?(?:-rc\d+)?\]\s*)+$"
        ))
        .unwrap()
    });
    HEADER.is_match(before) || TAG.is_match(before)
}

/// Whether `rest` is exactly a banner line (punctuation such as ` ]`, `.` or `!` may follow).
fn banner_is_whole(spec: &BannerSpec, rest: &str) -> bool {
    // Banners that name a task, a file or a key go on after their fixed words.
    if spec.kind == Kind::LocksHeldAtExit || spec.kind == Kind::LockdepInternalWarning {
        return true;
    }
    let Ok(re) = Regex::new(&format!(r"{}\s*[.!\]]*\s*$", spec.pattern)) else {
        return false;
    };
    re.is_match(rest)
}

static FOREIGN_OOPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:BUG: (?:unable to handle|KASAN|KFENCE|KMSAN|kernel NULL|soft lockup|workqueue lockup|",
        r"scheduling while atomic|spinlock|rwlock|Bad page|Bad rss|stack guard|corrupted list|UBSAN)",
        r"|general protection fault|Kernel panic - not syncing",
        r"|Unable to handle kernel|Internal error: Oops|Oops[:\[]|kernel BUG at",
        r"|------------\[ cut here \]------------|WARNING: CPU: \d+ PID: \d+ at |WARNING: \S+:\d+ at ",
        r"|INFO: task \S.* blocked for more than|INFO: rcu_\w+ (?:self-)?detected stall",
        r"|UBSAN: |KASAN: |KCSAN: )"
    ))
    .unwrap()
});
/// Whether a line starts a crash report (the task died; its stack follows).
pub fn is_crash_line(t: &str) -> bool {
    CRASH.is_match(t.trim())
}

static CRASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:BUG: (?:unable to handle|KASAN|kernel NULL)|general protection fault",
        r"|Unable to handle kernel|Internal error: Oops|Oops[:\[]|kernel BUG at)"
    ))
    .unwrap()
});
static PANIC_ON_WARN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Kernel panic - not syncing: panic_on_warn").unwrap());
static SECOND_REPORT_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:FAULT_INJECTION: forcing a failure|FAULT_FLAG_ALLOW_RETRY missing)").unwrap()
});
/// Lines after which a stack does not go on: other reports' and tasks' headers (whose own
/// stacks may follow), and the end markers of oopses.
static END_OF_STACK_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:INFO:|WARNING:|BUG:|Kernel panic|---\[ end|Sending NMI|NMI backtrace|task:\S",
        r"|\S+ +[RSDTtXZIP] +(?:stack:|\d)|Showing |sysrq:|Mem-Info|=+$|-+$)"
    ))
    .unwrap()
});
static WARNING_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^WARNING: CPU: \d+ PID: \d+ at ").unwrap());
static CPU_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: ").unwrap());
static CALL_TRACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:Call [Tt]race:|Backtrace:)\s*$").unwrap());
static DUMP_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:</?(?:IRQ|TASK|NMI|SOFTIRQ|EOI)>$",
        // i386: `EIP: …`, `EAX: … EBX: …`, `DS: 007b … SS: 0068`.
        r"|(?:E[A-D]X|E[SD]I|E[BS]P|SS): [0-9a-f]{4,8}\b|EIP: (?:[0-9a-f]{8}\b|[\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+)",
        r"|(?:RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d+|FS|GS|CS|DS|ES|CR\d|DR\d|EFLAGS|ORIG_RAX|PKRU|Code",
        r"|pc|lr|sp|x\d+|pstate|NIP|MSR|LR|CTR|XER|CFAR|GPR\d+|IRQMASK|TRAP|DAR|DSISR|SOFTE|CR|Mem abort info|ESR|EC|SET|EA|FSC|Data abort info|ISV|CM)\s*:",
        // powerpc names the faulting and return addresses' functions after the registers.
        r"|(?:NIP|LR) \[[0-9a-f]+\] |REGS: [0-9a-f]{8,16} TRAP: ",
        // …and the MSR's bits, wrapped onto a line of their own (`<CE,EE,ME>  CR: 24042284`).
        r"|<[A-Z0-9,]+>\s+CR: [0-9a-f]{8}",
        // A `Code:` line wrapped by a mail client: its bytes alone (`5a eb 83 … <0f> 0b`).
        r"|(?:[<(]?[0-9a-f]{2}[>)]?\s+){7,}[<(]?[0-9a-f]{2}[>)]?$",
        // RISC-V's register dump: a name, a colon and a value (`ffffffff80081b8c`, or `epc :
        // check_flags+0x10a/0x1e0`), not prose's `status: link is up`.
        r"|(?:epc|ra|gp|tp|t[0-6]|s\d{1,2}|a[0-7]|status|badaddr|cause)\s*:\s*(?:[0-9a-f]{8,16}\b|[\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+$)",
        r"|Exception stack\(|[0-9a-f]{3,4}:(?:\s+[0-9a-f]{8})+|(?:[0-9a-f]{8,16}\s*){2,}\.?$|\.\.\.$",
        // A poster's elision of frames (`:`, `[...]`, `…`, `<snip>`).
        r"|:$|\[\.\.\.\]$|\u{2026}$|<snip>$|\[ ?snip ?\]$",
        // lockdep's library leaves its own frames out of a captured backtrace.
        r"|\(\d+ frames? of lockdep and the lock left out\)$",
        r"|--- interrupt:|Modules linked in:|Hardware name:|Workqueue:|CPU: |Call [Tt]race:|Backtrace:",
        r"|Kernel panic - not syncing: panic_on_warn|Preemption disabled at:|irq event stamp:",
        r"|(?:hard|soft)irqs last|Kernel Offset:|Instruction dump:|Sched_ext:|Tainted: |Stack ?:",
        r"|[A-Za-z0-9]+ = (?:0x)?[0-9a-f]+|user pgtable:|\[[0-9a-f]+\] pgd=|Internal error:",
        r"|thread: \S+ \(lockdep |\(backtraces off)",
        // 2.6–3.x x86: the task line before `Call Trace:` that `CPU: … PID: … Comm:` replaced.
        r"|Pid: \d+, comm: ",
        // A return address in no symbol's range (a module's init text, freed): `? 0xffff…`.
        r"|(?:\[<[0-9a-f]{8,16}>\] )?\?? ?0x[0-9a-f]{8,16}$",
        // s390 before 3.x: the task line and the stack's words (each line ends in a period).
        r"|Process \S+ \(pid: \d+, task: "
    ))
    .unwrap()
});
static END_TRACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^-+\[ end trace").unwrap());
static HELD_ENTRY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#\d+:").unwrap());
static HELD_HDR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\d+ locks? held by |no locks held by )").unwrap());
static RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:={8,}|-{12}\[ cut here \]-{12})$").unwrap());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Body,
    Backtrace,
    Interleaved,
}

/// How a report ended.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    /// The report reached its final section.
    pub complete: bool,
    /// Why it is damaged, if it is.
    pub reasons: Vec<String>,
}

#[derive(Debug)]
struct Collector {
    spec: &'static BannerSpec,
    start: usize,
    /// The quote depth of the report's first line (0 outside a mail's quote).
    quote_depth: u8,
    /// Lines with text at a shallower depth since the last of the report's own, and the first.
    shallow_run: usize,
    shallow_from: Option<usize>,
    /// Those lines hold a mail's headers: a later mail, not a comment inside the quote.
    reply_is_a_mail: bool,
    lines: Vec<Line>,
    phase: Phase,
    frames: usize,
    /// Lines of the stack read only as bare function names (`unwind_backtrace`, a poster's
    /// stripped copy): a stack, though not one a prose line could be told from.
    bare_frames: usize,
    interleaved_frames: usize,
    held_seen: bool,
    reasons: Vec<String>,
    saw_warning_line: bool,
    /// The report's `WARNING: ... at file:line` line, which symbolised reports repeat once
    /// per inlined frame.
    warning_line: Option<String>,
    interrupted: bool,
    /// The text syzkaller would title this report from (opens at the first oops header).
    region: Option<Region>,
    /// A line that interrupted the stack, set aside until the next line says whether the stack
    /// goes on after it (a message printed in the middle of it) or ended before it.
    aside: Option<usize>,
    /// A rule line (`=======================`) inside the stack, held until the next line
    /// says whether it was 2.6-era i386's separator between the irq and the process stack.
    separator: bool,
    /// Whether the report was pasted with empty lines after every line of its own.
    spacing: Spacing,
    /// Empty lines (no text, no prefix) since the last line with either.
    filler_run: usize,
    /// Lines of a spaced report that followed the line before them with no empty line.
    unspaced_run: usize,
}

/// How a report's lines are spaced: a paste may put an empty line (or two) after every line,
/// so that a blank no longer ends anything. Told by the report's first lines: the kernel
/// prints its banner, version and rule lines with nothing between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spacing {
    /// Gaps between the first lines seen so far, all of at least one empty line, and the
    /// narrowest of them.
    Unknown { gaps: usize, narrowest: usize },
    /// The report's own lines follow one another.
    Single,
    /// Every line is followed by this many empty lines; more than that stand for a blank line
    /// of the report.
    Spaced(usize),
}

/// How many gaps of empty lines between a report's first lines make it a spaced paste.
const SPACED_GAPS: usize = 4;

enum Step {
    Continue,
    /// End; `consumed` says whether the current line belongs to the report.
    End {
        consumed: bool,
        complete: bool,
    },
}

impl Collector {
    fn new(spec: &'static BannerSpec, start: usize, first: Line) -> Collector {
        let saw_warning_line = first.text.trim_start().starts_with("WARNING:");
        let warning_line = saw_warning_line.then(|| first.text.clone());
        Collector {
            spec,
            start,
            quote_depth: first.quote_depth,
            shallow_run: 0,
            shallow_from: None,
            reply_is_a_mail: false,
            lines: vec![first],
            phase: Phase::Body,
            frames: 0,
            bare_frames: 0,
            interleaved_frames: 0,
            held_seen: false,
            reasons: Vec::new(),
            saw_warning_line,
            warning_line,
            interrupted: false,
            region: None,
            aside: None,
            separator: false,
            spacing: Spacing::Unknown {
                gaps: 0,
                narrowest: usize::MAX,
            },
            filler_run: 0,
            unspaced_run: 0,
        }
    }

    /// Counts an empty line (`filler`) or the gap of empty lines that a line with text (or a
    /// console prefix) closes, and tells the report's spacing from its first gaps.
    fn note_spacing(&mut self, filler: bool) {
        if filler {
            self.filler_run += 1;
            return;
        }
        let gap = std::mem::take(&mut self.filler_run);
        if let Spacing::Spaced(_) = self.spacing {
            // Two gaps of nothing in a row: the paste stopped spacing its lines (one is a line a
            // mailer wrapped).
            self.unspaced_run = if gap == 0 { self.unspaced_run + 1 } else { 0 };
            if self.unspaced_run >= 2 {
                self.spacing = Spacing::Single;
            }
        }
        if let Spacing::Unknown { gaps, narrowest } = self.spacing {
            self.spacing = match (gap, gaps + 1) {
                (0, _) => Spacing::Single,
                (_, n) if n >= SPACED_GAPS => Spacing::Spaced(narrowest.min(gap)),
                (_, n) => Spacing::Unknown {
                    gaps: n,
                    narrowest: narrowest.min(gap),
                },
            };
        }
    }

    /// The report's lines without the empty lines a spaced paste put after each of them (a
    /// longer run of empty lines stays as one blank line).
    fn into_lines(self) -> Vec<Line> {
        let Spacing::Spaced(gap) = self.spacing else {
            return self.lines;
        };
        let filler = |l: &Line| l.text.trim().is_empty() && !l.had_prefix;
        let mut out = Vec::with_capacity(self.lines.len() / 2 + 1);
        let mut run: Vec<Line> = Vec::new();
        for l in self.lines {
            if filler(&l) {
                run.push(l);
                continue;
            }
            if run.len() > gap {
                out.extend(run.pop());
            }
            run.clear();
            out.push(l);
        }
        if run.len() > gap {
            out.extend(run.pop());
        }
        out
    }

    /// Whether what was read so far is a whole report: its stack begun and not interrupted,
    /// or, for a kind without one, its held locks listed.
    fn is_complete(&self) -> bool {
        self.phase == Phase::Backtrace
            && (self.frames > 0 || self.bare_frames >= MIN_BARE_FRAMES)
            && !self.interrupted
            || !self.spec.has_backtrace && self.held_seen
    }

    /// Whether a reply of several lines inside the quote has been read since the report's
    /// last line: the quote ended there, unless the report goes on after the reply.
    fn after_reply(&self) -> bool {
        self.shallow_run >= SHALLOW_LINES_END_A_QUOTE
    }

    /// Ends the report where the reply inside its quote began.
    fn quote_ended(&mut self) -> Step {
        let from = self.shallow_from.unwrap_or_default();
        let complete = self.is_complete();
        if !complete {
            self.reasons.push(format!(
                "the quote ends before the report does (a reply from line {from})"
            ));
        } else if self.phase == Phase::Backtrace && !self.at_stack_bottom() {
            // The stack's start was read, but the poster may have cut it short.
            self.reasons.push(format!(
                "the quote ends inside the stack (a reply from line {from}): frames after it \
                 are not read"
            ));
        }
        Step::End {
            consumed: false,
            complete,
        }
    }

    fn feed(&mut self, line: &Line) -> Step {
        // A report quoted in a mail, and a reply's comment between its lines at a shallower
        // quote depth: the comment is not the report's, and does not end it. Three such lines
        // with text in a row are a reply: the quote ended there, unless a line of the report
        // comes back at its depth after it (a maintainer's comment inside the quote) within
        // [`REPLY_LINES_MAX`] lines.
        if line.quote_depth < self.quote_depth {
            if line.text.trim().is_empty() {
                return Step::Continue;
            }
            self.shallow_from.get_or_insert(line.no);
            self.shallow_run += 1;
            let t = line.text.trim_start();
            self.reply_is_a_mail |= ["From: ", "Subject: ", "Date: ", "To: "]
                .iter()
                .any(|h| t.starts_with(h));
            if self.shallow_run < REPLY_LINES_MAX {
                return Step::Continue;
            }
            return self.quote_ended();
        }
        let t = line.text.trim();
        if self.after_reply() {
            if t.is_empty() {
                return Step::Continue;
            }
            // In the stack only a frame goes on with it (another `Call Trace:` is another
            // stack); after a mail's headers, nothing does.
            let goes_on = if self.phase == Phase::Backtrace {
                // (Not after the frame a stack starts at: what follows is another stack.)
                !self.at_stack_bottom() && parse_frame(t, 0, FrameContext::Strict).is_some()
            } else {
                continues_a_report(t)
            };
            if !goes_on || self.reply_is_a_mail {
                return self.quote_ended();
            }
            let (from, to) = (self.shallow_from.unwrap_or_default(), line.no - 1);
            self.reasons.push(format!(
                "lines {from}-{to}, a reply inside the quoted report, were left out"
            ));
        }
        self.shallow_run = 0;
        self.shallow_from = None;
        self.reply_is_a_mail = false;
        let filler = t.is_empty() && !line.had_prefix;
        self.note_spacing(filler);
        if filler
            && self.phase == Phase::Backtrace
            && matches!(self.spacing, Spacing::Spaced(gap) if self.filler_run <= gap)
        {
            // A spaced paste's empty line: not the blank that ends a stack.
            return Step::Continue;
        }
        if SYSTEMD_STATUS.is_match(t) {
            // systemd's status lines share the console: never a report's.
            return Step::Continue;
        }
        if self.lines.len() >= MAX_REPORT_LINES {
            self.reasons.push(format!(
                "report longer than {MAX_REPORT_LINES} lines, cut at line {}",
                line.no
            ));
            return Step::End {
                consumed: false,
                complete: false,
            };
        }
        match self.phase {
            Phase::Interleaved => {
                if is_backtrace_line(t) || (t.is_empty() && self.interleaved_frames == 0) {
                    if parse_frame(t, 0, FrameContext::Strict).is_some() {
                        self.interleaved_frames += 1;
                    }
                    return Step::Continue;
                }
                self.phase = Phase::Body;
                self.feed_body(line, t)
            }
            Phase::Backtrace => {
                if std::mem::take(&mut self.separator) {
                    if parse_frame(t, 0, FrameContext::Strict).is_none() {
                        return Step::End {
                            consumed: false,
                            complete: !self.interrupted,
                        };
                    }
                } else if let Some(no) = self.aside.take() {
                    // A frame right after the line set aside: the stack goes on, the line was
                    // another message printed into it. Anything else: the stack ended there.
                    if parse_frame(t, 0, FrameContext::Strict).is_some() {
                        self.reasons.push(format!(
                            "line {no}, inside the stack, is not a frame (another message, or a \
                             frame in a form not read); the stack goes on after it"
                        ));
                    } else {
                        return Step::End {
                            consumed: false,
                            complete: !self.interrupted,
                        };
                    }
                }
                if t.is_empty() {
                    if self.frames == 0 && (1..MIN_BARE_FRAMES).contains(&self.bare_frames) {
                        // A word and a blank line (`Thanks`): prose, not a stack.
                        self.reasons
                            .push(format!("stack trace missing (line {} ends it)", line.no));
                        return Step::End {
                            consumed: false,
                            complete: false,
                        };
                    }
                    if self.frames > 0 || self.bare_frames >= MIN_BARE_FRAMES {
                        return Step::End {
                            consumed: false,
                            complete: !self.interrupted,
                        };
                    }
                    self.lines.push(line.clone());
                    return Step::Continue;
                }
                if END_TRACE.is_match(t) {
                    self.lines.push(line.clone());
                    return Step::End {
                        consumed: true,
                        complete: !self.interrupted,
                    };
                }
                let wrapped_hardware_name = self.frames == 0
                    && self
                        .lines
                        .last()
                        .is_some_and(|l| l.text.trim_start().starts_with("Hardware name:"));
                if is_backtrace_line(t)
                    || self.interrupted && t.starts_with("KASAN:")
                    || wrapped_hardware_name
                {
                    if parse_frame(t, 0, FrameContext::Strict).is_some() {
                        self.frames += 1;
                    } else if !DUMP_LINE.is_match(t)
                        && parse_frame(t, 0, FrameContext::Trace).is_some()
                    {
                        self.bare_frames += 1;
                    }
                    self.lines.push(line.clone());
                    return Step::Continue;
                }
                if t == "(unreliable)"
                    && let Some(last) = self.lines.last_mut()
                    && parse_frame(last.text.trim(), 0, FrameContext::Strict).is_some()
                {
                    // powerpc's mark of its first frame, wrapped onto a line of its own.
                    last.text.push_str(" (unreliable)");
                    return Step::Continue;
                }
                if self.frames > 0 && t.len() >= 8 && t.bytes().all(|b| b == b'=') {
                    // 2.6-era i386 printed a rule between the irq stack and the stack it
                    // interrupted: the stack goes on if a frame follows.
                    self.separator = true;
                    return Step::Continue;
                }
                if self.frames > 0 && !FOREIGN_OOPS.is_match(t) && !END_OF_STACK_HINT.is_match(t) {
                    self.aside = Some(line.no);
                    return Step::Continue;
                }
                if FOREIGN_OOPS.is_match(t) && self.frames == 0 {
                    self.reasons
                        .push(format!("interrupted by another report at line {}", line.no));
                } else if self.frames == 0 && self.bare_frames < MIN_BARE_FRAMES {
                    self.reasons
                        .push(format!("stack trace missing (line {} ends it)", line.no));
                }
                Step::End {
                    consumed: false,
                    complete: (self.frames > 0 || self.bare_frames >= MIN_BARE_FRAMES)
                        && !self.interrupted,
                }
            }
            Phase::Body => self.feed_body(line, t),
        }
    }

    /// Whether the last frame read is where a task's stack starts (`ret_from_fork`, a
    /// syscall's entry, a secondary CPU's start): nothing of the stack is left after it.
    fn at_stack_bottom(&self) -> bool {
        let Some(frame) = self
            .lines
            .iter()
            .rev()
            .map(|l| l.text.trim())
            .find(|t| !t.is_empty())
            .and_then(|t| parse_frame(t, 0, FrameContext::Strict))
        else {
            return false;
        };
        let f = frame.function.as_deref().unwrap_or("");
        STACK_BOTTOMS.contains(&f)
    }

    /// Whether this is a `BUG: key … has not been registered!` report (whose own WARN follows).
    fn is_key_bug(&self) -> bool {
        self.spec.kind == Kind::LockdepInternalWarning
            && self
                .lines
                .first()
                .is_some_and(|l| l.text.contains("has not been registered"))
    }

    /// Whether this report can be followed by a `WARNING:` line (or another lockdep warning)
    /// of its own: a `DEBUG_LOCKS_WARN_ON(…)` (a `WARN()`, whose `WARNING:` line comes before
    /// or after its message), a `WARNING: … lockdep.c` (its message follows), a key BUG (its
    /// own `DEBUG_LOCKS_WARN_ON(1)`). A capacity BUG, a non-static key or an invalid subclass
    /// prints its message and a `dump_stack()`: a WARNING after it is another report.
    fn takes_a_warning(&self) -> bool {
        self.spec.kind == Kind::LockdepInternalWarning
            && (self.is_key_bug()
                || self.lines.first().is_some_and(|l| {
                    let t = l.text.trim_start();
                    t.starts_with("DEBUG_LOCKS_WARN_ON(") || t.starts_with("WARNING:")
                }))
    }

    /// Ends the report at `line`, another report's first line (`t`, trimmed), not taken.
    fn interrupted_by_report(&mut self, line: &Line, t: &str) -> Step {
        self.reasons.push(format!(
            "interrupted by another report at line {}: {}",
            line.no,
            shorten(t)
        ));
        Step::End {
            consumed: false,
            complete: false,
        }
    }

    fn feed_body(&mut self, line: &Line, t: &str) -> Step {
        // After `BUG: key … has not been registered!` and a `cut here` taken as its own WARN's,
        // a WARNING from outside lockdep with no `DEBUG_LOCKS_WARN_ON` before it is another
        // report's.
        if self.is_key_bug()
            && !self.saw_warning_line
            && t.starts_with("WARNING:")
            && !t.contains("kernel/locking/")
            && !self
                .lines
                .iter()
                .any(|l| l.text.trim_start().starts_with("DEBUG_LOCKS_WARN_ON"))
        {
            return self.interrupted_by_report(line, t);
        }
        if self.takes_a_warning() && !self.saw_warning_line && t.starts_with("WARNING:") {
            self.saw_warning_line = true;
            self.warning_line = Some(t.to_string());
            self.lines.push(line.clone());
            return Step::Continue;
        }
        if self
            .warning_line
            .as_deref()
            .is_some_and(|w| crate::title::repeats_warning(w, t))
        {
            self.lines.push(line.clone());
            return Step::Continue;
        }
        if PANIC_ON_WARN.is_match(t) {
            self.lines.push(line.clone());
            return Step::Continue;
        }
        // `BUG: key … has not been registered!` is followed by its own `DEBUG_LOCKS_WARN_ON(1)`,
        // a `WARN()` that prints `cut here` first: one event, one report.
        if self.is_key_bug() && self.lines.len() == 1 && t.starts_with('-') && RULE.is_match(t) {
            self.lines.push(line.clone());
            return Step::Continue;
        }
        if CRASH.is_match(t) && self.spec.has_backtrace && self.frames == 0 {
            // The task crashed inside lockdep: the crash's registers and stack are the
            // rest of what we will ever see of this report.
            self.reasons.push(format!(
                "interrupted by a crash at line {}: {}",
                line.no,
                shorten(t)
            ));
            self.interrupted = true;
            self.phase = Phase::Backtrace;
            self.lines.push(line.clone());
            return Step::Continue;
        }
        if FOREIGN_OOPS.is_match(t) {
            return self.interrupted_by_report(line, t);
        }
        if SECOND_REPORT_HINT.is_match(t) {
            self.reasons.push(format!(
                "unrelated message mixed into the report at line {}: {}",
                line.no,
                shorten(t)
            ));
            return Step::Continue;
        }
        // A report without a stack ends with its held locks, whatever follows them (a mail's
        // signature or a markdown fence included).
        if !self.spec.has_backtrace && self.held_seen && !t.is_empty() && !HELD_ENTRY.is_match(t) {
            return Step::End {
                consumed: false,
                complete: true,
            };
        }
        // A signature's separator is `-- ` (RFC 3676), after a blank line when its space was
        // lost; a bare `--` after text is a rule line's wrapped end (`----…` cut by a mailer).
        let signature = line.text.trim_start() == "-- "
            || t == "--" && self.lines.last().is_none_or(|l| l.text.trim().is_empty());
        if signature || t.starts_with("Content-Type:") {
            // A mail's signature or its next attachment: a report pasted without its stack
            // ends here, not at whatever kernel log the next attachment holds.
            self.reasons.push(format!(
                "the mail goes on to its signature or another part at line {} before the \
                 report ends",
                line.no
            ));
            return Step::End {
                consumed: false,
                complete: false,
            };
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            // A markdown code block (a GitHub issue's paste) closed before the report's end:
            // what follows is the poster's prose, not more of the report.
            self.reasons.push(format!(
                "the pasted block ends at line {} (a markdown fence) before the report does",
                line.no
            ));
            return Step::End {
                consumed: false,
                complete: false,
            };
        }
        if HELD_HDR.is_match(t) {
            self.held_seen = true;
        }
        if t == "stack backtrace:" {
            self.phase = Phase::Backtrace;
        } else if (self.spec.kind == Kind::SleepingInAtomic
            || self.spec.kind == Kind::LockdepInternalWarning
                && self.lines.first().is_some_and(|l| l.text.contains("BUG: warning at ")))
            && parse_frame(t, 0, FrameContext::Strict).is_some()
            // The site under `Preemption disabled at:` is one frame, not the stack.
            && self
                .lines
                .last()
                .is_none_or(|l| l.text.trim() != "Preemption disabled at:")
        {
            // 2.6 printed the stack right after its `in_atomic()` line (and its early
            // `BUG: warning at` after that line), with no header.
            self.phase = Phase::Backtrace;
            self.frames += 1;
        } else if CPU_LINE.is_match(t) {
            let header_seen = self
                .lines
                .iter()
                .any(|l| l.text.trim() == "stack backtrace:");
            if self.spec.stack_header && !header_seen {
                self.phase = Phase::Interleaved;
                self.interleaved_frames = 0;
                self.reasons.push(format!(
                    "another stack dump interleaved at line {} (set aside)",
                    line.no
                ));
                return Step::Continue;
            }
            self.phase = Phase::Backtrace;
        } else if CALL_TRACE.is_match(t) {
            self.phase = Phase::Backtrace;
        }
        self.lines.push(line.clone());
        if !self.spec.has_backtrace && self.held_seen && line.unterminated {
            return Step::End {
                consumed: true,
                complete: true,
            };
        }
        Step::Continue
    }
}

/// The title and corruption syzkaller would give, in place of the structural title.
/// Reports of lockdep's Rust library keep theirs: syzkaller knows no Rust locations.
fn apply_title(r: &mut Report, region: &Region) {
    if r.kernel.as_ref().is_some_and(|k| k.release == "lockdep") {
        return;
    }
    // 2.6.34 to 3.0's `[ INFO: suspicious rcu_dereference_check() usage. ]` predates syzkaller,
    // which has no pattern for it (its title would be the banner line): the report's own.
    if r.banner.contains("rcu_dereference_check() usage") {
        return;
    }
    let t = region.describe();
    r.title = t.title;
    r.corrupted = t.corrupted;
}

fn shorten(t: &str) -> String {
    if t.chars().count() > 80 {
        let s: String = t.chars().take(77).collect();
        format!("{s}...")
    } else {
        t.to_string()
    }
}

fn is_backtrace_line(t: &str) -> bool {
    DUMP_LINE.is_match(t)
        || parse_frame(t, 0, FrameContext::Trace).is_some()
        || parse_source_note(t).is_some()
        || t.starts_with("(inlined by)")
}

/// Streaming scanner over normalised lines of one input.
pub struct Scanner {
    source: String,
    open: Vec<(Option<String>, Collector)>,
    last_ctx: Option<String>,
    last_rule: Vec<(Option<String>, usize)>,
    finished: Vec<Report>,
    /// Reports that ended while syzkaller would still read text for their title.
    titling: Vec<(Report, Region)>,
    ready: VecDeque<Report>,
    last_line_unterminated: bool,
    /// The line of the last circular-dependency banner per caller: a headless report's line
    /// soon after one belongs to it (its collector may have ended early), not to a new report.
    last_circular: Vec<(Option<String>, usize, bool)>,
    /// The last [`HEAD_LINES`] lines, kept (with their caller) only if a circular report's
    /// head may hold them (`… is trying to acquire lock:`, a lock line, `but task is already
    /// holding lock:`, a blank): a report quoted from its middle starts there, not at its chain.
    recent: VecDeque<Option<(Option<String>, Line)>>,
    /// The line just read, per caller, if it was a `WARNING: CPU: … at …` line outside any
    /// report: where `WARN()` prints its message after it (arm32's `warn_slowpath_fmt`), a
    /// `DEBUG_LOCKS_WARN_ON(…)` on the next line belongs to it.
    last_warning: Option<(Option<String>, Line)>,
}

/// Functions where a task's or a CPU's stack starts: the last frame a stack prints (or the last
/// before an entry trampoline).
const STACK_BOTTOMS: &[&str] = &[
    "ret_from_fork",
    "ret_from_fork_asm",
    "__ret_from_fork",
    "ret_from_kernel_thread",
    "kernel_thread_helper",
    "entry_SYSCALL_64_after_hwframe",
    "entry_SYSENTER_compat_after_hwframe",
    "entry_INT80_compat",
    "el0t_64_sync",
    "el0t_32_sync",
    "start_secondary_prolog",
    "secondary_startup_64",
    "secondary_startup_64_no_verify",
    // (Followed by `secondary_startup_64*` on x86 since 5.x, as `ret_from_fork` by
    // `ret_from_fork_asm` since 6.4: entry trampolines, nothing a reader needs.)
    "x86_64_start_kernel",
    "start_kernel",
    "system_call_vectored_common",
    "system_call_common",
];

/// How many lines of a reply inside a quoted report are read past, waiting for the report
/// to go on at its quote depth.
const REPLY_LINES_MAX: usize = 40;

/// A line a report goes on with after a reply inside its quote: one of its fixed lines, a lock,
/// a held lock, a frame, a dump line or the scenario.
fn continues_a_report(t: &str) -> bool {
    static REPORT_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?:\*\*\* DEADLOCK \*\*\*|CPU\d+$|-{4,}$|={4,}$|r?lock\(|<Interrupt>$|local_irq_disable\(\);",
            r"|rcu_scheduler_active|-> #\d+|Chain exists of:|irq event stamp:|(?:hard|soft)irqs last",
            r"|\{.*\} state was registered at:|stack backtrace:|.* is trying to (?:acquire|release) lock",
            r"|other info that might help|Possible (?:interrupt )?unsafe locking scenario",
            r"|May be due to missing lock nesting|which lock already depends|but task is already holding",
            r"|the existing dependency chain|the dependencies between|\S+/\d+ is exiting)"
        ))
        .unwrap()
    });
    REPORT_LINE.is_match(t)
        || is_lock_line(t)
        || HELD_ENTRY.is_match(t)
        || HELD_HDR.is_match(t)
        || is_backtrace_line(t)
}

/// How many bare function names make a stack (one could be a word of prose: `Thanks`).
const MIN_BARE_FRAMES: usize = 2;

/// How far after a circular-dependency banner its chain line may come.
const HEADLESS_AFTER_BANNER: usize = 200;

/// How many lines of a reply (text at a shallower quote depth, in a row) end a quoted report;
/// fewer are a comment between its lines.
const SHALLOW_LINES_END_A_QUOTE: usize = 3;

/// How many input lines before a headless report's chain its head may start (the pre-filter
/// feeds at least this many lines before a hit, so what is kept does not depend on it).
pub(crate) const HEAD_LINES: usize = 16;

/// Whether a line can stand between a circular report's banner block and its chain: a blank,
/// its fixed sentences, or a lock line (a name in parentheses and its usage bits, `){`). A
/// plain test, not a regex: it runs on every line no report reads.
fn is_head_line(t: &str) -> bool {
    t.is_empty()
        || t.ends_with(" is trying to acquire lock:")
        || t == "but task is already holding lock:"
        || t == "which lock already depends on the new lock."
        || is_lock_line(t)
}

/// Whether a line looks like one lock of a report: a name in parentheses and its usage bits
/// (`){`). A plain test, not a regex.
pub(crate) fn is_lock_line(t: &str) -> bool {
    t.contains("){") && t.contains('(')
}
impl Scanner {
    /// A scanner for the input named `source`.
    pub fn new(source: &str) -> Scanner {
        Scanner {
            source: source.to_string(),
            open: Vec::new(),
            last_ctx: None,
            last_rule: Vec::new(),
            finished: Vec::new(),
            titling: Vec::new(),
            ready: VecDeque::new(),
            last_line_unterminated: false,
            last_circular: Vec::new(),
            recent: VecDeque::with_capacity(HEAD_LINES + 1),
            last_warning: None,
        }
    }

    /// Remembers `line` for [`Scanner::head_before`].
    fn remember(&mut self, ctx: &Option<String>, line: &Line) {
        if self.recent.len() == HEAD_LINES {
            self.recent.pop_front();
        }
        let t = line.text.trim();
        let kept = (t.len() < 512 && is_head_line(t)).then(|| (ctx.clone(), line.clone()));
        self.recent.push_back(kept);
    }

    /// The head of a circular report whose chain line (of caller `ctx`) comes next: the
    /// lines from its `… is trying to acquire lock:` on, if they are all here.
    fn head_before(&self, ctx: &Option<String>, chain_line: usize) -> Vec<Line> {
        let mut head = Vec::new();
        for kept in self.recent.iter().rev() {
            let Some((c, line)) = kept else {
                break;
            };
            // Only lines this close: the pre-filter feeds them whatever it skipped before.
            if line.no + HEAD_LINES <= chain_line {
                break;
            }
            if c != ctx {
                continue;
            }
            head.push(line.clone());
            if line.text.trim_end().ends_with("is trying to acquire lock:") {
                head.reverse();
                return head;
            }
        }
        // Quoted from the lock it acquires (the task's line left out): the head starts at the
        // lock line just before `but task is already holding lock:`.
        head.reverse();
        let Some(holding) = head
            .iter()
            .position(|l| l.text.trim() == "but task is already holding lock:")
        else {
            return Vec::new();
        };
        match head[..holding]
            .iter()
            .rposition(|l| is_lock_line(l.text.trim()))
        {
            Some(acquired) => head.split_off(acquired),
            None => Vec::new(),
        }
    }

    /// No report is open or waiting: lines without a banner change nothing but the
    /// caller-id and rule-line memory.
    pub(crate) fn is_idle(&self) -> bool {
        self.open.is_empty()
            && self.finished.is_empty()
            && self.ready.is_empty()
            && self.titling.is_empty()
    }

    /// Whether a line of caller `ctx` (its own, or inherited) would be fed to an open
    /// report.
    pub(crate) fn is_open_for(&self, ctx: &[u8]) -> bool {
        // The title region of a report printed without caller ids reads every caller's lines
        // (syzkaller ends such a report's text at any caller's `BUG:`).
        !self.titling.is_empty()
            || self.open.iter().any(|(c, col)| {
                c.as_deref().map(str::as_bytes) == Some(ctx)
                    || col.region.as_ref().is_some_and(Region::reads_every_caller)
            })
    }

    /// Some report is open (or still reading text for its title).
    pub(crate) fn has_open(&self) -> bool {
        !self.open.is_empty() || !self.titling.is_empty()
    }

    /// Set the caller id that lines without one belong to (the last one printed), for
    /// lines the pre-filter skipped.
    pub(crate) fn set_last_ctx(&mut self, ctx: String) {
        self.last_ctx = Some(ctx);
    }

    /// Feed the next normalised line.
    pub fn push(&mut self, line: Line) {
        self.last_line_unterminated = line.unterminated;
        // Lines without a caller id (addr2line output, journal lines) belong to the
        // caller that printed last.
        let ctx = if line.ctx.is_some() {
            self.last_ctx = line.ctx.clone();
            line.ctx.clone()
        } else {
            self.last_ctx.clone()
        };
        let context = Context::of(line.ctx.as_deref(), line.console_prefix);
        self.feed_regions(&line, &context, &ctx);
        let mut line = line;
        let banner = locate_banner(&line.text).map(|(spec, at)| {
            if at > 0 && !line.text[..at].trim().is_empty() {
                // Text printed before the banner on the same line is not part of it.
                line.text = line.text[at..].to_string();
            }
            spec
        });
        let idx = self.open.iter().position(|(c, _)| *c == ctx);
        let banner = banner.filter(|spec| {
            !spec.headless
                || idx.is_none()
                    && !self.last_circular.iter().any(|(c, n, complete)| {
                        // After a whole report, a chain quoted with its head (the acquired
                        // lock, `but task is already holding lock:`) is another report; one
                        // without (a reply quoting part of the chain) is not.
                        *c == ctx
                            && n + HEADLESS_AFTER_BANNER >= line.no
                            && (!*complete || self.head_before(&ctx, line.no).is_empty())
                    })
        });
        if let Some(spec) = banner {
            if spec.kind == Kind::CircularDependency && !spec.headless {
                self.last_circular.retain(|(c, _, _)| *c != ctx);
                self.last_circular.push((ctx.clone(), line.no, false));
            }
            if let Some(i) = idx {
                let absorb = {
                    let col = &self.open[i].1;
                    col.takes_a_warning()
                        && spec.kind == Kind::LockdepInternalWarning
                        && col.phase == Phase::Body
                };
                if absorb {
                    let col = &mut self.open[i].1;
                    if let Step::End { consumed, complete } = col.feed(&line) {
                        self.close(i, complete, consumed);
                    }
                    return;
                }
                let (_, mut col) = self.open.remove(i);
                let complete = col.is_complete();
                if complete {
                    self.ended_whole(&ctx, &col);
                }
                if !complete {
                    col.reasons
                        .push(format!("interrupted by another report at line {}", line.no));
                }
                self.finish_collector(col, complete);
            }
            let start = self
                .last_rule
                .iter()
                .find(|(c, _)| *c == ctx)
                .map(|(_, n)| *n)
                .filter(|n| *n + 3 >= line.no)
                .unwrap_or(line.no);
            let mut region = Region::open(&line.text, context.clone());
            // `WARNING: CPU: … at …` just before, the message after it: the report (and
            // syzkaller's, whose title it decides) starts at the WARNING line.
            let warning = self
                .last_warning
                .take()
                .filter(|(c, w)| {
                    *c == ctx
                        && w.no + 1 == line.no
                        && region.is_none()
                        && spec.kind == Kind::LockdepInternalWarning
                })
                .map(|(_, w)| w);
            if let Some(w) = &warning {
                region = Region::open(w.text.trim(), context).map(|mut r| {
                    r.push(
                        &line.text,
                        &Context::of(line.ctx.as_deref(), line.console_prefix),
                    );
                    r
                });
            }
            let head = if spec.headless {
                self.head_before(&ctx, line.no)
            } else {
                Vec::new()
            };
            let headless_at = spec.headless.then_some(line.no);
            let mut col = match head.split_first() {
                Some((first, rest)) => {
                    let mut col = Collector::new(spec, first.no, first.clone());
                    for l in rest {
                        col.lines.push(l.clone());
                    }
                    col.lines.push(line);
                    col
                }
                None => Collector::new(spec, start, line),
            };
            if let Some(w) = warning {
                col.start = w.no;
                col.saw_warning_line = true;
                col.warning_line = Some(w.text.trim().to_string());
            }
            col.region = region;
            if let Some(no) = headless_at {
                col.reasons.push(match head.first() {
                    Some(first) => format!(
                        "no banner: the report starts at the lock it acquires (line {})",
                        first.no
                    ),
                    None => {
                        format!("no banner: the report starts at its dependency chain (line {no})")
                    }
                });
            }
            self.recent.clear();
            self.open.push((ctx.clone(), col));
            self.set_rule(&ctx, None);
            return;
        }
        if idx.is_none() {
            self.remember(&ctx, &line);
            // Only a WARNING in the lock code: x86 prints the message *before* its own
            // WARNING line, so one just above may be another CPU's.
            if line.text.contains(" kernel/locking/") && WARNING_AT.is_match(line.text.trim()) {
                self.last_warning = Some((ctx.clone(), line.clone()));
            }
        } else if !self.recent.is_empty() {
            self.recent.clear();
        }
        if RULE.is_match(line.text.trim()) {
            self.set_rule(&ctx, Some(line.no));
        } else if !line.text.trim().is_empty() {
            self.set_rule(&ctx, None);
        }
        if let Some(i) = idx {
            let col = &mut self.open[i].1;
            if let Step::End { consumed, complete } = col.feed(&line) {
                self.close(i, complete, consumed);
                if !consumed {
                    // The line may still matter to another open report of no context.
                }
            }
        }
        self.release_ready();
    }

    /// Give a line to every title region, open one for a report whose banner had no oops
    /// header (`DEBUG_LOCKS_WARN_ON(...)` before its `WARNING:` line), and finish the
    /// titles whose regions closed.
    fn feed_regions(&mut self, line: &Line, context: &Context, ctx: &Option<String>) {
        for (c, col) in &mut self.open {
            match &mut col.region {
                Some(r) => r.push(&line.text, context),
                None if c == ctx && col.phase == Phase::Body && col.lines.len() < 16 => {
                    col.region = Region::open(&line.text, context.clone());
                }
                None => {}
            }
        }
        let mut i = 0;
        while i < self.titling.len() {
            self.titling[i].1.push(&line.text, context);
            if self.titling[i].1.is_open() {
                i += 1;
            } else {
                let (mut r, region) = self.titling.remove(i);
                apply_title(&mut r, &region);
                self.finished.push(r);
            }
        }
    }

    fn set_rule(&mut self, ctx: &Option<String>, n: Option<usize>) {
        self.last_rule.retain(|(c, _)| c != ctx);
        if let Some(n) = n {
            self.last_rule.push((ctx.clone(), n));
        }
    }

    fn close(&mut self, i: usize, complete: bool, _consumed: bool) {
        let (ctx, col) = self.open.remove(i);
        if complete {
            self.ended_whole(&ctx, &col);
        }
        self.finish_collector(col, complete);
        self.release_ready();
    }

    /// Records that the report of `col` ended whole: for a circular one, a chain after it with
    /// a head of its own is another report. (Its own banner's entry only: a banner read since
    /// may have put another report's in.)
    fn ended_whole(&mut self, ctx: &Option<String>, col: &Collector) {
        if col.spec.kind != Kind::CircularDependency || col.spec.headless {
            return;
        }
        for entry in self.last_circular.iter_mut() {
            if entry.0 == *ctx && col.lines.iter().any(|l| l.no == entry.1) {
                entry.2 = true;
            }
        }
    }

    fn finish_collector(&mut self, mut col: Collector, complete: bool) {
        let region = col.region.take();
        let ending = Ending {
            complete,
            reasons: std::mem::take(&mut col.reasons),
        };
        let (spec, start) = (col.spec, col.start);
        let lines = col.into_lines();
        let mut report = extract::build(&self.source, spec, start, &lines, ending);
        match region {
            Some(mut region) if region.is_open() && region.describe().corrupted.is_some() => {
                // The title may still come from text after the report (syzkaller reads on):
                // hold the report back for a bounded tail. A settled title goes out now.
                region.report_ended();
                self.titling.push((report, region));
            }
            Some(region) => {
                apply_title(&mut report, &region);
                self.finished.push(report);
            }
            None => self.finished.push(report),
        }
    }

    fn release_ready(&mut self) {
        let min_open = self
            .open
            .iter()
            .map(|(_, c)| c.start)
            .chain(self.titling.iter().map(|(r, _)| r.line))
            .min();
        self.finished.sort_by_key(|r| r.line);
        while let Some(r) = self.finished.first() {
            if min_open.is_some_and(|m| m < r.line) {
                break;
            }
            self.ready.push_back(self.finished.remove(0));
        }
    }

    /// The input failed before its end: close every open report as cut off, saying why.
    pub fn finish_interrupted(&mut self, why: &str) {
        for (_, col) in &mut self.open {
            col.reasons.push(why.to_string());
            col.interrupted = true;
        }
        self.finish();
    }

    /// End of input: close every open report.
    pub fn finish(&mut self) {
        while let Some((_, mut col)) = self.open.pop() {
            if col.after_reply() {
                // The input ended in a reply after the quoted report.
                if let Step::End { complete, .. } = col.quote_ended() {
                    self.finish_collector(col, complete && !self.last_line_unterminated);
                }
                continue;
            }
            let complete = col.is_complete();
            if !complete && !col.interrupted {
                col.reasons.push("input ends before the report does".into());
            } else if self.last_line_unterminated
                && col.lines.last().is_some_and(|l| l.unterminated)
            {
                col.reasons
                    .push("input ends in the middle of a line".into());
            }
            let complete = complete && !self.last_line_unterminated;
            self.finish_collector(col, complete);
        }
        for (mut r, region) in std::mem::take(&mut self.titling) {
            apply_title(&mut r, &region);
            self.finished.push(r);
        }
        self.release_ready();
    }

    /// The next finished report, in input order.
    pub fn pop(&mut self) -> Option<Report> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_printed_inside_a_stack_does_not_end_it() {
        let head = concat!(
            "WARNING: bad unlock balance detected!\n",
            "6.1.0 #1 Not tainted\n",
            "-------------------------------------\n",
            "t/1 is trying to release lock (&a) at:\n",
            "[<ffff0000>] f+0x1/0x2\n",
            "but there are no more locks to release!\n",
            "\n",
            "other info that might help us debug this:\n",
            "no locks held by t/1.\n",
            "\n",
            "stack backtrace:\n",
            "Call Trace:\n",
            " dump_stack+0x1/0x2\n",
            " f+0x1/0x2\n",
        );
        let frames = |text: &str| {
            let v = crate::splat::parse_str("t", text);
            assert_eq!(v.len(), 1, "{v:#?}");
            v[0].backtrace.len()
        };
        // Another message between two frames: the stack goes on.
        let inside = format!(
            "{head}ata_id (348) used greatest stack depth: 11952 bytes left\n g+0x1/0x2\n h+0x1/0x2\n"
        );
        assert_eq!(frames(&inside), 4);
        // After the stack: two messages, or a message and another task's stack header.
        let after = format!("{head}ata_id (348) used greatest stack depth\nanother message\n");
        assert_eq!(frames(&after), 2);
        let hung = format!(
            "{head}INFO: task x:1 blocked for more than 120 seconds.\nCall Trace:\n g+0x1/0x2\n"
        );
        assert_eq!(frames(&hung), 2);
    }

    #[test]
    fn a_mail_signature_ends_a_report_pasted_without_its_stack() {
        // A 2.6.17 report quoted in a mail without its stack, then the signature and an
        // attachment with a boot log: the report ends at the signature.
        let mail = concat!(
            "=========================\n",
            "[ BUG: held lock freed! ]\n",
            "-------------------------\n",
            "init/1 is freeing memory dbab7750-dbab77e3, with a lock still held there!\n",
            "1 lock held by init/1:\n",
            " #0:  (&type->s_umount_key#13){--..}, at: [<c0167961>] sget+0x1b1/0x350\n",
            "\n",
            "-- \n",
            "Ralf\n",
            "\n",
            "--y0ulUmNC+osPPQO6\n",
            "Content-Type: text/plain; charset=us-ascii\n",
            "\n",
            "ACPI: IRQ0 used by override.\n",
            "TCP reno registered\n",
        );
        let v = crate::splat::parse_str("t", mail);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].end_line, 7, "{v:#?}");
        assert!(v[0].truncated);
        assert_eq!(v[0].held_locks.as_ref().unwrap().entries.len(), 1);
    }

    #[test]
    fn a_markdown_fence_ends_a_report_pasted_without_its_stack() {
        // A GitHub issue pasting a report's head in a code block, then prose (round 8).
        let text = concat!(
            "```\n",
            "=============================\n",
            "[ BUG: Invalid wait context ]\n",
            "6.17.0 #7 Not tainted\n",
            "-----------------------------\n",
            "irq/16/56 is trying to lock:\n",
            "ffff800082865238 (inject_lock){+.+.}-{3:3}, at: aer_inj_read_config+0x38/0x1dc\n",
            "```\n",
            "The lock is taken under pci_lock, which is a raw spinlock.\n",
            "So we switch it to raw_spinlock_t.\n",
        );
        let v = crate::splat::parse_str("t", text);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].end_line, 7, "{v:#?}");
        assert!(v[0].truncated);
        assert!(
            v[0].damage
                .as_deref()
                .unwrap_or("")
                .contains("markdown fence"),
            "{v:#?}"
        );
    }

    #[test]
    fn a_reply_between_the_lines_of_a_quoted_stack_does_not_end_it() {
        // A reviewer's comment at one quote depth inside a report quoted at two (2.6.17).
        let mail = concat!(
            ">> BUG: sleeping function called from invalid context at x.c:1\n",
            ">> in_atomic():1, irqs_disabled():0\n",
            ">> Call Trace:\n",
            ">>   [<ffffffff8024b4fa>] lock_acquire+0x8a/0xc0\n",
            ">>   [<ffffffff80408c25>] skb_queue_tail+0x25/0x60\n",
            "> \n",
            "> ok so skb_queue_lock is used in a hardirq context\n",
            "> \n",
            ">>   [<ffffffff881c9517>] queue_packet_complete+0x27/0x40 [ieee1394]\n",
            ">>   [<ffffffff881c9d6b>] hpsb_packet_sent+0xab/0x100 [ieee1394]\n",
            "\n",
            "Thanks.\n",
        );
        let v = crate::splat::parse_str("t", mail);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].backtrace.len(), 4, "{v:#?}");
    }

    #[test]
    fn a_reply_after_a_quoted_report_ends_it() {
        // A report quoted at depth 1 that ends on a frame, a reply at depth 0, then a later
        // mail quoting another stack: the reply ends the report (review, December 7).
        let text = concat!(
            "> BUG: sleeping function called from invalid context at x.c:1\n",
            "> in_atomic():1, irqs_disabled():0\n",
            "> Call Trace:\n",
            ">   [<ffffffff8024b4fa>] lock_acquire+0x8a/0xc0\n",
            ">   [<ffffffff80408c25>] skb_queue_tail+0x25/0x60\n",
            "\n",
            "Thanks, I will look at it.\n",
            "\n",
            "From: someone\n",
            "Subject: unrelated oops\n",
            "\n",
            "> Call Trace:\n",
            ">   [<ffffffff81111111>] other_function+0x8a/0xc0\n",
            ">   [<ffffffff82222222>] yet_another+0x25/0x60\n",
            "\n",
            "bye\n",
        );
        let v = crate::splat::parse_str("t", text);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].backtrace.len(), 2, "{v:#?}");
        assert_eq!(v[0].end_line, 5);
        // The stack may go on past what the poster quoted: said, not silent (round 8).
        let damage = v[0].damage.as_deref().unwrap_or("");
        assert!(
            damage.contains("the quote ends inside the stack (a reply from line 7)"),
            "{damage}"
        );
    }

    #[test]
    fn a_posters_elision_inside_a_stack_keeps_the_stack() {
        // A report quoted five deep whose poster elided the first frames with `:` (6.18).
        let report = concat!(
            "WARNING: possible circular locking dependency detected\n",
            "6.18.0 #1 Not tainted\n",
            "------------------------------------------------------\n",
            "t/1 is trying to acquire lock:\n",
            "ffff888112ba4958 ((wq_completion)sync_wq){+.+.}-{0:0}, at: touch_wq_lockdep_map+0x7a/0x180\n",
            "\n",
            "but task is already holding lock:\n",
            "ffffffffae47f450 (cpuset_mutex){+.+.}-{4:4}, at: cpuset_partition_write+0x85/0x130\n",
            "\n",
            "stack backtrace:\n",
            "Call Trace:\n",
            " <TASK>\n",
            "   :\n",
            " touch_wq_lockdep_map+0x93/0x180\n",
            " __flush_workqueue+0x111/0x10b0\n",
            " housekeeping_update+0x12d/0x2d0\n",
        );
        let v = crate::splat::parse_str("t", report);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].backtrace.len(), 3, "{v:#?}");
    }

    #[test]
    fn a_bare_double_dash_after_text_is_a_wrapped_rule_not_a_signature() {
        // A mailer cut the `----` rule under the scenario's CPU columns (held out, round 19);
        // `-- ` after a blank line is the signature, which ends the report.
        let report = |cut: &str| {
            format!(
                "WARNING: possible recursive locking detected\n6.1.0 #1 Not tainted\n\
                 --------------------------------------------\n\
                 t/1 is trying to acquire lock:\n\
                 ffff0001 (&a){{+.+.}}-{{3:3}}, at: f+0x1/0x2\n\n\
                 but task is already holding lock:\n\
                 ffff0002 (&a){{+.+.}}-{{3:3}}, at: g+0x1/0x2\n\n\
                 other info that might help us debug this:\n Possible unsafe locking scenario:\n\n\
                 \x20      CPU0\n       ----------------------------------\n{cut}\
                 \x20 lock(&a);\n  lock(&a);\n\n *** DEADLOCK ***\n\n\
                 1 lock held by t/1:\n #0: ffff0002 (&a){{+.+.}}-{{3:3}}, at: g+0x1/0x2\n\n\
                 stack backtrace:\nCall Trace:\n f+0x1/0x2\n h+0x1/0x2\n"
            )
        };
        let v = crate::splat::parse_str("t", &report("--\n"));
        assert_eq!(v[0].backtrace.len(), 2, "{v:#?}");
        let v = crate::splat::parse_str("t", &report("\n-- \nsig\n"));
        assert!(v[0].backtrace.is_empty() && v[0].truncated, "{v:#?}");
    }

    #[test]
    fn a_report_quoted_from_its_acquiring_lock_starts_there() {
        // A reply quoting a syzbot report from `… is trying to acquire lock:` (btrfs, 6.15).
        let text = concat!(
            "On Sat, 10 May 2025, syzbot wrote:\n",
            "syz.4.219/7436 is trying to acquire lock:\n",
            "ffff88806ce71918 (&fs_info->qgroup_ioctl_lock){+.+.}-{4:4}, at: btrfs_quota_enable+0x2be/0x1d50\n",
            "\n",
            "but task is already holding lock:\n",
            "ffff88806ce724f8 (btrfs_trans_num_extwriters){++++}-{0:0}, at: join_transaction+0x164/0xd70\n",
            "\n",
            "which lock already depends on the new lock.\n",
            "\n",
            "\n",
            "the existing dependency chain (in reverse order) is:\n",
            "\n",
            "-> #1 (btrfs_trans_num_extwriters){++++}-{0:0}:\n",
            "       lock_acquire+0x120/0x360\n",
            "       join_transaction+0x1a4/0xd70\n",
            "\n",
            "-> #0 (&fs_info->qgroup_ioctl_lock){+.+.}-{4:4}:\n",
            "       lock_acquire+0x120/0x360\n",
            "       btrfs_quota_enable+0x2be/0x1d50\n",
            "\n",
        );
        let v = crate::splat::parse_str("t", text);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].line, 2);
        assert_eq!(v[0].title, "possible deadlock in btrfs_quota_enable");
        let held = v[0].held.as_ref().expect("the holding lock");
        assert_eq!(held.class, "btrfs_trans_num_extwriters");
        // Other text between the head and the chain: the report starts at its chain.
        let apart = text.replace("which lock already", "An aside.\nwhich lock already");
        let v = crate::splat::parse_str("t", &apart);
        assert_eq!(v[0].line, 12, "{v:#?}");
    }

    #[test]
    fn a_circular_report_without_its_banner_is_found_by_its_chain() {
        let chain = concat!(
            "the existing dependency chain (in reverse order) is:\n",
            "\n",
            "-> #1 (&b){+.+.}-{3:3}:\n",
            "       lock_acquire+0x1/0x2\n",
            "       take_b+0x1/0x2\n",
            "\n",
            "-> #0 (&a){+.+.}-{3:3}:\n",
            "       lock_acquire+0x1/0x2\n",
            "       take_a+0x1/0x2\n",
            "\n",
            "other info that might help us debug this:\n",
            "\n",
        );
        let v = crate::splat::parse_str("t", chain);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].kind, Kind::CircularDependency);
        assert!(v[0].truncated);
        assert_eq!(v[0].kernel, None);
        // With its banner, the same chain is part of one report, not a second one.
        let whole = format!(
            "WARNING: possible circular locking dependency detected\n6.1.0 #1 Not tainted\n\
             ------------------------------------------------------\n\
             t/1 is trying to acquire lock:\nffff0000 (&a){{+.+.}}-{{3:3}}, at: take_a+0x1/0x2\n\n\
             but task is already holding lock:\nffff0001 (&b){{+.+.}}-{{3:3}}, at: take_b+0x1/0x2\n\n\
             which lock already depends on the new lock.\n\n{chain}"
        );
        let v = crate::splat::parse_str("t", &whole);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert!(!v[0].banner.starts_with("the existing"));
    }

    #[test]
    fn a_report_quoted_from_the_lock_it_acquires_keeps_that_lock() {
        // Held out (round 9): a GitHub issue quoting a report from its first lock line.
        let fragment = "ffff0009 (text_mutex){+.+.}, at: p_create_database+0x186/0x2f0\n\n\
             but task is already holding lock:\n\
             ffff0008 (module_mutex){+.+.}, at: p_create_database+0x161/0x2f0\n\n\
             which lock already depends on the new lock.\n\n\n\
             the existing dependency chain (in reverse order) is:\n\n\
             -> #1 (module_mutex){+.+.}:\n\
             \x20      __mutex_lock+0x8b/0x830\n\
             \x20      set_all_modules_text_rw+0x1e/0x80\n";
        let v = crate::splat::parse_str("t", fragment);
        assert_eq!(v.len(), 1, "{v:#?}");
        let acquiring = v[0].acquiring.as_ref().map(|l| l.name.as_str());
        assert_eq!(acquiring, Some("text_mutex"));
        assert_eq!(v[0].title, "possible deadlock in p_create_database");
        let mut cycle: Vec<(&str, &str)> = v[0]
            .cycle
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        cycle.sort();
        // The chain's one recorded edge; the new one (holding -> acquiring) closes it.
        assert_eq!(cycle, [("text_mutex", "module_mutex")]);
        let holding = v[0].held.as_ref().map(|l| l.name.as_str());
        assert_eq!(holding, Some("module_mutex"));
        // After a whole circular report, the same fragment is a report of its own (it was
        // taken as the rest of the first).
        let whole = "WARNING: possible circular locking dependency detected\n6.1.0 #1 Not tainted\n\
             ------------------------------------------------------\n\
             t/1 is trying to acquire lock:\nffff0000 (&a){+.+.}-{3:3}, at: take_a+0x1/0x2\n\n\
             but task is already holding lock:\nffff0001 (&b){+.+.}-{3:3}, at: take_b+0x1/0x2\n\n\
             which lock already depends on the new lock.\n\n\
             the existing dependency chain (in reverse order) is:\n\n\
             -> #1 (&b){+.+.}-{3:3}:\n       lock_acquire+0x1/0x2\n       take_b+0x1/0x2\n\n\
             -> #0 (&a){+.+.}-{3:3}:\n       lock_acquire+0x1/0x2\n       take_a+0x1/0x2\n\n\
             other info that might help us debug this:\n\n\
             1 lock held by t/1:\n #0: ffff0001 (&b){+.+.}-{3:3}, at: take_b+0x1/0x2\n\n\
             stack backtrace:\nCPU: 0 PID: 1 Comm: t Not tainted 6.1.0 #1\nCall Trace:\n\
             \x20dump_stack_lvl+0x1/0x2\n take_a+0x1/0x2\n\n\
             ----- another mail -----\n\n";
        let v = crate::splat::parse_str("t", &format!("{whole}{fragment}"));
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_eq!(v[1].title, "possible deadlock in p_create_database");
    }

    #[test]
    fn a_stack_of_bare_names_is_a_stack_not_a_missing_one() {
        // Held out (round 9): a poster's copy with every address and offset stripped.
        let log = "[ BUG: Invalid wait context ]\n5.10.214\n-----------------------------\n\
             swapper/1 is trying to lock:\n(enable_lock){....}-{3:3}, at: clk_enable_lock\n\
             other info that might help us debug this:\ncontext-{5:5}\n\
             1 lock held by swapper/1:\n #0: (&bank->lock){....}-{2:2}, at: omap_gpio_set_config\n\
             stack backtrace:\nCPU: 0 PID: 1 Comm: swapper Not tainted 5.10.214\n\
             unwind_backtrace\nshow_stack\n__lock_acquire\nclk_enable_lock\nclk_enable\n\
             omap_gpio_set_config\n\nThe problem is in clk_enable().\n";
        let v = crate::splat::parse_str("t", log);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert!(!v[0].truncated, "{:?}", v[0].damage);
    }

    #[test]
    fn a_warn_message_printed_after_its_warning_line_belongs_to_it() {
        // arm32's `warn_slowpath_fmt` prints `WARNING: CPU: …` first, then the message; its
        // unwinder prints no `Call Trace:` (held out, round 9).
        let log = |frames: &str| {
            format!(
                "------------[ cut here ]------------\n\
                 WARNING: CPU: 0 PID: 1 at kernel/locking/mutex.c:579 __mutex_lock+0x840/0x9f4\n\
                 DEBUG_LOCKS_WARN_ON(lock->magic != lock)\n\
                 Modules linked in:\n\
                 CPU: 0 PID: 1 Comm: swapper/0 Not tainted 5.18.0-rc1 #55\n\
                 Hardware name: Generic DT based system\n{frames}\
                 ---[ end trace 0000000000000000 ]---\n"
            )
        };
        let x86_frames = " show_stack+0x10/0x14\n __warn+0xc8/0x1e8\n warn_slowpath_fmt+0x78/0xa8\n\
             \x20__mutex_lock+0x840/0x9f4\n mutex_lock_nested+0x1c/0x24\n\
             \x20drm_bridge_hpd_enable+0x2c/0x84\n msm_hdmi_modeset_init+0xc0/0x21c\n";
        let v = crate::splat::parse_str("t", &log(&format!("Call Trace:\n{x86_frames}")));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].line, 2);
        assert_eq!(v[0].title, "WARNING in drm_bridge_hpd_enable");
        let arm_frames = " unwind_backtrace from show_stack+0x10/0x14\n\
             \x20show_stack from dump_stack_lvl+0x58/0x70\n\
             \x20__mutex_lock from mutex_lock_nested+0x1c/0x24\n\
             \x20mutex_lock_nested from drm_bridge_hpd_enable+0x2c/0x84\n";
        let v = crate::splat::parse_str("t", &log(arm_frames));
        assert_eq!(v.len(), 1, "{v:#?}");
        let names: Vec<_> = v[0]
            .backtrace
            .iter()
            .filter_map(|f| f.base_function())
            .collect();
        assert!(names.contains(&"drm_bridge_hpd_enable"), "{names:?}");
    }

    #[test]
    fn banners() {
        let k = |s: &str| detect_banner(s).map(|b| b.kind);
        assert_eq!(
            k("WARNING: possible circular locking dependency detected"),
            Some(Kind::CircularDependency)
        );
        assert_eq!(
            k("[ INFO: possible circular locking dependency detected ]"),
            Some(Kind::CircularDependency)
        );
        assert_eq!(
            k(" WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"),
            Some(Kind::IrqSafeUnsafeOrder)
        );
        assert_eq!(
            k("WARNING: SOFTIRQ-READ-safe -> SOFTIRQ-READ-unsafe lock order detected"),
            Some(Kind::IrqSafeUnsafeOrder)
        );
        assert_eq!(
            k("WARNING: syz/6508 still has locks held!"),
            Some(Kind::LocksHeldAtExit)
        );
        assert_eq!(
            k("[ BUG: Invalid wait context ]"),
            Some(Kind::InvalidWaitContext)
        );
        assert_eq!(
            k("DEBUG_LOCKS_WARN_ON(id >= MAX_LOCKDEP_KEYS)"),
            Some(Kind::LockdepInternalWarning)
        );
        assert_eq!(
            k(
                "WARNING: CPU: 1 PID: 4085 at kernel/locking/lockdep.c:3190 __lock_acquire+0x23b3/0x4b50()"
            ),
            Some(Kind::LockdepInternalWarning)
        );
        assert_eq!(k("INFO: lockdep is turned off."), None);
        assert_eq!(
            k("WARNING: kernel/locking/rwsem.c:1381 at __up_write"),
            None
        );
        assert_eq!(k("plain text"), None);
        assert_eq!(
            locate_banner("syzkaller login: [  16.3] INFO: trying to register non-static key.")
                .map(|(b, at)| (b.kind, at)),
            Some((Kind::LockdepInternalWarning, 26))
        );
        assert_eq!(
            k("[ 1.0] x] WARNING: possible circular locking dependency detected"),
            Some(Kind::CircularDependency)
        );
        // A mail's subject or a tag is not a console prefix (held out: an invented report).
        for subject in [
            "Subject: [2.6.18] INFO: possible recursive locking detected",
            "Subject: Re: [BUG] WARNING: possible circular locking dependency detected",
            "> Re: [syzbot] WARNING: possible circular locking dependency detected",
            "[PATCH] WARNING: possible circular locking dependency detected",
        ] {
            assert_eq!(k(subject), None, "{subject}");
        }
        for console in [
            "[Mon Dec  7 10:00:00 2020] WARNING: possible circular locking dependency detected",
            "[   12.345678][ T1234] WARNING: possible circular locking dependency detected",
        ] {
            assert_eq!(k(console), Some(Kind::CircularDependency), "{console}");
        }
        assert_eq!(
            k(
                "I no longer see the \"WARNING: possible circular locking dependency detected\" splat"
            ),
            None
        );
        assert_eq!(
            k("random text WARNING: possible circular locking dependency detected"),
            None
        );
        assert_eq!(
            k("| 10 | WARNING: possible recursive locking detected |"),
            None
        );
    }
}
