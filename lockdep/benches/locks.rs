//! Criterion benchmarks, lockdep beside raw parking_lot 0.13, `std::sync` and tracing-mutex 0.3.
//!
//! `cargo bench -p lockdep` (add `RUSTFLAGS="--cfg lockdep_disabled"` for the compiled-out build, where the
//! `lockdep` rows are plain parking_lot). `lockdep/examples/bench_table.rs` prints the same
//! scenarios as one table of ratios; `docs/performance.md` has the recorded numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use lockdep::{
    Acquire, ClassKey, Config, InstanceId, LockKind, Mode, OnReport, Site, ThreadState, Validator,
};

type TracingMutex = tracing_mutex::parkinglot::tracing::Mutex<u64>;

fn keys() -> &'static [ClassKey] {
    static KEYS: std::sync::OnceLock<Vec<ClassKey>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| (0..128).map(|_| ClassKey::new("bench")).collect())
}

fn lockdep_mutexes(n: usize) -> Vec<lockdep::Mutex<u64>> {
    let keys: &'static [ClassKey] = keys();
    (0..n)
        .map(|i| lockdep::Mutex::with_class(&keys[i], 0))
        .collect()
}

/// Takes `$locks[0..depth]` in order with the method call `$call`, then releases them in
/// reverse.
macro_rules! nest {
    ($locks:expr, 1, $($call:tt)+) => {{
        let a = $locks[0].$($call)+;
        black_box(&a);
    }};
    ($locks:expr, 2, $($call:tt)+) => {{
        let a = $locks[0].$($call)+;
        let b = $locks[1].$($call)+;
        black_box((&a, &b));
    }};
    ($locks:expr, 4, $($call:tt)+) => {{
        let a = $locks[0].$($call)+;
        let b = $locks[1].$($call)+;
        let c = $locks[2].$($call)+;
        let d = $locks[3].$($call)+;
        black_box((&a, &b, &c, &d));
    }};
}

/// Scenarios 1 and 2 for one depth: every contender.
macro_rules! nested_group {
    ($c:expr, $depth:tt) => {{
        let mut g = $c.benchmark_group(concat!("nested_depth_", $depth));
        let pl: Vec<_> = (0..$depth)
            .map(|_| upstream_parking_lot::Mutex::new(0u64))
            .collect();
        let st: Vec<_> = (0..$depth).map(|_| std::sync::Mutex::new(0u64)).collect();
        let tm: Vec<_> = (0..$depth).map(|_| TracingMutex::new(0)).collect();
        let ld = lockdep_mutexes($depth);
        g.bench_function("parking_lot", |b| b.iter(|| nest!(pl, $depth, lock())));
        g.bench_function("std", |b| b.iter(|| nest!(st, $depth, lock().unwrap())));
        g.bench_function("tracing_mutex", |b| b.iter(|| nest!(tm, $depth, lock())));
        for (label, on) in [("lockdep", true), ("lockdep_runtime_off", false)] {
            lockdep::set_enabled(on);
            g.bench_function(label, |b| b.iter(|| nest!(ld, $depth, lock())));
            lockdep::set_enabled(true);
        }
        g.finish();
    }};
}

/// Scenarios 1 and 2: one lock, and two or four nested in the same order every time.
fn nested(c: &mut Criterion) {
    nested_group!(c, 1);
    nested_group!(c, 2);
    nested_group!(c, 4);
}

/// Scenarios 3 and 4: reads nested under a mutex, and a seqlock read.
fn reads(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_under_mutex");
    let (pm, pr) = (
        upstream_parking_lot::Mutex::new(0u64),
        upstream_parking_lot::RwLock::new(0u64),
    );
    g.bench_function("parking_lot", |b| {
        b.iter(|| {
            let x = pm.lock();
            let y = pr.read();
            black_box((&x, &y));
        })
    });
    let keys: &'static [ClassKey] = keys();
    let m = lockdep::Mutex::with_class(&keys[10], 0u64);
    let r = lockdep::RwLock::with_class(&keys[11], 0u64);
    let rr = lockdep::RecursiveRwLock::with_class(&keys[12], 0u64);
    g.bench_function("lockdep_rwlock", |b| {
        b.iter(|| {
            let x = m.lock();
            let y = r.read();
            black_box((&x, &y));
        })
    });
    g.bench_function("lockdep_recursive", |b| {
        b.iter(|| {
            let x = m.lock();
            let y = rr.read();
            black_box((&x, &y));
        })
    });
    g.finish();

    let mut g = c.benchmark_group("seqlock_read");
    let s = lockdep::SeqLock::with_class(&keys[13], (1u64, 2u64));
    g.bench_function("lockdep", |b| b.iter(|| black_box(s.read())));
    g.finish();
}

fn shuffled_pairs(n: usize) -> Vec<(usize, usize)> {
    let mut v: Vec<_> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let mut x = 42u64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn big_validator(classes: usize, edges: usize) -> Validator {
    Validator::with_on_report(
        Config {
            max_classes: classes + 64,
            max_edges: edges + 64,
            max_chains: 2 * edges + 1024,
            ..Config::default()
        },
        OnReport::Collect,
    )
}

/// Scenario 5: tracing-mutex's benchmark, all ordered pairs of N locks in shuffled order, each
/// round with new locks (a new graph): new-edge heavy.
fn all_pairs(c: &mut Criterion) {
    let mut g = c.benchmark_group("all_pairs");
    for n in [10usize, 100] {
        let pairs = shuffled_pairs(n);
        g.throughput(criterion::Throughput::Elements(pairs.len() as u64));
        g.bench_with_input(BenchmarkId::new("parking_lot", n), &n, |b, &n| {
            b.iter_batched(
                || {
                    (0..n)
                        .map(|_| upstream_parking_lot::Mutex::new(0u64))
                        .collect::<Vec<_>>()
                },
                |locks| {
                    for &(x, y) in &pairs {
                        let a = locks[x].lock();
                        let b = locks[y].lock();
                        black_box((&a, &b));
                    }
                    locks
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("tracing_mutex", n), &n, |b, &n| {
            b.iter_batched(
                || (0..n).map(|_| TracingMutex::new(0)).collect::<Vec<_>>(),
                |locks| {
                    for &(x, y) in &pairs {
                        let a = locks[x].lock();
                        let b = locks[y].lock();
                        black_box((&a, &b));
                    }
                    locks
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("lockdep", n), &n, |b, &n| {
            b.iter_batched(
                || (lockdep_mutexes(n), big_validator(n, pairs.len())),
                |(locks, v)| {
                    v.scope(|| {
                        for &(x, y) in &pairs {
                            let a = locks[x].lock();
                            let b = locks[y].lock();
                            black_box((&a, &b));
                        }
                    });
                    (locks, v)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Scenario 7: one new dependency in a graph of N classes with ten dependencies each. Every
/// iteration adds a new class and a dependency on it from a random known class (a new lock taken
/// inside an old one), so each measurement really is a new edge; the limits leave room for the
/// iterations criterion runs, and running out of them fails loudly rather than timing a
/// switched-off validator.
fn new_edge(c: &mut Criterion) {
    let mut g = c.benchmark_group("new_edge");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(50))
        .measurement_time(Duration::from_millis(200));
    let room = 2_000_000;
    for classes in [1_000usize, 10_000, 100_000] {
        let v = big_validator(classes + room, classes * 12 + room);
        let ids: Vec<_> = (0..classes)
            .map(|i| v.class_named(&format!("c{i}"), LockKind::Mutex).unwrap())
            .collect();
        let acq = |class, id| Acquire {
            class,
            instance: InstanceId(id),
            mode: Mode::Write,
            trylock: false,
            nest_lock: None,
            kind: LockKind::Mutex,
            site: Site::Unknown,
        };
        let mut t = ThreadState::new("bench", 1, 8);
        let mut x = 9u64;
        let mut rand = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for i in 0..classes - 1 {
            for _ in 0..10 {
                let j = i + 1 + rand(classes - i - 1);
                v.acquire(&mut t, acq(ids[i], 1));
                v.acquire(&mut t, acq(ids[j], 2));
                v.release(&mut t, InstanceId(2), None, Site::Unknown);
                v.release(&mut t, InstanceId(1), None, Site::Unknown);
            }
        }
        let mut fresh = 0u64;
        g.bench_function(BenchmarkId::from_parameter(classes), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fresh += 1;
                    let new = v
                        .class_named(&format!("new{fresh}"), LockKind::Mutex)
                        .expect("class limit: raise `room`");
                    v.acquire(&mut t, acq(ids[rand(classes)], 1));
                    let start = Instant::now();
                    v.acquire(&mut t, acq(new, 2));
                    total += start.elapsed();
                    v.release(&mut t, InstanceId(2), None, Site::Unknown);
                    v.release(&mut t, InstanceId(1), None, Site::Unknown);
                }
                assert!(v.is_enabled(), "a limit ran out: raise `room`");
                total
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = nested, reads, all_pairs, new_edge
}
criterion_main!(benches);
