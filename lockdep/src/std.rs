//! `std::sync`'s API over the validated locks: poisoning, [`LockResult`], [`TryLockError`], and
//! [`OnceLock`], [`LazyLock`] and [`Once`] modelled as lock classes. A `std::sync` user changes
//! one `use` line:
//!
//! ```
//! use lockdep::std::{Arc, Condvar, Mutex}; // was: use std::sync::{Arc, Condvar, Mutex};
//!
//! let pair = Arc::new((Mutex::new(false), Condvar::new()));
//! let pair2 = Arc::clone(&pair);
//! let t = std::thread::spawn(move || {
//!     *pair2.0.lock().unwrap() = true;
//!     pair2.1.notify_one();
//! });
//! let (lock, cvar) = &*pair;
//! let ready = cvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
//! assert!(*ready);
//! # drop(ready);
//! # t.join().unwrap();
//! ```
//!
//! Everything of std's locks that is stable in the crate's Rust version (1.95) is here, with
//! std's signatures: `RwLockWriteGuard::downgrade`, `LazyLock::get`/`get_mut`/`force_mut` and
//! `DerefMut`, `Once::wait_force`, `OnceLock::wait`, and std's unwind safety (a closure that
//! borrows a lock may cross `catch_unwind`: a panic poisons the lock). std's unstable parts
//! (mapped guards, `Mutex::set`/`replace`/`get_cloned`, `OnceLock::get_or_try_init`) are not.
//!
//! Beyond std's API, the annotations a validator needs: [`Mutex::lock_nested`],
//! [`Mutex::lock_nest_lock`], [`RwLock::write_nested`] and [`RwLock::read_nested`], for locks of
//! one class held together on purpose (the shards of a table, taken in a fixed order), and the
//! constructors `with_name` and `with_class`.
//!
//! Import from this module by name rather than glob-importing the crate root: `use lockdep::*`
//! would bring this module in as `std` and shadow the standard library in that scope.
//!
//! [`WaitTimeoutResult`] is lock_api's, with std's `timed_out()`: std's type has no public
//! constructor, so code that names `std::sync::WaitTimeoutResult` by its full path (rather than
//! through the `use` line) needs that path changed too.
//!
//! Classes follow the crate's rules (construction site and data type, refined at the first
//! acquisition for sites that are not your code). A lock is poisoned when a thread panics while
//! holding it (for [`RwLock`], while holding it for writing), exactly as in `std`.
//!
//! One-time initialisation is validated as a lock class of its own, as the kernel's lockdep
//! models completions: an initialiser that takes a lock held by a thread waiting for that
//! initialiser is a deadlock, reported the first time both orders are seen, whether or not the
//! threads ever collide:
//!
//! ```
//! use lockdep::std::{Mutex, OnceLock};
//! use lockdep::ReportKind;
//!
//! let reports = lockdep::capture(|| {
//!     let registry = Mutex::new(7);
//!     let cells: Vec<OnceLock<u32>> = (0..2).map(|_| OnceLock::new()).collect(); // one class
//!     cells[0].get_or_init(|| *registry.lock().unwrap()); // once -> registry
//!     let _held = registry.lock().unwrap();
//!     cells[1].get_or_init(|| 0); // registry -> once: had another thread been initialising
//!                                 // it, taking registry, both would wait forever
//! });
//! assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
//! ```

use ::std::cell::UnsafeCell;
use ::std::fmt;
use ::std::ops::{Deref, DerefMut};
use ::std::panic::Location;
use ::std::sync::atomic::{AtomicBool, Ordering};
use ::std::time::Duration;

pub use ::std::sync::{
    Arc, Barrier, BarrierWaitResult, LockResult, OnceState, PoisonError, TryLockError,
    TryLockResult, Weak, atomic, mpsc,
};
pub use lock_api::WaitTimeoutResult;

use crate::class::ClassKey;
use crate::once::OnceClass;
use crate::runtime::{LockMap, Lockable, private::Sealed};

/// Whether a thread panicked while holding a lock.
struct Poison(AtomicBool);

impl Poison {
    const fn new() -> Self {
        Poison(AtomicBool::new(false))
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// `guard` as a [`LockResult`]: an error carrying it if the lock is poisoned.
    fn result<G>(&self, guard: G) -> LockResult<G> {
        if self.get() {
            Err(PoisonError::new(guard))
        } else {
            Ok(guard)
        }
    }

    /// Called when a guard that was taken while `panicking` drops: a panic that started since
    /// poisons the lock.
    fn done(&self, panicking: bool) {
        if !panicking && ::std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

// ----- Mutex -----

/// `std::sync::Mutex` with lockdep validation: [`lock`](Self::lock) returns a [`LockResult`] and
/// a panic while holding the lock poisons it.
///
/// ```
/// use lockdep::std::Mutex;
///
/// let m = Mutex::new(1);
/// *m.lock().unwrap() += 1;
/// assert_eq!(m.into_inner().unwrap(), 2);
/// ```
pub struct Mutex<T: ?Sized> {
    poison: Poison,
    inner: crate::Mutex<T>,
}

// As std's: a panic while the lock is held poisons it, so a closure that borrows the lock may
// cross `catch_unwind` (std implements both for every `T`).
impl<T: ?Sized> ::std::panic::UnwindSafe for Mutex<T> {}
impl<T: ?Sized> ::std::panic::RefUnwindSafe for Mutex<T> {}

impl<T> Mutex<T> {
    /// A mutex whose class is this call's site and the type `T`.
    #[track_caller]
    pub const fn new(t: T) -> Self {
        Mutex {
            poison: Poison::new(),
            inner: crate::Mutex::new(t),
        }
    }

    /// A mutex whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str, t: T) -> Self {
        Mutex {
            poison: Poison::new(),
            inner: crate::Mutex::with_name(name, t),
        }
    }

    /// A mutex of the class of `key`.
    #[track_caller]
    pub const fn with_class(key: &'static ClassKey, t: T) -> Self {
        Mutex {
            poison: Poison::new(),
            inner: crate::Mutex::with_class(key, t),
        }
    }

    /// A std-flavoured mutex over `inner`, not poisoned (a deserialized lock).
    #[cfg(feature = "serde")]
    pub(crate) fn from_validated(inner: crate::Mutex<T>) -> Self {
        Mutex {
            poison: Poison::new(),
            inner,
        }
    }

    /// Consumes the mutex and returns its data (an error carrying it if poisoned).
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        let t = self.inner.into_inner();
        if poisoned {
            Err(PoisonError::new(t))
        } else {
            Ok(t)
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex, validating the order first (a would-be deadlock is reported before
    /// this thread blocks).
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = self.inner.lock();
        self.poison.result(MutexGuard::new(self, guard))
    }

    /// [`lock`](Self::lock) as subclass `subclass` of the mutex's class, for deliberate nesting
    /// of one class (the kernel's `mutex_lock_nested`; not in std). Locks built in one place,
    /// say the shards of a table, are one class, so holding two of them is reported as
    /// possible recursive locking; taking them in a fixed order, each as its own subclass, says
    /// the nesting is meant:
    ///
    /// ```
    /// use lockdep::std::Mutex;
    ///
    /// let shards: Vec<Mutex<u32>> = (0..4).map(|_| Mutex::new(0)).collect(); // one class
    /// let reports = lockdep::capture(|| {
    ///     let all: Vec<_> = (0..4).map(|i| shards[i].lock_nested(i as u32).unwrap()).collect();
    ///     drop(all);
    /// });
    /// assert!(reports.is_empty());
    /// ```
    #[track_caller]
    pub fn lock_nested(&self, subclass: u32) -> LockResult<MutexGuard<'_, T>> {
        let guard = self.inner.lock_nested(subclass);
        self.poison.result(MutexGuard::new(self, guard))
    }

    /// [`lock`](Self::lock) under `nest`, which this thread holds and which serialises every
    /// lock of this class (the kernel's `mutex_lock_nest_lock`; not in std): many locks of one
    /// class may then be held at once.
    #[track_caller]
    pub fn lock_nest_lock(&self, nest: &impl Lockable) -> LockResult<MutexGuard<'_, T>> {
        let guard = self.inner.lock_nest_lock(nest);
        self.poison.result(MutexGuard::new(self, guard))
    }

    /// Takes the mutex if it is free now (a trylock: no dependency ends in it).
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        match self.inner.try_lock() {
            Some(guard) => Ok(self.poison.result(MutexGuard::new(self, guard))?),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Whether a thread panicked while holding the mutex.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The data, through exclusive access (an error carrying it if poisoned).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let data = self.inner.get_mut();
        if poisoned {
            Err(PoisonError::new(data))
        } else {
            Ok(data)
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    /// A mutex of `T::default()`; its class is set at its first acquisition (see
    /// [`ClassOrigin`](crate::ClassOrigin)).
    #[track_caller]
    fn default() -> Self {
        Mutex {
            poison: Poison::new(),
            inner: crate::Mutex::default(),
        }
    }
}

impl<T> From<T> for Mutex<T> {
    /// A mutex of `t`; its class is set at its first acquisition (`From` is called from
    /// generic code as often as not).
    #[track_caller]
    fn from(t: T) -> Self {
        Mutex {
            poison: Poison::new(),
            inner: crate::Mutex::from(t),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.inner.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            // std's `Mutex` prints a string here (quoted), its `RwLock` does not.
            None => d.field("data", &"<locked>"),
        };
        d.field("poisoned", &self.poison.get())
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> Sealed for Mutex<T> {}
impl<T: ?Sized> Lockable for Mutex<T> {
    fn lock_map(&self) -> (&LockMap, usize, crate::LockKind) {
        self.inner.lock_map()
    }
}

/// A guard of a [`Mutex`]: the lock is released (and poisoned, if this thread is panicking)
/// when it drops.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    lock: &'a Mutex<T>,
    panicking: bool,
    guard: crate::MutexGuard<'a, T>,
}

// As std's (through its `&Mutex`/`&RwLock`, which are `RefUnwindSafe`): a guard may cross
// `catch_unwind`, poisoning says what a panic left.
impl<T: ?Sized> ::std::panic::UnwindSafe for MutexGuard<'_, T> {}
impl<T: ?Sized> ::std::panic::RefUnwindSafe for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(lock: &'a Mutex<T>, guard: crate::MutexGuard<'a, T>) -> Self {
        MutexGuard {
            lock,
            panicking: ::std::thread::panicking(),
            guard,
        }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // Before the field `guard` unlocks.
        self.lock.poison.done(self.panicking);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// ----- Condvar -----

/// `std::sync::Condvar` for this module's [`Mutex`]: a wait is a blocking call (reported inside
/// a spin lock), releases the mutex on the held-lock stack and validates its re-acquisition.
///
/// ```
/// use lockdep::std::{Condvar, Mutex};
/// use std::time::Duration;
///
/// let (m, c) = (Mutex::new(0), Condvar::new());
/// let (guard, result) = c.wait_timeout(m.lock().unwrap(), Duration::from_millis(1)).unwrap();
/// assert!(result.timed_out());
/// assert_eq!(*guard, 0);
/// ```
#[derive(Default)]
pub struct Condvar {
    inner: crate::Condvar,
}

impl Condvar {
    /// A condition variable.
    pub const fn new() -> Self {
        Condvar {
            inner: crate::Condvar::new(),
        }
    }

    /// Releases the mutex of `guard`, waits for a notification and re-takes it.
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.inner.wait(&mut guard.guard);
        guard.lock.poison.result(guard)
    }

    /// Waits while `condition` holds for the data.
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        self.inner.wait_while(&mut guard.guard, condition);
        guard.lock.poison.result(guard)
    }

    /// Waits for a notification at most `dur`.
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let result = self.inner.wait_for(&mut guard.guard, dur);
        let poison = &guard.lock.poison;
        poison.result((guard, result))
    }

    /// Waits for a notification at most `ms` milliseconds; `false` if the time ran out (std's
    /// deprecated `wait_timeout_ms`).
    #[deprecated(since = "1.6.0", note = "replaced by `wait_timeout`")]
    pub fn wait_timeout_ms<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        ms: u32,
    ) -> LockResult<(MutexGuard<'a, T>, bool)> {
        let map =
            |(guard, result): (MutexGuard<'a, T>, WaitTimeoutResult)| (guard, !result.timed_out());
        match self.wait_timeout(guard, Duration::from_millis(ms.into())) {
            Ok(r) => Ok(map(r)),
            Err(e) => Err(PoisonError::new(map(e.into_inner()))),
        }
    }

    /// Waits while `condition` holds, at most `dur`.
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let result = self.inner.wait_while_for(&mut guard.guard, condition, dur);
        let poison = &guard.lock.poison;
        poison.result((guard, result))
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

// ----- RwLock -----

/// `std::sync::RwLock` with lockdep validation. Its readers are non-recursive (`r`: a reader
/// queues behind a waiting writer, as std's own on most platforms); a writer that panics
/// poisons it.
///
/// ```
/// use lockdep::std::RwLock;
///
/// let l = RwLock::new(5);
/// assert_eq!(*l.read().unwrap(), 5);
/// *l.write().unwrap() += 1;
/// assert_eq!(*l.read().unwrap(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    poison: Poison,
    inner: crate::RwLock<T>,
}

// As std's (see `Mutex`).
impl<T: ?Sized> ::std::panic::UnwindSafe for RwLock<T> {}
impl<T: ?Sized> ::std::panic::RefUnwindSafe for RwLock<T> {}

impl<T> RwLock<T> {
    /// A lock whose class is this call's site and the type `T`.
    #[track_caller]
    pub const fn new(t: T) -> Self {
        RwLock {
            poison: Poison::new(),
            inner: crate::RwLock::new(t),
        }
    }

    /// A std-flavoured lock over `inner`, not poisoned (a deserialized lock).
    #[cfg(feature = "serde")]
    pub(crate) fn from_validated(inner: crate::RwLock<T>) -> Self {
        RwLock {
            poison: Poison::new(),
            inner,
        }
    }

    /// A lock whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str, t: T) -> Self {
        RwLock {
            poison: Poison::new(),
            inner: crate::RwLock::with_name(name, t),
        }
    }

    /// A lock of the class of `key`.
    #[track_caller]
    pub const fn with_class(key: &'static ClassKey, t: T) -> Self {
        RwLock {
            poison: Poison::new(),
            inner: crate::RwLock::with_class(key, t),
        }
    }

    /// Consumes the lock and returns its data (an error carrying it if poisoned).
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        let t = self.inner.into_inner();
        if poisoned {
            Err(PoisonError::new(t))
        } else {
            Ok(t)
        }
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access, validated first.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let guard = self.inner.read();
        self.poison.result(RwLockReadGuard { guard })
    }

    /// [`read`](Self::read) as subclass `subclass` (deliberate same-class nesting of readers,
    /// the kernel's `down_read_nested`; not in std).
    #[track_caller]
    pub fn read_nested(&self, subclass: u32) -> LockResult<RwLockReadGuard<'_, T>> {
        let guard = self.inner.read_nested(subclass);
        self.poison.result(RwLockReadGuard { guard })
    }

    /// Shared access if available now.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        match self.inner.try_read() {
            Some(guard) => Ok(self.poison.result(RwLockReadGuard { guard })?),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Exclusive access, validated first.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let guard = self.inner.write();
        self.poison.result(RwLockWriteGuard::new(self, guard))
    }

    /// [`write`](Self::write) as subclass `subclass` (deliberate same-class nesting, the
    /// kernel's `down_write_nested`; not in std): e.g. a sharded lock's writer taking every
    /// shard in index order, shard `i` as subclass `i`.
    #[track_caller]
    pub fn write_nested(&self, subclass: u32) -> LockResult<RwLockWriteGuard<'_, T>> {
        let guard = self.inner.write_nested(subclass);
        self.poison.result(RwLockWriteGuard::new(self, guard))
    }

    /// Exclusive access if available now.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        match self.inner.try_write() {
            Some(guard) => Ok(self.poison.result(RwLockWriteGuard::new(self, guard))?),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Whether a writer panicked while holding the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The data, through exclusive access (an error carrying it if poisoned).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let data = self.inner.get_mut();
        if poisoned {
            Err(PoisonError::new(data))
        } else {
            Ok(data)
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    /// A lock of `T::default()`; its class is set at its first acquisition.
    #[track_caller]
    fn default() -> Self {
        RwLock {
            poison: Poison::new(),
            inner: crate::RwLock::default(),
        }
    }
}

impl<T> From<T> for RwLock<T> {
    /// A lock of `t`; its class is set at its first acquisition.
    #[track_caller]
    fn from(t: T) -> Self {
        RwLock {
            poison: Poison::new(),
            inner: crate::RwLock::from(t),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.inner.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get())
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> Sealed for RwLock<T> {}
impl<T: ?Sized> Lockable for RwLock<T> {
    fn lock_map(&self) -> (&LockMap, usize, crate::LockKind) {
        self.inner.lock_map()
    }
}

/// A read guard of a [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    guard: crate::RwLockReadGuard<'a, T>,
}

// As std's (through its `&Mutex`/`&RwLock`, which are `RefUnwindSafe`): a guard may cross
// `catch_unwind`, poisoning says what a panic left.
impl<T: ?Sized> ::std::panic::UnwindSafe for RwLockReadGuard<'_, T> {}
impl<T: ?Sized> ::std::panic::RefUnwindSafe for RwLockReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A write guard of a [`RwLock`]: the lock is poisoned if this thread panics while holding it.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    panicking: bool,
    guard: crate::RwLockWriteGuard<'a, T>,
}

// As std's (through its `&Mutex`/`&RwLock`, which are `RefUnwindSafe`): a guard may cross
// `catch_unwind`, poisoning says what a panic left.
impl<T: ?Sized> ::std::panic::UnwindSafe for RwLockWriteGuard<'_, T> {}
impl<T: ?Sized> ::std::panic::RefUnwindSafe for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, guard: crate::RwLockWriteGuard<'a, T>) -> Self {
        RwLockWriteGuard {
            lock,
            panicking: ::std::thread::panicking(),
            guard,
        }
    }

    /// Makes the write a read without letting a writer in between (std's
    /// `RwLockWriteGuard::downgrade`). lockdep holds the lock as a read from here on; a report
    /// that shows it names this call's site as where it was downgraded. As in std, the write
    /// ends here without poisoning: a read guard never poisons.
    ///
    /// ```
    /// use lockdep::std::{RwLock, RwLockWriteGuard};
    ///
    /// let l = RwLock::new(1);
    /// let mut w = l.write().unwrap();
    /// *w += 1;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert!(l.try_read().is_ok() && l.try_write().is_err());
    /// ```
    #[track_caller]
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let s = ::std::mem::ManuallyDrop::new(s);
        // SAFETY: `s` is neither used nor dropped after this read, so the guard is moved out of
        // it exactly once (its other fields are a reference and a flag).
        let guard = unsafe { ::std::ptr::read(&s.guard) };
        RwLockReadGuard {
            guard: crate::RwLockWriteGuard::downgrade(guard),
        }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.poison.done(self.panicking);
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// ----- OnceLock -----

/// `std::sync::OnceLock` whose initialisation is validated as a lock class: running the
/// initialiser, or waiting for another thread's, holds the class (see the [module](self) docs).
///
/// ```
/// use lockdep::std::OnceLock;
///
/// static CONFIG: OnceLock<String> = OnceLock::new();
/// assert_eq!(CONFIG.get_or_init(|| "on".to_string()), "on");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("on"));
/// ```
pub struct OnceLock<T> {
    cell: ::std::sync::OnceLock<T>,
    class: OnceClass,
}

impl<T> OnceLock<T> {
    /// An empty cell whose class is this call's site.
    #[track_caller]
    pub const fn new() -> Self {
        OnceLock {
            cell: ::std::sync::OnceLock::new(),
            class: OnceClass::new(
                LockMap::spec(Location::caller(), None, None)
                    .of::<T>()
                    .build(),
            ),
        }
    }

    /// An empty cell whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str) -> Self {
        OnceLock {
            cell: ::std::sync::OnceLock::new(),
            class: OnceClass::new(
                LockMap::spec(Location::caller(), Some(name), None)
                    .of::<T>()
                    .build(),
            ),
        }
    }

    /// The value, if initialised.
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// The value through exclusive access, if initialised.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.cell.get_mut()
    }

    /// Initialises the cell with `value` unless it is; `Err(value)` if it was.
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init_at(Location::caller(), || value.take().expect("set runs once"));
        value.map_or(Ok(()), Err)
    }

    /// The value, running `f` to initialise it first if needed. Validated as acquiring the
    /// cell's class while `f` runs (or while waiting for another thread's `f`).
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        self.get_or_init_at(Location::caller(), f)
    }

    fn get_or_init_at<F: FnOnce() -> T>(&self, site: &'static Location<'static>, f: F) -> &T {
        if let Some(value) = self.cell.get() {
            return value;
        }
        let _held = self.class.enter(site);
        self.cell.get_or_init(f)
    }

    /// Blocks until the cell is initialised (validated like [`get_or_init`](Self::get_or_init)).
    #[track_caller]
    pub fn wait(&self) -> &T {
        if let Some(value) = self.cell.get() {
            return value;
        }
        let _held = self.class.enter(Location::caller());
        self.cell.wait()
    }

    /// Consumes the cell and returns its value, if initialised.
    pub fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.cell.take()
    }
}

impl<T> Default for OnceLock<T> {
    /// An empty cell; its class is this call's site.
    #[track_caller]
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.cell, f)
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    /// A cell with a clone of the value; its class is this call's site.
    #[track_caller]
    fn clone(&self) -> Self {
        let cell = OnceLock::new();
        if let Some(value) = self.get() {
            let _ = cell.cell.set(value.clone());
        }
        cell
    }
}

impl<T> From<T> for OnceLock<T> {
    /// An initialised cell.
    #[track_caller]
    fn from(value: T) -> Self {
        let cell = OnceLock::new();
        let _ = cell.cell.set(value);
        cell
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

// ----- LazyLock -----

/// `std::sync::LazyLock` whose initialisation is validated as a lock class (see the
/// [module](self) docs). If the initialiser panics, every later access panics, as std's.
///
/// ```
/// use lockdep::std::{LazyLock, Mutex};
///
/// static NAMES: LazyLock<Mutex<Vec<&str>>> = LazyLock::new(|| Mutex::new(vec!["a"]));
/// NAMES.lock().unwrap().push("b");
/// assert_eq!(NAMES.lock().unwrap().len(), 2);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    cell: ::std::sync::OnceLock<T>,
    init: UnsafeCell<Option<F>>,
    class: OnceClass,
}

// SAFETY: `init` is taken only inside the `OnceLock`'s initialiser, which runs on one thread at a
// time (so `F: Send` suffices); the value is shared like a `OnceLock<T>`'s.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

// As std's: `init` is the only interior mutability beyond the cell, taken once by the
// initialiser; a panicking initialiser poisons the lazy value.
impl<T: ::std::panic::RefUnwindSafe + ::std::panic::UnwindSafe, F: ::std::panic::UnwindSafe>
    ::std::panic::RefUnwindSafe for LazyLock<T, F>
{
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value computed by `f` on first access; its class is this call's site.
    #[track_caller]
    pub const fn new(f: F) -> Self {
        LazyLock {
            cell: ::std::sync::OnceLock::new(),
            init: UnsafeCell::new(Some(f)),
            class: OnceClass::new(
                LockMap::spec(Location::caller(), None, None)
                    .of::<T>()
                    .build(),
            ),
        }
    }

    /// Forces the evaluation and returns the value (validated as acquiring the lazy's class).
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.force_at(Location::caller())
    }

    /// Forces the evaluation through an exclusive borrow and returns the value mutably. Not
    /// validated: with `&mut` no other thread can be initialising it, so nothing waits.
    pub fn force_mut(this: &mut LazyLock<T, F>) -> &mut T {
        if this.cell.get().is_none() {
            let value = match this.init.get_mut().take() {
                Some(f) => f(),
                None => panic!("LazyLock instance has previously been poisoned"),
            };
            let _ = this.cell.set(value);
        }
        match this.cell.get_mut() {
            Some(value) => value,
            None => unreachable!("the value was just set"),
        }
    }

    fn force_at(&self, site: &'static Location<'static>) -> &T {
        if let Some(value) = self.cell.get() {
            return value;
        }
        let _held = self.class.enter(site);
        self.cell.get_or_init(|| {
            // SAFETY: the `OnceLock` runs at most one initialiser at a time, and only this
            // closure touches `init`.
            let f = unsafe { (*self.init.get()).take() };
            match f {
                Some(f) => f(),
                None => panic!("LazyLock instance has previously been poisoned"),
            }
        })
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value if it was computed, without computing it (std's `LazyLock::get`).
    ///
    /// ```
    /// use lockdep::std::LazyLock;
    ///
    /// let lazy = LazyLock::new(|| 5);
    /// assert_eq!(LazyLock::get(&lazy), None);
    /// assert_eq!(*lazy, 5);
    /// assert_eq!(LazyLock::get(&lazy), Some(&5));
    /// ```
    pub fn get(this: &LazyLock<T, F>) -> Option<&T> {
        this.cell.get()
    }

    /// The value mutably if it was computed, without computing it.
    pub fn get_mut(this: &mut LazyLock<T, F>) -> Option<&mut T> {
        this.cell.get_mut()
    }
}

impl<T, F: FnOnce() -> T> DerefMut for LazyLock<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        LazyLock::force_mut(self)
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        self.force_at(Location::caller())
    }
}

impl<T: Default> Default for LazyLock<T> {
    /// A lazy `T::default()`; its class is this call's site.
    #[track_caller]
    fn default() -> Self {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match self.cell.get() {
            Some(value) => d.field(value),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

// ----- Once -----

/// `std::sync::Once` whose `call_once` is validated as a lock class (see the [module](self)
/// docs).
///
/// ```
/// use lockdep::std::Once;
///
/// static INIT: Once = Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    once: ::std::sync::Once,
    class: OnceClass,
}

/// std's deprecated `ONCE_INIT`, for code written before `Once::new` was `const`.
///
/// A constant has one site, shared by every `Once` built from it, and such `Once`s are statics
/// first called in one helper (lazy_static's): each is a class of its own, as the kernel gives
/// a lock in static memory (docs/semantics.md, "One-time initialisation"). Two statics built
/// from it are two classes, and one initialised inside another's closure is no report.
#[deprecated(since = "1.38.0", note = "the `Once::new()` function is now preferred")]
#[allow(clippy::declare_interior_mutable_const)] // a constant to copy from, as std's is
pub const ONCE_INIT: Once = Once::from_init_const();

impl Once {
    const fn from_init_const() -> Self {
        Once {
            once: ::std::sync::Once::new(),
            class: OnceClass::per_instance(
                LockMap::spec(Location::caller(), None, None)
                    .by_default()
                    .build(),
            ),
        }
    }

    /// A `Once` whose class is this call's site.
    #[track_caller]
    #[allow(clippy::new_without_default)] // as `std::sync::Once`
    pub const fn new() -> Self {
        Once {
            once: ::std::sync::Once::new(),
            class: OnceClass::new(LockMap::new(Location::caller(), None, None)),
        }
    }

    /// Runs `f` if no call has completed yet (validated as acquiring the once's class).
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.class.enter(Location::caller());
        self.once.call_once(f);
    }

    /// [`call_once`](Self::call_once), also after an earlier call panicked.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.class.enter(Location::caller());
        self.once.call_once_force(f);
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        self.once.is_completed()
    }

    /// Blocks until a call has completed (validated like [`call_once`](Self::call_once)).
    #[track_caller]
    pub fn wait(&self) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.class.enter(Location::caller());
        self.once.wait();
    }

    /// [`wait`](Self::wait), also when a call panicked (std's `Once::wait_force`).
    #[track_caller]
    pub fn wait_force(&self) {
        if self.once.is_completed() {
            return;
        }
        let _held = self.class.enter(Location::caller());
        self.once.wait_force();
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}
