//! Issue 18's harness: lockdep against parking_lot and the other lock-order checkers, measured
//! the way a user's program runs them — one process, the default release profile (this crate is
//! outside the workspace, so none of its profile settings apply), every contender's rounds
//! interleaved with every other's, so slow phases of a shared machine hit all of them alike.
//!
//! ```text
//! cd bench && cargo run --release -- [--quick] [--rounds N] [--ms N] [--only NAME]... [--skip NAME]...
//!                          [--with CONTENDER]... [--repeat N] [--no-warm-up] [--per-round]
//!                          [--tsv FILE]
//! ```
//!
//! For each scenario, each round runs every contender once (in an order rotated from round to
//! round) for a fixed number of operations, calibrated to take about `--ms` milliseconds; the
//! table gives the fastest and the median round per operation, the added nanoseconds against
//! parking_lot 0.13 (from the fastest rounds, and the median of the per-round differences), and
//! the ratio of the fastest rounds. The controls row lets another machine scale the numbers: a
//! chain of dependent adds (one cycle each) and a bare pair of `lock cmpxchg` (what an
//! uncontended parking_lot lock and unlock execute).
//!
//! The scenarios, the contenders and the figures: `docs/performance.md`. `scripts/` has the
//! trace generator for `lockcheck replay` throughput (run by hand too).

use std::hint::black_box;
use std::ops::DerefMut;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

// ----- contenders -----

/// A mutex family under test: its `Mutex<u64>`, how it is built and locked.
trait Family: 'static {
    const NAME: &'static str;
    type M: Send + Sync + 'static;
    type G<'a>: DerefMut<Target = u64>;
    /// Lock number `index` of a scenario, each its own class where the checker has classes.
    fn make(index: usize) -> Self::M;
    /// A lock as a user builds it (`Mutex::new(0)`), for create + drop.
    fn new_plain() -> Self::M;
    fn lock(m: &Self::M) -> Self::G<'_>;
    /// Runs before this contender's round (outside the timing).
    fn enter() {}
    /// Runs after it.
    fn leave() {}
}

/// A family with a condition variable.
trait CvFamily: Family {
    type Cv: Send + Sync + 'static;
    fn new_cv() -> Self::Cv;
    fn wait<'a>(cv: &Self::Cv, g: Self::G<'a>) -> Self::G<'a>;
    fn notify_one(cv: &Self::Cv);
}

struct Pl13;
impl Family for Pl13 {
    const NAME: &'static str = "parking_lot 0.13";
    type M = parking_lot::Mutex<u64>;
    type G<'a> = parking_lot::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        parking_lot::Mutex::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        parking_lot::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
}
impl CvFamily for Pl13 {
    type Cv = parking_lot::Condvar;
    fn new_cv() -> Self::Cv {
        parking_lot::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, mut g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(&mut g);
        g
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

struct Pl12;
impl Family for Pl12 {
    const NAME: &'static str = "parking_lot 0.12";
    type M = parking_lot_012::Mutex<u64>;
    type G<'a> = parking_lot_012::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        parking_lot_012::Mutex::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        parking_lot_012::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
}
impl CvFamily for Pl12 {
    type Cv = parking_lot_012::Condvar;
    fn new_cv() -> Self::Cv {
        parking_lot_012::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, mut g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(&mut g);
        g
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

struct Std;
impl Family for Std {
    const NAME: &'static str = "std::sync";
    type M = std::sync::Mutex<u64>;
    type G<'a> = std::sync::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        std::sync::Mutex::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        std::sync::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock().unwrap()
    }
}
impl CvFamily for Std {
    type Cv = std::sync::Condvar;
    fn new_cv() -> Self::Cv {
        std::sync::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(g).unwrap()
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

/// Each lock of a scenario its own class, as each is its own node in tracing-mutex.
fn key(index: usize) -> &'static lockdep::ClassKey {
    static KEYS: std::sync::OnceLock<Vec<&'static lockdep::ClassKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        (0..WS_LOCKS_MAX)
            .map(|_| &*Box::leak(Box::new(lockdep::ClassKey::new("bench"))))
            .collect()
    })[index]
}

struct Lockdep;
impl Family for Lockdep {
    const NAME: &'static str = "lockdep";
    type M = lockdep::Mutex<u64>;
    type G<'a> = lockdep::MutexGuard<'a, u64>;
    fn make(index: usize) -> Self::M {
        lockdep::Mutex::with_class(key(index), 0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        lockdep::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
}
impl CvFamily for Lockdep {
    type Cv = lockdep::Condvar;
    fn new_cv() -> Self::Cv {
        lockdep::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, mut g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(&mut g);
        g
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

/// lockdep with validation switched off at run time: `lockdep::set_enabled(false)`, the switch
/// `LOCKDEP=off` sets (one process-wide word), around this contender's rounds only.
struct LockdepOff;
impl Family for LockdepOff {
    const NAME: &'static str = "lockdep LOCKDEP=off";
    type M = lockdep::Mutex<u64>;
    type G<'a> = lockdep::MutexGuard<'a, u64>;
    fn make(index: usize) -> Self::M {
        Lockdep::make(index)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        lockdep::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
    fn enter() {
        lockdep::set_enabled(false);
    }
    fn leave() {
        lockdep::set_enabled(true);
    }
}
impl CvFamily for LockdepOff {
    type Cv = lockdep::Condvar;
    fn new_cv() -> Self::Cv {
        lockdep::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, g: Self::G<'a>) -> Self::G<'a> {
        Lockdep::wait(cv, g)
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

struct Tracing;
impl Family for Tracing {
    const NAME: &'static str = "tracing-mutex 0.3";
    type M = tracing_mutex::parkinglot::tracing::Mutex<u64>;
    type G<'a> = tracing_mutex::parkinglot::tracing::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        Self::M::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        Self::M::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
}

/// tracing-mutex's condition variable exists in its std flavour only.
struct TracingStd;
impl Family for TracingStd {
    const NAME: &'static str = "tracing-mutex 0.3 (std)";
    type M = tracing_mutex::stdsync::tracing::Mutex<u64>;
    type G<'a> = tracing_mutex::stdsync::tracing::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        Self::M::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        Self::M::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock().unwrap()
    }
}
impl CvFamily for TracingStd {
    type Cv = tracing_mutex::stdsync::tracing::Condvar;
    fn new_cv() -> Self::Cv {
        Self::Cv::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(g).unwrap()
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

struct Deloxide;
impl Family for Deloxide {
    const NAME: &'static str = "deloxide 1.1";
    type M = deloxide::Mutex<u64>;
    type G<'a> = deloxide::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        deloxide::Mutex::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        deloxide::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock()
    }
}
impl CvFamily for Deloxide {
    type Cv = deloxide::Condvar;
    fn new_cv() -> Self::Cv {
        deloxide::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, mut g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(&mut g);
        g
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

struct NoDeadlocks;
impl Family for NoDeadlocks {
    const NAME: &'static str = "no_deadlocks 1.3";
    type M = no_deadlocks::Mutex<u64>;
    type G<'a> = no_deadlocks::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self::M {
        no_deadlocks::Mutex::new(0)
    }
    #[inline(always)]
    fn new_plain() -> Self::M {
        no_deadlocks::Mutex::new(0)
    }
    #[inline(always)]
    fn lock(m: &Self::M) -> Self::G<'_> {
        m.lock().unwrap()
    }
}
impl CvFamily for NoDeadlocks {
    type Cv = no_deadlocks::Condvar;
    fn new_cv() -> Self::Cv {
        no_deadlocks::Condvar::new()
    }
    #[inline(always)]
    fn wait<'a>(cv: &Self::Cv, g: Self::G<'a>) -> Self::G<'a> {
        cv.wait(g).unwrap()
    }
    #[inline(always)]
    fn notify_one(cv: &Self::Cv) {
        cv.notify_one();
    }
}

// ----- workloads: each a never-inlined function per contender, so each contender's loop is a
// small function of its own, compiled as a lock call in ordinary code is -----

/// A prepared workload: `run(n)` performs `n` operations and returns the time they took.
type Runner = Box<dyn FnMut(u64) -> Duration>;

#[inline(never)]
fn nested_loop<F: Family, const D: usize>(locks: &[F::M; D], n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        // Taken in order, released in reverse (guards drop in reverse declaration order).
        match D {
            1 => {
                let mut a = F::lock(&locks[0]);
                *a += 1;
            }
            2 => {
                let a = F::lock(&locks[0]);
                let mut b = F::lock(&locks[1]);
                *b += 1;
                drop(b);
                drop(a);
            }
            4 => {
                let a = F::lock(&locks[0]);
                let b = F::lock(&locks[1]);
                let c = F::lock(&locks[2]);
                let mut d = F::lock(&locks[3]);
                *d += 1;
                drop(d);
                drop(c);
                drop(b);
                drop(a);
            }
            8 => {
                let a = F::lock(&locks[0]);
                let b = F::lock(&locks[1]);
                let c = F::lock(&locks[2]);
                let d = F::lock(&locks[3]);
                let e = F::lock(&locks[4]);
                let f = F::lock(&locks[5]);
                let g = F::lock(&locks[6]);
                let mut h = F::lock(&locks[7]);
                *h += 1;
                drop(h);
                drop(g);
                drop(f);
                drop(e);
                drop(d);
                drop(c);
                drop(b);
                drop(a);
            }
            _ => unreachable!(),
        }
    }
    start.elapsed()
}

fn nested<F: Family, const D: usize>() -> Runner {
    let locks: Arc<[F::M; D]> = Arc::new(std::array::from_fn(F::make));
    Box::new(move |n| nested_loop::<F, D>(black_box(&*locks), n))
}

/// Lock numbers of the working-set scenario: outer locks first, then inner ones.
const WS_LOCKS_MAX: usize = 256;

#[inline(never)]
fn working_set_loop<F: Family>(locks: &[F::M], order: &[(u16, u16)], n: u64) -> Duration {
    let start = Instant::now();
    let mut i = 0;
    for _ in 0..n {
        let (a, b) = order[i];
        let a = F::lock(&locks[a as usize]);
        let mut b = F::lock(&locks[b as usize]);
        *b += 1;
        drop(b);
        drop(a);
        i += 1;
        if i == order.len() {
            i = 0;
        }
    }
    start.elapsed()
}

/// `outer × inner` distinct chains of two (each outer lock, then each inner lock under it),
/// visited in one shuffled order, again and again.
fn working_set<F: Family>(outer: usize, inner: usize) -> Runner {
    let locks: Arc<Vec<F::M>> = Arc::new((0..outer + inner).map(F::make).collect());
    let mut order: Vec<(u16, u16)> = (0..outer)
        .flat_map(|a| (0..inner).map(move |b| (a as u16, (outer + b) as u16)))
        .collect();
    Rng(0x5eed_1234_abcd_0001).shuffle(&mut order);
    Box::new(move |n| working_set_loop::<F>(black_box(&locks), &order, n))
}

#[inline(never)]
fn contended_loop<F: Family>(m: &F::M, n: u64) {
    for _ in 0..n {
        let mut g = F::lock(m);
        *g += 1;
    }
}

/// Two threads, one mutex: `n` acquisitions in all, half on each thread. Timed from the first
/// thread's start to the last one's end, each thread reading the clock itself (a clock read by
/// the spawning thread would miss the work done while it waited for a core).
fn contended<F: Family>() -> Runner {
    Box::new(move |n| {
        let m = Arc::new(F::make(0));
        let half = n.div_ceil(2);
        two_threads(move |_| {
            let m = m.clone();
            contended_loop::<F>(&m, 16); // the thread's own state, before the clock
            move || contended_loop::<F>(&m, half)
        })
    })
}

/// Runs the work `prepare(i)` returns on two threads at once (each prepared before a common
/// start) and returns the span from the first start to the last end.
fn two_threads<W: FnOnce() + Send + 'static>(
    prepare: impl Fn(u64) -> W + Send + Sync + 'static,
) -> Duration {
    let start = Arc::new(Barrier::new(2));
    let prepare = Arc::new(prepare);
    let threads: Vec<_> = (0..2u64)
        .map(|i| {
            let (start, prepare) = (start.clone(), prepare.clone());
            std::thread::spawn(move || {
                let work = prepare(i);
                start.wait();
                let t0 = Instant::now();
                work();
                (t0, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let first = spans.iter().map(|s| s.0).min().unwrap();
    let last = spans.iter().map(|s| s.1).max().unwrap();
    last - first
}

#[inline(never)]
fn ping_pong_loop<F: CvFamily>(m: &F::M, cv: &F::Cv, parity: u64, n: u64) {
    let mut g = F::lock(m);
    for _ in 0..n {
        while *g % 2 != parity {
            g = F::wait(cv, g);
        }
        *g += 1;
        F::notify_one(cv);
    }
}

/// Two threads hand a counter back and forth through one mutex and condvar: `n` hand-offs.
fn ping_pong<F: CvFamily>() -> Runner {
    Box::new(move |n| {
        let pair = Arc::new((F::make(0), F::new_cv()));
        let half = n.div_ceil(2);
        two_threads(move |parity| {
            let pair = pair.clone();
            drop(F::lock(&pair.0));
            move || ping_pong_loop::<F>(&pair.0, &pair.1, parity, half)
        })
    })
}

#[inline(never)]
fn create_drop_loop<F: Family>(v: &mut Vec<F::M>, n: u64) -> Duration {
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(CREATE_BATCH as u64);
        v.extend((0..k).map(|_| F::new_plain()));
        black_box(&mut *v);
        v.clear();
        left -= k;
    }
    start.elapsed()
}

const CREATE_BATCH: usize = 1024;

/// Builds `Mutex::new(0u64)`s into a vector (reused, so no allocation is timed) and drops them.
fn create_drop<F: Family>() -> Runner {
    let mut v = Vec::with_capacity(CREATE_BATCH);
    Box::new(move |n| create_drop_loop::<F>(&mut v, n))
}

// ----- seqcount readers -----

/// A plain sequence-counter read of a `u64`: what `lockdep::SeqLock::read` is without
/// validation (and compiles to when validation is compiled out).
struct RawSeqLock {
    seq: std::sync::atomic::AtomicUsize,
    data: std::cell::UnsafeCell<u64>,
}
// SAFETY: readers copy racily and retry, as a seqlock does; nothing writes in the benchmark.
unsafe impl Sync for RawSeqLock {}
impl RawSeqLock {
    #[inline(always)]
    fn read(&self) -> u64 {
        use std::sync::atomic::{Ordering, fence};
        loop {
            let s = self.seq.load(Ordering::Acquire);
            if s & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            // SAFETY: a copy of a plain integer; discarded below if a writer ran meanwhile.
            let v = unsafe { std::ptr::read_volatile(self.data.get()) };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s {
                return v;
            }
        }
    }
}

#[inline(never)]
fn raw_seq_loop(s: &RawSeqLock, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(s.read());
    }
    start.elapsed()
}

#[inline(never)]
fn lockdep_seq_loop(s: &lockdep::SeqLock<u64>, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(s.read());
    }
    start.elapsed()
}

/// Reads with a lockdep mutex held, so every read is validated (the chain with the reader on
/// top is looked up): the path a reader inside a critical section takes.
#[inline(never)]
fn lockdep_seq_loop_held(m: &lockdep::Mutex<()>, s: &lockdep::SeqLock<u64>, n: u64) -> Duration {
    let _held = m.lock();
    let start = Instant::now();
    for _ in 0..n {
        black_box(s.read());
    }
    start.elapsed()
}

/// A lockdep seqlock and a mutex beside it, for the reader rows.
type SeqWithMutex = (lockdep::Mutex<()>, lockdep::SeqLock<u64>);

/// The seqcount rows' contenders: a plain sequence counter, and lockdep's reads by `reads`
/// validating and switched off.
fn seq_readers(reads: fn(&SeqWithMutex, u64) -> Duration) -> Vec<Contender> {
    let raw = Arc::new(RawSeqLock {
        seq: Default::default(),
        data: 0.into(),
    });
    let on = Arc::new((lockdep::Mutex::new(()), lockdep::SeqLock::new(0u64)));
    let off = on.clone();
    vec![
        Contender {
            name: "plain sequence counter",
            runner: Box::new(move |n| raw_seq_loop(&raw, n)),
            enter: no_op,
            leave: no_op,
        },
        Contender {
            name: Lockdep::NAME,
            runner: Box::new(move |n| reads(&on, n)),
            enter: no_op,
            leave: no_op,
        },
        Contender {
            name: LockdepOff::NAME,
            runner: Box::new(move |n| reads(&off, n)),
            enter: LockdepOff::enter,
            leave: LockdepOff::leave,
        },
    ]
}

// ----- controls -----

/// A chain of dependent adds, eight per iteration (one cycle each on any recent core).
#[inline(never)]
fn add_chain(n: u64) -> Duration {
    let start = Instant::now();
    let mut x = black_box(1u64);
    let y = black_box(3u64);
    for _ in 0..n / 8 {
        for _ in 0..8 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: one register add, no memory.
            unsafe {
                std::arch::asm!("add {x}, {y}", x = inout(reg) x, y = in(reg) y, options(pure, nomem, nostack));
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                x = black_box(x.wrapping_add(y));
            }
        }
    }
    black_box(x);
    start.elapsed()
}

/// A bare uncontended lock and unlock: two compare-exchanges on one byte (`lock cmpxchg` on
/// x86-64), as parking_lot's fast paths.
#[inline(never)]
fn cmpxchg_pair(n: u64) -> Duration {
    use std::sync::atomic::{AtomicU8, Ordering};
    let b = AtomicU8::new(0);
    let b = black_box(&b);
    let start = Instant::now();
    for _ in 0..n {
        let _ = b.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed);
        let _ = b.compare_exchange(1, 0, Ordering::Release, Ordering::Relaxed);
    }
    start.elapsed()
}

// ----- the interleaved rounds -----

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

struct Contender {
    name: &'static str,
    runner: Runner,
    enter: fn(),
    leave: fn(),
}

fn contender<F: Family>(runner: Runner) -> Contender {
    Contender {
        name: F::NAME,
        runner,
        enter: F::enter,
        leave: F::leave,
    }
}

fn no_op() {}

struct Opts {
    rounds: usize,
    per_run: Duration,
    only: Vec<String>,
    skip: Vec<String>,
    with: Vec<String>,
    repeat: usize,
    warm_up: bool,
    per_round: bool,
    tsv: Option<String>,
}

struct Scenario {
    name: String,
    /// Operations per timed operation of the runners (acquisitions per iteration).
    unit: &'static str,
    per_op: f64,
    contenders: Vec<Contender>,
}

struct Row {
    name: &'static str,
    min: f64,
    median: f64,
    paired_added: Option<f64>,
    /// The quartiles of the per-round differences: whether the added cost holds round by round.
    paired_quartiles: Option<(f64, f64)>,
}

/// The `q` quantile of sorted values (linear between the two nearest ranks).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs one scenario and prints its table (and adds its rows to `out`); with `out` `None`, a
/// warm-up: runs it, prints nothing.
fn run_scenario(opts: &Opts, mut s: Scenario, out: Option<&mut Vec<String>>) {
    let k = s.contenders.len();
    // Warm-up and calibration: every chain validated, every class created, caches filled.
    let mut n = vec![0u64; k];
    for (c, ops) in s.contenders.iter_mut().zip(n.iter_mut()) {
        (c.enter)();
        let mut m = 16u64;
        loop {
            let t = (c.runner)(m);
            if t >= opts.per_run / 8 || m >= 1 << 32 {
                *ops = ((m as f64 * opts.per_run.as_secs_f64() / t.as_secs_f64().max(1e-9)) as u64)
                    .max(1);
                break;
            }
            m *= 4;
        }
        (c.leave)();
    }
    let mut times = vec![Vec::with_capacity(opts.rounds); k];
    for round in 0..opts.rounds {
        for j in 0..k {
            let i = (j + round) % k;
            let c = &mut s.contenders[i];
            (c.enter)();
            let t = (c.runner)(n[i]);
            (c.leave)();
            times[i].push(t.as_secs_f64() * 1e9 / (n[i] as f64 * s.per_op));
        }
    }
    if opts.per_round && out.is_some() {
        for (c, t) in s.contenders.iter().zip(&times) {
            let t: Vec<String> = t.iter().map(|x| format!("{x:.1}")).collect();
            eprintln!("{:<26} {}", c.name, t.join(" "));
        }
    }
    let rows: Vec<Row> = (0..k)
        .map(|i| {
            let paired = (i > 0).then(|| {
                let mut d: Vec<f64> = times[i].iter().zip(&times[0]).map(|(a, b)| a - b).collect();
                let m = median(&mut d);
                (m, (quantile(&d, 0.25), quantile(&d, 0.75)))
            });
            let mut v = times[i].clone();
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            Row {
                name: s.contenders[i].name,
                min,
                median: median(&mut v),
                paired_added: paired.map(|p| p.0),
                paired_quartiles: paired.map(|p| p.1),
            }
        })
        .collect();
    let Some(out) = out else { return };
    println!("\n## {} ({}; {} rounds)", s.name, s.unit, opts.rounds);
    println!(
        "{:<26} {:>10} {:>10} {:>12} {:>14} {:>8} {:>16}",
        "contender",
        "min ns",
        "median ns",
        "added (min)",
        "added (paired)",
        "ratio",
        "paired p25..p75"
    );
    let base = rows[0].min;
    for r in &rows {
        let (added, ratio) = (r.min - base, r.min / base);
        let paired = r
            .paired_added
            .map_or("—".to_string(), |p| format!("{p:+.2}"));
        let spread = r
            .paired_quartiles
            .map_or("—".to_string(), |(a, b)| format!("{a:+.2}..{b:+.2}"));
        println!(
            "{:<26} {:>10.2} {:>10.2} {:>+12.2} {:>14} {:>7.2}x {:>16}",
            r.name, r.min, r.median, added, paired, ratio, spread
        );
        let (p25, p75) = r
            .paired_quartiles
            .map_or((String::new(), String::new()), |(a, b)| {
                (format!("{a:.3}"), format!("{b:.3}"))
            });
        out.push(format!(
            "{}\t{}\t{:.3}\t{:.3}\t{:.3}\t{}\t{:.3}\t{}\t{}",
            s.name,
            r.name,
            r.min,
            r.median,
            added,
            r.paired_added.map_or(String::new(), |p| format!("{p:.3}")),
            ratio,
            p25,
            p75
        ));
    }
}

macro_rules! every_family {
    ($make:ident $(::<$($g:tt),*>)? ($($arg:expr),*)) => {
        vec![
            contender::<Pl13>($make::<Pl13 $($(, $g)*)?>($($arg),*)),
            contender::<Pl12>($make::<Pl12 $($(, $g)*)?>($($arg),*)),
            contender::<Std>($make::<Std $($(, $g)*)?>($($arg),*)),
            contender::<Lockdep>($make::<Lockdep $($(, $g)*)?>($($arg),*)),
            contender::<LockdepOff>($make::<LockdepOff $($(, $g)*)?>($($arg),*)),
            contender::<Tracing>($make::<Tracing $($(, $g)*)?>($($arg),*)),
            contender::<Deloxide>($make::<Deloxide $($(, $g)*)?>($($arg),*)),
            contender::<NoDeadlocks>($make::<NoDeadlocks $($(, $g)*)?>($($arg),*)),
        ]
    };
}

/// Uncontended `lock().await` + unlock of tokio's mutex, or lockdep's in a tracked task (held
/// locks follow the task: the steady state users get with `lockdep::tokio::spawn`), on a
/// current-thread runtime.
fn async_runner(validated: bool) -> Runner {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let plain = tokio::sync::Mutex::new(0u64);
    let checked = lockdep::tokio::Mutex::new(0u64);
    Box::new(move |n| {
        if validated {
            rt.block_on(lockdep::tokio::track(async {
                let start = Instant::now();
                for _ in 0..n {
                    *black_box(&checked).lock().await += 1;
                }
                start.elapsed()
            }))
        } else {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    *black_box(&plain).lock().await += 1;
                }
                start.elapsed()
            })
        }
    })
}

/// A scenario: its name, the unit of its times, operations per timed iteration, and its
/// contenders (built when it runs).
type ScenarioSpec = (String, &'static str, f64, fn() -> Vec<Contender>);

fn scenarios() -> Vec<ScenarioSpec> {
    let mut v: Vec<ScenarioSpec> = vec![
        (
            "controls".into(),
            "ns per add / per cmpxchg pair",
            1.0,
            || {
                vec![
                    Contender {
                        name: "dependent add (1 cycle)",
                        runner: Box::new(add_chain),
                        enter: no_op,
                        leave: no_op,
                    },
                    Contender {
                        name: "lock cmpxchg pair",
                        runner: Box::new(cmpxchg_pair),
                        enter: no_op,
                        leave: no_op,
                    },
                ]
            },
        ),
        ("steady depth 1".into(), "ns per acquisition", 1.0, || {
            every_family!(nested::<1>())
        }),
        ("steady depth 2".into(), "ns per acquisition", 2.0, || {
            every_family!(nested::<2>())
        }),
        ("steady depth 4".into(), "ns per acquisition", 4.0, || {
            every_family!(nested::<4>())
        }),
        ("steady depth 8".into(), "ns per acquisition", 8.0, || {
            every_family!(nested::<8>())
        }),
        (
            "working set 1,000 chains, shuffled".into(),
            "ns per acquisition (pairs: 25 outer x 40 inner)",
            2.0,
            || every_family!(working_set(25, 40)),
        ),
        (
            "working set 10,000 chains, shuffled".into(),
            "ns per acquisition (pairs: 100 outer x 100 inner)",
            2.0,
            || every_family!(working_set(100, 100)),
        ),
        (
            "contended, 2 threads, one mutex".into(),
            "ns per acquisition",
            1.0,
            || every_family!(contended()),
        ),
        ("condvar ping-pong".into(), "ns per hand-off", 1.0, || {
            vec![
                contender::<Pl13>(ping_pong::<Pl13>()),
                contender::<Pl12>(ping_pong::<Pl12>()),
                contender::<Std>(ping_pong::<Std>()),
                contender::<Lockdep>(ping_pong::<Lockdep>()),
                contender::<LockdepOff>(ping_pong::<LockdepOff>()),
                contender::<TracingStd>(ping_pong::<TracingStd>()),
                contender::<Deloxide>(ping_pong::<Deloxide>()),
                contender::<NoDeadlocks>(ping_pong::<NoDeadlocks>()),
            ]
        }),
        (
            "seqcount reader, top level".into(),
            "ns per SeqLock<u64>::read",
            1.0,
            || seq_readers(|s, n| lockdep_seq_loop(&s.1, n)),
        ),
        (
            "seqcount reader, one mutex held".into(),
            "ns per SeqLock<u64>::read",
            1.0,
            || seq_readers(|s, n| lockdep_seq_loop_held(&s.0, &s.1, n)),
        ),
        (
            "async mutex, tracked task (issue 21)".into(),
            "ns per lock().await + unlock",
            1.0,
            || {
                vec![
                    Contender {
                        name: "tokio::sync::Mutex",
                        runner: async_runner(false),
                        enter: no_op,
                        leave: no_op,
                    },
                    Contender {
                        name: "lockdep::tokio::Mutex",
                        runner: async_runner(true),
                        enter: no_op,
                        leave: no_op,
                    },
                ]
            },
        ),
        (
            "create + drop Mutex<u64>".into(),
            "ns per lock",
            1.0,
            || every_family!(create_drop()),
        ),
    ];
    v.shrink_to_fit();
    v
}

fn main() {
    let mut opts = Opts {
        rounds: 31,
        per_run: Duration::from_millis(4),
        only: Vec::new(),
        skip: Vec::new(),
        with: Vec::new(),
        repeat: 1,
        warm_up: true,
        per_round: false,
        tsv: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                opts.rounds = 9;
                opts.per_run = Duration::from_millis(2);
            }
            "--rounds" => {
                opts.rounds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--rounds N")
            }
            "--ms" => {
                opts.per_run = Duration::from_micros(
                    (args
                        .next()
                        .and_then(|s| s.parse::<f64>().ok())
                        .expect("--ms N")
                        * 1000.0) as u64,
                )
            }
            "--only" => opts.only.push(args.next().expect("--only NAME")),
            "--skip" => opts.skip.push(args.next().expect("--skip NAME")),
            "--repeat" => {
                opts.repeat = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--repeat N")
            }
            "--per-round" => opts.per_round = true,
            "--no-warm-up" => opts.warm_up = false,
            "--with" => opts.with.push(args.next().expect("--with NAME")),
            "--tsv" => opts.tsv = Some(args.next().expect("--tsv FILE")),
            other => {
                eprintln!(
                    "usage: lockcheck-bench [--quick] [--rounds N] [--ms N] [--only NAME]... \
                     [--skip NAME]... [--with CONTENDER]... [--repeat N] [--no-warm-up] [--per-round] [--tsv FILE]  (unknown: {other})"
                );
                std::process::exit(2);
            }
        }
    }
    // deloxide's detector, as a user starts it (its default: a panic on a detected deadlock).
    deloxide::Deloxide::new()
        .start()
        .expect("deloxide's detector starts");
    println!(
        "# lockcheck-bench: {} rounds of ~{:?} per contender, interleaved; lockdep {}",
        opts.rounds,
        opts.per_run,
        if lockdep::enabled() {
            "validating"
        } else {
            "OFF (validation compiled out or LOCKDEP=off)"
        }
    );
    let mut out = vec![
        "scenario\tcontender\tmin_ns\tmedian_ns\tadded_min_ns\tadded_paired_ns\tratio\tadded_paired_p25_ns\tadded_paired_p75_ns"
            .to_string(),
    ];
    let list = scenarios();
    // A warm-up pass of the first lock scenario, not reported: the first scenario lockdep runs in
    // a process measured slower (by 5-150 ns per acquisition, varying from run to run) than the
    // same scenario run again right after it, while the other contenders did not change
    // (docs/performance.md, "The harness").
    let warm_up = opts.warm_up.then(|| list[1].clone());
    for (i, (name, unit, per_op, make)) in warm_up
        .into_iter()
        .chain((0..opts.repeat).flat_map(|_| list.iter().cloned()))
        .enumerate()
    {
        let is_warm_up = i == 0 && opts.warm_up;
        if !is_warm_up
            && ((!opts.only.is_empty() && !opts.only.iter().any(|o| name.contains(o.as_str())))
                || opts.skip.iter().any(|o| name.contains(o.as_str())))
        {
            continue;
        }
        let mut contenders = make();
        if !opts.with.is_empty() {
            // The first contender is the baseline of the ratios: always kept.
            let mut i = 0;
            contenders.retain(|c| {
                i += 1;
                i == 1 || opts.with.iter().any(|w| c.name == w.as_str())
            });
        }
        let s = Scenario {
            name,
            unit,
            per_op,
            contenders,
        };
        run_scenario(&opts, s, (!is_warm_up).then_some(&mut out));
    }
    if let Some(path) = &opts.tsv {
        std::fs::write(path, out.join("\n") + "\n").expect("writing the TSV");
    }
}
