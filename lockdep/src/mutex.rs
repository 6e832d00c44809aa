//! `Mutex`: parking_lot's mutex with every acquisition validated.

use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::Location;
use std::time::{Duration, Instant};

use lock_api::{RawMutex as _, RawMutexTimed as _};

use crate::class::{ClassKey, LockKind};
use crate::held::{InstanceId, Mode};
use crate::runtime::{
    self, GuardMarker, LockMap, Lockable, Owner, Request, ZeroPad, private::Sealed,
};

type Inner = parking_lot::RawMutex;

thread_local! {
    // The user's site of an acquisition that reaches the raw lock through a layer that does not
    // pass its caller on (lock_api's reentrant mutex): set by `at_site` around that call.
    static CALLER_SITE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

thread_local! {
    // The construction site and data type of the raw-built lock being acquired, when the code
    // that built it knows them (the lock_api forks under the parking_lot compat crates): set by
    // `BuiltAt`.
    static BUILT_SITE: Cell<Option<Built>> = const { Cell::new(None) };
}

/// Where a raw-built lock was built (if its builder knows) and the type of its data
/// (`std::any::type_name`).
type Built = (Option<&'static Location<'static>>, &'static str);

/// The construction site and data type of a lock built over a raw lock of this crate by code
/// that records them (the lock_api forks of the parking_lot compat crates): while it lives, the
/// first acquisition of a raw-built lock on this thread keys the lock's class by that site and
/// type, as a lock of this crate built there (one class per line and type), instead of by the
/// site of its first acquisition. A site in std or in lock_api itself is ignored.
#[must_use = "the site is published only while the value lives"]
pub struct BuiltAt(Option<Built>);

impl BuiltAt {
    /// Publishes `built` (nothing, if `None`) until the value is dropped.
    #[inline(always)]
    pub fn enter(built: Option<(&'static Location<'static>, &'static str)>) -> BuiltAt {
        Self::publish(built.map(|(site, ty)| (Some(site), ty)))
    }

    /// Publishes the data type alone, for a lock built where no site was recorded (lock_api's
    /// `Default` and `From`): its class is where it is first taken and this type, so locks of
    /// different types first taken at one line (a generic helper) stay apart.
    #[inline(always)]
    pub fn of_type(type_name: &'static str) -> BuiltAt {
        Self::publish(Some((None, type_name)))
    }

    #[inline(always)]
    fn publish(built: Option<Built>) -> BuiltAt {
        BuiltAt(BUILT_SITE.try_with(|c| c.replace(built)).ok().flatten())
    }
}

/// The site an acquisition through this crate's raw locks records, for code that takes them
/// on its caller's behalf from a line of its own (a lock_api `ReentrantMutex`'s closure, a
/// `Condvar` wait re-taking its mutex): while the value lives, the raw locks' trait methods and
/// a condvar's re-acquisition on this thread record `site` instead of their own caller.
#[must_use = "the site is published only while the value lives"]
pub struct AcquiredAt(Option<&'static Location<'static>>);

impl AcquiredAt {
    /// Publishes `site` (nothing, if `None`: the current one stays) until the value is dropped.
    #[inline(always)]
    pub fn enter(site: Option<&'static Location<'static>>) -> AcquiredAt {
        let current = CALLER_SITE.try_with(Cell::get).ok().flatten();
        if let Some(site) = site {
            let _ = CALLER_SITE.try_with(|c| c.set(Some(site)));
        }
        AcquiredAt(current)
    }
}

impl Drop for AcquiredAt {
    #[inline(always)]
    fn drop(&mut self) {
        let _ = CALLER_SITE.try_with(|c| c.set(self.0));
    }
}

impl Drop for BuiltAt {
    #[inline(always)]
    fn drop(&mut self) {
        let _ = BUILT_SITE.try_with(|c| c.set(self.0));
    }
}

/// The construction site a [`BuiltAt`] publishes on this thread.
#[cfg_attr(lockdep_off, allow(dead_code))]
pub(crate) fn raw_built_site() -> Option<Built> {
    BUILT_SITE.try_with(Cell::get).ok().flatten()
}

/// Runs `f` with `site` as the site the raw lock's trait methods record.
pub(crate) fn at_site<R>(site: &'static Location<'static>, f: impl FnOnce() -> R) -> R {
    let _at = AcquiredAt::enter(Some(site));
    f()
}

/// The site an [`AcquiredAt`] publishes on this thread.
fn published_site() -> Option<&'static Location<'static>> {
    CALLER_SITE.try_with(Cell::get).ok().flatten()
}

/// The site a raw trait method records: the one `at_site` set, or its caller's.
#[inline(always)]
fn raw_site(caller: &'static Location<'static>) -> Option<&'static Location<'static>> {
    Some(published_site().unwrap_or(caller))
}
type InnerGuard = <Inner as lock_api::RawMutex>::Guard;

/// Proof that a thread holds a [`RawMutex`]; not `Send`, since the held-lock stack is per thread
/// (`Send` under the feature `send_guard`, which records the acquiring thread in it), but `Sync`,
/// so a [`MutexGuard`] of a `Sync` value can be shared by reference, as parking_lot's.
pub struct RawMutexGuard {
    inner: InnerGuard,
    owner: Owner,
    _marker: GuardMarker,
}

// SAFETY: a shared reference to the proof allows nothing: every use of it (unlocking, bumping)
// takes it by value or by `&mut`, on the thread that owns it.
unsafe impl Sync for RawMutexGuard {}

impl RawMutexGuard {
    #[inline(always)]
    fn new(inner: InnerGuard) -> Self {
        RawMutexGuard {
            inner,
            owner: Owner::current(),
            _marker: PhantomData,
        }
    }

    /// The proof of an acquisition of a [`RawMutex`] that the current thread holds, for raw-lock
    /// interfaces whose unlock takes no guard value (`lock_api` 0.4's, under the parking_lot 0.12
    /// compat crate): its owner is the current thread.
    ///
    /// # Safety
    /// The current thread must hold the mutex it is passed to, through an acquisition whose
    /// guard value was dropped with `mem::forget`; it stands for that acquisition.
    #[inline(always)]
    pub unsafe fn assume_held() -> Self {
        RawMutexGuard::new(InnerGuard::default())
    }

    /// The thread that took this acquisition, as a number to keep where a guard value cannot
    /// be kept (lock_api 0.4's guards, under the parking_lot 0.12 compat crate), so that a guard
    /// released on another thread (feature `send_guard`) is released on the owner's held-lock
    /// stack: give it back to [`assume_held_by`](Self::assume_held_by). 0 without `send_guard`.
    #[inline(always)]
    pub fn owner_token(&self) -> u64 {
        self.owner.token()
    }

    /// [`assume_held`](Self::assume_held) for the acquisition of the thread `token` names
    /// ([`owner_token`](Self::owner_token); 0: the current thread).
    ///
    /// # Safety
    /// As [`assume_held`](Self::assume_held), but the acquisition is the one `token` came from,
    /// which may be another thread's (its guard sent here under `send_guard`).
    #[inline(always)]
    pub unsafe fn assume_held_by(token: u64) -> Self {
        RawMutexGuard {
            inner: InnerGuard::default(),
            owner: Owner::from_token(token),
            _marker: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn inner_mut(&mut self) -> &mut InnerGuard {
        &mut self.inner
    }

    /// Records that the current thread now holds the acquisition (a condvar wait re-took it).
    #[inline(always)]
    pub(crate) fn now_owned_here(&mut self) {
        self.owner = Owner::current();
    }
}

/// The raw lock under [`Mutex`]: parking_lot's raw mutex plus the lockdep hooks, so every
/// `lock_api` guard operation (`unlocked`, `bump`, `Condvar::wait`) is tracked too.
// In this order (`ZeroPad`): the raw lock's word last, next to the data of a lock_api mutex.
#[repr(C)]
pub struct RawMutex {
    pub(crate) map: LockMap,
    pub(crate) inner: Inner,
    _zero: ZeroPad,
}

impl RawMutex {
    #[inline(always)]
    pub(crate) const fn with_map(map: LockMap) -> Self {
        RawMutex {
            inner: <Inner as lock_api::RawMutex>::INIT,
            _zero: ZeroPad::NEW,
            map,
        }
    }

    #[inline(always)]
    pub(crate) fn lock_map_ref(&self) -> &LockMap {
        &self.map
    }

    /// For crates that wrap this raw lock (the parking_lot compat crates), from their
    /// `into_inner`: the lock is being consumed; if this thread still holds it (a guard forgotten, a raw
    /// acquisition never released), its acquisitions leave the thread's held locks.
    #[doc(hidden)]
    #[inline]
    pub fn consumed(&self) {
        if self.inner.is_locked() {
            runtime::on_consumed(&self.map, self.id(), LockKind::Mutex);
        }
    }

    /// For crates that wrap this raw lock (the parking_lot compat crates), when their caller
    /// takes the raw lock (`raw()`) at `at`: sets its class now, from what they publish
    /// ([`BuiltAt`](crate::BuiltAt)), as its acquisitions through the raw lock publish nothing.
    #[doc(hidden)]
    #[inline]
    pub fn bind(&self, at: &'static Location<'static>) {
        runtime::bind(&self.map, LockKind::Mutex, Some(at));
    }

    /// For crates that wrap this raw lock: whether [`bind`](Self::bind) has anything to do
    /// (validation on and the class not set yet), checked before they publish anything.
    #[doc(hidden)]
    #[inline]
    pub fn needs_bind(&self) -> bool {
        runtime::needs_bind(&self.map)
    }

    /// For the parking_lot 0.12 compat crate, whose guardless `unlock` may be called on a
    /// mutex nobody holds (0.12's compare-exchange ignores it): records the release, reported
    /// if it is a bad unlock, and leaves the lock word alone.
    ///
    /// # Safety
    /// `guard` stands for an acquisition of this mutex, as for `unlock`.
    #[doc(hidden)]
    #[inline]
    pub unsafe fn release_unlocked(&self, guard: RawMutexGuard) {
        runtime::on_release_by(&self.map, self.id(), LockKind::Mutex, guard.owner).dispatch();
    }

    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    fn request(
        &self,
        subclass: u32,
        nest_lock: Option<InstanceId>,
        site: Option<&'static Location<'static>>,
    ) -> Request<'_> {
        Request {
            map: &self.map,
            instance: self.id(),
            kind: LockKind::Mutex,
            mode: Mode::Write,
            subclass,
            nest_lock,
            site,
        }
    }

    #[inline(always)]
    pub(crate) fn lock_at(
        &self,
        subclass: u32,
        nest_lock: Option<InstanceId>,
        site: Option<&'static Location<'static>>,
    ) -> RawMutexGuard {
        runtime::before_lock(self.request(subclass, nest_lock, site));
        RawMutexGuard::new(self.inner.lock())
    }

    #[inline(always)]
    pub(crate) fn try_lock_at(
        &self,
        site: Option<&'static Location<'static>>,
    ) -> Option<(RawMutexGuard, runtime::Pending)> {
        let g = self.inner.try_lock()?;
        Some((
            RawMutexGuard::new(g),
            runtime::after_trylock(self.request(0, None, site)),
        ))
    }

    /// Timed attempts can block, so they are validated like a blocking lock; a timeout releases.
    fn timed(
        &self,
        site: Option<&'static Location<'static>>,
        attempt: impl FnOnce(&Inner) -> Option<InnerGuard>,
    ) -> Option<RawMutexGuard> {
        runtime::before_lock(self.request(0, None, site));
        match attempt(&self.inner) {
            Some(g) => Some(RawMutexGuard::new(g)),
            None => {
                runtime::on_release(&self.map, self.id(), LockKind::Mutex);
                None
            }
        }
    }

    /// Records that the lock was re-taken by someone else's code path (a condvar wake-up).
    #[inline(always)]
    pub(crate) fn record_reacquire(&self) {
        // The wait's site when its caller published it (`AcquiredAt`), else none is known.
        runtime::after_relock(self.request(0, None, published_site()));
    }

    /// Records the release of the acquisition `guard` stands for, on its owner's stack (a
    /// condvar wait, before it sleeps). The lock stays taken until the wait unlocks it: if a
    /// report unwinds, the caller's guard releases it, so it is recorded as held again.
    #[inline(always)]
    pub(crate) fn release_hook(&self, guard: &RawMutexGuard) {
        runtime::on_release_by(&self.map, self.id(), LockKind::Mutex, guard.owner)
            .dispatch_or_undo(|| self.record_reacquire());
    }

    /// Records the release, `unlock`s the raw state, then reports (so a report in panic mode
    /// leaves the mutex unlocked). An unlock of a mutex nobody holds (a double unlock through
    /// the raw API, reported as a bad unlock) leaves the lock word alone: parking_lot 0.12
    /// ignores it, and subtracting from an unlocked word would leave a lock no one can take.
    #[inline(always)]
    fn release(&self, guard: RawMutexGuard, unlock: impl FnOnce(&Inner, InnerGuard)) {
        let reports = runtime::on_release_by(&self.map, self.id(), LockKind::Mutex, guard.owner);
        if !reports.has_reports() || self.inner.is_locked() {
            unlock(&self.inner, guard.inner);
        }
        reports.dispatch();
    }
}

// SAFETY: mutual exclusion, acquire/release ordering and guard-state handling are parking_lot's;
// the hooks only update this thread's bookkeeping and never touch the lock word.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawMutex::with_map(LockMap::raw_init());
    type Guard = RawMutexGuard;

    #[inline(always)]
    #[track_caller]
    fn lock(&self) -> RawMutexGuard {
        self.lock_at(0, None, raw_site(Location::caller()))
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock(&self) -> Option<RawMutexGuard> {
        let (g, pending) = self.try_lock_at(raw_site(Location::caller()))?;
        // SAFETY: `g` is the acquisition of this mutex just made.
        Some(pending.dispatch_or_undo(g, |g| unsafe { lock_api::RawMutex::unlock(self, g) }))
    }

    #[inline(always)]
    unsafe fn unlock(&self, guard: RawMutexGuard) {
        // SAFETY: the caller passes the state of an acquisition of this mutex.
        self.release(guard, |inner, g| unsafe { inner.unlock(g) });
    }

    #[inline(always)]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }
}

// SAFETY: as above; fairness is parking_lot's.
unsafe impl lock_api::RawMutexFair for RawMutex {
    #[inline(always)]
    unsafe fn unlock_fair(&self, guard: RawMutexGuard) {
        // SAFETY: the caller passes the state of an acquisition of this mutex.
        self.release(guard, |inner, g| unsafe { inner.unlock_fair(g) });
    }
}

// SAFETY: as above; timeouts are parking_lot's.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> Option<RawMutexGuard> {
        self.timed(raw_site(Location::caller()), |m| m.try_lock_for(timeout))
    }

    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> Option<RawMutexGuard> {
        self.timed(raw_site(Location::caller()), |m| m.try_lock_until(timeout))
    }
}

/// A guard of a [`Mutex`]; all of `lock_api`'s guard functions (`map`, `unlocked`, ...) work.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A guard of part of a [`Mutex`]'s data.
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

crate::exclusive::exclusive_lock! {
/// A mutual-exclusion lock, parking_lot's `Mutex` with lockdep validation.
///
/// Its class is its construction site unless named ([`with_name`](Self::with_name)) or keyed
/// ([`with_class`](Self::with_class)). `new` is `const`, so statics work and each is its own class.
///
/// ```
/// use lockdep::Mutex;
///
/// static COUNTER: Mutex<u64> = Mutex::new(0);
/// *COUNTER.lock() += 1;
/// assert_eq!(*COUNTER.lock(), 1);
/// ```
    name: Mutex,
    raw: RawMutex,
    raw_guard: RawMutexGuard,
    guard: MutexGuard,
    kind: LockKind::Mutex,
    what: "mutex",
    nested_fn: "mutex_lock_nested",
    nest_lock_fn: "mutex_lock_nest_lock",
    lock_doc: "Acquires the mutex, validating the order first: a would-be deadlock is reported before this thread blocks.",
    try_lock_doc: "Takes the mutex if it is free. A trylock cannot deadlock, so no dependency ends in it, but locks taken while holding it depend on it.",
}

impl<T: ?Sized> Mutex<T> {
    /// Waits at most `timeout` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        let g = self
            .raw_lock()
            .timed(Some(Location::caller()), |m| m.try_lock_for(timeout))?;
        // SAFETY: `g` was just acquired.
        Some(unsafe { self.guard(g) })
    }

    /// [`try_lock_for`](Self::try_lock_for) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_for(
        self: &std::sync::Arc<Self>,
        timeout: Duration,
    ) -> Option<lock_api::ArcMutexGuard<RawMutex, T>> {
        Self::arc_inner(self).try_lock_arc_for(timeout)
    }

    /// [`try_lock_until`](Self::try_lock_until) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_until(
        self: &std::sync::Arc<Self>,
        deadline: Instant,
    ) -> Option<lock_api::ArcMutexGuard<RawMutex, T>> {
        Self::arc_inner(self).try_lock_arc_until(deadline)
    }

    /// Waits until `deadline` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        let g = self
            .raw_lock()
            .timed(Some(Location::caller()), |m| m.try_lock_until(deadline))?;
        // SAFETY: `g` was just acquired.
        Some(unsafe { self.guard(g) })
    }
}
