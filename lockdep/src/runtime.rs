//! The in-process side: which validator a thread reports to, its held-lock stack, and the hooks
//! the lock wrappers call.
//!
//! Each thread keeps its [`ThreadState`] in a thread-local. The steady-state hook reads that
//! thread-local, the lock's cached class id and the known-chain sets (the thread's own, then the
//! shared one); it takes no global lock, allocates nothing and writes no shared memory.
//!
//! Every hook starts with [`switch`]: one relaxed load of a process-wide word and one branch. It
//! is `None` while validation is switched off ([`set_enabled`], `LOCKDEP=off`) and constantly
//! `None` when validation is compiled out (`cfg(lockdep_off)`, build.rs), where the optimiser then removes the whole hook and
//! [`LockMap`] is zero-sized — so a wrapper is its parking_lot lock and nothing else.

use std::cell::{Cell, UnsafeCell};
use std::mem::ManuallyDrop;
use std::panic::Location;
#[cfg(not(lockdep_off))]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::chain::TableView;
use crate::class::{ClassId, ClassKey, LockKind, Site};
#[cfg(not(lockdep_off))]
use crate::class::{
    ClassOrigin, KeySource, NotUserCode, short_type_name, site_class_name, site_name, sysroot_file,
};
use crate::config::Config;
use crate::held::{Acquire, InstanceId, Mode, ThreadState};
use crate::report::Report;
use crate::sink::OnReport;
#[cfg(not(lockdep_off))]
use crate::validator::ClassMiss;
use crate::validator::Validator;

static GLOBAL: OnceLock<Validator> = OnceLock::new();
static THREAD_IDS: AtomicU64 = AtomicU64::new(1);

/// The process-wide validator, configured from the `LOCKDEP_*` environment variables on first use.
pub fn global() -> &'static Validator {
    GLOBAL.get_or_init(|| {
        let v = Validator::with_on_report(Config::from_env(), OnReport::from_env());
        v.set_limits_from_env();
        if let Some(path) = std::env::var_os("LOCKDEP_TRACE").filter(|p| !p.is_empty())
            && let Err(e) = crate::graph_file::trace_path(&path).and_then(|p| v.record_to(p))
        {
            eprintln!(
                "lockdep: cannot record LOCKDEP_TRACE={}: {e}",
                path.to_string_lossy()
            );
        }
        if let Some(level) = crate::tracing_sink::level_from_env() {
            v.set_tracing_level(Some(level));
        }
        crate::graph_file::from_env(&v);
        v
    })
}

/// Runs `f`, which installs a panic hook, on this thread, or, while this thread unwinds, on a
/// thread of its own, not waited for: `std::panic::take_hook` panics on a panicking thread (the
/// process-wide validator is set up by the first lock, which may be taken in a destructor during
/// unwinding, where a second panic aborts the process), and inside a panic hook std holds the
/// hook's lock until the hook returns (a thread waited for would never finish). If no thread can
/// be started, the hook is not installed (the graph and trace are still written at exit).
pub(crate) fn off_a_panicking_thread(f: impl FnOnce() + Send + 'static) {
    if !std::thread::panicking() {
        f();
        return;
    }
    let _ = std::thread::Builder::new()
        .name("lockdep-panic-hook".into())
        .spawn(f);
}

// ----- the process-wide switch -----

// Bit 0: the environment was read. Bit 1: off. Bits 2–23: a count of changes — to this switch or
// to any validator's settings — so each thread's steady state (its gate holds the word it last
// saw) takes the full path once after one and catches up there. Bits 24–31: how often validation
// was switched off (wrapping), in the same word, so a thread that syncs with an "on" word knows
// from that word alone whether an off period began since its last one (its held-lock stack is
// then stale: locks may have been taken and released unseen). A separate counter, bumped before
// the switch went off, could be read by a thread still running on the old word, which then
// missed the period: a false bad-unlock report in panic mode, leaking the raw lock.
const SWITCH_READY: u32 = 1;
const SWITCH_OFF: u32 = 2;
const SWITCH_STEP: u32 = 4;
const SWITCH_COUNT: u32 = 0x00FF_FFFC;
const SWITCH_OFF_PERIOD: u32 = 1 << 24;
static SWITCH: AtomicU32 = AtomicU32::new(0);

/// The switch word `s` with its change count advanced (wrapping within its bits).
const fn bumped(s: u32) -> u32 {
    (s & !SWITCH_COUNT) | (s.wrapping_add(SWITCH_STEP) & SWITCH_COUNT)
}

/// How many off periods began before the switch word `s` (wrapping).
const fn off_periods(s: u32) -> u32 {
    s / SWITCH_OFF_PERIOD
}

/// Sends every thread's next hook through the full path, where it re-reads its validator's
/// settings (a validator was switched on or off, or started or stopped recording).
pub(crate) fn refresh_steady_states() {
    bump_switch();
    reader_gates::close_all();
}

/// Moves the switch word (every gate closes), leaving seqcount readers' skips alone.
fn bump_switch() {
    // Release: a thread that sees the new word (then fences in `resync`) sees what the caller
    // wrote before (an adopting capture's `ended`); SeqCst for `reader_gates::close_all`.
    let _ = SWITCH.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |s| Some(bumped(s)));
}

/// The switch word when validation is on, `None` when it is off. Every hook starts here: off is
/// one load and one taken branch.
#[inline(always)]
pub(crate) fn switch() -> Option<u32> {
    if cfg!(lockdep_off) {
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
    if cfg!(lockdep_off) {
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
        s = match SWITCH.compare_exchange(s, new, Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => {
                if off {
                    reader_gates::close_all();
                }
                new
            }
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
    let changed = SWITCH.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |s| {
        if (s & SWITCH_OFF == 0) == on {
            return None;
        }
        let s = (bumped(s) & !SWITCH_OFF) | SWITCH_READY;
        Some(if on {
            s
        } else {
            s.wrapping_add(SWITCH_OFF_PERIOD) | SWITCH_OFF
        })
    });
    if changed.is_ok() {
        reader_gates::close_all();
    }
}

/// Whether the lock wrappers validate: false when validation is compiled out (build.rs), after
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

/// How many possibly released locks a thread keeps from its off periods (`Local::stale`).
const MAX_STALE: usize = 256;

struct Local {
    validator: Validator,
    state: ThreadState,
    // Outer scopes entered with `Validator::scope` / `capture`, innermost last.
    saved: Vec<(Validator, ThreadState)>,
    // Locks whose guards are still alive but are not on a stack: acquired in a scope that has
    // ended, or handed off (`hand_off`). Their releases are not imbalances, and a posted release
    // matches one of them before the stack (this thread may hold the lock again).
    orphans: Vec<InstanceId>,
    // Locks that were held when validation went off: their guards may have been released
    // unseen. A release matches one only when nothing else holds the lock, so that an
    // acquisition made since (on the stack) is not left behind as a phantom.
    stale: Vec<InstanceId>,
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
    // The validator's known-chain table as of the last gate (`steady_gate`): a miss in the
    // thread's cache probes it without the loads through the validator.
    table: TableView<'static>,
    // The thread joined the capture running when it started (`adoption`): set when it ended.
    adopted: Option<Arc<std::sync::atomic::AtomicBool>>,
    // Tasks' stacks (`lockdep::tokio`) swapped in for their polls (nested polls nest): the
    // thread's own is away.
    detached: u32,
}

impl Local {
    fn new(validator: Validator) -> Self {
        let id = thread_id();
        let name: Arc<str> = match std::thread::current().name() {
            Some(n) => n.into(),
            None => format!("thread-{id}").into(),
        };
        let depth = validator.config().max_lock_depth.min(64);
        #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
        inbox::register(id);
        // SAFETY: `Local` keeps `validator` (and so its chain set) while it has this view: a
        // new validator comes with a new view (`steady_gate`, the end of every full path).
        let table = unsafe { validator.chains().view().detach() };
        let switch = SWITCH.load(Ordering::Relaxed);
        Local {
            validator,
            state: ThreadState::new(name, id, depth),
            saved: Vec::new(),
            orphans: Vec::new(),
            stale: Vec::new(),
            switch,
            off_periods: off_periods(switch),
            lenient: false,
            generation: 0,
            limit: 0,
            table,
            adopted: None,
            detached: 0,
        }
    }

    /// Joins the capture running in `validator` (`adoption`) until `ended` is set.
    #[cfg(not(lockdep_off))]
    fn adopt(&mut self, validator: Validator, ended: Arc<std::sync::atomic::AtomicBool>) {
        let depth = validator.config().max_lock_depth.min(64);
        let mut fresh = ThreadState::new(self.state.name.clone(), self.state.id, depth);
        fresh.trace_id = THREAD_IDS.fetch_add(1, Ordering::Relaxed);
        let outer_state = std::mem::replace(&mut self.state, fresh);
        let outer_validator = std::mem::replace(&mut self.validator, validator);
        self.saved.push((outer_validator, outer_state));
        self.adopted = Some(ended);
    }

    /// Back to the process-wide validator once the adopting capture has ended: what the thread
    /// still holds of its locks is forgotten (their releases are not imbalances). Checked when
    /// the switch word moves (the capture's end moves it), and again when a scope or a task's
    /// poll that was running then ends.
    fn leave_ended_capture(&mut self) {
        if self.detached != 0
            || !self
                .adopted
                .as_ref()
                .is_some_and(|ended| ended.load(Ordering::Relaxed))
        {
            return;
        }
        // The adopted stack is the current one, or the first scope's saved one (the thread's
        // own stack, under the process-wide validator, is always `saved[0]`).
        let inner = match self.saved.len() {
            0 => return,
            1 => {
                let (v, s) = self.saved.pop().expect("one saved stack");
                self.validator = v;
                std::mem::replace(&mut self.state, s)
            }
            _ => self.saved.remove(1).1,
        };
        let mut inner = inner;
        self.orphans.extend(inner.held.iter().map(|h| h.instance()));
        self.orphans.append(&mut inner.skipped);
        self.adopted = None;
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
        // Pairs with the release of `refresh_steady_states`: what was written before the switch
        // word moved (an adopting capture's end) is seen here.
        std::sync::atomic::fence(Ordering::Acquire);
        self.switch = switch;
        if self.adopted.is_some() {
            self.leave_ended_capture();
        }
        let periods = off_periods(switch);
        if periods == self.off_periods {
            // Only a validator's settings changed: the gate is recomputed, nothing is stale.
            return;
        }
        self.off_periods = periods;
        self.lenient = true;
        // Whatever was held or awaited may have been released while off.
        let stale = self.state.held.drain().map(|h| h.instance());
        self.stale.extend(stale);
        self.stale.append(&mut self.state.skipped);
        self.stale.append(&mut self.orphans);
        self.cap_stale();
    }

    /// Most stale locks were released unseen and are never matched: a program that switches
    /// often keeps the newest only (a release that finds nothing is not reported: `lenient`).
    fn cap_stale(&mut self) {
        if self.stale.len() > MAX_STALE {
            self.stale.drain(..self.stale.len() - MAX_STALE);
        }
    }

    /// Refreshes the copies the steady state reads and returns the gate it may run under: the
    /// switch word this thread is synced with, or [`GATE_CLOSED`] when every operation must take
    /// the full path — the validator is off or records events, or the thread is inside a
    /// non-blocking section (the one part of the wait-context rule a known chain does not cover).
    fn steady_gate(&mut self) -> u32 {
        let v = &self.validator;
        self.generation = v.generation();
        // SAFETY: the steady state uses the view only while its gate is open, and a gate opens
        // only here, for the validator this `Local` holds; a full path that replaces it closes
        // the gate until it ends here again.
        self.table = unsafe { v.chains().view().detach() };
        self.limit = v.config().max_lock_depth.min(self.state.held.capacity());
        if v.is_enabled()
            && !v.is_recording()
            && !self.state.in_atomic()
            && cacheable(self.generation)
        {
            self.switch
        } else {
            GATE_CLOSED
        }
    }

    /// The gate a seqcount reader with nothing held may skip under ([`reader_gates`]): the
    /// steady gate, closed if even a reader is beyond the depth limit (a limit of 0).
    fn reader_gate(&self, gate: u32) -> u32 {
        if self.limit > 0 { gate } else { GATE_CLOSED }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Releases of this thread's guards by other threads (feature `send_guard`) first.
        if let Some((v, reports)) = inbox::drain(self) {
            v.dispatch(reports);
        }
        #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
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
    // The address of this thread's reader gate, registered for `reader_gates::close_all`.
    reader_cell: usize,
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
            // SAFETY: as below; the slot is still alive.
            reader_gates::unregister(unsafe { &*slot.cast::<LocalSlot>() }.reader_cell);
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
    #[cfg(not(lockdep_off))]
    if let Some((v, ended)) = crate::adoption::adopt() {
        local.adopt(v, ended);
    }
    let gate = local.steady_gate();
    let reader_gate = local.reader_gate(gate);
    let slot = Box::into_raw(Box::new(LocalSlot {
        head: SlotHead {
            gate: Cell::new(gate),
            busy: Cell::new(false),
        },
        local: UnsafeCell::new(local),
        reader_cell: reader_gates::register(),
    }))
    .cast::<SlotHead>()
    .cast_const();
    // SAFETY: just made; it lives until `SlotOwner` closes the reader gate and frees it.
    reader_gates::reopen(unsafe { &*slot.cast::<LocalSlot>() }, reader_gate);
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
    reader_gates::close_own();
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
        let gate = local.steady_gate();
        let reader_gate = local.reader_gate(gate);
        self.0.head.gate.set(gate);
        reader_gates::reopen(self.0, reader_gate);
        self.0.head.busy.set(false);
    }
}

/// What a seqcount reader may skip, per thread, so that a reader with nothing held costs two
/// loads and a compare — without reading the process-wide switch or the gate — besides the
/// check that its lock has a class (`seq_read`).
///
/// A reader with nothing held has nothing to validate (no dependency, no recursion) while its
/// thread's gate is open, and nothing at all to do while validation is off. The thread-local
/// [`READER`] points at the held-lock stack a reader looks at: the thread's own while its gate
/// is open ([`reopen`] after each full path), or a stand-in — [`CLOSED`], never empty, so the
/// reader asks the switch and the gate as any hook does; or, while validation is off, the one
/// behind [`skip`], always empty. Every change of the switch word (validation on or off, a
/// validator's setting, a capture) points every thread's at a stand-in again ([`close_all`]), as
/// it closes every gate.
mod reader_gates {
    use super::{GATE_CLOSED, LocalSlot, SWITCH, SWITCH_OFF};
    use crate::held::HeldStack;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// A stand-in stack (`Sync`: it is only ever read, and only its length).
    struct StandIn(HeldStack);
    // SAFETY: never written after it is made; readers only call `is_empty`.
    unsafe impl Sync for StandIn {}

    /// Never empty (no sentinel, so not even that): the reader takes its usual path.
    static CLOSED: StandIn = StandIn(HeldStack::stand_in());

    /// Always empty: the reader skips (validation is off).
    fn skip() -> *mut HeldStack {
        static SKIP: OnceLock<StandIn> = OnceLock::new();
        (&raw const SKIP.get_or_init(|| StandIn(HeldStack::with_capacity(0))).0).cast_mut()
    }

    fn closed() -> *mut HeldStack {
        (&raw const CLOSED.0).cast_mut()
    }

    thread_local! {
        // Constant initialiser, no destructor: one `%fs`-relative load in the caller. Written
        // by other threads (`close_all`), hence atomic.
        static READER: AtomicPtr<HeldStack> = const { AtomicPtr::new((&raw const CLOSED.0).cast_mut()) };
    }

    /// The `READER` of every thread that has a slot (as addresses), so a change can reach them.
    static THREADS: parking_lot::Mutex<Vec<usize>> = parking_lot::Mutex::new(Vec::new());

    /// When the thread makes its slot: the address to [`unregister`] when it goes.
    pub(super) fn register() -> usize {
        // Made here, not first in `close_all`: a thread that reads it through a relaxed load
        // of `READER` has synchronised with its initialisation in this `OnceLock` read.
        let _ = skip();
        let cell = READER.with(|r| std::ptr::from_ref(r) as usize);
        THREADS.lock().push(cell);
        cell
    }

    /// When the thread's slot goes: no stand-in is written to its `READER` afterwards, and it
    /// no longer points into the slot. (`cell` is what `register` returned: `READER` itself may
    /// be gone already where thread-locals are not native.)
    pub(super) fn unregister(cell: usize) {
        let _ = READER.try_with(|r| r.store(closed(), Ordering::SeqCst));
        let mut threads = THREADS.lock();
        if let Some(i) = threads.iter().position(|&c| c == cell) {
            threads.swap_remove(i);
        }
    }

    /// After the switch word changed: every reader asks the switch again (or, validation being
    /// off, skips). Reading the switch under the lock makes the last of two racing changes win.
    #[cold]
    pub(super) fn close_all() {
        let threads = THREADS.lock();
        let stand_in = if SWITCH.load(Ordering::SeqCst) & SWITCH_OFF != 0 {
            skip()
        } else {
            closed()
        };
        for &cell in threads.iter() {
            // SAFETY: a registered `READER` is alive: its thread unregisters it (under this
            // lock) from its slot's destructor, before its thread-locals are freed.
            unsafe { &*(cell as *const AtomicPtr<HeldStack>) }.store(stand_in, Ordering::SeqCst);
        }
    }

    /// At the start of a full path: no reader of this thread reads the stack meanwhile.
    pub(super) fn close_own() {
        READER.with(|r| r.store(closed(), Ordering::Relaxed));
    }

    /// At the end of a full path on `slot`, from the gate it computed. Opening is checked
    /// against the switch afterwards: a change that `close_all` closed before this store is
    /// seen by the load (all four operations are SeqCst), and the gate is closed again.
    pub(super) fn reopen(slot: &LocalSlot, gate: u32) {
        READER.with(|r| {
            if gate == GATE_CLOSED {
                r.store(closed(), Ordering::Relaxed);
                return;
            }
            // From the cell's raw pointer, not a reference: it stays valid across the steady
            // state's `&mut` to the same `Local`.
            // SAFETY: an in-bounds place of the live slot, no reference made.
            let held = unsafe { &raw mut (*slot.local.get()).state.held };
            r.store(held, Ordering::SeqCst);
            if SWITCH.load(Ordering::SeqCst) != gate {
                r.store(closed(), Ordering::SeqCst);
            }
        });
    }

    /// Whether a seqcount reader on this thread has nothing to do.
    #[inline(always)]
    pub(super) fn skips() -> bool {
        let held = READER.with(|r| r.load(Ordering::Relaxed));
        // SAFETY: a stand-in, or this thread's own stack while no full path of its thread has
        // its `Local` (`close_own` first) and the slot lives (`unregister` before it is freed);
        // only this thread writes it, and not during this read.
        unsafe { &*held }.is_empty()
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
    let (result, drained) = with_local_synced_drained(switch, f)?;
    if let Some((v, reports)) = drained {
        v.dispatch(reports);
    }
    Some(result)
}

/// [`with_local_synced`] for a hook whose result is reports: what the inbox drained first and
/// them in one batch, so that a drained report that unwinds cannot lose the hook's own.
fn with_local_synced_batched(
    switch: u32,
    f: impl FnOnce(&mut Local) -> Option<ToDispatch>,
) -> Pending {
    match with_local_synced_drained(switch, f) {
        Some((own, drained)) => Pending(drained_first(drained, own)),
        None => Pending::NONE,
    }
}

/// [`with_local_synced_batched`] once validation is known to be on.
fn with_local_on_batched(f: impl FnOnce(&mut Local) -> Option<ToDispatch>) -> Pending {
    match switch() {
        Some(switch) => with_local_synced_batched(switch, f),
        None => Pending::NONE,
    }
}

/// [`with_local_synced`] that returns the reports of what it drained from the thread's inbox
/// instead of dispatching them (a release dispatches them after its raw unlock).
#[inline]
fn with_local_synced_drained<R>(
    switch: u32,
    f: impl FnOnce(&mut Local) -> R,
) -> Option<(R, Option<ToDispatch>)> {
    // A steady-state hook passes the word it saw, which may predate reading the environment.
    let switch = switch_ready(switch)?;
    with_local(|l| {
        l.sync(switch);
        // What other threads released of this thread's guards comes first (`send_guard`).
        let drained = inbox::drain(l);
        (f(l), drained)
    })
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
    #[cfg(all(feature = "send_guard", not(lockdep_off)))]
    thread: u64,
}

impl Owner {
    /// The current thread.
    #[inline(always)]
    pub(crate) fn current() -> Self {
        Owner {
            #[cfg(all(feature = "send_guard", not(lockdep_off)))]
            thread: thread_id(),
        }
    }

    /// The owner as a number, for code that cannot keep a guard value (0: none recorded, as
    /// without the feature `send_guard`).
    #[inline(always)]
    pub(crate) fn token(self) -> u64 {
        #[cfg(all(feature = "send_guard", not(lockdep_off)))]
        {
            self.thread
        }
        #[cfg(not(all(feature = "send_guard", not(lockdep_off))))]
        {
            0
        }
    }

    /// The owner `token` names; 0 is the current thread.
    #[inline(always)]
    pub(crate) fn from_token(token: u64) -> Self {
        if token == 0 {
            return Owner::current();
        }
        Owner {
            #[cfg(all(feature = "send_guard", not(lockdep_off)))]
            thread: token,
        }
    }

    /// Whether the current thread is another one than the owner.
    #[inline(always)]
    fn elsewhere(self) -> bool {
        #[cfg(all(feature = "send_guard", not(lockdep_off)))]
        {
            self.thread != 0 && self.thread != thread_id()
        }
        #[cfg(not(all(feature = "send_guard", not(lockdep_off))))]
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

/// Releases and mode changes of a thread's guards made on other threads (feature `send_guard`),
/// or of an async task's guards made elsewhere (feature `tokio`, whose task stacks are owners
/// too): posted here by whoever drops the guard, applied by the owner at its next full-path
/// hook, which every thread takes once after a post (the post bumps the switch word), or when a
/// task's stack is next entered.
mod inbox {
    use super::*;

    /// What another thread did with one of the owner's guards.
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Message {
        Release(InstanceId),
        /// A downgrade (or other mode change), and where it was called.
        Mode(InstanceId, Mode, Option<&'static Location<'static>>),
    }

    /// The threads that have a held-lock stack, and the messages posted for them.
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
    struct Posted {
        live: Option<std::collections::HashSet<u64>>,
        messages: Vec<(u64, Message)>,
    }

    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
    static POSTED: parking_lot::Mutex<Posted> = parking_lot::Mutex::new(Posted {
        live: None,
        messages: Vec::new(),
    });
    // How many messages wait: a thread looks at `POSTED` only when some do.
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
    static PENDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// Thread `id` has a held-lock stack from now on: messages may be posted for it.
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
    pub(super) fn register(id: u64) {
        POSTED
            .lock()
            .live
            .get_or_insert_with(Default::default)
            .insert(id);
    }

    /// Thread `id` is ending: nothing more is posted for it, and what was is dropped.
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
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
    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
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
        // Readers need not ask: the owner still holds the released lock, so it has no
        // top-level reader until it took the message.
        bump_switch();
    }

    /// Applies what other threads posted for this thread; the reports to dispatch, if any.
    #[inline]
    pub(super) fn drain(l: &mut Local) -> Option<(Validator, Vec<Report>)> {
        #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
        if PENDING.load(Ordering::Acquire) != 0 {
            return drain_posted(l);
        }
        let _ = l;
        None
    }

    #[cfg(all(any(feature = "send_guard", feature = "tokio"), not(lockdep_off)))]
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
                    } else if let Some(i) = l.stale.iter().position(|o| *o == instance) {
                        l.stale.remove(i);
                    } else {
                        // Taken beyond the depth limit, untracked.
                        l.state.unskip(instance);
                    }
                }
                Message::Mode(instance, mode, site) => {
                    l.validator
                        .set_mode_at(&mut l.state, instance, mode, site_of(site));
                }
            }
        }
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    }
}

/// Reports and the validator that dispatches them.
type ToDispatch = (Validator, Vec<Report>);

/// The reports of what a hook drained from the thread's inbox, which happened first, and its
/// own: one dispatch (both come from the thread's validator).
fn drained_first(drained: Option<ToDispatch>, own: Option<ToDispatch>) -> Option<ToDispatch> {
    match (drained, own) {
        (Some((v, mut first)), Some((_, then))) => {
            first.extend(then);
            Some((v, first))
        }
        (drained, own) => drained.or(own),
    }
}

/// Reports waiting to be dispatched once every thread-local borrow has ended.
#[must_use]
pub(crate) struct Pending(Option<(Validator, Vec<Report>)>);

impl Pending {
    pub(crate) const NONE: Pending = Pending(None);

    #[inline]
    pub(crate) fn dispatch(self) {
        if let Some((v, reports)) = self.0 {
            dispatch_cold(v, reports);
        }
    }

    /// Dispatches the reports with `undo` armed: if the dispatch unwinds (panic mode, a
    /// callback that panics), `undo(guard)` takes back what the hook left that no guard will
    /// (a raw-trait trylock's acquisition, whose caller has no guard value yet; an acquisition
    /// recorded before its lock was taken); else `guard` is returned.
    #[inline(always)]
    pub(crate) fn dispatch_or_undo<G>(self, guard: G, undo: impl FnOnce(G)) -> G {
        match self.0 {
            None => guard,
            Some((v, reports)) => dispatch_or_undo_cold(v, reports, guard, undo),
        }
    }
}

#[cold]
#[inline(never)]
fn dispatch_cold(v: Validator, reports: Vec<Report>) {
    v.dispatch(reports);
}

#[cold]
#[inline(never)]
fn dispatch_or_undo_cold<G, F: FnOnce(G)>(
    v: Validator,
    reports: Vec<Report>,
    guard: G,
    undo: F,
) -> G {
    /// Runs the undo it holds when dropped still armed: while the dispatch unwinds.
    struct UndoOnUnwind<G, F: FnOnce(G)>(Option<(G, F)>);
    impl<G, F: FnOnce(G)> Drop for UndoOnUnwind<G, F> {
        fn drop(&mut self) {
            if let Some((guard, undo)) = self.0.take() {
                undo(guard);
            }
        }
    }
    let mut armed = UndoOnUnwind(Some((guard, undo)));
    v.dispatch(reports);
    match armed.0.take() {
        Some((guard, _)) => guard,
        None => unreachable!("disarmed only here"),
    }
}

/// The reports of a release, dispatched once the raw lock is released
/// ([`on_release_later`]). Boxed: one word to carry past the unlock, allocated only for reports.
/// Never dropped but by `dispatch` (a raw unlock that unwinds would leak them): without drop
/// glue, the release path needs no landing pad and stays small enough to inline.
#[must_use = "dispatch the reports after releasing the raw lock"]
pub(crate) struct Released(ManuallyDrop<Option<BoxedReports>>);

type BoxedReports = Box<ToDispatch>;

impl Released {
    pub(crate) const NONE: Released = Released(ManuallyDrop::new(None));

    #[inline(always)]
    pub(crate) fn dispatch(self) {
        if let Some(pending) = ManuallyDrop::into_inner(self.0) {
            dispatch_boxed(pending);
        }
    }

    /// Whether the release has something to report (a bad unlock among others): the one case
    /// where the caller checks the lock word before unlocking it.
    #[inline(always)]
    pub(crate) fn has_reports(&self) -> bool {
        self.0.is_some()
    }

    /// Dispatches the reports of a release whose lock stays taken for now (a condvar wait
    /// records the release before it sleeps): if a report unwinds, the caller's guard still
    /// releases the lock, so `undo` records it as held again first.
    #[inline(always)]
    pub(crate) fn dispatch_or_undo(self, undo: impl FnOnce()) {
        if let Some(pending) = ManuallyDrop::into_inner(self.0) {
            let (v, reports) = *pending;
            dispatch_or_undo_cold(v, reports, (), |()| undo());
        }
    }
}

#[cold]
#[inline(never)]
#[allow(clippy::boxed_local)] // unboxed here, not in the inlined release path
fn dispatch_boxed(pending: BoxedReports) {
    let (v, reports) = *pending;
    v.dispatch(reports);
}

/// The per-lock data lockdep needs: how to find the class, and a cache of it.
///
/// Embedded in every lock; `const`-constructible so locks can be `static`. Zero-sized under the
/// compiled-out build. Two words on 64-bit x86-64 and AArch64 (the class cache and a descriptor
/// word, with what else the lock was built with packed into their unused address bits until its
/// first resolution), four on other targets and with the `portable-layout` feature
/// (`docs/performance.md`, "Per-lock size").
#[derive(Debug)]
pub struct LockMap {
    #[cfg(not(lockdep_off))]
    words: words::Words,
}

/// The bytes a one-byte raw lock leaves before the next [`LockMap`]-aligned field, as zeros.
/// Building such a lock then writes whole words, and the raw lock's word merges with a zero
/// value after it into one 16-byte store (left as padding, it is a byte store of its own: four
/// stores per `Mutex::new(0u64)` instead of three, `docs/performance.md`, "Per-lock size").
/// Empty when validation is compiled out.
#[derive(Debug)]
#[allow(dead_code)] // written, never read
pub(crate) struct ZeroPad([u8; align_of::<LockMap>() - 1]);

impl ZeroPad {
    pub(crate) const NEW: ZeroPad = ZeroPad([0; align_of::<LockMap>() - 1]);
}

/// How a lock was built, before [`LockMap`] packs it: its site, label and flags.
///
/// The wrappers build one with [`LockMap::spec`], refine it (`of`, `by_default`, `part`) and
/// finish it with [`build`](MapSpec::build): a `LockMap` cannot be refined once packed, as
/// `const` code cannot read back the bits it added to a pointer.
#[derive(Clone, Copy)]
pub(crate) struct MapSpec {
    #[cfg(not(lockdep_off))]
    described: Described,
}

/// How a lookup of a lock's class came about: an acquisition at a site (`None` when no site is
/// known, as for a condvar's re-acquisition) may fix the class of a lock built outside the
/// user's code; a lookup (a release, a name) never does.
#[derive(Clone, Copy)]
#[cfg_attr(lockdep_off, allow(dead_code))]
pub(crate) enum Use {
    Acquire(Option<&'static Location<'static>>),
    Lookup,
}

// What only the validating build's `LockMap` uses, referenced so the compiled-out build stays
// warning-free.
#[cfg(lockdep_off)]
const _: fn(&str, u32, u32) -> Arc<str> = crate::class::site_name;
#[cfg(lockdep_off)]
const _: fn(&Site) -> String = crate::class::site_class_name;
#[cfg(lockdep_off)]
const _: fn(&Validator) -> u32 = Validator::generation;
#[cfg(lockdep_off)]
const _: fn(&str) -> bool = crate::class::sysroot_file;

#[cfg(lockdep_off)]
impl MapSpec {
    /// The map of a lock protecting a `T` (holds nothing; `T` is kept for the callers, which
    /// both builds share).
    #[inline(always)]
    #[allow(clippy::extra_unused_type_parameters)]
    pub(crate) const fn of<T: ?Sized>(self) -> Self {
        self
    }

    /// The map of a lock built by `Default::default()` (holds nothing).
    #[inline(always)]
    pub(crate) const fn by_default(self) -> Self {
        self
    }

    /// The map of a lock built by `Deserialize` (holds nothing).
    #[inline(always)]
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) const fn by_deserialize(self) -> Self {
        self
    }

    /// The map of the spin lock embedded in a `SeqLock` (holds nothing).
    #[inline(always)]
    pub(crate) const fn part(self) -> Self {
        self
    }

    /// The map (holds nothing).
    #[inline(always)]
    pub(crate) const fn build(self) -> LockMap {
        LockMap {}
    }
}

#[cfg(lockdep_off)]
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

    /// How a lock built at `site` is described (holds nothing).
    #[inline(always)]
    pub(crate) const fn spec(
        _site: &'static Location<'static>,
        _name: Option<&'static str>,
        _key: Option<&'static ClassKey>,
    ) -> MapSpec {
        MapSpec {}
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
    fn class_checked(
        &self,
        _v: &Validator,
        _kind: LockKind,
        _subclass: u32,
        _site: Option<&'static Location<'static>>,
    ) -> Result<ClassId, Option<Arc<str>>> {
        Err(None)
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

/// What a lock is labelled with: the user's name, its `ClassKey`, the type of its data, or
/// nothing. A named or keyed lock's class does not depend on its data type (the name or key is
/// the user's choice of class), so a lock has one of the three.
#[cfg(not(lockdep_off))]
#[derive(Clone, Copy, Debug)]
enum Label {
    None,
    Name(&'static str),
    Key(&'static ClassKey),
    Type(fn() -> &'static str),
}

/// How a lock was built: where, its label, by what (`BUILT_*`), and whether it is the spin lock
/// of a `SeqLock` (its class is then the outer class's `.lock` part).
#[cfg(not(lockdep_off))]
#[derive(Clone, Copy, Debug)]
struct Described {
    site: &'static Location<'static>,
    label: Label,
    built: usize,
    part: bool,
}

#[cfg(not(lockdep_off))]
const BUILT_AT_SITE: usize = 0;
#[cfg(not(lockdep_off))]
const BUILT_BY_DEFAULT: usize = 1;
#[cfg(not(lockdep_off))]
const BUILT_BY_RAW_INIT: usize = 2;
#[cfg(not(lockdep_off))]
const BUILT_BY_DESERIALIZE: usize = 3;

#[cfg(not(lockdep_off))]
impl Described {
    /// The user's name, if the lock has one.
    fn name(&self) -> Option<&'static str> {
        match self.label {
            Label::Name(n) => Some(n),
            _ => None,
        }
    }

    /// A keyed lock's key.
    fn class_key(&self) -> Option<&'static ClassKey> {
        match self.label {
            Label::Key(k) => Some(k),
            _ => None,
        }
    }

    fn type_name(&self) -> Option<&'static str> {
        match self.label {
            Label::Type(f) => Some(f()),
            _ => None,
        }
    }

    fn part(&self) -> Option<&'static str> {
        self.part.then_some(crate::seqlock::SEQLOCK_LOCK_PART)
    }

    /// Why this lock's construction site is not the user's code (so its class is refined), or
    /// `None`: named and keyed locks are the user's choice, whatever their site.
    fn not_user_code(&self) -> Option<NotUserCode> {
        if !matches!(self.label, Label::None | Label::Type(_)) {
            return None;
        }
        match self.built {
            BUILT_BY_RAW_INIT => Some(NotUserCode::RawLock),
            _ if sysroot_file(self.site.file()) => Some(NotUserCode::Std),
            BUILT_BY_DEFAULT => Some(NotUserCode::Default),
            BUILT_BY_DESERIALIZE => Some(NotUserCode::Deserialize),
            _ => None,
        }
    }

    /// What identifies a record of this description and first use (addresses, as interned).
    fn record_key(&self, first: Option<&'static Location<'static>>) -> RecordKey {
        let (kind, addr, len) = match self.label {
            Label::None => (0, 0, 0),
            Label::Name(n) => (1, n.as_ptr().addr(), n.len()),
            Label::Key(k) => (2, std::ptr::from_ref(k).addr(), 0),
            Label::Type(f) => (3, f as usize, 0),
        };
        RecordKey {
            site: std::ptr::from_ref(self.site).addr(),
            label: (kind, addr, len),
            flags: self.built | (self.part as usize) << 2,
            first: first.map_or(0, |f| std::ptr::from_ref(f).addr()),
            built_ty: 0,
        }
    }
}

/// What a lock's first resolution made of it: how it was built and, for a lock built outside
/// the user's code, its first acquisition. Interned (one per distinct description and first
/// site, so bounded by the program's sites, names and types), except for a lock whose class is
/// its own (`FirstUse::Instance`), which has one of its own, as it has a class of its own.
#[cfg(not(lockdep_off))]
#[derive(Debug)]
struct Record {
    described: Described,
    first: Option<FirstUse>,
    // The data type a raw lock's builder named (`BuiltAt`: the parking_lot 0.12 compat crate's
    // lock_api), for a lock whose own description has none.
    built_ty: Option<&'static str>,
    // `described.not_user_code()`, answered once (it searches the site's file name).
    why: Option<NotUserCode>,
    // The first acquisition's site is in the standard library, answered once too. Such a record
    // is only this answer, never a lock's: its locks get classes of their own.
    first_in_std: bool,
    // The class word of subclass 0 that the last lock of this record to resolve found (as a
    // lock's cache, 0 if none): a new lock of a known record takes it instead of looking its key
    // up. The class of a record's key is the same for every lock of the record.
    class: AtomicU64,
}

/// The first acquisition of a lock built outside the user's code.
#[cfg(not(lockdep_off))]
#[derive(Clone, Copy, Debug)]
enum FirstUse {
    /// At this site of the user's code.
    Site(&'static Location<'static>),
    /// Outside the user's code (or through the raw traits): the lock's own class, this number.
    Instance(u64),
}

#[cfg(not(lockdep_off))]
#[derive(PartialEq, Eq, Hash)]
struct RecordKey {
    site: usize,
    label: (u8, usize, usize),
    flags: usize,
    first: usize,
    built_ty: usize,
}

/// The interned [`Record`]s.
#[cfg(not(lockdep_off))]
type Records = std::collections::HashMap<
    RecordKey,
    &'static Record,
    std::hash::BuildHasherDefault<RecordHasher>,
>;
#[cfg(not(lockdep_off))]
static RECORDS: parking_lot::Mutex<Option<Records>> = parking_lot::Mutex::new(None);

/// Hashes a [`RecordKey`] (addresses and small numbers): a multiply per word, the top half
/// folded onto the bottom one (the table indexes by the low bits).
#[cfg(not(lockdep_off))]
#[derive(Default)]
struct RecordHasher(u64);

#[cfg(not(lockdep_off))]
impl std::hash::Hasher for RecordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

#[cfg(not(lockdep_off))]
fn intern_record(
    described: Described,
    first: Option<&'static Location<'static>>,
    built_ty: Option<&'static str>,
) -> &'static Record {
    let mut key = described.record_key(first);
    key.built_ty = built_ty.map_or(0, |t| t.as_ptr().addr());
    let mut records = RECORDS.lock();
    records
        .get_or_insert_with(Default::default)
        .entry(key)
        .or_insert_with(|| {
            Box::leak(Box::new(Record {
                described,
                first: first.map(FirstUse::Site),
                built_ty,
                why: described.not_user_code(),
                first_in_std: first.is_some_and(|f| sysroot_file(f.file())),
                class: AtomicU64::new(0),
            }))
        })
}

/// Numbers the locks that get a class of their own.
#[cfg(not(lockdep_off))]
static SERIALS: AtomicUsize = AtomicUsize::new(1);

/// A lock's descriptor word, read: how it was built (before its first resolution) or its
/// [`Record`].
#[cfg(not(lockdep_off))]
enum Desc {
    Pre(Described),
    Record(&'static Record),
}

// The descriptor word's tag (its low bit; what it points to is aligned to at least 2):
// `DESC_PRE`, the construction `Location` (the packed layout adds flags, see `words`), until the
// lock's first resolution; from then on `DESC_RECORD`, its `&'static Record`, set once by a
// compare-exchange.
#[cfg(not(lockdep_off))]
const DESC_PRE: usize = 0;
#[cfg(not(lockdep_off))]
const DESC_RECORD: usize = 1;

#[cfg(not(lockdep_off))]
const _: () =
    assert!(align_of::<Location<'static>>() > DESC_RECORD && align_of::<Record>() > DESC_RECORD);

/// Class words of these generations may be cached and looked up: 1 to 2^23 − 1. Until a lock's
/// first resolution, the packed layout keeps its cache word 0 or with bit 55 set (see `words`),
/// so no class word of a cacheable generation (never 0, bits 55–63 clear) can equal it, not even
/// in its low 59 bits, which are what the chain hash sees besides mode and kind: a thread whose
/// validator has another generation takes the full path only (its steady gate stays closed),
/// and `LockMap::class` does not read the cache.
#[inline(always)]
fn cacheable(generation: u32) -> bool {
    generation.wrapping_sub(1) < (1 << 23) - 1
}

/// [`LockMap`]'s words on 64-bit x86-64 and AArch64: two.
///
/// - `cache`: the class word (`(generation << 32) | class id` of subclass 0, as an address
///   without provenance), the one word the steady state reads. Before the first resolution:
///   null for a lock with no label, or the label's pointer (`type_name` function, `ClassKey`,
///   name) with bit 55 set (`MARK`), bit 54 for a key or name (`LABELLED`) and bits 1–6 of a
///   name's length in bits 48–53. Bit 55 set or the word 0 means no class word of a cacheable
///   generation (see [`cacheable`]).
/// - `desc`: the tagged descriptor word. `DESC_PRE`: the construction `Location` (aligned to 8),
///   with bits 1–2 the `BUILT_*` flag (no label or a type) or a key/name bit (bit 1) and bit 0
///   of a name's length (bit 2), bit 48 the `SeqLock` part flag and bits 49–55 bits 7–13 of a
///   name's length. `DESC_RECORD`: the lock's [`Record`].
///
/// The packing assumes that bits 48–55 of these pointers are clear, which `const` code cannot
/// check (it cannot see addresses): true for every user-space address on these targets with
/// 48-bit virtual addresses (x86-64 4-level paging; AArch64 Linux, Android, macOS, iOS and
/// Windows), where a top byte set by AArch64 tagging (Android's heap, MTE) is kept as is. It
/// would not hold for memory mapped above 2^48 on purpose (x86-64 5-level paging or AArch64
/// 52-bit addresses, which Linux gives only to an `mmap` asking for such an address): such a
/// program enables the `portable-layout` feature. On other targets, and with that feature, the
/// portable layout stores the label whole.
#[cfg(all(
    not(lockdep_off),
    not(feature = "portable-layout"),
    target_pointer_width = "64",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod words {
    use super::{BUILT_AT_SITE, DESC_PRE, DESC_RECORD, Desc, Described, Label, MapSpec, Record};
    use std::panic::Location;
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The bits packed into a pointer: 48–55.
    const HIGH: usize = 0xFF << 48;
    /// The low bits of the descriptor word (a `Location` is aligned to 8).
    const LOW: usize = 7;
    const MARK: usize = 1 << 55;
    const LABELLED: usize = 1 << 54;
    const NAMED: usize = 1 << 1;
    const PART: usize = 1 << 48;
    /// The longest name the two words can describe (14 bits of length).
    pub(super) const MAX_NAME_LEN: usize = (1 << 14) - 1;

    const _: () = assert!(align_of::<Location<'static>>() > LOW && align_of::<Record>() > LOW);

    // The class cache second: at offset 0 of the map, LLVM allocated the registers of a loop
    // taking several locks less well (a spilled pointer, `docs/performance.md`).
    #[derive(Debug)]
    pub(super) struct Words {
        desc: AtomicPtr<()>,
        cache: AtomicPtr<()>,
    }

    impl Words {
        #[inline]
        pub(super) const fn new(spec: &MapSpec) -> Words {
            let d = &spec.described;
            let site = ptr::from_ref(d.site).cast::<()>().cast_mut();
            let part = if d.part { PART } else { 0 };
            let (bits, cache) = match d.label {
                Label::None => (d.built << 1, ptr::null_mut()),
                Label::Type(f) => (
                    d.built << 1,
                    (f as *const ()).cast_mut().wrapping_byte_add(MARK),
                ),
                Label::Key(k) => (
                    0,
                    ptr::from_ref(k)
                        .cast::<()>()
                        .cast_mut()
                        .wrapping_byte_add(MARK | LABELLED),
                ),
                Label::Name(n) => {
                    let len = n.len();
                    assert!(len <= MAX_NAME_LEN, "lock name too long");
                    (
                        NAMED | (len & 1) << 2 | (len >> 7) << 49,
                        n.as_ptr()
                            .cast::<()>()
                            .cast_mut()
                            .wrapping_byte_add(MARK | LABELLED | ((len >> 1) & 0x3F) << 48),
                    )
                }
            };
            Words {
                cache: AtomicPtr::new(cache),
                desc: AtomicPtr::new(site.wrapping_byte_add(DESC_PRE | bits | part)),
            }
        }

        /// The class word, one load.
        #[inline(always)]
        pub(super) fn cached_word(&self) -> u64 {
            self.cache.load(Ordering::Relaxed).addr() as u64
        }

        /// Caches a class word; only once the lock has its record (the word it replaces then
        /// describes nothing any more).
        #[inline]
        pub(super) fn store_class(&self, word: u64) {
            self.cache.store(
                ptr::without_provenance_mut(word as usize),
                Ordering::Release,
            );
        }

        /// The descriptor word, read.
        pub(super) fn desc(&self) -> Desc {
            // The cache first: a class word is stored in it only after the record was published
            // (`store_class`, release), so a descriptor read after it (acquire) is the record.
            // A pre-resolution descriptor therefore comes with the cache's pre-resolution word.
            let c = self.cache.load(Ordering::Acquire);
            let d = self.desc.load(Ordering::Acquire);
            if d.addr() & DESC_RECORD != 0 {
                // SAFETY: a `DESC_RECORD` word is a `&'static Record` with the tag added
                // (`publish`).
                return Desc::Record(unsafe { &*d.map_addr(|a| a & !DESC_RECORD).cast() });
            }
            let bits = d.addr() & (LOW | HIGH);
            // SAFETY: a `DESC_PRE` word is the construction `&'static Location` with bits in
            // `LOW | HIGH` added (`new`), which were clear in it (see the module's doc).
            let site = unsafe {
                &*d.map_addr(|a| a & !(LOW | HIGH))
                    .cast::<Location<'static>>()
            };
            let ptr = c.map_addr(|a| a & !HIGH);
            let (label, built) = if c.addr() & MARK == 0 {
                (Label::None, (bits >> 1) & 3)
            } else if c.addr() & LABELLED == 0 {
                // SAFETY: `MARK` without `LABELLED` is the `type_name` function given to `new`,
                // its bits 48–55 cleared again.
                let f = unsafe { std::mem::transmute::<*mut (), fn() -> &'static str>(ptr) };
                (Label::Type(f), (bits >> 1) & 3)
            } else if bits & NAMED == 0 {
                // SAFETY: `LABELLED` without `NAMED` is the `&'static ClassKey` given to `new`.
                (Label::Key(unsafe { &*ptr.cast() }), BUILT_AT_SITE)
            } else {
                let len =
                    (bits >> 2) & 1 | ((c.addr() >> 48) & 0x3F) << 1 | ((bits >> 49) & 0x7F) << 7;
                // SAFETY: `LABELLED` with `NAMED` is the first byte of the `&'static str` given to
                // `new`, and `len` its length, as split there; it is valid UTF-8.
                let name = unsafe {
                    std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr.cast::<u8>(), len))
                };
                (Label::Name(name), BUILT_AT_SITE)
            };
            Desc::Pre(Described {
                site,
                label,
                built,
                part: bits & PART != 0,
            })
        }

        /// Replaces the pre-resolution descriptor by `record`, or returns the record another
        /// thread published first.
        pub(super) fn publish(&self, record: &'static Record) -> Result<(), &'static Record> {
            let new = ptr::from_ref(record)
                .cast::<()>()
                .cast_mut()
                .map_addr(|a| a | DESC_RECORD);
            let mut old = self.desc.load(Ordering::Acquire);
            loop {
                if old.addr() & DESC_RECORD != 0 {
                    // SAFETY: as in `desc`.
                    return Err(unsafe { &*old.map_addr(|a| a & !DESC_RECORD).cast() });
                }
                match self
                    .desc
                    .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return Ok(()),
                    Err(current) => old = current,
                }
            }
        }
    }
}

/// [`LockMap`]'s words on other targets, and with the `portable-layout` feature: four. `cache` is the class word (0 before the first
/// resolution), `desc` the tagged descriptor word (`DESC_PRE`: the construction `Location`;
/// `DESC_RECORD`: the lock's [`Record`]), `label` the name's first byte, the `ClassKey`, the
/// `type_name` function or null, and `meta` the label's kind, the flags and a name's length.
#[cfg(all(
    not(lockdep_off),
    not(all(
        not(feature = "portable-layout"),
        target_pointer_width = "64",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))
))]
mod words {
    use super::{DESC_PRE, DESC_RECORD, Desc, Described, Label, MapSpec, Record};
    use std::panic::Location;
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

    // `meta`: the label's kind in the top two bits, the part flag and `BUILT_*` below them, a
    // name's length in the rest.
    const KIND_SHIFT: u32 = usize::BITS - 2;
    const PART: usize = 1 << (usize::BITS - 3);
    const BUILT_SHIFT: u32 = usize::BITS - 5;
    const LEN: usize = (1 << BUILT_SHIFT) - 1;
    pub(super) const MAX_NAME_LEN: usize = LEN;
    const NONE: usize = 0;
    const NAME: usize = 1;
    const KEY: usize = 2;
    const TYPE: usize = 3;

    #[derive(Debug)]
    pub(super) struct Words {
        cache: AtomicU64,
        desc: AtomicPtr<()>,
        // Never changed after construction (atomic only to keep `LockMap` `Sync` without
        // `unsafe`).
        label: AtomicPtr<()>,
        meta: usize,
    }

    impl Words {
        #[inline]
        pub(super) const fn new(spec: &MapSpec) -> Words {
            let d = &spec.described;
            let (kind, label, len) = match d.label {
                Label::None => (NONE, ptr::null_mut(), 0),
                Label::Name(n) => {
                    assert!(n.len() <= MAX_NAME_LEN, "lock name too long");
                    (NAME, n.as_ptr().cast::<()>().cast_mut(), n.len())
                }
                Label::Key(k) => (KEY, ptr::from_ref(k).cast::<()>().cast_mut(), 0),
                Label::Type(f) => (TYPE, (f as *const ()).cast_mut(), 0),
            };
            let part = if d.part { PART } else { 0 };
            Words {
                cache: AtomicU64::new(0),
                desc: AtomicPtr::new(ptr::from_ref(d.site).cast::<()>().cast_mut()),
                label: AtomicPtr::new(label),
                meta: kind << KIND_SHIFT | part | d.built << BUILT_SHIFT | len,
            }
        }

        #[inline(always)]
        pub(super) fn cached_word(&self) -> u64 {
            self.cache.load(Ordering::Relaxed)
        }

        #[inline]
        pub(super) fn store_class(&self, word: u64) {
            self.cache.store(word, Ordering::Relaxed);
        }

        pub(super) fn desc(&self) -> Desc {
            let d = self.desc.load(Ordering::Acquire);
            if d.addr() & DESC_RECORD != 0 {
                // SAFETY: a `DESC_RECORD` word is a `&'static Record` with the tag added
                // (`publish`).
                return Desc::Record(unsafe { &*d.map_addr(|a| a & !DESC_RECORD).cast() });
            }
            debug_assert_eq!(d.addr() & DESC_RECORD, DESC_PRE);
            // SAFETY: a `DESC_PRE` word is the construction `&'static Location` (`new`).
            let site = unsafe { &*d.cast::<Location<'static>>() };
            let p = self.label.load(Ordering::Relaxed);
            let label = match self.meta >> KIND_SHIFT {
                NAME => {
                    // SAFETY: the first byte and length of the `&'static str` given to `new`,
                    // never changed since; it is valid UTF-8.
                    Label::Name(unsafe {
                        std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                            p.cast::<u8>(),
                            self.meta & LEN,
                        ))
                    })
                }
                // SAFETY: the `&'static ClassKey` given to `new`.
                KEY => Label::Key(unsafe { &*p.cast() }),
                // SAFETY: the `type_name` function given to `new`.
                TYPE => {
                    Label::Type(unsafe { std::mem::transmute::<*mut (), fn() -> &'static str>(p) })
                }
                _ => Label::None,
            };
            Desc::Pre(Described {
                site,
                label,
                built: (self.meta >> BUILT_SHIFT) & 3,
                part: self.meta & PART != 0,
            })
        }

        pub(super) fn publish(&self, record: &'static Record) -> Result<(), &'static Record> {
            let new = ptr::from_ref(record)
                .cast::<()>()
                .cast_mut()
                .map_addr(|a| a | DESC_RECORD);
            let mut old = self.desc.load(Ordering::Acquire);
            loop {
                if old.addr() & DESC_RECORD != 0 {
                    // SAFETY: as in `desc`.
                    return Err(unsafe { &*old.map_addr(|a| a & !DESC_RECORD).cast() });
                }
                match self
                    .desc
                    .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return Ok(()),
                    Err(current) => old = current,
                }
            }
        }
    }
}

#[cfg(not(lockdep_off))]
impl MapSpec {
    /// The map of a lock protecting a `T`: one site in generic code makes a class per type, and
    /// a lock built outside the user's code is told apart by it. A named or keyed lock's class
    /// is its name or key, whatever `T`.
    #[inline]
    pub(crate) const fn of<T: ?Sized>(mut self) -> Self {
        if matches!(self.described.label, Label::None) {
            self.described.label = Label::Type(std::any::type_name::<T>);
        }
        self
    }

    /// The map of a lock built by `Default::default()`, whose site a `#[derive(Default)]`
    /// shares between all fields of a struct.
    #[inline]
    pub(crate) const fn by_default(mut self) -> Self {
        self.described.built = BUILT_BY_DEFAULT;
        self
    }

    /// The map of a lock built by `Deserialize`, whose site a `#[derive(Deserialize)]` shares
    /// between all fields of a struct.
    #[inline]
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) const fn by_deserialize(mut self) -> Self {
        self.described.built = BUILT_BY_DESERIALIZE;
        self
    }

    /// The map of the spin lock embedded in a `SeqLock`: a class of its own per outer class,
    /// printed `outer.lock` ([`SEQLOCK_LOCK_PART`]).
    ///
    /// [`SEQLOCK_LOCK_PART`]: crate::SEQLOCK_LOCK_PART
    #[inline]
    pub(crate) const fn part(mut self) -> Self {
        self.described.part = true;
        self
    }

    /// The map. A named or keyed lock is the user's code whatever built it, so its `BUILT_*`
    /// flag is dropped (the packed layout has no room for it).
    #[inline]
    pub(crate) const fn build(mut self) -> LockMap {
        if !matches!(self.described.label, Label::None | Label::Type(_)) {
            self.described.built = BUILT_AT_SITE;
        }
        LockMap {
            words: words::Words::new(&self),
        }
    }
}

#[cfg(not(lockdep_off))]
impl LockMap {
    /// A map for a lock built at `site`, optionally named or keyed.
    ///
    /// # Panics
    ///
    /// If `name` is longer than 16,383 bytes in the two-word layout (64-bit x86-64 and AArch64
    /// without the `portable-layout` feature), which packs its length into 14 bits.
    #[inline]
    pub const fn new(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        key: Option<&'static ClassKey>,
    ) -> Self {
        LockMap::spec(site, name, key).build()
    }

    /// How a lock built at `site`, optionally named or keyed, is described, to refine before
    /// [`MapSpec::build`].
    #[inline]
    pub(crate) const fn spec(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        key: Option<&'static ClassKey>,
    ) -> MapSpec {
        let label = match (key, name) {
            (Some(k), _) => Label::Key(k),
            (None, Some(n)) => Label::Name(n),
            (None, None) => Label::None,
        };
        MapSpec {
            described: Described {
                site,
                label,
                built: BUILT_AT_SITE,
                part: false,
            },
        }
    }

    /// The map of a raw lock's `INIT` (`lock_api::Mutex<lockdep::RawMutex, _>`), which cannot
    /// see who builds it.
    #[inline]
    pub(crate) const fn raw_init() -> Self {
        let mut spec = LockMap::spec(Location::caller(), None, None);
        spec.described.built = BUILT_BY_RAW_INIT;
        spec.build()
    }

    /// Whether the lock has been resolved once (its description became a record).
    #[cfg(not(lockdep_off))]
    pub(crate) fn has_record(&self) -> bool {
        matches!(self.words.desc(), Desc::Record(_))
    }

    /// Where the lock was built.
    pub fn init_site(&self) -> &'static Location<'static> {
        match self.words.desc() {
            Desc::Pre(d) => d.site,
            Desc::Record(r) => r.described.site,
        }
    }

    /// The lock's record, made at its first resolution; `None` for a lock built outside the
    /// user's code before its first acquisition (when `at` is only a lookup).
    fn record(&self, at: Use) -> Option<&'static Record> {
        let described = match self.words.desc() {
            Desc::Record(r) => return Some(r),
            Desc::Pre(d) => d,
        };
        // The record of the description alone, made once with the answer to `not_user_code`: a
        // lock built in the user's code takes it as it is.
        let built = intern_record(described, None, None);
        let (record, own) = match built.why {
            None => (built, None),
            Some(_) => {
                let Use::Acquire(site) = at else {
                    return None;
                };
                // A raw-built lock whose builder published where it was built and its data type
                // (the parking_lot 0.12 compat crate's lock_api): keyed by them, as a lock of
                // this crate built there, not by where it happens to be first taken.
                // A builder that knows the type only (lock_api's `Default`) still names it: the
                // class is then the first acquisition's site and that type.
                let raw_built = (described.built == BUILT_BY_RAW_INIT)
                    .then(crate::mutex::raw_built_site)
                    .flatten();
                let built_ty = raw_built.map(|(_, ty)| ty);
                let built_at = raw_built
                    .and_then(|(at, _)| at)
                    .filter(|s| !sysroot_file(s.file()));
                let first = match built_at {
                    Some(at) => Some(intern_record(
                        Described {
                            site: at,
                            ..described
                        },
                        Some(at),
                        built_ty,
                    )),
                    None => site.map(|s| intern_record(described, Some(s), built_ty)),
                };
                match first.filter(|r| !r.first_in_std) {
                    Some(first) => (first, None),
                    None => {
                        let serial = SERIALS.fetch_add(1, Ordering::Relaxed) as u64;
                        let own = Box::into_raw(Box::new(Record {
                            described,
                            first: Some(FirstUse::Instance(serial)),
                            built_ty: None,
                            why: described.not_user_code(),
                            first_in_std: false,
                            class: AtomicU64::new(0),
                        }));
                        // SAFETY: `own` is a live allocation (`Box::into_raw`), freed below only
                        // if it is never published.
                        (unsafe { &*own }, Some(own))
                    }
                }
            }
        };
        match self.words.publish(record) {
            Ok(()) => Some(record),
            Err(current) => {
                if let Some(own) = own {
                    // SAFETY: `own` came from `Box::into_raw` above and was never published (the
                    // exchange failed); the reference made from it is not used again.
                    drop(unsafe { Box::from_raw(own) });
                }
                Some(current)
            }
        }
    }

    /// The key that decides this lock's class and what it stands for; `None` for a lock built
    /// outside the user's code before its first acquisition (when `at` is only a lookup).
    fn key(&self, at: Use) -> Option<(KeySource, ClassOrigin)> {
        self.record(at).map(LockMap::key_of)
    }

    /// The key of a lock with `record`, and what it stands for.
    fn key_of(record: &Record) -> (KeySource, ClassOrigin) {
        let d = &record.described;
        let ty = d.type_name().or(record.built_ty);
        let site = d.site;
        let (outer, origin) = match (d.class_key(), record.why, record.first) {
            (Some(k), _, _) => (
                KeySource::Key(k as *const ClassKey as usize),
                ClassOrigin::Site,
            ),
            (None, None, _) | (None, Some(_), None) => {
                (KeySource::site(site, d.name(), ty), ClassOrigin::Site)
            }
            (None, Some(why), Some(FirstUse::Site(first))) => (
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
            ),
            (None, Some(why), Some(FirstUse::Instance(serial))) => (
                KeySource::Instance(serial),
                ClassOrigin::Instance {
                    why,
                    type_name: ty,
                    serial,
                },
            ),
        };
        let key = match d.part() {
            Some(part) => KeySource::Part(Box::new(outer), part),
            None => outer,
        };
        (key, origin)
    }

    /// The key that decides this lock's class, once it is known (a lock built outside the
    /// user's code has it from its first acquisition on).
    pub fn key_source(&self) -> Option<KeySource> {
        self.key(Use::Lookup).map(|(k, _)| k)
    }

    fn base_name(
        kind: LockKind,
        origin: &ClassOrigin,
        d: &Described,
        ty: Option<&'static str>,
    ) -> Arc<str> {
        let typed = |ty: Option<&str>| match ty {
            Some(t) => format!("{}<{}>", kind.class_prefix(), short_type_name(t)),
            None => kind.class_prefix().to_string(),
        };
        let outer: Arc<str> = match (d.class_key(), d.name(), origin) {
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
            ) => format!("{}@{}", typed(*type_name), site_class_name(first_locked)).into(),
            (
                None,
                None,
                ClassOrigin::Instance {
                    type_name, serial, ..
                },
            ) => format!("{}@instance-{serial}", typed(*type_name)).into(),
            // The kind and data type before the site (`mutex<Cache>@src/lib.rs:38:20`): a
            // report's classes say which lock each is, and the classes one generic site makes
            // per type read apart.
            (None, None, _) => format!(
                "{}@{}",
                typed(ty),
                site_name(d.site.file(), d.site.line(), d.site.column())
            )
            .into(),
        };
        match d.part() {
            Some(part) => format!("{outer}.{part}").into(),
            None => outer,
        }
    }

    /// The class cache of subclass 0: `(validator generation << 32) | class id` as chain keys
    /// hash it (see `held::class_word`); before the lock's first resolution a word that is no
    /// class word of a cacheable generation (see [`cacheable`]). One load.
    #[inline(always)]
    fn cached_word(&self) -> u64 {
        self.words.cached_word()
    }

    #[inline]
    fn class(&self, v: &Validator, kind: LockKind, subclass: u32, at: Use) -> Option<ClassId> {
        if subclass == 0 {
            let (c, generation) = (self.cached_word(), v.generation());
            if cacheable(generation) && (c >> 32) as u32 == generation {
                return Some(ClassId(c as u32));
            }
        }
        self.resolve_reporting(v, kind, subclass, at)
    }

    /// [`class`](Self::class) for an acquisition that handles the class limit itself: `Err`
    /// with the name the class would have when it found no room, `Err(None)` when the
    /// validator is off.
    #[inline]
    fn class_checked(
        &self,
        v: &Validator,
        kind: LockKind,
        subclass: u32,
        site: Option<&'static Location<'static>>,
    ) -> Result<ClassId, Option<Arc<str>>> {
        if subclass == 0 {
            let (c, generation) = (self.cached_word(), v.generation());
            if cacheable(generation) && (c >> 32) as u32 == generation {
                return Ok(ClassId(c as u32));
            }
        }
        self.resolve(v, kind, subclass, Use::Acquire(site))
    }

    #[cold]
    fn resolve_reporting(
        &self,
        v: &Validator,
        kind: LockKind,
        subclass: u32,
        at: Use,
    ) -> Option<ClassId> {
        match self.resolve(v, kind, subclass, at) {
            Ok(id) => Some(id),
            Err(Some(_)) => {
                v.report_class_limit();
                None
            }
            Err(None) => None,
        }
    }

    #[cold]
    fn resolve(
        &self,
        v: &Validator,
        kind: LockKind,
        subclass: u32,
        at: Use,
    ) -> Result<ClassId, Option<Arc<str>>> {
        let record = self.record(at).ok_or(None)?;
        let generation = v.generation();
        let cached = subclass == 0 && cacheable(generation);
        // The lock has its record from here on, so its cache no longer describes it.
        if cached {
            let word = record.class.load(Ordering::Relaxed);
            if (word >> 32) as u32 == generation {
                self.words.store_class(word);
                return Ok(ClassId(word as u32));
            }
        }
        let (key, origin) = LockMap::key_of(record);
        let d = &record.described;
        let ty = d.type_name().or(record.built_ty);
        // A raw lock's `INIT` knows no construction site: its `Location` is `raw_init`'s own
        // line in this file, which must not show as where the class's locks were built.
        let built_at = if d.built == BUILT_BY_RAW_INIT && d.site.file() == file!() {
            Site::Unknown
        } else {
            Site::Code(d.site)
        };
        let id = v
            .try_class_of_origin(
                &key,
                subclass,
                kind,
                built_at,
                &|| LockMap::base_name(kind, &origin, d, ty),
                &origin,
            )
            .map_err(|miss| match miss {
                ClassMiss::Limit => Some(LockMap::base_name(kind, &origin, d, ty)),
                ClassMiss::Off => None,
            })?;
        if cached {
            let word = ((generation as u64) << 32) | id.0 as u64;
            record.class.store(word, Ordering::Relaxed);
            self.words.store_class(word);
        }
        Ok(id)
    }

    /// The class name this lock prints as, in `v`. A lock built outside the user's code that
    /// was never acquired has no class yet: its name then says so.
    pub(crate) fn class_name(&self, v: &Validator, kind: LockKind) -> Option<Arc<str>> {
        match self.class(v, kind, 0, Use::Lookup) {
            Some(id) => {
                // A class registered by asking is announced in the trace, so a replay
                // registers it too (and meets the class limit where the live run did).
                if v.is_recording() {
                    let _ = with_local(|l| v.announce_class(&mut l.state, id, kind));
                }
                v.class_info(id).map(|i| i.display_name)
            }
            None if v.is_enabled() => match self.words.desc() {
                Desc::Pre(d) if d.not_user_code().is_some() => {
                    let ty = d.type_name().map(short_type_name).unwrap_or_default();
                    Some(
                        format!(
                            "{}<{ty}> built at {} (class set by its first lock)",
                            kind.class_prefix(),
                            site_name(d.site.file(), d.site.line(), d.site.column())
                        )
                        .into(),
                    )
                }
                _ => None,
            },
            None => None,
        }
    }
}

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

#[inline]
fn site_of(loc: Option<&'static Location<'static>>) -> Site {
    loc.map_or(Site::Unknown, Site::Code)
}

/// Validates a blocking acquisition before the caller blocks. If the report would unwind, the
/// acquisition is undone first, so the lock is never taken.
// The hooks the wrappers call on every acquisition and release are inlined into them in
// optimised builds. With debug assertions (tests, debug builds) they are calls: inlined, they
// were compiled in the calling crate at its opt-level 0 (about 8x parking_lot per pair of
// locks); out of line they are compiled once, in this crate, which
// `[profile.dev.package.lockdep] opt-level = 3` reaches (docs/performance.md).
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
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
            || l.table,
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
    validate_lock_noted(req, switch, None, false);
}

/// Records the re-acquisition of a lock that is already taken again (a condvar wait's mutex),
/// validated as a blocking acquisition. A report that unwinds leaves it recorded as held: the
/// caller's guard still holds it and releases it while unwinding.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn after_relock(req: Request<'_>) {
    if let Some(switch) = switch_word()
        && !(req.subclass == 0 && req.nest_lock.is_none() && lock_steady(&req, false, switch))
    {
        validate_relock_slow(req, switch);
    }
}

#[cold]
#[inline(never)]
fn validate_relock_slow(req: Request<'_>, switch: u32) {
    validate_lock_noted(req, switch, None, true);
}

/// [`before_lock`] for a `blocking_*` acquisition inside a tracked task's poll, noted for the
/// trace (`"wait":"blocking"`) so replay checks the blocking hazard there too. Always the full
/// path (the note is written with the acquisition, when recording).
#[cfg(feature = "tokio")]
pub(crate) fn before_lock_blocking(req: Request<'_>) {
    if let Some(switch) = switch_word() {
        validate_lock_noted(req, switch, Some(crate::trace::Wait::Blocking), false);
    }
}

#[inline(always)]
fn validate_lock_noted(
    req: Request<'_>,
    switch: u32,
    note: Option<crate::trace::Wait>,
    taken: bool,
) {
    // By value: a reference would keep the request in memory, written on every acquisition.
    let req = &req;
    let Some(((undo, own), drained)) = with_local_synced_drained(switch, |l| {
        // Only while this acquisition is validated: not while its reports are dispatched.
        #[cfg(feature = "tokio")]
        let _noted = note.map(crate::hazard::note);
        #[cfg(not(feature = "tokio"))]
        let _ = note;
        let before = StackMark::of(&l.state);
        let class = match untracked_unless(l, req, false) {
            Ok(class) => class,
            Err(over_limit) => return (before.undo(&l.state, req), over_limit),
        };
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, false) {
            // Known, so no report of its own; one drained from the inbox may still unwind.
            return (before.undo(&l.state, req), None);
        }
        let reports = acquire_tracked(l, req, class, false);
        let undo = before.undo(&l.state, req);
        (
            undo,
            (!reports.is_empty()).then(|| (l.validator.clone(), reports)),
        )
    }) else {
        return;
    };
    let undo = if taken { Undo::Nothing } else { undo };
    dispatch_before_taken(drained_first(drained, own), undo);
}

/// Where a thread's stack stood before an acquisition was recorded, to tell what the
/// acquisition added: an entry on top, a reference to the top entry (a nest lock's merge), or
/// an untracked acquisition (over a limit).
struct StackMark {
    held: usize,
    skipped: usize,
    top_references: Option<u64>,
}

/// What to take back if the acquisition's lock is never taken (its report unwound): released
/// as the lock's guard would have released it, so that a trace recorded meanwhile has the
/// release too and replays to the same stack.
#[derive(Clone, Copy)]
enum Undo {
    Nothing,
    Entry(InstanceId),
    Merged(InstanceId),
    Skipped(InstanceId),
}

impl StackMark {
    fn of(t: &ThreadState) -> Self {
        StackMark {
            held: t.held.len(),
            skipped: t.skipped.len(),
            top_references: t.held.last().map(|h| h.references()),
        }
    }

    /// What the acquisition `req` added to `t` since the mark.
    fn undo(&self, t: &ThreadState, req: &Request<'_>) -> Undo {
        let instance = InstanceId(req.instance as u64);
        let top = t.held.last();
        if t.held.len() == self.held + 1 && top.is_some_and(|h| h.instance() == instance) {
            Undo::Entry(instance)
        } else if t.skipped.len() == self.skipped + 1 && t.skipped.last() == Some(&instance) {
            Undo::Skipped(instance)
        } else if t.held.len() == self.held
            && let (Some(top), Some(before)) = (top, self.top_references)
            && top.references() != before
        {
            Undo::Merged(instance)
        } else {
            Undo::Nothing
        }
    }
}

impl Undo {
    /// Takes the acquisition back from `t`, if it is still where it was put (a report callback
    /// may have taken and released other locks meanwhile).
    fn apply(self, v: &Validator, t: &mut ThreadState) {
        // A release of the top entry, or of a count, re-validates nothing: no reports.
        match self {
            Undo::Nothing => {}
            Undo::Entry(instance) => {
                if t.held.last().is_some_and(|h| h.instance() == instance) {
                    let _ = v.release_at(t, t.held.len() - 1, Site::Unknown);
                }
            }
            Undo::Merged(instance) => {
                if let Some(top) = t.held.last()
                    && top.references() > 1
                {
                    let class = top.class();
                    let _ = v.release(t, instance, Some(class), Site::Unknown);
                }
            }
            Undo::Skipped(instance) => {
                if t.skipped.last() == Some(&instance) {
                    t.skipped.pop();
                    v.record_skipped_release(t, instance);
                }
            }
        }
    }
}

/// Dispatches the reports of an acquisition validated before its lock is taken. A lock whose
/// report unwinds is never taken, so what the acquisition recorded goes too (`undo`) — in panic
/// mode, and when a report callback panics or a report drained from the inbox does. On the
/// thread's current stack as it is, without syncing or draining the inbox (whose reports could
/// not be dispatched while unwinding).
#[inline(always)]
fn dispatch_before_taken(reports: Option<ToDispatch>, undo: Undo) {
    Pending(reports).dispatch_or_undo(undo, |undo| {
        with_local(|l| undo.apply(&l.validator, &mut l.state));
    });
}

/// The class of the lock requested, if its acquisition is to be validated. Otherwise the
/// thread holds a lock it does not validate: over the class limit, recorded as such (its
/// release matched, the limit reported the first time: `Err` carries that report); with the
/// validator off, only noted.
#[allow(clippy::type_complexity)]
fn untracked_unless(
    l: &mut Local,
    req: &Request<'_>,
    trylock: bool,
) -> Result<ClassId, Option<(Validator, Vec<Report>)>> {
    let v = &l.validator;
    let name = if v.is_enabled() {
        match req.map.class_checked(v, req.kind, req.subclass, req.site) {
            Ok(class) => return Ok(class),
            Err(name) => name,
        }
    } else {
        None
    };
    let Some(name) = name else {
        l.state.untracked = true;
        return Err(None);
    };
    Err(over_class_limit(l, req, "acquire", &name, trylock))
}

/// [`Validator::over_class_limit`] for this thread's request.
#[cold]
fn over_class_limit(
    l: &mut Local,
    req: &Request<'_>,
    op: &str,
    name: &str,
    trylock: bool,
) -> Option<(Validator, Vec<Report>)> {
    // Any class id: the acquisition is only written to the trace, under `name`.
    let a = acquire_of(req, ClassId(0), trylock);
    let v = l.validator.clone();
    let reports = v.over_class_limit(&mut l.state, op, name, &a, req.subclass);
    (!reports.is_empty()).then_some((v, reports))
}

/// Records a successful trylock. Dispatch the result after the guard exists, so an unwinding
/// report releases the lock through the guard.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
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
    // What the inbox drained is dispatched with the rest, once the guard exists.
    let Some((pending, drained)) = with_local_synced_drained(switch, |l| {
        let class = match untracked_unless(l, req, true) {
            Ok(class) => class,
            Err(over_limit) => return over_limit,
        };
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, true) {
            return None;
        }
        let reports = acquire_tracked(l, req, class, true);
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    }) else {
        return Pending(None);
    };
    Pending(drained_first(drained, pending))
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
    if l.state.find(instance).is_none()
        && !l.state.holds_merged(class)
        && !l.state.is_skipped(instance)
    {
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

/// Whether a seqcount reader on this thread has nothing to validate, given that its lock has a
/// class ([`reader_gates`]): nothing held and the gate open, or validation off.
#[inline(always)]
pub(crate) fn seq_reader_skips() -> bool {
    cfg!(lockdep_off) || reader_gates::skips()
}

/// Whether the lock has a class word of a cacheable generation (its class is set).
#[inline(always)]
pub(crate) fn has_class(map: &LockMap) -> bool {
    cacheable((map.cached_word() >> 32) as u32)
}

/// A seqcount reader access (lock-free: a thread-local update and a chain lookup). A reader
/// with nothing to validate does not get here (`SeqCount::begin_unvalidated`).
#[inline(always)]
pub(crate) fn seq_read(req: Request<'_>) {
    if let Some(switch) = switch_word()
        && !(req.subclass == 0
            && req.nest_lock.is_none()
            && seq_read_steady(slot_ptr(), req.map, switch))
    {
        // The request's fields one by one: passed whole, it is a struct in memory, and its
        // stores were made before the switch was even read (on every read, validation on or off).
        let Request {
            map,
            instance,
            kind,
            mode,
            subclass,
            nest_lock,
            site,
        } = req;
        validate_seq_read_slow(map, instance, kind, mode, subclass, nest_lock, site, switch);
    }
}

#[inline(always)]
fn seq_read_steady(slot: *const SlotHead, map: &LockMap, switch: u32) -> bool {
    with_steady_local(slot, switch, |l| {
        let word = map.cached_word();
        if l.state.held.is_empty() {
            // At top level a reader has nothing to validate: no dependency, no recursion, and
            // the wait context is open (a non-blocking section keeps the gate closed). Only a
            // class of this validator is needed (the generation in the class word), as a trylock.
            return l.limit > 0 && (word >> 32) as u32 == l.generation;
        }
        // The chain lookup checks the generation too (see `lock_steady_as`).
        l.state.seq_read_steady(l.limit, || l.table, word)
    })
}

#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn validate_seq_read_slow(
    map: &LockMap,
    instance: usize,
    kind: LockKind,
    mode: Mode,
    subclass: u32,
    nest_lock: Option<InstanceId>,
    site: Option<&'static Location<'static>>,
    switch: u32,
) {
    let req = &Request {
        map,
        instance,
        kind,
        mode,
        subclass,
        nest_lock,
        site,
    };
    with_local_synced_batched(switch, |l| {
        let v = &l.validator;
        if !v.is_enabled() {
            return None;
        }
        let class = match req.map.class_checked(v, req.kind, req.subclass, req.site) {
            Ok(class) => class,
            Err(Some(name)) => return over_class_limit(l, req, "seq_read", &name, false),
            Err(None) => return None,
        };
        let reports = v.seq_read(&mut l.state, acquire_of(req, class, false));
        (!reports.is_empty()).then(|| (v.clone(), reports))
    })
    .dispatch();
}

/// Records a release (any order).
#[inline(always)]
pub(crate) fn on_release(map: &LockMap, instance: usize, kind: LockKind) {
    on_release_later(map, instance, kind).dispatch();
}

/// [`on_release`] whose reports the caller dispatches after releasing the raw lock: a report in
/// panic mode must not leave the lock locked for every thread waiting on it. (The bookkeeping
/// itself goes first: once the raw lock is released, another thread may take it and free it.)
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn on_release_later(map: &LockMap, instance: usize, kind: LockKind) -> Released {
    match switch_word() {
        Some(switch) => record_release(map, instance, kind, switch),
        None => Released::NONE,
    }
}

#[inline(always)]
fn record_release(map: &LockMap, instance: usize, kind: LockKind, switch: u32) -> Released {
    if release_steady(slot_ptr(), instance, switch) {
        Released::NONE
    } else {
        record_release_slow(map, InstanceId(instance as u64), kind, switch)
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
fn record_release_slow(
    map: &LockMap,
    instance: InstanceId,
    kind: LockKind,
    switch: u32,
) -> Released {
    let Some((pending, drained)) = with_local_synced_drained(switch, |l| {
        let v = &l.validator;
        // The common case: a lock this thread holds in the current scope.
        let reports = match l.state.find(instance) {
            Some(i) => v.release_at(&mut l.state, i, Site::Unknown),
            None => release_unknown(l, map, instance, kind)?,
        };
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    }) else {
        return Released::NONE;
    };
    Released(ManuallyDrop::new(
        drained_first(drained, pending).map(Box::new),
    ))
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
    // Taken beyond the depth limit (matched here too when the thread is lenient).
    if l.state.unskip(instance) {
        l.validator.record_skipped_release(&mut l.state, instance);
        return None;
    }
    for (_, s) in l.saved.iter_mut().rev() {
        if let Some(i) = s.find(instance) {
            s.held.remove(i);
            return None;
        }
        if s.unskip(instance) {
            return None;
        }
    }
    if let Some(i) = l.orphans.iter().position(|o| *o == instance) {
        l.orphans.swap_remove(i);
        return None;
    }
    if let Some(i) = l.stale.iter().position(|o| *o == instance) {
        l.stale.remove(i); // in order: `cap_stale` drops the oldest
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
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn on_release_by(
    map: &LockMap,
    instance: usize,
    kind: LockKind,
    owner: Owner,
) -> Released {
    if owner.elsewhere() {
        #[cfg(all(feature = "send_guard", not(lockdep_off)))]
        inbox::post(
            owner.thread,
            inbox::Message::Release(InstanceId(instance as u64)),
        );
        Released::NONE
    } else {
        on_release_later(map, instance, kind)
    }
}

/// [`on_mode_change`] for a guard's acquisition, on its owner's stack.
#[inline]
pub(crate) fn on_mode_change_by(
    instance: usize,
    mode: Mode,
    owner: Owner,
    site: Option<&'static Location<'static>>,
) -> Pending {
    if owner.elsewhere() {
        #[cfg(all(feature = "send_guard", not(lockdep_off)))]
        inbox::post(
            owner.thread,
            inbox::Message::Mode(InstanceId(instance as u64), mode, site),
        );
        Pending::NONE
    } else {
        on_mode_change(instance, mode, site)
    }
}

/// Changes the mode of a held lock (downgrade). Returns what was drained from the thread's
/// inbox on the way, to dispatch once the downgraded guard exists (so that a report that
/// unwinds releases it).
#[inline]
pub(crate) fn on_mode_change(
    instance: usize,
    mode: Mode,
    site: Option<&'static Location<'static>>,
) -> Pending {
    with_local_on_batched(|l| {
        l.validator.set_mode_at(
            &mut l.state,
            InstanceId(instance as u64),
            mode,
            site_of(site),
        );
        None
    })
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
        if l.state.untracked || l.state.is_skipped(id) || !l.validator.is_enabled() {
            HeldState::Unknown
        } else {
            HeldState::NotHeld
        }
    });
    found.unwrap_or(HeldState::Unknown)
}

/// A lock consumed (`into_inner`) while this thread still holds it: a guard forgotten
/// (`mem::forget`, `MutexGuard::leak`) or a raw acquisition never released, as code that proves
/// it holds the only reference does (mlua's userdata cells). The lock no longer exists and
/// nothing can wait for it, so its acquisitions leave this thread's stack as releases; left
/// there, they would be reported as held at exit, and a lock built later at the same address
/// as taken twice.
pub(crate) fn on_consumed(map: &LockMap, instance: usize, kind: LockKind) {
    if switch().is_none() {
        return;
    }
    let id = InstanceId(instance as u64);
    if with_local_on(|l| l.state.find(id).is_some()) == Some(true) {
        // A reentrant lock's re-entries are entries of their own; each leaves.
        for _ in 0..MAX_CONSUMED_ENTRIES {
            on_release(map, instance, kind);
            if with_local_on(|l| l.state.find(id).is_some()) != Some(true) {
                break;
            }
        }
        return;
    }
    // Looked up outside the thread's state: resolving a class may need it.
    let Ok(class) = map.class_checked(&current(), kind, 0, None) else {
        return;
    };
    let held_at = with_local_on(|l| {
        // A lock is known by its address, and one whose guard was forgotten may have moved
        // since (`into_inner` takes it by value). Its entry is then the thread's one entry of
        // its class, but only where nothing else could be: validation on all along (nothing
        // untracked or skipped on this stack), no entry of the class in an outer scope, and a
        // plain entry (not merged under a nest lock). Otherwise nothing is released: a lock of
        // its class held elsewhere would have its real release reported as a bad unlock.
        let state = &l.state;
        if state.untracked
            || !state.skipped.is_empty()
            || !l.validator.is_enabled()
            || l.saved
                .iter()
                .any(|(_, s)| s.held.iter().any(|h| h.class() == class))
        {
            return None;
        }
        let mut of_class = state.held.iter().filter(|h| h.class() == class);
        match (of_class.next(), of_class.next()) {
            (Some(h), None) if h.is_plain() => Some(h.instance().0 as usize),
            _ => None,
        }
    })
    .flatten();
    if let Some(held_at) = held_at {
        on_release(map, held_at, kind);
    }
}

/// Sets a lock's class now, as its first acquisition at `at` would, from what its wrapper
/// publishes (`BuiltAt`): for a caller that reaches the raw lock (`raw()`) and acquires it
/// later, when nothing is published. A lock built outside the user's code bound with no site
/// gets a class of its own.
pub(crate) fn bind(map: &LockMap, kind: LockKind, at: Option<&'static Location<'static>>) {
    if !needs_bind(map) {
        return;
    }
    // A lock whose wrapper knows no construction site of the user's (lock_api's `Default`)
    // takes its class where it is first acquired: a `raw()` call is not that (it may only ask
    // `is_locked()`).
    if at.is_some()
        && crate::mutex::raw_built_site()
            .and_then(|(site, _)| site)
            .is_none_or(|s| crate::class::sysroot_file(s.file()))
    {
        return;
    }
    let _ = map.class_checked(&current(), kind, 0, at);
}

/// Whether [`bind`] has anything to do: validation on and the lock's class not set yet.
#[inline]
pub(crate) fn needs_bind(map: &LockMap) -> bool {
    !has_class(map) && switch().is_some()
}

/// How many held entries of one consumed lock [`on_consumed`] releases at most.
const MAX_CONSUMED_ENTRIES: usize = 1024;

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
                    l.orphans.append(&mut inner.skipped);
                    if l.adopted.is_some() {
                        l.leave_ended_capture();
                    }
                    // A scope that ends holding locks is reported like a thread that exits so.
                    let reports = inner_validator.thread_exit(&mut inner);
                    (
                        drained,
                        (!reports.is_empty()).then_some((inner_validator, reports)),
                    )
                })
                .unwrap_or((None, None));
                // One batch (both are the scope's validator's): a callback that panics on the
                // first still gets the scope-end reports.
                Pending(drained_first(drained, pending)).dispatch();
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

/// A held-lock stack that is not a thread's own: an async task's (`lockdep::tokio`). It is
/// swapped into the running thread's slot for each poll ([`enter_detached`]) and out again after
/// ([`leave_detached`]), as [`Validator::scope`] swaps a scope's, so the hooks and their steady
/// state are the threads' own.
#[cfg(feature = "tokio")]
pub(crate) struct Detached {
    // The stack's number, also while it is entered (then `state` is the thread's).
    id: u64,
    pub(crate) validator: Validator,
    pub(crate) state: ThreadState,
    // The count of off periods when the stack was last current: a change makes it stale.
    off_periods: u32,
}

#[cfg(feature = "tokio")]
impl Detached {
    /// A fresh stack reporting to `validator`, its own number (report and trace identity) and
    /// `name`, able to receive releases of its guards from elsewhere (`post_release`).
    pub(crate) fn new(validator: Validator, name: impl FnOnce(u64) -> Arc<str>) -> Self {
        let id = THREAD_IDS.fetch_add(1, Ordering::Relaxed);
        let depth = validator.config().max_lock_depth.min(64);
        #[cfg(not(lockdep_off))]
        inbox::register(id);
        Detached {
            id,
            validator,
            state: ThreadState::new(name(id), id, depth),
            off_periods: off_periods(SWITCH.load(Ordering::Relaxed)),
        }
    }

    /// The stack's number (what guards record as their holder).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The stack ends (its task completed or was dropped): what it still holds of the locks
    /// `keep_quiet` accepts (guards that left with the task's output) is dropped silently; the
    /// rest is reported as a thread's exit would report it.
    pub(crate) fn finish(mut self, keep_quiet: impl Fn(InstanceId) -> bool) {
        #[cfg(not(lockdep_off))]
        inbox::unregister(self.id);
        if switch().is_none() {
            return;
        }
        let mut i = 0;
        while i < self.state.held.len() {
            if keep_quiet(self.state.held[i].instance()) {
                self.state.held.remove(i);
            } else {
                i += 1;
            }
        }
        let reports = self.validator.thread_exit(&mut self.state);
        self.validator.dispatch(reports);
    }
}

/// Makes `d` the running thread's held-lock stack and validator until [`leave_detached`], by
/// swapping them in place (the thread's wait in `d` meanwhile: a stack is a few kilobytes, and
/// a task pays this on every poll). `None`, with nothing changed, if the thread cannot
/// (teardown, or inside a hook's report callback); else the reports of what the task's inbox
/// held, to dispatch once the caller's guard that leaves again exists (one that unwinds must
/// not leave the task's stack on the thread).
#[cfg(feature = "tokio")]
pub(crate) fn enter_detached(d: &mut Detached) -> Option<Pending> {
    let periods = off_periods(SWITCH.load(Ordering::Relaxed));
    if periods != d.off_periods {
        // Validation was off meanwhile: what the stack says it holds may be stale.
        d.state.held.clear();
        d.state.untracked = true;
    }
    let drained = with_local(|l| {
        std::mem::swap(&mut l.state, &mut d.state);
        std::mem::swap(&mut l.validator, &mut d.validator);
        l.detached += 1;
        // What the thread's stack is synced with, kept with it while it waits.
        d.off_periods = std::mem::replace(&mut l.off_periods, periods);
        // Releases of the task's guards posted while it was away.
        inbox::drain(l)
    });
    drained.map(Pending)
}

/// Undoes [`enter_detached`]: the thread's stack and validator back, the task's in `d`.
#[cfg(feature = "tokio")]
pub(crate) fn leave_detached(d: &mut Detached) {
    let drained = with_local(|l| {
        std::mem::swap(&mut l.state, &mut d.state);
        std::mem::swap(&mut l.validator, &mut d.validator);
        let thread_periods = std::mem::replace(&mut d.off_periods, l.off_periods);
        if thread_periods != l.off_periods {
            // Validation was off during the poll: the thread's stack is stale too.
            let stale = l.state.held.drain().map(|h| h.instance());
            l.stale.extend(stale);
            l.cap_stale();
        }
        l.detached = l.detached.saturating_sub(1);
        if l.adopted.is_some() {
            l.leave_ended_capture();
        }
        inbox::drain(l)
    });
    if let Some(drained) = drained {
        Pending(drained).dispatch();
    }
}

/// Runs `f` on the current held-lock stack and its validator (a task's while one is entered),
/// dispatching the reports it returns; `None` while validation is off or the thread cannot.
#[cfg(feature = "tokio")]
pub(crate) fn inspect_current<R>(
    f: impl FnOnce(&Validator, &mut ThreadState) -> (R, Vec<Report>),
) -> Option<R> {
    let ((r, own), drained) = with_local_synced_drained(switch()?, |l| {
        let (r, reports) = f(&l.validator, &mut l.state);
        (
            r,
            (!reports.is_empty()).then(|| (l.validator.clone(), reports)),
        )
    })?;
    // One batch: a drained report that unwinds cannot lose the hook's own.
    Pending(drained_first(drained, own)).dispatch();
    Some(r)
}

/// Releases `instance` from the held-lock stack numbered `holder` (a task's `Detached::id`, or
/// a thread's `thread_id`, which its scopes share; a guard dropped away from the
/// task or thread that took it): applied by that stack at its next hook, or dropped if the stack
/// has ended.
#[cfg(feature = "tokio")]
pub(crate) fn post_release(holder: u64, instance: usize) {
    #[cfg(not(lockdep_off))]
    inbox::post(holder, inbox::Message::Release(InstanceId(instance as u64)));
    #[cfg(lockdep_off)]
    let _ = (holder, instance);
}

/// [`post_release`] for a mode change (a write lock downgraded away from its holder).
#[cfg(feature = "tokio")]
pub(crate) fn post_mode(
    holder: u64,
    instance: usize,
    mode: Mode,
    site: Option<&'static Location<'static>>,
) {
    #[cfg(not(lockdep_off))]
    inbox::post(
        holder,
        inbox::Message::Mode(InstanceId(instance as u64), mode, site),
    );
    #[cfg(lockdep_off)]
    let _ = (holder, instance, mode, site);
}

/// The class of the lock `req` acquires, in `v`.
#[cfg(feature = "tokio")]
pub(crate) fn class_for(req: &Request<'_>, v: &Validator) -> Option<ClassId> {
    if !v.is_enabled() {
        return None;
    }
    // Over the class limit: `None`, reported (with the thread) by the acquisition itself.
    req.map
        .class_checked(v, req.kind, req.subclass, req.site)
        .ok()
}

/// [`before_lock`] with `check` run on the full path first: the acquisition's class and the
/// stack it joins, returning reports of its own. A chain validated once takes the steady state
/// after, as for any lock, so `check` must depend only on the chain (the held classes and the
/// acquired one).
#[cfg(feature = "tokio")]
#[inline(always)]
pub(crate) fn before_lock_checked(
    req: Request<'_>,
    check: fn(&Validator, &ThreadState, &Acquire) -> Option<Report>,
) {
    if let Some(switch) = switch_word()
        && !(req.subclass == 0 && req.nest_lock.is_none() && lock_steady(&req, false, switch))
    {
        validate_lock_checked_slow(req, switch, check);
    }
}

#[cfg(feature = "tokio")]
#[cold]
#[inline(never)]
fn validate_lock_checked_slow(
    req: Request<'_>,
    switch: u32,
    check: fn(&Validator, &ThreadState, &Acquire) -> Option<Report>,
) {
    let req = &req;
    let Some(((undo, own), drained)) = with_local_synced_drained(switch, |l| {
        let before = StackMark::of(&l.state);
        let class = match untracked_unless(l, req, false) {
            Ok(class) => class,
            Err(over_limit) => return (before.undo(&l.state, req), over_limit),
        };
        // A trace notes the awaited acquisition, so replay checks the await rule too.
        let _noted = crate::hazard::hazard_enabled(crate::hazard::Hazard::AwaitHoldingLock)
            .then(|| crate::hazard::note(crate::trace::Wait::Await));
        let mut reports: Vec<Report> =
            check(&l.validator, &l.state, &acquire_of(req, class, false))
                .into_iter()
                .collect();
        let v = &l.validator;
        if !(req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, false)) {
            reports.extend(acquire_tracked(l, req, class, false));
        }
        let undo = before.undo(&l.state, req);
        (
            undo,
            (!reports.is_empty()).then(|| (l.validator.clone(), reports)),
        )
    }) else {
        return;
    };
    dispatch_before_taken(drained_first(drained, own), undo);
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
    let v = collecting_validator(capture_config());
    // Its limits are the process's, from the `LOCKDEP_MAX_*` variables.
    v.set_limits_from_env();
    run_capture(&v, f);
    v.take_reports()
}

/// Runs `f` in the capture's validator `v`, threads that start meanwhile joining it where that
/// cannot be wrong (`adoption`).
fn run_capture(v: &Validator, f: impl FnOnce()) {
    // The capturing thread has its slot before the capture is registered, so it never adopts
    // its own capture (it enters it as a scope).
    let _ = with_local(|_| ());
    #[cfg(not(lockdep_off))]
    let _running = crate::adoption::CaptureRun::begin(v);
    v.scope(f);
}

/// The limits of a [`capture`]'s validator.
fn capture_config() -> Config {
    let global = global().config().clone();
    // A capture keeps a smaller chain table than the global validator (many tests each
    // build one), unless LOCKDEP_MAX_CHAINS asks for a size.
    let max_chains = if std::env::var_os(crate::config::ENV_CHAINS).is_some() {
        global.max_chains
    } else {
        global.max_chains.min(CAPTURE_MAX_CHAINS)
    };
    Config {
        max_chains,
        ..global
    }
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
/// assert!(reports[0].to_string().contains("Config::max_lock_depth"));
/// ```
pub fn capture_with(config: Config, f: impl FnOnce()) -> Vec<Report> {
    if switch().is_none() {
        f();
        return Vec::new();
    }
    let v = collecting_validator(config);
    run_capture(&v, f);
    v.take_reports()
}

/// A capture's validator: collects its reports, and records into the process-wide trace under
/// `LOCKDEP_TRACE_CAPTURES=1`.
fn collecting_validator(config: Config) -> Validator {
    let v = Validator::with_on_report(config, OnReport::Collect);
    if record_captures() && global().is_recording() {
        // The process-wide validator may record to `tracing` only: then there is no file.
        let _ = v.record_into(global());
    }
    v
}

/// The validator a [`capture`] would run in (`None` while validation is off), for captures
/// that are not a closure (`lockdep::tokio::capture_async`).
#[cfg(feature = "tokio")]
pub(crate) fn capture_validator() -> Option<Validator> {
    switch()?;
    let v = collecting_validator(capture_config());
    v.set_limits_from_env();
    Some(v)
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
#[inline]
pub fn might_sleep() {
    // The steady state (every condvar wait asks): with the thread's gate open (validation on,
    // not recording, outside non-blocking sections, nothing posted), the held locks' tightest
    // wait context, which the top entry carries, says whether sleeping is allowed, so there is
    // nothing to report and nothing to record.
    if let Some(switch) = switch_word()
        && !with_steady_local(slot_ptr(), switch, |l| {
            l.state.top_context() >= crate::class::WAIT_SLEEP
        })
    {
        might_sleep_slow(Location::caller());
    }
}

#[cold]
#[inline(never)]
fn might_sleep_slow(site: &'static Location<'static>) {
    with_local_on_batched(|l| {
        let reports = l.validator.might_sleep(&mut l.state, Site::Code(site));
        (!reports.is_empty()).then(|| (l.validator.clone(), reports))
    })
    .dispatch();
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
    let drained = with_local_on_batched(|l| {
        l.validator.set_non_blocking(&mut l.state, true);
        None
    });
    let _exit = Exit;
    // Once the section's exit is armed: a drained report that unwinds must not leave it open.
    drained.dispatch();
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
    #[cfg(not(lockdep_off))]
    {
        let instance = InstanceId(lock.lock_map().1 as u64);
        with_local_on_batched(|l| {
            let i = l.state.find(instance)?;
            let reports = l.validator.release_at(&mut l.state, i, Site::Unknown);
            // Its guard's release, posted back here, is then matched with nothing held.
            l.orphans.push(instance);
            (!reports.is_empty()).then(|| (l.validator.clone(), reports))
        })
        .dispatch();
    }
    #[cfg(lockdep_off)]
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

#[cfg(all(test, not(lockdep_off)))]
mod tests {
    use super::*;

    static KEY: ClassKey = ClassKey::new("key");
    static NAMED: LockMap = LockMap::new(&SITE, Some("a static's name"), None);
    static SITE: Location<'static> = *Location::caller();

    #[cfg(all(
        not(feature = "portable-layout"),
        target_pointer_width = "64",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn lock_map_is_two_words() {
        assert_eq!(size_of::<LockMap>(), 16);
    }

    fn described(map: &LockMap) -> Described {
        match map.words.desc() {
            Desc::Pre(d) => d,
            Desc::Record(_) => panic!("resolved"),
        }
    }

    fn same_label(a: Label, b: Label) -> bool {
        match (a, b) {
            (Label::None, Label::None) => true,
            (Label::Name(x), Label::Name(y)) => std::ptr::eq(x, y),
            (Label::Key(x), Label::Key(y)) => std::ptr::eq(x, y),
            (Label::Type(x), Label::Type(y)) => x() == y(),
            _ => false,
        }
    }

    /// What is packed reads back as built, and the word the steady state reads is no class word
    /// of a cacheable generation.
    #[test]
    fn descriptions_read_back_as_built() {
        let long: &'static str = "n".repeat(words::MAX_NAME_LEN.min(1 << 16)).leak();
        let mut names: Vec<&'static str> = vec!["", "x", "name"];
        for len in [2, 63, 64, 127, 128, 129, 255, 256, 1000, 4096, 8191, 8192] {
            names.push(&long[..len.min(long.len())]);
        }
        names.push(long);
        let site = Location::caller();
        let mut specs = vec![
            LockMap::spec(site, None, None),
            LockMap::spec(site, None, None).of::<u64>(),
            LockMap::spec(site, None, None).of::<str>().by_default(),
            LockMap::spec(site, None, None).by_default(),
            LockMap::spec(site, None, None).by_deserialize().part(),
            LockMap::spec(site, None, None)
                .part()
                .of::<Vec<u8>>()
                .by_default(),
            LockMap::spec(site, None, Some(&KEY)).of::<u64>(),
            LockMap::spec(site, Some("both"), Some(&KEY)).part(),
        ];
        for n in names {
            specs.push(LockMap::spec(site, Some(n), None).of::<u64>());
            specs.push(LockMap::spec(site, Some(n), None).part().by_default());
        }
        for spec in specs {
            let map = spec.build();
            let (want, got) = (spec.described, described(&map));
            let built = match want.label {
                Label::None | Label::Type(_) => want.built,
                _ => BUILT_AT_SITE,
            };
            assert!(std::ptr::eq(got.site, want.site));
            assert!(
                same_label(got.label, want.label),
                "{want:?} read as {got:?}"
            );
            assert_eq!((got.built, got.part), (built, want.part), "{want:?}");
            let word = map.cached_word();
            assert!(
                word == 0 || (word >> 55) & 1 == 1,
                "{want:?}: {word:#x} could be a class word"
            );
        }
        let raw = described(&LockMap::raw_init());
        assert_eq!(raw.built, BUILT_BY_RAW_INIT);
        assert!(matches!(raw.label, Label::None));
    }

    /// A map built in `const` (a `static`) reads back too.
    #[test]
    fn a_static_map_reads_back() {
        let d = described(&NAMED);
        assert!(std::ptr::eq(d.site, &SITE));
        assert_eq!(d.name(), Some("a static's name"));
    }

    #[test]
    #[should_panic(expected = "lock name too long")]
    #[cfg(all(
        not(feature = "portable-layout"),
        target_pointer_width = "64",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    fn a_name_too_long_to_pack_is_refused() {
        let name: &'static str = "n".repeat(words::MAX_NAME_LEN + 1).leak();
        let _ = LockMap::new(Location::caller(), Some(name), None);
    }

    /// Locks of one description share a record; each validator finds its own class for it, and
    /// a lock resolved through the record's cache gets the class the key lookup gives.
    #[test]
    fn a_record_serves_its_locks_in_every_validator() {
        let spec = LockMap::spec(Location::caller(), None, None).of::<u32>();
        let (a, b, c) = (spec.build(), spec.build(), spec.build());
        let (v1, v2) = (
            Validator::new(Config::default()),
            Validator::new(Config::default()),
        );
        let kind = LockKind::Mutex;
        let a1 = a.class(&v1, kind, 0, Use::Lookup).unwrap();
        let b1 = b.class(&v1, kind, 0, Use::Lookup).unwrap();
        assert_eq!(a1, b1);
        let record = match (a.words.desc(), b.words.desc()) {
            (Desc::Record(x), Desc::Record(y)) => {
                assert!(std::ptr::eq(x, y));
                x
            }
            _ => panic!("not resolved"),
        };
        // Another validator: the record's word is another generation's, so the key is looked up.
        let c2 = c.class(&v2, kind, 0, Use::Lookup).unwrap();
        assert_eq!(
            record.class.load(Ordering::Relaxed) >> 32,
            v2.generation() as u64
        );
        assert_eq!(a.class(&v2, kind, 0, Use::Lookup), Some(c2));
        assert_eq!(b.class(&v1, kind, 0, Use::Lookup), Some(b1));
        assert_eq!(
            a.class_name(&v1, kind),
            v1.class_info(b1).map(|i| i.display_name)
        );
        // A subclass is never taken from the record's word.
        let sub = a.class(&v1, kind, 1, Use::Lookup).unwrap();
        assert_ne!(sub, a1);
    }

    #[test]
    fn only_low_generations_are_cacheable() {
        assert!(!cacheable(0));
        assert!(cacheable(1));
        assert!(cacheable((1 << 23) - 1));
        assert!(!cacheable(1 << 23));
        assert!(!cacheable(u32::MAX));
    }
}
