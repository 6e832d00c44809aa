//! Limits in the live validator: each limit that runs out is one report naming the knob that
//! raises it, and validation of everything the limit does not cover goes on, with no spurious
//! report. Every scenario ends with an AB-BA across two threads that must still be reported.
//!
//! Each runs in a `Validator::scope` and in `capture_with` (limits from a `Config`), and in the
//! process-wide validator and `capture` (limits from the `LOCKDEP_MAX_*` variables): those two
//! run in a child process of this test binary, started with the variables set.
// Validation compiled out (feature `disabled`): nothing to check.
#![cfg(not(feature = "disabled"))]

use std::process::Command;
use std::thread;

use lockdep::{ClassKey, Config, Mutex, OnReport, Report, ReportKind, SpinLock, Validator};

static KEYS: [ClassKey; 12] = [
    ClassKey::new("k0"),
    ClassKey::new("k1"),
    ClassKey::new("k2"),
    ClassKey::new("k3"),
    ClassKey::new("k4"),
    ClassKey::new("k5"),
    ClassKey::new("k6"),
    ClassKey::new("k7"),
    ClassKey::new("k8"),
    ClassKey::new("k9"),
    ClassKey::new("k10"),
    ClassKey::new("k11"),
];

/// Twelve mutexes, each of a class of its own (`k0` .. `k11`).
fn mutexes() -> Vec<Mutex<u32>> {
    KEYS.iter().map(|k| Mutex::with_class(k, 0)).collect()
}

/// Runs `f` on another thread, in the validator this thread reports to (a thread spawned in a
/// scope or `capture` joins it with `Validator::scope`; in the process-wide validator that scope
/// is the same validator).
fn on_another_thread(f: impl FnOnce() + Send) {
    let v = lockdep::current_validator();
    thread::scope(|s| {
        s.spawn(|| v.scope(f));
    });
}

/// `a` then `b` on another thread, then `b` then `a` here: one circular dependency.
fn abba(a: &Mutex<u32>, b: &Mutex<u32>) {
    on_another_thread(|| {
        let _a = a.lock();
        let _b = b.lock();
    });
    let _b = b.lock();
    let _a = a.lock();
}

/// Locks `locks` nested, in order, then releases them in the order `release` gives (indices).
fn nest_and_release(locks: &[&Mutex<u32>], release: &[usize]) {
    let mut guards: Vec<_> = locks.iter().map(|l| Some(l.lock())).collect();
    for &i in release {
        **guards[i].as_mut().unwrap() += 1;
        guards[i] = None;
    }
}

// ----- the scenarios -----

/// `max_lock_depth = 4`: the thread that goes deeper has its extra locks untracked (released in
/// any order without a report); the other half of the AB-BA runs on another thread while it is
/// past the limit, the last half on it once it is back below.
fn depth() {
    let m = mutexes();
    let deep: Vec<&Mutex<u32>> = m[..8].iter().collect();
    for _ in 0..2 {
        let mut guards: Vec<_> = deep.iter().map(|l| Some(l.lock())).collect();
        // Past the limit: the other threads are validated as before.
        on_another_thread(|| {
            let _a = m[10].lock();
            let _b = m[11].lock();
        });
        // An untracked lock is held as far as assertions go.
        lockdep::assert_held(deep[6]);
        for i in [5, 0, 7, 1, 6, 2, 4, 3] {
            guards[i] = None;
        }
    }
    // Two threads past the limit at once: still one report.
    thread::scope(|s| {
        for _ in 0..2 {
            let v = lockdep::current_validator();
            let deep = &deep;
            s.spawn(move || v.scope(|| nest_and_release(deep, &[7, 6, 5, 4, 3, 2, 1, 0])));
        }
    });
    // Back below the limit: this thread is validated again.
    let _b = m[11].lock();
    let _a = m[10].lock();
}

/// `max_classes = 4`: k0 and k1 (the AB-BA pair) and k2, k3 fit; locks of k4 .. k9 go
/// untracked, also when they are taken between tracked ones and released out of order.
fn classes() {
    let m = mutexes();
    drop((m[0].lock(), m[1].lock()));
    for _ in 0..2 {
        let locks: Vec<&Mutex<u32>> = m[2..10].iter().collect();
        nest_and_release(&locks, &[3, 0, 7, 1, 5, 2, 6, 4]);
        on_another_thread(|| nest_and_release(&[&m[0], &m[5], &m[2], &m[9]], &[1, 3, 0, 2]));
    }
    let _b = m[1].lock();
    let _a = m[0].lock();
}

/// `max_edges = 2`: k0 -> k1 and k2 -> k3 are recorded, k4 -> k5 is not (one report however
/// often it is met). The cycle through the recorded k0 -> k1 is still found; the reverse of the
/// unrecorded one cannot be, and nothing is reported for it.
fn edges() {
    let m = mutexes();
    drop((m[0].lock(), m[1].lock()));
    drop((m[2].lock(), m[3].lock()));
    for _ in 0..2 {
        drop((m[4].lock(), m[5].lock()));
        on_another_thread(|| drop((m[4].lock(), m[5].lock())));
    }
    drop((m[5].lock(), m[4].lock()));
    on_another_thread(|| drop((m[0].lock(), m[1].lock())));
    let _b = m[1].lock();
    let _a = m[0].lock();
}

/// `max_chains = 8`: ten one-lock chains and more; those past the limit are validated each time
/// and not remembered, so the dependencies of later chains are recorded and an AB-BA of new
/// classes is found.
fn chains() {
    let m = mutexes();
    for _ in 0..3 {
        for l in &m[..10] {
            drop(l.lock());
        }
        on_another_thread(|| nest_and_release(&[&m[0], &m[1], &m[2]], &[2, 1, 0]));
    }
    let spin = SpinLock::with_name("spin", ());
    drop((m[3].lock(), spin.lock()));
    abba(&m[10], &m[11]);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Limit {
    Depth,
    Classes,
    Edges,
    Chains,
}

impl Limit {
    fn parse(s: &str) -> Limit {
        match s {
            "depth" => Limit::Depth,
            "classes" => Limit::Classes,
            "edges" => Limit::Edges,
            "chains" => Limit::Chains,
            other => panic!("no scenario {other}"),
        }
    }

    fn scenario(self) -> fn() {
        match self {
            Limit::Depth => depth,
            Limit::Classes => classes,
            Limit::Edges => edges,
            Limit::Chains => chains,
        }
    }

    /// The config field, its value here, the kernel's name and the variable.
    fn knob(self) -> (&'static str, usize, &'static str, &'static str) {
        match self {
            Limit::Depth => ("max_lock_depth", 4, "MAX_LOCK_DEPTH", "LOCKDEP_MAX_DEPTH"),
            Limit::Classes => ("max_classes", 4, "MAX_LOCKDEP_KEYS", "LOCKDEP_MAX_CLASSES"),
            Limit::Edges => ("max_edges", 2, "MAX_LOCKDEP_ENTRIES", "LOCKDEP_MAX_EDGES"),
            Limit::Chains => ("max_chains", 8, "MAX_LOCKDEP_CHAINS", "LOCKDEP_MAX_CHAINS"),
        }
    }

    fn config(self) -> Config {
        let value = self.knob().1;
        let mut c = Config::default();
        match self {
            Limit::Depth => c.max_lock_depth = value,
            Limit::Classes => c.max_classes = value,
            Limit::Edges => c.max_edges = value,
            Limit::Chains => c.max_chains = value,
        }
        c
    }

    /// The reports are the limit's one report, then the AB-BA of the scenario's last two
    /// classes (`k0`/`k1` or `k10`/`k11`), and nothing else.
    fn check(self, reports: &[Report], from_env: bool) {
        let kinds: Vec<ReportKind> = reports.iter().map(Report::kind).collect();
        assert_eq!(
            kinds,
            [ReportKind::LimitExceeded, ReportKind::CircularDependency],
            "{self:?}: {reports:#?}"
        );
        let (field, value, name, var) = self.knob();
        let limit = reports[0].limit.as_ref().unwrap();
        assert_eq!(
            (limit.name, limit.value, limit.env_var, limit.config_field),
            (name, value, var, field)
        );
        assert_eq!(limit.from_env, from_env);
        let text = reports[0].to_string();
        assert!(text.contains(&format!("BUG: {name} too low!")), "{text}");
        assert!(
            text.contains("everything else is still validated"),
            "{text}"
        );
        let knob = if from_env {
            format!("raise it with {var}=<larger>")
        } else {
            format!("raise it with Config::{field} (this validator's Config")
        };
        assert!(text.contains(&knob), "{text}");
        let mut cycle = reports[1].cycle();
        cycle.sort();
        let pair = match self {
            Limit::Classes | Limit::Edges => ["k0", "k1"],
            Limit::Depth | Limit::Chains => ["k10", "k11"],
        };
        assert_eq!(cycle, pair, "{reports:#?}");
    }

    fn in_scope(self) {
        let v = Validator::with_on_report(self.config(), OnReport::Collect);
        v.scope(self.scenario());
        self.check(&v.take_reports(), false);
        if self == Limit::Chains {
            assert_eq!(v.chain_count(), 8);
        }
        assert!(v.is_enabled());
    }

    fn in_capture_with(self) {
        let reports = lockdep::capture_with(self.config(), self.scenario());
        self.check(&reports, false);
    }

    /// In a child process with the variable set: the process-wide validator, then `capture`.
    fn in_child(self) {
        let (_, value, _, var) = self.knob();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LIMITS_SCENARIO", format!("{self:?}").to_lowercase())
            .env(var, value.to_string())
            .env("LOCKDEP_ON_REPORT", "collect")
            .env_remove("LOCKDEP")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{self:?}:\n{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{self:?}:\n{stdout}\n{stderr}");
    }
}

/// The child process's part (does nothing unless `LIMITS_SCENARIO` names a scenario).
#[test]
fn child_process() {
    let Ok(which) = std::env::var("LIMITS_SCENARIO") else {
        return;
    };
    let limit = Limit::parse(&which);
    // This thread and the ones it starts report to the process-wide validator, as in a program.
    (limit.scenario())();
    let global = lockdep::global();
    limit.check(&global.take_reports(), true);
    assert!(global.is_enabled());
    // A capture takes its limits from the same variables.
    let reports = lockdep::capture(limit.scenario());
    limit.check(&reports, true);
}

#[test]
fn depth_limit_in_a_scope() {
    Limit::Depth.in_scope();
}

#[test]
fn depth_limit_in_capture_with() {
    Limit::Depth.in_capture_with();
}

#[test]
fn depth_limit_in_the_global_validator_and_capture() {
    Limit::Depth.in_child();
}

#[test]
fn class_limit_in_a_scope() {
    Limit::Classes.in_scope();
}

#[test]
fn class_limit_in_capture_with() {
    Limit::Classes.in_capture_with();
}

#[test]
fn class_limit_in_the_global_validator_and_capture() {
    Limit::Classes.in_child();
}

#[test]
fn edge_limit_in_a_scope() {
    Limit::Edges.in_scope();
}

#[test]
fn edge_limit_in_capture_with() {
    Limit::Edges.in_capture_with();
}

#[test]
fn edge_limit_in_the_global_validator_and_capture() {
    Limit::Edges.in_child();
}

#[test]
fn chain_limit_in_a_scope() {
    Limit::Chains.in_scope();
}

#[test]
fn chain_limit_in_capture_with() {
    Limit::Chains.in_capture_with();
}

#[test]
fn chain_limit_in_the_global_validator_and_capture() {
    Limit::Chains.in_child();
}

/// A limit report never unwinds, even when reports panic, and the lock it was raised for is
/// taken and released normally afterwards.
#[test]
fn limit_reports_do_not_panic_and_leave_the_stack_consistent() {
    for limit in [Limit::Depth, Limit::Classes, Limit::Edges, Limit::Chains] {
        let v = Validator::new(limit.config());
        v.scope(|| {
            let m = mutexes();
            let locks: Vec<&Mutex<u32>> = m[..10].iter().collect();
            for _ in 0..2 {
                nest_and_release(&locks, &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
                nest_and_release(&locks, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
                nest_and_release(&locks, &[4, 9, 0, 5, 1, 8, 2, 7, 3, 6]);
            }
        });
        // A genuine report still panics: k1 -> k0 against the k0 -> k1 recorded above (the
        // classes and the dependency came before any limit ran out).
        let m = mutexes();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            v.scope(|| drop((m[1].lock(), m[0].lock())))
        }));
        let caught = r.expect_err("the AB-BA panics");
        let text = caught.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("circular locking dependency"),
            "{limit:?}: {text}"
        );
    }
}
