//! Validated async locks (`lockdep::tokio`, feature `tokio`): held locks follow tasks, cycles
//! between tasks and across async and blocking locks are reported, the async hazards fire on
//! their examples and stay silent on the correct versions, captures work under `#[tokio::test]`.
//!
//! `cargo test -p lockdep --features tokio --test async_locks`

// The hazard examples hold a blocking guard across an await on purpose.
#![allow(clippy::await_holding_lock)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lockdep::ReportKind;
#[cfg(feature = "trace-reader")]
use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::tokio::{Hazard, Mutex, RwLock, capture_async, spawn, track};
#[cfg(feature = "trace-reader")]
use lockdep::{Config, OnReport, Validator};
use tokio::runtime::{Builder, Runtime};
use tokio::task::yield_now;

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn kinds(reports: &[lockdep::Report]) -> Vec<ReportKind> {
    reports.iter().map(|r| r.kind()).collect()
}

/// Two tasks, one after the other: a -> b, then b -> a. Returns the two `.await` lines.
async fn abba(a: Arc<Mutex<u32>>, b: Arc<Mutex<u32>>) -> (u32, u32) {
    let (a2, b2) = (a.clone(), b.clone());
    let first = spawn(async move {
        let _a = a2.lock().await;
        let line = line!() + 1;
        let _b = b2.lock().await;
        line
    })
    .await
    .unwrap();
    let second = spawn(async move {
        let _b = b.lock().await;
        let line = line!() + 1;
        let _a = a.lock().await;
        line
    })
    .await
    .unwrap();
    (first, second)
}

#[test]
fn abba_between_tasks_run_one_after_the_other_is_reported_with_both_await_sites() {
    let rt = current_thread();
    let mut lines = (0, 0);
    let reports = rt.block_on(capture_async(async {
        let a = Arc::new(Mutex::with_name("a", 0));
        let b = Arc::new(Mutex::with_name("b", 0));
        lines = abba(a, b).await;
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::CircularDependency],
        "{reports:#?}"
    );
    let text = reports[0].to_string();
    let file = file!();
    for line in [lines.0, lines.1] {
        assert!(
            text.contains(&format!("{file}:{line}:")),
            "site line {line} missing:\n{text}"
        );
    }
    // Tasks in place of threads.
    assert!(reports[0].thread.name.starts_with("task-"), "{text}");
    assert!(text.contains("task-"), "{text}");
    // The chain says a task acquired them, not a thread (held out: it said "thread 'task-4'").
    assert!(text.contains("(acquired in task 'task-"), "{text}");
    assert!(!text.contains("acquired in thread 'task-"), "{text}");
}

/// Tasks that hold async locks across `yield_now()` while migrating between worker threads:
/// in one order only, with a blocking lock inside, and tasks that take the locks singly. If held
/// locks followed threads, a task would see another's held locks as its own.
async fn migrating_round(
    a: Arc<Mutex<u64>>,
    b: Arc<RwLock<u64>>,
    p: Arc<upstream_parking_lot::Mutex<u64>>,
    tasks: usize,
    tracked: bool,
) {
    let mut handles = Vec::new();
    for i in 0..tasks {
        let (a, b, p) = (a.clone(), b.clone(), p.clone());
        let body = async move {
            if i % 3 == 0 {
                let mut ga = a.lock().await;
                yield_now().await;
                let gb = b.write().await;
                yield_now().await;
                if tracked {
                    *p.lock() += 1; // a -> b -> p, never held across an await
                }
                *ga += *gb;
                drop(gb);
                yield_now().await;
            } else if i % 3 == 1 {
                let gb = b.read().await;
                yield_now().await;
                drop(gb);
                let ga = a.lock().await; // alone
                yield_now().await;
                drop(ga);
            } else {
                // Owned guard taken here, dropped by another task.
                let ga = a.clone().lock_owned().await;
                yield_now().await;
                tokio::spawn(async move { drop(ga) }).await.unwrap();
                let _gb = b.read().await;
                yield_now().await;
            }
        };
        handles.push(if tracked {
            spawn(body)
        } else {
            tokio::spawn(body)
        });
    }
    for h in handles {
        h.await.unwrap();
    }
}

#[test]
fn tasks_migrating_between_four_workers_while_holding_locks_give_no_false_reports() {
    let rt = multi_thread(4);
    let threads_seen = Arc::new(AtomicU64::new(0));
    for tracked in [true, false] {
        let seen = threads_seen.clone();
        let reports = rt.block_on(capture_async(async move {
            let a = Arc::new(Mutex::new(0));
            let b = Arc::new(RwLock::new(0));
            let p = Arc::new(upstream_parking_lot::Mutex::new(0));
            for _ in 0..20 {
                migrating_round(a.clone(), b.clone(), p.clone(), 150, tracked).await;
            }
            seen.fetch_add(1, Ordering::Relaxed);
        }));
        assert!(reports.is_empty(), "tracked={tracked}: {reports:#?}");
    }
    assert_eq!(threads_seen.load(Ordering::Relaxed), 2);
}

#[test]
fn a_cycle_of_async_and_blocking_locks_is_reported() {
    let rt = current_thread();
    let reports = rt.block_on(capture_async(async {
        let a = Arc::new(Mutex::with_name("async_a", 0));
        let p = Arc::new(lockdep::Mutex::with_name("blocking_p", 0));
        // A task: async a, then blocking p inside it (not held across an await).
        let (a2, p2) = (a.clone(), p.clone());
        spawn(async move {
            let _a = a2.lock().await;
            *p2.lock() += 1;
        })
        .await
        .unwrap();
        // A thread of this capture: p, then a by blocking_lock: p -> a closes the cycle.
        lockdep::thread::spawn(move || {
            let _p = p.lock();
            let _a = a.blocking_lock();
        })
        .join()
        .unwrap();
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::CircularDependency],
        "{reports:#?}"
    );
    let mut cycle = reports[0].cycle();
    cycle.sort();
    assert_eq!(cycle, ["async_a", "blocking_p"]);
}

#[test]
fn a_downgraded_async_lock_in_a_report_says_where_it_became_a_read() {
    let rt = current_thread();
    let downgrade_line = line!() + 4;
    let reports = rt.block_on(capture_async(async {
        let rw = RwLock::with_name("rw", 0);
        let w = rw.write().await;
        let r = lockdep::tokio::RwLockWriteGuard::downgrade(w);
        let _again = rw.read().await;
        drop(r);
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::RecursiveLocking],
        "{reports:#?}"
    );
    let held = reports[0].held_lock.as_ref().unwrap();
    assert!(
        matches!(&held.downgraded_at, Some(lockdep::Site::Code(l)) if l.line() == downgrade_line),
        "{held:?}"
    );
}

/// `join_all` without the futures crate: polls every future until all are done.
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for slot in &mut futures {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}

#[test]
fn sibling_futures_of_one_task_share_its_stack_unless_each_is_tracked() {
    // Held out (dataloader): `join!` polls two futures of one task; the first holds the lock
    // across an await, the second waits for it. One task, one held-lock stack: lockdep sees the
    // task take the lock again. Tracked one by one, each future holds its own locks.
    let rt = current_thread();
    async fn holder(m: &Mutex<u32>) {
        let mut g = m.lock().await;
        tokio::task::yield_now().await;
        *g += 1;
    }
    // The same code twice (join_all of one closure): the second waits at the very site the
    // first holds it, which is not reported.
    let reports = rt.block_on(capture_async(async {
        let m = Mutex::with_name("m", 0);
        tokio::join!(holder(&m), holder(&m));
        let all: Vec<_> = (0..4).map(|_| holder(&m)).collect();
        join_all(all).await;
        assert_eq!(*m.lock().await, 6);
    }));
    assert!(reports.is_empty(), "{reports:#?}");
    // Two different futures: reported, with what a sibling means.
    async fn other(m: &Mutex<u32>) {
        *m.lock().await += 1;
    }
    let reports = rt.block_on(capture_async(async {
        let m = Mutex::with_name("m", 0);
        tokio::join!(holder(&m), other(&m));
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::RecursiveLocking],
        "{reports:#?}"
    );
    assert!(
        reports[0].to_string().contains("sibling futures"),
        "{}",
        reports[0]
    );
    // One future taking the lock again at another line while holding it: reported.
    let reports = rt.block_on(capture_async(async {
        let m = Mutex::with_name("m", 0);
        let _a = m.lock().await;
        let mut second = std::pin::pin!(m.lock());
        let _ = std::future::poll_fn(|cx| std::task::Poll::Ready(second.as_mut().poll(cx))).await;
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::RecursiveLocking],
        "{reports:#?}"
    );
    let reports = rt.block_on(capture_async(async {
        let m = Mutex::with_name("m", 0);
        tokio::join!(track(holder(&m)), track(other(&m)));
        assert_eq!(*m.lock().await, 2);
    }));
    assert!(reports.is_empty(), "{reports:#?}");
    // Locks of one class always taken in one order, the second as subclass 1.
    let reports = rt.block_on(capture_async(async {
        let links: Vec<Mutex<u32>> = (0..2).map(|_| Mutex::new(0)).collect();
        let w: Vec<RwLock<u32>> = (0..2).map(|_| RwLock::new(0)).collect();
        let _a = links[0].lock().await;
        let _b = links[1].lock_nested(1).await;
        let _c = w[0].write().await;
        let _d = w[1].write_nested(1).await;
        drop((_c, _d));
        let _e = w[0].read().await;
        let _f = w[1].read_nested(1).await;
    }));
    assert!(reports.is_empty(), "{reports:#?}");
}

/// One test for every hazard check, as the switches are process-wide.
/// Held by the tests that switch hazard rules or depend on them being on.
static SWITCHES: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn each_hazard_fires_on_its_example_and_not_on_the_correct_version_and_can_be_switched_off() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let rt = current_thread();
    // (1) An async lock awaited while a blocking lock is held.
    let wrong = |name: &'static str| async move {
        let p = lockdep::Mutex::with_name(name, 0);
        let a = Mutex::with_name("a1", 0);
        let g = p.lock();
        let _a = a.lock().await;
        drop(g);
    };
    let reports = rt.block_on(capture_async(wrong("p1")));
    assert_eq!(
        kinds(&reports),
        [ReportKind::AwaitHoldingLock],
        "{reports:#?}"
    );
    let text = reports[0].to_string();
    assert!(
        text.contains("awaiting while holding a blocking lock"),
        "{text}"
    );
    assert!(text.contains("(p1)"), "{text}");
    assert_eq!(ReportKind::AwaitHoldingLock.as_str(), "await_holding_lock");
    let reports = rt.block_on(capture_async(async {
        let p = lockdep::Mutex::with_name("p1", 0);
        let a = Mutex::with_name("a1", 0);
        *p.lock() += 1; // released before the await
        let _a = a.lock().await;
        *p.lock() += 1; // taken inside the async lock: fine
    }));
    assert!(reports.is_empty(), "{reports:#?}");

    // (1) A poll that returns Pending while a blocking lock is held.
    let reports = rt.block_on(capture_async(async {
        let p = lockdep::Mutex::with_name("p2", 0);
        let g = p.lock();
        yield_now().await;
        drop(g);
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::AwaitHoldingLock],
        "{reports:#?}"
    );
    assert!(reports[0].acquiring.is_none());
    let reports = rt.block_on(capture_async(async {
        let p = lockdep::Mutex::with_name("p2", 0);
        drop(p.lock());
        yield_now().await;
    }));
    assert!(reports.is_empty(), "{reports:#?}");

    // (2) blocking_lock on a runtime thread (block_in_place) while the task holds an async lock.
    let mt = multi_thread(2);
    let wrong = || async {
        let a = Mutex::with_name("a3", 0);
        let b = Mutex::with_name("b3", 0);
        let _a = a.lock().await;
        tokio::task::block_in_place(|| *b.blocking_lock() += 1);
    };
    let reports = mt.block_on(capture_async(async { spawn(wrong()).await.unwrap() }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::BlockingHoldingAsyncLock],
        "{reports:#?}"
    );
    let text = reports[0].to_string();
    assert!(
        text.contains("blocking a runtime thread while holding an async lock"),
        "{text}"
    );
    assert!(text.contains("(a3)") && text.contains("(b3)"), "{text}");
    let reports = mt.block_on(capture_async(async {
        spawn(async {
            let a = Mutex::with_name("a3", 0);
            let b = Mutex::with_name("b3", 0);
            drop(a.lock().await);
            tokio::task::block_in_place(|| *b.blocking_lock() += 1);
            let _a = a.lock().await;
            let _b = b.lock().await; // awaited, not blocking
        })
        .await
        .unwrap()
    }));
    assert!(reports.is_empty(), "{reports:#?}");

    // Both switched off: silent; back on: reported again.
    lockdep::tokio::set_hazard(Hazard::AwaitHoldingLock, false);
    lockdep::tokio::set_hazard(Hazard::BlockingHoldingAsyncLock, false);
    assert!(rt.block_on(capture_async(wrong_await())).is_empty());
    assert!(
        mt.block_on(capture_async(async { spawn(wrong()).await.unwrap() }))
            .is_empty()
    );
    lockdep::tokio::set_hazard(Hazard::AwaitHoldingLock, true);
    lockdep::tokio::set_hazard(Hazard::BlockingHoldingAsyncLock, true);
    assert!(lockdep::tokio::hazard_enabled(Hazard::AwaitHoldingLock));
    assert_eq!(rt.block_on(capture_async(wrong_await())).len(), 1);
    assert_eq!(
        mt.block_on(capture_async(async { spawn(wrong()).await.unwrap() }))
            .len(),
        1
    );
}

async fn wrong_await() {
    let p = lockdep::Mutex::with_name("p4", 0);
    let a = Mutex::with_name("a4", 0);
    let g = p.lock();
    let _a = a.lock().await;
    drop(g);
}

/// The ABBA of `abba`, for the `#[tokio::test]` flavours.
async fn abba_reports() -> Vec<lockdep::Report> {
    capture_async(async {
        let a = Arc::new(Mutex::with_name("a", 0));
        let b = Arc::new(Mutex::with_name("b", 0));
        abba(a, b).await;
    })
    .await
}

#[tokio::test]
async fn capture_works_under_tokio_test_current_thread() {
    let reports = abba_reports().await;
    assert_eq!(kinds(&reports), [ReportKind::CircularDependency]);
    // The capture is private: a second one sees a fresh graph.
    assert_eq!(abba_reports().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capture_works_under_tokio_test_multi_thread() {
    let reports = abba_reports().await;
    assert_eq!(kinds(&reports), [ReportKind::CircularDependency]);
}

#[test]
fn a_cancelled_acquisition_and_a_dropped_task_leave_nothing_held() {
    let rt = current_thread();
    let reports = rt.block_on(capture_async(async {
        let a = Arc::new(Mutex::with_name("a5", 0));
        let b = Arc::new(Mutex::with_name("b5", 0));
        // Another task holds a until told to let go.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (locked_tx, locked_rx) = tokio::sync::oneshot::channel::<()>();
        let a2 = a.clone();
        let holder = spawn(async move {
            let _a = a2.lock().await;
            locked_tx.send(()).unwrap();
            rx.await.unwrap();
        });
        locked_rx.await.unwrap();
        // Waits for a, then is cancelled: a is not held by this task afterwards.
        let wait = tokio::time::timeout(std::time::Duration::from_millis(5), a.lock()).await;
        assert!(wait.is_err());
        tx.send(()).unwrap();
        holder.await.unwrap();
        // A task dropped while it holds b: its guard is released on its own stack.
        let b2 = b.clone();
        let t = track(async move {
            let _b = b2.lock().await;
            std::future::pending::<()>().await;
        });
        let mut t = Box::pin(t);
        assert!(futures_poll_once(t.as_mut()).await.is_none());
        drop(t);
        // b then a: no cycle, as a is not held across any of this.
        let _b = b.lock().await;
        let _a = a.lock().await;
    }));
    assert!(reports.is_empty(), "{reports:#?}");
}

/// Polls `fut` once.
async fn futures_poll_once<F: std::future::Future>(
    fut: std::pin::Pin<&mut F>,
) -> Option<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(move |cx| {
        let f = fut.take().unwrap();
        std::task::Poll::Ready(match f.poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[test]
fn traces_name_tasks() {
    let dir = std::env::temp_dir().join(format!("lockdep-async-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.jsonl");
    let v =
        lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    v.record_to(&path).unwrap();
    let rt = current_thread();
    v.scope(|| {
        rt.block_on(track(async {
            let a = Arc::new(Mutex::with_name("ta", 0));
            let b = Arc::new(Mutex::with_name("tb", 0));
            abba(a, b).await;
        }))
    });
    v.stop_recording().unwrap();
    let trace = std::fs::read_to_string(&path).unwrap();
    assert!(trace.contains("\"thread_name\":\"task-"), "{trace}");
    assert_eq!(kinds(&v.take_reports()), [ReportKind::CircularDependency]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every constructor, acquisition and guard operation, in one consistent order: no reports, and
/// the locks are held exactly while their guards live.
#[test]
fn every_api_in_a_consistent_order_gives_no_reports() {
    static KEY: lockdep::ClassKey = lockdep::ClassKey::new("keyed_async");
    static STATIC: Mutex<u32> = Mutex::const_new(0);
    let rt = multi_thread(2);
    let reports = rt.block_on(capture_async(async {
        let m = Arc::new(Mutex::with_name("m", (1u32, 2u32)));
        let k = Mutex::with_class(&KEY, 0u32);
        let r = Arc::new(RwLock::with_name("r", (1u32, 2u32)));
        let d: RwLock<u32> = RwLock::default();
        let mx = RwLock::with_max_readers(0u32, 4);
        {
            let g = m.lock().await;
            lockdep::assert_held(&*m);
            let mut g = lockdep::tokio::MutexGuard::map(g, |v| &mut v.0);
            *g += 1;
            let mut g = lockdep::tokio::MappedMutexGuard::map(g, |v| v);
            *g += 1;
            let _k = k.lock().await;
            let _s = STATIC.lock().await;
            let w = r.write().await;
            let w = lockdep::tokio::RwLockWriteGuard::downgrade(w);
            assert_eq!(w.0, 1);
        }
        lockdep::assert_not_held(&*m);
        {
            let g = m.try_lock().unwrap();
            assert!(lockdep::tokio::MutexGuard::try_map(g, |_| None::<&mut u32>).is_err());
            let o = m.clone().lock_owned().await;
            assert_eq!(o.0, 3);
            drop(o);
            let o = m.clone().try_lock_owned().unwrap();
            assert!(Arc::ptr_eq(lockdep::tokio::OwnedMutexGuard::mutex(&o), &m));
        }
        {
            let a = r.read().await;
            let b = r.try_read().unwrap();
            let a = lockdep::tokio::RwLockReadGuard::map(a, |v| &v.1);
            assert_eq!(*a + b.1, 4);
        }
        {
            let w = r.try_write().unwrap();
            let mut w = lockdep::tokio::RwLockWriteGuard::into_mapped(w);
            w.1 += 1;
            let mut w = lockdep::tokio::RwLockMappedWriteGuard::map(w, |v| &mut v.1);
            *w += 1;
        }
        {
            let w = r.clone().write_owned().await;
            let rd = lockdep::tokio::OwnedRwLockWriteGuard::downgrade(w);
            assert_eq!(rd.1, 4);
            // Moved to another task and dropped there.
            spawn(async move { drop(rd) }).await.unwrap();
            let _o = r.clone().read_owned().await;
            let _p = r.clone().try_read_owned().unwrap();
        }
        drop(r.clone().try_write_owned().unwrap());
        *d.write().await += 1;
        *mx.write().await += *d.read().await;
        // Blocking acquisitions outside the runtime's workers.
        let (m2, r2) = (m.clone(), r.clone());
        tokio::task::spawn_blocking(move || {
            drop(m2.blocking_lock());
            drop(m2.clone().blocking_lock_owned());
            drop(r2.blocking_read());
            drop(r2.blocking_write());
        })
        .await
        .unwrap();
        let mut owned = Arc::try_unwrap(m).unwrap();
        owned.get_mut().0 += 1;
        assert_eq!(owned.into_inner(), (4, 2));
        assert_eq!(Arc::try_unwrap(r).unwrap().into_inner(), (1, 4));
    }));
    assert!(reports.is_empty(), "{reports:#?}");
}

/// The mapped and owned guards (tokio's whole guard API): every map, `try_map` (taken and
/// declined), downgrade and `mutex`/`rwlock` accessor, in one consistent order (m before r),
/// gives no reports; each guard holds its lock while it lives and releases it when dropped,
/// also when dropped on another task or when a mapping closure panics.
#[test]
fn mapped_and_owned_guards_hold_until_dropped_and_give_no_reports() {
    use lockdep::tokio::{
        MappedMutexGuard, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard,
        OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
        RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
    };
    let rt = multi_thread(2);
    let reports = rt.block_on(capture_async(async {
        let m = Arc::new(Mutex::with_name("m_mapped", (1u32, vec![1u8, 2])));
        let r = Arc::new(RwLock::with_name("r_mapped", (1u32, vec![1u8, 2])));
        let held = |m: &Mutex<(u32, Vec<u8>)>, r: &RwLock<(u32, Vec<u8>)>| {
            (lockdep::is_held(m), lockdep::is_held(r))
        };
        // Borrowed mutex guards, r taken under each.
        {
            let g = m.lock().await;
            assert!(std::ptr::eq(MutexGuard::mutex(&g), &*m));
            let g = MutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
            let g: MappedMutexGuard<'_, [u8]> = MutexGuard::map(g, |v| v.1.as_mut_slice());
            let _w = r.write().await;
            drop(g);
            assert_eq!(held(&m, &r), (false, true));
        }
        {
            let g = MutexGuard::try_map(m.lock().await, |v| Some(&mut v.1))
                .ok()
                .unwrap();
            let g = MappedMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
            let g = MappedMutexGuard::map(g, |v| v);
            let mut g = MappedMutexGuard::try_map(g, |v| v.first_mut())
                .ok()
                .unwrap();
            *g += 1;
            let _r = r.read().await;
            assert_eq!(g.to_string(), "2");
            drop(g);
            assert_eq!(held(&m, &r), (false, true));
        }
        assert_eq!(held(&m, &r), (false, false));
        // Owned mutex guards, moved to another task and dropped there.
        {
            let o = OwnedMutexGuard::try_map(m.clone().lock_owned().await, |_| None::<&mut u8>)
                .unwrap_err();
            let o: OwnedMappedMutexGuard<_, [u8]> = OwnedMutexGuard::map(o, |v| &mut v.1[..]);
            let _r = r.clone().read_owned().await;
            assert!(lockdep::is_held(&*m));
            spawn(async move { drop(o) }).await.unwrap();
        }
        {
            let o = OwnedMutexGuard::try_map(m.clone().lock_owned().await, |v| Some(&mut v.1));
            let o = OwnedMappedMutexGuard::try_map(o.ok().unwrap(), |_| None::<&mut u8>);
            let o = OwnedMappedMutexGuard::map(o.unwrap_err(), |v| v);
            let o = OwnedMappedMutexGuard::try_map(o, |v| v.last_mut())
                .ok()
                .unwrap();
            assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&o), &m));
            assert_eq!(*o, 2);
            let _w = r.clone().write_owned().await;
            drop(o);
            assert_eq!(held(&m, &r), (false, true));
        }
        // Borrowed rwlock guards.
        {
            let _m = m.lock().await;
            let w = RwLockWriteGuard::try_map(r.write().await, |_| None::<&mut u8>).unwrap_err();
            let w = RwLockWriteGuard::map(w, |v| &mut v.1);
            let w = RwLockMappedWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let mut w = RwLockMappedWriteGuard::try_map(w, |v| v.first_mut())
                .ok()
                .unwrap();
            *w += 1;
            drop(w);
            assert_eq!(held(&m, &r), (true, false));
            let w = RwLockWriteGuard::try_downgrade_map(r.write().await, |_| None::<&u8>);
            let rd = RwLockWriteGuard::try_downgrade_map(w.unwrap_err(), |v| v.1.first());
            let rd = RwLockReadGuard::map(rd.ok().unwrap(), |v| v);
            assert_eq!(*rd, 2);
            drop(rd);
            let rd = RwLockWriteGuard::downgrade_map(r.write().await, |v| v.1.as_slice());
            let rd = RwLockReadGuard::try_map(rd, |v| v.get(1)).ok().unwrap();
            assert_eq!(*rd, 2);
            drop(rd);
            assert!(!lockdep::is_held(&*r));
        }
        // Owned rwlock guards, moved to another task and dropped there.
        {
            let _m = m.clone().lock_owned().await;
            let w = r.clone().write_owned().await;
            assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &r));
            let w = OwnedRwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let w: OwnedRwLockMappedWriteGuard<_, [u8]> =
                OwnedRwLockWriteGuard::map(w, |v| &mut v.1[..]);
            let w = OwnedRwLockMappedWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let w = OwnedRwLockMappedWriteGuard::map(w, |v| v);
            let w = OwnedRwLockMappedWriteGuard::try_map(w, |v| v.first_mut())
                .ok()
                .unwrap();
            assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&w), &r));
            spawn(async move { drop(w) }).await.unwrap();
            let w = OwnedRwLockWriteGuard::into_mapped(r.clone().write_owned().await);
            drop(w);
            let w = r.clone().write_owned().await;
            let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
            let rd: OwnedRwLockReadGuard<_, u8> =
                OwnedRwLockWriteGuard::try_downgrade_map(w, |v| v.1.first())
                    .ok()
                    .unwrap();
            assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&rd), &r));
            assert_eq!(rd.to_string(), "2");
            drop(rd);
            let rd = OwnedRwLockWriteGuard::downgrade_map(r.clone().write_owned().await, |v| &v.1);
            let rd = OwnedRwLockReadGuard::try_map(rd, |_| None::<&u8>).unwrap_err();
            let rd = OwnedRwLockReadGuard::map(rd, |v| v.as_slice());
            let rd = OwnedRwLockReadGuard::try_map(rd, |v| v.last())
                .ok()
                .unwrap();
            spawn(async move { assert_eq!(*rd, 2) }).await.unwrap();
            let rd = r.clone().write_owned().await.downgrade();
            drop(rd);
        }
        // The releases posted from the other tasks were applied: the locks are free, and
        // taking them again is not recursive.
        assert_eq!(held(&m, &r), (false, false));
        drop((m.lock().await, r.write().await));
        // A mapping closure that panics: tokio's guard unlocks as the panic leaves `map`, and
        // the acquisition is released with it.
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let g = m.try_lock().unwrap();
            MutexGuard::map(g, |_| -> &mut u8 { panic!("mapping") })
        }));
        assert!(unwound.is_err());
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let w = r.clone().try_write_owned().unwrap();
            OwnedRwLockWriteGuard::downgrade_map(w, |_| -> &u8 { panic!("mapping") })
        }));
        assert!(unwound.is_err());
        assert_eq!(held(&m, &r), (false, false));
        drop((m.lock().await, r.write().await));
    }));
    assert!(reports.is_empty(), "{reports:#?}");
}

/// A `downgrade_map` is validated as a `downgrade`: the lock stays held (in read mode) by the
/// task, other tasks read it meanwhile without a report, and an ABBA through mapped and
/// downgraded guards is still reported, once.
#[test]
fn a_downgrade_map_keeps_validation_right() {
    use lockdep::tokio::{MutexGuard, OwnedMutexGuard, OwnedRwLockWriteGuard, RwLockWriteGuard};
    let rt = multi_thread(2);
    let reports = rt.block_on(capture_async(async {
        let r = Arc::new(RwLock::with_name("r_down", (1u32, 2u32)));
        let rd = RwLockWriteGuard::downgrade_map(r.write().await, |v| &v.1);
        assert!(lockdep::is_held(&*r));
        // Readers get in: a trylock here, a waiting read in another task.
        assert_eq!(r.try_read().unwrap().0, 1);
        let r2 = r.clone();
        spawn(async move { assert_eq!(r2.read().await.1, 2) })
            .await
            .unwrap();
        drop(rd);
        assert!(!lockdep::is_held(&*r));
        // The owned one, dropped on another task: then written again here, not recursive.
        let rd = OwnedRwLockWriteGuard::downgrade_map(r.clone().write_owned().await, |v| &v.0);
        spawn(async move { assert_eq!(*rd, 1) }).await.unwrap();
        drop(r.write().await);
    }));
    assert!(reports.is_empty(), "{reports:#?}");

    // r -> m through a downgraded, mapped read guard; m -> r through mapped mutex guards.
    let reports = rt.block_on(capture_async(async {
        let r = Arc::new(RwLock::with_name("r_abba", (1u32, 2u32)));
        let m = Arc::new(Mutex::with_name("m_abba", (0u32, 0u32)));
        let (r2, m2) = (r.clone(), m.clone());
        spawn(async move {
            let rd = RwLockWriteGuard::downgrade_map(r2.write().await, |v| &v.1);
            let _m = MutexGuard::map(m2.lock().await, |v| &mut v.0);
            assert_eq!(*rd, 2);
        })
        .await
        .unwrap();
        let _m = OwnedMutexGuard::map(m.clone().lock_owned().await, |v| &mut v.1);
        let _r = r.read().await; // m -> r closes the cycle
    }));
    assert_eq!(kinds(&reports), [ReportKind::CircularDependency]);
}

/// `OnceCell`: waiting for an initialiser holds the cell's class, so an initialiser that takes a
/// lock a waiter holds is a cycle — between tasks, run one after the other; the correct version
/// (the waiter holds nothing) is silent, also with many tasks racing to initialise on four
/// workers; a set cell is read without a wait; awaiting one while holding a blocking lock is
/// the await hazard.
#[test]
fn once_cell_initialisation_is_a_lock_class() {
    use lockdep::tokio::OnceCell;

    let rt = current_thread();
    let reports = rt.block_on(capture_async(async {
        let config = Arc::new(Mutex::with_name("config", 7u32));
        let cells = || Arc::new(OnceCell::<u32>::with_name("settings"));
        let (first, second) = (cells(), cells());
        let (c2, f2) = (config.clone(), first.clone());
        spawn(async move { *f2.get_or_init(|| async { *c2.lock().await }).await })
            .await
            .unwrap();
        spawn(async move {
            let _config = config.lock().await;
            second.get_or_init(|| async { 0 }).await;
        })
        .await
        .unwrap();
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::CircularDependency],
        "{reports:#?}"
    );
    let text = reports[0].to_string();
    assert!(
        text.contains("settings") && text.contains("config"),
        "{text}"
    );

    // The correct version, racing: every task waits for the one initialiser holding nothing.
    let rt = multi_thread(4);
    for _ in 0..200 {
        let reports = rt.block_on(capture_async(async {
            let config = Arc::new(Mutex::with_name("config", 7u32));
            let cell = Arc::new(OnceCell::<u32>::with_name("settings"));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (config, cell) = (config.clone(), cell.clone());
                    spawn(async move {
                        let v = *cell
                            .get_or_init(|| async {
                                yield_now().await;
                                *config.lock().await
                            })
                            .await;
                        // Taken after the wait: config -> settings never happens.
                        let _c = config.lock().await;
                        v
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), 7);
            }
            // Set: read with the config held, no wait, nothing to report.
            let _c = config.lock().await;
            assert_eq!(*cell.get_or_init(|| async { 0 }).await, 7);
        }));
        assert!(reports.is_empty(), "{reports:#?}");
    }

    // Awaiting an empty cell while a blocking lock is held.
    let rt = current_thread();
    let reports = rt.block_on(capture_async(async {
        let blocking = lockdep::Mutex::with_name("blocking", ());
        let cell = OnceCell::<u32>::new();
        let _g = blocking.lock();
        cell.get_or_init(|| async { 1 }).await;
    }));
    assert_eq!(
        kinds(&reports),
        [ReportKind::AwaitHoldingLock],
        "{reports:#?}"
    );
}

/// A recorded async run replays to the reports it gave live, the hazards included: the trace
/// marks async locks (`"async":true`), the acquisitions a hazard rule checked (`"wait"`) and the
/// `Pending` polls under a blocking lock (`await`), and replay applies the same rules.
#[cfg(feature = "trace-reader")]
#[test]
fn a_recorded_async_run_replays_to_the_same_reports_hazards_included() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join(format!("lockdep-async-{}.jsonl", std::process::id()));
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.record_to(&path).unwrap();
    let mt = multi_thread(2);
    v.scope(|| {
        mt.block_on(track(async {
            let p = Arc::new(lockdep::Mutex::with_name("p", 0));
            let (a, b) = (
                Arc::new(Mutex::with_name("a", 0)),
                Arc::new(Mutex::with_name("b", 0)),
            );
            // An async lock awaited under a blocking one; a try_lock'd async lock under it is
            // no hazard (async locks are never the blocking lock of a rule).
            {
                let _t = a.try_lock().unwrap();
                let g = p.lock();
                let _b = b.lock().await;
                drop(g);
            }
            // A Pending poll under the blocking lock.
            {
                let g = p.lock();
                yield_now().await;
                drop(g);
            }
            // blocking_lock on a runtime thread under an async lock, in a task.
            let (a2, b2) = (a.clone(), b.clone());
            spawn(async move {
                let _a = a2.lock().await;
                tokio::task::block_in_place(|| *b2.blocking_lock() += 1);
            })
            .await
            .unwrap();
            // And an ABBA between tasks: b -> a after a -> b.
            let (a3, b3) = (a.clone(), b.clone());
            spawn(async move {
                let _b = b3.lock().await;
                let _a = a3.lock().await;
            })
            .await
            .unwrap();
            // Correct code: nothing more.
            let _a = a.lock().await;
            *p.lock() += 1;
        }))
    });
    v.stop_recording().unwrap();
    let live: Vec<_> = v.take_reports().iter().map(full_sig).collect();
    assert_eq!(
        live.iter().map(|(k, ..)| *k).collect::<Vec<_>>(),
        [
            ReportKind::AwaitHoldingLock,
            ReportKind::AwaitHoldingLock,
            ReportKind::BlockingHoldingAsyncLock,
            ReportKind::CircularDependency,
        ],
        "{live:#?}"
    );
    let (replayed, text) = replay_trace(&path, Config::default());
    assert!(text.contains("\"wait\":\"await\""), "{text}");
    assert!(text.contains("\"wait\":\"blocking\""), "{text}");
    assert!(text.contains("\"op\":\"await\""), "{text}");
    assert_eq!(replayed, live, "{text}");
    let _ = std::fs::remove_file(&path);
}

// Replay fidelity of async runs: each case a mismatch found in review, now fixed.

#[cfg(feature = "trace-reader")]
type Full = (ReportKind, Vec<String>, String, Vec<String>);
#[cfg(feature = "trace-reader")]
fn full_sig(r: &lockdep::Report) -> Full {
    let mut classes: Vec<String> = r.classes().iter().map(|c| c.to_string()).collect();
    classes.sort();
    let held: Vec<String> = r.held.iter().map(|l| l.name.to_string()).collect();
    (r.kind(), classes, r.thread.name.to_string(), held)
}
#[cfg(feature = "trace-reader")]
fn replay_trace(path: &std::path::Path, config: Config) -> (Vec<Full>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = Replayer::new(config, ClassRefinement::default());
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(ev) = lockdep::trace::parse_line(line).unwrap() {
            out.extend(r.apply(&ev).unwrap().iter().map(full_sig));
        }
    }
    (out, text)
}
#[cfg(feature = "trace-reader")]
fn tmp_trace(n: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lockdep-fidelity-{n}-{}.jsonl", std::process::id()))
}

// lockdep::class_name registers a class in the validator without any trace record: the live
// run hits max_classes one class earlier than its replay.
#[cfg(feature = "trace-reader")]
#[test]
fn a_class_registered_by_class_name_is_in_the_trace() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let path = tmp_trace("classname");
    let config = Config {
        max_classes: 2,
        ..Config::default()
    };
    let v = Validator::with_on_report(config.clone(), OnReport::Collect);
    v.record_to(&path).unwrap();
    let (a, b, c) = (
        lockdep::Mutex::with_name("ra", ()),
        lockdep::Mutex::with_name("rb", ()),
        lockdep::Mutex::with_name("rc", ()),
    );
    std::thread::scope(|s| {
        s.spawn(|| {
            v.scope(|| {
                let _ = lockdep::class_name(&c);
                let _a = a.lock();
                let _b = b.lock();
            })
        });
    });
    v.stop_recording().unwrap();
    let live: Vec<_> = v.take_reports().iter().map(full_sig).collect();
    let (replayed, text) = replay_trace(&path, config);
    let _ = std::fs::remove_file(&path);
    assert_eq!(replayed, live, "{text}");
}

#[cfg(feature = "trace-reader")]
fn mt2() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// blocking_lock over the class limit inside a tracked task holding an async lock: check_blocking
// resolves the class first (LockMap::class -> report_class_limit, no thread), so the live limit
// report has no thread and no held locks; the replay's names the task and what it holds.
#[cfg(feature = "trace-reader")]
#[test]
fn a_blocking_lock_over_the_class_limit_reports_the_limit_with_its_task() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let path = tmp_trace("blocking-limit");
    let config = Config {
        max_classes: 1,
        ..Config::default()
    };
    let v = Validator::with_on_report(config.clone(), OnReport::Collect);
    v.record_to(&path).unwrap();
    let rt = mt2();
    v.scope(|| {
        rt.block_on(lockdep::tokio::track(async {
            let (a, b) = (
                Arc::new(lockdep::tokio::Mutex::with_name("la", 0)),
                Arc::new(lockdep::tokio::Mutex::with_name("lb", 0)),
            );
            lockdep::tokio::spawn(async move {
                let _a = a.lock().await;
                tokio::task::block_in_place(|| *b.blocking_lock() += 1);
            })
            .await
            .unwrap();
        }))
    });
    v.stop_recording().unwrap();
    let live: Vec<_> = v.take_reports().iter().map(full_sig).collect();
    let (replayed, text) = replay_trace(&path, config);
    let _ = std::fs::remove_file(&path);
    assert_eq!(replayed, live, "{text}");
}

// A sibling future waiting at the very site where its task holds an async lock is not reported
// live; the replay reads the same site (as text) and the same odd address, and agrees. A second
// future at another site is reported by both.
#[cfg(feature = "trace-reader")]
#[test]
fn a_sibling_wait_at_the_holders_site_replays_as_it_ran() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let path = tmp_trace("sibling");
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.record_to(&path).unwrap();
    let rt = current_thread();
    async fn holder(m: &Mutex<u32>) {
        let mut g = m.lock().await;
        tokio::task::yield_now().await;
        *g += 1;
    }
    async fn other(m: &Mutex<u32>) {
        *m.lock().await += 1;
    }
    v.scope(|| {
        rt.block_on(lockdep::tokio::track(async {
            let m = Mutex::with_name("sib", 0);
            tokio::join!(holder(&m), holder(&m));
            tokio::join!(holder(&m), other(&m));
        }))
    });
    v.stop_recording().unwrap();
    let site = |r: &lockdep::Report| r.acquiring.as_ref().map(|a| a.site.to_string());
    let live: Vec<_> = v.take_reports().iter().map(site).collect();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut r = Replayer::new(Config::default(), ClassRefinement::default());
    let mut replayed = Vec::new();
    for line in text.lines() {
        if let Some(ev) = lockdep::trace::parse_line(line).unwrap() {
            replayed.extend(r.apply(&ev).unwrap().iter().map(site));
        }
    }
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(replayed, live, "{text}");
}

// The Wait::Blocking note spans runtime::before_lock including the dispatch of its reports: a
// report callback that takes a lockdep lock has that acquisition recorded with "wait":"blocking"
// and replay applies the blocking hazard to it (live did not).
#[cfg(feature = "trace-reader")]
#[test]
fn a_lock_taken_by_a_report_callback_is_not_noted_as_blocking() {
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let path = tmp_trace("blocking-note");
    let seen: Arc<std::sync::Mutex<Vec<Full>>> = Default::default();
    let cb_lock = Arc::new(lockdep::Mutex::with_name("callback-lock", ()));
    let (seen2, cb2) = (seen.clone(), cb_lock.clone());
    let v = Validator::with_on_report(
        Config::default(),
        OnReport::Callback(Arc::new(move |r| {
            seen2.lock().unwrap().push(full_sig(r));
            drop(cb2.lock());
        })),
    );
    v.record_to(&path).unwrap();
    let rt = mt2();
    v.scope(|| {
        rt.block_on(lockdep::tokio::track(async {
            let (a, b) = (
                Arc::new(lockdep::tokio::Mutex::with_name("na", 0)),
                Arc::new(lockdep::tokio::Mutex::with_name("nb", 0)),
            );
            let (a1, b1) = (a.clone(), b.clone());
            lockdep::tokio::spawn(async move {
                let _b = b1.lock().await;
                let _a = a1.lock().await; // nb -> na
            })
            .await
            .unwrap();
            lockdep::tokio::spawn(async move {
                let _a = a.lock().await;
                // hazard (na held) and na -> nb closes the cycle, dispatched inside the note
                tokio::task::block_in_place(|| *b.blocking_lock() += 1);
            })
            .await
            .unwrap();
        }))
    });
    v.stop_recording().unwrap();
    let live = seen.lock().unwrap().clone();
    let (replayed, text) = replay_trace(&path, Config::default());
    let _ = std::fs::remove_file(&path);
    assert_eq!(replayed, live, "{text}");
}

#[cfg(all(feature = "trace-reader", feature = "tracing-layer"))]
#[derive(Clone)]
struct SharedBuf(Arc<upstream_parking_lot::Mutex<Vec<u8>>>);
#[cfg(all(feature = "trace-reader", feature = "tracing-layer"))]
impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// The same async run traced through tracing + TraceFileLayer: no "async"/"wait" fields, so the
// replay misses the await hazard of an async acquisition under a blocking lock.
#[cfg(all(feature = "trace-reader", feature = "tracing-layer"))]
#[test]
fn a_trace_written_through_tracing_keeps_the_hazards() {
    use lockdep::replay::{ClassRefinement, Replayer};
    use lockdep::{Config, OnReport, Validator};
    use tracing_subscriber::layer::SubscriberExt;
    let _switches = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let trace = Arc::new(upstream_parking_lot::Mutex::new(Vec::<u8>::new()));
    let subscriber =
        tracing_subscriber::registry().with(lockdep::TraceFileLayer::new(SharedBuf(trace.clone())));
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.set_tracing_level(Some(tracing::Level::TRACE));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        v.scope(|| {
            rt.block_on(lockdep::tokio::track(async {
                let p = lockdep::Mutex::with_name("tp", 0);
                let a = lockdep::tokio::Mutex::with_name("ta", 0);
                let _g = p.lock();
                let _a = a.lock().await;
            }))
        });
    });
    let live: Vec<ReportKind> = v.take_reports().iter().map(|r| r.kind()).collect();
    assert_eq!(live, [ReportKind::AwaitHoldingLock]);
    let text = String::from_utf8(trace.lock().clone()).unwrap();
    let mut r = Replayer::new(Config::default(), ClassRefinement::default());
    let mut replayed = Vec::new();
    for line in text.lines() {
        if let Some(ev) = lockdep::trace::parse_line(line).unwrap() {
            replayed.extend(r.apply(&ev).unwrap().iter().map(|r| r.kind()));
        }
    }
    assert_eq!(replayed, live, "{text}");
}
