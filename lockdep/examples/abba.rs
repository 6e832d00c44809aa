//! A lock-order inversion that never actually deadlocks, and what lockdep says about it.
//!
//! ```sh
//! LOCKDEP_ON_REPORT=log cargo run -p lockdep --example abba
//! LOCKDEP_ON_REPORT=log LOCKDEP_TRACE=abba.jsonl cargo run -p lockdep --example abba
//! cargo run -p lockcheck -- replay abba.jsonl
//! ```

use std::sync::Arc;
use std::thread;

use lockdep::Mutex;

struct Account {
    balance: Mutex<i64>,
}

fn transfer(from: &Account, to: &Account, amount: i64) {
    let mut a = from.balance.lock();
    let mut b = to.balance.lock();
    *a -= amount;
    *b += amount;
}

fn main() {
    let alice = Arc::new(Account {
        balance: Mutex::with_name("alice.balance", 100),
    });
    let bob = Arc::new(Account {
        balance: Mutex::with_name("bob.balance", 100),
    });

    let (a, b) = (alice.clone(), bob.clone());
    thread::Builder::new()
        .name("payroll".into())
        .spawn(move || transfer(&a, &b, 10))
        .unwrap()
        .join()
        .unwrap();

    // Runs after the first transfer has finished, so it never hangs here, but the opposite order
    // can deadlock the day the two run at once. lockdep reports it now.
    transfer(&bob, &alice, 5);

    println!("alice {} bob {}", alice.balance.lock(), bob.balance.lock());
    if std::env::args().any(|a| a == "--panic") {
        panic!("exiting by panic");
    }
}
