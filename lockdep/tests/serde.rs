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

/// `lockdep::std`'s locks as serde's impls of std's (async-session's `RwLock<HashMap<..>>` field
/// behind an `Arc`, held-out library round 16): a round trip, distinct classes per field, and a poisoned
/// lock refused.
#[test]
fn std_flavoured_locks_serialize_as_std_locks_do() {
    use std::collections::HashMap;

    #[derive(Serialize, Deserialize)]
    struct Session {
        data: lockdep::std::RwLock<HashMap<String, String>>,
        expiry: lockdep::std::Mutex<Option<u64>>,
    }
    let reports = lockdep::capture(|| {
        let s = Session {
            data: lockdep::std::RwLock::new(HashMap::from([("k".to_string(), "v".to_string())])),
            expiry: lockdep::std::Mutex::new(Some(5)),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"data":{"k":"v"},"expiry":5}"#);
        let back: Session = serde_json::from_str(&json).unwrap();
        let (_d, _e) = (back.data.write().unwrap(), back.expiry.lock().unwrap());
        let poisoned = lockdep::std::Mutex::new(1u8);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = poisoned.lock().unwrap();
            panic!("poison it");
        }));
        assert!(serde_json::to_string(&poisoned).is_err());
    });
    assert!(reports.is_empty(), "{reports:#?}");
}
