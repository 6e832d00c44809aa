//! Choosing what to draw, so a graph of thousands of classes stays readable.

use super::{GraphModel, GraphOptions};

/// The part of a model that is drawn, with notes saying what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The drawn classes and the dependencies between them; [`super::GraphNode::hidden`]
    /// counts each class's dependencies that were left out.
    pub model: GraphModel,
    /// One sentence per rule that applied (shown in the picture and as DOT comments).
    pub notes: Vec<String>,
}

impl Selection {
    /// Applies the selection rules of `opts` (see `docs/graph.md`):
    /// - `all`: everything;
    /// - a model with cycles: every cycle class plus its neighbours (classes one dependency
    ///   away, either direction), the neighbours most tied to the cycles first, up to
    ///   `max_nodes`;
    /// - a model without cycles: everything up to `max_nodes` classes, else the best-connected
    ///   `max_nodes`.
    ///
    /// ```
    /// use lockcheck::graph::{GraphModel, GraphOptions, Selection};
    /// let s = Selection::of(&GraphModel::default(), &GraphOptions::default());
    /// assert_eq!(s.notes, vec!["no lock dependencies recorded".to_string()]);
    /// ```
    pub fn of(model: &GraphModel, opts: &GraphOptions) -> Selection {
        let n = model.nodes.len();
        let mut notes = Vec::new();
        let mut degree = vec![0usize; n];
        for e in &model.edges {
            degree[e.from] += 1;
            if e.to != e.from {
                degree[e.to] += 1;
            }
        }
        let in_cycle = model.nodes.iter().filter(|x| x.in_cycle).count();
        let mut keep = vec![false; n];
        if n == 0 {
            notes.push("no lock dependencies recorded".to_string());
        } else if opts.all {
            keep.iter_mut().for_each(|k| *k = true);
        } else if in_cycle > 0 {
            // Ties to the cycles: neighbours with more dependencies into cycle classes first.
            let mut tie = vec![0usize; n];
            for e in &model.edges {
                let (f, t) = (&model.nodes[e.from], &model.nodes[e.to]);
                if f.in_cycle && !t.in_cycle {
                    tie[e.to] += 1;
                }
                if t.in_cycle && !f.in_cycle {
                    tie[e.from] += 1;
                }
            }
            let mut neighbours: Vec<usize> = (0..n).filter(|&i| tie[i] > 0).collect();
            neighbours
                .sort_by_key(|&i| (std::cmp::Reverse(tie[i]), std::cmp::Reverse(degree[i]), i));
            for (i, node) in model.nodes.iter().enumerate() {
                keep[i] = node.in_cycle;
            }
            let room = opts.max_nodes.saturating_sub(in_cycle);
            for &i in neighbours.iter().take(room) {
                keep[i] = true;
            }
            let shown_neighbours = neighbours.len().min(room);
            let cycles = model.cycles.len().max(1);
            let head = format!(
                "showing the {in_cycle} classes of {cycles} cycle{}",
                plural(cycles)
            );
            notes.push(match (neighbours.len(), shown_neighbours) {
                (0, _) => format!("{head} (no neighbours)"),
                (all, shown) if all == shown => format!(
                    "{head} and {all} neighbour{} (classes one dependency away)",
                    plural(all)
                ),
                (all, shown) => {
                    format!("{head} and the {shown} of their {all} neighbours most tied to them")
                }
            });
        } else if n > opts.max_nodes {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(degree[i]), i));
            for &i in order.iter().take(opts.max_nodes) {
                keep[i] = true;
            }
            notes.push(format!(
                "no cycle; showing the {} best-connected of {n} classes",
                opts.max_nodes
            ));
        } else {
            keep.iter_mut().for_each(|k| *k = true);
            if !opts.all {
                notes.push("no cycle".to_string());
            }
        }
        if model.isolated > 0 {
            notes.push(format!(
                "{} class{} without any dependency not drawn",
                model.isolated,
                if model.isolated == 1 { "" } else { "es" }
            ));
        }
        let mut sub = restrict(model, &keep);
        if !opts.all && sub.edges.len() > opts.max_edges {
            notes.push(cap_edges(&mut sub, opts.max_edges));
        }
        let (shown_n, shown_e) = (sub.nodes.len(), sub.edges.len());
        if shown_n < n || shown_e < model.edges.len() {
            notes.push(format!(
                "{shown_n} of {n} classes and {shown_e} of {} dependencies drawn; --all draws everything",
                model.edges.len()
            ));
        }
        Selection { model: sub, notes }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Keeps at most `max` dependencies of `m` (more when its cycles alone have more): every cycle
/// dependency, then those with most ends in cycle classes, then those between the
/// best-connected classes. Classes left with no drawn dependency (and in no cycle) go too.
/// Returns the note that says so.
fn cap_edges(m: &mut GraphModel, max: usize) -> String {
    let n = m.nodes.len();
    let before = m.edges.len();
    let mut degree = vec![0usize; n];
    for e in &m.edges {
        degree[e.from] += 1;
        degree[e.to] += 1;
    }
    let mut order: Vec<usize> = (0..m.edges.len()).collect();
    order.sort_by_key(|&i| {
        let e = &m.edges[i];
        let ends = usize::from(m.nodes[e.from].in_cycle) + usize::from(m.nodes[e.to].in_cycle);
        (
            !e.in_cycle,
            std::cmp::Reverse(ends),
            std::cmp::Reverse(degree[e.from] + degree[e.to]),
            i,
        )
    });
    let cycle_edges = m.edges.iter().filter(|e| e.in_cycle).count();
    let room = max.max(cycle_edges);
    let mut keep_edge = vec![false; m.edges.len()];
    for &i in order.iter().take(room) {
        keep_edge[i] = true;
    }
    for (i, e) in m.edges.iter().enumerate() {
        if !keep_edge[i] {
            m.nodes[e.from].hidden += 1;
            if e.to != e.from {
                m.nodes[e.to].hidden += 1;
            }
        }
    }
    let edges: Vec<_> = std::mem::take(&mut m.edges)
        .into_iter()
        .zip(&keep_edge)
        .filter(|(_, k)| **k)
        .map(|(e, _)| e)
        .collect();
    m.edges = edges;
    // Classes with nothing left to draw.
    let mut used = vec![false; n];
    for e in &m.edges {
        used[e.from] = true;
        used[e.to] = true;
    }
    let keep: Vec<bool> = (0..n).map(|i| used[i] || m.nodes[i].in_cycle).collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    if dropped > 0 {
        // The dropped classes have no drawn dependency: their cut ones were counted above.
        *m = restrict(m, &keep);
    }
    format!(
        "{} of the {before} dependencies between the drawn classes are drawn (cap {max}: cycle \
         dependencies, then those nearest the cycles and the best-connected classes){}",
        m.edges.len(),
        if dropped > 0 {
            format!(
                "; {dropped} class{} left with none not drawn",
                plural_es(dropped)
            )
        } else {
            String::new()
        }
    )
}

fn plural_es(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}

/// The model restricted to the kept nodes, with hidden-dependency counts.
fn restrict(model: &GraphModel, keep: &[bool]) -> GraphModel {
    let mut map = vec![usize::MAX; model.nodes.len()];
    let mut nodes = Vec::new();
    for (i, node) in model.nodes.iter().enumerate() {
        if keep[i] {
            map[i] = nodes.len();
            nodes.push(node.clone());
        }
    }
    let mut edges = Vec::new();
    for e in &model.edges {
        match (map[e.from], map[e.to]) {
            (usize::MAX, usize::MAX) => {}
            (f, usize::MAX) => nodes[f].hidden += 1,
            (usize::MAX, t) => nodes[t].hidden += 1,
            (f, t) => {
                let mut e = e.clone();
                e.from = f;
                e.to = t;
                edges.push(e);
            }
        }
    }
    let cycles = model
        .cycles
        .iter()
        .filter(|c| c.iter().all(|&i| map[i] != usize::MAX))
        .map(|c| c.iter().map(|&i| map[i]).collect())
        .collect();
    GraphModel {
        nodes,
        edges,
        cycles,
        source: model.source.clone(),
        isolated: model.isolated,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Builder;
    use super::*;

    fn chain_with_cycle() -> GraphModel {
        let mut b = Builder::default();
        // a <-> b cycle, c and d one edge away, e two edges away.
        b.edge("a", "b", "EN", String::new(), vec![]);
        b.edge("b", "a", "EN", String::new(), vec![]);
        b.edge("c", "a", "EN", String::new(), vec![]);
        b.edge("b", "d", "EN", String::new(), vec![]);
        b.edge("d", "e", "EN", String::new(), vec![]);
        b.cycle(&["a".into(), "b".into()]);
        b.finish("t")
    }

    fn names(m: &GraphModel) -> Vec<&str> {
        m.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn default_shows_cycles_and_their_neighbours() {
        let s = Selection::of(&chain_with_cycle(), &GraphOptions::default());
        assert_eq!(names(&s.model), ["a", "b", "c", "d"]);
        assert_eq!(s.model.edges.len(), 4);
        assert_eq!(s.model.nodes[3].hidden, 1, "d -> e is hidden");
        assert_eq!(s.model.cycles, vec![vec![0, 1]]);
        assert!(s.notes.iter().any(|n| n.contains("--all")), "{:?}", s.notes);
    }

    #[test]
    fn all_shows_everything() {
        let opts = GraphOptions {
            all: true,
            ..GraphOptions::default()
        };
        let s = Selection::of(&chain_with_cycle(), &opts);
        assert_eq!(s.model.nodes.len(), 5);
        assert_eq!(s.model.edges.len(), 5);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    #[test]
    fn cap_keeps_cycle_classes_and_the_most_tied_neighbours() {
        let mut b = Builder::default();
        b.edge("a", "b", "EN", String::new(), vec![]);
        b.edge("b", "a", "EN", String::new(), vec![]);
        b.edge("x", "a", "EN", String::new(), vec![]);
        b.edge("x", "b", "EN", String::new(), vec![]);
        b.edge("y", "a", "EN", String::new(), vec![]);
        b.cycle(&["a".into(), "b".into()]);
        let opts = GraphOptions {
            max_nodes: 3,
            ..GraphOptions::default()
        };
        let s = Selection::of(&b.finish(""), &opts);
        assert_eq!(names(&s.model), ["a", "b", "x"]);
        assert_eq!(s.model.nodes[0].hidden, 1);
    }

    #[test]
    fn edges_are_capped_keeping_cycle_edges_first() {
        let mut b = Builder::default();
        b.edge("a", "b", "EN", String::new(), vec![]);
        b.edge("b", "a", "EN", String::new(), vec![]);
        for i in 0..20 {
            for j in 0..20 {
                if i < j {
                    b.edge(
                        &format!("n{i:02}"),
                        &format!("n{j:02}"),
                        "EN",
                        String::new(),
                        vec![],
                    );
                }
            }
        }
        b.edge("n00", "a", "EN", String::new(), vec![]);
        b.cycle(&["a".into(), "b".into()]);
        let model = b.finish("");
        let opts = GraphOptions {
            all: false,
            max_nodes: 1000,
            max_edges: 10,
            title: None,
        };
        // Only n00 is a neighbour of the cycle; cap the acyclic part instead.
        let s = Selection::of(&model, &opts);
        assert!(s.model.edges.len() <= 10, "{}", s.model.edges.len());
        assert_eq!(s.model.edges.iter().filter(|e| e.in_cycle).count(), 2);

        let mut wide = Builder::default();
        for i in 0..30 {
            for j in 0..30 {
                if i < j {
                    wide.edge(
                        &format!("n{i:02}"),
                        &format!("n{j:02}"),
                        "EN",
                        String::new(),
                        vec![],
                    );
                }
            }
        }
        let model = wide.finish("");
        let s = Selection::of(&model, &opts);
        assert_eq!(s.model.edges.len(), 10);
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("10 of the 435 dependencies")),
            "{:?}",
            s.notes
        );
        assert!(s.notes.iter().any(|n| n.contains("--all draws everything")));
        // Every drawn class has a drawn dependency, and a dashed border counts what was left.
        for (i, node) in s.model.nodes.iter().enumerate() {
            assert!(s.model.edges.iter().any(|e| e.from == i || e.to == i));
            assert!(node.hidden > 0, "{}", node.name);
        }
        let all = Selection::of(
            &model,
            &GraphOptions {
                all: true,
                ..opts.clone()
            },
        );
        assert_eq!(all.model.edges.len(), 435);
    }

    #[test]
    fn acyclic_graph_is_capped_with_a_note() {
        let mut b = Builder::default();
        for i in 0..10 {
            b.edge("hub", &format!("n{i}"), "EN", String::new(), vec![]);
        }
        let opts = GraphOptions {
            max_nodes: 4,
            ..GraphOptions::default()
        };
        let s = Selection::of(&b.finish(""), &opts);
        assert_eq!(s.model.nodes.len(), 4);
        assert!(names(&s.model).contains(&"hub"));
        assert!(s.notes[0].contains("best-connected of 11"), "{:?}", s.notes);
        let small = Selection::of(&s.model, &GraphOptions::default());
        assert_eq!(small.model.nodes.len(), 4);
    }
}
