//! Lock classes: the unit of validation.
//!
//! As in the kernel, dependencies are recorded between *classes*, never between instances: every
//! lock built at one construction site (or sharing one [`ClassKey`]) is one class, so an order seen
//! on one pair of objects is checked against every other pair of the same kinds.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

/// Identifies a lock class inside one [`Validator`](crate::Validator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub(crate) u32);

impl ClassId {
    /// The class's index in its validator (dense, starting at 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An explicit class key shared by every lock built with it, like the kernel's `lock_class_key`.
///
/// Use it for locks built in a helper function or stored in a collection, where the construction
/// site alone would not say which locks belong together.
///
/// ```
/// use lockdep::{ClassKey, Mutex};
///
/// static BUCKET_LOCK: ClassKey = ClassKey::new("bucket_lock");
///
/// fn make_bucket() -> Mutex<Vec<u32>> {
///     Mutex::with_class(&BUCKET_LOCK, Vec::new())
/// }
/// let (a, b) = (make_bucket(), make_bucket());
/// assert_eq!(lockdep::class_name(&a), lockdep::class_name(&b));
/// ```
#[derive(Debug)]
pub struct ClassKey {
    name: &'static str,
    // Keeps every key at a distinct address even when names are equal.
    _unique: u8,
}

impl ClassKey {
    /// A key whose classes print as `name`.
    pub const fn new(name: &'static str) -> Self {
        ClassKey { name, _unique: 0 }
    }

    /// The name classes of this key print as.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// What kind of primitive a class belongs to: decides wait-context rules and report layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockKind {
    /// A sleeping mutual-exclusion lock.
    Mutex,
    /// A sleeping reader-writer lock.
    RwLock,
    /// A busy-waiting lock: nothing that may block is allowed inside it.
    SpinLock,
    /// A sequence counter: readers retry, writers hold it exclusively.
    SeqCount,
    /// A pseudo-lock annotating a wait (e.g. a condition or a completion).
    Map,
}

impl LockKind {
    /// The kernel's wait type this kind presents to code inside it (`LD_WAIT_*` with raw-lock
    /// nesting: 0 unchecked, 2 spin, 4 sleep).
    pub fn wait_type(self) -> u8 {
        match self {
            LockKind::Mutex | LockKind::RwLock => WAIT_SLEEP,
            LockKind::SpinLock => WAIT_SPIN,
            LockKind::SeqCount | LockKind::Map => WAIT_INVALID,
        }
    }

    /// The kind whose `as u8` is `index` (the last one for anything beyond).
    #[inline(always)]
    pub(crate) fn from_index(index: u8) -> Self {
        match index {
            0 => LockKind::Mutex,
            1 => LockKind::RwLock,
            2 => LockKind::SpinLock,
            3 => LockKind::SeqCount,
            _ => LockKind::Map,
        }
    }

    /// Lower-case name used in traces and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwLock => "rwlock",
            LockKind::SpinLock => "spinlock",
            LockKind::SeqCount => "seqcount",
            LockKind::Map => "map",
        }
    }
}

/// Unchecked wait type (`LD_WAIT_INV`).
pub const WAIT_INVALID: u8 = 0;
/// Spinning, never sleeps (`LD_WAIT_SPIN`).
pub const WAIT_SPIN: u8 = 2;
/// May sleep (`LD_WAIT_SLEEP`).
pub const WAIT_SLEEP: u8 = 4;
/// What an ordinary thread context allows (`LD_WAIT_MAX`).
pub const WAIT_MAX: u8 = 5;

/// A source position: where a lock was built or acquired.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    /// A call site in this program.
    Code(&'static Location<'static>),
    /// A position read from a trace (`file:line:col` or anything the writer chose).
    Text(Arc<str>),
    /// Not known.
    Unknown,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Code(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            Site::Text(t) => f.write_str(t),
            Site::Unknown => f.write_str("<unknown>"),
        }
    }
}

/// What makes two locks the same class.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// Built at one construction site (the default), with an optional user-chosen name.
    Site {
        /// Source file of the construction call.
        file: &'static str,
        /// Its line.
        line: u32,
        /// Its column.
        column: u32,
        /// The user-chosen name, if any (two names at one site are two classes).
        name: Option<&'static str>,
    },
    /// Built with one explicit [`ClassKey`] (compared by address).
    Key(usize),
    /// Named by a trace: every instance with one class name shares the class.
    Name(Arc<str>),
    /// A lock embedded in another lock of the outer key (a `SeqLock`'s spin lock), by role.
    Part(Box<KeySource>, &'static str),
}

impl KeySource {
    /// The key of a lock built at `site`, optionally named by the user.
    pub fn site(site: &'static Location<'static>, name: Option<&'static str>) -> Self {
        KeySource::Site {
            file: site.file(),
            line: site.line(),
            column: site.column(),
            name,
        }
    }
}

/// Everything the validator knows about one class.
#[derive(Clone, Debug)]
pub struct ClassInfo {
    /// The base name, as the user or the site gave it.
    pub base_name: Arc<str>,
    /// `#N` suffix: the N-th distinct class with this base name (1 = first, not printed).
    pub name_version: u32,
    /// Nesting subclass (`/N`, 0 = not printed).
    pub subclass: u32,
    /// The kind of primitive.
    pub kind: LockKind,
    /// Where the first lock of this class was built.
    pub init_site: Site,
    /// The printed name: `base#version/subclass`, the way the kernel prints it.
    pub display_name: Arc<str>,
}

/// Maps class keys to dense [`ClassId`]s and keeps per-class data.
#[derive(Default)]
pub(crate) struct ClassRegistry {
    by_key: HashMap<(KeySource, u32), ClassId>,
    classes: Vec<ClassInfo>,
    // Base name -> how many distinct (key) classes carry it, for `#N`.
    versions: HashMap<Arc<str>, Vec<KeySource>>,
}

/// A class was requested but the configured class limit is reached.
pub(crate) struct ClassLimitReached;

impl ClassRegistry {
    pub(crate) fn lookup(&self, key: &KeySource, subclass: u32) -> Option<ClassId> {
        self.by_key.get(&(key.clone(), subclass)).copied()
    }

    /// Finds or creates the class of `key` and `subclass`.
    pub(crate) fn register(
        &mut self,
        key: &KeySource,
        subclass: u32,
        base_name: &dyn Fn() -> Arc<str>,
        kind: LockKind,
        init_site: Site,
        max_classes: usize,
    ) -> Result<ClassId, ClassLimitReached> {
        if let Some(id) = self.lookup(key, subclass) {
            return Ok(id);
        }
        if self.classes.len() >= max_classes {
            return Err(ClassLimitReached);
        }
        let base = base_name();
        // Subclasses of one key share the base name and version, as in the kernel.
        let keys = self.versions.entry(base.clone()).or_default();
        let version = match keys.iter().position(|k| k == key) {
            Some(i) => i as u32 + 1,
            None => {
                keys.push(key.clone());
                keys.len() as u32
            }
        };
        let display_name = display_name(&base, version, subclass);
        let id = ClassId(self.classes.len() as u32);
        self.classes.push(ClassInfo {
            base_name: base,
            name_version: version,
            subclass,
            kind,
            init_site,
            display_name,
        });
        self.by_key.insert((key.clone(), subclass), id);
        Ok(id)
    }

    pub(crate) fn get(&self, id: ClassId) -> &ClassInfo {
        &self.classes[id.index()]
    }

    pub(crate) fn len(&self) -> usize {
        self.classes.len()
    }
}

fn display_name(base: &str, version: u32, subclass: u32) -> Arc<str> {
    let mut s = String::from(base);
    if version > 1 {
        s.push_str(&format!("#{version}"));
    }
    if subclass > 0 {
        s.push_str(&format!("/{subclass}"));
    }
    s.into()
}

/// The default name of a site-keyed class: `file:line:col`, as the kernel's Rust locks print.
pub(crate) fn site_name(file: &str, line: u32, column: u32) -> Arc<str> {
    format!("{file}:{line}:{column}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> KeySource {
        KeySource::Name(s.into())
    }

    #[test]
    fn same_key_same_class_and_subclasses_differ() {
        let mut r = ClassRegistry::default();
        let n = || Arc::from("a");
        let a = r
            .register(&name("a"), 0, &n, LockKind::Mutex, Site::Unknown, 10)
            .ok()
            .unwrap();
        let a2 = r
            .register(&name("a"), 0, &n, LockKind::Mutex, Site::Unknown, 10)
            .ok()
            .unwrap();
        let a1 = r
            .register(&name("a"), 1, &n, LockKind::Mutex, Site::Unknown, 10)
            .ok()
            .unwrap();
        assert_eq!(a, a2);
        assert_ne!(a, a1);
        assert_eq!(&*r.get(a1).display_name, "a/1");
    }

    #[test]
    fn equal_names_get_versions() {
        let mut r = ClassRegistry::default();
        let s = |line| KeySource::Site {
            file: "f.rs",
            line,
            column: 1,
            name: Some("&s->seqcount"),
        };
        let n = || Arc::from("&s->seqcount");
        let a = r
            .register(&s(1), 0, &n, LockKind::SeqCount, Site::Unknown, 10)
            .ok()
            .unwrap();
        let b = r
            .register(&s(2), 0, &n, LockKind::SeqCount, Site::Unknown, 10)
            .ok()
            .unwrap();
        let b1 = r
            .register(&s(2), 1, &n, LockKind::SeqCount, Site::Unknown, 10)
            .ok()
            .unwrap();
        assert_eq!(&*r.get(a).display_name, "&s->seqcount");
        assert_eq!(&*r.get(b).display_name, "&s->seqcount#2");
        assert_eq!(&*r.get(b1).display_name, "&s->seqcount#2/1");
    }

    #[test]
    fn class_limit_is_enforced() {
        let mut r = ClassRegistry::default();
        let n = || Arc::from("x");
        assert!(
            r.register(&name("a"), 0, &n, LockKind::Mutex, Site::Unknown, 1)
                .is_ok()
        );
        assert!(
            r.register(&name("b"), 0, &n, LockKind::Mutex, Site::Unknown, 1)
                .is_err()
        );
        assert!(
            r.register(&name("a"), 0, &n, LockKind::Mutex, Site::Unknown, 1)
                .is_ok()
        );
    }
}
