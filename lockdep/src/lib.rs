//! Kernel-style lock dependency validation for Rust programs.
//!
//! `lockdep` is the Linux kernel's lock validator, for user space: replace `parking_lot::Mutex`
//! with [`lockdep::Mutex`](Mutex) (and `RwLock`, `Condvar`) and every acquisition is checked
//! against a graph of lock *classes*. The first time an order that could deadlock is *seen*, you
//! get a report with the whole dependency chain and where each link was first taken, whether or
//! not the threads ever actually collide. [`SpinLock`], [`SeqLock`] and [`SeqCount`] add the
//! kernel's spin locks (nothing may block inside them: the wait-context rule) and sequence
//! counters (lock-free readers, validated as zero-length recursive reads); the [`semantics`]
//! page gives every rule with an example and its verdict.
//!
//! ```
//! use lockdep::{Mutex, ReportKind};
//!
//! let reports = lockdep::capture(|| {
//!     let accounts = Mutex::with_name("accounts", ());
//!     let audit = Mutex::with_name("audit", ());
//!     {
//!         let _a = accounts.lock();
//!         let _b = audit.lock(); // accounts -> audit
//!     }
//!     let _b = audit.lock();
//!     let _a = accounts.lock(); // audit -> accounts: closes a cycle
//! });
//! assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
//! println!("{}", reports[0]); // the kernel's layout
//! ```
//!
//! # Concepts
//! - **Lock class**: every lock built at one call site of your code (with one data type) is one
//!   class (or name one with [`Mutex::with_name`], or share a [`ClassKey`]). Validation is per
//!   class, so an order seen on one pair of objects is checked against every other pair of the
//!   same kinds.
//! - **Sites that are not yours**: a lock built by a `#[derive(Default)]` (which gives every
//!   field one site), by `Default`, inside std (`Arc::default`, `map(Mutex::new)`), or by
//!   `lock_api` over [`RawMutex`], gets its class at its first acquisition:
//!   keyed by construction site, data type and that acquisition's site ([`ClassOrigin`]). Reports
//!   involving such a class say so in a `note:` and in [`Report::notes`]. Escape hatches:
//!   `with_name`, `with_class` ([`ClassKey`]) and `lock_nested`.
//!
//!   ```
//!   use lockdep::Mutex;
//!
//!   #[derive(Default)]
//!   struct Bank {
//!       accounts: Mutex<Vec<u64>>,
//!       audit: Mutex<Vec<String>>,
//!   }
//!   let reports = lockdep::capture(|| {
//!       let bank = Bank::default();
//!       let _accounts = bank.accounts.lock();
//!       bank.audit.lock().push("opened".into()); // two classes, nested in one order: silent
//!   });
//!   assert!(reports.is_empty());
//!   ```
//! - **Held locks**: each thread's stack of what it holds ([`ThreadState`]); guards may be dropped
//!   in any order.
//! - **Dependency**: acquiring B while holding A records `A → B` once per class pair, with where
//!   it was first seen ([`Witness`]). A new dependency that closes a cycle is reported
//!   ([`ReportKind::CircularDependency`]) before the thread blocks.
//! - **Chain**: the sequence of classes a thread holds. A chain validated once is cached, so the
//!   steady state costs a thread-local read and a lock-free lookup — no global lock.
//!
//! # Guards
//! Guards are `Sync` wherever parking_lot's are, so `&guard` can be shared with
//! `std::thread::scope` threads. They are not `Send`: the lock is held by the thread that took it,
//! whose held-lock stack records it.
//!
//! ```
//! let m = lockdep::Mutex::new(vec![1, 2, 3]);
//! let guard = m.lock();
//! let sum: i32 = std::thread::scope(|s| s.spawn(|| guard.iter().sum()).join().unwrap());
//! assert_eq!(sum, 6);
//! ```
//!
//! With the feature `send_guard` they are `Send`, as parking_lot's with its feature of that name
//! (`Mutex`, `FairMutex`, `SpinLock`, `RwLock` and `RecursiveRwLock` guards): a guard records the
//! thread that took the lock, and dropping (or downgrading) it on another thread is recorded on
//! that thread's held-lock stack, which applies it at its next lockdep operation. Until the guard
//! is dropped, the lock counts as held by the thread that took it, unless that thread hands it
//! off first (`hand_off`, for pipelines that lock again while the receiver holds the guard).
//! Without the feature, this does not compile:
//!
#![cfg_attr(not(feature = "send_guard"), doc = "```compile_fail")]
#![cfg_attr(feature = "send_guard", doc = "```")]
//! let m = lockdep::Mutex::new(0);
//! let guard = m.lock();
//! std::thread::scope(|s| s.spawn(move || drop(guard)).join().unwrap()); // Send: send_guard only
//! assert!(!lockdep::is_held(&m));
//! ```
//!
#![cfg_attr(not(feature = "send_guard"), doc = "```compile_fail")]
#![cfg_attr(feature = "send_guard", doc = "```")]
//! let l = lockdep::RwLock::new(0);
//! let guard = l.read();
//! std::thread::scope(|s| s.spawn(move || drop(guard)).join().unwrap()); // Send: send_guard only
//! ```
//!
//! # Where reports go
//! By default a report panics (so tests fail at the first bad order). `LOCKDEP_ON_REPORT=log`
//! prints them instead; [`Validator::set_on_report`] chooses panic, log, collect or a callback;
//! [`capture`] collects the reports of one closure, isolated from other tests. Every report is
//! also a `tracing` warning (target `lockdep`) with structured fields.
//!
//! # Environment
//! `LOCKDEP=off` (validation off until [`set_enabled`]), `LOCKDEP_ON_REPORT`,
//! `LOCKDEP_BACKTRACE=1` (capture stacks of new dependencies),
//! `LOCKDEP_MAX_DEPTH`, `LOCKDEP_MAX_CLASSES`, `LOCKDEP_MAX_EDGES`, `LOCKDEP_MAX_CHAINS`,
//! `LOCKDEP_TRACE` (record a trace), `LOCKDEP_TRACE_CAPTURES=1` (captures record into it) and
//! `LOCKDEP_GRAPH` (the dependency graph, written at exit: [`graph_file`]); `LOCKDEP_TRACE` and
//! `LOCKDEP_GRAPH` take a file, a directory (`dir/`: one file per process) or a pattern with
//! `%p`; `lockcheck check` merges a whole test suite's graphs (`docs/test-suites.md`).
//! `LOCKDEP_DEPENDENCY_REPORTS=log|panic|off` (reports whose every site is in a dependency's
//! source: logged under `lockdep: in dependencies only (crates)` by default, never panicking),
//! `LOCKDEP_SUPPRESS=path` (a file of `class|site PATTERN REASON` rules that drop reports); see
//! docs/dependencies.md, which also covers validating a whole dependency tree through the
//! parking_lot compat crates (`compat/parking_lot-0.12` with `compat/lock_api-0.4`,
//! `compat/parking_lot-0.13` with `compat/lock_api-0.5`).
//!
//! # Threads
//! [`capture`] and [`Validator::scope`] follow threads spawned through [`thread`] (a drop-in
//! for `std::thread`'s `spawn`, `Builder` and `scope`). Under nextest or `--test-threads=1` a
//! capture also adopts the unnamed threads that first lock while it is the only one running
//! (`std::thread::scope` threads included; `LOCKDEP_ADOPT_THREADS=1|0` forces it on or off);
//! see [`semantics`].
//!
//! # Features
//! `release-validation` (validate in release builds too: by default validation is compiled in
//! with debug assertions and out without them; `--cfg lockdep_disabled` compiles it out
//! anywhere), `serde` (the locks
//! serialize under the lock and deserialize, as parking_lot's), `send_guard` (`Send` guards, as
//! parking_lot's; see [Guards](#guards)), `trace-reader`, `tracing-layer`, `portable-layout`
//! (the four-word per-lock state on every target, for a program that maps memory above 2^48 on
//! purpose: see [`LockMap`]).
//!
//! # When to use it
//! In tests and debug builds of any program that holds more than one lock at a time: lock-order
//! inversions, recursive locking, sleeping locks inside spin locks and initialisation cycles
//! are reported the first time the code path runs, whatever the thread timing, with the chain
//! that makes the deadlock possible. It is not a replacement for a deadlock *detector* (which
//! finds threads that are stuck), nor a race detector.
//!
//! Debug builds compile the lockdep crate at opt-level 0 like every dependency, and then a pair
//! of nested validated locks costs about seven times parking_lot's; for lock-heavy tests, have
//! Cargo optimise lockdep (and parking_lot) in the dev profile, which brings it to about twice:
//!
//! ```toml
//! [profile.dev.package.lockdep]
//! opt-level = 3
//! [profile.dev.package.parking_lot_core]
//! opt-level = 3
//! ```
//!
//! # Limitations
//! - Classes are approximations, as in the kernel: locks built at one site share a class, so a
//!   helper that builds unrelated locks conflates them (reports name both sites; `with_name`,
//!   [`ClassKey`] and `lock_nested` separate them). A cycle between objects that can never be
//!   held together is still reported, as the kernel's would be.
//! - Only what runs is validated: an order on a code path the tests never take is not seen.
//! - Threads join a [`capture`] only through [`thread`] or [`Validator::scope`]; stable Rust has
//!   no hook on thread creation.
//! - Limits (`LOCKDEP_MAX_*`) bound memory; past one, part of the validation stops with one
//!   report naming the variable.
//! - The `lockcheck` command replays recorded traces (`LOCKDEP_TRACE`) and reads kernel logs.

#![warn(missing_docs)]

#[cfg(not(lockdep_off))]
mod adoption;
mod chain;
mod class;
mod condvar;
mod config;
mod exclusive;
mod fair_mutex;
mod graph;
pub mod graph_file;
mod hazard;
mod held;
mod mutex;
mod once;
mod policy;
mod recorder;
mod reentrant;
pub mod replay;
mod report;
mod runtime;
mod rwlock;
mod seqlock;
#[cfg(feature = "serde")]
mod serde_impls;
mod sink;
mod spinlock;
pub mod std;
mod sync;
mod tracing_sink;
// docs/semantics.md (through a link in the package, so docs.rs has it too); its examples run
// as doctests, which need validation compiled in.
#[cfg(not(lockdep_off))]
#[doc = include_str!("../guide/semantics.md")]
pub mod semantics {}
pub mod thread;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod trace;
mod validator;

/// The traits and generic types under every lock here, as parking_lot re-exports it.
pub use ::lock_api;
/// Whether a timed `Condvar` wait timed out.
pub use ::lock_api::WaitTimeoutResult;
/// Guards that own an `Arc` of their lock (`lock_arc`, `read_arc`, `write_arc`, ...), as
/// parking_lot's `arc_lock` feature re-exports them.
pub use ::lock_api::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
};
pub use class::{
    ClassId, ClassInfo, ClassKey, ClassOrigin, KeySource, LockKind, NotUserCode, Site,
};
pub use condvar::{Condvar, RawCondvar};
pub use config::Config;
pub use fair_mutex::{FairMutex, FairMutexGuard, MappedFairMutexGuard, RawFairMutex};
pub use graph::{DepTypes, Witness};
pub use held::{Acquire, HeldLock, InstanceId, Mode, ThreadState};
pub use mutex::{
    AcquiredAt, BuiltAt, MappedMutexGuard, Mutex, MutexGuard, RawMutex, RawMutexGuard,
};
pub use once::{Once, OnceState};
pub use reentrant::{MappedReentrantMutexGuard, RawThreadId, ReentrantMutex, ReentrantMutexGuard};
pub use report::{ChainLink, ClassNote, LimitInfo, LockRef, Report, ReportKind, ThreadRef};
#[cfg(feature = "send_guard")]
pub use runtime::hand_off;
pub use runtime::{
    LockMap, Lockable, assert_held, assert_not_held, capture, capture_with, class_name,
    current_validator, enabled, global, is_held, might_sleep, non_blocking, set_enabled,
};
pub use rwlock::{
    Held, MappedRecursiveRwLockReadGuard, MappedRecursiveRwLockWriteGuard, MappedRwLockReadGuard,
    MappedRwLockWriteGuard, RawRwLock, RawRwLockRecursive, RecursiveRwLock,
    RecursiveRwLockReadGuard, RecursiveRwLockUpgradableReadGuard, RecursiveRwLockWriteGuard,
    RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
};
pub use seqlock::{
    SEQLOCK_LOCK_PART, SeqCount, SeqCountWriteGuard, SeqLock, SeqLockReadGuard, SeqLockWriteGuard,
};
pub use sink::OnReport;
pub use spinlock::{MappedSpinLockGuard, RawSpinLock, RawSpinLockGuard, SpinLock, SpinLockGuard};
#[cfg(feature = "tracing-layer")]
pub use tracing_sink::TraceFileLayer;
pub use tracing_sink::{EVENT_TARGET, REPORT_TARGET};
pub use validator::Validator;

/// The lock-free parts on their own, for the loom model (`tests/loom.rs`): built only under
/// `--cfg loom`, where their atomics are loom's.
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_model {
    pub use crate::chain::{ChainCache, Inserted};
    pub use crate::seqlock::SeqCounter;
}
