//! parking_lot 0.12's public API over [`lockdep`]'s validated locks.
//!
//! Patch it in for a whole build and every crate that locks through parking_lot 0.12 is
//! validated by lockdep (compat/README.md):
//!
//! ```toml
//! [patch.crates-io]
//! parking_lot = { path = "…/compat/parking_lot-0.12" }
//! ```
//!
//! The types are parking_lot 0.12's: `lock_api` 0.4's `Mutex`, `RwLock`, `ReentrantMutex` and
//! guards over this crate's raw locks, so `MutexGuard::map`, `RwLockUpgradableReadGuard`,
//! `parking_lot::lock_api::...` and the `arc_lock`/`serde`/`owning_ref` features work as there.
//! Each raw lock here implements lock_api 0.4's traits by delegating to lockdep's instrumented
//! raw core (lock_api 0.5's traits), so every acquisition is validated before it blocks.
//!
//! Classes: the lock_api 0.4 under these types is `compat/lock_api-0.4` (patch lock_api to it
//! too, so that the build has one lock_api 0.4), whose constructors record their caller and
//! whose acquiring methods hand that site and the data type to the raw lock: a lock's class is
//! its construction site and data type, as for lockdep's own locks. For a lock built inside std
//! or lock_api (`Default`, `map(Mutex::new)`) the class is set at its first acquisition, keyed
//! by that site and the data type (lock_api's `lock`/`read`/`write`/... are `#[track_caller]`):
//! docs/semantics.md, "Classes for Rust: sites that are not yours", and docs/dependencies.md.
//! `ReentrantMutex` acquisitions and `Condvar` waits record their caller's line too.
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

use std::fmt;
use std::mem;
use std::num::NonZeroUsize;
use std::ops::DerefMut;
use std::panic::Location;
use std::time::{Duration, Instant};

use lock_api::GetThreadId;
use lockdep::lock_api as core_api;

#[cfg(all(feature = "send_guard", feature = "deadlock_detection"))]
compile_error!("the `send_guard` and `deadlock_detection` features cannot be used together");

#[cfg(feature = "send_guard")]
type GuardMarker = lock_api::GuardSend;
#[cfg(not(feature = "send_guard"))]
type GuardMarker = lock_api::GuardNoSend;

pub use ::lock_api;
#[cfg(feature = "arc_lock")]
pub use lock_api::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
};
/// parking_lot's `Once`, validated by lockdep: running or waiting for the closure holds the
/// once's class.
pub use lockdep::{Once, OnceState};

/// The state of an acquisition, whose lock_api 0.5 guard value was forgotten when lock_api 0.4
/// (which keeps no guard values) took the lock: re-made for the thread whose token the guard
/// releasing it (or changing its mode) published (`lock_api::lockdep_site::set_token`; 0, the
/// current thread, for a call without a guard: `force_unlock`, a raw call).
///
/// # Safety
/// As [`lockdep::RawMutexGuard::assume_held_by`]: the acquisition is held, by the thread the
/// published token names.
#[inline(always)]
unsafe fn held_mutex() -> lockdep::RawMutexGuard {
    // SAFETY: forwarded to the caller.
    unsafe { lockdep::RawMutexGuard::assume_held_by(lock_api::lockdep_site::take_token()) }
}

/// As [`held_mutex`], for a reader-writer lock in the mode `G` says.
///
/// # Safety
/// As [`lockdep::Held::assume_held_by`]: the acquisition is held in that mode, by the thread the
/// published token names.
#[inline(always)]
unsafe fn held<G: Default>() -> lockdep::Held<G> {
    // SAFETY: forwarded to the caller.
    unsafe { lockdep::Held::assume_held_by(lock_api::lockdep_site::take_token()) }
}

/// Publishes to lockdep what the compat lock_api 0.4 (`compat/lock_api-0.4`) publishes for the
/// lock being acquired: where it was built and its data type (its class is then that
/// construction site and type), and the site of an acquisition lock_api makes on its caller's
/// behalf (a `ReentrantMutex`'s), recorded instead of the line inside lock_api.
#[inline(always)]
fn built() -> (lockdep::BuiltAt, Option<lockdep::AcquiredAt>) {
    let (built, acquired) = lock_api::lockdep_site::published();
    (
        lockdep::BuiltAt::enter(built),
        acquired.map(|site| lockdep::AcquiredAt::enter(Some(site))),
    )
}

/// An acquisition's lock_api 0.5 state, which names the thread that owns it.
trait Owned {
    fn owner_token(&self) -> u64;
}

impl Owned for lockdep::RawMutexGuard {
    #[inline(always)]
    fn owner_token(&self) -> u64 {
        lockdep::RawMutexGuard::owner_token(self)
    }
}

impl<G> Owned for lockdep::Held<G> {
    #[inline(always)]
    fn owner_token(&self) -> u64 {
        lockdep::Held::owner_token(self)
    }
}

/// Keeps an acquisition that lock_api 0.4 now holds without a guard value: its owner token is
/// published for the guard lock_api makes (or keeps) to take and carry
/// (`lock_api::lockdep_site::take_token`), and its lock_api 0.5 state is forgotten (never
/// dropped, whatever it holds) and re-made for the release.
#[inline(always)]
#[allow(clippy::forget_non_drop)]
fn keep<S: Owned>(state: S) {
    lock_api::lockdep_site::set_token(state.owner_token());
    mem::forget(state);
}

/// [`keep`] for an acquisition whose guard is at hand (a condvar wait's): its token goes to the
/// guard directly, nothing is published.
#[inline(always)]
#[allow(clippy::forget_non_drop)]
fn keep_here(state: lockdep::RawMutexGuard) {
    mem::forget(state);
}

macro_rules! raw_mutex {
    ($(#[$doc:meta])* $name:ident, $core:ty) => {
        $(#[$doc])*
        pub struct $name {
            inner: $core,
        }


        // SAFETY: exclusion, ordering and timeouts are the lockdep core's (parking_lot's lock
        // word underneath); lock_api 0.4 keeps no guard values, so each acquisition's guard
        // value is forgotten once taken and re-made for its release, for the thread that took
        // it (the owner token its lock_api guard carries).
        unsafe impl lock_api::RawMutex for $name {
            #[inline]
            #[track_caller]
            fn lockdep_bind(&self, site: &'static core::panic::Location<'static>, type_name: &'static str) {
                if self.inner.needs_bind() {
                    let _built = lockdep::BuiltAt::enter(Some((site, type_name)));
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
            type GuardMarker = GuardMarker;

            #[inline(always)]
            #[track_caller]
            fn lock(&self) {
                let _built = built();
                keep(core_api::RawMutex::lock(&self.inner));
            }

            #[inline(always)]
            #[track_caller]
            fn try_lock(&self) -> bool {
                let _built = built();
                core_api::RawMutex::try_lock(&self.inner)
                    .map(keep)
                    .is_some()
            }

            #[inline(always)]
            unsafe fn unlock(&self) {
                // SAFETY: the caller holds the mutex, as `unlock` requires.
                let guard = unsafe { held_mutex() };
                if core_api::RawMutex::is_locked(&self.inner) {
                    // SAFETY: as above.
                    unsafe { core_api::RawMutex::unlock(&self.inner, guard) }
                } else {
                    // An unlock of an unlocked mutex (a double unlock, maybe after another
                    // thread's): 0.12's compare-exchange ignores it, the core's subtraction
                    // would leave a word no thread can lock. lockdep still records (and reports)
                    // the release.
                    // SAFETY: as above.
                    unsafe { self.inner.release_unlocked(guard) }
                }
            }

            #[inline(always)]
            fn is_locked(&self) -> bool {
                core_api::RawMutex::is_locked(&self.inner)
            }
        }

        // SAFETY: as above; fairness is the core's.
        unsafe impl lock_api::RawMutexFair for $name {
            #[inline(always)]
            unsafe fn unlock_fair(&self) {
                // SAFETY: the caller holds the mutex.
                let guard = unsafe { held_mutex() };
                if core_api::RawMutex::is_locked(&self.inner) {
                    // SAFETY: as above.
                    unsafe { core_api::RawMutexFair::unlock_fair(&self.inner, guard) }
                } else {
                    // SAFETY: as above (see `unlock`).
                    unsafe { self.inner.release_unlocked(guard) }
                }
            }
        }

        // SAFETY: as above.
        unsafe impl lock_api::RawMutexTimed for $name {
            type Duration = Duration;
            type Instant = Instant;

            #[inline]
            #[track_caller]
            fn try_lock_for(&self, timeout: Duration) -> bool {
                let _built = built();
                core_api::RawMutexTimed::try_lock_for(&self.inner, timeout)
                    .map(keep)
                    .is_some()
            }

            #[inline]
            #[track_caller]
            fn try_lock_until(&self, timeout: Instant) -> bool {
                let _built = built();
                core_api::RawMutexTimed::try_lock_until(&self.inner, timeout)
                    .map(keep)
                    .is_some()
            }
        }
    };
}

raw_mutex! {
    /// Raw mutex type: lockdep's validated [`lockdep::RawMutex`] behind lock_api 0.4's traits.
    RawMutex, lockdep::RawMutex
}

raw_mutex! {
    /// Raw fair mutex type: lockdep's validated [`lockdep::RawFairMutex`] (every unlock is fair)
    /// behind lock_api 0.4's traits.
    RawFairMutex, lockdep::RawFairMutex
}

/// A mutual exclusion primitive useful for protecting shared data, validated by lockdep.
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// An RAII implementation of a "scoped lock" of a mutex.
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A guard of part of a [`Mutex`]'s data (`MutexGuard::map`).
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

/// Creates a new mutex in an unlocked state ready for use (`const`, for statics).
#[track_caller]
pub const fn const_mutex<T>(val: T) -> Mutex<T> {
    Mutex::const_new(<RawMutex as lock_api::RawMutex>::INIT, val)
}

/// A mutual exclusion primitive that is always fair, validated by lockdep.
pub type FairMutex<T> = lock_api::Mutex<RawFairMutex, T>;
/// An RAII implementation of a "scoped lock" of a fair mutex.
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A guard of part of a [`FairMutex`]'s data.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

/// Creates a new fair mutex in an unlocked state ready for use (`const`, for statics).
#[track_caller]
pub const fn const_fair_mutex<T>(val: T) -> FairMutex<T> {
    FairMutex::const_new(<RawFairMutex as lock_api::RawMutex>::INIT, val)
}

/// Raw reader-writer lock type: lockdep's validated reader-writer core behind lock_api 0.4's
/// traits. `read` is validated as a non-recursive reader (it may queue behind a waiting writer
/// under parking_lot, so a recursive `read` is reported), `read_recursive` as a recursive one;
/// upgradable reads as exclusive acquisitions, as lockdep's own `RwLock`.
pub struct RawRwLock {
    // The recursive lock word admits both readers of parking_lot 0.12's one lock: `read`
    // queues behind a waiting writer on it (`lock_shared_nonrecursive`), `read_recursive` does
    // not.
    inner: lockdep::RawRwLockRecursive,
}

// SAFETY: exclusion, ordering, fairness and timeouts are the lockdep core's; lock_api 0.4 keeps
// no guard values, so each acquisition's guard value is forgotten once taken and re-made (in
// the mode lock_api 0.4's caller says it holds, for the thread whose owner token its guard
// carries) for its release, downgrade or upgrade.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[inline]
    #[track_caller]
    fn lockdep_bind(&self, site: &'static core::panic::Location<'static>, type_name: &'static str) {
        if self.inner.needs_bind() {
            let _built = lockdep::BuiltAt::enter(Some((site, type_name)));
            self.inner.bind(core::panic::Location::caller());
        }
    }

    #[inline]
    fn lockdep_consumed(&self) {
        self.inner.consumed();
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawRwLock {
        inner: <lockdep::RawRwLockRecursive as core_api::RawRwLock>::INIT,
    };
    type GuardMarker = GuardMarker;

    #[inline(always)]
    #[track_caller]
    fn lock_shared(&self) {
        let _built = built();
        keep(self.inner.lock_shared_nonrecursive());
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_shared(&self) -> bool {
        let _built = built();
        self.inner
            .try_lock_shared_nonrecursive()
            .map(keep)
            .is_some()
    }

    #[inline(always)]
    unsafe fn unlock_shared(&self) {
        // SAFETY: the caller holds a shared lock.
        unsafe { core_api::RawRwLock::unlock_shared(&self.inner, held()) }
    }

    #[inline(always)]
    #[track_caller]
    fn lock_exclusive(&self) {
        let _built = built();
        keep(core_api::RawRwLock::lock_exclusive(&self.inner));
    }

    #[inline(always)]
    #[track_caller]
    fn try_lock_exclusive(&self) -> bool {
        let _built = built();
        core_api::RawRwLock::try_lock_exclusive(&self.inner)
            .map(keep)
            .is_some()
    }

    #[inline(always)]
    unsafe fn unlock_exclusive(&self) {
        // SAFETY: the caller holds the exclusive lock.
        let guard = unsafe { held() };
        if core_api::RawRwLock::is_locked_exclusive(&self.inner) {
            // SAFETY: as above.
            unsafe { core_api::RawRwLock::unlock_exclusive(&self.inner, guard) }
        } else {
            // Not held exclusively (a double unlock): 0.12's compare-exchange ignores it (see
            // `RawMutex::unlock`).
            // SAFETY: as above.
            unsafe { self.inner.release_unlocked(guard) }
        }
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
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    #[inline]
    unsafe fn unlock_shared_fair(&self) {
        // SAFETY: the caller holds a shared lock.
        unsafe { core_api::RawRwLockFair::unlock_shared_fair(&self.inner, held()) }
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self) {
        // SAFETY: the caller holds the exclusive lock.
        let guard = unsafe { held() };
        if core_api::RawRwLock::is_locked_exclusive(&self.inner) {
            // SAFETY: as above.
            unsafe { core_api::RawRwLockFair::unlock_exclusive_fair(&self.inner, guard) }
        } else {
            // SAFETY: as above (see `unlock_exclusive`).
            unsafe { self.inner.release_unlocked(guard) }
        }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    #[inline]
    #[track_caller] // the user's site reaches lockdep's raw downgrade (lock_api's is too)
    unsafe fn downgrade(&self) {
        // SAFETY: the caller holds the exclusive lock.
        keep(unsafe { core_api::RawRwLockDowngrade::downgrade(&self.inner, held()) });
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        let _built = built();
        self.inner
            .try_lock_shared_nonrecursive_for(timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_until(&self, timeout: Instant) -> bool {
        let _built = built();
        self.inner
            .try_lock_shared_nonrecursive_until(timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_exclusive_for(&self.inner, timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_until(&self, timeout: Instant) -> bool {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_exclusive_until(&self.inner, timeout)
            .map(keep)
            .is_some()
    }
}

// SAFETY: as above; a recursive reader is admitted while readers hold the lock, even with a
// writer waiting, as parking_lot's.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_shared_recursive(&self) {
        let _built = built();
        keep(core_api::RawRwLock::lock_shared(&self.inner));
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive(&self) -> bool {
        let _built = built();
        core_api::RawRwLock::try_lock_shared(&self.inner)
            .map(keep)
            .is_some()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_shared_for(&self.inner, timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_until(&self, timeout: Instant) -> bool {
        let _built = built();
        core_api::RawRwLockTimed::try_lock_shared_until(&self.inner, timeout)
            .map(keep)
            .is_some()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_upgradable(&self) {
        let _built = built();
        keep(core_api::RawRwLockUpgrade::lock_upgradable(&self.inner));
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable(&self) -> bool {
        let _built = built();
        core_api::RawRwLockUpgrade::try_lock_upgradable(&self.inner)
            .map(keep)
            .is_some()
    }

    #[inline]
    unsafe fn unlock_upgradable(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { core_api::RawRwLockUpgrade::unlock_upgradable(&self.inner, held()) }
    }

    #[inline]
    unsafe fn upgrade(&self) {
        // SAFETY: the caller holds the upgradable lock.
        keep(unsafe { core_api::RawRwLockUpgrade::upgrade(&self.inner, held()) });
    }

    #[inline]
    unsafe fn try_upgrade(&self) -> bool {
        // SAFETY: the caller holds the upgradable lock; whichever state comes back stands for
        // the acquisition it keeps.
        match unsafe { core_api::RawRwLockUpgrade::try_upgrade(&self.inner, held()) } {
            Ok(exclusive) => {
                keep(exclusive);
                true
            }
            Err(upgradable) => {
                keep(upgradable);
                false
            }
        }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { core_api::RawRwLockUpgradeFair::unlock_upgradable_fair(&self.inner, held()) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    #[inline]
    #[track_caller] // the user's site reaches lockdep's raw downgrade (lock_api's is too)
    unsafe fn downgrade_upgradable(&self) {
        // SAFETY: the caller holds the upgradable lock.
        keep(unsafe {
            core_api::RawRwLockUpgradeDowngrade::downgrade_upgradable(&self.inner, held())
        });
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self) {
        // SAFETY: the caller holds the exclusive lock.
        keep(unsafe {
            core_api::RawRwLockUpgradeDowngrade::downgrade_to_upgradable(&self.inner, held())
        });
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        let _built = built();
        core_api::RawRwLockUpgradeTimed::try_lock_upgradable_for(&self.inner, timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable_until(&self, timeout: Instant) -> bool {
        let _built = built();
        core_api::RawRwLockUpgradeTimed::try_lock_upgradable_until(&self.inner, timeout)
            .map(keep)
            .is_some()
    }

    #[inline]
    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: the caller holds the upgradable lock; whichever state comes back stands for
        // the acquisition it keeps.
        match unsafe {
            core_api::RawRwLockUpgradeTimed::try_upgrade_for(&self.inner, held(), timeout)
        } {
            Ok(exclusive) => {
                keep(exclusive);
                true
            }
            Err(upgradable) => {
                keep(upgradable);
                false
            }
        }
    }

    #[inline]
    unsafe fn try_upgrade_until(&self, timeout: Instant) -> bool {
        // SAFETY: as in `try_upgrade_for`.
        match unsafe {
            core_api::RawRwLockUpgradeTimed::try_upgrade_until(&self.inner, held(), timeout)
        } {
            Ok(exclusive) => {
                keep(exclusive);
                true
            }
            Err(upgradable) => {
                keep(upgradable);
                false
            }
        }
    }
}

/// A reader-writer lock, validated by lockdep.
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

/// Creates a new reader-writer lock in an unlocked state (`const`, for statics).
#[track_caller]
pub const fn const_rwlock<T>(val: T) -> RwLock<T> {
    RwLock::const_new(<RawRwLock as lock_api::RawRwLock>::INIT, val)
}

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

/// A mutex which can be recursively locked by a single thread, validated by lockdep (its class
/// is its construction site and data type; lock_api's fork publishes the caller's line for the
/// raw lock it takes in a closure).
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;
/// An RAII implementation of a "scoped lock" of a reentrant mutex.
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A guard of part of a [`ReentrantMutex`]'s data.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// Creates a new reentrant mutex in an unlocked state (`const`, for statics).
#[track_caller]
pub const fn const_reentrant_mutex<T>(val: T) -> ReentrantMutex<T> {
    ReentrantMutex::const_new(
        <RawMutex as lock_api::RawMutex>::INIT,
        <RawThreadId as GetThreadId>::INIT,
        val,
    )
}

/// A type indicating whether a timed wait on a condition variable returned due to a time out or
/// not.
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Returns whether the wait was known to have timed out.
    #[inline]
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A Condition Variable for [`Mutex`], validated by lockdep: a wait is a blocking call, releases
/// the mutex on the held-lock stack while asleep and validates taking it again, at the wait's
/// line (every `wait*` is `#[track_caller]`).
pub struct Condvar {
    raw: lockdep::RawCondvar,
}

impl Condvar {
    /// Creates a new condition variable which is ready to be waited on and notified.
    #[inline]
    pub const fn new() -> Condvar {
        Condvar {
            raw: <lockdep::RawCondvar as core_api::RawCondvar>::INIT,
        }
    }

    /// Wakes up one blocked thread on this condvar; returns whether a thread was woken up.
    #[inline]
    pub fn notify_one(&self) -> bool {
        core_api::RawCondvar::notify_one(&self.raw)
    }

    /// Wakes up all blocked threads on this condvar; returns the number of threads woken up.
    #[inline]
    pub fn notify_all(&self) -> usize {
        core_api::RawCondvar::notify_all(&self.raw)
    }

    fn raw_mutex<'a, T: ?Sized>(mutex_guard: &MutexGuard<'a, T>) -> &'a lockdep::RawMutex {
        // SAFETY: only the raw lock's reference is taken, to wait on it while it is held.
        unsafe { &MutexGuard::mutex(mutex_guard).raw().inner }
    }

    /// Blocks the current thread until this condition variable receives a notification.
    #[inline]
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, mutex_guard: &mut MutexGuard<'_, T>) {
        let mutex = Self::raw_mutex(mutex_guard);
        // The caller is the site of the mutex's re-acquisition.
        let _reacquired = lockdep::AcquiredAt::enter(Some(Location::caller()));
        let token = MutexGuard::lockdep_token(mutex_guard);
        // SAFETY: the guard proves `mutex` is held, by the thread its token names; the state
        // re-made for the wait stands for that acquisition (released on its owner's stack),
        // taken again by this thread when the wait returns, whose token the guard keeps.
        unsafe {
            let mut state = lockdep::RawMutexGuard::assume_held_by(*token);
            core_api::RawCondvar::wait(&self.raw, mutex, &mut state);
            *token = state.owner_token();
            keep_here(state);
        }
    }

    /// Waits on this condition variable for a notification, timing out after the specified
    /// time instant.
    #[inline]
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        let mutex = Self::raw_mutex(mutex_guard);
        let _reacquired = lockdep::AcquiredAt::enter(Some(Location::caller()));
        let token = MutexGuard::lockdep_token(mutex_guard);
        // SAFETY: as in `wait`.
        unsafe {
            let mut state = lockdep::RawMutexGuard::assume_held_by(*token);
            let timed_out =
                core_api::RawCondvarTimed::wait_until(&self.raw, mutex, &mut state, &timeout);
            *token = state.owner_token();
            keep_here(state);
            WaitTimeoutResult(timed_out)
        }
    }

    /// Waits on this condition variable for a notification, timing out after a specified
    /// duration (a duration too long for an `Instant` waits without a time out).
    #[inline]
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_until(mutex_guard, deadline),
            None => {
                self.wait(mutex_guard);
                WaitTimeoutResult(false)
            }
        }
    }

    /// Blocks the current thread until this condition variable receives a notification and the
    /// provided condition is false.
    #[inline]
    #[track_caller]
    pub fn wait_while<T, F>(&self, mutex_guard: &mut MutexGuard<'_, T>, mut condition: F)
    where
        T: ?Sized,
        F: FnMut(&mut T) -> bool,
    {
        while condition(mutex_guard.deref_mut()) {
            self.wait(mutex_guard);
        }
    }

    /// Waits on this condition variable for a notification, timing out after the specified
    /// time instant, while the provided condition is true.
    #[inline]
    #[track_caller]
    pub fn wait_while_until<T, F>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        timeout: Instant,
    ) -> WaitTimeoutResult
    where
        T: ?Sized,
        F: FnMut(&mut T) -> bool,
    {
        let mut result = WaitTimeoutResult(false);
        while !result.timed_out() && condition(mutex_guard.deref_mut()) {
            result = self.wait_until(mutex_guard, timeout);
        }
        result
    }

    /// Waits on this condition variable for a notification, timing out after the specified
    /// duration, while the provided condition is true.
    #[inline]
    #[track_caller]
    pub fn wait_while_for<T: ?Sized, F>(
        &self,
        mutex_guard: &mut MutexGuard<'_, T>,
        condition: F,
        timeout: Duration,
    ) -> WaitTimeoutResult
    where
        F: FnMut(&mut T) -> bool,
    {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_while_until(mutex_guard, condition, deadline),
            None => {
                self.wait_while(mutex_guard, condition);
                WaitTimeoutResult(false)
            }
        }
    }
}

impl Default for Condvar {
    #[inline]
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Condvar { .. }")
    }
}

/// \[Experimental\] Deadlock detection, as parking_lot's feature `deadlock_detection`.
///
/// parking_lot_core's detector finds threads parked in a cycle *after* they deadlocked; the
/// locks of this crate are lockdep's, which reports the order that can deadlock *before* a
/// thread blocks, so the detector never sees them and `check_deadlock` finds no cycle among
/// them. It is kept so that code written for the feature builds and runs.
#[cfg(feature = "deadlock_detection")]
pub mod deadlock {
    pub use parking_lot_core::deadlock::check_deadlock;
}
