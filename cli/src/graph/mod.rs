//! `lockcheck graph`: the lock-class dependency graph of a trace or a kernel log, as Graphviz
//! DOT or as a standalone SVG drawn in-process.
//!
//! A [`GraphModel`] holds classes (nodes) and dependencies (edges: "taken while holding"), with
//! the edges of reported cycles marked. It is built from a replayed [`lockdep::Validator`]
//! ([`GraphModel::from_replay`], [`GraphModel::from_validator`]) or from reports parsed out of
//! kernel logs ([`GraphModel::from_kernel_reports`]). [`render`] then selects what to draw (the
//! cycles and their neighbourhood unless [`GraphOptions::all`]) and writes DOT or SVG.
//! `docs/graph.md` describes the picture.
//!
//! ```
//! use lockcheck::graph::{GraphFormat, GraphModel, GraphOptions, render};
//! use lockdep::replay::{ClassRefinement, Replayer};
//! use lockdep::trace::parse_line;
//!
//! let trace = r#"{"thread":1,"op":"acquire","lock":"A"}
//! {"thread":1,"op":"acquire","lock":"B"}
//! {"thread":1,"op":"release","lock":"B"}
//! {"thread":1,"op":"release","lock":"A"}
//! {"thread":2,"op":"acquire","lock":"B"}
//! {"thread":2,"op":"acquire","lock":"A"}"#;
//! let mut replayer = Replayer::new(lockdep::Config::default(), ClassRefinement::default());
//! let mut reports = Vec::new();
//! for line in trace.lines() {
//!     let event = parse_line(line).unwrap().unwrap();
//!     reports.extend(replayer.apply(&event).unwrap());
//! }
//! let model = GraphModel::from_replay(replayer.validator(), &reports);
//! assert_eq!(model.edges.len(), 2);
//! assert!(model.edges.iter().all(|e| e.in_cycle));
//!
//! let dot = render(&model, GraphFormat::Dot, &GraphOptions::default());
//! assert!(dot.starts_with("// lockcheck graph"));
//! let svg = render(&model, GraphFormat::Svg, &GraphOptions::default());
//! assert!(svg.contains("<svg"));
//! ```

mod dot;
mod filter;
pub(crate) mod kernel;
mod layout;
mod svg;
mod text;

#[cfg(test)]
mod golden;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

pub use dot::to_dot;
pub use filter::Selection;
pub use svg::to_svg;

/// A lock class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// The class name as printed (`&s->seqcount#2`, `pidmap_lock`, `accounts`).
    pub name: String,
    /// What is known about the primitive: `mutex`, `rwlock`, `spinlock`, `seqcount` from a
    /// trace; the wait type (`{2:2} spin`) from a kernel log.
    pub kind: Option<String>,
    /// The class is part of a reported cycle.
    pub in_cycle: bool,
    /// Further facts for the tooltip (init site, usage bits, addresses seen).
    pub details: Vec<String>,
    /// Dependencies of this class left out of the picture by the selection.
    pub hidden: usize,
}

/// A dependency: `to` was acquired while `from` was held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    /// Index of the held class in [`GraphModel::nodes`].
    pub from: usize,
    /// Index of the acquired class.
    pub to: usize,
    /// Dependency types, strongest first, `|`-joined: `EN`, `EN|SR`. From a kernel log the
    /// holder's mode is not printed, so it reads `xN` / `xR` (the kernel's own notation), and
    /// `?` when nothing is known.
    pub types: String,
    /// Where the dependency was first seen, short: a source position and thread for traces,
    /// the first meaningful stack frame for kernel chains.
    pub first_seen: String,
    /// Full details for the tooltip (both sites, modes, thread, stack, report).
    pub details: Vec<String>,
    /// The edge is part of a reported cycle (or is a recursive-locking self-loop).
    pub in_cycle: bool,
}

/// Classes and dependencies, ready to be selected and drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphModel {
    /// Classes, sorted by name.
    pub nodes: Vec<GraphNode>,
    /// Dependencies, sorted by (from, to); at most one per ordered pair.
    pub edges: Vec<GraphEdge>,
    /// Each reported cycle as node indices in dependency order (the last one's edge closes it).
    pub cycles: Vec<Vec<usize>>,
    /// What the graph was built from, for the title (`trace.jsonl`, `dmesg.log`).
    pub source: String,
    /// Classes known to exist but left out because they have no dependency.
    pub isolated: usize,
}

/// Output format of [`render`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`, `xdot`).
    Dot,
    /// A standalone SVG, laid out in-process.
    Svg,
}

impl FromStr for GraphFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dot" => Ok(GraphFormat::Dot),
            "svg" => Ok(GraphFormat::Svg),
            _ => Err(format!("unknown graph format {s:?} (expected dot or svg)")),
        }
    }
}

impl fmt::Display for GraphFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GraphFormat::Dot => "dot",
            GraphFormat::Svg => "svg",
        })
    }
}

/// Above this many drawn dependencies a picture ties each label to its arrow visibly (a dot on
/// the arrow where its label is attached in SVG, Graphviz's `decorate` line in DOT); smaller
/// pictures leave no doubt.
pub const DENSE_EDGES: usize = 40;

/// What to draw and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphOptions {
    /// Draw every class and dependency instead of the cycles and their neighbourhood.
    pub all: bool,
    /// Without `all`: the most classes drawn. Cycle classes are always drawn; their neighbours,
    /// or for an acyclic graph the best-connected classes, fill the rest.
    pub max_nodes: usize,
    /// Without `all`: the most dependencies drawn. Cycle dependencies are always drawn; the
    /// others between drawn classes fill the rest, those of cycle classes first.
    pub max_edges: usize,
    /// Title of the picture; default: `lock class dependencies of <source>`.
    pub title: Option<String>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            all: false,
            max_nodes: 150,
            max_edges: 300,
            title: None,
        }
    }
}

impl GraphOptions {
    fn title_for(&self, model: &GraphModel) -> String {
        match &self.title {
            Some(t) => t.clone(),
            None if model.source.is_empty() => "lock class dependencies".to_string(),
            None => format!("lock class dependencies of {}", model.source),
        }
    }
}

/// Selects what to draw (see [`GraphOptions`]) and writes it in `format`.
pub fn render(model: &GraphModel, format: GraphFormat, opts: &GraphOptions) -> String {
    match format {
        GraphFormat::Dot => to_dot(model, opts),
        GraphFormat::Svg => to_svg(model, opts),
    }
}

/// Builds a model: nodes and edges are keyed by name and merged.
///
/// Every step costs O(1) amortised (hash look-ups, bounded detail lists), so a model of n
/// reports is built in O(n) and finished in O(n log n) (sorting): many reports of one class or
/// of distinct cycles do not make it quadratic (`docs/robustness.md`).
#[derive(Default)]
pub(crate) struct Builder {
    model: GraphModel,
    index: HashMap<String, usize>,
    edge_index: HashMap<(usize, usize), usize>,
    cycles: Vec<Vec<String>>,
    /// Each cycle of `cycles` in its canonical rotation, for O(1) duplicate checks.
    cycle_set: HashSet<Vec<String>>,
}

/// Most tooltip lines kept for one class; further distinct ones are counted in a last line.
pub(crate) const MAX_NODE_DETAILS: usize = 32;
/// Most tooltip lines kept for one dependency (a few reports' worth of stacks).
pub(crate) const MAX_EDGE_DETAILS: usize = 96;

/// Appends `detail` to `details` unless it is there, keeping at most `max` lines: past it, one
/// last line counts what was left out. Bounded, so merging many reports stays linear.
fn add_detail(details: &mut Vec<String>, detail: String, max: usize) {
    if details.contains(&detail) {
        return;
    }
    if details.len() < max {
        details.push(detail);
        return;
    }
    // Past the cap, the last line counts what was left out (repeats of a left-out line
    // included: they are not kept, so they cannot be recognised).
    let left_out = match details.get(max) {
        Some(last) => last
            .strip_prefix("... ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0),
        None => 0,
    };
    details.truncate(max);
    details.push(format!("... {} more detail lines left out", left_out + 1));
}

/// Canonical order of type tokens in [`GraphEdge::types`].
const TYPE_ORDER: [&str; 8] = ["EN", "ER", "SN", "SR", "xN", "xR", "x?", "?"];

fn merge_types(a: &str, b: &str) -> String {
    let mut tokens: Vec<&str> = a
        .split('|')
        .chain(b.split('|'))
        .filter(|t| !t.is_empty())
        .collect();
    tokens.sort_by_key(|t| {
        TYPE_ORDER
            .iter()
            .position(|o| o == t)
            .unwrap_or(TYPE_ORDER.len())
    });
    tokens.dedup();
    if tokens.len() > 1 {
        tokens.retain(|t| *t != "?");
    }
    if tokens.is_empty() {
        "?".to_string()
    } else {
        tokens.join("|")
    }
}

impl Builder {
    pub(crate) fn node(&mut self, name: &str, kind: Option<String>) -> usize {
        if let Some(&i) = self.index.get(name) {
            if self.model.nodes[i].kind.is_none() {
                self.model.nodes[i].kind = kind;
            }
            return i;
        }
        let i = self.model.nodes.len();
        self.model.nodes.push(GraphNode {
            name: name.to_string(),
            kind,
            in_cycle: false,
            details: Vec::new(),
            hidden: 0,
        });
        self.index.insert(name.to_string(), i);
        i
    }

    pub(crate) fn node_detail(&mut self, i: usize, detail: String) {
        add_detail(&mut self.model.nodes[i].details, detail, MAX_NODE_DETAILS);
    }

    /// Adds (or merges into) the edge `from -> to`. The first-seen data of the first caller wins.
    pub(crate) fn edge(
        &mut self,
        from: &str,
        to: &str,
        types: &str,
        first_seen: String,
        details: Vec<String>,
    ) -> usize {
        let (f, t) = (self.node(from, None), self.node(to, None));
        if let Some(&e) = self.edge_index.get(&(f, t)) {
            let edge = &mut self.model.edges[e];
            edge.types = merge_types(&edge.types, types);
            if edge.first_seen.is_empty() {
                edge.first_seen = first_seen;
            }
            for d in details {
                add_detail(&mut edge.details, d, MAX_EDGE_DETAILS);
            }
            return e;
        }
        let e = self.model.edges.len();
        let mut kept = Vec::with_capacity(details.len().min(MAX_EDGE_DETAILS + 1));
        for d in details {
            add_detail(&mut kept, d, MAX_EDGE_DETAILS);
        }
        self.model.edges.push(GraphEdge {
            from: f,
            to: t,
            types: merge_types(types, ""),
            first_seen,
            details: kept,
            in_cycle: false,
        });
        self.edge_index.insert((f, t), e);
        e
    }

    pub(crate) fn has_edge(&self, from: &str, to: &str) -> bool {
        match (self.index.get(from), self.index.get(to)) {
            (Some(f), Some(t)) => self.edge_index.contains_key(&(*f, *t)),
            _ => false,
        }
    }

    pub(crate) fn mark_edge_in_cycle(&mut self, e: usize) {
        self.model.edges[e].in_cycle = true;
        let (f, t) = (self.model.edges[e].from, self.model.edges[e].to);
        self.model.nodes[f].in_cycle = true;
        self.model.nodes[t].in_cycle = true;
    }

    /// Marks a cycle given as class names in dependency order; a missing edge (the closing one
    /// is never recorded by the validator) is added with unknown type.
    pub(crate) fn cycle(&mut self, names: &[String]) {
        if names.is_empty() || !self.cycle_set.insert(canonical_cycle(names)) {
            return;
        }
        for (i, from) in names.iter().enumerate() {
            let to = &names[(i + 1) % names.len()];
            let e = if self.has_edge(from, to) {
                self.edge_index[&(self.index[from.as_str()], self.index[to.as_str()])]
            } else {
                self.edge(
                    from,
                    to,
                    "?",
                    String::new(),
                    vec!["the dependency that closes the cycle (not recorded in the graph)".into()],
                )
            };
            self.mark_edge_in_cycle(e);
        }
        self.cycles.push(names.to_vec());
    }

    /// Sorts nodes by name and edges by (from, to) so output is deterministic.
    pub(crate) fn finish(mut self, source: &str) -> GraphModel {
        let mut order: Vec<usize> = (0..self.model.nodes.len()).collect();
        order.sort_by(|&a, &b| self.model.nodes[a].name.cmp(&self.model.nodes[b].name));
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut nodes: Vec<Option<GraphNode>> = self.model.nodes.drain(..).map(Some).collect();
        self.model.nodes = order
            .iter()
            .map(|&o| nodes[o].take().expect("each once"))
            .collect();
        for e in &mut self.model.edges {
            e.from = new_index[e.from];
            e.to = new_index[e.to];
        }
        self.model.edges.sort_by_key(|e| (e.from, e.to));
        let index: HashMap<&str, usize> = self
            .model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        self.model.cycles = self
            .cycles
            .iter()
            .map(|c| c.iter().map(|n| index[n.as_str()]).collect())
            .collect();
        self.model.source = source.to_string();
        self.model
    }
}

/// The rotation of `names` that starts at its smallest name (the first such rotation, compared
/// as a whole, when a name repeats): equal for two cycles exactly when they are rotations of
/// each other.
fn canonical_cycle(names: &[String]) -> Vec<String> {
    let n = names.len();
    let Some(min) = names.iter().min() else {
        return Vec::new();
    };
    let rotation = |r: usize| (0..n).map(move |i| &names[(r + i) % n]);
    let best = (0..n)
        .filter(|&r| names[r] == *min)
        .min_by(|&a, &b| rotation(a).cmp(rotation(b)))
        .unwrap_or(0);
    rotation(best).cloned().collect()
}

/// Whether `a` and `b` are the same cycle up to rotation.
#[cfg(test)]
fn same_cycle(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && (0..a.len()).any(|r| (0..a.len()).all(|i| a[(i + r) % a.len()] == b[i]))
}

fn mode_word(m: lockdep::Mode) -> &'static str {
    match m {
        lockdep::Mode::Write => "exclusive",
        lockdep::Mode::Read => "shared (non-recursive read)",
        lockdep::Mode::ReadRecursive => "shared (recursive read)",
    }
}

/// Short form of a source position: the last two path components (`src/bank.rs:12:5`).
pub(crate) fn short_site(site: &str) -> String {
    let (path, pos) = match site.find(':') {
        Some(i) => site.split_at(i),
        None => (site, ""),
    };
    let parts: Vec<&str> = path.rsplitn(3, '/').collect();
    if parts.len() == 3 {
        format!("{}/{}{pos}", parts[1], parts[0])
    } else {
        site.to_string()
    }
}

/// The graph of kernel reports, built as they stream in (one report at a time, over any number
/// of inputs): what [`GraphModel::from_kernel_reports`] gives, without holding the reports.
///
/// ```
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/logs/seed-003-pidmap-seqcount.log");
/// let log = std::fs::read_to_string(path).unwrap();
/// let mut g = lockcheck::graph::KernelGraph::default();
/// for r in lockcheck::splat::parse_str("seed.log", &log) {
///     g.add(&r);
/// }
/// let model = g.finish();
/// assert_eq!(model.source, "seed.log");
/// assert_eq!(model.cycles.len(), 1);
/// ```
#[derive(Default)]
pub struct KernelGraph {
    b: Builder,
    /// Inputs in the order they came, each once.
    sources: Vec<String>,
    seen: HashSet<String>,
}

impl KernelGraph {
    /// Adds one report's classes and dependencies.
    pub fn add(&mut self, r: &crate::report::Report) {
        kernel::add_report(&mut self.b, r);
        self.add_source(&r.source);
    }

    /// Names an input even when it had no report (it shows in the title).
    pub fn add_source(&mut self, source: &str) {
        if !self.seen.contains(source) {
            self.seen.insert(source.to_string());
            self.sources.push(source.to_string());
        }
    }

    /// The model, its inputs named in its title in the order they came.
    pub fn finish(self) -> GraphModel {
        let source = self.sources.join(", ");
        self.b.finish(&source)
    }
}

impl GraphModel {
    /// The graph of a replayed (or live) validator: every recorded class dependency, with the
    /// classes of `cycles` (class names in dependency order, as [`lockdep::Report::cycle`]
    /// gives them) marked; each cycle's closing dependency, which the validator does not record,
    /// is added with unknown type. Prefer [`GraphModel::from_replay`] when the reports are at
    /// hand: it also knows the closing edges' types and sites.
    ///
    /// Classes without any dependency are counted in [`GraphModel::isolated`], not drawn.
    pub fn from_validator(v: &lockdep::Validator, cycles: &[Vec<String>]) -> GraphModel {
        let mut b = Builder::default();
        let mut infos: HashMap<lockdep::ClassId, (String, Option<String>, String)> = HashMap::new();
        let mut info = |id: lockdep::ClassId| {
            infos
                .entry(id)
                .or_insert_with(|| match v.class_info(id) {
                    Some(ci) => (
                        ci.display_name.to_string(),
                        Some(ci.kind.as_str().to_string()),
                        ci.init_site.to_string(),
                    ),
                    None => (format!("class#{}", id.index()), None, String::new()),
                })
                .clone()
        };
        let mut deps = v.dependencies();
        deps.sort_by_key(|d| (d.0, d.1));
        let mut connected = std::collections::HashSet::new();
        for (from, to, types, w) in deps {
            connected.insert(from);
            connected.insert(to);
            let (fname, fkind, fsite) = info(from);
            let (tname, tkind, tsite) = info(to);
            for (name, kind, site) in [(&fname, fkind, fsite), (&tname, tkind, tsite)] {
                let i = b.node(name, kind);
                if site != "<unknown>" && !site.is_empty() {
                    b.node_detail(i, format!("first lock built at {site}"));
                }
            }
            let to_site = w.to_site.to_string();
            let first_seen = if to_site == "<unknown>" {
                format!("thread {}", w.thread)
            } else {
                format!("{} ({})", short_site(&to_site), w.thread)
            };
            let mut details = vec![
                format!("first seen in thread {}", w.thread),
                format!("{fname} held {} at {}", mode_word(w.from_mode), w.from_site),
                format!("{tname} taken {} at {}", mode_word(w.to_mode), w.to_site),
            ];
            if let Some(bt) = &w.backtrace {
                details.push("backtrace:".into());
                details.extend(bt.lines().take(16).map(|l| format!("  {}", l.trim_end())));
            }
            b.edge(&fname, &tname, &types.labels(), first_seen, details);
        }
        for c in cycles {
            b.cycle(c);
        }
        let mut m = b.finish("");
        m.isolated = v.class_count().saturating_sub(connected.len());
        m
    }

    /// The graph of a replayed validator and the reports the replay produced: every recorded
    /// dependency, each circular report's cycle highlighted with its closing dependency (type,
    /// sites and thread from the report), and the held → acquired pair of other reports
    /// (a recursive-locking report is a highlighted self-loop).
    pub fn from_replay(v: &lockdep::Validator, reports: &[lockdep::Report]) -> GraphModel {
        use lockdep::ReportKind;
        let cycles: Vec<Vec<String>> = reports
            .iter()
            .filter(|r| r.kind() == ReportKind::CircularDependency)
            .map(|r| r.cycle().into_iter().map(str::to_string).collect())
            .filter(|c: &Vec<String>| !c.is_empty())
            .collect();
        let mut m = GraphModel::from_validator(v, &[]);
        let isolated = m.isolated;
        let mut b = Builder::default();
        // Re-seed a builder with the recorded graph, then add what the reports know.
        for n in &m.nodes {
            let i = b.node(&n.name, n.kind.clone());
            b.model.nodes[i].details = n.details.clone();
        }
        for e in &m.edges {
            let (f, t) = (m.nodes[e.from].name.clone(), m.nodes[e.to].name.clone());
            b.edge(&f, &t, &e.types, e.first_seen.clone(), e.details.clone());
        }
        for r in reports {
            let (Some(held), Some(acq)) = (&r.held_lock, &r.acquiring) else {
                continue;
            };
            let types = r.new_dependency.map_or("?".to_string(), |t| t.labels());
            let first_seen = match &acq.site {
                lockdep::Site::Unknown => format!("thread {}", r.thread.name),
                s => format!("{} ({})", short_site(&s.to_string()), r.thread.name),
            };
            let details = vec![
                format!("{}: {}", r.kind(), r.title()),
                format!("in thread {}", r.thread.name),
                format!(
                    "{} held {} at {}",
                    held.name,
                    mode_word(held.mode),
                    held.site
                ),
                format!("{} taken {} at {}", acq.name, mode_word(acq.mode), acq.site),
            ];
            match r.kind() {
                ReportKind::CircularDependency | ReportKind::RecursiveLocking => {
                    let e = b.edge(&held.name, &acq.name, &types, first_seen, details);
                    if r.kind() == ReportKind::RecursiveLocking {
                        b.mark_edge_in_cycle(e);
                    }
                }
                _ => {
                    if held.name != acq.name {
                        b.edge(&held.name, &acq.name, &types, first_seen, details);
                    }
                }
            }
        }
        for c in &cycles {
            b.cycle(c);
        }
        m = b.finish("");
        m.isolated = isolated;
        m
    }

    /// The graph of reports parsed from kernel logs: each circular report's chain (its
    /// `-> #N` entries give the edges of the existing path, entry `#0` the closing edge) is a
    /// highlighted cycle, labelled with the type the stack shows (`xN`/`xR`) and the first
    /// meaningful frame; other reports contribute the dependency between their two locks when
    /// they name two (a recursive-locking report is a highlighted self-loop).
    pub fn from_kernel_reports(reports: &[crate::report::Report]) -> GraphModel {
        let mut g = KernelGraph::default();
        let mut sources: Vec<&str> = reports.iter().map(|r| r.source.as_str()).collect();
        sources.sort();
        for s in sources {
            g.add_source(s);
        }
        for r in reports {
            g.add(r);
        }
        g.finish()
    }

    /// The same graph with `source` as its origin (shown in the title).
    pub fn with_source(mut self, source: impl Into<String>) -> GraphModel {
        self.source = source.into();
        self
    }

    /// Adds everything of `other` to this model (merging several inputs into one picture).
    pub fn merge(self, other: &GraphModel) -> GraphModel {
        let mut b = Builder::default();
        let mut cycles = Vec::new();
        for m in [&self, other] {
            for n in &m.nodes {
                let i = b.node(&n.name, n.kind.clone());
                for d in &n.details {
                    b.node_detail(i, d.clone());
                }
            }
            for e in &m.edges {
                let (f, t) = (&m.nodes[e.from].name, &m.nodes[e.to].name);
                let i = b.edge(f, t, &e.types, e.first_seen.clone(), e.details.clone());
                if e.in_cycle {
                    b.mark_edge_in_cycle(i);
                }
            }
            for c in &m.cycles {
                cycles.push(
                    c.iter()
                        .map(|&i| m.nodes[i].name.clone())
                        .collect::<Vec<_>>(),
                );
            }
        }
        for c in &cycles {
            b.cycle(c);
        }
        let source = match (self.source.is_empty(), other.source.is_empty()) {
            (false, false) => format!("{}, {}", self.source, other.source),
            (false, true) => self.source.clone(),
            _ => other.source.clone(),
        };
        let mut m = b.finish(&source);
        m.isolated = self.isolated + other.isolated;
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_merge_in_canonical_order() {
        assert_eq!(merge_types("SR", "EN"), "EN|SR");
        assert_eq!(merge_types("?", "xN"), "xN");
        assert_eq!(merge_types("", ""), "?");
        assert_eq!(merge_types("EN|SR", "SR"), "EN|SR");
    }

    #[test]
    fn cycles_are_equal_up_to_rotation() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_cycle(&s(&["a", "b", "c"]), &s(&["c", "a", "b"])));
        assert!(!same_cycle(&s(&["a", "b", "c"]), &s(&["a", "c", "b"])));
        assert_eq!(
            canonical_cycle(&s(&["c", "a", "b"])),
            canonical_cycle(&s(&["a", "b", "c"]))
        );
        assert_ne!(
            canonical_cycle(&s(&["a", "b", "c"])),
            canonical_cycle(&s(&["a", "c", "b"]))
        );
        // A repeated name: the rotations still compare whole.
        assert_eq!(
            canonical_cycle(&s(&["a", "x", "a", "y"])),
            canonical_cycle(&s(&["a", "y", "a", "x"]))
        );
    }

    #[test]
    fn details_are_bounded_and_count_what_was_left_out() {
        let mut d = Vec::new();
        for i in 0..MAX_NODE_DETAILS + 5 {
            add_detail(&mut d, format!("line {i}"), MAX_NODE_DETAILS);
            add_detail(&mut d, "line 0".to_string(), MAX_NODE_DETAILS);
        }
        assert_eq!(d.len(), MAX_NODE_DETAILS + 1);
        assert_eq!(d.last().unwrap(), "... 5 more detail lines left out");
    }

    #[test]
    fn short_sites_keep_two_components() {
        assert_eq!(short_site("/home/u/p/src/bank.rs:12:5"), "src/bank.rs:12:5");
        assert_eq!(short_site("src/bank.rs:12:5"), "src/bank.rs:12:5");
        assert_eq!(short_site("main.rs"), "main.rs");
    }

    #[test]
    fn closing_edge_is_added_and_marked() {
        let mut b = Builder::default();
        b.edge("A", "B", "EN", "x".into(), vec![]);
        b.cycle(&["A".to_string(), "B".to_string()]);
        b.cycle(&["B".to_string(), "A".to_string()]);
        let m = b.finish("t");
        assert_eq!(m.edges.len(), 2);
        assert!(m.edges.iter().all(|e| e.in_cycle));
        assert_eq!(m.cycles, vec![vec![0, 1]]);
        assert_eq!(m.edges[1].types, "?");
    }
}
