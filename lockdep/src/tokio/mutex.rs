//! `Mutex`: tokio's async mutex with every acquisition validated.

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

impl<'a> Token<'a> {
    #[inline(always)]
    fn release(self) {
        release(
            self.map,
            async_instance(self.map),
            LockKind::Mutex,
            self.holder,
        );
    }

    /// Releases the acquisition if dropped before [`Unwinding::disarm`]: while a guard is
    /// mapped, so that a panicking closure (tokio's `map` drops its guard, unlocking, as the
    /// panic leaves it) does not leave the acquisition recorded as held.
    fn unwinding(self) -> Unwinding<'a> {
        Unwinding(self)
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
        self.lock_nested_at(0, Location::caller())
    }

    /// [`lock`](Self::lock) as subclass `subclass` of the mutex's class, for deliberate nesting
    /// of one class (the kernel's `mutex_lock_nested`; not in tokio): two locks of one class
    /// always taken in one order (by id, say), the second as subclass 1.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use lockdep::tokio::Mutex;
    ///
    /// let reports = lockdep::tokio::capture_async(async {
    ///     let links: Vec<Mutex<u32>> = (0..2).map(|_| Mutex::new(0)).collect(); // one class
    ///     let _first = links[0].lock().await;
    ///     let _second = links[1].lock_nested(1).await; // ordered by index: meant
    /// })
    /// .await;
    /// assert!(reports.is_empty());
    /// # });
    /// ```
    #[track_caller]
    pub fn lock_nested(&self, subclass: u32) -> impl Future<Output = MutexGuard<'_, T>> {
        self.lock_nested_at(subclass, Location::caller())
    }

    async fn lock_nested_at(
        &self,
        subclass: u32,
        site: &'static Location<'static>,
    ) -> MutexGuard<'_, T> {
        let mut req = self.request(site);
        req.subclass = subclass;
        let pending = self.acquiring(acquire(req));
        let inner = self.inner.lock().await;
        let holder = pending.done();
        MutexGuard {
            lock: self,
            holder,
            inner: ManuallyDrop::new(inner),
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
            lock: self,
            holder: pending.done(),
            inner: ManuallyDrop::new(inner),
        }
    }

    /// Tries to lock the mutex without waiting (a trylock: no dependency ends in it).
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, ts::TryLockError> {
        let inner = self.inner.try_lock()?;
        let (holder, reports) = acquire_try(self.request(Location::caller()));
        let guard = MutexGuard {
            lock: self,
            holder,
            inner: ManuallyDrop::new(inner),
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }

    /// A mutable reference to the data: the borrow proves no one holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// [`lock`](Self::lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            let holder = {
                let pending = self.acquiring(acquire(self.request(site)));
                let inner = self.inner.lock().await;
                (pending.done(), OwnedPermit::of(inner))
            };
            let (data, permit) = holder.1;
            OwnedMutexGuard {
                holder: holder.0,
                data,
                permit: ManuallyDrop::new(permit),
                lock: self,
            }
        }
    }

    /// [`try_lock`](Self::try_lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, ts::TryLockError> {
        let (data, permit) = OwnedPermit::of(self.inner.try_lock()?);
        let (holder, reports) = acquire_try(self.request(Location::caller()));
        let guard = OwnedMutexGuard {
            holder,
            data,
            permit: ManuallyDrop::new(permit),
            lock: self,
        };
        // Once the guard exists, so that a report that unwinds releases it.
        reports.dispatch();
        Ok(guard)
    }

    /// [`blocking_lock`](Self::blocking_lock) through an `Arc`: the guard owns the `Arc`.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let pending = self.acquiring(acquire_blocking(self.request(Location::caller())));
        let (data, permit) = OwnedPermit::of(self.inner.blocking_lock());
        let holder = pending.done();
        OwnedMutexGuard {
            holder,
            data,
            permit: ManuallyDrop::new(permit),
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
    lock: &'a Mutex<T>,
    holder: u64,
    inner: ManuallyDrop<ts::MutexGuard<'a, T>>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Takes the guard's parts without running its `Drop`.
    fn into_parts(this: Self) -> (&'a Mutex<T>, u64, ts::MutexGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.lock, this.holder, inner)
    }

    /// A guard for a part of the data (tokio's `MutexGuard::map`); the mutex stays held, by
    /// the same task, until the new guard drops. `U` may be unsized (a slice, a `dyn Trait`).
    ///
    /// ```
    /// use lockdep::tokio::{Mutex, MutexGuard};
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let m = Mutex::new([1u8, 2, 3]);
    ///     let mut tail = MutexGuard::map(m.lock().await, |a| &mut a[1..]);
    ///     tail[0] = 7;
    ///     drop(tail);
    ///     assert_eq!(*m.lock().await, [1, 7, 3]);
    /// });
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        let (lock, holder, inner) = Self::into_parts(this);
        let token = lock.token(holder);
        let unwinding = token.unwinding();
        let inner = ts::MutexGuard::map(inner, f);
        unwinding.disarm();
        MappedMutexGuard {
            token,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let (lock, holder, inner) = Self::into_parts(this);
        let token = lock.token(holder);
        let unwinding = token.unwinding();
        let result = ts::MutexGuard::try_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(MappedMutexGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(MutexGuard {
                lock,
                holder,
                inner: ManuallyDrop::new(inner),
            }),
        }
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Mutex<T> {
    /// The release token of an acquisition of this mutex by the stack `holder`.
    #[inline(always)]
    fn token(&self, holder: u64) -> Token<'_> {
        Token {
            map: &self.map,
            holder,
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
        self.lock.token(self.holder).release();
    }
}

/// `Debug` and `Display` of a guard: its data's.
macro_rules! fmt_impls {
    ([$($gen:tt)*] $guard:ty => $target:ident) => {
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
}

fmt_impls!(['a, T: ?Sized] MutexGuard<'a, T> => T);

/// A held part of a [`Mutex`]'s data ([`MutexGuard::map`]).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    token: Token<'a>,
    inner: ManuallyDrop<ts::MappedMutexGuard<'a, T>>,
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Takes the guard's parts without running its `Drop`.
    fn into_parts(this: Self) -> (Token<'a>, ts::MappedMutexGuard<'a, T>) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the guard is taken once.
        let inner = unsafe { ManuallyDrop::take(&mut this.inner) };
        (this.token, inner)
    }

    /// A guard for a part of this part. `U` is sized, as in tokio (whose
    /// `MappedMutexGuard::map` this is); map the [`MutexGuard`] itself to reach an unsized part.
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let inner = ts::MappedMutexGuard::map(inner, f);
        unwinding.disarm();
        MappedMutexGuard {
            token,
            inner: ManuallyDrop::new(inner),
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let (token, inner) = Self::into_parts(this);
        let unwinding = token.unwinding();
        let result = ts::MappedMutexGuard::try_map(inner, f);
        unwinding.disarm();
        match result {
            Ok(inner) => Ok(MappedMutexGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
            Err(inner) => Err(MappedMutexGuard {
                token,
                inner: ManuallyDrop::new(inner),
            }),
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

fmt_impls!(['a, T: ?Sized] MappedMutexGuard<'a, T> => T);

/// A held [`Mutex`] that owns an `Arc` of it ([`Mutex::lock_owned`]): it can move into another
/// task; dropped there, its release reaches the task that took it. As tokio's, it needs no
/// `T: 'static`, and is invariant in `T`:
///
/// ```compile_fail
/// use lockdep::tokio::OwnedMutexGuard;
/// fn shorten<'s>(g: OwnedMutexGuard<&'static str>) -> OwnedMutexGuard<&'s str> {
///     g
/// }
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    holder: u64,
    // The data, inside `lock`'s allocation; `permit` holds the lock.
    data: NonNull<T>,
    // Borrows `lock`'s allocation: dropped before it (see `Drop`).
    permit: ManuallyDrop<OwnedPermit>,
    lock: Arc<Mutex<T>>,
}

/// tokio's lock held for an owned guard, without the data's type: tokio's guard mapped to `()`
/// with its lifetime erased, so the owned guards need no `T: 'static` (tokio's need none, and
/// tokio releases its lock only through a guard of its own).
struct OwnedPermit {
    // Held for its `Drop`, which releases tokio's lock.
    _held: ts::MappedMutexGuard<'static, ()>,
}

impl OwnedPermit {
    /// The data `guard` holds and the lock, apart. The caller keeps the mutex alive (an `Arc`
    /// in the same owned guard) until the permit is dropped.
    fn of<T: ?Sized>(guard: ts::MutexGuard<'_, T>) -> (NonNull<T>, OwnedPermit) {
        let mut data = None;
        let unit = ts::MutexGuard::map(guard, |t| {
            data = Some(NonNull::from(t));
            Box::leak(Box::new(()))
        });
        // SAFETY: only the lifetime changes; the owned guard keeps the mutex it borrows alive
        // (it holds the `Arc` and drops the permit first).
        let permit = unsafe {
            std::mem::transmute::<ts::MappedMutexGuard<'_, ()>, ts::MappedMutexGuard<'static, ()>>(
                unit,
            )
        };
        (
            data.expect("`map` calls its function"),
            OwnedPermit { _held: permit },
        )
    }
}

// SAFETY: the guard gives `&mut T` to the thread that holds it, as tokio's `OwnedMutexGuard`
// does: `Send` when `T` is, `Sync` when `T` is `Send + Sync` (tokio's bounds).
unsafe impl<T: ?Sized + Send> Send for OwnedMutexGuard<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Takes the guard's parts without running its `Drop`.
    fn into_parts(this: Self) -> (u64, NonNull<T>, Arc<Mutex<T>>, OwnedPermit) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again: its permit and `Arc` are taken once.
        unsafe {
            (
                this.holder,
                this.data,
                std::ptr::read(&this.lock),
                ManuallyDrop::take(&mut this.permit),
            )
        }
    }

    /// A guard for a part of the data that still owns the `Arc` (tokio's
    /// `OwnedMutexGuard::map`). `U` may be unsized.
    ///
    /// ```
    /// use lockdep::tokio::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let m = Arc::new(Mutex::new((1, String::from("a"))));
    ///     let mut name: OwnedMappedMutexGuard<_, String> =
    ///         OwnedMutexGuard::map(m.clone().lock_owned().await, |v| &mut v.1);
    ///     name.push('b');
    ///     drop(name);
    ///     assert_eq!(m.lock().await.1, "ab");
    /// });
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        // The permit last: dropped first if `f` panics, while `lock` keeps the mutex alive.
        let (holder, mut data, lock, permit) = Self::into_parts(this);
        let unwinding = lock.token(holder).unwinding();
        // SAFETY: the permit holds the lock: the data is this guard's alone.
        let part = NonNull::from(f(unsafe { data.as_mut() }));
        unwinding.disarm();
        OwnedMappedMutexGuard {
            holder,
            data: part,
            permit: ManuallyDrop::new(permit),
            lock,
            _invariant: PhantomData,
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // The permit last: dropped first if `f` panics, while `lock` keeps the mutex alive.
        let (holder, mut data, lock, permit) = Self::into_parts(this);
        let unwinding = lock.token(holder).unwinding();
        // SAFETY: the permit holds the lock: the data is this guard's alone.
        let part = f(unsafe { data.as_mut() }).map(NonNull::from);
        unwinding.disarm();
        let permit = ManuallyDrop::new(permit);
        match part {
            Some(part) => Ok(OwnedMappedMutexGuard {
                holder,
                data: part,
                permit,
                lock,
                _invariant: PhantomData,
            }),
            None => Err(OwnedMutexGuard {
                holder,
                data,
                permit,
                lock,
            }),
        }
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the permit holds the lock and `lock` keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, while `lock` still keeps the mutex it borrows alive.
        unsafe { ManuallyDrop::drop(&mut self.permit) };
        self.lock.token(self.holder).release();
    }
}

fmt_impls!([T: ?Sized] OwnedMutexGuard<T> => T);

/// A held part of a [`Mutex`]'s data that owns an `Arc` of the mutex
/// ([`OwnedMutexGuard::map`]): it can move into another task, as an [`OwnedMutexGuard`] can.
///
/// Invariant in its types, as tokio's: a guard of `&'static str` is no guard of a shorter
/// borrow, which could then be written into the data.
///
/// ```compile_fail
/// use lockdep::tokio::OwnedMappedMutexGuard;
/// fn shorten<'s>(g: OwnedMappedMutexGuard<(), &'static str>) -> OwnedMappedMutexGuard<(), &'s str> {
///     g
/// }
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    holder: u64,
    // A part of the data, inside `lock`'s allocation; `permit` holds the lock.
    data: NonNull<U>,
    // Borrows `lock`'s allocation: dropped before it (see `Drop`).
    permit: ManuallyDrop<OwnedPermit>,
    lock: Arc<Mutex<T>>,
    // Invariant in `U`, as `&mut U` is (`NonNull` alone is covariant: a guard of `&'long str`
    // would pass for one of `&'short str`, and a short borrow could be written into the data).
    _invariant: PhantomData<*mut U>,
}

// SAFETY: tokio's bounds for its `OwnedMappedMutexGuard`: the guard gives `&mut U` to the thread
// that holds it and keeps an `Arc` of the mutex of `T`.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Takes the guard's parts without running its `Drop`.
    fn into_parts(this: Self) -> (u64, NonNull<U>, Arc<Mutex<T>>, OwnedPermit) {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again: its permit and `Arc` are taken once.
        unsafe {
            (
                this.holder,
                this.data,
                std::ptr::read(&this.lock),
                ManuallyDrop::take(&mut this.permit),
            )
        }
    }

    /// A guard for a part of this part. `S` is sized, as in tokio.
    pub fn map<S, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        // The permit last: dropped first if `f` panics, while `lock` keeps the mutex alive.
        let (holder, mut data, lock, permit) = Self::into_parts(this);
        let unwinding = lock.token(holder).unwinding();
        // SAFETY: the permit holds the lock: the data is this guard's alone.
        let part = NonNull::from(f(unsafe { data.as_mut() }));
        unwinding.disarm();
        OwnedMappedMutexGuard {
            holder,
            data: part,
            permit: ManuallyDrop::new(permit),
            lock,
            _invariant: PhantomData,
        }
    }

    /// [`map`](Self::map) when `f` may decline: the guard back on `None`.
    pub fn try_map<S, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        // The permit last: dropped first if `f` panics, while `lock` keeps the mutex alive.
        let (holder, mut data, lock, permit) = Self::into_parts(this);
        let unwinding = lock.token(holder).unwinding();
        // SAFETY: the permit holds the lock: the data is this guard's alone.
        let part = f(unsafe { data.as_mut() }).map(NonNull::from);
        unwinding.disarm();
        let permit = ManuallyDrop::new(permit);
        match part {
            Some(part) => Ok(OwnedMappedMutexGuard {
                holder,
                data: part,
                permit,
                lock,
                _invariant: PhantomData,
            }),
            None => Err(OwnedMappedMutexGuard {
                holder,
                data,
                permit,
                lock,
                _invariant: PhantomData,
            }),
        }
    }

    /// The mutex this guard holds a part of (lockdep's addition: tokio's
    /// `OwnedMappedMutexGuard` has no such method).
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the permit holds the lock and `lock` keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, while `lock` still keeps the mutex it borrows alive.
        unsafe { ManuallyDrop::drop(&mut self.permit) };
        self.lock.token(self.holder).release();
    }
}

fmt_impls!([T: ?Sized, U: ?Sized] OwnedMappedMutexGuard<T, U> => U);
