// Written against tokio 1.47's `tokio::sync` API; included by main.rs under two `use` lines.

use std::sync::Arc;

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn send_future<F: std::future::Future + Send>(f: F) -> F {
    f
}

/// The auto traits are tokio's (for `Send + Sync` data; the owned guards move between tasks).
#[test]
fn send_and_sync() {
    assert_send::<Mutex<u32>>();
    assert_sync::<Mutex<u32>>();
    assert_sync::<Mutex<std::cell::Cell<u32>>>(); // `T: Send` is enough for a mutex
    assert_send::<RwLock<u32>>();
    assert_sync::<RwLock<u32>>();
    assert_send::<OnceCell<u32>>();
    assert_sync::<OnceCell<u32>>();
    assert_send::<MutexGuard<'static, u32>>();
    assert_sync::<MutexGuard<'static, u32>>();
    assert_send::<MappedMutexGuard<'static, u32>>();
    assert_sync::<MappedMutexGuard<'static, u32>>();
    assert_send::<OwnedMutexGuard<u32>>();
    assert_sync::<OwnedMutexGuard<u32>>();
    assert_send::<OwnedMappedMutexGuard<(u32, u8), u8>>();
    assert_sync::<OwnedMappedMutexGuard<(u32, u8), u8>>();
    assert_send::<RwLockReadGuard<'static, u32>>();
    assert_sync::<RwLockReadGuard<'static, u32>>();
    assert_send::<RwLockWriteGuard<'static, u32>>();
    assert_sync::<RwLockWriteGuard<'static, u32>>();
    assert_send::<RwLockMappedWriteGuard<'static, u32>>();
    assert_sync::<RwLockMappedWriteGuard<'static, u32>>();
    assert_send::<OwnedRwLockReadGuard<(u32, u8), u8>>();
    assert_sync::<OwnedRwLockReadGuard<(u32, u8), u8>>();
    assert_send::<OwnedRwLockWriteGuard<u32>>();
    assert_sync::<OwnedRwLockWriteGuard<u32>>();
    assert_send::<OwnedRwLockMappedWriteGuard<(u32, u8), u8>>();
    assert_sync::<OwnedRwLockMappedWriteGuard<(u32, u8), u8>>();
    assert_send::<TryLockError>();
    assert_send::<SetError<u32>>();
    // Futures holding guards across an await can be spawned.
    let m = Arc::new(Mutex::new(0u32));
    let r = Arc::new(RwLock::new(0u32));
    drop(send_future(async move {
        let g = m.lock().await;
        tokio::task::yield_now().await;
        drop(g);
        let g = r.clone().write_owned().await;
        tokio::task::yield_now().await;
        drop(g);
        let g = r.read().await;
        tokio::task::yield_now().await;
        drop(g);
    }));
}

static STATIC_MUTEX: Mutex<u32> = Mutex::const_new(1);
static STATIC_RWLOCK: RwLock<u32> = RwLock::const_new(2);
static STATIC_MAX: RwLock<u32> = RwLock::const_with_max_readers(3, 4);
static STATIC_CELL: OnceCell<u32> = OnceCell::const_new();
static STATIC_SET_CELL: OnceCell<u32> = OnceCell::const_new_with(5);

#[test]
fn mutex_and_its_guards() {
    run(async {
        assert_eq!(*STATIC_MUTEX.lock().await, 1);
        let m = Mutex::new((1u32, String::from("a")));
        {
            let g = m.lock().await;
            assert!(std::ptr::eq(MutexGuard::mutex(&g), &m));
            let err: TryLockError = m.try_lock().unwrap_err();
            assert!(!err.to_string().is_empty());
            let mut name: MappedMutexGuard<'_, String> = MutexGuard::map(g, |v| &mut v.1);
            name.push('b');
            assert_eq!(name.to_string(), "ab");
            assert_eq!(format!("{name:?}"), "\"ab\"");
            let name = MappedMutexGuard::try_map(name, |_| None::<&mut u8>).unwrap_err();
            let mut same = MappedMutexGuard::map(name, |s| s);
            same.push('c');
            let same = MappedMutexGuard::try_map(same, |s| Some(s)).ok().unwrap();
            assert_eq!(*same, "abc");
        }
        {
            let mut g = m.try_lock().unwrap();
            g.0 += 1;
            assert_eq!(format!("{g:?}"), "(2, \"abc\")");
            let g = MutexGuard::try_map(g, |_| None::<&mut u32>).unwrap_err();
            let mut n = MutexGuard::try_map(g, |v| Some(&mut v.0)).ok().unwrap();
            *n += 1;
            assert_eq!(n.to_string(), "3");
        }
        // Unsized targets.
        let bytes = Mutex::new([1u8, 2, 3]);
        {
            let mut tail: MappedMutexGuard<'_, [u8]> =
                MutexGuard::map(bytes.lock().await, |a| &mut a[1..]);
            tail[0] = 7;
        }
        assert_eq!(*bytes.lock().await, [1, 7, 3]);
        let dyn_guard: MappedMutexGuard<'_, dyn std::fmt::Debug> =
            MutexGuard::map(bytes.lock().await, |a| a as &mut dyn std::fmt::Debug);
        assert_eq!(format!("{dyn_guard:?}"), "[1, 7, 3]");
        drop(dyn_guard);
        assert!(!format!("{m:?}").is_empty());
        let mut m = m;
        m.get_mut().0 = 10;
        assert_eq!(m.into_inner().0, 10);
        let from: Mutex<u8> = Mutex::from(3);
        assert_eq!(from.into_inner(), 3);
        let d: Mutex<Vec<u8>> = Mutex::default();
        assert!(d.lock().await.is_empty());
    });
}

#[test]
fn owned_mutex_guards() {
    run(async {
        let m = Arc::new(Mutex::new((1u32, String::from("a"))));
        let mut g: OwnedMutexGuard<(u32, String)> = m.clone().lock_owned().await;
        g.0 += 1;
        assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
        assert_eq!(format!("{g:?}"), "(2, \"a\")");
        let g = OwnedMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
        let mut name: OwnedMappedMutexGuard<(u32, String), String> =
            OwnedMutexGuard::map(g, |v| &mut v.1);
        name.push('b');
        assert_eq!(name.to_string(), "ab");
        assert_eq!(format!("{name:?}"), "\"ab\"");
        let name = OwnedMappedMutexGuard::try_map(name, |_| None::<&mut u8>).unwrap_err();
        let same = OwnedMappedMutexGuard::map(name, |s| s);
        let mut first: OwnedMappedMutexGuard<(u32, String), String> =
            OwnedMappedMutexGuard::try_map(same, |s| Some(s)).ok().unwrap();
        first.replace_range(..1, "z");
        // Moved to another task and dropped there.
        tokio::spawn(async move { drop(first) }).await.unwrap();
        let g = m.clone().try_lock_owned().unwrap();
        assert_eq!(g.1, "zb");
        assert!(m.clone().try_lock_owned().is_err());
        let n = OwnedMutexGuard::try_map(g, |v| Some(&mut v.0)).ok().unwrap();
        assert_eq!(n.to_string(), "2");
        drop(n);
        let unsized_part: OwnedMappedMutexGuard<(u32, String), str> =
            OwnedMutexGuard::map(m.clone().lock_owned().await, |v| v.1.as_mut_str());
        assert_eq!(&*unsized_part, "zb");
    });
}

/// An owned guard of data that borrows, kept in a struct generic over the data (held out:
/// lockable 0.2.0's `PrimaryArc` holds an `OwnedMutexGuard<T>` with no `'static` bound).
#[test]
fn owned_mutex_guards_of_borrowed_data() {
    struct Held<T> {
        guard: OwnedMutexGuard<T>,
    }
    let text = String::from("borrowed");
    let words: Vec<&str> = text.split('r').collect();
    run(async {
        let m = Arc::new(Mutex::new(words.clone()));
        let mut held = Held {
            guard: m.clone().lock_owned().await,
        };
        held.guard.push("x");
        assert!(m.try_lock().is_err());
        let last: OwnedMappedMutexGuard<Vec<&str>, &str> =
            OwnedMutexGuard::map(held.guard, |v| v.last_mut().unwrap());
        assert_eq!(*last, "x");
        drop(last);
        assert_eq!(m.lock().await.len(), words.len() + 1);
        let again = Held {
            guard: m.clone().try_lock_owned().unwrap(),
        };
        assert_eq!(again.guard[0], "bo");
    });
}

/// A closure of `map` that panics while the guard holds the last `Arc`: the lock is released
/// before the mutex is freed (under Miri, the permit dropped after the `Arc` was a
/// use-after-free), and a mutex still shared can be locked again.
#[test]
fn a_panic_in_an_owned_guards_map() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let last = Arc::new(Mutex::new(vec![1u8]));
    let g = last.try_lock_owned().unwrap();
    let r = catch_unwind(AssertUnwindSafe(move || {
        let _ = OwnedMutexGuard::map(g, |_| -> &mut u8 { panic!("in map") });
    }));
    assert!(r.is_err());
    let shared = Arc::new(Mutex::new(vec![1u8]));
    let g = OwnedMutexGuard::map(shared.clone().try_lock_owned().unwrap(), |v| v);
    let r = catch_unwind(AssertUnwindSafe(move || {
        let _ = OwnedMappedMutexGuard::try_map(g, |_| -> Option<&mut u8> { panic!("in try_map") });
    }));
    assert!(r.is_err());
    assert_eq!(*shared.try_lock().unwrap(), [1]);
}

/// Owned `RwLock` guards of a part that is not `'static`, in structs generic over it (held
/// out: remoc 0.20's `Ref<T>(OwnedRwLockReadGuard<Option<AnyBox>, T>)`), mapped, downgraded,
/// sent to another thread; and a `map` that panics while the guard holds the last `Arc`.
#[test]
fn owned_rwlock_guards_of_parts_that_borrow() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    struct Ref<T: ?Sized>(OwnedRwLockReadGuard<Vec<String>, T>);
    struct RefMut<T: ?Sized>(OwnedRwLockMappedWriteGuard<Vec<String>, T>);
    let text = String::from("a b");
    let words: Vec<&str> = text.split(' ').collect();
    run(async {
        let l = Arc::new(RwLock::new(vec![String::from("a"), String::from("b")]));
        let first: Ref<str> = Ref(OwnedRwLockReadGuard::map(
            l.clone().read_owned().await,
            |v| v[0].as_str(),
        ));
        assert_eq!(&*first.0, words[0]);
        drop(first);
        let mut second: RefMut<String> = RefMut(OwnedRwLockWriteGuard::map(
            l.clone().write_owned().await,
            |v| &mut v[1],
        ));
        second.0.push('!');
        assert!(l.try_read().is_err());
        drop(second);
        let part = OwnedRwLockWriteGuard::downgrade_map(l.clone().write_owned().await, |v| &v[1]);
        assert_eq!(*part, "b!");
        let back = std::thread::spawn(move || part.len()).join().unwrap();
        assert_eq!(back, 2);
        let w = OwnedRwLockWriteGuard::map(l.clone().write_owned().await, |v| &mut v[0]);
        std::thread::spawn(move || drop(w)).join().unwrap();
        assert!(l.try_write().is_ok());
    });
    let last = Arc::new(RwLock::new(vec![1u8]));
    let g = last.try_read_owned().unwrap();
    let r = catch_unwind(AssertUnwindSafe(move || {
        let _ = OwnedRwLockReadGuard::map(g, |_| -> &u8 { panic!("in map") });
    }));
    assert!(r.is_err());
    let shared = Arc::new(RwLock::new(vec![1u8]));
    let g = OwnedRwLockWriteGuard::map(shared.clone().try_write_owned().unwrap(), |v| v);
    let r = catch_unwind(AssertUnwindSafe(move || {
        let _ = OwnedRwLockMappedWriteGuard::map(g, |_| -> &mut u8 { panic!("in map") });
    }));
    assert!(r.is_err());
    assert_eq!(*shared.try_read().unwrap(), [1]);
}

#[test]
fn blocking_acquisitions_outside_the_runtime() {
    let m = Arc::new(Mutex::new(0u32));
    *m.blocking_lock() += 1;
    let mut o = m.clone().blocking_lock_owned();
    *o += 1;
    drop(o);
    let r = RwLock::new(0u32);
    *r.blocking_write() += 1;
    assert_eq!(*r.blocking_read(), 1);
    assert_eq!(*m.blocking_lock(), 2);
}

#[test]
fn rwlock_and_its_guards() {
    run(async {
        assert_eq!(*STATIC_RWLOCK.read().await, 2);
        assert_eq!(*STATIC_MAX.read().await, 3);
        let l = RwLock::new((1u32, String::from("a")));
        {
            let a = l.read().await;
            let b = l.try_read().unwrap();
            let err: TryLockError = l.try_write().unwrap_err();
            assert!(!err.to_string().is_empty());
            assert_eq!(format!("{a:?}"), "(1, \"a\")");
            let b = RwLockReadGuard::try_map(b, |_| None::<&u8>).unwrap_err();
            let name: RwLockReadGuard<'_, str> = RwLockReadGuard::map(a, |v| v.1.as_str());
            assert_eq!(name.to_string(), "a");
            let n = RwLockReadGuard::try_map(b, |v| Some(&v.0)).ok().unwrap();
            assert_eq!(n.to_string(), "1");
        }
        {
            let mut w = l.write().await;
            w.0 += 1;
            assert_eq!(format!("{w:?}"), "(2, \"a\")");
            let w = RwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let mut name = RwLockWriteGuard::map(w, |v| &mut v.1);
            name.push('b');
            assert_eq!(name.to_string(), "ab");
            assert_eq!(format!("{name:?}"), "\"ab\"");
            let name = RwLockMappedWriteGuard::try_map(name, |_| None::<&mut u8>).unwrap_err();
            let s: RwLockMappedWriteGuard<'_, str> =
                RwLockMappedWriteGuard::map(name, |s| s.as_mut_str());
            let mut c = RwLockMappedWriteGuard::try_map(s, |s| Some(s)).ok().unwrap();
            c.make_ascii_uppercase();
        }
        {
            let w = l.try_write().unwrap();
            let mut all = RwLockWriteGuard::into_mapped(w);
            all.0 += 1;
            assert_eq!(format!("{all:?}"), "(3, \"AB\")");
        }
        {
            let w = l.write().await;
            assert_eq!(format!("{w:?}"), "(3, \"AB\")");
            let r = w.downgrade();
            assert!(l.try_read().is_ok());
            assert_eq!(r.0, 3);
        }
        {
            let w = l.write().await;
            let name: RwLockReadGuard<'_, str> = RwLockWriteGuard::downgrade_map(w, |v| &*v.1);
            assert_eq!(&*name, "AB");
            assert!(l.try_read().is_ok());
            assert!(l.try_write().is_err());
        }
        {
            let w = l.write().await;
            let w = RwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
            assert!(l.try_read().is_err()); // still held for writing
            let n = RwLockWriteGuard::try_downgrade_map(w, |v| Some(&v.0)).ok().unwrap();
            assert!(l.try_read().is_ok());
            assert_eq!(*n, 3);
        }
        // `Display` of every guard of data that has it.
        let n = Arc::new(RwLock::new(5u32));
        assert_eq!(n.read().await.to_string(), "5");
        assert_eq!(n.write().await.to_string(), "5");
        assert_eq!(RwLockWriteGuard::into_mapped(n.write().await).to_string(), "5");
        assert_eq!(n.clone().read_owned().await.to_string(), "5");
        assert_eq!(n.clone().write_owned().await.to_string(), "5");
        let all = OwnedRwLockWriteGuard::into_mapped(n.clone().write_owned().await);
        assert_eq!(all.to_string(), "5");
        drop(all);
        assert!(!format!("{l:?}").is_empty());
        let mut l = l;
        l.get_mut().0 = 9;
        assert_eq!(l.into_inner().0, 9);
        let from: RwLock<u8> = RwLock::from(3);
        assert_eq!(from.into_inner(), 3);
        let d: RwLock<Vec<u8>> = RwLock::default();
        assert!(d.read().await.is_empty());
        let few = RwLock::with_max_readers(0u8, 2);
        let (a, b) = (few.read().await, few.try_read().unwrap());
        assert!(few.try_read().is_err()); // at most two readers
        drop((a, b));
    });
}

#[test]
fn owned_rwlock_guards() {
    run(async {
        let l = Arc::new(RwLock::new((1u32, String::from("a"))));
        {
            let r: OwnedRwLockReadGuard<(u32, String)> = l.clone().read_owned().await;
            let r2 = l.clone().try_read_owned().unwrap();
            assert!(l.clone().try_write_owned().is_err());
            assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &l));
            assert_eq!(format!("{r:?}"), "(1, \"a\")");
            let r = OwnedRwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
            let name: OwnedRwLockReadGuard<(u32, String), String> =
                OwnedRwLockReadGuard::map(r, |v| &v.1);
            assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&name), &l));
            assert_eq!(name.to_string(), "a");
            let s: OwnedRwLockReadGuard<(u32, String), str> =
                OwnedRwLockReadGuard::map(name, |s| s.as_str());
            let s = OwnedRwLockReadGuard::try_map(s, |s| s.get(..1)).ok().unwrap();
            assert_eq!(&*s, "a");
            // Moved to another task and dropped there.
            tokio::spawn(async move { drop((s, r2)) }).await.unwrap();
        }
        {
            let mut w: OwnedRwLockWriteGuard<(u32, String)> = l.clone().write_owned().await;
            w.0 += 1;
            assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &l));
            assert_eq!(format!("{w:?}"), "(2, \"a\")");
            let w = OwnedRwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let mut name: OwnedRwLockMappedWriteGuard<(u32, String), String> =
                OwnedRwLockWriteGuard::map(w, |v| &mut v.1);
            name.push('b');
            assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&name), &l));
            assert_eq!(name.to_string(), "ab");
            assert_eq!(format!("{name:?}"), "\"ab\"");
            let name =
                OwnedRwLockMappedWriteGuard::try_map(name, |_| None::<&mut u8>).unwrap_err();
            let s: OwnedRwLockMappedWriteGuard<(u32, String), str> =
                OwnedRwLockMappedWriteGuard::map(name, |s| s.as_mut_str());
            let mut s = OwnedRwLockMappedWriteGuard::try_map(s, |s| Some(s)).ok().unwrap();
            s.make_ascii_uppercase();
        }
        {
            let w = l.clone().try_write_owned().unwrap();
            let mut all: OwnedRwLockMappedWriteGuard<(u32, String)> =
                OwnedRwLockWriteGuard::into_mapped(w);
            all.0 += 1;
        }
        {
            let w = l.clone().write_owned().await;
            let r: OwnedRwLockReadGuard<(u32, String)> = w.downgrade();
            assert!(l.try_read().is_ok());
            assert_eq!(r.0, 3);
        }
        {
            let w = l.clone().write_owned().await;
            let name: OwnedRwLockReadGuard<(u32, String), str> =
                OwnedRwLockWriteGuard::downgrade_map(w, |v| v.1.as_str());
            assert_eq!(&*name, "AB");
            assert!(l.try_read().is_ok());
            assert!(l.try_write().is_err());
        }
        {
            let w = l.clone().write_owned().await;
            let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
            assert!(l.try_read().is_err());
            let n: OwnedRwLockReadGuard<(u32, String), u32> =
                OwnedRwLockWriteGuard::try_downgrade_map(w, |v| Some(&v.0)).ok().unwrap();
            assert!(l.try_read().is_ok());
            assert_eq!(n.to_string(), "3");
        }
        assert_eq!(l.read().await.0, 3);
    });
}

#[test]
fn once_cell() {
    run(async {
        assert_eq!(STATIC_SET_CELL.get(), Some(&5));
        assert_eq!(*STATIC_CELL.get_or_init(|| async { 4 }).await, 4);
        let c: OnceCell<u32> = OnceCell::new();
        assert!(!c.initialized());
        assert_eq!(c.clone(), c);
        assert_eq!(*c.get_or_init(|| async { 1 }).await, 1);
        let e: SetError<u32> = c.set(2).unwrap_err();
        assert!(e.is_already_init_err());
        let copy = c.clone();
        assert_eq!(copy.get(), Some(&1));
        assert!(copy == c);
        assert!(copy != OnceCell::new());
        let empty = OnceCell::new();
        let failed: Result<&u32, ()> = empty.get_or_try_init(|| async { Err(()) }).await;
        assert!(failed.is_err());
        let t: OnceCell<u32> = OnceCell::new();
        assert_eq!(t.get_or_try_init(|| async { Ok::<_, ()>(3) }).await, Ok(&3));
        let mut t = t;
        *t.get_mut().unwrap() += 1;
        assert_eq!(t.take(), Some(4));
        assert_eq!(t.into_inner(), None);
        assert_eq!(OnceCell::new_with(Some(6)).into_inner(), Some(6));
        assert_eq!(OnceCell::from(7).get(), Some(&7));
        let d: OnceCell<u32> = OnceCell::default();
        assert!(!format!("{d:?}").is_empty());
        fn eq<T: Eq>(_: &T) {}
        eq(&d);
    });
}
