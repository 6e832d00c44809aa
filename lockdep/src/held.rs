//! Per-thread held-lock stacks and the acquisitions that feed them.

use std::sync::Arc;

use std::panic::Location;

#[cfg(test)]
use crate::chain::ChainCache;
use crate::chain::TableView;
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
    /// The lock object, XOR [`EXTRA_TAG`] when `extra` is set: so the steady release, comparing
    /// this word with the lock it releases, also learns that the entry is plain.
    instance_word: u64,
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

/// Marks `instance_word` of an entry with `extra` (any nonzero value would do).
const EXTRA_TAG: u64 = 1 << 63;

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
            instance_word: instance.0,
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
        let extra = (extra != HeldExtra::default()).then(|| Box::new(extra));
        HeldLock {
            instance_word: acquire.instance.0 ^ if extra.is_some() { EXTRA_TAG } else { 0 },
            chain_key,
            code_site,
            bits: pack(
                acquire.class,
                acquire.mode,
                acquire.kind,
                acquire.trylock,
                context,
            ),
            extra,
        }
    }

    /// The acquisition this entry records.
    pub fn acquire(&self) -> Acquire {
        Acquire {
            class: self.class(),
            instance: self.instance(),
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
        InstanceId(self.instance_word ^ if self.is_plain() { 0 } else { EXTRA_TAG })
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

    /// The acquisition site, when it is a place in this program.
    #[inline]
    pub(crate) fn code_site(&self) -> Option<&'static Location<'static>> {
        self.code_site
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
                self.instance_word ^= EXTRA_TAG;
                self.extra = Some(Box::new(HeldExtra {
                    references,
                    ..HeldExtra::default()
                }))
            }
        }
    }

    /// Whether this entry is a write acquisition downgraded to the read it is (where, the
    /// thread's `downgrades` table says). The mark lives and dies with the entry: a later read
    /// of the lock at the same site is a new entry, without it.
    #[inline]
    pub(crate) fn downgraded(&self) -> bool {
        self.bits & DOWNGRADED != 0
    }

    fn mark_downgraded(&mut self) {
        self.bits |= DOWNGRADED;
    }

    /// Whether this is an entry the steady state may pop: nothing beyond the five words.
    #[inline(always)]
    pub(crate) fn is_plain(&self) -> bool {
        self.extra.is_none()
    }
}

/// The bit of `HeldLock::bits` that marks a downgraded entry (bits 49–55 are otherwise clear).
const DOWNGRADED: u64 = 1 << 49;

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

/// Extends a chain key by one held lock (its class, read mode and kind; lockdep's `hlock_id`
/// with the wait type the kind implies).
///
/// The key is the XOR of each held lock's hash, rotated by 23 bits per level above it, so
/// extending it costs a rotate and an XOR after the hash — and the hash depends only on the lock,
/// not on the key, so it is computed while the key is still being loaded. An odd rotation keeps
/// the levels apart (23 rather than 1: a one-bit rotation of a multiplicative hash is nearly the
/// hash of twice the input). The chain caches assume no collisions, as lockdep does (see
/// `hlock_hash` for how that was checked). A key may be 0; the caches never hold it (see
/// [`ThreadState::chain_known`]).
///
/// The kind is hashed so that a key decides the wait context of every level: a known chain then
/// also stands for "the wait-context rule holds", which the steady state relies on.
#[inline(always)]
pub(crate) fn next_chain_key(key: u64, class_word: u64, mode: Mode, kind: LockKind) -> u64 {
    key.rotate_left(23) ^ hlock_hash(class_word, mode, kind)
}

/// A class as chain keys hash it: `(validator generation << 32) | class id`, the word a lock's
/// class cache holds. With the generation in the key, a lock whose cache still holds another
/// validator's class yields a chain no cache knows, so the steady state needs no generation
/// check of its own: the chain lookup is it.
#[inline(always)]
pub(crate) fn class_word(generation: u32, class: ClassId) -> u64 {
    ((generation as u64) << 32) | class.0 as u64
}

/// A 64-bit hash of a (class word, read mode, kind) triple: Fibonacci hashing, one multiply
/// by 2^64/φ (a bijection), whose best-mixed bits are the top ones: the thread's chain cache
/// indexes by the top byte and the shared set folds the top half onto the low one. Mode and
/// kind go into the top five bits of the input, which generations below 2^27 leave free;
/// generations start at 1, so the input is never 0 and neither is the hash (a zero hash would
/// make a chain and the same chain with that lock added share a key). Checked by simulation:
/// all 7,077,888 chains of three over 64 classes and three modes, and 300,000 random chains of
/// up to twelve locks, have distinct keys, and the cache slots are used evenly (±2% of the
/// mean).
#[inline(always)]
fn hlock_hash(class_word: u64, mode: Mode, kind: LockKind) -> u64 {
    let mode_kind = mode.bits() | ((kind as u64) << 2);
    (class_word ^ (mode_kind << 59)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Whether the held locks `below` leave a context that allows taking a lock of `kind` (the
/// wait-context rule without the thread's non-blocking sections). Only chains for which it holds
/// enter the known-chain caches, so the steady state, which runs outside non-blocking sections
/// only, needs no check of its own.
#[inline]
pub(crate) fn stack_allows(below: Option<&HeldLock>, kind: LockKind) -> bool {
    let wanted = kind.wait_type();
    wanted <= WAIT_SPIN || below.map_or(WAIT_MAX, |h| h.context()) >= wanted
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

/// A thread's held-lock stack: its entries, bottom first, above a sentinel that stands for the
/// empty stack (the initial chain key, the widest wait context, an instance no lock has). The
/// steady state reads the top entry without asking whether there is one, and the steady
/// release compares it without asking either. Derefs to the held entries (sentinel excluded).
pub(crate) struct HeldStack {
    // `entries[0]` is the sentinel and never leaves; the held entries are `entries[1..]`.
    entries: Vec<HeldLock>,
}

impl HeldStack {
    /// An empty stack with room for `capacity` entries before it grows.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut entries = Vec::with_capacity(capacity + 1);
        entries.push(HeldLock {
            // No lock lives at address 0, and instances of replayed traces never reach the
            // steady release that compares this word.
            instance_word: 0,
            chain_key: INITIAL_CHAIN_KEY,
            code_site: None,
            bits: (WAIT_MAX as u64) << 56,
            extra: None,
        });
        HeldStack { entries }
    }

    /// A stack without its sentinel, for the seqcount readers' gates (`runtime`): never empty,
    /// and good for nothing but [`is_empty`](Self::is_empty).
    pub(crate) const fn stand_in() -> Self {
        HeldStack {
            entries: Vec::new(),
        }
    }

    /// The top entry, or the sentinel when nothing is held.
    #[inline(always)]
    pub(crate) fn top(&self) -> &HeldLock {
        // SAFETY: `entries` always holds the sentinel, so it is never empty. (`last()` would
        // make the steady state test for an empty vector.)
        unsafe { self.entries.get_unchecked(self.entries.len() - 1) }
    }

    /// How many entries are held.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - 1
    }

    /// Whether nothing is held (without the slice `Deref` would make).
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.len() == 1
    }

    /// The entry below held entry `i` (the sentinel for the first).
    pub(crate) fn below(&self, i: usize) -> &HeldLock {
        &self.entries[i]
    }

    pub(crate) fn push(&mut self, entry: HeldLock) {
        self.entries.push(entry);
    }

    pub(crate) fn pop(&mut self) -> Option<HeldLock> {
        if self.entries.len() > 1 {
            self.entries.pop()
        } else {
            None
        }
    }

    /// Removes held entry `i`, shifting the ones above it down.
    pub(crate) fn remove(&mut self, i: usize) -> HeldLock {
        assert!(i < self.len(), "held entry {i} of {}", self.len());
        self.entries.remove(i + 1)
    }

    /// Takes every held entry out.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, HeldLock> {
        self.entries.drain(1..)
    }

    pub(crate) fn clear(&mut self) {
        self.entries.truncate(1);
    }

    /// How many entries fit before the stack grows.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity() - 1
    }

    /// The steady state's pop of the top entry if it is a plain entry for `instance`: shortens
    /// the stack without reading the entry back (a load the store forwarding of its recent,
    /// field-by-field write cannot serve) and without a drop call in the frame.
    #[inline(always)]
    pub(crate) fn pop_plain(&mut self, instance: InstanceId) -> bool {
        // One compare: an entry with `extra` has its instance word tagged, and the sentinel's
        // is 0, which no lock's address is.
        let len = self.entries.len();
        if self.top().instance_word != instance.0 {
            return false;
        }
        debug_assert!(len > 1 && self.top().is_plain());
        // SAFETY: the top entry is plain, so none of its fields has drop glue (`extra` is
        // `None`, the rest is `Copy`): shortening the vector over it forgets nothing. It is not
        // the sentinel, whose instance word no caller passes (their instances are addresses).
        unsafe { self.entries.set_len(len - 1) };
        true
    }

    /// The steady state's push: writes `entry` into the reserved slot above the top. Never
    /// allocates.
    ///
    /// # Safety
    /// The stack must be below its capacity (the steady state's `limit` never exceeds it).
    #[inline(always)]
    pub(crate) unsafe fn push_reserved(&mut self, entry: HeldLock) {
        let len = self.entries.len();
        debug_assert!(len < self.entries.capacity());
        // SAFETY: `len < capacity` (the caller's promise), so the slot at `len` is allocated and
        // not part of the initialised prefix; writing it and then counting it is `push` without
        // the capacity check and the growth path that would make the caller save registers.
        unsafe {
            self.entries.as_mut_ptr().add(len).write(entry);
            self.entries.set_len(len + 1);
        }
    }
}

impl std::ops::Deref for HeldStack {
    type Target = [HeldLock];

    #[inline]
    fn deref(&self) -> &[HeldLock] {
        &self.entries[1..]
    }
}

impl std::ops::DerefMut for HeldStack {
    #[inline]
    fn deref_mut(&mut self) -> &mut [HeldLock] {
        &mut self.entries[1..]
    }
}

impl std::fmt::Debug for HeldStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The validator-side state of one thread: its held locks and where their chain stands.
pub struct ThreadState {
    pub(crate) held: HeldStack,
    /// Depth of explicit non-blocking sections (the analogue of IRQs-off).
    pub(crate) atomic_depth: u32,
    pub(crate) name: Arc<str>,
    pub(crate) id: u64,
    /// The thread as traces name it: `id`, except inside a [`Validator::scope`], whose held
    /// locks are separate from the thread's and so get a thread number of their own (a capture
    /// may record into the same file as the process-wide validator).
    ///
    /// [`Validator::scope`]: crate::Validator::scope
    pub(crate) trace_id: u64,
    /// This thread's trace buffer, when its validator records.
    pub(crate) rec: Option<Arc<crate::recorder::ThreadBuf>>,
    /// Class names as traces carry them, cached per thread (index = class id).
    pub(crate) class_names: Vec<Option<(Arc<str>, u32)>>,
    /// Chains this thread saw validated: a two-way cache in front of the validator's shared
    /// set, so the steady state reads only thread-local memory (empty slots hold values no key
    /// in them can have, see `EMPTY_KNOWN_CHAINS`). On the heap: inline, its 8 KiB made a
    /// thread's state a value that was built and moved through the stack (several copies at
    /// opt-level 0), and a thread with a small stack overflowed it at its first lock.
    pub(crate) known_chains: Box<[u64; KNOWN_CHAINS]>,
    /// An acquisition went unrecorded (its validator was off): a release of a lock not on the
    /// stack may be one of those, so it is not an unbalanced unlock.
    pub(crate) untracked: bool,
    /// Events of this thread are not recorded (a seqcount read records one event for its
    /// acquire/release pair).
    pub(crate) quiet: bool,
    /// Locks it holds beyond the depth limit, untracked: their releases are matched here,
    /// silently (one entry per acquisition, most recent last).
    pub(crate) skipped: Vec<InstanceId>,
    /// The thread's last few downgrades, for reports (see [`Downgrade`]). Not in the held
    /// entries: an entry with more than its five words is boxed and leaves the steady release,
    /// which made every write–downgrade–release cycle an allocation (about 40 ns).
    downgrades: [Downgrade; DOWNGRADES],
    /// The slot of `downgrades` the next one replaces, unless its lock already has one.
    next_downgrade: usize,
}

/// Downgrades a thread remembers.
const DOWNGRADES: usize = 4;

/// A write (or upgradable) acquisition made a read: which lock, the site of the acquisition and
/// of the downgrade. It stands for the held entry of that lock that carries the downgraded mark
/// (`HeldLock::downgraded`); a release leaves it behind, stale and unused.
#[derive(Clone, Copy, Debug, Default)]
struct Downgrade {
    instance: u64,
    taken_at: Option<&'static Location<'static>>,
    at: Option<&'static Location<'static>>,
}

/// Slots of the per-thread chain cache (8 KiB per thread). Two-way: a key whose top
/// `KNOWN_BITS` bits are `i` is in slot `i` or `i ^ 1`, so two chains a thread alternates between
/// stay cached even when their keys pick the same slot (direct-mapped, such a pair missed on every
/// acquisition). 1,024 slots, not 256: a thread cycling through 10,000 chains misses less often
/// into the shared set (an L2 probe), and one cycling through 1,000 hardly at all
/// (`docs/performance.md`, "What is left").
pub(crate) const KNOWN_CHAINS: usize = 1 << KNOWN_BITS;
const KNOWN_BITS: u32 = 10;

/// The chain cache with nothing in it. An empty slot `i` holds a value whose top bits are
/// `i ^ 2`: no key that may be stored in slot `i` (top bits `i` or `i ^ 1`) equals it, 0
/// included, so the lookup needs no separate empty check.
const EMPTY_KNOWN_CHAINS: [u64; KNOWN_CHAINS] = {
    let mut slots = [0; KNOWN_CHAINS];
    let mut i = 0;
    while i < KNOWN_CHAINS {
        slots[i] = ((i ^ 2) as u64) << (64 - KNOWN_BITS);
        i += 1;
    }
    slots
};

/// An empty chain cache, built on the heap (not through the stack, see `known_chains`).
fn empty_known_chains() -> Box<[u64; KNOWN_CHAINS]> {
    let slots: Box<[u64]> = EMPTY_KNOWN_CHAINS.iter().copied().collect();
    slots
        .try_into()
        .unwrap_or_else(|_| unreachable!("KNOWN_CHAINS slots"))
}

/// The thread's chain-cache slot for `key`.
#[inline(always)]
fn known_slot(key: u64) -> usize {
    (key >> (64 - KNOWN_BITS)) as usize
}

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
            held: HeldStack::with_capacity(depth_hint),
            atomic_depth: 0,
            name: name.into(),
            id,
            trace_id: id,
            rec: None,
            class_names: Vec::new(),
            known_chains: empty_known_chains(),
            untracked: false,
            quiet: false,
            skipped: Vec::new(),
            downgrades: [Downgrade::default(); DOWNGRADES],
            next_downgrade: 0,
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
        self.held.top().chain_key
    }

    /// The wait context the top entry leaves (`WAIT_MAX` with nothing held).
    #[inline(always)]
    pub(crate) fn top_context(&self) -> u8 {
        self.held.top().context()
    }

    /// The chain key of the entries below entry `i`.
    pub(crate) fn key_below(&self, i: usize) -> u64 {
        self.held.below(i).chain_key
    }

    /// Position of the most recent entry for `instance`.
    #[inline]
    pub(crate) fn find(&self, instance: InstanceId) -> Option<usize> {
        self.held.iter().rposition(|h| h.instance() == instance)
    }

    /// The steady state of a release: `instance` is the plain entry on top of the stack; pops
    /// it, rewinds the chain key and returns true (false, changing nothing, otherwise).
    #[inline(always)]
    pub(crate) fn pop_top(&mut self, instance: InstanceId) -> bool {
        self.held.pop_plain(instance)
    }

    /// The steady state of an acquisition without a nest lock: pushes it and returns true if its
    /// chain is known (the thread's cache, then the validator's shared set, which `shared` gives
    /// on a miss) and the stack is below `limit` (the depth limit; it must never exceed the
    /// stack's capacity); otherwise returns false having changed nothing. A trylock is pushed
    /// without the chain lookup (its chain is never validated). The entry is written straight
    /// into the stack's slot, from values in registers.
    ///
    /// A known chain also stands for the wait-context rule holding for the held locks (only such
    /// chains are cached, see [`stack_allows`]), so there is no check here: the caller must
    /// rule out a non-blocking section, which the chain does not cover.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_steady<'a>(
        &mut self,
        limit: usize,
        shared: impl FnOnce() -> TableView<'a>,
        class_word: u64,
        instance: InstanceId,
        mode: Mode,
        kind: LockKind,
        trylock: bool,
        site: Option<&'static Location<'static>>,
    ) -> bool {
        if self.held.len() >= limit {
            return false;
        }
        let key = next_chain_key(self.chain_key(), class_word, mode, kind);
        if !trylock && !self.chain_known(key, shared) {
            return false;
        }
        let class = ClassId(class_word as u32);
        let wanted = kind.wait_type();
        let context = if trylock || wanted == WAIT_INVALID {
            context_within(self.top_context(), kind)
        } else {
            // The chain is known, so the context below allows `wanted`: it becomes the tightest.
            wanted
        };
        debug_assert_eq!(context, context_within(self.top_context(), kind));
        let entry = HeldLock::plain(class, instance, mode, kind, trylock, site, key, context);
        // SAFETY: `len < limit`, and `limit` never exceeds the capacity (its contract).
        unsafe { self.held.push_reserved(entry) };
        true
    }

    /// The steady state of a seqcount read: true if the chain with the reader on top is known
    /// (the thread's cache, then the shared set `shared` gives) and the stack is below `limit`
    /// (nothing is pushed: a reader holds nothing afterwards).
    #[inline(always)]
    pub(crate) fn seq_read_steady<'a>(
        &mut self,
        limit: usize,
        shared: impl FnOnce() -> TableView<'a>,
        class_word: u64,
    ) -> bool {
        let key = next_chain_key(
            self.chain_key(),
            class_word,
            Mode::ReadRecursive,
            LockKind::SeqCount,
        );
        self.held.len() < limit && self.chain_known(key, shared)
    }

    /// Whether the chain `key` was validated: the thread's own cache first, then the validator's
    /// shared set, which `shared` gives (a hit there is remembered in the thread's cache).
    #[inline(always)]
    pub(crate) fn chain_known<'a>(
        &mut self,
        key: u64,
        shared: impl FnOnce() -> TableView<'a>,
    ) -> bool {
        let slot = known_slot(key);
        self.known_chains[slot] == key
            || self.known_chains[slot ^ 1] == key
            || self.chain_known_shared(slot, key, shared())
    }

    /// [`chain_known`](Self::chain_known) past a miss in the thread's cache, out of line so the
    /// steady state stays small. A hit goes into the first slot of the key's pair, and what was
    /// there into the second (the least recently cached of the two drops out).
    #[cold]
    #[inline(never)]
    fn chain_known_shared(&mut self, slot: usize, key: u64, shared: TableView<'_>) -> bool {
        let known = shared.contains(key);
        if known {
            self.known_chains[slot ^ 1] = self.known_chains[slot];
            self.known_chains[slot] = key;
        }
        known
    }

    /// Notes that the held entry `i`, a write or upgradable acquisition, was made a read at `at`.
    #[inline]
    pub(crate) fn note_downgrade(&mut self, i: usize, at: &Site) {
        let (Site::Code(at), Some(taken_at)) = (at, self.held[i].code_site()) else {
            return;
        };
        let instance = self.held[i].instance().0;
        // The lock's own slot, else one that no held downgraded entry needs, else the oldest.
        let live = |d: &Downgrade| {
            self.held
                .iter()
                .any(|h| h.downgraded() && h.instance().0 == d.instance)
        };
        let slot = self
            .downgrades
            .iter()
            .position(|d| d.instance == instance)
            .or_else(|| self.downgrades.iter().position(|d| !live(d)))
            .unwrap_or_else(|| {
                let slot = self.next_downgrade;
                self.next_downgrade = (slot + 1) % DOWNGRADES;
                slot
            });
        self.downgrades[slot] = Downgrade {
            instance,
            taken_at: Some(taken_at),
            at: Some(at),
        };
        self.held[i].mark_downgraded();
    }

    /// Where the held entry `h` of this thread was downgraded to the read it is, if it was.
    pub(crate) fn downgraded_at(&self, h: &HeldLock) -> Option<Site> {
        let taken_at = h.code_site()?;
        if !h.downgraded() || !h.mode().is_read() {
            return None;
        }
        self.downgrades
            .iter()
            .find(|d| {
                d.instance == h.instance().0
                    && d.taken_at.is_some_and(|t| std::ptr::eq(t, taken_at))
            })
            .and_then(|d| d.at.map(Site::Code))
    }

    /// Whether `instance` was taken beyond the depth limit and not released yet.
    pub(crate) fn is_skipped(&self, instance: InstanceId) -> bool {
        self.skipped.contains(&instance)
    }

    /// Matches a release of `instance` with an acquisition taken beyond the depth limit; false
    /// if there is none.
    pub(crate) fn unskip(&mut self, instance: InstanceId) -> bool {
        match self.skipped.iter().rposition(|s| *s == instance) {
            Some(i) => {
                self.skipped.remove(i);
                true
            }
            None => false,
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
    fn two_chains_in_one_slot_both_stay_cached() {
        let shared = ChainCache::new(16);
        // Two keys with the same top bits (the same first slot).
        let (a, b) = (0x1200_0000_0000_0001, 0x1211_3400_0000_0002);
        assert_eq!(known_slot(a), known_slot(b));
        shared.insert(a);
        shared.insert(b);
        let mut t = ThreadState::new("t", 1, 4);
        let misses = std::cell::Cell::new(0);
        let lookup = |t: &mut ThreadState, key| {
            t.chain_known(key, || {
                misses.set(misses.get() + 1);
                shared.view()
            })
        };
        assert!(lookup(&mut t, a) && lookup(&mut t, b));
        assert_eq!(misses.get(), 2);
        for _ in 0..3 {
            assert!(lookup(&mut t, a) && lookup(&mut t, b));
        }
        assert_eq!(misses.get(), 2, "alternating between the two never misses");
        // An empty cache matches nothing: not 0, not the values empty slots hold (each a miss
        // that asks the shared set, empty here).
        let empty = ChainCache::new(16);
        let mut fresh = ThreadState::new("u", 2, 4);
        let asked = std::cell::Cell::new(0);
        for key in [0, a, 2 << (64 - KNOWN_BITS), 3 << (64 - KNOWN_BITS)] {
            assert!(!fresh.chain_known(key, || {
                asked.set(asked.get() + 1);
                empty.view()
            }));
        }
        assert_eq!(asked.get(), 4);
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
    fn only_a_plain_entry_on_top_pops_in_the_steady_state() {
        let mut t = ThreadState::new("t", 1, 4);
        let (a, b) = (InstanceId(0x1000), InstanceId(1 << 63 | 0x2000));
        let site = std::panic::Location::caller();
        let plain = |i| {
            HeldLock::plain(
                ClassId(1),
                i,
                Mode::Write,
                LockKind::Mutex,
                false,
                Some(site),
                5,
                4,
            )
        };
        t.held.push(plain(a));
        t.held.push(plain(b));
        assert!(!t.pop_top(a), "not on top");
        assert!(t.pop_top(b), "any instance word, the top bit too");
        // Merged acquisitions (references) need the full path: the tag keeps the steady one out,
        // and the instance reads back unchanged.
        t.held[0].set_references(2);
        assert_eq!(t.held[0].instance(), a);
        assert_eq!(t.find(a), Some(0));
        assert!(!t.pop_top(a));
        let nested = Acquire {
            class: ClassId(2),
            instance: b,
            mode: Mode::Write,
            trylock: false,
            nest_lock: Some(a),
            kind: LockKind::Mutex,
            site: Site::Unknown,
        };
        t.held.push(HeldLock::new(nested, 6, 4));
        assert_eq!((t.held[1].instance(), t.find(b)), (b, Some(1)));
        assert!(!t.pop_top(b));
    }

    #[test]
    fn chain_key_depends_on_order_class_mode_kind_and_validator() {
        let (a, b) = (class_word(1, ClassId(1)), class_word(1, ClassId(2)));
        let key = |lock: &[(u64, Mode, LockKind)]| {
            lock.iter().fold(INITIAL_CHAIN_KEY, |k, &(c, m, kind)| {
                next_chain_key(k, c, m, kind)
            })
        };
        let (w, r, mutex) = (Mode::Write, Mode::ReadRecursive, LockKind::Mutex);
        let ab = key(&[(a, w, mutex), (b, w, mutex)]);
        assert_ne!(ab, key(&[(b, w, mutex), (a, w, mutex)]));
        assert_ne!(ab, key(&[(a, w, mutex), (b, r, mutex)]));
        assert_ne!(ab, key(&[(a, w, mutex), (b, w, LockKind::SpinLock)]));
        // The same class ids in another validator: another chain.
        let (a2, b2) = (class_word(2, ClassId(1)), class_word(2, ClassId(2)));
        assert_ne!(ab, key(&[(a2, w, mutex), (b2, w, mutex)]));
        assert_ne!(ab, 0);
        // Class 0 too: a lock added to a chain always changes its key.
        let zero = class_word(1, ClassId(0));
        let z = next_chain_key(INITIAL_CHAIN_KEY, zero, w, mutex);
        assert_ne!(z, INITIAL_CHAIN_KEY);
        assert_ne!(next_chain_key(z, zero, w, mutex), z);
    }
}
