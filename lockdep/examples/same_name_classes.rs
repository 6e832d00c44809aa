//! How long registering many classes that share one name takes (issue: it was quadratic).
//!
//! `cargo run --release -p lockdep --example same_name_classes [N]` (default 100000): N
//! leaked `ClassKey`s named alike, one lock each, each locked once; then N distinct names.

use std::time::Instant;

use lockdep::{ClassKey, Mutex};

fn run(n: usize, name: impl Fn(usize) -> &'static str) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        let key: &'static ClassKey = Box::leak(Box::new(ClassKey::new(name(i))));
        let m = Mutex::with_class(key, ());
        drop(m.lock());
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let v = lockdep::Validator::new(lockdep::Config {
        max_classes: n + 16,
        max_chains: 2 * n + 16,
        ..lockdep::Config::default()
    });
    v.scope(|| {
        let same = run(n, |_| "same-name");
        println!("{n} classes of one name: {same:.3} s");
    });
    let v = lockdep::Validator::new(lockdep::Config {
        max_classes: n + 16,
        max_chains: 2 * n + 16,
        ..lockdep::Config::default()
    });
    v.scope(|| {
        let distinct = run(n, |i| Box::leak(format!("name-{i}").into_boxed_str()));
        println!("{n} classes of distinct names: {distinct:.3} s");
    });
}
