//! One body of tests written against tokio 1.47's `tokio::sync` lock API (`body.rs`), compiled
//! twice: once against `tokio::sync` itself and once against `lockdep::tokio`, each with only
//! its `use` line (and its `run`, which for lockdep checks the body gives no reports). So
//! `lockdep::tokio` is a drop-in for this code, and the body's expectations are tokio's own.
//!
//! `cargo test -p lockdep --features tokio --test tokio_api`

/// The body's imports, from `$sync`: the one line a user changes.
macro_rules! api_test {
    ($module:ident, $sync:path, $run:path) => {
        mod $module {
            use $run as run;
            use $sync::{
                MappedMutexGuard, Mutex, MutexGuard, OnceCell, OwnedMappedMutexGuard,
                OwnedMutexGuard, OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard,
                OwnedRwLockWriteGuard, RwLock, RwLockMappedWriteGuard, RwLockReadGuard,
                RwLockWriteGuard, SetError, TryLockError,
            };
            include!("body.rs");
        }
    };
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Runs the body's future on a current-thread runtime.
fn run_tokio<F: std::future::Future<Output = ()>>(fut: F) {
    runtime().block_on(fut);
}

/// Runs the body's future as a captured task: it must give no reports.
fn run_lockdep<F: std::future::Future<Output = ()>>(fut: F) {
    let reports = runtime().block_on(lockdep::tokio::capture_async(fut));
    assert!(reports.is_empty(), "{reports:#?}");
}

api_test!(with_tokio, tokio::sync, crate::run_tokio);
api_test!(with_lockdep, lockdep::tokio, crate::run_lockdep);
