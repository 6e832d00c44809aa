//! Splat replay: a kernel circular-dependency report turned back into lock events and run
//! through the validator, once as the kernel saw it and once with conflated classes split.
//!
//! Each `-> #k` entry (k ≥ 1) of the chain is the dependency `X(k-1) -> X(k)`, recorded where
//! `X(k)` was acquired while `X(k-1)` was held; the report itself is the closing dependency
//! `held -> acquiring`. Each becomes an acquisition pair on a thread of its own. An appearance of a
//! class is labelled by the code path it was reached through (the first non-lock frame of the
//! stack that shows it); splitting a generic-named class (`&s->seqcount`, `lock#2`, ...) gives each
//! differently-labelled appearance a class of its own. If the cycle disappears, the class
//! conflation is the evidence that the report is a false positive.

use lockdep::Mode;
use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::trace::{TraceEvent, TraceOp};

use crate::classify as rules;
use crate::report::{Frame, Kind, Report};

/// How a class appears in the reconstructed events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appearance {
    /// The class name as printed (`&s->seqcount#2`).
    pub class: String,
    /// The code path that reached it (a function name).
    pub path: String,
    /// `held` (it was held while another lock was taken) or `acquired`.
    pub role: &'static str,
    /// The chain entry that shows it (`-> #N`), or `None` for the report's own lock lines.
    pub chain_entry: Option<u32>,
    /// The instance id used in the events.
    pub instance: String,
}

/// One replay run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Classes that were split (empty for the as-seen run).
    pub split: Vec<String>,
    /// The reports the validator produced.
    pub reports: Vec<lockdep::Report>,
}

impl Run {
    /// Whether the run reproduced a circular dependency.
    pub fn has_cycle(&self) -> bool {
        self.reports
            .iter()
            .any(|r| r.kind() == lockdep::ReportKind::CircularDependency)
    }
}

/// The outcome of replaying one kernel report.
#[derive(Debug, Clone)]
pub struct SplatReplay {
    /// The reconstructed events (a valid trace).
    pub events: Vec<TraceEvent>,
    /// Every appearance of a class in those events.
    pub appearances: Vec<Appearance>,
    /// The run with classes as the kernel had them.
    pub as_seen: Run,
    /// The split that made the cycle disappear, if one did.
    pub split: Option<Run>,
    /// Splits tried that left a cycle.
    pub tried: Vec<Run>,
}

impl SplatReplay {
    /// A sentence for reports: what the replay showed.
    pub fn summary(&self) -> String {
        let cycle = if self.as_seen.has_cycle() {
            "reappears"
        } else {
            "does not reappear"
        };
        let mut s = format!("replayed as the kernel saw it, the cycle {cycle}");
        match &self.split {
            Some(run) => {
                for class in &run.split {
                    let paths: Vec<String> = self
                        .appearances
                        .iter()
                        .filter(|a| &a.class == class)
                        .map(|a| format!("`{}` ({})", a.path, a.role))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    s.push_str(&format!(
                        "; with `{class}` split between {}, it is gone",
                        paths.join(" and ")
                    ));
                }
            }
            None if self.tried.is_empty() => {
                s.push_str("; no class in it is a conflation candidate to split")
            }
            None => {
                let names: Vec<String> = self.tried.iter().flat_map(|r| r.split.clone()).collect();
                s.push_str(&format!(
                    "; splitting {} by code path does not remove it",
                    names.join(", ")
                ))
            }
        }
        s
    }
}

/// Replays a parsed circular-dependency report; `None` for other kinds or a chain too damaged to
/// rebuild (no `-> #N` entries, or no lock lines).
pub fn replay_report(r: &Report) -> Option<SplatReplay> {
    if r.kind != Kind::CircularDependency || r.chain.is_empty() {
        return None;
    }
    let next = r.acquiring.as_ref()?;
    let prev = r.held.as_ref()?;
    let mut chain: Vec<_> = r.chain.iter().collect();
    chain.sort_by_key(|e| std::cmp::Reverse(e.depth));
    // Path next = X0 -> X1 -> ... -> XD = prev: X(k) is the class of entry #k.
    let names: Vec<&str> = {
        let mut by_depth: Vec<_> = r
            .chain
            .iter()
            .map(|e| (e.depth, e.lock.name.as_str()))
            .collect();
        by_depth.sort();
        by_depth.into_iter().map(|(_, n)| n).collect()
    };
    if names.len() < 2 || names[0] != next.name {
        // A truncated chain (entries missing): rebuild only what is there.
        if names.first() != Some(&next.name.as_str()) && !r.truncated {
            return None;
        }
    }

    let mut events = Vec::new();
    let mut appearances = Vec::new();
    let mut appear = |class: &str, path: String, role: &'static str, entry: Option<u32>| {
        let instance = format!("{class} via {path}");
        appearances.push(Appearance {
            class: class.to_string(),
            path,
            role,
            chain_entry: entry,
            instance: instance.clone(),
        });
        instance
    };

    for entry in r.chain.iter().filter(|e| e.depth >= 1) {
        let k = entry.depth as usize;
        let Some(&from) = names.get(k - 1) else {
            continue;
        };
        let to = entry.lock.name.as_str();
        let thread = format!("chain entry #{k}");
        let acquirer = first_user(&entry.frames);
        let holder = holder_path(&entry.frames);
        let held = appear(from, holder, "held", Some(entry.depth));
        let taken = appear(to, acquirer.clone(), "acquired", Some(entry.depth));
        let at = site(&entry.frames);
        events.push(acquire(&thread, &held, from, Mode::Write, None));
        events.push(acquire_as(&thread, &taken, to, &entry.frames, at));
        events.push(release(&thread, &taken));
        events.push(release(&thread, &held));
    }
    // The closing dependency: the task holds `prev` and takes `next`.
    let task = r
        .task
        .as_ref()
        .map_or_else(|| "task".to_string(), |t| format!("{}/{}", t.comm, t.pid));
    let entry0 = r.chain.iter().find(|e| e.depth == 0);
    let frames0: &[Frame] = entry0.map_or(&[], |e| &e.frames);
    let prev_path = prev
        .at
        .as_ref()
        .and_then(|f| f.base_function().map(str::to_string))
        .unwrap_or_else(|| holder_path(frames0));
    let held = appear(&prev.name, prev_path, "held", None);
    let taken = appear(&next.name, first_user(frames0), "acquired", Some(0));
    events.push(acquire(&task, &held, &prev.name, Mode::Write, None));
    events.push(acquire_as(
        &task,
        &taken,
        &next.name,
        frames0,
        site(frames0),
    ));

    let as_seen = run(&events, ClassRefinement::default(), Vec::new());

    // Split each generic-named class of the cycle by code path, one at a time.
    let mut candidates: Vec<String> = Vec::new();
    for a in &appearances {
        let base = class_base(r, &a.class);
        if rules::is_generic_class(&base) && !candidates.contains(&a.class) {
            candidates.push(a.class.clone());
        }
    }
    let mut split = None;
    let mut tried = Vec::new();
    if as_seen.has_cycle() {
        for class in &candidates {
            let mut refinement = ClassRefinement::default();
            for a in appearances.iter().filter(|a| &a.class == class) {
                refinement
                    .class_of
                    .insert(a.instance.clone(), format!("{class} [{}]", a.path));
            }
            let attempt = run(&events, refinement, vec![class.clone()]);
            if attempt.has_cycle() {
                tried.push(attempt);
            } else {
                split = Some(attempt);
                break;
            }
        }
    }
    Some(SplatReplay {
        events,
        appearances,
        as_seen,
        split,
        tried,
    })
}

fn run(events: &[TraceEvent], refinement: ClassRefinement, split: Vec<String>) -> Run {
    // A handful of events: small tables are plenty.
    let config = lockdep::Config {
        max_chains: 256,
        ..lockdep::Config::default()
    };
    let mut replayer = Replayer::new(config, refinement);
    let mut reports = Vec::new();
    for ev in events {
        // The events are built above: every release matches an acquire on its thread.
        if let Ok(r) = replayer.apply(ev) {
            reports.extend(r);
        }
    }
    Run { split, reports }
}

/// The printed class's base name as the parser extracted it (for the generic-name test).
fn class_base(r: &Report, name: &str) -> String {
    let from_chain = r
        .chain
        .iter()
        .find(|e| e.lock.name == name)
        .map(|e| e.lock.class.clone());
    let from_lines = [&r.acquiring, &r.held]
        .into_iter()
        .flatten()
        .find(|l| l.name == name)
        .map(|l| l.class.clone());
    from_chain
        .or(from_lines)
        .unwrap_or_else(|| name.to_string())
}

/// The first frame that is not lock machinery: who took the lock.
fn first_user(frames: &[Frame]) -> String {
    frames
        .iter()
        .filter(|f| !f.unreliable && !rules::is_primitive(f))
        .find_map(|f| f.base_function().map(str::to_string))
        .unwrap_or_else(|| "unknown path".into())
}

/// The code path that held the earlier lock: a known write/read site up the stack if the
/// classifier knows one, else the caller of the acquiring function.
fn holder_path(frames: &[Frame]) -> String {
    let users: Vec<&Frame> = frames
        .iter()
        .filter(|f| !f.unreliable && !rules::is_primitive(f))
        .collect();
    if let Some(known) = users.iter().find_map(|f| known_site(f)) {
        return known;
    }
    match users.as_slice() {
        [] => "unknown path".into(),
        [only] => only.base_function().unwrap_or("unknown path").to_string(),
        [first, second, ..] => format!(
            "{} (under {})",
            second.base_function().unwrap_or("?"),
            first.base_function().unwrap_or("?")
        ),
    }
}

/// A function the classifier knows to access one particular seqcount.
fn known_site(f: &Frame) -> Option<String> {
    let name = f.base_function()?;
    rules::KNOWN_SEQCOUNT_SITES
        .iter()
        .any(|(n, _, _)| *n == name)
        .then(|| name.to_string())
}

fn site(frames: &[Frame]) -> Option<String> {
    frames
        .iter()
        .find(|f| !f.unreliable && !rules::is_primitive(f))
        .map(|f| f.display())
}

fn acquire(thread: &str, lock: &str, class: &str, mode: Mode, at: Option<String>) -> TraceEvent {
    let mut e = TraceEvent::new(thread, TraceOp::Acquire, lock);
    e.class = Some(class.to_string());
    e.mode = mode;
    e.at = at;
    e
}

/// The acquisition shown by `frames`: a seqcount read access, a reader, or a writer.
fn acquire_as(
    thread: &str,
    lock: &str,
    class: &str,
    frames: &[Frame],
    at: Option<String>,
) -> TraceEvent {
    let functions: Vec<&str> = frames.iter().filter_map(|f| f.base_function()).collect();
    let seq_read = functions.iter().any(|f| {
        f.starts_with("seqcount_lockdep_reader_access")
            || f.starts_with("read_seqcount_begin")
            || f.starts_with("read_seqbegin")
            || *f == "read_mems_allowed_begin"
    });
    if seq_read {
        let mut e = TraceEvent::new(thread, TraceOp::SeqRead, lock);
        e.class = Some(class.to_string());
        e.kind = lockdep::LockKind::SeqCount;
        e.at = at;
        return e;
    }
    let reader = functions.iter().any(|f| {
        f.starts_with("down_read") || f.starts_with("percpu_down_read") || f.contains("read_lock")
    });
    acquire(
        thread,
        lock,
        class,
        if reader { Mode::Read } else { Mode::Write },
        at,
    )
}

fn release(thread: &str, lock: &str) -> TraceEvent {
    TraceEvent::new(thread, TraceOp::Release, lock)
}
