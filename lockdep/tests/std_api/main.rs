//! One body of tests written against `std::sync`'s API (`body.rs`), compiled twice: once against
//! std itself and once against `lockdep::std`, each with only its `use` line. It passes with
//! validation on, off (`LOCKDEP=off`) and compiled out (feature `disabled`).

#[allow(deprecated)] // ONCE_INIT, as old code uses it
mod with_std {
    use std::sync::{
        Arc, Condvar, LazyLock, Mutex, ONCE_INIT, Once, OnceLock, RwLock, RwLockWriteGuard,
        TryLockError, mpsc,
    };
    include!("body.rs");
}

#[allow(deprecated)]
mod with_lockdep {
    use lockdep::std::{
        Arc, Condvar, LazyLock, Mutex, ONCE_INIT, Once, OnceLock, RwLock, RwLockWriteGuard,
        TryLockError, mpsc,
    };
    include!("body.rs");
}
