//! Per-thread held-lock stacks and the acquisitions that feed them.

use std::sync::Arc;

use std::panic::Location;

use crate::chain::ChainCache;
use crate::class::{ClassId, LockKind, Site, WAIT_INVALID, WAIT_MAX, WAIT_SPIN};

/// How a lock is acquired: lockdep's three acquirer kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Exclusive (`W`): writers, mutexes, spin locks.
    Write,
    /// Non-recursive read (`r`): blocked by a *waiting* writer (`RwLock::read`).
    Read,
    /// Recursive read (`R`): blocked only by a writer that *holds* the lock
    /// (`RecursiveRwLock::read`, seqcount readers).
    ReadRecursive,
}

impl Mode {
    /// Whether this is one of the read modes.
    pub fn is_read(self) -> bool {
        !matches!(self, Mode::Write)
    }

    /// The lower-case name used in traces and JSON (`write`, `read`, `read_recursive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Write => "write",
            Mode::Read => "read",
            Mode::ReadRecursive => "read_recursive",
        }
    }

    /// The inverse of [`bits`](Self::bits) (anything above 1 is a recursive read).
    #[inline(always)]
    pub(crate) fn from_bits(bits: u8) -> Self {
        match bits {
            0 => Mode::Write,
            1 => Mode::Read,
            _ => Mode::ReadRecursive,
        }
    }

    #[inline(always)]
    pub(crate) fn bits(self) -> u64 {
        match self {
            Mode::Write => 0,
            Mode::Read => 1,
            Mode::ReadRecursive => 2,
        }
    }
}

/// Identifies one lock object (an address in-process, an interned name in replay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub u64);

/// One acquisition presented to the validator.
#[derive(Clone, Debug)]
pub struct Acquire {
    /// The class, subclass already folded in.
    pub class: ClassId,
    /// The object.
    pub instance: InstanceId,
    /// Exclusive, read, or recursive read.
    pub mode: Mode,
    /// A successful trylock: cannot deadlock, so no dependency ends in it.
    pub trylock: bool,
    /// The outer lock that serialises same-class acquisitions (`mutex_lock_nest_lock`).
    pub nest_lock: Option<InstanceId>,
    /// The primitive's kind (for wait-context rules).
    pub kind: LockKind,
    /// Where it was acquired.
    pub site: Site,
}

/// One entry of a thread's held-lock stack: the [`Acquire`] that put it there, packed into five
/// words, since the steady state writes one on every acquisition and each store counts (see
/// `docs/performance.md`). Read it with [`acquire`](Self::acquire) or the field accessors.
#[derive(Clone)]
pub struct HeldLock {
    instance: InstanceId,
    /// Chain key of the stack up to and including this entry: the thread's chain key while it
    /// is on top, so a release in order has nothing to rewind.
    pub(crate) chain_key: u64,
    /// The acquisition site, when it is a place in this program.
    code_site: Option<&'static Location<'static>>,
    /// Class (bits 0–31), mode (32–39), kind (40–47), trylock (48), and the tightest wait type
    /// of this entry and every one below it (56–63, `WAIT_MAX` if none), so the wait-context
    /// rule is one comparison in the steady state (never below the true value).
    bits: u64,
    /// What only some entries have; `None` for every entry the steady state pushes.
    extra: Option<Box<HeldExtra>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct HeldExtra {
    nest_lock: Option<InstanceId>,
    /// Same-class acquisitions under a nest lock merged into this entry, the first included
    /// (0 = a plain entry), as lockdep's `references`.
    references: u64,
    /// A site read from a trace.
    text_site: Option<Arc<str>>,
}

impl HeldLock {
    /// The entry for a plain acquisition (no nest lock) at a site in this program or unknown:
    /// what the steady state pushes, built from values in registers.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn plain(
        class: ClassId,
        instance: InstanceId,
        mode: Mode,
        kind: LockKind,
        trylock: bool,
        site: Option<&'static Location<'static>>,
        chain_key: u64,
        context: u8,
    ) -> Self {
        HeldLock {
            instance,
            chain_key,
            code_site: site,
            bits: pack(class, mode, kind, trylock, context),
            extra: None,
        }
    }

    /// The entry for any acquisition.
    pub(crate) fn new(acquire: Acquire, chain_key: u64, context: u8) -> Self {
        let (code_site, text_site) = match acquire.site {
            Site::Code(l) => (Some(l), None),
            Site::Text(t) => (None, Some(t)),
            Site::Unknown => (None, None),
        };
        let extra = HeldExtra {
            nest_lock: acquire.nest_lock,
            references: 0,
            text_site,
        };
        HeldLock {
            instance: acquire.instance,
            chain_key,
            code_site,
            bits: pack(
                acquire.class,
                acquire.mode,
                acquire.kind,
                acquire.trylock,
                context,
            ),
            extra: (extra != HeldExtra::default()).then(|| Box::new(extra)),
        }
    }

    /// The acquisition this entry records.
    pub fn acquire(&self) -> Acquire {
        Acquire {
            class: self.class(),
            instance: self.instance,
            mode: self.mode(),
            trylock: self.trylock(),
            nest_lock: self.nest_lock(),
            kind: self.kind(),
            site: self.site(),
        }
    }

    /// The lock's class.
    #[inline]
    pub fn class(&self) -> ClassId {
        ClassId(self.bits as u32)
    }

    /// The lock object.
    #[inline]
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// How it is held.
    #[inline]
    pub fn mode(&self) -> Mode {
        Mode::from_bits((self.bits >> 32) as u8)
    }

    /// The primitive's kind.
    #[inline]
    pub fn kind(&self) -> LockKind {
        LockKind::from_index((self.bits >> 40) as u8)
    }

    /// Whether it was taken by a successful trylock.
    #[inline]
    pub fn trylock(&self) -> bool {
        (self.bits >> 48) & 1 != 0
    }

    /// The nest lock it was taken under, if any.
    pub fn nest_lock(&self) -> Option<InstanceId> {
        self.extra.as_ref().and_then(|e| e.nest_lock)
    }

    /// Where it was acquired.
    pub fn site(&self) -> Site {
        match (self.code_site, &self.extra) {
            (Some(l), _) => Site::Code(l),
            (None, Some(e)) => e.text_site.clone().map_or(Site::Unknown, Site::Text),
            (None, None) => Site::Unknown,
        }
    }

    /// The tightest wait type of this entry and every one below it.
    #[inline(always)]
    pub(crate) fn context(&self) -> u8 {
        (self.bits >> 56) as u8
    }

    pub(crate) fn set_context(&mut self, context: u8) {
        self.bits = (self.bits & !(0xff << 56)) | ((context as u64) << 56);
    }

    pub(crate) fn set_mode(&mut self, mode: Mode) {
        self.bits = (self.bits & !(0xff << 32)) | (mode.bits() << 32);
    }

    /// Acquisitions merged into this entry under a nest lock (0 = a plain entry).
    #[inline]
    pub(crate) fn references(&self) -> u64 {
        self.extra.as_ref().map_or(0, |e| e.references)
    }

    pub(crate) fn set_references(&mut self, references: u64) {
        match &mut self.extra {
            Some(e) => e.references = references,
            None if references == 0 => {}
            None => {
                self.extra = Some(Box::new(HeldExtra {
                    references,
                    ..HeldExtra::default()
                }))
            }
        }
    }

    /// Whether this is an entry the steady state may pop: nothing beyond the five words.
    #[inline(always)]
    pub(crate) fn is_plain(&self) -> bool {
        self.extra.is_none()
    }
}

#[inline(always)]
fn pack(class: ClassId, mode: Mode, kind: LockKind, trylock: bool, context: u8) -> u64 {
    class.0 as u64
        | (mode.bits() << 32)
        | ((kind as u64) << 40)
        | ((trylock as u64) << 48)
        | ((context as u64) << 56)
}

impl std::fmt::Debug for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLock")
            .field("acquire", &self.acquire())
            .field("references", &self.references())
            .field("context", &self.context())
            .finish()
    }
}

/// Initial chain key of an empty stack, as lockdep's `INITIAL_CHAIN_KEY`.
pub(crate) const INITIAL_CHAIN_KEY: u64 = u64::MAX;

/// Extends a chain key by one held lock (its class and read mode, as lockdep's `hlock_id`).
///
/// The key is the XOR of each held lock's hash, rotated by 23 bits per level above it, so
/// extending it costs a rotate and an XOR after the hash — and the hash depends only on the lock,
/// not on the key, so it is computed while the key is still being loaded. An odd rotation keeps
/// the levels apart (23 rather than 1: a one-bit rotation of a multiplicative hash is nearly the
/// hash of twice the input). Checked by simulation over 200,000 random chains: no key collision,
/// and the slots of the thread's chain cache (bits 40–47) uniformly used. The chain cache assumes
/// no collisions, as lockdep does.
#[inline(always)]
pub(crate) fn next_chain_key(key: u64, class: ClassId, mode: Mode) -> u64 {
    let x = key.rotate_left(23) ^ hlock_hash(class, mode);
    // Never yield 0: the chain cache uses 0 as its empty-slot marker.
    if x == 0 { 1 } else { x }
}

/// A 64-bit hash of a (class, read mode) pair: Fibonacci hashing (one multiply by 2^64/φ, a
/// bijection) with the high half folded down. The input has a bit set so that no pair hashes to
/// 0, which would make a chain and the same chain with that lock added share a key.
#[inline(always)]
fn hlock_hash(class: ClassId, mode: Mode) -> u64 {
    let x =
        ((class.0 as u64) | (mode.bits() << 32) | (1 << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// Cheap pre-check of the wait-context rule: only a sleeping acquisition inside a spin lock or a
/// non-blocking section can break it.
#[inline(always)]
pub(crate) fn wait_context_suspect(thread: &ThreadState, kind: LockKind) -> bool {
    let wanted = kind.wait_type();
    wanted > WAIT_SPIN && (thread.in_atomic() || thread.top_context() < wanted)
}

/// The wait context inside a lock of `kind` taken above `below`.
#[inline(always)]
pub(crate) fn context_with(below: Option<&HeldLock>, kind: LockKind) -> u8 {
    context_within(below.map_or(WAIT_MAX, |h| h.context()), kind)
}

/// The wait context inside a lock of `kind` taken in context `outer`.
#[inline(always)]
fn context_within(outer: u8, kind: LockKind) -> u8 {
    match kind.wait_type() {
        WAIT_INVALID => outer,
        w => w.min(outer),
    }
}

/// The validator-side state of one thread: its held locks and where their chain stands.
pub struct ThreadState {
    pub(crate) held: Vec<HeldLock>,
    /// Depth of explicit non-blocking sections (the analogue of IRQs-off).
    pub(crate) atomic_depth: u32,
    pub(crate) name: Arc<str>,
    pub(crate) id: u64,
    /// This thread's trace buffer, when its validator records.
    pub(crate) rec: Option<Arc<crate::recorder::ThreadBuf>>,
    /// Class names as traces carry them, cached per thread (index = class id).
    pub(crate) class_names: Vec<Option<(Arc<str>, u32)>>,
    /// Chains this thread saw validated: a direct-mapped cache in front of the validator's
    /// shared set, so the steady state reads only thread-local memory (0 = empty slot).
    pub(crate) known_chains: [u64; KNOWN_CHAINS],
    /// An acquisition went unrecorded (its validator was off): a release of a lock not on the
    /// stack may be one of those, so it is not an unbalanced unlock.
    pub(crate) untracked: bool,
    /// Events of this thread are not recorded (a seqcount read records one event for its
    /// acquire/release pair).
    pub(crate) quiet: bool,
}

/// Slots of the per-thread chain cache (2 KiB per thread). Direct-mapped: two chains that share a
/// slot take turns in it, each miss answered by the shared set.
pub(crate) const KNOWN_CHAINS: usize = 256;

impl std::fmt::Debug for ThreadState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadState")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("held", &self.held)
            .finish()
    }
}

impl ThreadState {
    /// A thread with nothing held, named `name` with number `id` in reports (`name/id`).
    pub fn new(name: impl Into<Arc<str>>, id: u64, depth_hint: usize) -> Self {
        ThreadState {
            held: Vec::with_capacity(depth_hint),
            atomic_depth: 0,
            name: name.into(),
            id,
            rec: None,
            class_names: Vec::new(),
            known_chains: [0; KNOWN_CHAINS],
            untracked: false,
            quiet: false,
        }
    }

    /// The locks this thread holds, bottom first.
    pub fn held(&self) -> &[HeldLock] {
        &self.held
    }

    /// The thread's name in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The thread's number in reports.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the thread is inside a non-blocking section.
    pub fn in_atomic(&self) -> bool {
        self.atomic_depth > 0
    }

    /// The chain key of the held locks (lockdep's `curr_chain_key`): the top entry's.
    #[inline(always)]
    pub(crate) fn chain_key(&self) -> u64 {
        // Indexing rather than `last()`: the optimiser then needs no null check of the entry.
        match self.held.len() {
            0 => INITIAL_CHAIN_KEY,
            len => self.held[len - 1].chain_key,
        }
    }

    /// The wait context the top entry leaves (`WAIT_MAX` with nothing held).
    #[inline(always)]
    pub(crate) fn top_context(&self) -> u8 {
        match self.held.len() {
            0 => WAIT_MAX,
            len => self.held[len - 1].context(),
        }
    }

    /// The chain key of the entries below entry `i`.
    pub(crate) fn key_below(&self, i: usize) -> u64 {
        i.checked_sub(1)
            .map_or(INITIAL_CHAIN_KEY, |b| self.held[b].chain_key)
    }

    /// Position of the most recent entry for `instance`.
    #[inline]
    pub(crate) fn find(&self, instance: InstanceId) -> Option<usize> {
        self.held.iter().rposition(|h| h.instance == instance)
    }

    /// The steady state of a release: `instance` is the plain entry on top of the stack; pops
    /// it, rewinds the chain key and returns true (false, changing nothing, otherwise).
    #[inline(always)]
    pub(crate) fn pop_top(&mut self, instance: InstanceId) -> bool {
        let Some(top) = self.held.last() else {
            return false;
        };
        if top.instance != instance || !top.is_plain() {
            return false;
        }
        // SAFETY: the top entry is plain, so none of its fields has drop glue (`extra` is
        // `None`, the rest is `Copy`): shortening the vector over it forgets nothing. This is
        // `pop` without reading the entry back (a load the store forwarding of its recent,
        // field-by-field write cannot serve) and without a drop call in the frame.
        unsafe { self.held.set_len(self.held.len() - 1) };
        true
    }

    /// The steady state of an acquisition without a nest lock: pushes it and returns true if its
    /// chain is known (the thread's cache, then the validator's shared set `shared`), no
    /// wait-context rule is near and the stack is below `limit` (the depth limit; it must never
    /// exceed the stack's capacity); otherwise returns false having changed nothing. The entry is written
    /// straight into the stack's slot, from values in registers.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_steady(
        &mut self,
        limit: usize,
        shared: &ChainCache,
        class: ClassId,
        instance: InstanceId,
        mode: Mode,
        kind: LockKind,
        trylock: bool,
        site: Option<&'static Location<'static>>,
    ) -> bool {
        if self.held.len() >= limit {
            return false;
        }
        let key = next_chain_key(self.chain_key(), class, mode);
        if !trylock && (wait_context_suspect(self, kind) || !self.chain_known(key, shared)) {
            return false;
        }
        let context = context_within(self.top_context(), kind);
        let entry = HeldLock::plain(class, instance, mode, kind, trylock, site, key, context);
        // SAFETY: `len < limit`, and `limit` never exceeds the capacity (its contract).
        unsafe { self.push_reserved(entry) };
        true
    }

    /// The steady state of a seqcount read: true if the chain with the reader on top is known
    /// (the thread's cache, then `shared`) and the stack is below `limit` (nothing is pushed: a
    /// reader holds nothing afterwards).
    #[inline(always)]
    pub(crate) fn seq_read_steady(
        &mut self,
        limit: usize,
        shared: &ChainCache,
        class: ClassId,
    ) -> bool {
        let key = next_chain_key(self.chain_key(), class, Mode::ReadRecursive);
        self.held.len() < limit && self.chain_known(key, shared)
    }

    /// Whether the chain `key` was validated: the thread's own cache first, then the validator's
    /// shared set (a hit there is remembered in the thread's cache).
    #[inline(always)]
    pub(crate) fn chain_known(&mut self, key: u64, shared: &ChainCache) -> bool {
        let slot = (key >> 40) as usize % KNOWN_CHAINS;
        self.known_chains[slot] == key || self.chain_known_shared(slot, key, shared)
    }

    /// [`chain_known`](Self::chain_known) past a miss in the thread's cache, out of line so the
    /// steady state stays small.
    #[cold]
    #[inline(never)]
    fn chain_known_shared(&mut self, slot: usize, key: u64, shared: &ChainCache) -> bool {
        let known = shared.contains(key);
        if known {
            self.known_chains[slot] = key;
        }
        known
    }

    /// The steady state's push: writes `entry` into the reserved slot above the top. Never
    /// allocates.
    ///
    /// # Safety
    /// The stack must be below its capacity (the steady state's `limit` never exceeds it).
    #[inline(always)]
    pub(crate) unsafe fn push_reserved(&mut self, entry: HeldLock) {
        let len = self.held.len();
        debug_assert!(len < self.held.capacity());
        // SAFETY: `len < capacity` (the caller's promise), so the slot at `len` is allocated and
        // not part of the initialised prefix; writing it and then counting it is `push` without
        // the capacity check and the growth path that would make the caller save registers.
        unsafe {
            self.held.as_mut_ptr().add(len).write(entry);
            self.held.set_len(len + 1);
        }
    }

    /// Whether an entry of `class` stands for several acquisitions merged under a nest lock.
    pub(crate) fn holds_merged(&self, class: ClassId) -> bool {
        self.held
            .iter()
            .any(|h| h.references() > 0 && h.class() == class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_entry_is_five_words() {
        // The steady state writes one per acquisition: each word is a store.
        assert_eq!(std::mem::size_of::<HeldLock>(), 40);
    }

    #[test]
    fn an_entry_keeps_every_field_of_its_acquisition() {
        let a = Acquire {
            class: ClassId(7),
            instance: InstanceId(0xdead),
            mode: Mode::Read,
            trylock: true,
            nest_lock: Some(InstanceId(3)),
            kind: LockKind::RwLock,
            site: Site::Text("f.rs:1:2".into()),
        };
        let mut h = HeldLock::new(a.clone(), 42, 4);
        let back = h.acquire();
        assert_eq!(
            (
                back.class,
                back.instance,
                back.mode,
                back.trylock,
                back.nest_lock,
                back.kind
            ),
            (a.class, a.instance, a.mode, a.trylock, a.nest_lock, a.kind)
        );
        assert_eq!(back.site.to_string(), "f.rs:1:2");
        assert_eq!(h.context(), 4);
        h.set_context(2);
        h.set_mode(Mode::Write);
        h.set_references(3);
        assert_eq!((h.context(), h.mode(), h.references()), (2, Mode::Write, 3));
        assert_eq!(h.class(), ClassId(7));
        assert!(!h.is_plain());
        let site = std::panic::Location::caller();
        let p = HeldLock::plain(
            ClassId(u32::MAX),
            InstanceId(1),
            Mode::ReadRecursive,
            LockKind::Map,
            false,
            Some(site),
            9,
            0,
        );
        assert!(p.is_plain());
        assert_eq!(
            (p.class(), p.mode(), p.kind(), p.trylock(), p.nest_lock()),
            (
                ClassId(u32::MAX),
                Mode::ReadRecursive,
                LockKind::Map,
                false,
                None
            )
        );
        assert_eq!(p.site().to_string(), Site::Code(site).to_string());
    }

    #[test]
    fn chain_key_depends_on_order_class_and_mode() {
        let (a, b) = (ClassId(1), ClassId(2));
        let ab = next_chain_key(
            next_chain_key(INITIAL_CHAIN_KEY, a, Mode::Write),
            b,
            Mode::Write,
        );
        let ba = next_chain_key(
            next_chain_key(INITIAL_CHAIN_KEY, b, Mode::Write),
            a,
            Mode::Write,
        );
        let ab_r = next_chain_key(
            next_chain_key(INITIAL_CHAIN_KEY, a, Mode::Write),
            b,
            Mode::ReadRecursive,
        );
        assert_ne!(ab, ba);
        assert_ne!(ab, ab_r);
        assert_ne!(ab, 0);
        // Class 0 too: a lock added to a chain always changes its key.
        let zero = ClassId(0);
        let z = next_chain_key(INITIAL_CHAIN_KEY, zero, Mode::Write);
        assert_ne!(z, INITIAL_CHAIN_KEY);
        assert_ne!(next_chain_key(z, zero, Mode::Write), z);
    }
}
