//! Per-thread held-lock stacks and the acquisitions that feed them.

use std::sync::Arc;

use crate::class::{ClassId, LockKind, Site};

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

/// One entry of a thread's held-lock stack.
#[derive(Clone, Debug)]
pub struct HeldLock {
    /// The acquisition that put it here.
    pub acquire: Acquire,
    /// Chain key of the stack below this entry (rewound to on release).
    pub(crate) prev_chain_key: u64,
    /// Same-class acquisitions under a nest lock merged into this entry, the first included
    /// (0 = a plain entry), as lockdep's `references`.
    pub(crate) references: u64,
    /// The tightest wait type of this entry and every one below it (`WAIT_MAX` if none), so the
    /// wait-context rule is one comparison in the steady state. Never below the true value.
    pub(crate) context: u8,
}

/// Initial chain key of an empty stack, as lockdep's `INITIAL_CHAIN_KEY`.
pub(crate) const INITIAL_CHAIN_KEY: u64 = u64::MAX;

/// Extends a chain key by one held lock (its class and read mode, as lockdep's `hlock_id`).
#[inline]
pub(crate) fn next_chain_key(key: u64, class: ClassId, mode: Mode) -> u64 {
    let id = (class.0 as u64) | (mode.bits() << 32);
    // One round of a 64-bit mixer; the chain cache assumes no collisions, as lockdep does.
    let mut x = key.rotate_left(29) ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    // Never yield 0: the chain cache uses 0 as its empty-slot marker.
    if x == 0 { 1 } else { x }
}

/// The validator-side state of one thread: its held locks and where their chain stands.
pub struct ThreadState {
    pub(crate) held: Vec<HeldLock>,
    pub(crate) chain_key: u64,
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

/// Slots of the per-thread chain cache (512 bytes per thread).
pub(crate) const KNOWN_CHAINS: usize = 64;

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
            chain_key: INITIAL_CHAIN_KEY,
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

    /// Position of the most recent entry for `instance`.
    #[inline]
    pub(crate) fn find(&self, instance: InstanceId) -> Option<usize> {
        self.held
            .iter()
            .rposition(|h| h.acquire.instance == instance)
    }

    /// Whether an entry of `class` stands for several acquisitions merged under a nest lock.
    pub(crate) fn holds_merged(&self, class: ClassId) -> bool {
        self.held
            .iter()
            .any(|h| h.references > 0 && h.acquire.class == class)
    }

    /// The per-thread cache slot of a chain key.
    #[inline]
    pub(crate) fn known_slot(key: u64) -> usize {
        (key >> 40) as usize % KNOWN_CHAINS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
