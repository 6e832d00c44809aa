//! Reports: typed values a test can assert on, with `Display` giving the kernel's layout.

mod text;

use std::fmt;
use std::sync::Arc;

use crate::class::{ClassId, ClassOrigin, LockKind, Site};
use crate::graph::DepTypes;
use crate::held::{InstanceId, Mode};

/// What kind of problem a report describes (the `kind` names `lockcheck` uses too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReportKind {
    /// A new dependency closes a cycle of lock classes: `possible circular locking dependency`.
    CircularDependency,
    /// A class already held is acquired again without nesting annotation.
    RecursiveLocking,
    /// A lock released by a thread that does not hold it.
    BadUnlockBalance,
    /// A thread ended while still holding locks.
    LocksHeldAtExit,
    /// A sleeping lock (or a blocking call) inside a spin lock or a non-blocking section.
    InvalidWaitContext,
    /// A lock taken with a nest lock that the thread does not hold.
    NestedLockNotTaken,
    /// A configured limit (depth, classes, edges, chains) ran out: what it covers is no longer
    /// checked, everything else still is (reported once per limit and validator).
    LimitExceeded,
    /// An async task waits (an async lock's acquisition, or a poll that returns `Pending`) while
    /// it holds a blocking lock: "sleeping in atomic context" in async form (`lockdep::tokio`).
    AwaitHoldingLock,
    /// A task blocks its runtime thread on an async lock (`blocking_lock`, `blocking_read`,
    /// `blocking_write`) while it holds an async lock (`lockdep::tokio`).
    BlockingHoldingAsyncLock,
}

impl ReportKind {
    /// The stable snake_case name shared with `lockcheck parse` (`circular_dependency`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::CircularDependency => "circular_dependency",
            ReportKind::RecursiveLocking => "recursive_locking",
            ReportKind::BadUnlockBalance => "bad_unlock_balance",
            ReportKind::LocksHeldAtExit => "locks_held_at_exit",
            ReportKind::InvalidWaitContext => "invalid_wait_context",
            ReportKind::NestedLockNotTaken => "nested_lock_not_taken",
            ReportKind::LimitExceeded => "limit_exceeded",
            ReportKind::AwaitHoldingLock => "await_holding_lock",
            ReportKind::BlockingHoldingAsyncLock => "blocking_holding_async_lock",
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lock as a report shows it: one `print_lock()` line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockRef {
    /// The class.
    pub class: ClassId,
    /// The class's printed name (`name#N/sub`).
    pub name: Arc<str>,
    /// The object.
    pub instance: InstanceId,
    /// How it is (or would be) held.
    pub mode: Mode,
    /// A successful trylock.
    pub trylock: bool,
    /// The primitive's kind.
    pub kind: LockKind,
    /// Where it was acquired.
    pub site: Site,
    /// For a held lock acquired for writing (or as an upgradable read) and downgraded to a
    /// read: where it was downgraded. `mode` is then the read it is held as, `site` still
    /// where it was acquired.
    ///
    /// ```
    /// use lockdep::{RwLock, RwLockWriteGuard};
    ///
    /// let reports = lockdep::capture(|| {
    ///     let l = RwLock::with_name("l", 0);
    ///     let r = RwLockWriteGuard::downgrade(l.write());
    ///     let _again = l.read(); // a writer queued in between would deadlock this
    ///     drop(r);
    /// });
    /// assert!(reports[0].held[0].downgraded_at.is_some());
    /// assert!(reports[0].to_string().contains("and downgraded to a read at"));
    /// ```
    pub downgraded_at: Option<Site>,
}

/// One edge of a reported dependency chain.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChainLink {
    /// The class held first.
    pub from: Arc<str>,
    /// The class acquired while holding it.
    pub to: Arc<str>,
    /// The edge's dependency types.
    pub types: DepTypes,
    /// Where the dependency was first seen.
    pub first_seen: Arc<crate::graph::Witness>,
}

/// The thread a report is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThreadRef {
    /// Its name (`main`, or `thread-N` when unnamed).
    pub name: Arc<str>,
    /// Its number in this validator.
    pub id: u64,
}

/// Which limit ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitInfo {
    /// The kernel-style name (`MAX_LOCK_DEPTH`, `MAX_LOCKDEP_KEYS`, ...).
    pub name: &'static str,
    /// The configured value.
    pub value: usize,
    /// The environment variable that sets it (for the process-wide validator, [`capture`](crate::capture) and
    /// `lockcheck`).
    pub env_var: &'static str,
    /// The [`Config`](crate::Config) field that sets it (`max_lock_depth`, ...).
    pub config_field: &'static str,
    /// Whether `env_var` set this validator's limit: false for a validator built from a
    /// `Config` given in code ([`Validator::new`](crate::Validator::new),
    /// [`capture_with`](crate::capture_with)), where only `config_field` raises it.
    pub from_env: bool,
}

impl LimitInfo {
    /// What is no longer checked past this limit, in words.
    pub fn consequence(&self) -> &'static str {
        match self.name {
            "MAX_LOCK_DEPTH" => {
                "locks taken deeper than that are not tracked (their releases are matched silently)"
            }
            "MAX_LOCKDEP_KEYS" => {
                "locks of further classes are not tracked (their releases are matched silently)"
            }
            "MAX_LOCKDEP_ENTRIES" => {
                "further dependencies are not recorded, so cycles through them cannot be found"
            }
            "MAX_LOCKDEP_CHAINS" => {
                "further chains are validated each time but not remembered (slower, not less checked)"
            }
            _ => "some acquisitions are not checked",
        }
    }

    /// How to raise it, as the report says it.
    pub fn knob(&self) -> String {
        if self.from_env {
            format!(
                "{}=<larger> (Config::{} for a validator built from a Config)",
                self.env_var, self.config_field
            )
        } else {
            format!(
                "Config::{} (this validator's Config; {} does not apply to it)",
                self.config_field, self.env_var
            )
        }
    }
}

/// What a report says about one of its classes when the class may conflate locks: a class
/// refined because its construction site is not the user's code, or the class of a
/// recursive-locking report that involves two distinct locks (built at one site, so one class).
///
/// ```
/// use lockdep::{ClassOrigin, Mutex, NotUserCode};
///
/// #[derive(Default)]
/// struct Bank {
///     accounts: Mutex<u64>,
///     audit: Mutex<u64>,
/// }
/// let reports = lockdep::capture(|| {
///     let bank = Bank::default();
///     drop((bank.accounts.lock(), bank.audit.lock())); // accounts -> audit
///     let _audit = bank.audit.lock();
///     let _accounts = bank.accounts.lock(); // audit -> accounts: a real ABBA
/// });
/// let note = &reports[0].notes[0];
/// assert!(matches!(note.origin, ClassOrigin::FirstLock { why: NotUserCode::Default, .. }));
/// assert_eq!(note.instances.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassNote {
    /// The class's printed name.
    pub class: Arc<str>,
    /// Where the class's first lock was built.
    pub built_at: Site,
    /// What the class stands for.
    pub origin: ClassOrigin,
    /// The distinct locks of the class this report shows (the acquiring, held and conflicting
    /// ones), each with where it was acquired.
    pub instances: Vec<(InstanceId, Site)>,
}

/// One problem found by the validator.
///
/// ```
/// use lockdep::{Mutex, ReportKind};
///
/// let reports = lockdep::capture(|| {
///     let a = Mutex::with_name("a", ());
///     let b = Mutex::with_name("b", ());
///     drop((a.lock(), b.lock()));
///     let _b = b.lock();
///     let _a = a.lock(); // b -> a closes the cycle a -> b -> a
/// });
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
/// assert_eq!(reports[0].cycle(), vec!["a", "b"]);
/// assert!(reports[0].to_string().contains("possible circular locking dependency detected"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// What went wrong.
    pub kind: ReportKind,
    /// The thread that hit it.
    pub thread: ThreadRef,
    /// The lock being acquired (or released, for unlock imbalance).
    pub acquiring: Option<LockRef>,
    /// The held lock it conflicts with.
    pub held_lock: Option<LockRef>,
    /// For circular dependencies: the existing path from the acquired class back to the held one,
    /// in the order it was walked (`acquiring → … → held`).
    pub chain: Vec<ChainLink>,
    /// The dependency the acquisition would add (held → acquiring).
    pub new_dependency: Option<DepTypes>,
    /// The thread's held locks when the problem was found.
    pub held: Vec<LockRef>,
    /// For wait-context reports: the context's wait type (`{inner:outer}` of the thread).
    pub context_wait: Option<u8>,
    /// For limit reports: which limit.
    pub limit: Option<LimitInfo>,
    /// A backtrace of the offending call, when capture was enabled.
    pub backtrace: Option<Arc<str>>,
    /// Notes on classes that may conflate locks ([`ClassNote`]), filled in when the report is
    /// dispatched.
    pub notes: Vec<ClassNote>,
    /// For circular dependencies: the classes of the cycle that were never held for writing
    /// (nor waited for as a writer) in a validated chain so far. Readers wait only for writers,
    /// so while one of them has none the cycle cannot close; it can once that class is
    /// write-locked. Filled in when the report is dispatched.
    ///
    /// ```
    /// use lockdep::RwLock;
    ///
    /// let (a, b) = (RwLock::with_name("a", ()), RwLock::with_name("b", ()));
    /// let reports = lockdep::capture(|| {
    ///     drop(a.write()); // a has a writer, b has none
    ///     drop((a.read(), b.read()));
    ///     let _b = b.read();
    ///     let _a = a.read(); // b -> a closes a cycle of readers
    /// });
    /// assert_eq!(reports[0].never_written, vec!["b".into()]);
    /// ```
    pub never_written: Vec<Arc<str>>,
}

impl Report {
    /// A limit report: `limit` ran out for `thread`, holding `held`.
    pub(crate) fn limit_exceeded(
        thread: ThreadRef,
        held: Vec<LockRef>,
        limit: LimitInfo,
        backtrace: Option<Arc<str>>,
    ) -> Report {
        Report {
            kind: ReportKind::LimitExceeded,
            thread,
            acquiring: None,
            held_lock: None,
            chain: Vec::new(),
            new_dependency: None,
            held,
            context_wait: None,
            limit: Some(limit),
            backtrace,
            notes: Vec::new(),
            never_written: Vec::new(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// The class names of the cycle in dependency order: the acquiring class first, then the
    /// existing chain up to the held class; the new dependency (held → acquiring) closes it.
    /// Empty for reports without a cycle.
    pub fn cycle(&self) -> Vec<&str> {
        if self.kind != ReportKind::CircularDependency {
            return Vec::new();
        }
        let mut names: Vec<&str> = self.chain.iter().map(|l| &*l.from).collect();
        if let Some(last) = self.chain.last() {
            names.push(&last.to);
        }
        names
    }

    /// The held locks outside a circular report's cycle whose class was held when every
    /// dependency of the cycle was first recorded, and that are held for writing now: a gate
    /// lock that keeps the cycle from closing if every path takes the same lock first, for
    /// writing (lockdep checks neither: classes, not locks, and only the first sighting of each
    /// dependency). The text says so in a note.
    ///
    /// ```
    /// use lockdep::Mutex;
    ///
    /// let (gate, a, b) = (
    ///     Mutex::with_name("gate", ()),
    ///     Mutex::with_name("a", ()),
    ///     Mutex::with_name("b", ()),
    /// );
    /// let reports = lockdep::capture(|| {
    ///     {
    ///         let _g = gate.lock();
    ///         drop((a.lock(), b.lock()));
    ///     }
    ///     let _g = gate.lock();
    ///     let _b = b.lock();
    ///     let _a = a.lock();
    /// });
    /// let gates: Vec<&str> = reports[0].gate_locks().iter().map(|l| &*l.name).collect();
    /// assert_eq!(gates, ["gate"]);
    /// ```
    pub fn gate_locks(&self) -> Vec<&LockRef> {
        if self.kind != ReportKind::CircularDependency || self.chain.is_empty() {
            return Vec::new();
        }
        let in_cycle = |name: &str| {
            self.chain
                .iter()
                .any(|l| &*l.from == name || &*l.to == name)
        };
        let mut gates: Vec<&LockRef> = Vec::new();
        for h in &self.held {
            // Held for reading, it lets the other paths' readers in: no gate.
            if h.mode != crate::held::Mode::Write
                || in_cycle(&h.name)
                || self.acquiring.as_ref().is_some_and(|a| a.class == h.class)
                || self.held_lock.as_ref().is_some_and(|p| p.class == h.class)
                || gates.iter().any(|g| g.class == h.class)
            {
                continue;
            }
            if self
                .chain
                .iter()
                .all(|l| l.first_seen.held_under.contains(&h.class))
            {
                gates.push(h);
            }
        }
        gates
    }

    /// The line of this program where the acquired lock and a held lock of another class were
    /// both taken: a helper that locks for its callers and is not `#[track_caller]`, so the
    /// line does not say which caller took which. The text says so in a note.
    ///
    /// ```
    /// use lockdep::{Mutex, MutexGuard};
    ///
    /// fn lock(m: &Mutex<u8>) -> MutexGuard<'_, u8> {
    ///     m.lock() // every acquisition through `lock` is this line
    /// }
    /// let (a, b) = (Mutex::new(0), Mutex::new(0));
    /// let reports = lockdep::capture(|| {
    ///     drop((lock(&a), lock(&b)));
    ///     let _b = lock(&b);
    ///     let _a = lock(&a);
    /// });
    /// assert!(reports[0].helper_site().is_some());
    /// ```
    pub fn helper_site(&self) -> Option<&Site> {
        let a = self.acquiring.as_ref()?;
        let Site::Code(_) = a.site else {
            return None;
        };
        self.held
            .iter()
            .chain(&self.held_lock)
            .any(|h| h.class != a.class && h.site == a.site)
            .then_some(&a.site)
    }

    /// The names of every class the report involves (acquiring, held, chain), without repeats.
    pub fn classes(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        for c in &self.chain {
            all.push(&c.from);
            all.push(&c.to);
        }
        all.extend(self.acquiring.iter().map(|l| &*l.name));
        all.extend(self.held_lock.iter().map(|l| &*l.name));
        if self.kind == ReportKind::LocksHeldAtExit {
            all.extend(self.held.iter().map(|l| &*l.name));
        }
        let mut out: Vec<&str> = Vec::new();
        for name in all {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The one-line summary used for `tracing` events and logs.
    pub fn title(&self) -> String {
        match self.kind {
            ReportKind::CircularDependency => {
                let cycle = self.cycle();
                format!(
                    "possible circular locking dependency: {} -> {}",
                    cycle.join(" -> "),
                    cycle.first().unwrap_or(&"?")
                )
            }
            ReportKind::RecursiveLocking => format!(
                "possible recursive locking of {}",
                self.acquiring.as_ref().map_or("?", |l| &*l.name)
            ),
            ReportKind::BadUnlockBalance => format!(
                "bad unlock balance: {}",
                self.acquiring.as_ref().map_or("?", |l| &*l.name)
            ),
            ReportKind::LocksHeldAtExit => format!(
                "thread {} exited with {} lock(s) held",
                self.thread.name,
                self.held.len()
            ),
            ReportKind::InvalidWaitContext => format!(
                "invalid wait context: {}",
                self.acquiring
                    .as_ref()
                    .map_or("might_sleep()", |l| &*l.name)
            ),
            ReportKind::NestedLockNotTaken => format!(
                "nested lock was not taken: {}",
                self.acquiring.as_ref().map_or("?", |l| &*l.name)
            ),
            ReportKind::LimitExceeded => format!(
                "{} too low, validation goes on without it",
                self.limit.as_ref().map_or("limit", |l| l.name)
            ),
            ReportKind::AwaitHoldingLock => format!(
                "awaiting while holding blocking lock {}",
                self.held_lock.as_ref().map_or("?", |l| &*l.name)
            ),
            ReportKind::BlockingHoldingAsyncLock => format!(
                "blocking on {} while holding async lock {}",
                self.acquiring.as_ref().map_or("?", |l| &*l.name),
                self.held_lock.as_ref().map_or("?", |l| &*l.name)
            ),
        }
    }
}

/// The kernel-layout text of the report. The alternate form (`{:#}`) is for a report replayed
/// from a recording (`lockdep::replay`, lockcheck): where the report has no backtrace it says
/// that the recording holds none, instead of how to capture them in a running program.
///
/// ```
/// let (a, b) = (lockdep::Mutex::with_name("a", ()), lockdep::Mutex::with_name("b", ()));
/// let reports = lockdep::capture(|| {
///     drop((a.lock(), b.lock()));
///     let _b = b.lock();
///     let _a = a.lock();
/// });
/// let r = &reports[0];
/// if r.backtrace.is_none() {
///     assert!(r.to_string().contains("set LOCKDEP_BACKTRACE=1"));
///     assert!(!format!("{r:#}").contains("LOCKDEP_BACKTRACE"));
///     assert!(format!("{r:#}").contains("a recorded trace or graph file holds none"));
/// }
/// ```
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        text::write_report(self, f)
    }
}
