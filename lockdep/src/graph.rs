//! The class dependency graph and lockdep's strong-path search.
//!
//! Nodes are classes (node index = [`ClassId`]), edges are "taken while holding" dependencies
//! carrying their type bits. The module knows nothing about threads or locks; witness data for an
//! edge is built lazily, only when the edge is new.
//!
//! New edges in big graphs: every node has a position in a topological order of the graph that
//! is kept up to date as edges arrive (Pearce–Kelly dynamic topological sort). An edge that agrees
//! with the order cannot close a cycle, so in the common case a new edge costs no search at all;
//! one against the order searches only the nodes between its endpoints in the order, and
//! reorders them. Only a cycle that is *not* a deadlock (it needs a recursive read, so lockdep's
//! strong-path rule lets it through) cannot be ordered; its edge is kept outside the order, and
//! while such edges exist, new edges against the order fall back to the strong-path search.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use petgraph::Direction::{Incoming, Outgoing};
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
    /// The other classes the thread held when it took the later lock: a lock held across
    /// every dependency of a cycle may keep it from closing (a report says so).
    pub held_under: Arc<[ClassId]>,
}

/// An edge of the graph.
#[derive(Clone, Debug)]
pub(crate) struct Dependency {
    pub(crate) types: DepTypes,
    pub(crate) witness: Arc<Witness>,
    // Part of the topological order (false: it closes a cycle that is not a deadlock).
    ordered: bool,
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
    // (from << 32 | to) → edge: petgraph's own lookup walks the source's out-edge list, one cache
    // miss per edge, which dominates once classes have hundreds of dependencies.
    index: HashMap<u64, u32, BuildHasherDefault<PairHasher>>,
    stamp: Vec<u32>,
    generation: u32,
    // Per (node, only_xr) state: the edge used to reach it (u32::MAX at the root) and the state
    // of the node that edge came from.
    parent: Vec<[(u32, bool); 2]>,
    seen: Vec<[bool; 2]>,
    queue: VecDeque<(u32, bool)>,
    out_edges: Vec<(u32, u8, u32)>,
    order: Order,
}

/// The dynamic topological order and its scratch space.
#[derive(Default)]
struct Order {
    // Position of each node; every ordered edge goes from a lower to a higher position.
    pos: Vec<i64>,
    // Next free position below / above every node in use.
    lowest: i64,
    highest: i64,
    // Edges left out of the order.
    unordered: usize,
    // Visit marks for the bounded searches (generation-stamped, never cleared).
    mark: Vec<u32>,
    generation: u32,
    forward: Vec<u32>,
    backward: Vec<u32>,
    stack: Vec<u32>,
    // The (from, to) whose forward region `forward` holds, if still valid.
    forward_for: Option<(u32, u32)>,
}

impl DepGraph {
    pub(crate) fn ensure_node(&mut self, class: ClassId) {
        while self.g.node_count() <= class.index() {
            self.g.add_node(());
            self.stamp.push(0);
            self.parent.push([(u32::MAX, false); 2]);
            self.seen.push([false; 2]);
            self.order.pos.push(self.order.highest);
            self.order.highest += 1;
            self.order.mark.push(0);
        }
    }

    /// Whether no path `from → … → to` can exist, decided without a full search: `from` has no
    /// outgoing or `to` no incoming edges, or the topological order puts `to` first, or a search
    /// of the nodes between them in the order does not reach `to`. `false` means "maybe": run
    /// [`strong_path`](Self::strong_path).
    pub(crate) fn surely_unreachable(&mut self, from: ClassId, to: ClassId) -> bool {
        if from.index() >= self.g.node_count() || to.index() >= self.g.node_count() {
            return true;
        }
        if from == to {
            return false;
        }
        let (f, t) = (node(from), node(to));
        if self.g.edges_directed(f, Outgoing).next().is_none()
            || self.g.edges_directed(t, Incoming).next().is_none()
        {
            return true;
        }
        if self.order.unordered > 0 {
            return false;
        }
        let (pf, pt) = (self.order.pos[from.index()], self.order.pos[to.index()]);
        if pf > pt {
            return true;
        }
        // Every path from `from` to `to` stays between their positions: search only there. The
        // region found is what adding `to → from` reorders, so keep it.
        let reached = self.region_forward(from.0, pt);
        self.order.forward_for = (!reached).then_some((from.0, to.0));
        !reached
    }

    /// Nodes reachable from `start` over ordered edges with positions up to `limit`, into
    /// `order.forward`; true if a node at position `limit` itself was reached.
    fn region_forward(&mut self, start: u32, limit: i64) -> bool {
        let gen_ = self.order.next_generation();
        let o = &mut self.order;
        o.forward.clear();
        o.stack.clear();
        o.stack.push(start);
        o.mark[start as usize] = gen_;
        while let Some(n) = o.stack.pop() {
            o.forward.push(n);
            for e in self.g.edges_directed(NodeIndex::new(n as usize), Outgoing) {
                if !e.weight().ordered {
                    continue;
                }
                let t = e.target().index();
                let p = o.pos[t];
                if p == limit {
                    return true;
                }
                if p < limit && o.mark[t] != gen_ {
                    o.mark[t] = gen_;
                    o.stack.push(t as u32);
                }
            }
        }
        false
    }

    /// Nodes that reach `start` over ordered edges with positions above `limit`, into
    /// `order.backward`.
    fn region_backward(&mut self, start: u32, limit: i64) {
        let gen_ = self.order.next_generation();
        let o = &mut self.order;
        o.backward.clear();
        o.stack.clear();
        o.stack.push(start);
        o.mark[start as usize] = gen_;
        while let Some(n) = o.stack.pop() {
            o.backward.push(n);
            for e in self.g.edges_directed(NodeIndex::new(n as usize), Incoming) {
                if !e.weight().ordered {
                    continue;
                }
                let s = e.source().index();
                if o.pos[s] > limit && o.mark[s] != gen_ {
                    o.mark[s] = gen_;
                    o.stack.push(s as u32);
                }
            }
        }
    }

    /// Fits a new edge `from → to` into the order; false if it closes a cycle of ordered edges
    /// (then it stays out of the order).
    fn place(&mut self, from: ClassId, to: ClassId) -> bool {
        let (pf, pt) = (self.order.pos[from.index()], self.order.pos[to.index()]);
        if pf < pt {
            return true;
        }
        // Cheap cases: a node with no ordered edges on one side can move to either end.
        if !self.has_ordered(node(from), Incoming) {
            self.order.lowest -= 1;
            self.order.pos[from.index()] = self.order.lowest;
            return true;
        }
        if !self.has_ordered(node(to), Outgoing) {
            self.order.pos[to.index()] = self.order.highest;
            self.order.highest += 1;
            return true;
        }
        // Pearce–Kelly: the nodes after `to` and before `from` that must move.
        if self.order.forward_for != Some((to.0, from.0)) && self.region_forward(to.0, pf) {
            return false;
        }
        self.region_backward(from.0, pt);
        let o = &mut self.order;
        let pos = &o.pos;
        o.backward.sort_unstable_by_key(|&n| pos[n as usize]);
        o.forward.sort_unstable_by_key(|&n| pos[n as usize]);
        let mut slots: Vec<i64> = o
            .backward
            .iter()
            .chain(o.forward.iter())
            .map(|&n| pos[n as usize])
            .collect();
        slots.sort_unstable();
        for (&n, &slot) in o.backward.iter().chain(o.forward.iter()).zip(&slots) {
            o.pos[n as usize] = slot;
        }
        true
    }

    fn has_ordered(&self, n: NodeIndex<u32>, dir: petgraph::Direction) -> bool {
        self.g.edges_directed(n, dir).any(|e| e.weight().ordered)
    }

    /// Edges left out of the topological order (each closes a cycle that is not a deadlock).
    #[cfg(test)]
    pub(crate) fn unordered_edges(&self) -> usize {
        self.order.unordered
    }

    pub(crate) fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    fn find(&self, from: ClassId, to: ClassId) -> Option<EdgeIndex<u32>> {
        self.index
            .get(&pair(from, to))
            .map(|&e| EdgeIndex::new(e as usize))
    }

    /// The types already recorded for `from → to`.
    pub(crate) fn edge_types(&self, from: ClassId, to: ClassId) -> Option<DepTypes> {
        self.find(from, to).map(|e| self.g[e].types)
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
        match self.find(from, to) {
            Some(e) => self.g[e].types.0 |= types.0,
            None => {
                let ordered = from != to && self.place(from, to);
                if !ordered {
                    self.order.unordered += 1;
                }
                let e = self.g.add_edge(
                    node(from),
                    node(to),
                    Dependency {
                        types,
                        witness: Arc::new(witness()),
                        ordered,
                    },
                );
                self.index.insert(pair(from, to), e.index() as u32);
            }
        }
        self.order.forward_for = None;
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

fn pair(from: ClassId, to: ClassId) -> u64 {
    ((from.0 as u64) << 32) | to.0 as u64
}

/// A multiplicative hash for the edge index: its keys are pairs of dense class ids, not
/// attacker-chosen, so SipHash's protection buys nothing here.
#[derive(Default)]
pub(crate) struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

impl Order {
    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.generation = 1;
        }
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn witness() -> Witness {
        Witness {
            thread: "t".into(),
            from_site: Site::Unknown,
            to_site: Site::Unknown,
            from_mode: Mode::Write,
            to_mode: Mode::Write,
            backtrace: None,
            held_under: Arc::new([]),
        }
    }

    fn check_order(g: &DepGraph) {
        for e in g.g.edge_references() {
            if e.weight().ordered {
                let (s, t) = (e.source().index(), e.target().index());
                assert!(
                    g.order.pos[s] < g.order.pos[t],
                    "edge {s}->{t} against the order"
                );
            }
        }
        let mut seen: Vec<i64> = g.order.pos.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), g.order.pos.len(), "positions are unique");
    }

    /// The order-pruned check finds a (strong) path exactly when the plain search does, for
    /// random insertion sequences with every kind of edge, and the order stays topological.
    #[test]
    fn pruned_search_agrees_with_the_full_search() {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let modes = [Mode::Write, Mode::Read, Mode::ReadRecursive];
        let mut unordered = 0;
        for round in 0..60 {
            let nodes = 4 + (round % 20) as u32;
            let read_heavy = round % 3 == 0;
            let mut g = DepGraph::default();
            g.ensure_node(ClassId(nodes - 1));
            for _ in 0..nodes * 6 {
                let p = ClassId((next() % nodes as u64) as u32);
                let n = ClassId((next() % nodes as u64) as u32);
                if p == n {
                    continue;
                }
                let (pm, nm) = if read_heavy {
                    (modes[(next() % 3) as usize], modes[(next() % 3) as usize])
                } else {
                    (Mode::Write, Mode::Write)
                };
                let types = DepTypes::of(pm, nm);
                if g.edge_types(p, n).is_some_and(|k| k.contains(types)) {
                    continue;
                }
                let rec = nm == Mode::ReadRecursive;
                let excl = pm == Mode::Write;
                let full = g.strong_path(n, rec, p, excl).is_some();
                let pruned =
                    !g.surely_unreachable(n, p) && g.strong_path(n, rec, p, excl).is_some();
                assert_eq!(full, pruned, "round {round}: {p:?} -> {n:?} {types:?}");
                if !full {
                    g.add(p, n, types, witness);
                }
                check_order(&g);
            }
            if !read_heavy {
                assert_eq!(g.unordered_edges(), 0, "exclusive-only graphs stay acyclic");
            }
            unordered += g.unordered_edges();
        }
        // The fallback for cycles that are not deadlocks was exercised too.
        assert!(unordered > 0);
    }

    /// A new edge against the order moves only the nodes between its endpoints.
    #[test]
    fn an_edge_against_the_order_reorders_the_affected_region() {
        let mut g = DepGraph::default();
        let c = |i| ClassId(i);
        g.ensure_node(c(5));
        // 2 -> 4 and 0 -> 3, then 3 -> 2 against the creation order.
        g.add(c(2), c(4), DepTypes(DepTypes::EN), witness);
        g.add(c(0), c(3), DepTypes(DepTypes::EN), witness);
        assert!(g.surely_unreachable(c(2), c(3)));
        g.add(c(3), c(2), DepTypes(DepTypes::EN), witness);
        check_order(&g);
        assert!(g.order.pos[0] < g.order.pos[3]);
        assert!(g.order.pos[3] < g.order.pos[2]);
        assert!(g.order.pos[2] < g.order.pos[4]);
        // Now 4 -> 0 closes 0 -> 3 -> 2 -> 4 -> 0: the order cannot prove otherwise.
        assert!(!g.surely_unreachable(c(0), c(4)));
        assert!(g.strong_path(c(0), false, c(4), true).is_some());
    }
}
