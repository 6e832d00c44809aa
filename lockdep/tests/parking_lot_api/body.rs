// Written against parking_lot 0.13's API; included by main.rs under two `use` lines.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn mutex_guards_map_and_unlock_fair() {
    let m = Mutex::new((1, String::from("a")));
    {
        let mut g = m.lock();
        g.0 += 1;
        let mut name = MutexGuard::map(g, |pair| &mut pair.1);
        name.push('b');
    }
    let g = m.lock();
    assert_eq!(g.0, 2);
    MutexGuard::unlock_fair(g);
    let mut g = m.lock();
    MutexGuard::unlocked(&mut g, || assert!(m.try_lock().is_some()));
    MutexGuard::bump(&mut g);
    drop(g);
    assert!(m.try_lock_for(Duration::from_millis(1)).is_some());
    assert!(m.try_lock_until(Instant::now() + Duration::from_millis(1)).is_some());
    let from: Mutex<u8> = Mutex::from(3);
    assert_eq!(from.into_inner(), 3);
    let mut m = m;
    m.get_mut().0 = 7;
    assert_eq!(m.into_inner().0, 7);
}

#[test]
fn arc_guards_outlive_the_borrow() {
    let m = Arc::new(Mutex::new(vec![1]));
    let guard: ArcMutexGuard<RawMutex, Vec<i32>> = m.lock_arc();
    let worker = thread::spawn({
        let m = Arc::clone(&m);
        move || m.lock().push(2)
    });
    drop(guard);
    worker.join().unwrap();
    assert_eq!(*m.try_lock_arc().unwrap(), vec![1, 2]);
    assert!(m.try_lock_arc_for(Duration::from_millis(1)).is_some());

    let l = Arc::new(RwLock::new(5));
    let r1 = l.read_arc();
    let r2 = l.try_read_arc().unwrap();
    assert!(l.try_write_arc().is_none());
    drop((r1, r2));
    *l.write_arc() += 1;
    let up = l.upgradable_read_arc();
    assert_eq!(*up, 6);
    drop(up);
    assert!(l.try_upgradable_read_arc().is_some());
}

#[test]
fn fair_mutex_and_its_guards() {
    let m = FairMutex::new(0);
    let mut g = m.lock();
    *g += 1;
    FairMutexGuard::unlock_fair(g);
    let mapped = FairMutexGuard::map(m.lock(), |v| v);
    assert_eq!(*mapped, 1);
    drop(mapped);
    assert!(m.try_lock_for(Duration::from_millis(1)).is_some());
    let shared = Arc::new(FairMutex::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for _ in 0..100 {
                    *shared.lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*shared.lock(), 400);
}

#[test]
fn reentrant_mutex_reenters_on_one_thread() {
    let m = ReentrantMutex::new(std::cell::Cell::new(0));
    let a = m.lock();
    let b = m.lock();
    a.set(a.get() + 1);
    b.set(b.get() + 1);
    assert!(m.is_owned_by_current_thread());
    drop((a, b));
    assert!(!m.is_locked());
    let shared = Arc::new(ReentrantMutex::new(std::cell::Cell::new(0)));
    let held = shared.lock();
    let other = thread::spawn({
        let shared = Arc::clone(&shared);
        move || shared.try_lock().is_none()
    });
    assert!(other.join().unwrap());
    drop(held);
    assert!(shared.try_lock_for(Duration::from_millis(1)).is_some());
}

#[test]
fn rwlock_upgrades_downgrades_and_timed_upgradable_reads() {
    let l = Arc::new(RwLock::new(1));
    let up = l.upgradable_read();
    let reader = thread::spawn({
        let l = Arc::clone(&l);
        move || *l.read() // readers share with an upgradable read
    });
    assert_eq!(*up + reader.join().unwrap(), 2);
    let mut w = RwLockUpgradableReadGuard::upgrade(up);
    *w += 1;
    let r = RwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 2);
    drop(r);
    assert!(l.try_upgradable_read_for(Duration::from_millis(1)).is_some());
    let up = l
        .try_upgradable_read_until(Instant::now() + Duration::from_millis(1))
        .unwrap();
    assert!(l.try_write().is_none());
    drop(up);
    // SAFETY: the raw lock is only inspected.
    let raw: &RawRwLock = unsafe { l.raw() };
    assert!(!lock_api::RawRwLock::is_locked(raw));
}

#[test]
fn force_unlock_takes_the_raw_state() {
    let m = Mutex::new(0);
    // SAFETY: the raw lock is taken and then released below with its own state, no guard
    // existing meanwhile.
    let raw: &RawMutex = unsafe { m.raw() };
    let state = lock_api::RawMutex::lock(raw);
    assert!(m.is_locked());
    // SAFETY: `state` is the state of the acquisition just made, which has no guard.
    unsafe { m.force_unlock(state) };
    assert!(!m.is_locked());
}

#[test]
fn condvar_timeouts_and_notifications() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (m, c) = &*pair;
    let mut g = m.lock();
    let result = c.wait_for(&mut g, Duration::from_millis(2));
    assert!(result.timed_out());
    drop(g);
    let setter = thread::spawn({
        let pair = Arc::clone(&pair);
        move || {
            *pair.0.lock() = true;
            pair.1.notify_all();
        }
    });
    let mut g = m.lock();
    c.wait_while(&mut g, |ready| !*ready);
    assert!(*g);
    drop(g);
    setter.join().unwrap();
}

#[test]
fn once_runs_once_and_reports_its_state() {
    static INIT: Once = Once::new();
    let mut runs = 0;
    assert_eq!(INIT.state(), OnceState::New);
    INIT.call_once(|| runs += 1);
    INIT.call_once(|| runs += 1);
    assert_eq!(runs, 1);
    assert!(INIT.state().done());
    let forced = Once::new();
    let _ = std::panic::catch_unwind(|| forced.call_once(|| panic!("poison")));
    assert!(forced.state().poisoned());
    forced.call_once_force(|state| assert!(state.poisoned()));
    assert!(forced.state().done());
}
