//! Validated async locks: tokio's [`Mutex`] and [`RwLock`] (feature `tokio`), with held locks
//! that follow the task (docs/async.md).
//!
//! Change `use tokio::sync::{Mutex, RwLock}` to `use lockdep::tokio::{Mutex, RwLock}`: the API is
//! tokio's, over `tokio::sync` underneath. Every acquisition is validated at the first poll of
//! `lock()` / `read()` / `write()`, before it waits, so a cycle is reported before it hangs.
//!
//! A task wrapped by [`track`] (or spawned with [`spawn`]) has a held-lock stack of its own,
//! swapped into the running thread for each poll: the locks it holds across an `.await` follow
//! it to whichever worker thread polls it next, and the async and blocking locks it takes form
//! edges in one graph. Outside a tracked task, async locks taken in a plain `tokio::spawn`ed
//! task are held by that task (keyed by its tokio task id, ordered among async locks only), and
//! those taken outside any task (`block_on`, `spawn_blocking`) belong to the thread.
//!
//! ```
//! use lockdep::tokio::Mutex;
//! use lockdep::ReportKind;
//! use std::sync::Arc;
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let reports = rt.block_on(lockdep::tokio::capture_async(async {
//!     let a = Arc::new(Mutex::with_name("a", 0));
//!     let b = Arc::new(Mutex::with_name("b", 0));
//!     let (a2, b2) = (a.clone(), b.clone());
//!     lockdep::tokio::spawn(async move {
//!         let _a = a2.lock().await;
//!         let _b = b2.lock().await;
//!     })
//!     .await
//!     .unwrap();
//!     let _b = b.lock().await;
//!     let _a = a.lock().await; // b -> a closes the cycle: reported, though nothing hangs
//! }));
//! assert_eq!(reports.len(), 1);
//! assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
//! ```

mod mutex;
mod once_cell;
mod rwlock;

/// tokio's error of a failed `try_lock`, `try_read`, `try_write` (and their `_owned` forms),
/// re-exported: `use tokio::sync::{Mutex, TryLockError}` switches in one line.
pub use ::tokio::sync::TryLockError;
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::class::LockKind;
use crate::hazard;
use crate::held::{Acquire, InstanceId, ThreadState};
use crate::report::{Report, ReportKind};
use crate::runtime::{self, Detached, LockMap, Request};
use crate::validator::Validator;

pub use crate::hazard::{Hazard, hazard_enabled, set_hazard};

// ----- which locks are async -----

/// An async lock's instance id: its `LockMap`'s address with the low bit set (every lock's
/// address is even), so a held-lock stack tells its async locks from its blocking ones.
#[inline(always)]
fn async_instance(map: &LockMap) -> usize {
    std::ptr::from_ref(map).addr() | 1
}

pub(crate) fn is_async(instance: InstanceId) -> bool {
    instance.0 & 1 == 1
}

/// The await hazard at an async lock's acquisition: the topmost blocking lock held. Depends on
/// the chain only (which classes are async is fixed by their locks), as the steady state needs.
fn check_async_acquire(v: &Validator, thread: &ThreadState, a: &Acquire) -> Option<Report> {
    if !hazard_enabled(Hazard::AwaitHoldingLock) {
        return None;
    }
    let i = hazard::await_hazard(thread, false, is_async)?;
    v.hazard_report(ReportKind::AwaitHoldingLock, thread, Some(a), i)
}

/// The await hazard at a `Pending` poll: the topmost blocking lock the task holds. A trace
/// records the poll (`await`), so replay checks it the same way.
fn check_pending(d: &mut Detached) {
    if !hazard_enabled(Hazard::AwaitHoldingLock) || runtime::switch().is_none() {
        return;
    }
    let Some(i) = hazard::await_hazard(&d.state, true, is_async) else {
        return;
    };
    d.validator
        .record_thread(&mut d.state, "await", &crate::class::Site::Unknown);
    if let Some(r) = d
        .validator
        .hazard_report(ReportKind::AwaitHoldingLock, &d.state, None, i)
    {
        d.validator.dispatch(vec![r]);
    }
}

/// The blocking hazard: a `blocking_*` acquisition inside a tracked task's poll, which holds an
/// async lock. Checked on every such call (it depends on the context, not only the chain);
/// false when the rule does not apply here.
fn check_blocking(req: &Request<'_>) -> bool {
    if IN_TASK.with(Cell::get) == 0 || !hazard_enabled(Hazard::BlockingHoldingAsyncLock) {
        return false;
    }
    runtime::inspect_current(|v, thread| {
        let Some(i) = hazard::blocking_hazard(thread, is_async) else {
            return ((), Vec::new());
        };
        let Some(class) = runtime::class_for(req, v) else {
            return ((), Vec::new());
        };
        let a = Acquire {
            class,
            instance: InstanceId(req.instance as u64),
            mode: req.mode,
            trylock: false,
            nest_lock: None,
            kind: req.kind,
            site: req
                .site
                .map_or(crate::class::Site::Unknown, crate::class::Site::Code),
        };
        let r = v.hazard_report(ReportKind::BlockingHoldingAsyncLock, thread, Some(&a), i);
        ((), r.into_iter().collect())
    });
    true
}

// ----- who holds an async lock -----

thread_local! {
    // The number of the tracked task whose stack this thread runs on (0: none).
    static IN_TASK: Cell<u64> = const { Cell::new(0) };
}

/// The stacks of untracked tokio tasks that took async locks, by tokio task id.
static UNTRACKED: parking_lot::Mutex<Option<HashMap<::tokio::task::Id, Box<Detached>>>> =
    parking_lot::Mutex::new(None);

/// Untracked tasks' stacks kept while they hold nothing (so a task that locks again reuses its
/// stack): beyond this many stacks in the table, the empty ones are dropped.
const UNTRACKED_KEEP: usize = 1024;

/// Runs `f` with the held-lock stack of the untracked tokio task `id` entered (made for it if
/// it has none). Tokio never reuses a task id, so a stack is never another task's.
fn in_untracked<R>(id: ::tokio::task::Id, f: impl FnOnce(u64) -> R) -> R {
    let existing = UNTRACKED.lock().as_mut().and_then(|t| t.remove(&id));
    let d = existing.unwrap_or_else(|| {
        Box::new(Detached::new(runtime::current(), |_| {
            format!("task-{id}").into()
        }))
    });
    let stack = d.id();
    /// Puts the thread's stack back and the task's into the table, also when `f` or a report
    /// unwinds: the task lives on, holding what it holds (dropped, its stack would be lost
    /// and its guards' releases posted to a stack no one drains).
    struct Leave {
        d: Option<Box<Detached>>,
        entered: bool,
        id: ::tokio::task::Id,
    }
    impl Drop for Leave {
        fn drop(&mut self) {
            if let Some(mut d) = self.d.take() {
                if self.entered {
                    runtime::leave_detached(&mut d);
                }
                keep_untracked(self.id, d);
            }
        }
    }
    let mut leave = Leave {
        d: Some(d),
        entered: false,
        id,
    };
    let entered = leave.d.as_deref_mut().and_then(runtime::enter_detached);
    leave.entered = entered.is_some();
    // Once leaving is armed: a report that unwinds must not leave the task's stack here.
    if let Some(reports) = entered {
        reports.dispatch();
    }
    let r = f(stack);
    drop(leave);
    r
}

/// Keeps the untracked task `id`'s stack `d` in the table; beyond [`UNTRACKED_KEEP`] stacks,
/// the empty ones end.
fn keep_untracked(id: ::tokio::task::Id, d: Box<Detached>) {
    let evicted: Vec<Box<Detached>> = {
        let mut table = UNTRACKED.lock();
        let table = table.get_or_insert_with(HashMap::new);
        table.insert(id, d);
        if table.len() > UNTRACKED_KEEP {
            let empty: Vec<_> = table
                .iter()
                .filter(|(_, d)| d.state.held.is_empty())
                .map(|(id, _)| *id)
                .collect();
            empty.iter().filter_map(|id| table.remove(id)).collect()
        } else {
            Vec::new()
        }
    };
    // An empty stack has nothing to report; its end is recorded in a trace.
    for d in evicted {
        d.finish(|_| true);
    }
}

/// The stack of the untracked task `id`, if it has one.
fn untracked_stack(id: ::tokio::task::Id) -> Option<u64> {
    UNTRACKED.lock().as_ref()?.get(&id).map(|d| d.id())
}

/// Validates an async lock's acquisition on the stack that will hold it, and returns that
/// stack's number (the guard's holder).
#[inline(always)]
fn acquire(req: Request<'_>) -> u64 {
    let task = IN_TASK.with(Cell::get);
    if task != 0 {
        runtime::before_lock_checked(req, check_async_acquire);
        return task;
    }
    acquire_outside(req)
}

#[cold]
#[inline(never)]
fn acquire_outside(req: Request<'_>) -> u64 {
    if runtime::switch().is_none() {
        return 0;
    }
    match ::tokio::task::try_id() {
        Some(id) => in_untracked(id, |stack| {
            runtime::before_lock_checked(req, check_async_acquire);
            stack
        }),
        None => {
            runtime::before_lock_checked(req, check_async_acquire);
            runtime::thread_id()
        }
    }
}

/// A `blocking_*` acquisition: the blocking hazard, then validation on the stack that will
/// hold it (a tracked task's inside its poll, otherwise the thread's).
fn acquire_blocking(req: Request<'_>) -> u64 {
    if runtime::switch().is_none() {
        return 0;
    }
    if check_blocking(&req) {
        // Noted in a trace, so replay checks the rule too.
        runtime::before_lock_blocking(req);
    } else {
        runtime::before_lock(req);
    }
    match IN_TASK.with(Cell::get) {
        0 => runtime::thread_id(),
        task => task,
    }
}

/// A successful `try_*` acquisition, recorded on the stack that holds it: that stack, and the
/// reports to dispatch once the guard exists (so that one that unwinds releases it).
fn acquire_try(req: Request<'_>) -> (u64, runtime::Pending) {
    let task = IN_TASK.with(Cell::get);
    if task != 0 {
        return (task, runtime::after_trylock(req));
    }
    if runtime::switch().is_none() {
        return (0, runtime::Pending::NONE);
    }
    match ::tokio::task::try_id() {
        Some(id) => in_untracked(id, |stack| (stack, runtime::after_trylock(req))),
        None => (runtime::thread_id(), runtime::after_trylock(req)),
    }
}

/// Releases an async lock's acquisition from the stack `holder` that took it: directly when it
/// is the current one, otherwise posted to it (a guard moved to another task or thread).
#[inline(always)]
fn release(map: &LockMap, instance: usize, kind: LockKind, holder: u64) {
    if holder == 0 {
        // Taken while validation was off (or compiled out): nothing was recorded.
        return;
    }
    let task = IN_TASK.with(Cell::get);
    if task != 0 && task == holder {
        runtime::on_release(map, instance, kind);
    } else {
        release_outside(map, instance, kind, holder);
    }
}

#[cold]
#[inline(never)]
fn release_outside(map: &LockMap, instance: usize, kind: LockKind, holder: u64) {
    if runtime::switch().is_none() {
        return;
    }
    if IN_TASK.with(Cell::get) == 0 {
        if let Some(id) = ::tokio::task::try_id() {
            if untracked_stack(id) == Some(holder) {
                in_untracked(id, |_| runtime::on_release(map, instance, kind));
                return;
            }
        } else if runtime::thread_id() == holder {
            runtime::on_release(map, instance, kind);
            return;
        }
    }
    runtime::post_release(holder, instance);
}

/// Whether the stack `holder` is the current one (for a mode change, which is not posted).
fn holder_is_current(holder: u64) -> bool {
    match IN_TASK.with(Cell::get) {
        0 => ::tokio::task::try_id().is_none() && runtime::thread_id() == holder,
        task => task == holder,
    }
}

/// Cancels an acquisition whose future was dropped before it got the lock.
struct Acquiring<'a> {
    map: &'a LockMap,
    instance: usize,
    kind: LockKind,
    holder: u64,
}

impl Acquiring<'_> {
    fn done(self) -> u64 {
        let holder = self.holder;
        std::mem::forget(self);
        holder
    }
}

impl Drop for Acquiring<'_> {
    fn drop(&mut self) {
        release(self.map, self.instance, self.kind, self.holder);
    }
}

// ----- tracked tasks -----

/// A future whose locks are held by its task: see [`track`].
#[must_use = "futures do nothing unless polled"]
pub struct Tracked<F> {
    // Pinned with the wrapper (never moved out) and dropped in place by `Drop`.
    fut: ManuallyDrop<F>,
    // The validator to report to, until the first poll makes the stack.
    validator: Option<Validator>,
    // The task's held-lock stack between polls.
    stack: Option<Detached>,
    done: bool,
}

/// Makes `fut` a tracked task: the locks taken while it is polled are held by it, wherever it
/// runs, in the validator current where `track` is called. Wrap each task you spawn with
/// another spawner (or use [`spawn`]); a tracked future polled inside another tracked one is a
/// task of its own.
pub fn track<F: Future>(fut: F) -> Tracked<F> {
    Tracked {
        fut: ManuallyDrop::new(fut),
        validator: Some(runtime::current()),
        stack: None,
        done: false,
    }
}

/// `tokio::spawn` of a [`track`]ed future: the task holds its own locks and reports to the
/// spawner's validator (a [`capture_async`] included).
#[track_caller]
pub fn spawn<F>(fut: F) -> ::tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    ::tokio::spawn(track(fut))
}

/// Runs `fut` as a tracked task against a private validator that collects reports, and returns
/// them, as [`capture`](crate::capture) does for a closure: for `#[tokio::test]` (either
/// flavour). Tasks it spawns with [`spawn`] report to it too; await them before it returns.
pub async fn capture_async<F: Future<Output = ()>>(fut: F) -> Vec<Report> {
    let Some(v) = runtime::capture_validator() else {
        fut.await;
        return Vec::new();
    };
    Tracked {
        fut: ManuallyDrop::new(fut),
        validator: Some(v.clone()),
        stack: None,
        done: false,
    }
    .await;
    v.take_reports()
}

/// Makes a task's stack current on this thread for one poll (or its drop): made from
/// `validator` at the first one.
fn enter<'a>(validator: &mut Option<Validator>, stack: &'a mut Option<Detached>) -> Entered<'a> {
    if runtime::switch().is_none() {
        return Entered {
            stack,
            previous: None,
        };
    }
    if stack.is_none()
        && let Some(v) = validator.take()
    {
        *stack = Some(Detached::new(v, |n| match ::tokio::task::try_id() {
            Some(id) => format!("task-{id}").into(),
            None => format!("tracked-{n}").into(),
        }));
    }
    let (previous, reports) = match stack.as_mut().map(|d| (runtime::enter_detached(d), d.id())) {
        Some((Some(reports), id)) => (Some(IN_TASK.with(|t| t.replace(id))), reports),
        _ => (None, runtime::Pending::NONE),
    };
    let entered = Entered { stack, previous };
    // Once leaving is armed: a report that unwinds must not leave the task's stack here.
    reports.dispatch();
    entered
}

/// The task's stack is current: leaving (also when the poll unwinds) takes it back.
struct Entered<'a> {
    stack: &'a mut Option<Detached>,
    // The task this thread ran before (`Some` when the stack was entered).
    previous: Option<u64>,
}

impl Entered<'_> {
    /// Takes the stack back; checks it for locks held across a `Pending` return.
    fn leave(mut self, pending: bool) {
        self.leave_now();
        if pending && let Some(d) = &mut *self.stack {
            check_pending(d);
        }
    }

    fn leave_now(&mut self) {
        if let Some(previous) = self.previous.take() {
            IN_TASK.with(|t| t.set(previous));
            if let Some(d) = self.stack {
                runtime::leave_detached(d);
            }
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.leave_now();
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out of the wrapper (only
        // dropped in place, by `Drop`), and the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "`Tracked` polled after completion");
        // SAFETY: as above, `fut` stays where it is until dropped in place.
        let fut = unsafe { Pin::new_unchecked(&mut *this.fut) };
        let e = enter(&mut this.validator, &mut this.stack);
        let result = fut.poll(cx);
        e.leave(result.is_pending());
        if result.is_ready() {
            this.done = true;
            if let Some(d) = this.stack.take() {
                d.finish(is_async);
            }
        }
        result
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        if self.done {
            // SAFETY: dropped once, here; never used again.
            unsafe { ManuallyDrop::drop(&mut self.fut) };
            return;
        }
        // The guards the future still holds are released on its own stack.
        let e = enter(&mut self.validator, &mut self.stack);
        // SAFETY: dropped once, in place (it is pinned), and never used again.
        unsafe { ManuallyDrop::drop(&mut self.fut) };
        e.leave(false);
        if let Some(d) = self.stack.take() {
            d.finish(is_async);
        }
    }
}

impl<F> std::fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("task", &self.stack.as_ref().map(|d| d.state.name.clone()))
            .finish_non_exhaustive()
    }
}

/// The class and instance an async lock reports as, shared by [`Mutex`] and [`RwLock`].
fn request<'a>(
    map: &'a LockMap,
    kind: LockKind,
    mode: crate::held::Mode,
    site: &'static std::panic::Location<'static>,
) -> Request<'a> {
    Request {
        map,
        instance: async_instance(map),
        kind,
        mode,
        subclass: 0,
        nest_lock: None,
        site: Some(site),
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;

    use crate::{Config, OnReport, Report, Validator};

    /// A plain-spawned task holds `x`, `a`, `b`; `a`'s guard is dropped on another thread, and
    /// the task's next acquisition drains that release: `b`'s re-validation above `x` is an edge
    /// over the limit of two, reported to a callback that panics. The task catches it and lives
    /// on, holding `x` and `b`: its stack must still be in the table.
    #[test]
    fn an_untracked_tasks_stack_outlives_a_report_that_unwinds() {
        let callback = |r: &Report| {
            if !std::thread::panicking() {
                panic!("reported: {}", r.title());
            }
        };
        let config = Config {
            max_edges: 2,
            ..Config::default()
        };
        let v = Validator::with_on_report(config, OnReport::Callback(Arc::new(callback)));
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (x, a, b, c) = (
            Arc::new(super::Mutex::with_name("x", ())),
            Arc::new(super::Mutex::with_name("a", ())),
            Arc::new(super::Mutex::with_name("b", ())),
            Arc::new(super::Mutex::with_name("c", ())),
        );
        v.scope(|| {
            rt.block_on(async {
                ::tokio::spawn(async move {
                    let gx = x.lock().await;
                    let ga = a.lock_owned().await;
                    let gb = b.lock().await;
                    std::thread::spawn(move || drop(ga)).join().unwrap();
                    let id = ::tokio::task::id();
                    let before = super::untracked_stack(id);
                    assert!(before.is_some());
                    let unwound = catch_unwind(AssertUnwindSafe(|| drop(c.try_lock())));
                    assert!(unwound.is_err(), "the drained report unwinds");
                    assert_eq!(
                        super::untracked_stack(id),
                        before,
                        "the task's stack was lost"
                    );
                    drop((gb, gx));
                })
                .await
                .unwrap();
            })
        });
    }
}
