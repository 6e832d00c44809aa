//! `Mutex`: tokio's async mutex with every acquisition validated.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use ::tokio::sync as ts;

use super::{Acquiring, acquire, acquire_blocking, acquire_try, async_instance, release, request};
use crate::class::{ClassKey, LockKind};
use crate::held::Mode;
use crate::runtime::{LockMap, Lockable, private::Sealed};

/// [`tokio::sync::Mutex`] with every acquisition validated (docs/async.md): the class is the
/// construction site (or [`with_name`](Self::with_name), [`with_class`](Self::with_class)), and
/// the acquisition is checked at the first poll of [`lock`](Self::lock), before it waits.
pub struct Mutex<T: ?Sized> {
    map: LockMap,
    inner: ts::Mutex<T>,
}

/// What a guard needs to release its acquisition: the lock's map and the stack holding it.
#[derive(Clone, Copy)]
struct Token<'a> {
    map: &'a LockMap,
    holder: u64,
}

impl Token<'_> {
    #[inline(always)]
    fn release(self) {
        release(
            self.map,
            async_instance(self.map),
            LockKind::Mutex,
            self.holder,
        );
    }
}

impl<T> Mutex<T> {
    /// A mutex whose class is this call's site.
    #[track_caller]
    pub fn new(t: T) -> Self {
        Mutex {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::Mutex::new(t),
        }
    }

    /// [`new`](Self::new) in a `const` context (a `static`).
    #[track_caller]
    pub const fn const_new(t: T) -> Self {
        Mutex {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::Mutex::const_new(t),
        }
    }

    /// A mutex whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str, t: T) -> Self {
        Mutex {
            map: LockMap::spec(Location::caller(), Some(name), None)
                .of::<T>()
                .build(),
            inner: ts::Mutex::const_new(t),
        }
    }

    /// A mutex of the class of `key`, shared with every other lock built with it. Share a key
    /// between async locks only: the await rule tells async from blocking locks by class.
    #[track_caller]
    pub const fn with_class(key: &'static ClassKey, t: T) -> Self {
        Mutex {
            map: LockMap::spec(Location::caller(), None, Some(key))
                .of::<T>()
                .build(),
            inner: ts::Mutex::const_new(t),
        }
    }

    /// Consumes the mutex and returns its data.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    #[inline(always)]
    fn request(&self, site: &'static Location<'static>) -> crate::runtime::Request<'_> {
        request(&self.map, LockKind::Mutex, Mode::Write, site)
    }

    #[inline(always)]
    fn acquiring(&self, holder: u64) -> Acquiring<'_> {
        Acquiring {
            map: &self.map,
            instance: async_instance(&self.map),
            kind: LockKind::Mutex,
            holder,
        }
    }

    /// Locks the mutex, waiting until it is free. Validated at the first poll, before waiting;
    /// dropping the future before it gets the lock forgets the acquisition.
    #[track_caller]
    #[inline]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> {
        let site = Location::caller();
        async move {
            let pending = self.acquiring(acquire(self.request(site)));
            let inner = self.inner.lock().await;
            let holder = pending.done();
            MutexGuard {
                token: Token {
                    map: &self.map,
                    holder,
                },
                inner: ManuallyDrop::new(inner),
            }
        }
    }

    /// Locks the mutex from synchronous code, blocking the thread (tokio's: panics inside an
    /// async context). Inside a tracked task's poll (`block_in_place`) while the task holds an
    /// async lock, reported ([`ReportKind::BlockingHoldingAsyncLock`](crate::ReportKind)).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let pending = self.acquiring(acquire_blocking(self.request(Location::caller())));
        let inner = self.inner.blocking_lock();
        MutexGuard {
            token: Token {
                map: &self.map,
                holder: pending.done(),
            },
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Tries to lock the mutex without waiting (a trylock: no dependency ends in it).
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, ts::TryLockError> {
        let inner = self.inner.try_lock()?;
        let holder = acquire_try(self.request(Location::caller()));
        Ok(MutexGuard {
            token: Token {
                map: &self.map,
                holder,
            },
            inner: ManuallyDrop::new(inner),
        })
    }

    /// A mutable reference to the data: the borrow proves no one holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: ?Sized + 'static> Mutex<T> {
    /// [`lock`](Self::lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            let holder = {
                let pending = self.acquiring(acquire(self.request(site)));
                // SAFETY: the guard borrows the mutex inside `self`'s allocation, which the
                // owned guard keeps alive (it holds the `Arc` and drops the guard first).
                let lock: &'static Self = unsafe { &*Arc::as_ptr(&self) };
                let inner = lock.inner.lock().await;
                (pending.done(), inner)
            };
            OwnedMutexGuard {
                holder: holder.0,
                inner: ManuallyDrop::new(holder.1),
                lock: self,
            }
        }
    }

    /// [`try_lock`](Self::try_lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, ts::TryLockError> {
        // SAFETY: as in `lock_owned`: the owned guard keeps the allocation alive.
        let lock: &'static Self = unsafe { &*Arc::as_ptr(&self) };
        let inner = lock.inner.try_lock()?;
        let holder = acquire_try(lock.request(Location::caller()));
        Ok(OwnedMutexGuard {
            holder,
            inner: ManuallyDrop::new(inner),
            lock: self,
        })
    }

    /// [`blocking_lock`](Self::blocking_lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        // SAFETY: as in `lock_owned`: the owned guard keeps the allocation alive.
        let lock: &'static Self = unsafe { &*Arc::as_ptr(&self) };
        let pending = lock.acquiring(acquire_blocking(lock.request(Location::caller())));
        let inner = lock.inner.blocking_lock();
        OwnedMutexGuard {
            holder: pending.done(),
            inner: ManuallyDrop::new(inner),
            lock: self,
        }
    }
}

impl<T: ?Sized> Sealed for Mutex<T> {}

impl<T: ?Sized> Lockable for Mutex<T> {
    fn lock_map(&self) -> (&LockMap, usize, LockKind) {
        (&self.map, async_instance(&self.map), LockKind::Mutex)
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: Default> Default for Mutex<T> {
    /// A mutex whose class is this call's site (a `#[derive(Default)]` gives every field one:
    /// such a mutex's class is refined by its first acquisition, as for the blocking locks).
    #[track_caller]
    fn default() -> Self {
        Mutex {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .by_default()
                .build(),
            inner: ts::Mutex::new(T::default()),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A held [`Mutex`]: releases it when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::MutexGuard<'a, T>>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Takes the guard's parts without running its `Drop`.
    fn into_parts(this: Self) -> (Token<'a>, ts::MutexGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.token, inner)
    }

    /// A guard for a part of the data (tokio's `MutexGuard::map`).
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(
        this: Self,
        f: F,
    ) -> MappedMutexGuard<'a, U> {
        let (token, inner) = Self::into_parts(this);
        MappedMutexGuard {
            token,
            inner: ManuallyDrop::new(ts::MutexGuard::map(inner, f)),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        this: Self,
        f: F,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let (token, inner) = Self::into_parts(this);
        match ts::MutexGuard::try_map(inner, f) {
            Ok(inner) => Ok(MappedMutexGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(MutexGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the field is never used again.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        self.token.release();
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

/// A held part of a [`Mutex`]'s data ([`MutexGuard::map`]).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::MappedMutexGuard<'a, T>>,
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// A guard for a part of this part.
    pub fn map<U, F: FnOnce(&mut T) -> &mut U>(this: Self, f: F) -> MappedMutexGuard<'a, U> {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        MappedMutexGuard {
            token: this.token,
            inner: ManuallyDrop::new(ts::MappedMutexGuard::map(inner, f)),
        }
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the field is never used again.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        self.token.release();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A held [`Mutex`] that owns an `Arc` of it ([`Mutex::lock_owned`]): `'static`, so it can move
/// into another task; dropped there, its release reaches the task that took it.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized + 'static> {
    holder: u64,
    // Borrows `lock`'s allocation: dropped before it (see `Drop`).
    inner: ManuallyDrop<ts::MutexGuard<'static, T>>,
    lock: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, while `lock` still keeps the mutex it borrows alive.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        Token {
            map: &self.lock.map,
            holder: self.holder,
        }
        .release();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
