//! Reports never take a program down where unwinding cannot happen: a report raised inside a
//! thread-local destructor, and limit reports, are logged even when reports panic.
//! (Its own test binary: a failure here aborts the process.)

// Validation must be compiled in.
#![cfg(not(lockdep_off))]

use lockdep::{Config, Mutex, Validator};

static A: Mutex<()> = Mutex::with_name("teardown-a", ());
static B: Mutex<()> = Mutex::with_name("teardown-b", ());

struct TakesAThenB;

impl Drop for TakesAThenB {
    fn drop(&mut self) {
        let _a = A.lock();
        let _b = B.lock();
    }
}

thread_local! {
    static AT_EXIT: TakesAThenB = const { TakesAThenB };
}

#[test]
fn a_report_inside_a_thread_local_destructor_is_logged_not_an_abort() {
    // The global validator panics on reports unless told otherwise.
    if std::env::var_os("LOCKDEP_ON_REPORT").is_some() {
        println!("skipped: LOCKDEP_ON_REPORT is set");
        return;
    }
    {
        let _b = B.lock();
        let _a = A.lock(); // b -> a
    }
    std::thread::spawn(|| AT_EXIT.with(|_| {}))
        .join()
        .expect("the thread ends normally: its destructor's report is logged");
    // Reaching this line means the process did not abort.
}

#[test]
fn a_limit_report_does_not_panic_in_panic_mode() {
    let v = Validator::new(Config {
        max_lock_depth: 1,
        ..Config::default()
    });
    let x = Mutex::with_name("limit-x", ());
    let y = Mutex::with_name("limit-y", ());
    v.scope(|| {
        let _x = x.lock();
        let _y = y.lock(); // over the depth limit: logged, the program goes on
    });
    // Validation of what remains possible goes on: a later real cycle is still found.
    let p = Mutex::with_name("limit-p", ());
    let q = Mutex::with_name("limit-q", ());
    let reports = lockdep::capture(|| {
        {
            let _p = p.lock();
            let _q = q.lock();
        }
        let _q = q.lock();
        let _p = p.lock();
    });
    assert_eq!(reports.len(), 1);
}
