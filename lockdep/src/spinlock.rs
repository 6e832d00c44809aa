//! `SpinLock`: a busy-waiting lock, the kernel's `spinlock_t`, validated like `Mutex` plus the
//! wait-context rule: nothing that may block (a sleeping lock, a `Condvar` wait,
//! [`might_sleep`](crate::might_sleep)) is allowed while one is held.

use std::hint::spin_loop;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::class::{ClassKey, LockKind};
use crate::held::{InstanceId, Mode};
use crate::runtime::{
    self, GuardMarker, LockMap, Lockable, Owner, Request, ZeroPad, private::Sealed,
};

/// Proof that a thread holds a [`RawSpinLock`]; not `Send`, since the held-lock stack is per
/// thread (`Send` under the feature `send_guard`, which records the acquiring thread in it).
pub struct RawSpinLockGuard {
    owner: Owner,
    _marker: GuardMarker,
}

// SAFETY: a shared reference to the proof allows nothing: it is used only by value or by `&mut`,
// on the thread that owns it.
unsafe impl Sync for RawSpinLockGuard {}

impl RawSpinLockGuard {
    fn new() -> Self {
        RawSpinLockGuard {
            owner: Owner::current(),
            _marker: PhantomData,
        }
    }
}

/// Busy-wait pacing: spin with a growing number of `spin_loop` hints, then yield the time slice
/// so a preempted holder can run (user space cannot disable preemption the way the kernel does).
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 6;

    pub(crate) fn new() -> Self {
        Backoff { step: 0 }
    }

    #[inline(always)]
    pub(crate) fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                spin_loop();
            }
            self.step += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// The raw lock under [`SpinLock`]: one atomic flag plus the lockdep hooks, so every `lock_api`
/// guard operation (`unlocked`, `bump`, `map`) is tracked too.
///
/// | `locked` | meaning |
/// |---|---|
/// | `false` | free |
/// | `true`  | held by exactly one thread (set with `Acquire`, cleared with `Release`) |
// In this order (`ZeroPad`): the flag's word last, next to the data of a lock_api mutex.
#[repr(C)]
pub struct RawSpinLock {
    map: LockMap,
    locked: AtomicBool,
    _zero: ZeroPad,
}

impl RawSpinLock {
    #[inline]
    pub(crate) const fn with_map(map: LockMap) -> Self {
        RawSpinLock {
            locked: AtomicBool::new(false),
            _zero: ZeroPad::NEW,
            map,
        }
    }

    #[inline(always)]
    pub(crate) fn lock_map_ref(&self) -> &LockMap {
        &self.map
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
            kind: LockKind::SpinLock,
            mode: Mode::Write,
            subclass,
            nest_lock,
            site,
        }
    }

    /// Test-and-test-and-set: waiters spin on a plain load, so the cache line stays shared until
    /// the holder releases it.
    #[inline(always)]
    fn acquire(&self) {
        let mut backoff = Backoff::new();
        loop {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
            while self.locked.load(Ordering::Relaxed) {
                backoff.snooze();
            }
        }
    }

    #[inline(always)]
    fn try_acquire(&self) -> bool {
        !self.locked.load(Ordering::Relaxed)
            && self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Validates first (a would-be deadlock is reported instead of spinning forever), then spins.
    #[inline(always)]
    pub(crate) fn lock_at(
        &self,
        subclass: u32,
        nest_lock: Option<InstanceId>,
        site: Option<&'static Location<'static>>,
    ) -> RawSpinLockGuard {
        runtime::before_lock(self.request(subclass, nest_lock, site));
        self.acquire();
        RawSpinLockGuard::new()
    }

    #[inline(always)]
    pub(crate) fn try_lock_at(
        &self,
        site: Option<&'static Location<'static>>,
    ) -> Option<(RawSpinLockGuard, runtime::Pending)> {
        if !self.try_acquire() {
            return None;
        }
        Some((
            RawSpinLockGuard::new(),
            runtime::after_trylock(self.request(0, None, site)),
        ))
    }

    fn release(&self, guard: &RawSpinLockGuard) {
        // Reported after the unlock: a report in panic mode leaves the lock released.
        let reports = runtime::on_release_by(&self.map, self.id(), LockKind::SpinLock, guard.owner);
        self.locked.store(false, Ordering::Release);
        reports.dispatch();
    }
}

// SAFETY: `acquire`/`try_acquire` set the flag from false to true with `Acquire` ordering, so only
// one thread at a time holds it, and `release` clears it with `Release` ordering. Guard state is
// created only by a successful acquisition and consumed by `unlock`. The hooks only update this
// thread's bookkeeping; a panicking hook in `lock` panics before the flag is set.
unsafe impl lock_api::RawMutex for RawSpinLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawSpinLock::with_map(LockMap::raw_init());
    type Guard = RawSpinLockGuard;

    #[track_caller]
    fn lock(&self) -> RawSpinLockGuard {
        self.lock_at(0, None, Some(Location::caller()))
    }

    #[track_caller]
    fn try_lock(&self) -> Option<RawSpinLockGuard> {
        let (g, pending) = self.try_lock_at(Some(Location::caller()))?;
        // SAFETY: `g` is the acquisition of this lock just made.
        Some(pending.dispatch_or_undo(g, |g| unsafe { lock_api::RawMutex::unlock(self, g) }))
    }

    unsafe fn unlock(&self, guard: RawSpinLockGuard) {
        self.release(&guard);
    }

    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

// SAFETY: as above. A spin lock has no queue, so a fair unlock is an ordinary unlock.
unsafe impl lock_api::RawMutexFair for RawSpinLock {
    unsafe fn unlock_fair(&self, guard: RawSpinLockGuard) {
        self.release(&guard);
    }
}

/// A guard of a [`SpinLock`]; all of `lock_api`'s guard functions (`map`, `unlocked`, ...) work.
pub type SpinLockGuard<'a, T> = lock_api::MutexGuard<'a, RawSpinLock, T>;
/// A guard of part of a [`SpinLock`]'s data.
pub type MappedSpinLockGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawSpinLock, T>;

crate::exclusive::exclusive_lock! {
/// A busy-waiting mutual-exclusion lock (the kernel's `spinlock_t`) with lockdep validation.
///
/// Waiters spin instead of sleeping (after a short while they also yield their time slice, since
/// user space cannot stop the holder from being preempted), so the critical section must be short
/// and must not block:
/// taking a [`Mutex`](crate::Mutex) or [`RwLock`](crate::RwLock), waiting on a
/// [`Condvar`](crate::Condvar) or calling [`might_sleep`](crate::might_sleep) while a spin lock
/// is held is an *invalid wait context* report. Spin locks nest inside sleeping locks and inside
/// other spin locks. Classes follow the same rules as [`Mutex`](crate::Mutex): the construction
/// site, a name, or a [`ClassKey`].
///
/// ```
/// use lockdep::{Mutex, ReportKind, SpinLock};
///
/// let reports = lockdep::capture(|| {
///     let stats = SpinLock::with_name("stats", 0u64);
///     let config = Mutex::with_name("config", ());
///     *stats.lock() += 1; // fine
///     let _s = stats.lock();
///     let _c = config.lock(); // a sleeping lock inside a spin lock
/// });
/// assert_eq!(reports[0].kind(), ReportKind::InvalidWaitContext);
/// assert!(reports[0].to_string().contains("context-{2:2}"));
/// ```
    name: SpinLock,
    raw: RawSpinLock,
    raw_guard: RawSpinLockGuard,
    guard: SpinLockGuard,
    kind: LockKind::SpinLock,
    what: "spin lock",
    nested_fn: "spin_lock_nested",
    nest_lock_fn: "spin_lock_nest_lock",
    lock_doc: "Acquires the lock, spinning until it is free. The order is validated first: a would-be deadlock is reported before this thread starts spinning.",
    try_lock_doc: "Takes the lock if it is free. A trylock cannot deadlock (and never spins), so no dependency ends in it and it is allowed in any wait context; locks taken while holding it depend on it.",
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_across_threads() {
        let lock = Arc::new(SpinLock::new(0u64));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*lock.lock(), 8_000);
    }

    #[test]
    fn try_lock_fails_while_held_and_succeeds_after() {
        let lock = SpinLock::new(());
        let g = lock.lock();
        assert!(lock.is_locked());
        assert!(lock.try_lock().is_none());
        drop(g);
        assert!(!lock.is_locked());
        assert!(lock.try_lock().is_some());
    }

    #[test]
    fn guard_functions_of_lock_api_work() {
        let lock = SpinLock::new((1u32, 2u32));
        let mut g = lock.lock();
        lock_api::MutexGuard::unlocked(&mut g, || assert!(!lock.is_locked()));
        let mut second = lock_api::MutexGuard::map(g, |p| &mut p.1);
        *second += 1;
        drop(second);
        assert_eq!(lock.into_inner(), (1, 3));
    }
}
