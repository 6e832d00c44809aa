//! Parsing of the building blocks every report shares: stack frames, lock lines,
//! class names, task names.

use std::sync::LazyLock;

use regex::Regex;

use crate::report::{Frame, LockRef, Task, UsageBits, WaitTypes};

/// A pager's cut mark after a frame's offset, maybe inside its module's name: `+0xaa>`,
/// `+0x84/0x1d0 [>`, `+0x84/0x1d0 [sm>`.
static PAGER_CUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+0x[0-9a-f]+(?:/0x[0-9a-f]*)?( \[\w*)?>$").unwrap());
/// A frame whose module's bracket is never closed: the line was cut there.
static MODULE_CUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+0x[0-9a-f]+/0x[0-9a-f]+( \[[\w-]*(?: [0-9a-f]*)?)$").unwrap());
static PPC_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[[0-9a-f]+\] \[([0-9a-f]+)\] (.*)$").unwrap());
static PC_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[<?((?:0x)?[0-9a-f]+)>?\]\s+(.*)$").unwrap());
static ARM_OLD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[<[0-9a-f]+>\] \(([^)]*)\) from \[<([0-9a-f]+)>\] \(([^)]*)\)$").unwrap()
});
static ARM_NEW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.$]+ from ([\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+)$").unwrap());
static RUST_LOC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:(\S+) at )?([\w./\\-]*[\w-]\.rs):(\d+)(?::(\d+))?",
        r"(?: \((?:acquired )?in thread '([^']*)'\)| \(holding .+\))?$"
    ))
    .unwrap()
});
// `scripts/decode_stacktrace.sh` writes `func (file:line (discriminator N))`, several
// locations in one pair of brackets for inlined calls, and a module's name after them
// (`sctp_bind (net/sctp/socket.c:320) sctp`).
static KFRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^([A-Za-z_.$][\w.$:]*)",
        // (`+off` without `/size`: a line cut there.)
        r"(?:\+(0x[0-9a-f]+)(?:/(0x[0-9a-f]+))?)?",
        // (A module's build ID after its name: `[ufs dd6f3855…22a]`.)
        r"(?: \[([\w-]+)(?: [0-9a-f]{8,40})?\])?",
        // (A line cut inside the discriminator keeps what it holds: `(discrimin`.)
        r"(?: \(?((?:[\w./-]+/)?[\w.-]+\.\w+):(-?\d+)(?::(\d+))?(?: \(discriminator \d+\)| \(discrim[a-z]*(?: \d*)?$)?",
        r"(?: [\w./-]+:\d+(?: \(discriminator \d+\))?)*\)?(?: ([\w-]+))?)?",
        r"(?: \(discriminator \d+\))?$"
    ))
    .unwrap()
});
static STD_BT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+: ([A-Za-z_<{].*?)(?:::h[0-9a-f]{16})?$").unwrap());
static STD_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^at (\S+?):(\d+)(?::\d+)?$").unwrap());
static ADDR2LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\(inlined by\) )?([\w.$:]+) at (\S+?):(\d+|\?)(?: \(discriminator \d+\))?$")
        .unwrap()
});
static LOCK_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:([0-9a-fA-F]{8,16}|\(____ptrval____\)|\(ptrval\))\s+)?",
        r"\((.*)\)\{([.+?-]{4,6})\}(?:-\{(\d+):(\d+)\})?",
        // The site (`at:`, or `at` without its colon in a retyped copy); the start of `at:`
        // where the input was cut (`…-{0:0}, a`), or a site damaged past reading (`…{?.+.},
        // /0x50 [mlx5_core]`): no site.
        r"(?:,\s*(?:at(?::\s*|\s+)(.*\S)|.*)|\S)?\s*$"
    ))
    .unwrap()
});
/// A lock line without usage bits (a poster trimmed them): `ADDR (name), at: SITE`.
static LOCK_LINE_NO_USAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:([0-9a-fA-F]{8,16}|\(____ptrval____\)|\(ptrval\))\s+)?",
        r"\(([^\s(){}].*)\),\s*at:\s*(.*\S)\s*$"
    ))
    .unwrap()
});
static CLASS_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.*?)(?:#(\d+))?(?:/(\d+))?$").unwrap());

/// Where a frame line was found decides how liberal the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameContext {
    /// Inside a trace section: a bare symbol on its own is a frame.
    Trace,
    /// Anywhere else: a frame must carry an offset, a source location or an address.
    Strict,
}

/// Parse one stack-frame line. Returns `None` for anything that is not a frame.
pub fn parse_frame(text: &str, input_line: usize, ctx: FrameContext) -> Option<Frame> {
    let mut s = text.trim();
    if s.is_empty() || s.len() > 4096 {
        return None;
    }
    let mut f = Frame {
        input_line,
        ..Frame::default()
    };
    // A pager's mark of a line cut at the terminal's width (`less -S`, journalctl):
    // `smc_tx_sndbuf_nonempty+0xaa>`, `f+0x84/0x1d0 [>` (the module's bracket cut).
    // Only after an offset, as prompts (`crash>`, `kdb>`) end in `>` too; an old frame's
    // `[<addr>]` before it is no obstacle.
    if let Some(c) = PAGER_CUT.captures(s) {
        s = &s[..c.get(1).map_or(s.len() - 1, |m| m.start())];
    } else if let Some(c) = MODULE_CUT.captures(s) {
        // The input ends inside the module's bracket (`f+0x28/0x100 [snd_soc_cor`): the
        // function and offset are whole.
        s = &s[..c.get(1).map_or(s.len(), |m| m.start())];
    }
    if let Some(r) = s.strip_suffix(" (unreliable)") {
        f.unreliable = true;
        s = r.trim_end();
    }
    // arm64 (6.13+) marks where a frame's address came from: `(P)` pt_regs, `(C)` the
    // current frame record, `(L)` the link register.
    if let Some(r) = [" (P)", " (C)", " (L)", " (F)", " (K)"]
        .iter()
        .find_map(|m| s.strip_suffix(m))
    {
        s = r.trim_end();
    }
    // s390 before 4.x put the first frame, its stack pointer's guess, in parentheses:
    // `([<0000000000100a06>] show_trace+0xee/0x144)`.
    if let Some(r) = s
        .strip_prefix("([<")
        .and_then(|r| r.strip_suffix(')'))
        .filter(|r| r.contains(">] "))
    {
        s = &s[1..=r.len() + 2];
        f.unreliable = true;
    }
    // 2.6–3.x x86 printed the stack switch on the frame's own line: `<IRQ>  [<addr>] func+off`.
    if let Some(r) = ["<IRQ>", "<EOI>", "<NMI>"].iter().find_map(|m| {
        s.strip_prefix(m)
            .filter(|r| r.starts_with(' '))
            .map(str::trim_start)
    }) && !r.is_empty()
    {
        s = r;
    }
    if let Some(c) = ARM_OLD.captures(s) {
        f.address = Some(c[2].to_string());
        return parse_symbol(&c[3], f, FrameContext::Trace);
    }
    if let Some(c) = PPC_FRAME.captures(s) {
        f.address = Some(c[1].to_string());
        let rest = c.get(2).unwrap().as_str();
        return parse_symbol(rest, f, FrameContext::Trace);
    }
    if let Some(r) = s.strip_prefix("? ") {
        f.unreliable = true;
        s = r.trim_start();
        // An address no symbol covers (a module's freed init text): `? 0xffffffffc0bd4000`.
        if let Some(hex) = s
            .strip_prefix("0x")
            .filter(|h| (8..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            f.address = Some(hex.to_string());
            return Some(f);
        }
    }
    if let Some(c) = PC_PREFIX.captures(s) {
        f.address = Some(c[1].to_string());
        let rest = c.get(2).unwrap().as_str();
        let rest = match rest.strip_prefix("? ") {
            Some(r) => {
                f.unreliable = true;
                r
            }
            None => rest,
        };
        return parse_symbol(rest, f, FrameContext::Trace);
    }
    if let Some(c) = ARM_NEW.captures(s) {
        return parse_symbol(&c[1], f, FrameContext::Trace);
    }
    if let Some(c) = STD_BT.captures(s) {
        // std::backtrace::Backtrace: `  3: crate::module::function`
        f.function = Some(c[1].to_string());
        return Some(f);
    }
    parse_symbol(s, f, ctx)
}

fn parse_symbol(s: &str, mut f: Frame, ctx: FrameContext) -> Option<Frame> {
    let mut s = s.trim();
    if let Some(r) = s.strip_suffix("[inline]") {
        f.inline = true;
        s = r.trim_end();
    }
    if let Some(c) = RUST_LOC.captures(s) {
        f.function = c.get(1).map(|m| m.as_str().to_string());
        f.file = Some(c[2].to_string());
        f.line = c[3].parse().ok();
        f.column = c.get(4).and_then(|m| m.as_str().parse().ok());
        f.thread = c.get(5).map(|m| m.as_str().to_string());
        return Some(f);
    }
    let c = KFRAME.captures(s)?;
    f.function = Some(c[1].to_string());
    f.offset = c.get(2).map(|m| m.as_str().to_string());
    f.size = c.get(3).map(|m| m.as_str().to_string());
    f.module = c.get(4).or(c.get(8)).map(|m| m.as_str().to_string());
    if let Some(file) = c.get(5) {
        f.file = Some(clean_path(file.as_str()));
        f.line = c[6].parse().ok();
        f.column = c.get(7).and_then(|m| m.as_str().parse().ok());
    }
    let evidence = f.offset.is_some() || f.file.is_some() || f.inline || f.address.is_some();
    if !evidence && ctx == FrameContext::Strict {
        return None;
    }
    if !evidence && f.function.as_deref().is_some_and(|n| n.ends_with(':')) {
        return None;
    }
    // An elision (`...`, the end of loongarch's and MIPS's `Stack :` dump) names nothing.
    if !evidence
        && f.function
            .as_deref()
            .is_some_and(|n| !n.chars().any(char::is_alphanumeric))
    {
        return None;
    }
    Some(f)
}

fn clean_path(p: &str) -> String {
    let p = p.strip_prefix("/./").unwrap_or(p);
    let p = p.strip_prefix("./").unwrap_or(p);
    p.to_string()
}

/// An `addr2line`/`decode_stacktrace` annotation: `free_pid at kernel/pid.c:131`
/// or `(inlined by) __exit_signal at kernel/exit.c:147`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    /// `(inlined by)` prefix present.
    pub inlined_by: bool,
    /// Function name.
    pub function: String,
    /// File.
    pub file: String,
    /// Line (None for `?`).
    pub line: Option<u32>,
}

/// Parse an addr2line annotation line.
pub fn parse_source_note(text: &str) -> Option<SourceNote> {
    if let Some(c) = STD_AT.captures(text.trim()) {
        // std::backtrace::Backtrace location line under a frame.
        return Some(SourceNote {
            inlined_by: false,
            function: String::new(),
            file: clean_path(&c[1]),
            line: c[2].parse().ok(),
        });
    }
    let c = ADDR2LINE.captures(text.trim())?;
    Some(SourceNote {
        inlined_by: c.get(1).is_some(),
        function: c[2].to_string(),
        file: clean_path(&c[3]),
        line: c[4].parse().ok(),
    })
}

/// Apply a group of addr2line notes (first note = innermost inline function) to the
/// physical frame they annotate; returns the inline frames to insert before it.
pub fn apply_source_notes(frame: &mut Frame, notes: &[(SourceNote, usize)]) -> Vec<Frame> {
    let Some(((last, _), inner)) = notes.split_last() else {
        return Vec::new();
    };
    frame.file = Some(last.file.clone());
    frame.line = last.line;
    inner
        .iter()
        .map(|(n, line)| Frame {
            function: Some(n.function.clone()),
            file: Some(n.file.clone()),
            line: n.line,
            inline: true,
            input_line: *line,
            ..Frame::default()
        })
        .collect()
}

/// Split a printed class name into (class, name_version, subclass).
pub fn split_class_name(name: &str) -> (String, Option<u32>, Option<u32>) {
    match CLASS_SUFFIX.captures(name) {
        Some(c) if !c[1].is_empty() => (
            c[1].to_string(),
            c.get(2).and_then(|m| m.as_str().parse().ok()),
            c.get(3).and_then(|m| m.as_str().parse().ok()),
        ),
        _ => (name.to_string(), None, None),
    }
}

/// A lock from a bare class name (scenario tables, `Chain exists of:`).
pub fn lock_from_name(name: &str, input_line: usize) -> LockRef {
    let name = &url_decoded(name);
    let (class, name_version, subclass) = split_class_name(name);
    LockRef {
        name: name.to_string(),
        class,
        name_version,
        subclass,
        input_line,
        ..LockRef::default()
    }
}

/// A class name a web page percent-encoded (`&%28&%28pqueue->lock%29%29->rlock`, a GitHub
/// issue's paste): the punctuation the kernel prints is decoded; a name without such an escape
/// is returned as it is (kernel class names have no `%` followed by two hex digits).
fn url_decoded(name: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |b: &[u8]| -> Option<u8> {
        let hex = std::str::from_utf8(b.get(1..3)?).ok()?;
        let c = u8::from_str_radix(hex, 16).ok()?;
        (b[0] == b'%' && (c.is_ascii_punctuation() || c == b' ')).then_some(c)
    };
    let bytes = name.as_bytes();
    if !(0..bytes.len()).any(|i| escaped(&bytes[i..]).is_some()) {
        return name.into();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escaped(&bytes[i..]) {
            Some(c) => {
                out.push(c);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, at escape boundaries.
    String::from_utf8(out)
        .map(Into::into)
        .unwrap_or_else(|_| name.into())
}

/// The start of a lock line that was cut (an excerpt trimmed in a mail): `ADDR (name` or
/// `ADDR (name){+.`, with a name that is not empty.
static CUT_LOCK_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:([0-9a-fA-F]{8,16}|\(____ptrval____\)|\(ptrval\))\s+)?",
        r"\(([^\s(){}][^{}]*?)(\))?(?:\{[.+?-]*\}?)?$"
    ))
    .unwrap()
});

/// Parse a `print_lock()` line: `ADDR (name){usage}-{o:i}, at: SITE`. A line cut short
/// after the name keeps what is there (name and address).
pub fn parse_lock_line(text: &str, input_line: usize) -> Option<LockRef> {
    let Some(c) = LOCK_LINE.captures(text.trim()) else {
        if let Some(c) = LOCK_LINE_NO_USAGE.captures(text.trim()) {
            let mut lock = lock_from_name(&c[2], input_line);
            lock.address = c.get(1).map(|m| m.as_str().to_string());
            lock.at = parse_frame(c[3].trim(), input_line, FrameContext::Trace);
            return Some(lock);
        }
        let c = CUT_LOCK_LINE.captures(text.trim())?;
        let mut lock = lock_from_name(&c[2], input_line);
        lock.address = c.get(1).map(|m| m.as_str().to_string());
        lock.name_cut = c.get(3).is_none();
        return Some(lock);
    };
    let name = c[2].to_string();
    let mut lock = lock_from_name(&name, input_line);
    lock.address = c.get(1).map(|m| m.as_str().to_string());
    lock.usage = Some(c[3].to_string());
    lock.usage_bits = UsageBits::decode(&c[3]);
    if let (Some(o), Some(i)) = (c.get(4), c.get(5)) {
        lock.wait = Some(WaitTypes {
            outer: o.as_str().parse().unwrap_or(0),
            inner: i.as_str().parse().unwrap_or(0),
        });
    }
    if let Some(at) = c.get(6) {
        let at = at.as_str().trim();
        if !at.is_empty() {
            lock.at = parse_frame(at, input_line, FrameContext::Trace);
        }
    }
    Some(lock)
}

/// Merge a repeated lock line (same lock, another inline `at:` site) into `lock`.
pub fn merge_site(lock: &mut LockRef, again: LockRef) {
    if let Some(at) = again.at {
        if lock.at_inlined.is_empty()
            && let Some(first) = lock.at.take()
        {
            lock.at_inlined.push(first);
        }
        lock.at_inlined.push(at.clone());
        lock.at = Some(at);
    }
}

/// Whether `again` is the same printed lock as `lock` (symbolised inline `at:` repeats).
pub fn same_lock(lock: &LockRef, again: &LockRef) -> bool {
    lock.name == again.name && lock.address == again.address
}

/// `comm/pid`: the pid is the digits after the last `/`.
pub fn parse_task(s: &str) -> Option<Task> {
    let s = s.trim();
    let (comm, pid) = s.rsplit_once('/')?;
    Some(Task {
        comm: comm.to_string(),
        pid: pid.parse().ok()?,
    })
}

/// The class name with the old spinlock_t wrapper naming `&(&X)->rlock` reduced to `&X`.
pub fn canonical_class(class: &str) -> String {
    if let Some(inner) = class.strip_prefix("&(&")
        && let Some(x) = inner.strip_suffix(")->rlock")
    {
        return format!("&{x}");
    }
    class.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Frame {
        parse_frame(s, 1, FrameContext::Trace).unwrap_or_else(|| panic!("not a frame: {s}"))
    }

    #[test]
    fn old_s390_first_frame_in_parentheses() {
        let f = frame("([<0000000000100a06>] show_trace+0xee/0x144)");
        assert_eq!(f.function.as_deref(), Some("show_trace"));
        assert_eq!(f.address.as_deref(), Some("0000000000100a06"));
        assert!(f.unreliable);
        let l = parse_lock_line(
            "ffff988b29530a58 (sk_lock-AF_BLUETOOTH), at: bt_accept+0xe3/0x280",
            1,
        )
        .unwrap();
        assert_eq!(l.name, "sk_lock-AF_BLUETOOTH");
        assert_eq!(l.at.and_then(|a| a.function).as_deref(), Some("bt_accept"));
    }

    #[test]
    fn a_site_cut_inside_its_modules_bracket_keeps_its_function() {
        // A GitHub excerpt cut there (held out, round 19).
        let l = parse_lock_line(
            "ffff0003 (&card->pcm_mutex){+.+.}-{3:3}, at: soc_pcm_prepare+0x28/0x100 [snd_soc_cor",
            1,
        )
        .unwrap();
        let at = l.at.unwrap();
        assert_eq!(at.function.as_deref(), Some("soc_pcm_prepare"));
        assert_eq!(at.module, None);
    }

    #[test]
    fn a_lock_line_cut_inside_its_at_is_still_a_lock() {
        // A GitHub issue's copy cut mid-line (round 8).
        let l = parse_lock_line(
            "ffffffff831723b0 (cgroup_threadgroup_rwsem){.+.+}-{0:0}, a",
            1,
        )
        .unwrap();
        assert_eq!(l.name, "cgroup_threadgroup_rwsem");
        assert!(l.at.is_none());
        let l = parse_lock_line("ffff888012345678 (x){+.+.}-{3:3}, at:", 1).unwrap();
        assert_eq!(l.name, "x");
        let report = concat!(
            "WARNING: possible recursive locking detected\n",
            "6.13.1 #1 Not tainted\n",
            "--------------------------------------------\n",
            "init/1 is trying to acquire lock:\n",
            "ffffffff82a1c0d8 (&p->lock){....}-{2:2}, at: f+0x1/0x2\n",
            "\n",
            "3 locks held by init/1:\n",
            " #0: ffffffff831723b0 (cgroup_threadgroup_rwsem){.+.+}-{0:0}, a",
        );
        let v = crate::splat::parse_str("t", report);
        let held = v[0].held_locks.as_ref().expect("held locks");
        assert_eq!(held.entries.len(), 1, "{held:#?}");
    }

    #[test]
    fn a_std_backtraces_closure_frame_is_a_frame() {
        // An inlined closure, named without its path (a build with line tables only).
        let f = frame("   19: {closure#0}");
        assert_eq!(f.function.as_deref(), Some("{closure#0}"));
    }

    #[test]
    fn an_unsymbolised_questionable_address_is_a_frame() {
        let f = frame(" ? 0xffffffffc0bd4000");
        assert!(f.unreliable);
        assert_eq!(f.address.as_deref(), Some("ffffffffc0bd4000"));
        assert_eq!(f.function, None);
    }

    #[test]
    fn kernel_frames() {
        let f = frame("       free_pid+0x5c/0x160");
        assert_eq!(f.function.as_deref(), Some("free_pid"));
        assert_eq!(f.offset.as_deref(), Some("0x5c"));
        assert_eq!(f.size.as_deref(), Some("0x160"));
        let f = frame(" ? rtnl_lock+0x17/0x20");
        assert!(f.unreliable);
        let f = frame("spin_lock_bh /./include/linux/spinlock.h:343 [inline]");
        assert!(f.inline);
        assert_eq!(f.file.as_deref(), Some("include/linux/spinlock.h"));
        assert_eq!(f.line, Some(343));
        let f = frame("rxrpc_put_peer+0x2d3/0x6a0 /net/rxrpc/peer_object.c:435");
        assert_eq!(f.file.as_deref(), Some("/net/rxrpc/peer_object.c"));
        let f = frame("lan966x_ptp_irq_handler+0x164/0x2a8 [lan966x_switch]");
        assert_eq!(f.module.as_deref(), Some("lan966x_switch"));
        let l = parse_lock_line("ffff888012345678 (&dev->lock", 3).unwrap();
        assert_eq!(l.name, "&dev->lock");
        assert!(parse_lock_line("ffff888012345678 (", 3).is_none());
        let f = frame("__lock_acquire+0x384/0x30a4 kernel/locking/lockdep.c:5187 (P)");
        assert_eq!(f.function.as_deref(), Some("__lock_acquire"));
        assert_eq!(f.line, Some(5187));
        let f = frame("[c000001ff07eefc0] [c00000000063f8c8] dump_stack+0xec/0x144 (unreliable)");
        assert!(f.unreliable);
        assert_eq!(f.function.as_deref(), Some("dump_stack"));
        let f = frame("[<ffffffff8105bbd0>] flush_workqueue+0x0/0xb0");
        assert_eq!(f.address.as_deref(), Some("ffffffff8105bbd0"));
        let f = frame(" [<ffffffff81416c20>] ? percpu_up_read.constprop.46+0xe1/0xe1");
        assert!(f.unreliable);
        assert_eq!(f.base_function(), Some("percpu_up_read"));
        let f = frame(" unwind_backtrace from show_stack+0x10/0x14");
        assert_eq!(f.function.as_deref(), Some("show_stack"));
        let f =
            frame("[<c0014d10>] (show_stack) from [<c00a2d18>] (futex_wait_queue_me+0x13c/0x19c)");
        assert_eq!(f.function.as_deref(), Some("futex_wait_queue_me"));
        assert!(
            parse_frame(
                "other info that might help us debug this:",
                1,
                FrameContext::Trace
            )
            .is_none()
        );
        assert!(parse_frame("lock_acquire", 1, FrameContext::Strict).is_none());
    }

    #[test]
    fn old_x86_stack_switch_on_the_frame_line() {
        let f = frame("<IRQ>  [<ffffffff8154a529>] print_circular_bug+0xc8/0xd9");
        assert_eq!(f.function.as_deref(), Some("print_circular_bug"));
        assert_eq!(f.address.as_deref(), Some("ffffffff8154a529"));
        let f = frame(" <EOI>  [<ffffffff81067788>] ? check_prev_add+0x68/0x20e");
        assert!(f.unreliable);
        assert!(parse_frame("<IRQ>", 1, FrameContext::Strict).is_none());
    }

    #[test]
    fn decode_stacktrace_frames() {
        let f = frame(" dev_get_by_index_rcu (net/core/dev.c:876 (discriminator 7))");
        assert_eq!(f.function.as_deref(), Some("dev_get_by_index_rcu"));
        assert_eq!(
            (f.file.as_deref(), f.line),
            (Some("net/core/dev.c"), Some(876))
        );
        let f = frame(" sctp_do_bind (net/sctp/socket.c:400 (discriminator 1)) sctp");
        assert_eq!(f.module.as_deref(), Some("sctp"));
        assert_eq!(f.line, Some(400));
        let f = frame("sctp_v6_available (net/sctp/ipv6.c:701) sctp");
        assert_eq!(f.function.as_deref(), Some("sctp_v6_available"));
        assert_eq!(f.module.as_deref(), Some("sctp"));
        // Inlined calls: every location in one pair of brackets, the first one kept.
        let f = frame(concat!(
            "? do_user_addr_fault (./arch/x86/include/asm/preempt.h:84 (discriminator 13) ",
            "./include/linux/rcupdate.h:98 (discriminator 13) arch/x86/mm/fault.c:1338)"
        ));
        assert!(f.unreliable);
        assert_eq!(f.file.as_deref(), Some("arch/x86/include/asm/preempt.h"));
        let f = frame("lock_acquire (kernel/locking/lockdep.c:5754)");
        assert_eq!(f.module, None);
    }

    #[test]
    fn rust_frames() {
        let f = frame("src/main.rs:12:5");
        assert_eq!(f.file.as_deref(), Some("src/main.rs"));
        assert_eq!((f.line, f.column), (Some(12), Some(5)));
        // std's frames of generic functions (`<&dyn Fn<(), Output = i32> + Sync as FnOnce<()>>`).
        let f = frame(
            "24: <&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync as core::ops::function::FnOnce<()>>::call_once",
        );
        assert!(f.function.unwrap().ends_with("::call_once"));
        assert!(parse_frame("1fc0: 00438000 00000000", 0, FrameContext::Strict).is_none());
        let f = frame("path/to/file.rs:12:5 (in thread 'worker')");
        assert_eq!(f.thread.as_deref(), Some("worker"));
    }

    #[test]
    fn lock_lines() {
        let l = parse_lock_line(
            "c000001fce5570c8 (&s->seqcount#2){....}-{0:0}, at: __slab_alloc+0x34/0xf0",
            5,
        )
        .unwrap();
        assert_eq!(l.address.as_deref(), Some("c000001fce5570c8"));
        assert_eq!(l.class, "&s->seqcount");
        assert_eq!(l.name_version, Some(2));
        assert_eq!(l.wait, Some(WaitTypes { outer: 0, inner: 0 }));
        assert_eq!(l.at.unwrap().function.as_deref(), Some("__slab_alloc"));
        let l = parse_lock_line(
            " (&type->i_mutex_dir_key#3/1){+.+.}, at: [<00000000ac220e5b>] rtnl_lock+0x17/0x20",
            1,
        )
        .unwrap();
        assert_eq!(
            (l.class.as_str(), l.name_version, l.subclass),
            ("&type->i_mutex_dir_key", Some(3), Some(1))
        );
        let l = parse_lock_line("c3056174 (dev->qdisc_tx_busylock ?: &qdisc_tx_busylock){+...}-{2:2}, at: __dev_queue_xmit+0x354/0x1224", 1).unwrap();
        assert_eq!(l.name, "dev->qdisc_tx_busylock ?: &qdisc_tx_busylock");
        let l = parse_lock_line("00007f0000001000 (src/main.rs:12:19){+.+.}-{4:4}, at: src/main.rs:14:9 (in thread 'worker')", 1).unwrap();
        assert_eq!(l.class, "src/main.rs:12:19");
        assert_eq!(l.at.unwrap().thread.as_deref(), Some("worker"));
        let l = parse_lock_line("ffff88801f472b20 (&call->user_mutex){....}-{3:3}0", 1).unwrap();
        assert_eq!(l.name, "&call->user_mutex");
        // A GitHub issue's paste (rtl8188eu #67): percent-encoded parentheses.
        let l = parse_lock_line("(&%28&%28pqueue->lock%29%29->rlock){+.-...}, at: [<c03d8058>] _rtw_alloc_network+0x14/0xc8", 1).unwrap();
        assert_eq!(l.name, "&(&(pqueue->lock))->rlock");
        assert_eq!(url_decoded("%s_key%zz%4"), "%s_key%zz%4");
        assert_eq!(url_decoded("(wq_completion)%41"), "(wq_completion)%41");
    }

    #[test]
    fn tasks_and_classes() {
        assert_eq!(
            parse_task("runc:[1:CHILD]/7867").unwrap().comm,
            "runc:[1:CHILD]"
        );
        assert_eq!(parse_task("kworker/u32:0/68094").unwrap().pid, 68094);
        assert_eq!(
            canonical_class("&(&rxnet->peer_hash_lock)->rlock"),
            "&rxnet->peer_hash_lock"
        );
    }

    #[test]
    fn addr2line_notes() {
        let n = parse_source_note("(inlined by) __exit_signal at kernel/exit.c:147").unwrap();
        assert!(n.inlined_by);
        assert_eq!(n.function, "__exit_signal");
        let n = parse_source_note("idr_alloc_u32 at lib/idr.c:46 (discriminator 4)").unwrap();
        assert_eq!(n.line, Some(46));
    }
}
