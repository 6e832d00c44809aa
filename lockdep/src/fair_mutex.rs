//! `FairMutex`: parking_lot's always-fair mutex (every unlock hands the lock to the next waiter)
//! with lockdep validation. Validation is the [`Mutex`](crate::Mutex)'s: fairness changes who
//! gets the lock next, not which orders can deadlock.

use std::panic::Location;
use std::time::{Duration, Instant};

use crate::class::{ClassKey, LockKind};
use crate::held::InstanceId;
use crate::mutex::{RawMutex, RawMutexGuard};
use crate::runtime::{self, LockMap, Lockable, private::Sealed};

/// The raw lock under [`FairMutex`]: [`RawMutex`] whose unlocks are all fair.
pub struct RawFairMutex(RawMutex);

impl RawFairMutex {
    #[inline(always)]
    pub(crate) const fn with_map(map: LockMap) -> Self {
        RawFairMutex(RawMutex::with_map(map))
    }

    #[inline(always)]
    pub(crate) fn lock_map_ref(&self) -> &LockMap {
        self.0.lock_map_ref()
    }

    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self.0.id()
    }

    /// For crates that wrap this raw lock (the parking_lot compat crates), from their
    /// `into_inner`: the lock is being consumed; if this thread still holds it (a guard forgotten, a raw
    /// acquisition never released), its acquisitions leave the thread's held locks.
    #[doc(hidden)]
    #[inline]
    pub fn consumed(&self) {
        self.0.consumed()
    }

    /// For crates that wrap this raw lock (the parking_lot compat crates), when their caller
    /// takes the raw lock (`raw()`) at `at`: sets its class now, from what they publish
    /// ([`BuiltAt`](crate::BuiltAt)), as its acquisitions through the raw lock publish nothing.
    #[doc(hidden)]
    #[inline]
    pub fn bind(&self, at: &'static Location<'static>) {
        self.0.bind(at);
    }

    /// For crates that wrap this raw lock: whether [`bind`](Self::bind) has anything to do
    /// (validation on and the class not set yet), checked before they publish anything.
    #[doc(hidden)]
    #[inline]
    pub fn needs_bind(&self) -> bool {
        self.0.needs_bind()
    }

    /// As [`RawMutex::release_unlocked`](crate::RawMutex::release_unlocked).
    ///
    /// # Safety
    /// As there.
    #[doc(hidden)]
    #[inline]
    pub unsafe fn release_unlocked(&self, guard: crate::RawMutexGuard) {
        // SAFETY: forwarded.
        unsafe { self.0.release_unlocked(guard) }
    }

    #[inline(always)]
    pub(crate) fn lock_at(
        &self,
        subclass: u32,
        nest_lock: Option<InstanceId>,
        site: Option<&'static Location<'static>>,
    ) -> RawMutexGuard {
        self.0.lock_at(subclass, nest_lock, site)
    }

    #[inline(always)]
    pub(crate) fn try_lock_at(
        &self,
        site: Option<&'static Location<'static>>,
    ) -> Option<(RawMutexGuard, runtime::Pending)> {
        self.0.try_lock_at(site)
    }
}

// SAFETY: every operation is the inner `RawMutex`'s (itself parking_lot's raw mutex plus the
// hooks); `unlock` is its fair unlock.
unsafe impl lock_api::RawMutex for RawFairMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawFairMutex(<RawMutex as lock_api::RawMutex>::INIT);
    type Guard = RawMutexGuard;

    #[inline(always)]
    #[track_caller]
    fn lock(&self) -> RawMutexGuard {
        lock_api::RawMutex::lock(&self.0)
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock(&self) -> Option<RawMutexGuard> {
        lock_api::RawMutex::try_lock(&self.0)
    }

    #[inline(always)]
    unsafe fn unlock(&self, guard: RawMutexGuard) {
        // SAFETY: the caller passes the state of an acquisition of this mutex.
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.0, guard) }
    }

    #[inline(always)]
    fn is_locked(&self) -> bool {
        lock_api::RawMutex::is_locked(&self.0)
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexFair for RawFairMutex {
    #[inline(always)]
    unsafe fn unlock_fair(&self, guard: RawMutexGuard) {
        // SAFETY: the caller passes the state of an acquisition of this mutex.
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.0, guard) }
    }

    unsafe fn bump(&self, guard: &mut RawMutexGuard) {
        // SAFETY: the caller passes the state of an acquisition of this mutex.
        unsafe { lock_api::RawMutexFair::bump(&self.0, guard) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexTimed for RawFairMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> Option<RawMutexGuard> {
        lock_api::RawMutexTimed::try_lock_for(&self.0, timeout)
    }

    #[track_caller]
    fn try_lock_until(&self, timeout: Instant) -> Option<RawMutexGuard> {
        lock_api::RawMutexTimed::try_lock_until(&self.0, timeout)
    }
}

/// A guard of a [`FairMutex`]; its unlock is fair.
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A guard of part of a [`FairMutex`]'s data.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

crate::exclusive::exclusive_lock! {
/// parking_lot's `FairMutex` with lockdep validation: a mutex whose every unlock is fair.
///
/// ```
/// use lockdep::{FairMutex, FairMutexGuard};
///
/// let m = FairMutex::new(1);
/// let mut g = m.lock();
/// *g += 1;
/// FairMutexGuard::unlock_fair(g);
/// assert_eq!(*m.lock(), 2);
/// ```
    name: FairMutex,
    raw: RawFairMutex,
    raw_guard: RawMutexGuard,
    guard: FairMutexGuard,
    kind: LockKind::Mutex,
    what: "fair mutex",
    nested_fn: "mutex_lock_nested",
    nest_lock_fn: "mutex_lock_nest_lock",
    lock_doc: "Acquires the mutex, validating the order first: a would-be deadlock is reported before this thread blocks.",
    try_lock_doc: "Takes the mutex if it is free. A trylock cannot deadlock, so no dependency ends in it, but locks taken while holding it depend on it.",
}

impl<T: ?Sized> FairMutex<T> {
    /// Waits at most `timeout` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<FairMutexGuard<'_, T>> {
        self.inner.try_lock_for(timeout)
    }

    /// Waits until `deadline` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<FairMutexGuard<'_, T>> {
        self.inner.try_lock_until(deadline)
    }

    /// [`try_lock_for`](Self::try_lock_for) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_for(
        self: &std::sync::Arc<Self>,
        timeout: Duration,
    ) -> Option<lock_api::ArcMutexGuard<RawFairMutex, T>> {
        Self::arc_inner(self).try_lock_arc_for(timeout)
    }

    /// [`try_lock_until`](Self::try_lock_until) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_until(
        self: &std::sync::Arc<Self>,
        deadline: Instant,
    ) -> Option<lock_api::ArcMutexGuard<RawFairMutex, T>> {
        Self::arc_inner(self).try_lock_arc_until(deadline)
    }
}
