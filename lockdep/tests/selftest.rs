//! The process-context scenarios of the kernel's lib/locking-selftest.c, with its verdicts.
//!
//! Each scenario is written in the step language of the reference port table:
//! `+X` acquire exclusive, `r+X` non-recursive read, `R+X` recursive read, `t+X` trylock,
//! `-X` release, `nest+Y/N` acquire Y with nest lock N; events are separated by `|` and, where
//! the kernel runs every event order, run in every order. Locks `A`..`D` are four classes;
//! `X1`/`X2` (and `Y*`, `Z*`) are two instances of one class `X`.

use std::collections::HashMap;

use lockdep::{
    Acquire, ClassId, Config, InstanceId, LockKind, Mode, ReportKind, Site, ThreadState, Validator,
};

struct Run {
    v: Validator,
    classes: HashMap<String, ClassId>,
    instances: HashMap<String, u64>,
    thread: ThreadState,
    kinds: Vec<(ReportKind, Vec<String>)>,
}

impl Run {
    fn new() -> Self {
        Run {
            v: Validator::new(Config::default()),
            classes: HashMap::new(),
            instances: HashMap::new(),
            thread: ThreadState::new("selftest", 1, 16),
            kinds: Vec::new(),
        }
    }

    fn class_of(name: &str) -> String {
        // X1, X2 -> X; A -> A.
        name.trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string()
    }

    fn ids(&mut self, lock: &str) -> (ClassId, InstanceId) {
        let class_name = Self::class_of(lock);
        let v = self.v.clone();
        let class = *self
            .classes
            .entry(class_name.clone())
            .or_insert_with(|| v.class_named(&class_name, LockKind::RwLock).unwrap());
        let next = self.instances.len() as u64 + 1;
        let inst = *self.instances.entry(lock.to_string()).or_insert(next);
        (class, InstanceId(inst))
    }

    fn step(&mut self, step: &str) {
        let (op, rest) = if let Some(r) = step.strip_prefix("nest+") {
            ("nest", r)
        } else if let Some(r) = step.strip_prefix("r+") {
            ("r", r)
        } else if let Some(r) = step.strip_prefix("R+") {
            ("R", r)
        } else if let Some(r) = step.strip_prefix("t+") {
            ("t", r)
        } else if let Some(r) = step.strip_prefix('+') {
            ("W", r)
        } else if let Some(r) = step.strip_prefix('-') {
            ("-", r)
        } else {
            panic!("bad step {step}")
        };
        let reports = if op == "-" {
            let (class, inst) = self.ids(rest);
            self.v
                .release(&mut self.thread, inst, Some(class), Site::Unknown)
        } else {
            let (lock, nest) = match rest.split_once('/') {
                Some((l, n)) => (l, Some(self.ids(n).1)),
                None => (rest, None),
            };
            let (class, instance) = self.ids(lock);
            let mode = match op {
                "r" => Mode::Read,
                "R" => Mode::ReadRecursive,
                _ => Mode::Write,
            };
            let acquire = Acquire {
                class,
                instance,
                mode,
                trylock: op == "t",
                nest_lock: nest,
                kind: LockKind::RwLock,
                site: Site::Unknown,
            };
            self.v.acquire(&mut self.thread, acquire)
        };
        for r in reports {
            let mut names: Vec<String> = r.classes().iter().map(|s| s.to_string()).collect();
            names.sort();
            self.kinds.push((r.kind(), names));
        }
    }

    fn event(&mut self, event: &str) {
        for step in event.split_whitespace() {
            self.step(step);
        }
    }
}

/// Runs the events in the given order and returns the reports as (kind, sorted classes).
fn run(events: &[&str]) -> Vec<(ReportKind, Vec<String>)> {
    let mut r = Run::new();
    for e in events {
        r.event(e);
    }
    r.kinds
}

fn permutations(items: &[&'static str]) -> Vec<Vec<&'static str>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

/// Every order of `events` gives `expected` (lockdep's verdicts do not depend on order).
fn check_all_orders(name: &str, events: &[&'static str], expected: Option<(ReportKind, &[&str])>) {
    for order in permutations(events) {
        let got = run(&order);
        match expected {
            None => assert!(
                got.is_empty(),
                "{name} {order:?}: expected silence, got {got:?}"
            ),
            Some((kind, classes)) => {
                assert_eq!(
                    got.len(),
                    1,
                    "{name} {order:?}: expected one report, got {got:?}"
                );
                assert_eq!(got[0].0, kind, "{name} {order:?}");
                let want: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
                assert_eq!(got[0].1, want, "{name} {order:?}: classes");
            }
        }
    }
}

/// Rewrites a scenario in exclusive notation for one column: `E` (as written), `r` or `R`.
fn column(events: &[&'static str], col: char) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| {
            let s: String = e
                .split_whitespace()
                .map(|step| match (col, step.strip_prefix('+')) {
                    ('r', Some(l)) => format!("r+{l}"),
                    ('R', Some(l)) => format!("R+{l}"),
                    _ => step.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            &*Box::leak(s.into_boxed_str())
        })
        .collect()
}

const CIRC: ReportKind = ReportKind::CircularDependency;
const REC: ReportKind = ReportKind::RecursiveLocking;

// ----- rows 1-7: one scenario, three columns (E and r fail, R passes: DO_TESTCASE_6R) -----

fn six_r(name: &str, events: &[&'static str], classes: &[&str], kind: ReportKind) {
    check_all_orders(
        &format!("{name}/E"),
        &column(events, 'E'),
        Some((kind, classes)),
    );
    check_all_orders(
        &format!("{name}/r"),
        &column(events, 'r'),
        Some((kind, classes)),
    );
    check_all_orders(&format!("{name}/R"), &column(events, 'R'), None);
}

#[test]
fn aa_same_class_two_instances() {
    six_r("AA", &["+X1 +X2 -X2 -X1"], &["X"], REC);
}

#[test]
fn abba() {
    six_r("ABBA", &["+A +B -B -A", "+B +A -A -B"], &["A", "B"], CIRC);
}

#[test]
fn abbcca() {
    six_r(
        "ABBCCA",
        &["+A +B -B -A", "+B +C -C -B", "+C +A -A -C"],
        &["A", "B", "C"],
        CIRC,
    );
}

#[test]
fn abcabc() {
    six_r(
        "ABCABC",
        &["+A +B -B -A", "+C +A -A -C", "+B +C -C -B"],
        &["A", "B", "C"],
        CIRC,
    );
}

#[test]
fn abbccdda() {
    six_r(
        "ABBCCDDA",
        &["+A +B -B -A", "+B +C -C -B", "+C +D -D -C", "+D +A -A -D"],
        &["A", "B", "C", "D"],
        CIRC,
    );
}

#[test]
fn abcdbdda() {
    six_r(
        "ABCDBDDA",
        &["+A +B -B -A", "+C +D -D -C", "+B +D -D -B", "+D +A -A -D"],
        &["A", "B", "D"],
        CIRC,
    );
}

#[test]
fn abcdbcda() {
    six_r(
        "ABCDBCDA",
        &["+A +B -B -A", "+C +D -D -C", "+B +C -C -B", "+D +A -A -D"],
        &["A", "B", "C", "D"],
        CIRC,
    );
}

#[test]
fn double_unlock_is_bad_unlock_balance() {
    for col in ['E', 'r', 'R'] {
        let got = run(&column(&["+A -A -A"], col));
        assert_eq!(got.len(), 1, "{col}: {got:?}");
        assert_eq!(got[0].0, ReportKind::BadUnlockBalance);
        assert_eq!(got[0].1, vec!["A"]);
    }
}

#[test]
fn out_of_order_unlock_is_silent() {
    for col in ['E', 'r', 'R'] {
        assert!(run(&column(&["+A +B -A -B"], col)).is_empty());
        assert!(run(&column(&["+A +B +C -B -A -C"], col)).is_empty());
    }
}

#[test]
fn out_of_order_unlock_keeps_later_dependencies_right() {
    // Holding A, B, C and dropping B leaves (A, C): the re-acquired C depends on A.
    let got = run(&["+A +B +C -B -A -C", "+C +A -A -C"]);
    assert_eq!(got, vec![(CIRC, vec!["A".to_string(), "C".to_string()])]);
}

// ----- rows 10-17: readers -----

#[test]
fn recursive_read_lock_same_instance() {
    assert_eq!(run(&["r+X1 r+X1"]), vec![(REC, vec!["X".into()])]);
    assert!(run(&["R+X1 R+X1"]).is_empty());
}

#[test]
fn recursive_read_lock_2_same_class() {
    assert_eq!(run(&["r+X1 r+X2"]), vec![(REC, vec!["X".into()])]);
    assert!(run(&["R+X1 R+X2"]).is_empty());
}

#[test]
fn mixed_read_write_lock() {
    assert_eq!(run(&["r+X1 +X2"]), vec![(REC, vec!["X".into()])]);
    assert_eq!(run(&["R+X1 +X2"]), vec![(REC, vec!["X".into()])]);
}

#[test]
fn mixed_write_read_lock() {
    assert_eq!(run(&["+X1 r+X2"]), vec![(REC, vec!["X".into()])]);
    assert_eq!(run(&["+X1 R+X2"]), vec![(REC, vec!["X".into()])]);
}

#[test]
fn mixed_read_lock_lock_write_abba() {
    // rlock_ABBA1: X-(SN)->Y-(EN)->X is strong.
    check_all_orders(
        "rlock_ABBA1",
        &["R+X1 +Y1 -Y1 -X1", "+Y1 +X1 -X1 -Y1"],
        Some((CIRC, &["X", "Y"])),
    );
    check_all_orders(
        "rwsem_ABBA1",
        &["r+X1 +Y1 -Y1 -X1", "+Y1 +X1 -X1 -Y1"],
        Some((CIRC, &["X", "Y"])),
    );
    // rlock_ABBA2: Y-(ER)->X-(SN)->Y has xR followed by Sx: not strong. rwsem: all N: strong.
    check_all_orders(
        "rlock_ABBA2",
        &["R+X1 +Y1 -Y1 -X1", "+Y1 R+X1 -X1 -Y1"],
        None,
    );
    check_all_orders(
        "rwsem_ABBA2",
        &["r+X1 +Y1 -Y1 -X1", "+Y1 r+X1 -X1 -Y1"],
        Some((CIRC, &["X", "Y"])),
    );
    // rlock_ABBA3 / rwsem_ABBA3: plain ABBA with a write.
    check_all_orders(
        "rlock_ABBA3",
        &["+X1 +Y1 -Y1 -X1", "+Y1 +X1 -X1 -Y1"],
        Some((CIRC, &["X", "Y"])),
    );
}

#[test]
fn chain_cache_does_not_hide_read_to_write_upgrade() {
    // rlock_chaincache_ABBA1: (Y, read X) is cached as fine; (Y, write X) is a different chain.
    let got = run(&["R+X1 +Y1 -Y1 -X1", "+Y1 R+X1 -X1 -Y1", "+Y1 +X1 -X1 -Y1"]);
    assert_eq!(got, vec![(CIRC, vec!["X".to_string(), "Y".to_string()])]);
}

// ----- rows 18-21: the strong-path cases, all six orders -----

#[test]
fn w1r2_w2r3_w3r1_is_a_deadlock() {
    check_all_orders(
        "W1R2_W2R3_W3R1",
        &["+X1 R+Y1 -Y1 -X1", "+Y1 R+Z1 -Z1 -Y1", "+Z1 R+X1 -X1 -Z1"],
        Some((CIRC, &["X", "Y", "Z"])),
    );
}

#[test]
fn w1w2_r2r3_w3r1_is_a_deadlock() {
    check_all_orders(
        "W1W2_R2R3_W3R1",
        &["+X1 +Y1 -Y1 -X1", "R+Y1 R+Z1 -Z1 -Y1", "+Z1 R+X1 -X1 -Z1"],
        Some((CIRC, &["X", "Y", "Z"])),
    );
}

#[test]
fn w1w2_r2r3_r3w1_is_not_a_deadlock() {
    check_all_orders(
        "W1W2_R2R3_R3W1",
        &["+X1 +Y1 -Y1 -X1", "R+Y1 R+Z1 -Z1 -Y1", "R+Z1 +X1 -X1 -Z1"],
        None,
    );
}

#[test]
fn w1r2_r2r3_w3w1_is_not_a_deadlock() {
    check_all_orders(
        "W1R2_R2R3_W3W1",
        &["+X1 R+Y1 -Y1 -X1", "R+Y1 R+Z1 -Z1 -Y1", "+Z1 +X1 -X1 -Z1"],
        None,
    );
}

// ----- trylock -----

#[test]
fn successful_trylock_adds_no_dependency_into_the_tried_lock() {
    // Holding A, trylock B: no A -> B, so B then A later is fine.
    assert!(run(&["+A t+B -B -A", "+B +A -A -B"]).is_empty());
}

#[test]
fn locks_taken_under_a_trylock_depend_on_it() {
    let got = run(&["t+B +C -C -B", "+C +B -B -C"]);
    assert_eq!(got, vec![(CIRC, vec!["B".to_string(), "C".to_string()])]);
}

#[test]
fn locks_depend_on_the_nearest_lock_and_trylocks_above_it() {
    // A held, B trylocked above it, then C: A -> C and B -> C are both recorded.
    let got = run(&["+A t+B +C -C -B -A", "+C +A -A -C"]);
    assert_eq!(got, vec![(CIRC, vec!["A".to_string(), "C".to_string()])]);
    let got = run(&["+A t+B +C -C -B -A", "+C +B -B -C"]);
    assert_eq!(got, vec![(CIRC, vec!["B".to_string(), "C".to_string()])]);
}

#[test]
fn trylock_of_a_held_class_is_not_recursive_locking() {
    // ww "block_try": trylocks are never checked for recursion.
    assert!(run(&["+X1 t+X2 -X2 -X1"]).is_empty());
}

// ----- nest locks (rows 22-23) -----

#[test]
fn nest_lock_allows_many_of_one_class() {
    assert!(run(&["+N1 nest+Y1/N1 +A nest+Y2/N1 -Y2 -A -Y1 -N1"]).is_empty());
}

#[test]
fn nest_lock_not_taken_is_reported() {
    let got = run(&["nest+A/N1"]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, ReportKind::NestedLockNotTaken);
}

#[test]
fn many_same_class_locks_under_a_nest_lock_exceed_the_depth_limit_without_report() {
    let mut steps = String::from("+N1");
    for i in 0..200 {
        steps.push_str(&format!(" nest+Y{i}/N1"));
    }
    for i in (0..200).rev() {
        steps.push_str(&format!(" -Y{i}"));
    }
    steps.push_str(" -N1");
    assert!(run(&[&*Box::leak(steps.into_boxed_str())]).is_empty());
}

// ----- each problem once, validation goes on -----

#[test]
fn every_problem_is_reported_once_and_validation_continues() {
    let got = run(&[
        "+A +B -B -A",
        "+B +A -A -B",
        "+B +A -A -B",
        "+C +D -D -C",
        "+D +C -C -D",
    ]);
    assert_eq!(
        got,
        vec![
            (CIRC, vec!["A".to_string(), "B".to_string()]),
            (CIRC, vec!["C".to_string(), "D".to_string()]),
        ]
    );
}
