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

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::class::{ClassId, ClassKey, LockKind, Site};
#[cfg(not(feature = "disabled"))]
use crate::class::{KeySource, site_name};
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

// Bit 0: the environment was read. Bit 1: off. Bits 2..: a count of changes, so a thread notices
// that validation was off meanwhile (its held-lock stack is stale then).
const SWITCH_READY: u32 = 1;
const SWITCH_OFF: u32 = 2;
const SWITCH_STEP: u32 = 4;
static SWITCH: AtomicU32 = AtomicU32::new(0);

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
    // The switch word this thread last saw, and whether validation was off for it since.
    switch: u32,
    lenient: bool,
}

impl Local {
    fn new(validator: Validator) -> Self {
        let id = THREAD_IDS.fetch_add(1, Ordering::Relaxed);
        let name: Arc<str> = match std::thread::current().name() {
            Some(n) => n.into(),
            None => format!("thread-{id}").into(),
        };
        let depth = validator.config().max_lock_depth.min(64);
        Local {
            validator,
            state: ThreadState::new(name, id, depth),
            saved: Vec::new(),
            orphans: Vec::new(),
            switch: SWITCH.load(Ordering::Relaxed),
            lenient: false,
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
        self.lenient = true;
        let stale = self.state.held.drain(..).map(|h| h.acquire.instance);
        self.orphans.extend(stale);
        self.state.chain_key = crate::held::INITIAL_CHAIN_KEY;
    }
}

impl Drop for Local {
    fn drop(&mut self) {
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

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's state; `None` during thread teardown or re-entry (then the
/// operation goes unvalidated rather than failing).
#[inline]
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            if slot.is_none() {
                *slot = Some(new_local());
            }
            Some(f(slot.as_mut()?))
        })
        .ok()
        .flatten()
}

#[cold]
fn new_local() -> Local {
    Local::new(global().clone())
}

/// [`with_local`] for the lock hooks: nothing at all while validation is off.
#[inline(always)]
fn with_local_on<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    let switch = switch()?;
    with_local_synced(switch, f)
}

#[inline]
fn with_local_synced<R>(switch: u32, f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    with_local(|l| {
        l.sync(switch);
        f(l)
    })
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
    #[cfg(not(feature = "disabled"))]
    site: &'static Location<'static>,
    #[cfg(not(feature = "disabled"))]
    name: Option<&'static str>,
    #[cfg(not(feature = "disabled"))]
    key: Option<&'static ClassKey>,
    // A lock embedded in another (a SeqLock's spin lock): its own class, printed `base.part`.
    #[cfg(not(feature = "disabled"))]
    part: Option<&'static str>,
    // (validator generation << 32) | class id, for subclass 0; 0 = not resolved yet.
    #[cfg(not(feature = "disabled"))]
    cache: AtomicU64,
}

// What only the validating build's `LockMap` uses, referenced so the compiled-out build stays
// warning-free.
#[cfg(feature = "disabled")]
const _: fn(&str, u32, u32) -> Arc<str> = crate::class::site_name;
#[cfg(feature = "disabled")]
const _: fn(&Validator) -> u32 = Validator::generation;

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

    /// A map for the lock `part` embedded in the lock built at `site` (holds nothing).
    #[inline(always)]
    pub const fn new_part(
        _site: &'static Location<'static>,
        _name: Option<&'static str>,
        _key: Option<&'static ClassKey>,
        _part: &'static str,
    ) -> Self {
        LockMap {}
    }

    #[inline(always)]
    fn class(&self, _v: &Validator, _kind: LockKind, _subclass: u32) -> Option<ClassId> {
        None
    }

    #[inline(always)]
    fn cached_class(&self, _v: &Validator, _subclass: u32) -> Option<ClassId> {
        None
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
        LockMap {
            site,
            name,
            key,
            part: None,
            cache: AtomicU64::new(0),
        }
    }

    /// A map for the lock `part` embedded in the lock built at `site` with `name`/`key` (a
    /// `SeqLock`'s spin lock): a class of its own per outer class, printed `outer.part`.
    #[inline]
    pub const fn new_part(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        key: Option<&'static ClassKey>,
        part: &'static str,
    ) -> Self {
        LockMap {
            site,
            name,
            key,
            part: Some(part),
            cache: AtomicU64::new(0),
        }
    }

    /// The key that decides this lock's class.
    pub fn key_source(&self) -> KeySource {
        let outer = match self.key {
            Some(k) => KeySource::Key(k as *const ClassKey as usize),
            None => KeySource::site(self.site, self.name),
        };
        match self.part {
            Some(part) => KeySource::Part(Box::new(outer), part),
            None => outer,
        }
    }

    fn base_name(&self) -> Arc<str> {
        let outer: Arc<str> = match (self.key, self.name) {
            (Some(k), _) => k.name().into(),
            (None, Some(n)) => n.into(),
            (None, None) => site_name(self.site.file(), self.site.line(), self.site.column()),
        };
        match self.part {
            Some(part) => format!("{outer}.{part}").into(),
            None => outer,
        }
    }

    /// Where the lock was built.
    pub fn init_site(&self) -> &'static Location<'static> {
        self.site
    }

    /// The class if it is cached for `v` (subclass 0 only): two loads and a compare.
    #[inline(always)]
    fn cached_class(&self, v: &Validator, subclass: u32) -> Option<ClassId> {
        let c = self.cache.load(Ordering::Relaxed);
        (subclass == 0 && (c >> 32) as u32 == v.generation()).then_some(ClassId(c as u32))
    }

    #[inline]
    fn class(&self, v: &Validator, kind: LockKind, subclass: u32) -> Option<ClassId> {
        if subclass == 0 {
            let c = self.cache.load(Ordering::Relaxed);
            if (c >> 32) as u32 == v.generation() {
                return Some(ClassId(c as u32));
            }
        }
        self.resolve(v, kind, subclass)
    }

    #[cold]
    fn resolve(&self, v: &Validator, kind: LockKind, subclass: u32) -> Option<ClassId> {
        let id = v.class_for(
            &self.key_source(),
            subclass,
            kind,
            Site::Code(self.site),
            &|| self.base_name(),
        )?;
        if subclass == 0 {
            self.cache.store(
                ((v.generation() as u64) << 32) | id.0 as u64,
                Ordering::Relaxed,
            );
        }
        Some(id)
    }

    /// The class name this lock prints as, in `v`.
    pub(crate) fn class_name(&self, v: &Validator, kind: LockKind) -> Option<Arc<str>> {
        let id = self.class(v, kind, 0)?;
        v.class_info(id).map(|i| i.display_name)
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

fn site_of(loc: Option<&'static Location<'static>>) -> Site {
    loc.map_or(Site::Unknown, Site::Code)
}

/// Validates a blocking acquisition before the caller blocks. If the report would unwind, the
/// acquisition is undone first, so the lock is never taken.
#[inline(always)]
pub(crate) fn before_lock(req: Request<'_>) {
    if let Some(switch) = switch() {
        validate_lock(&req, switch);
    }
}

fn validate_lock(req: &Request<'_>, switch: u32) {
    // The steady state in a small frame of its own; anything else starts over on the full path.
    let done = with_steady_local(switch, |l| {
        let v = &l.validator;
        v.is_enabled()
            && req.nest_lock.is_none()
            && req
                .map
                .cached_class(v, req.subclass)
                .is_some_and(|class| push_known(v, &mut l.state, req, class, false))
    });
    if !done {
        validate_lock_slow(req, switch);
    }
}

/// Runs `f` on this thread's state if it exists, is not borrowed and has seen `switch`; false
/// otherwise (then the caller takes its full path).
#[inline(always)]
fn with_steady_local(switch: u32, f: impl FnOnce(&mut Local) -> bool) -> bool {
    LOCAL
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => match &mut *slot {
                Some(l) if l.switch == switch => f(l),
                _ => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false)
}

#[cold]
#[inline(never)]
fn validate_lock_slow(req: &Request<'_>, switch: u32) {
    let pending = with_local_synced(switch, |l| {
        let class = untracked_unless(l, req)?;
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, false) {
            return None;
        }
        let reports = v.acquire(&mut l.state, acquire_of(req, class, false));
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
        req.map.class(v, req.kind, req.subclass)
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
    match switch() {
        Some(switch) => record_trylock(&req, switch),
        None => Pending(None),
    }
}

fn record_trylock(req: &Request<'_>, switch: u32) -> Pending {
    let pending = with_local_synced(switch, |l| {
        let class = untracked_unless(l, req)?;
        let v = &l.validator;
        if req.nest_lock.is_none() && push_known(v, &mut l.state, req, class, true) {
            return None;
        }
        let reports = v.acquire(&mut l.state, acquire_of(req, class, true));
        (!reports.is_empty()).then(|| (v.clone(), reports))
    });
    Pending(pending.flatten())
}

/// The steady state, with the request's fields passed on one by one (see
/// [`Validator::push_known`]).
#[inline(always)]
fn push_known(
    v: &Validator,
    state: &mut ThreadState,
    req: &Request<'_>,
    class: ClassId,
    trylock: bool,
) -> bool {
    let site = req.site;
    v.push_known(
        state,
        class,
        InstanceId(req.instance as u64),
        req.mode,
        req.kind,
        trylock,
        || site_of(site),
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
    if let Some(switch) = switch() {
        validate_seq_read(&req, switch);
    }
}

fn validate_seq_read(req: &Request<'_>, switch: u32) {
    let done = with_steady_local(switch, |l| {
        let v = &l.validator;
        if !v.is_enabled() {
            return true;
        }
        req.map
            .cached_class(v, req.subclass)
            .is_some_and(|class| v.seq_read_known(&mut l.state, class))
    });
    if !done {
        validate_seq_read_slow(req, switch);
    }
}

#[cold]
#[inline(never)]
fn validate_seq_read_slow(req: &Request<'_>, switch: u32) {
    let pending = with_local_synced(switch, |l| {
        let v = &l.validator;
        if !v.is_enabled() {
            return None;
        }
        let class = req.map.class(v, req.kind, req.subclass)?;
        let reports = v.seq_read(&mut l.state, acquire_of(req, class, false));
        (!reports.is_empty()).then(|| (v.clone(), reports))
    });
    Pending(pending.flatten()).dispatch();
}

/// Records a release (any order).
#[inline(always)]
pub(crate) fn on_release(map: &LockMap, instance: usize, kind: LockKind) {
    if let Some(switch) = switch() {
        record_release(map, instance, kind, switch);
    }
}

fn record_release(map: &LockMap, instance: usize, kind: LockKind, switch: u32) {
    let instance = InstanceId(instance as u64);
    // The steady state: the lock on top of this thread's stack, released in order.
    if !with_steady_local(switch, |l| l.validator.pop_top(&mut l.state, instance)) {
        record_release_slow(map, instance, kind, switch);
    }
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
        map.class(v, kind, 0)
    } else {
        None
    };
    if (l.lenient || l.state.untracked) && class.is_none_or(|c| !l.state.holds_merged(c)) {
        return None;
    }
    Some(v.release(&mut l.state, instance, class, Site::Unknown))
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
            return HeldState::Held(l.state.held[i].acquire.mode);
        }
        for (_, s) in l.saved.iter().rev() {
            if let Some(i) = s.find(id) {
                return HeldState::Held(s.held[i].acquire.mode);
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
                let pending = with_local(|l| {
                    let (v, s) = l.saved.pop()?;
                    let mut inner = std::mem::replace(&mut l.state, s);
                    let inner_validator = std::mem::replace(&mut l.validator, v);
                    l.orphans
                        .extend(inner.held.iter().map(|h| h.acquire.instance));
                    // A scope that ends holding locks is reported like a thread that exits so.
                    let reports = inner_validator.thread_exit(&mut inner);
                    (!reports.is_empty()).then_some((inner_validator, reports))
                });
                Pending(pending.flatten()).dispatch();
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
            let fresh = ThreadState::new(l.state.name.clone(), l.state.id, depth);
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
    let config = Config {
        max_chains: 4096,
        ..global().config().clone()
    };
    let v = Validator::with_on_report(config, OnReport::Collect);
    v.scope(f);
    v.take_reports()
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

/// Whether this thread holds `lock`; always false while validation is off or compiled out (so
/// assert with [`assert_held`], which is then a no-op, rather than with this).
pub fn is_held(lock: &impl Lockable) -> bool {
    held_mode(lock.lock_map().1).is_some()
}

/// The class name `lock` reports as (`file:line:col` by default, or its given name); empty while
/// validation is off or compiled out.
pub fn class_name(lock: &impl Lockable) -> String {
    let (map, _, kind) = lock.lock_map();
    map.class_name(&current(), kind)
        .map(|n| n.to_string())
        .unwrap_or_default()
}
