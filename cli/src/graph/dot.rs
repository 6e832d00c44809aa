//! Graphviz DOT output.

use std::fmt::Write as _;

use super::text::{dot_label, dot_quoted, shorten};
use super::{GraphModel, GraphNode, GraphOptions, Selection};

const CYCLE: &str = "#c62828";

/// Tooltip text of a class.
pub(crate) fn node_tooltip(n: &GraphNode) -> String {
    let mut lines = vec![n.name.clone()];
    if let Some(k) = &n.kind {
        lines.push(format!("kind: {k}"));
    }
    if n.in_cycle {
        lines.push("part of a reported cycle".into());
    }
    lines.extend(n.details.iter().cloned());
    if n.hidden > 0 {
        lines.push(format!(
            "{} more dependenc{} not drawn (--all)",
            n.hidden,
            if n.hidden == 1 { "y" } else { "ies" }
        ));
    }
    lines.join("\n")
}

/// Tooltip text of a dependency.
pub(crate) fn edge_tooltip(m: &GraphModel, e: &super::GraphEdge) -> String {
    let mut lines = vec![format!(
        "{} -> {}  [{}]{}",
        m.nodes[e.from].name,
        m.nodes[e.to].name,
        e.types,
        if e.in_cycle { "  (cycle)" } else { "" }
    )];
    lines.extend(e.details.iter().cloned());
    lines.join("\n")
}

/// A Graphviz label of left-justified lines (`\\l` ends each line).
fn left_justified(lines: &[&str]) -> String {
    let inner: Vec<String> = lines
        .iter()
        .map(|l| {
            let q = dot_quoted(&l.replace('\n', " "));
            q[1..q.len() - 1].to_string()
        })
        .collect();
    format!("\"{}\\l\"", inner.join("\\l"))
}

/// Graphviz DOT of the selected part of `model` (see [`Selection::of`]): classes as rounded
/// boxes, dependencies labelled with their type and where they were first seen, cycle classes
/// and dependencies red and bold, full details as tooltips. Nodes are `n0, n1, …` in name
/// order, so output is deterministic and any class name is safe.
///
/// ```
/// use lockcheck::graph::{GraphModel, GraphOptions, to_dot};
/// let dot = to_dot(&GraphModel::default(), &GraphOptions::default());
/// assert!(dot.contains("digraph lockcheck {"));
/// ```
pub fn to_dot(model: &GraphModel, opts: &GraphOptions) -> String {
    let sel = Selection::of(model, opts);
    let m = &sel.model;
    let title = opts.title_for(model);
    let mut out = String::new();
    let _ = writeln!(out, "// lockcheck graph: {}", shorten(&title, 200));
    for note in &sel.notes {
        let _ = writeln!(out, "// {note}");
    }
    out.push_str("digraph lockcheck {\n");
    let mut heading = vec![title.as_str()];
    heading.extend(sel.notes.iter().map(String::as_str));
    let _ = writeln!(
        out,
        "  graph [label={}, labelloc=t, labeljust=l, fontname=\"monospace\", fontsize=12, rankdir=TB, nodesep=0.35, ranksep=0.55];",
        left_justified(&heading)
    );
    out.push_str("  node [shape=box, style=rounded, fontname=\"monospace\", fontsize=11, margin=\"0.12,0.06\"];\n");
    out.push_str(
        "  edge [fontname=\"monospace\", fontsize=9, color=\"#555555\", arrowsize=0.7];\n",
    );
    if m.edges.len() > super::DENSE_EDGES {
        // Many labels: Graphviz draws a line from each label to its edge.
        out.push_str("  edge [decorate=true];\n");
    }
    for (i, n) in m.nodes.iter().enumerate() {
        let mut label = vec![n.name.as_str()];
        if let Some(k) = &n.kind {
            label.push(k);
        }
        let style = if n.hidden > 0 {
            "rounded,dashed"
        } else {
            "rounded"
        };
        let mut attrs = format!(
            "label={}, tooltip={}",
            dot_label(&label),
            dot_quoted(&node_tooltip(n))
        );
        if n.hidden > 0 {
            let _ = write!(attrs, ", style=\"{style}\"");
        }
        if n.in_cycle {
            let _ = write!(
                attrs,
                ", color=\"{CYCLE}\", fontcolor=\"{CYCLE}\", penwidth=2"
            );
        }
        let _ = writeln!(out, "  n{i} [{attrs}];");
    }
    for e in &m.edges {
        let site = shorten(&e.first_seen, 56);
        let mut label = vec![e.types.as_str()];
        if !site.is_empty() {
            label.push(&site);
        }
        let mut attrs = format!(
            "label={}, tooltip={}",
            dot_label(&label),
            dot_quoted(&edge_tooltip(m, e))
        );
        if e.in_cycle {
            let _ = write!(
                attrs,
                ", color=\"{CYCLE}\", fontcolor=\"{CYCLE}\", penwidth=2.5"
            );
        }
        let _ = writeln!(out, "  n{} -> n{} [{attrs}];", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::Builder;
    use super::*;

    #[test]
    fn names_are_escaped_and_ids_are_safe() {
        let mut b = Builder::default();
        let weird = r#"&(&sb->s_type->i_lock_key#24)->rlock "q" <x> a/b c\d"#;
        b.edge(
            weird,
            "plain",
            "EN",
            "f (a.c:1)".into(),
            vec!["x\"y".into()],
        );
        b.cycle(&[weird.to_string(), "plain".to_string()]);
        let dot = to_dot(&b.finish("in.log"), &GraphOptions::default());
        assert!(
            dot.contains(
                r#"label="&amp;(&amp;sb->s_type->i_lock_key#24)->rlock \"q\" <x> a/b c\\d""#
            ),
            "{dot}"
        );
        assert!(dot.contains("n0 -> n1 [label=\"EN\\nf (a.c:1)\""), "{dot}");
        assert!(dot.contains("x\\\"y"), "{dot}");
        assert!(dot.contains("color=\"#c62828\""));
        // Every quote inside a line is escaped: an even number of unescaped quotes per line.
        for line in dot.lines().filter(|l| !l.starts_with("//")) {
            let mut unescaped = 0;
            let mut backslashes = 0;
            for c in line.chars() {
                match c {
                    '\\' => backslashes += 1,
                    '"' if backslashes % 2 == 0 => {
                        unescaped += 1;
                        backslashes = 0;
                    }
                    _ => backslashes = 0,
                }
            }
            assert_eq!(unescaped % 2, 0, "{line}");
        }
    }

    #[test]
    fn heading_lines_are_left_justified() {
        assert_eq!(left_justified(&["a\"b", "c&d"]), r#""a\"b\lc&amp;d\l""#);
    }

    #[test]
    fn output_is_deterministic() {
        let build = |order: &[(&str, &str)]| {
            let mut b = Builder::default();
            for (f, t) in order {
                b.edge(f, t, "EN", String::new(), vec![]);
            }
            to_dot(&b.finish(""), &GraphOptions::default())
        };
        let a = build(&[("x", "y"), ("y", "z"), ("a", "x")]);
        let b = build(&[("a", "x"), ("y", "z"), ("x", "y")]);
        assert_eq!(a, b);
    }
}
