//! lockdep: the construction site and data type of the lock being acquired, and the site of
//! an acquisition lock_api makes on its caller's behalf, for the raw lock to read.
//!
//! `Mutex::new`, `RwLock::new` and `ReentrantMutex::new` record their caller (`#[track_caller]`
//! `const fn`s; `Default` and `From` build through them, so their site is a line of lock_api,
//! which lockdep ignores, keeping the type); each acquiring method publishes that site and
//! `type_name::<T>()` on this thread around its call into the raw lock, where a raw lock that
//! validates (the parking_lot 0.12 compat crate over lockdep) reads it with [`published`].
//! Other raw locks never look.
//!
//! A `ReentrantMutex` takes its raw lock inside a closure of this crate, which cannot see the
//! user's line: its acquiring methods are `#[track_caller]` and publish their caller as the
//! acquisition's site too ([`acquiring`]). `Mutex` and `RwLock` publish none (their raw locks'
//! trait methods are `#[track_caller]` and see it), so their cost is one thread-local, as before.
//!
//! With the feature `lockdep_token` (parking_lot 0.12 compat's `send_guard`), guards carry their
//! acquisition's owner token, handed to and from the raw lock by [`set_token`] / [`take_token`].

extern crate std;

use core::cell::Cell;
use core::panic::Location;

type Site = &'static Location<'static>;

/// What is published: the construction site and data type of the lock being acquired, and the
/// site of an acquisition made on the caller's behalf.
type Published = (Option<(Site, &'static str)>, Option<Site>);

std::thread_local! {
    static PUBLISHED: Cell<Published> = const { Cell::new((None, None)) };
}

/// What is published on this thread until it is dropped (the previous value is put back).
pub struct Scope(Published);

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        let _ = PUBLISHED.try_with(|c| c.set(self.0));
    }
}

#[inline]
fn publish(now: Published) -> Scope {
    Scope(
        PUBLISHED
            .try_with(|c| c.replace(now))
            .unwrap_or((None, None)),
    )
}

/// Publishes `site` and `T` as where the lock this thread is acquiring was built and what it
/// protects; its raw lock sees its own caller.
#[inline]
pub fn enter<T: ?Sized>(site: Site) -> Scope {
    publish((Some((site, core::any::type_name::<T>())), None))
}

/// Publishes `caller` as the site of the acquisition lock_api makes on its behalf where the raw
/// lock cannot see it (a `RawReentrantMutex`'s closure); what [`enter`] published stays.
#[inline]
pub fn acquiring(caller: Site) -> Scope {
    let (built, _) = published();
    publish((built, Some(caller)))
}

/// What lock_api publishes on this thread: where the lock being acquired was built and its data
/// type, if lock_api is acquiring one; and the site of an acquisition it makes on its caller's
/// behalf, if it is making one.
#[inline]
pub fn published() -> Published {
    PUBLISHED.try_with(Cell::get).unwrap_or((None, None))
}

/// Where the lock this thread is acquiring through lock_api was built, and the type of its
/// data, if lock_api is acquiring one.
#[inline]
pub fn current() -> Option<(Site, &'static str)> {
    published().0
}

/// The site of the acquisition lock_api is making on its caller's behalf, if any.
#[inline]
pub fn acquired_at() -> Option<Site> {
    published().1
}

// The owner token of an acquisition (lockdep's `owner_token`: the thread whose held-lock stack
// has it; 0: the current thread), handed between the raw lock and the guard that stands for the
// acquisition, since lock_api 0.4 keeps no guard values: the raw lock publishes it after
// acquiring (or changing mode) and the guard takes it and keeps it; before each release or mode
// change a guard makes, the guard publishes it and the raw lock takes it, so that a guard sent to
// another thread (parking_lot's `send_guard`) is released on its owner's stack. Only with the
// feature `lockdep_token` (the parking_lot 0.12 compat crate's `send_guard` turns it on); without
// it a token is always 0 and these cost nothing.
#[cfg(feature = "lockdep_token")]
std::thread_local! {
    static TOKEN: Cell<u64> = const { Cell::new(0) };
}

/// Publishes `token` on this thread for the next [`take_token`] (feature `lockdep_token`; a
/// no-op without it).
#[inline(always)]
pub fn set_token(token: u64) {
    #[cfg(feature = "lockdep_token")]
    {
        let _ = TOKEN.try_with(|c| c.set(token));
    }
    #[cfg(not(feature = "lockdep_token"))]
    {
        let _ = token;
    }
}

/// The token published on this thread, leaving 0 (the current thread) in its place; always 0
/// without the feature `lockdep_token`.
#[inline(always)]
pub fn take_token() -> u64 {
    #[cfg(feature = "lockdep_token")]
    {
        TOKEN.try_with(|c| c.replace(0)).unwrap_or(0)
    }
    #[cfg(not(feature = "lockdep_token"))]
    {
        0
    }
}
