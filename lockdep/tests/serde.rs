//! Feature `serde`: locks serialize their data and deserialize into new locks, and the fields of
//! a derived struct are distinct classes (`cargo test -p lockdep --features serde --test serde`).
#![cfg(all(feature = "serde", not(lockdep_off)))]

use lockdep::{ClassOrigin, Mutex, NotUserCode, ReportKind, RwLock};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Ledger {
    accounts: Mutex<Vec<u64>>,
    audit: Mutex<Vec<u64>>,
    index: RwLock<u32>,
}

#[test]
fn round_trip_and_distinct_classes() {
    let reports = lockdep::capture(|| {
        let ledger = Ledger {
            accounts: Mutex::new(vec![1, 2]),
            audit: Mutex::new(vec![3]),
            index: RwLock::new(7),
        };
        let json = serde_json::to_string(&ledger).unwrap();
        assert_eq!(json, r#"{"accounts":[1,2],"audit":[3],"index":7}"#);
        let back: Ledger = serde_json::from_str(&json).unwrap();
        let (_a, _b, _i) = (back.accounts.lock(), back.audit.lock(), back.index.read());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}

#[test]
fn a_cycle_between_deserialized_fields_is_reported_with_its_origin() {
    let reports = lockdep::capture(|| {
        let back: Ledger = serde_json::from_str(r#"{"accounts":[],"audit":[],"index":0}"#).unwrap();
        drop((back.accounts.lock(), back.audit.lock()));
        let _b = back.audit.lock();
        let _a = back.accounts.lock();
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind(), ReportKind::CircularDependency);
    assert!(matches!(
        reports[0].notes[0].origin,
        ClassOrigin::FirstLock {
            why: NotUserCode::Deserialize,
            ..
        }
    ));
}
