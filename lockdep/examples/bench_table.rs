//! Side-by-side lock benchmarks: lockdep against raw parking_lot 0.13, `std::sync`, and
//! tracing-mutex 0.3 (parking_lot flavour), printed as time per operation and ratio to raw
//! parking_lot. The scenarios and the targets are in `docs/performance.md`.
//!
//! ```text
//! # lockdep compiled out (`--cfg lockdep_disabled`) first, saved; then everything else, merged:
//! env -u RUST_BACKTRACE RUSTFLAGS="--cfg lockdep_disabled" cargo run --release -p lockdep --target-dir target/off --example bench_table -- --save /tmp/lockdep-off.tsv
//! env -u RUST_BACKTRACE cargo run --release -p lockdep --example bench_table -- --merge /tmp/lockdep-off.tsv
//! ```
//!
//! `--quick` takes fewer samples; `--only NAME` runs the scenarios whose name contains NAME.
//! tracing-mutex captures a backtrace for every new edge when `RUST_BACKTRACE` (or
//! `RUST_LIB_BACKTRACE`) is set, so unset it for its default behaviour (the header says which).
//! The compiled-out column's ratios are against the raw parking_lot of its own run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Counts live heap bytes, for the memory per class and per dependency (scenario 7).
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new.wrapping_sub(layout.size()), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

use lockdep::{ClassKey, Config, LockKind, Mode, OnReport, Site, ThreadState, Validator};

// ----- timing -----

struct Opts {
    samples: usize,
    target: Duration,
    only: Option<String>,
}

/// Time per operation of `run(n)`, which performs `n` operations: the fastest of several samples
/// (the machine's other load only ever adds time).
fn per_op(opts: &Opts, mut run: impl FnMut(u64) -> Duration) -> f64 {
    let mut n = 64u64;
    loop {
        let t = run(n);
        if t >= opts.target / 4 || n > 1 << 34 {
            let scale = opts.target.as_secs_f64() / t.as_secs_f64().max(1e-9);
            n = ((n as f64 * scale) as u64).max(1);
            break;
        }
        n *= 4;
    }
    let mut v: Vec<f64> = (0..opts.samples)
        .map(|_| run(n).as_nanos() as f64 / n as f64)
        .collect();
    v.sort_by(f64::total_cmp);
    v[0]
}

/// Runs `op` `n` times. Never inlined: each contender's loop is then a small function of its
/// own, compiled as a lock call in ordinary code would be, not inside whatever large function
/// the harness happens to be inlined into (where the optimiser's budget is spent elsewhere).
#[inline(never)]
fn timed(n: u64, mut op: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        op();
    }
    t.elapsed()
}

// ----- contenders -----

/// One mutex type under test. Its `acquire` is always inlined, so each contender's loop holds
/// exactly what a call of its own lock function at a user's call site compiles to.
trait Lock: Send + Sync + 'static {
    type Guard<'a>;
    fn make(index: usize) -> Self;
    fn acquire(&self) -> Self::Guard<'_>;
}

/// One reader-writer lock type under test (`read` is its shared acquisition).
trait ReadLock: Send + Sync + 'static {
    type Guard<'a>;
    fn make(index: usize) -> Self;
    fn read(&self) -> Self::Guard<'_>;
}

impl Lock for upstream_parking_lot::Mutex<u64> {
    type Guard<'a> = upstream_parking_lot::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self {
        upstream_parking_lot::Mutex::new(0)
    }
    #[inline(always)]
    fn acquire(&self) -> Self::Guard<'_> {
        self.lock()
    }
}

impl Lock for std::sync::Mutex<u64> {
    type Guard<'a> = std::sync::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline(always)]
    fn acquire(&self) -> Self::Guard<'_> {
        self.lock().unwrap()
    }
}

type TracingMutex = tracing_mutex::parkinglot::tracing::Mutex<u64>;
type TracingRwLock = tracing_mutex::parkinglot::tracing::RwLock<u64>;

impl Lock for TracingMutex {
    type Guard<'a> = tracing_mutex::parkinglot::tracing::MutexGuard<'a, u64>;
    fn make(_: usize) -> Self {
        TracingMutex::new(0)
    }
    #[inline(always)]
    fn acquire(&self) -> Self::Guard<'_> {
        self.lock()
    }
}

/// Each lock of a scenario is its own class, as each is its own node in tracing-mutex.
fn key(index: usize) -> &'static ClassKey {
    static KEYS: std::sync::OnceLock<Vec<&'static ClassKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        (0..1024)
            .map(|_| &*Box::leak(Box::new(ClassKey::new("bench"))))
            .collect()
    })[index]
}

impl Lock for lockdep::Mutex<u64> {
    type Guard<'a> = lockdep::MutexGuard<'a, u64>;
    fn make(index: usize) -> Self {
        lockdep::Mutex::with_class(key(index), 0)
    }
    #[inline(always)]
    fn acquire(&self) -> Self::Guard<'_> {
        self.lock()
    }
}

impl ReadLock for upstream_parking_lot::RwLock<u64> {
    type Guard<'a> = upstream_parking_lot::RwLockReadGuard<'a, u64>;
    fn make(_: usize) -> Self {
        upstream_parking_lot::RwLock::new(0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        upstream_parking_lot::RwLock::read(self)
    }
}

/// parking_lot's recursive-read lock (the raw counterpart of `RecursiveRwLock::read`).
type PlRecursive = upstream_parking_lot::RecursiveRwLock<u64>;
impl ReadLock for PlRecursive {
    type Guard<'a> = upstream_parking_lot::RecursiveRwLockReadGuard<'a, u64>;
    fn make(_: usize) -> Self {
        upstream_parking_lot::RecursiveRwLock::new(0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        upstream_parking_lot::RecursiveRwLock::read(self)
    }
}

impl ReadLock for std::sync::RwLock<u64> {
    type Guard<'a> = std::sync::RwLockReadGuard<'a, u64>;
    fn make(_: usize) -> Self {
        std::sync::RwLock::new(0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        std::sync::RwLock::read(self).unwrap()
    }
}

impl ReadLock for TracingRwLock {
    type Guard<'a> = tracing_mutex::parkinglot::tracing::RwLockReadGuard<'a, u64>;
    fn make(_: usize) -> Self {
        TracingRwLock::new(0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        TracingRwLock::read(self)
    }
}

impl ReadLock for lockdep::RwLock<u64> {
    type Guard<'a> = lockdep::RwLockReadGuard<'a, u64>;
    fn make(index: usize) -> Self {
        lockdep::RwLock::with_class(key(index), 0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        lockdep::RwLock::read(self)
    }
}

impl ReadLock for lockdep::RecursiveRwLock<u64> {
    type Guard<'a> = lockdep::RecursiveRwLockReadGuard<'a, u64>;
    fn make(index: usize) -> Self {
        // Its own class: a key's class has one kind.
        lockdep::RecursiveRwLock::with_class(key(index + 1), 0)
    }
    #[inline(always)]
    fn read(&self) -> Self::Guard<'_> {
        lockdep::RecursiveRwLock::read(self)
    }
}

// ----- scenarios, generic over the contender -----

/// Scenarios 1 and 2: `depth` locks taken in the same order every time, released in reverse.
fn nested<L: Lock>(opts: &Opts, depth: usize) -> f64 {
    let locks: Vec<L> = (0..depth).map(L::make).collect();
    per_op(opts, |n| match depth {
        1 => timed(n, || {
            let a = locks[0].acquire();
            black_box(&a);
        }),
        2 => timed(n, || {
            let a = locks[0].acquire();
            let b = locks[1].acquire();
            black_box((&a, &b));
        }),
        4 => timed(n, || {
            let a = locks[0].acquire();
            let b = locks[1].acquire();
            let c = locks[2].acquire();
            let d = locks[3].acquire();
            black_box((&a, &b, &c, &d));
        }),
        _ => unreachable!("depth 1, 2 or 4"),
    })
}

/// Scenario 3: a read lock nested under a mutex.
fn read_under_mutex<L: Lock, R: ReadLock>(opts: &Opts) -> f64 {
    let (m, r) = (L::make(10), R::make(11));
    per_op(opts, |n| {
        timed(n, || {
            let a = m.acquire();
            let b = r.read();
            black_box((&a, &b));
        })
    })
}

/// Scenario 6: `threads` threads, each nesting two locks of its own `n` times; the wall time
/// from the first thread's start to the last one's end (each thread stamps its own).
fn scaling_run<L: Lock>(threads: usize, n: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let (a, b) = (L::make(20), L::make(21));
                // Warm up: the chain is validated once, then steady.
                drop((a.acquire(), b.acquire()));
                barrier.wait();
                let start = Instant::now();
                timed(n, || {
                    let x = a.acquire();
                    let y = b.acquire();
                    black_box((&x, &y));
                });
                (start, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let first = spans.iter().map(|s| s.0).min().unwrap();
    let last = spans.iter().map(|s| s.1).max().unwrap();
    last - first
}

/// The control for scenario 6: pure computation in registers, no memory shared or written, so
/// its speedup is what the machine gives two threads at that moment.
struct Compute;
impl Lock for Compute {
    type Guard<'a> = u64;
    fn make(_: usize) -> Self {
        Compute
    }
    #[inline(always)]
    fn acquire(&self) -> u64 {
        let mut x = black_box(1u64);
        for i in 0..12u64 {
            x = (x ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        }
        x
    }
}

/// Scenario 5: tracing-mutex's own benchmark, all pairs `(a, b)` with index(a) < index(b) in
/// shuffled order, new locks (and so a new graph) each round: mostly new edges.
fn pairs<L: Lock>(opts: &Opts, nodes: usize, fresh: impl Fn() -> Option<Validator>) -> f64 {
    let mut rng = Rng(42);
    let mut combos: Vec<(usize, usize)> = (0..nodes)
        .flat_map(|i| (i + 1..nodes).map(move |j| (i, j)))
        .collect();
    rng.shuffle(&mut combos);
    let rounds = (200_000 / combos.len()).clamp(3, 2000) * opts.samples / 7;
    let mut per_round = Vec::new();
    for _ in 0..rounds.max(3) {
        let locks: Vec<L> = (0..nodes).map(L::make).collect();
        let validator = fresh();
        let body = || {
            let t = Instant::now();
            for &(a, b) in &combos {
                let x = locks[a].acquire();
                let y = locks[b].acquire();
                black_box((&x, &y));
            }
            t.elapsed()
        };
        let t = match &validator {
            Some(v) => v.scope(body),
            None => body(),
        };
        per_round.push(t.as_nanos() as f64 / combos.len() as f64);
        drop(locks);
        drop(validator);
    }
    per_round.sort_by(f64::total_cmp);
    per_round[per_round.len() / 2]
}

/// A private validator with limits raised for `classes` classes and `edges` dependencies.
fn big_validator(classes: usize, edges: usize, backtraces: bool) -> Validator {
    Validator::with_on_report(
        Config {
            max_classes: classes + 64,
            max_edges: edges + 64,
            max_chains: edges * 2 + 1024,
            backtraces,
            ..Config::default()
        },
        OnReport::Collect,
    )
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Scenario 7: latency of adding one new dependency to a graph of `classes` classes with ten
/// dependencies each, driven through `Validator::acquire` as the lock hooks do. Returns
/// (median, 90th percentile, max) in ns for three kinds of new edge, and the memory used.
fn new_edge_latency(classes: usize) -> NewEdge {
    let edges_per_class = 10;
    let heap0 = LIVE.load(Ordering::Relaxed);
    let v = big_validator(classes + 4096, classes * edges_per_class + 8192, false);
    let chain_set = LIVE.load(Ordering::Relaxed) - heap0;
    let heap1 = LIVE.load(Ordering::Relaxed);
    let ids: Vec<_> = (0..classes)
        .map(|i| v.class_named(&format!("c{i}"), LockKind::Mutex).unwrap())
        .collect();
    let per_class = (LIVE.load(Ordering::Relaxed) - heap1) as f64 / classes as f64;
    let mut t = ThreadState::new("bench", 1, 8);
    let acq = |class, id: u64| lockdep::Acquire {
        class,
        instance: lockdep::InstanceId(id),
        mode: Mode::Write,
        trylock: false,
        nest_lock: None,
        kind: LockKind::Mutex,
        site: Site::Unknown,
    };
    let mut rng = Rng(7);
    // A random DAG consistent with the class numbering (the program's lock hierarchy), built in
    // random order of the sources so the order maintenance is exercised.
    let mut sources: Vec<usize> = (0..classes).collect();
    rng.shuffle(&mut sources);
    let build = Instant::now();
    let heap2 = LIVE.load(Ordering::Relaxed);
    let add = |t: &mut ThreadState, a: usize, b: usize| -> Duration {
        let r1 = v.acquire(t, acq(ids[a], 1));
        let start = Instant::now();
        let r2 = v.acquire(t, acq(ids[b], 2));
        let took = start.elapsed();
        assert!(
            r1.is_empty() && r2.is_empty(),
            "{:?}",
            r2.first().map(|r| r.title())
        );
        v.release(t, lockdep::InstanceId(2), Some(ids[b]), Site::Unknown);
        v.release(t, lockdep::InstanceId(1), Some(ids[a]), Site::Unknown);
        took
    };
    for &i in &sources {
        if i + 1 >= classes {
            continue;
        }
        for _ in 0..edges_per_class {
            let j = i + 1 + rng.below(classes - i - 1);
            add(&mut t, i, j);
        }
    }
    let build_s = build.elapsed().as_secs_f64();
    let edges = v.dependency_count();
    let per_edge = (LIVE.load(Ordering::Relaxed) - heap2) as f64 / edges as f64;
    // (a) a new dependency between two known classes, consistent with the hierarchy.
    let mut known = Vec::new();
    while known.len() < 2000 {
        let i = rng.below(classes - 1);
        let j = i + 1 + rng.below(classes - i - 1);
        known.push(add(&mut t, i, j).as_nanos() as f64);
    }
    // (b) a new class taken outside a known one, (c) inside one.
    let mut outer = Vec::new();
    let mut inner = Vec::new();
    for k in 0..1000 {
        let fresh = v.class_named(&format!("new{k}"), LockKind::Mutex).unwrap();
        let old = rng.below(classes);
        let r1 = v.acquire(&mut t, acq(fresh, 1));
        let s = Instant::now();
        let r2 = v.acquire(&mut t, acq(ids[old], 2));
        outer.push(s.elapsed().as_nanos() as f64);
        assert!(r1.is_empty() && r2.is_empty());
        v.release(&mut t, lockdep::InstanceId(2), None, Site::Unknown);
        v.release(&mut t, lockdep::InstanceId(1), None, Site::Unknown);
        let fresh2 = v
            .class_named(&format!("inner{k}"), LockKind::Mutex)
            .unwrap();
        let r1 = v.acquire(&mut t, acq(ids[old], 1));
        let s = Instant::now();
        let r2 = v.acquire(&mut t, acq(fresh2, 2));
        inner.push(s.elapsed().as_nanos() as f64);
        assert!(r1.is_empty() && r2.is_empty());
        v.release(&mut t, lockdep::InstanceId(2), None, Site::Unknown);
        v.release(&mut t, lockdep::InstanceId(1), None, Site::Unknown);
    }
    let stats = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 9 / 10], v[v.len() - 1])
    };
    NewEdge {
        classes,
        edges,
        build_s,
        known: stats(known),
        outer: stats(outer),
        inner: stats(inner),
        per_class,
        per_edge,
        chain_set,
    }
}

struct NewEdge {
    classes: usize,
    edges: usize,
    build_s: f64,
    known: (f64, f64, f64),
    outer: (f64, f64, f64),
    inner: (f64, f64, f64),
    per_class: f64,
    per_edge: f64,
    chain_set: usize,
}

/// Scenario 4: a plain sequence-counter read, the raw counterpart of `SeqLock::read`.
struct RawSeqLock {
    seq: std::sync::atomic::AtomicUsize,
    data: std::cell::UnsafeCell<(u64, u64)>,
}
// SAFETY: readers copy racily and retry, as a seqlock does; nothing writes during the benchmark.
unsafe impl Sync for RawSeqLock {}
impl RawSeqLock {
    #[inline(always)]
    fn read(&self) -> (u64, u64) {
        use std::sync::atomic::{Ordering, fence};
        loop {
            let s = self.seq.load(Ordering::Acquire);
            if s & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            // SAFETY: a copy of plain integers; discarded below if a writer ran meanwhile.
            let v = unsafe { std::ptr::read_volatile(self.data.get()) };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s {
                return v;
            }
        }
    }
}

// ----- the table -----

const RAW: &str = "parking_lot 0.13";
const STD: &str = "std::sync";
const TRACING: &str = "tracing-mutex 0.3";
const ON: &str = "lockdep";
const OFF: &str = "lockdep runtime-off";
const OUT: &str = "lockdep compiled out";
const CONTROL: &str = "computation (control)";

struct Table {
    rows: BTreeMap<(usize, String), BTreeMap<&'static str, f64>>,
    order: usize,
    // Ratios measured against another run's raw parking_lot (merged compiled-out results).
    own_ratio: BTreeMap<String, f64>,
}

impl Table {
    fn put(&mut self, scenario: &str, contender: &'static str, ns: f64) {
        let key = self
            .rows
            .keys()
            .find(|(_, s)| s == scenario)
            .cloned()
            .unwrap_or_else(|| {
                self.order += 1;
                (self.order, scenario.to_string())
            });
        self.rows.entry(key).or_default().insert(contender, ns);
        eprintln!("  {scenario:<34} {contender:<22} {ns:>10.2} ns/op");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).cloned())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let opts = Opts {
        samples: if quick { 3 } else { 9 },
        target: Duration::from_millis(if quick { 20 } else { 60 }),
        only: flag("--only").flatten(),
    };
    // Let the CPU reach its working clock before the first measurement.
    let warm = Instant::now();
    let warm_lock = upstream_parking_lot::Mutex::new(0u64);
    while warm.elapsed() < Duration::from_millis(300) {
        *warm_lock.lock() += 1;
    }
    black_box(&warm_lock);
    let bt =
        std::backtrace::Backtrace::capture().status() == std::backtrace::BacktraceStatus::Captured;
    println!(
        "tracing-mutex backtrace capture: {}",
        if bt { "on (RUST_BACKTRACE set)" } else { "off" }
    );
    let save = flag("--save").flatten();
    let merge = flag("--merge").flatten();
    let compiled_out = cfg!(lockdep_off);
    let mut table = Table {
        rows: BTreeMap::new(),
        order: 0,
        own_ratio: BTreeMap::new(),
    };
    let wants = |name: &str| opts.only.as_deref().is_none_or(|o| name.contains(o));
    // The lockdep contenders of this build: compiled out, or enabled and runtime-off.
    let lockdep_modes: Vec<&'static str> = if compiled_out {
        vec![OUT]
    } else {
        vec![ON, OFF]
    };
    let with_mode = |mode: &str, f: &mut dyn FnMut()| {
        lockdep::set_enabled(mode != OFF);
        f();
        lockdep::set_enabled(true);
    };

    type PL = upstream_parking_lot::Mutex<u64>;
    type SM = std::sync::Mutex<u64>;
    type LM = lockdep::Mutex<u64>;

    for (name, depth) in [
        ("1 single lock+unlock", 1),
        ("2 nested depth 2", 2),
        ("2 nested depth 4", 4),
    ] {
        if !wants(name) {
            continue;
        }
        table.put(name, RAW, nested::<PL>(&opts, depth));
        if !compiled_out {
            table.put(name, STD, nested::<SM>(&opts, depth));
            table.put(name, TRACING, nested::<TracingMutex>(&opts, depth));
        }
        for &m in &lockdep_modes {
            with_mode(m, &mut || table.put(name, m, nested::<LM>(&opts, depth)));
        }
    }

    let name = "3 RwLock read under Mutex";
    if wants(name) {
        table.put(
            name,
            RAW,
            read_under_mutex::<PL, upstream_parking_lot::RwLock<u64>>(&opts),
        );
        if !compiled_out {
            table.put(
                name,
                STD,
                read_under_mutex::<SM, std::sync::RwLock<u64>>(&opts),
            );
            table.put(
                name,
                TRACING,
                read_under_mutex::<TracingMutex, TracingRwLock>(&opts),
            );
        }
        for &m in &lockdep_modes {
            with_mode(m, &mut || {
                table.put(name, m, read_under_mutex::<LM, lockdep::RwLock<u64>>(&opts))
            });
        }
    }
    let name = "3 recursive read under Mutex";
    if wants(name) {
        table.put(name, RAW, read_under_mutex::<PL, PlRecursive>(&opts));
        for &m in &lockdep_modes {
            with_mode(m, &mut || {
                table.put(
                    name,
                    m,
                    read_under_mutex::<LM, lockdep::RecursiveRwLock<u64>>(&opts),
                )
            });
        }
    }

    let name = "4 SeqLock read";
    if wants(name) {
        let raw = RawSeqLock {
            seq: Default::default(),
            data: std::cell::UnsafeCell::new((1, 2)),
        };
        table.put(
            name,
            RAW,
            per_op(&opts, |n| {
                timed(n, || {
                    black_box(raw.read());
                })
            }),
        );
        for &m in &lockdep_modes {
            let l = lockdep::SeqLock::with_class(key(30), (1u64, 2u64));
            with_mode(m, &mut || {
                table.put(
                    name,
                    m,
                    per_op(&opts, |n| {
                        timed(n, || {
                            black_box(l.read());
                        })
                    }),
                )
            });
        }
    }

    for nodes in [10, 100, 1000] {
        let name = format!("5 all pairs of {nodes} (per pair)");
        if !wants(&name) || (quick && nodes == 1000) {
            continue;
        }
        let pairs_n = nodes * (nodes - 1) / 2;
        table.put(&name, RAW, pairs::<PL>(&opts, nodes, || None));
        if !compiled_out {
            table.put(&name, STD, pairs::<SM>(&opts, nodes, || None));
            table.put(&name, TRACING, pairs::<TracingMutex>(&opts, nodes, || None));
        }
        for &m in &lockdep_modes {
            with_mode(m, &mut || {
                let fresh = || (m == ON).then(|| big_validator(nodes, pairs_n, false));
                table.put(&name, m, pairs::<LM>(&opts, nodes, fresh))
            });
        }
    }

    let name = "6 two threads, depth 2";
    if wants(name) {
        type Run = fn(usize, u64) -> Duration;
        let mut runs: Vec<(&'static str, Run)> = vec![(RAW, scaling_run::<PL>)];
        if !compiled_out {
            runs.push((STD, scaling_run::<SM>));
            runs.push((TRACING, scaling_run::<TracingMutex>));
            runs.push((ON, |t, n| {
                lockdep::set_enabled(true);
                scaling_run::<LM>(t, n)
            }));
            runs.push((OFF, |t, n| {
                lockdep::set_enabled(false);
                let d = scaling_run::<LM>(t, n);
                lockdep::set_enabled(true);
                d
            }));
        } else {
            runs.push((OUT, scaling_run::<LM>));
        }
        runs.push((CONTROL, scaling_run::<Compute>));
        // Interleaved rounds, best of each: other load on the machine only ever slows a run.
        let n = 1_000_000;
        let mut best = vec![(f64::MAX, f64::MAX); runs.len()];
        for _ in 0..opts.samples {
            for (i, (_, run)) in runs.iter().enumerate() {
                best[i].0 = best[i].0.min(run(1, n).as_secs_f64());
                best[i].1 = best[i].1.min(run(2, n).as_secs_f64());
            }
        }
        for ((label, _), (t1, t2)) in runs.iter().zip(&best) {
            if *label != CONTROL {
                table.put(name, label, t1 * 1e9 / n as f64);
            }
            table.put("6 2-thread speedup (x, not ns)", label, 2.0 * t1 / t2);
        }
    }

    let mut new_edges = Vec::new();
    if !compiled_out {
        for classes in [1_000, 10_000, 100_000] {
            let name = format!("7 new edge, {classes} classes");
            if !wants(&name) || (quick && classes == 100_000) {
                continue;
            }
            new_edges.push(new_edge_latency(classes));
        }
        let name = "8 backtraces: all pairs of 100";
        if wants(name) {
            for (label, bt) in [
                ("lockdep, backtraces off", false),
                ("lockdep, backtraces on", true),
            ] {
                let ns = pairs::<LM>(&opts, 100, || Some(big_validator(100, 4950, bt)));
                table.put(name, if bt { "lockdep backtraces on" } else { ON }, ns);
                let _ = label;
            }
            table.put(name, RAW, pairs::<PL>(&opts, 100, || None));
        }
        let name = "8 backtraces: nested depth 2";
        if wants(name) {
            let v = big_validator(16, 16, true);
            v.scope(|| table.put(name, "lockdep backtraces on", nested::<LM>(&opts, 2)));
            table.put(name, RAW, nested::<PL>(&opts, 2));
        }
    }

    if let Some(path) = &save {
        let mut out = String::new();
        for ((_, s), cols) in &table.rows {
            for (c, ns) in cols {
                out.push_str(&format!("{s}\t{c}\t{ns}\n"));
            }
        }
        std::fs::write(path, out).expect("write --save file");
        eprintln!("saved {path}");
    }
    if let Some(path) = &merge {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut raw_there = BTreeMap::new();
                let mut out_there = BTreeMap::new();
                for line in text.lines() {
                    let f: Vec<&str> = line.split('\t').collect();
                    if let [s, c, ns] = f[..]
                        && let Ok(ns) = ns.parse::<f64>()
                    {
                        match c {
                            RAW => raw_there.insert(s.to_string(), ns),
                            OUT => out_there.insert(s.to_string(), ns),
                            _ => None,
                        };
                    }
                }
                for (s, ns) in out_there {
                    if table.rows.keys().any(|(_, k)| *k == s) {
                        table.put(&s, OUT, ns);
                        if let Some(raw) = raw_there.get(&s) {
                            table.own_ratio.insert(s.clone(), ns / raw);
                        }
                    }
                }
            }
            Err(e) => eprintln!("cannot read --merge file {path}: {e}"),
        }
    }
    print_table(&table);
    for e in &new_edges {
        println!(
            "\n7 new-edge latency, {} classes, {} dependencies (built in {:.1} s; heap: {:.0} B per class, {:.0} B per dependency incl. its chain, chain set {:.1} MiB preallocated)",
            e.classes,
            e.edges,
            e.build_s,
            e.per_class,
            e.per_edge,
            e.chain_set as f64 / (1 << 20) as f64
        );
        for (what, (p50, p90, max)) in [
            ("between known classes, along the hierarchy", e.known),
            ("new class taken outside a known one", e.outer),
            ("new class taken inside a known one", e.inner),
        ] {
            println!(
                "  {what:<44} median {:>8.2} µs  p90 {:>8.2} µs  max {:>9.2} µs",
                p50 / 1e3,
                p90 / 1e3,
                max / 1e3
            );
        }
    }
}

fn print_table(table: &Table) {
    let cols = [
        RAW,
        STD,
        TRACING,
        ON,
        OFF,
        OUT,
        "lockdep backtraces on",
        CONTROL,
    ];
    let present: Vec<&str> = cols
        .iter()
        .copied()
        .filter(|c| table.rows.values().any(|r| r.contains_key(c)))
        .collect();
    print!("| scenario |");
    for c in &present {
        print!(" {c} |");
    }
    println!();
    print!("|---|");
    for _ in &present {
        print!("---|");
    }
    println!();
    for ((_, s), r) in &table.rows {
        let speedup = s.contains("speedup");
        print!("| {s} |");
        let base = r.get(RAW).copied();
        for c in &present {
            match (r.get(c), base) {
                (Some(v), _) if speedup => print!(" {v:.2}x |"),
                (Some(v), _) if *c == OUT && table.own_ratio.contains_key(s) => {
                    print!(" {v:.1} ns ({:.2}x own run) |", table.own_ratio[s])
                }
                (Some(v), Some(b)) if *c != RAW => print!(" {v:.1} ns ({:.2}x) |", v / b),
                (Some(v), _) => print!(" {v:.1} ns |"),
                (None, _) => print!(" – |"),
            }
        }
        println!();
    }
}
