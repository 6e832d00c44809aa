//! `RwLock` and `RecursiveRwLock`: parking_lot's reader-writer locks with lockdep's reader rules.
//!
//! `RwLock::read` is a non-recursive reader (`r`: it queues behind a *waiting* writer), while
//! `RecursiveRwLock::read` is a recursive reader (`R`: only a writer that *holds* the lock blocks
//! it), which decides which cycles are deadlocks. Upgradable reads exclude each other and writers,
//! so they are validated as exclusive acquisitions.

use std::marker::PhantomData;
use std::panic::Location;
use std::time::{Duration, Instant};

use lock_api::{RawRwLock as _, RawRwLockTimed as _, RawRwLockUpgrade as _};

use crate::class::{ClassKey, LockKind};
use crate::held::Mode;
use crate::runtime::{self, GuardMarker, LockMap, Lockable, Owner, Request, private::Sealed};

type Inner<const R: bool> = parking_lot::RawRwLock<R>;
type InnerShared<const R: bool> = <Inner<R> as lock_api::RawRwLock>::SharedGuard;
type InnerExclusive<const R: bool> = <Inner<R> as lock_api::RawRwLock>::ExclusiveGuard;
type InnerUpgradable<const R: bool> = <Inner<R> as lock_api::RawRwLockUpgrade>::UpgradableGuard;

/// Proof of a lockdep-tracked acquisition; not `Send` (the held-lock stack is per thread), but
/// `Send` under the feature `send_guard`, which records the acquiring thread in it.
pub struct Held<G> {
    inner: G,
    owner: Owner,
    _marker: GuardMarker,
}

// SAFETY: a shared reference to the proof allows nothing: every use of it (unlocking,
// downgrading, upgrading) takes it by value or by `&mut`, on the thread that owns it. `Sync`
// makes the guards `Sync` wherever parking_lot's are.
unsafe impl<G: Sync> Sync for Held<G> {}

impl<G> Held<G> {
    #[inline(always)]
    fn new(inner: G) -> Self {
        Held {
            inner,
            owner: Owner::current(),
            _marker: PhantomData,
        }
    }

    /// The same acquisition in another state (downgraded, upgraded): same owner.
    #[inline(always)]
    fn with<H>(&self, inner: H) -> Held<H> {
        Held {
            inner,
            owner: self.owner,
            _marker: PhantomData,
        }
    }
}

impl<G: Default> Held<G> {
    /// The proof of an acquisition (shared, exclusive or upgradable, as `G` says) that the
    /// current thread holds, for raw-lock interfaces whose unlock takes no guard value
    /// (`lock_api` 0.4's, under the parking_lot 0.12 compat crate): its owner is the current
    /// thread.
    ///
    /// # Safety
    /// The current thread must hold the lock it is passed to in that mode, through an
    /// acquisition whose guard value was dropped with `mem::forget`; it stands for that
    /// acquisition.
    #[inline(always)]
    pub unsafe fn assume_held() -> Self {
        Held::new(G::default())
    }

    /// [`assume_held`](Self::assume_held) for the acquisition of the thread `token` names
    /// ([`owner_token`](Held::owner_token); 0: the current thread).
    ///
    /// # Safety
    /// As [`assume_held`](Self::assume_held), but the acquisition is the one `token` came from,
    /// which may be another thread's (its guard sent here under `send_guard`).
    #[inline(always)]
    pub unsafe fn assume_held_by(token: u64) -> Self {
        Held {
            inner: G::default(),
            owner: Owner::from_token(token),
            _marker: PhantomData,
        }
    }
}

impl<G> Held<G> {
    /// The thread that took this acquisition, as a number to keep where a guard value cannot
    /// be kept (lock_api 0.4's guards, under the parking_lot 0.12 compat crate): give it back to
    /// [`assume_held_by`](Held::assume_held_by). 0 without the feature `send_guard`.
    #[inline(always)]
    pub fn owner_token(&self) -> u64 {
        self.owner.token()
    }
}

impl RawRwLock<true> {
    /// A shared acquisition of the recursive lock word that queues behind a waiting writer,
    /// validated as a non-recursive reader (`r`, as [`RwLock::read`]): for a lock type that has
    /// both readers on one lock, as parking_lot 0.12's `read` and `read_recursive` (its compat
    /// crate). Readers that do not queue would starve writers under a steady read load.
    #[inline(always)]
    #[track_caller]
    pub fn lock_shared_nonrecursive(&self) -> Held<InnerShared<true>> {
        self.before(Mode::Read, 0, Some(Location::caller()));
        Held::new(self.inner.lock_shared_queued())
    }

    /// [`lock_shared_nonrecursive`](Self::lock_shared_nonrecursive) as a trylock.
    #[inline(always)]
    #[track_caller]
    pub fn try_lock_shared_nonrecursive(&self) -> Option<Held<InnerShared<true>>> {
        self.try_with(Mode::Read, Some(Location::caller()), |l| {
            l.try_lock_shared_queued()
        })
        .map(|(g, p)| {
            // SAFETY: `g` is a shared acquisition of this lock just made.
            p.dispatch_or_undo(g, |g| unsafe {
                lock_api::RawRwLock::unlock_shared(self, g)
            })
        })
    }

    /// [`lock_shared_nonrecursive`](Self::lock_shared_nonrecursive) waiting at most `timeout`.
    #[track_caller]
    pub fn try_lock_shared_nonrecursive_for(
        &self,
        timeout: Duration,
    ) -> Option<Held<InnerShared<true>>> {
        self.timed(Mode::Read, Some(Location::caller()), |l| {
            l.try_lock_shared_queued_for(timeout)
        })
    }

    /// [`lock_shared_nonrecursive`](Self::lock_shared_nonrecursive) waiting until `deadline`.
    #[track_caller]
    pub fn try_lock_shared_nonrecursive_until(
        &self,
        deadline: Instant,
    ) -> Option<Held<InnerShared<true>>> {
        self.timed(Mode::Read, Some(Location::caller()), |l| {
            l.try_lock_shared_queued_until(deadline)
        })
    }
}

/// The raw lock under [`RwLock`] (`RECURSIVE = false`) and [`RecursiveRwLock`] (`true`).
pub struct RawRwLock<const RECURSIVE: bool = false> {
    inner: Inner<RECURSIVE>,
    map: LockMap,
}

/// The raw lock under [`RecursiveRwLock`], as parking_lot names it.
pub type RawRwLockRecursive = RawRwLock<true>;

/// Whether someone holds the lock shared (or upgradable): what an unlock of that mode needs.
fn shared_held<const R: bool>(inner: &Inner<R>) -> bool {
    use lock_api::RawRwLock as _;
    inner.is_locked() && !inner.is_locked_exclusive()
}

/// Whether someone holds the lock exclusively.
fn exclusive_held<const R: bool>(inner: &Inner<R>) -> bool {
    use lock_api::RawRwLock as _;
    inner.is_locked_exclusive()
}

impl<const RECURSIVE: bool> RawRwLock<RECURSIVE> {
    /// For crates that wrap this raw lock (the parking_lot compat crates), from their
    /// `into_inner`: the lock is being consumed; if this thread still holds it (a guard forgotten, a raw
    /// acquisition never released), its acquisitions leave the thread's held locks.
    #[doc(hidden)]
    #[inline]
    pub fn consumed(&self) {
        if self.inner.is_locked() {
            runtime::on_consumed(&self.map, self.id(), LockKind::RwLock);
        }
    }

    /// For crates that wrap this raw lock (the parking_lot compat crates), when their caller
    /// takes the raw lock (`raw()`) at `at`: sets its class now, from what they publish
    /// ([`BuiltAt`](crate::BuiltAt)), as its acquisitions through the raw lock publish nothing.
    #[doc(hidden)]
    #[inline]
    pub fn bind(&self, at: &'static Location<'static>) {
        runtime::bind(&self.map, LockKind::RwLock, Some(at));
    }

    /// For crates that wrap this raw lock: whether [`bind`](Self::bind) has anything to do
    /// (validation on and the class not set yet), checked before they publish anything.
    #[doc(hidden)]
    #[inline]
    pub fn needs_bind(&self) -> bool {
        runtime::needs_bind(&self.map)
    }

    /// As [`RawMutex::release_unlocked`](crate::RawMutex::release_unlocked), for a lock held
    /// in any mode: the release is recorded (reported if it is a bad unlock), the word left
    /// alone.
    ///
    /// # Safety
    /// `guard` stands for an acquisition of this lock, as for its unlock.
    #[doc(hidden)]
    #[inline]
    pub unsafe fn release_unlocked<G>(&self, guard: Held<G>) {
        runtime::on_release_by(&self.map, self.id(), LockKind::RwLock, guard.owner).dispatch();
    }

    const READ_MODE: Mode = if RECURSIVE {
        Mode::ReadRecursive
    } else {
        Mode::Read
    };

    #[inline(always)]
    pub(crate) const fn with_map(map: LockMap) -> Self {
        RawRwLock {
            inner: <Inner<RECURSIVE> as lock_api::RawRwLock>::INIT,
            map,
        }
    }

    #[inline(always)]
    fn id(&self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    fn request(
        &self,
        mode: Mode,
        subclass: u32,
        site: Option<&'static Location<'static>>,
    ) -> Request<'_> {
        Request {
            map: &self.map,
            instance: self.id(),
            kind: LockKind::RwLock,
            mode,
            subclass,
            nest_lock: None,
            site,
        }
    }

    #[inline(always)]
    fn before(&self, mode: Mode, subclass: u32, site: Option<&'static Location<'static>>) {
        runtime::before_lock(self.request(mode, subclass, site));
    }

    #[inline(always)]
    fn after_try(&self, mode: Mode, site: Option<&'static Location<'static>>) -> runtime::Pending {
        runtime::after_trylock(self.request(mode, 0, site))
    }

    #[inline(always)]
    fn release<G>(
        &self,
        guard: Held<G>,
        held: impl FnOnce(&Inner<RECURSIVE>) -> bool,
        unlock: impl FnOnce(&Inner<RECURSIVE>, G),
    ) {
        // Reported after the raw unlock: a report in panic mode leaves the lock released.
        let reports = runtime::on_release_by(&self.map, self.id(), LockKind::RwLock, guard.owner);
        // An unlock of a lock nobody holds in that mode (a double unlock through the raw API,
        // reported as a bad unlock) leaves the lock word alone, as parking_lot 0.12 does:
        // subtracting from it would leave a lock no one can take.
        if !reports.has_reports() || held(&self.inner) {
            unlock(&self.inner, guard.inner);
        }
        reports.dispatch();
    }

    /// A timed attempt: validated before blocking, released again on timeout.
    fn timed<G>(
        &self,
        mode: Mode,
        site: Option<&'static Location<'static>>,
        attempt: impl FnOnce(&Inner<RECURSIVE>) -> Option<G>,
    ) -> Option<Held<G>> {
        self.before(mode, 0, site);
        match attempt(&self.inner) {
            Some(g) => Some(Held::new(g)),
            None => {
                runtime::on_release(&self.map, self.id(), LockKind::RwLock);
                None
            }
        }
    }

    #[inline(always)]
    fn try_with<G>(
        &self,
        mode: Mode,
        site: Option<&'static Location<'static>>,
        attempt: impl FnOnce(&Inner<RECURSIVE>) -> Option<G>,
    ) -> Option<(Held<G>, runtime::Pending)> {
        let g = attempt(&self.inner)?;
        Some((Held::new(g), self.after_try(mode, site)))
    }
}

// SAFETY: exclusion, ordering and guard states are parking_lot's; the hooks only update this
// thread's bookkeeping.
unsafe impl<const R: bool> lock_api::RawRwLock for RawRwLock<R> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawRwLock::with_map(LockMap::raw_init());
    type SharedGuard = Held<InnerShared<R>>;
    type ExclusiveGuard = Held<InnerExclusive<R>>;

    #[inline(always)]
    #[track_caller]
    fn lock_shared(&self) -> Self::SharedGuard {
        self.before(Self::READ_MODE, 0, Some(Location::caller()));
        Held::new(self.inner.lock_shared())
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_shared(&self) -> Option<Self::SharedGuard> {
        self.try_with(Self::READ_MODE, Some(Location::caller()), |l| {
            l.try_lock_shared()
        })
        .map(|(g, p)| {
            // SAFETY: `g` is a shared acquisition of this lock just made.
            p.dispatch_or_undo(g, |g| unsafe {
                lock_api::RawRwLock::unlock_shared(self, g)
            })
        })
    }

    #[inline(always)]
    unsafe fn unlock_shared(&self, guard: Self::SharedGuard) {
        // SAFETY: the caller passes the state of a shared acquisition of this lock.
        self.release(guard, shared_held, |inner, g| unsafe {
            inner.unlock_shared(g)
        });
    }

    #[inline(always)]
    #[track_caller]
    fn lock_exclusive(&self) -> Self::ExclusiveGuard {
        self.before(Mode::Write, 0, Some(Location::caller()));
        Held::new(self.inner.lock_exclusive())
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_exclusive(&self) -> Option<Self::ExclusiveGuard> {
        self.try_with(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_exclusive()
        })
        .map(|(g, p)| {
            // SAFETY: `g` is the exclusive acquisition of this lock just made.
            p.dispatch_or_undo(g, |g| unsafe {
                lock_api::RawRwLock::unlock_exclusive(self, g)
            })
        })
    }

    #[inline(always)]
    unsafe fn unlock_exclusive(&self, guard: Self::ExclusiveGuard) {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        self.release(guard, exclusive_held, |inner, g| unsafe {
            inner.unlock_exclusive(g)
        });
    }

    #[inline(always)]
    fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    #[inline(always)]
    fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockFair for RawRwLock<R> {
    unsafe fn unlock_shared_fair(&self, guard: Self::SharedGuard) {
        // SAFETY: the caller passes the state of a shared acquisition of this lock.
        self.release(guard, shared_held, |inner, g| unsafe {
            inner.unlock_shared_fair(g)
        });
    }

    unsafe fn unlock_exclusive_fair(&self, guard: Self::ExclusiveGuard) {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        self.release(guard, exclusive_held, |inner, g| unsafe {
            inner.unlock_exclusive_fair(g)
        });
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockDowngrade for RawRwLock<R> {
    #[track_caller]
    unsafe fn downgrade(&self, guard: Self::ExclusiveGuard) -> Self::SharedGuard {
        let pending = runtime::on_mode_change_by(
            self.id(),
            Self::READ_MODE,
            guard.owner,
            Some(Location::caller()),
        );
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        let g = owner.with(unsafe { self.inner.downgrade(guard.inner) });
        // Once the shared acquisition exists: the caller has no guard yet to release it.
        // SAFETY: `g` is the shared acquisition just made.
        pending.dispatch_or_undo(g, |g| unsafe {
            lock_api::RawRwLock::unlock_shared(self, g)
        })
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockTimed for RawRwLock<R> {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> Option<Self::SharedGuard> {
        self.timed(Self::READ_MODE, Some(Location::caller()), |l| {
            l.try_lock_shared_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_shared_until(&self, timeout: Instant) -> Option<Self::SharedGuard> {
        self.timed(Self::READ_MODE, Some(Location::caller()), |l| {
            l.try_lock_shared_until(timeout)
        })
    }

    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> Option<Self::ExclusiveGuard> {
        self.timed(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_exclusive_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> Option<Self::ExclusiveGuard> {
        self.timed(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_exclusive_until(timeout)
        })
    }
}

// SAFETY: as above. Upgradable holders are tracked as exclusive: they exclude each other and
// writers, which is what makes them part of a deadlock.
unsafe impl<const R: bool> lock_api::RawRwLockUpgrade for RawRwLock<R> {
    type UpgradableGuard = Held<InnerUpgradable<R>>;

    #[track_caller]
    fn lock_upgradable(&self) -> Self::UpgradableGuard {
        self.before(Mode::Write, 0, Some(Location::caller()));
        Held::new(self.inner.lock_upgradable())
    }

    #[track_caller]
    fn try_lock_upgradable(&self) -> Option<Self::UpgradableGuard> {
        self.try_with(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_upgradable()
        })
        .map(|(g, p)| {
            // SAFETY: `g` is the upgradable acquisition of this lock just made.
            p.dispatch_or_undo(g, |g| unsafe {
                lock_api::RawRwLockUpgrade::unlock_upgradable(self, g)
            })
        })
    }

    unsafe fn unlock_upgradable(&self, guard: Self::UpgradableGuard) {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        self.release(guard, shared_held, |inner, g| unsafe {
            inner.unlock_upgradable(g)
        });
    }

    unsafe fn upgrade(&self, guard: Self::UpgradableGuard) -> Self::ExclusiveGuard {
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        owner.with(unsafe { self.inner.upgrade(guard.inner) })
    }

    unsafe fn try_upgrade(
        &self,
        guard: Self::UpgradableGuard,
    ) -> Result<Self::ExclusiveGuard, Self::UpgradableGuard> {
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { self.inner.try_upgrade(guard.inner) }
            .map(|g| owner.with(g))
            .map_err(|g| owner.with(g))
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeFair for RawRwLock<R> {
    unsafe fn unlock_upgradable_fair(&self, guard: Self::UpgradableGuard) {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        self.release(guard, shared_held, |inner, g| unsafe {
            inner.unlock_upgradable_fair(g)
        });
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeDowngrade for RawRwLock<R> {
    #[track_caller]
    unsafe fn downgrade_upgradable(&self, guard: Self::UpgradableGuard) -> Self::SharedGuard {
        let pending = runtime::on_mode_change_by(
            self.id(),
            Self::READ_MODE,
            guard.owner,
            Some(Location::caller()),
        );
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        let g = owner.with(unsafe { self.inner.downgrade_upgradable(guard.inner) });
        // SAFETY: `g` is the shared acquisition just made.
        pending.dispatch_or_undo(g, |g| unsafe {
            lock_api::RawRwLock::unlock_shared(self, g)
        })
    }

    unsafe fn downgrade_to_upgradable(&self, guard: Self::ExclusiveGuard) -> Self::UpgradableGuard {
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        owner.with(unsafe { self.inner.downgrade_to_upgradable(guard.inner) })
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeTimed for RawRwLock<R> {
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> Option<Self::UpgradableGuard> {
        self.timed(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_upgradable_for(timeout)
        })
    }

    #[track_caller]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> Option<Self::UpgradableGuard> {
        self.timed(Mode::Write, Some(Location::caller()), |l| {
            l.try_lock_upgradable_until(timeout)
        })
    }

    unsafe fn try_upgrade_for(
        &self,
        guard: Self::UpgradableGuard,
        timeout: Duration,
    ) -> Result<Self::ExclusiveGuard, Self::UpgradableGuard> {
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { self.inner.try_upgrade_for(guard.inner, timeout) }
            .map(|g| owner.with(g))
            .map_err(|g| owner.with(g))
    }

    unsafe fn try_upgrade_until(
        &self,
        guard: Self::UpgradableGuard,
        timeout: Instant,
    ) -> Result<Self::ExclusiveGuard, Self::UpgradableGuard> {
        let owner = guard.with(());
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { self.inner.try_upgrade_until(guard.inner, timeout) }
            .map(|g| owner.with(g))
            .map_err(|g| owner.with(g))
    }
}

macro_rules! rwlock_type {
    (
        $(#[$doc:meta])*
        $name:ident, $recursive:literal, $read:ident, $write:ident, $upgradable:ident,
        $mapped_read:ident, $mapped_write:ident
    ) => {
        $(#[$doc])*
        // Transparent over the lock_api lock, so an `Arc` of one is an `Arc` of the other (the
        // `arc_lock` API).
        #[repr(transparent)]
        pub struct $name<T: ?Sized> {
            inner: lock_api::RwLock<RawRwLock<$recursive>, T>,
        }

        /// A read guard; all of `lock_api`'s guard functions work.
        pub type $read<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock<$recursive>, T>;
        /// A write guard (`downgrade` turns it into a read guard on the held-lock stack too).
        pub type $write<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock<$recursive>, T>;
        /// An upgradable read guard (tracked as exclusive).
        pub type $upgradable<'a, T> =
            lock_api::RwLockUpgradableReadGuard<'a, RawRwLock<$recursive>, T>;
        /// A read guard of part of the data.
        pub type $mapped_read<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock<$recursive>, T>;
        /// A write guard of part of the data.
        pub type $mapped_write<'a, T> =
            lock_api::MappedRwLockWriteGuard<'a, RawRwLock<$recursive>, T>;

        impl<T> $name<T> {
            /// A lock described by `map`.
            #[allow(dead_code)]
            pub(crate) const fn with_map(map: LockMap, val: T) -> Self {
                $name { inner: lock_api::RwLock::from_raw(RawRwLock::with_map(map), val) }
            }

            /// A lock whose class is this call's site.
            #[track_caller]
            #[inline(always)]
            pub const fn new(val: T) -> Self {
                let map = LockMap::spec(Location::caller(), None, None).of::<T>().build();
                $name { inner: lock_api::RwLock::from_raw(RawRwLock::with_map(map), val) }
            }

            /// A lock whose class is this call's site, printed as `name`.
            #[track_caller]
            pub const fn with_name(name: &'static str, val: T) -> Self {
                let map = LockMap::spec(Location::caller(), Some(name), None).of::<T>().build();
                $name { inner: lock_api::RwLock::from_raw(RawRwLock::with_map(map), val) }
            }

            /// A lock of the class of `key`.
            #[track_caller]
            pub const fn with_class(key: &'static ClassKey, val: T) -> Self {
                let map = LockMap::spec(Location::caller(), None, Some(key)).of::<T>().build();
                $name { inner: lock_api::RwLock::from_raw(RawRwLock::with_map(map), val) }
            }

            /// Consumes the lock and returns its data.
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

        impl<T: ?Sized> $name<T> {
            #[doc = concat!("This lock, given as the lock_api lock it wraps: what a guard's accessor returns (`", stringify!($read), "::rwlock(&guard)` is a `&lock_api::RwLock`, where parking_lot's returns its own lock type). Also `.into()`.")]
            ///
            /// ```
            #[doc = concat!("use lockdep::{", stringify!($name), ", ", stringify!($read), "};")]
            ///
            #[doc = concat!("let lock = ", stringify!($name), "::new(1);")]
            /// let guard = lock.read();
            #[doc = concat!("let back: &", stringify!($name), "<i32> = ", stringify!($name), "::from_lock_api(", stringify!($read), "::rwlock(&guard));")]
            /// assert!(std::ptr::eq(back, &lock));
            /// ```
            pub fn from_lock_api(lock: &lock_api::RwLock<RawRwLock<$recursive>, T>) -> &Self {
                let ptr = std::ptr::from_ref(lock) as *const Self;
                // SAFETY: `Self` is `repr(transparent)` over the lock_api lock and adds no
                // invariant of its own, so the reference is to a valid `Self` for as long.
                unsafe { &*ptr }
            }

            #[inline(always)]
            fn raw_lock(&self) -> &RawRwLock<$recursive> {
                // SAFETY: only used to take or inspect the lock, never to unlock it behind a guard.
                unsafe { self.inner.raw() }
            }

            /// The raw lock (validated like the wrapper).
            ///
            /// # Safety
            /// Unlocking it while a guard of this lock exists is undefined behaviour, as in
            /// parking_lot.
            pub unsafe fn raw(&self) -> &RawRwLock<$recursive> {
                self.raw_lock()
            }

            /// Releases a shared acquisition with its raw state, validated as a release.
            ///
            /// # Safety
            /// `guard` must be the state of a current shared acquisition with no guard left.
            #[track_caller]
            pub unsafe fn force_unlock_read(&self, guard: <RawRwLock<$recursive> as lock_api::RawRwLock>::SharedGuard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock_read(guard) }
            }

            /// Releases an exclusive acquisition with its raw state, validated as a release.
            ///
            /// # Safety
            /// `guard` must be the state of a current exclusive acquisition with no guard left.
            #[track_caller]
            pub unsafe fn force_unlock_write(&self, guard: <RawRwLock<$recursive> as lock_api::RawRwLock>::ExclusiveGuard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock_write(guard) }
            }

            /// [`force_unlock_read`](Self::force_unlock_read) with a fair unlock.
            ///
            /// # Safety
            /// As [`force_unlock_read`](Self::force_unlock_read).
            #[track_caller]
            pub unsafe fn force_unlock_read_fair(&self, guard: <RawRwLock<$recursive> as lock_api::RawRwLock>::SharedGuard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock_read_fair(guard) }
            }

            /// [`force_unlock_write`](Self::force_unlock_write) with a fair unlock.
            ///
            /// # Safety
            /// As [`force_unlock_write`](Self::force_unlock_write).
            #[track_caller]
            pub unsafe fn force_unlock_write_fair(&self, guard: <RawRwLock<$recursive> as lock_api::RawRwLock>::ExclusiveGuard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock_write_fair(guard) }
            }

            /// The lock_api lock behind an `Arc` of this one.
            fn arc_inner(this: &std::sync::Arc<Self>) -> std::sync::Arc<lock_api::RwLock<RawRwLock<$recursive>, T>> {
                let ptr = std::sync::Arc::into_raw(std::sync::Arc::clone(this))
                    as *const lock_api::RwLock<RawRwLock<$recursive>, T>;
                // SAFETY: `Self` is `repr(transparent)` over the lock_api lock, so the pointer is
                // to a value of the same layout in the same `Arc` allocation.
                unsafe { std::sync::Arc::from_raw(ptr) }
            }

            /// [`read`](Self::read) through an `Arc`: a guard without a lifetime.
            #[track_caller]
            pub fn read_arc(self: &std::sync::Arc<Self>) -> lock_api::ArcRwLockReadGuard<RawRwLock<$recursive>, T> {
                Self::arc_inner(self).read_arc()
            }

            /// [`try_read`](Self::try_read) through an `Arc`.
            #[track_caller]
            pub fn try_read_arc(self: &std::sync::Arc<Self>) -> Option<lock_api::ArcRwLockReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_read_arc()
            }

            /// [`try_read_for`](Self::try_read_for) through an `Arc`.
            #[track_caller]
            pub fn try_read_arc_for(self: &std::sync::Arc<Self>, timeout: Duration) -> Option<lock_api::ArcRwLockReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_read_arc_for(timeout)
            }

            /// [`try_read_until`](Self::try_read_until) through an `Arc`.
            #[track_caller]
            pub fn try_read_arc_until(self: &std::sync::Arc<Self>, deadline: Instant) -> Option<lock_api::ArcRwLockReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_read_arc_until(deadline)
            }

            /// [`write`](Self::write) through an `Arc`.
            #[track_caller]
            pub fn write_arc(self: &std::sync::Arc<Self>) -> lock_api::ArcRwLockWriteGuard<RawRwLock<$recursive>, T> {
                Self::arc_inner(self).write_arc()
            }

            /// [`try_write`](Self::try_write) through an `Arc`.
            #[track_caller]
            pub fn try_write_arc(self: &std::sync::Arc<Self>) -> Option<lock_api::ArcRwLockWriteGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_write_arc()
            }

            /// [`try_write_for`](Self::try_write_for) through an `Arc`.
            #[track_caller]
            pub fn try_write_arc_for(self: &std::sync::Arc<Self>, timeout: Duration) -> Option<lock_api::ArcRwLockWriteGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_write_arc_for(timeout)
            }

            /// [`try_write_until`](Self::try_write_until) through an `Arc`.
            #[track_caller]
            pub fn try_write_arc_until(self: &std::sync::Arc<Self>, deadline: Instant) -> Option<lock_api::ArcRwLockWriteGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_write_arc_until(deadline)
            }

            /// [`upgradable_read`](Self::upgradable_read) through an `Arc`.
            #[track_caller]
            pub fn upgradable_read_arc(self: &std::sync::Arc<Self>) -> lock_api::ArcRwLockUpgradableReadGuard<RawRwLock<$recursive>, T> {
                Self::arc_inner(self).upgradable_read_arc()
            }

            /// [`try_upgradable_read`](Self::try_upgradable_read) through an `Arc`.
            #[track_caller]
            pub fn try_upgradable_read_arc(self: &std::sync::Arc<Self>) -> Option<lock_api::ArcRwLockUpgradableReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_upgradable_read_arc()
            }

            /// [`try_upgradable_read_for`](Self::try_upgradable_read_for) through an `Arc`.
            #[track_caller]
            pub fn try_upgradable_read_arc_for(self: &std::sync::Arc<Self>, timeout: Duration) -> Option<lock_api::ArcRwLockUpgradableReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_upgradable_read_arc_for(timeout)
            }

            /// [`try_upgradable_read_until`](Self::try_upgradable_read_until) through an `Arc`.
            #[track_caller]
            pub fn try_upgradable_read_arc_until(self: &std::sync::Arc<Self>, deadline: Instant) -> Option<lock_api::ArcRwLockUpgradableReadGuard<RawRwLock<$recursive>, T>> {
                Self::arc_inner(self).try_upgradable_read_arc_until(deadline)
            }

            /// An upgradable read within `timeout` (validated like
            /// [`upgradable_read`](Self::upgradable_read)).
            #[track_caller]
            pub fn try_upgradable_read_for(&self, timeout: Duration) -> Option<$upgradable<'_, T>> {
                self.inner.try_upgradable_read_for(timeout)
            }

            /// An upgradable read before `deadline`.
            #[track_caller]
            pub fn try_upgradable_read_until(&self, deadline: Instant) -> Option<$upgradable<'_, T>> {
                self.inner.try_upgradable_read_until(deadline)
            }

            /// Acquires shared access, validating the order first.
            #[track_caller]
            #[inline(always)]
            pub fn read(&self) -> $read<'_, T> {
                self.read_nested(0)
            }

            /// Acquires shared access as subclass `subclass` (deliberate same-class nesting of
            /// readers, the kernel's `down_read_nested`).
            #[track_caller]
            #[inline(always)]
            pub fn read_nested(&self, subclass: u32) -> $read<'_, T> {
                let raw = self.raw_lock();
                raw.before(RawRwLock::<$recursive>::READ_MODE, subclass, Some(Location::caller()));
                let g = Held::new(raw.inner.lock_shared());
                // SAFETY: `g` is a shared acquisition just made.
                unsafe { self.inner.make_read_guard_unchecked(g) }
            }

            /// Acquires exclusive access, validating the order first.
            #[track_caller]
            #[inline(always)]
            pub fn write(&self) -> $write<'_, T> {
                self.write_nested(0)
            }

            /// Acquires exclusive access as subclass `subclass` (deliberate same-class nesting).
            #[track_caller]
            #[inline(always)]
            pub fn write_nested(&self, subclass: u32) -> $write<'_, T> {
                let raw = self.raw_lock();
                raw.before(Mode::Write, subclass, Some(Location::caller()));
                let g = Held::new(raw.inner.lock_exclusive());
                // SAFETY: `g` is an exclusive acquisition just made.
                unsafe { self.inner.make_write_guard_unchecked(g) }
            }

            /// Acquires an upgradable read, validated as exclusive.
            #[track_caller]
            pub fn upgradable_read(&self) -> $upgradable<'_, T> {
                let raw = self.raw_lock();
                raw.before(Mode::Write, 0, Some(Location::caller()));
                let g = Held::new(raw.inner.lock_upgradable());
                // SAFETY: `g` is an upgradable acquisition just made.
                unsafe { self.inner.make_upgradable_guard_unchecked(g) }
            }

            /// Shared access if available now (a trylock: no dependency ends in it).
            #[track_caller]
            pub fn try_read(&self) -> Option<$read<'_, T>> {
                let site = Some(Location::caller());
                let mode = RawRwLock::<$recursive>::READ_MODE;
                let (g, p) = self.raw_lock().try_with(mode, site, |l| l.try_lock_shared())?;
                // SAFETY: `g` is a shared acquisition just made.
                let guard = unsafe { self.inner.make_read_guard_unchecked(g) };
                p.dispatch();
                Some(guard)
            }

            /// Exclusive access if available now.
            #[track_caller]
            pub fn try_write(&self) -> Option<$write<'_, T>> {
                let site = Some(Location::caller());
                let (g, p) = self.raw_lock().try_with(Mode::Write, site, |l| l.try_lock_exclusive())?;
                // SAFETY: `g` is an exclusive acquisition just made.
                let guard = unsafe { self.inner.make_write_guard_unchecked(g) };
                p.dispatch();
                Some(guard)
            }

            /// An upgradable read if available now.
            #[track_caller]
            pub fn try_upgradable_read(&self) -> Option<$upgradable<'_, T>> {
                let site = Some(Location::caller());
                let (g, p) = self.raw_lock().try_with(Mode::Write, site, |l| l.try_lock_upgradable())?;
                // SAFETY: `g` is an upgradable acquisition just made.
                let guard = unsafe { self.inner.make_upgradable_guard_unchecked(g) };
                p.dispatch();
                Some(guard)
            }

            /// Shared access within `timeout` (validated like [`read`](Self::read)).
            #[track_caller]
            pub fn try_read_for(&self, timeout: Duration) -> Option<$read<'_, T>> {
                let mode = RawRwLock::<$recursive>::READ_MODE;
                let g = self.raw_lock().timed(mode, Some(Location::caller()), |l| l.try_lock_shared_for(timeout))?;
                // SAFETY: `g` is a shared acquisition just made.
                Some(unsafe { self.inner.make_read_guard_unchecked(g) })
            }

            /// Shared access before `deadline`.
            #[track_caller]
            pub fn try_read_until(&self, deadline: Instant) -> Option<$read<'_, T>> {
                let mode = RawRwLock::<$recursive>::READ_MODE;
                let g = self.raw_lock().timed(mode, Some(Location::caller()), |l| l.try_lock_shared_until(deadline))?;
                // SAFETY: `g` is a shared acquisition just made.
                Some(unsafe { self.inner.make_read_guard_unchecked(g) })
            }

            /// Exclusive access within `timeout` (validated like [`write`](Self::write)).
            #[track_caller]
            pub fn try_write_for(&self, timeout: Duration) -> Option<$write<'_, T>> {
                let g = self.raw_lock().timed(Mode::Write, Some(Location::caller()), |l| l.try_lock_exclusive_for(timeout))?;
                // SAFETY: `g` is an exclusive acquisition just made.
                Some(unsafe { self.inner.make_write_guard_unchecked(g) })
            }

            /// Exclusive access before `deadline`.
            #[track_caller]
            pub fn try_write_until(&self, deadline: Instant) -> Option<$write<'_, T>> {
                let g = self.raw_lock().timed(Mode::Write, Some(Location::caller()), |l| l.try_lock_exclusive_until(deadline))?;
                // SAFETY: `g` is an exclusive acquisition just made.
                Some(unsafe { self.inner.make_write_guard_unchecked(g) })
            }

            /// Whether any thread holds it now.
            #[inline(always)]
            pub fn is_locked(&self) -> bool {
                self.inner.is_locked()
            }

            /// Whether a writer holds it now.
            #[inline(always)]
            pub fn is_locked_exclusive(&self) -> bool {
                self.inner.is_locked_exclusive()
            }

            /// The data, through exclusive access.
            pub fn get_mut(&mut self) -> &mut T {
                self.inner.get_mut()
            }

            /// A raw pointer to the data.
            pub fn data_ptr(&self) -> *mut T {
                self.inner.data_ptr()
            }
        }

        impl<T: Default> Default for $name<T> {
            /// A lock of `T::default()`, its class refined at its first acquisition (see
            /// [`ClassOrigin`](crate::ClassOrigin)).
            #[track_caller]
            fn default() -> Self {
                let map = LockMap::spec(Location::caller(), None, None).of::<T>().by_default().build();
                $name { inner: lock_api::RwLock::from_raw(RawRwLock::with_map(map), T::default()) }
            }
        }

        impl<'a, T: ?Sized> From<&'a lock_api::RwLock<RawRwLock<$recursive>, T>> for &'a $name<T> {
            #[doc = concat!("[`", stringify!($name), "::from_lock_api`].")]
            fn from(lock: &'a lock_api::RwLock<RawRwLock<$recursive>, T>) -> Self {
                $name::from_lock_api(lock)
            }
        }

        impl<T> From<T> for $name<T> {
            /// A lock of `val` whose class is this call's site (a site inside std, such as
            /// `val.into()`'s, is refined at the first acquisition).
            #[track_caller]
            fn from(val: T) -> Self {
                Self::new(val)
            }
        }

        impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt(f)
            }
        }

        impl<T: ?Sized> Sealed for $name<T> {}
        impl<T: ?Sized> Lockable for $name<T> {
            fn lock_map(&self) -> (&LockMap, usize, LockKind) {
                let raw = self.raw_lock();
                (&raw.map, raw.id(), LockKind::RwLock)
            }
        }
    };
}

rwlock_type! {
    /// A reader-writer lock whose readers are *non-recursive* (`r`): a reader queues behind a
    /// waiting writer, so a thread that reads twice can deadlock against a writer in between.
    ///
    /// ```
    /// let l = lockdep::RwLock::new(5);
    /// assert_eq!(*l.read(), 5);
    /// *l.write() += 1;
    /// assert_eq!(*l.read(), 6);
    /// ```
    RwLock, false, RwLockReadGuard, RwLockWriteGuard, RwLockUpgradableReadGuard,
    MappedRwLockReadGuard, MappedRwLockWriteGuard
}

rwlock_type! {
    /// A reader-writer lock whose readers are *recursive* (`R`): only a writer that holds the
    /// lock blocks them, so reading twice is fine and fewer cycles are deadlocks.
    ///
    /// ```
    /// let l = lockdep::RecursiveRwLock::new(5);
    /// let a = l.read();
    /// let b = l.read(); // recursive read: allowed
    /// assert_eq!(*a + *b, 10);
    /// ```
    RecursiveRwLock, true, RecursiveRwLockReadGuard, RecursiveRwLockWriteGuard,
    RecursiveRwLockUpgradableReadGuard, MappedRecursiveRwLockReadGuard,
    MappedRecursiveRwLockWriteGuard
}
