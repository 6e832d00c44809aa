//! parking_lot 0.13.0's own tests of `recursive_rwlock.rs` (MIT OR Apache-2.0, Amanieu d'Antras), run
//! against the compat crate: its API and behaviour under lockdep's validation. One test waits
//! for a parked writer through the raw lock's private state upstream; here it pauses.
//! `upgrade` reads under an upgradable read, which lockdep reports: the test checks the report.

// Upstream's code as written (for its clippy).
#![allow(clippy::all)]

#[cfg(test)]
mod tests {
    use parking_lot::{
        RecursiveRwLock, RecursiveRwLockReadGuard, RecursiveRwLockUpgradableReadGuard,
    };
    use rand::RngExt;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn frob() {
        const N: u32 = 10;
        const M: u32 = if cfg!(miri) { 100 } else { 1000 };

        let lock = Arc::new(RecursiveRwLock::new(()));
        let mut threads = Vec::new();
        for _ in 0..N {
            let lock = Arc::clone(&lock);
            threads.push(thread::spawn(move || {
                let mut rng = rand::rng();
                for _ in 0..M {
                    if rng.random_bool(1.0 / N as f64) {
                        drop(lock.write());
                    } else {
                        drop(lock.read());
                    }
                }
            }));
        }
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[test]
    fn recursive_read_with_waiting_writer() {
        let lock = Arc::new(RecursiveRwLock::new(()));
        let first = lock.read();
        let second = lock.read();

        let lock2 = Arc::clone(&lock);
        let writer = thread::spawn(move || drop(lock2.write()));
        // Upstream waits for the raw lock's private `has_parked_threads`; through the public
        // API, a pause lets the writer park first.
        thread::sleep(std::time::Duration::from_millis(100));

        assert!(lock.try_read().is_some());
        let mut second = second;
        RecursiveRwLockReadGuard::bump(&mut second);

        drop(first);
        drop(second);
        writer.join().unwrap();
    }

    #[test]
    fn upgrade() {
        let lock = RecursiveRwLock::new(1);
        // lockdep validates an upgradable read as an exclusive acquisition (as its own
        // `RecursiveRwLock`'s): a read taken under it is reported as recursive locking, though
        // parking_lot admits a recursive reader there.
        let reports = lockdep::capture(|| {
            let upgradable = lock.upgradable_read();
            let read = lock.read();
            drop(read);
            let mut write = RecursiveRwLockUpgradableReadGuard::upgrade(upgradable);
            *write = 2;
            drop(write);
        });
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].kind(), lockdep::ReportKind::RecursiveLocking);
        assert_eq!(*lock.read(), 2);
    }
}
