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
#[cfg(not(lockdep_off))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many `ONCE_INIT` onces got a class of their own.
#[cfg(not(lockdep_off))]
static PER_INSTANCE_CLASSES: AtomicUsize = AtomicUsize::new(0);
/// At most this many: far more than a program's lazy statics.
#[cfg(not(lockdep_off))]
const MAX_PER_INSTANCE_CLASSES: usize = 1024;

/// The pseudo-lock of one once cell (`OnceLock`, `LazyLock`, `Once`).
pub(crate) struct OnceClass {
    map: LockMap,
    /// Its class is its own (the kernel's rule for a lock in static memory, which has no key
    /// of its own): a `Once` built from `ONCE_INIT`, whose every copy has one site and is first
    /// called in one helper (lazy_static's), so that by the rule for such locks every lazy
    /// static would be one class and one initialised inside another a false recursive report.
    #[cfg_attr(lockdep_off, allow(dead_code))]
    per_instance: bool,
}

impl OnceClass {
    pub(crate) const fn new(map: LockMap) -> Self {
        OnceClass {
            map,
            per_instance: false,
        }
    }

    /// A once whose class is its own (`ONCE_INIT`'s).
    pub(crate) const fn per_instance(map: LockMap) -> Self {
        OnceClass {
            map,
            per_instance: true,
        }
    }

    #[inline(always)]
    fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// Holds the once's class while this thread runs its initialiser or waits for another
    /// thread's: validated like acquiring an exclusive lock, released when the result drops.
    #[inline]
    pub(crate) fn enter(&self, site: &'static Location<'static>) -> OnceHeld<'_> {
        #[cfg(not(lockdep_off))]
        if self.per_instance && runtime::needs_bind(&self.map) {
            // Resolved without a first site: a class of its own. Bounded, as each is a class
            // for good: past the bound (`Once`s built from `ONCE_INIT` on the heap, one per
            // object), the rule for locks built outside the user's code (the first call's site).
            if self.map.has_record()
                || PER_INSTANCE_CLASSES.fetch_add(1, Ordering::Relaxed) < MAX_PER_INSTANCE_CLASSES
            {
                runtime::bind(&self.map, LockKind::Map, None);
            }
        }
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

pub use parking_lot::OnceState;

/// parking_lot's `Once` whose `call_once` is validated as a lock class: running the closure, or
/// waiting for another thread's, holds the once's class. A closure that takes a lock that
/// another path holds while it waits on the `Once` is a cycle, reported before it hangs.
///
/// ```
/// use lockdep::{Mutex, Once, ReportKind};
///
/// let reports = lockdep::capture(|| {
///     let registry = Mutex::with_name("registry", ());
///     let onces: Vec<Once> = (0..2).map(|_| Once::new()).collect(); // one class
///     onces[0].call_once(|| drop(registry.lock())); // once -> registry
///     let _held = registry.lock();
///     onces[1].call_once(|| ()); // registry -> once: a thread running onces[1]'s
///                               // closure and taking registry would never finish
/// });
/// assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
/// ```
pub struct Once {
    once: parking_lot::Once,
    class: OnceClass,
}

impl Once {
    /// A `Once` whose class is this call's site.
    #[track_caller]
    pub const fn new() -> Once {
        Once {
            once: parking_lot::Once::new(),
            class: OnceClass::new(LockMap::new(Location::caller(), None, None)),
        }
    }

    /// A `Once` that has already completed: its closures never run.
    #[track_caller]
    pub const fn new_completed() -> Once {
        Once {
            once: parking_lot::Once::new_completed(),
            class: OnceClass::new(LockMap::new(Location::caller(), None, None)),
        }
    }

    /// A snapshot of its state.
    pub fn state(&self) -> OnceState {
        self.once.state()
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        self.once.is_completed()
    }

    /// Runs `f` if no call has completed yet; validated as acquiring the once's class unless it
    /// has completed.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.enter(Location::caller());
        self.once.call_once(f);
    }

    /// [`call_once`](Self::call_once), also after an earlier call panicked.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(OnceState)>(&self, f: F) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.enter(Location::caller());
        self.once.call_once_force(f);
    }

    /// Blocks until a call has completed (validated like [`call_once`](Self::call_once)).
    #[track_caller]
    pub fn wait(&self) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.enter(Location::caller());
        self.once.wait();
    }

    /// Blocks until a call has completed or panicked.
    #[track_caller]
    pub fn wait_force(&self) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.enter(Location::caller());
        self.once.wait_force();
    }

    fn enter(&self, site: &'static Location<'static>) -> OnceHeld<'_> {
        self.class.enter(site)
    }
}

impl Default for Once {
    /// A `Once` whose class is this call's site.
    #[track_caller]
    fn default() -> Once {
        Once::new()
    }
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once")
            .field("state", &self.state())
            .finish()
    }
}
