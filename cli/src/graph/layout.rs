//! A layered ("Sugiyama") layout, so the SVG needs no Graphviz.
//!
//! 1. Cycles are broken by reversing the back edges of a depth-first search (roots: classes
//!    nothing depends on, then the rest in index order); reversed edges are drawn upwards.
//! 2. Ranks by longest path from the sources; a source is then pulled down next to its highest
//!    successor so its edges stay short.
//! 3. Every rank becomes two layers: one for classes, one between them for edge labels. An edge
//!    becomes a chain of virtual items, one per layer it crosses; one of them (the middle one)
//!    carries its label and is as wide as the label, so labels never overlap classes or each
//!    other.
//! 4. Order within layers: barycenter sweeps, down and up, keeping the order with the fewest
//!    crossings.
//! 5. X coordinates: repeated sweeps pulling every item to the mean of its neighbours, solved
//!    per layer as an isotonic regression with minimum gaps (order kept, no overlap).
//! 6. Y coordinates from the layer heights; edges route through their items' positions, with
//!    the ports on a box's border spread in the order the edges leave.

/// Minimum horizontal gap between two boxes (or a box and a label).
const SEP: f64 = 22.0;
/// Minimum horizontal gap next to a virtual item without a label.
const SEP_VIRTUAL: f64 = 10.0;
/// Vertical gap between layers.
const LAYER_GAP: f64 = 18.0;
/// The edge line runs this far right of a label item's left side; the text starts after it.
pub(crate) const LABEL_LINE: f64 = 4.0;
/// Horizontal room a self-loop takes right of its box before its label.
pub(crate) const LOOP_ROOM: f64 = 30.0;

/// A dependency to lay out: `from` depends-on `to`, with a label of `label` (width, height).
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeIn {
    pub from: usize,
    pub to: usize,
    pub label: (f64, f64),
}

/// Where one edge goes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Route {
    /// Polyline from the source's border to the target's border (the drawing smooths it).
    /// For a self-loop: the single point on the box's right side where the loop is attached.
    pub points: Vec<(f64, f64)>,
    /// Top-left corner of the label.
    pub label: (f64, f64),
    /// Drawn against the layering (a back edge of the cycle breaking).
    pub reversed: bool,
    /// A dependency of a class on itself.
    pub self_loop: bool,
}

/// Positions of everything.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    /// Center of each box.
    pub centers: Vec<(f64, f64)>,
    /// One route per input edge, in input order.
    pub routes: Vec<Route>,
    /// Extent of the drawing (from 0,0).
    pub width: f64,
    pub height: f64,
    /// Edge crossings between adjacent layers of the chosen order.
    pub crossings: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ItemKind {
    Node,
    Virtual,
    Label(usize),
}

#[derive(Clone, Debug)]
struct Item {
    layer: usize,
    // Extent left and right of the item's anchor x (the line an edge follows; a box's center).
    left: f64,
    right: f64,
    h: f64,
    kind: ItemKind,
}

/// Lays out boxes of `sizes` (width, height) connected by `edges`.
pub(crate) fn layout(sizes: &[(f64, f64)], edges: &[EdgeIn]) -> Layout {
    let n = sizes.len();
    let reversed = break_cycles(n, edges);
    let rank = ranks(n, edges, &reversed);

    // Items: boxes first (item i = node i), then the virtual items of each edge.
    let mut items: Vec<Item> = sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| Item {
            layer: 2 * rank[i],
            left: w / 2.0,
            right: w / 2.0,
            h,
            kind: ItemKind::Node,
        })
        .collect();
    for e in edges.iter().filter(|e| e.from == e.to) {
        let it = &mut items[e.from];
        it.right += LOOP_ROOM + e.label.0;
        it.h = it.h.max(e.label.1);
    }
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); edges.len()];
    for (ei, e) in edges.iter().enumerate() {
        if e.from == e.to {
            continue;
        }
        let (a, b) = if reversed[ei] {
            (e.to, e.from)
        } else {
            (e.from, e.to)
        };
        let (la, lb) = (items[a].layer, items[b].layer);
        let k = lb - la - 1;
        let label_at = k / 2;
        let mut chain = vec![a];
        for j in 0..k {
            let (left, right, h, kind) = if j == label_at {
                (
                    LABEL_LINE,
                    LABEL_LINE + e.label.0.max(0.0),
                    e.label.1,
                    ItemKind::Label(ei),
                )
            } else {
                (0.0, 0.0, 0.0, ItemKind::Virtual)
            };
            chain.push(items.len());
            items.push(Item {
                layer: la + 1 + j,
                left,
                right,
                h,
                kind,
            });
        }
        chain.push(b);
        chains[ei] = chain;
    }
    let count = items.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); count];
    for chain in &chains {
        for w in chain.windows(2) {
            down[w[0]].push(w[1]);
            up[w[1]].push(w[0]);
        }
    }
    let layer_count = items.iter().map(|i| i.layer + 1).max().unwrap_or(0);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (i, it) in items.iter().enumerate() {
        layers[it.layer].push(i);
    }

    let crossings = order_layers(&mut layers, &up, &down, count);
    let mut x = x_coordinates(&layers, &items, &up, &down);
    straighten(&layers, &items, &chains, &mut x);

    // Y: each layer as tall as its tallest item.
    let mut layer_y = vec![0.0; layer_count];
    let mut layer_h = vec![0.0; layer_count];
    let mut top = 0.0;
    for (l, layer) in layers.iter().enumerate() {
        let h = layer.iter().map(|&i| items[i].h).fold(0.0, f64::max);
        layer_y[l] = top + h / 2.0;
        layer_h[l] = h;
        top += h + LAYER_GAP;
    }
    let height = (top - LAYER_GAP).max(0.0);
    let width = items
        .iter()
        .enumerate()
        .map(|(i, it)| x[i] + it.right)
        .fold(0.0, f64::max);
    let centers: Vec<(f64, f64)> = (0..n).map(|i| (x[i], layer_y[items[i].layer])).collect();

    // Ports: edges leaving a box's bottom (or entering its top) spread in the order of where
    // they go next.
    let mut bottom: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    let mut topp: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    for (ei, chain) in chains.iter().enumerate() {
        if chain.len() < 2 {
            continue;
        }
        let (a, b) = (chain[0], chain[chain.len() - 1]);
        bottom[a].push((x[chain[1]], ei));
        topp[b].push((x[chain[chain.len() - 2]], ei));
    }
    let port = |list: &mut Vec<(f64, usize)>, node: usize| -> Vec<(usize, f64)> {
        list.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
        let w = sizes[node].0;
        let k = list.len();
        list.iter()
            .enumerate()
            .map(|(j, &(_, ei))| {
                let px = if k == 1 {
                    x[node]
                } else {
                    x[node] - w * 0.35 + w * 0.7 * j as f64 / (k - 1) as f64
                };
                (ei, px)
            })
            .collect()
    };
    let mut start_x = vec![0.0; edges.len()];
    let mut end_x = vec![0.0; edges.len()];
    for node in 0..n {
        for (ei, px) in port(&mut bottom[node], node) {
            start_x[ei] = px;
        }
        for (ei, px) in port(&mut topp[node], node) {
            end_x[ei] = px;
        }
    }

    let routes = edges
        .iter()
        .enumerate()
        .map(|(ei, e)| {
            if e.from == e.to {
                let (cx, cy) = centers[e.from];
                let right = cx + sizes[e.from].0 / 2.0;
                return Route {
                    points: vec![(right, cy)],
                    label: (right + LOOP_ROOM - 4.0, cy - e.label.1 / 2.0),
                    reversed: false,
                    self_loop: true,
                };
            }
            let chain = &chains[ei];
            let (a, b) = (chain[0], chain[chain.len() - 1]);
            let mut points = vec![(start_x[ei], layer_y[items[a].layer] + sizes[a].1 / 2.0)];
            let mut label = (0.0, 0.0);
            // Through each layer straight down its band, so an edge moves sideways only
            // between layers and never across a box or a label.
            for &it in &chain[1..chain.len() - 1] {
                let l = items[it].layer;
                let (y, band) = (layer_y[l], layer_h[l] / 2.0);
                if band > 0.0 {
                    points.push((x[it], y - band));
                    points.push((x[it], y + band));
                } else {
                    points.push((x[it], y));
                }
                if let ItemKind::Label(_) = items[it].kind {
                    label = (x[it] + LABEL_LINE, y - items[it].h / 2.0);
                }
            }
            points.push((end_x[ei], layer_y[items[b].layer] - sizes[b].1 / 2.0));
            if reversed[ei] {
                points.reverse();
            }
            Route {
                points,
                label,
                reversed: reversed[ei],
                self_loop: false,
            }
        })
        .collect();
    Layout {
        centers,
        routes,
        width,
        height,
        crossings,
    }
}

/// Which edges to reverse so the graph becomes acyclic (back edges of a DFS).
fn break_cycles(n: usize, edges: &[EdgeIn]) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (i, e) in edges.iter().enumerate() {
        if e.from != e.to {
            out[e.from].push(i);
            indeg[e.to] += 1;
        }
    }
    let mut reversed = vec![false; edges.len()];
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; n];
    let roots = (0..n).filter(|&v| indeg[v] == 0).chain(0..n);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for r in roots {
        if state[r] != 0 {
            continue;
        }
        state[r] = 1;
        stack.push((r, 0));
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            if i < out[v].len() {
                top.1 += 1;
                let e = out[v][i];
                let w = edges[e].to;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[e] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    reversed
}

/// Longest-path ranks of the acyclic graph, sources pulled down next to their successors.
fn ranks(n: usize, edges: &[EdgeIn], reversed: &[bool]) -> Vec<usize> {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for (i, e) in edges.iter().enumerate() {
        if e.from == e.to {
            continue;
        }
        let (a, b) = if reversed[i] {
            (e.to, e.from)
        } else {
            (e.from, e.to)
        };
        succ[a].push(b);
        indeg[b] += 1;
    }
    let sources: Vec<bool> = indeg.iter().map(|&d| d == 0).collect();
    let mut rank = vec![0usize; n];
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut topo = Vec::with_capacity(n);
    while let Some(v) = queue.pop_front() {
        topo.push(v);
        for &w in &succ[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push_back(w);
            }
        }
    }
    for &v in topo.iter().rev() {
        if sources[v]
            && let Some(m) = succ[v].iter().map(|&w| rank[w]).min()
        {
            rank[v] = m.saturating_sub(1);
        }
    }
    rank
}

/// Barycenter sweeps; returns the crossings of the order kept.
fn order_layers(
    layers: &mut [Vec<usize>],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
    count: usize,
) -> usize {
    let mut pos = vec![0usize; count];
    let set_pos = |layers: &[Vec<usize>], pos: &mut Vec<usize>| {
        for layer in layers {
            for (p, &i) in layer.iter().enumerate() {
                pos[i] = p;
            }
        }
    };
    set_pos(layers, &mut pos);
    let iterations = if count > 40_000 {
        4
    } else if count > 5_000 {
        8
    } else {
        24
    };
    let mut best = crossings(layers, &pos, down);
    let mut best_layers = layers.to_vec();
    let sweep = |layer: &mut Vec<usize>, pos: &mut Vec<usize>, nb: &[Vec<usize>]| {
        let mut keyed: Vec<(f64, usize, usize)> = layer
            .iter()
            .map(|&i| {
                let key = if nb[i].is_empty() {
                    pos[i] as f64
                } else {
                    nb[i].iter().map(|&j| pos[j] as f64).sum::<f64>() / nb[i].len() as f64
                };
                (key, pos[i], i)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (p, &(_, _, i)) in keyed.iter().enumerate() {
            layer[p] = i;
            pos[i] = p;
        }
    };
    for it in 0..iterations {
        if best == 0 {
            break;
        }
        if it % 2 == 0 {
            for layer in layers.iter_mut().skip(1) {
                sweep(layer, &mut pos, up);
            }
        } else {
            for layer in layers.iter_mut().rev().skip(1) {
                sweep(layer, &mut pos, down);
            }
        }
        let c = crossings(layers, &pos, down);
        if c < best {
            best = c;
            best_layers = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best_layers);
    best
}

/// Crossings between adjacent layers: inversions of lower positions in upper order.
fn crossings(layers: &[Vec<usize>], pos: &[usize], down: &[Vec<usize>]) -> usize {
    let mut total = 0;
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for l in 0..layers.len().saturating_sub(1) {
        pairs.clear();
        for &a in &layers[l] {
            for &b in &down[a] {
                pairs.push((pos[a], pos[b]));
            }
        }
        pairs.sort_unstable();
        let size = layers[l + 1].len() + 1;
        let mut tree = vec![0usize; size + 1];
        for (inserted, &(_, q)) in pairs.iter().enumerate() {
            // Inserted so far with a lower position greater than q cross this one.
            let mut i = q + 1;
            let mut le = 0;
            while i > 0 {
                le += tree[i];
                i &= i - 1;
            }
            total += inserted - le;
            let mut i = q + 1;
            while i <= size {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// X of every item's anchor: neighbours pull, order and gaps hold.
fn x_coordinates(
    layers: &[Vec<usize>],
    items: &[Item],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
) -> Vec<f64> {
    let mut x = vec![0.0; items.len()];
    let gap = |a: &Item, b: &Item| {
        let sep = if a.kind == ItemKind::Virtual || b.kind == ItemKind::Virtual {
            SEP_VIRTUAL
        } else {
            SEP
        };
        a.right + b.left + sep
    };
    for layer in layers {
        let mut at = 0.0;
        for (p, &i) in layer.iter().enumerate() {
            if p > 0 {
                at += gap(&items[layer[p - 1]], &items[i]);
            }
            x[i] = at;
        }
    }
    let total: usize = items.len();
    let rounds = if total > 40_000 { 6 } else { 16 };
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..layers.len()).collect()
        } else {
            (0..layers.len()).rev().collect()
        };
        let both = round + 4 >= rounds;
        for l in order {
            let layer = &layers[l];
            let mut desired = Vec::with_capacity(layer.len());
            let mut weight = Vec::with_capacity(layer.len());
            for &i in layer {
                let nb: Vec<usize> = if both {
                    up[i].iter().chain(&down[i]).copied().collect()
                } else if round % 2 == 0 {
                    up[i].clone()
                } else {
                    down[i].clone()
                };
                if nb.is_empty() {
                    desired.push(x[i]);
                    weight.push(0.01);
                } else {
                    desired.push(nb.iter().map(|&j| x[j]).sum::<f64>() / nb.len() as f64);
                    // Virtual items pull harder: long edges run straight.
                    weight.push(if items[i].kind == ItemKind::Node {
                        1.0
                    } else {
                        8.0
                    });
                }
            }
            let gaps: Vec<f64> = layer
                .windows(2)
                .map(|w| gap(&items[w[0]], &items[w[1]]))
                .collect();
            let placed = isotonic(&desired, &weight, &gaps);
            for (p, &i) in layer.iter().enumerate() {
                x[i] = placed[p];
            }
        }
    }
    let min = items
        .iter()
        .enumerate()
        .map(|(i, it)| x[i] - it.left)
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        for v in &mut x {
            *v -= min;
        }
    }
    x
}

/// Lines up the virtual items of each long edge on one x where their layers leave room, so
/// long edges run straight instead of stepping from layer to layer.
fn straighten(layers: &[Vec<usize>], items: &[Item], chains: &[Vec<usize>], x: &mut [f64]) {
    let mut pos = vec![0usize; items.len()];
    for layer in layers {
        for (p, &i) in layer.iter().enumerate() {
            pos[i] = p;
        }
    }
    let sep = |a: &Item, b: &Item| {
        let s = if a.kind == ItemKind::Virtual || b.kind == ItemKind::Virtual {
            SEP_VIRTUAL
        } else {
            SEP
        };
        a.right + b.left + s
    };
    let fits = |i: usize, target: f64, x: &[f64]| {
        let layer = &layers[items[i].layer];
        let p = pos[i];
        let left_ok = p == 0 || {
            let l = layer[p - 1];
            x[l] + sep(&items[l], &items[i]) <= target + 1e-9
        };
        let right_ok = p + 1 == layer.len() || {
            let r = layer[p + 1];
            target + sep(&items[i], &items[r]) <= x[r] + 1e-9
        };
        left_ok && right_ok
    };
    for chain in chains {
        if chain.len() < 4 {
            continue;
        }
        let inner = &chain[1..chain.len() - 1];
        // The candidate x most of the chain can take.
        let mut best: Option<(usize, f64)> = None;
        for &c in inner {
            let target = x[c];
            let ok = inner.iter().filter(|&&i| fits(i, target, x)).count();
            if best.is_none_or(|(b, _)| ok > b) {
                best = Some((ok, target));
            }
        }
        if let Some((_, target)) = best {
            for &i in inner {
                if fits(i, target, x) {
                    x[i] = target;
                }
            }
        }
    }
    let min = items
        .iter()
        .enumerate()
        .map(|(i, it)| x[i] - it.left)
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        for v in x.iter_mut() {
            *v -= min;
        }
    }
}

/// The positions closest (weighted least squares) to `desired` that keep the order and at
/// least `gaps[i]` between item i and i+1: pool-adjacent-violators on the gap-shifted values.
fn isotonic(desired: &[f64], weight: &[f64], gaps: &[f64]) -> Vec<f64> {
    let n = desired.len();
    let mut offset = vec![0.0; n];
    for i in 1..n {
        offset[i] = offset[i - 1] + gaps[i - 1];
    }
    // Blocks of (weighted sum, weight sum, item count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for i in 0..n {
        let w = weight[i].max(1e-6);
        blocks.push((w * (desired[i] - offset[i]), w, 1));
        while blocks.len() >= 2 {
            let (s2, w2, c2) = blocks[blocks.len() - 1];
            let (s1, w1, c1) = blocks[blocks.len() - 2];
            if s1 / w1 > s2 / w2 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, w1 + w2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (s, w, c) in blocks {
        for _ in 0..c {
            let i = out.len();
            out.push(s / w + offset[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: usize, to: usize) -> EdgeIn {
        EdgeIn {
            from,
            to,
            label: (40.0, 20.0),
        }
    }

    /// A deterministic pseudo-random graph (xorshift), `n` nodes, `m` edges, cycles allowed.
    fn random_graph(n: usize, m: usize, seed: u64) -> (Vec<(f64, f64)>, Vec<EdgeIn>) {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let sizes = (0..n)
            .map(|i| (60.0 + (i % 7) as f64 * 13.0, 26.0))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut edges = Vec::new();
        while edges.len() < m {
            let (a, b) = ((next() % n as u64) as usize, (next() % n as u64) as usize);
            if seen.insert((a, b)) {
                edges.push(edge(a, b));
            }
        }
        (sizes, edges)
    }

    fn boxes_overlap(l: &Layout, sizes: &[(f64, f64)]) -> Option<(usize, usize)> {
        for a in 0..sizes.len() {
            for b in a + 1..sizes.len() {
                let (ax, ay) = l.centers[a];
                let (bx, by) = l.centers[b];
                let dx = (ax - bx).abs() < (sizes[a].0 + sizes[b].0) / 2.0;
                let dy = (ay - by).abs() < (sizes[a].1 + sizes[b].1) / 2.0;
                if dx && dy {
                    return Some((a, b));
                }
            }
        }
        None
    }

    #[test]
    fn isotonic_keeps_order_and_gaps() {
        let p = isotonic(&[10.0, 0.0, 5.0], &[1.0, 1.0, 1.0], &[4.0, 4.0]);
        assert!(
            p[1] - p[0] >= 4.0 - 1e-9 && p[2] - p[1] >= 4.0 - 1e-9,
            "{p:?}"
        );
        // Unconstrained values stay put.
        assert_eq!(isotonic(&[0.0, 10.0], &[1.0, 1.0], &[4.0]), vec![0.0, 10.0]);
    }

    #[test]
    fn two_cycle_is_drawn_with_one_edge_reversed() {
        let sizes = vec![(80.0, 26.0), (80.0, 26.0)];
        let l = layout(&sizes, &[edge(0, 1), edge(1, 0)]);
        assert_eq!(l.routes.iter().filter(|r| r.reversed).count(), 1);
        assert_ne!(l.centers[0].1, l.centers[1].1, "on different layers");
        for (r, e) in l.routes.iter().zip([edge(0, 1), edge(1, 0)]) {
            // Starts on the source's border, ends on the target's.
            let (sx, sy) = l.centers[e.from];
            let (tx, ty) = l.centers[e.to];
            let first = r.points[0];
            let last = *r.points.last().unwrap();
            assert!((first.1 - sy).abs() <= 13.0 + 1e-9 && (first.0 - sx).abs() <= 40.0);
            assert!((last.1 - ty).abs() <= 13.0 + 1e-9 && (last.0 - tx).abs() <= 40.0);
        }
    }

    #[test]
    fn no_overlap_every_edge_routed_and_deterministic_on_random_graphs() {
        for (n, m, seed) in [(12, 20, 1), (60, 120, 7), (300, 450, 42)] {
            let (sizes, edges) = random_graph(n, m, seed);
            let l = layout(&sizes, &edges);
            assert_eq!(boxes_overlap(&l, &sizes), None, "n={n}");
            assert_eq!(l.routes.len(), edges.len());
            for (r, e) in l.routes.iter().zip(&edges) {
                if e.from == e.to {
                    assert!(r.self_loop);
                    continue;
                }
                assert!(r.points.len() >= 3, "at least source, label, target");
                assert!(r.points.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
                let top = if r.reversed { e.from } else { e.to };
                let end = if r.reversed {
                    r.points[0]
                } else {
                    *r.points.last().unwrap()
                };
                assert!((end.1 - (l.centers[top].1 - sizes[top].1 / 2.0)).abs() < 1e-9);
            }
            assert!(l.width > 0.0 && l.height > 0.0);
            assert_eq!(l, layout(&sizes, &edges), "deterministic");
        }
    }

    #[test]
    fn labels_do_not_overlap_boxes_or_each_other() {
        let (sizes, edges) = random_graph(40, 70, 3);
        let l = layout(&sizes, &edges);
        let mut rects: Vec<(f64, f64, f64, f64)> = sizes
            .iter()
            .zip(&l.centers)
            .map(|(&(w, h), &(x, y))| (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0))
            .collect();
        for (r, e) in l.routes.iter().zip(&edges) {
            if !r.self_loop {
                rects.push((
                    r.label.0,
                    r.label.1,
                    r.label.0 + e.label.0,
                    r.label.1 + e.label.1,
                ));
            }
        }
        for a in 0..rects.len() {
            for b in a + 1..rects.len() {
                let (p, q) = (rects[a], rects[b]);
                let overlap =
                    p.0 < q.2 - 1e-6 && q.0 < p.2 - 1e-6 && p.1 < q.3 - 1e-6 && q.1 < p.3 - 1e-6;
                assert!(!overlap, "{a} {b} {p:?} {q:?}");
            }
        }
    }

    #[test]
    fn sweeps_remove_avoidable_crossings() {
        // Two parallel chains given in crossing order: a0->b1, a1->b0 plus a0->c0 etc.
        let sizes = vec![(40.0, 20.0); 4];
        let l = layout(&sizes, &[edge(0, 3), edge(1, 2)]);
        assert_eq!(l.crossings, 0);
    }

    #[test]
    fn self_loops_get_room_on_the_right() {
        let sizes = vec![(80.0, 26.0), (80.0, 26.0)];
        let l = layout(&sizes, &[edge(0, 0), edge(0, 1)]);
        assert!(l.routes[0].self_loop);
        assert!(l.width >= 80.0 + LOOP_ROOM + 40.0);
    }
}
