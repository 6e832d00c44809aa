//! Graphviz: one `digraph` for the whole input, with a cluster per report holding its
//! dependency cycle (or, for reports without a cycle, the dependency the report is about), so
//! `lockcheck parse --format dot log | dot -Tsvg` draws every report of a log.

use std::io::{self, Write};

use super::Printer;
use crate::report::{Kind, Report};

/// Prints the reports' cycles as one Graphviz digraph, a cluster per report.
#[derive(Default)]
pub struct DotPrinter {
    n: usize,
}

const HEADER: &str =
    "digraph lockdep {\n  node [shape=box, fontname=\"monospace\"];\n  compound=true;";

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The code that took the edge's lock: the chain entry's first frame that is neither lockdep
/// (`check_prev_add`, `__lock_acquire`, ...) nor a lock primitive.
fn edge_site(r: &Report, depth: u32) -> String {
    let entry = r.chain_entry(depth);
    let frames = entry.map_or(&[][..], |e| &e.frames[..]);
    frames
        .iter()
        .filter(|f| !f.unreliable && !crate::classify::rules::is_primitive(f))
        .find_map(|f| crate::graph::kernel::meaningful_frame(std::slice::from_ref(f)))
        .or_else(|| crate::graph::kernel::meaningful_frame(frames))
        .and_then(|f| f.base_function())
        .map(str::to_string)
        .unwrap_or_default()
}

impl Printer for DotPrinter {
    fn report(&mut self, out: &mut dyn Write, r: &Report) -> io::Result<()> {
        if self.n == 0 {
            writeln!(out, "{HEADER}")?;
        }
        self.n += 1;
        let n = self.n;
        // Node ids are per report (`rN:name`), labelled with the class name: a class in two
        // reports is drawn in each.
        let id = |name: &str| q(&format!("r{n}:{name}"));
        writeln!(out, "  subgraph cluster_{n} {{")?;
        writeln!(
            out,
            "  label={};\n  labelloc=t;",
            q(&format!(
                "{}:{}: {} [{}]",
                r.source,
                r.line,
                r.title,
                r.verdict.label.as_str()
            ))
        )?;
        for l in &r.locks {
            writeln!(out, "  {} [label={}];", id(l), q(l))?;
        }
        match r.kind {
            Kind::CircularDependency => {
                for e in &r.cycle {
                    let style = if e.closing {
                        ", color=red, penwidth=2"
                    } else {
                        ""
                    };
                    writeln!(
                        out,
                        "  {} -> {} [label={}{style}];",
                        id(&e.from),
                        id(&e.to),
                        q(&format!(
                            "#{} {} (line {})",
                            e.chain_entry,
                            edge_site(r, e.chain_entry),
                            e.input_line
                        ))
                    )?;
                }
            }
            Kind::RecursiveLocking => {
                if let (Some(h), Some(a)) = (&r.held, &r.acquiring) {
                    writeln!(
                        out,
                        "  {} -> {} [label=\"recursive\", color=red];",
                        id(&h.name),
                        id(&a.name)
                    )?;
                }
            }
            Kind::IrqSafeUnsafeOrder | Kind::IrqLockInversion => {
                if let Some(irq) = &r.irq
                    && let (Some(s), Some(u)) = (&irq.safe_lock, &irq.unsafe_lock)
                {
                    writeln!(
                        out,
                        "  {} -> {} [label={}, color=red];",
                        id(&s.name),
                        id(&u.name),
                        q(&format!(
                            "{}-safe -> unsafe",
                            irq.state.clone().unwrap_or_default()
                        ))
                    )?;
                }
            }
            _ => {
                if let (Some(h), Some(a)) = (&r.held, &r.acquiring) {
                    writeln!(out, "  {} -> {};", id(&h.name), id(&a.name))?;
                }
            }
        }
        writeln!(out, "  }}")
    }

    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.n == 0 {
            writeln!(out, "{HEADER}")?;
        }
        writeln!(out, "}}")
    }
}
