//! Sequence counters: [`SeqCount`] (the kernel's `seqcount_LOCKNAME_t`) and [`SeqLock`] (the
//! kernel's `seqlock_t`).
//!
//! Writers bump a counter to odd before changing the data and to even after; readers copy the
//! data optimistically and retry if the counter moved. Readers never write shared memory and take
//! no lock, so they cannot slow writers down, but a reader that runs while a writer is stuck spins.
//!
//! lockdep models them as the kernel does:
//! - a **reader** is a zero-length *recursive-read* acquisition of the seqcount's class: locks
//!   held by the reader get a dependency into the seqcount, and nothing is held afterwards (so no
//!   dependency ever starts at a seqcount because of a reader, and readers on different threads
//!   never depend on each other);
//! - the **write section** holds the class exclusively, so locks taken inside it depend on it, and
//!   the lock that serialises writers (the associated lock of a `SeqCount`, the internal spin
//!   lock of a `SeqLock`) comes before it;
//! - a reader inside its own thread's write section would spin forever: it is a recursive-locking
//!   report, made before spinning.
//!
//! Memory ordering follows the classic seqlock recipe (as in crossbeam's `seq_lock.rs`): the
//! writer makes the counter odd, then a `Release` fence orders that before its data writes, and
//! the final even value is stored with `Release`; a reader loads the counter with `Acquire`, reads
//! the data, then an `Acquire` fence orders those reads before re-loading the counter. That
//! protocol is [`SeqCounter`], whose atomics are loom's under `--cfg loom` (`tests/loom.rs`
//! model-checks it); the public types add validation around it.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use crate::class::{ClassKey, LockKind};
use crate::held::Mode;
use crate::runtime::{self, HeldState, LockMap, Lockable, Request, private::Sealed};
use crate::spinlock::{SpinLock, SpinLockGuard};
use crate::sync::{AtomicUsize, Ordering, SpinWait, const_unless_loom, fence};

/// A bit of the counter word that no count reaches in practice (2^63 write sections on 64-bit
/// targets; on 32-bit ones a count that does is harmless, below): [`SeqCount`] sets it while its
/// lock has no class yet, so that a reader's test of the count for a writer also says whether
/// the reader may skip validation (a reader with nothing held, of a lock with a class). A
/// [`SeqCounter::new`] never has it. Cleared with one `fetch_and` (a carry into it on a 32-bit
/// target is cleared the same way; readers in flight retry once).
#[cfg(not(lockdep_off))]
const NO_CLASS: usize = 1 << (usize::BITS - 1);
#[cfg(lockdep_off)]
const NO_CLASS: usize = 0;

/// A sequence counter's protocol, without validation: writers (serialised by the caller) make
/// the count odd around their changes, readers retry when it moved.
pub struct SeqCounter {
    /// Even: no write section; odd: a writer is changing the data.
    seq: AtomicUsize,
}

impl SeqCounter {
    const_unless_loom! {
        /// A counter at 0.
        pub const fn new() -> Self {
            SeqCounter {
                seq: AtomicUsize::new(0),
            }
        }
    }

    const_unless_loom! {
        /// A counter at 0 whose lock has no class yet ([`NO_CLASS`]).
        const fn without_class() -> Self {
            SeqCounter {
                seq: AtomicUsize::new(NO_CLASS),
            }
        }
    }

    /// [`read_begin`](Self::read_begin)'s count if it is even and the lock has a class (one
    /// load and one test, as an unvalidated read makes); `None` otherwise.
    #[inline(always)]
    fn read_begin_classed(&self) -> Option<usize> {
        let s = self.seq.load(Ordering::Acquire);
        (s & (1 | NO_CLASS) == 0).then_some(s)
    }

    /// Whether the [`NO_CLASS`] bit is still set.
    #[inline(always)]
    fn lacks_class(&self) -> bool {
        #[cfg(not(lockdep_off))]
        return self.seq.load(Ordering::Relaxed) & NO_CLASS != 0;
        #[cfg(lockdep_off)]
        return false;
    }

    /// Clears the [`NO_CLASS`] bit. An RMW, so the release sequence of the last `write_end`
    /// goes on through it.
    #[cold]
    fn set_classed(&self) {
        self.seq.fetch_and(!NO_CLASS, Ordering::Relaxed);
    }

    /// Opens a write section: the count turns odd before any data write that follows. Writers
    /// must be serialised (at most one section open at a time).
    #[inline]
    pub fn write_begin(&self) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        // Keeps the data writes after the odd count.
        fence(Ordering::Release);
    }

    /// Closes the write section: even again, `Release` publishing the data writes to readers
    /// that see this value.
    #[inline]
    pub fn write_end(&self) {
        self.seq.fetch_add(1, Ordering::Release);
    }

    /// Starts a read: waits until no write section is open and returns the (even) count for
    /// [`read_retry`](Self::read_retry). `on_odd` runs once first if a section is open.
    #[inline(always)]
    pub fn read_begin(&self, on_odd: impl FnOnce()) -> usize {
        let s = self.seq.load(Ordering::Acquire);
        if s & 1 == 0 {
            s
        } else {
            std::hint::cold_path();
            on_odd();
            self.wait_even()
        }
    }

    #[cold]
    fn wait_even(&self) -> usize {
        let mut wait = SpinWait::new();
        loop {
            wait.snooze();
            let s = self.seq.load(Ordering::Acquire);
            if s & 1 == 0 {
                return s;
            }
        }
    }

    /// Whether the data read since [`read_begin`](Self::read_begin) returned `start` may be
    /// torn (a writer ran meanwhile).
    #[inline(always)]
    pub fn read_retry(&self, start: usize) -> bool {
        // Orders the data reads before the re-load of the counter.
        fence(Ordering::Acquire);
        self.seq.load(Ordering::Relaxed) != start
    }

    /// The current count (odd while a write section is open).
    pub fn sequence(&self) -> usize {
        self.seq.load(Ordering::Relaxed) & !NO_CLASS
    }
}

impl Default for SeqCounter {
    fn default() -> Self {
        SeqCounter::new()
    }
}

/// A sequence counter protecting data that another lock serialises (the kernel's
/// `seqcount_LOCKNAME_t`).
///
/// Writers hold the *associated* lock exclusively and wrap their changes in
/// [`write_begin`](Self::write_begin) (which asserts that); readers loop on
/// [`read_begin`](Self::read_begin) / [`read_retry`](Self::read_retry), or use
/// [`read`](Self::read). The protected data must itself be safe to read while a writer changes it
/// (atomics, typically with `Relaxed` ordering: the counter supplies the ordering).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
/// use lockdep::{Mutex, SeqCount};
///
/// let lock = Mutex::new(());
/// let seq = SeqCount::new();
/// let (lo, hi) = (AtomicU64::new(0), AtomicU64::new(0));
/// {
///     let _g = lock.lock();
///     let _w = seq.write_begin(&lock); // panics unless `lock` is held
///     lo.store(7, Relaxed);
///     hi.store(7, Relaxed);
/// }
/// let (a, b) = seq.read(|| (lo.load(Relaxed), hi.load(Relaxed)));
/// assert_eq!((a, b), (7, 7));
/// ```
pub struct SeqCount {
    seq: SeqCounter,
    map: LockMap,
}

impl SeqCount {
    const_unless_loom! {
        /// A counter whose class is this call's site.
        #[inline]
        #[track_caller]
        pub const fn new() -> Self {
            SeqCount::with_map(LockMap::new(Location::caller(), None, None))
        }
    }

    const_unless_loom! {
        /// A counter whose class is this call's site, printed as `name`.
        #[inline]
        #[track_caller]
        pub const fn with_name(name: &'static str) -> Self {
            SeqCount::with_map(LockMap::new(Location::caller(), Some(name), None))
        }
    }

    const_unless_loom! {
        /// A counter of the class of `key`, shared with every lock built with it.
        #[inline]
        #[track_caller]
        pub const fn with_class(key: &'static ClassKey) -> Self {
            SeqCount::with_map(LockMap::new(Location::caller(), None, Some(key)))
        }
    }

    const_unless_loom! {
        #[inline]
        const fn with_map(map: LockMap) -> Self {
            SeqCount {
                seq: SeqCounter::without_class(),
                map,
            }
        }
    }

    #[inline(always)]
    fn id(&self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    fn request(&self, mode: Mode, subclass: u32, site: &'static Location<'static>) -> Request<'_> {
        Request {
            map: &self.map,
            instance: self.id(),
            kind: LockKind::SeqCount,
            mode,
            subclass,
            nest_lock: None,
            site: Some(site),
        }
    }

    /// The reader annotation: a recursive read acquired and released at once (one thread-local
    /// update and a lock-free chain lookup in the steady state). Once the lock has a class, the
    /// counter says so, for [`begin_unvalidated`](Self::begin_unvalidated).
    #[inline(always)]
    fn reader_access(&self, site: &'static Location<'static>) {
        runtime::seq_read(self.request(Mode::ReadRecursive, 0, site));
        if self.seq.lacks_class() && runtime::has_class(&self.map) {
            self.seq.set_classed();
        }
    }

    /// A read's start without validation, if it needs none: no writer inside, the lock has a
    /// class (a lock built outside the user's code takes its class key from its first
    /// acquisition, a top-level read included), and this thread holds nothing (or validation is
    /// off). The count and one thread-local pointer's target: what an unvalidated read costs
    /// plus two loads.
    #[inline(always)]
    fn begin_unvalidated(&self) -> Option<usize> {
        let start = self.seq.read_begin_classed()?;
        runtime::seq_reader_skips().then_some(start)
    }

    /// A read's start with validation: the reader annotation, then an even count. Out of line,
    /// so the unvalidated start stays a short run of code in every caller: inlined, this path
    /// could be laid out in the middle of it, and a top-level read then took three jumps instead
    /// of one or two and cost +0.68 ns instead of +0.34, depending on the code's address
    /// (`docs/performance.md`). A validated read (a lock held) pays the call, about 0.6 ns.
    #[inline(never)]
    fn begin_validated(&self, site: &'static Location<'static>) -> usize {
        self.reader_access(site);
        self.wait_even()
    }

    /// Waits for an even count (no writer inside) and returns it.
    #[inline(always)]
    fn wait_even(&self) -> usize {
        self.seq.read_begin(|| self.not_in_own_write_section())
    }

    /// Panics if this thread is inside this counter's write section (a reader would spin
    /// forever).
    #[cold]
    fn not_in_own_write_section(&self) {
        if runtime::held_mode(self.id()) == Some(Mode::Write) {
            let name = self
                .map
                .class_name(&runtime::current(), LockKind::SeqCount)
                .unwrap_or_else(|| "?".into());
            panic!(
                "lockdep: reading seqcount {name} inside this thread's own write section would \
                 spin forever"
            );
        }
    }

    /// Starts a read: waits until no write section is in progress and returns the count to pass
    /// to [`read_retry`](Self::read_retry). Validated as a zero-length recursive read.
    #[track_caller]
    #[inline(always)]
    #[must_use = "pass the count to read_retry"]
    pub fn read_begin(&self) -> usize {
        match self.begin_unvalidated() {
            Some(start) => start,
            None => self.begin_validated(Location::caller()),
        }
    }

    /// Whether the data read since [`read_begin`](Self::read_begin) returned `start` may be
    /// torn (a writer ran meanwhile): then read again.
    #[inline(always)]
    #[must_use = "a true result means the data read must be discarded"]
    pub fn read_retry(&self, start: usize) -> bool {
        self.seq.read_retry(start)
    }

    /// Runs `read` until it ran without a concurrent writer and returns its result (the
    /// `read_seqcount_begin` / `read_seqcount_retry` loop). Validated once per call.
    #[track_caller]
    #[inline(always)]
    pub fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        let start = match self.begin_unvalidated() {
            Some(start) => start,
            None => self.begin_validated(Location::caller()),
        };
        let r = read();
        if !self.read_retry(start) {
            return r;
        }
        loop {
            let start = self.wait_even();
            let r = read();
            if !self.read_retry(start) {
                return r;
            }
        }
    }

    /// Starts a write section. `assoc` is the lock that serialises writers: this thread must
    /// hold it exclusively, or this panics (the kernel's `lockdep_assert_held` in
    /// `write_seqcount_begin`). The section holds the counter's class exclusively until the
    /// guard drops.
    ///
    /// # Panics
    /// If validation is on and this thread does not hold `assoc` exclusively (in the current
    /// validator scope).
    #[track_caller]
    pub fn write_begin(&self, assoc: &impl Lockable) -> SeqCountWriteGuard<'_> {
        self.write_begin_nested(assoc, 0)
    }

    /// [`write_begin`](Self::write_begin) as subclass `subclass` of the counter's class, for
    /// deliberately nested write sections of one class (`write_seqcount_begin_nested`).
    #[track_caller]
    pub fn write_begin_nested(
        &self,
        assoc: &impl Lockable,
        subclass: u32,
    ) -> SeqCountWriteGuard<'_> {
        let site = Location::caller();
        self.assert_serialised_by(assoc, site);
        self.begin_write_section(subclass, site)
    }

    fn assert_serialised_by(&self, assoc: &impl Lockable, site: &'static Location<'static>) {
        let (assoc_map, assoc_id, assoc_kind) = assoc.lock_map();
        let how = match runtime::held_state(assoc_id) {
            // Unknown: validation is off or this thread is being torn down; nothing to check.
            HeldState::Held(Mode::Write) | HeldState::Unknown => return,
            HeldState::Held(_) => "holds it only for reading",
            HeldState::NotHeld => "does not hold it",
        };
        let v = runtime::current();
        let seq_name = self.map.class_name(&v, LockKind::SeqCount);
        let lock_name = assoc_map.class_name(&v, assoc_kind);
        panic!(
            "lockdep: write_begin of seqcount {} at {site}: writers must hold its associated lock \
             {} exclusively, but this thread {how}",
            seq_name.as_deref().unwrap_or("?"),
            lock_name.as_deref().unwrap_or("?"),
        );
    }

    /// Validates and opens a write section; the caller guarantees writers are serialised.
    fn begin_write_section(
        &self,
        subclass: u32,
        site: &'static Location<'static>,
    ) -> SeqCountWriteGuard<'_> {
        runtime::before_lock(self.request(Mode::Write, subclass, site));
        // Odd: readers now wait or retry.
        self.seq.write_begin();
        SeqCountWriteGuard {
            seq: self,
            _not_send: PhantomData,
        }
    }

    fn end_write_section(&self) {
        self.seq.write_end();
        runtime::on_release(&self.map, self.id(), LockKind::SeqCount);
    }

    /// The current count (odd while a write section is open). For diagnostics and tests.
    pub fn sequence(&self) -> usize {
        self.seq.sequence()
    }
}

impl Default for SeqCount {
    /// A counter whose class is refined at its first use (see [`ClassOrigin`](crate::ClassOrigin)).
    #[track_caller]
    fn default() -> Self {
        SeqCount::with_map(
            LockMap::spec(Location::caller(), None, None)
                .by_default()
                .build(),
        )
    }
}

impl std::fmt::Debug for SeqCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqCount")
            .field("sequence", &self.sequence())
            .finish()
    }
}

impl Sealed for SeqCount {}
impl Lockable for SeqCount {
    fn lock_map(&self) -> (&LockMap, usize, LockKind) {
        (&self.map, self.id(), LockKind::SeqCount)
    }
}

/// An open write section of a [`SeqCount`]; dropping it ends the section. Not `Send`: the
/// held-lock stack is per thread.
#[must_use = "the write section ends when the guard is dropped"]
pub struct SeqCountWriteGuard<'a> {
    seq: &'a SeqCount,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: through `&SeqCountWriteGuard` only the count can be read (`Debug`); the section ends
// only by dropping the guard, on the thread that owns it.
unsafe impl Sync for SeqCountWriteGuard<'_> {}

impl Drop for SeqCountWriteGuard<'_> {
    fn drop(&mut self) {
        self.seq.end_write_section();
    }
}

impl std::fmt::Debug for SeqCountWriteGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqCountWriteGuard")
            .field("sequence", &self.seq.sequence())
            .finish()
    }
}

/// The part name of a [`SeqLock`]'s internal spin lock: its class is the seqlock's class (site,
/// name or key) plus this part, printed `<seqlock>.lock` (as the kernel's `&sl->lock`).
pub const SEQLOCK_LOCK_PART: &str = "lock";

/// Data behind a sequence counter whose writers are serialised by an internal [`SpinLock`] (the
/// kernel's `seqlock_t`): writers exclude each other, readers never block them and retry instead.
///
/// [`read`](Self::read) copies the value (`T: Copy`) without taking any lock.
/// [`write`](Self::write) takes the internal spin lock, then opens the write section
/// (`write_seqlock`): the spin lock → seqcount dependency is recorded, locks taken inside depend
/// on the seqcount, and nothing may block inside (it is a spin lock).
///
/// The seqcount's class is this `SeqLock`'s class (site, name or key, as for
/// [`Mutex`](crate::Mutex)); the internal spin lock has a class of its own per seqlock class,
/// printed `<seqlock>.lock` ([`SEQLOCK_LOCK_PART`]).
///
/// ```
/// use lockdep::SeqLock;
///
/// static CLOCK: SeqLock<(u64, u64)> = SeqLock::new((0, 0));
/// *CLOCK.write() = (1, 500);
/// let (secs, nanos) = CLOCK.read();
/// assert_eq!((secs, nanos), (1, 500));
/// ```
pub struct SeqLock<T: ?Sized> {
    lock: SpinLock<()>,
    seq: SeqCount,
    data: UnsafeCell<T>,
}

// SAFETY: writers get `&mut T` only while holding the internal spin lock, and `read_exclusive`
// gives `&T` only under it too, so at most one thread accesses `T` through a reference at a time,
// as in a mutex (hence `T: Send`). Lock-free readers only copy the bytes of a `T: Copy` value and
// keep the copy only if no writer ran meanwhile.
unsafe impl<T: ?Sized + Send> Sync for SeqLock<T> {}

impl<T> SeqLock<T> {
    const_unless_loom! {
        /// A seqlock whose class is this call's site.
        #[track_caller]
        pub const fn new(val: T) -> Self {
            SeqLock {
                lock: SpinLock::with_map(
                    LockMap::spec(Location::caller(), None, None)
                        .part()
                        .of::<T>()
                        .build(),
                    (),
                ),
                seq: SeqCount::new(),
                data: UnsafeCell::new(val),
            }
        }
    }

    const_unless_loom! {
        /// A seqlock whose class is this call's site, printed as `name`.
        #[track_caller]
        pub const fn with_name(name: &'static str, val: T) -> Self {
            SeqLock {
                lock: SpinLock::with_map(
                    LockMap::spec(Location::caller(), Some(name), None)
                        .part()
                        .of::<T>()
                        .build(),
                    (),
                ),
                seq: SeqCount::with_name(name),
                data: UnsafeCell::new(val),
            }
        }
    }

    const_unless_loom! {
        /// A seqlock whose seqcount has the class of `key`, shared with every lock built with it.
        #[track_caller]
        pub const fn with_class(key: &'static ClassKey, val: T) -> Self {
            SeqLock {
                lock: SpinLock::with_map(
                    LockMap::spec(Location::caller(), None, Some(key))
                        .part()
                        .of::<T>()
                        .build(),
                    (),
                ),
                seq: SeqCount::with_class(key),
                data: UnsafeCell::new(val),
            }
        }
    }

    /// Consumes the seqlock and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Copy> SeqLock<T> {
    /// A consistent copy of the value, without taking any lock: the copy is retried while a
    /// writer is inside. Validated as a zero-length recursive read of the seqcount.
    #[track_caller]
    #[inline(always)]
    pub fn read(&self) -> T {
        let start = match self.seq.begin_unvalidated() {
            Some(start) => start,
            None => self.seq.begin_validated(Location::caller()),
        };
        match self.try_copy(start) {
            Some(copy) => copy,
            // Out of line: the read that found no writer is a straight line of code.
            None => self.copy_retrying(),
        }
    }

    /// One attempt from the even count `start`: the value, or `None` if a writer ran during the
    /// copy.
    #[inline(always)]
    fn try_copy(&self, start: usize) -> Option<T> {
        // SAFETY: the pointer is valid for reads of a `T`. A writer may change the value
        // concurrently; as in crossbeam's `AtomicCell`, the copy is a volatile read into
        // `MaybeUninit`, so a torn value is never treated as a `T`, and it is discarded
        // below unless the counter shows no writer ran. (Strictly, the language model still
        // calls such a racing read a data race; no stable Rust offers a sound alternative for
        // arbitrary `T`.)
        let copy = unsafe { std::ptr::read_volatile(self.data.get().cast::<MaybeUninit<T>>()) };
        if self.seq.read_retry(start) {
            return None;
        }
        // SAFETY: the counter was even and unchanged around the copy, so no write section
        // overlapped it: the bytes are those of a `T` stored by a completed write.
        Some(unsafe { copy.assume_init() })
    }

    #[cold]
    #[inline(never)]
    fn copy_retrying(&self) -> T {
        loop {
            if let Some(copy) = self.try_copy(self.seq.wait_even()) {
                return copy;
            }
        }
    }
}

impl<T: ?Sized> SeqLock<T> {
    /// Takes the internal spin lock and opens a write section (`write_seqlock`); both end when
    /// the guard drops. Readers retry until then.
    #[track_caller]
    pub fn write(&self) -> SeqLockWriteGuard<'_, T> {
        let lock = self.lock.lock();
        let section = self.seq.begin_write_section(0, Location::caller());
        SeqLockWriteGuard {
            section,
            _lock: lock,
            data: &self.data,
        }
    }

    /// [`write`](Self::write) if no other writer is inside now (a trylock of the internal lock).
    #[track_caller]
    pub fn try_write(&self) -> Option<SeqLockWriteGuard<'_, T>> {
        let lock = self.lock.try_lock()?;
        let section = self.seq.begin_write_section(0, Location::caller());
        Some(SeqLockWriteGuard {
            section,
            _lock: lock,
            data: &self.data,
        })
    }

    /// Reads under the internal spin lock, excluding writers instead of retrying
    /// (`read_seqlock_excl`): for readers that must not be starved or need a reference.
    #[track_caller]
    pub fn read_exclusive(&self) -> SeqLockReadGuard<'_, T> {
        SeqLockReadGuard {
            _lock: self.lock.lock(),
            data: &self.data,
        }
    }

    /// The data, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The seqcount itself (for [`assert_held`](crate::assert_held) or class names).
    pub fn seqcount(&self) -> &SeqCount {
        &self.seq
    }
}

impl<T: Default> Default for SeqLock<T> {
    /// A seqlock whose classes are refined at its first use (see [`ClassOrigin`](crate::ClassOrigin)).
    #[track_caller]
    fn default() -> Self {
        let site = Location::caller();
        SeqLock {
            lock: SpinLock::with_map(
                LockMap::spec(site, None, None)
                    .part()
                    .of::<T>()
                    .by_default()
                    .build(),
                (),
            ),
            seq: SeqCount::with_map(
                LockMap::spec(site, None, None)
                    .of::<T>()
                    .by_default()
                    .build(),
            ),
            data: UnsafeCell::new(T::default()),
        }
    }
}

impl<T: ?Sized> std::fmt::Debug for SeqLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqLock")
            .field("sequence", &self.seq.sequence())
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> Sealed for SeqLock<T> {}
impl<T: ?Sized> Lockable for SeqLock<T> {
    /// The seqcount: held while a write section of this seqlock is open.
    fn lock_map(&self) -> (&LockMap, usize, LockKind) {
        self.seq.lock_map()
    }
}

/// A [`SeqLock`] write section: dereferences to the data; dropping it ends the section and
/// releases the internal spin lock. Not `Send`.
#[must_use = "the write section ends when the guard is dropped"]
pub struct SeqLockWriteGuard<'a, T: ?Sized> {
    // Field order is drop order: the count turns even before the spin lock is released.
    section: SeqCountWriteGuard<'a>,
    _lock: SpinLockGuard<'a, ()>,
    data: &'a UnsafeCell<T>,
}

// SAFETY: a shared reference to the guard gives only `&T` (`&mut T` needs `&mut` of the guard),
// so it may be shared across threads when `&T` may.
unsafe impl<T: ?Sized + Sync> Sync for SeqLockWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for SeqLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the internal spin lock, so no other reference to the data
        // exists (lock-free readers copy bytes through a raw pointer and discard racing copies).
        unsafe { &*self.data.get() }
    }
}

impl<T: ?Sized> DerefMut for SeqLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference from this guard.
        unsafe { &mut *self.data.get() }
    }
}

impl<T: ?Sized> std::fmt::Debug for SeqLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqLockWriteGuard")
            .field("sequence", &self.section.seq.sequence())
            .finish_non_exhaustive()
    }
}

/// A [`SeqLock::read_exclusive`] reader: dereferences to the data while writers are excluded.
#[must_use = "writers are excluded until the guard is dropped"]
pub struct SeqLockReadGuard<'a, T: ?Sized> {
    _lock: SpinLockGuard<'a, ()>,
    data: &'a UnsafeCell<T>,
}

// SAFETY: a shared reference to the guard gives only `&T` (while the spin lock excludes writers),
// so it may be shared across threads when `&T` may.
unsafe impl<T: ?Sized + Sync> Sync for SeqLockReadGuard<'_, T> {}

impl<T: ?Sized> Deref for SeqLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the internal spin lock is held, so no writer has a reference to the data.
        unsafe { &*self.data.get() }
    }
}

impl<T: ?Sized> std::fmt::Debug for SeqLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqLockReadGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mutex;

    #[test]
    fn count_is_odd_inside_a_write_section_only() {
        let lock = Mutex::new(());
        let seq = SeqCount::new();
        assert_eq!(seq.sequence(), 0);
        let g = lock.lock();
        let w = seq.write_begin(&lock);
        assert_eq!(seq.sequence(), 1);
        drop(w);
        drop(g);
        assert_eq!(seq.sequence(), 2);
        let s = seq.read_begin();
        assert!(!seq.read_retry(s));
    }

    #[test]
    fn retry_detects_a_write_after_begin() {
        let lock = Mutex::new(());
        let seq = SeqCount::new();
        let s = seq.read_begin();
        {
            let _g = lock.lock();
            let _w = seq.write_begin(&lock);
        }
        assert!(seq.read_retry(s));
    }

    #[test]
    fn seqlock_write_then_read() {
        let sl = SeqLock::new([0u32; 4]);
        {
            let mut w = sl.write();
            w.iter_mut().for_each(|x| *x = 9);
            assert!(sl.try_write().is_none());
        }
        assert_eq!(sl.read(), [9; 4]);
        assert_eq!(*sl.read_exclusive(), [9; 4]);
        assert_eq!(sl.seqcount().sequence(), 2);
    }
}
