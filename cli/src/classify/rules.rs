//! The rule table and the data it is driven by.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::{Context, Earlier, Finding, Rule};
use crate::report::{ChainEntry, Frame, HeldLock, Kind, Label, LockRef, Report};
use crate::splat::stack::canonical_class;

/// Class names derived from an initialiser's parameter or a macro local: every lock
/// initialised through the same helper shares the class.
pub const GENERIC_CLASS_PATTERNS: &[&str] = &[
    // A helper's parameter `s` (`&s->seqcount`), not a superblock's field (`&s->s_dquot…`,
    // `&s->s_umount`: alloc_super()'s `s`, one init site per field, a per-object class).
    r"^&s->(?:[^s]|s[^_])",
    r"^&____s->",
    r"^&x->",
    r"^&l->",
    r"^&lock->",
    r"^&sem->",
    r"^&mutex->",
    r"^&m->",
    r"^&obj->",
    r"^lock#\d+$",
    r"^&xa->xa_lock",
    // Every skb queue: one key for all (2.6.x `skb_queue_lock_key`), later one class per file
    // that inlines `skb_queue_head_init()` (`&list->lock#N`).
    r"^&?skb_queue_lock_key",
    r"^&list->lock",
];

/// Names of classes shared by many objects of one array or helper (generic names plus
/// array elements such as `&folio_wait_table[i]`).
pub const SHARED_CLASS_PATTERNS: &[&str] = &[r"\[i\]", r"\[\w+\]"];

/// Frames that read a seqcount (zero-length recursive-read acquisitions).
pub const READER_FRAMES: &[&str] = &[
    "seqcount_lockdep_reader_access",
    "read_seqcount_begin",
    "__read_seqcount_begin",
    "raw_read_seqcount_begin",
    "read_seqcount_retry",
    "read_seqbegin",
    "read_seqbegin_or_lock",
    "read_seqbegin_or_lock_irqsave",
    "read_mems_allowed_begin",
    "read_mems_allowed_retry",
    "u64_stats_fetch_begin",
    "zone_span_seqbegin",
    "zonelist_iter_begin",
];

/// Whether a known site reads or writes its seqcount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRole {
    /// Reader (`read_seqcount_begin` and friends).
    Read,
    /// Writer (holds the write section).
    Write,
}

/// Functions known to access one particular seqcount/seqlock: (function, object, role).
/// Used to name the object behind a conflated class; the code paths themselves come
/// from the stacks in the log.
pub const KNOWN_SEQCOUNT_SITES: &[(&str, &str, FrameRole)] = &[
    (
        "read_mems_allowed_begin",
        "current->mems_allowed_seq",
        FrameRole::Read,
    ),
    (
        "read_mems_allowed_retry",
        "current->mems_allowed_seq",
        FrameRole::Read,
    ),
    (
        "cpuset_change_task_nodemask",
        "tsk->mems_allowed_seq",
        FrameRole::Write,
    ),
    (
        "set_mems_allowed",
        "current->mems_allowed_seq",
        FrameRole::Write,
    ),
    ("__exit_signal", "sig->stats_lock", FrameRole::Write),
    ("thread_group_cputime", "sig->stats_lock", FrameRole::Read),
    ("do_task_stat", "sig->stats_lock", FrameRole::Read),
    (
        "zone_span_writelock",
        "zone->span_seqlock",
        FrameRole::Write,
    ),
    ("zone_span_seqbegin", "zone->span_seqlock", FrameRole::Read),
    (
        "__build_all_zonelists",
        "zonelist_update_seq",
        FrameRole::Write,
    ),
    (
        "zonelist_iter_begin",
        "zonelist_update_seq",
        FrameRole::Read,
    ),
    ("netdev_copy_name", "netdev_rename_lock", FrameRole::Read),
    ("netdev_get_name", "netdev_rename_lock", FrameRole::Read),
    ("dev_change_name", "netdev_rename_lock", FrameRole::Write),
    ("__d_move", "rename_lock", FrameRole::Write),
    ("d_move", "rename_lock", FrameRole::Write),
];

/// Lock primitives, lockdep internals and seqcount accessors: frames that say *how* a
/// lock was taken, not *which code* took it.
static PRIMITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:lock_acquire|__lock_acquire|lock_acquired|lock_sync|check_prevs?_add|validate_chain",
        r"|check_noncircular|check_deadlock|check_irq_usage|check_wait_context|print_\w+|mark_\w+",
        r"|lockdep_\w+|__?raw_\w+|_raw_\w+|do_raw_\w+|raw_spin_\w+|spin_\w+|__spin_\w+|rt_spin_\w+",
        r"|read_lock\w*|write_lock\w*|read_unlock\w*|write_unlock\w*|queued_\w+",
        r"|mutex_\w+|__mutex_\w+|rt_mutex_\w+|ww_mutex_\w+|down|down_\w+|__down\w*|up_\w+",
        r"|rwsem_\w+|__rwsem\w*|percpu_down_\w+|__percpu_down\w+|percpu_rwsem_\w+",
        r"|lock_sock\w*|release_sock|local_lock\w*|lock_map_acquire\w*|rcu_lock_acquire",
        r"|might_lock\w*|seqcount_lockdep_reader_access|read_seqcount_\w+|__read_seqcount_\w+",
        r"|raw_read_seqcount\w*|read_seqbegin\w*|do_write_seqcount_\w+|write_seqcount_\w+",
        r"|write_seqlock\w*|__write_seqlock\w*|seqprop_\w+|_atomic_dec_and_lock\w*|atomic_dec_and_\w+",
        r"|fs_reclaim_acquire|__fs_reclaim_acquire|might_alloc|__might_sleep|___might_sleep",
        r"|save_trace|stack_trace_save\w*|arch_stack_walk|kernel_text_address|__kernel_text_address",
        // Lockdep's release side and 2.6-era lock entry points (`_spin_lock_irqsave`).
        r"|lock_release|__lock_release|reacquire_held_locks|lock_contended|__lock_contended",
        r"|lock_downgrade|__lock_downgrade|lock_set_class|__lock_set_class|find_held_lock",
        r"|hlock_class|_spin_\w+|_read_\w+|_write_\w+|up|percpu_up_\w+|__percpu_up_\w+)$"
    ))
    .unwrap()
});

static GENERIC: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(GENERIC_CLASS_PATTERNS).unwrap());
static SHARED: LazyLock<RegexSet> = LazyLock::new(|| RegexSet::new(SHARED_CLASS_PATTERNS).unwrap());
static STATIC_LOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_.]*$").unwrap());

/// Whether a frame is a lock primitive or lockdep internal (says how, not who).
pub fn is_primitive(f: &Frame) -> bool {
    // A test module's own functions (`lockdep_test_init`) are code, not lockdep's.
    f.base_function()
        .is_some_and(|n| PRIMITIVE.is_match(n) && !n.starts_with("lockdep_test"))
}

fn is_reader(f: &Frame) -> bool {
    f.base_function()
        .is_some_and(|n| READER_FRAMES.contains(&n))
}

fn known_site(f: &Frame) -> Option<(&'static str, FrameRole)> {
    let n = f.base_function()?;
    KNOWN_SEQCOUNT_SITES
        .iter()
        .find(|(name, _, _)| *name == n)
        .map(|(_, o, r)| (*o, *r))
}

/// Whether a class name is generic (shared by every lock initialised through one helper).
pub fn is_generic_class(class: &str) -> bool {
    GENERIC.is_match(&canonical_class(class))
}

fn first_user(frames: &[Frame]) -> Option<(usize, &Frame)> {
    frames.iter().enumerate().find(|(_, f)| {
        !is_primitive(f) && !f.unreliable && (f.function.is_some() || f.file.is_some())
    })
}

/// Frames of the report's own printing and stack walking, and tracer trampolines.
static REPORTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:dump_stack\w*|show_stack|show_trace\w*|dump_trace|print_context_stack\w*",
        r"|dump_backtrace|unwind_\w+|walk_stackframe|arch_stack_walk",
        r"|return_to_handler|ftrace_\w+|valid_state|__might_resched|__might_fault|might_fault",
        r"|print_freed_lock_bug|print_unlock_imbalance_bug|__dump_stack|show_stack\w*",
        r"|debug_check_no_locks_freed|__?debug_check_no_obj_freed",
        r"|__cant_sleep|__cant_migrate",
        // User-copy helpers fault (and may sleep) for their caller, as a lock does.
        r"|_?_?copy_(?:from|to)_user\w*|strncpy_from_user|strnlen_user)$"
    ))
    .unwrap()
});

/// A frame of code that called into the report: neither its printing nor a lock primitive.
fn is_caller(f: &Frame) -> bool {
    !f.unreliable
        && !is_primitive(f)
        && f.function.is_some()
        && !f.base_function().is_some_and(|n| REPORTING.is_match(n))
}

/// The first frame of a report's stack that is neither its printing nor a lock primitive,
/// nor in a header (`netdev_lock include/linux/netdevice.h [inline]`, a lock wrapper) — unless
/// every such frame is in a header.
fn first_caller(frames: &[Frame]) -> Option<&Frame> {
    let in_header = |f: &Frame| f.file.as_deref().is_some_and(|p| p.ends_with(".h"));
    frames
        .iter()
        .find(|f| is_caller(f) && !in_header(f))
        .or_else(|| frames.iter().find(|f| is_caller(f)))
}

fn fname(f: &Frame) -> String {
    f.base_function()
        .map(crate::title::demangle)
        .or_else(|| {
            f.file
                .clone()
                .map(|file| format!("{file}:{}", f.line.unwrap_or(0)))
        })
        .unwrap_or_else(|| "?".into())
}

fn path_of(frames: &[Frame], from: usize, n: usize) -> String {
    frames
        .iter()
        .skip(from)
        .filter(|f| !f.unreliable)
        .take(n)
        .map(fname)
        .collect::<Vec<_>>()
        .join(" <- ")
}

fn entry_for<'a>(r: &'a Report, name: &str) -> Option<&'a ChainEntry> {
    r.chain.iter().find(|e| e.lock.name == name)
}

fn out_entry_for<'a>(r: &'a Report, name: &str) -> Option<&'a ChainEntry> {
    let edge = r.cycle.iter().find(|e| e.from == name)?;
    r.chain_entry(edge.chain_entry)
}

fn lock_line(l: &Option<LockRef>) -> usize {
    l.as_ref().map(|l| l.input_line).unwrap_or(0)
}

fn cycle_text(r: &Report) -> String {
    if r.locks.is_empty() {
        return String::new();
    }
    r.cycle_names().join(" -> ")
}

// ---------------------------------------------------------------- the rules

/// Whether lockdep prints this warning only while it is still on: a `DEBUG_LOCKS_WARN_ON(…)`
/// warns only for the caller whose `debug_locks_off()` turned lockdep off, and a capacity BUG
/// (`BUG: MAX_… too low!`) only after `debug_locks_off_graph_unlock()` did.
fn printed_only_while_on(r: &Report) -> bool {
    let says = |t: &str| t.trim_start().starts_with("DEBUG_LOCKS_WARN_ON(");
    says(&r.banner)
        || r.message.as_deref().is_some_and(says)
        || r.banner.starts_with("BUG: MAX_") && r.banner.ends_with("too low!")
}

fn after_first_report(r: &Report, ctx: &Context) -> Option<Finding> {
    // Such a warning cannot follow an earlier report of its boot (which turned lockdep off
    // before printing): with one before it, the two are two boots, or the earlier one left
    // lockdep on. Either way not a consequence.
    if printed_only_while_on(r) {
        return None;
    }
    let Earlier { line, kind, .. } = ctx
        .same_boot(r)
        .find(|e| e.kind != Kind::SuspiciousRcuUsage && e.kind != Kind::SleepingInAtomic)?;
    Some(Finding {
        label: Label::LikelyFalsePositive,
        explanation: format!(
            "This lockdep internal warning comes after the {kind} report at line {line} of the same \
             log. The first report turns lockdep off (debug_locks_off), and internal consistency \
             checks that fire afterwards are consequences of that state, not a separate locking bug. \
             Look at the first report.{}",
            r.message
                .as_ref()
                .map(|m| format!(" (message: {m})"))
                .unwrap_or_default()
        ),
        evidence: vec![
            (*line, "the earlier report".into()),
            (r.line, "this warning".into()),
        ],
    })
}

/// `BUG: key … has not been registered!` (a dynamic key never given to
/// `lockdep_register_key()`, or used after `lockdep_unregister_key()`) and `INFO: trying to
/// register non-static key` (a lock used before it was initialised, or initialised with a key
/// in dynamic memory). lockdep prints either only while it is on, so neither follows from an
/// earlier report.
fn unregistered_key(r: &Report, _: &Context) -> Option<Finding> {
    let what = if r.banner.contains("has not been registered") {
        "A lock was initialised with a lock_class_key that is neither static nor registered: a \
         key in dynamically allocated memory needs lockdep_register_key() before use (and \
         lockdep_unregister_key() before it is freed). The missing registration is a bug of the \
         code that initialised the lock"
    } else if r.banner.contains("non-static key") {
        "A lock's key is not in static memory: the lock was used before it was initialised \
         (spin_lock_init()/mutex_init() missing, or the object was zeroed or freed after \
         init), or initialised with a key of its own that was never registered. Either is a \
         bug of the code that owns the lock"
    } else {
        return None;
    };
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "{what}; lockdep is off for the rest of the boot. The frame the title names is \
             where the lock is taken or initialised."
        ),
        evidence: vec![(r.line, "the key check".into())],
    })
}

fn lockdep_capacity(r: &Report, _: &Context) -> Option<Finding> {
    let m = r.message.clone().unwrap_or_default();
    if !(m.contains("MAX_") || r.banner.contains("too low")) {
        return None;
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "Lockdep ran out of a fixed-size table ({}). This is not a locking bug: lockdep is now \
             off for the rest of the boot. Raise the matching CONFIG_LOCKDEP_*_BITS, or look for \
             code that registers lock classes without bound (dynamic keys never unregistered).",
            if m.is_empty() { r.banner.clone() } else { m }
        ),
        evidence: vec![(r.line, "capacity warning".into())],
    })
}

fn lockdep_internal(r: &Report, _: &Context) -> Option<Finding> {
    let check = r.message.clone().unwrap_or_else(|| r.banner.clone());
    // `trace_hardirqs_on()` warns when interrupts are enabled inside a hard-interrupt handler;
    // the handler is the frame above the irq core's call into it.
    const IRQ_CORE: &[&str] = &[
        "handle_IRQ_event",
        "handle_irq_event_percpu",
        "__handle_irq_event_percpu",
        "handle_irq_event",
    ];
    let handler = check
        .contains("trace_hardirqs_on")
        .then(|| {
            let at = r
                .backtrace
                .iter()
                .position(|f| f.base_function().is_some_and(|b| IRQ_CORE.contains(&b)))?;
            r.backtrace[..at].last()
        })
        .flatten();
    if let Some(h) = handler {
        // Who enabled them: the first reliable caller of `trace_hardirqs_on*()`.
        let tracing = |f: &Frame| {
            f.base_function()
                .is_some_and(|b| b.starts_with("trace_hardirqs_on"))
        };
        let enabler = r
            .backtrace
            .iter()
            .skip_while(|f| !tracing(f))
            .find(|f| !tracing(f) && !f.unreliable)
            .and_then(|f| f.base_function())
            .filter(|e| Some(*e) != h.base_function())
            .map(|e| format!(" by `{e}`"))
            .unwrap_or_default();
        return Some(Finding {
            label: Label::Undetermined,
            explanation: format!(
                "An internal lockdep check fired ({check}) as interrupts were enabled{enabler} \
                 inside a hard-interrupt handler (`{}`, called by the irq core): lockdep's \
                 irq-state tracking found a state it does not allow there. Not a lock-order \
                 problem: kernels that let handlers re-enable interrupts were annotated \
                 (local_irq_enable_in_hardirq()); it turns lockdep off, so reports after it in \
                 this boot are not checked.",
                h.base_function().unwrap_or_default()
            ),
            evidence: vec![(h.input_line, "the interrupt handler".into())],
        });
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "An internal lockdep consistency check fired ({check}). It turns lockdep off; the \
             cause may be a locking API misuse (unlocking a lock not held, downgrading a read \
             lock, a corrupted lock object) or memory corruption. The frame the title names is \
             where to start."
        ),
        evidence: vec![(r.line, "internal warning".into())],
    })
}

/// Whether the RCU splat itself turned lockdep off before printing: up to 4.12,
/// `lockdep_rcu_suspicious()` called `debug_locks_off()` first (unless
/// CONFIG_PROVE_RCU_REPEATEDLY), so a boot's first RCU splat printed `debug_locks = 0` on its
/// own. The `[ INFO: … ]` banner is from before 4.11.
fn rcu_splat_turns_lockdep_off(r: &Report) -> bool {
    r.banner.contains("[ INFO:")
        || r.kernel
            .as_ref()
            .and_then(|k| k.major_minor())
            .is_some_and(|v| v < (4, 13))
}

fn rcu_after_lockdep_off(r: &Report, ctx: &Context) -> Option<Finding> {
    if r.debug_locks != Some(false) {
        return None;
    }
    // On such a kernel `debug_locks = 0` says nothing unless a report before this one (in
    // this log) could have turned lockdep off: the check is then read like any other.
    if rcu_splat_turns_lockdep_off(r) && !ctx.same_boot(r).any(|e| e.kind != Kind::SleepingInAtomic)
    {
        return None;
    }
    // The check ran with lockdep on (`debug_lockdep_rcu_enabled()` is asked first), and lockdep
    // went off under it. Only a condition that fires when something *is* held ("Illegal context
    // switch in RCU read-side critical section", `Illegal synchronize_rcu()`) is made true by
    // that: `lock_is_held()` answers "held" once lockdep is off. A dereference condition
    // (`rcu_read_lock_held() || lockdep_is_held(..)`) is made true, not false, so its failure
    // was seen with lockdep on and may be a real missing read lock.
    let message = r.message.as_deref().unwrap_or("");
    if !message.contains("Illegal ") {
        return Some(Finding {
            label: Label::Undetermined,
            explanation: "The report prints debug_locks = 0: another report turned lockdep off \
                          while this check ran. That makes a dereference check pass, not fail \
                          (with lockdep off every read-side lock counts as held), so this \
                          condition failed while lockdep was still on: it may be a real \
                          dereference outside rcu_read_lock() or its update-side lock. The held \
                          locks printed are not reliable (lockdep stopped recording)."
                .into(),
            evidence: vec![(
                r.line,
                "suspicious RCU usage with lockdep already off".into(),
            )],
        });
    }
    Some(Finding {
        label: Label::LikelyFalsePositive,
        explanation: "The report prints debug_locks = 0: another report turned lockdep off while \
                      this check ran, and with lockdep off every lock counts as held, so a check \
                      that fires when a lock or read-side section is held (this one) fires on \
                      correct code (newer kernels print \"Possible false positive due to lockdep \
                      disabling via debug_locks = 0\" under it; fixed by \"rcu: Reject \
                      RCU_LOCKDEP_WARN() false positives\")."
            .into(),
        evidence: vec![(
            r.line,
            "an \"Illegal ...\" RCU check with lockdep already off".into(),
        )],
    })
}

/// Class conflation: a generic class reached through different objects/code paths.
fn class_conflation(r: &Report, _: &Context) -> Option<Finding> {
    for entry in &r.chain {
        let name = &entry.lock.name;
        if !is_generic_class(&entry.lock.class) {
            continue;
        }
        let Some(into) = entry_for(r, name) else {
            continue;
        };
        let Some(out) = out_entry_for(r, name) else {
            continue;
        };
        let Some((in_i, in_site)) = first_user(&into.frames) else {
            continue;
        };
        let Some((out_i, out_acq)) = first_user(&out.frames) else {
            continue;
        };
        let in_read = into.frames[..in_i].iter().any(is_reader) || is_reader(in_site);
        let in_known = into.frames.iter().skip(in_i).find_map(known_site);
        let holders = &out.frames[out_i + 1..];
        let out_known = holders.iter().find_map(|f| known_site(f).map(|k| (k, f)));
        let in_fn = fname(in_site);
        let out_fns: Vec<String> = out.frames.iter().map(fname).collect();
        let different = match (in_known, &out_known) {
            (Some((a, _)), Some(((b, _), _))) => a != *b,
            _ => !out_fns.contains(&in_fn),
        };
        if !different {
            continue;
        }
        let out_to = r
            .cycle
            .iter()
            .find(|e| e.from == *name)
            .map(|e| e.to.clone())
            .unwrap_or_default();
        let into_from = r
            .cycle
            .iter()
            .find(|e| e.to == *name)
            .map(|e| e.from.clone())
            .unwrap_or_default();
        let seq = entry.lock.class.contains("seq");
        let (holder_desc, holder_line) = match &out_known {
            Some(((obj, role), f)) => (
                format!(
                    "`{}` ({} on `{obj}`)",
                    fname(f),
                    if *role == FrameRole::Write {
                        "write side"
                    } else {
                        "read side"
                    }
                ),
                f.input_line,
            ),
            None => (
                format!(
                    "one of `{}`'s callers ({})",
                    fname(out_acq),
                    path_of(holders, 0, 4)
                ),
                holders
                    .first()
                    .map(|f| f.input_line)
                    .unwrap_or(out.input_line),
            ),
        };
        let in_desc = match in_known {
            Some((obj, role)) => format!(
                "`{in_fn}` ({} on `{obj}`)",
                if role == FrameRole::Read || in_read {
                    "read side"
                } else {
                    "write side"
                }
            ),
            None => format!(
                "`{in_fn}`{}",
                if in_read { " (a seqcount read)" } else { "" }
            ),
        };
        let explanation = format!(
            "The cycle {cycle} passes through `{name}`, a class named after an initialiser's \
             parameter, so every lock initialised through that helper shares it{shared}. The two \
             edges reach it from different code paths: {holder_desc} held it while `{acq}` took \
             `{out_to}` (chain entry #{od}, {opath}); {in_desc} acquired it while `{into_from}` was \
             held (chain entry #{id}, {ipath}). These are different objects under one class, so \
             lockdep's class-level cycle need not exist between real instances. The usual fix is a \
             separate class per init site{fix}.",
            cycle = cycle_text(r),
            shared = if seq {
                " (here: different seqcounts)"
            } else {
                ""
            },
            acq = fname(out_acq),
            od = out.depth,
            opath = path_of(&out.frames, out_i, 5),
            id = into.depth,
            ipath = path_of(&into.frames, in_i, 5),
            fix = if seq {
                " (as upstream did for seqcounts in 267580db047e, \"seqlock: Unbreak lockdep\")"
            } else {
                " (lockdep_set_class, or a macro initialiser)"
            },
        );
        let mut evidence = vec![
            (
                out.input_line,
                format!("edge {name} -> {out_to} recorded here"),
            ),
            (holder_line, format!("{name} held by this path")),
            (in_site.input_line, format!("{name} acquired by `{in_fn}`")),
            (
                into.input_line,
                format!("edge {into_from} -> {name} recorded here"),
            ),
        ];
        if let Some(a) = &r.acquiring {
            evidence.push((a.input_line, "lock being acquired".into()));
        }
        evidence.push((lock_line(&r.held), "lock already held".into()));
        return Some(Finding {
            label: Label::LikelyFalsePositive,
            explanation,
            evidence,
        });
    }
    None
}

/// A cycle that closes through a seqcount read access. A reader never blocks its writer,
/// but it spins while the writer is inside its write section: if that writer waits for a
/// lock the reader's task holds, on the same seqcount instance, nobody moves. A global
/// seqcount (a static name such as `tk_core.seq`) has one instance, so that is a real
/// deadlock; a per-object one needs the check of whether both sides meet on one object.
fn seqcount_reader_edge(r: &Report, _: &Context) -> Option<Finding> {
    for e in &r.chain {
        let Some((ui, user)) = first_user(&e.frames) else {
            continue;
        };
        let reader = e.frames[..=ui].iter().find(|f| is_reader(f));
        let zero_wait = e.lock.wait.is_some_and(|w| w.inner == 0 && w.outer == 0);
        let Some(rf) = reader else { continue };
        let edge = r.cycle.iter().find(|c| c.chain_entry == e.depth)?;
        let seq = canonical_class(&edge.to);
        let global = STATIC_LOCK.is_match(&seq) && !is_generic_class(&edge.to);
        let head = format!(
            "The cycle {cycle} closes through edge {from} -> {to}, recorded by a seqcount *read* \
             (`{rd}` in `{user}`, chain entry #{d}){wait}. A seqcount reader never blocks its \
             writer, but it spins for as long as the writer is inside its write section.",
            cycle = cycle_text(r),
            from = edge.from,
            to = edge.to,
            rd = fname(rf),
            user = fname(user),
            d = e.depth,
            wait = if zero_wait {
                " — `{0:0}`: a plain seqcount map"
            } else {
                ""
            },
        );
        let (label, tail) = if global {
            (
                Label::LikelyGenuine,
                format!(
                    " `{to}` is a global seqcount: there is one instance, so the reader spins on \
                     the very sequence whose writer, along the rest of the cycle, waits for \
                     `{from}`, which the reader's task holds — a real deadlock (as with \
                     timekeeping's `tk_core.seq`). Fix: take the lock outside the write section, \
                     or read without retrying there.",
                    to = edge.to,
                    from = edge.from
                ),
            )
        } else {
            (
                Label::Undetermined,
                format!(
                    " It hangs only if the reader can spin on the same `{to}` instance whose \
                     writer is waiting for `{from}`. Check whether the writer of that instance \
                     can wait for `{from}` (directly or through the cycle's other locks); if the \
                     reader and the writer always work on different objects, it is a class \
                     conflation.",
                    to = edge.to,
                    from = edge.from
                ),
            )
        };
        return Some(Finding {
            label,
            explanation: head + &tail,
            evidence: vec![
                (
                    e.input_line,
                    format!("edge {} -> {} (reader)", edge.from, edge.to),
                ),
                (rf.input_line, "seqcount read access".into()),
            ],
        });
    }
    None
}

/// Read-side acquisition primitives, as the frame above `lock_acquire` names them.
static READ_ACQUIRE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:cpus_read_lock|percpu_down_read\w*|down_read\w*|_?_?raw_read_lock\w*|read_lock\w*)$",
    )
    .unwrap()
});

/// Whether the report's own stack shows the acquisition made for reading: a read-side
/// primitive among the few frames above `lock_acquire`.
fn acquired_for_read(r: &Report) -> bool {
    r.backtrace
        .iter()
        .position(|f| f.base_function() == Some("lock_acquire"))
        .is_some_and(|i| {
            r.backtrace[i + 1..]
                .iter()
                .take(4)
                .any(|f| f.base_function().is_some_and(|n| READ_ACQUIRE.is_match(n)))
        })
}

/// Whether the class was ever taken for reading (a read column of its usage is not `.`).
fn read_usage(l: &LockRef) -> bool {
    usage_columns(l).is_some_and(|c| c[1] != '.' || c[3] != '.')
}

/// Names as a list of code spans: `` `a`, `b` ``.
fn code_list<T: std::fmt::Display>(names: impl IntoIterator<Item = T>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first four usage columns of a lock line (`{+.+.}`: hardirq write, read, softirq write,
/// read), in today's layout also for a kernel that printed the old one.
fn usage_columns(l: &LockRef) -> Option<[char; 4]> {
    l.usage_bits.as_ref().map(|u| u.columns())
}

/// Whether `l`'s usage columns for `state` (`HARDIRQ`: the first two, `SOFTIRQ`: the next
/// two) hold one of `marks` (`-` used in that irq, `+` used with it enabled, `?` both).
fn usage_in(l: &LockRef, state: &str, marks: &[char]) -> bool {
    let Some(c) = usage_columns(l) else {
        return false;
    };
    let cols = match state {
        "HARDIRQ" => [c[0], c[1]],
        "SOFTIRQ" => [c[2], c[3]],
        _ => return false,
    };
    cols.iter().any(|c| marks.contains(c))
}

fn read_only_usage(l: &LockRef) -> bool {
    usage_columns(l).is_some_and(|c| c[0] == '.' && c[2] == '.' && (c[1] != '.' || c[3] != '.'))
}

fn same_class_two_instances(r: &Report, _: &Context) -> Option<Finding> {
    let (a, h) = (r.acquiring.as_ref()?, r.held.as_ref()?);
    let (aa, ha) = (a.address.as_ref()?, h.address.as_ref()?);
    if aa == ha || aa.contains("ptrval") || held_again(r, aa).is_some() {
        return None;
    }
    Some(Finding {
        label: Label::LikelyFalsePositive,
        explanation: format!(
            "`{name}` is acquired at {aa} (`{asite}`) while another lock of the same class at {ha} \
             (`{hsite}`) is held. Two different instances of one class nested: lockdep cannot tell \
             them apart without an annotation, so this is most likely a missing nesting annotation \
             (`*_nested()` subclass, `*_nest_lock()`, or a lock-order comparison function) rather \
             than a deadlock. It is real only if two tasks can nest the same two objects in \
             opposite orders.",
            name = a.name,
            asite = a.at.as_ref().map(|f| f.display()).unwrap_or_default(),
            hsite = h.at.as_ref().map(|f| f.display()).unwrap_or_default(),
        ),
        evidence: vec![
            (a.input_line, format!("acquiring instance {aa}")),
            (h.input_line, format!("held instance {ha}")),
        ],
    })
}

/// The held-lock entry at the acquired lock's address, when it is not the one the banner names
/// as held: the task holds the very object it acquires, under another subclass. Lockdep matches
/// a recursion by class and subclass, so its "already holding" line then names another holder
/// of the acquired subclass (`i_mutex_dir_key/1` acquired at A while `/1` is held at B and A is
/// held as `/5`): the addresses of the banner differ, yet one object is taken twice.
fn held_again<'r>(r: &'r Report, acquired: &str) -> Option<&'r HeldLock> {
    if acquired.contains("ptrval") || acquired.trim_start_matches(['0', 'x']).is_empty() {
        return None;
    }
    let held = r.held.as_ref().and_then(|h| h.address.as_deref());
    // The same class, whatever its subclass: another class at that address would be a
    // collision of hashed pointers or an edited quote, not the object taken twice.
    let class = &r.acquiring.as_ref()?.class;
    r.held_locks.as_ref()?.entries.iter().find(|e| {
        e.lock.address.as_deref() == Some(acquired)
            && held != Some(acquired)
            && e.lock.class == *class
    })
}

fn same_instance_recursion(r: &Report, _: &Context) -> Option<Finding> {
    let (a, h) = (r.acquiring.as_ref()?, r.held.as_ref()?);
    let (aa, ha) = (a.address.as_ref()?, h.address.as_ref()?);
    if aa != ha {
        let again = held_again(r, aa)?;
        return Some(Finding {
            label: Label::LikelyGenuine,
            explanation: format!(
                "`{}` is acquired at {aa} (`{}`), and the task already holds that same object as \
                 held lock #{} (`{}`, taken at `{}`). Lockdep matches recursion by class and \
                 subclass, so its \"already holding\" line names another lock of the acquired \
                 subclass ({ha}); the held-lock list shows the object itself is held: taking it \
                 again is a self-deadlock, whatever subclass either acquisition claims.",
                a.name,
                a.at.as_ref().map(|f| f.display()).unwrap_or_default(),
                again.index,
                again.lock.name,
                again
                    .lock
                    .at
                    .as_ref()
                    .map(|f| f.display())
                    .unwrap_or_default(),
            ),
            evidence: vec![
                (a.input_line, format!("acquiring {aa}")),
                (again.lock.input_line, format!("already held: {aa}")),
            ],
        });
    }
    // `(____ptrval____)` is a hashed-away pointer: equal text says nothing about identity.
    if aa.contains("ptrval") {
        return None;
    }
    // Both taken for reading only when the class never was for writing; a read now (the stack
    // says so) under a lock held for writing is a plain self-deadlock, so then both cases are
    // told.
    let read = read_only_usage(a) && read_only_usage(h);
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: if read {
            format!(
                "The same instance of `{}` ({aa}) is taken again for reading while already read-held \
                 (`{}` then `{}`). Its readers are not recursive: a writer queued between the two \
                 read acquisitions blocks the second one, and the writer waits for the first — a \
                 real deadlock whenever a writer can come in (for sb_writers: a filesystem freeze).",
                a.name,
                h.at.as_ref().map(|f| f.display()).unwrap_or_default(),
                a.at.as_ref().map(|f| f.display()).unwrap_or_default(),
            )
        } else if read_usage(a) || acquired_for_read(r) {
            format!(
                "The same lock instance `{}` ({aa}) is acquired while already held by this task \
                 (first at `{}`, again at `{}`). The class is also taken for reading, and the \
                 report does not show which of the two acquisitions write: with a write among \
                 them it is a self-deadlock; two reads deadlock when a writer queues between them \
                 (its readers are not recursive).",
                a.name,
                h.at.as_ref().map(|f| f.display()).unwrap_or_default(),
                a.at.as_ref().map(|f| f.display()).unwrap_or_default(),
            )
        } else {
            format!(
                "The same lock instance `{}` ({aa}) is acquired while already held by this task \
                 (first at `{}`, again at `{}`): a self-deadlock on a non-recursive lock.",
                a.name,
                h.at.as_ref().map(|f| f.display()).unwrap_or_default(),
                a.at.as_ref().map(|f| f.display()).unwrap_or_default(),
            )
        },
        evidence: vec![
            (h.input_line, "first acquisition (held)".into()),
            (
                a.input_line,
                "second acquisition of the same address".into(),
            ),
        ],
    })
}

fn recursion_no_address(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "`{}` is acquired while a lock of the same class is held, but this kernel did not print \
             instance addresses, so one object taken twice (a real self-deadlock) cannot be told \
             from two objects of one class (a missing nesting annotation).",
            a.name
        ),
        evidence: vec![(a.input_line, "acquiring".into())],
    })
}

fn workqueue_flush(r: &Report, _: &Context) -> Option<Finding> {
    let wq = r
        .locks
        .iter()
        .find(|l| l.starts_with("(wq_completion)") || l.starts_with("(work_completion)"))?;
    let what = if wq.starts_with("(wq_completion)") {
        format!(
            "`{wq}` stands for the workqueue `{}` itself: flush_workqueue()/destroy_workqueue() \
             \"acquire\" it and every work item on it runs \"under\" it",
            wq.trim_start_matches("(wq_completion)")
        )
    } else {
        format!(
            "`{wq}` stands for one work item: flush_work()/cancel_work_sync() \"acquire\" it and \
             its work function runs \"under\" it"
        )
    };
    let real: Vec<&String> = r
        .locks
        .iter()
        .filter(|l| !l.starts_with("(wq_completion)") && !l.starts_with("(work_completion)"))
        .collect();
    if let Some(f) = work_of_another_object(r, &real, wq) {
        return Some(f);
    }
    if real.len() <= 1 {
        return Some(Finding {
            label: Label::LikelyGenuine,
            explanation: format!(
                "The cycle {} goes through a workqueue annotation. {what}. The cycle therefore \
                 says that some code waits for the work while holding a lock that the work itself \
                 takes — a real deadlock whenever the work is pending at that moment.",
                cycle_text(r)
            ),
            evidence: vec![(lock_line(&r.acquiring), "lock being acquired".into())],
        });
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "The cycle {} goes through a workqueue annotation. {what}. The work does not take the \
             held lock itself: it reaches it through {}. That is a real deadlock only if those \
             locks can be the same objects on both sides and the work can be pending while the \
             flusher holds them; a work item of another object (another device, another \
             superblock) sharing these classes makes it a false positive.",
            cycle_text(r),
            code_list(real.iter())
        ),
        evidence: vec![(lock_line(&r.acquiring), "lock being acquired".into())],
    })
}

/// The object names (`ctx`, `msk`, `wg`) an expression such as `(&(&ctx->rsrc_put_work)->work)`
/// or `&ctx->uring_lock` dereferences.
fn owners(name: &str) -> Vec<&str> {
    static OWNER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&\(?(\w+)->").unwrap());
    OWNER
        .captures_iter(name)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect()
}

/// `flush_work()`/`cancel_work_sync()` waits for one work item, of the object its name
/// dereferences; when the only real lock of the cycle is a per-object class that names no
/// object in common with that work (`sk_lock-AF_INET`, one class for every socket, around
/// cancelling `&msk->work`), the flusher may hold another object's lock than the one the
/// work takes: mptcp's listener socket cancelling a child socket's work (fec3adfd754c).
fn work_of_another_object(r: &Report, real: &[&String], wq: &str) -> Option<Finding> {
    let [held] = real else {
        return None;
    };
    let pseudo: Vec<&String> = r.locks.iter().filter(|l| !real.contains(l)).collect();
    let [work] = pseudo.as_slice() else {
        return None;
    };
    if !work.starts_with("(work_completion)") || STATIC_LOCK.is_match(held) {
        return None;
    }
    let work_owners = owners(work);
    if work_owners.is_empty() || owners(held).iter().any(|o| work_owners.contains(o)) {
        return None;
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "The cycle {} goes through `{wq}`, one work item: flush_work()/cancel_work_sync() \
             waits for the work of `{}`, and that work takes `{held}`. But `{held}` is one class \
             for many objects and its name shares no object with the work's, so the flusher may \
             hold the lock of another object of that class (a listener socket cancelling a child \
             socket's work). Real if the flusher holds the lock of the very object the work \
             belongs to; a false positive if it is always another object's.",
            cycle_text(r),
            work_owners.join("`, `")
        ),
        evidence: vec![(lock_line(&r.acquiring), "lock being acquired".into())],
    })
}

/// Per-inode lock classes (one class, every inode of a filesystem type).
static INODE_LOCK_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:&xfs_(?:dir|nondir)_ilock_class|&\(?&?ip->i_\w+|&ei->\w+|&inode->\w+",
        r"|&sb->s_type->i_mutex_key|&type->i_mutex_dir_key|&ni->\w+|&ci->\w+)"
    ))
    .unwrap()
});
/// Reclaim and eviction of inodes nobody references any more.
static INODE_RECLAIM_FN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:xfs_reclaim_inode\w*|xfs_icwalk\w*|xfs_inode_mark_reclaimable|xfs_inactive\w*",
        r"|xfs_fs_destroy_inode|evict|evict_inodes|dispose_list|prune_icache_sb|iput_final",
        r"|super_cache_scan|\w+_evict_inode)$"
    ))
    .unwrap()
});

/// A two-lock cycle through `fs_reclaim` where reclaim takes a per-inode lock only while
/// evicting or reclaiming an inode nobody references, and the other side holds that lock
/// on an inode it is using: reclaim cannot pick a referenced inode, so they are two objects.
fn reclaim_of_unreferenced_inode(r: &Report, _: &Context) -> Option<Finding> {
    if r.locks.len() != 2 || !r.locks.iter().any(|l| l == "fs_reclaim") {
        return None;
    }
    let inode_lock = r.locks.iter().find(|l| *l != "fs_reclaim")?;
    // Eviction can also lock other inodes that are in use (an orphan directory, a quota
    // file): directory-key and subclassed classes are left to `fs-reclaim`.
    if !INODE_LOCK_CLASS.is_match(&canonical_class(inode_lock))
        || inode_lock.contains("i_mutex_dir_key")
        || inode_lock.contains('/')
    {
        return None;
    }
    let edge = r.cycle.iter().find(|e| e.from == "fs_reclaim")?;
    let entry = r.chain.iter().find(|e| e.depth == edge.chain_entry)?;
    let current: &[Frame] = if entry.depth == 0 { &r.backtrace } else { &[] };
    // The lock is taken by the reclaim or eviction of the inode itself: a reclaim frame
    // among the first callers above the lock primitives.
    let reclaim = entry
        .frames
        .iter()
        .chain(current)
        .filter(|f| !is_primitive(f) && !f.unreliable)
        .take(5)
        .find(|f| {
            f.base_function()
                .is_some_and(|n| INODE_RECLAIM_FN.is_match(n))
        })?;
    Some(Finding {
        label: Label::LikelyFalsePositive,
        explanation: format!(
            "The cycle {cycle} is memory reclaim taking `{lock}` (in `{rf}`, chain entry #{d}) \
             while an allocation elsewhere holds `{lock}` and may enter reclaim. Reclaim takes \
             it only on an inode it is evicting or reclaiming, which nobody references any more; \
             the allocating side holds it on an inode it is using, which reclaim cannot pick. \
             One class, two inodes. It is real only if the allocating path can hold the lock of \
             an inode that is already unreferenced (inside eviction itself); there the fix is \
             GFP_NOFS / memalloc_nofs_save(), elsewhere __GFP_NOLOCKDEP silences it.",
            cycle = cycle_text(r),
            lock = inode_lock,
            rf = fname(reclaim),
            d = entry.depth,
        ),
        evidence: vec![
            (
                entry.input_line,
                format!("edge fs_reclaim -> {inode_lock} (reclaim)"),
            ),
            (reclaim.input_line, "inode eviction / reclaim".into()),
        ],
    })
}

fn fs_reclaim(r: &Report, _: &Context) -> Option<Finding> {
    if !r.locks.iter().any(|l| l == "fs_reclaim") {
        return None;
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "The cycle {} goes through `fs_reclaim`, lockdep's stand-in for memory reclaim: one \
             edge is an allocation that may enter reclaim while holding a lock, the other is reclaim \
             (a shrinker or writeback) taking that lock. Real if the allocation can recurse into \
             that filesystem or driver (fix: GFP_NOFS/NOIO or memalloc_nofs_save()); a false \
             positive if reclaim can only reach other instances (another superblock, another \
             device) that share the class.",
            cycle_text(r)
        ),
        evidence: vec![(lock_line(&r.acquiring), "lock being acquired".into())],
    })
}

fn printk_under_scheduler_lock(r: &Report, _: &Context) -> Option<Finding> {
    let console = r.locks.iter().find(|l| {
        l.contains("console_sem")
            || l.as_str() == "console_owner"
            || l.contains("port_lock")
            || l.as_str() == "console_lock"
    })?;
    let sched = r.locks.iter().find(|l| {
        let c = canonical_class(l);
        c.starts_with("&rq->")
            || c == "&p->pi_lock"
            || c.starts_with("&base->lock")
            || c.contains("pi_lock")
    })?;
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "`{console}` (console output) and `{sched}` (scheduler/timer internals) are in one \
             cycle: printk() was called with `{sched}` held, and the console path wakes up tasks, \
             which takes `{sched}`. This is the classic printk-under-scheduler-lock deadlock; use \
             printk_deferred() (or the nbcon consoles) in that path."
        ),
        evidence: vec![
            (lock_line(&r.acquiring), "lock being acquired".into()),
            (lock_line(&r.held), "lock already held".into()),
        ],
    })
}

fn insufficient_data(r: &Report, _: &Context) -> Option<Finding> {
    if !r.cycle.is_empty() {
        return None;
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "The report is {}: the dependency chain needed to judge the cycle is missing{}.",
            if r.truncated { "cut off" } else { "incomplete" },
            r.damage
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        evidence: vec![(r.line, "report start".into())],
    })
}

fn global_locks(r: &Report, _: &Context) -> Option<Finding> {
    if r.locks.is_empty()
        || !r
            .locks
            .iter()
            .all(|l| STATIC_LOCK.is_match(l) && !is_generic_class(l))
    {
        return None;
    }
    let evidence = r
        .cycle
        .iter()
        .map(|e| (e.input_line, format!("edge {} -> {}", e.from, e.to)))
        .collect();
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "Every class in the cycle {} is a single statically defined lock (one instance per \
             class), so the class-level cycle is an instance-level cycle: two tasks following the \
             recorded paths can deadlock.",
            cycle_text(r)
        ),
        evidence,
    })
}

/// Kernel self-tests and torture tests of locking: lockdep reports raised only by them.
static TEST_CODE_FN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:test_ww_mutex\w*|stress_(?:inorder|reorder|one)_work|ww_test\w*|__test_\w*mutex\w*",
        r"|lock_torture_\w+|locktorture_\w+|locking_selftest|dotest)$"
    ))
    .unwrap()
});
static TEST_CODE_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:^|/)(?:kernel/locking/(?:test-ww_mutex|locktorture)\.c|lib/locking-selftest\.c",
        r"|kernel/(?:scftorture|torture)\.c|kernel/rcu/rcutorture\.c|lib/test_[\w-]+\.c",
        r"|[\w-]+_kunit\.c|[\w-]+-test\.c)$"
    ))
    .unwrap()
});

/// A report whose stacks run through kernel test or torture code only exists while that test
/// runs: whether it is real is a question about the test's own locking (or about how
/// lockdep models what it exercises, as for ww_mutex acquire contexts).
fn test_code(r: &Report, _: &Context) -> Option<Finding> {
    // KUnit runs each test case in a thread of its own, `kunit_try_catch`, and its init and
    // exit hooks in other ones: a lock a test takes in init and drops in exit is reported as
    // held at that thread's exit, or released by a task that does not hold it. Only for
    // reports about the task's own bookkeeping: a cycle a test closes may run through
    // production code.
    if matches!(
        r.kind,
        Kind::LocksHeldAtExit | Kind::BadUnlockBalance | Kind::HeldLockFreed
    ) && r.task.as_ref().is_some_and(|t| t.comm == "kunit_try_catch")
    {
        return Some(Finding {
            label: Label::Undetermined,
            explanation: "The task is KUnit's test thread (`kunit_try_catch`): KUnit runs each \
                          test case, and its init and exit hooks, in threads of their own, so a \
                          lock a test's init takes and its exit releases is held by a thread \
                          that ends, or released by one that never took it. A bug of the \
                          test's locking (or its harness), not of production code."
                .into(),
            evidence: vec![(r.line, "task kunit_try_catch".into())],
        });
    }
    let is_test = |f: &&Frame| {
        f.base_function().is_some_and(|n| TEST_CODE_FN.is_match(n))
            || f.file
                .as_deref()
                .is_some_and(|p| TEST_CODE_FILE.is_match(p))
    };
    // Every side must be test code: a dependency that production code recorded is as real
    // when a test happens to close the cycle.
    let f = if r.chain.is_empty() {
        let a = r.acquiring.as_ref()?;
        let h = r.held.as_ref()?;
        let in_a =
            a.at.iter()
                .chain(&a.at_inlined)
                .chain(&r.backtrace)
                .find(is_test)?;
        h.at.iter().chain(&h.at_inlined).find(is_test)?;
        in_a
    } else {
        let mut first = None;
        for e in &r.chain {
            let current: &[Frame] = if e.depth == 0 { &r.backtrace } else { &[] };
            let hit = e.frames.iter().chain(current).find(is_test)?;
            first.get_or_insert(hit);
        }
        first?
    };
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "Every side of this report is kernel test or torture code (`{}`): it exists only \
             while that test runs. If the cycle is real it is a bug of the test's own locking; \
             tests that exercise lockdep's model on purpose (ww_mutex acquire contexts, locking \
             self-tests) can also trip over its limits, which makes it a false positive of the \
             model, not of production code.",
            f.display()
        ),
        evidence: vec![(f.input_line, "test code".into())],
    })
}

/// The loop driver's worker doing I/O on the backing file (not its own locks).
static LOOP_WORKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:loop_queue_work|loop_process_work|loop_workfn|loop_rootcg_workfn|loop_handle_cmd",
        r"|lo_rw_aio|lo_write_simple|lo_write_bvec|lo_read_simple|lo_req_flush|lo_fallocate",
        r"|lo_discard|do_req_filebacked)$"
    ))
    .unwrap()
});
/// Locks of the loop and block drivers themselves: a cycle through them is the driver's.
static BLOCK_DRIVER_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"&lo->|lo_mutex|loop_ctl|loop_index|open_mutex|bd_mutex|bd_fsfreeze|&disk->|&q->|&set->",
    )
    .unwrap()
});
/// Lock classes of a filesystem (one class per filesystem type, an instance per superblock
/// or inode).
static FS_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:&sb->s_type->|&type->|sb_writers|sb_internal|jbd2_handle|&ei->|&ip->|&\(&ip->",
        r"|&xfs_\w+_class|&inode->|&journal->|&sbi->|&fs_info->|&ci->|&ni->)"
    ))
    .unwrap()
});

/// A cycle closed by the loop device's worker: on one side the filesystem mounted from
/// `/dev/loopN`, on the other the filesystem holding its backing file, whose locks share
/// classes (one per filesystem type) though they are different superblocks' objects.
fn stacked_filesystems(r: &Report, _: &Context) -> Option<Finding> {
    if r.locks
        .iter()
        .any(|l| BLOCK_DRIVER_LOCK.is_match(l) || l == "fs_reclaim")
    {
        return None;
    }
    // The other side must hold locks of a filesystem too.
    if r.locks.iter().filter(|l| FS_CLASS.is_match(l)).count() < 2 {
        return None;
    }
    for e in &r.chain {
        // The closing edge's stack is also the final backtrace.
        let current: &[Frame] = if e.depth == 0 { &r.backtrace } else { &[] };
        let Some(worker) = e
            .frames
            .iter()
            .chain(current)
            .find(|f| f.base_function().is_some_and(|n| LOOP_WORKER.is_match(n)))
        else {
            continue;
        };
        let Some(edge) = r.cycle.iter().find(|c| c.chain_entry == e.depth) else {
            continue;
        };
        // The worker takes a lock of the backing file's filesystem.
        if !FS_CLASS.is_match(&edge.to) {
            continue;
        }
        let user = first_user(&e.frames)
            .map(|(_, f)| fname(f))
            .unwrap_or_default();
        return Some(Finding {
            label: Label::LikelyFalsePositive,
            explanation: format!(
                "The cycle {cycle} closes through edge {from} -> {to}, taken by the loop \
                 device's worker (`{w}`, in `{user}`, chain entry #{d}) while it does I/O on its \
                 backing file. The other side of the cycle holds the locks of the filesystem \
                 mounted *from* the loop device; the worker takes those of the filesystem *holding* \
                 the backing file. Lockdep gives one class per filesystem type, so two \
                 filesystems of one type look like one, but these are different superblocks' \
                 objects, and the stacking between them is acyclic. It is real only if the backing \
                 file lives, directly or through more loop devices, on the filesystem mounted from \
                 that same loop device. The usual fix, if one is wanted, is a lockdep subclass per \
                 stacking depth (as overlayfs does).",
                cycle = cycle_text(r),
                from = edge.from,
                to = edge.to,
                w = fname(worker),
                d = e.depth,
            ),
            evidence: vec![
                (
                    e.input_line,
                    format!("edge {} -> {} (loop worker)", edge.from, edge.to),
                ),
                (worker.input_line, "the loop device's worker".into()),
            ],
        });
    }
    None
}

/// A class name of one statically defined lock, as lockdep prints it: an identifier or a static
/// object's member (`(memory_chain).rwsem`, `tk_core.seq.seqcount`), maybe with a name version
/// or subclass (`pm_mutex#2`, `ksm_thread_mutex/1`). Wider than [`STATIC_LOCK`], which decides a
/// verdict; this one only words an explanation.
static STATIC_OBJECT_LOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[A-Za-z_][A-Za-z0-9_.]*|\([A-Za-z_][A-Za-z0-9_]*\)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)",
        r"(?:#\d+)?(?:/\d+)?$"
    ))
    .unwrap()
});

/// Classes of one lock per object whose names look like a static lock's: a superblock's freeze
/// levels (`sb_writers#3`, `sb_pagefaults`, `sb_internal`) and a kernfs node's active reference
/// (`s_active#53`).
static PER_OBJECT_PLAIN_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:sb_(?:writers|pagefaults|internal)|s_active)\b").unwrap());

/// Held "locks" that do not keep two paths from running at once: workqueue and work
/// completions, RCU read-side sections, memory reclaim.
static NON_SERIALISING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\((?:wq_completion|work_completion)\)|rcu_read_lock|rcu_callback|fs_reclaim|mmu_notifier)").unwrap()
});

fn per_object_classes(r: &Report, _: &Context) -> Option<Finding> {
    let per_object: Vec<&str> = r
        .locks
        .iter()
        .filter(|l| {
            !STATIC_OBJECT_LOCK.is_match(l)
                || is_generic_class(l)
                || PER_OBJECT_PLAIN_NAME.is_match(l)
        })
        .map(String::as_str)
        .collect();
    // Locks this task took before the cycle's own: a lock the other path holds too would keep
    // the two from running at once.
    let outer: Vec<&str> = r
        .held_locks
        .iter()
        .flat_map(|h| &h.entries)
        .map(|h| h.lock.name.as_str())
        .take_while(|n| !r.locks.iter().any(|l| l == n))
        // Pseudo-locks and RCU read sections serialise nothing.
        .filter(|n| !NON_SERIALISING.is_match(n))
        .collect();
    let outer_note = if outer.is_empty() {
        String::new()
    } else {
        format!(
            " This task held {} before the cycle's locks: if the other path holds one of them \
             too, the two cannot run at once.",
            code_list(&outer)
        )
    };
    let explanation = if per_object.is_empty() {
        format!(
            "Every class in the cycle {} names what looks like one static lock (a subclass, a \
             static object's member or a name version keeps it from the global-locks rule), so \
             the edges meet on the same locks; whether the cycle can close is not in the \
             report: check whether the recorded paths can run at the same time.{outer_note}",
            cycle_text(r)
        )
    } else {
        format!(
            "The cycle {} goes through per-object classes ({}), and nothing in the report shows \
             whether the edges involve the same objects. It is a real deadlock if one path can \
             hold a lock of object A while the other holds the next lock of the same objects; \
             check that the code paths named by each edge can operate on the same objects.\
             {outer_note}",
            cycle_text(r),
            code_list(&per_object)
        )
    };
    let evidence = r
        .cycle
        .iter()
        .map(|e| {
            let site = r
                .chain_entry(e.chain_entry)
                .and_then(|c| first_user(&c.frames).map(|(_, f)| fname(f)))
                .unwrap_or_default();
            (
                e.input_line,
                format!("edge {} -> {} taken in {site}", e.from, e.to),
            )
        })
        .collect();
    Some(Finding {
        label: Label::Undetermined,
        explanation,
        evidence,
    })
}

/// A seqcount's lockdep class (`&syncp->seq#2`, `&s->seqcount`, `tk_core.seq.seqcount`).
static SEQCOUNT_CLASS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:seqcount|(?:->|\.)seq)(?:#\d+)?(?:/\d+)?$").unwrap());

/// Inconsistent usage of a seqcount where both usages are writes: writers never wait for each
/// other, so an interrupt-context writer nested in a process-context one corrupts the sequence
/// (readers may see torn data) instead of deadlocking.
fn seqcount_writers(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    let irq = r.irq.as_ref()?;
    let (from, to) = (irq.usage_from.as_deref()?, irq.usage_to.as_deref()?);
    if !SEQCOUNT_CLASS.is_match(&a.name) || !from.ends_with("-W") || !to.ends_with("-W") {
        return None;
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "`{}` is a seqcount, and both usages are writes ({from} -> {to}). A seqcount writer \
             never waits: a writer in interrupt context nested inside a process-context writer of \
             the same instance does not deadlock, it makes the sequence inconsistent so that \
             readers may use torn data (and lockdep's \"DEADLOCK\" scenario does not apply). It \
             matters only if both contexts can write the same instance at once; if the \
             process-context writer always runs with that interrupt source disabled (for a \
             network driver, with NAPI disabled), it is a false positive.",
            a.name
        ),
        evidence: vec![(a.input_line, "the seqcount written in both contexts".into())],
    })
}

/// Frames that only run once, in early boot on the boot CPU before initcalls and SMP.
fn early_boot_only(frames: &[Frame]) -> bool {
    let names: Vec<&str> = frames.iter().filter_map(Frame::base_function).collect();
    names.contains(&"start_kernel")
        && !names.iter().any(|n| {
            matches!(
                *n,
                "rest_init" | "kernel_init" | "kernel_init_freeable" | "ret_from_fork" | "kthread"
            ) || n.starts_with("start_secondary")
                || n.starts_with("do_syscall")
                || n.starts_with("entry_SYSCALL")
        })
}

/// When the irqs-enabled use lockdep printed was in `start_kernel()`: what that does and does
/// not show (lockdep prints only the first use of each state).
fn early_boot_note(r: &Report) -> Option<(usize, String)> {
    let irq = r.irq.as_ref()?;
    let t = irq.traces.iter().find(|t| {
        t.state.ends_with("-irq-unsafe")
            || (t.state.contains("-ON-") && !t.state.starts_with("IN-"))
    })?;
    if !early_boot_only(&t.frames) {
        return None;
    }
    let lock = t
        .lock
        .clone()
        .or_else(|| r.acquiring.as_ref().map(|a| a.name.clone()))
        .unwrap_or_default();
    Some((
        t.input_line,
        format!(
            " The irqs-enabled use printed for `{lock}` ran in start_kernel(), once, on the boot \
             CPU, before the interrupt user is likely to exist; but lockdep prints only the first \
             use of each state, so this does not show that no later path takes `{lock}` with \
             interrupts enabled. If none does, it is a false positive (i8253_lock in \
             pit_timer_init()); if one does, it is real (kernfs_idr_lock, first used by \
             sysfs_init() at boot and later under the runqueue lock through BPF)."
        ),
    ))
}

fn inconsistent_shared_class(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    let c = canonical_class(&a.class);
    if !is_generic_class(&a.class) && !SHARED.is_match(&c) {
        return None;
    }
    let irq = r.irq.as_ref()?;
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "`{}` is used both {} and {}, but it is a shared class (an array element or an \
             initialiser parameter): the interrupt-side and the irqs-enabled uses may be different \
             objects, which cannot deadlock with each other. Real only if the same object is used \
             both ways.",
            a.name,
            irq.usage_from.clone().unwrap_or_default(),
            irq.usage_to.clone().unwrap_or_default()
        ),
        evidence: vec![(a.input_line, "the lock".into())],
    })
}

/// Lockdep's map for memory reclaim: taken by every allocation that may reclaim, with interrupts
/// enabled.
fn is_reclaim_map(name: &str) -> bool {
    name == "fs_reclaim"
}

/// Handlers of breakpoint and debug exceptions: lockdep counts them as NMI (or irq) context,
/// but they run only where a probe or breakpoint was placed. (Not kgdb's: its NMI roundup of the
/// other CPUs lands at any instruction.)
fn is_debug_exception(f: &Frame) -> bool {
    f.base_function().is_some_and(|f| {
        matches!(
            f,
            "exc_int3"
                | "do_int3"
                | "do_int3_user"
                | "kprobe_int3_handler"
                | "kprobe_handler"
                | "kprobe_breakpoint_handler"
                | "kprobe_exceptions_notify"
                | "brk_handler"
                | "exc_debug"
                | "exc_debug_kernel"
                | "do_debug"
                | "do_debug_exception"
        )
    })
}

fn irq_from_debug_exception(r: &Report, _: &Context) -> Option<Finding> {
    let irq = r.irq.as_ref()?;
    // The interrupt-side stacks: the report's own when the new usage is the in-interrupt one,
    // and every `IN-…` trace.
    let mut stacks: Vec<(usize, &[Frame])> = irq
        .traces
        .iter()
        .filter(|t| t.state.contains("IN-"))
        .map(|t| (t.input_line, t.frames.as_slice()))
        .collect();
    if irq
        .usage_to
        .as_deref()
        .is_some_and(|u| u.starts_with("IN-"))
    {
        stacks.push((r.line, r.backtrace.as_slice()));
    }
    let (line, frame) = stacks.iter().find_map(|(line, frames)| {
        frames
            .iter()
            .find(|f| is_debug_exception(f))
            .map(|f| (*line, f))
    })?;
    let lock = r
        .acquiring
        .as_ref()
        .map(|l| format!("`{}`", l.name))
        .unwrap_or_else(|| "the lock".into());
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "The interrupt-side use of {lock} runs in a breakpoint or probe handler (`{}`), which \
             lockdep counts as {} context. It fires only where a probe or breakpoint was placed, \
             not at any instruction: real only if one can fire while the lock is held on the same \
             CPU; otherwise the probe's own rules keep the two uses apart, and lockdep does not \
             know them.",
            frame.base_function().unwrap_or_default(),
            irq.state.as_deref().unwrap_or("interrupt"),
        ),
        evidence: vec![(
            frame.input_line.max(line),
            "breakpoint or probe handler".into(),
        )],
    })
}

fn irq_usage_conflict(r: &Report, _: &Context) -> Option<Finding> {
    let irq = r.irq.as_ref();
    // The banner names the state too (`SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected`),
    // when the line that the state is read from was cut or reflowed.
    let state = irq
        .and_then(|i| i.state.clone())
        .or_else(|| {
            ["HARDIRQ", "SOFTIRQ"]
                .into_iter()
                .find(|s| r.banner.contains(s))
                .map(String::from)
        })
        .unwrap_or_else(|| "irq".into());
    // `fs_reclaim` on the unsafe side is memory reclaim, not a lock to take with irqs off (the
    // unsafe side as named, or as the safe -> unsafe fallback below finds it).
    let unsafe_fallback = r
        .acquiring
        .as_ref()
        .filter(|l| r.kind == Kind::IrqSafeUnsafeOrder && usage_in(l, &state, &['+', '?']));
    let reclaim = irq
        .and_then(|i| i.unsafe_lock.as_ref())
        .or(unsafe_fallback)
        .is_some_and(|l| is_reclaim_map(&l.name));
    let mut evidence = Vec::new();
    let explanation = match r.kind {
        Kind::InconsistentLockState => {
            let a = r.acquiring.as_ref();
            let name = a.map(|l| l.name.clone()).unwrap_or_default();
            let reg = irq.and_then(|i| i.traces.first());
            if let Some(t) = reg {
                let state = t
                    .state
                    .strip_suffix(" state was registered")
                    .unwrap_or(&t.state);
                evidence.push((t.input_line, format!("{state} state was registered here")));
            }
            if let Some(a) = a {
                evidence.push((a.input_line, "the new usage".into()));
            }
            // Each part only when the report printed it (an excerpt may have lost any).
            let usage = |u: Option<String>, site: Option<String>| {
                let mut s = u.map(|u| format!(" {u}")).unwrap_or_default();
                if let Some(site) = site.filter(|s| !s.is_empty()) {
                    s.push_str(&format!(" ({site})"));
                }
                s
            };
            let was = usage(
                irq.and_then(|i| i.usage_from.clone()),
                reg.and_then(|t| first_user(&t.frames).map(|(_, f)| fname(f))),
            );
            let now = usage(
                irq.and_then(|i| i.usage_to.clone()),
                a.and_then(|l| l.at.as_ref())
                    // The function-graph tracer's trampoline stands in for a return address
                    // it replaced: the stack says who took the lock.
                    .filter(|f| f.base_function() != Some("return_to_handler"))
                    .map(|f| f.display())
                    .or_else(|| first_caller(&r.backtrace).map(fname)),
            );
            let lock = if name.is_empty() {
                "The lock".to_string()
            } else {
                format!("`{name}`")
            };
            if state == "NMI" {
                format!(
                    "{lock} was used{was} and is now used{now}. An NMI can arrive on a CPU that \
                     holds it (NMIs are never masked); if its handler takes the lock, that CPU \
                     deadlocks on itself."
                )
            } else {
                format!(
                    "{lock} was used{was} and is now used{now}. If an interrupt arrives on a CPU \
                     that holds it with {state} enabled and the handler takes it, that CPU \
                     deadlocks on itself."
                )
            }
        }
        _ => {
            // When the report was cut before naming them: lockdep searches backwards from the
            // held lock for the irq-safe one and forwards from the acquired lock for the unsafe
            // one, each search starting with the lock itself, so a held lock that its usage
            // shows irq-safe (an acquired one irq-unsafe) is the one it found. (Only in the
            // safe -> unsafe order report: an inversion report's two locks come differently.)
            let order = r.kind == Kind::IrqSafeUnsafeOrder;
            let safe = irq
                .and_then(|i| i.safe_lock.as_ref())
                .or(r
                    .held
                    .as_ref()
                    .filter(|l| order && usage_in(l, &state, &['-', '?'])))
                .map(|l| l.name.clone())
                .unwrap_or_default();
            let unsafe_ = irq
                .and_then(|i| i.unsafe_lock.as_ref())
                .or(unsafe_fallback)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            for t in irq.map(|i| i.traces.as_slice()).unwrap_or_default() {
                if t.state.ends_with("-irq-safe")
                    || t.state.ends_with("-irq-unsafe")
                    || t.state.starts_with("IN-")
                {
                    evidence.push((
                        t.input_line,
                        format!("{} {}", t.lock.clone().unwrap_or_default(), t.state),
                    ));
                }
            }
            if let Some(a) = &r.acquiring {
                evidence.push((a.input_line, "lock whose state/dependency is new".into()));
            }
            if safe.is_empty() || unsafe_.is_empty() {
                // The lines naming them were cut or not read: say what the report is, with
                // what it names.
                let known = [(&safe, "irq-safe"), (&unsafe_, "irq-unsafe")]
                    .into_iter()
                    .filter(|(n, _)| !n.is_empty())
                    .map(|(n, what)| format!(" (the {what} one: `{n}`)"))
                    .collect::<String>();
                format!(
                    "A lock taken in {state} context is (through the recorded chain) ordered \
                     before a lock taken with {state} enabled{known}; the lines that name both \
                     were not read. An interrupt on a CPU that holds the second can spin on the \
                     first while another CPU holding the first waits for the second. Fix by \
                     taking the second with {state} disabled or breaking the chain."
                )
            } else if reclaim {
                // `fs_reclaim` is no lock: it stands for memory reclaim, which may run (and
                // wait) wherever an allocation may reclaim.
                format!(
                    "`{safe}` is taken in {state} context and (through the recorded chain) ends up \
                     ordered before `{unsafe_}`, lockdep's stand-in for memory reclaim: an \
                     allocation that may reclaim (GFP_KERNEL and the like) runs while `{safe}` (or \
                     a lock ordered after it) is held. Reclaim can wait for work that needs \
                     `{safe}`, and an interrupt on a CPU in reclaim can spin on it. Fix by \
                     allocating before taking `{safe}`, or without reclaim (GFP_ATOMIC, \
                     GFP_NOWAIT) under it."
                )
            } else {
                format!(
                    "`{safe}` is taken in {state} context and (through the recorded chain) ends up \
                     ordered before `{unsafe_}`, which is taken with {state} enabled. An interrupt \
                     on a CPU that holds `{unsafe_}` can spin on `{safe}` while another CPU holding \
                     `{safe}` waits for `{unsafe_}`. Fix by taking `{unsafe_}` with {state} \
                     disabled or breaking the chain."
                )
            }
        }
    };
    let mut explanation = explanation;
    if let Some((line, note)) = early_boot_note(r).filter(|_| !reclaim) {
        explanation.push_str(&note);
        evidence.push((line, "first irqs-enabled use, in early boot".into()));
    }
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation,
        evidence,
    })
}

/// What a lock of an invalid-wait-context report is, as far as the report shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WaitKind {
    /// A sleeping lock (mutex, rwsem): sleeps in atomic context on every kernel.
    Sleep,
    /// A `spinlock_t`/`rwlock_t`/`local_lock_t`: spins on most kernels, sleeps on PREEMPT_RT.
    Config,
    /// Wait type 3 without anything telling the two numberings apart.
    Either,
}

static SPINNING_PRIMITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:_?_?raw_(?:spin|read|write)_lock\w*|do_raw_\w+_lock\w*|spin_lock\w*|read_lock\w*|write_lock\w*|local_lock\w*|queued_\w+_lock\w*)$").unwrap()
});
static SLEEPING_PRIMITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:mutex_lock\w*|__mutex_lock\w*|down|down_read\w*|down_write\w*|__down\w*|rt_mutex\w*|rt_spin_lock\w*|rt_read_lock\w*|rt_write_lock\w*|percpu_down_\w+|ww_mutex_lock\w*|rwsem_\w+)$").unwrap()
});

/// Whether the report uses `CONFIG_PROVE_RAW_LOCK_NESTING`'s numbering of wait types (1 free,
/// 2 spin, 3 config, 4 sleep, 5 max) or the plain one (1 free, 2 spin and config, 3 sleep,
/// 4 max); `None` when nothing in it tells.
fn raw_nesting_numbering(r: &Report) -> Option<bool> {
    // The context is LD_WAIT_MAX in a task, LD_WAIT_CONFIG in softirq, LD_WAIT_SPIN in hardirq.
    match r.wait_context.map(|c| c.inner) {
        Some(3 | 5) => return Some(true),
        Some(4) => return Some(false),
        _ => {}
    }
    let locks = r.acquiring.iter().chain(
        r.held_locks
            .iter()
            .flat_map(|h| h.entries.iter().map(|e| &e.lock)),
    );
    let mut verdict = None;
    for l in locks {
        let Some(w) = l.wait else { continue };
        if w.inner >= 4 || w.outer >= 4 {
            return Some(true);
        }
        // rcu_read_lock() is {1:3} with the raw-nesting numbering, {1:2} without.
        if l.name == "rcu_read_lock" && w.outer == 1 {
            verdict = Some(w.inner == 3);
        }
    }
    verdict
}

/// The first lock primitive below `lock_acquire` in the backtrace: how the lock was taken.
fn acquiring_primitive(r: &Report) -> Option<&Frame> {
    let after = r
        .backtrace
        .iter()
        .position(|f| f.base_function() == Some("lock_acquire"))?;
    r.backtrace[after + 1..]
        .iter()
        .find(|f| !f.unreliable && f.function.is_some())
}

fn wait_kind(r: &Report, w: u8) -> Option<WaitKind> {
    // Without `lock_acquire` on the stack (symbols stripped to `$x.205` on arm64), the lock
    // primitive nearest the top is the one taking the lock.
    let primitive = acquiring_primitive(r)
        .or_else(|| {
            r.backtrace.iter().find(|f| {
                !f.unreliable
                    && f.base_function().is_some_and(|n| {
                        SLEEPING_PRIMITIVE.is_match(n) || SPINNING_PRIMITIVE.is_match(n)
                    })
            })
        })
        .and_then(Frame::base_function);
    if primitive.is_some_and(|p| SLEEPING_PRIMITIVE.is_match(p)) {
        return Some(WaitKind::Sleep);
    }
    let spinning = primitive.is_some_and(|p| SPINNING_PRIMITIVE.is_match(p));
    match w {
        0..=2 => None,
        3 => match raw_nesting_numbering(r) {
            Some(true) => Some(WaitKind::Config),
            Some(false) if !spinning => Some(WaitKind::Sleep),
            _ if spinning => Some(WaitKind::Config),
            _ => Some(WaitKind::Either),
        },
        _ => Some(WaitKind::Sleep),
    }
}

/// Whether the report comes from a PREEMPT_RT kernel (where a `spinlock_t` sleeps): the
/// kernel or CPU line says so (`PREEMPT_RT`) or an RT lock primitive is on the stack.
fn preempt_rt_kernel(r: &Report) -> bool {
    // Not a `-rtN` release alone: the RT patch set builds kernels without PREEMPT_RT too
    // (held out, a 6.3-rt8 report whose maintainer answered "enable CONFIG_PREEMPT_RT").
    let ident = r.kernel.as_ref().map(|k| k.raw.as_str()).unwrap_or("");
    ident.contains("PREEMPT_RT")
        || r.preemption.as_deref().is_some_and(|m| m.contains("RT"))
        || ident.contains("preempt-rt")
        || r.backtrace.iter().any(|f| {
            f.base_function()
                .is_some_and(|n| n.starts_with("rt_spin_lock") || n.starts_with("rt_read_lock"))
        })
}

/// The wait type the context allows and why: the interrupt context itself, or the held lock
/// with the lowest inner wait type below it.
fn allowed_wait(r: &Report) -> Option<(u8, String)> {
    let ctx = r.wait_context.map(|c| c.inner).unwrap_or(0);
    let held = r
        .held_locks
        .iter()
        .flat_map(|h| h.entries.iter().map(|e| &e.lock))
        .filter_map(|l| l.wait.map(|w| (w.inner, l)))
        .filter(|(w, _)| *w > 0 && (ctx == 0 || *w < ctx))
        .min_by_key(|(w, _)| *w);
    match held {
        Some((w, l)) => Some((w, format!(" (`{}` is held)", l.name))),
        None if ctx == 2 => Some((ctx, " (hardirq context)".into())),
        None if r.wait_context.is_some() => Some((ctx, String::new())),
        // Cut before its `context-{…}` line, and no held lock restricts it.
        None => None,
    }
}

/// `taken in a context that allows only wait type N (why)`, or that the report does not say.
fn context_phrase(r: &Report, allowed: &Option<(u8, String)>, acquired: u8) -> String {
    let held = r.held_locks.as_ref();
    let unprinted = held.map_or(0, |h| (h.count as usize).saturating_sub(h.entries.len()));
    match allowed {
        // The context allows the lock (`{5:5}`: a task), so a held lock refused it, and the
        // report (or its quote) left that lock out.
        Some((ctx, why)) if why.is_empty() && *ctx >= acquired && unprinted > 0 => format!(
            "refused under a held lock the report does not show ({} held, {} printed; the \
             context itself, wait type {ctx}, would allow it)",
            held.map_or(0, |h| h.count),
            held.map_or(0, |h| h.entries.len()),
        ),
        Some((ctx, why)) => format!("taken in a context that allows only wait type {ctx}{why}"),
        None => "taken in a context the report does not show (it ends before its `context-{…}` \
                 line)"
            .to_string(),
    }
}

/// A `spinlock_t`-like lock (or a wait type 3 lock the report does not tell apart from one)
/// in a context that allows only raw spinning locks: a bug on PREEMPT_RT only.
fn wait_context_preempt_rt(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    let w = a.wait?;
    let kind = wait_kind(r, w.inner)?;
    if kind == WaitKind::Sleep {
        return None;
    }
    let allowed = allowed_wait(r);
    let rt = preempt_rt_kernel(r);
    let what = match kind {
        WaitKind::Config => "a spinlock_t, rwlock_t or local_lock_t (it sleeps on PREEMPT_RT)",
        _ => {
            "either a spinlock_t-like lock under CONFIG_PROVE_RAW_LOCK_NESTING (a PREEMPT_RT \
             problem) or a sleeping lock without it (a bug on every kernel): the report does not \
             show which numbering of wait types it uses"
        }
    };
    let (label, verdict) = if rt && kind == WaitKind::Config {
        (
            Label::LikelyGenuine,
            "This kernel is PREEMPT_RT, where the lock sleeps: a real sleep in atomic context."
                .to_string(),
        )
    } else {
        (
            Label::Undetermined,
            "On a kernel without PREEMPT_RT a spinlock_t spins, so nothing sleeps or deadlocks \
             here; lockdep reports it because the same code would sleep in atomic context on \
             PREEMPT_RT. It is a bug if this path also runs on PREEMPT_RT (an IRQF_NO_THREAD \
             handler, a smp_call_function() callback, a raw_spinlock_t section); a false positive \
             if the path exists only on kernels without PREEMPT_RT."
                .to_string(),
        )
    };
    Some(Finding {
        label,
        explanation: format!(
            "`{}` (wait type {}) is {what}, {}. {verdict}",
            a.name,
            w.inner,
            context_phrase(r, &allowed, w.inner),
        ),
        evidence: vec![(a.input_line, "lock and its wait type".into())],
    })
}

/// Held scoped read-side sections (`rcu_read_lock()`) are released in the function that took
/// them; when the one that restricts the context was taken in a function that is not on the
/// current stack, lockdep's held-lock state does not match this context.
fn held_lock_not_on_stack(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    let w = a.wait?;
    let ctx = r.wait_context.map(|c| c.inner)?;
    if w.inner <= ctx {
        // The context itself does not forbid the lock: held locks do.
    } else {
        return None;
    }
    let held = r.held_locks.as_ref()?;
    let restricting: Vec<&LockRef> = held
        .entries
        .iter()
        .map(|e| &e.lock)
        .filter(|l| l.wait.is_some_and(|lw| lw.inner < w.inner))
        .collect();
    if restricting.is_empty()
        || !restricting
            .iter()
            .all(|l| l.name.starts_with("rcu_read_lock"))
    {
        return None;
    }
    let on_stack = |l: &&LockRef| {
        l.at.as_ref()
            .and_then(Frame::base_function)
            .is_some_and(|f| r.backtrace.iter().any(|b| b.base_function() == Some(f)))
    };
    if restricting.iter().any(on_stack) || restricting.iter().any(|l| l.at.is_none()) {
        return None;
    }
    let l = restricting[0];
    let at = l.at.as_ref().map(Frame::display).unwrap_or_default();
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "`{}` is refused only because lockdep believes `{}` is held (taken at {at}), and that \
             function is not on the current stack. A read-side section is normally left in the \
             function that entered it, so either it leaked (a real bug: find where {at} returns \
             without unlocking) or lockdep's context tracking merged two contexts — broken \
             irq/entry tracing makes lockdep report locks of an interrupted context (arm64 before \
             v5.10-rc7, Mark Rutland's entry fixes).",
            a.name, l.name
        ),
        evidence: vec![
            (
                l.input_line,
                "held lock whose section is not on this stack".into(),
            ),
            (a.input_line, "lock refused".into()),
        ],
    })
}

fn wait_context(r: &Report, _: &Context) -> Option<Finding> {
    let a = r.acquiring.as_ref()?;
    let w = a.wait?;
    let allowed = allowed_wait(r);
    // A spinlock_t taken through PREEMPT_RT's primitives sleeps on that kernel only.
    let rt_primitive = r.backtrace.iter().any(|f| {
        f.base_function().is_some_and(|n| {
            n.starts_with("rt_spin_lock")
                || n.starts_with("rt_read_lock")
                || n.starts_with("rt_write_lock")
        })
    });
    let (what, why) = if wait_kind(r, w.inner) == Some(WaitKind::Sleep) && rt_primitive {
        (
            "a spinlock_t or rwlock_t, taken through PREEMPT_RT's sleeping primitive",
            "This kernel is PREEMPT_RT, where the lock sleeps: a real sleep in atomic context \
             (on a kernel without PREEMPT_RT the same lock spins).",
        )
    } else if wait_kind(r, w.inner) == Some(WaitKind::Sleep) {
        (
            "a sleeping lock",
            "This can sleep in atomic context on every kernel.",
        )
    } else {
        (
            "a lock",
            "Lockdep's wait-type rules forbid it here on every kernel.",
        )
    };
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "`{}` ({what}, wait type {}) is {}. {why}",
            a.name,
            w.inner,
            context_phrase(r, &allowed, w.inner),
        ),
        evidence: vec![(a.input_line, "lock and its wait type".into())],
    })
}

/// What a held-lock-freed report's stack shows between its printing and the code that freed
/// the memory: the check, the allocators' free paths, sanitizers, RCU callbacks.
static FREE_MACHINERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:debug_check_no_locks_freed|debug_check_no_obj_freed|__debug_check_no_obj_freed|kmem_cache_free\w*|kfree\w*",
        r"|__kfree\w*|k?vfree\w*|__vunmap|slab_free\w*|__slab_free|___slab_free|do_slab_free",
        r"|free_large_kmalloc|__free_pages\w*|free_pages\w*|free_unref_\w+|__free_one_page",
        r"|__put_page\w*|put_page\w*|kasan_\w+|__kasan_\w+|kfence_\w+|kmsan_\w+",
        r"|rcu_do_batch|rcu_core\w*|rcu_process_callbacks)$"
    ))
    .unwrap()
});

/// Lock initialisers, which check that the memory holds no held lock (a re-initialised one).
static LOCK_INIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:__init_rwsem|__mutex_init|mutex_init\w*|__raw_spin_lock_init|__spin_lock_init",
        r"|spin_lock_init|__rwlock_init|rwlock_init|__rt_mutex_init|__ww_mutex_init|init_rwsem",
        r"|__rt_mutex_base_init|rt_mutex_base_init)$"
    ))
    .unwrap()
});

/// The debug halves of lock initialisers, called by them (`__mutex_init` → `debug_mutex_init`).
static LOCK_INIT_DEBUG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:debug_mutex_init|debug_rt_mutex_init|lockdep_init_map\w*)$").unwrap()
});

fn bookkeeping(r: &Report, _: &Context) -> Option<Finding> {
    let first_held = r
        .held_locks
        .as_ref()
        .and_then(|h| h.entries.first())
        .map(|e| e.lock.clone())
        .or_else(|| r.held.clone());
    let name = |l: &Option<LockRef>| l.as_ref().map(|l| l.name.clone()).unwrap_or_default();
    let site = |l: &Option<LockRef>| {
        l.as_ref()
            .and_then(|l| l.at.as_ref())
            .map(|f| f.display())
            .unwrap_or_default()
    };
    // The code that freed the memory: the first caller past the check and the allocator.
    let freer = r.backtrace.iter().position(|f| {
        is_caller(f)
            && !f
                .base_function()
                .is_some_and(|n| FREE_MACHINERY.is_match(n))
    });
    // A lock initialiser checks the memory too: a held lock initialised again. Read before the
    // primitive filter, which `__mutex_init` and `spin_lock_init` would not pass.
    let reinit = r
        .backtrace
        .iter()
        .position(|f| {
            !f.unreliable
                && f.function.is_some()
                && !f.base_function().is_some_and(|n| {
                    REPORTING.is_match(n)
                        || FREE_MACHINERY.is_match(n)
                        || LOCK_INIT_DEBUG.is_match(n)
                })
        })
        .filter(|&i| {
            r.backtrace[i]
                .base_function()
                .is_some_and(|n| LOCK_INIT.is_match(n))
        });
    let free_path = match (freer, reinit) {
        (_, Some(i)) => format!(
            " (by `{}`{})",
            fname(&r.backtrace[i]),
            r.backtrace[i + 1..]
                .iter()
                .find(|f| is_caller(f))
                .map(|f| format!(" from `{}`", fname(f)))
                .unwrap_or_default()
        ),
        (Some(i), None) => format!(" (free path through `{}`)", fname(&r.backtrace[i])),
        (None, None) => String::new(),
    };
    // Old kernels print no line for the freed lock, only the held list: one of those.
    let held_list: Vec<&LockRef> = r
        .held_locks
        .iter()
        .flat_map(|h| &h.entries)
        .map(|e| &e.lock)
        .collect();
    let freed = match (&r.held, held_list.as_slice()) {
        (Some(l), _) if !l.name.is_empty() => {
            format!("the lock `{}` (taken at `{}`)", l.name, site(&r.held))
        }
        (_, [l]) => format!(
            "the lock `{}` (taken at `{}`)",
            l.name,
            l.at.as_ref().map(|f| f.display()).unwrap_or_default()
        ),
        (_, []) => "a lock".to_string(),
        (_, many) => format!(
            "one of the held locks ({})",
            code_list(many.iter().map(|l| &l.name))
        ),
    };
    // A range no allocation can span (a terabyte or more: syzbot's whole address space) was
    // not a real free: the checker was handed a corrupt pointer or size.
    let bogus_range = r.freed_range.as_ref().filter(|(from, to)| {
        let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
        match (parse(from), parse(to)) {
            // Hashed pointers (`%p` since 4.15: `000000007fcba654-00000000499fef26`) are
            // 32-bit values in any order: only a span no hash can make counts.
            (Some(a), Some(b)) => b >= a && b - a >= 1 << 40,
            _ => false,
        }
    });
    let explanation = match r.kind {
        Kind::HeldLockFreed if let Some((from, to)) = bogus_range => format!(
            "The freed range {from}-{to} is no allocation (it spans more than any allocation \
             can): the free checker{free_path} was given a corrupt address or size, \
             and {freed} lies inside it only because the range covers everything. Look for memory \
             corruption or a bad pointer in the free path, not for a locking bug."
        ),
        Kind::HeldLockFreed if reinit.is_some() => format!(
            "Memory holding {freed} is initialised as a new lock while that lock is \
             held{free_path}: a held lock re-initialised (its holder's unlock then releases a \
             lock lockdep no longer knows), or the memory freed and reused without the unlock."
        ),
        Kind::HeldLockFreed => format!(
            "Memory holding {freed} is freed while the lock is held{free_path}: a use-after-free \
             of the lock or a missing unlock before the free."
        ),
        Kind::BadUnlockBalance => {
            let released = name(&r.acquiring);
            // `at:` is the unlock primitive when the caller's unlock was not inlined
            // (`mutex_unlock+0x9/0x10`): the code that released it is its first caller.
            // Its caller is the first caller past that primitive in the stack.
            let release_site = match r.acquiring.as_ref().and_then(|l| l.at.as_ref()) {
                Some(f) if is_primitive(f) => {
                    // Not in the stack (cut, or inlined): say only what `at:` says.
                    let caller = r
                        .backtrace
                        .iter()
                        .position(|b| !b.unreliable && b.base_function() == f.base_function())
                        .and_then(|i| first_caller(&r.backtrace[i + 1..]));
                    match caller {
                        Some(c) => format!("`{}` (in `{}`)", f.display(), fname(c)),
                        None => format!("`{}`", f.display()),
                    }
                }
                _ => format!("`{}`", site(&r.acquiring)),
            };
            let listed = r
                .held_locks
                .iter()
                .flat_map(|h| &h.entries)
                .find(|e| !released.is_empty() && e.lock.name == released);
            match listed {
                // The held list shows it: the task holds it, yet the release found no match.
                Some(e) => format!(
                    "`{released}` is released at {}, and the task's held locks list it (#{}, taken \
                     at `{}`), yet lockdep found no matching acquisition: the release ran in \
                     another context of this CPU than the acquisition (an interrupt, NMI or debug \
                     exception the lock crossed, as kgdb stepping into a handler does), or it \
                     released another instance of the class than the one held.",
                    release_site,
                    e.index,
                    e.lock.at.as_ref().map(|f| f.display()).unwrap_or_default()
                ),
                None => format!(
                    "`{released}` is released at {} without being held by this task: a double \
                     unlock, an unlock on an error path that never locked, or a lock released by \
                     another task than the one that took it.",
                    release_site
                ),
            }
        }
        Kind::LockHeldReturningToUser => format!(
            "The system call returned to user space still holding `{}` (taken at `{}`): an exit \
             path is missing its unlock.",
            name(&first_held),
            site(&first_held)
        ),
        Kind::LocksHeldAtExit => format!(
            "The task reached a point where it must hold no locks (exit or freezing) while holding \
             `{}` (taken at `{}`): a lock kept across a return to user space or a missing unlock.",
            name(&first_held),
            site(&first_held)
        ),
        Kind::NestedLockNotTaken => format!(
            "`{}` is acquired with a nest-lock annotation{} but the nest lock is not held: the \
             annotation (or the locking) is wrong.",
            name(&r.acquiring),
            r.not_holding
                .as_ref()
                .map(|n| format!(" naming `{n}`"))
                .unwrap_or_default()
        ),
        _ => return None,
    };
    let mut evidence = vec![(r.line, "report".into())];
    for l in [&r.acquiring, &r.held, &first_held].into_iter().flatten() {
        evidence.push((l.input_line, format!("lock {}", l.name)));
    }
    evidence.dedup();
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation,
        evidence,
    })
}

/// `RCU-list traversed in non-reader section!!`: `list_for_each_entry_rcu()` without its
/// lockdep condition outside rcu_read_lock(), which is also how lists protected by their
/// update-side lock or by SRCU are walked (`CONFIG_PROVE_RCU_LIST`).
/// `RCU used illegally from idle CPU!` / `offline CPU!` / `extended quiescent state!`: the CPU
/// was outside RCU's view, whatever the message line says was used.
fn rcu_not_watching(r: &Report, _: &Context) -> Option<Finding> {
    let from = r.rcu_not_watching.as_deref()?;
    let in_user = first_caller(&r.backtrace)
        .map(fname)
        .map(|u| format!(" (in `{u}`)"))
        .unwrap_or_default();
    let (why, fix) = if from.contains("offline") {
        (
            "an offline CPU (one going down, or coming up before it reported itself to RCU)",
            "report the CPU to RCU earlier on its way up (`rcutree_report_cpu_starting()`, \
             arch CPU bring-up code) or later on its way down, or move the code out of that \
             window; rcu_read_lock() there would not help",
        )
    } else {
        (
            "a CPU RCU is not watching (idle, or an extended quiescent state: entry code, the \
             idle loop, an offline CPU)",
            "make RCU watch first: an interrupt/exception entry that tells RCU \
             (`irq_enter()`, `ct_irq_enter()`), or `RCU_NONIDLE()` / `ct_idle_exit()` around \
             it; rcu_read_lock() alone would not help",
        )
    };
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "RCU was used from {why} (RCU used illegally from {from}): RCU ignores such a CPU, \
             so a read-side section there protects nothing. The code reached there{in_user} \
             must {fix}."
        ),
        evidence: vec![(r.line, "report".into())],
    })
}

fn rcu_list_without_condition(r: &Report, _: &Context) -> Option<Finding> {
    let m = r.message.as_deref()?;
    if !m.contains("RCU-list traversed in non-reader section") {
        return None;
    }
    let held: Vec<String> = r
        .held_locks
        .iter()
        .flat_map(|h| h.entries.iter().map(|e| format!("`{}`", e.lock.name)))
        .collect();
    // "no locks held by": neither an update-side lock nor an SRCU read lock (lockdep tracks
    // both) protects the walk.
    let none_held = r
        .held_locks
        .as_ref()
        .is_some_and(|h| h.count == 0 && h.entries.is_empty());
    let general = format!(
        "An RCU list is walked outside rcu_read_lock() ({m}). list_for_each_entry_rcu() checks \
         only RCU read-side sections unless the caller passes the lock that protects the list as \
         its last argument, so a walk under the update-side lock or an SRCU read lock is reported \
         too."
    );
    if none_held {
        return Some(Finding {
            label: Label::LikelyGenuine,
            explanation: format!(
                "{general} Here the task holds no lock at all (the report says so, and lockdep \
                 would list an update-side lock or an SRCU read lock), so nothing lockdep knows \
                 protects the walk: a use-after-free risk unless the list cannot change here \
                 (walked before it is published, or under a protection lockdep does not track)."
            ),
            evidence: r
                .held_locks
                .iter()
                .map(|h| (h.input_line, "no locks held".to_string()))
                .chain([(r.line, "report".to_string())])
                .collect(),
        });
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "{general} {}",
            if held.is_empty() {
                "The report's held locks were not printed or not read.".to_string()
            } else {
                format!("Held here: {}.", held.join(", "))
            }
        ),
        evidence: vec![(r.line, "report".into())],
    })
}

/// Held "locks" that cannot be the update-side lock of an RCU pointer: RCU's own read-side
/// section, and lockdep maps that stand for waiting or a reference rather than exclusion (a
/// workqueue, work item or timer being run, whatever its name: its site is the function that
/// runs it; `(completion)`, reclaim, MMU notifiers, kernfs active references, a filesystem's
/// freeze levels; 2.6's `"wq"` and `(&x->work)` names). `rcu_read_lock_bh` and
/// `rcu_read_lock_sched` are not among them: since 4.20 they protect what `rcu_read_lock`
/// protects, and lockdep's `rcu_dereference()` does not know it.
fn protects_nothing(lock: &LockRef) -> bool {
    let name = lock.name.as_str();
    let old_work = name.starts_with("(&")
        && name
            .split('#')
            .next()
            .is_some_and(|n| n.ends_with("work)") || n.ends_with("timer)"));
    let runner = lock
        .at
        .as_ref()
        .and_then(|f| f.function.as_deref())
        .is_some_and(|f| matches!(f, "process_one_work" | "call_timer_fn" | "worker_thread"));
    matches!(
        lock.class.as_str(),
        "rcu_read_lock"
            | "rcu_read_lock_trace"
            | "rcu_callback"
            | "fs_reclaim"
            | "kn->active"
            | "sb_writers"
            | "sb_internal"
            | "sb_pagefaults"
    ) || name.starts_with("(wq_completion)")
        || name.starts_with("(work_completion)")
        || name.starts_with("(completion)")
        || name.starts_with("mmu_notifier_invalidate_range_start")
        || (name.starts_with('"') && name.ends_with('"'))
        || old_work
        || runner
}

fn rcu_dereference_under_lock(r: &Report, _: &Context) -> Option<Finding> {
    let m = r.message.as_deref()?;
    // `rcu_dereference()` is `rcu_dereference_check(p, 0)`: both print this message, as does
    // a `_check()` whose condition names another lock; 2.6.3x printed the second form.
    if !m.contains("suspicious rcu_dereference_check() usage")
        && !m.contains("invoked rcu_dereference_check() without protection")
    {
        return None;
    }
    let locks: Vec<&HeldLock> = r
        .held_locks
        .iter()
        .flat_map(|h| h.entries.iter())
        .filter(|e| !protects_nothing(&e.lock))
        .collect();
    // Held locks counted but not printed (a quote cut them) may be any lock.
    let unprinted = r
        .held_locks
        .as_ref()
        .map_or(0, |h| (h.count as usize).saturating_sub(h.entries.len()));
    if locks.is_empty() && unprinted == 0 {
        return None;
    }
    let mut names: Vec<String> = locks.iter().map(|e| format!("`{}`", e.lock.name)).collect();
    if unprinted > 0 {
        names.push(format!(
            "{unprinted} lock{} the report counts but does not print",
            if unprinted == 1 { "" } else { "s" }
        ));
    }
    Some(Finding {
        label: Label::Undetermined,
        explanation: format!(
            "An RCU-protected pointer was dereferenced outside rcu_read_lock() ({m}) while the \
             task holds {}. `rcu_dereference()` accepts only an RCU read-side section, and \
             `rcu_dereference_check()` only the condition its caller wrote, so a dereference \
             under the update-side lock that really protects the pointer is reported too, until \
             the condition names it (`lockdep_is_held()`, or `rcu_dereference_protected()`). \
             Whether one of the held locks protects this pointer is not in the report.",
            names.join(", ")
        ),
        evidence: locks
            .iter()
            .map(|e| (e.lock.input_line, format!("held: {}", e.lock.name)))
            .chain([(r.line, "report".to_string())])
            .collect(),
    })
}

fn rcu_usage(r: &Report, _: &Context) -> Option<Finding> {
    let user = first_caller(&r.backtrace).map(fname);
    // ` (in `f`)` when the stack names the code, nothing when the stack was cut.
    let in_user = user
        .as_ref()
        .map(|u| format!(" (in `{u}`)"))
        .unwrap_or_default();
    if let Some(m) = r
        .message
        .as_deref()
        .filter(|m| m.contains("used illegally while idle"))
    {
        return Some(Finding {
            label: Label::LikelyGenuine,
            explanation: format!(
                "RCU was used from an idle CPU ({m}): RCU does not watch a CPU in its idle loop \
                 (an extended quiescent state), so a read-side section there protects nothing. \
                 The code reached from idle{in_user} needs RCU watching first: an \
                 interrupt/exception entry that tells RCU (`irq_enter()`, `ct_irq_enter()`), or \
                 `RCU_NONIDLE()` / `ct_idle_exit()` around it."
            ),
            evidence: vec![(r.line, "report".into())],
        });
    }
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "RCU's lockdep check fired{}: an RCU-protected pointer is used without the read lock or \
             update-side lock the accessor requires, or the task blocks inside an RCU read-side \
             critical section{in_user}.",
            r.message
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ),
        evidence: vec![(r.line, "report".into())],
    })
}

/// A task dying after an oops (`make_task_dead`, x86's `rewind_stack_*`): it may hold locks or
/// run with preemption off because of the oops it died of.
static DYING_TASK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:make_task_dead|rewind_stack_and_make_dead|rewind_stack_do_exit|oops_end)$")
        .unwrap()
});

fn sleeping_in_atomic(r: &Report, _: &Context) -> Option<Finding> {
    let user = first_caller(&r.backtrace).map(fname).unwrap_or_default();
    let oopsed = r
        .kernel
        .as_ref()
        .and_then(|k| k.taint.as_deref())
        .is_some_and(|t| t.split_once(':').is_some_and(|(_, f)| f.contains('D')));
    if let Some(f) = r
        .backtrace
        .iter()
        .find(|f| f.base_function().is_some_and(|n| DYING_TASK.is_match(n)))
        && oopsed
    {
        return Some(Finding {
            label: Label::Undetermined,
            explanation: format!(
                "The task is dying after an oops (`{}`; the kernel is tainted D): the oops it died \
                 of can leave preemption or interrupts disabled, or locks held, so this report is \
                 most likely fallout of that oops. Read the oops first.",
                fname(f)
            ),
            evidence: vec![(f.input_line, "dying task".into())],
        });
    }
    let held: Vec<String> = r
        .held_locks
        .iter()
        .flat_map(|h| h.entries.iter().map(|e| e.lock.name.clone()))
        .collect();
    Some(Finding {
        label: Label::LikelyGenuine,
        explanation: format!(
            "A function that may sleep{} was called from atomic context (from `{user}`){}. This is a \
             real bug: sleeping there can deadlock or corrupt scheduler state.",
            r.message
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default(),
            if held.is_empty() {
                String::new()
            } else {
                format!(" while holding {}", held.join(", "))
            }
        ),
        evidence: vec![(r.line, "report".into())],
    })
}

/// Observations that do not decide a verdict.
pub fn notes(r: &Report) -> Vec<String> {
    let mut v = Vec::new();
    let all_locks = r
        .held_locks
        .iter()
        .flat_map(|h| h.entries.iter().map(|e| e.lock.name.as_str()))
        .chain(r.locks.iter().map(String::as_str));
    let mut novalidate = false;
    let mut indexed = false;
    for l in all_locks {
        // `&table[i].mutex`: the init site's expression indexes an array by a variable, so
        // every element initialised in that loop shares one class.
        if !indexed
            && r.locks.iter().any(|c| c == l)
            && let Some((array, rest)) = l.split_once('[')
            && let Some(index) = rest.split_once(']')
            // A key array (`&us_interface_key[i]`) is a class per element.
            && !array.ends_with("key")
            && !array.ends_with("keys")
            // A variable (`i`, `cpu`), not a constant (`0`, `IDX_TX`): one element per site.
            && index.0.starts_with(|c: char| c.is_ascii_lowercase())
            && index
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            indexed = true;
            v.push(format!(
                "`{l}` was initialised through an array index (`[{}]`): every element initialised \
                 at that line is this one class, so what the report says of the class (a second \
                 acquisition, an order against other locks, its irq usage) may come from \
                 different elements. Check which element each part of the report took.",
                index.0
            ));
        }
        if l == "&dev->mutex" && !novalidate {
            novalidate = true;
            v.push(
                "`&dev->mutex` is a novalidate class: lockdep records no dependencies through it, \
                 so orderings involving device locks are invisible in this report."
                    .to_string(),
            );
        }
    }
    if r.truncated {
        v.push("The report is incomplete; the verdict rests on the part that was read.".into());
    }
    if r.kernel.as_ref().is_some_and(|k| k.tainted) {
        v.push("The kernel was tainted when the report fired.".into());
    }
    v
}

const CIRCULAR: &[Kind] = &[Kind::CircularDependency];

/// The rule table, in the order rules are tried.
pub const RULES: &[Rule] = &[
    Rule {
        id: "unregistered-key",
        summary: "a lock with an unregistered or non-static key: a missing init or registration",
        check_next: "Find where the lock (or the object holding it) is initialised: a missing spin_lock_init()/mutex_init(), an object used before init or after free, or a dynamic key never given to lockdep_register_key().",
        kinds: &[Kind::LockdepInternalWarning],
        check: unregistered_key,
    },
    Rule {
        id: "after-first-report",
        summary: "lockdep internal warning after an earlier report: a consequence, not a bug",
        check_next: "Read the first report of this boot; this warning follows from it.",
        kinds: &[Kind::LockdepInternalWarning],
        check: after_first_report,
    },
    Rule {
        id: "lockdep-capacity",
        summary: "lockdep ran out of a table: not a locking bug",
        check_next: "Raise the CONFIG_LOCKDEP_*_BITS the banner names, or find code that registers lock classes without bound (dynamic keys never unregistered); then reproduce.",
        kinds: &[Kind::LockdepInternalWarning],
        check: lockdep_capacity,
    },
    Rule {
        id: "lockdep-internal",
        summary: "internal lockdep check fired",
        check_next: "Start at the frame the title names: an unlock of a lock not held, a downgrade of a read lock, or a lock object used after free or before init.",
        kinds: &[Kind::LockdepInternalWarning],
        check: lockdep_internal,
    },
    Rule {
        id: "rcu-after-lockdep-off",
        summary: "suspicious RCU usage printed with debug_locks = 0",
        check_next: "Find the report that turned lockdep off (another CPU's, printed around this one) and reproduce without it; for a dereference check, also check the dereference's protection by hand.",
        kinds: &[Kind::SuspiciousRcuUsage],
        check: rcu_after_lockdep_off,
    },
    Rule {
        id: "rcu-not-watching",
        summary: "RCU used on a CPU RCU is not watching (idle, offline, extended quiescent state)",
        check_next: "Find where the CPU enters or leaves RCU's view around this code (idle entry, CPU hotplug bring-up/teardown, exception entry) and move the RCU use inside it, or make RCU watch first.",
        kinds: &[Kind::SuspiciousRcuUsage],
        check: rcu_not_watching,
    },
    Rule {
        id: "rcu-list-without-condition",
        summary: "RCU list walked outside rcu_read_lock() without a lockdep condition",
        check_next: "Find what protects this list where it is walked: the update-side lock or an SRCU read lock held means a false positive (pass lockdep_is_held()/srcu_read_lock_held() as the last argument of list_for_each_entry_rcu()); nothing means a real use-after-free risk (take rcu_read_lock()).",
        kinds: &[Kind::SuspiciousRcuUsage],
        check: rcu_list_without_condition,
    },
    Rule {
        id: "rcu-dereference-under-lock",
        summary: "RCU pointer dereferenced outside rcu_read_lock() with another lock held",
        check_next: "Find what protects this pointer where it is dereferenced: if a held lock is its update-side lock, name it in the check (rcu_dereference_protected() or lockdep_is_held() in rcu_dereference_check()): a false positive; if none is, take rcu_read_lock(): a real use-after-free risk.",
        kinds: &[Kind::SuspiciousRcuUsage],
        check: rcu_dereference_under_lock,
    },
    Rule {
        id: "class-conflation",
        summary: "cycle through a generic class reached from different objects or code paths",
        check_next: "Confirm that the two code paths can never operate on the same object; if so, give the init sites separate lock classes (lockdep_set_class or a per-site key).",
        kinds: CIRCULAR,
        check: class_conflation,
    },
    Rule {
        id: "seqcount-reader-edge",
        summary: "cycle closes only through a seqcount read access",
        check_next: "Check whether the writer of this seqcount instance can wait, directly or through the cycle's other locks, for the lock the reader holds.",
        kinds: &[
            Kind::CircularDependency,
            Kind::IrqSafeUnsafeOrder,
            Kind::IrqLockInversion,
        ],
        check: seqcount_reader_edge,
    },
    Rule {
        id: "same-class-two-instances",
        summary: "recursive locking on two addresses: missing nesting annotation",
        check_next: "Check whether two tasks can nest the same two objects in opposite orders; if there is a fixed order (parent before child, by address), annotate it (*_nested() subclass, *_nest_lock(), or a lock_class_key per object kind).",
        kinds: &[Kind::RecursiveLocking],
        check: same_class_two_instances,
    },
    Rule {
        id: "test-code",
        summary: "raised by kernel test or torture code",
        check_next: "Check the test's locking design (or lockdep's model of what it exercises): production code is not involved.",
        kinds: &[
            Kind::CircularDependency,
            Kind::RecursiveLocking,
            Kind::InconsistentLockState,
            Kind::IrqSafeUnsafeOrder,
            Kind::IrqLockInversion,
            Kind::InvalidWaitContext,
            Kind::HeldLockFreed,
            Kind::BadUnlockBalance,
            Kind::LocksHeldAtExit,
        ],
        check: test_code,
    },
    Rule {
        id: "same-instance-recursion",
        summary: "recursive locking on one address: genuine self-deadlock",
        check_next: "Find the path that takes the lock again while holding it (the two at: sites) and drop the inner acquisition or release before it.",
        kinds: &[Kind::RecursiveLocking],
        check: same_instance_recursion,
    },
    Rule {
        id: "recursion-no-address",
        summary: "recursive locking without instance addresses",
        check_next: "Find out whether the two acquisitions can be on the same object (a self-deadlock) or always on two objects (a missing *_nested() annotation).",
        kinds: &[Kind::RecursiveLocking],
        check: recursion_no_address,
    },
    Rule {
        id: "printk-under-scheduler-lock",
        summary: "console lock and scheduler lock in one cycle",
        check_next: "Check the printk under the scheduler or console lock (printk_deferred, or moving the message out of the locked region).",
        kinds: CIRCULAR,
        check: printk_under_scheduler_lock,
    },
    Rule {
        id: "workqueue-flush",
        summary: "cycle through (wq_completion)/(work_completion): flush while holding a lock the work needs",
        check_next: "Check that the flushed or cancelled work item can take the held lock of the same object the flusher holds (not only another object of that class); if it can, flush outside the lock or make the work not need it.",
        kinds: CIRCULAR,
        check: workqueue_flush,
    },
    Rule {
        id: "stacked-filesystems",
        summary: "cycle closed by the loop device's worker: two filesystems of one type",
        check_next: "Check that no backing file of the loop device lives on the filesystem mounted from it; to silence it, use a lockdep subclass per stacking depth.",
        kinds: CIRCULAR,
        check: stacked_filesystems,
    },
    Rule {
        id: "reclaim-of-unreferenced-inode",
        summary: "fs_reclaim cycle on a per-inode lock taken by inode eviction/reclaim",
        check_next: "Check that the allocating path never holds the lock of an inode that is already being evicted; if it can, allocate with GFP_NOFS (memalloc_nofs_save).",
        kinds: CIRCULAR,
        check: reclaim_of_unreferenced_inode,
    },
    Rule {
        id: "fs-reclaim",
        summary: "cycle through fs_reclaim",
        check_next: "Check whether the allocation under the held lock can enter this reclaim path (GFP flags, memalloc_nofs/noio scopes) and whether reclaim really takes the lock.",
        kinds: CIRCULAR,
        check: fs_reclaim,
    },
    Rule {
        id: "insufficient-data",
        summary: "no usable dependency chain",
        check_next: "Get the full report (the console log, not a trimmed excerpt): the dependency chain decides the verdict.",
        kinds: CIRCULAR,
        check: insufficient_data,
    },
    Rule {
        id: "global-locks",
        summary: "every class in the cycle is a single static lock",
        check_next: "Follow the chain's edges (each names the code that took one global lock while holding the previous one) and break the cycle at the edge that is newest or easiest to move.",
        kinds: CIRCULAR,
        check: global_locks,
    },
    Rule {
        id: "per-object-classes",
        summary: "cycle through per-object classes, no evidence either way",
        check_next: "For each edge, check whether the two paths can operate on the same objects and run at the same time (a lock both hold first serialises them); if every pairing is on different objects, the cycle is a class conflation.",
        kinds: CIRCULAR,
        check: per_object_classes,
    },
    Rule {
        id: "seqcount-writers",
        summary: "a seqcount written in two contexts: torn reads, not a deadlock",
        check_next: "Check whether both contexts can write the same seqcount instance at once (a process-context writer running while the interrupt source is enabled); if so, disable it around the write (u64_stats_update_begin_irqsave()); if never, it is a false positive.",
        kinds: &[Kind::InconsistentLockState],
        check: seqcount_writers,
    },
    Rule {
        id: "inconsistent-shared-class",
        summary: "inconsistent usage of an array/parameter class",
        check_next: "Check whether the irq user and the non-irq user ever touch the same element of this shared class; if not, give them separate classes.",
        kinds: &[Kind::InconsistentLockState],
        check: inconsistent_shared_class,
    },
    Rule {
        id: "irq-from-debug-exception",
        summary: "the interrupt-side use is a breakpoint or probe handler, not an interrupt",
        check_next: "Check whether a probe or breakpoint can fire while this lock is held on the same CPU (a kprobe on a function called under the lock, a breakpoint inside the section): if so, it is real and the handler must not take the lock; if the probe's own rules keep it out of the section, tell lockdep about that nesting.",
        kinds: &[
            Kind::InconsistentLockState,
            Kind::IrqSafeUnsafeOrder,
            Kind::IrqLockInversion,
        ],
        check: irq_from_debug_exception,
    },
    Rule {
        id: "irq-usage-conflict",
        summary: "lock used in irq context and with that irq enabled",
        check_next: "Check whether the irq-context use and the irq-enabled use can meet on one CPU for the same lock object; if so, take the lock with that irq disabled.",
        kinds: &[
            Kind::InconsistentLockState,
            Kind::IrqSafeUnsafeOrder,
            Kind::IrqLockInversion,
        ],
        check: irq_usage_conflict,
    },
    Rule {
        id: "wait-context-preempt-rt",
        summary: "spinlock_t-like lock in a raw context: a bug on PREEMPT_RT only",
        check_next: "Check whether this path runs on PREEMPT_RT kernels (an IRQF_NO_THREAD handler, a smp_call_function() callback, a raw_spinlock_t section): if so, make the lock a raw_spinlock_t or move the call out; if the path exists only on kernels without PREEMPT_RT, it is a false positive of CONFIG_PROVE_RAW_LOCK_NESTING.",
        kinds: &[Kind::InvalidWaitContext],
        check: wait_context_preempt_rt,
    },
    Rule {
        id: "held-lock-not-on-stack",
        summary: "the held read-side section that forbids the lock was entered off this stack",
        check_next: "Check whether the function that entered the read-side section can return without leaving it (a real leak); if not, look for a lockdep/irq-tracing problem of this architecture and kernel (an earlier warning, broken entry code) and reproduce on a fixed kernel.",
        kinds: &[Kind::InvalidWaitContext],
        check: held_lock_not_on_stack,
    },
    Rule {
        id: "wait-context",
        summary: "sleeping lock taken in a context that may not sleep",
        check_next: "Find what made the context atomic (the held locks, an interrupt) and take the sleeping lock outside it, or make the inner lock a spinning one.",
        kinds: &[Kind::InvalidWaitContext],
        check: wait_context,
    },
    Rule {
        id: "bookkeeping-violation",
        summary: "held-lock bookkeeping violated (freed, unbalanced, leaked, nest lock missing)",
        check_next: "Follow the named site: a missing unlock, a double unlock, or a lock freed while held.",
        kinds: &[
            Kind::HeldLockFreed,
            Kind::BadUnlockBalance,
            Kind::LockHeldReturningToUser,
            Kind::LocksHeldAtExit,
            Kind::NestedLockNotTaken,
        ],
        check: bookkeeping,
    },
    Rule {
        id: "rcu-usage",
        summary: "RCU lockdep check",
        check_next: "Check the protection the RCU dereference at the named file:line expects (rcu_read_lock, the named lock, or the condition of rcu_dereference_protected).",
        kinds: &[Kind::SuspiciousRcuUsage],
        check: rcu_usage,
    },
    Rule {
        id: "sleeping-in-atomic",
        summary: "might-sleep function in atomic context",
        check_next: "Find what made the context atomic (a held spinlock, rcu_read_lock, irqs off) and move the sleeping call out of it.",
        kinds: &[Kind::SleepingInAtomic],
        check: sleeping_in_atomic,
    },
];

#[cfg(test)]
mod tests {
    use crate::splat;

    fn sleeping(taint: &str, last: &str) -> crate::report::Report {
        let log = format!(
            "BUG: sleeping function called from invalid context at kernel/locking/rwsem.c:1525\n\
             in_atomic(): 0, irqs_disabled(): 0, non_block: 0, pid: 9, name: x\n\
             preempt_count: 1, expected: 0\n\
             RCU nest depth: 0, expected: 0\n\
             CPU: 0 PID: 9 Comm: x {taint} 6.8.0 #1\n\
             Call Trace:\n\
             <TASK>\n\
             dump_stack_lvl+0x1/0x2\n\
             __might_resched+0x1/0x2\n\
             down_read+0x1/0x2\n\
             exit_mm+0x1/0x2\n\
             do_exit+0x1/0x2\n\
             {last}+0x1/0x2\n\
             </TASK>\n"
        );
        let mut v = splat::parse_str("log", &log);
        assert_eq!(v.len(), 1, "{v:#?}");
        v.remove(0)
    }

    fn rcu_illegal(release: &str) -> String {
        format!(
            "=============================\n\
             WARNING: suspicious RCU usage\n\
             {release} #235 Not tainted\n\
             -----------------------------\n\
             include/linux/rcupdate.h:570 Illegal context switch in RCU read-side critical section!\n\
             \n\
             other info that might help us debug this:\n\
             \n\
             rcu_scheduler_active = 1, debug_locks = 0\n\
             1 lock held by swapon/1176:\n\
             \x20#0:  (rcu_read_lock){{......}}, at: [<ffffffffa036fd75>] nfs_swap_activate+0x5/0x180 [nfs]\n\
             \n\
             stack backtrace:\n\
             CPU: 0 PID: 1176 Comm: swapon Not tainted {release} #235\n\
             Call Trace:\n\
             \x20[<ffffffff818861f0>] dump_stack+0x4c/0x65\n\
             \x20[<ffffffff8110d237>] lockdep_rcu_suspicious+0xe7/0x120\n\
             \x20[<ffffffff810df1bf>] ___might_sleep+0xaf/0x250\n\
             \x20[<ffffffff810df1bf>] xs_swapper+0xaf/0x250\n\n"
        )
    }

    #[test]
    fn an_old_kernels_first_rcu_splat_turned_lockdep_off_itself() {
        // Held out (4.1, a real bug fixed in nfs): before 4.13 the RCU splat called
        // debug_locks_off() before printing, so `debug_locks = 0` is its own doing.
        let label = |log: &str| {
            let v = splat::parse_str("log", log);
            v.last().unwrap().verdict.label.as_str().to_string()
        };
        assert_eq!(
            label(&rcu_illegal("4.1.0-rc1-next-20150430+")),
            "likely_genuine"
        );
        assert_eq!(
            label(&rcu_illegal("4.1.0-rc1").replace(
                "WARNING: suspicious RCU usage",
                "[ INFO: suspicious RCU usage. ]"
            )),
            "likely_genuine"
        );
        // Newer kernels print it only when another report turned lockdep off.
        assert_eq!(label(&rcu_illegal("6.8.0")), "likely_false_positive");
        // On an old kernel, an earlier report in the log could have done it.
        let earlier = "======================================================\n\
             WARNING: possible circular locking dependency detected\n\
             4.1.0 #235 Not tainted\n\
             ------------------------------------------------------\n\
             x/1 is trying to acquire lock:\n\
             \x20(a){+.+.}, at: [<ffffffff81000000>] f+0x1/0x2\n\
             \n\
             but task is already holding lock:\n\
             \x20(b){+.+.}, at: [<ffffffff81000000>] g+0x1/0x2\n\n";
        let both = format!("{earlier}{}", rcu_illegal("4.1.0"));
        assert_eq!(label(&both), "likely_false_positive");
        // Not one from another boot: another kernel (build) printed it.
        let other_boot = format!("{}{}", earlier.replace("#235", "#1"), rcu_illegal("4.1.0"));
        assert_eq!(label(&other_boot), "likely_genuine");
    }

    #[test]
    fn sleeping_in_atomic_names_the_caller_not_the_printing() {
        let r = sleeping("Not tainted", "__x64_sys_exit");
        assert_eq!(r.verdict.label.as_str(), "likely_genuine");
        assert!(
            r.verdict.explanation.contains("(from `exit_mm`)"),
            "{}",
            r.verdict.explanation
        );
    }

    #[test]
    fn the_caller_is_not_the_stack_printer_nor_a_header_lock_wrapper() {
        // syzbot's symbolised stacks: `__dump_stack` first, the mutex taken through
        // `netdev_lock`, inlined from a header (6.14).
        let log = "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:562\n\
             in_atomic(): 0, irqs_disabled(): 0, non_block: 0, pid: 9, name: x\n\
             CPU: 0 PID: 9 Comm: x Not tainted 6.14.0 #1\n\
             Call Trace:\n\
             <TASK>\n\
             __dump_stack lib/dump_stack.c:94 [inline]\n\
             dump_stack_lvl+0x241/0x360 lib/dump_stack.c:120\n\
             __might_resched+0x5d4/0x780 kernel/sched/core.c:8767\n\
             __mutex_lock_common kernel/locking/mutex.c:562 [inline]\n\
             __mutex_lock+0x131/0xee0 kernel/locking/mutex.c:730\n\
             netdev_lock include/linux/netdevice.h:2731 [inline]\n\
             dev_set_allmulti+0xa4/0x1b0 net/core/dev.c:9376\n\
             </TASK>\n";
        let v = splat::parse_str("log", log);
        assert_eq!(v.len(), 1, "{v:#?}");
        let e = &v[0].verdict.explanation;
        assert!(e.contains("(from `dev_set_allmulti`)"), "{e}");
        // A chain's stack through lockdep's release side names the code that released.
        let f = |n: &str| crate::report::Frame {
            function: Some(n.into()),
            offset: Some("0x1/0x2".into()),
            ..Default::default()
        };
        let frames = [
            f("reacquire_held_locks"),
            f("__lock_release"),
            f("lock_release"),
            f("percpu_up_read"),
            f("__sb_end_write"),
        ];
        assert_eq!(crate::output::text::edge_path(&frames, 1), "__sb_end_write");
    }

    #[test]
    fn a_freed_range_no_allocation_can_span_is_corruption() {
        // syzbot, 6.13: a bpf program's vfree checked `0000000000000000-ffffffffffffefff`.
        let log = |range: &str| {
            format!(
                "=========================\n\
                 WARNING: held lock freed!\n\
                 6.13.0 #1 Not tainted\n\
                 -------------------------\n\
                 kworker/1:2/28505 is freeing memory {range}, with a lock still held there!\n\
                 ffff88801ac80948 ((wq_completion)events){{+.+.}}-{{0:0}}, at: process_one_work+0x12cd/0x1b30\n\
                 2 locks held by kworker/1:2/28505:\n\
                 \x20#0: ffff88801ac80948 ((wq_completion)events){{+.+.}}-{{0:0}}, at: process_one_work+0x12cd/0x1b30\n\
                 \n\
                 stack backtrace:\n\
                 Call Trace:\n\
                 \x20dump_stack_lvl+0x1/0x2\n\
                 \x20debug_check_no_locks_freed+0x1/0x2\n\
                 \x20remove_vm_area+0x1/0x2\n\
                 \x20vfree+0x1/0x2\n"
            )
        };
        let v = splat::parse_str("log", &log("0000000000000000-ffffffffffffefff"));
        let e = &v[0].verdict.explanation;
        assert!(e.contains("is no allocation"), "{e}");
        for normal in [
            "ffffc90000a00000-ffffc90000a01fff",
            // Hashed pointers, in any order (fixture 007).
            "000000007fcba654-00000000499fef26",
        ] {
            let v = splat::parse_str("log", &log(normal));
            let e = &v[0].verdict.explanation;
            assert!(e.contains("is freed while the lock is held"), "{e}");
        }
    }

    #[test]
    fn a_banner_shown_again_without_its_report_says_so() {
        // A mail that quotes the report, then shows its banner again with the rest elided.
        let report = "WARNING: possible recursive locking detected\n\
             5.2.0 #6 Not tainted\n\
             --------------------------------------------\n\
             cmux/263 is trying to acquire lock:\n\
             e1e23b18 (&tty->legacy_mutex){+.+.}, at: __tty_hangup+0x58/0x27c\n\
             \n\
             but task is already holding lock:\n\
             d6eddf48 (&tty->legacy_mutex){+.+.}, at: tty_set_ldisc+0x3c/0x1bc\n\
             \n\
             stack backtrace:\n\
             Call Trace:\n\
             \x20dump_stack+0x1/0x2\n\
             \x20__tty_hangup+0x58/0x27c\n\
             \n\
             Steps to reproduce:\n\
             [   74.517449] ============================================\n\
             [   74.522769] WARNING: possible recursive locking detected\n\
             [   74.528094] 5.2.0 #6 Not tainted\n\
             [   74.533065] --------------------------------------------\n\
             <...>\n";
        let v = splat::parse_str("log", report);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert!(
            v[0].verdict
                .notes
                .iter()
                .all(|n| !n.contains("Only the banner"))
        );
        assert!(
            v[1].verdict
                .notes
                .iter()
                .any(|n| n.contains("a copy of the report at line 1")),
            "{:#?}",
            v[1].verdict
        );
    }

    #[test]
    fn skb_queue_classes_are_shared_by_every_queue() {
        // 2.6.17: an ieee1394 queue used in hardirq and a UDP socket's queue with irqs on were
        // one class (fixed by an annotation, not a locking change).
        assert!(super::is_generic_class("&skb_queue_lock_key"));
        assert!(super::is_generic_class("&list->lock#16"));
        assert!(!super::is_generic_class("&sk->sk_receive_queue_lock"));
    }

    #[test]
    fn static_looking_class_names() {
        for n in [
            "enable_lock",
            "(memory_chain).rwsem",
            "ksm_thread_mutex/1",
            "pm_mutex#2",
            "tk_core.seq.seqcount",
        ] {
            assert!(super::STATIC_OBJECT_LOCK.is_match(n), "{n}");
            assert!(!super::PER_OBJECT_PLAIN_NAME.is_match(n), "{n}");
        }
        for n in [
            "&d->lock",
            "kn->count",
            "(wq_completion)phy2",
            "sk_lock-AF_INET",
        ] {
            assert!(!super::STATIC_OBJECT_LOCK.is_match(n), "{n}");
        }
        for n in ["sb_pagefaults", "sb_writers#3", "s_active#53"] {
            assert!(super::PER_OBJECT_PLAIN_NAME.is_match(n), "{n}");
        }
    }

    #[test]
    fn a_bad_unlock_at_the_primitive_names_its_caller() {
        let log = "\
=====================================\n\
[ BUG: bad unlock balance detected! ]\n\
3.10.0-rc1 #1 Not tainted\n\
-------------------------------------\n\
motion/3328 is trying to release lock (&dev->lock) at:\n\
[<ffffffff819be5f9>] mutex_unlock+0x9/0x10\n\
but there are no more locks to release!\n\
\n\
other info that might help us debug this:\n\
no locks held by motion/3328.\n\
\n\
stack backtrace:\n\
Call Trace:\n\
 [<ffffffff819be5f9>] ? mutex_unlock+0x9/0x10\n\
 [<ffffffff819b9029>] dump_stack+0x19/0x1b\n\
 [<ffffffff810e615e>] print_unlock_imbalance_bug+0xfe/0x110\n\
 [<ffffffff810eb17e>] lock_release_non_nested+0x1ce/0x320\n\
 [<ffffffff810eb3cc>] lock_release+0xfc/0x250\n\
 [<ffffffff819be4b2>] __mutex_unlock_slowpath+0xb2/0x1f0\n\
 [<ffffffff819be5f9>] mutex_unlock+0x9/0x10\n\
 [<ffffffff81711105>] videobuf_waiton+0x55/0x230\n\
 [<ffffffff8172d3d9>] cx25821_free_buffer+0x49/0xa0\n";
        let v = splat::parse_str("log", log);
        assert_eq!(v.len(), 1, "{v:#?}");
        let e = &v[0].verdict.explanation;
        assert!(
            e.contains("released at `mutex_unlock+0x9/0x10` (in `videobuf_waiton`)"),
            "{e}"
        );
    }

    #[test]
    fn a_held_mutex_initialised_again_is_told_from_a_free() {
        let log = |init: &str| {
            format!(
                "=========================\n\
                 WARNING: held lock freed!\n\
                 6.1.0 #1 Not tainted\n\
                 -------------------------\n\
                 kworker/0:1/12 is freeing memory ffff888012345000-ffff888012345fff, with a lock still held there!\n\
                 ffff888012345100 (&dev->mutex){{+.+.}}-{{3:3}}, at: foo_reset+0x10/0x50\n\
                 1 lock held by kworker/0:1/12:\n\
                 \x20#0: ffff888012345100 (&dev->mutex){{+.+.}}-{{3:3}}, at: foo_reset+0x10/0x50\n\
                 \n\
                 stack backtrace:\n\
                 CPU: 0 PID: 12 Comm: kworker/0:1 Not tainted 6.1.0 #1\n\
                 Call Trace:\n\
                 \x20<TASK>\n\
                 \x20dump_stack_lvl+0x1/0x2\n\
                 \x20debug_check_no_locks_freed+0x1/0x2\n\
                 {init}\
                 \x20foo_reset+0x20/0x50\n\
                 \x20foo_work+0x1/0x2\n\
                 \x20</TASK>\n"
            )
        };
        for (init, by) in [
            (
                " debug_mutex_init+0x1/0x2\n __mutex_init+0x1/0x2\n",
                "__mutex_init",
            ),
            (" __raw_spin_lock_init+0x1/0x2\n", "__raw_spin_lock_init"),
            (" __init_rwsem+0x1/0x2\n", "__init_rwsem"),
        ] {
            let v = splat::parse_str("log", &log(init));
            assert_eq!(v.len(), 1, "{v:#?}");
            let e = &v[0].verdict.explanation;
            assert!(
                e.contains(&format!("is initialised as a new lock while that lock is held (by `{by}` from `foo_reset`)")),
                "{e}"
            );
        }
        // Freed through kfree: the free path.
        let v = splat::parse_str("log", &log(" kfree+0x1/0x2\n"));
        let e = &v[0].verdict.explanation;
        assert!(
            e.contains("is freed while the lock is held (free path through `foo_reset`)"),
            "{e}"
        );
    }

    #[test]
    fn an_rcu_list_walked_with_no_lock_held_is_likely_genuine() {
        let log = |held: &str| {
            format!(
                "=============================\n\
                 WARNING: suspicious RCU usage\n\
                 6.12.0 #1 Not tainted\n\
                 -----------------------------\n\
                 net/mptcp/sched.c:44 RCU-list traversed in non-reader section!!\n\
                 \n\
                 other info that might help us debug this:\n\
                 \n\
                 rcu_scheduler_active = 2, debug_locks = 1\n\
                 {held}\
                 \n\
                 stack backtrace:\n\
                 CPU: 0 PID: 176 Comm: t Not tainted 6.12.0 #1\n\
                 Call Trace:\n\
                 \x20<TASK>\n\
                 \x20dump_stack_lvl+0x1/0x2\n\
                 \x20lockdep_rcu_suspicious+0x1/0x2\n\
                 \x20mptcp_sched_find+0x1/0x2\n\
                 \x20</TASK>\n"
            )
        };
        let v = splat::parse_str("log", &log("no locks held by t/176.\n"));
        assert_eq!(
            v[0].verdict.label.as_str(),
            "likely_genuine",
            "{:#?}",
            v[0].verdict
        );
        // Under a lock, the walk may be the update side's: undetermined.
        let v = splat::parse_str(
            "log",
            &log(
                "1 lock held by t/176:\n #0: ffffffff8b97e980 (rtnl_mutex){+.+.}-{3:3}, at: f+0x1/0x2\n",
            ),
        );
        assert_eq!(
            v[0].verdict.label.as_str(),
            "undetermined",
            "{:#?}",
            v[0].verdict
        );
        assert!(v[0].verdict.explanation.contains("Held here: `rtnl_mutex`"));
    }

    #[test]
    fn a_task_dying_after_an_oops_is_fallout() {
        let r = sleeping("Tainted: G      D", "make_task_dead");
        assert_eq!(r.verdict.label.as_str(), "undetermined");
        assert!(r.verdict.explanation.contains("dying after an oops"));
        // Not tainted D: the same stack is the task's own bug.
        let r = sleeping("Tainted: G        W", "make_task_dead");
        assert_eq!(r.verdict.label.as_str(), "likely_genuine");
    }
}
