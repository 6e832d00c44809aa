//! parking_lot 0.13's public API over [`lockdep`]'s validated locks.
//!
//! Patch it in for a whole build and every crate that locks through parking_lot 0.13 is
//! validated by lockdep (compat/README.md):
//!
//! ```toml
//! [patch.crates-io]
//! parking_lot = { path = "…/compat/parking_lot-0.13" }
//! lock_api = { path = "…/compat/lock_api-0.5" }
//! ```
//!
//! The types are parking_lot 0.13's: `lock_api` 0.5's `Mutex`, `RwLock`, `ReentrantMutex`,
//! `Condvar` and guards over this crate's raw locks, so `MutexGuard::map`,
//! `RwLockUpgradableReadGuard`, `parking_lot::lock_api::...` and the
//! `arc_lock`/`serde`/`owning_ref` features work as there. Each raw lock here is lockdep's
//! (lock_api 0.5's traits, with lockdep's guard state as the acquisition state), so every
//! acquisition is validated before it blocks.
//!
//! Classes: the lock_api 0.5 under these types is `compat/lock_api-0.5` (patch lock_api to it
//! too, so that the build has one lock_api 0.5), whose constructors record their caller and
//! whose acquiring methods hand that site and the data type to the raw lock: a lock's class is
//! its construction site and data type, as for lockdep's own locks. For a lock built by
//! `Default`, `From` or inside std (`map(Mutex::new)`) the class is set at its first
//! acquisition, keyed by that site and the data type: docs/semantics.md, "Classes for Rust:
//! sites that are not yours", and docs/dependencies.md. `ReentrantMutex` acquisitions and
//! `Condvar` waits record their caller's line too (the fork publishes it; lockdep's
//! `AcquiredAt`).
//!
//! ```
//! use parking_lot::{Mutex, RwLock};
//!
//! let reports = lockdep::capture(|| {
//!     let a = Mutex::new(0);
//!     let b = RwLock::new(0);
//!     {
//!         let _a = a.lock();
//!         let _b = b.write(); // a -> b
//!     }
//!     let _b = b.read();
//!     let _a = a.lock(); // b -> a: a would-be deadlock, reported before it blocks
//! });
//! assert_eq!(reports.len(), 1);
//! assert_eq!(reports[0].kind(), lockdep::ReportKind::CircularDependency);
//! ```

#![warn(missing_docs)]

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lock_api::GetThreadId;
use lockdep::lock_api as core_api;

#[cfg(all(feature = "send_guard", feature = "deadlock_detection"))]
compile_error!("the `send_guard` and `deadlock_detection` features cannot be used together");

pub use ::lock_api;
/// A type indicating whether a timed wait on a condition variable returned due to a time out or
/// not.
pub use lock_api::WaitTimeoutResult;
#[cfg(feature = "arc_lock")]
pub use lock_api::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
};
/// parking_lot's `Once`, validated by lockdep: running or waiting for the closure holds the
/// once's class.
pub use lockdep::{Once, OnceState};

/// Publishes to lockdep what the compat lock_api 0.5 (`compat/lock_api-0.5`) publishes for the
/// lock being acquired: where it was built and its data type (its class is then that
/// construction site and type; the type alone, for a lock built by `Default` or `From`, keys it
/// with the site of its first acquisition), and the site of an acquisition lock_api makes on
/// its caller's behalf (a `ReentrantMutex`'s), recorded instead of the line inside lock_api.
#[inline(always)]
fn built() -> (lockdep::BuiltAt, Option<lockdep::AcquiredAt>) {
    let (built, acquired) = lock_api::lockdep_site::published();
    let built = match built {
        Some((Some(site), ty)) => lockdep::BuiltAt::enter(Some((site, ty))),
        Some((None, ty)) => lockdep::BuiltAt::of_type(ty),
        None => lockdep::BuiltAt::enter(None),
    };
    (
        built,
        acquired.map(|site| lockdep::AcquiredAt::enter(Some(site))),
    )
}

/// Publishes to lockdep the site of a condvar wait's re-acquisition of its mutex, as the compat
/// lock_api 0.5's `Condvar::wait*` publish it (their caller).
#[inline(always)]
fn reacquired() -> lockdep::AcquiredAt {
    lockdep::AcquiredAt::enter(lock_api::lockdep_site::acquired_at())
}

macro_rules! raw_mutex {
    ($(#[$doc:meta])* $name:ident, $core:ty) => {
        $(#[$doc])*
        pub struct $name {
            inner: $core,
        }


        // SAFETY: exclusion, ordering, fairness, timeouts and the acquisition state are the
        // lockdep core's (parking_lot 0.13's lock word underneath), delegated to unchanged.
        unsafe impl lock_api::RawMutex for $name {
            #[inline]
            #[track_caller]
            fn lockdep_bind(&self, site: Option<&'static core::panic::Location<'static>>, type_name: &'static str) {
                if self.inner.needs_bind() {
                    let _built = match site {
                            Some(site) => lockdep::BuiltAt::enter(Some((site, type_name))),
                            None => lockdep::BuiltAt::of_type(type_name),
                        };
                    self.inner.bind(core::panic::Location::caller());
                }
            }

            #[inline]
            fn lockdep_consumed(&self) {
                self.inner.consumed();
            }

            #[allow(clippy::declare_interior_mutable_const)]
            const INIT: Self = $name {
                inner: <$core as core_api::RawMutex>::INIT,
            };
            type Guard = <$core as core_api::RawMutex>::Guard;

            #[inline(always)]
            #[track_caller]
            fn lock(&self) -> Self::Guard {
                let _built = built();
                core_api::RawMutex::lock(&self.inner)
            }

            #[inline(always)]
            #[track_caller]
            fn try_lock(&self) -> Option<Self::Guard> {
                let _built = built();
                core_api::RawMutex::try_lock(&self.inner)
            }

            #[inline(always)]
            unsafe fn unlock(&self, guard: Self::Guard) {
                // SAFETY: the caller passes the state of an acquisition of this mutex.
                unsafe { core_api::RawMutex::unlock(&self.inner, guard) }
            }

            #[inline(always)]
            fn is_locked(&self) -> bool {
                core_api::RawMutex::is_locked(&self.inner)
            }
        }

        // SAFETY: as above.
        unsafe impl lock_api::RawMutexFair for $name {
            #[inline(always)]
            unsafe fn unlock_fair(&self, guard: Self::Guard) {
                // SAFETY: the caller passes the state of an acquisition of this mutex.
                unsafe { core_api::RawMutexFair::unlock_fair(&self.inner, guard) }
            }

            #[inline]
            unsafe fn bump(&self, guard: &mut Self::Guard) {
                // SAFETY: the caller passes the state of an acquisition of this mutex.
                unsafe { core_api::RawMutexFair::bump(&self.inner, guard) }
            }
        }

        // SAFETY: as above.
        unsafe impl lock_api::RawMutexTimed for $name {
            type Duration = Duration;
            type Instant = Instant;

            #[inline]
            #[track_caller]
            fn try_lock_for(&self, timeout: Duration) -> Option<Self::Guard> {
                let _built = built();
                core_api::RawMutexTimed::try_lock_for(&self.inner, timeout)
            }

            #[inline]
            #[track_caller]
            fn try_lock_until(&self, timeout: Instant) -> Option<Self::Guard> {
                let _built = built();
                core_api::RawMutexTimed::try_lock_until(&self.inner, timeout)
            }
        }
    };
}

raw_mutex! {
    /// Raw mutex type: lockdep's validated [`lockdep::RawMutex`] (parking_lot 0.13's lock word
    /// with every acquisition validated).
    RawMutex, lockdep::RawMutex
}

raw_mutex! {
    /// Raw fair mutex type: lockdep's validated [`lockdep::RawFairMutex`] (every unlock is
    /// fair).
    RawFairMutex, lockdep::RawFairMutex
}

/// A mutual exclusion primitive useful for protecting shared data, validated by lockdep.
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// An RAII implementation of a "scoped lock" of a mutex.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A guard of part of a [`Mutex`]'s data (`MutexGuard::map`).
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

/// A mutual exclusion primitive that is always fair, validated by lockdep.
pub type FairMutex<T> = lock_api::Mutex<RawFairMutex, T>;
/// An RAII implementation of a "scoped lock" of a fair mutex.
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A guard of part of a [`FairMutex`]'s data.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

/// Raw reader-writer lock type: lockdep's validated [`lockdep::RawRwLock`]. Readers of
/// `RawRwLock` (`RECURSIVE = false`, under [`RwLock`]) queue behind a waiting writer and are
/// validated as non-recursive readers; readers of [`RawRwLockRecursive`] (under
/// [`RecursiveRwLock`]) are admitted while others read and are validated as recursive ones.
/// Upgradable reads are exclusive acquisitions, as lockdep's own `RwLock`.
pub struct RawRwLock<const RECURSIVE: bool = false> {
    inner: lockdep::RawRwLock<RECURSIVE>,
}

/// Raw reader-writer lock type whose readers are recursive.
pub type RawRwLockRecursive = RawRwLock<true>;

type Core<const R: bool> = lockdep::RawRwLock<R>;
type SharedOf<const R: bool> = <Core<R> as core_api::RawRwLock>::SharedGuard;
type ExclusiveOf<const R: bool> = <Core<R> as core_api::RawRwLock>::ExclusiveGuard;
type UpgradableOf<const R: bool> = <Core<R> as core_api::RawRwLockUpgrade>::UpgradableGuard;

// SAFETY: exclusion, ordering, fairness, timeouts and the acquisition states are the lockdep
// core's (parking_lot 0.13's lock word underneath), delegated to unchanged.
unsafe impl<const R: bool> lock_api::RawRwLock for RawRwLock<R> {
    #[inline]
    #[track_caller]
    fn lockdep_bind(
        &self,
        site: Option<&'static core::panic::Location<'static>>,
        type_name: &'static str,
    ) {
        if self.inner.needs_bind() {
            let _built = match site {
                Some(site) => lockdep::BuiltAt::enter(Some((site, type_name))),
                None => lockdep::BuiltAt::of_type(type_name),
            };
            self.inner.bind(core::panic::Location::caller());
        }
    }

    #[inline]
    fn lockdep_consumed(&self) {
        self.inner.consumed();
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawRwLock {
        inner: <Core<R> as core_api::RawRwLock>::INIT,
    };
    type SharedGuard = SharedOf<R>;
    type ExclusiveGuard = ExclusiveOf<R>;

    #[inline(always)]
    #[track_caller]
    fn lock_shared(&self) -> SharedOf<R> {
        let _built = built();
        core_api::RawRwLock::lock_shared(&self.inner)
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_shared(&self) -> Option<SharedOf<R>> {
        let _built = built();
        core_api::RawRwLock::try_lock_shared(&self.inner)
    }

    #[inline(always)]
    unsafe fn unlock_shared(&self, guard: SharedOf<R>) {
        // SAFETY: the caller passes the state of a shared acquisition of this lock.
        unsafe { core_api::RawRwLock::unlock_shared(&self.inner, guard) }
    }

    #[inline(always)]
    #[track_caller]
    fn lock_exclusive(&self) -> ExclusiveOf<R> {
        let _built = built();
        core_api::RawRwLock::lock_exclusive(&self.inner)
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_exclusive(&self) -> Option<ExclusiveOf<R>> {
        let _built = built();
        core_api::RawRwLock::try_lock_exclusive(&self.inner)
    }

    #[inline(always)]
    unsafe fn unlock_exclusive(&self, guard: ExclusiveOf<R>) {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        unsafe { core_api::RawRwLock::unlock_exclusive(&self.inner, guard) }
    }

    #[inline(always)]
    fn is_locked(&self) -> bool {
        core_api::RawRwLock::is_locked(&self.inner)
    }

    #[inline(always)]
    fn is_locked_exclusive(&self) -> bool {
        core_api::RawRwLock::is_locked_exclusive(&self.inner)
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockFair for RawRwLock<R> {
    #[inline]
    unsafe fn unlock_shared_fair(&self, guard: SharedOf<R>) {
        // SAFETY: the caller passes the state of a shared acquisition of this lock.
        unsafe { core_api::RawRwLockFair::unlock_shared_fair(&self.inner, guard) }
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self, guard: ExclusiveOf<R>) {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        unsafe { core_api::RawRwLockFair::unlock_exclusive_fair(&self.inner, guard) }
    }

    #[inline]
    unsafe fn bump_shared(&self, guard: &mut SharedOf<R>) {
        // SAFETY: the caller passes the state of a shared acquisition of this lock.
        unsafe { core_api::RawRwLockFair::bump_shared(&self.inner, guard) }
    }

    #[inline]
    unsafe fn bump_exclusive(&self, guard: &mut ExclusiveOf<R>) {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        unsafe { core_api::RawRwLockFair::bump_exclusive(&self.inner, guard) }
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockDowngrade for RawRwLock<R> {
    #[inline]
    #[track_caller] // the user's site reaches lockdep's raw downgrade (lock_api's is too)
    unsafe fn downgrade(&self, guard: ExclusiveOf<R>) -> SharedOf<R> {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        unsafe { core_api::RawRwLockDowngrade::downgrade(&self.inner, guard) }
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockTimed for RawRwLock<R> {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> Option<SharedOf<R>> {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_shared_for(&self.inner, timeout)
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_until(&self, timeout: Instant) -> Option<SharedOf<R>> {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_shared_until(&self.inner, timeout)
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> Option<ExclusiveOf<R>> {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_exclusive_for(&self.inner, timeout)
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> Option<ExclusiveOf<R>> {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_exclusive_until(&self.inner, timeout)
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgrade for RawRwLock<R> {
    type UpgradableGuard = UpgradableOf<R>;

    #[inline]
    #[track_caller]
    fn lock_upgradable(&self) -> UpgradableOf<R> {
        let _built = built();
        core_api::RawRwLockUpgrade::lock_upgradable(&self.inner)
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable(&self) -> Option<UpgradableOf<R>> {
        let _built = built();
        core_api::RawRwLockUpgrade::try_lock_upgradable(&self.inner)
    }

    #[inline]
    unsafe fn unlock_upgradable(&self, guard: UpgradableOf<R>) {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgrade::unlock_upgradable(&self.inner, guard) }
    }

    #[inline]
    unsafe fn upgrade(&self, guard: UpgradableOf<R>) -> ExclusiveOf<R> {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgrade::upgrade(&self.inner, guard) }
    }

    #[inline]
    unsafe fn try_upgrade(
        &self,
        guard: UpgradableOf<R>,
    ) -> Result<ExclusiveOf<R>, UpgradableOf<R>> {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgrade::try_upgrade(&self.inner, guard) }
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeFair for RawRwLock<R> {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self, guard: UpgradableOf<R>) {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeFair::unlock_upgradable_fair(&self.inner, guard) }
    }

    #[inline]
    unsafe fn bump_upgradable(&self, guard: &mut UpgradableOf<R>) {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeFair::bump_upgradable(&self.inner, guard) }
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeDowngrade for RawRwLock<R> {
    #[inline]
    #[track_caller] // the user's site reaches lockdep's raw downgrade (lock_api's is too)
    unsafe fn downgrade_upgradable(&self, guard: UpgradableOf<R>) -> SharedOf<R> {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeDowngrade::downgrade_upgradable(&self.inner, guard) }
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self, guard: ExclusiveOf<R>) -> UpgradableOf<R> {
        // SAFETY: the caller passes the state of an exclusive acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeDowngrade::downgrade_to_upgradable(&self.inner, guard) }
    }
}

// SAFETY: as above.
unsafe impl<const R: bool> lock_api::RawRwLockUpgradeTimed for RawRwLock<R> {
    #[inline]
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> Option<UpgradableOf<R>> {
        let _built = built();
        core_api::RawRwLockUpgradeTimed::try_lock_upgradable_for(&self.inner, timeout)
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> Option<UpgradableOf<R>> {
        let _built = built();
        core_api::RawRwLockUpgradeTimed::try_lock_upgradable_until(&self.inner, timeout)
    }

    #[inline]
    unsafe fn try_upgrade_for(
        &self,
        guard: UpgradableOf<R>,
        timeout: Duration,
    ) -> Result<ExclusiveOf<R>, UpgradableOf<R>> {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeTimed::try_upgrade_for(&self.inner, guard, timeout) }
    }

    #[inline]
    unsafe fn try_upgrade_until(
        &self,
        guard: UpgradableOf<R>,
        timeout: Instant,
    ) -> Result<ExclusiveOf<R>, UpgradableOf<R>> {
        // SAFETY: the caller passes the state of an upgradable acquisition of this lock.
        unsafe { core_api::RawRwLockUpgradeTimed::try_upgrade_until(&self.inner, guard, timeout) }
    }
}

/// A reader-writer lock, validated by lockdep. Its readers queue behind a waiting writer, so a
/// thread that reads it twice can deadlock: lockdep reports it.
pub type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
/// RAII structure used to release the shared read access of a lock when dropped.
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// RAII structure used to release the exclusive write access of a lock when dropped.
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;
/// A read guard of part of an [`RwLock`]'s data.
pub type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;
/// A write guard of part of an [`RwLock`]'s data.
pub type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;
/// RAII structure used to release the upgradable read access of a lock when dropped.
pub type RwLockUpgradableReadGuard<'a, T> = lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;

/// A reader-writer lock whose readers are recursive (admitted while others read, even with a
/// writer waiting), validated by lockdep.
pub type RecursiveRwLock<T> = lock_api::RwLock<RawRwLockRecursive, T>;
/// RAII structure used to release the shared read access of a recursive lock when dropped.
pub type RecursiveRwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLockRecursive, T>;
/// RAII structure used to release the exclusive write access of a recursive lock when dropped.
pub type RecursiveRwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLockRecursive, T>;
/// RAII structure used to release the upgradable read access of a recursive lock when dropped.
pub type RecursiveRwLockUpgradableReadGuard<'a, T> =
    lock_api::RwLockUpgradableReadGuard<'a, RawRwLockRecursive, T>;
/// A read guard of part of a [`RecursiveRwLock`]'s data.
pub type MappedRecursiveRwLockReadGuard<'a, T> =
    lock_api::MappedRwLockReadGuard<'a, RawRwLockRecursive, T>;
/// A write guard of part of a [`RecursiveRwLock`]'s data.
pub type MappedRecursiveRwLockWriteGuard<'a, T> =
    lock_api::MappedRwLockWriteGuard<'a, RawRwLockRecursive, T>;

/// Implementation of the `GetThreadId` trait for `lock_api::ReentrantMutex`.
pub struct RawThreadId;

// SAFETY: the address of a thread-local is unique among live threads and non-zero.
unsafe impl GetThreadId for RawThreadId {
    const INIT: RawThreadId = RawThreadId;

    fn nonzero_thread_id(&self) -> NonZeroUsize {
        // The address of a thread-local variable is guaranteed to be unique to the current
        // thread, and is also guaranteed to be non-zero, as parking_lot's.
        thread_local!(static KEY: u8 = const { 0 });
        KEY.with(|x| {
            NonZeroUsize::new(x as *const _ as usize)
                .expect("thread-local variable address is null")
        })
    }
}

/// A mutex which can be recursively locked by a single thread, validated by lockdep.
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;
/// An RAII implementation of a "scoped lock" of a reentrant mutex.
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A guard of part of a [`ReentrantMutex`]'s data.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// Raw condition variable: lockdep's validated [`lockdep::RawCondvar`] (a wait is a blocking
/// call, releases the mutex on the held-lock stack while asleep and validates taking it again).
pub struct RawCondvar {
    inner: lockdep::RawCondvar,
}

type MutexGuardState = <lockdep::RawMutex as core_api::RawMutex>::Guard;

// SAFETY: waiting, notification and timeouts are the lockdep core's, on the lockdep raw mutex
// under this crate's.
unsafe impl lock_api::RawCondvar for RawCondvar {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawCondvar {
        inner: <lockdep::RawCondvar as core_api::RawCondvar>::INIT,
    };
    type RawMutex = RawMutex;

    #[inline]
    unsafe fn wait(&self, mutex: &RawMutex, guard: &mut MutexGuardState) {
        let _reacquired = reacquired();
        // SAFETY: the caller holds `mutex` with state `guard`.
        unsafe { core_api::RawCondvar::wait(&self.inner, &mutex.inner, guard) }
    }

    #[inline]
    fn notify_one(&self) -> bool {
        core_api::RawCondvar::notify_one(&self.inner)
    }

    #[inline]
    fn notify_all(&self) -> usize {
        core_api::RawCondvar::notify_all(&self.inner)
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawCondvarTimed for RawCondvar {
    #[inline]
    fn checked_duration_to_instant(timeout: &Duration) -> Option<Instant> {
        <lockdep::RawCondvar as core_api::RawCondvarTimed>::checked_duration_to_instant(timeout)
    }

    #[inline]
    unsafe fn wait_until(
        &self,
        mutex: &RawMutex,
        guard: &mut MutexGuardState,
        timeout: &Instant,
    ) -> bool {
        let _reacquired = reacquired();
        // SAFETY: the caller holds `mutex` with state `guard`.
        unsafe { core_api::RawCondvarTimed::wait_until(&self.inner, &mutex.inner, guard, timeout) }
    }

    #[inline]
    unsafe fn wait_for(
        &self,
        mutex: &RawMutex,
        guard: &mut MutexGuardState,
        timeout: &Duration,
    ) -> bool {
        let _reacquired = reacquired();
        // SAFETY: the caller holds `mutex` with state `guard`.
        unsafe { core_api::RawCondvarTimed::wait_for(&self.inner, &mutex.inner, guard, timeout) }
    }
}

/// A Condition Variable for [`Mutex`], validated by lockdep.
pub type Condvar = lock_api::Condvar<RawCondvar>;

/// \[Experimental\] Deadlock detection, as parking_lot's feature `deadlock_detection`.
///
/// parking_lot_core's detector finds threads parked in a cycle *after* they deadlocked; the
/// locks of this crate are lockdep's, which reports the order that can deadlock *before* a
/// thread blocks. They park through parking_lot_core 0.10 but do not record their resources for
/// the detector, so `check_deadlock` finds no cycle among them. It is kept so that code written
/// for the feature builds and runs.
#[cfg(feature = "deadlock_detection")]
pub mod deadlock {
    pub use parking_lot_core::deadlock::check_deadlock;
}
