//! The public API shared by the exclusive locks ([`Mutex`](crate::Mutex) and
//! [`SpinLock`](crate::SpinLock)): one definition, so the two cannot drift apart. Each lock keeps
//! its own raw layer (how it waits) and anything only it has (timed waits for `Mutex`).

/// Defines `$name<T>` over `lock_api::Mutex<$raw, T>`: constructors (site, name, class key, map),
/// the validated `lock`/`lock_nested`/`lock_nest_lock`/`try_lock`, accessors, `Default`, `Debug`
/// and `Lockable`. `$raw` provides `with_map`, `lock_at`, `try_lock_at`, `id` and `lock_map_ref`.
macro_rules! exclusive_lock {
    (
        $(#[$doc:meta])*
        name: $name:ident,
        raw: $raw:ty,
        raw_guard: $raw_guard:ty,
        guard: $guard:ident,
        kind: $kind:expr,
        what: $what:literal,
        nested_fn: $nested_fn:literal,
        nest_lock_fn: $nest_fn:literal,
        lock_doc: $lock_doc:literal,
        try_lock_doc: $try_doc:literal,
    ) => {
        $(#[$doc])*
        // Transparent over the lock_api mutex, so an `Arc` of one is an `Arc` of the other (the
        // `arc_lock` API).
        #[repr(transparent)]
        pub struct $name<T: ?Sized> {
            inner: lock_api::Mutex<$raw, T>,
        }

        impl<T> $name<T> {
            /// A lock described by `map` (a lock embedded in another, e.g. a `SeqLock`'s).
            #[allow(dead_code)]
            pub(crate) const fn with_map(map: LockMap, val: T) -> Self {
                $name { inner: lock_api::Mutex::from_raw(<$raw>::with_map(map), val) }
            }

            #[doc = concat!("A ", $what, " whose class is this call's site.")]
            #[track_caller]
            #[inline(always)]
            pub const fn new(val: T) -> Self {
                Self::with_map(LockMap::spec(Location::caller(), None, None).of::<T>().build(), val)
            }

            #[doc = concat!("A ", $what, " whose class is this call's site, printed as `name`.")]
            #[track_caller]
            pub const fn with_name(name: &'static str, val: T) -> Self {
                Self::with_map(LockMap::spec(Location::caller(), Some(name), None).of::<T>().build(), val)
            }

            #[doc = concat!("A ", $what, " of the class of `key`, shared with every other lock built with it.")]
            #[track_caller]
            pub const fn with_class(key: &'static ClassKey, val: T) -> Self {
                Self::with_map(LockMap::spec(Location::caller(), None, Some(key)).of::<T>().build(), val)
            }

            #[doc = concat!("Consumes the ", $what, " and returns its data.")]
            /// A lock consumed while this thread still holds it (a guard forgotten, a raw acquisition
            /// never released) leaves the thread's held locks: it no longer exists.
            pub fn into_inner(self) -> T {
                if self.inner.is_locked() {
                    let (map, id, kind) = Lockable::lock_map(&self);
                    crate::runtime::on_consumed(map, id, kind);
                }
                self.inner.into_inner()
            }
        }

        impl<T: ?Sized> $name<T> {
            #[doc = concat!("This lock, given as the lock_api mutex it wraps: what a guard's accessor returns (`", stringify!($guard), "` is lock_api's `MutexGuard`, so `", stringify!($guard), "::mutex(&guard)` is a `&lock_api::Mutex<", stringify!($raw), ", T>`, where parking_lot's returns its own lock type). Also `.into()`.")]
            ///
            /// ```
            #[doc = concat!("use lockdep::{", stringify!($name), ", ", stringify!($guard), "};")]
            ///
            #[doc = concat!("let lock = ", stringify!($name), "::new(1);")]
            /// let guard = lock.lock();
            #[doc = concat!("let back: &", stringify!($name), "<i32> = ", stringify!($name), "::from_lock_api(", stringify!($guard), "::mutex(&guard));")]
            /// assert!(std::ptr::eq(back, &lock));
            /// ```
            pub fn from_lock_api(lock: &lock_api::Mutex<$raw, T>) -> &Self {
                let ptr = std::ptr::from_ref(lock) as *const Self;
                // SAFETY: `Self` is `repr(transparent)` over the lock_api mutex and adds no
                // invariant of its own, so the reference is to a valid `Self` for as long.
                unsafe { &*ptr }
            }

            #[inline(always)]
            pub(crate) fn raw_lock(&self) -> &$raw {
                // SAFETY: only used to take or inspect the lock, never to unlock it behind a guard.
                unsafe { self.inner.raw() }
            }

            /// The raw lock (validated like the wrapper: its `lock` and `unlock` are tracked).
            ///
            /// # Safety
            /// Unlocking it while a guard of this lock exists is undefined behaviour, as in
            /// parking_lot.
            pub unsafe fn raw(&self) -> &$raw {
                self.raw_lock()
            }

            /// Unlocks the lock with the raw state `guard` (from [`raw`](Self::raw)'s `lock`),
            /// validated as a release: releasing a lock this thread does not hold is reported.
            ///
            /// # Safety
            /// `guard` must be the state of a current acquisition of this lock with no guard
            /// left for it, as in parking_lot.
            #[track_caller]
            pub unsafe fn force_unlock(&self, guard: $raw_guard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock(guard) }
            }

            /// [`force_unlock`](Self::force_unlock) with a fair unlock.
            ///
            /// # Safety
            /// As [`force_unlock`](Self::force_unlock).
            #[track_caller]
            pub unsafe fn force_unlock_fair(&self, guard: $raw_guard) {
                // SAFETY: the caller's guarantee.
                unsafe { self.inner.force_unlock_fair(guard) }
            }

            /// The lock_api mutex behind an `Arc` of this one.
            fn arc_inner(this: &std::sync::Arc<Self>) -> std::sync::Arc<lock_api::Mutex<$raw, T>> {
                let ptr = std::sync::Arc::into_raw(std::sync::Arc::clone(this)) as *const lock_api::Mutex<$raw, T>;
                // SAFETY: `Self` is `repr(transparent)` over the lock_api mutex, so the pointer is
                // to a value of the same layout in the same `Arc` allocation.
                unsafe { std::sync::Arc::from_raw(ptr) }
            }

            #[doc = concat!("Acquires the ", $what, " through an `Arc`, for a guard without a lifetime (parking_lot's `arc_lock` API), validated like [`lock`](Self::lock).")]
            #[track_caller]
            pub fn lock_arc(self: &std::sync::Arc<Self>) -> lock_api::ArcMutexGuard<$raw, T> {
                Self::arc_inner(self).lock_arc()
            }

            #[doc = concat!("[`try_lock`](Self::try_lock) through an `Arc`.")]
            #[track_caller]
            pub fn try_lock_arc(self: &std::sync::Arc<Self>) -> Option<lock_api::ArcMutexGuard<$raw, T>> {
                Self::arc_inner(self).try_lock_arc()
            }

            /// # Safety
            /// `g` must be the state of a current acquisition of this lock.
            #[inline(always)]
            unsafe fn guard(&self, g: $raw_guard) -> $guard<'_, T> {
                // SAFETY: the caller guarantees the lock is held with state `g`.
                unsafe { self.inner.make_guard_unchecked(g) }
            }

            #[doc = $lock_doc]
            #[track_caller]
            #[inline(always)]
            pub fn lock(&self) -> $guard<'_, T> {
                let g = self.raw_lock().lock_at(0, None, Some(Location::caller()));
                // SAFETY: `g` was just acquired.
                unsafe { self.guard(g) }
            }

            #[doc = concat!("Acquires the ", $what, " as subclass `subclass` of its class, for deliberate nesting of one class (the kernel's `", $nested_fn, "`). Subclass `n` prints as `name/n`.")]
            #[track_caller]
            pub fn lock_nested(&self, subclass: u32) -> $guard<'_, T> {
                let g = self.raw_lock().lock_at(subclass, None, Some(Location::caller()));
                // SAFETY: `g` was just acquired.
                unsafe { self.guard(g) }
            }

            #[doc = concat!("Acquires the ", $what, " under `nest`, which this thread holds and which serialises every lock of this class (the kernel's `", $nest_fn, "`): many locks of one class may then be held at once without a recursive-locking report. Without `nest` held this is reported (`Nested lock was not taken`).")]
            #[track_caller]
            pub fn lock_nest_lock(&self, nest: &impl Lockable) -> $guard<'_, T> {
                let nest_id = InstanceId(nest.lock_map().1 as u64);
                let g = self.raw_lock().lock_at(0, Some(nest_id), Some(Location::caller()));
                // SAFETY: `g` was just acquired.
                unsafe { self.guard(g) }
            }

            #[doc = $try_doc]
            #[track_caller]
            #[inline(always)]
            pub fn try_lock(&self) -> Option<$guard<'_, T>> {
                let (g, pending) = self.raw_lock().try_lock_at(Some(Location::caller()))?;
                // SAFETY: `g` was just acquired.
                let guard = unsafe { self.guard(g) };
                pending.dispatch();
                Some(guard)
            }

            /// Whether any thread holds it now.
            pub fn is_locked(&self) -> bool {
                self.inner.is_locked()
            }

            /// The data, through exclusive access (no locking needed).
            pub fn get_mut(&mut self) -> &mut T {
                self.inner.get_mut()
            }

            /// A raw pointer to the data.
            pub fn data_ptr(&self) -> *mut T {
                self.inner.data_ptr()
            }
        }

        impl<T: Default> Default for $name<T> {
            /// A lock of `T::default()`. Its class is refined at its first acquisition: a
            /// `#[derive(Default)]` gives every field one site (see [`ClassOrigin`](crate::ClassOrigin)).
            #[track_caller]
            fn default() -> Self {
                Self::with_map(LockMap::spec(Location::caller(), None, None).of::<T>().by_default().build(), T::default())
            }
        }

        impl<'a, T: ?Sized> From<&'a lock_api::Mutex<$raw, T>> for &'a $name<T> {
            #[doc = concat!("[`", stringify!($name), "::from_lock_api`].")]
            fn from(lock: &'a lock_api::Mutex<$raw, T>) -> Self {
                $name::from_lock_api(lock)
            }
        }

        impl<T> From<T> for $name<T> {
            /// A lock of `val` whose class is this call's site (a site inside std, such as
            /// `val.into()`'s, is refined at the first acquisition).
            #[track_caller]
            fn from(val: T) -> Self {
                Self::new(val)
            }
        }

        impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt(f)
            }
        }

        impl<T: ?Sized> Sealed for $name<T> {}
        impl<T: ?Sized> Lockable for $name<T> {
            fn lock_map(&self) -> (&LockMap, usize, LockKind) {
                let raw = self.raw_lock();
                (raw.lock_map_ref(), raw.id(), $kind)
            }
        }
    };
}

pub(crate) use exclusive_lock;
