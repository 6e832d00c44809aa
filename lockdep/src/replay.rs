//! Replaying traces: recorded events fed back through a [`Validator`], the very code that checks
//! a live program, with optional class refinements to test hypotheses.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::class::{ClassId, KeySource, LockKind, Site};
use crate::config::Config;
use crate::held::{Acquire, InstanceId, Mode, ThreadState};
use crate::report::Report;
use crate::sink::OnReport;
use crate::trace::{TraceEvent, TraceOp};
use crate::validator::Validator;

/// How classes are re-drawn before replay ("is this cycle only there because these locks share a
/// class?").
#[derive(Clone, Debug, Default)]
pub struct ClassRefinement {
    /// Every instance of these classes becomes a class of its own (`NAME@instance`).
    pub split: HashSet<String>,
    /// Class `A` is treated as class `B` (`--merge-class A=B`).
    pub merge: HashMap<String, String>,
    /// Instance `I` belongs to class `N` (`--class-of I=N`), whatever its events say.
    pub class_of: HashMap<String, String>,
}

impl ClassRefinement {
    /// The class `event`'s lock belongs to after refinement.
    pub fn class_for(&self, lock: &str, recorded: &str) -> String {
        let mut name = self
            .class_of
            .get(lock)
            .map_or(recorded, String::as_str)
            .to_string();
        // Follow merges, bounded so a cycle of merges cannot loop.
        for _ in 0..16 {
            match self.merge.get(&name) {
                Some(to) if *to != name => name = to.clone(),
                _ => break,
            }
        }
        if self.split.contains(&name) {
            name = format!("{name}@{lock}");
        }
        name
    }

    /// Whether nothing is refined.
    pub fn is_empty(&self) -> bool {
        self.split.is_empty() && self.merge.is_empty() && self.class_of.is_empty()
    }
}

/// A trace event that cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ReplayError {}

/// Feeds trace events through a fresh validator, one state per traced thread.
///
/// ```
/// use lockdep::replay::{ClassRefinement, Replayer};
/// use lockdep::trace::{TraceEvent, TraceOp};
///
/// let mut r = Replayer::new(lockdep::Config::default(), ClassRefinement::default());
/// let mut reports = Vec::new();
/// for (t, op, lock) in [
///     ("1", TraceOp::Acquire, "A"), ("1", TraceOp::Acquire, "B"),
///     ("1", TraceOp::Release, "B"), ("1", TraceOp::Release, "A"),
///     ("2", TraceOp::Acquire, "B"), ("2", TraceOp::Acquire, "A"),
/// ] {
///     reports.extend(r.apply(&TraceEvent::new(t, op, lock)).unwrap());
/// }
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].cycle(), vec!["A", "B"]);
/// ```
pub struct Replayer {
    validator: Validator,
    refinement: ClassRefinement,
    threads: HashMap<String, ThreadState>,
    instances: HashMap<String, InstanceId>,
    classes: HashMap<(String, u32), ClassId>,
}

impl Replayer {
    /// A replayer with a fresh validator (its limits from `config`).
    pub fn new(config: Config, refinement: ClassRefinement) -> Self {
        Replayer {
            validator: Validator::with_on_report(config, OnReport::Collect),
            refinement,
            threads: HashMap::new(),
            instances: HashMap::new(),
            classes: HashMap::new(),
        }
    }

    /// The validator events go through (its graph, classes and dependencies).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// Applies one event; returns the reports it triggered.
    pub fn apply(&mut self, ev: &TraceEvent) -> Result<Vec<Report>, ReplayError> {
        let site = ev
            .at
            .as_deref()
            .map_or(Site::Unknown, |a| Site::Text(a.into()));
        match ev.op {
            TraceOp::Class => {
                let name = self.refinement.class_for(ev.class_name(), ev.class_name());
                self.class(&name, ev.subclass, ev.kind, site)?;
                Ok(Vec::new())
            }
            TraceOp::Acquire | TraceOp::SeqRead => {
                let acquire = self.acquire_of(ev, site)?;
                let v = self.validator.clone();
                let thread = self.thread(ev);
                Ok(if ev.op == TraceOp::SeqRead {
                    v.seq_read(thread, acquire)
                } else {
                    v.acquire(thread, acquire)
                })
            }
            TraceOp::Release => {
                let instance = self.existing_instance(ev)?;
                let held = self.threads.get(&ev.thread).and_then(|t| t.find(instance));
                let Some(i) = held else {
                    return Err(ReplayError {
                        field: "lock",
                        message: format!(
                            "thread {} releases {:?}, which it does not hold",
                            ev.thread, ev.lock
                        ),
                    });
                };
                let thread = self.threads.get_mut(&ev.thread).expect("found above");
                let class = thread.held[i].class();
                Ok(self.validator.release(thread, instance, Some(class), site))
            }
            TraceOp::Mode => {
                let instance = self.existing_instance(ev)?;
                let v = self.validator.clone();
                let thread = self.thread(ev);
                if thread.find(instance).is_none() {
                    return Err(ReplayError {
                        field: "lock",
                        message: format!(
                            "thread {} changes the mode of {:?}, which it does not hold",
                            ev.thread, ev.lock
                        ),
                    });
                }
                v.set_mode(thread, instance, ev.mode);
                Ok(Vec::new())
            }
            TraceOp::MightSleep => {
                let v = self.validator.clone();
                Ok(v.might_sleep(self.thread(ev), site))
            }
            TraceOp::NonBlockingBegin | TraceOp::NonBlockingEnd => {
                let v = self.validator.clone();
                v.set_non_blocking(self.thread(ev), ev.op == TraceOp::NonBlockingBegin);
                Ok(Vec::new())
            }
        }
    }

    /// Names of the locks each thread still holds at the end (a trace may stop mid-run).
    pub fn still_held(&self) -> Vec<(String, Vec<InstanceId>)> {
        let mut out: Vec<_> = self
            .threads
            .iter()
            .filter(|(_, t)| !t.held().is_empty())
            .map(|(k, t)| (k.clone(), t.held().iter().map(|h| h.instance()).collect()))
            .collect();
        out.sort();
        out
    }

    fn thread(&mut self, ev: &TraceEvent) -> &mut ThreadState {
        let n = self.threads.len() as u64 + 1;
        let depth = self.validator.config().max_lock_depth.min(64);
        self.threads.entry(ev.thread.clone()).or_insert_with(|| {
            let id = ev.thread.parse().unwrap_or(n);
            let name = ev.thread_name.clone().unwrap_or_else(|| {
                if ev.thread.parse::<u64>().is_ok() {
                    format!("thread-{}", ev.thread)
                } else {
                    ev.thread.clone()
                }
            });
            ThreadState::new(name, id, depth)
        })
    }

    fn instance(&mut self, lock: &str) -> InstanceId {
        let n = self.instances.len() as u64 + 1;
        *self.instances.entry(lock.to_string()).or_insert_with(|| {
            // Hex addresses keep their value (reports then show the recorded address).
            lock.strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map_or(InstanceId(n), InstanceId)
        })
    }

    fn existing_instance(&mut self, ev: &TraceEvent) -> Result<InstanceId, ReplayError> {
        if ev.lock.is_empty() {
            return Err(ReplayError {
                field: "lock",
                message: "missing or empty".into(),
            });
        }
        Ok(self.instance(&ev.lock))
    }

    fn class(
        &mut self,
        name: &str,
        subclass: u32,
        kind: LockKind,
        site: Site,
    ) -> Result<ClassId, ReplayError> {
        if let Some(c) = self.classes.get(&(name.to_string(), subclass)) {
            return Ok(*c);
        }
        let key = KeySource::Name(name.into());
        let base: Arc<str> = name.into();
        let id = self
            .validator
            .class_for(&key, subclass, kind, site, &|| base.clone())
            .ok_or_else(|| ReplayError {
                field: "class",
                message: format!(
                    "class {name:?} cannot be registered: the class limit ({}) is reached",
                    self.validator.config().max_classes
                ),
            })?;
        self.classes.insert((name.to_string(), subclass), id);
        Ok(id)
    }

    fn acquire_of(&mut self, ev: &TraceEvent, site: Site) -> Result<Acquire, ReplayError> {
        if ev.lock.is_empty() {
            return Err(ReplayError {
                field: "lock",
                message: "missing or empty".into(),
            });
        }
        let name = self.refinement.class_for(&ev.lock, ev.class_name());
        let class = self.class(&name, ev.subclass, ev.kind, Site::Unknown)?;
        let instance = self.instance(&ev.lock);
        let nest_lock = ev.nest_lock.as_deref().map(|n| self.instance(n));
        let mode = if ev.op == TraceOp::SeqRead {
            Mode::ReadRecursive
        } else {
            ev.mode
        };
        Ok(Acquire {
            class,
            instance,
            mode,
            trylock: ev.trylock,
            nest_lock,
            kind: ev.kind,
            site,
        })
    }
}
