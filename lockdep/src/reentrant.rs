//! `ReentrantMutex`: parking_lot's reentrant mutex with lockdep validation. The thread that holds
//! it may lock it again: that re-entry is legal and adds no dependency (lock_api's reentrant layer
//! does not take the raw lock again). Other threads' acquisitions are validated like a
//! [`Mutex`](crate::Mutex)'s.

use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::class::{ClassKey, LockKind};
use crate::mutex::{RawMutex, at_site};
use crate::runtime::{LockMap, Lockable, private::Sealed};

pub use parking_lot::RawThreadId;

type Inner<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;

/// A guard of a [`ReentrantMutex`] (shared access: another guard of this thread may exist).
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A guard of part of a [`ReentrantMutex`]'s data.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
type ArcGuard<T> = lock_api::ArcReentrantMutexGuard<RawMutex, RawThreadId, T>;

/// parking_lot's `ReentrantMutex` with lockdep validation: the holding thread may lock it again
/// (no report, no dependency), and other threads are ordered as for a [`Mutex`](crate::Mutex).
/// Its class is its construction site, as a `Mutex`'s.
///
/// ```
/// use lockdep::{Mutex, ReentrantMutex};
///
/// let reports = lockdep::capture(|| {
///     let log = ReentrantMutex::new(std::cell::RefCell::new(Vec::new()));
///     let other = Mutex::new(());
///     let outer = log.lock();
///     let _o = other.lock(); // log -> other
///     let inner = log.lock(); // re-entry: no `other -> log`, no recursive locking
///     inner.borrow_mut().push(1);
///     drop((inner, outer));
/// });
/// assert!(reports.is_empty());
/// ```
#[repr(transparent)]
pub struct ReentrantMutex<T: ?Sized> {
    inner: Inner<T>,
}

impl<T> ReentrantMutex<T> {
    pub(crate) const fn with_map(map: LockMap, val: T) -> Self {
        ReentrantMutex {
            inner: lock_api::ReentrantMutex::from_raw(RawMutex::with_map(map), RawThreadId, val),
        }
    }

    /// A reentrant mutex whose class is this call's site.
    #[track_caller]
    pub const fn new(val: T) -> Self {
        Self::with_map(
            LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            val,
        )
    }

    /// A reentrant mutex whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str, val: T) -> Self {
        Self::with_map(
            LockMap::spec(Location::caller(), Some(name), None)
                .of::<T>()
                .build(),
            val,
        )
    }

    /// A reentrant mutex of the class of `key`.
    #[track_caller]
    pub const fn with_class(key: &'static ClassKey, val: T) -> Self {
        Self::with_map(
            LockMap::spec(Location::caller(), None, Some(key))
                .of::<T>()
                .build(),
            val,
        )
    }

    /// Consumes the mutex and returns its data.
    /// A lock consumed while this thread still holds it (a guard forgotten, a raw acquisition
    /// never released) leaves the thread's held locks: it no longer exists.
    pub fn into_inner(self) -> T {
        if self.inner.is_locked() {
            let (map, id, kind) = Lockable::lock_map(&self);
            crate::runtime::on_consumed(map, id, kind);
        }
        self.inner.into_inner()
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    fn raw_lock(&self) -> &RawMutex {
        // SAFETY: only used to inspect the lock's class.
        unsafe { self.inner.raw() }
    }

    /// Acquires the mutex; the thread that holds it gets it again at once. The first
    /// acquisition is validated before this thread blocks.
    #[track_caller]
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        at_site(Location::caller(), || self.inner.lock())
    }

    /// Takes the mutex if it is free or held by this thread.
    #[track_caller]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        at_site(Location::caller(), || self.inner.try_lock())
    }

    /// Waits at most `timeout` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        at_site(Location::caller(), || self.inner.try_lock_for(timeout))
    }

    /// Waits until `deadline` for the mutex (validated like [`lock`](Self::lock)).
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        at_site(Location::caller(), || self.inner.try_lock_until(deadline))
    }

    /// The lock_api mutex behind an `Arc` of this one.
    fn arc_inner(this: &Arc<Self>) -> Arc<Inner<T>> {
        let ptr = Arc::into_raw(Arc::clone(this)) as *const Inner<T>;
        // SAFETY: `Self` is `repr(transparent)` over the lock_api mutex, so the pointer is to a
        // value of the same layout in the same `Arc` allocation.
        unsafe { Arc::from_raw(ptr) }
    }

    /// [`lock`](Self::lock) through an `Arc`: a guard without a lifetime.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcGuard<T> {
        at_site(Location::caller(), || Self::arc_inner(self).lock_arc())
    }

    /// [`try_lock`](Self::try_lock) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<ArcGuard<T>> {
        at_site(Location::caller(), || Self::arc_inner(self).try_lock_arc())
    }

    /// [`try_lock_for`](Self::try_lock_for) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_for(self: &Arc<Self>, timeout: Duration) -> Option<ArcGuard<T>> {
        at_site(Location::caller(), || {
            Self::arc_inner(self).try_lock_arc_for(timeout)
        })
    }

    /// [`try_lock_until`](Self::try_lock_until) through an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_until(self: &Arc<Self>, deadline: Instant) -> Option<ArcGuard<T>> {
        at_site(Location::caller(), || {
            Self::arc_inner(self).try_lock_arc_until(deadline)
        })
    }

    /// Whether any thread holds it now.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Whether this thread holds it.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.is_owned_by_current_thread()
    }

    /// The data, through exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A raw pointer to the data.
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Undoes one acquisition by this thread whose guard was forgotten; the last one is validated
    /// as a release.
    ///
    /// # Safety
    /// This thread must hold the mutex through a forgotten guard, as in parking_lot.
    #[track_caller]
    pub unsafe fn force_unlock(&self) {
        // SAFETY: the caller's guarantee.
        unsafe { self.inner.force_unlock() }
    }

    /// [`force_unlock`](Self::force_unlock) with a fair unlock.
    ///
    /// # Safety
    /// As [`force_unlock`](Self::force_unlock).
    #[track_caller]
    pub unsafe fn force_unlock_fair(&self) {
        // SAFETY: the caller's guarantee.
        unsafe { self.inner.force_unlock_fair() }
    }

    /// The raw lock under the reentrant layer.
    ///
    /// # Safety
    /// As parking_lot's: raw operations must keep the owner and count bookkeeping valid.
    pub unsafe fn raw(&self) -> &RawMutex {
        self.raw_lock()
    }
}

impl<T: Default> Default for ReentrantMutex<T> {
    /// A mutex of `T::default()`, its class set at its first acquisition (see
    /// [`ClassOrigin`](crate::ClassOrigin)).
    #[track_caller]
    fn default() -> Self {
        let map = LockMap::spec(Location::caller(), None, None)
            .of::<T>()
            .by_default()
            .build();
        Self::with_map(map, T::default())
    }
}

impl<T> From<T> for ReentrantMutex<T> {
    /// A mutex of `val` whose class is this call's site.
    #[track_caller]
    fn from(val: T) -> Self {
        Self::new(val)
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: ?Sized> Sealed for ReentrantMutex<T> {}
impl<T: ?Sized> Lockable for ReentrantMutex<T> {
    fn lock_map(&self) -> (&LockMap, usize, LockKind) {
        let raw = self.raw_lock();
        (raw.lock_map_ref(), raw.id(), LockKind::Mutex)
    }
}
