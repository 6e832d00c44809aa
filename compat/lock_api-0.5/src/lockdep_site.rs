//! lockdep: the construction site and data type of the lock being acquired, for its raw lock to
//! read.
//!
//! `Mutex::new`, `RwLock::new` and `ReentrantMutex::new` (and `from_raw`) record their caller
//! (`#[track_caller]` `const fn`s; `Default` and `From` record none, and a `ReentrantMutex`
//! built so publishes its acquisition's site instead); each acquiring method publishes that site
//! and `type_name::<T>()` on this thread around its call into the raw lock,
//! where a raw lock that validates (the parking_lot 0.13 compat crate over lockdep) reads it with
//! [`current`]. Other raw locks never look.

extern crate std;

use core::cell::Cell;
use core::panic::Location;

type Site = (&'static Location<'static>, &'static str);

std::thread_local! {
    static SITE: Cell<Option<Site>> = const { Cell::new(None) };
}

/// The site published on this thread until it is dropped (the previous one is put back).
pub struct Scope(Option<Site>);

/// Publishes `site` and `T` as where the lock this thread is acquiring was built and what it
/// protects (nothing, for a lock built without a site).
#[inline]
pub fn enter<T: ?Sized>(site: Option<&'static Location<'static>>) -> Scope {
    let now = site.map(|site| (site, core::any::type_name::<T>()));
    Scope(SITE.try_with(|c| c.replace(now)).ok().flatten())
}

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        let _ = SITE.try_with(|c| c.set(self.0));
    }
}

/// Where the lock this thread is acquiring through lock_api was built, and the type of its
/// data, if lock_api is acquiring one built with a site.
#[inline]
pub fn current() -> Option<(&'static Location<'static>, &'static str)> {
    SITE.try_with(Cell::get).ok().flatten()
}
