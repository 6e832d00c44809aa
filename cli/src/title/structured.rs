//! Titles from a report's structure, for reports syzkaller's parser would not title
//! (a banner without an oops header, such as a bare `DEBUG_LOCKS_WARN_ON(...)`, and
//! user-space reports with Rust locations): the frame syzkaller would pick, taken from
//! the extracted sites and stacks instead of the text.

use std::sync::LazyLock;

use regex::RegexSet;

use crate::report::{Frame, Kind, LockRef, Report};

static CIRCULAR_EXTRA: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        "process_one_work",
        "flush_workqueue",
        "drain_workqueue",
        "destroy_workqueue",
    ])
    .unwrap()
});
static RCU_EXTRA: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(["rcu", "kmem", "slab"]).unwrap());
static LOCKING_BUG_EXTRA: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(["lock_sock", "release_sock"]).unwrap());

/// The name syzkaller's `{{FUNC}}` would capture: a symbol directly followed by `+` or `.`.
/// Inline frames and frames without an offset do not count.
fn func_of(f: &Frame) -> Option<String> {
    if f.inline {
        return None;
    }
    let name = f.function.as_deref()?;
    let name = name.strip_prefix('.').unwrap_or(name);
    let base = name.split('.').next().unwrap_or(name);
    if base.is_empty() || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if f.offset.is_some() || name.len() > base.len() {
        Some(base.to_string())
    } else {
        None
    }
}

/// The shortest name left by stripping one syscall entry prefix, as syzkaller does.
fn strip_syscall(name: &str) -> String {
    super::frames::strip_prefixes(name).to_string()
}

fn skipped(name: &str, extra: Option<&RegexSet>) -> bool {
    super::frames::is_skipped(name) || extra.is_some_and(|e| e.is_match(name))
}

/// First candidate frame; `skip` applies the skip list (stack-trace rules) and strips
/// syscall wrapper prefixes, as syzkaller does for frames parsed from a stack.
fn first_frame<'a>(
    frames: impl IntoIterator<Item = &'a Frame>,
    extra: Option<&RegexSet>,
    skip: bool,
) -> Option<String> {
    frames
        .into_iter()
        .filter(|f| !f.unreliable)
        .filter_map(func_of)
        .find(|n| !skip || !skipped(n, extra))
        .map(|n| if skip { strip_syscall(&n) } else { n })
}

fn lock_sites(l: &LockRef) -> Vec<&Frame> {
    if l.at_inlined.is_empty() {
        l.at.iter().collect()
    } else {
        l.at_inlined.iter().collect()
    }
}

fn sites(l: &Option<LockRef>) -> Vec<&Frame> {
    l.as_ref().map(lock_sites).unwrap_or_default()
}

fn held_list_sites(r: &Report) -> Vec<&Frame> {
    r.held_locks
        .iter()
        .flat_map(|h| h.entries.iter())
        .flat_map(|e| lock_sites(&e.lock))
        .collect()
}

/// Last resort for user-space reports (Rust locations) and damaged reports: the first
/// frame with any name or location.
fn fallback(r: &Report) -> Option<String> {
    let all = sites(&r.acquiring)
        .into_iter()
        .chain(sites(&r.held))
        .chain(r.chain.iter().flat_map(|e| e.frames.iter()))
        .chain(r.backtrace.iter());
    for f in all {
        if let Some(n) = f.base_function() {
            if !skipped(n, None) {
                return Some(n.to_string());
            }
        } else if let Some(file) = &f.file {
            return Some(match f.line {
                Some(l) => format!("{file}:{l}"),
                None => file.clone(),
            });
        }
    }
    None
}

/// The syzbot-convention title of a report.
pub fn title(r: &Report) -> String {
    let old_info = r.banner.starts_with("[ INFO:") || r.banner.starts_with("INFO:");
    let old_bug = r.banner.starts_with("[ BUG:") || r.banner.starts_with("BUG:");
    let pick = |x: Option<String>| {
        x.or_else(|| fallback(r))
            .unwrap_or_else(|| "corrupted".into())
    };
    match r.kind {
        Kind::CircularDependency => {
            if old_info {
                return format!(
                    "possible deadlock in {}",
                    pick(first_frame(
                        sites(&r.acquiring).into_iter().chain(sites(&r.held)),
                        None,
                        false
                    ))
                );
            }
            let ats: Vec<&Frame> = sites(&r.acquiring)
                .into_iter()
                .chain(sites(&r.held))
                .filter(|f| func_of(f).is_some())
                .take(2)
                .collect();
            let chain = r.chain.iter().flat_map(|e| e.frames.iter());
            format!(
                "possible deadlock in {}",
                pick(first_frame(
                    ats.into_iter().chain(chain),
                    Some(&CIRCULAR_EXTRA),
                    true
                ))
            )
        }
        Kind::RecursiveLocking | Kind::IrqLockInversion => format!(
            "possible deadlock in {}",
            pick(first_frame(
                sites(&r.acquiring).into_iter().chain(sites(&r.held)),
                None,
                false
            ))
        ),
        Kind::IrqSafeUnsafeOrder => {
            let safe_trace = r
                .irq
                .as_ref()
                .and_then(|i| i.traces.iter().find(|t| t.state.ends_with("-irq-safe")));
            let x = match safe_trace {
                Some(t) => first_frame(t.frames.iter(), None, true),
                None => first_frame(sites(&r.acquiring), None, false),
            };
            format!("possible deadlock in {}", pick(x))
        }
        Kind::InconsistentLockState => {
            let x = if old_info {
                first_frame(sites(&r.acquiring), None, false)
            } else {
                first_frame(r.backtrace.iter(), None, true)
                    .or_else(|| first_frame(sites(&r.acquiring), None, false))
            };
            format!("inconsistent lock state in {}", pick(x))
        }
        Kind::HeldLockFreed => {
            let prefix = if old_bug { "BUG" } else { "WARNING" };
            format!(
                "{prefix}: held lock freed in {}",
                pick(first_frame(sites(&r.held), None, false))
            )
        }
        Kind::BadUnlockBalance => {
            let prefix = if old_bug { "BUG" } else { "WARNING" };
            let x = first_frame(
                sites(&r.acquiring).into_iter().chain(r.backtrace.iter()),
                None,
                true,
            );
            format!("{prefix}: bad unlock balance in {}", pick(x))
        }
        Kind::LockHeldReturningToUser => {
            let x = first_frame(held_list_sites(r), None, false);
            format!(
                "WARNING: lock held when returning to user space in {}",
                pick(x)
            )
        }
        Kind::LocksHeldAtExit => {
            let x = first_frame(held_list_sites(r), None, false);
            format!("BUG: still has locks held in {}", pick(x))
        }
        Kind::SuspiciousRcuUsage => {
            let x = first_frame(r.backtrace.iter(), Some(&RCU_EXTRA), true);
            let level = if old_info { "INFO" } else { "WARNING" };
            format!("{level}: suspicious RCU usage in {}", pick(x))
        }
        Kind::InvalidWaitContext => {
            let x = first_frame(r.backtrace.iter(), Some(&LOCKING_BUG_EXTRA), true);
            format!("WARNING: locking bug in {}", pick(x))
        }
        Kind::LockdepInternalWarning => {
            let x = first_frame(
                r.rip.iter().chain(r.backtrace.iter()),
                Some(&LOCKING_BUG_EXTRA),
                true,
            );
            format!("WARNING: locking bug in {}", pick(x))
        }
        Kind::NestedLockNotTaken => {
            let x = first_frame(
                r.rip.iter().chain(r.backtrace.iter()),
                Some(&LOCKING_BUG_EXTRA),
                true,
            )
            .or_else(|| first_frame(sites(&r.acquiring), None, true));
            format!("WARNING: nested lock was not taken in {}", pick(x))
        }
        Kind::SleepingInAtomic => {
            let x = first_frame(r.backtrace.iter(), None, true);
            format!(
                "BUG: sleeping function called from invalid context in {}",
                pick(x)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn func_requires_offset_or_suffix() {
        let f = Frame {
            function: Some("spin_lock_bh".into()),
            inline: true,
            ..Frame::default()
        };
        assert_eq!(func_of(&f), None);
        let f = Frame {
            function: Some("tick_handler.cold".into()),
            ..Frame::default()
        };
        assert_eq!(func_of(&f).as_deref(), Some("tick_handler"));
        assert!(skipped("_raw_spin_lock_nested", None));
        assert!(skipped("__slab_alloc", None));
        assert!(!skipped("alloc_pid", None));
        assert_eq!(strip_syscall("__x64_sys_mount"), "sys_mount");
    }
}
