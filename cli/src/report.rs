//! The structured form of one lockdep report, shared by every back-end.
//!
//! A [`Report`] is what `lockcheck parse` extracts from a kernel log (or from the
//! kernel-layout text printed by the `lockdep` crate). Every field that points back
//! into the input carries `input_line`, the 1-based line number in the original file.
//!
//! The dependency chain is kept in the kernel's own order (`-> #D` first, `-> #0`
//! last) in [`Report::chain`]; [`Report::cycle`] gives the same information as
//! explicit `from -> to` edges, which is what a replay of the chain needs:
//! for chain entry `#k` (k >= 1) the edge is `class(#k-1) -> class(#k)` and its
//! stack is entry `#k`'s stack; entry `#0` is the closing edge
//! `held lock -> lock being acquired`, with the current stack.

use serde::Serialize;

/// Which lockdep report this is. Serialised in snake_case (`circular_dependency`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// "possible circular locking dependency detected"
    CircularDependency,
    /// "possible recursive locking detected"
    RecursiveLocking,
    /// "inconsistent lock state"
    InconsistentLockState,
    /// "possible irq lock inversion dependency detected"
    IrqLockInversion,
    /// "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected" (and SOFTIRQ, -READ variants)
    IrqSafeUnsafeOrder,
    /// "[ BUG: Invalid wait context ]"
    InvalidWaitContext,
    /// "bad unlock balance detected!"
    BadUnlockBalance,
    /// "held lock freed!"
    HeldLockFreed,
    /// "lock held when returning to user space!"
    LockHeldReturningToUser,
    /// "`<task>` still has locks held!"
    LocksHeldAtExit,
    /// "Nested lock was not taken"
    NestedLockNotTaken,
    /// "suspicious RCU usage"
    SuspiciousRcuUsage,
    /// "BUG: sleeping function called from invalid context"
    SleepingInAtomic,
    /// DEBUG_LOCKS_WARN_ON, "WARNING: ... at kernel/locking/lockdep.c", capacity BUGs
    LockdepInternalWarning,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 14] = [
        Kind::CircularDependency,
        Kind::RecursiveLocking,
        Kind::InconsistentLockState,
        Kind::IrqLockInversion,
        Kind::IrqSafeUnsafeOrder,
        Kind::InvalidWaitContext,
        Kind::BadUnlockBalance,
        Kind::HeldLockFreed,
        Kind::LockHeldReturningToUser,
        Kind::LocksHeldAtExit,
        Kind::NestedLockNotTaken,
        Kind::SuspiciousRcuUsage,
        Kind::SleepingInAtomic,
        Kind::LockdepInternalWarning,
    ];

    /// The snake_case name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CircularDependency => "circular_dependency",
            Kind::RecursiveLocking => "recursive_locking",
            Kind::InconsistentLockState => "inconsistent_lock_state",
            Kind::IrqLockInversion => "irq_lock_inversion",
            Kind::IrqSafeUnsafeOrder => "irq_safe_unsafe_order",
            Kind::InvalidWaitContext => "invalid_wait_context",
            Kind::BadUnlockBalance => "bad_unlock_balance",
            Kind::HeldLockFreed => "held_lock_freed",
            Kind::LockHeldReturningToUser => "lock_held_returning_to_user",
            Kind::LocksHeldAtExit => "locks_held_at_exit",
            Kind::NestedLockNotTaken => "nested_lock_not_taken",
            Kind::SuspiciousRcuUsage => "suspicious_rcu_usage",
            Kind::SleepingInAtomic => "sleeping_in_atomic",
            Kind::LockdepInternalWarning => "lockdep_internal_warning",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stack frame, in any of the layouts seen in the wild.
///
/// Kernel `%pS` frames fill `function`/`offset`/`size`/`module`; symbolised frames add
/// `file`/`line`; Rust locations from the `lockdep` crate fill `file`/`line`/`column`
/// (and `thread`) and may have no `function` at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// Symbol as printed (`release_task.part.40`, `_raw_spin_lock`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Offset into the symbol (`0x59c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// Size of the symbol (`0x7f0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Module name from `[module]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Source file (`kernel/pid.c`, `src/main.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Source line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Source column (Rust locations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Thread name from `(in thread 'worker')`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Code address when printed (`[<ffffffff8105bbd0>]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// An inlined call (`[inline]`, `(inlined by)`): no frame of its own on the real stack.
    #[serde(skip_serializing_if = "is_false")]
    pub inline: bool,
    /// The unwinder marked it unreliable (`? func`, `(unreliable)`).
    #[serde(skip_serializing_if = "is_false")]
    pub unreliable: bool,
    /// 1-based line of the input this frame was read from.
    pub input_line: usize,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Frame {
    /// The function name without compiler suffixes (`.part.40`, `.isra.0`, `.cold`)
    /// or a leading ppc64 dot.
    pub fn base_function(&self) -> Option<&str> {
        let f = self.function.as_deref()?;
        let f = f.strip_prefix('.').unwrap_or(f);
        Some(f.split('.').next().unwrap_or(f))
    }

    /// Short human form: `free_pid+0x5c/0x160`, `__exit_signal (kernel/exit.c:147) [inline]`,
    /// `src/main.rs:12:5`.
    pub fn display(&self) -> String {
        let mut s = String::new();
        if let Some(f) = &self.function {
            s.push_str(f);
            if let (Some(o), Some(z)) = (&self.offset, &self.size) {
                s.push_str(&format!("+{o}/{z}"));
            }
        }
        if let Some(file) = &self.file {
            let mut loc = file.clone();
            if let Some(l) = self.line {
                loc.push_str(&format!(":{l}"));
                if let Some(c) = self.column {
                    loc.push_str(&format!(":{c}"));
                }
            }
            if s.is_empty() {
                s = loc;
            } else {
                s.push_str(&format!(" ({loc})"));
            }
        }
        if s.is_empty()
            && let Some(a) = &self.address
        {
            s = a.clone();
        }
        if self.inline {
            s.push_str(" [inline]");
        }
        s
    }
}

/// Decoded `{usage}` characters: one entry per irq state, each one of
/// `unused` (`.`), `used_in_irq` (`-`), `irqs_enabled` (`+`), `both` (`?`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageBits {
    /// HARDIRQ, write acquisitions.
    pub hardirq_write: &'static str,
    /// HARDIRQ, read acquisitions.
    pub hardirq_read: &'static str,
    /// SOFTIRQ, write acquisitions.
    pub softirq_write: &'static str,
    /// SOFTIRQ, read acquisitions.
    pub softirq_read: &'static str,
    /// RECLAIM_FS, write (6-character usage of kernels <= 4.13 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaim_fs_write: Option<&'static str>,
    /// RECLAIM_FS, read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaim_fs_read: Option<&'static str>,
}

impl UsageBits {
    /// Decode a usage string as kernels before 2.6.30 printed it: four characters for
    /// hardirq, softirq, hardirq-read, softirq-read, with `+` for used in that irq and `-`
    /// for taken with it enabled (the signs the later layout swapped).
    pub fn decode_old_layout(s: &str) -> Option<UsageBits> {
        fn one(c: char) -> Option<&'static str> {
            Some(match c {
                '.' => "unused",
                '+' => "used_in_irq",
                '-' => "irqs_enabled",
                '?' => "both",
                _ => return None,
            })
        }
        let c: Vec<char> = s.chars().collect();
        if c.len() != 4 {
            return None;
        }
        Some(UsageBits {
            hardirq_write: one(c[0])?,
            softirq_write: one(c[1])?,
            hardirq_read: one(c[2])?,
            softirq_read: one(c[3])?,
            reclaim_fs_write: None,
            reclaim_fs_read: None,
        })
    }

    /// The four columns in today's layout (hardirq write, read, softirq write, read; `-`
    /// used in that irq, `+` taken with it enabled), whatever layout was printed.
    pub fn columns(&self) -> [char; 4] {
        let c = |s: &str| match s {
            "used_in_irq" => '-',
            "irqs_enabled" => '+',
            "both" => '?',
            _ => '.',
        };
        [
            c(self.hardirq_write),
            c(self.hardirq_read),
            c(self.softirq_write),
            c(self.softirq_read),
        ]
    }

    /// Decode a usage string such as `+.-.` (without braces).
    pub fn decode(s: &str) -> Option<UsageBits> {
        fn one(c: char) -> Option<&'static str> {
            Some(match c {
                '.' => "unused",
                '-' => "used_in_irq",
                '+' => "irqs_enabled",
                '?' => "both",
                _ => return None,
            })
        }
        let c: Vec<char> = s.chars().collect();
        if c.len() != 4 && c.len() != 6 {
            return None;
        }
        Some(UsageBits {
            hardirq_write: one(c[0])?,
            hardirq_read: one(c[1])?,
            softirq_write: one(c[2])?,
            softirq_read: one(c[3])?,
            reclaim_fs_write: if c.len() == 6 { Some(one(c[4])?) } else { None },
            reclaim_fs_read: if c.len() == 6 { Some(one(c[5])?) } else { None },
        })
    }
}

/// Wait types `-{outer:inner}` (§1.10 of the lockdep reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitTypes {
    /// The context the lock may be taken in.
    pub outer: u8,
    /// What the lock presents to code inside it.
    pub inner: u8,
}

/// One lock as printed by the kernel's `print_lock()` (or a bare class name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockRef {
    /// Instance address (`c000001fce5570c8`), absent in old kernels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Class name exactly as printed, with `#N` and `/N` (`&s->seqcount#2`).
    pub name: String,
    /// Class name without the `#N` version and `/N` subclass (`&s->seqcount`).
    pub class: String,
    /// Name version `#N` (classes sharing a name are numbered in registration order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_version: Option<u32>,
    /// Subclass `/N` (`*_nested()` annotations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subclass: Option<u32>,
    /// Usage characters as printed (`+.-.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// Usage characters decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_bits: Option<UsageBits>,
    /// Wait types `{outer:inner}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitTypes>,
    /// The `at:` site (the last, non-inline one when several are printed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Frame>,
    /// Every `at:` site in print order when symbolisation printed inline callers too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_inlined: Vec<Frame>,
    /// 1-based input line of the (first) lock line.
    pub input_line: usize,
    /// The line was cut inside the name (`(&(&(pqueue->lock))->rlo`, no `)`): `name` is what
    /// was printed, or the one name of another lock of the report that it begins.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub name_cut: bool,
}

/// Kernel identification line (`5.9.0-rc5-next-20200914 #1 Not tainted`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelIdent {
    /// utsname release (`5.9.0-rc5-next-20200914`; `syzkaller` on newer syzbot kernels).
    pub release: String,
    /// Build version (`#1`), and anything else printed before the taint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `Not tainted` or `Tainted: G   OE` as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taint: Option<String>,
    /// Whether the kernel was tainted.
    pub tainted: bool,
    /// The line as printed.
    pub raw: String,
}

impl KernelIdent {
    /// The release's `major.minor` (`4.1.0-rc1+` → `(4, 1)`, `2.6.18-1.2849.fc6` → `(2, 6)`),
    /// if it starts with them (`syzkaller` does not).
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        let mut parts = self.release.split(['.', '-', '+', '_']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// The build number (`#1` of `#1 SMP PREEMPT(full)`), if the version has one.
    pub fn build(&self) -> Option<&str> {
        self.version
            .as_deref()?
            .split_whitespace()
            .find(|t| t.starts_with('#'))
    }

    /// Whether two reports naming these kernels may come from one boot: one release, and one
    /// build when both say (a report's version line and its `CPU:` line differ after the
    /// build: `#0` / `#0 PREEMPT(full)`).
    pub fn may_be_same_boot(&self, other: &KernelIdent) -> bool {
        self.release == other.release
            && match (self.build(), other.build()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// The task that triggered the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Command name (may contain `/`, `:`, `[`, spaces).
    pub comm: String,
    /// Process id.
    pub pid: u32,
}

/// `[HC0[0]:SC0[0]:HE1:SE1]`: irq context of the task when the report fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IrqContext {
    /// In hardirq context.
    pub hardirq: u32,
    /// Hardirq nesting count.
    pub hardirq_count: u32,
    /// In softirq context.
    pub softirq: u32,
    /// Softirq nesting count.
    pub softirq_count: u32,
    /// Hardirqs enabled.
    pub hardirqs_enabled: bool,
    /// Softirqs enabled.
    pub softirqs_enabled: bool,
}

/// One `-> #N (class){usage}-{o:i}:` entry of the dependency chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainEntry {
    /// N in `-> #N`.
    pub depth: u32,
    /// The class this entry is about (no address, no `at:`).
    pub lock: LockRef,
    /// The stack saved when the edge into this class was recorded, innermost first,
    /// with inline frames expanded in place.
    pub frames: Vec<Frame>,
    /// 1-based input line of the `-> #N` line.
    pub input_line: usize,
}

/// One edge of the reported cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleEdge {
    /// Class held when the edge was recorded.
    pub from: String,
    /// Class acquired.
    pub to: String,
    /// The chain entry (`-> #N`) whose stack recorded this edge.
    pub chain_entry: u32,
    /// True for the edge being added now (entry `#0`), which closes the cycle.
    pub closing: bool,
    /// 1-based input line of the chain entry.
    pub input_line: usize,
}

/// One line of the "Possible unsafe locking scenario" table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioStep {
    /// CPU column (0 or 1).
    pub cpu: u8,
    /// `lock`, `rlock`, `sync`, `local_irq_disable` or `interrupt`.
    pub action: String,
    /// Class name for lock actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// 1-based input line.
    pub input_line: usize,
}

/// One entry ` #N: <lock>` of a held-locks list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLock {
    /// N in ` #N:`.
    pub index: u32,
    /// The lock.
    pub lock: LockRef,
}

/// `N locks held by comm/pid:` and its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLocks {
    /// Count printed in the header.
    pub count: u32,
    /// Task named in the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// The entries, bottom of the stack first.
    pub entries: Vec<HeldLock>,
    /// 1-based input line of the header.
    pub input_line: usize,
}

/// A usage-state trace: `{IN-HARDIRQ-W} state was registered at:`,
/// `... which became SOFTIRQ-irq-safe at:`, `HARDIRQ-ON-W at:` inside a dependency
/// block, or `... acquired at:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageTrace {
    /// Class the trace belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// The state (`IN-HARDIRQ-W`, `HARDIRQ-irq-safe`, `INITIAL USE`, `acquired`).
    pub state: String,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// 1-based input line of the heading.
    pub input_line: usize,
}

/// An `irq event stamp` line (`hardirqs last  enabled at (8353): [<..>] sym`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IrqEvent {
    /// `hardirqs last enabled`, `softirqs last disabled`, ...
    pub event: String,
    /// The event counter.
    pub stamp: u64,
    /// Where it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Frame>,
    /// 1-based input line.
    pub input_line: usize,
}

/// Details of irq-state reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IrqDetails {
    /// `HARDIRQ`, `SOFTIRQ`, `HARDIRQ-READ`, `SOFTIRQ-READ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// For inconsistent lock state: the usage before (`IN-HARDIRQ-W`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_from: Option<String>,
    /// For inconsistent lock state: the new usage (`HARDIRQ-ON-W`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_to: Option<String>,
    /// The irq-safe lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe_lock: Option<LockRef>,
    /// The irq-unsafe lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsafe_lock: Option<LockRef>,
    /// `which would create a new lock dependency:` `(from) -> (to)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_dependency: Vec<LockRef>,
    /// `irq event stamp:` value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_stamp: Option<u64>,
    /// The `hardirqs/softirqs last enabled/disabled at` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<IrqEvent>,
    /// Usage-state traces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<UsageTrace>,
}

/// A piece of evidence: an input line and why it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// 1-based input line.
    pub line: usize,
    /// What this line shows.
    pub note: String,
}

/// The classification of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `likely_false_positive`, `likely_genuine` or `undetermined`.
    pub label: Label,
    /// Id of the rule that decided (a section of docs/classification.md).
    pub rule: String,
    /// Plain-English explanation.
    pub explanation: String,
    /// Input lines supporting the explanation.
    pub evidence: Vec<Evidence>,
    /// Further observations that did not decide the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What decided: `rule` (the rule's reading of the report) or `rule+replay` (the rule,
    /// confirmed or overruled by replaying the chain through the validator).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basis: String,
    /// What a maintainer should check next.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub check_next: String,
}

/// Verdict label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The report is most likely not a real deadlock.
    LikelyFalsePositive,
    /// The report most likely describes a real bug.
    LikelyGenuine,
    /// The evidence does not decide.
    Undetermined,
}

impl Label {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::LikelyFalsePositive => "likely_false_positive",
            Label::LikelyGenuine => "likely_genuine",
            Label::Undetermined => "undetermined",
        }
    }
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict {
            label: Label::Undetermined,
            rule: "unclassified".into(),
            explanation: String::new(),
            evidence: Vec::new(),
            notes: Vec::new(),
            basis: String::new(),
            check_next: String::new(),
        }
    }
}

/// Everything extracted from one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Input name (`-` for standard input).
    pub source: String,
    /// 1-based line where the report starts (its `====` rule or banner).
    pub line: usize,
    /// 1-based last line that belongs to the report.
    pub end_line: usize,
    /// Report kind.
    pub kind: Kind,
    /// syzbot-convention title.
    pub title: String,
    /// Class names involved, as printed (cycle order for circular reports).
    pub locks: Vec<String>,
    /// Classification.
    pub verdict: Verdict,
    /// The report is incomplete (cut off, interrupted, or sections missing).
    pub truncated: bool,
    /// Why syzkaller's parser would mark the report corrupted (`CORRUPTED: Y` in its
    /// tests), when it would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupted: Option<String>,
    /// What lockcheck found damaged or missing in the report (several reasons joined with
    /// `; `), when anything is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
    /// The banner line as printed.
    pub banner: String,
    /// Kernel identification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelIdent>,
    /// Task that triggered the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// CPU from the `CPU: N PID: ...` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// The preemption model the `CPU:` line ends with (`PREEMPT(full)`, `PREEMPT_RT`,
    /// `PREEMPT_{RT,(full)}`), when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<String>,
    /// `[HC..:SC..:HE.:SE.]` when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub irq_context: Option<IrqContext>,
    /// The lock being acquired (or taken / locked / released / changed state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquiring: Option<LockRef>,
    /// The lock already held (or the held lock being freed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<LockRef>,
    /// `-> #N` entries in print order (`#D` first, `#0` last).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainEntry>,
    /// The cycle as edges, derived from the chain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleEdge>,
    /// `Chain exists of:` names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain_exists_of: Vec<String>,
    /// The unsafe-scenario table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenario: Vec<ScenarioStep>,
    /// The held-locks list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_locks: Option<HeldLocks>,
    /// The final stack backtrace (after `stack backtrace:` / `Call Trace:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backtrace: Vec<Frame>,
    /// irq usage states, their traces and the irq event stamps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub irq: Option<IrqDetails>,
    /// `context-{c:c}` of invalid-wait-context reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_context: Option<WaitTypes>,
    /// Class name a nested lock should have been taken under (`but this task is not holding:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_holding: Option<String>,
    /// Memory range of a held-lock-freed report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freed_range: Option<(String, String)>,
    /// Kind-specific message: the RCU `file:line message`, the sleeping-function site,
    /// the `DEBUG_LOCKS_WARN_ON(...)` expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `debug_locks = N` of suspicious-RCU reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_locks: Option<bool>,
    /// A suspicious-RCU report's `RCU used illegally from …!` line (`idle CPU`, `offline CPU`,
    /// `extended quiescent state`): RCU was not watching this CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcu_not_watching: Option<String>,
    /// `RIP:`/`pc :` frame of WARNING-style reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rip: Option<Frame>,
}

impl Report {
    /// A report with only its identity filled in.
    pub fn new(source: &str, line: usize, kind: Kind, banner: &str) -> Report {
        Report {
            source: source.to_string(),
            line,
            end_line: line,
            kind,
            title: String::new(),
            locks: Vec::new(),
            verdict: Verdict::default(),
            truncated: false,
            corrupted: None,
            damage: None,
            banner: banner.to_string(),
            kernel: None,
            task: None,
            cpu: None,
            preemption: None,
            irq_context: None,
            acquiring: None,
            held: None,
            chain: Vec::new(),
            cycle: Vec::new(),
            chain_exists_of: Vec::new(),
            scenario: Vec::new(),
            held_locks: None,
            backtrace: Vec::new(),
            irq: None,
            wait_context: None,
            not_holding: None,
            freed_range: None,
            message: None,
            debug_locks: None,
            rcu_not_watching: None,
            rip: None,
        }
    }

    /// The chain entry with depth `d`.
    pub fn chain_entry(&self, d: u32) -> Option<&ChainEntry> {
        self.chain.iter().find(|e| e.depth == d)
    }

    /// The cycle as it prints, its first lock again at the end: for a circular report, the held
    /// lock, the acquired one and the chain's entries `#1 …`, with `…` where entries are
    /// missing (a cut chain: no edge is made up across the gap); otherwise the locks.
    pub fn cycle_names(&self) -> Vec<String> {
        let top = self.chain.iter().map(|e| e.depth).max();
        let (Kind::CircularDependency, Some(top)) = (self.kind, top) else {
            let mut v = self.locks.clone();
            if let Some(first) = self.locks.first() {
                if self.kind == Kind::CircularDependency {
                    // A report cut before its chain: the way back is not known, but for the
                    // lock before the held one that `Chain exists of: A --> P --> H` names. A
                    // scenario of the two locks alone, with no `Chain exists of:` (printed
                    // whenever the cycle has a third lock), is a cycle of the two.
                    let named: Vec<&str> = self
                        .scenario
                        .iter()
                        .filter_map(|s| s.lock.as_deref())
                        .collect();
                    let two = self.chain_exists_of.is_empty()
                        && v.len() == 2
                        && named.iter().all(|n| v.iter().any(|l| l == n))
                        && v.iter().all(|l| named.contains(&l.as_str()));
                    if !two {
                        v.push("…".into());
                    }
                    // The scenario's third lock is that one too (CPU1 takes it first).
                    let others: Vec<&str> = named
                        .iter()
                        .copied()
                        .filter(|n| !v.iter().any(|l| l == n))
                        .fold(Vec::new(), |mut o, n| {
                            if !o.contains(&n) {
                                o.push(n);
                            }
                            o
                        });
                    let parent = match (&self.chain_exists_of[..], &others[..]) {
                        ([source, parent, target], _) if (&v[0], &v[1]) == (target, source) => {
                            Some(parent.as_str())
                        }
                        ([], [parent]) => Some(*parent),
                        _ => None,
                    };
                    if let Some(parent) = parent.filter(|_| v.len() == 3) {
                        v.push(parent.to_string());
                    }
                }
                v.push(first.clone());
            }
            return v;
        };
        let name_at = |d: u32| {
            self.chain_entry(d)
                .map(|e| e.lock.name.clone())
                .or_else(|| {
                    (d == 0)
                        .then(|| self.acquiring.as_ref().map(|l| l.name.clone()))
                        .flatten()
                })
        };
        // From the held lock when the report names it (a headless one starts at `#0`).
        let mut v: Vec<String> = self.held.iter().map(|l| l.name.clone()).collect();
        for d in 0..=top {
            match name_at(d) {
                Some(n) if v.last() != Some(&n) => v.push(n),
                Some(_) => {}
                None if v.last().map(String::as_str) != Some("…") => v.push("…".into()),
                None => {}
            }
        }
        if v.first().map(String::as_str) == Some("…") {
            // The chain's first entries are missing too: start at what is known, the gap last.
            v.rotate_left(1);
        }
        match v.first().cloned() {
            Some(first) if v.last() != Some(&first) || v.len() == 1 => v.push(first),
            Some(_) => {}
            None => return self.locks.clone(),
        }
        v
    }

    /// Append a damage reason (several are joined with `; `).
    pub fn add_damage(&mut self, why: impl Into<String>) {
        let why = why.into();
        match &mut self.damage {
            Some(c) if !c.contains(&why) => {
                c.push_str("; ");
                c.push_str(&why);
            }
            Some(_) => {}
            None => self.damage = Some(why),
        }
    }
}
