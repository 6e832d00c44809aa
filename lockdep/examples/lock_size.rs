//! Per-lock size and the cost of creating and dropping locks, lockdep against parking_lot 0.13
//! (`docs/performance.md`, "Per-lock size"):
//!
//! ```text
//! cargo run --release -p lockdep --example lock_size
//! cargo run --release -p lockdep --features disabled --example lock_size
//! ```

use std::hint::black_box;
use std::mem::size_of;
use std::time::{Duration, Instant};

/// Nanoseconds per lock to build `n` locks into a `Vec` and drop them: the fastest of several
/// samples (other load on the machine only ever adds time).
fn create_drop<L>(n: usize, make: impl Fn(u64) -> L) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..15 {
        let start = Instant::now();
        let v: Vec<L> = (0..n as u64).map(&make).collect();
        black_box(&v);
        drop(v);
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / n as f64
}

fn main() {
    println!(
        "validation: {}",
        if cfg!(feature = "disabled") {
            "compiled out"
        } else {
            "on"
        }
    );
    println!("| type | lockdep | parking_lot 0.13 |");
    println!("|---|---|---|");
    let rows: [(&str, usize, usize); 8] = [
        (
            "Mutex<()>",
            size_of::<lockdep::Mutex<()>>(),
            size_of::<parking_lot::Mutex<()>>(),
        ),
        (
            "Mutex<u64>",
            size_of::<lockdep::Mutex<u64>>(),
            size_of::<parking_lot::Mutex<u64>>(),
        ),
        (
            "FairMutex<()>",
            size_of::<lockdep::FairMutex<()>>(),
            size_of::<parking_lot::FairMutex<()>>(),
        ),
        (
            "ReentrantMutex<()>",
            size_of::<lockdep::ReentrantMutex<()>>(),
            size_of::<parking_lot::ReentrantMutex<()>>(),
        ),
        (
            "RwLock<()>",
            size_of::<lockdep::RwLock<()>>(),
            size_of::<parking_lot::RwLock<()>>(),
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
    let ours = create_drop(n, lockdep::Mutex::new);
    let theirs = create_drop(n, parking_lot::Mutex::new);
    println!(
        "create+drop of {n} Mutex<u64> in a Vec: lockdep {ours:.2} ns/lock, parking_lot \
         {theirs:.2} ns/lock ({:.2}x)",
        ours / theirs
    );
}
