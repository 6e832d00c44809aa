//! Replay is faithful: random multi-threaded programs over every lock kind run live with
//! recording, and replaying the recording (through `Replayer::apply`, as `lockcheck replay`
//! does) gives the same reports: kinds, threads, classes, modes, sites, chains, in order.
//! Shrinking gives a minimal program when they differ.
//!
//! The threads take turns: a driver hands one operation at a time to one thread and waits for
//! it, so a run is deterministic and never blocks. A thread that would block on a lock another
//! thread holds tries it instead (a failed trylock); one that would block on itself skips.
//!
//! With `--features send_guard` some guards are dropped on another thread.
//!
//! `PROPTEST_CASES` sets the number of programs (256 by default; docs/replay.md names a longer
//! run for release checks).

use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::{
    Condvar, Config, LockRef, Mutex, MutexGuard, OnReport, RecursiveRwLock,
    RecursiveRwLockReadGuard, RecursiveRwLockWriteGuard, Report, RwLock, RwLockReadGuard,
    RwLockUpgradableReadGuard, RwLockWriteGuard, SeqCount, SeqLock, SpinLock, SpinLockGuard,
    Validator,
};
use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;

const THREADS: usize = 3;
/// Lock numbers: 0 `m0` and 1 `m1` (mutexes, `m0` with the condvar, `m1` serialising the
/// seqcount's writers), 2 and 3 two `node` mutexes of one class, 4 `rw` (rwlock), 5 `rr`
/// (recursive rwlock), 6 `s0` and 7 `s1` (spin locks).
const LOCKS: u8 = 8;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Take lock `lock`; `how` picks the variant (plain, try, nested, nest_lock, read, write,
    /// upgradable).
    Take { lock: u8, how: u8 },
    /// Release the `n`-th held guard (modulo how many are held): any order.
    Release(u8),
    /// Upgrade an upgradable read, or downgrade a write or an upgradable read.
    Convert(u8),
    /// A seqlock read, or a seqcount read.
    SeqRead(bool),
    /// A seqlock write section, or a seqcount write section (under `m1`).
    SeqWrite(bool),
    /// A condvar wait with a timeout of zero (releases and re-takes `m0`) when `m0` is held.
    CondWait,
    /// Take lock `n` inside `catch_unwind` and panic while holding it.
    Panic(u8),
    /// At its end the thread exits holding what it holds (the guards are forgotten).
    Leak,
    /// Release the `n`-th held guard on another thread (a thread spawned to drop it) with the
    /// `send_guard` feature; without it, as `Release`.
    HandOff(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..LOCKS, any::<u8>()).prop_map(|(lock, how)| Op::Take { lock, how }),
        6 => any::<u8>().prop_map(Op::Release),
        1 => any::<u8>().prop_map(Op::Convert),
        1 => any::<bool>().prop_map(Op::SeqRead),
        1 => any::<bool>().prop_map(Op::SeqWrite),
        1 => Just(Op::CondWait),
        1 => (0..LOCKS).prop_map(Op::Panic),
        1 => Just(Op::Leak),
        2 => any::<u8>().prop_map(Op::HandOff),
    ]
}

struct Locks {
    m: [Mutex<()>; 2],
    node: [Mutex<()>; 2],
    rw: RwLock<()>,
    rr: RecursiveRwLock<()>,
    spin: [SpinLock<()>; 2],
    seq: SeqLock<u64>,
    count: SeqCount,
    cv: Condvar,
}

impl Locks {
    fn new() -> Self {
        let node = || Mutex::with_name("node", ());
        Locks {
            m: [Mutex::with_name("m0", ()), Mutex::with_name("m1", ())],
            node: [node(), node()],
            rw: RwLock::with_name("rw", ()),
            rr: RecursiveRwLock::with_name("rr", ()),
            spin: [SpinLock::with_name("s0", ()), SpinLock::with_name("s1", ())],
            seq: SeqLock::with_name("seq", 0),
            count: SeqCount::with_name("count"),
            cv: Condvar::new(),
        }
    }
}

// The guards are held for their drop.
#[allow(dead_code)]
enum Guard<'a> {
    Mutex(MutexGuard<'a, ()>),
    Read(RwLockReadGuard<'a, ()>),
    Write(RwLockWriteGuard<'a, ()>),
    Upgradable(RwLockUpgradableReadGuard<'a, ()>),
    RecRead(RecursiveRwLockReadGuard<'a, ()>),
    RecWrite(RecursiveRwLockWriteGuard<'a, ()>),
    Spin(SpinLockGuard<'a, ()>),
}

/// How a lock is held, for the turn-taking model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Exclusive,
    Shared,
    Upgradable,
}

/// Who holds what (only one thread runs at a time, so checking then taking is exact).
#[derive(Default)]
struct Model {
    holders: Vec<Vec<(usize, Hold)>>,
}

impl Model {
    fn new() -> Self {
        Model {
            holders: vec![Vec::new(); LOCKS as usize],
        }
    }

    /// Whether taking `lock` as `want` from thread `me` would block on another thread, and
    /// whether it would block on `me` itself.
    fn conflicts(&self, lock: u8, me: usize, want: Hold) -> (bool, bool) {
        let clash = |h: Hold| {
            !matches!(
                (want, h),
                (Hold::Shared, Hold::Shared | Hold::Upgradable) | (Hold::Upgradable, Hold::Shared)
            )
        };
        let mut other = false;
        let mut own = false;
        for &(t, h) in &self.holders[lock as usize] {
            if clash(h) {
                if t == me {
                    own = true;
                } else {
                    other = true;
                }
            }
        }
        (other, own)
    }

    fn take(&mut self, lock: u8, me: usize, h: Hold) {
        self.holders[lock as usize].push((me, h));
    }

    fn drop_one(&mut self, lock: u8, me: usize, h: Hold) {
        let v = &mut self.holders[lock as usize];
        let at = v
            .iter()
            .position(|&e| e == (me, h))
            .expect("model out of step");
        v.remove(at);
    }
}

type Shared = std::sync::Mutex<Model>;

/// One thread's state: its guards with the lock number and how each is held.
struct Worker<'a> {
    me: usize,
    locks: &'a Locks,
    model: &'a Shared,
    held: Vec<(u8, Hold, Guard<'a>)>,
    leak: bool,
}

const PANIC_MESSAGE: &str = "replay-differential: a panic inside a critical section";

impl<'a> Worker<'a> {
    fn holds(&self, lock: u8) -> bool {
        self.held.iter().any(|(l, _, _)| *l == lock)
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Take { lock, how } => self.take(lock, how),
            Op::Release(i) => {
                if !self.held.is_empty() {
                    let at = i as usize % self.held.len();
                    let (lock, h, g) = self.held.remove(at);
                    self.model.lock().unwrap().drop_one(lock, self.me, h);
                    drop(g);
                }
            }
            Op::HandOff(i) => {
                if !self.held.is_empty() {
                    let at = i as usize % self.held.len();
                    let (lock, h, g) = self.held.remove(at);
                    self.model.lock().unwrap().drop_one(lock, self.me, h);
                    hand_off(g);
                }
            }
            Op::Convert(i) => self.convert(i),
            Op::SeqRead(false) => {
                let _ = self.locks.seq.read();
            }
            Op::SeqRead(true) => {
                self.locks.count.read(|| ());
            }
            Op::SeqWrite(false) => {
                *self.locks.seq.write() += 1;
            }
            Op::SeqWrite(true) => {
                let m1 = self
                    .held
                    .iter()
                    .any(|(l, h, _)| *l == 1 && *h == Hold::Exclusive);
                if m1 {
                    drop(self.locks.count.write_begin(&self.locks.m[1]));
                }
            }
            Op::CondWait => {
                let m0 = self.held.iter_mut().find_map(|(l, _, g)| match g {
                    Guard::Mutex(g) if *l == 0 => Some(g),
                    _ => None,
                });
                if let Some(g) = m0 {
                    let _ = self.locks.cv.wait_for(g, Duration::ZERO);
                }
            }
            Op::Panic(lock) => {
                let (other, own) =
                    self.model
                        .lock()
                        .unwrap()
                        .conflicts(lock, self.me, Hold::Exclusive);
                if other || own || lock == 4 || lock == 5 {
                    return;
                }
                let locks = self.locks;
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _g = match lock {
                        0..=1 => Guard::Mutex(locks.m[lock as usize].lock()),
                        2..=3 => Guard::Mutex(locks.node[lock as usize - 2].lock()),
                        _ => Guard::Spin(locks.spin[lock as usize - 6].lock()),
                    };
                    std::panic::panic_any(PANIC_MESSAGE);
                }));
                assert!(r.is_err());
            }
            Op::Leak => self.leak = true,
        }
    }

    fn take(&mut self, lock: u8, how: u8) {
        let l = self.locks;
        let want = match (lock, how % 4) {
            (4, 0 | 1) | (5, 0 | 1) => Hold::Shared,
            (4, 2) => Hold::Upgradable,
            _ => Hold::Exclusive,
        };
        let (other, own) = self.model.lock().unwrap().conflicts(lock, self.me, want);
        if own {
            return;
        }
        // Blocked by another thread: the try variant, which must fail.
        let try_it = other || how & 0x10 != 0;
        let guard = match lock {
            0..=3 => {
                let m = if lock < 2 {
                    &l.m[lock as usize]
                } else {
                    &l.node[lock as usize - 2]
                };
                if try_it {
                    m.try_lock().map(Guard::Mutex)
                } else if lock == 3 && how % 4 == 1 {
                    Some(Guard::Mutex(m.lock_nested(1)))
                } else if lock == 3 && how % 4 == 2 && self.holds(0) {
                    Some(Guard::Mutex(m.lock_nest_lock(&l.m[0])))
                } else {
                    Some(Guard::Mutex(m.lock()))
                }
            }
            4 => match (want, try_it) {
                (Hold::Shared, false) => Some(Guard::Read(l.rw.read())),
                (Hold::Shared, true) => l.rw.try_read().map(Guard::Read),
                (Hold::Upgradable, false) => Some(Guard::Upgradable(l.rw.upgradable_read())),
                (Hold::Upgradable, true) => l.rw.try_upgradable_read().map(Guard::Upgradable),
                (_, false) => Some(Guard::Write(l.rw.write())),
                (_, true) => l.rw.try_write().map(Guard::Write),
            },
            5 => match (want, try_it) {
                (Hold::Shared, false) => Some(Guard::RecRead(l.rr.read())),
                (Hold::Shared, true) => l.rr.try_read().map(Guard::RecRead),
                (_, false) => Some(Guard::RecWrite(l.rr.write())),
                (_, true) => l.rr.try_write().map(Guard::RecWrite),
            },
            _ => {
                let s = &l.spin[lock as usize - 6];
                if try_it {
                    s.try_lock().map(Guard::Spin)
                } else {
                    Some(Guard::Spin(s.lock()))
                }
            }
        };
        assert_eq!(
            guard.is_none(),
            other,
            "a trylock's result disagrees with the model"
        );
        if let Some(g) = guard {
            self.model.lock().unwrap().take(lock, self.me, want);
            self.held.push((lock, want, g));
        }
    }

    /// Upgrade, or downgrade: the `i`-th rwlock guard picks which.
    fn convert(&mut self, i: u8) {
        let rw: Vec<usize> = (0..self.held.len())
            .filter(|&k| self.held[k].0 == 4 && self.held[k].1 != Hold::Shared)
            .collect();
        if rw.is_empty() {
            return;
        }
        let at = rw[i as usize % rw.len()];
        let (lock, h, g) = self.held.remove(at);
        let mut model = self.model.lock().unwrap();
        model.drop_one(lock, self.me, h);
        let (next, g) = match g {
            Guard::Write(w) => (Hold::Shared, Guard::Read(RwLockWriteGuard::downgrade(w))),
            Guard::Upgradable(u) if i.is_multiple_of(2) => (
                Hold::Shared,
                Guard::Read(RwLockUpgradableReadGuard::downgrade(u)),
            ),
            Guard::Upgradable(u) => {
                // Upgrading waits for every other reader, this thread's own included.
                if model.conflicts(4, self.me, Hold::Exclusive) == (false, false) {
                    (
                        Hold::Exclusive,
                        Guard::Write(RwLockUpgradableReadGuard::upgrade(u)),
                    )
                } else {
                    match RwLockUpgradableReadGuard::try_upgrade(u) {
                        Ok(_) => panic!("an upgrade succeeded past another reader"),
                        Err(u) => (Hold::Upgradable, Guard::Upgradable(u)),
                    }
                }
            }
            _ => unreachable!("only write and upgradable guards are converted"),
        };
        model.take(lock, self.me, next);
        drop(model);
        self.held.insert(at, (lock, next, g));
    }

    fn finish(mut self) {
        if self.leak {
            for (_, _, g) in self.held.drain(..) {
                std::mem::forget(g);
            }
        } else {
            while let Some((lock, h, g)) = self.held.pop() {
                self.model.lock().unwrap().drop_one(lock, self.me, h);
                drop(g);
            }
        }
    }
}

/// Drops `g` on another thread: the release is posted to this thread's stack (`send_guard`).
#[cfg(feature = "send_guard")]
fn hand_off(g: Guard<'_>) {
    std::thread::scope(|s| {
        s.spawn(move || drop(g)).join().unwrap();
    });
}

/// Without `send_guard` guards stay on their thread.
#[cfg(not(feature = "send_guard"))]
fn hand_off(g: Guard<'_>) {
    drop(g);
}

/// What must agree between a live report and its replay.
fn signature(r: &Report) -> String {
    let lock = |l: &Option<LockRef>| {
        l.as_ref().map_or("-".to_string(), |l| {
            format!("{} {:?} try={} at {}", l.name, l.mode, l.trylock, l.site)
        })
    };
    let chain: Vec<String> = r
        .chain
        .iter()
        .map(|c| format!("{} -> {} {:?}", c.from, c.to, c.types))
        .collect();
    let held: Vec<String> = r
        .held
        .iter()
        .map(|l| format!("{} {:?}", l.name, l.mode))
        .collect();
    format!(
        "{:?} thread={} acquiring=[{}] held_lock=[{}] chain={chain:?} held={held:?} limit={:?}",
        r.kind(),
        r.thread.name,
        lock(&r.acquiring),
        lock(&r.held_lock),
        r.limit.as_ref().map(|l| l.name),
    )
}

type Program = Vec<(usize, Op)>;

fn run(program: &Program, config: Config, case: u64) -> (Vec<String>, Vec<String>, String) {
    let path =
        std::env::temp_dir().join(format!("lockdep-diff-{}-{case}.jsonl", std::process::id()));
    let v = Validator::with_on_report(config.clone(), OnReport::Collect);
    v.record_to(&path).unwrap();
    let locks = Locks::new();
    let model = Shared::new(Model::new());
    std::thread::scope(|s| {
        let mut to_workers = Vec::new();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        for me in 0..THREADS {
            let (tx, rx) = mpsc::channel::<Option<Op>>();
            to_workers.push(tx);
            let (v, locks, model, done) = (&v, &locks, &model, done_tx.clone());
            std::thread::Builder::new()
                .name(format!("t{me}"))
                .spawn_scoped(s, move || {
                    v.scope(|| {
                        let mut w = Worker {
                            me,
                            locks,
                            model,
                            held: Vec::new(),
                            leak: false,
                        };
                        while let Ok(Some(op)) = rx.recv() {
                            w.run(op);
                            done.send(()).unwrap();
                        }
                        w.finish();
                    });
                    done.send(()).unwrap();
                })
                .unwrap();
        }
        for &(t, op) in program {
            to_workers[t].send(Some(op)).unwrap();
            done_rx.recv().unwrap();
        }
        // Threads end one at a time too, in order.
        for tx in &to_workers {
            tx.send(None).unwrap();
            done_rx.recv().unwrap();
        }
    });
    v.stop_recording().unwrap();
    let live: Vec<String> = v.take_reports().iter().map(signature).collect();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut r = Replayer::new(config, ClassRefinement::default());
    let mut replayed = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let ev = lockdep::trace::parse_line(line)
            .unwrap_or_else(|e| panic!("trace line {}: {e}: {line}", n + 1));
        if let Some(ev) = ev {
            let reports = r
                .apply(&ev)
                .unwrap_or_else(|e| panic!("trace line {}: {e}\n{text}", n + 1));
            replayed.extend(reports.iter().map(signature));
        }
    }
    (live, replayed, text)
}

fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec((0..THREADS, op()), 1..60)
}

fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PANIC_MESSAGE) {
                default(info);
            }
        }));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replaying_a_recording_gives_the_live_reports(program in program(), limits in any::<bool>()) {
        static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        quiet_panics();
        let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Small limits half the time: a run that hits one replays to the same limit report and
        // goes on validating the same way.
        let config = if limits {
            Config {
                max_lock_depth: 3,
                max_edges: 8,
                max_chains: 8,
                max_classes: 7,
                ..Config::default()
            }
        } else {
            Config::default()
        };
        let (live, replayed, trace) = run(&program, config, case);
        prop_assert_eq!(live, replayed, "the trace:\n{}", trace);
    }
}
