//! The in-process side: which validator a thread reports to, its held-lock stack, and the hooks
//! the lock wrappers call.
//!
//! Each thread keeps its [`ThreadState`] in a thread-local. The steady-state hook reads that
//! thread-local, the lock's cached class id and the known-chain sets (the thread's own, then the
//! shared one); it takes no global lock, allocates nothing and writes no shared memory.
//!
//! Every hook starts with [`switch`]: one relaxed load of a process-wide word and one branch. It
//! is `None` while validation is switched off ([`set_enabled`], `LOCKDEP=off`) and constantly
//! `None` under the `disabled` feature, where the optimiser then removes the whole hook and
//! [`LockMap`] is zero-sized — so a wrapper is its parking_lot lock and nothing else.

use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
#[cfg(not(feature = "disabled"))]
use std::sync::atomic::{AtomicPtr, AtomicUsize};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::class::{ClassId, ClassKey, LockKind, Site};
#[cfg(not(feature = "disabled"))]
use crate::class::{ClassOrigin, KeySource, NotUserCode, short_type_name, site_name, sysroot_file};
use crate::config::Config;
use crate::held::{Acquire, InstanceId, Mode, ThreadState};
use crate::report::Report;
use crate::sink::OnReport;
use crate::validator::Validator;

static GLOBAL: OnceLock<Validator> = OnceLock::new();
static THREAD_IDS: AtomicU64 = AtomicU64::new(1);

/// The process-wide validator, configured from the `LOCKDEP_*` environment variables on first use.
pub fn global() -> &'static Validator {
    GLOBAL.get_or_init(|| {
        let v = Validator::with_on_report(Config::from_env(), OnReport::from_env());
        if let Some(path) = std::env::var_os("LOCKDEP_TRACE").filter(|p| !p.is_empty())
            && let Err(e) = v.record_to(&path)
        {
            eprintln!(
                "lockdep: cannot record LOCKDEP_TRACE={}: {e}",
                path.to_string_lossy()
            );
        }
        if let Some(level) = crate::tracing_sink::level_from_env() {
            v.set_tracing_level(Some(level));
        }
        v
    })
}

// ----- the process-wide switch -----

// Bit 0: the environment was read. Bit 1: off. Bits 2..: a count of changes — to this switch or to
// any validator's settings — so each thread's steady state (its gate holds the word it last saw)
// takes the full path once after one and catches up there.
const SWITCH_READY: u32 = 1;
const SWITCH_OFF: u32 = 2;
const SWITCH_STEP: u32 = 4;
static SWITCH: AtomicU32 = AtomicU32::new(0);
// How often validation was switched off: a thread that sees it changed knows its held-lock stack
// is stale (locks may have been taken and released unseen).
static OFF_PERIODS: AtomicU32 = AtomicU32::new(0);

/// Sends every thread's next hook through the full path, where it re-reads its validator's
/// settings (a validator was switched on or off, or started or stopped recording).
pub(crate) fn refresh_steady_states() {
    SWITCH.fetch_add(SWITCH_STEP, Ordering::Relaxed);
}

/// The switch word when validation is on, `None` when it is off. Every hook starts here: off is
/// one load and one taken branch.
#[inline(always)]
pub(crate) fn switch() -> Option<u32> {
    if cfg!(feature = "disabled") {
        return None;
    }
    let s = SWITCH.load(Ordering::Relaxed);
    if s & SWITCH_OFF != 0 {
        return None;
    }
    if s & SWITCH_READY == 0 {
        return switch_slow();
    }
    Some(s)
}

/// [`switch`] for the steady-state hooks: `None` when off, otherwise the word even before the
/// environment was read. Such a word matches no thread's gate, so the hook then takes its full
/// path, which reads the environment through [`switch`] (saving the steady state a branch).
#[inline(always)]
fn switch_word() -> Option<u32> {
    if cfg!(feature = "disabled") {
        return None;
    }
    let s = SWITCH.load(Ordering::Relaxed);
    (s & SWITCH_OFF == 0).then_some(s)
}

/// The switch word a full path runs under, from the one its steady state saw: `None` if reading
/// the environment switched validation off.
#[inline]
fn switch_ready(s: u32) -> Option<u32> {
    if s & SWITCH_READY != 0 {
        Some(s)
    } else {
        switch_slow()
    }
}

/// A gate that opens for no switch word: every word that reaches a gate has `SWITCH_OFF` clear.
const GATE_CLOSED: u32 = SWITCH_OFF;

#[cold]
fn switch_slow() -> Option<u32> {
    let mut s = SWITCH.load(Ordering::Relaxed);
    if s & SWITCH_READY == 0 {
        let off = match std::env::var("LOCKDEP").as_deref() {
            Ok("off" | "0" | "false" | "no") => true,
            Ok("on" | "1" | "true" | "yes" | "") | Err(_) => false,
            Ok(other) => {
                eprintln!("lockdep: ignoring LOCKDEP={other:?}: expected on or off");
                false
            }
        };
        let new = SWITCH_READY | if off { SWITCH_OFF } else { 0 };
        s = match SWITCH.compare_exchange(s, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => new,
            Err(current) => current,
        };
    }
    (s & SWITCH_OFF == 0).then_some(s)
}

/// Switches validation on or off for the whole process (`LOCKDEP=off` in the environment starts
/// it off). While off, every lock operation costs one relaxed load and one predictable branch
/// on top of parking_lot's. Locks taken while off are never validated, not even once it is back
/// on: each thread forgets what it held when it notices the change, and from then on releases of
/// locks it is not known to hold are not reported as unbalanced.
///
/// ```
/// lockdep::set_enabled(false);
/// let m = lockdep::Mutex::new(0);
/// *m.lock() += 1; // not validated
/// lockdep::set_enabled(true);
/// # assert!(lockdep::enabled());
/// ```
pub fn set_enabled(on: bool) {
    let _ = switch_slow();
    if !on {
        OFF_PERIODS.fetch_add(1, Ordering::Relaxed);
    }
    let _ = SWITCH.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
        if (s & SWITCH_OFF == 0) == on {
            return None;
        }
        Some(
            (s.wrapping_add(SWITCH_STEP) & !SWITCH_OFF)
                | SWITCH_READY
                | if on { 0 } else { SWITCH_OFF },
        )
    });
}

/// Whether the lock wrappers validate: false under the `disabled` feature, after
/// [`set_enabled(false)`](set_enabled) or with `LOCKDEP=off`.
pub fn enabled() -> bool {
    switch().is_some()
}

/// The validator threads see while validation is off: switched off, so nothing reports.
fn off_validator() -> &'static Validator {
    static OFF: OnceLock<Validator> = OnceLock::new();
    OFF.get_or_init(|| {
        let v = Validator::with_on_report(
            Config {
                max_chains: 8,
                ..Config::default()
            },
            OnReport::Collect,
        );
        v.set_enabled(false);
        v
    })
}

struct Local {
    validator: Validator,
    state: ThreadState,
    // Outer scopes entered with `Validator::scope` / `capture`, innermost last.
    saved: Vec<(Validator, ThreadState)>,
    // Locks acquired in a scope that has ended; their releases are not imbalances.
    orphans: Vec<InstanceId>,
    // The switch word this thread last saw, the count of off periods it last saw, and whether
    // validation was off for it since it started.
    switch: u32,
    off_periods: u32,
    lenient: bool,
    // What the steady state needs from the validator, copied so it reads thread-local memory
    // only: the generation class caches are tagged with, and the held-lock depth it may reach
    // (the depth limit, and never beyond what the stack holds without growing).
    generation: u32,
    limit: usize,
}

impl Local {
    fn new(validator: Validator) -> Self {
        let id = thread_id();
        let name: Arc<str> = match std::thread::current().name() {
            Some(n) => n.into(),
            None => format!("thread-{id}").into(),
        };
        let depth = validator.config().max_lock_depth.min(64);
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        inbox::register(id);
        Local {
            validator,
            state: ThreadState::new(name, id, depth),
            saved: Vec::new(),
            orphans: Vec::new(),
            switch: SWITCH.load(Ordering::Relaxed),
            off_periods: OFF_PERIODS.load(Ordering::Relaxed),
            lenient: false,
            generation: 0,
            limit: 0,
        }
    }

    /// Catches up with the switch: the first hook after validation was off forgets the held
    /// locks (their releases may or may not have been seen) and stops reporting unknown releases.
    #[inline]
    fn sync(&mut self, switch: u32) {
        if self.switch != switch {
            self.resync(switch);
        }
    }

    #[cold]
    fn resync(&mut self, switch: u32) {
        self.switch = switch;
        let periods = OFF_PERIODS.load(Ordering::Relaxed);
        if periods == self.off_periods {
            // Only a validator's settings changed: the gate is recomputed, nothing is stale.
            return;
        }
        self.off_periods = periods;
        self.lenient = true;
        let stale = self.state.held.drain().map(|h| h.instance());
        self.orphans.extend(stale);
    }

    /// Refreshes the copies the steady state reads and returns the gate it may run under: the
    /// switch word this thread is synced with, or [`GATE_CLOSED`] when every operation must take
    /// the full path — the validator is off or records events, or the thread is inside a
    /// non-blocking section (the one part of the wait-context rule a known chain does not cover).
    fn steady_gate(&mut self) -> u32 {
        let v = &self.validator;
        self.generation = v.generation();
        self.limit = v.config().max_lock_depth.min(self.state.held.capacity());
        if v.is_enabled() && !v.is_recording() && !self.state.in_atomic() {
            self.switch
        } else {
            GATE_CLOSED
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Releases of this thread's guards by other threads (feature `send_guard`) first.
        if let Some((v, reports)) = inbox::drain(self) {
            v.dispatch(reports);
        }
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        inbox::unregister(self.state.id);
        // The thread is ending: its trace events are written, and what it still holds is reported.
        let _ = self.validator.flush_trace();
        let reports = self.validator.thread_exit(&mut self.state);
        self.validator.dispatch(reports);
        for (v, mut s) in self.saved.drain(..) {
            let reports = v.thread_exit(&mut s);
            v.dispatch(reports);
        }
    }
}

/// A thread's [`Local`] behind the two flags that decide who may touch it. Only its own thread
/// ever does; it is reached through a plain thread-local pointer, so the steady-state hooks pay
/// one thread-local load, not a lazy-initialisation check and a borrow flag.
#[repr(C)]
struct LocalSlot {
    // First, so a pointer to the head of a slot is a pointer to the slot.
    head: SlotHead,
    local: UnsafeCell<Local>,
}

/// The flags at the start of every [`LocalSlot`], and all of [`NO_SLOT`].
#[repr(C)]
struct SlotHead {
    /// The switch word under which the steady-state hooks may use the slot's `local` directly.
    /// [`GATE_CLOSED`] while a full-path hook has it (so a hook re-entered from a report
    /// callback or a `tracing` subscriber never aliases it), while the thread's validator needs
    /// the full path, and always in [`NO_SLOT`].
    gate: Cell<u32>,
    /// A full-path hook has `local`: a re-entrant one goes unvalidated.
    busy: Cell<bool>,
}

/// What a thread's [`SLOT`] points at while it has no slot (before its first hook, and from its
/// teardown on): a head whose gate never opens, so the steady state needs no null check.
struct NoSlot(SlotHead);

// SAFETY: `NO_SLOT`'s cells are never written: the full path recognises it by its address and
// makes a slot instead (`with_local`), so threads share it for reads only.
unsafe impl Sync for NoSlot {}

static NO_SLOT: NoSlot = NoSlot(SlotHead {
    gate: Cell::new(GATE_CLOSED),
    busy: Cell::new(false),
});

thread_local! {
    // The thread's slot, or `NO_SLOT`. No destructor and a constant initialiser: reading it is
    // one thread-local load.
    static SLOT: Cell<*const SlotHead> = const { Cell::new(&raw const NO_SLOT.0) };
    // The thread's thread-locals are being destroyed: no new slot.
    static TORN_DOWN: Cell<bool> = const { Cell::new(false) };
    // Owns the slot, so it is freed (and its locks reported) when the thread ends.
    static OWNER: SlotOwner = const { SlotOwner };
}

fn no_slot() -> *const SlotHead {
    &raw const NO_SLOT.0
}

struct SlotOwner;

impl Drop for SlotOwner {
    fn drop(&mut self) {
        TORN_DOWN.with(|t| t.set(true));
        let slot = SLOT.with(|s| s.replace(no_slot()));
        if slot != no_slot() {
            // SAFETY: `slot` came from `Box::into_raw` in `new_slot` (a `LocalSlot`, whose head
            // it points at) and was just unpublished, so no hook reaches it any more; hooks run
            // by its drop (report callbacks) see `NO_SLOT`.
            drop(unsafe { Box::from_raw(slot.cast::<LocalSlot>().cast_mut()) });
        }
    }
}

#[cold]
#[inline(never)]
fn new_slot() -> Option<*const SlotHead> {
    if TORN_DOWN.with(Cell::get) {
        return None;
    }
    // Registers the owner's destructor; fails once the thread's thread-locals are going away.
    OWNER.try_with(|_| ()).ok()?;
    let mut local = Local::new(global().clone());
    let gate = local.steady_gate();
    let slot = Box::into_raw(Box::new(LocalSlot {
        head: SlotHead {
            gate: Cell::new(gate),
            busy: Cell::new(false),
        },
        local: UnsafeCell::new(local),
    }))
    .cast::<SlotHead>()
    .cast_const();
    SLOT.with(|s| s.set(slot));
    Some(slot)
}

/// Runs `f` on this thread's state; `None` during thread teardown or re-entry (then the
/// operation goes unvalidated rather than failing).
#[inline]
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    let mut slot = slot_ptr();
    if slot == no_slot() {
        slot = new_slot()?;
    }
    // SAFETY: `SLOT`, unless it is `NO_SLOT`, points at the head of this thread's live slot: it
    // is freed only after being reset to `NO_SLOT`, and only by this thread.
    let slot = unsafe { &*slot.cast::<LocalSlot>() };
    if slot.head.busy.replace(true) {
        return None;
    }
    slot.head.gate.set(GATE_CLOSED);
    let _done = FullPathDone(slot);
    // SAFETY: `busy` was false, so no other reference to `local` exists, and with `gate` closed
    // no steady-state hook makes one until `_done` ends this one.
    Some(f(unsafe { &mut *slot.local.get() }))
}

/// Ends a full-path hook (also when it unwinds): reopens the steady state if it may run.
struct FullPathDone<'a>(&'a LocalSlot);

impl Drop for FullPathDone<'_> {
    fn drop(&mut self) {
        // SAFETY: the full path's reference to `local` has ended (its closure returned or
        // unwound) and `busy` still keeps any other one out.
        let local = unsafe { &mut *self.0.local.get() };
        self.0.head.gate.set(local.steady_gate());
        self.0.head.busy.set(false);
    }
}

/// The head of this thread's slot, or `NO_SLOT` (before its first hook, and from its teardown
/// on).
///
/// The steady-state hooks are inlined into the caller, so this is compiled in the caller's
/// crate: in an executable, one `%fs`-relative load. (Compiled inside this library, a
/// thread-local access is a call that the linker later relaxes, and the function containing it
/// saves and restores the registers that call would clobber.)
#[inline(always)]
fn slot_ptr() -> *const SlotHead {
    SLOT.with(Cell::get)
}

/// Runs the steady-state `f` on the state behind `slot` (from [`slot_ptr`]) if its gate is open
/// for `switch`; false otherwise (then the caller takes its full path). `f` must not call
/// anything that can re-enter a hook.
#[inline(always)]
fn with_steady_local(
    slot: *const SlotHead,
    switch: u32,
    f: impl FnOnce(&mut Local) -> bool,
) -> bool {
    // SAFETY: `slot` was read from `SLOT` during this hook: the head of this thread's live slot
    // or `NO_SLOT` (see `with_local`), valid either way.
    if unsafe { &*slot }.gate.get() != switch {
        return false;
    }
    // SAFETY: the gate is open, so this is not `NO_SLOT` (whose gate never opens) but a
    // `LocalSlot`, which starts with its head; no full-path hook holds its `local`, and `f`
    // cannot re-enter one, so this is the only reference while it lives.
    f(unsafe { &mut *(*slot.cast::<LocalSlot>()).local.get() })
}

/// [`with_local`] for the lock hooks: nothing at all while validation is off.
#[inline(always)]
fn with_local_on<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    let switch = switch()?;
    with_local_synced(switch, f)
}

#[inline]
fn with_local_synced<R>(switch: u32, f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    // A steady-state hook passes the word it saw, which may predate reading the environment.
    let switch = switch_ready(switch)?;
    let (result, drained) = with_local(|l| {
        l.sync(switch);
        // What other threads released of this thread's guards comes first (`send_guard`).
        let drained = inbox::drain(l);
        (f(l), drained)
    })?;
    if let Some((v, reports)) = drained {
        v.dispatch(reports);
    }
    Some(result)
}

thread_local! {
    // This thread's number (`ThreadState::id`), 0 until first asked for.
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
}

/// This thread's number, as its held-lock stack carries it (0 during thread teardown).
#[inline(always)]
pub(crate) fn thread_id() -> u64 {
    match THREAD_ID.try_with(Cell::get) {
        Ok(0) => new_thread_id(),
        Ok(id) => id,
        Err(_) => 0,
    }
}

#[cold]
#[inline(never)]
fn new_thread_id() -> u64 {
    let id = THREAD_IDS.fetch_add(1, Ordering::Relaxed);
    let _ = THREAD_ID.try_with(|c| c.set(id));
    id
}

/// The thread whose held-lock stack has a guard's acquisition: a guard carries it so that
/// dropping it on another thread (feature `send_guard`) releases it on the right stack.
/// Zero-sized without the feature, where guards never leave their thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    thread: u64,
}

impl Owner {
    /// The current thread.
    #[inline(always)]
    pub(crate) fn current() -> Self {
        Owner {
            #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
            thread: thread_id(),
        }
    }

    /// Whether the current thread is another one than the owner.
    #[inline(always)]
    fn elsewhere(self) -> bool {
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        {
            self.thread != 0 && self.thread != thread_id()
        }
        #[cfg(not(all(feature = "send_guard", not(feature = "disabled"))))]
        {
            false
        }
    }
}

/// What makes a guard `Send` or not: `!Send` (the held-lock stack is per thread) unless the
/// feature `send_guard` makes guards carry their [`Owner`].
#[cfg(not(feature = "send_guard"))]
pub(crate) type GuardMarker = std::marker::PhantomData<*const ()>;
/// What makes a guard `Send` or not: `Send` under the feature `send_guard`, whose guards carry
/// their [`Owner`].
#[cfg(feature = "send_guard")]
pub(crate) type GuardMarker = std::marker::PhantomData<()>;

/// Releases and mode changes of a thread's guards made on other threads (feature `send_guard`):
/// posted here by the thread that drops the guard, applied by the owner at its next full-path
/// hook, which every thread takes once after a post (the post bumps the switch word).
mod inbox {
    use super::*;

    /// What another thread did with one of the owner's guards.
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Message {
        Release(InstanceId),
        Mode(InstanceId, Mode),
    }

    /// The threads that have a held-lock stack, and the messages posted for them.
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    struct Posted {
        live: Option<std::collections::HashSet<u64>>,
        messages: Vec<(u64, Message)>,
    }

    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    static POSTED: parking_lot::Mutex<Posted> = parking_lot::Mutex::new(Posted {
        live: None,
        messages: Vec::new(),
    });
    // How many messages wait: a thread looks at `POSTED` only when some do.
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    static PENDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// Thread `id` has a held-lock stack from now on: messages may be posted for it.
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    pub(super) fn register(id: u64) {
        POSTED
            .lock()
            .live
            .get_or_insert_with(Default::default)
            .insert(id);
    }

    /// Thread `id` is ending: nothing more is posted for it, and what was is dropped.
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    pub(super) fn unregister(id: u64) {
        let mut posted = POSTED.lock();
        if let Some(live) = &mut posted.live {
            live.remove(&id);
        }
        let before = posted.messages.len();
        posted.messages.retain(|&(owner, _)| owner != id);
        PENDING.fetch_sub(before - posted.messages.len(), Ordering::Relaxed);
    }

    /// Posts `message` for `owner`'s thread (feature `send_guard`); dropped if that thread has
    /// ended (it was reported as ending with the lock held).
    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    #[cold]
    #[inline(never)]
    pub(super) fn post(owner: u64, message: Message) {
        if switch().is_none() {
            // Validation is off: the owner forgets what it held when it comes back on.
            return;
        }
        {
            let mut posted = POSTED.lock();
            if !posted.live.as_ref().is_some_and(|l| l.contains(&owner)) {
                return;
            }
            posted.messages.push((owner, message));
            PENDING.fetch_add(1, Ordering::Release);
        }
        refresh_steady_states();
    }

    /// Applies what other threads posted for this thread; the reports to dispatch, if any.
    #[inline]
    pub(super) fn drain(l: &mut Local) -> Option<(Validator, Vec<Report>)> {
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        if PENDING.load(Ordering::Acquire) != 0 {
            return drain_posted(l);
        }
        let _ = l;
        None
    }

    #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
    #[cold]
    #[inline(never)]
    fn drain_posted(l: &mut Local) -> Option<(Validator, Vec<Report>)> {
        let mine: Vec<Message> = {
            let mut posted = POSTED.lock();
            let mut mine = Vec::new();
            posted.messages.retain(|&(owner, m)| {
                let is_mine = owner == l.state.id;
                if is_mine {
                    mine.push(m);
                }
                !is_mine
            });
            PENDING.fetch_sub(mine.len(), Ordering::Relaxed);
            mine
        };
        let mut reports = Vec::new();
        for message in mine {
            match message {
                Message::Release(instance) => {
                    // An acquisition handed off (`hand_off`) or left by an ended scope first:
                    // this thread may hold the lock again by now, and that entry is not the
                    // guard's.
                    if let Some(i) = l.orphans.iter().position(|o| *o == instance) {
                        l.orphans.swap_remove(i);
                    } else if let Some(i) = l.state.find(instance) {
                        let v = &l.validator;
                        reports.extend(v.release_at(&mut l.state, i, Site::Unknown));
                    } else if let Some(s) = l
                        .saved
                        .iter_mut()
                        .rev()
                        .map(|(_, s)| s)
                        .find(|s| s.find(instance).is_some())
                    {
                        let i = s.find(instance).expect("found just above");
                        s.held.remove(i);
                    }
                }
                Message::Mode(instance, mode) => {
                    l.validator.set_mode(&mut l.state, instance, mode);
                }
            }
        }
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    }
}

/// Reports waiting to be dispatched once every thread-local borrow has ended.
#[must_use]
pub(crate) struct Pending(Option<(Validator, Vec<Report>)>);

impl Pending {
    #[inline]
    pub(crate) fn dispatch(self) {
        if let Some((v, reports)) = self.0 {
            dispatch_cold(v, reports);
        }
    }
}

#[cold]
#[inline(never)]
fn dispatch_cold(v: Validator, reports: Vec<Report>) {
    v.dispatch(reports);
}

/// The per-lock data lockdep needs: how to find the class, and a cache of it.
///
/// Embedded in every lock; `const`-constructible so locks can be `static`. Zero-sized under the
/// `disabled` feature.
#[derive(Debug)]
pub struct LockMap {
    // Where the lock was built, and what its first acquisition made of it: a tagged pointer
    // (`DESC_*` in the low two bits; every target aligns what it points to at least to 4).
    //
    // | tag             | points to                     | when                                   |
    // |-----------------|-------------------------------|----------------------------------------|
    // | `DESC_SITE`     | the construction `Location`   | from construction on                   |
    // | `DESC_FIRST`    | an interned `FirstRecord`     | a refined lock first taken at a site   |
    // | `DESC_INSTANCE` | a leaked `InstanceRecord`     | a refined lock first taken with no site |
    //
    // Only a lock built outside the user's code ever leaves `DESC_SITE`, once, by a
    // compare-exchange at its first acquisition.
    #[cfg(not(feature = "disabled"))]
    desc: AtomicPtr<()>,
    // The user's name, the lock's `ClassKey` or the type of its data, and how it was built.
    #[cfg(not(feature = "disabled"))]
    label: Label,
    // (validator generation << 32) | class id, for subclass 0; 0 = not resolved yet.
    #[cfg(not(feature = "disabled"))]
    cache: AtomicU64,
}

/// A lock's name, key or data type, and its flags, in two words: `ptr` is a name's first byte
/// (flag `NAMED`, with the name's provenance), a `&'static ClassKey` (flag `KEYED`), the
/// `std::any::type_name` function of the protected data (flag `TYPED`) or null; `meta` holds a
/// name's length in its low bits and the flags (`BUILT_*`, `KEYED`, `PART`, `NAMED`, `TYPED`)
/// in its top six. A named or keyed lock's class does not depend on its data type (the name or
/// key is the user's choice of class), so one word serves all three.
#[cfg(not(feature = "disabled"))]
#[derive(Debug)]
struct Label {
    // Never changed after construction (atomic only to keep `LockMap` `Sync` without `unsafe`).
    ptr: AtomicPtr<u8>,
    meta: usize,
}

#[cfg(not(feature = "disabled"))]
const DESC_SITE: usize = 0;
#[cfg(not(feature = "disabled"))]
const DESC_FIRST: usize = 1;
#[cfg(not(feature = "disabled"))]
const DESC_INSTANCE: usize = 2;
#[cfg(not(feature = "disabled"))]
const DESC_TAG: usize = 3;

#[cfg(not(feature = "disabled"))]
const _: () = assert!(
    align_of::<Location<'static>>() > DESC_TAG
        && align_of::<FirstRecord>() > DESC_TAG
        && align_of::<InstanceRecord>() > DESC_TAG
);

// `Label::meta`: flags in the top six bits, the name's length below.
#[cfg(not(feature = "disabled"))]
const FLAG_SHIFT: u32 = usize::BITS - 6;
#[cfg(not(feature = "disabled"))]
const LEN_MASK: usize = (1 << FLAG_SHIFT) - 1;
#[cfg(not(feature = "disabled"))]
const BUILT_AT_SITE: usize = 0;
#[cfg(not(feature = "disabled"))]
const BUILT_BY_DEFAULT: usize = 1;
#[cfg(not(feature = "disabled"))]
const BUILT_BY_RAW_INIT: usize = 2;
#[cfg(not(feature = "disabled"))]
const BUILT_BY_DESERIALIZE: usize = 3;
#[cfg(not(feature = "disabled"))]
const BUILT_MASK: usize = 3;
#[cfg(not(feature = "disabled"))]
const KEYED: usize = 4;
#[cfg(not(feature = "disabled"))]
const PART: usize = 8;
#[cfg(not(feature = "disabled"))]
const NAMED: usize = 16;
#[cfg(not(feature = "disabled"))]
const TYPED: usize = 32;

/// A refined lock's construction site and first acquisition: one per distinct pair, interned
/// (so bounded by the program's sites).
#[cfg(not(feature = "disabled"))]
struct FirstRecord {
    built: &'static Location<'static>,
    first: &'static Location<'static>,
    // The data type, for a raw-built lock whose builder named it (`BuiltAt`).
    ty: Option<&'static str>,
}

/// A refined lock with a class of its own: its construction site and number (one per such
/// lock, as its class is).
#[cfg(not(feature = "disabled"))]
struct InstanceRecord {
    built: &'static Location<'static>,
    serial: u64,
}

/// The interned [`FirstRecord`]s, by (construction site, first acquisition, type) address.
#[cfg(not(feature = "disabled"))]
type FirstRecords = std::collections::HashMap<(usize, usize, usize), &'static FirstRecord>;
#[cfg(not(feature = "disabled"))]
static FIRST_RECORDS: parking_lot::Mutex<Option<FirstRecords>> = parking_lot::Mutex::new(None);

#[cfg(not(feature = "disabled"))]
fn intern_first(
    built: &'static Location<'static>,
    first: &'static Location<'static>,
    ty: Option<&'static str>,
) -> &'static FirstRecord {
    let mut records = FIRST_RECORDS.lock();
    let key = (
        std::ptr::from_ref(built).addr(),
        std::ptr::from_ref(first).addr(),
        ty.map_or(0, |t| t.as_ptr().addr()),
    );
    records
        .get_or_insert_with(Default::default)
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(FirstRecord { built, first, ty })))
}

/// How a lookup of a lock's class came about: an acquisition at a site (`None` when no site is
/// known, as for a condvar's re-acquisition) may fix the class of a lock built outside the
/// user's code; a lookup (a release, a name) never does.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "disabled", allow(dead_code))]
pub(crate) enum Use {
    Acquire(Option<&'static Location<'static>>),
    Lookup,
}

// What only the validating build's `LockMap` uses, referenced so the compiled-out build stays
// warning-free.
#[cfg(feature = "disabled")]
const _: fn(&str, u32, u32) -> Arc<str> = crate::class::site_name;
#[cfg(feature = "disabled")]
const _: fn(&Validator) -> u32 = Validator::generation;
#[cfg(feature = "disabled")]
const _: fn(&str) -> bool = crate::class::sysroot_file;

#[cfg(feature = "disabled")]
impl LockMap {
    /// A map for a lock built at `site` (holds nothing: validation is compiled out).
    #[inline(always)]
    pub const fn new(
        _site: &'static Location<'static>,
        _name: Option<&'static str>,
        _key: Option<&'static ClassKey>,
    ) -> Self {
        LockMap {}
    }

    /// A map for the spin lock embedded in a `SeqLock` (holds nothing).
    #[inline(always)]
    pub(crate) const fn new_part(
        _site: &'static Location<'static>,
        _name: Option<&'static str>,
        _key: Option<&'static ClassKey>,
    ) -> Self {
        LockMap {}
    }

    /// The map of a lock protecting a `T` (holds nothing).
    #[inline(always)]
    pub const fn of<T: ?Sized>(self) -> Self {
        self
    }

    /// The map of a lock built by `Default::default()` (holds nothing).
    #[inline(always)]
    pub const fn by_default(self) -> Self {
        self
    }

    /// The map of a lock built by `Deserialize` (holds nothing).
    #[inline(always)]
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) const fn by_deserialize(self) -> Self {
        self
    }

    /// The map of a raw lock's `INIT` (holds nothing).
    #[inline(always)]
    pub(crate) const fn raw_init() -> Self {
        LockMap {}
    }

    #[inline(always)]
    fn class(&self, _v: &Validator, _kind: LockKind, _subclass: u32, _use: Use) -> Option<ClassId> {
        None
    }

    #[inline(always)]
    fn cached_word(&self) -> u64 {
        0
    }

    /// The class name this lock prints as: none, validation is compiled out.
    pub(crate) fn class_name(&self, _v: &Validator, _kind: LockKind) -> Option<Arc<str>> {
        None
    }
}

#[cfg(not(feature = "disabled"))]
impl LockMap {
    /// A map for a lock built at `site`, optionally named or keyed.
    #[inline]
    pub const fn new(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        key: Option<&'static ClassKey>,
    ) -> Self {
        let (ptr, meta) = match (key, name) {
            (Some(k), _) => (
                std::ptr::from_ref(k).cast::<u8>().cast_mut(),
                KEYED << FLAG_SHIFT,
            ),
            (None, Some(n)) => {
                assert!(n.len() <= LEN_MASK, "lock name too long");
                (n.as_ptr().cast_mut(), n.len() | (NAMED << FLAG_SHIFT))
            }
            (None, None) => (std::ptr::null_mut(), BUILT_AT_SITE << FLAG_SHIFT),
        };
        LockMap {
            desc: AtomicPtr::new(std::ptr::from_ref(site).cast::<()>().cast_mut()),
            label: Label {
                ptr: AtomicPtr::new(ptr),
                meta,
            },
            cache: AtomicU64::new(0),
        }
    }

    /// A map for the spin lock embedded in the `SeqLock` built at `site` with `name`/`key`: a
    /// class of its own per outer class, printed `outer.lock` ([`SEQLOCK_LOCK_PART`]).
    ///
    /// [`SEQLOCK_LOCK_PART`]: crate::SEQLOCK_LOCK_PART
    #[inline]
    pub(crate) const fn new_part(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        key: Option<&'static ClassKey>,
    ) -> Self {
        LockMap::new(site, name, key).with_flags(0, PART)
    }

    /// The map of a lock protecting a `T`: one site in generic code makes a class per type, and
    /// a lock built outside the user's code is told apart by it. A named or keyed lock's class
    /// is its name or key, whatever `T`.
    #[inline]
    pub const fn of<T: ?Sized>(mut self) -> Self {
        if (self.label.meta >> FLAG_SHIFT) & (NAMED | KEYED) == 0 {
            let ty = std::any::type_name::<T> as fn() -> &'static str;
            self.label.ptr = AtomicPtr::new(ty as *const () as *mut u8);
            self.label.meta |= TYPED << FLAG_SHIFT;
        }
        self
    }

    /// The map of a lock built by `Default::default()`, whose site a `#[derive(Default)]`
    /// shares between all fields of a struct.
    #[inline]
    pub const fn by_default(self) -> Self {
        self.with_flags(BUILT_MASK, BUILT_BY_DEFAULT)
    }

    /// The map of a lock built by `Deserialize`, whose site a `#[derive(Deserialize)]` shares
    /// between all fields of a struct.
    #[inline]
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) const fn by_deserialize(self) -> Self {
        self.with_flags(BUILT_MASK, BUILT_BY_DESERIALIZE)
    }

    /// The map of a raw lock's `INIT` (`lock_api::Mutex<lockdep::RawMutex, _>`), which cannot
    /// see who builds it.
    #[inline]
    pub(crate) const fn raw_init() -> Self {
        LockMap::new(Location::caller(), None, None).with_flags(0, BUILT_BY_RAW_INIT)
    }

    /// The map with the flags in `clear` cleared and those in `set` set.
    const fn with_flags(mut self, clear: usize, set: usize) -> Self {
        self.label.meta = (self.label.meta & !(clear << FLAG_SHIFT)) | (set << FLAG_SHIFT);
        self
    }

    fn flags(&self) -> usize {
        self.label.meta >> FLAG_SHIFT
    }

    /// The user's name, if the lock has one.
    fn name(&self) -> Option<&'static str> {
        if self.flags() & NAMED == 0 {
            return None;
        }
        let ptr = self.label.ptr.load(Ordering::Relaxed);
        let len = self.label.meta & LEN_MASK;
        // SAFETY: with `NAMED` set, `ptr` and the length are those of the `&'static str` given
        // at construction (`new`), never changed since; it is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) })
    }

    /// The descriptor word, split into its tag and its pointer.
    fn desc(&self) -> (usize, *mut ()) {
        let word = self.desc.load(Ordering::Acquire);
        (word.addr() & DESC_TAG, word.map_addr(|a| a & !DESC_TAG))
    }

    /// Where the lock was built.
    pub fn init_site(&self) -> &'static Location<'static> {
        let (tag, ptr) = self.desc();
        // SAFETY: per `desc`'s table, the untagged pointer is a `&'static Location` under
        // `DESC_SITE`, a `&'static FirstRecord` under `DESC_FIRST` and a `&'static
        // InstanceRecord` under `DESC_INSTANCE` (`first_use` stores the latter two).
        unsafe {
            match tag {
                DESC_SITE => &*ptr.cast::<Location<'static>>(),
                DESC_FIRST => (*ptr.cast::<FirstRecord>()).built,
                _ => (*ptr.cast::<InstanceRecord>()).built,
            }
        }
    }

    /// Why this lock's construction site is not the user's code (so its class is refined), or
    /// `None`: named and keyed locks are the user's choice, whatever their site.
    fn not_user_code(&self) -> Option<NotUserCode> {
        if self.flags() & KEYED != 0 || self.name().is_some() {
            return None;
        }
        match self.flags() & BUILT_MASK {
            BUILT_BY_RAW_INIT => Some(NotUserCode::RawLock),
            _ if sysroot_file(self.init_site().file()) => Some(NotUserCode::Std),
            BUILT_BY_DEFAULT => Some(NotUserCode::Default),
            BUILT_BY_DESERIALIZE => Some(NotUserCode::Deserialize),
            _ => None,
        }
    }

    /// The first acquisition of a lock built outside the user's code, recording it if `at` is
    /// the first. `None` for a lookup before any acquisition.
    fn first_use(&self, at: Use) -> Option<FirstUse> {
        debug_assert!(self.flags() & KEYED == 0, "a keyed lock's class is its key");
        let (mut tag, mut ptr) = self.desc();
        if tag == DESC_SITE {
            let Use::Acquire(site) = at else {
                return None;
            };
            // SAFETY: `DESC_SITE` tags the construction `&'static Location` (see `desc`).
            let mut built: &'static Location<'static> = unsafe { &*ptr.cast() };
            let (mut site, mut ty) = (site, None);
            // A raw-built lock whose builder knows its construction site and data type (the
            // parking_lot 0.12 compat crate's lock_api): keyed by them, as the kernel's init
            // site with the data type added, not by where it happens to be first taken.
            if self.flags() & BUILT_MASK == BUILT_BY_RAW_INIT
                && let Some((at, t)) =
                    crate::mutex::raw_built_site().filter(|(s, _)| !sysroot_file(s.file()))
            {
                (built, site, ty) = (at, Some(at), Some(t));
            }
            let (new_tag, new_ptr) = match site.filter(|s| !sysroot_file(s.file())) {
                Some(first) => (
                    DESC_FIRST,
                    std::ptr::from_ref(intern_first(built, first, ty))
                        .cast::<()>()
                        .cast_mut(),
                ),
                None => {
                    let serial = SERIALS.fetch_add(1, Ordering::Relaxed) as u64;
                    let record = Box::new(InstanceRecord { built, serial });
                    (DESC_INSTANCE, Box::into_raw(record).cast::<()>())
                }
            };
            let old = ptr.map_addr(|a| a | DESC_SITE);
            let new = new_ptr.map_addr(|a| a | new_tag);
            match self
                .desc
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => (tag, ptr) = (new_tag, new_ptr),
                Err(current) => {
                    if new_tag == DESC_INSTANCE {
                        // SAFETY: `new_ptr` came from `Box::into_raw` just above and was never
                        // published (the exchange failed).
                        drop(unsafe { Box::from_raw(new_ptr.cast::<InstanceRecord>()) });
                    }
                    (tag, ptr) = (
                        current.addr() & DESC_TAG,
                        current.map_addr(|a| a & !DESC_TAG),
                    );
                }
            }
        }
        // SAFETY: per `desc`'s table (the word only ever leaves `DESC_SITE`, to one of these).
        Some(unsafe {
            match tag {
                DESC_FIRST => {
                    let record = &*ptr.cast::<FirstRecord>();
                    FirstUse::Site(record.first, record.ty)
                }
                _ => FirstUse::Instance((*ptr.cast::<InstanceRecord>()).serial),
            }
        })
    }

    /// A keyed lock's key.
    fn class_key(&self) -> Option<&'static ClassKey> {
        if self.flags() & KEYED == 0 {
            return None;
        }
        // SAFETY: with `KEYED` set, the label's pointer is the `&'static ClassKey` stored at
        // construction, never changed since.
        Some(unsafe { &*self.label.ptr.load(Ordering::Relaxed).cast::<ClassKey>() })
    }

    fn part(&self) -> Option<&'static str> {
        (self.flags() & PART != 0).then_some(crate::seqlock::SEQLOCK_LOCK_PART)
    }

    fn type_name(&self) -> Option<&'static str> {
        if self.flags() & TYPED == 0 {
            return None;
        }
        let ptr = self
            .label
            .ptr
            .load(Ordering::Relaxed)
            .cast_const()
            .cast::<()>();
        // SAFETY: with `TYPED` set, `ptr` is the `fn() -> &'static str` stored by `of`, never
        // changed since.
        let f = unsafe { std::mem::transmute::<*const (), fn() -> &'static str>(ptr) };
        Some(f())
    }

    /// Whether this lock's class waits for its first acquisition (built outside the user's
    /// code, never acquired).
    fn awaits_first_use(&self) -> bool {
        self.desc().0 == DESC_SITE && self.not_user_code().is_some()
    }

    /// The key that decides this lock's class and what it stands for; `None` for a lock built
    /// outside the user's code before its first acquisition (when `at` is only a lookup).
    fn key(&self, at: Use) -> Option<(KeySource, ClassOrigin)> {
        let ty = self.type_name();
        let site = self.init_site();
        let (outer, origin) = match (self.class_key(), self.not_user_code()) {
            (Some(k), _) => (
                KeySource::Key(k as *const ClassKey as usize),
                ClassOrigin::Site,
            ),
            (None, None) => (KeySource::site(site, self.name(), ty), ClassOrigin::Site),
            (None, Some(why)) => match self.first_use(at)? {
                FirstUse::Site(first, built_ty) => {
                    let ty = ty.or(built_ty);
                    (
                        KeySource::FirstLock {
                            built: (site.file(), site.line(), site.column()),
                            ty,
                            first: (first.file(), first.line(), first.column()),
                        },
                        ClassOrigin::FirstLock {
                            why,
                            type_name: ty,
                            first_locked: Site::Code(first),
                        },
                    )
                }
                FirstUse::Instance(serial) => (
                    KeySource::Instance(serial),
                    ClassOrigin::Instance {
                        why,
                        type_name: ty,
                        serial,
                    },
                ),
            },
        };
        let key = match self.part() {
            Some(part) => KeySource::Part(Box::new(outer), part),
            None => outer,
        };
        Some((key, origin))
    }

    /// The key that decides this lock's class, once it is known (a lock built outside the
    /// user's code has it from its first acquisition on).
    pub fn key_source(&self) -> Option<KeySource> {
        self.key(Use::Lookup).map(|(k, _)| k)
    }

    fn base_name(&self, kind: LockKind, origin: &ClassOrigin) -> Arc<str> {
        let typed = |ty: Option<&str>| match ty {
            Some(t) => format!("{}<{}>", kind.as_str(), short_type_name(t)),
            None => kind.as_str().to_string(),
        };
        let outer: Arc<str> = match (self.class_key(), self.name(), origin) {
            (Some(k), _, _) => k.name().into(),
            (None, Some(n), _) => n.into(),
            (
                None,
                None,
                ClassOrigin::FirstLock {
                    type_name,
                    first_locked,
                    ..
                },
            ) => format!("{}@{first_locked}", typed(*type_name)).into(),
            (
                None,
                None,
                ClassOrigin::Instance {
                    type_name, serial, ..
                },
            ) => format!("{}@instance-{serial}", typed(*type_name)).into(),
            (None, None, _) => {
                let site = self.init_site();
                site_name(site.file(), site.line(), site.column())
            }
        };
        match self.part() {
            Some(part) => format!("{outer}.{part}").into(),
            None => outer,
        }
    }

    /// The class cache of subclass 0: `(validator generation << 32) | class id` as chain keys
    /// hash it (see `held::class_word`), 0 if not resolved yet. One load.
    #[inline(always)]
    fn cached_word(&self) -> u64 {
        self.cache.load(Ordering::Relaxed)
    }

    #[inline]
    fn class(&self, v: &Validator, kind: LockKind, subclass: u32, at: Use) -> Option<ClassId> {
        if subclass == 0 {
            let c = self.cache.load(Ordering::Relaxed);
            if (c >> 32) as u32 == v.generation() {
                return Some(ClassId(c as u32));
            }
        }
        self.resolve(v, kind, subclass, at)
    }

    #[cold]
    fn resolve(&self, v: &Validator, kind: LockKind, subclass: u32, at: Use) -> Option<ClassId> {
        let (key, origin) = self.key(at)?;
        let id = v.class_of_origin(
            &key,
            subclass,
            kind,
            Site::Code(self.init_site()),
            &|| self.base_name(kind, &origin),
            &origin,
        )?;
        if subclass == 0 {
            self.cache.store(
                ((v.generation() as u64) << 32) | id.0 as u64,
                Ordering::Relaxed,
            );
        }
        Some(id)
    }

    /// The class name this lock prints as, in `v`. A lock built outside the user's code that
    /// was never acquired has no class yet: its name then says so.
    pub(crate) fn class_name(&self, v: &Validator, kind: LockKind) -> Option<Arc<str>> {
        match self.class(v, kind, 0, Use::Lookup) {
            Some(id) => v.class_info(id).map(|i| i.display_name),
            None if v.is_enabled() && self.awaits_first_use() => {
                let ty = self.type_name().map(short_type_name).unwrap_or_default();
                Some(
                    format!(
                        "{}<{ty}> built at {} (class set by its first lock)",
                        kind.as_str(),
                        self.init_site()
                    )
                    .into(),
                )
            }
            None => None,
        }
    }
}

/// The first acquisition of a lock built outside the user's code.
#[cfg(not(feature = "disabled"))]
enum FirstUse {
    /// At this site of the user's code (with the data type a raw lock's builder named).
    Site(&'static Location<'static>, Option<&'static str>),
    /// Outside the user's code (or through the raw traits): the lock's own class, this number.
    Instance(u64),
}

/// Numbers the locks that get a class of their own.
#[cfg(not(feature = "disabled"))]
static SERIALS: AtomicUsize = AtomicUsize::new(1);

/// An acquisition the wrappers describe to the hooks.
pub(crate) struct Request<'a> {
    pub map: &'a LockMap,
    pub instance: usize,
    pub kind: LockKind,
    pub mode: Mode,
    pub subclass: u32,
    pub nest_lock: Option<InstanceId>,
    pub site: Option<&'static Location<'static>>,
}

fn site_of(loc: Option<&'static Location<'static>>) -> Site {
    loc.map_or(Site::Unknown, Site::Code)
}

/// Validates a blocking acquisition before the caller blocks. If the report would unwind, the
/// acquisition is undone first, so the lock is never taken.
#[inline(always)]
pub(crate) fn before_lock(req: Request<'_>) {
    if let Some(switch) = switch_word()
        && !(req.subclass == 0 && req.nest_lock.is_none() && lock_steady(&req, false, switch))
    {
        validate_lock_slow(req, switch);
    }
}

/// The steady state of an acquisition (subclass 0, no nest lock): pushes it and returns true, or
/// returns false having changed nothing (the full path starts over).
///
/// The work runs in a small function of its own, generic over the acquisition's kind, mode and
/// trylock flag: the wrappers pass constants, so this picks one instance, and the instance knows
/// its rules (wait type, whether a chain lookup is needed) at compile time.
#[inline(always)]
fn lock_steady(req: &Request<'_>, trylock: bool, switch: u32) -> bool {
    let (slot, map, instance, site) = (slot_ptr(), req.map, req.instance, req.site);
    macro_rules! modes {
        ($kind:literal) => {
            match (req.mode, trylock) {
                (Mode::Write, false) => {
                    lock_steady_as::<$kind, 0, false>(slot, map, instance, site, switch)
                }
                (Mode::Write, true) => {
                    lock_steady_as::<$kind, 0, true>(slot, map, instance, site, switch)
                }
                (Mode::Read, false) => {
                    lock_steady_as::<$kind, 1, false>(slot, map, instance, site, switch)
                }
                (Mode::Read, true) => {
                    lock_steady_as::<$kind, 1, true>(slot, map, instance, site, switch)
                }
                (Mode::ReadRecursive, false) => {
                    lock_steady_as::<$kind, 2, false>(slot, map, instance, site, switch)
                }
                (Mode::ReadRecursive, true) => {
                    lock_steady_as::<$kind, 2, true>(slot, map, instance, site, switch)
                }
            }
        };
    }
    match req.kind {
        LockKind::Mutex => modes!(0),
        LockKind::RwLock => modes!(1),
        LockKind::SpinLock => modes!(2),
        LockKind::SeqCount => modes!(3),
        LockKind::Map => modes!(4),
    }
}

/// [`lock_steady`] for one kind (`LockKind as u8`), mode (`Mode::bits`) and trylock flag.
#[inline(always)]
fn lock_steady_as<const KIND: u8, const MODE: u8, const TRYLOCK: bool>(
    slot: *const SlotHead,
    map: &LockMap,
    instance: usize,
    site: Option<&'static Location<'static>>,
    switch: u32,
) -> bool {
    with_steady_local(slot, switch, |l| {
        // No generation check but for a trylock: a class word of another validator makes a
        // chain no cache holds (see `class_word`). A trylock is pushed without a lookup.
        let word = map.cached_word();
        if TRYLOCK && (word >> 32) as u32 != l.generation {
            return false;
        }
        l.state.push_steady(
            l.limit,
            || l.validator.chains(),
            word,
            InstanceId(instance as u64),
            Mode::from_bits(MODE),
            LockKind::from_index(KIND),
            TRYLOCK,
            site,
        )
    })
}

#[cold]
#[inline(never)]
fn validate_lock_slow(req: Request<'_>, switch: u32) {
    // By value: a reference would keep the request in memory, written on every acquisition.
    let req = &req;
    let pending = with_local_synced(switch, |l| {
        let class = untracked_unless(l, req)?;
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, false) {
            return None;
        }
        let reports = acquire_tracked(l, req, class, false);
        let v = &l.validator;
        if reports.is_empty() {
            return None;
        }
        if v.panics_on_report() {
            v.forget(&mut l.state, InstanceId(req.instance as u64));
        }
        Some((v.clone(), reports))
    });
    Pending(pending.flatten()).dispatch();
}

/// The class of the lock requested, if its acquisition is to be validated; otherwise (the
/// validator is off, or out of classes) notes that the thread holds a lock it did not record.
fn untracked_unless(l: &mut Local, req: &Request<'_>) -> Option<ClassId> {
    let v = &l.validator;
    let class = if v.is_enabled() {
        req.map
            .class(v, req.kind, req.subclass, Use::Acquire(req.site))
    } else {
        None
    };
    if class.is_none() {
        l.state.untracked = true;
    }
    class
}

/// Records a successful trylock. Dispatch the result after the guard exists, so an unwinding
/// report releases the lock through the guard.
#[inline(always)]
pub(crate) fn after_trylock(req: Request<'_>) -> Pending {
    match switch_word() {
        Some(switch)
            if !(req.subclass == 0
                && req.nest_lock.is_none()
                && lock_steady(&req, true, switch)) =>
        {
            record_trylock(req, switch)
        }
        _ => Pending(None),
    }
}

#[cold]
#[inline(never)]
fn record_trylock(req: Request<'_>, switch: u32) -> Pending {
    let req = &req;
    let pending = with_local_synced(switch, |l| {
        let class = untracked_unless(l, req)?;
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, true) {
            return None;
        }
        let reports = acquire_tracked(l, req, class, true);
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    });
    Pending(pending.flatten())
}

/// [`Validator::acquire`] for a lock this thread takes. If the acquisition ends up on no entry
/// (the validator was switched off since `class` was looked up, by another thread, or a limit
/// ran out), the thread notes that it holds a lock it did not record, so its release is not an
/// unbalanced unlock.
fn acquire_tracked(l: &mut Local, req: &Request<'_>, class: ClassId, trylock: bool) -> Vec<Report> {
    let reports = l
        .validator
        .acquire(&mut l.state, acquire_of(req, class, trylock));
    let instance = InstanceId(req.instance as u64);
    if l.state.find(instance).is_none() && !l.state.holds_merged(class) {
        l.state.untracked = true;
    }
    reports
}

/// [`Validator::push_known`] with the request's fields passed on one by one.
fn push_known(
    v: &Validator,
    state: &mut ThreadState,
    req: &Request<'_>,
    class: ClassId,
    trylock: bool,
) -> bool {
    v.push_known(
        state,
        class,
        InstanceId(req.instance as u64),
        req.mode,
        req.kind,
        trylock,
        req.site,
    )
}

fn acquire_of(req: &Request<'_>, class: ClassId, trylock: bool) -> Acquire {
    Acquire {
        class,
        instance: InstanceId(req.instance as u64),
        mode: req.mode,
        trylock,
        nest_lock: req.nest_lock,
        kind: req.kind,
        site: site_of(req.site),
    }
}

/// A seqcount reader access (lock-free: a thread-local update and a chain lookup).
#[inline(always)]
pub(crate) fn seq_read(req: Request<'_>) {
    if let Some(switch) = switch_word()
        && !(req.subclass == 0
            && req.nest_lock.is_none()
            && seq_read_steady(slot_ptr(), req.map, switch))
    {
        validate_seq_read_slow(req, switch);
    }
}

#[inline(always)]
fn seq_read_steady(slot: *const SlotHead, map: &LockMap, switch: u32) -> bool {
    with_steady_local(slot, switch, |l| {
        // The chain lookup checks the generation too (see `lock_steady_as`).
        l.state
            .seq_read_steady(l.limit, || l.validator.chains(), map.cached_word())
    })
}

#[cold]
#[inline(never)]
fn validate_seq_read_slow(req: Request<'_>, switch: u32) {
    let req = &req;
    let pending = with_local_synced(switch, |l| {
        let v = &l.validator;
        if !v.is_enabled() {
            return None;
        }
        let class = req
            .map
            .class(v, req.kind, req.subclass, Use::Acquire(req.site))?;
        let reports = v.seq_read(&mut l.state, acquire_of(req, class, false));
        (!reports.is_empty()).then(|| (v.clone(), reports))
    });
    Pending(pending.flatten()).dispatch();
}

/// Records a release (any order).
#[inline(always)]
pub(crate) fn on_release(map: &LockMap, instance: usize, kind: LockKind) {
    if let Some(switch) = switch_word() {
        record_release(map, instance, kind, switch);
    }
}

#[inline(always)]
fn record_release(map: &LockMap, instance: usize, kind: LockKind, switch: u32) {
    if !release_steady(slot_ptr(), instance, switch) {
        record_release_slow(map, InstanceId(instance as u64), kind, switch);
    }
}

/// The steady state of a release: the lock on top of this thread's stack, released in order.
#[inline(always)]
fn release_steady(slot: *const SlotHead, instance: usize, switch: u32) -> bool {
    with_steady_local(slot, switch, |l| {
        l.state.pop_top(InstanceId(instance as u64))
    })
}

#[cold]
#[inline(never)]
fn record_release_slow(map: &LockMap, instance: InstanceId, kind: LockKind, switch: u32) {
    let pending = with_local_synced(switch, |l| {
        let v = &l.validator;
        // The common case: a lock this thread holds in the current scope.
        let reports = match l.state.find(instance) {
            Some(i) => v.release_at(&mut l.state, i, Site::Unknown),
            None => release_unknown(l, map, instance, kind)?,
        };
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    });
    Pending(pending.flatten()).dispatch();
}

/// A release of a lock not on the current stack: held in an outer scope, acquired in a scope
/// that has ended or while validation was off, merged under a nest lock, or never acquired.
#[cold]
fn release_unknown(
    l: &mut Local,
    map: &LockMap,
    instance: InstanceId,
    kind: LockKind,
) -> Option<Vec<Report>> {
    for (_, s) in l.saved.iter_mut().rev() {
        if let Some(i) = s.find(instance) {
            s.held.remove(i);
            return None;
        }
    }
    if let Some(i) = l.orphans.iter().position(|o| *o == instance) {
        l.orphans.swap_remove(i);
        return None;
    }
    let v = &l.validator;
    let class = if v.is_enabled() {
        map.class(v, kind, 0, Use::Lookup)
    } else {
        None
    };
    if (l.lenient || l.state.untracked) && class.is_none_or(|c| !l.state.holds_merged(c)) {
        return None;
    }
    Some(v.release(&mut l.state, instance, class, Site::Unknown))
}

/// Records the release of a guard's acquisition: on this thread's stack, or, for a guard
/// acquired on another thread (feature `send_guard`), on its owner's.
#[inline(always)]
pub(crate) fn on_release_by(map: &LockMap, instance: usize, kind: LockKind, owner: Owner) {
    if owner.elsewhere() {
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        inbox::post(
            owner.thread,
            inbox::Message::Release(InstanceId(instance as u64)),
        );
    } else {
        on_release(map, instance, kind);
    }
}

/// [`on_mode_change`] for a guard's acquisition, on its owner's stack.
#[inline]
pub(crate) fn on_mode_change_by(instance: usize, mode: Mode, owner: Owner) {
    if owner.elsewhere() {
        #[cfg(all(feature = "send_guard", not(feature = "disabled")))]
        inbox::post(
            owner.thread,
            inbox::Message::Mode(InstanceId(instance as u64), mode),
        );
    } else {
        on_mode_change(instance, mode);
    }
}

/// Changes the mode of a held lock (downgrade).
#[inline]
pub(crate) fn on_mode_change(instance: usize, mode: Mode) {
    with_local_on(|l| {
        l.validator
            .set_mode(&mut l.state, InstanceId(instance as u64), mode)
    });
}

/// Whether this thread holds `instance` (in any mode, `Some(mode)` of the newest entry).
pub(crate) fn held_mode(instance: usize) -> Option<Mode> {
    match held_state(instance) {
        HeldState::Held(mode) => Some(mode),
        HeldState::NotHeld | HeldState::Unknown => None,
    }
}

/// Whether this thread holds a lock, as far as lockdep can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeldState {
    /// Held, in this mode (in the current scope or an outer one).
    Held(Mode),
    /// Not held.
    NotHeld,
    /// Cannot tell: validation is off, the thread is being torn down, or it took locks while
    /// its validator was off. Assertions pass, as the kernel's do on `LOCK_STATE_UNKNOWN`.
    Unknown,
}

pub(crate) fn held_state(instance: usize) -> HeldState {
    let id = InstanceId(instance as u64);
    let found = with_local_on(|l| {
        if let Some(i) = l.state.find(id) {
            return HeldState::Held(l.state.held[i].mode());
        }
        for (_, s) in l.saved.iter().rev() {
            if let Some(i) = s.find(id) {
                return HeldState::Held(s.held[i].mode());
            }
        }
        if l.state.untracked || !l.validator.is_enabled() {
            HeldState::Unknown
        } else {
            HeldState::NotHeld
        }
    });
    found.unwrap_or(HeldState::Unknown)
}

/// The validator this thread reports to (a switched-off one while validation is off).
pub fn current() -> Validator {
    if switch().is_none() {
        return off_validator().clone();
    }
    with_local(|l| l.validator.clone()).unwrap_or_else(|| global().clone())
}

impl Validator {
    /// Runs `f` with this thread reporting to `self` (its held locks start empty and are separate
    /// from the outer validator's). Use it in threads spawned inside [`capture`].
    ///
    /// ```
    /// use lockdep::Mutex;
    /// use std::sync::Arc;
    ///
    /// let reports = lockdep::capture(|| {
    ///     let v = lockdep::current_validator();
    ///     let (a, b) = (Arc::new(Mutex::with_name("a", ())), Arc::new(Mutex::with_name("b", ())));
    ///     let (a2, b2, v2) = (a.clone(), b.clone(), v.clone());
    ///     std::thread::spawn(move || v2.scope(|| drop((a2.lock(), b2.lock())))).join().unwrap();
    ///     v.scope(|| drop((b.lock(), a.lock())));
    /// });
    /// assert_eq!(reports.len(), 1);
    /// ```
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Exit;
        impl Drop for Exit {
            fn drop(&mut self) {
                let (drained, pending) = with_local(|l| {
                    // Releases of this scope's guards by other threads (`send_guard`) first.
                    let drained = inbox::drain(l);
                    let Some((v, s)) = l.saved.pop() else {
                        return (drained, None);
                    };
                    let mut inner = std::mem::replace(&mut l.state, s);
                    let inner_validator = std::mem::replace(&mut l.validator, v);
                    l.orphans.extend(inner.held.iter().map(|h| h.instance()));
                    // A scope that ends holding locks is reported like a thread that exits so.
                    let reports = inner_validator.thread_exit(&mut inner);
                    (
                        drained,
                        (!reports.is_empty()).then_some((inner_validator, reports)),
                    )
                })
                .unwrap_or((None, None));
                Pending(drained).dispatch();
                Pending(pending).dispatch();
            }
        }
        let _exit = self.push().then_some(Exit);
        f()
    }

    /// Makes `self` this thread's validator for the rest of the thread (a thread spawned for a
    /// test calls it first). Locks it holds when it ends are reported.
    pub fn enter(&self) {
        self.push();
    }

    fn push(&self) -> bool {
        with_local(|l| {
            let depth = self.config().max_lock_depth.min(64);
            let mut fresh = ThreadState::new(l.state.name.clone(), l.state.id, depth);
            fresh.trace_id = THREAD_IDS.fetch_add(1, Ordering::Relaxed);
            let outer_state = std::mem::replace(&mut l.state, fresh);
            let outer_validator = std::mem::replace(&mut l.validator, self.clone());
            l.saved.push((outer_validator, outer_state));
        })
        .is_some()
    }
}

/// Runs `f` against a private validator that collects reports instead of panicking, and returns
/// them. Tests running in parallel threads of one process never see each other's classes or
/// reports. Threads spawned inside join it with [`Validator::scope`].
///
/// ```
/// use lockdep::{Mutex, ReportKind};
///
/// let reports = lockdep::capture(|| {
///     let a = Mutex::new(1);
///     let b = Mutex::new(2); // another site: another class
///     let _ga = a.lock();
///     let _gb = b.lock();
/// });
/// assert!(reports.is_empty());
/// ```
pub fn capture(f: impl FnOnce()) -> Vec<Report> {
    if switch().is_none() {
        // Nothing is validated: nothing to collect.
        f();
        return Vec::new();
    }
    let global = global().config().clone();
    // A capture keeps a smaller chain table than the global validator (many tests each
    // build one), unless LOCKDEP_MAX_CHAINS asks for a size.
    let max_chains = if std::env::var_os(crate::config::ENV_CHAINS).is_some() {
        global.max_chains
    } else {
        global.max_chains.min(CAPTURE_MAX_CHAINS)
    };
    capture_with(
        Config {
            max_chains,
            ..global
        },
        f,
    )
}

/// Chains a [`capture`] keeps by default.
const CAPTURE_MAX_CHAINS: usize = 4096;

/// [`capture`] with explicit limits: every limit of the isolated validator is `config`'s.
///
/// ```
/// let config = lockdep::Config { max_lock_depth: 2, ..lockdep::Config::default() };
/// let a = lockdep::Mutex::with_name("a", ());
/// let b = lockdep::Mutex::with_name("b", ());
/// let c = lockdep::Mutex::with_name("c", ());
/// let reports = lockdep::capture_with(config, || {
///     let _a = a.lock();
///     let _b = b.lock();
///     let _c = c.lock(); // a third held lock: over the depth limit
/// });
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].to_string().contains("LOCKDEP_MAX_DEPTH"));
/// ```
pub fn capture_with(config: Config, f: impl FnOnce()) -> Vec<Report> {
    if switch().is_none() {
        f();
        return Vec::new();
    }
    let v = Validator::with_on_report(config, OnReport::Collect);
    if record_captures() && global().is_recording() {
        // The process-wide validator may record to `tracing` only: then there is no file.
        let _ = v.record_into(global());
    }
    v.scope(f);
    v.take_reports()
}

/// `LOCKDEP_TRACE_CAPTURES=1`: captures record into the process-wide trace (`LOCKDEP_TRACE`).
fn record_captures() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(
        || match std::env::var("LOCKDEP_TRACE_CAPTURES").as_deref() {
            Ok("1") => true,
            Ok("0") | Err(_) => false,
            Ok(other) => {
                eprintln!("lockdep: ignoring LOCKDEP_TRACE_CAPTURES={other:?}: expected 1 or 0");
                false
            }
        },
    )
}

/// The validator this thread currently reports to (see [`Validator::scope`]).
pub fn current_validator() -> Validator {
    current()
}

/// Annotates a call that may block. Inside a [`SpinLock`](crate::SpinLock) or a
/// [`non_blocking`] section this is an invalid-wait-context report.
#[track_caller]
pub fn might_sleep() {
    let site = Location::caller();
    let pending = with_local_on(|l| {
        let reports = l.validator.might_sleep(&mut l.state, Site::Code(site));
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    });
    Pending(pending.flatten()).dispatch();
}

/// Runs `f` as a section that must not block (the analogue of running with interrupts off):
/// sleeping locks and [`might_sleep`] inside it are reported.
pub fn non_blocking<R>(f: impl FnOnce() -> R) -> R {
    struct Exit;
    impl Drop for Exit {
        fn drop(&mut self) {
            with_local_on(|l| l.validator.set_non_blocking(&mut l.state, false));
        }
    }
    with_local_on(|l| l.validator.set_non_blocking(&mut l.state, true));
    let _exit = Exit;
    f()
}

/// Locks whose class and holder lockdep knows: every wrapper in this crate.
pub trait Lockable: private::Sealed {
    #[doc(hidden)]
    fn lock_map(&self) -> (&LockMap, usize, LockKind);
}

pub(crate) mod private {
    pub trait Sealed {}
}

/// Panics unless this thread holds `lock` (the kernel's `lockdep_assert_held`). Does nothing
/// while validation is off or compiled out.
///
/// ```
/// let m = lockdep::Mutex::new(0);
/// let g = m.lock();
/// lockdep::assert_held(&m);
/// drop(g);
/// lockdep::assert_not_held(&m);
/// ```
#[track_caller]
pub fn assert_held(lock: &impl Lockable) {
    let (map, instance, kind) = lock.lock_map();
    if held_state(instance) == HeldState::NotHeld {
        let name = map
            .class_name(&current(), kind)
            .unwrap_or_else(|| "?".into());
        panic!(
            "lockdep: {name} is not held by this thread (asserted at {})",
            Location::caller()
        );
    }
}

/// Panics if this thread holds `lock` (the kernel's `lockdep_assert_not_held`). Does nothing
/// while validation is off or compiled out.
#[track_caller]
pub fn assert_not_held(lock: &impl Lockable) {
    let (map, instance, kind) = lock.lock_map();
    if held_mode(instance).is_some() {
        let name = map
            .class_name(&current(), kind)
            .unwrap_or_else(|| "?".into());
        panic!(
            "lockdep: {name} is held by this thread (asserted at {})",
            Location::caller()
        );
    }
}

/// Hands this thread's acquisition of `lock` over before its guard is sent to another thread
/// (feature `send_guard`), as the kernel's `lock_release` at a hand-off: the lock leaves this
/// thread's held-lock stack now, so this thread may take it again while the receiver still
/// holds the guard (a pipeline) without a recursive-locking report, and its later locks do not
/// depend on it. The receiving thread's locks do not depend on it either; the guard's drop,
/// wherever it happens, is then quiet. Nothing happens if this thread does not hold `lock`.
///
/// ```
/// use std::sync::mpsc;
///
/// let lock = lockdep::Mutex::new(0);
/// let (tx, rx) = mpsc::channel();
/// std::thread::scope(|s| {
///     s.spawn(move || {
///         for guard in rx {
///             drop(guard); // the consumer finishes with each item
///         }
///     });
///     for i in 0..3 {
///         let mut guard = lock.lock(); // may wait for the consumer: no recursive locking
///         *guard = i;
///         lockdep::hand_off(&lock);
///         tx.send(guard).unwrap();
///     }
///     drop(tx);
/// });
/// ```
#[cfg(feature = "send_guard")]
pub fn hand_off(lock: &impl Lockable) {
    #[cfg(not(feature = "disabled"))]
    {
        let instance = InstanceId(lock.lock_map().1 as u64);
        let pending = with_local_on(|l| {
            let i = l.state.find(instance)?;
            let reports = l.validator.release_at(&mut l.state, i, Site::Unknown);
            // Its guard's release, posted back here, is then matched with nothing held.
            l.orphans.push(instance);
            (!reports.is_empty()).then(|| (l.validator.clone(), reports))
        });
        Pending(pending.flatten()).dispatch();
    }
    #[cfg(feature = "disabled")]
    let _ = lock;
}

/// Whether this thread holds `lock`; always false while validation is off or compiled out (so
/// assert with [`assert_held`], which is then a no-op, rather than with this).
pub fn is_held(lock: &impl Lockable) -> bool {
    held_mode(lock.lock_map().1).is_some()
}

/// The class name `lock` reports as (`file:line:col` by default, or its given name; a lock built
/// outside your code is named after its first acquisition, and before that the name says its
/// class is not set yet); empty while validation is off or compiled out.
pub fn class_name(lock: &impl Lockable) -> String {
    let (map, _, kind) = lock.lock_map();
    map.class_name(&current(), kind)
        .map(|n| n.to_string())
        .unwrap_or_default()
}
