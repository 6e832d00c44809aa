//! The async hazard rules (`lockdep::tokio`, docs/async.md) in the form both the live hooks
//! and replay apply: which held lock a rule reports, and the switches that turn rules off.

use std::cell::Cell;

use crate::class::LockKind;
use crate::held::{InstanceId, ThreadState};
use crate::trace::Wait;

#[cfg(feature = "tokio")]
pub use switches::{Hazard, hazard_enabled, set_hazard};

/// The switches of the rules (live only: replay applies a rule where the trace says it ran).
#[cfg(feature = "tokio")]
mod switches {
    use std::sync::atomic::{AtomicU8, Ordering};

    /// The async hazard rules, each of which can be switched off ([`set_hazard`], or the
    /// environment: `LOCKDEP_AWAIT_HOLDING_LOCK=0`, `LOCKDEP_BLOCKING_HOLDING_ASYNC_LOCK=0`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Hazard {
        /// [`ReportKind::AwaitHoldingLock`](crate::ReportKind::AwaitHoldingLock): an async lock's acquisition, or a tracked task's poll
        /// that returns `Pending`, while the task holds a blocking lock.
        AwaitHoldingLock,
        /// [`ReportKind::BlockingHoldingAsyncLock`](crate::ReportKind::BlockingHoldingAsyncLock): `blocking_lock` / `blocking_read` /
        /// `blocking_write` inside a tracked task's poll while it holds an async lock.
        BlockingHoldingAsyncLock,
    }

    impl Hazard {
        fn bit(self) -> u8 {
            match self {
                Hazard::AwaitHoldingLock => 1,
                Hazard::BlockingHoldingAsyncLock => 2,
            }
        }

        fn env_var(self) -> &'static str {
            match self {
                Hazard::AwaitHoldingLock => "LOCKDEP_AWAIT_HOLDING_LOCK",
                Hazard::BlockingHoldingAsyncLock => "LOCKDEP_BLOCKING_HOLDING_ASYNC_LOCK",
            }
        }
    }

    // Bit 7: read from the environment; bits 0-1: the hazards that are off.
    const HAZARDS_READ: u8 = 0x80;
    static HAZARDS_OFF: AtomicU8 = AtomicU8::new(0);

    fn hazards_off() -> u8 {
        let h = HAZARDS_OFF.load(Ordering::Relaxed);
        if h & HAZARDS_READ != 0 {
            return h;
        }
        let mut off = HAZARDS_READ;
        for hazard in [Hazard::AwaitHoldingLock, Hazard::BlockingHoldingAsyncLock] {
            match std::env::var(hazard.env_var()).as_deref() {
                Ok("0" | "off" | "false" | "no") => off |= hazard.bit(),
                Ok("1" | "on" | "true" | "yes" | "") | Err(_) => {}
                Ok(other) => eprintln!(
                    "lockdep: ignoring {}={other:?}: expected on or off",
                    hazard.env_var()
                ),
            }
        }
        let _ = HAZARDS_OFF.compare_exchange(h, off, Ordering::Relaxed, Ordering::Relaxed);
        HAZARDS_OFF.load(Ordering::Relaxed)
    }

    /// Switches one of the async hazard rules on or off for the whole process (both start on,
    /// unless their environment variable says `0`). A rule switched on again reports only chains
    /// validated from then on.
    pub fn set_hazard(hazard: Hazard, on: bool) {
        let _ = hazards_off();
        if on {
            HAZARDS_OFF.fetch_and(!hazard.bit(), Ordering::Relaxed);
        } else {
            HAZARDS_OFF.fetch_or(hazard.bit(), Ordering::Relaxed);
        }
    }

    /// Whether a hazard rule is on.
    pub fn hazard_enabled(hazard: Hazard) -> bool {
        hazards_off() & hazard.bit() == 0
    }
}

/// The await hazard: the topmost held lock a task must not await under — a blocking one,
/// sleeping (or, with `spin`, spinning: under an async acquisition a spin lock is the
/// wait-context rule's report already, under a `Pending` poll it is this one's).
pub(crate) fn await_hazard(
    thread: &ThreadState,
    spin: bool,
    is_async: impl Fn(InstanceId) -> bool,
) -> Option<usize> {
    thread.held.iter().rposition(|h| {
        let blocking = match h.kind() {
            LockKind::Mutex | LockKind::RwLock => true,
            LockKind::SpinLock => spin,
            LockKind::SeqCount | LockKind::Map => false,
        };
        blocking && !is_async(h.instance())
    })
}

/// The blocking hazard: the topmost async lock held under a `blocking_*` acquisition.
pub(crate) fn blocking_hazard(
    thread: &ThreadState,
    is_async: impl Fn(InstanceId) -> bool,
) -> Option<usize> {
    thread.held.iter().rposition(|h| is_async(h.instance()))
}

thread_local! {
    // How the acquisition being validated on this thread waits, when a hazard rule checks it:
    // a trace records it with the acquisition, so replay applies the same rule.
    static WAIT: Cell<Option<Wait>> = const { Cell::new(None) };
}

/// Notes `wait` for the acquisition validated on this thread until the result drops.
#[cfg(feature = "tokio")]
pub(crate) fn note(wait: Wait) -> Noted {
    Noted(WAIT.try_with(|w| w.replace(Some(wait))).ok().flatten())
}

/// The note of [`note`]; the previous one comes back when it drops (also on unwinding).
#[cfg(feature = "tokio")]
pub(crate) struct Noted(Option<Wait>);

#[cfg(feature = "tokio")]
impl Drop for Noted {
    fn drop(&mut self) {
        let _ = WAIT.try_with(|w| w.set(self.0));
    }
}

/// The wait noted for the acquisition being validated on this thread.
pub(crate) fn noted() -> Option<Wait> {
    WAIT.try_with(Cell::get).ok().flatten()
}
