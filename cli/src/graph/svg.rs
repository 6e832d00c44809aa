//! A standalone SVG, laid out in-process (see [`super::layout`]).

use std::fmt::Write as _;

use super::dot::{edge_tooltip, node_tooltip};
use super::layout::{EdgeIn, LABEL_LINE, LOOP_ROOM, layout};
use super::text::{shorten, width, xml};
use super::{GraphModel, GraphOptions, Selection};

const PAD: f64 = 20.0;
const NAME_PX: f64 = 13.0;
const SMALL_PX: f64 = 10.0;
const NOTE_PX: f64 = 11.0;
const TITLE_PX: f64 = 15.0;
const LINE: f64 = 13.0;
const MAX_NAME: usize = 64;
const MAX_SITE: usize = 56;

const CYCLE: &str = "#c62828";
const EDGE: &str = "#616161";
const FONT: &str = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace";

/// A number for SVG: one decimal, no `-0.0`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_string()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

struct NodeText {
    name: String,
    kind: Option<String>,
    w: f64,
    h: f64,
}

struct EdgeText {
    types: String,
    site: String,
    w: f64,
    h: f64,
}

fn node_text(n: &super::GraphNode) -> NodeText {
    let name = shorten(&n.name, MAX_NAME);
    let kind = n.kind.as_deref().map(|k| shorten(k, MAX_NAME));
    let tw = width(&name, NAME_PX).max(kind.as_deref().map_or(0.0, |k| width(k, SMALL_PX)));
    NodeText {
        w: (tw + 20.0).max(40.0),
        h: if kind.is_some() { 40.0 } else { 26.0 },
        name,
        kind,
    }
}

fn edge_text(e: &super::GraphEdge) -> EdgeText {
    let site = shorten(&e.first_seen, MAX_SITE);
    let lines = if site.is_empty() { 1.0 } else { 2.0 };
    let tw = width(&e.types, SMALL_PX).max(width(&site, SMALL_PX));
    EdgeText {
        types: e.types.clone(),
        site,
        w: tw + 8.0,
        h: lines * LINE + 4.0,
    }
}

/// The path of a route: straight where vertical, smooth S-curves elsewhere.
fn path_d(points: &[(f64, f64)]) -> String {
    let mut d = format!("M{},{}", num(points[0].0), num(points[0].1));
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.0 - b.0).abs() < 0.05 {
            let _ = write!(d, " L{},{}", num(b.0), num(b.1));
        } else {
            let my = (a.1 + b.1) / 2.0;
            let _ = write!(
                d,
                " C{},{} {},{} {},{}",
                num(a.0),
                num(my),
                num(b.0),
                num(my),
                num(b.0),
                num(b.1)
            );
        }
    }
    d
}

/// A standalone SVG of the selected part of `model` (see [`Selection::of`]), laid out
/// in-process: classes as rounded boxes, an arrow `A → B` for "B taken while A held", each
/// labelled with its type and where it was first seen, cycle classes and dependencies in red,
/// a title and legend, and `<title>` tooltips with every detail. Deterministic.
///
/// ```
/// use lockcheck::graph::{GraphModel, GraphOptions, to_svg};
/// let svg = to_svg(&GraphModel::default(), &GraphOptions::default());
/// assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
/// ```
pub fn to_svg(model: &GraphModel, opts: &GraphOptions) -> String {
    let sel = Selection::of(model, opts);
    let m = &sel.model;
    let title = opts.title_for(model);
    let nodes: Vec<NodeText> = m.nodes.iter().map(node_text).collect();
    let labels: Vec<EdgeText> = m.edges.iter().map(edge_text).collect();
    let sizes: Vec<(f64, f64)> = nodes.iter().map(|n| (n.w, n.h)).collect();
    let edges: Vec<EdgeIn> = m
        .edges
        .iter()
        .zip(&labels)
        .map(|(e, l)| EdgeIn {
            from: e.from,
            to: e.to,
            label: (l.w, l.h),
        })
        .collect();
    let lay = layout(&sizes, &edges);
    let dense = m.edges.len() > super::DENSE_EDGES;

    // Header: title, summary, notes, legend.
    let cycles = m.cycles.len();
    let summary = format!(
        "{} class{}, {} dependenc{}, {} cycle{}; an arrow A → B: B was taken while A was held",
        m.nodes.len(),
        if m.nodes.len() == 1 { "" } else { "es" },
        m.edges.len(),
        if m.edges.len() == 1 { "y" } else { "ies" },
        cycles,
        if cycles == 1 { "" } else { "s" },
    );
    let mut header: Vec<String> = vec![summary];
    header.extend(sel.notes.iter().cloned());
    let types_key = "types: E/S = holder exclusive/shared, N/R = then taken non-recursive/recursive-read, x = holder mode not in the log";
    let title_line = shorten(&title, 160);
    let legend_y = PAD + TITLE_PX + 8.0 + header.len() as f64 * (NOTE_PX + 5.0) + 6.0;
    let header_h = legend_y + 24.0 + NOTE_PX + 5.0 + 12.0;
    let header_w = [
        width(&title_line, TITLE_PX),
        width(types_key, NOTE_PX),
        header.iter().map(|h| width(h, NOTE_PX)).fold(0.0, f64::max),
        560.0,
    ]
    .into_iter()
    .fold(0.0, f64::max);
    let total_w = (lay.width + 2.0 * PAD).max(header_w + 2.0 * PAD).ceil();
    let total_h = (header_h + lay.height + PAD).ceil();
    let (ox, oy) = (PAD, header_h);

    let mut s = String::with_capacity(4096 + m.nodes.len() * 600 + m.edges.len() * 800);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\">",
        w = num(total_w),
        h = num(total_h)
    );
    let _ = writeln!(s, "<title>{}</title>", xml(&title));
    s.push_str("<defs>\n");
    for (id, color) in [("arrow", EDGE), ("arrow-cycle", CYCLE)] {
        let _ = writeln!(
            s,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{color}\"/></marker>"
        );
    }
    s.push_str("</defs>\n");
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

    // Header.
    s.push_str("<g class=\"header\">\n");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"{TITLE_PX}\" font-weight=\"bold\" fill=\"#212121\">{}</text>",
        num(PAD),
        num(PAD + TITLE_PX),
        xml(&title_line)
    );
    for (i, line) in header.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"#424242\">{}</text>",
            num(PAD),
            num(PAD + TITLE_PX + 8.0 + (i as f64 + 1.0) * (NOTE_PX + 5.0) - 4.0),
            xml(line)
        );
    }
    // Legend: samples then the type key.
    let ly = legend_y + 10.0;
    let mut lx = PAD;
    let sample_edge = |s: &mut String,
                       lx: &mut f64,
                       color: &str,
                       marker: &str,
                       wd: f64,
                       text: &str| {
        let _ = writeln!(
            s,
            "<path d=\"M{},{} L{},{}\" stroke=\"{color}\" stroke-width=\"{wd}\" marker-end=\"url(#{marker})\"/><text x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"#424242\">{text}</text>",
            num(*lx),
            num(ly),
            num(*lx + 34.0),
            num(ly),
            num(*lx + 40.0),
            num(ly + 4.0)
        );
        *lx += 40.0 + width(text, NOTE_PX) + 22.0;
    };
    sample_edge(
        &mut s,
        &mut lx,
        CYCLE,
        "arrow-cycle",
        2.2,
        "cycle dependency",
    );
    sample_edge(&mut s, &mut lx, EDGE, "arrow", 1.2, "dependency");
    let sample_box = |s: &mut String,
                      lx: &mut f64,
                      stroke: &str,
                      fill: &str,
                      extra: &str,
                      text: &str| {
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"26\" height=\"16\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\"{extra}/><text x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"#424242\">{text}</text>",
            num(*lx),
            num(ly - 8.0),
            num(*lx + 32.0),
            num(ly + 4.0)
        );
        *lx += 32.0 + width(text, NOTE_PX) + 22.0;
    };
    sample_box(
        &mut s,
        &mut lx,
        CYCLE,
        "#ffebee",
        " stroke-width=\"2\"",
        "class in a cycle",
    );
    sample_box(
        &mut s,
        &mut lx,
        "#455a64",
        "#f5f7fa",
        " stroke-dasharray=\"4 3\"",
        "has dependencies not drawn",
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"{NOTE_PX}\" fill=\"#616161\">{}</text>",
        num(PAD),
        num(ly + 24.0),
        xml(types_key)
    );
    s.push_str("</g>\n");

    // Edges, then their labels, then classes on top.
    let _ = writeln!(
        s,
        "<g class=\"graph\" transform=\"translate({},{})\">",
        num(ox),
        num(oy)
    );
    s.push_str("<g class=\"edges\" fill=\"none\">\n");
    for (i, e) in m.edges.iter().enumerate() {
        let r = &lay.routes[i];
        let (color, marker, wd) = if e.in_cycle {
            (CYCLE, "arrow-cycle", "2.2")
        } else {
            (EDGE, "arrow", "1.2")
        };
        let d = if r.self_loop {
            let (x, y) = r.points[0];
            let bulge = x + LOOP_ROOM - 8.0;
            format!(
                "M{},{} C{},{} {},{} {},{}",
                num(x),
                num(y - 6.0),
                num(bulge),
                num(y - 24.0),
                num(bulge),
                num(y + 24.0),
                num(x),
                num(y + 6.0)
            )
        } else {
            path_d(&r.points)
        };
        let _ = writeln!(
            s,
            "<g class=\"edge{}\"><title>{}</title><path d=\"{d}\" stroke=\"{color}\" stroke-width=\"{wd}\" marker-end=\"url(#{marker})\"/><path d=\"{d}\" stroke=\"#000000\" stroke-opacity=\"0\" stroke-width=\"9\"/></g>",
            if e.in_cycle { " cycle" } else { "" },
            xml(&edge_tooltip(m, e))
        );
    }
    s.push_str("</g>\n<g class=\"edge-labels\">\n");
    for (i, e) in m.edges.iter().enumerate() {
        let (lx, ly) = lay.routes[i].label;
        let t = &labels[i];
        let color = if e.in_cycle { CYCLE } else { "#424242" };
        let _ = write!(
            s,
            "<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\"/><text x=\"{}\" y=\"{}\" font-size=\"{SMALL_PX}\" font-weight=\"bold\" fill=\"{color}\">{}</text>",
            xml(&edge_tooltip(m, e)),
            num(lx),
            num(ly),
            num(t.w),
            num(t.h),
            num(lx + 3.0),
            num(ly + 2.0 + SMALL_PX),
            xml(&t.types)
        );
        if !t.site.is_empty() {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"{SMALL_PX}\" fill=\"{color}\">{}</text>",
                num(lx + 3.0),
                num(ly + 2.0 + SMALL_PX + LINE),
                xml(&t.site)
            );
        }
        if dense && !lay.routes[i].self_loop {
            // The label hangs right of its arrow, which runs down its band just left of it: a dot
            // on the arrow, level with the label.
            let _ = write!(
                s,
                "<circle class=\"attach\" cx=\"{}\" cy=\"{}\" r=\"2.6\" fill=\"{}\"/>",
                num(lx - LABEL_LINE),
                num(ly + t.h / 2.0),
                if e.in_cycle { CYCLE } else { EDGE }
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</g>\n<g class=\"classes\">\n");
    for (i, n) in m.nodes.iter().enumerate() {
        let t = &nodes[i];
        let (cx, cy) = lay.centers[i];
        let (stroke, fill, wd) = if n.in_cycle {
            (CYCLE, "#ffebee", "2")
        } else {
            ("#455a64", "#f5f7fa", "1.2")
        };
        let dash = if n.hidden > 0 {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<g class=\"class{}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{wd}\"{dash}/>",
            if n.in_cycle { " cycle" } else { "" },
            xml(&node_tooltip(n)),
            num(cx - t.w / 2.0),
            num(cy - t.h / 2.0),
            num(t.w),
            num(t.h)
        );
        let name_y = if t.kind.is_some() { cy - 3.0 } else { cy + 4.5 };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{NAME_PX}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
            num(cx),
            num(name_y),
            if n.in_cycle { "#b71c1c" } else { "#212121" },
            xml(&t.name)
        );
        if let Some(k) = &t.kind {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"{SMALL_PX}\" text-anchor=\"middle\" fill=\"#757575\">{}</text>",
                num(cx),
                num(cy + 12.0),
                xml(k)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</g>\n</g>\n</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::Builder;
    use super::*;

    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-3.26), "-3.3");
    }

    #[test]
    fn text_is_escaped_and_every_edge_is_drawn() {
        let mut b = Builder::default();
        let weird = "&(&sb->s_type->i_lock_key#24)->rlock \"q\" <x> 'a'/b";
        b.edge(
            weird,
            "B",
            "EN",
            "src/a.rs:1:2 (main)".into(),
            vec!["<details>".into()],
        );
        b.edge("B", weird, "SR", String::new(), vec![]);
        b.edge("B", "B", "EN", "rec".into(), vec![]);
        b.edge("B", "C", "EN", String::new(), vec![]);
        b.cycle(&[weird.to_string(), "B".to_string()]);
        let svg = to_svg(&b.finish("x<y>.log"), &GraphOptions::default());
        assert!(svg.contains("&amp;(&amp;sb-&gt;s_type-&gt;i_lock_key#24)-&gt;rlock &quot;q&quot; &lt;x&gt; &#39;a&#39;/b"));
        assert!(svg.contains("x&lt;y&gt;.log"));
        assert!(!svg.contains("<details>") && !svg.contains("<x>"));
        assert_eq!(svg.matches("<g class=\"edge\"").count(), 2);
        assert_eq!(svg.matches("<g class=\"edge cycle\"").count(), 2);
        assert_eq!(svg.matches("<g class=\"class\"").count(), 1);
        assert_eq!(svg.matches("<g class=\"class cycle\"").count(), 2);
        assert!(svg.contains("marker-end=\"url(#arrow-cycle)\""));
        assert_well_formed(&svg);
    }

    /// Tags balance and attribute values hold no raw `<` or `&` (a tiny XML check).
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let text = &rest[..i];
            assert!(!text.contains('>'), "raw > in text: {text}");
            for (j, _) in text.match_indices('&') {
                let ent = &text[j..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| ent.starts_with(e)),
                    "raw & in {text}"
                );
            }
            let end = rest[i..].find('>').expect("tag closes") + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "raw < in tag {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "closing {name}");
            } else if !tag.starts_with('?') && !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap().to_string());
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }
}
