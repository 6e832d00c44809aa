//! `lockcheck check`: merge the dependency graph files (`docs/graph-format.md`) and lock traces
//! of many processes — a whole test suite — and report the cycles of the merged graph, naming for
//! each dependency of a cycle the process, test and file it came from.
//!
//! Graph dependencies go through the same [`Replayer`] as `lockcheck replay`: each one becomes a
//! pair of acquisitions on a thread of its own (one pair per dependency type, in the modes that
//! give that type), so merged results follow the validator's rules (recursive reads included).
//! Classes merge across files by name and subclass; dependencies already fed are not fed again.
//! Files are fed in name order, each in its own order (a dependency that closed a cycle in its
//! process comes where the process met it, and closes it again).
//!
//! Exit status: 2 if any input error (unreadable file, malformed record, unsupported version),
//! else 1 if any report, else 0. A bad file does not stop the others.

pub mod output;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::sync::Arc;

use lockdep::graph_file::{GraphClass, GraphDep, GraphFile, modes_of};
use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::trace::{TraceEvent, TraceOp};
use lockdep::{DepTypes, Report, ReportKind};

use crate::input::Outcome;
use crate::progress::Progress;
use crate::style::Palette;
use crate::ui::Ui;
pub use output::{CheckedReport, EdgeOrigin};

/// Options of `lockcheck check`, independent of clap.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Files and directories (walked recursively for `*.jsonl`, `*.json`, `*.ndjson` files;
    /// hidden files, such as writers' temporary files, are skipped); `-` is standard input.
    pub inputs: Vec<String>,
    /// JSON Lines instead of text.
    pub json: bool,
}

/// What a check read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Graph files merged.
    pub graphs: usize,
    /// Traces replayed.
    pub traces: usize,
    /// Classes read from graph files, by name and subclass (one of several files is one class;
    /// a class that takes part in no dependency included).
    pub classes_read: std::collections::HashSet<(String, u32)>,
    /// Files found in a directory that are neither graph files nor traces (skipped, with a
    /// note).
    pub skipped: usize,
    /// Dependencies read from graph files.
    pub dependencies_read: usize,
    /// Dependencies of graph files fed to the validator: the others were known already, from
    /// an earlier file (same classes, no new type).
    pub dependencies_fed: usize,
    /// Dependencies the traces added to the merged graph, plus those that closed a cycle
    /// (reported, not added).
    pub dependencies_traced: usize,
}

/// The files `names` stand for: files as given, directories walked recursively (name order)
/// for graph files and traces.
pub fn expand(names: &[String]) -> Vec<String> {
    expand_marked(names).into_iter().map(|(n, _)| n).collect()
}

/// [`expand`], each file marked with whether it was found in a directory (rather than named).
fn expand_marked(names: &[String]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for name in names {
        let p = Path::new(name);
        if name != "-" && p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            out.extend(found.into_iter().map(|f| (f, true)));
        } else {
            out.push((name.clone(), false));
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Listed as is: opening it names the error.
        out.push(dir.display().to_string());
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&e.path(), out);
        } else if ft.is_file()
            && [".jsonl", ".json", ".ndjson"]
                .iter()
                .any(|x| name.ends_with(x))
        {
            out.push(e.path().display().to_string());
        }
    }
}

/// Where a dependency fed to the validator came from.
#[derive(Debug, Clone)]
struct Source {
    file: Arc<str>,
    pid: Option<u32>,
    exe: Option<Arc<str>>,
}

/// The merge in progress.
struct Merge {
    replayer: Replayer,
    /// (from, to) display names → dependency types fed.
    fed: HashMap<(Arc<str>, Arc<str>), u8>,
    /// (from, to) display names → where the dependency was first seen.
    origins: HashMap<(Arc<str>, Arc<str>), EdgeOrigin>,
    names: HashMap<String, Arc<str>>,
    /// With several inputs, what tells their traces' threads apart (`trace::labels`).
    labels: Option<Vec<String>>,
    threads: u64,
    stats: CheckStats,
    /// Sites whose classes some graph files name with their data type and some without (an
    /// older lockdep's files), which therefore do not merge (noted once at the end).
    site_typing: BTreeMap<String, SiteTyping>,
    palette: Palette,
    progress: Progress,
}

/// Where a site's classes were read with and without a data type: the first file of each.
#[derive(Default)]
struct SiteTyping {
    typed_in: Option<String>,
    untyped_in: Option<(String, String)>,
}

/// Runs `lockcheck check` with no colour and no progress bar.
pub fn run(opts: &CheckOptions, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    run_with(opts, &Ui::default(), out, err)
}

/// Runs `lockcheck check` with the colours and progress bar (over files) of `ui`.
pub fn run_with(opts: &CheckOptions, ui: &Ui, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    let mut outcome = Outcome::default();
    let mut merge = Merge::new(
        {
            let r = Replayer::new(lockdep::Config::from_env(), ClassRefinement::default());
            // Each dependency is checked where it is fed, against the graph as it is then: a
            // dependency that closed a cycle in its process is searched again every time (its
            // process validated it every time it reported it), whatever chain it was fed on.
            r.validator().set_validate_every_chain(true);
            r
        },
        ui.palette,
    );
    let marked = expand_marked(&opts.inputs);
    let inputs: Vec<String> = marked.iter().map(|(n, _)| n.clone()).collect();
    merge.labels = (inputs.len() > 1).then(|| crate::replay::trace::labels(&inputs));
    let progress = Progress::over_files(ui.progress, inputs.len());
    merge.progress = progress.clone();
    let mut err = progress.err(err);
    let err: &mut dyn Write = &mut err;
    if inputs.is_empty() {
        // Most likely the tests ran without LOCKDEP_GRAPH: not a pass.
        let _ = writeln!(
            err,
            "lockcheck: no graph file or trace (*.jsonl, *.json, *.ndjson) under {}",
            opts.inputs.join(", ")
        );
        outcome.input_errors += 1;
    }
    for (index, input) in inputs.iter().enumerate() {
        progress.start_input(input);
        let walked = marked[index].1;
        let result = check_input(
            &mut merge,
            opts,
            input,
            index,
            walked,
            out,
            err,
            &mut outcome,
        );
        progress.file_done();
        if outcome.record(err, input, result.map(|()| 0)) {
            progress.finish();
            return outcome;
        }
    }
    progress.finish();
    let nothing_read = merge.stats.graphs + merge.stats.traces == 0;
    if nothing_read && merge.stats.skipped > 0 {
        // Files were found, but none to check: no more a pass than an empty directory.
        let _ = writeln!(
            err,
            "lockcheck: no graph file or trace among the files under {}",
            opts.inputs.join(", ")
        );
        outcome.input_errors += 1;
    }
    where_the_graphs_went(opts, nothing_read, err);
    unmerged_sites_note(&merge.site_typing, err);
    let s = &merge.stats;
    let v = merge.replayer.validator();
    // Each count says what it counts: a dependency that closes a cycle is read (and reported)
    // but never enters the merged graph, so the graph may hold fewer than were read.
    let _ = writeln!(
        err,
        "lockcheck: merged {} graph file(s) and {} trace(s){}: {} classes ({} of them ordered with another); dependencies: {} read from graph files ({} already known), {} from traces, {} in the merged graph (one per pair of classes, whatever its types; one that closes a cycle is reported, not added); {} report(s)",
        s.graphs,
        s.traces,
        match s.skipped {
            0 => String::new(),
            n => format!(" ({n} other file(s) skipped)"),
        },
        // A graph file's classes that take part in no dependency are never fed to the validator.
        s.classes_read.len().max(v.class_count()),
        v.class_count(),
        s.dependencies_read,
        s.dependencies_read - s.dependencies_fed,
        s.dependencies_traced,
        v.dependency_count(),
        outcome.reports
    );
    for hit in merge.replayer.limit_hits() {
        let _ = writeln!(
            err,
            "lockcheck: {} ({}) reached: {} {}; set {}=<larger> to raise it",
            hit.name,
            hit.value,
            hit.count,
            hit.what_was_skipped(),
            hit.env_var
        );
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => outcome.broken_pipe = true,
        Err(e) => {
            let _ = writeln!(err, "lockcheck: writing output: {e}");
            outcome.input_errors += 1;
        }
        Ok(()) => {}
    }
    outcome
}

/// The hint for a check that read nothing (a named path missing, or holding no graph file), and
/// a note for relative directories that also exist, with graph files, in the directories of the
/// workspace's crates: cargo runs each test binary in its crate's directory, so a relative
/// `LOCKDEP_GRAPH` lands there.
fn where_the_graphs_went(opts: &CheckOptions, nothing_read: bool, err: &mut dyn Write) {
    let cwd = std::env::current_dir().ok();
    let mut scattered = Vec::new();
    let mut hint_for = None;
    for name in opts.inputs.iter().filter(|n| *n != "-") {
        let path = Path::new(name);
        let empty =
            !path.exists() || (path.is_dir() && expand(std::slice::from_ref(name)).is_empty());
        if empty && hint_for.is_none() {
            hint_for = Some(name);
        }
        // A file named on the command line that is no graph file has its own error: a hint
        // about LOCKDEP_GRAPH directories would only mislead.
        if path.is_file() {
            continue;
        }
        // Only a plain relative path (`target/lockdep`), never `.` or `../x`, could be a
        // LOCKDEP_GRAPH taken in each crate.
        let plain = path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if let Some(cwd) = &cwd
            && plain
        {
            scattered.extend(in_crates(cwd, path));
        }
    }
    if !scattered.is_empty() {
        let list: Vec<String> = scattered.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(
            err,
            "lockcheck: note: graph files also under {} (not read): a relative LOCKDEP_GRAPH is \
             taken in each crate's directory, where cargo runs its tests; name those directories \
             too, and next time give an absolute path",
            list.join(", ")
        );
    }
    if !nothing_read {
        return;
    }
    // The name that held nothing, else (only other files found) the first directory.
    let Some(name) = hint_for.or_else(|| {
        opts.inputs
            .iter()
            .find(|n| *n != "-" && Path::new(n.as_str()).is_dir())
    }) else {
        return;
    };
    let absolute = match &cwd {
        Some(cwd) => cwd.join(name).display().to_string(),
        None => name.clone(),
    };
    let slash = if absolute.ends_with('/') { "" } else { "/" };
    let _ = writeln!(
        err,
        "lockcheck: hint: no graph file was read from {name}: the tests probably ran without \
         LOCKDEP_GRAPH, or with a relative path, which cargo resolves in each crate's directory; \
         run them with an absolute one: LOCKDEP_GRAPH={absolute}{slash} (docs/test-suites.md)"
    );
}

/// `rel` under the directories of `root` and their subdirectories (a workspace's crates, as in
/// `crates/NAME`), where it is a directory holding graph files or traces.
fn in_crates(root: &Path, rel: &Path) -> Vec<std::path::PathBuf> {
    let subdirs = |dir: &Path| -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<_> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                // Build output and hidden directories hold no crate.
                !n.starts_with('.') && n != "target" && e.file_type().is_ok_and(|t| t.is_dir())
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    };
    let mut found = Vec::new();
    for dir in subdirs(root) {
        for d in std::iter::once(dir.clone()).chain(subdirs(&dir)) {
            let candidate = d.join(rel);
            if holds_graph_file(&candidate) {
                found.push(
                    candidate
                        .strip_prefix(root)
                        .map_or(candidate.clone(), Path::to_path_buf),
                );
            }
        }
    }
    found
}

/// Whether `dir` holds a lockdep graph file directly (where `LOCKDEP_GRAPH=DIR/` writes them):
/// a look at its first entries, not a walk of a build tree.
fn holds_graph_file(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .take(64)
        .any(|e| {
            std::fs::File::open(e.path()).is_ok_and(|f| {
                let mut reader = io::BufReader::new(f);
                sniff_reader(&mut reader).is_ok_and(|k| k == JsonKind::Graph)
            })
        })
}

/// What a JSON Lines file is, by its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonKind {
    /// A lock trace (`docs/trace-format.md`), or a file too damaged to tell (read as one, so its
    /// errors are named).
    Trace,
    /// A lockdep graph file: an object with a string `format` and no `op` (a trace's records,
    /// its header included, all have an `op`).
    Graph,
    /// lockcheck's own JSON output: its `schema`.
    Output(String),
    /// JSON that is none of these (a `package.json`, a pretty-printed document).
    Other,
}

/// What the file whose first line is `first` is (`first` may run past that line).
pub fn sniff(first: &[u8]) -> JsonKind {
    let line = first.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let trimmed = line.trim_ascii();
    // A pretty-printed document: no trace or graph file is written that way.
    if trimmed == b"{" || trimmed == b"[" {
        return JsonKind::Other;
    }
    let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(line) else {
        return JsonKind::Trace;
    };
    // lockcheck's output documents have a `thread` of their own: their schema says first.
    if let Some(s) = o.get("schema").and_then(serde_json::Value::as_str)
        && s.starts_with("lockcheck.")
    {
        return JsonKind::Output(s.to_string());
    }
    if o.contains_key("op") || o.contains_key("thread") {
        return JsonKind::Trace;
    }
    if o.get("format").is_some_and(serde_json::Value::is_string) {
        return JsonKind::Graph;
    }
    JsonKind::Other
}

/// What `reader` holds, peeked at without consuming it (so line numbers stay right): the first
/// non-blank line, when the reader's first block holds it whole.
pub fn sniff_reader(reader: &mut dyn BufRead) -> io::Result<JsonKind> {
    let buf = reader.fill_buf()?;
    let start = buf
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    if !rest.contains(&b'\n') && buf.len() >= 4096 {
        // A first line longer than a block: told by what the block shows of it. lockcheck's
        // own reports name their schema (first in `parse`'s, after the report in `replay`'s
        // and `check`'s, so maybe out of sight); lockdep writes a trace's records starting with
        // `thread` or `op`; anything else is no trace.
        const SCHEMA: &[u8] = b"\"schema\":\"lockcheck.";
        if let Some(at) = memchr::memmem::find(rest, SCHEMA) {
            let tail = &rest[at + SCHEMA.len()..];
            if let Some(end) = tail.iter().position(|&b| b == b'"') {
                let name = String::from_utf8_lossy(&tail[..end]);
                return Ok(JsonKind::Output(format!("lockcheck.{name}")));
            }
        }
        if rest.starts_with(b"{\"thread\":") || rest.starts_with(b"{\"op\":") {
            return Ok(JsonKind::Trace);
        }
        return Ok(JsonKind::Other);
    }
    Ok(sniff(rest))
}

/// Why a file that is not a trace cannot be replayed, and what reads it.
pub fn not_a_trace(kind: &JsonKind) -> Option<String> {
    match kind {
        JsonKind::Trace => None,
        JsonKind::Graph => Some(
            "a lockdep graph file (LOCKDEP_GRAPH, docs/graph-format.md), not a lock trace: \
             `lockcheck check` checks it, `lockcheck graph` draws it"
                .into(),
        ),
        JsonKind::Output(schema) => Some(format!(
            "lockcheck's own JSON output (schema {schema}), not a lock trace or graph file"
        )),
        JsonKind::Other => Some(
            "neither a lock trace (LOCKDEP_TRACE, JSON Lines) nor a lockdep graph file \
             (LOCKDEP_GRAPH)"
                .into(),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_input(
    merge: &mut Merge,
    opts: &CheckOptions,
    input: &str,
    index: usize,
    walked: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let mut reader = crate::input::open(input)?;
    // Skip leading blank lines, then look at the first line.
    loop {
        let buf = reader.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                reader.consume(i);
                break;
            }
            None if buf.is_empty() => {
                // A trace (or graph) of a process that took no lock: normal in a suite, and
                // what `replay` says of it too.
                merge.stats.traces += 1;
                writeln!(err, "lockcheck: {input}: no events")?;
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
    let head = reader.fill_buf()?;
    let kind = if head.first() == Some(&b'{') {
        sniff_reader(&mut reader)?
    } else {
        JsonKind::Other
    };
    match kind {
        JsonKind::Graph => {}
        JsonKind::Trace => {
            merge.stats.traces += 1;
            return check_trace(merge, opts, input, index, reader, out, err, outcome);
        }
        other => {
            let why = not_a_trace(&other).unwrap_or_default();
            if walked {
                // Found in a directory beside the graph files: not what the run is about.
                merge.stats.skipped += 1;
                writeln!(err, "lockcheck: {input}: skipped: {why}")?;
            } else {
                writeln!(err, "lockcheck: {input}: {why}")?;
                outcome.input_errors += 1;
            }
            return Ok(());
        }
    }
    merge.stats.graphs += 1;
    let Some(file) = read_graph_file(input, reader, err)? else {
        outcome.input_errors += 1;
        return Ok(());
    };
    let source = Source {
        file: input.into(),
        pid: Some(file.process.pid),
        exe: Some(file.process.exe.as_str().into()),
    };
    merge
        .stats
        .classes_read
        .extend(file.classes.iter().map(|c| (c.merge_name(), c.subclass)));
    merge.note_site_typing(input, &file);
    for dep in &file.deps {
        merge.stats.dependencies_read += 1;
        let result = merge.feed(&source, &file.classes, dep);
        emit_all(merge, opts, &source, dep.line, result, out, err, outcome)?;
    }
    Ok(())
}

/// The graph file `reader` (named `input`), or `None` when it is damaged: what is wrong is
/// then said on `err`, with the line.
fn read_graph_file(
    input: &str,
    mut reader: impl Read,
    err: &mut dyn Write,
) -> io::Result<Option<GraphFile>> {
    let mut text = String::new();
    if let Err(e) = reader.read_to_string(&mut text) {
        if e.kind() == io::ErrorKind::InvalidData {
            writeln!(err, "lockcheck: {input}: not UTF-8 text")?;
            return Ok(None);
        }
        return Err(e);
    }
    match GraphFile::parse(&text) {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            match e.line {
                0 => writeln!(err, "lockcheck: {input}: {}", error_text(&e))?,
                n => writeln!(err, "lockcheck: {input}:{n}: {}", error_text(&e))?,
            }
            Ok(None)
        }
    }
}

/// Feeds the graph file `reader` (named `input`) into `replayer` as `check` merges one, for
/// `lockcheck graph` to draw. Returns its cycle and limit reports and how many input errors
/// were said on `err`.
pub fn feed_graph_file(
    replayer: &mut Replayer,
    input: &str,
    reader: impl Read,
    err: &mut dyn Write,
) -> io::Result<(Vec<Report>, usize)> {
    let Some(file) = read_graph_file(input, reader, err)? else {
        return Ok((Vec::new(), 1));
    };
    let placeholder = Replayer::new(lockdep::Config::default(), ClassRefinement::default());
    let mut merge = Merge::new(std::mem::replace(replayer, placeholder), Palette::default());
    let source = Source {
        file: input.into(),
        pid: Some(file.process.pid),
        exe: Some(file.process.exe.as_str().into()),
    };
    let (mut reports, mut errors) = (Vec::new(), 0);
    for dep in &file.deps {
        match merge.feed(&source, &file.classes, dep) {
            Ok((r, _)) => reports.extend(r.into_iter().filter(|r| {
                // The other kinds concern one process, which reported them itself.
                matches!(
                    r.kind(),
                    ReportKind::CircularDependency | ReportKind::LimitExceeded
                )
            })),
            Err(e) => {
                writeln!(err, "lockcheck: {input}:{}: {e}", dep.line)?;
                errors += 1;
            }
        }
    }
    *replayer = merge.replayer;
    Ok((reports, errors))
}

fn error_text(e: &lockdep::graph_file::GraphFileError) -> String {
    let mut e = e.clone();
    e.line = 0;
    e.to_string()
}

#[allow(clippy::too_many_arguments)]
fn check_trace(
    merge: &mut Merge,
    opts: &CheckOptions,
    input: &str,
    index: usize,
    reader: Box<dyn BufRead>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let before = merge.replayer.validator().dependency_count();
    let prefix = format!("{}:", index + 1);
    let mut found = Vec::new();
    let mut emit = |r: crate::replay::ReplayedReport| {
        found.push(r);
        Ok(())
    };
    let label = merge.labels.as_ref().map(|l| l[index].clone());
    let stats = crate::replay::trace::replay_trace_labelled(
        input,
        reader,
        &prefix,
        label.as_deref(),
        None,
        &mut merge.replayer,
        err,
        &mut emit,
    )?;
    outcome.input_errors += stats.errors as usize;
    if stats.events == 0 && stats.errors == 0 {
        writeln!(err, "lockcheck: {input}: no events")?;
    }
    // The dependencies this trace added come from it.
    let v = merge.replayer.validator().clone();
    merge.stats.dependencies_traced += v.dependency_count() - before
        + found
            .iter()
            .filter(|r| r.report.kind() == ReportKind::CircularDependency)
            .count();
    if v.dependency_count() > before {
        let source: Arc<str> = input.into();
        for (a, b, _, w) in v.dependencies().into_iter().skip(before) {
            let (Some(a), Some(b)) = (v.class_info(a), v.class_info(b)) else {
                continue;
            };
            merge
                .origins
                .entry((a.display_name.clone(), b.display_name.clone()))
                .or_insert_with(|| EdgeOrigin {
                    from: a.display_name.to_string(),
                    to: b.display_name.to_string(),
                    types: String::new(),
                    file: source.to_string(),
                    line: 0,
                    pid: None,
                    exe: None,
                    test: None,
                    thread: w.thread.to_string(),
                    from_at: w.from_site.to_string(),
                    to_at: w.to_site.to_string(),
                });
        }
    }
    let source = Source {
        file: input.into(),
        pid: None,
        exe: None,
    };
    for r in found {
        let line = r.line;
        let checked = merge.describe(&source, None, line, r.report);
        outcome.reports += 1;
        let palette = merge.palette;
        merge
            .progress
            .suspend(|| output::write(out, &checked, opts.json, palette))?;
    }
    Ok(())
}

/// Prints the reports of one fed dependency (cycles and limits: the other kinds concern one
/// process and were reported there).
#[allow(clippy::too_many_arguments)]
fn emit_all(
    merge: &mut Merge,
    opts: &CheckOptions,
    source: &Source,
    line: usize,
    result: Result<(Vec<Report>, Option<EdgeOrigin>), String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let (reports, closing) = match result {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "lockcheck: {}:{line}: {e}", source.file)?;
            outcome.input_errors += 1;
            return Ok(());
        }
    };
    for r in reports {
        if !matches!(
            r.kind(),
            ReportKind::CircularDependency | ReportKind::LimitExceeded
        ) {
            continue;
        }
        let checked = merge.describe(source, closing.clone(), line, r);
        outcome.reports += 1;
        let palette = merge.palette;
        merge
            .progress
            .suspend(|| output::write(out, &checked, opts.json, palette))?;
    }
    Ok(())
}

/// The classes of a graph file's name that is a construction site (`file:line:column`, then
/// `#N` when one process numbered several): the site without the number.
fn site_of_class_name(name: &str) -> Option<&str> {
    let base = match name.rsplit_once('#') {
        Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
        _ => name,
    };
    let mut parts = base.rsplitn(3, ':');
    let (column, line) = (parts.next()?, parts.next()?);
    let file = parts.next()?;
    if file.contains('@') {
        // `mutex<T>@file:line:column`: a class that names its type (a site class since
        // December 8) or is named by its first acquisition (never typed); only a bare site
        // can come from a file written without types.
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(column) && digits(line) && !file.is_empty()).then_some(base)
}

/// Says which sites' classes were not merged because an older lockdep wrote some of the graph
/// files without data types (`docs/graph-format.md`, `type`).
fn unmerged_sites_note(sites: &BTreeMap<String, SiteTyping>, err: &mut dyn Write) {
    let mixed: Vec<_> = sites
        .iter()
        .filter_map(|(site, t)| Some((site, t.typed_in.as_ref()?, t.untyped_in.as_ref()?)))
        .collect();
    let Some((site, typed, (untyped, writer))) = mixed.first() else {
        return;
    };
    let writer = match writer.as_str() {
        "" => String::new(),
        w => format!(" ({w})"),
    };
    let more = match mixed.len() {
        1 => String::new(),
        n => format!(" and {} other site(s)", n - 1),
    };
    let _ = writeln!(
        err,
        "lockcheck: note: {untyped}{writer} names the classes built at {site}{more} without their data type, \
         {typed} with it: the two files' classes there are not merged (an older lockdep wrote the first; \
         regenerate its graph files with this one)"
    );
}

impl Merge {
    /// Notes, for each class of `file` named by its construction site, whether the file gives
    /// its data type.
    fn note_site_typing(&mut self, input: &str, file: &GraphFile) {
        for c in &file.classes {
            let Some(site) = site_of_class_name(&c.name) else {
                continue;
            };
            let t = self.site_typing.entry(site.to_string()).or_default();
            match &c.data_type {
                Some(_) => {
                    t.typed_in.get_or_insert_with(|| input.to_string());
                }
                None => {
                    t.untyped_in
                        .get_or_insert_with(|| (input.to_string(), file.process.writer.clone()));
                }
            }
        }
    }

    /// A merge into `replayer`, nothing fed yet.
    fn new(replayer: Replayer, palette: Palette) -> Merge {
        Merge {
            replayer,
            fed: HashMap::new(),
            origins: HashMap::new(),
            names: HashMap::new(),
            labels: None,
            threads: 0,
            stats: CheckStats::default(),
            site_typing: BTreeMap::new(),
            palette,
            progress: Progress::disabled(),
        }
    }

    fn name(&mut self, s: String) -> Arc<str> {
        if let Some(n) = self.names.get(&s) {
            return n.clone();
        }
        let n: Arc<str> = s.as_str().into();
        self.names.insert(s, n.clone());
        n
    }

    /// Feeds one dependency: each of its types not fed before, as a pair of acquisitions on a
    /// fresh thread. Returns the reports and the dependency's origin.
    fn feed(
        &mut self,
        source: &Source,
        classes: &[GraphClass],
        dep: &GraphDep,
    ) -> Result<(Vec<Report>, Option<EdgeOrigin>), String> {
        let (from, to) = (&classes[dep.from], &classes[dep.to]);
        let from_name = self.name(from.display_name());
        let to_name = self.name(to.display_name());
        let key = (from_name.clone(), to_name.clone());
        // A dependency that closed a cycle was never added (the report stood in for it): it is
        // fed every time, since it may close another cycle later, and never counts as known.
        let known = if dep.closes_cycle {
            0
        } else {
            self.fed.get(&key).copied().unwrap_or(0)
        };
        let new = dep.types.0 & !known;
        let origin = EdgeOrigin {
            from: from_name.to_string(),
            to: to_name.to_string(),
            types: dep.types.labels(),
            file: source.file.to_string(),
            line: dep.line,
            pid: source.pid,
            exe: source.exe.as_deref().map(str::to_string),
            test: dep.test.clone(),
            thread: dep.thread.clone(),
            from_at: dep.from_at.clone().unwrap_or_else(|| "<unknown>".into()),
            to_at: dep.to_at.clone().unwrap_or_else(|| "<unknown>".into()),
        };
        if new == 0 {
            return Ok((Vec::new(), None));
        }
        if !dep.closes_cycle {
            self.fed.insert(key.clone(), known | new);
        }
        self.stats.dependencies_fed += 1;
        let first_bit = DepTypes::of(dep.from_mode, dep.to_mode).0;
        let mut reports = Vec::new();
        for bit in [DepTypes::EN, DepTypes::ER, DepTypes::SN, DepTypes::SR] {
            if new & bit == 0 {
                continue;
            }
            let (from_mode, to_mode) = if bit == first_bit {
                (dep.from_mode, dep.to_mode)
            } else {
                modes_of(bit)
            };
            self.threads += 1;
            let thread = format!("dep-{}", self.threads);
            let mut a = self.event(&thread, dep, TraceOp::Acquire, from, &from_name);
            a.mode = from_mode;
            a.at = dep.from_at.clone();
            let mut b = self.event(&thread, dep, TraceOp::Acquire, to, &to_name);
            b.mode = to_mode;
            b.at = dep.to_at.clone();
            let mut class_a = self.event(&thread, dep, TraceOp::Class, from, &from_name);
            class_a.at = from.at.clone();
            let mut class_b = self.event(&thread, dep, TraceOp::Class, to, &to_name);
            class_b.at = to.at.clone();
            let rb = self.event(&thread, dep, TraceOp::Release, to, &to_name);
            let ra = self.event(&thread, dep, TraceOp::Release, from, &from_name);
            let exit = TraceEvent::new(thread.clone(), TraceOp::ThreadExit, "");
            for ev in [class_a, class_b, a, b, rb, ra, exit] {
                match self.replayer.apply(&ev) {
                    Ok(r) => reports.extend(r),
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        self.origins.entry(key).or_insert_with(|| origin.clone());
        Ok((reports, Some(origin)))
    }

    /// A lock event of the synthetic thread `thread` feeding `dep`.
    fn event(
        &self,
        thread: &str,
        dep: &GraphDep,
        op: TraceOp,
        class: &GraphClass,
        name: &str,
    ) -> TraceEvent {
        let mut e = TraceEvent::new(thread, op, format!("class:{name}"));
        e.thread_name = Some(if dep.thread.is_empty() {
            "unnamed".to_string()
        } else {
            dep.thread.clone()
        });
        e.class = Some(class.merge_name());
        e.subclass = class.subclass;
        e.kind = class.kind;
        e
    }

    /// A report with where each dependency of its cycle came from.
    fn describe(
        &self,
        source: &Source,
        closing: Option<EdgeOrigin>,
        line: usize,
        report: Report,
    ) -> CheckedReport {
        let mut edges: Vec<EdgeOrigin> = Vec::new();
        for link in &report.chain {
            let key = (link.from.clone(), link.to.clone());
            let mut o = self
                .origins
                .get(&key)
                .cloned()
                .unwrap_or_else(|| EdgeOrigin {
                    from: link.from.to_string(),
                    to: link.to.to_string(),
                    types: String::new(),
                    file: String::new(),
                    line: 0,
                    pid: None,
                    exe: None,
                    test: None,
                    thread: link.first_seen.thread.to_string(),
                    from_at: link.first_seen.from_site.to_string(),
                    to_at: link.first_seen.to_site.to_string(),
                });
            o.types = link.types.labels();
            edges.push(o);
        }
        if report.kind() == ReportKind::CircularDependency
            && let (Some(held), Some(acq)) = (&report.held_lock, &report.acquiring)
        {
            let mut o = closing.unwrap_or_else(|| EdgeOrigin {
                from: held.name.to_string(),
                to: acq.name.to_string(),
                types: String::new(),
                file: source.file.to_string(),
                line,
                pid: source.pid,
                exe: source.exe.as_deref().map(str::to_string),
                test: None,
                thread: report.thread.name.to_string(),
                from_at: held.site.to_string(),
                to_at: acq.site.to_string(),
            });
            if let Some(t) = report.new_dependency {
                o.types = t.labels();
            }
            edges.push(o);
        }
        CheckedReport {
            source: source.file.to_string(),
            line,
            report,
            edges,
        }
    }
}
