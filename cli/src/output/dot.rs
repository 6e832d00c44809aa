//! Graphviz: one `digraph` per report with the dependency cycle (or, for reports without
//! a cycle, the dependency the report is about).

use std::io::{self, Write};

use super::Printer;
use crate::report::{Kind, Report};

/// Prints each report's cycle as a Graphviz digraph.
#[derive(Default)]
pub struct DotPrinter {
    n: usize,
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn edge_site(r: &Report, depth: u32) -> String {
    r.chain_entry(depth)
        .and_then(|e| {
            e.frames
                .iter()
                .filter(|f| !f.unreliable)
                .filter_map(|f| f.base_function())
                .find(|n| !crate::title::is_skipped(n))
                .map(str::to_string)
        })
        .unwrap_or_default()
}

impl Printer for DotPrinter {
    fn report(&mut self, out: &mut dyn Write, r: &Report) -> io::Result<()> {
        self.n += 1;
        writeln!(out, "digraph report_{} {{", self.n)?;
        writeln!(
            out,
            "  label={};\n  labelloc=t;\n  node [shape=box, fontname=\"monospace\"];",
            q(&format!(
                "{}:{}: {} [{}]",
                r.source,
                r.line,
                r.title,
                r.verdict.label.as_str()
            ))
        )?;
        for l in &r.locks {
            writeln!(out, "  {};", q(l))?;
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
                        q(&e.from),
                        q(&e.to),
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
                        q(&h.name),
                        q(&a.name)
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
                        q(&s.name),
                        q(&u.name),
                        q(&format!(
                            "{}-safe -> unsafe",
                            irq.state.clone().unwrap_or_default()
                        ))
                    )?;
                }
            }
            _ => {
                if let (Some(h), Some(a)) = (&r.held, &r.acquiring) {
                    writeln!(out, "  {} -> {};", q(&h.name), q(&a.name))?;
                }
            }
        }
        writeln!(out, "}}")
    }
}
