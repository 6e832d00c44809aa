//! `Condvar`: parking_lot's condition variable, aware that a wait releases and re-takes the mutex.

use std::time::{Duration, Instant};

use crate::mutex::{RawMutex, RawMutexGuard};
use crate::runtime;

/// The raw condition variable under [`Condvar`].
///
/// A wait is a blocking call (checked like [`might_sleep`](crate::might_sleep)), releases the
/// mutex on the held-lock stack while asleep and validates its re-acquisition on wake-up.
pub struct RawCondvar {
    inner: parking_lot::RawCondvar,
}

impl RawCondvar {
    #[inline]
    fn before_wait(mutex: &RawMutex, guard: &RawMutexGuard) {
        runtime::might_sleep();
        mutex.release_hook(guard);
    }

    #[inline]
    fn after_wait(mutex: &RawMutex, guard: &mut RawMutexGuard) {
        // The mutex is already re-taken by parking_lot; record it as held again, by this thread.
        mutex.record_reacquire();
        guard.now_owned_here();
    }
}

// SAFETY: waiting, notification and timeouts are parking_lot's; the hooks only update this
// thread's bookkeeping around them.
unsafe impl lock_api::RawCondvar for RawCondvar {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawCondvar {
        inner: <parking_lot::RawCondvar as lock_api::RawCondvar>::INIT,
    };
    type RawMutex = RawMutex;

    #[inline]
    unsafe fn wait(&self, mutex: &RawMutex, guard: &mut RawMutexGuard) {
        Self::before_wait(mutex, guard);
        // SAFETY: the caller holds `mutex` with state `guard`, as parking_lot requires.
        unsafe { self.inner.wait(&mutex.inner, guard.inner_mut()) };
        Self::after_wait(mutex, guard);
    }

    #[inline]
    fn notify_one(&self) -> bool {
        self.inner.notify_one()
    }

    #[inline]
    fn notify_all(&self) -> usize {
        self.inner.notify_all()
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawCondvarTimed for RawCondvar {
    fn checked_duration_to_instant(timeout: &Duration) -> Option<Instant> {
        Instant::now().checked_add(*timeout)
    }

    unsafe fn wait_until(
        &self,
        mutex: &RawMutex,
        guard: &mut RawMutexGuard,
        timeout: &Instant,
    ) -> bool {
        Self::before_wait(mutex, guard);
        // SAFETY: the caller holds `mutex` with state `guard`.
        let timed_out = unsafe {
            self.inner
                .wait_until(&mutex.inner, guard.inner_mut(), timeout)
        };
        Self::after_wait(mutex, guard);
        timed_out
    }

    unsafe fn wait_for(
        &self,
        mutex: &RawMutex,
        guard: &mut RawMutexGuard,
        timeout: &Duration,
    ) -> bool {
        Self::before_wait(mutex, guard);
        // SAFETY: the caller holds `mutex` with state `guard`.
        let timed_out = unsafe {
            self.inner
                .wait_for(&mutex.inner, guard.inner_mut(), timeout)
        };
        Self::after_wait(mutex, guard);
        timed_out
    }
}

/// A condition variable for [`Mutex`](crate::Mutex), with all of parking_lot's waits
/// (`wait`, `wait_while`, `wait_for`, `wait_until`, ...).
///
/// ```
/// use lockdep::{Condvar, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = pair.clone();
/// let t = std::thread::spawn(move || {
///     *pair2.0.lock() = true;
///     pair2.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// pair.1.wait_while(&mut ready, |r| !*r);
/// assert!(*ready);
/// drop(ready);
/// t.join().unwrap();
/// ```
pub type Condvar = lock_api::Condvar<RawCondvar>;
