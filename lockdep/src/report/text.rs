//! The kernel's report layout (kernel/locking/lockdep.c printers), so one parser reads both.

use std::fmt::{self, Write as _};

use super::{LockRef, Report, ReportKind};
use crate::class::{ClassOrigin, LockKind, NotUserCode, short_type_name};
use crate::held::Mode;

/// The ident line: where the kernel prints release, version and taint.
fn ident() -> String {
    format!("lockdep {} (rust) Not tainted", env!("CARGO_PKG_VERSION"))
}

fn banner(f: &mut fmt::Formatter<'_>, title: &str) -> fmt::Result {
    let rule_len = title.len();
    writeln!(f)?;
    writeln!(f, "{}", "=".repeat(rule_len))?;
    writeln!(f, "{title}")?;
    writeln!(f, "{}", ident())?;
    writeln!(f, "{}", "-".repeat(rule_len))
}

/// Usage bits as the kernel prints them for process-context locks with interrupts enabled.
fn usage(lock: &LockRef) -> &'static str {
    match (lock.kind, lock.mode) {
        (LockKind::SeqCount | LockKind::Map, _) => "....",
        (_, Mode::Write) => "+.+.",
        (_, _) => ".+.+",
    }
}

/// One `print_lock()` line: `addr (name){usage}-{outer:inner}, at: site`.
pub(crate) fn lock_line(lock: &LockRef) -> String {
    let w = lock.kind.wait_type();
    format!(
        "{:016x} ({}){{{}}}-{{{w}:{w}}}, at: {}",
        lock.instance.0,
        lock.name,
        usage(lock),
        lock.site
    )
}

fn class_header(lock: &LockRef) -> String {
    let w = lock.kind.wait_type();
    format!("({}){{{}}}-{{{w}:{w}}}", lock.name, usage(lock))
}

fn task(r: &Report) -> String {
    format!("{}/{}", r.thread.name, r.thread.id)
}

/// `thread 'main'`, or `task 'task-4'` for an async task's stack (tokio's id, or lockdep's
/// number for a tracked task outside a runtime).
fn holder(name: &str) -> String {
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if numbered("task-") || numbered("tracked-") {
        format!("task '{name}'")
    } else {
        format!("thread '{name}'")
    }
}

/// What to do when two locks of one class nest on purpose.
const NESTING_ADVICE: &str = "if one nests in another on purpose, take them in a fixed order, each \
     as its own subclass (lock_nested; write_nested or read_nested for a rwlock), or, for \
     mutexes, under one lock that serialises them (lock_nest_lock).";

/// What the report's [`ClassNote`](super::ClassNote)s say: which classes may conflate locks.
fn notes_block(r: &Report, out: &mut String) {
    for n in &r.notes {
        match &n.origin {
            // A raw-built lock whose builder named its construction site (`BuiltAt`): the class
            // is that site and type, as a lock of this crate built there.
            ClassOrigin::FirstLock {
                why: NotUserCode::RawLock,
                type_name,
                first_locked,
            } if *first_locked == n.built_at => {
                let ty = type_name.map_or_else(|| "none".to_string(), short_type_name);
                let _ = write!(
                    out,
                    "note: class ({}) is every lock of {ty} built at {} (lock_api names the \
                     construction site to lockdep's raw lock).",
                    n.class, n.built_at
                );
                if n.instances.len() >= 2 {
                    let _ = write!(
                        out,
                        " {} distinct locks of it are involved here: if one nests in another on \
                         purpose, they must always be taken in one order.",
                        n.instances.len()
                    );
                }
                out.push('\n');
            }
            ClassOrigin::FirstLock {
                why,
                type_name,
                first_locked,
            } => {
                let ty = type_name.map_or_else(|| "none".to_string(), short_type_name);
                // A raw-built lock's recorded site is lockdep's own `INIT`: not worth printing.
                let built = if *why == NotUserCode::RawLock {
                    format!("{why}")
                } else {
                    format!(
                        "at {} {why}, a site that unrelated locks may share",
                        n.built_at
                    )
                };
                let _ = write!(
                    out,
                    "note: class ({}) is not a construction site of your code: its locks were \
                     built {built}, so lockdep keys the class by their data type ({ty}) and \
                     where each was first locked ({first_locked} for this class).",
                    n.class
                );
                if n.instances.len() >= 2 {
                    // `(0..n).map(Mutex::new)`, all locked at one site: the same choices as
                    // for locks built at one site of the user's, but the build site is not
                    // theirs to mark #[track_caller].
                    let _ = write!(
                        out,
                        " {} distinct locks of it are involved here. If they are unrelated, give \
                         them classes of their own where you build them (with_name or \
                         with_class); {}",
                        n.instances.len(),
                        NESTING_ADVICE
                    );
                }
                out.push('\n');
            }
            ClassOrigin::Instance { why, .. } => {
                let _ = writeln!(
                    out,
                    "note: class ({}) is one lock: it was built {why} and first locked with no \
                     site (or inside std), so no site says which locks belong with it.",
                    n.class
                );
            }
            ClassOrigin::Site => {
                let _ = writeln!(
                    out,
                    "note: class ({}) is every lock built at {}, and {} distinct locks of it are \
                     involved here. If they are unrelated, give them classes of their own (make \
                     the function that builds them #[track_caller], or use with_name or \
                     with_class); {} A tree of them locked parent before child to any depth has \
                     no order lockdep can check: drop its reports with a LOCKDEP_SUPPRESS rule \
                     (`class {} REASON`).",
                    n.class,
                    n.built_at,
                    n.instances.len(),
                    NESTING_ADVICE,
                    n.class
                );
            }
        }
        for (instance, site) in &n.instances {
            let _ = writeln!(out, "  lock {:016x} acquired at {site}", instance.0);
        }
    }
    if !r.never_written.is_empty() {
        let names: Vec<String> = r.never_written.iter().map(|c| format!("({c})")).collect();
        let (s, was) = match names.len() {
            1 => ("", "was"),
            _ => ("es", "were"),
        };
        let _ = writeln!(
            out,
            "note: class{s} {} {was} never held for writing while lockdep watched, and readers \
             wait only for writers: this cycle cannot close until {} write-locked too.",
            names.join(", "),
            if names.len() == 1 {
                "it is"
            } else {
                "each of them is"
            }
        );
    }
    // A downgraded lock shows as a read at its write's site: say where it became a read.
    let downgraded: Vec<&LockRef> = r
        .held
        .iter()
        .chain(&r.held_lock)
        .filter(|h| h.downgraded_at.is_some())
        .fold(Vec::new(), |mut seen, h| {
            if !seen.iter().any(|s: &&LockRef| s.instance == h.instance) {
                seen.push(h);
            }
            seen
        });
    for h in &downgraded {
        if let Some(at) = &h.downgraded_at {
            let _ = writeln!(
                out,
                "note: lock {:016x} ({}) was locked at {} and downgraded to a read at {at}: it \
                 is held as a read since.",
                h.instance.0, h.name, h.site
            );
        }
    }
    let gates = r.gate_locks();
    if !gates.is_empty() {
        let names: Vec<String> = gates.iter().map(|g| format!("({})", g.name)).collect();
        let (was, it, serialise) = match names.len() {
            1 => ("was", "it", "serialises"),
            _ => ("were", "they", "serialise"),
        };
        let _ = writeln!(
            out,
            "note: a lock of {} {was} held when each dependency of this cycle was first \
             recorded, and {} held for writing now: if every path that takes these locks holds \
             the same {} first, for writing, {it} {serialise} them and the cycle cannot close. \
             Lockdep checks neither (it sees classes, and each dependency's first sighting): \
             make sure no path takes them without {it}, then order them one way or drop the \
             report with a LOCKDEP_SUPPRESS rule.",
            names.join(", "),
            if names.len() == 1 { "is" } else { "are" },
            if names.len() == 1 { "lock" } else { "locks" }
        );
    }
    let helper = r.helper_site();
    if let Some(site) = helper {
        let _ = writeln!(
            out,
            "note: locks of two classes here were acquired at one line, {site}: a function that \
             locks for its callers, so the line does not say which caller took which. Mark it \
             #[track_caller] and each acquisition names its caller's line{}.",
            if r.backtrace.is_some() {
                ""
            } else {
                ", or set LOCKDEP_BACKTRACE=1 to capture the callers"
            }
        );
    }
    if !r.notes.is_empty()
        || !r.never_written.is_empty()
        || !downgraded.is_empty()
        || !gates.is_empty()
        || helper.is_some()
    {
        out.push('\n');
    }
}

fn held_block(r: &Report, out: &mut String) {
    notes_block(r, out);
    let who = task(r);
    match r.held.len() {
        0 => {
            let _ = writeln!(out, "no locks held by {who}.");
        }
        n => {
            let s = if n == 1 { "" } else { "s" };
            let _ = writeln!(out, "{n} lock{s} held by {who}:");
            for (i, h) in r.held.iter().enumerate() {
                let _ = writeln!(out, " #{i}: {}", lock_line(h));
            }
        }
    }
}

/// What a report made by a running program says where its backtrace would be.
const LIVE_NO_BACKTRACE: &str = " (backtraces off: set LOCKDEP_BACKTRACE=1 to capture them)\n";
/// The same for a report replayed from a recording (`{:#}`), whose events carry no stacks: no
/// setting at replay time could add them.
const REPLAYED_NO_BACKTRACE: &str = " (no backtrace: a recorded trace or graph file holds none; the sites above are those it recorded)\n";

fn backtrace_block(r: &Report, out: &mut String) {
    write_backtrace(r, out, "\nstack backtrace:\n");
}

fn write_backtrace(r: &Report, out: &mut String, header: &str) {
    out.push_str(header);
    let _ = writeln!(
        out,
        "thread: {} (lockdep {})",
        task(r),
        env!("CARGO_PKG_VERSION")
    );
    match &r.backtrace {
        Some(bt) => {
            for line in bt.lines() {
                let _ = writeln!(out, " {line}");
            }
        }
        None => {
            // Without a captured backtrace, the offending call's site is the one frame we know.
            if let Some(l) = &r.acquiring
                && !matches!(l.site, crate::class::Site::Unknown)
            {
                let _ = writeln!(out, " {} (in thread '{}')", l.site, r.thread.name);
            }
            out.push_str(LIVE_NO_BACKTRACE);
        }
    }
}

fn verb(mode: Mode) -> &'static str {
    if mode.is_read() { "rlock" } else { "lock" }
}

pub(super) fn write_report(r: &Report, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut out = String::new();
    match r.kind {
        ReportKind::CircularDependency => circular(r, f, &mut out)?,
        ReportKind::RecursiveLocking => recursive(r, f, &mut out)?,
        ReportKind::BadUnlockBalance => {
            banner(f, "WARNING: bad unlock balance detected!")?;
            if let Some(l) = &r.acquiring {
                let _ = writeln!(
                    out,
                    "{} is trying to release lock ({}) at:",
                    task(r),
                    l.name
                );
                match (&l.site, &r.backtrace) {
                    (crate::class::Site::Unknown, Some(_)) => {
                        out.push_str("<not recorded: the stack backtrace below>\n");
                    }
                    (site, _) => {
                        let _ = writeln!(out, "{site}");
                    }
                }
            }
            out.push_str("but there are no more locks to release!\n\n");
            out.push_str("other info that might help us debug this:\n");
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
        ReportKind::LocksHeldAtExit => {
            banner(f, &format!("WARNING: {} still has locks held!", task(r)))?;
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
        ReportKind::InvalidWaitContext => {
            banner(f, "[ BUG: Invalid wait context ]")?;
            match &r.acquiring {
                Some(l) => {
                    let _ = writeln!(out, "{} is trying to lock:", task(r));
                    let _ = writeln!(out, "{}", lock_line(l));
                }
                None => {
                    let _ = writeln!(out, "{} is calling a function that may sleep:", task(r));
                    out.push_str("might_sleep()\n");
                }
            }
            out.push_str("other info that might help us debug this:\n");
            let c = r.context_wait.unwrap_or(0);
            let _ = writeln!(out, "context-{{{c}:{c}}}");
            held_block(r, &mut out);
            // This layout has no blank line before the backtrace (print_lock_invalid_wait_context).
            write_backtrace(r, &mut out, "stack backtrace:\n");
        }
        ReportKind::NestedLockNotTaken => {
            banner(f, "WARNING: Nested lock was not taken")?;
            if let Some(l) = &r.acquiring {
                let _ = writeln!(out, "{} is trying to lock:", task(r));
                let _ = writeln!(out, "{}", lock_line(l));
            }
            out.push_str("\nbut this task is not holding:\n");
            match &r.held_lock {
                Some(n) => {
                    let _ = writeln!(out, "{}", n.name);
                }
                None => out.push_str("<nest lock>\n"),
            }
            out.push_str("\nother info that might help us debug this:\n");
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
        ReportKind::LimitExceeded => {
            if let Some(l) = &r.limit {
                let _ = writeln!(out, "BUG: {} too low!", l.name);
                let _ = writeln!(
                    out,
                    "{}; everything else is still validated.",
                    l.consequence()
                );
                let _ = writeln!(out, "The limit is {}; raise it with {}.", l.value, l.knob());
            }
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
        ReportKind::AwaitHoldingLock => {
            banner(f, "[ BUG: awaiting while holding a blocking lock ]")?;
            match &r.acquiring {
                Some(l) => {
                    let _ = writeln!(out, "{} is trying to lock an async lock:", task(r));
                    let _ = writeln!(out, "{}", lock_line(l));
                }
                None => {
                    let _ = writeln!(out, "{} is yielding at an await point (Pending)", task(r));
                }
            }
            out.push_str("\nbut task is already holding a blocking lock:\n");
            if let Some(h) = &r.held_lock {
                let _ = writeln!(out, "{}", lock_line(h));
            }
            out.push_str(
                "\nwhile it waits, its thread runs other tasks; any of them that takes the \
                 blocking lock blocks that thread for good.\n",
            );
            out.push_str("\nother info that might help us debug this:\n");
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
        ReportKind::BlockingHoldingAsyncLock => {
            banner(
                f,
                "[ BUG: blocking a runtime thread while holding an async lock ]",
            )?;
            if let Some(l) = &r.acquiring {
                let _ = writeln!(out, "{} is blocking its thread to lock:", task(r));
                let _ = writeln!(out, "{}", lock_line(l));
            }
            out.push_str("\nbut task is already holding an async lock:\n");
            if let Some(h) = &r.held_lock {
                let _ = writeln!(out, "{}", lock_line(h));
            }
            out.push_str(
                "\nthe tasks waiting for it wait on a thread that is not polling; the one \
                 that holds the lock it blocks on may need that thread to run.\n",
            );
            out.push_str("\nother info that might help us debug this:\n");
            held_block(r, &mut out);
            backtrace_block(r, &mut out);
        }
    }
    if f.alternate() {
        return f.write_str(&out.replace(LIVE_NO_BACKTRACE, REPLAYED_NO_BACKTRACE));
    }
    f.write_str(&out)
}

/// The two lock lines that open the circular and recursive reports.
fn acquiring_and_held(r: &Report, next: &LockRef, prev: &LockRef, out: &mut String) {
    let _ = writeln!(out, "{} is trying to acquire lock:", task(r));
    let _ = writeln!(out, "{}", lock_line(next));
    out.push_str("\nbut task is already holding lock:\n");
    let _ = writeln!(out, "{}", lock_line(prev));
}

fn circular(r: &Report, f: &mut fmt::Formatter<'_>, out: &mut String) -> fmt::Result {
    banner(f, "WARNING: possible circular locking dependency detected")?;
    let (Some(next), Some(prev)) = (&r.acquiring, &r.held_lock) else {
        return Ok(());
    };
    acquiring_and_held(r, next, prev, out);
    out.push_str("\nwhich lock already depends on the new lock.\n\n\n");
    out.push_str("the existing dependency chain (in reverse order) is:\n");

    // The chain runs next -> X1 -> ... -> prev; entry #k shows X_k with the edge that reached it.
    let depth = r.chain.len();
    for (k, link) in r.chain.iter().enumerate().rev() {
        let number = k + 1;
        let header = if number == depth {
            class_header(prev)
        } else {
            let w = link.first_seen.to_mode;
            let fake = LockRef {
                name: link.to.clone(),
                mode: w,
                ..next.clone()
            };
            class_header(&fake)
        };
        let _ = writeln!(out, "\n-> #{number} {header}:");
        let w = &link.first_seen;
        if let Some(bt) = &w.backtrace {
            for line in bt.lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
        let _ = writeln!(
            out,
            "       {} (acquired in {})",
            w.to_site,
            holder(&w.thread)
        );
        let _ = writeln!(out, "       {} (holding {})", w.from_site, link.from);
    }
    let _ = writeln!(out, "\n-> #0 {}:", class_header(next));
    if let Some(bt) = &r.backtrace {
        for line in bt.lines() {
            let _ = writeln!(out, "       {line}");
        }
    }
    let _ = writeln!(
        out,
        "       {} (acquired in {})",
        next.site,
        holder(&r.thread.name)
    );

    out.push_str("\nother info that might help us debug this:\n\n");
    // The class the held lock was taken under in the existing chain ("parent" of prev).
    let parent = r.chain.last().map_or(&next.name, |l| &l.from);
    if depth >= 2 {
        out.push_str("Chain exists of:\n");
        let _ = writeln!(out, "  {} --> {} --> {}\n", next.name, parent, prev.name);
    }
    let prev_on_cpu1 = r.chain.last().map_or(Mode::Write, |l| l.first_seen.to_mode);
    out.push_str(" Possible unsafe locking scenario:\n\n");
    out.push_str("       CPU0                    CPU1\n");
    out.push_str("       ----                    ----\n");
    let _ = writeln!(out, "  {}({});", verb(prev.mode), prev.name);
    let _ = writeln!(out, "                               lock({parent});");
    let _ = writeln!(
        out,
        "                               {}({});",
        verb(prev_on_cpu1),
        prev.name
    );
    let _ = writeln!(out, "  {}({});", verb(next.mode), next.name);
    out.push_str("\n *** DEADLOCK ***\n\n");
    held_block(r, out);
    backtrace_block(r, out);
    Ok(())
}

fn recursive(r: &Report, f: &mut fmt::Formatter<'_>, out: &mut String) -> fmt::Result {
    banner(f, "WARNING: possible recursive locking detected")?;
    let (Some(next), Some(prev)) = (&r.acquiring, &r.held_lock) else {
        return Ok(());
    };
    acquiring_and_held(r, next, prev, out);
    out.push_str("\nother info that might help us debug this:\n");
    out.push_str(" Possible unsafe locking scenario:\n\n");
    out.push_str("       CPU0\n");
    out.push_str("       ----\n");
    let _ = writeln!(out, "  {}({});", verb(prev.mode), prev.name);
    let _ = writeln!(out, "  {}({});", verb(next.mode), next.name);
    out.push_str("\n *** DEADLOCK ***\n\n");
    out.push_str(" May be due to missing lock nesting notation\n\n");
    if prev.kind == LockKind::RwLock
        && prev.mode == Mode::Read
        && next.mode == Mode::Read
        && prev.instance == next.instance
    {
        // The one recursion that passes every single-threaded test: say what it takes.
        out.push_str(
            " A read of a lock this thread already reads waits behind a writer that queued in\n \
             between (readers do not overtake a waiting writer): another thread's write then\n \
             deadlocks both.",
        );
        out.push_str(if next.instance.0 & 1 == 1 {
            // tokio's RwLock has no recursive read.
            " Keep one read guard and pass it on instead of reading again.\n\n"
        } else {
            " Keep one read guard and pass it on; or, if the nesting is meant, read\n \
             recursively (read_recursive of lockdep::RwLock or parking_lot's, or lockdep's\n \
             RecursiveRwLock; std's RwLock has no recursive read).\n\n"
        });
    }
    let both_reads = prev.mode.is_read() && next.mode.is_read();
    if prev.instance == next.instance && next.instance.0 & 1 == 0 && !both_reads {
        // One lock, not two of a class: the kernel's line above does not apply.
        out.push_str(
            " This is one lock (one address), not two locks of a class: the thread waits for\n \
             itself, and no nesting annotation helps. Release it first, or restructure so the\n \
             inner call gets what the guard protects instead of locking again.\n\n",
        );
    }
    if prev.instance == next.instance && next.instance.0 & 1 == 1 {
        // An async lock (odd instance ids, `lockdep::tokio`): the task's futures share a stack.
        out.push_str(
            " An async lock this task already holds. If the holder is another future this task\n \
             polls at the same time (join!, select!, FuturesUnordered), this acquisition only\n \
             waits for it and nothing deadlocks: the task's sibling futures share one held-lock\n \
             stack. Give each its own with lockdep::tokio::track. If the holder is earlier code\n \
             of this same future, the task waits for itself forever.\n\n",
        );
    }
    held_block(r, out);
    backtrace_block(r, out);
    Ok(())
}
