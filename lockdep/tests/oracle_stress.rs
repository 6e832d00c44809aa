//! Stress with an oracle: 16 threads take random nested locks (mutexes, rwlocks in write mode,
//! spin locks) over a shared set of classes, now and then against the usual order, panic inside
//! critical sections, and forget guards of locks of their own. The oracle keeps the class
//! graph lockdep should build (an edge from the most recent held lock to each new one); lockdep
//! must report a cycle if and only if that graph has one, never hang and never panic inside.
//!
//! Orders are drawn so that no real deadlock can happen: acquisitions against the usual order
//! run while no other thread holds any shared lock (an external gate), so the test stays
//! bounded whatever lockdep says.

// Validation must be compiled in.
#![cfg(not(lockdep_off))]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lockdep::{Config, Mutex, OnReport, ReportKind, RwLock, SpinLock, Validator};

const THREADS: usize = 16;
const CLASSES: usize = 12;
const ROUNDS: usize = 60;

/// A tiny deterministic generator (xorshift), so every run is the same test.
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
}

enum Lock {
    Mutex(Mutex<()>),
    Rw(RwLock<()>),
    Spin(SpinLock<()>),
}

/// Held for its drop: releasing the lock is the point.
#[allow(dead_code)]
enum Guard<'a> {
    Mutex(lockdep::MutexGuard<'a, ()>),
    Rw(lockdep::RwLockWriteGuard<'a, ()>),
    Spin(lockdep::SpinLockGuard<'a, ()>),
}

impl Lock {
    fn take(&self) -> Guard<'_> {
        match self {
            Lock::Mutex(m) => Guard::Mutex(m.lock()),
            Lock::Rw(r) => Guard::Rw(r.write()),
            Lock::Spin(s) => Guard::Spin(s.lock()),
        }
    }
    fn sleeps(&self) -> bool {
        !matches!(self, Lock::Spin(_))
    }
}

const NAMES: [&str; CLASSES] = [
    "c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10", "c11",
];

/// The locks of one run: class `i` is lock `i`; spin locks come last in the usual order so
/// that the usual order never puts a sleeping lock inside a spin lock.
fn locks() -> Vec<Lock> {
    (0..CLASSES)
        .map(|i| match i % 3 {
            _ if i >= CLASSES - 3 => Lock::Spin(SpinLock::with_name(NAMES[i], ())),
            0 => Lock::Mutex(Mutex::with_name(NAMES[i], ())),
            1 => Lock::Rw(RwLock::with_name(NAMES[i], ())),
            _ => Lock::Mutex(Mutex::with_name(NAMES[i], ())),
        })
        .collect()
}

/// One thread's plan: sequences of class indices, each taken nested in that order.
fn plan(seed: u64, violate: bool) -> Vec<(Vec<usize>, bool)> {
    let mut rng = Rng(seed | 1);
    (0..ROUNDS)
        .map(|_| {
            let depth = 1 + rng.below(4);
            let mut set = BTreeSet::new();
            while set.len() < depth {
                set.insert(rng.below(CLASSES));
            }
            let mut seq: Vec<usize> = set.into_iter().collect();
            let against = violate && rng.below(25) == 0 && seq.len() >= 2;
            if against {
                // Against the usual order, but never a sleeping lock inside a spin lock.
                let a = rng.below(seq.len());
                let b = rng.below(seq.len());
                seq.swap(a, b);
                if seq
                    .windows(2)
                    .any(|w| w[0] >= CLASSES - 3 && w[1] < CLASSES - 3)
                {
                    seq.sort_unstable();
                }
            }
            let against = seq.windows(2).any(|w| w[0] > w[1]);
            (seq, against)
        })
        .collect()
}

fn has_cycle(edges: &BTreeMap<usize, BTreeSet<usize>>) -> bool {
    fn visit(
        n: usize,
        edges: &BTreeMap<usize, BTreeSet<usize>>,
        state: &mut [u8; CLASSES],
    ) -> bool {
        state[n] = 1;
        for &m in edges.get(&n).into_iter().flatten() {
            if state[m] == 1 || state[m] == 0 && visit(m, edges, state) {
                return true;
            }
        }
        state[n] = 2;
        false
    }
    let mut state = [0u8; CLASSES];
    (0..CLASSES).any(|n| state[n] == 0 && visit(n, edges, &mut state))
}

fn run(seed: u64, violate: bool) -> (bool, Vec<lockdep::Report>) {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let locks = Arc::new(locks());
    // Readers: ordinary rounds; the writer: a round against the usual order, alone.
    let gate = Arc::new(upstream_parking_lot::RwLock::new(()));
    let plans: Vec<_> = (0..THREADS)
        .map(|t| plan(seed.wrapping_mul(31).wrapping_add(t as u64 * 7919), violate))
        .collect();
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for p in &plans {
        for (seq, _) in p {
            for w in seq.windows(2) {
                edges.entry(w[0]).or_default().insert(w[1]);
            }
        }
    }
    let expected_cycle = has_cycle(&edges);
    let handles: Vec<_> = plans
        .into_iter()
        .enumerate()
        .map(|(t, plan)| {
            let (v, locks, gate) = (v.clone(), locks.clone(), gate.clone());
            std::thread::spawn(move || {
                v.scope(|| {
                    let own = Mutex::with_name("thread-own", ());
                    for (i, (seq, against)) in plan.into_iter().enumerate() {
                        let _g = if against {
                            Err(gate.write())
                        } else {
                            Ok(gate.read())
                        };
                        let panic_here = (t + i) % 17 == 0;
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            let mut held = Vec::new();
                            for &c in &seq {
                                held.push(locks[c].take());
                            }
                            if panic_here {
                                panic!("a panic inside a critical section");
                            }
                            drop(held);
                        }));
                        assert_eq!(r.is_err(), panic_here);
                        // A sleeping lock is never taken inside a spin lock by this plan.
                        debug_assert!(seq.iter().all(|&c| locks[c].sleeps() || c >= CLASSES - 3));
                    }
                    // A forgotten guard of a lock of the thread's own: held at scope end.
                    std::mem::forget(own.lock());
                });
            })
        })
        .collect();
    for h in handles {
        h.join().expect("no panic escapes lockdep");
    }
    (expected_cycle, v.take_reports())
}

fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload().downcast_ref::<&str>().copied().unwrap_or("");
        if msg != "a panic inside a critical section" {
            default(info);
        }
    }));
}

#[test]
fn lockdep_reports_a_cycle_iff_the_oracle_graph_has_one() {
    quiet_panics();
    let mut with_cycle = 0;
    for seed in 1..=6u64 {
        for violate in [false, true] {
            let (expected, reports) = run(seed, violate);
            let cycles: Vec<_> = reports
                .iter()
                .filter(|r| {
                    matches!(
                        r.kind(),
                        ReportKind::CircularDependency | ReportKind::RecursiveLocking
                    )
                })
                .collect();
            let unexpected: Vec<_> = reports
                .iter()
                .filter(|r| {
                    !matches!(
                        r.kind(),
                        ReportKind::CircularDependency
                            | ReportKind::RecursiveLocking
                            | ReportKind::LocksHeldAtExit
                    )
                })
                .map(|r| r.to_string())
                .collect();
            assert!(
                unexpected.is_empty(),
                "seed {seed}: {}",
                unexpected.join("\n")
            );
            assert_eq!(
                !cycles.is_empty(),
                expected,
                "seed {seed}, violations {violate}: oracle says cycle={expected}, lockdep gave {} cycle reports",
                cycles.len()
            );
            if !violate {
                assert!(!expected, "the usual order alone never makes a cycle");
            }
            with_cycle += usize::from(expected);
            // Every thread forgot one guard of its own lock (one class: reported once).
            let held = reports
                .iter()
                .filter(|r| r.kind() == ReportKind::LocksHeldAtExit)
                .count();
            assert!(held >= 1, "seed {seed}: the forgotten guards are reported");
        }
    }
    assert!(with_cycle > 0, "some runs must contain a cycle");
}
