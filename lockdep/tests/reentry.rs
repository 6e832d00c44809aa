//! A hook that runs while another hook of the same thread is inside lockdep — a `tracing`
//! subscriber or a report callback taking lockdep locks, a thread-local destructor locking during
//! thread exit — and settings that change while other threads are on the steady-state path: none
//! of it may panic, corrupt a thread's held-lock stack, or produce a report the program did not
//! earn.

#![cfg(not(lockdep_off))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use lockdep::{Config, Mutex, OnReport, Validator};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A subscriber layer that takes a lockdep mutex for every event it sees.
struct Locking {
    lock: Arc<Mutex<usize>>,
}

impl<S: tracing::Subscriber> Layer<S> for Locking {
    fn on_event(&self, _event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        *self.lock.lock() += 1;
    }
}

#[test]
fn a_subscriber_taking_lockdep_locks_inside_lock_events_is_left_unvalidated() {
    let seen = Arc::new(Mutex::with_name("subscriber", 0usize));
    let subscriber = tracing_subscriber::registry().with(Locking { lock: seen.clone() });
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.set_tracing_level(Some(tracing::Level::INFO));
    tracing::subscriber::with_default(subscriber, || {
        v.scope(|| {
            let a = Mutex::with_name("a", ());
            let b = Mutex::with_name("b", ());
            for _ in 0..3 {
                let ga = a.lock();
                let gb = b.lock();
                lockdep::assert_held(&a);
                lockdep::assert_held(&b);
                drop(gb);
                drop(ga);
            }
            lockdep::assert_not_held(&a);
        });
    });
    assert!(*seen.lock() > 0, "the subscriber saw lock events");
    assert!(v.take_reports().is_empty());
    // The subscriber's own lock was taken only inside hooks of `a` and `b`, so it went
    // unvalidated: the validator knows `a` and `b` alone.
    assert_eq!(v.class_count(), 2);
}

#[test]
fn a_report_callback_taking_lockdep_locks_is_validated_like_any_code() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = Arc::new(Mutex::with_name("callback lock", ()));
    let (c, l) = (calls.clone(), inner.clone());
    let v = Validator::with_on_report(
        Config::default(),
        OnReport::Callback(Arc::new(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            drop(l.lock());
        })),
    );
    v.scope(|| {
        let a = Mutex::with_name("A", ());
        let b = Mutex::with_name("B", ());
        drop((a.lock(), b.lock()));
        {
            let _gb = b.lock();
            let _ga = a.lock(); // the inversion: one report, its callback locks
        }
        // The thread's stack is intact after the callback: steady chains still work.
        let ga = a.lock();
        lockdep::assert_held(&a);
        drop(ga);
        lockdep::assert_not_held(&a);
    });
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

thread_local! {
    static LOCK_AT_EXIT: LockAtExit = const { LockAtExit };
}

static EXIT_LOCK: Mutex<u32> = Mutex::with_name("exit lock", 0);
static EXITED: AtomicBool = AtomicBool::new(false);

struct LockAtExit;

impl Drop for LockAtExit {
    fn drop(&mut self) {
        *EXIT_LOCK.lock() += 1;
        EXITED.store(true, Ordering::SeqCst);
    }
}

#[test]
fn locks_taken_by_thread_local_destructors_during_exit_are_harmless() {
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let v2 = v.clone();
    std::thread::spawn(move || {
        v2.enter();
        // Registered before and after lockdep's own thread-local: destructors run in either
        // order relative to it.
        LOCK_AT_EXIT.with(|_| ());
        drop(EXIT_LOCK.lock());
        let late = Mutex::with_name("late", ());
        drop(late.lock());
    })
    .join()
    .expect("thread exits cleanly");
    assert!(EXITED.load(Ordering::SeqCst));
    assert!(v.take_reports().is_empty());
}

#[test]
fn settings_changing_under_busy_threads_never_corrupt_their_stacks() {
    const THREADS: usize = 3;
    const ROUNDS: usize = 20_000;
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let v = v.clone();
            std::thread::spawn(move || {
                v.scope(|| {
                    let outer = Mutex::with_name("outer", t);
                    let inner = lockdep::RwLock::with_name("inner", t);
                    let spin = lockdep::SpinLock::with_name("spin", t);
                    for i in 0..ROUNDS {
                        let go = outer.lock();
                        let gi = inner.read();
                        let gs = spin.lock();
                        if i.is_multiple_of(7) {
                            drop(go); // out of order now and then
                            drop(gs);
                            drop(gi);
                        } else {
                            drop(gs);
                            drop(gi);
                            drop(go);
                        }
                    }
                    lockdep::assert_not_held(&outer);
                });
            })
        })
        .collect();
    let toggler = {
        let (v, stop) = (v.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) && n < 2_000 {
                n += 1;
                // Every change sends each thread's next hook through the full path.
                v.set_tracing_level(n.is_multiple_of(2).then_some(tracing::Level::TRACE));
                if n.is_multiple_of(5) {
                    v.set_enabled(false);
                    v.set_enabled(true);
                }
                std::thread::yield_now();
            }
            v.set_tracing_level(None);
        })
    };
    for w in workers {
        w.join().expect("a worker panicked");
    }
    stop.store(true, Ordering::Relaxed);
    toggler.join().expect("the toggler panicked");
    let reports = v.take_reports();
    assert!(
        reports.is_empty(),
        "{}",
        reports
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
