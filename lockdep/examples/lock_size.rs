//! Per-lock size and the cost of creating and dropping locks, lockdep against parking_lot 0.13
//! (`docs/performance.md`, "Per-lock size"):
//!
//! ```text
//! cargo run --release -p lockdep --example lock_size
//! RUSTFLAGS="--cfg lockdep_disabled" cargo run --release -p lockdep --target-dir target/off --example lock_size
//! ```

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::mem::size_of;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};

/// Nanoseconds to build `n` locks into a `Vec` and drop them, once.
fn create_drop_once<L>(n: usize, make: &impl Fn(u64) -> L) -> Duration {
    let start = Instant::now();
    let v: Vec<L> = (0..n as u64).map(make).collect();
    black_box(&v);
    drop(v);
    start.elapsed()
}

/// Nanoseconds to build `n` locks into a `Vec`, lock and unlock each once, and drop them.
fn create_lock_drop_once<L>(
    n: usize,
    make: &impl Fn(u64) -> L,
    lock_once: &impl Fn(&L),
) -> Duration {
    let start = Instant::now();
    let v: Vec<L> = (0..n as u64).map(make).collect();
    for l in &v {
        lock_once(l);
    }
    black_box(&v);
    drop(v);
    start.elapsed()
}

/// Per-lock nanoseconds to build `n` locks into a `Vec` and drop them, lockdep's and
/// parking_lot's, measured in interleaved rounds in this process (so both see the same machine
/// load): the fastest round of each (other load only ever adds time).
fn create_drop_pair<A, B>(
    n: usize,
    rounds: usize,
    ours: impl Fn(u64) -> A,
    theirs: impl Fn(u64) -> B,
) -> (f64, f64) {
    let (mut best_ours, mut best_theirs) = (Duration::MAX, Duration::MAX);
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs on a warmer allocator.
        if round % 2 == 0 {
            best_ours = best_ours.min(create_drop_once(n, &ours));
            best_theirs = best_theirs.min(create_drop_once(n, &theirs));
        } else {
            best_theirs = best_theirs.min(create_drop_once(n, &theirs));
            best_ours = best_ours.min(create_drop_once(n, &ours));
        }
    }
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    (per(best_ours), per(best_theirs))
}

fn main() {
    println!(
        "validation: {}",
        if cfg!(lockdep_off) {
            "compiled out"
        } else {
            "on"
        }
    );
    println!("| type | lockdep | parking_lot 0.13 |");
    println!("|---|---|---|");
    let rows: [(&str, usize, usize); 9] = [
        ("LockMap (per-lock state)", size_of::<lockdep::LockMap>(), 0),
        (
            "Mutex<()>",
            size_of::<lockdep::Mutex<()>>(),
            size_of::<upstream_parking_lot::Mutex<()>>(),
        ),
        (
            "Mutex<u64>",
            size_of::<lockdep::Mutex<u64>>(),
            size_of::<upstream_parking_lot::Mutex<u64>>(),
        ),
        (
            "FairMutex<()>",
            size_of::<lockdep::FairMutex<()>>(),
            size_of::<upstream_parking_lot::FairMutex<()>>(),
        ),
        (
            "ReentrantMutex<()>",
            size_of::<lockdep::ReentrantMutex<()>>(),
            size_of::<upstream_parking_lot::ReentrantMutex<()>>(),
        ),
        (
            "RwLock<()>",
            size_of::<lockdep::RwLock<()>>(),
            size_of::<upstream_parking_lot::RwLock<()>>(),
        ),
        ("SpinLock<()>", size_of::<lockdep::SpinLock<()>>(), 0),
        ("SeqLock<u64>", size_of::<lockdep::SeqLock<u64>>(), 0),
        (
            "std::Mutex<()>",
            size_of::<lockdep::std::Mutex<()>>(),
            size_of::<std::sync::Mutex<()>>(),
        ),
    ];
    for (name, ours, theirs) in rows {
        let theirs = if theirs == 0 {
            "—".to_string()
        } else {
            format!("{theirs} B")
        };
        println!("| {name} | {ours} B | {theirs} |");
    }
    let n = 100_000;
    let rounds = 41;
    let report = |what: &str, (ours, theirs): (f64, f64), against: &str| {
        println!(
            "create+drop of {n} {what} in a Vec, {rounds} interleaved rounds: lockdep {ours:.2} \
             ns/lock, {against} {theirs:.2} ns/lock (+{:.2} ns, {:.2}x)",
            ours - theirs,
            ours / theirs
        );
    };
    report(
        "Mutex<u64>",
        create_drop_pair(
            n,
            rounds,
            lockdep::Mutex::new,
            upstream_parking_lot::Mutex::new,
        ),
        "parking_lot",
    );
    report(
        "Mutex<()>",
        create_drop_pair(
            n,
            rounds,
            |_| lockdep::Mutex::new(()),
            |_| upstream_parking_lot::Mutex::new(()),
        ),
        "parking_lot",
    );
    report(
        "RwLock<u64>",
        create_drop_pair(
            n,
            rounds,
            lockdep::RwLock::new,
            upstream_parking_lot::RwLock::new,
        ),
        "parking_lot",
    );
    // parking_lot has no sequence lock: against its parts unvalidated (a spin flag, the
    // sequence count and the data), what `SeqLock<u64>` is when validation is compiled out.
    report(
        "SeqLock<u64>",
        create_drop_pair(n, rounds, lockdep::SeqLock::new, |v| {
            (
                AtomicBool::new(false),
                AtomicUsize::new(0),
                UnsafeCell::new(v),
            )
        }),
        "(AtomicBool, AtomicUsize, u64)",
    );
    // The first acquisition of each lock resolves its class (from its record once another lock
    // of its site and type did).
    let (mut best_ours, mut best_theirs) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        best_ours = best_ours.min(create_lock_drop_once(n, &lockdep::Mutex::new, &|m| {
            *m.lock() += 1
        }));
        best_theirs = best_theirs.min(create_lock_drop_once(
            n,
            &upstream_parking_lot::Mutex::new,
            &|m| *m.lock() += 1,
        ));
    }
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "create, first lock and drop of {n} Mutex<u64>, {rounds} interleaved rounds: lockdep \
         {:.1} ns/lock, parking_lot {:.1} ns/lock",
        per(best_ours),
        per(best_theirs)
    );
}
