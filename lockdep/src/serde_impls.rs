//! Feature `serde`: the locks (`lockdep::std`'s too, as serde's impls of std's) serialize their
//! data under the lock (a validated acquisition) and
//! deserialize into a new lock, as parking_lot's `serde` feature. A deserialized lock's site is
//! the deserializer's (a `#[derive(Deserialize)]` gives every field one), so its class is set at
//! its first acquisition ([`NotUserCode::Deserialize`](crate::NotUserCode::Deserialize)).

use std::panic::Location;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::runtime::LockMap;
use crate::{FairMutex, Mutex, RecursiveRwLock, ReentrantMutex, RwLock, SpinLock};

macro_rules! serde_lock {
    ($name:ident, $acquire:ident) => {
        impl<T: ?Sized + Serialize> Serialize for $name<T> {
            #[track_caller]
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.$acquire().serialize(serializer)
            }
        }

        impl<'de, T: Deserialize<'de>> Deserialize<'de> for $name<T> {
            #[track_caller]
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let map = LockMap::spec(Location::caller(), None, None)
                    .of::<T>()
                    .by_deserialize()
                    .build();
                T::deserialize(deserializer).map(|val| $name::with_map(map, val))
            }
        }
    };
}

serde_lock!(Mutex, lock);
serde_lock!(FairMutex, lock);
serde_lock!(SpinLock, lock);
serde_lock!(RwLock, read);
serde_lock!(RecursiveRwLock, read);
serde_lock!(ReentrantMutex, lock);

/// `lockdep::std`'s locks as serde's impls of std's: serializing a poisoned lock is an error,
/// deserializing builds a lock that is not poisoned.
macro_rules! serde_std_lock {
    ($name:ident, $acquire:ident) => {
        impl<T: ?Sized + Serialize> Serialize for crate::std::$name<T> {
            #[track_caller]
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.$acquire() {
                    Ok(guard) => guard.serialize(serializer),
                    Err(_) => Err(serde::ser::Error::custom(
                        "lock poison error while serializing",
                    )),
                }
            }
        }

        impl<'de, T: Deserialize<'de>> Deserialize<'de> for crate::std::$name<T> {
            #[track_caller]
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $name::<T>::deserialize(deserializer).map(crate::std::$name::from_validated)
            }
        }
    };
}

serde_std_lock!(Mutex, lock);
serde_std_lock!(RwLock, read);
