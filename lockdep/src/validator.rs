//! The validator: classes, the dependency graph and the known-chain set, and the rules that turn
//! acquisitions and releases into reports.
//!
//! It is driven by [`Acquire`] values and a caller-owned [`ThreadState`], so the in-process lock
//! wrappers and `lockcheck replay` run exactly the same code.

use std::collections::HashSet;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use parking_lot::{Mutex as RawMutex, RwLock as RawRwLock};

use crate::chain::{ChainCache, Inserted};
use crate::class::{
    ClassId, ClassInfo, ClassOrigin, ClassRegistry, KeySource, LockKind, Site, WAIT_INVALID,
    WAIT_MAX, WAIT_SLEEP, WAIT_SPIN,
};
use crate::config::{Config, Limit};
use crate::graph::{DepGraph, DepTypes, Witness};
use crate::held::{
    Acquire, HeldLock, InstanceId, Mode, ThreadState, class_word, context_with, next_chain_key,
    stack_allows, wait_context_suspect,
};
use crate::recorder::{self as rec, Recorder};
use crate::report::{ChainLink, ClassNote, LockRef, Report, ReportKind, ThreadRef};
use crate::sink::{self, OnReport};

/// A trace file, this thread's buffer in it, and the thread's name if this is its first event.
type TraceFile<'a> = (&'a Recorder, Arc<rec::ThreadBuf>, Option<Arc<str>>);

static GENERATIONS: AtomicU32 = AtomicU32::new(1);

/// Why a lock got no class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClassMiss {
    /// The validator is off.
    Off,
    /// The class is new and `max_classes` are registered.
    Limit,
}

/// A lock-dependency validator: one class graph and everything learnt about it.
///
/// Most programs use the process-wide one implicitly. Tests get a private one from
/// [`capture`](crate::capture); threads they spawn join it with [`Validator::scope`].
///
/// ```
/// use lockdep::{Acquire, LockKind, Mode, Site, ThreadState, Validator, InstanceId};
///
/// // Driving the validator directly, as `lockcheck replay` does.
/// let v = Validator::new(lockdep::Config::default());
/// let a = v.class_named("A", LockKind::Mutex).unwrap();
/// let b = v.class_named("B", LockKind::Mutex).unwrap();
/// let acq = |class, id| Acquire {
///     class, instance: InstanceId(id), mode: Mode::Write, trylock: false,
///     nest_lock: None, kind: LockKind::Mutex, site: Site::Unknown,
/// };
/// let mut t1 = ThreadState::new("t1", 1, 8);
/// assert!(v.acquire(&mut t1, acq(a, 1)).is_empty());
/// assert!(v.acquire(&mut t1, acq(b, 2)).is_empty());
/// v.release(&mut t1, InstanceId(2), Some(b), Site::Unknown);
/// v.release(&mut t1, InstanceId(1), Some(a), Site::Unknown);
/// let mut t2 = ThreadState::new("t2", 2, 8);
/// v.acquire(&mut t2, acq(b, 2));
/// let reports = v.acquire(&mut t2, acq(a, 1));
/// assert_eq!(reports[0].kind(), lockdep::ReportKind::CircularDependency);
/// ```
#[derive(Clone)]
pub struct Validator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) generation: u32,
    config: Config,
    enabled: AtomicBool,
    classes: RawRwLock<ClassRegistry>,
    graph: RawMutex<GraphState>,
    chains: ChainCache,
    // Chains whose new lock's class was already held (reported recursion), kept out of `chains`:
    // validated again each time, but only a lock of the held ones taken again needs more than
    // this lookup (no dependency is recorded for them).
    recursion_chains: ChainCache,
    on_report: RawRwLock<OnReport>,
    collected: RawMutex<Vec<Report>>,
    // Any event sink is on (a trace file or `tracing` lock events): the one flag hot paths test.
    recording: AtomicBool,
    file_recording: AtomicBool,
    // The recorder is another validator's (`record_into`): stopping leaves its file open.
    shared_recorder: AtomicBool,
    backtraces: AtomicBool,
    tracing_level: std::sync::atomic::AtomicU8,
    recorder: std::sync::OnceLock<Arc<Recorder>>,
    announced: RawMutex<HashSet<ClassId>>,
    // Times each limit ran out (indexed by `Limit as usize`); the first is the one report.
    limit_hits: [AtomicU64; 4],
    // The limits come from the `LOCKDEP_MAX_*` variables (reports name them as the knob).
    limits_from_env: AtomicBool,
    // Validate every chain through `acquire`, known or not (`set_validate_every_chain`).
    every_chain: AtomicBool,
}

/// A dependency that closed a reported cycle (it is not in the graph).
#[derive(Clone)]
pub(crate) struct ClosingDependency {
    pub(crate) from: ClassId,
    pub(crate) to: ClassId,
    pub(crate) types: DepTypes,
    pub(crate) witness: Arc<Witness>,
    /// How many dependency types had been added before it (see `dependency_history`).
    pub(crate) before: usize,
    /// What the thread held (the chain that was validated, the new lock apart).
    pub(crate) held: Vec<Acquire>,
}

#[derive(Default)]
struct GraphState {
    graph: DepGraph,
    // Signatures of problems already reported: each is reported once. A lock-order report's
    // includes the sites of the two acquisitions that met: one class pair can be a harmless
    // order at one pair of lines and a deadlock at another (a class of pooled objects), and
    // the first report must not silence the second.
    reported: HashSet<(ReportKind, Vec<ClassId>, [Site; 2])>,
    // Dependencies that closed a reported cycle (never added to the graph), for graph files.
    closing: Vec<ClosingDependency>,
    // Every type added to a dependency, in order (graph files replay them in this order).
    history: Vec<(ClassId, ClassId, DepTypes)>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("generation", &self.inner.generation)
            .field("enabled", &self.is_enabled())
            .field("classes", &self.class_count())
            .field("dependencies", &self.dependency_count())
            .finish()
    }
}

impl Validator {
    /// A fresh validator with its own graph, reporting by panicking.
    pub fn new(config: Config) -> Self {
        Self::with_on_report(config, OnReport::Panic)
    }

    /// A fresh validator with a chosen report destination.
    pub fn with_on_report(config: Config, on_report: OnReport) -> Self {
        let chains = ChainCache::new(config.max_chains);
        let backtraces = config.backtraces;
        Validator {
            inner: Arc::new(Inner {
                generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
                chains,
                recursion_chains: ChainCache::new(config.max_chains),
                config,
                enabled: AtomicBool::new(true),
                classes: RawRwLock::new(ClassRegistry::default()),
                graph: RawMutex::new(GraphState::default()),
                on_report: RawRwLock::new(on_report),
                collected: RawMutex::new(Vec::new()),
                recording: AtomicBool::new(false),
                file_recording: AtomicBool::new(false),
                shared_recorder: AtomicBool::new(false),
                backtraces: AtomicBool::new(backtraces),
                tracing_level: std::sync::atomic::AtomicU8::new(0),
                recorder: std::sync::OnceLock::new(),
                announced: RawMutex::new(HashSet::new()),
                every_chain: AtomicBool::new(false),
                limit_hits: Default::default(),
                limits_from_env: AtomicBool::new(false),
            }),
        }
    }

    /// Whether this is the process-wide validator ([`global`](crate::global)), as opposed to
    /// one made for a [`capture`](crate::capture) or by hand.
    pub fn is_process_wide(&self) -> bool {
        Arc::ptr_eq(&self.inner, &crate::global().inner)
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether it validates: true unless [`set_enabled`](Self::set_enabled) turned it off. A limit
    /// does not stop it: what the limit covers goes unchecked, one report says so, and everything
    /// else is validated as before (`docs/semantics.md`, "Limits").
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::Relaxed)
    }

    /// Turns validation on or off at run time; off costs one predictable branch per operation.
    pub fn set_enabled(&self, on: bool) {
        self.inner.enabled.store(on, Ordering::Relaxed);
        crate::runtime::refresh_steady_states();
    }

    /// Changes where reports go.
    pub fn set_on_report(&self, on_report: OnReport) {
        *self.inner.on_report.write() = on_report;
    }

    /// Makes [`acquire`](Self::acquire) validate every chain, even one validated before: for
    /// tools that feed dependencies one at a time and want each checked against the graph as it
    /// is then (`lockcheck check` re-checks each dependency that closed a cycle in its process).
    /// The lock wrappers' steady state does not look at it.
    pub fn set_validate_every_chain(&self, on: bool) {
        self.inner.every_chain.store(on, Ordering::Relaxed);
    }

    /// Takes the reports collected so far (with [`OnReport::Collect`]).
    pub fn take_reports(&self) -> Vec<Report> {
        std::mem::take(&mut *self.inner.collected.lock())
    }

    /// Number of classes registered.
    pub fn class_count(&self) -> usize {
        self.inner.classes.read().len()
    }

    /// Number of class dependencies recorded.
    pub fn dependency_count(&self) -> usize {
        self.inner.graph.lock().graph.edge_count()
    }

    /// Number of validated chains.
    pub fn chain_count(&self) -> usize {
        self.inner.chains.len()
    }

    /// Everything known about a class.
    pub fn class_info(&self, class: ClassId) -> Option<ClassInfo> {
        let reg = self.inner.classes.read();
        (class.index() < reg.len()).then(|| reg.get(class).clone())
    }

    /// Every recorded dependency as `(from, to, types, first seen)`.
    pub fn dependencies(&self) -> Vec<(ClassId, ClassId, DepTypes, Arc<Witness>)> {
        let g = self.inner.graph.lock();
        g.graph
            .edges()
            .map(|(a, b, t, w)| (a, b, t, w.clone()))
            .collect()
    }

    /// The dependencies that closed a reported cycle, each with the number of dependencies
    /// recorded before it: they are not in the graph (the report stood in for them), but a graph
    /// file needs them to re-check.
    pub(crate) fn closing_dependencies(&self) -> Vec<ClosingDependency> {
        self.inner.graph.lock().closing.clone()
    }

    /// Every dependency type added, as `(from, to, type)`, in the order they were added.
    pub(crate) fn dependency_history(&self) -> Vec<(ClassId, ClassId, DepTypes)> {
        self.inner.graph.lock().history.clone()
    }

    /// How many times limit `limit` ran out (the first time was reported).
    pub(crate) fn limit_hit_count(&self, limit: Limit) -> u64 {
        self.inner.limit_hits[limit as usize].load(Ordering::Relaxed)
    }

    /// Limit reports name the `LOCKDEP_MAX_*` variables as the knob: this validator's
    /// [`Config`] came from them.
    pub(crate) fn set_limits_from_env(&self) {
        self.inner.limits_from_env.store(true, Ordering::Relaxed);
    }

    /// The known-chain set, for the steady state's lookups.
    #[inline(always)]
    pub(crate) fn chains(&self) -> &ChainCache {
        &self.inner.chains
    }

    pub(crate) fn generation(&self) -> u32 {
        self.inner.generation
    }

    /// The class of locks keyed by `key` (registered on first use). `None` when the validator is
    /// off, or when the class is new and the class limit ran out (reported the first time):
    /// locks of classes registered before are validated as ever, those of this one go untracked.
    pub fn class_for(
        &self,
        key: &KeySource,
        subclass: u32,
        kind: LockKind,
        init_site: Site,
        base_name: &dyn Fn() -> Arc<str>,
    ) -> Option<ClassId> {
        self.class_of_origin(
            key,
            subclass,
            kind,
            init_site,
            base_name,
            &ClassOrigin::Site,
        )
    }

    /// [`class_for`](Self::class_for) with what the class stands for.
    pub(crate) fn class_of_origin(
        &self,
        key: &KeySource,
        subclass: u32,
        kind: LockKind,
        init_site: Site,
        base_name: &dyn Fn() -> Arc<str>,
        origin: &ClassOrigin,
    ) -> Option<ClassId> {
        match self.try_class_of_origin(key, subclass, kind, init_site, base_name, origin) {
            Ok(id) => Some(id),
            Err(ClassMiss::Limit) => {
                let report = self.limit_report(None, Limit::Classes);
                self.dispatch(report.into_iter().collect());
                None
            }
            Err(ClassMiss::Off) => None,
        }
    }

    /// [`class_of_origin`](Self::class_of_origin) leaving the class limit to the caller, which
    /// knows the thread (see [`over_class_limit`](Self::over_class_limit)).
    pub(crate) fn try_class_of_origin(
        &self,
        key: &KeySource,
        subclass: u32,
        kind: LockKind,
        init_site: Site,
        base_name: &dyn Fn() -> Arc<str>,
        origin: &ClassOrigin,
    ) -> Result<ClassId, ClassMiss> {
        let max = self.inner.config.max_classes;
        let full = {
            let reg = self.inner.classes.read();
            if let Some(id) = reg.lookup(key, subclass) {
                return Ok(id);
            }
            reg.len() >= max
        };
        if !self.is_enabled() {
            return Err(ClassMiss::Off);
        }
        let result = if full {
            Err(crate::class::ClassLimitReached)
        } else {
            self.inner.classes.write().register(
                key,
                subclass,
                base_name,
                kind,
                init_site,
                origin.clone(),
                max,
            )
        };
        match result {
            Ok(id) => {
                self.inner.graph.lock().graph.ensure_node(id);
                Ok(id)
            }
            Err(_) => Err(ClassMiss::Limit),
        }
    }

    /// Reports (the first time) that a class found no room, from a caller that knows no thread.
    #[cfg(not(lockdep_off))]
    pub(crate) fn report_class_limit(&self) {
        let report = self.limit_report(None, Limit::Classes);
        self.dispatch(report.into_iter().collect());
    }

    /// An acquisition (or seqcount read, `op`) by `thread` of a lock whose class `name` found
    /// no room under `max_classes`: the thread holds it untracked (its release is matched
    /// silently), the trace says so under a name no registered class has (so a replay skips it
    /// the same way), and the first time a report says the limit was hit.
    pub(crate) fn over_class_limit(
        &self,
        thread: &mut ThreadState,
        op: &str,
        name: &str,
        a: &Acquire,
        subclass: u32,
    ) -> Vec<Report> {
        if op == "acquire" {
            thread.skipped.push(a.instance);
        }
        let name = format!("{name}#over-class-limit");
        let level = self.inner.tracing_level.load(Ordering::Relaxed);
        if self.is_recording() && !thread.quiet && level != 0 {
            emit_lock(level, thread, op, a, &name, subclass, None);
        }
        if self.is_recording()
            && !thread.quiet
            && let Some((r, buf, thread_name)) = self.trace_file(thread)
        {
            let id = thread.trace_id;
            r.record(&buf, |out| {
                write_lock(
                    out,
                    id,
                    thread_name.as_deref(),
                    op,
                    a,
                    &name,
                    subclass,
                    None,
                )
            });
        }
        self.limit_report(Some(thread), Limit::Classes)
            .into_iter()
            .collect()
    }

    /// The class named `name` (traces: one class per name).
    pub fn class_named(&self, name: &str, kind: LockKind) -> Option<ClassId> {
        let key = KeySource::Name(name.into());
        self.class_for(&key, 0, kind, Site::Unknown, &|| Arc::from(name))
    }

    // ----- recording -----

    /// Starts writing every lock event this validator sees to `path` as a JSON Lines trace
    /// (`docs/trace-format.md`); `lockcheck replay` re-runs it. The process-wide validator starts
    /// recording by itself when `LOCKDEP_TRACE=path` is set. A validator records to one file.
    ///
    /// ```
    /// let path = std::env::temp_dir().join("lockdep-doc-trace.jsonl");
    /// let v = lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    /// v.record_to(&path).unwrap();
    /// v.scope(|| drop(lockdep::Mutex::with_name("m", ()).lock()));
    /// v.stop_recording().unwrap();
    /// let text = std::fs::read_to_string(&path).unwrap();
    /// assert!(text.lines().any(|l| l.contains("\"op\":\"acquire\"") && l.contains("\"class\":\"m\"")));
    /// ```
    pub fn record_to(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let recorder = Arc::new(Recorder::create(path.as_ref())?);
        if let Err(_unused) = self.inner.recorder.set(recorder) {
            let current = self
                .inner
                .recorder
                .get()
                .map_or("?", |r| r.path())
                .to_string();
            return Err(std::io::Error::other(format!(
                "this validator already records to {current}"
            )));
        }
        self.inner.file_recording.store(true, Ordering::SeqCst);
        self.inner.recording.store(true, Ordering::SeqCst);
        crate::runtime::refresh_steady_states();
        if let Some(r) = self.inner.recorder.get() {
            let mut all = RECORDING.lock();
            all.retain(|w| w.strong_count() > 0);
            all.push(Arc::downgrade(r));
        }
        install_panic_flush();
        Ok(())
    }

    /// Records into the trace `other` writes: the events of both go to one file, in the order
    /// they happened, each scope's thread under a number of its own. A [`capture`] does this
    /// with the process-wide trace when `LOCKDEP_TRACE_CAPTURES=1`, so tests that capture still
    /// add to the run's recording. Stopping `self`'s recording leaves `other`'s file open.
    ///
    /// ```
    /// use lockdep::{Config, OnReport, Validator};
    /// let path = std::env::temp_dir().join("lockdep-doc-record-into.jsonl");
    /// let outer = Validator::with_on_report(Config::default(), OnReport::Collect);
    /// outer.record_to(&path).unwrap();
    /// let inner = Validator::with_on_report(Config::default(), OnReport::Collect);
    /// inner.record_into(&outer).unwrap();
    /// inner.scope(|| drop(lockdep::Mutex::with_name("inner-lock", ()).lock()));
    /// outer.stop_recording().unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("inner-lock"));
    /// ```
    ///
    /// [`capture`]: crate::capture
    pub fn record_into(&self, other: &Validator) -> std::io::Result<()> {
        let Some(recorder) = other.inner.recorder.get() else {
            return Err(std::io::Error::other("the other validator does not record"));
        };
        if self.inner.recorder.set(recorder.clone()).is_err() {
            return Err(std::io::Error::other("this validator already records"));
        }
        self.inner.shared_recorder.store(true, Ordering::SeqCst);
        self.inner.file_recording.store(true, Ordering::SeqCst);
        self.inner.recording.store(true, Ordering::SeqCst);
        crate::runtime::refresh_steady_states();
        Ok(())
    }

    /// Writes out every event recorded so far (whole lines, in order).
    pub fn flush_trace(&self) -> std::io::Result<()> {
        match self.inner.recorder.get() {
            Some(r) => r.flush(),
            None => Ok(()),
        }
    }

    /// Flushes and closes the trace; later events are not recorded.
    pub fn stop_recording(&self) -> std::io::Result<()> {
        self.inner.file_recording.store(false, Ordering::SeqCst);
        let tracing_on = self.inner.tracing_level.load(Ordering::SeqCst) != 0;
        self.inner.recording.store(tracing_on, Ordering::SeqCst);
        crate::runtime::refresh_steady_states();
        match self.inner.recorder.get() {
            Some(r) if self.inner.shared_recorder.load(Ordering::SeqCst) => r.flush(),
            Some(r) => r.close(),
            None => Ok(()),
        }
    }

    /// Whether lock events go anywhere: a trace file or `tracing` (see
    /// [`set_tracing_level`](Self::set_tracing_level)). Off, every event costs one relaxed load.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.inner.recording.load(Ordering::Relaxed)
    }

    /// Captures a backtrace for every new dependency and every report from now on (or stops).
    /// Off by default (`LOCKDEP_BACKTRACE=1` for the process-wide validator); it costs nothing on
    /// the steady-state path, only when a new dependency is recorded.
    pub fn set_backtraces(&self, on: bool) {
        self.inner.backtraces.store(on, Ordering::Relaxed);
    }

    /// Emits every lock event as a `tracing` event at `level` (target `lockdep::event`), or stops
    /// with `None`; the process-wide validator reads `LOCKDEP_TRACING=trace|debug|info|...`.
    /// Reports are `tracing` warnings (target `lockdep`) whatever this says.
    pub fn set_tracing_level(&self, level: Option<tracing::Level>) {
        let code = crate::tracing_sink::level_code(level);
        self.inner.tracing_level.store(code, Ordering::SeqCst);
        let file = self.inner.file_recording.load(Ordering::SeqCst);
        self.inner
            .recording
            .store(file || code != 0, Ordering::SeqCst);
        crate::runtime::refresh_steady_states();
    }

    /// Records a lock event for `thread` (does nothing unless a sink is on).
    #[inline]
    pub(crate) fn record_lock(&self, thread: &mut ThreadState, op: &str, a: &Acquire) {
        if self.is_recording() && !thread.quiet {
            self.record_lock_slow(thread, op, a);
        }
    }

    #[cold]
    fn record_lock_slow(&self, thread: &mut ThreadState, op: &str, a: &Acquire) {
        let wait = if op == "acquire" {
            crate::hazard::noted()
        } else {
            None
        };
        let level = self.inner.tracing_level.load(Ordering::Relaxed);
        if level != 0 {
            let (name, subclass) = self.trace_class_name(thread, a.class);
            emit_lock(level, thread, op, a, &name, subclass, wait);
        }
        let Some((r, buf, thread_name)) = self.trace_file(thread) else {
            return;
        };
        let (name, subclass) = self.recorded_class_name(thread, r, &buf, a.class, a.kind);
        let id = thread.trace_id;
        r.record(&buf, |out| {
            write_lock(
                out,
                id,
                thread_name.as_deref(),
                op,
                a,
                &name,
                subclass,
                wait,
            )
        });
    }

    /// Records a release of a lock the thread does not hold (a bad unlock balance), so a replay
    /// reports it too. Without a class (none could be looked up) there is no name to record it
    /// under, and it is not.
    fn record_unbalanced_release(
        &self,
        thread: &mut ThreadState,
        instance: InstanceId,
        class: Option<ClassId>,
        site: &Site,
    ) {
        if !self.is_recording() {
            return;
        }
        let Some(class) = class else { return };
        let reg = self.inner.classes.read();
        if class.index() >= reg.len() {
            return;
        }
        let kind = reg.get(class).kind;
        drop(reg);
        let a = Acquire {
            class,
            instance,
            mode: Mode::Write,
            trylock: false,
            nest_lock: None,
            kind,
            site: site.clone(),
        };
        self.record_lock(thread, "unbalanced_release", &a);
    }

    /// Records the release of a lock taken beyond the depth limit (its acquisition was
    /// recorded, so a replay skips it the same way and matches this release with it).
    pub(crate) fn record_skipped_release(&self, thread: &mut ThreadState, instance: InstanceId) {
        if !self.is_recording() || thread.quiet {
            return;
        }
        let level = self.inner.tracing_level.load(Ordering::Relaxed);
        if level != 0 {
            crate::tracing_sink::emit(
                level,
                &crate::tracing_sink::LockEvent {
                    thread: thread.trace_id,
                    thread_name: &thread.name,
                    op: "release",
                    lock: instance.0,
                    class: "",
                    mode: Mode::Write,
                    trylock: false,
                    subclass: 0,
                    kind: LockKind::Mutex,
                    site: &Site::Unknown,
                    async_lock: false,
                    wait: None,
                },
            );
        }
        let Some((r, buf, thread_name)) = self.trace_file(thread) else {
            return;
        };
        let id = thread.trace_id;
        r.record(&buf, |out| {
            rec::write_bare_release(out, id, thread_name.as_deref(), instance.0)
        });
    }

    /// The trace file and `thread`'s buffer in it, when a file is being written; with the
    /// thread's name the first time, since a thread's first event names it.
    fn trace_file(&self, thread: &mut ThreadState) -> Option<TraceFile<'_>> {
        if !self.inner.file_recording.load(Ordering::Relaxed) {
            return None;
        }
        let r = self.inner.recorder.get()?;
        let first = thread.rec.is_none();
        let buf = thread
            .rec
            .get_or_insert_with(|| r.register_thread())
            .clone();
        Some((r, buf, first.then(|| thread.name.clone())))
    }

    /// Records a thread-only event (`might_sleep`, non-blocking sections).
    pub(crate) fn record_thread(&self, thread: &mut ThreadState, op: &str, at: &Site) {
        if !self.is_recording() || thread.quiet {
            return;
        }
        let level = self.inner.tracing_level.load(Ordering::Relaxed);
        if level != 0 {
            crate::tracing_sink::emit_thread(level, thread.trace_id, &thread.name, op, at);
        }
        let Some((r, buf, thread_name)) = self.trace_file(thread) else {
            return;
        };
        let id = thread.trace_id;
        r.record(&buf, |out| {
            rec::write_thread_event(out, id, thread_name.as_deref(), op, at)
        });
    }

    /// Writes `class`'s record to the trace (once), for a class registered outside any lock
    /// event (`lockdep::class_name`).
    #[cfg(not(lockdep_off))]
    pub(crate) fn announce_class(&self, thread: &mut ThreadState, class: ClassId, kind: LockKind) {
        if thread.quiet {
            return;
        }
        if let Some((r, buf, _)) = self.trace_file(thread) {
            let _ = self.recorded_class_name(thread, r, &buf, class, kind);
        }
    }

    /// The class name as traces carry it (subclass apart), announcing new classes once.
    fn recorded_class_name(
        &self,
        thread: &mut ThreadState,
        r: &Recorder,
        buf: &rec::ThreadBuf,
        class: ClassId,
        kind: LockKind,
    ) -> (Arc<str>, u32) {
        let known = thread
            .class_names
            .get(class.index())
            .is_some_and(Option::is_some);
        let (name, subclass) = self.trace_class_name(thread, class);
        if !known && self.inner.announced.lock().insert(class) {
            let init = self
                .class_info(class)
                .map_or(Site::Unknown, |i| i.init_site);
            let (id, tname) = (thread.trace_id, thread.name.clone());
            r.record(buf, |out| {
                rec::write_class_event(out, id, &tname, &name, subclass, kind, &init)
            });
        }
        (name, subclass)
    }

    /// The class name as traces carry it (`base#version`, subclass apart), cached per thread.
    fn trace_class_name(&self, thread: &mut ThreadState, class: ClassId) -> (Arc<str>, u32) {
        if let Some(Some(n)) = thread.class_names.get(class.index()) {
            return n.clone();
        }
        let info = self.class_info(class);
        let (name, subclass): (Arc<str>, u32) = match &info {
            Some(i) if i.name_version > 1 => (
                format!("{}#{}", i.base_name, i.name_version).into(),
                i.subclass,
            ),
            Some(i) => (i.base_name.clone(), i.subclass),
            None => ("<unregistered>".into(), 0),
        };
        if thread.class_names.len() <= class.index() {
            thread.class_names.resize(class.index() + 1, None);
        }
        thread.class_names[class.index()] = Some((name.clone(), subclass));
        (name, subclass)
    }

    // ----- the rules -----

    /// Validates an acquisition and pushes it on `thread`'s stack. Blocking locks call this
    /// *before* blocking, trylocks after succeeding. Returns the reports to [`dispatch`](Self::dispatch).
    ///
    /// The steady state (a chain this thread or any other validated before) reads the thread's
    /// state, a few read-mostly fields of the validator and at most one slot of the shared chain
    /// set; it takes no lock, allocates nothing and writes only `thread`.
    #[inline(always)]
    pub fn acquire(&self, thread: &mut ThreadState, acquire: Acquire) -> Vec<Report> {
        if !self.is_enabled() {
            return Vec::new();
        }
        if acquire.nest_lock.is_none() {
            let a = &acquire;
            let site = match &a.site {
                Site::Code(l) => Some(Some(*l)),
                Site::Unknown => Some(None),
                // A site read from a trace needs an entry's spare part: the full path.
                Site::Text(_) => None,
            };
            if let Some(site) = site
                && self.push_known(thread, a.class, a.instance, a.mode, a.kind, a.trylock, site)
            {
                return Vec::new();
            }
        }
        self.acquire_slow(thread, acquire)
    }

    /// The steady state of [`acquire`](Self::acquire) for an acquisition without a nest lock:
    /// pushes it and returns true when nothing needs checking (the chain is known, no limit or
    /// wait-context rule is near, nothing is recorded): [`ThreadState::push_steady`] with the
    /// validator's depth limit and chain set, unless events are recorded.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_known(
        &self,
        thread: &mut ThreadState,
        class: ClassId,
        instance: InstanceId,
        mode: Mode,
        kind: LockKind,
        trylock: bool,
        site: Option<&'static Location<'static>>,
    ) -> bool {
        // The thread's non-blocking sections are the one part of the wait-context rule a known
        // chain does not cover.
        if self.is_recording()
            || (!trylock && wait_context_suspect(thread, kind))
            || self.inner.every_chain.load(Ordering::Relaxed)
        {
            return false;
        }
        let limit = self.inner.config.max_lock_depth.min(thread.held.capacity());
        thread.push_steady(
            limit,
            || self.inner.chains.view(),
            class_word(self.generation(), class),
            instance,
            mode,
            kind,
            trylock,
            site,
        )
    }

    /// Everything else [`acquire`](Self::acquire) does: recording, limits, wait context, nest
    /// locks, and validating a new chain.
    #[cold]
    #[inline(never)]
    fn acquire_slow(&self, thread: &mut ThreadState, acquire: Acquire) -> Vec<Report> {
        let mut reports = Vec::new();
        // Not while a seqcount read is modelled as an acquire: that is one `seq_read` event.
        self.record_lock(thread, "acquire", &acquire);
        if thread.held.len() >= self.inner.config.max_lock_depth
            && !merges_into_top(thread, &acquire)
        {
            // Untracked: its release is matched with this entry, silently.
            thread.skipped.push(acquire.instance);
            reports.extend(self.limit_report(Some(thread), Limit::Depth));
            return reports;
        }
        if !acquire.trylock && wait_context_suspect(thread, acquire.kind) {
            self.check_wait_context(thread, Some(&acquire), &mut reports);
        }
        if acquire.nest_lock.is_some() && self.merge_nested(thread, &acquire, &mut reports) {
            return reports;
        }
        let key = self.chain_step(
            thread.chain_key(),
            acquire.class,
            acquire.mode,
            acquire.kind,
        );
        if !acquire.trylock
            && (self.inner.every_chain.load(Ordering::Relaxed) || !self.chain_known(thread, key))
        {
            self.validate(thread, &thread.held, &acquire, key, &mut reports);
        }
        let context = context_with(thread.held.last(), acquire.kind);
        thread.held.push(HeldLock::new(acquire, key, context));
        reports
    }

    /// The chain key `key` extended by a lock of `class` (in this validator), `mode` and `kind`.
    #[inline]
    fn chain_step(&self, key: u64, class: ClassId, mode: Mode, kind: LockKind) -> u64 {
        next_chain_key(key, class_word(self.generation(), class), mode, kind)
    }

    /// Whether `chain` was validated: the thread's own cache first, then the shared set (a hit
    /// there is remembered in the thread's cache).
    #[inline(always)]
    fn chain_known(&self, thread: &mut ThreadState, key: u64) -> bool {
        thread.chain_known(key, || self.inner.chains.view())
    }

    /// Nest-lock handling: reports a nest lock that is not held, and merges a same-class
    /// acquisition under a held one into the top entry (true: nothing left to do), so a thread may
    /// take more of them than the depth limit.
    #[cold]
    fn merge_nested(
        &self,
        thread: &mut ThreadState,
        acquire: &Acquire,
        reports: &mut Vec<Report>,
    ) -> bool {
        let Some(nest) = acquire.nest_lock else {
            return false;
        };
        if thread.find(nest).is_none() {
            self.nest_lock_report(thread, acquire, nest, reports);
            return false;
        }
        if let Some(top) = thread.held.last_mut()
            && top.class() == acquire.class
            && top.nest_lock() == acquire.nest_lock
        {
            // Counts every merged acquisition, the first included (0 = a plain entry).
            top.set_references(top.references().max(1) + 1);
            return true;
        }
        false
    }

    /// Removes `instance` from `thread`'s stack (any position). `class` lets merged nest-lock
    /// entries be found. A lock the thread does not hold is a bad-unlock-balance report.
    pub fn release(
        &self,
        thread: &mut ThreadState,
        instance: InstanceId,
        class: Option<ClassId>,
        site: Site,
    ) -> Vec<Report> {
        let pos = thread.find(instance).or_else(|| {
            let c = class?;
            thread
                .held
                .iter()
                .rposition(|h| h.references() > 0 && h.class() == c)
        });
        match pos {
            Some(i) => self.release_entry(thread, i, instance, site),
            None => {
                let mut reports = Vec::new();
                if thread.unskip(instance) {
                    self.record_skipped_release(thread, instance);
                } else if self.is_enabled() {
                    self.record_unbalanced_release(thread, instance, class, &site);
                    self.unlock_imbalance_report(thread, instance, class, site, &mut reports);
                }
                reports
            }
        }
    }

    /// Releases the lock at `thread.held[i]` (found by its instance).
    #[inline(always)]
    pub(crate) fn release_at(&self, thread: &mut ThreadState, i: usize, site: Site) -> Vec<Report> {
        let instance = thread.held[i].instance();
        self.release_entry(thread, i, instance, site)
    }

    #[inline(always)]
    fn release_entry(
        &self,
        thread: &mut ThreadState,
        i: usize,
        instance: InstanceId,
        site: Site,
    ) -> Vec<Report> {
        let mut reports = Vec::new();
        if self.is_recording() {
            let a = Acquire {
                site,
                instance,
                ..thread.held[i].acquire()
            };
            self.record_lock_slow(thread, "release", &a);
        }
        let references = thread.held[i].references();
        if references > 0 {
            thread.held[i].set_references(references - 1);
            if references > 1 {
                return reports;
            }
        }
        if i + 1 == thread.held.len() {
            // Released in order: nothing above it to re-validate.
            thread.held.pop();
        } else {
            self.remove_at(thread, i, &mut reports);
        }
        reports
    }

    /// Drops entry `i` and re-acquires the entries above it, as lockdep's `reacquire_held_locks`:
    /// their chain keys change and their new chains are validated.
    fn remove_at(&self, thread: &mut ThreadState, i: usize, reports: &mut Vec<Report>) {
        let mut key = thread.key_below(i);
        thread.held.remove(i);
        for j in i..thread.held.len() {
            let context = context_with(
                j.checked_sub(1).map(|b| &thread.held[b]),
                thread.held[j].kind(),
            );
            thread.held[j].set_context(context);
            let h = &thread.held[j];
            let next = self.chain_step(key, h.class(), h.mode(), h.kind());
            if self.is_enabled() && !h.trylock() && !self.chain_known(thread, next) {
                let a = thread.held[j].acquire();
                self.validate(thread, &thread.held[..j], &a, next, reports);
            }
            thread.held[j].chain_key = next;
            key = next;
        }
    }

    /// Undoes the most recent acquisition of `instance` without any check (a report is about to
    /// unwind the acquiring call, so the lock will never be taken).
    pub fn forget(&self, thread: &mut ThreadState, instance: InstanceId) {
        if thread.find(instance).is_none() {
            thread.unskip(instance);
        }
        if let Some(i) = thread.find(instance) {
            let references = thread.held[i].references();
            if references > 1 {
                thread.held[i].set_references(references - 1);
            } else {
                let mut sink = Vec::new();
                self.remove_at(thread, i, &mut sink);
            }
        }
    }

    /// Changes how a held lock is held (write → read downgrade, upgradable → write).
    pub fn set_mode(&self, thread: &mut ThreadState, instance: InstanceId, mode: Mode) {
        self.set_mode_at(thread, instance, mode, Site::Unknown);
    }

    /// [`set_mode`](Self::set_mode) called at `site`: a write acquisition made a read there is
    /// marked as downgraded, so a report that shows it says where.
    pub(crate) fn set_mode_at(
        &self,
        thread: &mut ThreadState,
        instance: InstanceId,
        mode: Mode,
        site: Site,
    ) {
        if let Some(i) = thread.find(instance)
            && thread.held[i].mode() != mode
        {
            if thread.held[i].mode() == Mode::Write && mode.is_read() {
                thread.note_downgrade(i, &site);
            }
            // Read before `set_mode`: its word read back just after `set_mode`'s one-byte store
            // stalls (a store that cannot forward to the wider load).
            let (class, kind) = (thread.held[i].class(), thread.held[i].kind());
            thread.held[i].set_mode(mode);
            if self.is_recording() {
                let a = thread.held[i].acquire();
                self.record_lock(thread, "mode", &a);
            }
            // Rebuild the chain keys from this entry up, as a re-acquisition would.
            let mut key = self.chain_step(thread.key_below(i), class, mode, kind);
            thread.held[i].chain_key = key;
            for h in &mut thread.held[i + 1..] {
                key = self.chain_step(key, h.class(), h.mode(), h.kind());
                h.chain_key = key;
            }
        }
    }

    /// A call that may block (I/O, channel receive, `Condvar::wait`): reported when the thread is
    /// inside a spin lock or a non-blocking section.
    pub fn might_sleep(&self, thread: &mut ThreadState, site: Site) -> Vec<Report> {
        let mut reports = Vec::new();
        if self.is_enabled() {
            self.record_thread(thread, "might_sleep", &site);
            self.check_wait_context(thread, None, &mut reports);
        }
        reports
    }

    /// The steady state of [`seq_read`](Self::seq_read): the chain with this reader on top was
    /// validated before and nothing stays held, so there is nothing to do (what `acquire` +
    /// `forget` would amount to; a seqcount reader is never subject to the wait-context rule).
    #[inline(always)]
    pub(crate) fn seq_read_known(&self, thread: &mut ThreadState, class: ClassId) -> bool {
        !self.is_recording()
            && thread.seq_read_steady(
                self.inner.config.max_lock_depth,
                || self.inner.chains.view(),
                class_word(self.generation(), class),
            )
    }

    /// A report of one of the async hazards (`lockdep::tokio`): `thread` (a task's stack) is
    /// taking `acquiring` (none for an await point) while holding its lock number `held`. Once
    /// per kind and pair of classes, as the other rules.
    pub(crate) fn hazard_report(
        &self,
        kind: ReportKind,
        thread: &ThreadState,
        acquiring: Option<&Acquire>,
        held: usize,
    ) -> Option<Report> {
        if !self.is_enabled() {
            return None;
        }
        let h = thread.held.get(held)?.acquire();
        let sig = acquiring
            .map(|a| a.class)
            .into_iter()
            .chain([h.class])
            .collect();
        if !self.first_time(kind, sig) {
            return None;
        }
        let reg = self.inner.classes.read();
        let mut r = self.base_report(kind, thread, held_refs(&reg, thread));
        r.acquiring = acquiring.map(|a| lock_ref(&reg, a));
        r.held_lock = Some(held_ref(&reg, thread, &thread.held[held]));
        Some(r)
    }

    /// A seqcount reader access: a zero-length recursive-read acquisition of `read`'s class
    /// (dependencies from the held locks into it, recursion checked, nothing left held).
    pub fn seq_read(&self, thread: &mut ThreadState, read: Acquire) -> Vec<Report> {
        if !self.is_enabled() {
            return Vec::new();
        }
        let recording = self.is_recording();
        let read = Acquire {
            mode: Mode::ReadRecursive,
            kind: LockKind::SeqCount,
            ..read
        };
        if !recording && read.nest_lock.is_none() && self.seq_read_known(thread, read.class) {
            return Vec::new();
        }
        // One `seq_read` event, not the acquire/release pair that models it.
        self.record_lock(thread, "seq_read", &read);
        if thread.held.len() >= self.inner.config.max_lock_depth {
            // Not validated; it holds nothing afterwards, so there is nothing to match later.
            return self
                .limit_report(Some(thread), Limit::Depth)
                .into_iter()
                .collect();
        }
        let quiet = std::mem::replace(&mut thread.quiet, true);
        let depth = thread.held.len();
        let reports = self.acquire(thread, read);
        // A reader holds nothing afterwards. Undo exactly what `acquire` pushed, before a report
        // can unwind (it may have pushed nothing, e.g. at the depth limit).
        if thread.held.len() > depth {
            let mut sink = Vec::new();
            self.remove_at(thread, thread.held.len() - 1, &mut sink);
        }
        thread.quiet = quiet;
        reports
    }

    /// Enters (`true`) or leaves a non-blocking section on `thread` (see
    /// [`non_blocking`](crate::non_blocking)).
    pub fn set_non_blocking(&self, thread: &mut ThreadState, entering: bool) {
        if entering {
            thread.atomic_depth += 1;
            self.record_thread(thread, "nonblocking_begin", &Site::Unknown);
        } else {
            thread.atomic_depth = thread.atomic_depth.saturating_sub(1);
            self.record_thread(thread, "nonblocking_end", &Site::Unknown);
        }
    }

    /// The thread is ending: locks it still holds are reported.
    pub fn thread_exit(&self, thread: &mut ThreadState) -> Vec<Report> {
        let mut reports = Vec::new();
        self.record_thread(thread, "thread_exit", &Site::Unknown);
        if self.is_enabled() && !thread.held.is_empty() {
            let reg = self.inner.classes.read();
            let held = held_refs(&reg, thread);
            let sig: Vec<ClassId> = thread.held.iter().map(|h| h.class()).collect();
            drop(reg);
            if self.first_time(ReportKind::LocksHeldAtExit, sig) {
                reports.push(self.base_report(ReportKind::LocksHeldAtExit, thread, held));
            }
        }
        thread.held.clear();
        thread.skipped.clear();
        reports
    }

    /// Sends reports where [`OnReport`] says. Call it outside any state borrowed from the
    /// validator: callbacks may take lockdep locks, and the panic mode unwinds.
    pub fn dispatch(&self, reports: Vec<Report>) {
        if reports.is_empty() {
            return;
        }
        #[cfg(not(lockdep_off))]
        if self.is_process_wide() {
            crate::adoption::explain_unadopted_report();
        }
        let on_report = self.inner.on_report.read().clone();
        let mut to_panic = None;
        // A callback that panics gets every report of the batch first (each is reported once
        // only, so one left out would be lost); the first panic goes on after the last.
        let mut unwinding = None;
        for mut report in reports {
            self.annotate(&mut report);
            sink::trace_event(&report);
            // Suppressed, or in dependencies only: the policy's tier (policy.rs).
            let collecting = matches!(on_report, OnReport::Collect | OnReport::Callback(_));
            if crate::policy::intercept(&report, collecting, &self.built_at(&report)) {
                continue;
            }
            match &on_report {
                OnReport::Collect => self.inner.collected.lock().push(report),
                OnReport::Log => sink::log_report(&report),
                OnReport::Callback(f) => {
                    let called =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&report)));
                    if let Err(payload) = called {
                        unwinding.get_or_insert(payload);
                    }
                }
                OnReport::Panic => {
                    // A limit is one logged report and the program goes on; a report raised
                    // while unwinding or while the thread's thread-locals are being destroyed
                    // cannot unwind (it would abort the process): it is logged too.
                    let log_only = logged_only(report.kind)
                        || std::thread::panicking()
                        || to_panic.is_some()
                        || sink::in_thread_local_destructor();
                    if log_only {
                        sink::log_report(&report);
                    } else {
                        to_panic = Some(report);
                    }
                }
            }
        }
        if let Some(payload) = unwinding {
            std::panic::resume_unwind(payload);
        }
        if let Some(report) = to_panic {
            // The panic's own location is this line: the first line names the acquisition's.
            let at = report
                .acquiring
                .as_ref()
                .filter(|a| !matches!(a.site, Site::Unknown))
                .map(|a| format!(" (at {})", a.site))
                .unwrap_or_default();
            panic!("lockdep: {}{at}\n{report}", report.title());
        }
    }

    /// Whether [`dispatch`](Self::dispatch) would unwind on a report.
    pub fn panics_on_report(&self) -> bool {
        matches!(*self.inner.on_report.read(), OnReport::Panic) && !std::thread::panicking()
    }

    // ----- slow path -----

    /// Checks a new chain: recursive locking, then a dependency from the nearest held lock that
    /// is neither a trylock nor a recursive read (and every lock above it) to the new one, each
    /// cycle-checked.
    fn validate(
        &self,
        thread: &ThreadState,
        below: &[HeldLock],
        next: &Acquire,
        key: u64,
        reports: &mut Vec<Report>,
    ) {
        // A recursion chain seen before: its report (if any) was made and it records no
        // dependency, so only the very same lock taken again is new. Without the graph's mutex.
        if self.inner.recursion_chains.contains(key) && held_again(below, next).is_none() {
            return;
        }
        // Writers seen, for reader cycles that cannot close yet (`annotate`). Every dependency
        // from or to a lock held or taken for writing is validated here first.
        if next.mode == Mode::Write || below.iter().any(|h| h.mode() == Mode::Write) {
            let reg = self.inner.classes.read();
            if next.mode == Mode::Write {
                reg.mark_written(next.class);
            }
            for h in below.iter().filter(|h| h.mode() == Mode::Write) {
                reg.mark_written(h.class());
            }
        }
        let mut state = self.inner.graph.lock();
        let mut add_dependencies = true;
        // A dependency of this chain was not recorded (edge limit): the chain is not remembered,
        // so it is checked again each time against the dependencies that are recorded.
        let mut incomplete = false;
        // A class taken while held (reported): its chain goes to `recursion_chains`, not
        // `chains` (a remembered chain says nothing about instances, so the very same lock taken
        // again would pass unseen).
        let mut recursion = false;

        // Recursive locking: the class is already held.
        for (i, h) in below.iter().enumerate() {
            if h.class() != next.class {
                continue;
            }
            if next.mode == Mode::ReadRecursive && h.mode().is_read() {
                continue;
            }
            if let Some(nest) = next.nest_lock
                && below[..i].iter().any(|n| n.instance() == nest)
            {
                add_dependencies = false;
                continue;
            }
            // The same instance taken again (a certain self-deadlock) is a problem of its own,
            // not hidden by an earlier report of two instances of the class nested: looked for
            // among every held lock of the class, not only the first.
            let (h, sig) = match held_again(below, next) {
                Some(x) => (x, vec![next.class, next.class]),
                None => (h, vec![next.class]),
            };
            recursion = true;
            if sibling_wait(h, next) {
                // Most likely the same async code running twice in one task (`join_all` of one
                // closure): the second only waits for the first. Not reported (`async.md`).
                add_dependencies = false;
                break;
            }
            let sites = [h.acquire().site.clone(), next.site.clone()];
            if first_time(&mut state, ReportKind::RecursiveLocking, sig, sites) {
                drop(state);
                reports.push(self.conflict_report(
                    ReportKind::RecursiveLocking,
                    thread,
                    below,
                    next,
                    &h.acquire(),
                    Vec::new(),
                    None,
                ));
                state = self.inner.graph.lock();
            }
            add_dependencies = false;
            break;
        }

        if add_dependencies {
            for prev in below.iter().rev() {
                let p = &prev.acquire();
                if p.class != next.class {
                    let types = DepTypes::of(p.mode, next.mode);
                    let known = state.graph.edge_types(p.class, next.class);
                    if !known.is_some_and(|k| k.contains(types)) {
                        // The topological order usually proves there is no way back.
                        let path = if state.graph.surely_unreachable(next.class, p.class) {
                            None
                        } else {
                            state.graph.strong_path(
                                next.class,
                                next.mode == Mode::ReadRecursive,
                                p.class,
                                p.mode == Mode::Write,
                            )
                        };
                        match path {
                            Some(path) => {
                                let mut sig: Vec<ClassId> = path.iter().map(|s| s.from).collect();
                                sig.push(p.class);
                                sig.sort();
                                sig.dedup();
                                let sites = [p.site.clone(), next.site.clone()];
                                if first_time(
                                    &mut state,
                                    ReportKind::CircularDependency,
                                    sig,
                                    sites,
                                ) {
                                    let before = state.history.len();
                                    state.closing.push(ClosingDependency {
                                        from: p.class,
                                        to: next.class,
                                        types,
                                        witness: Arc::new(Witness {
                                            thread: thread.name.clone(),
                                            from_site: p.site.clone(),
                                            to_site: next.site.clone(),
                                            from_mode: p.mode,
                                            to_mode: next.mode,
                                            backtrace: None,
                                            held_under: held_besides(below, p.class),
                                        }),
                                        before,
                                        held: below.iter().map(HeldLock::acquire).collect(),
                                    });
                                    drop(state);
                                    let chain = self.chain_links(&path);
                                    reports.push(self.conflict_report(
                                        ReportKind::CircularDependency,
                                        thread,
                                        below,
                                        next,
                                        p,
                                        chain,
                                        Some(types),
                                    ));
                                    state = self.inner.graph.lock();
                                }
                            }
                            None if known.is_none()
                                && state.graph.edge_count() >= self.inner.config.max_edges =>
                            {
                                incomplete = true;
                                drop(state);
                                reports.extend(self.limit_report(Some(thread), Limit::Edges));
                                state = self.inner.graph.lock();
                            }
                            None => {
                                let backtraces = self.inner.backtraces.load(Ordering::Relaxed);
                                state.history.push((p.class, next.class, types));
                                state.graph.add(p.class, next.class, types, || Witness {
                                    thread: thread.name.clone(),
                                    from_site: p.site.clone(),
                                    to_site: next.site.clone(),
                                    from_mode: p.mode,
                                    to_mode: next.mode,
                                    backtrace: backtraces.then(capture_backtrace),
                                    held_under: held_besides(below, p.class),
                                });
                            }
                        }
                    }
                }
                // The locks below the nearest held lock are ordered before the new one through
                // it (their dependencies on it were recorded when it was taken): stop there. Not
                // at a trylock, and not at a recursive reader: a path `A -> R -> next` that goes
                // through a recursive reader is not a strong path, so it does not stand for
                // `A -> next` (held `A` read, `R` recursively read, then `next`: with `next` held
                // by another thread waiting for `A` exclusively, that deadlocks), and the kernel's
                // walk, which stops at it, misses that deadlock.
                if !p.trylock && p.mode != Mode::ReadRecursive {
                    break;
                }
            }
        }
        drop(state);
        if recursion {
            // Past its limit, such a chain is validated whole each time (no report is repeated).
            let _ = self.inner.recursion_chains.insert(key);
        }
        // A chain whose held locks break the wait-context rule stays unknown: the steady state
        // takes a known chain as proof that the rule holds.
        // Past the chain limit the chain is not remembered: it is validated again next time.
        if !incomplete
            && !recursion
            && stack_allows(below.last(), next.kind)
            && self.inner.chains.insert(key) == Inserted::Full
        {
            reports.extend(self.limit_report(Some(thread), Limit::Chains));
        }
    }

    /// Wait-context rule: nothing may wait for longer than the context it runs in allows
    /// (a sleeping lock or a blocking call inside a spin lock or a non-blocking section).
    fn check_wait_context(
        &self,
        thread: &ThreadState,
        next: Option<&Acquire>,
        reports: &mut Vec<Report>,
    ) {
        let wanted = next.map_or(WAIT_SLEEP, |a| a.kind.wait_type());
        if wanted == WAIT_INVALID {
            return;
        }
        let mut context = if thread.in_atomic() {
            WAIT_SPIN
        } else {
            WAIT_MAX
        };
        let mut culprit = None;
        for h in thread.held.iter() {
            let w = h.kind().wait_type();
            if w != WAIT_INVALID && w < context {
                context = w;
                culprit = Some(h.class());
            }
        }
        if wanted <= context {
            return;
        }
        let mut sig: Vec<ClassId> = culprit.into_iter().collect();
        if let Some(a) = next {
            sig.push(a.class);
        }
        if !self.first_time(ReportKind::InvalidWaitContext, sig) {
            return;
        }
        let reg = self.inner.classes.read();
        let held = held_refs(&reg, thread);
        let acquiring = next.map(|a| lock_ref(&reg, a));
        drop(reg);
        let mut r = self.base_report(ReportKind::InvalidWaitContext, thread, held);
        r.acquiring = acquiring;
        r.context_wait = Some(context);
        reports.push(r);
    }

    fn nest_lock_report(
        &self,
        thread: &ThreadState,
        next: &Acquire,
        nest: InstanceId,
        reports: &mut Vec<Report>,
    ) {
        if !self.first_time(ReportKind::NestedLockNotTaken, vec![next.class]) {
            return;
        }
        let reg = self.inner.classes.read();
        let held = held_refs(&reg, thread);
        let acquiring = lock_ref(&reg, next);
        drop(reg);
        let mut r = self.base_report(ReportKind::NestedLockNotTaken, thread, held);
        r.held_lock = Some(LockRef {
            name: format!("nest lock {:#x}", nest.0).into(),
            instance: nest,
            site: Site::Unknown,
            ..acquiring.clone()
        });
        r.acquiring = Some(acquiring);
        reports.push(r);
    }

    fn unlock_imbalance_report(
        &self,
        thread: &ThreadState,
        instance: InstanceId,
        class: Option<ClassId>,
        site: Site,
        reports: &mut Vec<Report>,
    ) {
        let reg = self.inner.classes.read();
        let held = held_refs(&reg, thread);
        let (name, kind) = match class {
            Some(c) if c.index() < reg.len() => {
                let info = reg.get(c);
                (info.display_name.clone(), info.kind)
            }
            _ => (Arc::from(format!("{:#x}", instance.0)), LockKind::Mutex),
        };
        drop(reg);
        let mut r = self.base_report(ReportKind::BadUnlockBalance, thread, held);
        if matches!(site, Site::Unknown) && r.backtrace.is_none() {
            // A release carries no site: the stack is the one way to the bad unlock (a rare
            // report, so always captured).
            r.backtrace = Some(capture_backtrace());
        }
        r.acquiring = Some(LockRef {
            class: class.unwrap_or(ClassId(u32::MAX)),
            name,
            instance,
            mode: Mode::Write,
            trylock: false,
            kind,
            site,
            downgraded_at: None,
        });
        reports.push(r);
    }

    /// Counts a hit of `limit`; the first one in this validator is a report (`None` after).
    /// Validation goes on: the caller skips only what the limit covers.
    #[cold]
    fn limit_report(&self, thread: Option<&ThreadState>, limit: Limit) -> Option<Report> {
        if self.inner.limit_hits[limit as usize].fetch_add(1, Ordering::Relaxed) != 0 {
            return None;
        }
        let (thread_ref, held) = match thread {
            Some(t) => {
                let reg = self.inner.classes.read();
                (
                    ThreadRef {
                        name: t.name.clone(),
                        id: t.id,
                    },
                    held_refs(&reg, t),
                )
            }
            None => (
                ThreadRef {
                    name: current_thread_name(),
                    id: 0,
                },
                Vec::new(),
            ),
        };
        let from_env = self.inner.limits_from_env.load(Ordering::Relaxed);
        Some(Report::limit_exceeded(
            thread_ref,
            held,
            limit.info(&self.inner.config, from_env),
            self.current_backtrace(),
        ))
    }

    fn first_time(&self, kind: ReportKind, sig: Vec<ClassId>) -> bool {
        first_time(
            &mut self.inner.graph.lock(),
            kind,
            sig,
            [Site::Unknown, Site::Unknown],
        )
    }

    /// Adds a [`ClassNote`] for each class of `r` that may conflate locks: refined because it
    /// was built outside the user's code, or, in a recursive-locking report, shown with two
    /// distinct locks.
    /// Where the classes of `r` were built (the sites of site-keyed and named classes).
    pub(crate) fn built_at(&self, r: &Report) -> Vec<Site> {
        let reg = self.inner.classes.read();
        r.classes()
            .into_iter()
            .filter_map(|n| reg.find_display(n))
            .map(|c| reg.get(c).init_site.clone())
            .collect()
    }

    fn annotate(&self, r: &mut Report) {
        if !r.notes.is_empty() || !r.never_written.is_empty() {
            return;
        }
        let reg = self.inner.classes.read();
        if r.kind == ReportKind::CircularDependency {
            let mut cycle: Vec<ClassId> = Vec::new();
            let names = r.chain.iter().flat_map(|c| [&c.from, &c.to]);
            for c in names.filter_map(|n| reg.find_display(n)) {
                if !cycle.contains(&c) {
                    cycle.push(c);
                }
            }
            r.never_written = cycle
                .into_iter()
                .filter(|&c| !reg.written(c))
                .map(|c| reg.get(c).display_name.clone())
                .collect();
        }
        // The lock lines of the report, but the nest-lock placeholder (its class is borrowed).
        let refs: Vec<&LockRef> = r
            .acquiring
            .iter()
            .chain(r.held_lock.iter())
            .chain(r.held.iter())
            .filter(|l| l.class.index() < reg.len() && reg.get(l.class).display_name == l.name)
            .collect();
        let mut classes: Vec<ClassId> = Vec::new();
        let named = r
            .chain
            .iter()
            .flat_map(|c| [&c.from, &c.to])
            .filter_map(|n| reg.find_display(n));
        for c in refs.iter().map(|l| l.class).chain(named) {
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
        for c in classes {
            let info = reg.get(c);
            let mut instances: Vec<(InstanceId, Site)> = Vec::new();
            for l in refs.iter().filter(|l| l.class == c) {
                if !instances.iter().any(|(i, _)| *i == l.instance) {
                    instances.push((l.instance, l.site.clone()));
                }
            }
            // Two locks of one class matter where they are the report: recursive locking.
            let conflated = r.kind == ReportKind::RecursiveLocking && instances.len() >= 2;
            if info.origin.is_refined() || conflated {
                r.notes.push(ClassNote {
                    class: info.display_name.clone(),
                    built_at: info.init_site.clone(),
                    origin: info.origin.clone(),
                    instances,
                });
            }
        }
    }

    fn base_report(&self, kind: ReportKind, thread: &ThreadState, held: Vec<LockRef>) -> Report {
        Report {
            kind,
            thread: ThreadRef {
                name: thread.name.clone(),
                id: thread.id,
            },
            acquiring: None,
            held_lock: None,
            chain: Vec::new(),
            new_dependency: None,
            held,
            context_wait: None,
            limit: None,
            backtrace: self.current_backtrace(),
            notes: Vec::new(),
            never_written: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn conflict_report(
        &self,
        kind: ReportKind,
        thread: &ThreadState,
        below: &[HeldLock],
        next: &Acquire,
        prev: &Acquire,
        chain: Vec<ChainLink>,
        new_dependency: Option<DepTypes>,
    ) -> Report {
        let reg = self.inner.classes.read();
        let held: Vec<LockRef> = below.iter().map(|h| held_ref(&reg, thread, h)).collect();
        let acquiring = lock_ref(&reg, next);
        let mut held_lock = lock_ref(&reg, prev);
        held_lock.downgraded_at = held
            .iter()
            .find(|h| h.instance == prev.instance && h.class == prev.class)
            .and_then(|h| h.downgraded_at.clone());
        drop(reg);
        let mut r = self.base_report(kind, thread, held);
        r.acquiring = Some(acquiring);
        r.held_lock = Some(held_lock);
        r.chain = chain;
        r.new_dependency = new_dependency;
        r
    }

    fn chain_links(&self, path: &[crate::graph::PathStep]) -> Vec<ChainLink> {
        let reg = self.inner.classes.read();
        path.iter()
            .map(|s| ChainLink {
                from: reg.get(s.from).display_name.clone(),
                to: reg.get(s.to).display_name.clone(),
                types: s.types,
                first_seen: s.witness.clone(),
            })
            .collect()
    }

    fn current_backtrace(&self) -> Option<Arc<str>> {
        self.inner
            .backtraces
            .load(Ordering::Relaxed)
            .then(capture_backtrace)
    }
}

/// Flushes every recording validator's trace when a thread panics (the file stays whole and
/// complete up to the panic), then runs the previous hook.
fn install_panic_flush() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        crate::runtime::off_a_panicking_thread(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                for v in RECORDING.lock().iter() {
                    if let Some(r) = v.upgrade() {
                        let _ = r.flush();
                    }
                }
                previous(info);
            }));
        })
    });
}

static RECORDING: RawMutex<Vec<std::sync::Weak<Recorder>>> = RawMutex::new(Vec::new());

/// Reports [`Validator::dispatch`] logs even when reports panic: the program goes on after them.
/// Whether `next` takes again, at the very site where it holds it, an async lock (odd instance
/// ids, `lockdep::tokio`) this task holds: what futures polled together by one task do when they
/// run the same code (`join_all`, `FuturesUnordered`, `join!` of one async fn). Such a future
/// waits for its sibling, which goes on and releases the lock; lockdep cannot tell it from one
/// future looping back to the same line while holding the lock, which deadlocks at once.
/// The classes held in `below` other than `class`, for a new dependency's [`Witness`].
fn held_besides(below: &[HeldLock], class: ClassId) -> Arc<[ClassId]> {
    let mut v: Vec<ClassId> = below
        .iter()
        .map(HeldLock::class)
        .filter(|&c| c != class)
        .collect();
    v.dedup();
    v.into()
}

fn sibling_wait(held: &HeldLock, next: &Acquire) -> bool {
    held.instance() == next.instance
        && next.instance.0 & 1 == 1
        && match (held.site(), &next.site) {
            (Site::Code(a), Site::Code(b)) => std::ptr::eq(a, *b),
            // A replayed trace's sites (and its recorded addresses, odd for async locks).
            (Site::Text(a), Site::Text(b)) => a == *b,
            _ => false,
        }
}

fn logged_only(kind: ReportKind) -> bool {
    matches!(
        kind,
        ReportKind::LocksHeldAtExit | ReportKind::LimitExceeded
    )
}

/// Whether `next` merges into the top entry of `thread` (a same-class acquisition under the
/// nest lock the top entry was taken under): it then takes no stack slot.
fn merges_into_top(thread: &ThreadState, next: &Acquire) -> bool {
    next.nest_lock.is_some()
        && thread
            .held
            .last()
            .is_some_and(|top| top.class() == next.class && top.nest_lock() == next.nest_lock)
}

/// The held entry of the very lock `next` takes again, unless that is a recursive read under a
/// read (allowed).
fn held_again<'a>(below: &'a [HeldLock], next: &Acquire) -> Option<&'a HeldLock> {
    below.iter().find(|x| {
        x.instance() == next.instance
            && x.class() == next.class
            && !(next.mode == Mode::ReadRecursive && x.mode().is_read())
    })
}

fn first_time(
    state: &mut GraphState,
    kind: ReportKind,
    sig: Vec<ClassId>,
    sites: [Site; 2],
) -> bool {
    state.reported.insert((kind, sig, sites))
}

fn lock_ref(reg: &ClassRegistry, a: &Acquire) -> LockRef {
    let name = if a.class.index() < reg.len() {
        reg.get(a.class).display_name.clone()
    } else {
        Arc::from("<unregistered>")
    };
    LockRef {
        class: a.class,
        name,
        instance: a.instance,
        mode: a.mode,
        trylock: a.trylock,
        kind: a.kind,
        site: a.site.clone(),
        downgraded_at: None,
    }
}

/// [`lock_ref`] of an entry `thread` holds, with what only the thread knows (a downgrade).
fn held_ref(reg: &ClassRegistry, thread: &ThreadState, h: &HeldLock) -> LockRef {
    LockRef {
        downgraded_at: thread.downgraded_at(h),
        ..lock_ref(reg, &h.acquire())
    }
}

fn held_refs(reg: &ClassRegistry, thread: &ThreadState) -> Vec<LockRef> {
    thread
        .held
        .iter()
        .map(|h| held_ref(reg, thread, h))
        .collect()
}

fn capture_backtrace() -> Arc<str> {
    without_machinery(&std::backtrace::Backtrace::force_capture().to_string()).into()
}

/// A backtrace as std prints it (`  N: symbol` lines, each followed by its `at file:line`
/// lines) without the leading frames of the capture and of the lock itself (std, core, lockdep,
/// lock_api, the parking_lot compat crates): the first frame is the caller's code.
fn without_machinery(bt: &str) -> String {
    const MACHINERY: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "lockdep::",
        "lock_api::",
        "parking_lot::",
    ];
    // Where the machinery's source lives: an inlined frame is often named without its path
    // (`validate`, `lock<()>`), and its `at` line tells whose it is.
    const MACHINERY_FILES: &[&str] = &[
        "/lockdep/src/",
        "/lockdep-parking-lot/src/",
        "/lock_api-0.",
        "/parking_lot-0.",
        "/rustc/",
        "/library/std/src/",
        "/library/core/src/",
        "/library/alloc/src/",
    ];
    let machinery = |path: &str| MACHINERY.iter().any(|m| path.starts_with(m));
    let lines: Vec<&str> = bt.lines().collect();
    let mut out = String::with_capacity(bt.len());
    let mut skipped = 0;
    let mut skipping = true;
    for (i, line) in lines.iter().enumerate() {
        if skipping && let Some(symbol) = symbol_of(line) {
            // `<Type as Trait>::f` is the machinery's only when both are: a user's trait on a
            // lock (`<parking_lot::Mutex<T> as app::Ext>::f`) or a lock's trait on a user's type
            // (`<app::Table as core::ops::Drop>::drop`) is the caller's code.
            let by_name = match qualified_path(symbol) {
                Some((ty, Some(tr))) => machinery(ty) && machinery(tr),
                Some((ty, None)) => machinery(ty),
                None => machinery(symbol),
            };
            let bare = !symbol.contains("::");
            let by_file = bare
                && lines.get(i + 1).is_some_and(|next| {
                    let t = next.trim_start();
                    t.starts_with("at ") && MACHINERY_FILES.iter().any(|f| t.contains(f))
                });
            if by_name || by_file {
                skipped += 1;
                continue;
            }
            skipping = false;
            if skipped > 0 {
                let s = if skipped == 1 { "" } else { "s" };
                out.push_str(&format!(
                    "      ({skipped} frame{s} of lockdep and the lock left out)\n"
                ));
            }
        }
        if skipping {
            // The `at` lines of a skipped frame.
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if skipping {
        // Nothing but machinery (no symbols?): keep it all.
        return bt.to_string();
    }
    out
}

/// The symbol of a backtrace's frame line (`  12: app::main`), if it is one.
fn symbol_of(line: &str) -> Option<&str> {
    line.trim_start()
        .split_once(": ")
        .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(|(_, symbol)| symbol)
}

/// The self type and trait of a qualified symbol (`<Type as Trait>::f`; `<Type>::f` has no
/// trait), or `None` if `symbol` does not start with `<` or its brackets do not close.
fn qualified_path(symbol: &str) -> Option<(&str, Option<&str>)> {
    let inner = symbol.strip_prefix('<')?;
    let mut depth = 0usize;
    let mut as_at = None;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' | b')' | b']' if depth > 0 => depth -= 1,
            b'>' => {
                let (ty, tr) = match as_at {
                    Some(a) => (&inner[..a], Some(&inner[a + 4..i])),
                    None => (&inner[..i], None),
                };
                return Some((ty, tr));
            }
            b' ' if depth == 0 && as_at.is_none() && inner[i..].starts_with(" as ") => {
                as_at = Some(i)
            }
            _ => {}
        }
    }
    None
}

fn current_thread_name() -> Arc<str> {
    std::thread::current().name().unwrap_or("unnamed").into()
}

/// Whether `instance` is an async lock's (`lockdep::tokio` sets the low bit of their ids).
fn async_instance(instance: InstanceId) -> bool {
    cfg!(feature = "tokio") && instance.0 & 1 == 1
}

/// Emits a lock event of `thread` to `tracing` (at level `level`) under class `name`.
fn emit_lock(
    level: u8,
    thread: &ThreadState,
    op: &str,
    a: &Acquire,
    name: &str,
    subclass: u32,
    wait: Option<crate::trace::Wait>,
) {
    crate::tracing_sink::emit(
        level,
        &crate::tracing_sink::LockEvent {
            thread: thread.trace_id,
            thread_name: &thread.name,
            op,
            lock: a.instance.0,
            class: name,
            mode: a.mode,
            trylock: a.trylock,
            subclass,
            kind: a.kind,
            site: &a.site,
            async_lock: async_instance(a.instance),
            wait,
        },
    );
}

/// Writes a lock event's trace record under class `name`.
#[allow(clippy::too_many_arguments)]
fn write_lock(
    out: &mut String,
    id: u64,
    thread_name: Option<&str>,
    op: &str,
    a: &Acquire,
    name: &str,
    subclass: u32,
    wait: Option<crate::trace::Wait>,
) {
    rec::write_lock_event(
        out,
        id,
        thread_name,
        op,
        a.instance.0,
        name,
        a.mode,
        a.trylock,
        subclass,
        a.nest_lock.map(|n| n.0),
        a.kind,
        &a.site,
        async_instance(a.instance),
        wait,
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn backtraces_start_at_the_callers_code() {
        let bt = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/x/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:312:9
   2: lockdep::validator::capture_backtrace
             at ./src/validator.rs:1788:5
   3: <lockdep::mutex::RawMutex as lock_api::mutex::RawMutex>::lock
             at ./src/mutex.rs:315:9
   4: lock_api::mutex::Mutex<R,T>::lock
             at /x/lock_api-0.4.14/src/mutex.rs:214:9
   5: signal_hook_registry::half_lock::HalfLock<T>::write
             at ./src/half_lock.rs:200:14
   6: signal_hook_registry::register_unchecked_impl
             at ./src/lib.rs:610:9
";
        let t = super::without_machinery(bt);
        assert!(t.starts_with("      (5 frames of lockdep and the lock left out)\n   5: signal_hook_registry::half_lock::HalfLock<T>::write\n"), "{t}");
        assert!(t.contains("./src/lib.rs:610:9"), "{t}");
        // A user's trait on a lock, or a lock's trait on a user's type, is the caller's code.
        let bt = "   0: lockdep::validator::capture_backtrace
   1: <lockdep::mutex::RawMutex as lock_api::mutex::RawMutex>::lock
   2: <parking_lot::Mutex<T> as app::Locked>::with
             at ./src/ext.rs:12:9
   3: app::main
";
        let t = super::without_machinery(bt);
        assert!(t.starts_with("      (2 frames of lockdep and the lock left out)\n   2: <parking_lot::Mutex<T> as app::Locked>::with\n"), "{t}");
        let bt = "   0: <lockdep::mutex::RawMutex as lock_api::mutex::RawMutex>::lock
   1: <app::Table<core::result::Result<u8, ()>> as core::ops::drop::Drop>::drop
   2: core::ptr::drop_in_place<app::Table>
";
        let t = super::without_machinery(bt);
        assert!(
            t.starts_with("      (1 frame of lockdep and the lock left out)\n   1: <app::Table"),
            "{t}"
        );
        assert_eq!(
            super::qualified_path("<[u8] as core::fmt::Debug>::fmt"),
            Some(("[u8]", Some("core::fmt::Debug")))
        );
        assert_eq!(
            super::qualified_path("<lockdep::Mutex<T>>::lock"),
            Some(("lockdep::Mutex<T>", None))
        );
        assert_eq!(super::qualified_path("<broken"), None);
        // Inlined frames named without their path are judged by their source file.
        let bt = "   6: validate
              at /work/x/lockdep/src/validator.rs:1349:55
   18: lock<()>
              at /work/x/lockdep/src/exclusive.rs:155:41
   19: {closure#0}
              at ./tests/app.rs:124:20
";
        let t = super::without_machinery(bt);
        assert!(
            t.starts_with(
                "      (2 frames of lockdep and the lock left out)\n   19: {closure#0}\n"
            ),
            "{t}"
        );
        // A backtrace without symbols is kept whole.
        let bare = "   0: <unknown>\n";
        assert_eq!(super::without_machinery(bare), bare);
    }
}
