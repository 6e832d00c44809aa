//! Threads that report where their spawner reports: `std::thread`'s `spawn`, `Builder` and
//! `scope` with one difference, the new thread runs in the spawning thread's validator (a
//! [`capture`](crate::capture) or a [`Validator::scope`]), so its reports come back to that
//! capture and its dependencies stay out of the process-wide graph.
//!
//! Stable Rust has no hook on thread creation, so a thread spawned with `std::thread` directly
//! starts in the process-wide validator, unless it is *adopted*: unnamed, and first locking
//! while the only capture of a process that runs one test at a time is running (nextest,
//! `--test-threads=1`; `LOCKDEP_ADOPT_THREADS` overrides; [`semantics`](crate::semantics),
//! "Captures, scopes and the threads they spawn"). Otherwise, inside a capture it joins with
//! [`Validator::scope`] (or [`Validator::enter`]) on a validator passed to it. Thread pools
//! (rayon, tokio's blocking pool) keep their threads across tests: wrap each job in
//! `validator.scope(..)` if its locks belong to a capture.
//!
//! ```
//! use lockdep::Mutex;
//!
//! let (a, b) = (Mutex::with_name("a", ()), Mutex::with_name("b", ()));
//! let reports = lockdep::capture(|| {
//!     lockdep::thread::scope(|s| {
//!         s.spawn(|| drop((a.lock(), b.lock()))).join().unwrap();
//!         s.spawn(|| drop((b.lock(), a.lock()))).join().unwrap(); // b -> a closes a cycle
//!     });
//! });
//! assert_eq!(reports.len(), 1);
//! ```

use crate::Validator;
use crate::runtime::current;
use ::std::io;
use ::std::thread as std_thread;

pub use ::std::thread::{JoinHandle, ScopedJoinHandle};

/// The validator a new thread should run in: the spawner's, unless that is the process-wide
/// one (which a new thread reaches by itself).
fn inherited() -> Option<Validator> {
    let v = current();
    (!v.is_process_wide()).then_some(v)
}

/// Wraps a thread body so that it runs in `validator` (when there is one to inherit).
fn in_validator<F, T>(validator: Option<Validator>, f: F) -> impl FnOnce() -> T
where
    F: FnOnce() -> T,
{
    move || match validator {
        Some(v) => v.scope(f),
        None => f(),
    }
}

/// [`std::thread::spawn`], the new thread running in the spawning thread's validator.
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// [`std::thread::scope`]: threads spawned through the [`Scope`] run in the validator of the
/// thread that spawns them.
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    std_thread::scope(|s| f(Scope::wrap(s)))
}

/// [`std::thread::Scope`] whose threads inherit the spawner's validator.
#[repr(transparent)]
pub struct Scope<'scope, 'env: 'scope>(std_thread::Scope<'scope, 'env>);

impl<'scope, 'env> Scope<'scope, 'env> {
    fn wrap(s: &'scope std_thread::Scope<'scope, 'env>) -> &'scope Self {
        // SAFETY: `Scope` is `repr(transparent)` over `std::thread::Scope`, so the two
        // references have one layout, and the lifetime is carried over unchanged.
        unsafe { &*(s as *const std_thread::Scope<'scope, 'env>).cast::<Self>() }
    }

    /// The `std::thread::Scope` underneath (its threads do not inherit the validator).
    pub fn as_std(&'scope self) -> &'scope std_thread::Scope<'scope, 'env> {
        &self.0
    }

    /// [`std::thread::Scope::spawn`], the new thread running in the spawning thread's
    /// validator.
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.0.spawn(in_validator(inherited(), f))
    }
}

/// [`std::thread::Builder`]: threads it spawns run in the spawning thread's validator.
#[derive(Debug)]
pub struct Builder(std_thread::Builder);

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with std's defaults.
    pub fn new() -> Self {
        Builder(std_thread::Builder::new())
    }

    /// Names the thread (reports and traces carry the name).
    pub fn name(self, name: String) -> Self {
        Builder(self.0.name(name))
    }

    /// Sets the stack size.
    pub fn stack_size(self, size: usize) -> Self {
        Builder(self.0.stack_size(size))
    }

    /// [`std::thread::Builder::spawn`], in the spawning thread's validator.
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn(in_validator(inherited(), f))
    }

    /// [`std::thread::Builder::spawn_scoped`] on a [`Scope`], in the spawning thread's
    /// validator.
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.0.spawn_scoped(&scope.0, in_validator(inherited(), f))
    }
}

#[cfg(all(test, not(lockdep_off)))]
mod tests {
    use crate::{Mutex, ReportKind};

    #[test]
    fn scoped_threads_report_to_the_capture_and_leave_the_global_graph_alone() {
        let (a, b) = (
            Mutex::with_name("thread-test-a", ()),
            Mutex::with_name("thread-test-b", ()),
        );
        let reports = crate::capture(|| {
            super::scope(|s| {
                s.spawn(|| drop((a.lock(), b.lock()))).join().unwrap();
                // A nested spawn inherits too.
                s.spawn(|| s.spawn(|| drop((b.lock(), a.lock()))).join().unwrap())
                    .join()
                    .unwrap();
            });
        });
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
        let global = crate::global();
        let leaked = global
            .dependencies()
            .iter()
            .filter_map(|(from, _, _, _)| global.class_info(*from))
            .filter(|c| c.base_name.starts_with("thread-test"))
            .count();
        assert_eq!(leaked, 0);
    }

    #[test]
    fn spawned_and_built_threads_inherit_the_capture() {
        let a = std::sync::Arc::new(Mutex::with_name("thread-test-c", ()));
        let b = std::sync::Arc::new(Mutex::with_name("thread-test-d", ()));
        let reports = crate::capture(|| {
            let (a2, b2) = (a.clone(), b.clone());
            super::spawn(move || drop((a2.lock(), b2.lock())))
                .join()
                .unwrap();
            let (a3, b3) = (a.clone(), b.clone());
            super::Builder::new()
                .name("builder".into())
                .spawn(move || drop((b3.lock(), a3.lock())))
                .unwrap()
                .join()
                .unwrap();
        });
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].to_string().contains("builder"), "{}", reports[0]);
    }

    #[test]
    fn outside_a_capture_threads_run_in_the_process_wide_validator() {
        let v = super::spawn(crate::current_validator).join().unwrap();
        assert!(v.is_process_wide());
    }
}
