//! Replaying traces: recorded events fed back through a [`Validator`], the very code that checks
//! a live program, with optional class refinements to test hypotheses.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::class::{ClassId, KeySource, LockKind, Site};
use crate::config::{Config, Limit};
use crate::hazard;
use crate::held::{Acquire, InstanceId, Mode, ThreadState};
use crate::report::{LockRef, Report, ReportKind, ThreadRef};
use crate::sink::OnReport;
use crate::trace::{TraceEvent, TraceEventRef, TraceOp, Wait};
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
        self.refined(lock, recorded).into_owned()
    }

    /// [`class_for`](Self::class_for), borrowing `recorded` when nothing refines it.
    fn refined<'a>(&'a self, lock: &str, recorded: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(recorded);
        }
        let mut name = self.class_of.get(lock).map_or(recorded, String::as_str);
        // Follow merges, bounded so a cycle of merges cannot loop.
        for _ in 0..16 {
            match self.merge.get(name) {
                Some(to) if *to != name => name = to,
                _ => break,
            }
        }
        if self.split.contains(name) {
            return Cow::Owned(format!("{name}@{lock}"));
        }
        Cow::Borrowed(name)
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
/// Costs are bounded by what is live, not by how long the trace is: a thread that holds nothing
/// (and is in no non-blocking section) keeps only a compact entry (its name and number), its
/// state going back to a small pool (the 64 most recently idle keep their state, parked, until
/// more go idle, so a thread that soon takes locks again costs nothing to bring back); a
/// `thread_exit` record reports what the thread still holds and forgets it altogether (traces
/// without that record keep a compact entry per thread).
///
/// Limits do not stop a replay: an acquisition deeper than `max_lock_depth` or of a class past
/// `max_classes` is skipped (not validated, not held; its release is matched silently), a
/// dependency past `max_edges` is not recorded, a chain past `max_chains` is validated but not
/// remembered. The first time each limit is hit a `LimitExceeded` report says so; later hits are
/// only counted ([`Replayer::limit_hits`]). Everything else goes on being validated.
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
    /// Threads that hold something (or are in a non-blocking section, or have skipped
    /// acquisitions outstanding), and up to [`POOL`] that did not since their last event
    /// (*parked*: a thread that takes locks again soon keeps its state and entry).
    threads: FastMap<String, Entry>,
    /// How many of `threads` are parked.
    parked: usize,
    /// Threads with a numeric id seen before that hold nothing and have a name of their own
    /// (the others need no entry: their number is their id, their name `thread-N`).
    idle_numbered: FastMap<u64, Arc<str>>,
    /// Other threads seen before that hold nothing: their number and name.
    idle: FastMap<Box<str>, IdleThread>,
    /// States of idle threads, ready for the next thread that takes a lock.
    // Boxed: a state (with its 2 KiB chain cache inline) moves between the pool and `threads`
    // as a pointer, not as a copy.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<ThreadState>>,
    /// Threads numbered in order of appearance (for thread ids that are not numbers).
    threads_seen: u64,
    /// Lock ids that are not hex addresses (those are their own instance id).
    instances: FastMap<String, InstanceId>,
    /// Classes by name, then subclass.
    classes: FastMap<String, Vec<(u32, ClassId)>>,
    /// Per thread, acquisitions skipped because of a limit and not yet released (how many of
    /// each instance: releases may come in any order).
    skipped: FastMap<String, FastMap<InstanceId, u64>>,
    limits: Vec<LimitHit>,
    /// Instances recorded as async locks (`"async":true`), for the async hazard rules.
    async_locks: FastSet<InstanceId>,
}

/// The replayer's maps: keys are names and ids from the trace, looked up several times per
/// event, so a fast hash instead of SipHash (which was a tenth of a replay's time).
type FastMap<K, V> = HashMap<K, V, FastHash>;
type FastSet<K> = HashSet<K, FastHash>;

/// foldhash's fast hasher (a folded multiply, seeded per map): not resistant to keys crafted to
/// collide, which a trace, the user's own recording, could only use to slow its own replay.
type FastHash = foldhash::fast::RandomState;

/// A thread's full state in the replayer.
struct Entry {
    state: Box<ThreadState>,
    /// It held nothing (and was in no non-blocking section, with no skipped acquisition) after
    /// its last event.
    parked: bool,
}

/// A thread holding nothing, with a thread id that is not a number: all that is kept of it.
struct IdleThread {
    name: Arc<str>,
    id: u64,
}

/// The thread id as a number, when it is one written canonically (`"7"`, not `"007"`).
fn numbered(thread: &str) -> Option<u64> {
    let n = thread.parse::<u64>().ok()?;
    (thread.len() == 1 || !thread.starts_with('0')).then_some(n)
}

/// `u64::from_str_radix(h, 16)`, without its generality: what a hex lock id reads as.
fn hex(h: &str) -> Option<u64> {
    // `from_str_radix` takes one leading `+`.
    let digits = h.strip_prefix('+').unwrap_or(h).as_bytes();
    if digits.is_empty() {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut n: u64 = 0;
    if digits.len() <= 16 {
        // Sixteen digits fit.
        for &c in digits {
            n = n << 4 | u64::from(digit(c)?);
        }
    } else {
        for &c in digits {
            n = n.checked_mul(16)?.checked_add(u64::from(digit(c)?))?;
        }
    }
    Some(n)
}

/// Idle thread states kept for reuse (each is a few KiB), and parked threads at most (past it,
/// all parked threads become compact entries, their states going to the pool).
const POOL: usize = 64;

/// A limit a replay ran into, and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitHit {
    /// The kernel-style name (`MAX_LOCK_DEPTH`, `MAX_LOCKDEP_KEYS`, `MAX_LOCKDEP_ENTRIES`,
    /// `MAX_LOCKDEP_CHAINS`).
    pub name: &'static str,
    /// The configured value.
    pub value: usize,
    /// The environment variable that sets it.
    pub env_var: &'static str,
    /// How many times it was hit: acquisitions skipped (depth, classes), dependencies not
    /// recorded (edges), chains not remembered (chains).
    pub count: u64,
}

impl LimitHit {
    /// What was skipped, in words (`"acquisitions deeper than the limit were not validated"`).
    pub fn what_was_skipped(&self) -> &'static str {
        match self.name {
            "MAX_LOCK_DEPTH" => "acquisition(s) deeper than the limit skipped (not validated)",
            "MAX_LOCKDEP_KEYS" => {
                "acquisition(s) of classes past the limit skipped (not validated)"
            }
            "MAX_LOCKDEP_ENTRIES" => {
                "new dependenc(ies) not recorded (cycles through them are not found)"
            }
            "MAX_LOCKDEP_CHAINS" => {
                "new chain(s) validated but not remembered (slower, not less checked)"
            }
            _ => "event(s) affected",
        }
    }
}

/// Why an acquisition is skipped.
enum Skip {
    Depth,
    Classes,
}

impl Replayer {
    /// A replayer with a fresh validator (its limits from `config`).
    pub fn new(config: Config, refinement: ClassRefinement) -> Self {
        let validator = Validator::with_on_report(config, OnReport::Collect);
        // Replay tools read their limits from the `LOCKDEP_MAX_*` variables.
        validator.set_limits_from_env();
        Replayer {
            validator,
            refinement,
            threads: FastMap::default(),
            parked: 0,
            idle_numbered: FastMap::default(),
            idle: FastMap::default(),
            pool: Vec::new(),
            threads_seen: 0,
            instances: FastMap::default(),
            classes: FastMap::default(),
            skipped: FastMap::default(),
            limits: Vec::new(),
            async_locks: FastSet::default(),
        }
    }

    /// The validator events go through (its graph, classes and dependencies).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The limits hit so far, in the order they were first hit.
    pub fn limit_hits(&self) -> &[LimitHit] {
        &self.limits
    }

    /// Threads that hold locks (or are in a non-blocking section); the others are compact
    /// entries, or for a few recent ones a parked state.
    pub fn live_threads(&self) -> usize {
        self.threads.len() - self.parked
    }

    /// Applies one event; returns the reports it triggered.
    pub fn apply(&mut self, ev: &TraceEvent) -> Result<Vec<Report>, ReplayError> {
        self.apply_ref(&ev.borrowed())
    }

    /// [`apply`](Self::apply) for an event borrowing its strings (what
    /// `trace::parse_line_ref` returns, feature `trace-reader`): the common event allocates
    /// nothing.
    pub fn apply_ref(&mut self, ev: &TraceEventRef<'_>) -> Result<Vec<Report>, ReplayError> {
        if ev.op == TraceOp::Header {
            return Ok(Vec::new());
        }
        let result = self.apply_inner(ev);
        let result = result.map(|reports| self.limit_reports(reports));
        self.settle(&ev.thread);
        result
    }

    fn apply_inner(&mut self, ev: &TraceEventRef<'_>) -> Result<Vec<Report>, ReplayError> {
        let site = ev
            .at
            .as_deref()
            .map_or(Site::Unknown, |a| Site::Text(a.into()));
        match ev.op {
            TraceOp::Class => {
                // A thread's first record may be a class record: it names the thread.
                if ev.thread_name.is_some() {
                    self.thread(ev);
                }
                let name = self.refinement.refined(ev.class_name(), ev.class_name());
                match Self::class(
                    &mut self.classes,
                    &self.validator,
                    &name,
                    ev.subclass,
                    ev.kind,
                    site,
                ) {
                    Ok(_) => Ok(Vec::new()),
                    // Registering is informational: nothing is skipped yet.
                    Err(_) => Ok(Vec::new()),
                }
            }
            TraceOp::Acquire | TraceOp::SeqRead => {
                let acquire = match self.acquire_of(ev, site) {
                    Ok(a) => a,
                    Err(None) => return Err(missing_lock()),
                    Err(Some(skip)) => return Ok(self.skip(ev, skip)),
                };
                let v = self.validator.clone();
                let depth = v.config().max_lock_depth;
                if ev.async_lock {
                    self.async_locks.insert(acquire.instance);
                }
                let hazard = self.hazard(ev, Some(&acquire));
                let thread = self.thread(ev);
                let merges = acquire.nest_lock.is_some()
                    && thread.held().last().is_some_and(|top| {
                        top.class() == acquire.class && top.nest_lock() == acquire.nest_lock
                    });
                if thread.held().len() >= depth && !merges {
                    let mut reports: Vec<Report> = hazard.into_iter().collect();
                    reports.extend(self.skip(ev, Skip::Depth));
                    return Ok(reports);
                }
                let mut reports: Vec<Report> = hazard.into_iter().collect();
                reports.extend(if ev.op == TraceOp::SeqRead {
                    v.seq_read(thread, acquire)
                } else {
                    v.acquire(thread, acquire)
                });
                Ok(reports)
            }
            TraceOp::Release => {
                let instance = self.existing_instance(ev)?;
                let held = self
                    .threads
                    .get(&*ev.thread)
                    .and_then(|t| t.state.find(instance));
                let Some(i) = held else {
                    if self.unskip(&ev.thread, instance) {
                        return Ok(Vec::new());
                    }
                    return Err(ReplayError {
                        field: "lock",
                        message: format!(
                            "thread {} releases {:?}, which it does not hold",
                            printable(&ev.thread),
                            ev.lock
                        ),
                    });
                };
                let thread = &mut self
                    .threads
                    .get_mut(&*ev.thread)
                    .expect("found above")
                    .state;
                let class = thread.held[i].class();
                Ok(self.validator.release(thread, instance, Some(class), site))
            }
            TraceOp::UnbalancedRelease => {
                // The live run released a lock this thread did not hold: the same report here
                // (or a plain release, if the trace has the thread holding it after all).
                let instance = self.existing_instance(ev)?;
                let class = self.event_class(ev).ok();
                let v = self.validator.clone();
                Ok(v.release(self.thread(ev), instance, class, site))
            }
            TraceOp::Mode => {
                let instance = self.existing_instance(ev)?;
                let held = self
                    .threads
                    .get(&*ev.thread)
                    .is_some_and(|t| t.state.find(instance).is_some());
                if !held {
                    if self
                        .skipped
                        .get(&*ev.thread)
                        .is_some_and(|s| s.contains_key(&instance))
                    {
                        return Ok(Vec::new());
                    }
                    return Err(ReplayError {
                        field: "lock",
                        message: format!(
                            "thread {} changes the mode of {:?}, which it does not hold",
                            printable(&ev.thread),
                            ev.lock
                        ),
                    });
                }
                let v = self.validator.clone();
                v.set_mode(self.thread(ev), instance, ev.mode);
                Ok(Vec::new())
            }
            TraceOp::MightSleep => {
                let v = self.validator.clone();
                Ok(v.might_sleep(self.thread(ev), site))
            }
            TraceOp::Header => Ok(Vec::new()),
            TraceOp::ThreadExit => {
                let reports = match self.threads.remove(&*ev.thread) {
                    Some(Entry { mut state, parked }) => {
                        self.parked -= usize::from(parked);
                        let reports = self.validator.thread_exit(&mut state);
                        if !state.in_atomic() && self.pool.len() < POOL {
                            self.pool.push(state);
                        }
                        reports
                    }
                    None => Vec::new(),
                };
                // Forgotten: a later event with this id is a new thread.
                self.skipped.remove(&*ev.thread);
                match numbered(&ev.thread) {
                    Some(n) => drop(self.idle_numbered.remove(&n)),
                    None => drop(self.idle.remove(&*ev.thread)),
                }
                Ok(reports)
            }
            TraceOp::Await => Ok(self.hazard(ev, None).into_iter().collect()),
            TraceOp::NonBlockingBegin | TraceOp::NonBlockingEnd => {
                let v = self.validator.clone();
                v.set_non_blocking(self.thread(ev), ev.op == TraceOp::NonBlockingBegin);
                Ok(Vec::new())
            }
        }
    }

    /// The async hazard a recorded wait calls for (the rule was on live, or the trace would not
    /// say): an awaited async acquisition or a `Pending` poll (`acquiring: None`) under a
    /// blocking lock, a `blocking_*` acquisition under an async lock.
    fn hazard(&mut self, ev: &TraceEventRef<'_>, acquiring: Option<&Acquire>) -> Option<Report> {
        let wait = match (&ev.op, ev.wait) {
            (TraceOp::Await, _) => Wait::Await,
            (TraceOp::Acquire, Some(w)) => w,
            _ => return None,
        };
        let asyncs = std::mem::take(&mut self.async_locks);
        let is_async = |i: InstanceId| asyncs.contains(&i);
        let v = self.validator.clone();
        let thread = self.thread(ev);
        let report = match wait {
            Wait::Await => hazard::await_hazard(thread, acquiring.is_none(), is_async)
                .and_then(|i| v.hazard_report(ReportKind::AwaitHoldingLock, thread, acquiring, i)),
            Wait::Blocking => hazard::blocking_hazard(thread, is_async).and_then(|i| {
                v.hazard_report(ReportKind::BlockingHoldingAsyncLock, thread, acquiring, i)
            }),
        };
        self.async_locks = asyncs;
        report
    }

    /// Skips an acquisition over a limit: counted, its release to be matched silently, one
    /// report the first time.
    fn skip(&mut self, ev: &TraceEventRef<'_>, why: Skip) -> Vec<Report> {
        let limit = match why {
            Skip::Depth => Limit::Depth,
            Skip::Classes => Limit::Classes,
        };
        // The thread is known from here on, under the name its first event gives.
        self.thread(ev);
        if ev.op == TraceOp::Acquire {
            let instance = self.instance(&ev.lock);
            *self
                .skipped
                .entry(ev.thread.to_string())
                .or_default()
                .entry(instance)
                .or_default() += 1;
        }
        if self.count_limit(limit) {
            return Vec::new();
        }
        vec![self.limit_report(ev, limit)]
    }

    /// The report of a limit the replayer enforces itself (the validator's own words).
    fn limit_report(&self, ev: &TraceEventRef<'_>, limit: Limit) -> Report {
        let (thread, held) = match self.threads.get(&*ev.thread).map(|t| &t.state) {
            Some(t) => (
                ThreadRef {
                    name: t.name.clone(),
                    id: t.id,
                },
                t.held()
                    .iter()
                    .map(|h| {
                        let info = self.validator.class_info(h.class());
                        LockRef {
                            class: h.class(),
                            name: info.map_or_else(
                                || Arc::from(format!("class#{}", h.class().index())),
                                |i| i.display_name,
                            ),
                            instance: h.instance(),
                            mode: h.mode(),
                            trylock: h.trylock(),
                            kind: h.kind(),
                            site: h.site(),
                            downgraded_at: t.downgraded_at(h),
                        }
                    })
                    .collect(),
            ),
            None => (
                ThreadRef {
                    name: default_name(&ev.thread),
                    id: ev.thread.parse().unwrap_or(0),
                },
                Vec::new(),
            ),
        };
        Report::limit_exceeded(
            thread,
            held,
            limit.info(self.validator.config(), true),
            None,
        )
    }

    /// Counts a hit of `limit`; true when it was hit before.
    fn count_limit(&mut self, limit: Limit) -> bool {
        if let Some(hit) = self.limits.iter_mut().find(|h| h.name == limit.name()) {
            hit.count += 1;
            return true;
        }
        self.limits.push(LimitHit {
            name: limit.name(),
            value: limit.value(self.validator.config()),
            env_var: limit.env_var(),
            count: 1,
        });
        false
    }

    /// Brings the counts of the limits the validator enforces (dependencies, chains) up to
    /// date. The validator reports each once and goes on, as the replayer does.
    fn limit_reports(&mut self, reports: Vec<Report>) -> Vec<Report> {
        for limit in [Limit::Edges, Limit::Chains] {
            let count = self.validator.limit_hit_count(limit);
            if count == 0 {
                continue;
            }
            match self.limits.iter_mut().find(|h| h.name == limit.name()) {
                Some(hit) => hit.count = count,
                None => self.limits.push(LimitHit {
                    name: limit.name(),
                    value: limit.value(self.validator.config()),
                    env_var: limit.env_var(),
                    count,
                }),
            }
        }
        reports
    }

    /// Releases a skipped acquisition of `instance` by `thread`; false if there is none.
    fn unskip(&mut self, thread: &str, instance: InstanceId) -> bool {
        let Some(list) = self.skipped.get_mut(thread) else {
            return false;
        };
        let Some(count) = list.get_mut(&instance) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            list.remove(&instance);
        }
        if list.is_empty() {
            self.skipped.remove(thread);
        }
        true
    }

    /// After an event of `thread`: a thread that holds nothing is parked; past [`POOL`] parked
    /// threads, they all become compact entries.
    fn settle(&mut self, thread: &str) {
        let Some(entry) = self.threads.get_mut(thread) else {
            return;
        };
        let idle = entry.state.held().is_empty()
            && !entry.state.in_atomic()
            && !self.skipped.contains_key(thread);
        if idle == entry.parked {
            return;
        }
        entry.parked = idle;
        if !idle {
            self.parked -= 1;
            return;
        }
        self.parked += 1;
        if self.parked <= POOL {
            return;
        }
        let parked: Vec<(String, Entry)> = self.threads.extract_if(|_, e| e.parked).collect();
        self.parked = 0;
        for (key, Entry { state, .. }) in parked {
            self.compact(key, state);
        }
    }

    /// Keeps of an idle thread only what names it; its state goes to the pool.
    fn compact(&mut self, key: String, state: Box<ThreadState>) {
        match numbered(&key) {
            Some(n) => {
                // Its own name, not `thread-N`.
                if state.name.strip_prefix("thread-") != Some(key.as_str()) {
                    self.idle_numbered.insert(n, state.name.clone());
                }
            }
            None => {
                let idle = IdleThread {
                    name: state.name.clone(),
                    id: state.id,
                };
                self.idle.insert(key.into_boxed_str(), idle);
            }
        }
        if self.pool.len() < POOL {
            self.pool.push(state);
        }
    }

    /// Names of the locks each thread still holds at the end (a trace may stop mid-run).
    pub fn still_held(&self) -> Vec<(String, Vec<InstanceId>)> {
        let mut out: Vec<_> = self
            .threads
            .iter()
            .filter(|(_, t)| !t.state.held().is_empty())
            .map(|(k, t)| {
                let held = t.state.held().iter().map(|h| h.instance()).collect();
                (k.clone(), held)
            })
            .collect();
        out.sort();
        out
    }

    fn thread(&mut self, ev: &TraceEventRef<'_>) -> &mut ThreadState {
        if let Some(entry) = self.threads.get_mut(&*ev.thread) {
            // As a thread back from a compact entry (or the pool): a numbered thread without a
            // name of its own takes the one its event gives.
            if entry.parked {
                let state = &mut entry.state;
                if let Some(name) = ev.thread_name.as_deref()
                    && numbered(&ev.thread).is_some()
                    && state.name.strip_prefix("thread-") == Some(&*ev.thread)
                {
                    state.name = name.into();
                }
                state.untracked = false;
                state.skipped.clear();
            }
        } else {
            let given = || {
                ev.thread_name
                    .as_deref()
                    .map_or_else(|| default_name(&ev.thread), Arc::from)
            };
            let (name, id) = match numbered(&ev.thread) {
                Some(n) => match self.idle_numbered.remove(&n) {
                    Some(name) => (name, n),
                    None => (given(), n),
                },
                None => match self.idle.remove(&*ev.thread) {
                    Some(t) => (t.name, t.id),
                    None => {
                        self.threads_seen += 1;
                        (given(), ev.thread.parse().unwrap_or(self.threads_seen))
                    }
                },
            };
            let state = match self.pool.pop() {
                // A pooled state holds nothing; its chain cache caches this validator's chains,
                // which hold for any thread.
                Some(mut t) => {
                    t.name = name;
                    t.id = id;
                    t.untracked = false;
                    t.skipped.clear();
                    t
                }
                None => {
                    let depth = self.validator.config().max_lock_depth.min(64);
                    Box::new(ThreadState::new(name, id, depth))
                }
            };
            let entry = Entry {
                state,
                parked: false,
            };
            self.threads.insert(ev.thread.to_string(), entry);
        }
        &mut self
            .threads
            .get_mut(&*ev.thread)
            .expect("inserted above")
            .state
    }

    fn instance(&mut self, lock: &str) -> InstanceId {
        // Hex addresses keep their value (reports then show the recorded address) and need no
        // entry; other ids are numbered in order of appearance.
        if let Some(id) = lock.strip_prefix("0x").and_then(hex) {
            return InstanceId(id);
        }
        if let Some(&id) = self.instances.get(lock) {
            return id;
        }
        let id = InstanceId(self.instances.len() as u64 + 1);
        self.instances.insert(lock.to_string(), id);
        id
    }

    fn existing_instance(&mut self, ev: &TraceEventRef<'_>) -> Result<InstanceId, ReplayError> {
        if ev.lock.is_empty() {
            return Err(missing_lock());
        }
        Ok(self.instance(&ev.lock))
    }

    /// The class named `name`; `None` when the class limit leaves no room for it.
    fn class(
        classes: &mut FastMap<String, Vec<(u32, ClassId)>>,
        validator: &Validator,
        name: &str,
        subclass: u32,
        kind: LockKind,
        site: Site,
    ) -> Result<ClassId, ()> {
        if let Some(&(_, c)) = classes
            .get(name)
            .and_then(|s| s.iter().find(|(sub, _)| *sub == subclass))
        {
            return Ok(c);
        }
        if validator.class_count() >= validator.config().max_classes {
            return Err(());
        }
        let key = KeySource::Name(name.into());
        let base: Arc<str> = name.into();
        let id = validator
            .class_for(&key, subclass, kind, site, &|| base.clone())
            .ok_or(())?;
        classes
            .entry(name.to_string())
            .or_default()
            .push((subclass, id));
        Ok(id)
    }

    /// The class of `ev`'s lock (refined); `Err` when the class limit leaves no room for it.
    fn event_class(&mut self, ev: &TraceEventRef<'_>) -> Result<ClassId, ()> {
        let name = self.refinement.refined(&ev.lock, ev.class_name());
        Self::class(
            &mut self.classes,
            &self.validator,
            &name,
            ev.subclass,
            ev.kind,
            Site::Unknown,
        )
    }

    /// The acquisition `ev` describes: `Err(None)` without a lock, `Err(Some(_))` when its class
    /// is over the limit.
    fn acquire_of(&mut self, ev: &TraceEventRef<'_>, site: Site) -> Result<Acquire, Option<Skip>> {
        if ev.lock.is_empty() {
            return Err(None);
        }
        let class = self.event_class(ev).map_err(|()| Some(Skip::Classes))?;
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

fn missing_lock() -> ReplayError {
    ReplayError {
        field: "lock",
        message: "missing or empty".into(),
    }
}

/// A thread id as one line of text: quoted and escaped when it holds control characters.
fn printable(thread: &str) -> std::borrow::Cow<'_, str> {
    if thread.chars().any(char::is_control) {
        format!("{thread:?}").into()
    } else {
        thread.into()
    }
}

/// The name of a thread that did not give one: `thread-N` for a numbered thread, else its id.
fn default_name(thread: &str) -> Arc<str> {
    if thread.parse::<u64>().is_ok() {
        format!("thread-{thread}").into()
    } else {
        thread.into()
    }
}

#[cfg(test)]
mod tests {
    use super::hex;

    /// Lock ids read as hex addresses exactly as `from_str_radix` reads them.
    #[test]
    fn hex_ids_read_as_from_str_radix_does() {
        for h in [
            "",
            "+",
            "-",
            "+-1",
            "-1",
            "0",
            "00",
            "55d0c0a8e280",
            "55D0C0A8E280",
            "+ff",
            "++ff",
            "ffffffffffffffff",
            "10000000000000000",
            "0000000000000000000001",
            "fg",
            " 1",
            "1 ",
            "é",
            "0x1",
        ] {
            assert_eq!(hex(h), u64::from_str_radix(h, 16).ok(), "{h:?}");
        }
    }
}
