//! One body of tests written against parking_lot 0.13's API (`body.rs`), compiled twice: once
//! against parking_lot itself and once against lockdep, each with only its `use` line. So the
//! lockdep build is a drop-in for this code, and the body's expectations are parking_lot's own.

mod with_parking_lot {
    use upstream_parking_lot::{
        ArcMutexGuard, Condvar, FairMutex, FairMutexGuard, Mutex, MutexGuard, Once, OnceState,
        RawMutex, RawRwLock, ReentrantMutex, RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard,
        lock_api,
    };
    include!("body.rs");
}

mod with_lockdep {
    use lockdep::{
        ArcMutexGuard, Condvar, FairMutex, FairMutexGuard, Mutex, MutexGuard, Once, OnceState,
        RawMutex, RawRwLock, ReentrantMutex, RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard,
        lock_api,
    };
    include!("body.rs");
}
