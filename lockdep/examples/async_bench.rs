//! The validated async mutex against tokio's own: uncontended lock + unlock in the steady state,
//! as time per operation, the time lockdep adds and the ratio to tokio (target: at most 1.15x,
//! docs/async.md). Interleaved rounds in one process, the best of each contender.
//!
//! ```text
//! cargo run --release -p lockdep --features tokio --example async_bench
//! ```
//!
//! `--rounds N` sets the rounds (default 300; each sample is short enough to fit in one time slice). Contenders: tokio's `Mutex`; lockdep's in a
//! tracked task (`lockdep::tokio::spawn`/`track`, the held-lock stack follows the task: the
//! steady state); lockdep's outside any task (in `block_on`: the thread's stack, also the steady
//! state); lockdep's in a plain `tokio::spawn` task (keyed by task id in a side table: the slow
//! path); and parking_lot's mutex for scale.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// Operations per timed sample.
const N: u64 = 20_000;

async fn tokio_loop(m: &tokio::sync::Mutex<u64>, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        *black_box(m).lock().await += 1;
    }
    t.elapsed()
}

async fn lockdep_loop(m: &lockdep::tokio::Mutex<u64>, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        *black_box(m).lock().await += 1;
    }
    t.elapsed()
}

fn parking_lot_loop(m: &upstream_parking_lot::Mutex<u64>, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        *black_box(m).lock() += 1;
    }
    t.elapsed()
}

fn main() {
    let mut rounds = 300usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            other => {
                eprintln!("async_bench: unknown argument {other:?} (--rounds N)");
                std::process::exit(2);
            }
        }
    }
    let rt: Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tm: &'static tokio::sync::Mutex<u64> = Box::leak(Box::new(tokio::sync::Mutex::new(0)));
    let lm: &'static lockdep::tokio::Mutex<u64> =
        Box::leak(Box::new(lockdep::tokio::Mutex::new(0)));
    let pm = upstream_parking_lot::Mutex::new(0u64);

    let labels = [
        "tokio::sync::Mutex",
        "lockdep::tokio::Mutex, tracked task",
        "lockdep::tokio::Mutex, outside tasks (block_on)",
        "lockdep::tokio::Mutex, untracked tokio::spawn task",
        "parking_lot::Mutex (blocking, for scale)",
    ];
    let mut best = [f64::MAX; 5];
    // Warm-up: classes registered, chains known, caches hot.
    for _ in 0..2 {
        rt.block_on(tokio_loop(tm, N / 10));
        rt.block_on(lockdep::tokio::track(lockdep_loop(lm, N / 10)));
        rt.block_on(lockdep_loop(lm, N / 10));
    }
    for _ in 0..rounds {
        let samples = [
            rt.block_on(tokio_loop(tm, N)),
            rt.block_on(lockdep::tokio::track(lockdep_loop(lm, N))),
            rt.block_on(lockdep_loop(lm, N)),
            rt.block_on(async { tokio::spawn(lockdep_loop(lm, N / 20)).await.unwrap() }) * 20,
            parking_lot_loop(&pm, N),
        ];
        for (b, s) in best.iter_mut().zip(samples) {
            *b = b.min(s.as_nanos() as f64 / N as f64);
        }
    }
    let tokio_ns = best[0];
    println!("uncontended lock + unlock, best of {rounds} interleaved rounds of {N}:");
    println!("| contender | ns/op | added vs tokio | ratio to tokio |");
    println!("|---|---|---|---|");
    for (label, ns) in labels.iter().zip(best) {
        println!(
            "| {label} | {ns:.2} | {:+.2} | {:.3}x |",
            ns - tokio_ns,
            ns / tokio_ns
        );
    }
}
