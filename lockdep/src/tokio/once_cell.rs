//! `OnceCell`: tokio's async once cell, its initialisation modelled as a lock class.
//!
//! As `lockdep::Once` models a completion: a task that runs the initialiser, or waits for
//! another task's, holds the cell's class for that time. A lock taken inside the initialiser
//! depends on the cell (`cell → A`); waiting for the cell while holding a lock makes the cell
//! depend on it (`A → cell`). So an initialiser that takes a lock a waiter holds is a cycle,
//! reported before it hangs, and so is an initialiser that waits for its own cell. A cell that
//! is already set is read without any of this (no wait is possible).

use std::fmt;
use std::future::Future;
use std::panic::Location;

use ::tokio::sync as ts;

pub use ::tokio::sync::SetError;

use super::{Acquiring, acquire, async_instance, request};
use crate::class::{ClassKey, LockKind};
use crate::held::Mode;
use crate::runtime::LockMap;

/// [`tokio::sync::OnceCell`] whose initialisation is validated as a lock class (module docs):
/// the class is the construction site (or [`with_name`](Self::with_name),
/// [`with_class`](Self::with_class)).
///
/// ```
/// use lockdep::tokio::{Mutex, OnceCell};
/// use lockdep::ReportKind;
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let reports = rt.block_on(lockdep::tokio::capture_async(async {
///     let config = Mutex::with_name("config", 7);
///     let settings = || OnceCell::<u32>::with_name("settings"); // one class for all built here
///     let (first, second) = (settings(), settings());
///     // The initialiser reads the config: settings -> config.
///     first.get_or_init(|| async { *config.lock().await }).await;
///     // Waiting for a settings cell with the config held: config -> settings. Had another task
///     // been running `second`'s initialiser, which reads the config, this would hang.
///     let _config = config.lock().await;
///     second.get_or_init(|| async { 0 }).await;
/// }));
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
/// ```
pub struct OnceCell<T> {
    map: LockMap,
    inner: ts::OnceCell<T>,
}

impl<T> OnceCell<T> {
    /// An empty cell whose class is this call's site.
    #[track_caller]
    pub fn new() -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::OnceCell::new(),
        }
    }

    /// [`new`](Self::new) in a `const` context (a `static`).
    #[track_caller]
    pub const fn const_new() -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::OnceCell::const_new(),
        }
    }

    /// An empty cell whose class is this call's site, printed as `name`.
    #[track_caller]
    pub const fn with_name(name: &'static str) -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), Some(name), None)
                .of::<T>()
                .build(),
            inner: ts::OnceCell::const_new(),
        }
    }

    /// An empty cell of the class of `key`, shared with every other lock built with it.
    #[track_caller]
    pub const fn with_class(key: &'static ClassKey) -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, Some(key))
                .of::<T>()
                .build(),
            inner: ts::OnceCell::const_new(),
        }
    }

    /// A cell holding `value` if it is `Some`.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::OnceCell::new_with(value),
        }
    }

    /// A cell holding `value`, in a `const` context.
    #[track_caller]
    pub const fn const_new_with(value: T) -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .build(),
            inner: ts::OnceCell::const_new_with(value),
        }
    }

    /// Whether the cell is set.
    pub fn initialized(&self) -> bool {
        self.inner.initialized()
    }

    /// The value, if the cell is set (never waits).
    pub fn get(&self) -> Option<&T> {
        self.inner.get()
    }

    /// The value, mutably, if the cell is set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Sets the value if the cell is empty and no initialiser runs (never waits).
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        self.inner.set(value)
    }

    /// The value, running `f` to set it if the cell is empty, or waiting for the task that runs
    /// its initialiser: both hold the cell's class (module docs), validated at the first poll.
    #[track_caller]
    pub fn get_or_init<F, Fut>(&self, f: F) -> impl Future<Output = &T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let site = Location::caller();
        async move {
            if let Some(v) = self.inner.get() {
                return v;
            }
            let held = self.hold(site);
            let v = self.inner.get_or_init(f).await;
            drop(held);
            v
        }
    }

    /// [`get_or_init`](Self::get_or_init) with an initialiser that may fail (the cell stays
    /// empty, and the next caller initialises).
    #[track_caller]
    pub fn get_or_try_init<E, F, Fut>(&self, f: F) -> impl Future<Output = Result<&T, E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let site = Location::caller();
        async move {
            if let Some(v) = self.inner.get() {
                return Ok(v);
            }
            let held = self.hold(site);
            let v = self.inner.get_or_try_init(f).await;
            drop(held);
            v
        }
    }

    /// Consumes the cell and returns its value.
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }

    /// Holds the cell's class while this task initialises it or waits for an initialiser:
    /// released when the result drops (also when the future is dropped mid-way).
    fn hold(&self, site: &'static Location<'static>) -> Acquiring<'_> {
        let holder = acquire(request(&self.map, LockKind::Map, Mode::Write, site));
        Acquiring {
            map: &self.map,
            instance: async_instance(&self.map),
            kind: LockKind::Map,
            holder,
        }
    }
}

impl<T> Default for OnceCell<T> {
    /// An empty cell whose class is this call's site (a `#[derive(Default)]` gives every field
    /// one: such a cell's class is refined by its first wait, as for the locks).
    #[track_caller]
    fn default() -> Self {
        OnceCell {
            map: LockMap::spec(Location::caller(), None, None)
                .of::<T>()
                .by_default()
                .build(),
            inner: ts::OnceCell::new(),
        }
    }
}

impl<T> From<T> for OnceCell<T> {
    /// A set cell whose class is this call's site.
    #[track_caller]
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    /// A cell holding a clone of the value, if set (tokio's `Clone`). Its class is this call's
    /// site, as for any other cell built here, not the original's: a cell's class cannot be
    /// copied (as for `lockdep::std::OnceLock`'s `clone`). Name the clone's class with
    /// [`with_name`](OnceCell::with_name) and [`set`](OnceCell::set) to choose it instead.
    #[track_caller]
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    /// Whether both cells hold equal values, or neither holds one (tokio's; the classes are not
    /// compared). Never waits.
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
