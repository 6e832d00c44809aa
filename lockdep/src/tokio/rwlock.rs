//! `RwLock`: tokio's async reader-writer lock with every acquisition validated.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;

use ::tokio::sync as ts;

use super::{Acquiring, acquire, acquire_blocking, acquire_try, async_instance, release, request};
use crate::class::{ClassKey, LockKind};
use crate::held::Mode;
use crate::runtime::{self, LockMap, Lockable, private::Sealed};

/// [`tokio::sync::RwLock`] with every acquisition validated (docs/async.md). tokio's lock is
/// fair: a waiting writer blocks new readers, so readers are validated as non-recursive ones
/// (`read`), as the kernel's `rwsem`.
pub struct RwLock<T: ?Sized> {
    map: LockMap,
    inner: ts::RwLock<T>,
}

/// What a guard needs to release its acquisition: the lock's map and the stack holding it.
#[derive(Clone, Copy)]
struct Token<'a> {
    map: &'a LockMap,
    holder: u64,
}

impl<'a> Token<'a> {
    #[inline(always)]
    fn release(self) {
        release(
            self.map,
            async_instance(self.map),
            LockKind::RwLock,
            self.holder,
        );
    }

    /// Releases the acquisition if dropped before [`Unwinding::disarm`]: while a guard is
    /// mapped, so that a panicking closure (tokio's `map` drops its guard, unlocking, as the
    /// panic leaves it) does not leave the acquisition recorded as held.
    fn unwinding(self) -> Unwinding<'a> {
        Unwinding(self)
    }

    /// A write acquisition became a read one (`downgrade`), on the stack that holds it. Returns
    /// what the thread's inbox held, to dispatch once the read guard exists.
    #[track_caller]
    fn downgrade(self) -> runtime::Pending {
        if runtime::switch().is_none() || self.holder == 0 {
            return runtime::Pending::NONE;
        }
        let instance = async_instance(self.map);
        if super::holder_is_current(self.holder) {
            runtime::on_mode_change(instance, Mode::Read, Some(Location::caller()))
        } else {
            runtime::post_mode(self.holder, instance, Mode::Read, Some(Location::caller()));
            runtime::Pending::NONE
        }
    }
}

/// A [`Token`] released on drop, unless disarmed ([`Token::unwinding`]).
struct Unwinding<'a>(Token<'a>);

impl Unwinding<'_> {
    /// The mapping returned: the acquisition lives on in the new guard.
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

macro_rules! constructors {
    ($(#[doc = $doc:literal] $vis:vis $cname:ident ($($arg:ident: $ty:ty),*) => $name:expr, $key:expr, $build:expr;)*) => {
        $(
            #[doc = $doc]
            #[track_caller]
            $vis const fn $cname($($arg: $ty),*) -> Self {
                RwLock {
                    map: LockMap::spec(Location::caller(), $name, $key).of::<T>().build(),
                    inner: $build,
                }
            }
        )*
    };
}

impl<T> RwLock<T> {
    constructors! {
        /// A lock whose class is this call's site, in a `const` context (a `static`).
        pub const_new(t: T) => None, None, ts::RwLock::const_new(t);
        /// A lock whose class is this call's site, printed as `name`.
        pub with_name(name: &'static str, t: T) => Some(name), None, ts::RwLock::const_new(t);
        /// A lock of the class of `key` (share a key between async locks only).
        pub with_class(key: &'static ClassKey, t: T) => None, Some(key), ts::RwLock::const_new(t);
        /// [`const_new`](Self::const_new) admitting at most `max_reads` readers at once.
        pub const_with_max_readers(t: T, max_reads: u32) => None, None, ts::RwLock::const_with_max_readers(t, max_reads);
    }

    /// A lock whose class is this call's site.
    #[track_caller]
    pub fn new(t: T) -> Self {
        RwLock {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::RwLock::new(t),
        }
    }

    /// [`new`](Self::new) admitting at most `max_reads` readers at once.
    #[track_caller]
    pub fn with_max_readers(t: T, max_reads: u32) -> Self {
        RwLock {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::RwLock::with_max_readers(t, max_reads),
        }
    }

    /// Consumes the lock and returns its data.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    #[inline(always)]
    fn request(&self, mode: Mode, site: &'static Location<'static>) -> runtime::Request<'_> {
        request(&self.map, LockKind::RwLock, mode, site)
    }

    #[inline(always)]
    fn acquiring(&self, holder: u64) -> Acquiring<'_> {
        Acquiring {
            map: &self.map,
            instance: async_instance(&self.map),
            kind: LockKind::RwLock,
            holder,
        }
    }

    fn token(&self, holder: u64) -> Token<'_> {
        Token {
            map: &self.map,
            holder,
        }
    }

    /// Locks for reading, waiting while a writer holds or waits for the lock. Validated at the
    /// first poll, before waiting.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> {
        self.read_nested_at(0, Location::caller())
    }

    /// [`read`](Self::read) as subclass `subclass` of the lock's class, for deliberate nesting
    /// of one class (the kernel's `down_read_nested`; not in tokio).
    #[track_caller]
    pub fn read_nested(&self, subclass: u32) -> impl Future<Output = RwLockReadGuard<'_, T>> {
        self.read_nested_at(subclass, Location::caller())
    }

    async fn read_nested_at(
        &self,
        subclass: u32,
        site: &'static Location<'static>,
    ) -> RwLockReadGuard<'_, T> {
        let mut req = self.request(Mode::Read, site);
        req.subclass = subclass;
        let pending = self.acquiring(acquire(req));
        let inner = self.inner.read().await;
        RwLockReadGuard {
            token: self.token(pending.done()),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Locks for writing, waiting until no one holds the lock. Validated at the first poll,
    /// before waiting.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> {
        self.write_nested_at(0, Location::caller())
    }

    /// [`write`](Self::write) as subclass `subclass` of the lock's class, for deliberate
    /// nesting of one class (the kernel's `down_write_nested`; not in tokio): two locks of one
    /// class always taken in one order (by id, say), the second as subclass 1.
    #[track_caller]
    pub fn write_nested(&self, subclass: u32) -> impl Future<Output = RwLockWriteGuard<'_, T>> {
        self.write_nested_at(subclass, Location::caller())
    }

    async fn write_nested_at(
        &self,
        subclass: u32,
        site: &'static Location<'static>,
    ) -> RwLockWriteGuard<'_, T> {
        let mut req = self.request(Mode::Write, site);
        req.subclass = subclass;
        let pending = self.acquiring(acquire(req));
        let inner = self.inner.write().await;
        RwLockWriteGuard {
            token: self.token(pending.done()),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Tries to lock for reading without waiting (a trylock).
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, ts::TryLockError> {
        let inner = self.inner.try_read()?;
        let (holder, reports) = acquire_try(self.request(Mode::Read, Location::caller()));
        let guard = RwLockReadGuard {
            token: self.token(holder),
            inner: ManuallyDrop::new(inner),
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }

    /// Tries to lock for writing without waiting (a trylock).
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, ts::TryLockError> {
        let inner = self.inner.try_write()?;
        let (holder, reports) = acquire_try(self.request(Mode::Write, Location::caller()));
        let guard = RwLockWriteGuard {
            token: self.token(holder),
            inner: ManuallyDrop::new(inner),
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }

    /// Locks for reading from synchronous code, blocking the thread (tokio's: panics inside an
    /// async context).
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let pending = self.acquiring(acquire_blocking(
            self.request(Mode::Read, Location::caller()),
        ));
        let inner = self.inner.blocking_read();
        RwLockReadGuard {
            token: self.token(pending.done()),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Locks for writing from synchronous code, blocking the thread (tokio's: panics inside an
    /// async context).
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let pending = self.acquiring(acquire_blocking(
            self.request(Mode::Write, Location::caller()),
        ));
        let inner = self.inner.blocking_write();
        RwLockWriteGuard {
            token: self.token(pending.done()),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// A mutable reference to the data: the borrow proves no one holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: ?Sized + 'static> RwLock<T> {
    /// The lock inside `this`'s allocation, for an owned guard that keeps the `Arc`.
    fn leak(this: &Arc<Self>) -> &'static Self {
        // SAFETY: every owned guard holds the `Arc` and drops the borrowing guard before it,
        // so the allocation outlives every use of this reference.
        unsafe { &*Arc::as_ptr(this) }
    }

    /// [`read`](Self::read) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let site = Location::caller();
        async move {
            let (holder, inner) = {
                let lock = Self::leak(&self);
                let pending = lock.acquiring(acquire(lock.request(Mode::Read, site)));
                let inner = lock.inner.read().await;
                (pending.done(), inner)
            };
            OwnedRwLockReadGuard {
                holder,
                inner: ManuallyDrop::new(OwnedRead::of(inner)),
                lock: self,
            }
        }
    }

    /// [`write`](Self::write) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let site = Location::caller();
        async move {
            let (holder, inner) = {
                let lock = Self::leak(&self);
                let pending = lock.acquiring(acquire(lock.request(Mode::Write, site)));
                let inner = lock.inner.write().await;
                (pending.done(), inner)
            };
            OwnedRwLockWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock: self,
            }
        }
    }

    /// [`try_read`](Self::try_read) through an `Arc`.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, ts::TryLockError> {
        let lock = Self::leak(&self);
        let inner = lock.inner.try_read()?;
        let (holder, reports) = acquire_try(lock.request(Mode::Read, Location::caller()));
        let guard = OwnedRwLockReadGuard {
            holder,
            inner: ManuallyDrop::new(OwnedRead::of(inner)),
            lock: self,
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }

    /// [`try_write`](Self::try_write) through an `Arc`.
    #[track_caller]
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, ts::TryLockError> {
        let lock = Self::leak(&self);
        let inner = lock.inner.try_write()?;
        let (holder, reports) = acquire_try(lock.request(Mode::Write, Location::caller()));
        let guard = OwnedRwLockWriteGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock: self,
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }
}

impl<T: ?Sized> Sealed for RwLock<T> {}

impl<T: ?Sized> Lockable for RwLock<T> {
    fn lock_map(&self) -> (&LockMap, usize, LockKind) {
        (&self.map, async_instance(&self.map), LockKind::RwLock)
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(t: T) -> Self {
        RwLock::new(t)
    }
}

impl<T: Default> Default for RwLock<T> {
    /// A lock whose class is this call's site (refined by its first acquisition when a
    /// `#[derive(Default)]` makes it, as for the blocking locks).
    #[track_caller]
    fn default() -> Self {
        RwLock {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .by_default()
                .build(),
            inner: ts::RwLock::new(T::default()),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// Deref (and `DerefMut` for write guards), `Debug`, `Display`, and a `Drop` that releases: one
/// guard type, whose generics are in brackets.
macro_rules! guard_impls {
    ([$($gen:tt)*] $guard:ty => $target:ident, mut: $mutable:tt, release: |$this:ident| $release:expr) => {
        impl<$($gen)*> Deref for $guard {
            type Target = $target;
            fn deref(&self) -> &$target {
                &self.inner
            }
        }

        guard_impls!(@mut $mutable, [$($gen)*] $guard => $target);

        impl<$($gen)*> Drop for $guard {
            fn drop(&mut self) {
                // SAFETY: dropped once, here (before any field that keeps the lock alive);
                // the field is never used again.
                unsafe { ManuallyDrop::drop(&mut self.inner) };
                let $this = &*self;
                $release;
            }
        }

        impl<$($gen)*> fmt::Debug for $guard
        where
            $target: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> fmt::Display for $guard
        where
            $target: fmt::Display,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
    (@mut true, [$($gen:tt)*] $guard:ty => $target:ident) => {
        impl<$($gen)*> DerefMut for $guard {
            fn deref_mut(&mut self) -> &mut $target {
                &mut self.inner
            }
        }
    };
    (@mut false, [$($gen:tt)*] $guard:ty => $target:ident) => {};
}

/// Takes an owned guard's parts without running its `Drop`: its holder, the `Arc` that keeps
/// the lock alive and tokio's guard, in that order: bound as `let (holder, lock, inner)`, tokio's
/// guard is dropped first (before the `Arc`) if what follows unwinds (a `tracing` subscriber
/// that panics on `downgrade`'s lock event).
macro_rules! owned_into_parts {
    ($this:ident) => {{
        let mut this = ManuallyDrop::new($this);
        // SAFETY: `this` is never used or dropped again: its guard and `Arc` are taken once.
        unsafe {
            (
                this.holder,
                std::ptr::read(&this.lock),
                ManuallyDrop::take(&mut this.inner),
            )
        }
    }};
}

/// A [`RwLock`] held for reading.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::RwLockReadGuard<'a, T>>,
}

guard_impls!(['a, T: ?Sized] RwLockReadGuard<'a, T> => T, mut: false, release: |this| this.token.release());

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn into_parts(this: Self) -> (Token<'a>, ts::RwLockReadGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.token, inner)
    }

    /// A read guard for a part of the data.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let inner = ts::RwLockReadGuard::map(inner, f);
        unwinding.disarm();
        RwLockReadGuard {
            token,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let result = ts::RwLockReadGuard::try_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(RwLockReadGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(RwLockReadGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }
}

/// A [`RwLock`] held for writing.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::RwLockWriteGuard<'a, T>>,
}

guard_impls!(['a, T: ?Sized] RwLockWriteGuard<'a, T> => T, mut: true, release: |this| this.token.release());

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn into_parts(this: Self) -> (Token<'a>, ts::RwLockWriteGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.token, inner)
    }

    /// A write guard for a part of the data.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let inner = ts::RwLockWriteGuard::map(inner, f);
        unwinding.disarm();
        RwLockMappedWriteGuard {
            token,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let result = ts::RwLockWriteGuard::try_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(RwLockMappedWriteGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(RwLockWriteGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }

    /// The guard as a mapped one over all of the data.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        let (token, inner) = Self::into_parts(this);
        RwLockMappedWriteGuard {
            token,
            inner: ManuallyDrop::new(ts::RwLockWriteGuard::into_mapped(inner)),
        }
    }

    /// Makes the write lock a read lock without letting a writer in between (its held mode
    /// becomes `read`).
    #[track_caller]
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let (token, inner) = Self::into_parts(self);
        let reports = token.downgrade();
        let guard = RwLockReadGuard {
            token,
            inner: ManuallyDrop::new(ts::RwLockWriteGuard::downgrade(inner)),
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        guard
    }

    /// [`downgrade`](Self::downgrade) to a read guard for a part of the data, in one step (no
    /// writer in between); validated as `downgrade`: the held mode becomes `read`.
    ///
    /// ```
    /// use lockdep::tokio::{RwLock, RwLockWriteGuard};
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let l = RwLock::new((1, 2));
    ///     let mut w = l.write().await;
    ///     w.1 = 5;
    ///     let second = RwLockWriteGuard::downgrade_map(w, |v| &v.1);
    ///     assert_eq!(*l.try_read().unwrap(), (1, 5)); // other readers get in
    ///     assert_eq!(*second, 5);
    /// });
    /// ```
    #[track_caller]
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let inner = ts::RwLockWriteGuard::downgrade_map(inner, f);
        unwinding.disarm();
        let reports = token.downgrade();
        let guard = RwLockReadGuard {
            token,
            inner: ManuallyDrop::new(inner),
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        guard
    }

    /// [`downgrade_map`](Self::downgrade_map) when `f` may decline: the write guard back on
    /// `None` (still held for writing).
    #[track_caller]
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let result = ts::RwLockWriteGuard::try_downgrade_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => {
                let reports = token.downgrade();
                let guard = RwLockReadGuard {
                    token,
                    inner: ManuallyDrop::new(inner),
                };
                // Once the guard exists, so that a report that unwinds releases it.
                reports.dispatch();
                Ok(guard)
            }
            Err(inner) => Err(RwLockWriteGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }
}

/// A part of a [`RwLock`]'s data held for writing ([`RwLockWriteGuard::map`]).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::RwLockMappedWriteGuard<'a, T>>,
}

guard_impls!(['a, T: ?Sized] RwLockMappedWriteGuard<'a, T> => T, mut: true, release: |this| this.token.release());

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    fn into_parts(this: Self) -> (Token<'a>, ts::RwLockMappedWriteGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.token, inner)
    }

    /// A guard for a part of this part.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let inner = ts::RwLockMappedWriteGuard::map(inner, f);
        unwinding.disarm();
        RwLockMappedWriteGuard {
            token,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let result = ts::RwLockMappedWriteGuard::try_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(RwLockMappedWriteGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(RwLockMappedWriteGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }
}

/// A [`RwLock`] (or a part of its data, `U`) held for reading that owns an `Arc` of it
/// ([`RwLock::read_owned`], [`OwnedRwLockReadGuard::map`]).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized + 'static, U: ?Sized = T> {
    holder: u64,
    // Borrows `lock`'s allocation: dropped before it.
    inner: ManuallyDrop<OwnedRead<U>>,
    lock: Arc<RwLock<T>>,
}

guard_impls!([T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U> => U, mut: false, release: |this| this.lock.token(this.holder).release());

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// A read guard for a part of the data that still owns the `Arc`.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let inner = inner.map(f);
        unwinding.disarm();
        OwnedRwLockReadGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock,
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let result = inner.try_map(f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(OwnedRwLockReadGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
            Err(inner) => Err(OwnedRwLockReadGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

/// A [`RwLock`] held for writing that owns an `Arc` of it ([`RwLock::write_owned`]).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized + 'static> {
    holder: u64,
    // Borrows `lock`'s allocation: dropped before it.
    inner: ManuallyDrop<ts::RwLockWriteGuard<'static, T>>,
    lock: Arc<RwLock<T>>,
}

guard_impls!([T: ?Sized] OwnedRwLockWriteGuard<T> => T, mut: true, release: |this| this.lock.token(this.holder).release());

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// A write guard for a part of the data that still owns the `Arc`.
    ///
    /// ```
    /// use lockdep::tokio::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let l = Arc::new(RwLock::new(vec![1, 2, 3]));
    ///     let mut last = OwnedRwLockWriteGuard::map(l.clone().write_owned().await, |v| {
    ///         v.last_mut().unwrap()
    ///     });
    ///     *last = 9;
    ///     drop(last);
    ///     assert_eq!(*l.read().await, [1, 2, 9]);
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let inner = OwnedWrite::of(inner, f);
        unwinding.disarm();
        OwnedRwLockMappedWriteGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock,
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let result = OwnedWrite::try_of(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(OwnedRwLockMappedWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
            Err(inner) => Err(OwnedRwLockWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
        }
    }

    /// The guard as a mapped one over all of the data.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        let (holder, lock, inner) = owned_into_parts!(this);
        OwnedRwLockMappedWriteGuard {
            holder,
            inner: ManuallyDrop::new(OwnedWrite::of(inner, |t| t)),
            lock,
        }
    }

    /// Makes the write lock a read lock without letting a writer in between (its held mode
    /// becomes `read`).
    #[track_caller]
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let (holder, lock, inner) = owned_into_parts!(self);
        let reports = lock.token(holder).downgrade();
        let guard = OwnedRwLockReadGuard {
            holder,
            inner: ManuallyDrop::new(OwnedRead::of(ts::RwLockWriteGuard::downgrade(inner))),
            lock,
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        guard
    }

    /// [`downgrade`](Self::downgrade) to a read guard for a part of the data, in one step;
    /// validated as `downgrade`: the held mode becomes `read`.
    #[track_caller]
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let inner = OwnedRead::downgraded(inner, f);
        unwinding.disarm();
        let reports = lock.token(holder).downgrade();
        let guard = OwnedRwLockReadGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock,
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        guard
    }

    /// [`downgrade_map`](Self::downgrade_map) when `f` may decline: the write guard back on
    /// `None` (still held for writing).
    #[track_caller]
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let result = OwnedRead::try_downgraded(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => {
                let reports = lock.token(holder).downgrade();
                let guard = OwnedRwLockReadGuard {
                    holder,
                    inner: ManuallyDrop::new(inner),
                    lock,
                };
                // Once the guard exists, so that a report that unwinds releases it.
                reports.dispatch();
                Ok(guard)
            }
            Err(inner) => Err(OwnedRwLockWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

/// A part of a [`RwLock`]'s data held for writing that owns an `Arc` of the lock
/// ([`OwnedRwLockWriteGuard::map`]). The part need not be `'static` (as with tokio's: a
/// library's `struct RefMut<T>(OwnedRwLockMappedWriteGuard<Data, T>)` compiles unchanged):
///
/// ```
/// use lockdep::tokio::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard};
/// struct Ref<T>(OwnedRwLockReadGuard<Vec<u8>, T>);
/// struct RefMut<T>(OwnedRwLockMappedWriteGuard<Vec<u8>, T>);
/// ```
///
/// Like tokio's, it is invariant in the part's type: a guard of a longer-lived reference cannot
/// pass for one of a shorter-lived one (it could then store the shorter one):
///
/// ```compile_fail
/// use lockdep::tokio::OwnedRwLockMappedWriteGuard;
/// fn shorten<'s>(
///     g: OwnedRwLockMappedWriteGuard<(), &'static str>,
/// ) -> OwnedRwLockMappedWriteGuard<(), &'s str> {
///     g
/// }
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized + 'static, U: ?Sized = T> {
    holder: u64,
    // Borrows `lock`'s allocation: dropped before it.
    inner: ManuallyDrop<OwnedWrite<U>>,
    lock: Arc<RwLock<T>>,
}

guard_impls!([T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U> => U, mut: true, release: |this| this.lock.token(this.holder).release());

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// A guard for a part of this part.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let inner = inner.map(f);
        unwinding.disarm();
        OwnedRwLockMappedWriteGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock,
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<F, V: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let (holder, lock, inner) = owned_into_parts!(this);
        let unwinding = lock.token(holder).unwinding();
        let result = inner.try_map(f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(OwnedRwLockMappedWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
            Err(inner) => Err(OwnedRwLockMappedWriteGuard {
                holder,
                inner: ManuallyDrop::new(inner),
                lock,
            }),
        }
    }

    /// The lock this guard holds a part of.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

/// tokio's read lock held for an owned guard, the data apart: tokio's guard mapped to `()`, so
/// that a part `U` of the data needs no `'static` (tokio's owned guards need none). The owned
/// guard holds the `Arc` the data is in and drops this first.
struct OwnedRead<U: ?Sized> {
    // Held for its `Drop`, which releases tokio's lock.
    _permit: ts::RwLockReadGuard<'static, ()>,
    data: NonNull<U>,
}

// SAFETY: it gives out `&U` only, as tokio's owned read guard does: `Send` and `Sync` when `U`
// is `Sync` (the `Arc` beside it adds tokio's bounds on `T`).
unsafe impl<U: ?Sized + Sync> Send for OwnedRead<U> {}
// SAFETY: as above.
unsafe impl<U: ?Sized + Sync> Sync for OwnedRead<U> {}

impl<T: ?Sized + 'static> OwnedRead<T> {
    fn of(guard: ts::RwLockReadGuard<'static, T>) -> Self {
        let mut data = None;
        let permit = ts::RwLockReadGuard::map(guard, |t| {
            data = Some(NonNull::from(t));
            &()
        });
        OwnedRead {
            _permit: permit,
            data: data.expect("`map` calls its function"),
        }
    }

    /// tokio's `downgrade_map`, the part apart.
    fn downgraded<U: ?Sized>(
        guard: ts::RwLockWriteGuard<'static, T>,
        f: impl FnOnce(&T) -> &U,
    ) -> OwnedRead<U> {
        let mut data = None;
        let permit = ts::RwLockWriteGuard::downgrade_map(guard, |t| {
            data = Some(NonNull::from(f(t)));
            &()
        });
        OwnedRead {
            _permit: permit,
            data: data.expect("`downgrade_map` calls its function"),
        }
    }

    /// tokio's `try_downgrade_map`, the part apart.
    fn try_downgraded<U: ?Sized>(
        guard: ts::RwLockWriteGuard<'static, T>,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<OwnedRead<U>, ts::RwLockWriteGuard<'static, T>> {
        let mut data = None;
        let permit = ts::RwLockWriteGuard::try_downgrade_map(guard, |t| {
            data = Some(NonNull::from(f(t)?));
            Some(&())
        })?;
        Ok(OwnedRead {
            _permit: permit,
            data: data.expect("`try_downgrade_map` calls its function"),
        })
    }
}

impl<U: ?Sized> OwnedRead<U> {
    fn map<V: ?Sized>(self, f: impl FnOnce(&U) -> &V) -> OwnedRead<V> {
        // SAFETY: the permit holds the read lock; the owned guard keeps the data alive.
        let data = NonNull::from(f(unsafe { self.data.as_ref() }));
        OwnedRead {
            _permit: self._permit,
            data,
        }
    }

    fn try_map<V: ?Sized>(self, f: impl FnOnce(&U) -> Option<&V>) -> Result<OwnedRead<V>, Self> {
        // SAFETY: as in `map`.
        match f(unsafe { self.data.as_ref() }) {
            Some(v) => Ok(OwnedRead {
                data: NonNull::from(v),
                _permit: self._permit,
            }),
            None => Err(self),
        }
    }
}

impl<U: ?Sized> Deref for OwnedRead<U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the permit holds the read lock; the owned guard keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

/// tokio's write lock held for an owned mapped guard, the data apart (see [`OwnedRead`]).
struct OwnedWrite<U: ?Sized> {
    // Held for its `Drop`, which releases tokio's lock.
    _permit: ts::RwLockMappedWriteGuard<'static, ()>,
    data: NonNull<U>,
    // `&mut U` goes out through it: invariant in `U`, as tokio's guard is.
    _invariant: PhantomData<*mut U>,
}

// SAFETY: it gives out `&mut U` to the thread that holds it and `&U` to sharers: `Send` when `U`
// is `Send`, `Sync` when `U` is `Sync` (the `Arc` beside it adds tokio's bounds on `T`).
unsafe impl<U: ?Sized + Send> Send for OwnedWrite<U> {}
// SAFETY: as above.
unsafe impl<U: ?Sized + Sync> Sync for OwnedWrite<U> {}

impl<U: ?Sized> OwnedWrite<U> {
    fn of<T: ?Sized + 'static>(
        guard: ts::RwLockWriteGuard<'static, T>,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> Self {
        let mut data = None;
        let permit = ts::RwLockWriteGuard::map(guard, |t| {
            data = Some(NonNull::from(f(t)));
            Box::leak(Box::new(()))
        });
        OwnedWrite {
            _permit: permit,
            data: data.expect("`map` calls its function"),
            _invariant: PhantomData,
        }
    }

    fn try_of<T: ?Sized + 'static>(
        guard: ts::RwLockWriteGuard<'static, T>,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<Self, ts::RwLockWriteGuard<'static, T>> {
        let mut data = None;
        let permit = ts::RwLockWriteGuard::try_map(guard, |t| {
            data = Some(NonNull::from(f(t)?));
            Some(Box::leak(Box::new(())))
        })?;
        Ok(OwnedWrite {
            _permit: permit,
            data: data.expect("`try_map` calls its function"),
            _invariant: PhantomData,
        })
    }

    fn map<V: ?Sized>(mut self, f: impl FnOnce(&mut U) -> &mut V) -> OwnedWrite<V> {
        // SAFETY: the permit holds the write lock: the data is this guard's alone.
        let data = NonNull::from(f(unsafe { self.data.as_mut() }));
        OwnedWrite {
            _permit: self._permit,
            data,
            _invariant: PhantomData,
        }
    }

    fn try_map<V: ?Sized>(
        mut self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<OwnedWrite<V>, Self> {
        // SAFETY: as in `map`.
        match f(unsafe { self.data.as_mut() }) {
            Some(v) => Ok(OwnedWrite {
                data: NonNull::from(v),
                _permit: self._permit,
                _invariant: PhantomData,
            }),
            None => Err(self),
        }
    }
}

impl<U: ?Sized> Deref for OwnedWrite<U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the permit holds the write lock; the owned guard keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<U: ?Sized> DerefMut for OwnedWrite<U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` is the only access.
        unsafe { self.data.as_mut() }
    }
}
