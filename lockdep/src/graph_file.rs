//! Dependency graph files: what one process learnt, in a few kilobytes (`docs/graph-format.md`
//! is the contract).
//!
//! A graph file holds the classes a process registered and each class dependency once, with its
//! types and where it was first seen — not every lock event, as a trace does. `lockcheck check`
//! merges the files of a whole test suite (every process: each nextest test, each test binary,
//! each CI shard) and re-checks the merged graph for cycles.
//!
//! The process-wide validator writes one when `LOCKDEP_GRAPH` is set (a file, a directory, or a
//! pattern with `%p`), at exit and whenever a thread panics; [`Validator::write_graph_to`] does
//! the same for any validator. Every write goes to a temporary file in the same directory that is
//! then renamed over the target, so a process that dies leaves the previous whole file or none.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex as RawMutex;

use crate::class::{ClassId, LockKind, Site};
use crate::graph::DepTypes;
use crate::held::Mode;
use crate::trace::json_str;
use crate::validator::{Inner, Validator};

/// The `format` value of the header line.
pub const FORMAT: &str = "lockdep-graph";
/// The format version this library writes and the newest its reader accepts.
pub const VERSION: u32 = 1;
/// The name ending of graph files written into a directory.
pub const GRAPH_SUFFIX: &str = ".lockdep-graph.jsonl";
/// The name ending of traces written into a directory (`LOCKDEP_TRACE=dir/`).
pub const TRACE_SUFFIX: &str = ".lockdep-trace.jsonl";

/// The process a graph file came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The library that wrote it (`lockdep 0.1.0`).
    pub writer: String,
    /// Process id.
    pub pid: u32,
    /// The executable's file name (`suite_a-1f2e3d4c5b6a7988` for a cargo test binary).
    pub exe: String,
    /// The one test the process ran, when known (nextest runs one test per process and says
    /// which in `NEXTEST_TEST_NAME`).
    pub test: Option<String>,
    /// nextest's id of the test binary (`NEXTEST_BINARY_ID`), when run by nextest.
    pub binary_id: Option<String>,
}

/// One class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphClass {
    /// The name as traces carry it (`base` or `base#N`); classes of several files with one name
    /// (and subclass) are one class.
    pub name: String,
    /// Nesting subclass (0: none).
    pub subclass: u32,
    /// The primitive kind.
    pub kind: LockKind,
    /// Where its first lock was built.
    pub at: Option<String>,
    /// The protected data's type (`std::any::type_name`) of a class named by its site alone
    /// whose key includes it: one line in generic code builds a class per type, which the
    /// name's `#N` tells apart within one process only.
    pub data_type: Option<String>,
}

impl GraphClass {
    /// The printed name: [`merge_name`](Self::merge_name), `/subclass` when nested, as reports
    /// print it.
    pub fn display_name(&self) -> String {
        let name = self.merge_name();
        if self.subclass == 0 {
            name
        } else {
            format!("{name}/{}", self.subclass)
        }
    }

    /// The name classes of several files merge by: the name, or, for a class with a
    /// [`data_type`](Self::data_type), the name with the full type (`mutex<app::net::State>@site`;
    /// `site<full::Type>` for an older file's bare site), without its `#N`, which only one
    /// process numbered.
    pub fn merge_name(&self) -> String {
        match &self.data_type {
            Some(ty) => {
                let base = match self.name.rsplit_once('#') {
                    Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
                    _ => &self.name,
                };
                // The full type: short names collide (`net::State`, `disk::State`). A name
                // that shows the short type already (`mutex<State>@src/lib.rs:10:19`) gets the
                // full one in its place; an older file's bare site gets it after.
                match base.rsplit_once('@') {
                    Some((head, site)) => {
                        let kind = head.split('<').next().unwrap_or(head);
                        format!("{kind}<{ty}>@{site}")
                    }
                    None => format!("{base}<{ty}>"),
                }
            }
            None => self.name.clone(),
        }
    }
}

/// One dependency: `to` was acquired while `from` was held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphDep {
    /// Index of the held class in [`GraphFile::classes`].
    pub from: usize,
    /// Index of the acquired class.
    pub to: usize,
    /// Every type seen (`EN`, `ER`, `SN`, `SR`).
    pub types: DepTypes,
    /// How the held lock was held when first seen.
    pub from_mode: Mode,
    /// How the later lock was acquired when first seen.
    pub to_mode: Mode,
    /// Where the held lock was acquired.
    pub from_at: Option<String>,
    /// Where the later lock was acquired.
    pub to_at: Option<String>,
    /// The thread that first took the two locks.
    pub thread: String,
    /// The test it ran for, when known.
    pub test: Option<String>,
    /// The dependency closed a cycle the process reported: it was never added to the process's
    /// graph (a re-check finds the cycle again).
    pub closes_cycle: bool,
    /// For a dependency that closed a cycle: what the thread held then, bottom first (the
    /// chain that was validated; `from` is among them). Empty for the others.
    pub held: Vec<HeldEntry>,
    /// 1-based line in the file it was read from (0 when not read from a file).
    pub line: usize,
}

/// One lock a thread held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldEntry {
    /// Index of its class in [`GraphFile::classes`].
    pub class: usize,
    /// How it was held.
    pub mode: Mode,
    /// Taken by a successful trylock.
    pub trylock: bool,
    /// Where it was acquired.
    pub at: Option<String>,
}

/// A whole graph file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphFile {
    /// Who wrote it.
    pub process: ProcessInfo,
    /// The classes; dependencies refer to them by index.
    pub classes: Vec<GraphClass>,
    /// Each dependency once.
    pub deps: Vec<GraphDep>,
}

/// Why a graph file cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphFileError {
    /// 1-based line (0: the file as a whole).
    pub line: usize,
    /// The offending field (`""`: the line or file as a whole).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for GraphFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for GraphFileError {}

fn site_text(s: &Site) -> Option<String> {
    (!matches!(s, Site::Unknown)).then(|| s.to_string())
}

impl ProcessInfo {
    /// This process, as the environment describes it.
    pub fn current() -> Self {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let var = |name| std::env::var(name).ok().filter(|s| !s.is_empty());
        ProcessInfo {
            writer: format!("lockdep {}", env!("CARGO_PKG_VERSION")),
            pid: std::process::id(),
            exe,
            test: var("NEXTEST_TEST_NAME"),
            binary_id: var("NEXTEST_BINARY_ID"),
        }
    }
}

/// Whether `name` is one lockdep numbered, not a test's: a thread spawned without a name
/// (`thread-N`) or an async task (`task-N`, `tracked-N`).
/// Whether a thread's name can be a test's (its function's path: `tests::nested_order`): a
/// worker the test started (`tokio-rt-worker`, `rayon-pool-1`) names no test.
fn is_test_path(name: &str) -> bool {
    name.split("::").all(|part| {
        // Raw identifiers (`r#match`) and Unicode ones (`größe`) are test names too.
        let part = part.strip_prefix("r#").unwrap_or(part);
        part.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    })
}

fn is_numbered_runner(name: &str) -> bool {
    ["thread-", "task-", "tracked-"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether this executable is a test harness cargo built (`target/*/deps/NAME-HASH`): libtest
/// runs each test on a thread named after the test, so a thread's name is its test's.
fn is_cargo_test_binary() -> bool {
    let Ok(exe) = std::env::current_exe() else {
        return false;
    };
    let in_deps = exe
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "deps");
    let stem = exe.file_stem().map(|s| s.to_string_lossy().into_owned());
    let hashed = stem
        .as_deref()
        .and_then(|s| s.rsplit_once('-'))
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    in_deps && hashed
}

impl GraphFile {
    /// What `validator` knows, described as this process.
    pub fn of(validator: &Validator) -> Self {
        Self::of_process(validator, ProcessInfo::current(), is_cargo_test_binary())
    }

    /// What `validator` knows, described as `process`. With `libtest`, a thread name other than
    /// `main` is taken as the test's name.
    pub fn of_process(validator: &Validator, process: ProcessInfo, libtest: bool) -> Self {
        let n = validator.class_count();
        let classes: Vec<GraphClass> = (0..n)
            .map(|i| {
                let info = validator.class_info(ClassId(i as u32));
                match info {
                    Some(info) => GraphClass {
                        name: if info.name_version > 1 {
                            format!("{}#{}", info.base_name, info.name_version)
                        } else {
                            info.base_name.to_string()
                        },
                        subclass: info.subclass,
                        kind: info.kind,
                        at: site_text(&info.init_site),
                        data_type: info.data_type.map(str::to_string),
                    },
                    None => GraphClass {
                        name: format!("class#{i}"),
                        subclass: 0,
                        kind: LockKind::Mutex,
                        at: None,
                        data_type: None,
                    },
                }
            })
            .collect();
        let test_of = |thread: &str| -> Option<String> {
            if thread.is_empty() {
                return None;
            }
            if let Some(t) = &process.test {
                return Some(t.clone());
            }
            (libtest
                && is_test_path(thread)
                && !is_numbered_runner(thread)
                && !matches!(thread, "main" | "unnamed"))
            .then(|| thread.to_string())
        };
        let mut deps = Vec::new();
        // In the order the process saw them: each type of a dependency where it was added (the
        // first with the first-seen witness), each dependency that closed a cycle after what
        // was added before it, so a re-check meets the graph the process met.
        let witnesses: std::collections::HashMap<(ClassId, ClassId), Arc<crate::Witness>> =
            validator
                .dependencies()
                .into_iter()
                .map(|(a, b, _, w)| ((a, b), w))
                .collect();
        let mut closing = validator.closing_dependencies().into_iter().peekable();
        type Entry = (
            ClassId,
            ClassId,
            DepTypes,
            Arc<crate::Witness>,
            Option<Vec<crate::Acquire>>,
        );
        let closed = |c: crate::validator::ClosingDependency| -> Entry {
            (c.from, c.to, c.types, c.witness, Some(c.held))
        };
        let mut all: Vec<Entry> = Vec::new();
        let mut first = std::collections::HashSet::new();
        for (i, (a, b, bit)) in validator.dependency_history().into_iter().enumerate() {
            while let Some(c) = closing.next_if(|c| c.before <= i) {
                all.push(closed(c));
            }
            let Some(w) = witnesses.get(&(a, b)) else {
                continue;
            };
            let w = if first.insert((a, b)) {
                w.clone()
            } else {
                // A type added later: its modes, no witness of its own.
                let (from_mode, to_mode) = modes_of(bit.0);
                Arc::new(crate::Witness {
                    thread: "".into(),
                    from_site: Site::Unknown,
                    to_site: Site::Unknown,
                    from_mode,
                    to_mode,
                    backtrace: None,
                    held_under: Arc::new([]),
                })
            };
            all.push((a, b, bit, w, None));
        }
        all.extend(closing.map(closed));
        for (from, to, types, w, held) in all {
            if from.index() >= n || to.index() >= n {
                continue;
            }
            let closes_cycle = held.is_some();
            let held = held
                .unwrap_or_default()
                .iter()
                .filter(|h| h.class.index() < n)
                .map(|h| HeldEntry {
                    class: h.class.index(),
                    mode: h.mode,
                    trylock: h.trylock,
                    at: site_text(&h.site),
                })
                .collect::<Vec<_>>();
            deps.push(GraphDep {
                from: from.index(),
                to: to.index(),
                types,
                from_mode: w.from_mode,
                to_mode: w.to_mode,
                from_at: site_text(&w.from_site),
                to_at: site_text(&w.to_site),
                thread: w.thread.to_string(),
                test: test_of(&w.thread),
                closes_cycle,
                held,
                line: 0,
            });
        }
        GraphFile {
            process,
            classes,
            deps,
        }
    }

    /// The file's text (JSON Lines: header, classes, dependencies, end record).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(128 + 96 * self.classes.len() + 192 * self.deps.len());
        let p = &self.process;
        let _ = write!(
            out,
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"writer\":"
        );
        json_str(&mut out, &p.writer);
        let _ = write!(out, ",\"pid\":{},\"exe\":", p.pid);
        json_str(&mut out, &p.exe);
        if let Some(t) = &p.test {
            out.push_str(",\"test\":");
            json_str(&mut out, t);
        }
        if let Some(b) = &p.binary_id {
            out.push_str(",\"binary_id\":");
            json_str(&mut out, b);
        }
        let _ = writeln!(
            out,
            ",\"classes\":{},\"dependencies\":{}}}",
            self.classes.len(),
            self.deps.len()
        );
        for (i, c) in self.classes.iter().enumerate() {
            let _ = write!(out, "{{\"class\":{i},\"name\":");
            json_str(&mut out, &c.name);
            if c.subclass != 0 {
                let _ = write!(out, ",\"subclass\":{}", c.subclass);
            }
            let _ = write!(out, ",\"kind\":\"{}\"", c.kind.as_str());
            if let Some(a) = &c.at {
                out.push_str(",\"at\":");
                json_str(&mut out, a);
            }
            if let Some(t) = &c.data_type {
                out.push_str(",\"type\":");
                json_str(&mut out, t);
            }
            out.push_str("}\n");
        }
        for d in &self.deps {
            let _ = write!(
                out,
                "{{\"dep\":[{},{}],\"types\":\"{}\"",
                d.from,
                d.to,
                d.types.labels()
            );
            // Modes are written when not `write` (the default).
            if d.from_mode != Mode::Write {
                let _ = write!(out, ",\"from_mode\":\"{}\"", d.from_mode.as_str());
            }
            if d.to_mode != Mode::Write {
                let _ = write!(out, ",\"to_mode\":\"{}\"", d.to_mode.as_str());
            }
            if let Some(a) = &d.from_at {
                out.push_str(",\"from_at\":");
                json_str(&mut out, a);
            }
            if let Some(a) = &d.to_at {
                out.push_str(",\"to_at\":");
                json_str(&mut out, a);
            }
            if !d.thread.is_empty() {
                out.push_str(",\"thread\":");
                json_str(&mut out, &d.thread);
            }
            if let Some(t) = &d.test {
                out.push_str(",\"test\":");
                json_str(&mut out, t);
            }
            if d.closes_cycle {
                out.push_str(",\"closes_cycle\":true");
            }
            if !d.held.is_empty() {
                out.push_str(",\"held\":[");
                for (i, h) in d.held.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(
                        out,
                        "{{\"class\":{},\"mode\":\"{}\"",
                        h.class,
                        h.mode.as_str()
                    );
                    if h.trylock {
                        out.push_str(",\"try\":true");
                    }
                    if let Some(a) = &h.at {
                        out.push_str(",\"at\":");
                        json_str(&mut out, a);
                    }
                    out.push('}');
                }
                out.push(']');
            }
            out.push_str("}\n");
        }
        let _ = writeln!(
            out,
            "{{\"end\":\"{FORMAT}\",\"classes\":{},\"dependencies\":{}}}",
            self.classes.len(),
            self.deps.len()
        );
        out
    }

    /// Writes the file at `path` atomically: a temporary file in the same directory, renamed
    /// over `path` once complete.
    pub fn write_atomic(&self, path: &Path) -> io::Result<()> {
        write_atomic(path, self.to_text().as_bytes())
    }
}

/// Writes `bytes` to a hidden temporary file next to `path`, then renames it to `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "graph".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ----- reading -----

#[cfg(feature = "trace-reader")]
impl GraphFile {
    /// Parses a graph file. Refuses a file of another format, a newer version, a malformed
    /// record, and a file without its end record or with counts that disagree (a torn or
    /// truncated write); lines that are neither class, dependency nor end records are skipped
    /// (later writers of this version may add record types).
    ///
    /// ```
    /// use lockdep::graph_file::GraphFile;
    ///
    /// let text = r#"{"format":"lockdep-graph","version":1,"writer":"x","pid":1,"exe":"t","classes":2,"dependencies":1}
    /// {"class":0,"name":"A","kind":"mutex"}
    /// {"class":1,"name":"B","kind":"mutex"}
    /// {"dep":[0,1],"types":"EN","from_mode":"write","to_mode":"write","thread":"t"}
    /// {"end":"lockdep-graph","classes":2,"dependencies":1}
    /// "#;
    /// let g = GraphFile::parse(text).unwrap();
    /// assert_eq!(g.deps.len(), 1);
    /// let torn = &text[..text.len() - 60];
    /// assert!(GraphFile::parse(torn).unwrap_err().to_string().contains("incomplete"));
    /// ```
    pub fn parse(text: &str) -> Result<GraphFile, GraphFileError> {
        use serde_json::{Map, Value};
        let err = |line: usize, field: &'static str, message: String| GraphFileError {
            line,
            field,
            message,
        };
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        let Some((hline, header)) = lines.next() else {
            return Err(err(0, "", "empty file (not a lockdep graph file)".into()));
        };
        // The last line, when the file does not end with a newline: a write cut short.
        let cut_line = (!text.ends_with('\n')).then(|| text.split('\n').count());
        let object = |line: usize, text: &str| -> Result<Map<String, Value>, GraphFileError> {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) => Ok(o),
                Ok(_) => Err(err(line, "", "not a JSON object".into())),
                Err(_) if cut_line == Some(line) => Err(err(
                    line,
                    "",
                    "incomplete file: the last line is cut off (a torn or truncated write)".into(),
                )),
                Err(e) => Err(err(line, "", format!("not valid JSON: {e}"))),
            }
        };
        let h = object(hline, header)?;
        match h.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(other) => {
                return Err(err(
                    hline,
                    "format",
                    format!("expected \"{FORMAT}\", got {other} (not a lockdep graph file)"),
                ));
            }
            None => {
                return Err(err(
                    hline,
                    "format",
                    "missing (not a lockdep graph file)".into(),
                ));
            }
        }
        let version = h
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| err(hline, "version", "missing or not a positive integer".into()))?;
        if version == 0 || version > u64::from(VERSION) {
            return Err(err(
                hline,
                "version",
                format!(
                    "graph format version {version} is not supported: this reader ({} {}) reads versions 1 to {VERSION}; upgrade lockcheck to read it",
                    env!("CARGO_PKG_NAME"),
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let opt_str = |o: &Map<String, Value>, line: usize, field: &'static str| match o.get(field)
        {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(err(line, field, format!("expected a string, got {other}"))),
        };
        let count = |o: &Map<String, Value>, line: usize, field: &'static str| {
            o.get(field)
                .and_then(Value::as_u64)
                .ok_or_else(|| err(line, field, "missing or not a non-negative integer".into()))
        };
        let process = ProcessInfo {
            writer: opt_str(&h, hline, "writer")?.unwrap_or_default(),
            pid: h
                .get("pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            exe: opt_str(&h, hline, "exe")?.unwrap_or_default(),
            test: opt_str(&h, hline, "test")?,
            binary_id: opt_str(&h, hline, "binary_id")?,
        };
        let want_classes = count(&h, hline, "classes")?;
        let want_deps = count(&h, hline, "dependencies")?;
        let mut file = GraphFile {
            process,
            classes: Vec::new(),
            deps: Vec::new(),
        };
        let mut ended = false;
        for (line, text) in lines {
            if ended {
                return Err(err(line, "", "a record after the end record".into()));
            }
            let o = object(line, text)?;
            if let Some(id) = o.get("class") {
                if id.as_u64() != Some(file.classes.len() as u64) {
                    return Err(err(
                        line,
                        "class",
                        format!(
                            "expected class number {} (classes are numbered in order), got {id}",
                            file.classes.len()
                        ),
                    ));
                }
                let name = opt_str(&o, line, "name")?
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| err(line, "name", "missing".into()))?;
                let kind = match opt_str(&o, line, "kind")? {
                    None => LockKind::Mutex,
                    Some(k) => crate::trace::parse_kind(&k)
                        .ok_or_else(|| err(line, "kind", format!("unknown kind {k:?}")))?,
                };
                let subclass = match o.get("subclass") {
                    None | Some(Value::Null) => 0,
                    Some(v) => v
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            err(
                                line,
                                "subclass",
                                format!("expected a small integer, got {v}"),
                            )
                        })?,
                };
                file.classes.push(GraphClass {
                    name,
                    subclass,
                    kind,
                    at: opt_str(&o, line, "at")?,
                    data_type: opt_str(&o, line, "type")?,
                });
            } else if let Some(pair) = o.get("dep") {
                let ends: Option<Vec<usize>> = pair.as_array().and_then(|a| {
                    (a.len() == 2)
                        .then(|| {
                            a.iter()
                                .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
                                .collect()
                        })
                        .flatten()
                });
                let Some(ends) = ends else {
                    return Err(err(
                        line,
                        "dep",
                        format!("expected [from, to] class numbers, got {pair}"),
                    ));
                };
                for &c in &ends {
                    if c >= file.classes.len() {
                        return Err(err(
                            line,
                            "dep",
                            format!("class number {c} is not defined above"),
                        ));
                    }
                }
                let types = opt_str(&o, line, "types")?
                    .ok_or_else(|| err(line, "types", "missing".into()))
                    .and_then(|t| {
                        parse_types(&t).ok_or_else(|| {
                            err(
                                line,
                                "types",
                                format!("expected EN, ER, SN, SR joined by '|', got {t:?}"),
                            )
                        })
                    })?;
                let mode = |field: &'static str| -> Result<Mode, GraphFileError> {
                    match opt_str(&o, line, field)? {
                        None => Ok(Mode::Write),
                        Some(m) => crate::trace::parse_mode(&m)
                            .ok_or_else(|| err(line, field, format!("unknown mode {m:?}"))),
                    }
                };
                let closes_cycle = match o.get("closes_cycle") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(err(
                            line,
                            "closes_cycle",
                            format!("expected true or false, got {other}"),
                        ));
                    }
                };
                let held = match o.get("held") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => {
                        let mut held = Vec::with_capacity(a.len());
                        for h in a {
                            held.push(
                                parse_held(h, file.classes.len())
                                    .map_err(|m| err(line, "held", m))?,
                            );
                        }
                        held
                    }
                    Some(other) => {
                        return Err(err(line, "held", format!("expected an array, got {other}")));
                    }
                };
                file.deps.push(GraphDep {
                    held,
                    from: ends[0],
                    to: ends[1],
                    types,
                    from_mode: mode("from_mode")?,
                    to_mode: mode("to_mode")?,
                    from_at: opt_str(&o, line, "from_at")?,
                    to_at: opt_str(&o, line, "to_at")?,
                    thread: opt_str(&o, line, "thread")?.unwrap_or_default(),
                    test: opt_str(&o, line, "test")?,
                    closes_cycle,
                    line,
                });
            } else if o.contains_key("end") {
                let (c, d) = (
                    count(&o, line, "classes")?,
                    count(&o, line, "dependencies")?,
                );
                if c != file.classes.len() as u64 || d != file.deps.len() as u64 {
                    return Err(err(
                        line,
                        "end",
                        format!(
                            "the end record counts {c} classes and {d} dependencies, the file has {} and {}",
                            file.classes.len(),
                            file.deps.len()
                        ),
                    ));
                }
                ended = true;
            }
        }
        if !ended {
            return Err(err(
                0,
                "",
                format!(
                    "incomplete file: no end record after {} of {want_classes} classes and {} of {want_deps} dependencies (a torn or truncated write)",
                    file.classes.len(),
                    file.deps.len()
                ),
            ));
        }
        if want_classes != file.classes.len() as u64 || want_deps != file.deps.len() as u64 {
            return Err(err(
                hline,
                "classes",
                format!(
                    "the header counts {want_classes} classes and {want_deps} dependencies, the file has {} and {}",
                    file.classes.len(),
                    file.deps.len()
                ),
            ));
        }
        Ok(file)
    }
}

/// Parses one `held` entry (`{"class":N,"mode":"write","try":true,"at":"..."}`).
#[cfg(feature = "trace-reader")]
fn parse_held(v: &serde_json::Value, classes: usize) -> Result<HeldEntry, String> {
    use serde_json::Value;
    let Value::Object(o) = v else {
        return Err(format!("expected objects, got {v}"));
    };
    let class = o
        .get("class")
        .and_then(Value::as_u64)
        .and_then(|c| usize::try_from(c).ok())
        .filter(|&c| c < classes)
        .ok_or_else(|| format!("`class` must be a class number defined above, got {v}"))?;
    let mode = match o.get("mode") {
        None | Some(Value::Null) => Mode::Write,
        Some(Value::String(m)) => {
            crate::trace::parse_mode(m).ok_or_else(|| format!("unknown mode {m:?}"))?
        }
        Some(other) => return Err(format!("`mode` must be a string, got {other}")),
    };
    let trylock = match o.get("try") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`try` must be true or false, got {other}")),
    };
    let at = match o.get("at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("`at` must be a string, got {other}")),
    };
    Ok(HeldEntry {
        class,
        mode,
        trylock,
        at,
    })
}

/// Parses `EN|SR`-style dependency types.
pub fn parse_types(s: &str) -> Option<DepTypes> {
    let mut bits = 0u8;
    for part in s.split('|') {
        bits |= match part.trim() {
            "EN" => DepTypes::EN,
            "ER" => DepTypes::ER,
            "SN" => DepTypes::SN,
            "SR" => DepTypes::SR,
            _ => return None,
        };
    }
    (bits != 0).then_some(DepTypes(bits))
}

/// The held and acquired modes that give dependency type `bit` (one of `DepTypes::EN`, ...).
pub fn modes_of(bit: u8) -> (Mode, Mode) {
    match bit {
        DepTypes::ER => (Mode::Write, Mode::ReadRecursive),
        DepTypes::SN => (Mode::Read, Mode::Write),
        DepTypes::SR => (Mode::Read, Mode::ReadRecursive),
        _ => (Mode::Write, Mode::Write),
    }
}

// ----- where files go -----

/// What an output path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    Graph,
    Trace,
}

/// Makes `s` safe as part of a file name (`a::b` → `a__b`), at most 80 characters.
fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// The file an output setting names for this process: a directory (ends with `/` or exists as
/// one) gets `EXE-PID[-TEST]` with the kind's suffix, not taken yet; `%p` is replaced by the
/// process id and `%t` by the test name (or the executable's name); anything else is the path.
pub(crate) fn resolve(spec: &Path, kind: Output) -> io::Result<PathBuf> {
    let text = spec.to_string_lossy();
    let info = ProcessInfo::current();
    let exe = file_part(info.exe.trim_end_matches(".exe"));
    if text.contains("%p") || text.contains("%t") {
        let test = info.test.as_deref().map_or_else(|| exe.clone(), file_part);
        let path = PathBuf::from(
            text.replace("%p", &info.pid.to_string())
                .replace("%t", &test),
        );
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        return Ok(path);
    }
    let is_dir = text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) || spec.is_dir();
    if !is_dir {
        return Ok(spec.to_path_buf());
    }
    std::fs::create_dir_all(spec)?;
    let suffix = match kind {
        Output::Graph => GRAPH_SUFFIX,
        Output::Trace => TRACE_SUFFIX,
    };
    let mut stem = format!(
        "{}-{}",
        if exe.is_empty() { "process" } else { &exe },
        info.pid
    );
    if let Some(t) = &info.test {
        stem.push('-');
        stem.push_str(&file_part(t));
    }
    // A process id can come back in a long run: never take another process's file.
    let mut path = spec.join(format!("{stem}{suffix}"));
    let mut n = 2;
    while path.exists() {
        path = spec.join(format!("{stem}-{n}{suffix}"));
        n += 1;
    }
    Ok(path)
}

// ----- the process's graph files -----

struct Registered {
    validator: Weak<Inner>,
    path: PathBuf,
}

static GRAPHS: RawMutex<Vec<Registered>> = RawMutex::new(Vec::new());

impl Validator {
    /// Leaves a dependency graph file (`docs/graph-format.md`) of this validator at `spec` — a
    /// file, a directory (one file per process, named by executable, pid and test) or a pattern
    /// with `%p` (process id) and `%t` (test) — written at process exit and whenever a thread
    /// panics, atomically. The process-wide validator does this by itself when `LOCKDEP_GRAPH`
    /// is set. Returns the file's path.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("lockdep-doc-graph-{}", std::process::id()));
    /// let v = lockdep::Validator::with_on_report(lockdep::Config::default(), lockdep::OnReport::Collect);
    /// let path = v.write_graph_to(format!("{}/", dir.display())).unwrap();
    /// v.scope(|| {
    ///     let (a, b) = (lockdep::Mutex::with_name("a", ()), lockdep::Mutex::with_name("b", ()));
    ///     let _a = a.lock();
    ///     let _b = b.lock();
    /// });
    /// v.write_graph().unwrap();
    /// let text = std::fs::read_to_string(&path).unwrap();
    /// assert!(text.starts_with("{\"format\":\"lockdep-graph\",\"version\":1"));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn write_graph_to(&self, spec: impl AsRef<Path>) -> io::Result<PathBuf> {
        let path = resolve(spec.as_ref(), Output::Graph)?;
        {
            let mut all = GRAPHS.lock();
            all.retain(|r| r.validator.strong_count() > 0 && !self.is(&r.validator));
            all.push(Registered {
                validator: Arc::downgrade(&self.inner),
                path: path.clone(),
            });
        }
        install_hooks();
        Ok(path)
    }

    /// Writes this validator's graph file now (see [`write_graph_to`](Self::write_graph_to));
    /// `Ok(None)` if it has none.
    pub fn write_graph(&self) -> io::Result<Option<PathBuf>> {
        let path = GRAPHS
            .lock()
            .iter()
            .find(|r| self.is(&r.validator))
            .map(|r| r.path.clone());
        match path {
            Some(p) => GraphFile::of(self).write_atomic(&p).map(|()| Some(p)),
            None => Ok(None),
        }
    }

    fn is(&self, w: &Weak<Inner>) -> bool {
        std::ptr::eq(w.as_ptr(), Arc::as_ptr(&self.inner))
    }
}

/// Writes every registered graph file (at exit, on panic). Waits a little for a writer already
/// at it, and gives up rather than deadlock (a panic inside a write).
fn write_all() {
    let Some(all) = GRAPHS.try_lock_for(Duration::from_secs(2)) else {
        return;
    };
    for r in all.iter() {
        if let Some(inner) = r.validator.upgrade() {
            let v = Validator { inner };
            if let Err(e) = GraphFile::of(&v).write_atomic(&r.path) {
                eprintln!(
                    "lockdep: cannot write the graph file {}: {e}",
                    r.path.display()
                );
            }
        }
    }
}

#[cfg(any(unix, windows))]
unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

#[cfg(any(unix, windows))]
extern "C" fn at_exit() {
    // Nothing may unwind into C.
    let _ = std::panic::catch_unwind(write_all);
}

fn install_hooks() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `at_exit` is a plain `extern "C" fn()` that never unwinds; registering it has
        // no other precondition.
        #[cfg(any(unix, windows))]
        unsafe {
            atexit(at_exit);
        }
        // Off this thread if it is unwinding (see `off_a_panicking_thread`); the exit hook above
        // is in place either way.
        crate::runtime::off_a_panicking_thread(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                write_all();
                previous(info);
            }));
        });
    });
}

/// `LOCKDEP_GRAPH` for the process-wide validator.
pub(crate) fn from_env(v: &Validator) {
    if cfg!(lockdep_off) {
        return;
    }
    if let Some(spec) = std::env::var_os("LOCKDEP_GRAPH").filter(|p| !p.is_empty())
        && let Err(e) = v.write_graph_to(&spec)
    {
        eprintln!(
            "lockdep: cannot write LOCKDEP_GRAPH={}: {e}",
            spec.to_string_lossy()
        );
    }
}

/// The file `LOCKDEP_TRACE` names for this process (a directory or a `%p` pattern gives one
/// file per process).
pub(crate) fn trace_path(spec: &std::ffi::OsStr) -> io::Result<PathBuf> {
    resolve(Path::new(spec), Output::Trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_names_carry_the_full_type() {
        let class = |name: &str, ty: Option<&str>| GraphClass {
            name: name.into(),
            subclass: 0,
            kind: LockKind::Mutex,
            at: None,
            data_type: ty.map(str::to_string),
        };
        let net = class("mutex<State>@src/lib.rs:10:19#2", Some("app::net::State"));
        assert_eq!(net.merge_name(), "mutex<app::net::State>@src/lib.rs:10:19");
        let old = class("src/lib.rs:10:19", Some("u8"));
        assert_eq!(old.merge_name(), "src/lib.rs:10:19<u8>");
        let refined = class("mutex<u8>@src/main.rs:4:5", None);
        assert_eq!(refined.merge_name(), "mutex<u8>@src/main.rs:4:5");
    }

    #[test]
    fn types_round_trip() {
        for bits in 1..16u8 {
            let t = DepTypes(bits);
            assert_eq!(parse_types(&t.labels()), Some(t));
        }
        assert_eq!(parse_types(""), None);
        assert_eq!(parse_types("EN|XX"), None);
        for bit in [DepTypes::EN, DepTypes::ER, DepTypes::SN, DepTypes::SR] {
            let (a, b) = modes_of(bit);
            assert_eq!(DepTypes::of(a, b).0, bit);
        }
    }

    /// The graph file of a validator after `f` ran with it.
    #[cfg(not(lockdep_off))]
    fn graph_after(name: &str, f: impl FnOnce(&Validator)) -> String {
        let dir = std::env::temp_dir().join(format!("lockdep-{name}-{}", std::process::id()));
        let v = Validator::with_on_report(crate::Config::default(), crate::OnReport::Collect);
        let path = v.write_graph_to(format!("{}/", dir.display())).unwrap();
        f(&v);
        v.write_graph().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        text
    }

    /// A lock built by a raw lock's `INIT` (`lock_api::Mutex<lockdep::RawMutex, _>`) has no
    /// construction site: its class must not say it was built inside lockdep.
    #[test]
    #[cfg(not(lockdep_off))]
    fn a_raw_built_class_is_not_built_inside_lockdep() {
        let text = graph_after("raw-built", |v| {
            v.scope(|| {
                let (a, b) = (
                    lock_api::Mutex::<crate::RawMutex, u32>::new(1),
                    lock_api::Mutex::<crate::RawMutex, u64>::new(2),
                );
                let _a = a.lock();
                let _b = b.lock();
            })
        });
        assert!(text.contains("\"classes\""), "{text}");
        assert!(!text.contains("runtime.rs"), "{text}");
    }

    /// A dependency recorded by a thread a test spawned without a name names no test.
    #[test]
    #[cfg(not(lockdep_off))]
    fn an_unnamed_helper_thread_is_no_test() {
        let text = graph_after("unnamed", |v| {
            let v = v.clone();
            std::thread::spawn(move || {
                v.scope(|| {
                    let (a, b) = (
                        crate::Mutex::with_name("unnamed-a", ()),
                        crate::Mutex::with_name("unnamed-b", ()),
                    );
                    let _a = a.lock();
                    let _b = b.lock();
                })
            })
            .join()
            .unwrap();
        });
        assert!(text.contains("\"dep\""), "{text}");
        assert!(!text.contains("\"test\":\"thread-"), "{text}");
    }

    #[test]
    fn threads_and_tasks_lockdep_numbered_are_no_tests() {
        // Held out (tokio round 3): edges of plain `tokio::spawn` tasks named the task as the test.
        for name in ["thread-3", "task-816", "tracked-2"] {
            assert!(is_numbered_runner(name), "{name}");
        }
        for name in ["abba_between_tasks", "task-queue", "thread-", "tasks::abba"] {
            assert!(!is_numbered_runner(name), "{name}");
        }
    }

    #[test]
    fn workers_a_test_started_are_no_tests() {
        // Held out (library round 14): surrealkv's graph files named `tokio-rt-worker` as the
        // test of 78 dependencies.
        for name in [
            "tokio-rt-worker",
            "worker-pool",
            "rayon pool 1",
            "a::b-c",
            "1st",
            "",
        ] {
            assert!(!is_test_path(name), "{name}");
        }
        for name in [
            "nested_order",
            "tests::abba",
            "_private::t2",
            "tests::r#match",
            "größe",
        ] {
            assert!(is_test_path(name), "{name}");
        }
    }

    #[test]
    fn file_parts_are_safe() {
        assert_eq!(file_part("suite::a then/b"), "suite__a_then_b");
    }
}
