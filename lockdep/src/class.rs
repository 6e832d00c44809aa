//! Lock classes: the unit of validation.
//!
//! As in the kernel, dependencies are recorded between *classes*, never between instances: every
//! lock built at one construction site (or sharing one [`ClassKey`]) is one class, so an order seen
//! on one pair of objects is checked against every other pair of the same kinds.
//!
//! A construction site that is not the user's own code (inside std/core/alloc, the raw lock's
//! `INIT`, or a `Default` call that a `#[derive(Default)]` makes for every field) is shared by
//! unrelated locks, so such a lock's class is keyed by its site, the type of its data and the
//! site of its first acquisition ([`ClassOrigin::FirstLock`]), or is the lock's own
//! ([`ClassOrigin::Instance`]) when that acquisition has no site, or one inside std.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
#[non_exhaustive]
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

    /// The word a class name built from a site starts with (`mutex<T>@…`). A map's is `once`:
    /// every map class is a once cell's (`Once`, `OnceLock`, `LazyLock`, tokio's `OnceCell`),
    /// and `once<T>@…` says what a report's `map@…` did not.
    #[cfg_attr(lockdep_off, allow(dead_code))]
    pub(crate) fn class_prefix(self) -> &'static str {
        match self {
            LockKind::Map => "once",
            kind => kind.as_str(),
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
        /// The type of the protected data, when the lock has one (`std::any::type_name`): one
        /// site in a generic function builds a class per type.
        ty: Option<&'static str>,
    },
    /// Built at a site that is not the user's code ([`NotUserCode`]): keyed by that site, the data
    /// type and the site of the first acquisition.
    FirstLock {
        /// Where the lock was built.
        built: (&'static str, u32, u32),
        /// The type of the protected data, if any.
        ty: Option<&'static str>,
        /// Where a lock of this class was first acquired (`file`, `line`, `column`).
        first: (&'static str, u32, u32),
    },
    /// A lock built at a site that is not the user's code whose first acquisition had no site,
    /// or one inside std: a class of its own, numbered in the process.
    Instance(u64),
    /// Built with one explicit [`ClassKey`] (compared by address).
    Key(usize),
    /// Named by a trace: every instance with one class name shares the class.
    Name(Arc<str>),
    /// A lock embedded in another lock of the outer key (a `SeqLock`'s spin lock), by role.
    Part(Box<KeySource>, &'static str),
}

impl KeySource {
    /// The key of a lock built at `site`, optionally named by the user, protecting a `ty`.
    pub fn site(
        site: &'static Location<'static>,
        name: Option<&'static str>,
        ty: Option<&'static str>,
    ) -> Self {
        KeySource::Site {
            file: site.file(),
            line: site.line(),
            column: site.column(),
            name,
            ty,
        }
    }
}

/// Why a construction site is not the user's code: it is shared by locks that need not have
/// anything in common, so it cannot be their class on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotUserCode {
    /// Built by `Default::default()`: a `#[derive(Default)]` gives every field the derive's
    /// site, and generic code (`mem::take`, `unwrap_or_default`) its own.
    Default,
    /// Built inside the standard library (`Arc::default`, an iterator adaptor running
    /// `map(Mutex::new)`, `Option::unwrap_or_default`).
    Std,
    /// Built by `Deserialize` (feature `serde`): a `#[derive(Deserialize)]` gives every field
    /// one site.
    Deserialize,
    /// Built by `lock_api` from this crate's raw lock (`lock_api::Mutex<lockdep::RawMutex, _>`),
    /// whose constructor cannot see its caller.
    RawLock,
}

impl NotUserCode {
    /// How a report explains it.
    pub fn describe(self) -> &'static str {
        match self {
            NotUserCode::Default => {
                "through Default (a #[derive(Default)] gives all its fields one site)"
            }
            NotUserCode::Std => {
                "inside the standard library (Arc::default, map(Mutex::new), unwrap_or_default ...)"
            }
            NotUserCode::Deserialize => {
                "by Deserialize (a #[derive(Deserialize)] gives all its fields one site)"
            }
            NotUserCode::RawLock => {
                "from the raw lock's INIT (directly, or by lock_api over it), which cannot see its \
                 caller"
            }
        }
    }
}

impl fmt::Display for NotUserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Whether a source file is in the Rust sysroot (std, core, alloc), or is `lock_api` 0.4's or
/// 0.5's own source (under the parking_lot compat crates): a site there runs code for every caller
/// (`Arc::default`, `map(Mutex::new)`, lock_api 0.4's `ReentrantMutex` reaching its raw lock
/// through a closure, lock_api's `Debug` trying a lock), so it says nothing about
/// which lock it builds or takes. Other dependencies' files are not: a site there is its author's
/// init site, as one in the user's code (its generic helpers are told apart by the data type, its
/// `Default` impls by the first acquisition).
pub fn sysroot_file(file: &str) -> bool {
    const STD: [&str; 4] = [
        "/library/core/src/",
        "/library/alloc/src/",
        "/library/std/src/",
        "/lib/rustlib/src/",
    ];
    let file_unix;
    let file = if file.contains('\\') {
        file_unix = file.replace('\\', "/");
        file_unix.as_str()
    } else {
        file
    };
    file.starts_with("/rustc/")
        || STD.iter().any(|p| file.contains(p))
        || ([
            "/lock_api-0.4.",
            "/lock_api-0.4/",
            "/lock_api-0.5.",
            "/lock_api-0.5/",
        ]
        .iter()
        .any(|p| file.contains(p))
            && file.contains("/src/"))
}

/// What a class stands for: the kernel's rule (one construction site, name or key), or a
/// refinement for locks built where the site says nothing about which lock it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClassOrigin {
    /// Every lock built at one site of the user's code (with its name and data type), every
    /// lock sharing a [`ClassKey`], or one class name of a trace.
    Site,
    /// Locks built at one site that is not the user's code, of one data type, whose first
    /// acquisition was at one site.
    FirstLock {
        /// Why the construction site alone would conflate unrelated locks.
        why: NotUserCode,
        /// The type of the protected data (`std::any::type_name`), if the lock has data.
        type_name: Option<&'static str>,
        /// Where the first lock of the class was first acquired.
        first_locked: Site,
    },
    /// One lock, built outside the user's code and first acquired with no site (or inside std):
    /// its class is its own.
    Instance {
        /// Why the construction site alone would conflate unrelated locks.
        why: NotUserCode,
        /// The type of the protected data, if known.
        type_name: Option<&'static str>,
        /// The lock's number in this process.
        serial: u64,
    },
}

impl ClassOrigin {
    /// Whether the class was refined because its construction site is not the user's code.
    pub fn is_refined(&self) -> bool {
        !matches!(self, ClassOrigin::Site)
    }
}

/// `type_name` without module paths or spaces (class names print inside a report's
/// parentheses, which log parsers read as one word): `alloc::vec::Vec<alloc::string::String>` is
/// `Vec<String>`, `(u8, u16)` is `(u8,u16)`, `dyn Fn()` is `dyn_Fn()`.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' || c == '{' || c == '}' {
            // Braces only come in the compiler's own path segments (`{{closure}}`), which a
            // path drops like any module (`tests::t::{{closure}}::Handler` is `Handler`).
            segment.push(c);
        } else if c == ' ' {
            out.push_str(&segment);
            segment.clear();
            if !out.ends_with(',') {
                out.push('_'); // `dyn Fn() + Send` stays readable as one word
            }
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
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
    /// What the class stands for (a construction site, or a refinement of one that is not the
    /// user's code).
    pub origin: ClassOrigin,
    /// The printed name: `base#version/subclass`, the way the kernel prints it.
    pub display_name: Arc<str>,
    /// The protected data's type, for a class named by its construction site alone whose key
    /// includes that type (one line in generic code builds a class per type; the name's `#N`
    /// tells them apart in one process only, so graph files carry the type).
    pub data_type: Option<&'static str>,
}

/// Maps class keys to dense [`ClassId`]s and keeps per-class data.
#[derive(Default)]
pub(crate) struct ClassRegistry {
    by_key: HashMap<(KeySource, u32), ClassId>,
    classes: Vec<ClassInfo>,
    // Base name -> the version (`#N`) of each distinct key that carries it. A map, not a
    // list: 100k classes of one name register in linear time, not quadratic.
    versions: HashMap<Arc<str>, HashMap<KeySource, u32>>,
    // Per class: held for writing (or waited for as a writer) in a validated chain. A cycle
    // through a class never written cannot close: its readers never wait.
    written: Vec<AtomicBool>,
}

/// A class was requested but the configured class limit is reached.
pub(crate) struct ClassLimitReached;

impl ClassRegistry {
    pub(crate) fn lookup(&self, key: &KeySource, subclass: u32) -> Option<ClassId> {
        self.by_key.get(&(key.clone(), subclass)).copied()
    }

    /// Finds or creates the class of `key` and `subclass`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register(
        &mut self,
        key: &KeySource,
        subclass: u32,
        base_name: &dyn Fn() -> Arc<str>,
        kind: LockKind,
        init_site: Site,
        origin: ClassOrigin,
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
        let next = keys.len() as u32 + 1;
        let version = *keys.entry(key.clone()).or_insert(next);
        let display_name = display_name(&base, version, subclass);
        let id = ClassId(self.classes.len() as u32);
        self.classes.push(ClassInfo {
            base_name: base,
            name_version: version,
            subclass,
            kind,
            init_site,
            origin,
            display_name,
            data_type: match key {
                KeySource::Site { name: None, ty, .. } => *ty,
                _ => None,
            },
        });
        self.by_key.insert((key.clone(), subclass), id);
        self.written.push(AtomicBool::new(false));
        Ok(id)
    }

    /// Notes that a lock of class `id` was held for writing, or waited for as a writer.
    pub(crate) fn mark_written(&self, id: ClassId) {
        if let Some(w) = self.written.get(id.index()) {
            w.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a lock of class `id` was ever held for writing in a validated chain, under any
    /// subclass of its key (a `write_nested` blocks the plain readers of the same lock). A scan:
    /// asked only for reports.
    pub(crate) fn written(&self, id: ClassId) -> bool {
        let c = self.get(id);
        self.classes.iter().zip(&self.written).any(|(o, w)| {
            w.load(Ordering::Relaxed)
                && o.name_version == c.name_version
                && o.base_name == c.base_name
        })
    }

    pub(crate) fn get(&self, id: ClassId) -> &ClassInfo {
        &self.classes[id.index()]
    }

    pub(crate) fn len(&self) -> usize {
        self.classes.len()
    }

    /// The class printed as `name` (reports name the classes of a chain only).
    pub(crate) fn find_display(&self, name: &str) -> Option<ClassId> {
        let i = self.classes.iter().position(|c| &*c.display_name == name)?;
        Some(ClassId(i as u32))
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
    format!("{}:{line}:{column}", class_file(file)).into()
}

/// A site as a class name shows it: its file as [`class_file`] shortens it.
pub(crate) fn site_class_name(site: &Site) -> String {
    match site {
        Site::Code(l) => site_name(l.file(), l.line(), l.column()).to_string(),
        other => other.to_string(),
    }
}

/// A source file as class names show it: a dependency's from its crate's directory
/// ([`dependency_path`]), so a class built in one reads `quick_cache-0.7.0/src/shard.rs:40:25`
/// rather than cargo's whole registry path (reports print the full site beside it where it is
/// the construction site); any other file as it is.
pub(crate) fn class_file(file: &str) -> &str {
    dependency_path(file).unwrap_or(file)
}

/// A dependency's source file as a path from the directory cargo unpacked it into:
/// `name-version/…` under its registry (`…/registry/src/<index>/name-version/…`),
/// `repository-hash/rev/…` under its git checkouts; `None` for any other file.
pub(crate) fn dependency_path(file: &str) -> Option<&str> {
    let after = |marker: &str| {
        let unix = file.find(marker).map(|i| i + marker.len());
        unix.or_else(|| {
            let windows = marker.replace('/', "\\");
            file.find(&windows).map(|i| i + windows.len())
        })
    };
    if let Some(start) = after("/registry/src/") {
        // Past the index's directory.
        let rest = &file[start..];
        let cut = rest.find(['/', '\\'])?;
        return Some(&rest[cut + 1..]).filter(|p| !p.is_empty());
    }
    after("/git/checkouts/")
        .map(|start| &file[start..])
        .filter(|p| !p.is_empty())
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
            .register(
                &name("a"),
                0,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        let a2 = r
            .register(
                &name("a"),
                0,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        let a1 = r
            .register(
                &name("a"),
                1,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        assert_eq!(a, a2);
        assert_ne!(a, a1);
        assert_eq!(&*r.get(a1).display_name, "a/1");
    }

    #[test]
    fn many_classes_of_one_name_get_one_version_each() {
        let mut r = ClassRegistry::default();
        let n = || Arc::from("same");
        for line in 1..=20_000u32 {
            let key = KeySource::Site {
                file: "f.rs",
                line,
                column: 1,
                name: Some("same"),
                ty: None,
            };
            let id = r
                .register(
                    &key,
                    0,
                    &n,
                    LockKind::Mutex,
                    Site::Unknown,
                    ClassOrigin::Site,
                    1 << 20,
                )
                .ok()
                .unwrap();
            assert_eq!(r.get(id).name_version, line);
            // Registering again finds the class, whatever its version.
            let again = r.register(
                &key,
                1,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                1 << 20,
            );
            assert_eq!(again.ok().map(|i| r.get(i).name_version), Some(line));
        }
    }

    #[test]
    fn equal_names_get_versions() {
        let mut r = ClassRegistry::default();
        let s = |line| KeySource::Site {
            file: "f.rs",
            line,
            column: 1,
            name: Some("&s->seqcount"),
            ty: None,
        };
        let n = || Arc::from("&s->seqcount");
        let a = r
            .register(
                &s(1),
                0,
                &n,
                LockKind::SeqCount,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        let b = r
            .register(
                &s(2),
                0,
                &n,
                LockKind::SeqCount,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        let b1 = r
            .register(
                &s(2),
                1,
                &n,
                LockKind::SeqCount,
                Site::Unknown,
                ClassOrigin::Site,
                10,
            )
            .ok()
            .unwrap();
        assert_eq!(&*r.get(a).display_name, "&s->seqcount");
        assert_eq!(&*r.get(b).display_name, "&s->seqcount#2");
        assert_eq!(&*r.get(b1).display_name, "&s->seqcount#2/1");
    }

    #[test]
    fn sysroot_files_are_std_core_and_alloc() {
        let std =
            "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs";
        assert!(sysroot_file(std));
        let src = "/home/u/.rustup/toolchains/x/lib/rustlib/src/rust/library/alloc/src/sync.rs";
        assert!(sysroot_file(src));
        let dep = "/home/u/.cargo/registry/src/index.crates.io-1/quick_cache-0.7.0/src/shard.rs";
        assert!(!sysroot_file(dep));
        let lock_api = "/h/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lock_api-0.4.14/src/remutex.rs";
        assert!(sysroot_file(lock_api));
        let lock_api_05 =
            "/h/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lock_api-0.5.0/src/mutex.rs";
        assert!(sysroot_file(lock_api_05));
        assert!(sysroot_file(
            "/work/lockcheck/compat/lock_api-0.5/src/mutex.rs"
        ));
        assert!(!sysroot_file(
            "/h/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lock_api_ext-0.5.0/src/a.rs"
        ));
        assert!(!sysroot_file("src/main.rs"));
        assert!(!sysroot_file("/work/app/src/library.rs"));
    }

    #[test]
    fn dependency_files_read_from_their_crate() {
        let reg = "/h/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/quick_cache-0.7.0/src/shard.rs";
        assert_eq!(dependency_path(reg), Some("quick_cache-0.7.0/src/shard.rs"));
        assert_eq!(
            site_name(reg, 40, 25).as_ref(),
            "quick_cache-0.7.0/src/shard.rs:40:25"
        );
        let git = "/h/.cargo/git/checkouts/tokio-0b3e2a/5f1c2d4/tokio/src/sync/mutex.rs";
        assert_eq!(
            dependency_path(git),
            Some("tokio-0b3e2a/5f1c2d4/tokio/src/sync/mutex.rs")
        );
        let windows = r"C:\Users\u\.cargo\registry\src\index.crates.io-1\dep-1.0.0\src\lib.rs";
        assert_eq!(dependency_path(windows), Some(r"dep-1.0.0\src\lib.rs"));
        // The user's files, std's and odd paths stay whole.
        for file in [
            "src/main.rs",
            "/work/app/src/registry/src/lib.rs",
            "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops/function.rs",
            "/h/.cargo/registry/src/index-only",
        ] {
            assert_eq!(class_file(file), file, "{file}");
        }
        assert_eq!(site_name("src/main.rs", 3, 9).as_ref(), "src/main.rs:3:9");
    }

    #[test]
    fn short_type_names_drop_module_paths() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(
            short_type_name("(u64, std::collections::hash::map::HashMap<u8, ()>)"),
            "(u64,HashMap<u8,()>)"
        );
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::ops::function::Fn() + Send>"),
            "Box<dyn_Fn()_+_Send>"
        );
        // A type defined inside a function's closure (a test's): its path, closure included,
        // goes; a closure's own type keeps its last segment.
        assert_eq!(
            short_type_name("r2d2::test::events::{{closure}}::Handler"),
            "Handler"
        );
        assert_eq!(
            short_type_name("core::option::Option<app::run::{{closure}}::State>"),
            "Option<State>"
        );
        assert_eq!(short_type_name("app::main::{{closure}}"), "{{closure}}");
    }

    #[test]
    fn class_limit_is_enforced() {
        let mut r = ClassRegistry::default();
        let n = || Arc::from("x");
        assert!(
            r.register(
                &name("a"),
                0,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                1
            )
            .is_ok()
        );
        assert!(
            r.register(
                &name("b"),
                0,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                1
            )
            .is_err()
        );
        assert!(
            r.register(
                &name("a"),
                0,
                &n,
                LockKind::Mutex,
                Site::Unknown,
                ClassOrigin::Site,
                1
            )
            .is_ok()
        );
    }
}
