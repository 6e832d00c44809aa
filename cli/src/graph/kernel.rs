//! Dependencies read from kernel lockdep reports.

use super::Builder;
use crate::report::{Frame, Kind, LockRef, Report};

/// The kernel's wait types (`-{outer:inner}`), as a short word.
fn wait_word(l: &LockRef) -> Option<String> {
    let w = l.wait?;
    let word = match w.inner {
        0 => "unchecked",
        1 => "free",
        2 => "spin",
        3 => "spinlock_t",
        4 => "sleep",
        _ => "?",
    };
    Some(format!("{{{}:{}}} {word}", w.outer, w.inner))
}

fn lock_node(b: &mut Builder, l: &LockRef, source: &str) -> usize {
    let i = b.node(&l.name, wait_word(l));
    if let Some(u) = &l.usage {
        b.node_detail(i, format!("usage {{{u}}}"));
    }
    if let Some(a) = &l.address {
        b.node_detail(i, format!("instance {a} ({source}:{})", l.input_line));
    }
    i
}

/// Functions of the lock implementation and of lockdep itself: never "where" a dependency is.
fn is_machinery(name: &str) -> bool {
    crate::title::is_skipped(name)
        || name.starts_with("lock_acquire")
        || name.starts_with("__lock_acquire")
        || name.contains("lockdep")
        || name.starts_with("check_prev")
        || name.starts_with("validate_chain")
}

/// The first frame of a chain stack that is neither lockdep nor a lock primitive.
pub(crate) fn meaningful_frame(frames: &[Frame]) -> Option<&Frame> {
    frames
        .iter()
        .filter(|f| !f.unreliable)
        .find(|f| f.base_function().is_some_and(|n| !is_machinery(n)))
        .or_else(|| frames.iter().find(|f| !f.unreliable))
}

/// `function (file:line)` without offsets.
fn frame_short(f: &Frame) -> String {
    let mut s = f.base_function().unwrap_or_default().to_string();
    if let Some(file) = &f.file {
        let loc = match f.line {
            Some(l) => format!("{file}:{l}"),
            None => file.clone(),
        };
        s = if s.is_empty() {
            loc
        } else {
            format!("{s} ({loc})")
        };
    }
    if s.is_empty() {
        s = f.display();
    }
    s
}

/// The acquiring side of the dependency, from the primitive that called `lock_acquire`:
/// recursive readers (seqcount readers, RCU) are `R`, other primitives `N`; read_lock on an
/// rwlock_t is recursive only in some contexts, so it stays unknown. The holder's mode is not
/// printed in a chain entry, hence `x`.
pub(crate) fn acquire_type(frames: &[Frame]) -> &'static str {
    let Some(at) = frames.iter().position(|f| {
        f.base_function()
            .is_some_and(|n| n == "lock_acquire" || n == "lock_acquire_shared_recursive")
    }) else {
        return "?";
    };
    for f in frames[at + 1..].iter().take(8) {
        let Some(n) = f.base_function() else { continue };
        if n.contains("seqcount")
            || n.contains("read_seqbegin")
            || n.contains("read_seqcount")
            || n.starts_with("read_mems_allowed")
            || n.starts_with("rcu_read_lock")
            || n.starts_with("rcu_lock_acquire")
        {
            return "xR";
        }
        if n.contains("read_lock") && !n.contains("rcu") {
            return "x?";
        }
        if !is_machinery(n) && !f.inline {
            break;
        }
    }
    "xN"
}

fn stack_details(frames: &[Frame], max: usize) -> Vec<String> {
    let mut out: Vec<String> = frames
        .iter()
        .take(max)
        .map(|f| format!("  {}", f.display()))
        .collect();
    if frames.len() > max {
        out.push(format!("  ... {} more frames", frames.len() - max));
    }
    out
}

pub(crate) fn add_report(b: &mut Builder, r: &Report) {
    let source = r.source.as_str();
    let head = format!("{}:{}: {} ({})", source, r.line, r.title, r.kind);
    if r.kind == Kind::CircularDependency && !r.cycle.is_empty() {
        for e in &r.chain {
            lock_node(b, &e.lock, source);
        }
        for l in r.held.iter().chain(&r.acquiring) {
            lock_node(b, l, source);
        }
        for c in &r.cycle {
            let entry = r.chain_entry(c.chain_entry);
            let frames: &[Frame] = entry.map_or(&[], |e| &e.frames);
            let first_seen = meaningful_frame(frames)
                .map(frame_short)
                .unwrap_or_default();
            let mut details = vec![
                head.clone(),
                format!(
                    "chain entry -> #{} (line {}){}",
                    c.chain_entry,
                    c.input_line,
                    if c.closing {
                        ": the dependency being added, which closes the cycle"
                    } else {
                        ""
                    }
                ),
            ];
            if !frames.is_empty() {
                details.push("stack when recorded:".into());
                details.extend(stack_details(frames, 14));
            }
            b.edge(&c.from, &c.to, acquire_type(frames), first_seen, details);
        }
        let names: Vec<String> = cycle_order(r);
        b.cycle(&names);
        return;
    }
    // Other reports: the dependency between their two locks, when they name two.
    let pair: Option<(&LockRef, &LockRef)> = match (&r.irq, &r.held, &r.acquiring) {
        (Some(irq), _, _) if irq.new_dependency.len() == 2 => {
            Some((&irq.new_dependency[0], &irq.new_dependency[1]))
        }
        (_, Some(h), Some(a)) => Some((h, a)),
        (Some(irq), _, _) => match (&irq.safe_lock, &irq.unsafe_lock) {
            (Some(s), Some(u)) if r.kind == Kind::IrqSafeUnsafeOrder => Some((s, u)),
            _ => None,
        },
        _ => None,
    };
    let Some((from, to)) = pair else {
        // Still show the classes the report names.
        for name in &r.locks {
            let i = b.node(name, None);
            b.node_detail(i, head.clone());
        }
        return;
    };
    let fi = lock_node(b, from, source);
    let ti = lock_node(b, to, source);
    b.node_detail(fi, head.clone());
    b.node_detail(ti, head.clone());
    if from.name == to.name && r.kind != Kind::RecursiveLocking {
        return;
    }
    let first_seen = to.at.as_ref().map(frame_short).unwrap_or_default();
    let mut details = vec![head];
    if let Some(at) = &from.at {
        details.push(format!("{} held, taken at {}", from.name, at.display()));
    }
    if let Some(at) = &to.at {
        details.push(format!("{} taken at {}", to.name, at.display()));
    }
    let e = b.edge(&from.name, &to.name, "?", first_seen, details);
    if r.kind == Kind::RecursiveLocking {
        b.mark_edge_in_cycle(e);
    }
}

/// The cycle's classes in dependency order, from its edges.
fn cycle_order(r: &Report) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let Some(first) = r.cycle.iter().find(|c| c.closing).or(r.cycle.first()) else {
        return names;
    };
    let mut at = first.to.clone();
    names.push(at.clone());
    for _ in 0..r.cycle.len() {
        let Some(next) = r.cycle.iter().find(|c| c.from == at) else {
            break;
        };
        if names.contains(&next.to) {
            break;
        }
        at = next.to.clone();
        names.push(at.clone());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> Frame {
        Frame {
            function: Some(name.into()),
            ..Frame::default()
        }
    }

    #[test]
    fn acquiring_type_from_the_primitive() {
        let spin = [
            f("lock_acquire"),
            f("_raw_spin_lock_irqsave"),
            f("free_pid"),
        ];
        assert_eq!(acquire_type(&spin), "xN");
        let mut inl = f("seqcount_lockdep_reader_access");
        inl.inline = true;
        let seq = [
            f("check_prevs_add"),
            f("lock_acquire"),
            f("___slab_alloc"),
            inl,
        ];
        assert_eq!(acquire_type(&seq), "xR");
        assert_eq!(acquire_type(&[f("foo")]), "?");
    }

    #[test]
    fn meaningful_frame_skips_lock_machinery() {
        let fr = [
            f("lock_acquire"),
            f("_raw_spin_lock_irqsave"),
            f("free_pid"),
        ];
        assert_eq!(
            meaningful_frame(&fr).and_then(|f| f.function.as_deref()),
            Some("free_pid")
        );
    }

    #[test]
    fn seed_splat_gives_a_two_class_cycle() {
        let log = include_str!("../../../fixtures/logs/seed-003-pidmap-seqcount.log");
        let reports = crate::splat::parse_str("seed-003-pidmap-seqcount.log", log);
        let m = super::super::GraphModel::from_kernel_reports(&reports);
        let names: Vec<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
        assert!(names.contains(&"&s->seqcount#2"), "{names:?}");
        assert!(names.contains(&"pidmap_lock"), "{names:?}");
        let cyc: Vec<_> = m.edges.iter().filter(|e| e.in_cycle).collect();
        assert_eq!(cyc.len(), 2, "{:#?}", m.edges);
        let into_seq = cyc
            .iter()
            .find(|e| m.nodes[e.to].name == "&s->seqcount#2")
            .unwrap();
        assert_eq!(into_seq.types, "xR");
        let into_pidmap = cyc
            .iter()
            .find(|e| m.nodes[e.to].name == "pidmap_lock")
            .unwrap();
        assert_eq!(into_pidmap.types, "xN");
        assert!(
            into_pidmap.first_seen.starts_with("free_pid"),
            "{}",
            into_pidmap.first_seen
        );
    }
}
