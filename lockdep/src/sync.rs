//! The atomics of the lock-free parts (the known-chain set and the seqcount protocol): loom's
//! under `--cfg loom`, so its model checker explores their interleavings and memory orderings
//! (`tests/loom.rs`); otherwise the core ones, re-exported as they are (nothing added). The
//! chain set's growth lock too (loom's `Mutex`, or std's).

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;

/// Paces a busy wait: `Backoff`'s spinning and yielding, or under loom a yield to the model's
/// scheduler (a spin it cannot see would never let the thread it waits for run).
pub(crate) struct SpinWait {
    #[cfg(not(loom))]
    backoff: crate::spinlock::Backoff,
}

impl SpinWait {
    pub(crate) fn new() -> Self {
        SpinWait {
            #[cfg(not(loom))]
            backoff: crate::spinlock::Backoff::new(),
        }
    }

    #[inline]
    pub(crate) fn snooze(&mut self) {
        #[cfg(not(loom))]
        self.backoff.snooze();
        #[cfg(loom)]
        loom::thread::yield_now();
    }
}

/// Declares a `const fn` that loses its `const` under `--cfg loom`, where the atomics it builds
/// are loom's (they have no `const` constructor; the model builds its values at run time).
macro_rules! const_unless_loom {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}
pub(crate) use const_unless_loom;
