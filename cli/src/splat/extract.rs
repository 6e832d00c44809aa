//! Extraction: turn the collected lines of one report into a [`Report`].
//!
//! One pass over the lines with a small "where do frames and lock lines go" state
//! (`Sink`); the anchors are the kernel's fixed strings (reference §2.14), so one
//! extractor serves every kind, and the kind only decides the title and the checks
//! of completeness at the end.

use std::sync::LazyLock;

use regex::Regex;

use super::line::Line;
use super::scan::{BannerSpec, Ending};
use super::stack::{
    FrameContext, SourceNote, apply_source_notes, lock_from_name, merge_site, parse_frame,
    parse_lock_line, parse_source_note, parse_task, same_lock,
};
use crate::report::{
    ChainEntry, CycleEdge, Frame, HeldLock, HeldLocks, IrqContext, IrqDetails, IrqEvent,
    KernelIdent, Kind, LockRef, Report, ScenarioStep, Task, UsageBits, UsageTrace, WaitTypes,
};

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).unwrap());
    };
}

re!(RULE_LINE, r"^(?:=+|-+)$");
re!(
    TASK_ACTION,
    r"^(.+?)(?: \[HC(\d)\[(\d+)\]:SC(\d)\[(\d+)\]:HE(\d):SE(\d)\])? (is trying to acquire lock:|is trying to acquire:|is trying to lock:|just changed the state of lock:|takes:)$"
);
re!(
    RELEASE,
    r"^(.+) is trying to release lock \((.*)\) at:\s*(.*)$"
);
re!(
    FREEING,
    r"^(.+) is freeing memory (\S+?)-(\S+?), with a lock still held there!$"
);
re!(
    LEAVING,
    r"^(.+) is leaving the kernel with locks still held!$"
);
re!(
    EXIT_BANNER,
    r"^(?:WARNING: |BUG: |\[ BUG: |INFO: )(.+) still has locks held!"
);
re!(
    CHAIN_ENTRY,
    r"^-> #(\d+) \((.*)\)\{([.+?-]{4,6})\}(?:-\{(\d+):(\d+)\})?:?\s*$"
);
re!(
    SCENARIO_HDR,
    r"^Possible (?:interrupt )?unsafe locking scenario:$"
);
re!(
    SCENARIO_ACTION,
    r"^(\s*)(?:(rlock|lock|sync)\((.*)\);|(local_irq_disable)\(\);|<(Interrupt)>)\s*$"
);
re!(HELD_HDR, r"^(\d+) locks? held by (.+):$");
// A poster's abbreviation keeps the one held lock on the count's line, its address elided:
// `1 lock held by nft/133554: [..] (nft_net->commit_mutex){+.+.}-{3:3}, at: f`.
re!(
    HELD_HDR_WITH_ENTRY,
    r"^(1) lock held by (\S+/\d+): (?:\[\.\.\.?\]|\.\.\.|\u{2026}|[0-9a-f]{8,16})? ?(\(.+)$"
);
re!(NO_HELD, r"^no locks held by (.+)\.$");
// The report's own lines, which a quote without the version line goes on with.
re!(
    NOT_A_VERSION,
    r"^(?:\d+ locks? held by |no locks held by |#\d+: |other info |rcu_scheduler_active |stack backtrace:|Call Trace:|CPU: \d)"
);
re!(HELD_ENTRY, r"^#(\d+):\s*(.*)$");
re!(
    CPU_LINE,
    // `Kdump: loaded` follows the name when a crash kernel is loaded.
    r"^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.+?) (?:Kdump: loaded )?(Not tainted|Tainted: [A-Z ]*[A-Z])\s*(.*)$"
);
// An untainted 6.18 `CPU:` line goes from the name to the release (tried after `CPU_LINE`, so
// a name with a version-like word before its taint is not read as a release).
re!(
    CPU_LINE_UNTAINTED,
    r"^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.+?) (?:Kdump: loaded )?(\d+\.\d+\S*(?: .*)?)$"
);
// The same facts as kernels before 3.x printed them (`Pid: 2224, comm: iperf Not tainted 3.2.0 #802`).
re!(
    PID_LINE,
    r"^Pid: (\d+), comm: (.+?) (Not tainted|Tainted: [A-Z ]*[A-Z])\s*(.*)$"
);
re!(
    INCONSISTENT,
    r"^inconsistent \{(.+)\} -> \{(.+)\}(?: usage\.)?$"
);
re!(REGISTERED, r"^\{(.+)\} state was registered at:$");
re!(
    BECAME,
    r"^\.\.\. which became (\S+?)-irq-(safe|unsafe) at:$"
);
re!(
    CONNECTS_SAFE,
    r"^but this new dependency connects a (\S+?)-irq-safe lock:$"
);
re!(TO_UNSAFE, r"^to a (\S+?)-irq-unsafe lock:$");
re!(
    TOOK_UNSAFE,
    r"^but this lock took another, (\S+?)(?:-irq)?-unsafe lock in the past:$"
);
re!(
    TAKEN_BY_SAFE,
    r"^but this lock was taken by another, (\S+?)(?:-irq)?-safe lock in the past:$"
);
re!(
    DEP_LOCK,
    r"^-> \((.*)\)\{([.+?-]{4,6})\}(?:-\{\d+:\d+\})? \{$"
);
re!(DEP_STATE, r"^([A-Z][A-Z-]*(?: [A-Z]+)*) at:$");
re!(IRQ_STAMP, r"^irq event stamp: (\d+)$");
re!(
    IRQ_EVENT,
    r"^((?:hard|soft)irqs last\s+(?:enabled|disabled)) at \((\d+)\): (.*)$"
);
re!(CONTEXT, r"^context-\{\s*(\d+):\s*(\d+)\s*\}$");
re!(DEBUG_LOCKS, r"debug_locks = (\d)");
re!(
    IN_ATOMIC,
    r"^in_atomic\(\): \d+, irqs_disabled\(\): \d+,.* pid: (\d+), name: (.+)$"
);
// The site, and the rest of it when a terminal wrapped the line and the copy padded the cut
// with spaces (`at kernel/lock` + spaces + `ing/mutex.c:586`).
re!(SITE_END, r":\d+$");
re!(SITE_REST, r"^[\w./-]*:\d+$");
re!(
    SLEEP_AT,
    r"invalid context at (\S+)(?:\s{2,}(\S+:\d+)\s*$)?"
);
// 2.6's two-line form: the banner alone, then `comm(pid) at file:line`, then `in_atomic():1
// [00000003], irqs_disabled():1` and the stack with no header.
re!(OLD_SLEEP_TASK, r"^(\S+)\((\d+)\) at (\S+:\d+)$");
re!(
    OLD_IN_ATOMIC,
    r"^in_atomic\(\):\s*\d+ \[[0-9a-f]+\], irqs_disabled\(\):\s*\d+$"
);
re!(DEBUG_WARN, r"DEBUG_LOCKS_WARN_ON\((.*)\)\s*$");
re!(
    RIP,
    r"^(?:RIP: [0-9a-f]{4}:|pc : |NIP:\s+\[<?[0-9a-f]+>?\]\s*)(.*)$"
);
re!(RCU_MESSAGE, r"^(\S+:\d+) (.+)$");
re!(RCU_SOURCE_MESSAGE, r"^\S+\.[chS]:\d+ [A-Za-z]");
re!(IDENT_TAINT, r"^(.*?)\s*(Not tainted|Tainted: .*)?$");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    None,
    Acquiring,
    Held,
    Chain(usize),
    HeldList,
    Backtrace,
    Trace(usize),
    Release,
    Safe,
    Unsafe,
    NewDep,
    NotHolding,
    /// The line after an irq event whose function a mailer wrapped onto the next line
    /// (`hardirqs last  enabled at (4831): [<ffffffff8ad60263>]`, then the frame).
    IrqEventTail,
    Ignore,
}

struct State<'a> {
    r: Report,
    spec: &'a BannerSpec,
    sink: Sink,
    in_scenario: bool,
    expect_chain_names: bool,
    dep_lock: Option<String>,
    notes: Vec<(SourceNote, usize)>,
    saw_dash_rule: bool,
    // The version line's place was taken by a poster's elision (`...`).
    ident_elided: bool,
    saw_stack_header: bool,
    rcu_message_pending: bool,
    raw_scenario: Vec<(usize, ScenarioStep)>,
    /// The address an irq event's line kept when its frame was wrapped ([`Sink::IrqEventTail`]).
    irq_event_address: Option<String>,
    /// The sleep site of a sleeping-function banner ends without its line number: a terminal
    /// cut it, and the next line may hold the rest.
    sleep_site_cut: bool,
}

/// Build a report from its collected lines.
pub fn build(
    source: &str,
    spec: &BannerSpec,
    start: usize,
    lines: &[Line],
    ending: Ending,
) -> Report {
    let banner = lines
        .first()
        .map(|l| l.text.trim().to_string())
        .unwrap_or_default();
    let mut st = State {
        r: Report::new(source, start, spec.kind, &banner),
        spec,
        sink: Sink::None,
        in_scenario: false,
        expect_chain_names: false,
        dep_lock: None,
        notes: Vec::new(),
        saw_dash_rule: false,
        ident_elided: false,
        saw_stack_header: false,
        rcu_message_pending: spec.kind == Kind::SuspiciousRcuUsage,
        raw_scenario: Vec::new(),
        irq_event_address: None,
        sleep_site_cut: false,
    };
    st.banner(&banner, lines.first().map(|l| l.no).unwrap_or(start));
    // A headless report's first line is a line of its body; one quoted from the lock it
    // acquires (its task's line left out) starts with that lock.
    let first_body = if spec.headless { 0 } else { 1 };
    if spec.headless
        && lines.first().is_some_and(|l| {
            let t = l.text.trim();
            super::scan::is_lock_line(t) && !t.ends_with(':')
        })
    {
        st.sink = Sink::Acquiring;
    }
    for (i, l) in unflowed(lines).iter().enumerate().skip(first_body) {
        st.line(i, l);
    }
    st.flush_notes();
    st.r.end_line = lines.last().map(|l| l.no).unwrap_or(start);
    if lines.iter().any(|l| l.cut) {
        st.r.add_damage("a line longer than 64 KiB was cut");
    }
    let mut r = st.finish(ending);
    r.title = crate::title::title(&r);
    r
}

/// The lines of a report, with the irq reports' fixed sentence put back on a line of its own
/// where a mail client re-flowed it into its neighbours (`…, at: f+0x21/0xd0 [mod] but this lock
/// took` / `another,` / `HARDIRQ-unsafe lock in the past: (fs_reclaim){+.+.}-{0:0}`).
fn unflowed(lines: &[Line]) -> std::borrow::Cow<'_, [Line]> {
    const STARTS: [&str; 2] = [
        "but this lock took another,",
        "but this lock was taken by another,",
    ];
    const END: &str = " lock in the past:";
    let reflowed = |t: &str| {
        t.contains("but this lock ")
            && !(STARTS.iter().any(|s| t.starts_with(s)) && t.ends_with(END.trim_start()))
    };
    if !lines.iter().any(|l| reflowed(l.text.trim())) {
        return std::borrow::Cow::Borrowed(lines);
    }
    let mut out = Vec::with_capacity(lines.len() + 2);
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].text.trim();
        let Some(at) = t.find("but this lock ").filter(|_| reflowed(t)) else {
            out.push(lines[i].clone());
            i += 1;
            continue;
        };
        // The sentence and up to two more lines it was flowed over.
        let mut joined = t.to_string();
        let mut last = i;
        while !joined[at..].contains(END) && last + 1 < lines.len() && last < i + 2 {
            last += 1;
            joined.push(' ');
            joined.push_str(lines[last].text.trim());
        }
        let sentence = &joined[at..];
        match (
            STARTS.iter().any(|s| sentence.starts_with(s)),
            sentence.find(END),
        ) {
            (true, Some(e)) => {
                let e = e + END.len();
                let part = |text: &str, from: &Line| {
                    let mut p = from.clone();
                    p.text = text.to_string();
                    p
                };
                let before = joined[..at].trim();
                if !before.is_empty() {
                    out.push(part(before, &lines[i]));
                }
                out.push(part(&sentence[..e], &lines[i]));
                let after = sentence[e..].trim();
                if !after.is_empty() {
                    out.push(part(after, &lines[last]));
                }
                i = last + 1;
            }
            _ => {
                out.push(lines[i].clone());
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

impl State<'_> {
    /// Whether a lock line carries what only newer kernels print: an address or wait types.
    fn any_lock_is_modern(&self) -> bool {
        let modern = |l: &LockRef| l.address.is_some() || l.wait.is_some();
        self.r.acquiring.iter().chain(&self.r.held).any(modern)
            || self.r.chain.iter().any(|e| modern(&e.lock))
            || self
                .r
                .held_locks
                .iter()
                .flat_map(|h| &h.entries)
                .any(|e| modern(&e.lock))
    }

    fn banner(&mut self, t: &str, no: usize) {
        match self.spec.kind {
            Kind::LocksHeldAtExit => {
                if let Some(c) = EXIT_BANNER.captures(t) {
                    self.r.task = parse_task(&c[1]);
                }
            }
            Kind::SleepingInAtomic => {
                if let Some(c) = SLEEP_AT.captures(t) {
                    let rest = c.get(2).filter(|_| !SITE_END.is_match(&c[1]));
                    let rest = rest.map_or("", |m| m.as_str());
                    self.r.message = Some(format!("at {}{rest}", &c[1]));
                    // Cut without padding, the rest is the next line's (`ing/mutex.c:586`).
                    self.sleep_site_cut = !SITE_END.is_match(&format!("{}{rest}", &c[1]));
                }
            }
            Kind::LockdepInternalWarning => {
                self.internal_message(t, no);
                // 2.6.17 to 2.6.19's `WARN_ON()`: its stack follows at once, with no header.
                if t.starts_with("BUG: warning at ") {
                    self.sink = Sink::Backtrace;
                }
            }
            _ => {}
        }
    }

    fn internal_message(&mut self, t: &str, _no: usize) {
        if let Some(c) = DEBUG_WARN.captures(t) {
            self.r.message = Some(format!("DEBUG_LOCKS_WARN_ON({})", &c[1]));
        } else if self.r.message.is_none() && !t.starts_with("WARNING:") {
            self.r.message = Some(t.to_string());
        }
        if (t.starts_with("WARNING: CPU:") || t.starts_with("WARNING: ") && t.contains(" at "))
            && let Some(pos) = t.rfind(" at ")
        {
            let rest = t[pos + 4..].trim();
            let rest = rest.split_whitespace().nth(1).unwrap_or("");
            let rest = rest.trim_end_matches("()");
            if let Some(f) = parse_frame(rest, _no, FrameContext::Strict) {
                self.r.rip.get_or_insert(f);
            }
        }
    }

    fn line(&mut self, idx: usize, l: &Line) {
        let raw = l.text.as_str();
        let t = raw.trim();
        let no = l.no;

        // addr2line annotations attach to the frame or `at:` site just before them.
        if let Some(n) = parse_source_note(t)
            && self.has_note_target()
        {
            self.notes.push((n, no));
            return;
        }
        self.flush_notes();

        if std::mem::take(&mut self.sleep_site_cut)
            && SITE_REST.is_match(t)
            && let Some(m) = self.r.message.as_mut()
        {
            m.push_str(t);
            return;
        }
        if t.is_empty() {
            if matches!(self.sink, Sink::Safe | Sink::Unsafe | Sink::NotHolding) {
                return;
            }
            if !matches!(self.sink, Sink::Backtrace | Sink::HeldList) {
                self.sink = Sink::None;
            }
            return;
        }
        if RULE_LINE.is_match(t) {
            if t.starts_with('-') {
                self.saw_dash_rule = true;
            }
            return;
        }
        if self.rcu_message_pending && !self.saw_dash_rule && RCU_SOURCE_MESSAGE.is_match(t) {
            // A quote that left out the version line and the rule under it: the message is
            // still the source line and its text, which no version line looks like.
            self.rcu_message_pending = false;
            self.r.message = Some(t.to_string());
            return;
        }
        if idx <= 3
            && self.r.kernel.is_none()
            && !self.ident_elided
            && !self.saw_dash_rule
            // A quote without the version line goes on with the report's own lines.
            && !NOT_A_VERSION.is_match(t)
            && !self.spec.headless
            && !matches!(
                self.spec.kind,
                Kind::LockdepInternalWarning | Kind::SleepingInAtomic
            )
        {
            // A poster's elision (`...`, `[...]`) stands where the version line was.
            if matches!(t, "..." | "[...]" | "[..]" | "\u{2026}" | "[\u{2026}]") {
                self.ident_elided = true;
            } else if l.unterminated {
                // The input ends inside this line (`[ 528`): whatever it is, it is cut.
                self.ident_elided = true;
            } else if t.len() <= MAX_IDENT_LEN {
                self.r.kernel = Some(parse_ident(t));
            } else {
                // Far longer than any version line (`6.1.0-rc1 #1 Tainted: G  W  O L`): not one.
                self.ident_elided = true;
            }
            return;
        }
        if self.spec.kind == Kind::LockdepInternalWarning
            && (t.starts_with("WARNING:") || DEBUG_WARN.is_match(t))
        {
            self.internal_message(t, no);
            return;
        }
        if self.rcu_message_pending && self.saw_dash_rule {
            self.rcu_message_pending = false;
            if RCU_MESSAGE.is_match(t) {
                self.r.message = Some(t.to_string());
                return;
            }
        }

        // Scenario table.
        if SCENARIO_HDR.is_match(t) {
            self.in_scenario = true;
            self.sink = Sink::None;
            return;
        }
        if self.in_scenario {
            if is_deadlock_line(t) {
                self.in_scenario = false;
                return;
            }
            if let Some(c) = SCENARIO_ACTION.captures(raw) {
                let indent = c[1].chars().count();
                let (action, lock) = if let Some(a) = c.get(2) {
                    (a.as_str().to_string(), Some(c[3].to_string()))
                } else if c.get(4).is_some() {
                    ("local_irq_disable".to_string(), None)
                } else {
                    ("interrupt".to_string(), None)
                };
                self.raw_scenario.push((
                    indent,
                    ScenarioStep {
                        cpu: 0,
                        action,
                        lock,
                        input_line: no,
                    },
                ));
            }
            return;
        }
        if is_deadlock_line(t) {
            return;
        }
        if self.expect_chain_names {
            self.expect_chain_names = false;
            if t.contains(" --> ") {
                self.r.chain_exists_of = t.split(" --> ").map(|s| s.trim().to_string()).collect();
                return;
            }
        }
        if t == "Chain exists of:" {
            self.expect_chain_names = true;
            self.sink = Sink::None;
            return;
        }

        if let Some(c) = TASK_ACTION.captures(t) {
            if self.r.task.is_none() {
                self.r.task = parse_task(&c[1]);
            }
            if let Some(hc) = c.get(2) {
                let n = |i: usize| c[i].parse::<u32>().unwrap_or(0);
                self.r.irq_context = Some(IrqContext {
                    hardirq: hc.as_str().parse().unwrap_or(0),
                    hardirq_count: n(3),
                    softirq: n(4),
                    softirq_count: n(5),
                    hardirqs_enabled: &c[6] == "1",
                    softirqs_enabled: &c[7] == "1",
                });
            }
            self.sink = Sink::Acquiring;
            return;
        }
        if let Some(c) = RELEASE.captures(t) {
            self.r.task = parse_task(&c[1]);
            self.r.acquiring = Some(lock_from_name(&c[2], no));
            self.sink = Sink::Release;
            let rest = c[3].trim();
            if !rest.is_empty() {
                self.release_site(rest, no);
            }
            return;
        }
        if let Some(c) = FREEING.captures(t) {
            self.r.task = parse_task(&c[1]);
            self.r.freed_range = Some((c[2].to_string(), c[3].to_string()));
            self.sink = Sink::Held;
            return;
        }
        if let Some(c) = LEAVING.captures(t) {
            self.r.task = parse_task(&c[1]);
            self.sink = Sink::None;
            return;
        }
        if t == "but task is already holding lock:" || t == "and this task is already holding:" {
            self.sink = Sink::Held;
            return;
        }
        if let Some(c) = CHAIN_ENTRY.captures(t) {
            let mut lock = lock_from_name(&c[2], no);
            lock.usage = Some(c[3].to_string());
            lock.usage_bits = UsageBits::decode(&c[3]);
            if let (Some(o), Some(i)) = (c.get(4), c.get(5)) {
                lock.wait = Some(WaitTypes {
                    outer: o.as_str().parse().unwrap_or(0),
                    inner: i.as_str().parse().unwrap_or(0),
                });
            }
            self.r.chain.push(ChainEntry {
                depth: c[1].parse().unwrap_or(0),
                lock,
                frames: Vec::new(),
                input_line: no,
            });
            self.sink = Sink::Chain(self.r.chain.len() - 1);
            return;
        }
        // The one-lock form with its entry first: a header ending in `at:` is that too.
        let header = HELD_HDR_WITH_ENTRY
            .captures(t)
            .and_then(|c| Some((1, c.get(2)?.as_str(), Some(parse_lock_line(&c[3], no)?))))
            .or_else(|| {
                HELD_HDR.captures(t).map(|c| {
                    (
                        c[1].parse().unwrap_or(0),
                        c.get(2).map_or("", |m| m.as_str()),
                        None,
                    )
                })
            });
        if let Some((count, task, entry)) = header {
            let entries = entry
                .map(|mut lock| {
                    lock.input_line = no;
                    vec![HeldLock { index: 0, lock }]
                })
                .unwrap_or_default();
            self.r.held_locks = Some(HeldLocks {
                count,
                task: parse_task(task),
                entries,
                input_line: no,
            });
            if self.r.task.is_none() {
                self.r.task = parse_task(task);
            }
            self.sink = Sink::HeldList;
            return;
        }
        if let Some(c) = NO_HELD.captures(t) {
            self.r.held_locks = Some(HeldLocks {
                count: 0,
                task: parse_task(&c[1]),
                entries: Vec::new(),
                input_line: no,
            });
            self.sink = Sink::None;
            return;
        }
        if let Some(c) = HELD_ENTRY.captures(t)
            && let (Some(h), Some(mut lock)) =
                (self.r.held_locks.as_mut(), parse_lock_line(&c[2], no))
        {
            let index: u32 = c[1].parse().unwrap_or(0);
            if let Some(last) = h.entries.last_mut()
                && last.index == index
                && same_lock(&last.lock, &lock)
            {
                merge_site(&mut last.lock, lock);
                self.sink = Sink::HeldList;
                return;
            }
            lock.input_line = no;
            h.entries.push(HeldLock { index, lock });
            self.sink = Sink::HeldList;
            return;
        }
        if t == "stack backtrace:" {
            self.saw_stack_header = true;
            self.sink = Sink::Backtrace;
            return;
        }
        if t.starts_with("Call Trace:") || t.starts_with("Call trace:") || t == "Backtrace:" {
            self.sink = Sink::Backtrace;
            return;
        }
        let cpu_line = CPU_LINE
            .captures(t)
            .map(|c| (c, true))
            .or_else(|| CPU_LINE_UNTAINTED.captures(t).map(|c| (c, false)));
        if let Some((c, with_taint)) = cpu_line {
            self.r.cpu = c[1].parse().ok();
            // `… #26 PREEMPT_RT`, `… #0 PREEMPT(full)`, `… #1 PREEMPT_{RT,(full)}`.
            let (taint, rest) = if with_taint {
                (&c[4], &c[5])
            } else {
                ("", &c[4])
            };
            if let Some(model) = rest.split_whitespace().find(|w| w.starts_with("PREEMPT")) {
                self.r.preemption = Some(model.to_string());
            }
            self.task_and_kernel(&c[2], &c[3], taint, rest, t);
            // The stack follows, with or without a `Call Trace:` header (arm32's unwinder
            // prints none).
            if self.saw_stack_header || !self.spec.stack_header {
                self.sink = Sink::Backtrace;
            }
            return;
        }
        if let Some(c) = PID_LINE.captures(t) {
            self.task_and_kernel(&c[1], &c[2], &c[3], &c[4], t);
            return;
        }
        if t.starts_with("Hardware name:") || t.starts_with("Workqueue:") {
            return;
        }
        if let Some(c) = INCONSISTENT.captures(t) {
            let irq = self.irq();
            irq.usage_from = Some(c[1].to_string());
            irq.usage_to = Some(c[2].to_string());
            irq.state = state_of_usage(&c[2]).or_else(|| state_of_usage(&c[1]));
            return;
        }
        if let Some(c) = REGISTERED.captures(t) {
            let lock = self.r.acquiring.as_ref().map(|l| l.name.clone());
            self.push_trace(lock, format!("{{{}}} state was registered", &c[1]), no);
            return;
        }
        if let Some(c) = BECAME.captures(t) {
            let safe = &c[2] == "safe";
            let lock = if safe {
                self.r
                    .irq
                    .as_ref()
                    .and_then(|i| i.safe_lock.as_ref())
                    .map(|l| l.name.clone())
            } else {
                self.r
                    .irq
                    .as_ref()
                    .and_then(|i| i.unsafe_lock.as_ref())
                    .map(|l| l.name.clone())
            };
            self.push_trace(lock, format!("{}-irq-{}", &c[1], &c[2]), no);
            return;
        }
        if t == "which would create a new lock dependency:" {
            self.sink = Sink::NewDep;
            return;
        }
        if let Some(c) = CONNECTS_SAFE.captures(t) {
            self.irq().state = Some(c[1].to_string());
            self.sink = Sink::Safe;
            return;
        }
        if TO_UNSAFE.is_match(t) {
            self.sink = Sink::Unsafe;
            return;
        }
        if let Some(c) = TOOK_UNSAFE.captures(t) {
            self.irq().state = Some(c[1].to_string());
            let this = self.r.acquiring.clone();
            self.irq().safe_lock = this;
            self.sink = Sink::Unsafe;
            return;
        }
        if let Some(c) = TAKEN_BY_SAFE.captures(t) {
            self.irq().state = Some(c[1].to_string());
            let this = self.r.acquiring.clone();
            self.irq().unsafe_lock = this;
            self.sink = Sink::Safe;
            return;
        }
        if t.starts_with("the dependencies between")
            || t.starts_with("the shortest dependencies between")
            || t.starts_with("and ") && t.ends_with("-irq-unsafe lock:")
        {
            self.sink = Sink::None;
            return;
        }
        if let Some(c) = DEP_LOCK.captures(t) {
            self.dep_lock = Some(c[1].to_string());
            self.sink = Sink::Ignore;
            return;
        }
        if t == "}" {
            self.sink = Sink::Ignore;
            return;
        }
        if t.starts_with("... key") {
            self.sink = Sink::Ignore;
            return;
        }
        if t == "... acquired at:" {
            let lock = self.dep_lock.clone();
            self.push_trace(lock, "acquired".into(), no);
            return;
        }
        if let Some(c) = DEP_STATE.captures(t) {
            let lock = self.dep_lock.clone();
            self.push_trace(lock, c[1].to_string(), no);
            return;
        }
        if let Some(c) = IRQ_STAMP.captures(t) {
            self.irq().event_stamp = c[1].parse().ok();
            self.sink = Sink::None;
            return;
        }
        if let Some(c) = IRQ_EVENT.captures(t) {
            let at = parse_frame(&c[3], no, FrameContext::Trace);
            // A line that ends at the frame's address (`[<ffffffff8ad60263>]`): the frame was
            // wrapped onto the next line. (`[<0000000000000000>] 0x0` is a whole event.)
            self.irq_event_address = c[3]
                .trim()
                .strip_prefix("[<")
                .and_then(|a| a.strip_suffix(">]"))
                .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_string);
            if self.irq_event_address.is_some() {
                self.sink = Sink::IrqEventTail;
            }
            let event = c[1].split_whitespace().collect::<Vec<_>>().join(" ");
            self.irq().events.push(IrqEvent {
                event,
                stamp: c[2].parse().unwrap_or(0),
                at,
                input_line: no,
            });
            return;
        }
        if let Some(c) = CONTEXT.captures(t) {
            self.r.wait_context = Some(WaitTypes {
                outer: c[1].parse().unwrap_or(0),
                inner: c[2].parse().unwrap_or(0),
            });
            return;
        }
        if t == "but this task is not holding:" {
            self.sink = Sink::NotHolding;
            return;
        }
        if let Some(c) = DEBUG_LOCKS.captures(t) {
            self.r.debug_locks = Some(&c[1] != "0");
            return;
        }
        if self.spec.kind == Kind::SuspiciousRcuUsage
            && let Some(from) = t
                .strip_prefix("RCU used illegally from ")
                .and_then(|s| s.strip_suffix('!'))
        {
            self.r.rcu_not_watching = Some(from.to_string());
            return;
        }
        if self.spec.kind == Kind::SleepingInAtomic
            && self.r.message.is_none()
            && let Some(c) = OLD_SLEEP_TASK.captures(t)
        {
            if let Ok(pid) = c[2].parse() {
                self.r.task = Some(Task {
                    comm: c[1].to_string(),
                    pid,
                });
            }
            self.r.message = Some(format!("at {}", &c[3]));
            return;
        }
        if self.spec.kind == Kind::SleepingInAtomic && OLD_IN_ATOMIC.is_match(t) {
            self.sink = Sink::Backtrace;
            return;
        }
        if let Some(c) = IN_ATOMIC.captures(t) {
            if let Ok(pid) = c[1].parse() {
                self.r.task = Some(Task {
                    comm: c[2].trim().to_string(),
                    pid,
                });
            }
            return;
        }
        if t == "Preemption disabled at:" {
            self.sink = Sink::Ignore;
            return;
        }
        if t == "other info that might help us debug this:"
            || t == "which lock already depends on the new lock."
            || t == "the existing dependency chain (in reverse order) is:"
            || t == "and interrupts could create inverse lock ordering between them."
            || t == "but there are no more locks to release!"
            || t.starts_with("May be due to missing lock nesting notation")
        {
            self.sink = Sink::None;
            return;
        }
        if let Some(c) = RIP.captures(t) {
            if let Some(f) = parse_frame(&c[1], no, FrameContext::Strict)
                && f.function.is_some()
            {
                self.r.rip.get_or_insert(f);
            }
            return;
        }

        match self.sink {
            Sink::Acquiring | Sink::Held | Sink::Safe | Sink::Unsafe => {
                if let Some(lock) = parse_lock_line(t, no) {
                    self.put_lock(lock);
                } else if let Some(f) = parse_frame(t, no, FrameContext::Strict) {
                    // A wrapped `at:` site on its own line.
                    self.put_site(f);
                }
            }
            Sink::NewDep => {
                if let Some((a, b)) = t.split_once("} -> (") {
                    let a = parse_lock_line(&format!("{a}}}"), no);
                    let b = parse_lock_line(&format!("({b}"), no);
                    let irq = self.irq();
                    irq.new_dependency = a.into_iter().chain(b).collect();
                }
                self.sink = Sink::None;
            }
            Sink::NotHolding if super::scan::is_crash_line(t) => self.sink = Sink::None,
            Sink::NotHolding => {
                let name = t.trim_start_matches('(').trim_end_matches(')');
                self.r.not_holding = Some(name.to_string());
                self.sink = Sink::None;
            }
            Sink::Release => self.release_site(t, no),
            Sink::Chain(i) => {
                if let Some(f) = parse_frame(t, no, FrameContext::Trace) {
                    self.r.chain[i].frames.push(f);
                }
            }
            Sink::Trace(i) => {
                if let Some(f) = parse_frame(t, no, FrameContext::Trace)
                    && let Some(tr) = self.r.irq.as_mut().and_then(|irq| irq.traces.get_mut(i))
                {
                    tr.frames.push(f);
                }
            }
            Sink::Backtrace => {
                if let Some(f) = parse_frame(t, no, FrameContext::Trace) {
                    self.r.backtrace.push(f);
                }
            }
            Sink::IrqEventTail => {
                self.sink = Sink::None;
                let address = self.irq_event_address.take();
                if let Some(mut f) = parse_frame(t, no, FrameContext::Strict)
                    && f.function.is_some()
                    && let Some(event) = self.irq().events.last_mut()
                {
                    if f.address.is_none() {
                        f.address = address;
                    }
                    event.at = Some(f);
                }
            }
            // arm32 prints a sleeping function's stack with no header after `in_atomic()`:
            // `[<c0170db8>] (___might_sleep) from [<c0170bd4>] (__might_sleep+0x50/0x9c)`.
            Sink::None
                if self.spec.kind == Kind::SleepingInAtomic
                    && self.r.backtrace.is_empty()
                    && t.starts_with("[<")
                    && t.contains(") from [<") =>
            {
                if let Some(f) = parse_frame(t, no, FrameContext::Trace) {
                    self.r.backtrace.push(f);
                    self.sink = Sink::Backtrace;
                }
            }
            Sink::HeldList | Sink::None | Sink::Ignore => {}
        }
    }

    fn release_site(&mut self, t: &str, no: usize) {
        // 2.6-era kernels printed the sentence after the site on its line (which a mailer may
        // have wrapped anywhere: `… request_resource+0x52/0x88 but there are no more`).
        let t = t.find(" but there").map_or(t, |i| &t[..i]);
        if let Some(f) = parse_frame(t, no, FrameContext::Strict)
            && let Some(l) = self.r.acquiring.as_mut()
        {
            if l.at.is_some() {
                let again = LockRef {
                    at: Some(f),
                    ..l.clone()
                };
                merge_site(l, again);
            } else {
                l.at = Some(f);
            }
        }
    }

    /// The task and, if no version line gave it, the kernel, from the `CPU:` (or old `Pid:`)
    /// line of the dump's header.
    fn task_and_kernel(&mut self, pid: &str, comm: &str, taint: &str, rest: &str, raw: &str) {
        if self.r.task.is_none()
            && let Ok(pid) = pid.parse()
        {
            self.r.task = Some(Task {
                comm: comm.to_string(),
                pid,
            });
        }
        if self.r.kernel.is_none() {
            let mut parts = rest.trim().splitn(2, ' ');
            let release = parts.next().unwrap_or("").to_string();
            let version = parts
                .next()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            self.r.kernel = Some(KernelIdent {
                release,
                version,
                taint: Some(taint.to_string()).filter(|t| !t.is_empty()),
                tainted: taint.starts_with("Tainted"),
                raw: raw.to_string(),
            });
        }
    }

    fn irq(&mut self) -> &mut IrqDetails {
        self.r.irq.get_or_insert_with(IrqDetails::default)
    }

    fn push_trace(&mut self, lock: Option<String>, state: String, no: usize) {
        let irq = self.irq();
        irq.traces.push(UsageTrace {
            lock,
            state,
            frames: Vec::new(),
            input_line: no,
        });
        let i = irq.traces.len() - 1;
        self.sink = Sink::Trace(i);
    }

    fn slot(&mut self) -> Option<&mut Option<LockRef>> {
        Some(match self.sink {
            Sink::Acquiring => &mut self.r.acquiring,
            Sink::Held => &mut self.r.held,
            Sink::Safe => &mut self.irq().safe_lock,
            Sink::Unsafe => &mut self.irq().unsafe_lock,
            _ => return None,
        })
    }

    fn put_lock(&mut self, lock: LockRef) {
        let Some(slot) = self.slot() else { return };
        match slot {
            Some(existing) if same_lock(existing, &lock) => merge_site(existing, lock),
            Some(_) => {}
            None => *slot = Some(lock),
        }
    }

    fn put_site(&mut self, f: Frame) {
        if let Some(Some(l)) = self.slot()
            && l.at.is_none()
        {
            l.at = Some(f);
        }
    }

    fn has_note_target(&self) -> bool {
        match self.sink {
            Sink::Chain(i) => !self.r.chain[i].frames.is_empty(),
            Sink::Backtrace => !self.r.backtrace.is_empty(),
            Sink::Trace(i) => self
                .r
                .irq
                .as_ref()
                .and_then(|irq| irq.traces.get(i))
                .is_some_and(|t| !t.frames.is_empty()),
            Sink::Acquiring => self.r.acquiring.as_ref().is_some_and(|l| l.at.is_some()),
            Sink::Held => self.r.held.as_ref().is_some_and(|l| l.at.is_some()),
            Sink::HeldList => self
                .r
                .held_locks
                .as_ref()
                .and_then(|h| h.entries.last())
                .is_some_and(|e| e.lock.at.is_some()),
            _ => false,
        }
    }

    fn flush_notes(&mut self) {
        if self.notes.is_empty() {
            return;
        }
        let notes = std::mem::take(&mut self.notes);
        fn apply(frames: &mut Vec<Frame>, notes: &[(SourceNote, usize)]) {
            if let Some(mut last) = frames.pop() {
                let inl = apply_source_notes(&mut last, notes);
                frames.extend(inl);
                frames.push(last);
            }
        }
        fn apply_lock(lock: &mut LockRef, notes: &[(SourceNote, usize)]) {
            if let Some(at) = lock.at.as_mut() {
                let inl = apply_source_notes(at, notes);
                if !inl.is_empty() {
                    let at = lock.at.clone().unwrap();
                    lock.at_inlined = inl;
                    lock.at_inlined.push(at);
                }
            }
        }
        match self.sink {
            Sink::Chain(i) => apply(&mut self.r.chain[i].frames, &notes),
            Sink::Backtrace => apply(&mut self.r.backtrace, &notes),
            Sink::Trace(i) => {
                if let Some(tr) = self.r.irq.as_mut().and_then(|irq| irq.traces.get_mut(i)) {
                    apply(&mut tr.frames, &notes);
                }
            }
            Sink::Acquiring => {
                if let Some(l) = self.r.acquiring.as_mut() {
                    apply_lock(l, &notes);
                }
            }
            Sink::Held => {
                if let Some(l) = self.r.held.as_mut() {
                    apply_lock(l, &notes);
                }
            }
            Sink::HeldList => {
                if let Some(e) = self
                    .r
                    .held_locks
                    .as_mut()
                    .and_then(|h| h.entries.last_mut())
                {
                    apply_lock(&mut e.lock, &notes);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self, ending: Ending) -> Report {
        for why in &ending.reasons {
            self.r.add_damage(why.clone());
        }
        // Four usage characters are the old layout on any kernel before 4.14 (2.6.30 to 4.13
        // printed six). Known from the release; with none read, from an old `[ … ]` banner
        // whose locks carry neither an address (4.17) nor wait types (5.7): `[ BUG: Invalid
        // wait context ]` is a newer banner in the old style.
        let old_usage = match &self.r.kernel {
            Some(k) => k.major_minor().is_some_and(|v| v < (4, 14)),
            None => self.r.banner.starts_with("[ ") && !self.any_lock_is_modern(),
        };
        if old_usage {
            redecode_old_usage(&mut self.r);
        }
        let mut truncated = !ending.complete;
        self.assign_scenario_cpus();
        let kind = self.r.kind;
        if kind == Kind::CircularDependency {
            let depths: Vec<u32> = self.r.chain.iter().map(|e| e.depth).collect();
            if let Some(&top) = depths.first() {
                let missing: Vec<String> = (0..=top)
                    .rev()
                    .filter(|d| !depths.contains(d))
                    .map(|d| format!("#{d}"))
                    .collect();
                if !missing.is_empty() {
                    truncated = true;
                    self.r.add_damage(format!(
                        "dependency chain incomplete: entries {} missing",
                        missing.join(", ")
                    ));
                }
            } else if ending.complete {
                truncated = true;
                self.r.add_damage("no dependency chain in the report");
            }
            if !self.r.chain.is_empty() && self.r.scenario.is_empty() && !self.saw_stack_header {
                truncated = true;
            }
            self.r.cycle = derive_cycle(&self.r);
        }
        if matches!(
            kind,
            Kind::CircularDependency
                | Kind::RecursiveLocking
                | Kind::InvalidWaitContext
                | Kind::NestedLockNotTaken
        ) && self.r.acquiring.is_none()
        {
            truncated = true;
        }
        if self.spec.stack_header && !self.saw_stack_header && ending.complete {
            self.r
                .add_damage("stack backtrace header missing: part of the report was lost");
            truncated = true;
        }
        if self.r.backtrace.iter().any(|f| {
            f.base_function()
                .is_some_and(|n| n.starts_with("should_fail"))
        }) {
            self.r
                .add_damage("fault-injection stack (should_fail) mixed into the report");
        }
        self.r.truncated = truncated;
        complete_cut_names(&mut self.r);
        self.r.locks = involved_locks(&self.r);
        self.r
    }

    fn assign_scenario_cpus(&mut self) {
        if self.raw_scenario.is_empty() {
            return;
        }
        // The kernel prints these scenarios in fixed layouts: a circular one takes A on CPU0,
        // B and A on CPU1, B on CPU0; an irq one has CPU1 disable interrupts. The layout
        // decides over indentation, which a mailer may have collapsed or wrapped away (a CPU1
        // line wrapped onto a line of its own starts at column 0).
        let n = self.raw_scenario.len();
        let two_cpu = n == 4 && self.r.kind == Kind::CircularDependency
            || n == 6
                && self
                    .raw_scenario
                    .iter()
                    .any(|(_, s)| s.action == "local_irq_disable");
        let pattern: &[u8] = if two_cpu && n == 4 {
            &[0, 1, 1, 0]
        } else if two_cpu {
            &[0, 1, 1, 1, 0, 0]
        } else {
            &[]
        };
        let min = self.raw_scenario.iter().map(|(i, _)| *i).min().unwrap_or(0);
        let max = self.raw_scenario.iter().map(|(i, _)| *i).max().unwrap_or(0);
        let by_indent = pattern.is_empty() && max > min + 8;
        let steps = self
            .raw_scenario
            .drain(..)
            .enumerate()
            .map(|(i, (indent, mut s))| {
                s.cpu = if by_indent {
                    u8::from(indent > min + 8)
                } else {
                    pattern.get(i).copied().unwrap_or(0)
                };
                s
            })
            .collect();
        self.r.scenario = steps;
    }
}

fn state_of_usage(u: &str) -> Option<String> {
    for s in ["HARDIRQ", "SOFTIRQ"] {
        if u.contains(s) {
            return Some(s.to_string());
        }
    }
    if u.contains("NMI") {
        return Some("NMI".into());
    }
    None
}

/// Longest line read as a report's kernel version line (release, build and taint flags; the
/// longest seen are about 150 characters).
const MAX_IDENT_LEN: usize = 512;

fn parse_ident(t: &str) -> KernelIdent {
    let c = IDENT_TAINT.captures(t);
    let (head, taint) = match &c {
        Some(c) => (
            c.get(1).map(|m| m.as_str()).unwrap_or(t),
            c.get(2).map(|m| m.as_str().trim().to_string()),
        ),
        None => (t, None),
    };
    let mut parts = head.trim().splitn(2, ' ');
    let release = parts.next().unwrap_or("").to_string();
    let version = parts
        .next()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    KernelIdent {
        release,
        version,
        tainted: taint.as_deref().is_some_and(|t| t.starts_with("Tainted")),
        taint,
        raw: t.to_string(),
    }
}

/// The cycle as edges: entry `#k` (k >= 1) records `class(#k-1) -> class(#k)`,
/// entry `#0` the closing edge `class(#D) -> class(#0)`.
pub fn derive_cycle(r: &Report) -> Vec<CycleEdge> {
    let name_of = |d: u32| -> Option<String> {
        r.chain_entry(d).map(|e| e.lock.name.clone()).or_else(|| {
            if d == 0 {
                r.acquiring.as_ref().map(|l| l.name.clone())
            } else {
                None
            }
        })
    };
    let top = r.chain.iter().map(|e| e.depth).max();
    let Some(top) = top else { return Vec::new() };
    let held_name = name_of(top).or_else(|| r.held.as_ref().map(|l| l.name.clone()));
    let mut edges = Vec::new();
    for e in &r.chain {
        let from = if e.depth == 0 {
            held_name.clone()
        } else {
            name_of(e.depth - 1)
        };
        if let Some(from) = from {
            edges.push(CycleEdge {
                from,
                to: e.lock.name.clone(),
                chain_entry: e.depth,
                closing: e.depth == 0,
                input_line: e.input_line,
            });
        }
    }
    edges
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Every lock a report prints, mutably.
fn each_lock(r: &mut Report, mut f: impl FnMut(&mut LockRef)) {
    let irq = r.irq.as_mut();
    let (safe, unsafe_) = match irq {
        Some(i) => (i.safe_lock.as_mut(), i.unsafe_lock.as_mut()),
        None => (None, None),
    };
    let held_list = r.held_locks.as_mut().map(|h| &mut h.entries);
    r.acquiring
        .iter_mut()
        .chain(r.held.iter_mut())
        .chain(r.chain.iter_mut().map(|e| &mut e.lock))
        .chain(held_list.into_iter().flatten().map(|e| &mut e.lock))
        .chain(safe)
        .chain(unsafe_)
        .for_each(&mut f);
}

/// A lock line cut inside its name names the lock whose whole name it begins, when the report
/// prints exactly one such (a recursive report's held lock cut as `(&(&(pqueue->lock))->rlo`
/// is the acquired `&(&(pqueue->lock))->rlock`); otherwise it keeps what was printed.
fn complete_cut_names(r: &mut Report) {
    let mut whole: Vec<String> = Vec::new();
    let mut any_cut = false;
    each_lock(r, |l| {
        if l.name_cut {
            any_cut = true;
        } else if !whole.contains(&l.name) {
            whole.push(l.name.clone());
        }
    });
    if !any_cut {
        return;
    }
    each_lock(r, |l| {
        // A name printed whole elsewhere in the report is the one it was cut after.
        if !l.name_cut || whole.contains(&l.name) {
            return;
        }
        let mut begun = whole
            .iter()
            .filter(|w| w.len() > l.name.len() && w.starts_with(l.name.as_str()));
        if let (Some(w), None) = (begun.next(), begun.next()) {
            let named = lock_from_name(w, l.input_line);
            l.name = named.name;
            l.class = named.class;
            l.name_version = named.name_version;
            l.subclass = named.subclass;
        }
    });
}

fn involved_locks(r: &Report) -> Vec<String> {
    let mut v = Vec::new();
    match r.kind {
        Kind::CircularDependency => {
            if let Some(h) = &r.held {
                push_unique(&mut v, &h.name);
            }
            // Cycle order starting from the held lock: #0 (acquired), #1, ..., #D.
            let mut entries: Vec<&ChainEntry> = r.chain.iter().collect();
            entries.sort_by_key(|e| e.depth);
            if let Some(a) = &r.acquiring {
                push_unique(&mut v, &a.name);
            }
            for e in entries {
                push_unique(&mut v, &e.lock.name);
            }
        }
        Kind::IrqSafeUnsafeOrder | Kind::IrqLockInversion => {
            if let Some(irq) = &r.irq {
                for l in irq.safe_lock.iter().chain(irq.unsafe_lock.iter()) {
                    push_unique(&mut v, &l.name);
                }
            }
            for l in r.held.iter().chain(r.acquiring.iter()) {
                push_unique(&mut v, &l.name);
            }
        }
        Kind::LockHeldReturningToUser
        | Kind::LocksHeldAtExit
        | Kind::SuspiciousRcuUsage
        | Kind::SleepingInAtomic => {
            if let Some(h) = &r.held_locks {
                for e in &h.entries {
                    push_unique(&mut v, &e.lock.name);
                }
            }
        }
        _ => {
            for l in r.acquiring.iter().chain(r.held.iter()) {
                push_unique(&mut v, &l.name);
            }
            if let Some(n) = &r.not_holding {
                push_unique(&mut v, n);
            }
        }
    }
    v
}

/// Every lock's usage decoded in the layout kernels before 2.6.30 printed.
fn redecode_old_usage(r: &mut Report) {
    let mut fix = |l: &mut LockRef| {
        // Four characters only: six are the later layout (with reclaim_fs).
        if let Some(u) = l.usage.as_deref().and_then(UsageBits::decode_old_layout) {
            l.usage_bits = Some(u);
        }
    };
    r.acquiring.iter_mut().for_each(&mut fix);
    r.held.iter_mut().for_each(&mut fix);
    r.chain.iter_mut().for_each(|e| fix(&mut e.lock));
    if let Some(h) = &mut r.held_locks {
        h.entries.iter_mut().for_each(|e| fix(&mut e.lock));
    }
    if let Some(irq) = &mut r.irq {
        irq.safe_lock.iter_mut().for_each(&mut fix);
        irq.unsafe_lock.iter_mut().for_each(&mut fix);
        irq.new_dependency.iter_mut().for_each(&mut fix);
    }
}

/// The scenario's `*** DEADLOCK ***` line, also as a Markdown editor escaped it in a GitHub
/// issue (`**\* DEADLOCK ***`).
fn is_deadlock_line(t: &str) -> bool {
    t == "*** DEADLOCK ***" || t.contains('\\') && t.replace('\\', "") == "*** DEADLOCK ***"
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cpu_line_is_read_with_and_without_its_taint() {
        let log = |cpu: &str| {
            format!(
                "BUG: sleeping function called from invalid context at kernel/locking/rwsem.c:1525\n\
                 in_atomic(): 0, irqs_disabled(): 0, non_block: 0, pid: 9, name: x\n\
                 {cpu}\nCall Trace:\n dump_stack_lvl+0x1/0x2\n down_read+0x1/0x2\n exit_mm+0x1/0x2\n\n"
            )
        };
        let v = crate::splat::parse_str(
            "t",
            &log("CPU: 0 PID: 9 Comm: foo 1.0 Tainted: G W 6.8.0 #1"),
        );
        // A name with a version-like word is not the release.
        let kernel = v[0].kernel.clone().unwrap();
        assert_eq!(kernel.release, "6.8.0");
        assert!(kernel.tainted);
        // 6.18 leaves an untainted kernel's taint out.
        let v = crate::splat::parse_str(
            "t",
            &log("CPU: 0 UID: 0 PID: 9 Comm: x 6.18.0 #1 PREEMPT_RT"),
        );
        assert_eq!(v[0].kernel.clone().unwrap().release, "6.18.0");
        assert_eq!(v[0].preemption.as_deref(), Some("PREEMPT_RT"));
    }

    #[test]
    fn usage_before_2_6_30_is_read_in_its_own_layout() {
        // Held out (round 9): 2.6.18 printed hardirq, softirq, then the reads, with `+` for
        // used in irq and `-` for taken with irqs enabled; 2.6.30 brought today's order (and
        // six characters until 4.14).
        let log = |head: &str, lock: &str| {
            format!(
                "=============================================\n{head}\n\
                 ---------------------------------------------\n\
                 sh/26 is trying to acquire lock:\n{lock}\n\n\
                 but task is already holding lock:\n{lock}\n\n"
            )
        };
        let old_lock = " (&jfs_ip->commit_mutex){--..}, at: [<782d407c>] mutex_lock+0x1c/0x20";
        let bits = |text: &str| {
            let v = crate::splat::parse_str("t", text);
            let u = v[0].acquiring.as_ref().unwrap().usage_bits.clone().unwrap();
            (
                u.hardirq_write,
                u.hardirq_read,
                u.softirq_write,
                u.softirq_read,
            )
        };
        let old = ("irqs_enabled", "unused", "irqs_enabled", "unused");
        let banner = "[ INFO: possible recursive locking detected ]";
        assert_eq!(bits(&log(banner, old_lock)), old);
        assert_eq!(
            bits(&log(&format!("{banner}\n2.6.28-rc1 #3"), old_lock)),
            old
        );
        assert_eq!(
            bits(&log(&format!("{banner}\n2.6.29-rc8 #3"), old_lock)),
            old
        );
        // Today's layout: 4.14 on, and an old-style banner whose locks carry wait types.
        let new = ("used_in_irq", "used_in_irq", "unused", "unused");
        let modern = "WARNING: possible recursive locking detected\n5.15.0 #3";
        let modern_lock = "ffff0000 (&jfs_ip->commit_mutex){--..}-{3:3}, at: mutex_lock+0x1c/0x20";
        assert_eq!(bits(&log(modern, modern_lock)), new);
        assert_eq!(bits(&log(banner, modern_lock)), new);
    }

    #[test]
    fn a_scenario_line_wrapped_to_column_0_stays_on_its_cpu() {
        // A 4.2 syslog mail: Gmail wrapped CPU1's first line onto a line of its own.
        let text = concat!(
            "WARNING: possible circular locking dependency detected\n",
            "4.2.0 #1 Not tainted\n",
            "-------------------------------------------------------\n",
            "httpd/1597 is trying to acquire lock:\n",
            " (&ids->rwsem){+++++.}, at: [<ffffffff81385354>] shm_close+0x34/0x130\n",
            "\n",
            "but task is already holding lock:\n",
            " (&mm->mmap_sem){++++++}, at: [<ffffffff8120b94b>] SyS_shmdt+0x4b/0x180\n",
            "\n",
            "other info that might help us debug this:\n",
            " Possible unsafe locking scenario:\n",
            "\n",
            "       CPU0                    CPU1\n",
            "       ----                    ----\n",
            "  lock(&mm->mmap_sem);\n",
            "lock(&xfs_dir_ilock_class);\n",
            "                               lock(&mm->mmap_sem);\n",
            "  lock(&ids->rwsem);\n",
            "\n",
            " *** DEADLOCK ***\n",
        );
        let v = crate::splat::parse_str("t", text);
        let cpus: Vec<u8> = v[0].scenario.iter().map(|s| s.cpu).collect();
        assert_eq!(cpus, [0, 1, 1, 0], "{v:#?}");
    }

    #[test]
    fn an_input_cut_where_the_version_goes_has_no_kernel() {
        let v = crate::splat::parse_str(
            "t",
            "[ 528.077900][ T7867] WARNING: possible circular locking dependency detected\n[ 528",
        );
        assert_eq!(v.len(), 1, "{v:#?}");
        assert!(v[0].kernel.is_none(), "{:?}", v[0].kernel);
        assert!(v[0].truncated);
    }

    #[test]
    fn an_old_release_site_with_its_sentence_on_the_line() {
        // 2.6.18, quoted by a mailer that wrapped the sentence after the site.
        for tail in [
            " but there are no more locks to release!\n",
            " but there are no more\nlocks to release!\n",
        ] {
            let text = format!(
                "=====================================\n\
                 [ BUG: bad unlock balance detected! ]\n\
                 -------------------------------------\n\
                 swapper/0 is trying to release lock (resource_lock) at:\n\
                 [<0000000000042842>] request_resource+0x52/0x88{tail}"
            );
            let v = crate::splat::parse_str("t", &text);
            let at = v[0].acquiring.as_ref().and_then(|l| l.at.as_ref());
            assert_eq!(
                at.and_then(|f| f.function.as_deref()),
                Some("request_resource"),
                "{v:#?}"
            );
        }
    }

    #[test]
    fn an_elided_version_line_is_no_kernel() {
        let log = concat!(
            "============================================\n",
            "WARNING: possible recursive locking detected\n",
            "...\n",
            "--------------------------------------------\n",
            "t/1 is trying to acquire lock:\n",
            "ffff888000000001 (a_lock){+.+.}-{2:2}, at: f+0x1/0x2\n",
        );
        let v = crate::splat::parse_str("log", log);
        assert_eq!(v.len(), 1);
        assert!(v[0].kernel.is_none(), "{:?}", v[0].kernel);
        assert_eq!(v[0].task.as_ref().map(|t| t.comm.as_str()), Some("t"));
    }

    #[test]
    fn a_huge_line_where_the_version_goes_is_no_kernel() {
        // Printed whole as the kernel, a 64 KiB line filled the terminal.
        let log = format!(
            "WARNING: possible circular locking dependency detected\n{}\nt/1 is trying to acquire lock:\n",
            "x".repeat(5000)
        );
        let v = crate::splat::parse_str("log", &log);
        assert_eq!(v.len(), 1);
        assert!(v[0].kernel.is_none(), "{:?}", v[0].kernel);
        assert_eq!(v[0].task.as_ref().map(|t| t.comm.as_str()), Some("t"));
    }
}
