//! The report formats syzkaller's Linux parser knows for lockdep-family reports, as data.
//!
//! Every oops *header* (`BUG:`, `WARNING:`, `INFO:`, `general protection fault`, ...) is
//! listed, because any of them ends the report before it (console output without caller
//! ids). Title *formats* are listed for the three headers that lockdep reports start with;
//! within one header, the format whose title pattern matches earliest in the report wins.
//! Source: google/syzkaller `pkg/report/linux.go` and `report.go` at commit 1e72964b01
//! (2026-08-17), rewritten here as tables (docs/parse.md, "Titles").

use std::sync::LazyLock;

use regex::Regex;

/// Expand syzkaller's pattern macros (`{{PC}}`, `{{FUNC}}`, `{{SRC}}`, `{{ADDR}}`, `{{TASK}}`).
pub(super) fn expand(re: &str) -> String {
    re.replace("{{ADDR}}", "0x[0-9a-f]+")
        .replace("{{PC}}", r"\[<?(?:0x)?[0-9a-f]+>?\]")
        .replace("{{FUNC}}", r"([a-zA-Z0-9_]+)(?:\.|\+)")
        .replace("{{SRC}}", r"([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)")
        .replace("{{TASK}}", r"[\s\S]{0,100}?")
}

pub(super) fn compile(re: &str) -> Regex {
    Regex::new(&expand(re)).unwrap_or_else(|e| panic!("bad pattern {re}: {e}"))
}

/// One step of locating the frame a title names.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part {
    /// Advance to the first line matching this pattern; its capture groups are candidate frames.
    Line(&'static str),
    /// Parse a stack trace from here (until the next stack start).
    Stack,
}

/// How the frame of a title is found.
#[derive(Debug, Clone, Copy)]
pub(super) struct StackFmt {
    pub parts: &'static [Part],
    /// Tried when `parts` finds no frame.
    pub parts2: &'static [Part],
    /// Frames to skip on top of the global list (regexes, matched anywhere in the name).
    pub skip: &'static [&'static str],
}

/// One title format.
#[derive(Debug, Clone, Copy)]
pub(super) struct Format {
    /// Matched anywhere in the report; the earliest match among a header's formats wins.
    pub title: &'static str,
    /// When present and not matching, the report is corrupted (and its groups feed `fmt`).
    pub report: Option<&'static str>,
    /// `%[N]v` placeholders: capture groups of `report` (or `title`), then one frame per stack.
    pub fmt: &'static str,
    pub stack: Option<StackFmt>,
    /// The format has no stack trace by nature (not corrupted without one).
    pub no_stack_trace: bool,
    /// Any report of this format is corrupted.
    pub corrupted: bool,
}

const fn fmt(title: &'static str, fmt: &'static str) -> Format {
    Format {
        title,
        report: None,
        fmt,
        stack: None,
        no_stack_trace: false,
        corrupted: false,
    }
}

const WARNING_RIP: &str = concat!(
    r"(?:(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+",
    r"|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))",
    r"|--- interrupt: [0-9]+ at {{FUNC}})"
);
pub(super) const CALL_TRACE: &str = r"(?:Call (?:T|t)race:)|(?:Backtrace:)";

const CALL_TRACE_STACK: &[Part] = &[Part::Line(CALL_TRACE), Part::Stack];
const WARNING_PARTS: &[Part] = &[Part::Line(WARNING_RIP), Part::Stack];

const fn warning_stack(skip: &'static [&'static str]) -> StackFmt {
    StackFmt {
        parts: WARNING_PARTS,
        parts2: CALL_TRACE_STACK,
        skip,
    }
}

const fn call_trace_stack(skip: &'static [&'static str]) -> StackFmt {
    StackFmt {
        parts: CALL_TRACE_STACK,
        parts2: &[],
        skip,
    }
}

/// An oops header with the lines that never start a report although they contain it.
#[derive(Debug)]
pub(super) struct Oops {
    pub header: &'static str,
    pub formats: &'static [Format],
    pub suppressions: &'static [&'static str],
}

const BUG_FORMATS: &[Format] = &[
    Format {
        report: Some(r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        ..fmt(
            "BUG: .*still has locks held!",
            "BUG: still has locks held in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"BUG: lock held when returning to user space(?:.*\n)+?",
            r".*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"
        )),
        no_stack_trace: true,
        ..fmt(
            "BUG: lock held when returning to user space",
            "BUG: lock held when returning to user space in %[1]v",
        )
    },
    Format {
        stack: Some(StackFmt {
            parts: &[
                Part::Line("{{PC}} +{{FUNC}}"),
                Part::Line(CALL_TRACE),
                Part::Stack,
            ],
            parts2: &[],
            skip: &[],
        }),
        ..fmt(
            "BUG: bad unlock balance detected!",
            "BUG: bad unlock balance in %[1]v",
        )
    },
    Format {
        report: Some(r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
        ..fmt("BUG: held lock freed!", "BUG: held lock freed in %[1]v")
    },
    Format {
        stack: Some(call_trace_stack(&[])),
        ..fmt(
            "BUG: sleeping function called from invalid context at (.*)",
            "BUG: sleeping function called from invalid context in %[2]v",
        )
    },
    Format {
        // arm/arm64 print invalid wait context this way; the title groups them with x86's.
        stack: Some(call_trace_stack(&["lock_sock", "release_sock"])),
        ..fmt("BUG: Invalid wait context", "WARNING: locking bug in %[1]v")
    },
    Format {
        corrupted: true,
        ..fmt(r"BUG:[[:space:]]*(?:\n|$)", "BUG: corrupted")
    },
];

const WARNING_FORMATS: &[Format] = &[
    Format {
        stack: Some(warning_stack(&["lock_sock", "release_sock"])),
        ..fmt(
            r"WARNING: .*kernel/locking/lockdep\.c.*lock_",
            "WARNING: locking bug in %[1]v",
        )
    },
    Format {
        report: Some(r"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}"),
        ..fmt(
            "WARNING: .*still has locks held!",
            "WARNING: still has locks held in %[1]v",
        )
    },
    Format {
        stack: Some(warning_stack(&[])),
        ..fmt(
            "WARNING: Nested lock was not taken",
            "WARNING: nested lock was not taken in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"WARNING: lock held when returning to user space(?:.*\n)+?",
            r".*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"
        )),
        no_stack_trace: true,
        ..fmt(
            "WARNING: lock held when returning to user space",
            "WARNING: lock held when returning to user space in %[1]v",
        )
    },
    Format {
        stack: Some(warning_stack(&[])),
        ..fmt(r"WARNING: {{SRC}} at 0x\d+, CPU#\d+", "WARNING in %[2]v")
    },
    Format {
        stack: Some(warning_stack(&[])),
        ..fmt("WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[3]v")
    },
    Format {
        stack: Some(warning_stack(&[])),
        ..fmt("WARNING: {{SRC}} at {{FUNC}}", "WARNING in %[3]v")
    },
    Format {
        stack: Some(warning_stack(&[])),
        ..fmt(r"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*", "WARNING in %[3]v")
    },
    Format {
        report: Some(
            r"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock",
        ),
        stack: Some(StackFmt {
            parts: &[
                Part::Line("at: (?:{{PC}} +)?{{FUNC}}"),
                Part::Line("at: (?:{{PC}} +)?{{FUNC}}"),
                Part::Stack,
            ],
            parts2: &[],
            // Workqueue functions take locks of work items: deadlocks seen there belong
            // to the work item's subsystem.
            skip: &[
                "process_one_work",
                "flush_workqueue",
                "drain_workqueue",
                "destroy_workqueue",
            ],
        }),
        ..fmt(
            "WARNING: possible circular locking dependency detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?",
            r".*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"
        )),
        ..fmt(
            "WARNING: possible irq lock inversion dependency detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        stack: Some(StackFmt {
            parts: &[Part::Line("which became (?:.*) at:"), Part::Stack],
            parts2: &[],
            skip: &[],
        }),
        ..fmt(
            "WARNING: .*-safe -> .*-unsafe lock order detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"WARNING: possible recursive locking detected(?:.*\n)+?",
            r".*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"
        )),
        ..fmt(
            "WARNING: possible recursive locking detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(
            r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
        ),
        stack: Some(call_trace_stack(&[])),
        ..fmt(
            "WARNING: inconsistent lock state",
            "inconsistent lock state in %[2]v",
        )
    },
    Format {
        report: Some(r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
        stack: Some(call_trace_stack(&["rcu", "kmem", "slab"])),
        ..fmt(
            "WARNING: suspicious RCU usage",
            "WARNING: suspicious RCU usage in %[2]v",
        )
    },
    Format {
        stack: Some(StackFmt {
            parts: &[
                Part::Line("{{PC}} +{{FUNC}}"),
                Part::Line(CALL_TRACE),
                Part::Stack,
            ],
            parts2: &[],
            skip: &[],
        }),
        ..fmt(
            "WARNING: bad unlock balance detected!",
            "WARNING: bad unlock balance in %[1]v",
        )
    },
    Format {
        report: Some(r"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}"),
        ..fmt(
            "WARNING: held lock freed!",
            "WARNING: held lock freed in %[1]v",
        )
    },
    Format {
        corrupted: true,
        ..fmt(r"WARNING:[[:space:]]*(?:\n|$)", "WARNING: corrupted")
    },
];

const INFO_FORMATS: &[Format] = &[
    Format {
        report: Some(concat!(
            r"INFO: possible circular locking dependency detected \](?:.*\n)+?",
            r".*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"
        )),
        ..fmt(
            "INFO: possible circular locking dependency detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?",
            r".*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"
        )),
        ..fmt(
            "INFO: possible irq lock inversion dependency detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?",
            r".*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"
        )),
        ..fmt(
            "INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(concat!(
            r"INFO: possible recursive locking detected \](?:.*\n)+?",
            r".*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"
        )),
        ..fmt(
            "INFO: possible recursive locking detected",
            "possible deadlock in %[1]v",
        )
    },
    Format {
        report: Some(
            r"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
        ),
        ..fmt(
            "INFO: inconsistent lock state",
            "inconsistent lock state in %[1]v",
        )
    },
    Format {
        stack: Some(call_trace_stack(&["stack", "lock", "IRQ"])),
        ..fmt(
            "INFO: trying to register non-static key",
            "INFO: trying to register non-static key in %[1]v",
        )
    },
    Format {
        report: Some(r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
        stack: Some(call_trace_stack(&["rcu", "kmem", "slab"])),
        ..fmt(
            "INFO: suspicious RCU usage",
            "INFO: suspicious RCU usage in %[2]v",
        )
    },
    Format {
        corrupted: true,
        ..fmt(r"INFO:[[:space:]]*(?:\n|$)", "INFO: corrupted")
    },
];

/// Every header of syzkaller's Linux parser (and its common ones), in its order.
pub(super) static OOPSES: &[Oops] = &[
    Oops {
        header: "BUG:",
        formats: BUG_FORMATS,
        suppressions: &[
            "ODEBUG:",
            "Boot_DEBUG:",
            "xlog_status:",
            "DEBUG:",
            "BUG: no syscalls can create resource",
        ],
    },
    Oops {
        header: "WARNING:",
        formats: WARNING_FORMATS,
        suppressions: &[
            "WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
            "WARNING: workqueue cpumask: online intersect > possible intersect",
            "WARNING: [Tt]he mand mount option",
            r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
            "WARNING: Unprivileged eBPF is enabled with eIBRS",
            r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size",
            "WARNING: See https.* for mitigation options.",
            "WARNING: kernel not compiled with CPU_SRSO",
            r"EXT4-[Ff][Ss](?: \(.*\))?:",
            "(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
            r"XFS \(\w+\): WARNING",
        ],
    },
    Oops {
        header: "INFO:",
        formats: INFO_FORMATS,
        suppressions: &[
            "INFO: lockdep is turned off",
            "INFO: Stall ended before state dump start",
            "INFO: NMI handler",
            "INFO: recovery required on readonly filesystem",
            "(handler|interrupt).*took too long",
            "INFO: sys_.* is not present in /proc/kallsyms",
            "INFO: no syscalls can create resource",
            "rmt_storage:INFO:",
            "_INFO:",
        ],
    },
    Oops {
        header: "Unable to handle kernel",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "general protection fault",
        formats: &[],
        suppressions: &[r"general protection fault .* error:\d+ in "],
    },
    Oops {
        header: "stack segment: ",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Kernel panic",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "PANIC: double fault",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "rust_kernel: panicked",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "kernel BUG",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Kernel BUG",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "BUG kmalloc-",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "divide error:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "divide_error:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "invalid opcode:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "int3:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "UBSAN:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Booting the kernel.",
        formats: &[],
        suppressions: &["Parsing ELF|Decompressing Linux|Unknown parameter '"],
    },
    Oops {
        header: "unregister_netdevice: waiting for",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "VFS: Close: file count is 0",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "VFS: Busy inodes after unmount",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Internal error:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Unhandled fault:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "Alignment trap:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "trusty: panic",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "fatal error:",
        formats: &[],
        suppressions: &["ALSA", "fatal error: cannot create timer"],
    },
    Oops {
        header: "SYZFAIL:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "SYZFATAL:",
        formats: &[],
        suppressions: &[],
    },
    Oops {
        header: "panic:",
        formats: &[],
        suppressions: &[
            "_panic:",
            "xlog_status:",
            r"ddb\.onpanic:",
            "evtlog_status:",
        ],
    },
];

/// Lines that contain a header but do not start a second report inside the first.
pub(super) static REPORT_START_IGNORES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        "invalid opcode: 0000",
        "Kernel panic - not syncing",
        "unregister_netdevice: waiting for",
        "PANIC: double fault",
        "Internal error:",
    ]
    .iter()
    .map(|r| compile(r))
    .collect()
});

/// Informational messages with a stack of their own: inside a report they mark it as
/// possibly mixed with another one.
pub(super) const INFO_MESSAGES_WITH_STACK: &[&str] = &[
    "vmalloc: allocation failure:",
    "FAULT_INJECTION: forcing a failure",
    "FAULT_FLAG_ALLOW_RETRY missing",
];

static SUPPRESSIONS: LazyLock<Vec<Vec<Regex>>> = LazyLock::new(|| {
    OOPSES
        .iter()
        .map(|o| o.suppressions.iter().map(|s| compile(s)).collect())
        .collect()
});

/// The first header (in table order) this line starts a report with, if any.
pub(super) fn match_oops(line: &str) -> Option<&'static Oops> {
    OOPSES.iter().enumerate().find_map(|(i, o)| {
        (line.contains(o.header) && !SUPPRESSIONS[i].iter().any(|s| s.is_match(line))).then_some(o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for o in OOPSES {
            for f in o.formats {
                compile(f.title);
                if let Some(r) = f.report {
                    compile(r);
                }
                for p in f.stack.iter().flat_map(|s| s.parts.iter().chain(s.parts2)) {
                    if let Part::Line(r) = p {
                        compile(r);
                    }
                }
            }
        }
        assert!(REPORT_START_IGNORES.len() == 5);
    }

    #[test]
    fn headers_and_suppressions() {
        assert_eq!(
            match_oops("WARNING: possible circular locking dependency detected").map(|o| o.header),
            Some("WARNING:")
        );
        assert!(match_oops("INFO: lockdep is turned off.").is_none());
        assert!(match_oops("DEBUG_LOCKS_WARN_ON(1)").is_none());
        assert_eq!(
            match_oops("[ BUG: bad unlock balance detected! ]").map(|o| o.header),
            Some("BUG:")
        );
    }
}
