//! One-time initialisation modelled as a lock class, as lockdep models completions: running an
//! initialiser, and waiting for one, hold the once's class. A lock taken inside the initialiser
//! depends on the once (`once → A`); calling it while holding a lock makes the once depend on
//! that lock (`A → once`). So an initialiser that takes a lock that a caller holds while it waits
//! for the initialiser is a cycle, reported before it hangs; so is an initialiser that waits for
//! its own once.

use std::panic::Location;

use crate::class::LockKind;
use crate::held::Mode;
use crate::runtime::{self, LockMap, Request};

/// The pseudo-lock of one once cell (`OnceLock`, `LazyLock`, `Once`).
pub(crate) struct OnceClass {
    map: LockMap,
}

impl OnceClass {
    pub(crate) const fn new(map: LockMap) -> Self {
        OnceClass { map }
    }

    #[inline(always)]
    fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// Holds the once's class while this thread runs its initialiser or waits for another
    /// thread's: validated like acquiring an exclusive lock, released when the result drops.
    #[inline]
    pub(crate) fn enter(&self, site: &'static Location<'static>) -> OnceHeld<'_> {
        runtime::before_lock(Request {
            map: &self.map,
            instance: self.id(),
            kind: LockKind::Map,
            mode: Mode::Write,
            subclass: 0,
            nest_lock: None,
            site: Some(site),
        });
        OnceHeld { once: self }
    }
}

/// The once's class held by this thread; released on drop (also when the initialiser panics).
pub(crate) struct OnceHeld<'a> {
    once: &'a OnceClass,
}

impl Drop for OnceHeld<'_> {
    #[inline]
    fn drop(&mut self) {
        runtime::on_release(&self.once.map, self.once.id(), LockKind::Map);
    }
}
