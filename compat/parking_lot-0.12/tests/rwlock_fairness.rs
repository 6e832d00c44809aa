//! parking_lot 0.12's `read` queues behind a waiting writer (so readers cannot starve writers);
//! its `read_recursive` does not. Both are one lock here, as there.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

#[test]
fn read_queues_behind_a_waiting_writer_and_read_recursive_does_not() {
    let lock = Arc::new(RwLock::new(0u32));
    // A reader holds the lock until told to let go.
    let (release, held) = (mpsc::channel::<()>(), mpsc::channel::<()>());
    let reader = {
        let lock = lock.clone();
        let (release_rx, held_tx) = (release.1, held.0);
        thread::spawn(move || {
            let _r = lock.read();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
    };
    held.1.recv().unwrap();
    // A writer queues behind it.
    let writer = {
        let lock = lock.clone();
        thread::spawn(move || *lock.write() += 1)
    };
    // Once the writer waits, a new `read` must not get in before it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match lock.try_read() {
            None => break,
            Some(g) => drop(g),
        }
        assert!(
            Instant::now() < deadline,
            "a read got in ahead of a waiting writer for 20 s: readers starve writers"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert!(
        lock.try_read_for(Duration::from_millis(20)).is_none(),
        "a timed read got in ahead of the waiting writer"
    );
    // A recursive reader is admitted while readers hold the lock, writer or not.
    assert!(lock.try_read_recursive().is_some());
    release.0.send(()).unwrap();
    reader.join().unwrap();
    writer.join().unwrap();
    assert_eq!(*lock.read(), 1);
}
