//! The class dependency graph and lockdep's strong-path search.
//!
//! Nodes are classes (node index = [`ClassId`]), edges are "taken while holding" dependencies
//! carrying their type bits. The module knows nothing about threads or locks; witness data for an
//! edge is built lazily, only when the edge is new.

use std::collections::VecDeque;
use std::sync::Arc;

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::class::{ClassId, Site};
use crate::held::Mode;

/// Dependency type bits, as lockdep: what the source holder is × what blocks the target.
///
/// `S`/`E` = the earlier lock is held shared / exclusive; `R`/`N` = the later lock is acquired
/// as a recursive reader / anything else (writer or non-recursive reader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DepTypes(pub u8);

impl DepTypes {
    /// Shared holder → recursive reader.
    pub const SR: u8 = 1;
    /// Exclusive holder → recursive reader.
    pub const ER: u8 = 2;
    /// Shared holder → non-recursive acquirer.
    pub const SN: u8 = 4;
    /// Exclusive holder → non-recursive acquirer.
    pub const EN: u8 = 8;
    const SX: u8 = Self::SR | Self::SN;
    const XN: u8 = Self::SN | Self::EN;

    /// The type of the dependency "holding `prev` in `prev_mode`, acquire in `next_mode`".
    pub fn of(prev_mode: Mode, next_mode: Mode) -> Self {
        let exclusive = prev_mode == Mode::Write;
        let recursive = next_mode == Mode::ReadRecursive;
        DepTypes(match (exclusive, recursive) {
            (false, true) => Self::SR,
            (true, true) => Self::ER,
            (false, false) => Self::SN,
            (true, false) => Self::EN,
        })
    }

    /// Whether every bit of `other` is already present.
    pub fn contains(self, other: DepTypes) -> bool {
        self.0 & other.0 == other.0
    }

    /// The strongest single type present, for labels: `EN`, `ER`, `SN` or `SR`.
    pub fn label(self) -> &'static str {
        if self.0 & Self::EN != 0 {
            "EN"
        } else if self.0 & Self::ER != 0 {
            "ER"
        } else if self.0 & Self::SN != 0 {
            "SN"
        } else {
            "SR"
        }
    }

    /// Every type present, e.g. `EN|SR`.
    pub fn labels(self) -> String {
        let mut out = Vec::new();
        for (bit, name) in [
            (Self::EN, "EN"),
            (Self::ER, "ER"),
            (Self::SN, "SN"),
            (Self::SR, "SR"),
        ] {
            if self.0 & bit != 0 {
                out.push(name);
            }
        }
        out.join("|")
    }
}

/// Where and how a dependency was first seen.
#[derive(Clone, Debug)]
pub struct Witness {
    /// The thread that took the two locks.
    pub thread: Arc<str>,
    /// Where the earlier (held) lock was acquired.
    pub from_site: Site,
    /// Where the later lock was acquired.
    pub to_site: Site,
    /// How the held lock was held.
    pub from_mode: Mode,
    /// How the later lock was acquired.
    pub to_mode: Mode,
    /// A backtrace of the later acquisition, when capture was enabled.
    pub backtrace: Option<Arc<str>>,
}

/// An edge of the graph.
#[derive(Clone, Debug)]
pub(crate) struct Dependency {
    pub(crate) types: DepTypes,
    pub(crate) witness: Arc<Witness>,
}

/// One step of a path found by the search.
#[derive(Clone, Debug)]
pub(crate) struct PathStep {
    pub(crate) from: ClassId,
    pub(crate) to: ClassId,
    pub(crate) types: DepTypes,
    pub(crate) witness: Arc<Witness>,
}

/// The graph plus reusable search scratch space (searches touch only the nodes they visit).
#[derive(Default)]
pub(crate) struct DepGraph {
    g: DiGraph<(), Dependency, u32>,
    stamp: Vec<u32>,
    generation: u32,
    // Per (node, only_xr) state: the edge used to reach it (u32::MAX at the root) and the state
    // of the node that edge came from.
    parent: Vec<[(u32, bool); 2]>,
    seen: Vec<[bool; 2]>,
    queue: VecDeque<(u32, bool)>,
    out_edges: Vec<(u32, u8, u32)>,
}

impl DepGraph {
    pub(crate) fn ensure_node(&mut self, class: ClassId) {
        while self.g.node_count() <= class.index() {
            self.g.add_node(());
            self.stamp.push(0);
            self.parent.push([(u32::MAX, false); 2]);
            self.seen.push([false; 2]);
        }
    }

    pub(crate) fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// The types already recorded for `from → to`.
    pub(crate) fn edge_types(&self, from: ClassId, to: ClassId) -> Option<DepTypes> {
        self.g
            .find_edge(node(from), node(to))
            .map(|e| self.g[e].types)
    }

    /// Records `from → to` with `types`; the witness is built only for a new edge.
    pub(crate) fn add(
        &mut self,
        from: ClassId,
        to: ClassId,
        types: DepTypes,
        witness: impl FnOnce() -> Witness,
    ) {
        self.ensure_node(from.max(to));
        match self.g.find_edge(node(from), node(to)) {
            Some(e) => self.g[e].types.0 |= types.0,
            None => {
                self.g.add_edge(
                    node(from),
                    node(to),
                    Dependency {
                        types,
                        witness: Arc::new(witness()),
                    },
                );
            }
        }
    }

    /// Every edge as `(from, to, types, witness)`.
    pub(crate) fn edges(
        &self,
    ) -> impl Iterator<Item = (ClassId, ClassId, DepTypes, &Arc<Witness>)> {
        self.g.edge_references().map(|e| {
            (
                ClassId(e.source().index() as u32),
                ClassId(e.target().index() as u32),
                e.weight().types,
                &e.weight().witness,
            )
        })
    }

    /// Shortest *strong* path `src → … → target` (lockdep's `check_noncircular`).
    ///
    /// A path is strong when no `-(xR)->` edge is followed by an `-(Sx)->` edge. `src_recursive`
    /// says the new acquisition is a recursive read (the path may then not start with `S*`), and
    /// `target_exclusive` that the held `target` is held exclusively (then any path ending counts;
    /// otherwise the path must end in `*N`).
    pub(crate) fn strong_path(
        &mut self,
        src: ClassId,
        src_recursive: bool,
        target: ClassId,
        target_exclusive: bool,
    ) -> Option<Vec<PathStep>> {
        if src.index() >= self.g.node_count() || target.index() >= self.g.node_count() {
            return None;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let generation = self.generation;
        self.queue.clear();
        self.visit(src.0, src_recursive, (u32::MAX, false), generation);
        self.queue.push_back((src.0, src_recursive));

        let mut out_edges = std::mem::take(&mut self.out_edges);
        let mut found = None;
        'search: while let Some((n, only_xr)) = self.queue.pop_front() {
            out_edges.clear();
            out_edges.extend(self.g.edges(NodeIndex::new(n as usize)).map(|e| {
                (
                    e.target().index() as u32,
                    e.weight().types.0,
                    e.id().index() as u32,
                )
            }));
            for &(t, types, edge) in &out_edges {
                let mut bits = types;
                if only_xr {
                    // Reached through *R: the next edge may not start Shared.
                    bits &= !DepTypes::SX;
                }
                if bits == 0 {
                    continue;
                }
                let next_only_xr = bits & DepTypes::XN == 0;
                let via = (edge, only_xr);
                if t == target.0 && (target_exclusive || !next_only_xr) {
                    self.parent_set(t, next_only_xr, via, generation);
                    found = Some((t, next_only_xr));
                    break 'search;
                }
                if self.visit(t, next_only_xr, via, generation) {
                    self.queue.push_back((t, next_only_xr));
                }
            }
        }
        self.out_edges = out_edges;
        found.map(|(t, only_xr)| self.path_to(t, only_xr))
    }

    /// Marks `(n, only_xr)` reached through `edge`; false if it (or the stronger state) was seen.
    fn visit(&mut self, n: u32, only_xr: bool, via: (u32, bool), generation: u32) -> bool {
        let i = n as usize;
        if self.stamp[i] != generation {
            self.stamp[i] = generation;
            self.seen[i] = [false; 2];
        }
        // Reached via *N (only_xr = false) dominates: every continuation is allowed from there.
        if self.seen[i][0] || (only_xr && self.seen[i][1]) {
            return false;
        }
        self.seen[i][only_xr as usize] = true;
        self.parent[i][only_xr as usize] = via;
        true
    }

    fn parent_set(&mut self, n: u32, only_xr: bool, via: (u32, bool), generation: u32) {
        let i = n as usize;
        if self.stamp[i] != generation {
            self.stamp[i] = generation;
            self.seen[i] = [false; 2];
        }
        self.parent[i][only_xr as usize] = via;
    }

    fn path_to(&self, mut n: u32, mut only_xr: bool) -> Vec<PathStep> {
        let mut steps = Vec::new();
        // Bounded: each (node, state) pair is on the path at most once.
        for _ in 0..=self.g.node_count() * 2 {
            let (e, parent_only_xr) = self.parent[n as usize][only_xr as usize];
            if e == u32::MAX {
                break;
            }
            let idx = EdgeIndex::new(e as usize);
            let Some((from, to)) = self.g.edge_endpoints(idx) else {
                break;
            };
            let dep = &self.g[idx];
            steps.push(PathStep {
                from: ClassId(from.index() as u32),
                to: ClassId(to.index() as u32),
                types: dep.types,
                witness: dep.witness.clone(),
            });
            n = from.index() as u32;
            only_xr = parent_only_xr;
        }
        steps.reverse();
        steps
    }
}

fn node(c: ClassId) -> NodeIndex<u32> {
    NodeIndex::new(c.index())
}
